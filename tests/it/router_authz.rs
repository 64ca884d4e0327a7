//! Router authorization through the public API: static role permissions (a matrix of
//! actions and URI patterns, most specific rule first), disclosure, the reserved `wamp.`
//! space, and dynamic authorizers with their cache and deadline.

use std::time::Duration;

use wamp_proto::id::RequestId;
use wamp_proto::message::{
    Authenticate, Call, Cancel, Hello, Publish, Register, Subscribe, Unsubscribe, Yield,
};
use wamp_proto::{Dict, MatchPolicy, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::{
    Action, Allow, AuthConfig, AuthMethod, AuthzDecision, AuthzRequest, CloseReason, Decision,
    DecisionRequest, DecisionTicket, Disclose, MethodConfig, Permission, Principal, RealmConfig,
    RoleConfig, RouterConfig, uris,
};

use crate::sim::{Sim, full_roles};

fn allow(call: bool, register: bool, publish: bool, subscribe: bool) -> Allow {
    Allow {
        call,
        register,
        publish,
        subscribe,
    }
}

fn perm(uri: &str, m: MatchPolicy, a: Allow) -> Permission {
    Permission::new(uri, m, a)
}

const E: MatchPolicy = MatchPolicy::Exact;
const P: MatchPolicy = MatchPolicy::Prefix;
const W: MatchPolicy = MatchPolicy::Wildcard;

/// Realm `realm1`: anonymous sessions get role `anonymous`; ticket principals `user1`
/// (role `user`), `admin1` (role `admin`), `dyn1` (role `dyn`, dynamic authorizer).
fn realm(roles: Vec<RoleConfig>) -> RealmConfig {
    let mut r = RealmConfig::new("realm1");
    r.auth = AuthConfig {
        methods: vec![
            MethodConfig::static_(AuthMethod::Ticket),
            MethodConfig::static_(AuthMethod::Anonymous),
        ],
        principals: vec![
            Principal::new("user1", "user").with_ticket("t"),
            Principal::new("user2", "user").with_ticket("t"),
            Principal::new("admin1", "admin").with_ticket("t"),
            Principal::new("dyn1", "dyn").with_ticket("t"),
            Principal::new("dyn2", "dyn").with_ticket("t"),
        ],
        ..AuthConfig::default()
    };
    r.roles = roles;
    r
}

fn matrix_roles() -> Vec<RoleConfig> {
    vec![
        RoleConfig::new(
            "user",
            vec![
                perm("com.app.", P, allow(true, false, false, true)),
                perm("com.app.admin.", P, Allow::none()),
                perm("com.app.admin.status", E, allow(true, false, false, false)),
                perm("com..public", W, allow(false, false, true, true)),
                perm("com.app.feed", E, allow(false, false, true, true)).disclosing(Disclose {
                    caller: false,
                    publisher: true,
                }),
                perm("com.app.rpc", E, allow(true, true, false, false)).disclosing(Disclose {
                    caller: true,
                    publisher: false,
                }),
                perm("wamp.", P, allow(true, false, false, true)),
            ],
        ),
        RoleConfig::new(
            "admin",
            vec![perm("", P, Allow::all()).disclosing(Disclose {
                caller: true,
                publisher: true,
            })],
        ),
        RoleConfig::new(
            "anonymous",
            vec![perm("com.public.", P, allow(true, false, false, true))],
        ),
        RoleConfig::dynamic("dyn"),
    ]
}

fn sim(roles: Vec<RoleConfig>, seed: u64) -> Sim {
    let config = RouterConfig::with_realm(realm(roles));
    config.validate().unwrap();
    Sim::new(config, seed)
}

/// Logs in as `authid` (ticket), or anonymously for `None`.
fn login(sim: &mut Sim, authid: Option<&str>) -> usize {
    let c = sim.connect(Serializer::Json);
    let mut details = Dict::new().with("roles", full_roles());
    if let Some(a) = authid {
        details.insert("authmethods", Value::List(vec!["ticket".into()]));
        details.insert("authid", a);
    }
    sim.send(
        c,
        Hello {
            realm: "realm1".into(),
            details,
        },
    );
    if authid.is_some() {
        assert!(matches!(sim.recv(c), Message::Challenge(_)));
        sim.send(
            c,
            Authenticate {
                signature: "t".into(),
                extra: Dict::new(),
            },
        );
    }
    match sim.recv(c) {
        Message::Welcome(_) => c,
        other => panic!("{other:?}"),
    }
}

/// The outcome of a request: `Ok(kind name)` or `Err(error URI)`.
fn outcome(m: Message) -> Result<String, String> {
    match m {
        Message::Error(e) => Err(e.error.to_string()),
        other => Ok(other.kind().name().to_owned()),
    }
}

fn request(sim: &mut Sim, c: usize, action: Action, uri: &str, options: Dict) -> RequestId {
    let request = sim.next_req(c);
    let uri = Uri::from_wire(uri);
    let msg: Message = match action {
        Action::Call => Call {
            request,
            options,
            procedure: uri,
            payload: Payload::empty(),
        }
        .into(),
        Action::Register => Register {
            request,
            options,
            procedure: uri,
        }
        .into(),
        Action::Publish => Publish {
            request,
            options: options.with("acknowledge", true),
            topic: uri,
            payload: Payload::empty(),
        }
        .into(),
        Action::Subscribe => Subscribe {
            request,
            options,
            topic: uri,
        }
        .into(),
        _ => unreachable!(),
    };
    sim.send(c, msg);
    request
}

/// Sends the request and returns whether it was authorized (`not_authorized` or not).
fn authorized(sim: &mut Sim, c: usize, action: Action, uri: &str) -> bool {
    request(sim, c, action, uri, Dict::new());
    let r = outcome(sim.recv(c));
    sim.recv_all(c);
    match r {
        Err(e) if e == uris::NOT_AUTHORIZED => false,
        // A CALL of a missing procedure was authorized.
        Err(e) if e == uris::NO_SUCH_PROCEDURE => true,
        Ok(_) => true,
        Err(e) => panic!("{action:?} {uri}: {e}"),
    }
}

#[test]
fn permission_matrix_most_specific_rule_wins() {
    let mut sim = sim(matrix_roles(), 1);
    let user = login(&mut sim, Some("user1"));
    use Action::*;
    let table: &[(Action, &str, bool)] = &[
        // com.app. prefix: call + subscribe.
        (Call, "com.app.x", true),
        (Subscribe, "com.app.x", true),
        (Publish, "com.app.x", false),
        (Register, "com.app.x", false),
        // A longer prefix overrides: nothing under com.app.admin.
        (Call, "com.app.admin.kill", false),
        (Subscribe, "com.app.admin.log", false),
        // An exact rule overrides the prefixes.
        (Call, "com.app.admin.status", true),
        (Subscribe, "com.app.admin.status", false),
        // Wildcard com..public: only where no exact or prefix rule matches.
        (Publish, "com.other.public", true),
        (Subscribe, "com.other.public", true),
        (Call, "com.other.public", false),
        (Publish, "com.app.public", false),
        // Exact rules with their own actions.
        (Publish, "com.app.feed", true),
        (Register, "com.app.rpc", true),
        (Call, "com.app.rpc", true),
        // Nothing matches.
        (Call, "org.x", false),
        (Subscribe, "com", false),
        // Meta API: calls and subscriptions under wamp. as the role allows.
        (Call, "wamp.session.count", true),
        (Subscribe, "wamp.session.on_join", true),
    ];
    for (action, uri, expected) in table {
        assert_eq!(
            authorized(&mut sim, user, *action, uri),
            *expected,
            "{action:?} {uri}"
        );
    }
    // Patterns are authorized as written.
    request(
        &mut sim,
        user,
        Subscribe,
        "com.app.",
        Dict::new().with("match", "prefix"),
    );
    assert_eq!(outcome(sim.recv(user)), Ok("SUBSCRIBED".into()));
    request(
        &mut sim,
        user,
        Subscribe,
        "com..public",
        Dict::new().with("match", "wildcard"),
    );
    assert_eq!(outcome(sim.recv(user)), Ok("SUBSCRIBED".into()));
    request(
        &mut sim,
        user,
        Subscribe,
        "com.",
        Dict::new().with("match", "prefix"),
    );
    assert_eq!(outcome(sim.recv(user)), Err(uris::NOT_AUTHORIZED.into()));
    // Anonymous sessions have their own role.
    let anon = login(&mut sim, None);
    assert!(authorized(&mut sim, anon, Call, "com.public.x"));
    assert!(!authorized(&mut sim, anon, Call, "com.app.x"));
    assert!(!authorized(&mut sim, anon, Call, "wamp.session.count"));
    // The admin role may do everything.
    let admin = login(&mut sim, Some("admin1"));
    for action in [Call, Register, Publish, Subscribe] {
        assert!(authorized(&mut sim, admin, action, "org.anything"));
    }
}

#[test]
fn denied_publish_is_silent_without_acknowledge() {
    let mut sim = sim(matrix_roles(), 2);
    let user = login(&mut sim, Some("user1"));
    let request = sim.next_req(user);
    sim.send(
        user,
        Publish {
            request,
            options: Dict::new(),
            topic: "org.x".into(),
            payload: Payload::empty(),
        },
    );
    sim.assert_quiet(user);
}

#[test]
fn invalid_uri_is_reported_before_authorization() {
    let mut sim = sim(matrix_roles(), 3);
    let anon = login(&mut sim, None);
    request(&mut sim, anon, Action::Call, "bad uri", Dict::new());
    assert_eq!(outcome(sim.recv(anon)), Err(uris::INVALID_URI.into()));
    request(&mut sim, anon, Action::Subscribe, "a..b", Dict::new());
    assert_eq!(outcome(sim.recv(anon)), Err(uris::INVALID_URI.into()));
    // (The decoders refuse unknown option values; a core fed directly answers the same.)
    let request = sim.next_req(anon);
    sim.send_direct(
        anon,
        Register {
            request,
            options: Dict::new().with("invoke", "sometimes"),
            procedure: "a.b".into(),
        },
    );
    assert_eq!(outcome(sim.recv(anon)), Err(uris::INVALID_ARGUMENT.into()));
}

#[test]
fn wamp_uri_space_is_reserved_for_the_router() {
    // Even the all-powerful admin may not register or publish under wamp.
    let mut sim = sim(matrix_roles(), 4);
    let admin = login(&mut sim, Some("admin1"));
    request(
        &mut sim,
        admin,
        Action::Register,
        "wamp.session.count",
        Dict::new(),
    );
    assert_eq!(outcome(sim.recv(admin)), Err(uris::INVALID_URI.into()));
    request(
        &mut sim,
        admin,
        Action::Register,
        "wamp.",
        Dict::new().with("match", "prefix"),
    );
    assert_eq!(outcome(sim.recv(admin)), Err(uris::INVALID_URI.into()));
    request(
        &mut sim,
        admin,
        Action::Publish,
        "wamp.session.on_join",
        Dict::new(),
    );
    assert_eq!(outcome(sim.recv(admin)), Err(uris::INVALID_URI.into()));
    // Subscribing to meta topics is allowed.
    request(
        &mut sim,
        admin,
        Action::Subscribe,
        "wamp.session.on_join",
        Dict::new(),
    );
    assert_eq!(outcome(sim.recv(admin)), Ok("SUBSCRIBED".into()));
    // Unknown wamp. procedures do not exist.
    request(
        &mut sim,
        admin,
        Action::Call,
        "wamp.nothing.here",
        Dict::new(),
    );
    assert_eq!(
        outcome(sim.recv(admin)),
        Err(uris::NO_SUCH_PROCEDURE.into())
    );
}

#[test]
fn disclosure_follows_the_role_permission() {
    let mut sim = sim(matrix_roles(), 5);
    let callee = login(&mut sim, Some("admin1"));
    let user = login(&mut sim, Some("user1"));
    for p in ["com.app.rpc", "com.app.other"] {
        request(&mut sim, callee, Action::Register, p, Dict::new());
        assert_eq!(outcome(sim.recv(callee)), Ok("REGISTERED".into()));
    }
    let user_sid = sim.clients[user].session.unwrap();
    let admin_sid = sim.clients[callee].session.unwrap();
    let invocation_details = |sim: &mut Sim, c: usize, p: &str| {
        request(sim, c, Action::Call, p, Dict::new());
        match sim.recv(callee) {
            Message::Invocation(i) => {
                sim.send(
                    callee,
                    Yield {
                        request: i.request,
                        options: Dict::new(),
                        payload: Payload::empty(),
                    },
                );
                sim.recv(c);
                i.details
            }
            other => panic!("{other:?}"),
        }
    };
    // com.app.rpc discloses callers; com.app.other (prefix rule) does not.
    let d = invocation_details(&mut sim, user, "com.app.rpc");
    assert_eq!(d.get_u64("caller"), Some(user_sid.get()));
    assert_eq!(d.get_str("caller_authid"), Some("user1"));
    assert_eq!(d.get_str("caller_authrole"), Some("user"));
    let d = invocation_details(&mut sim, user, "com.app.other");
    assert_eq!(d.get("caller"), None);
    // Publisher disclosure.
    request(
        &mut sim,
        user,
        Action::Subscribe,
        "com.app.feed",
        Dict::new(),
    );
    sim.recv(user);
    request(
        &mut sim,
        callee,
        Action::Subscribe,
        "com.app.feed",
        Dict::new(),
    );
    sim.recv(callee);
    request(&mut sim, user, Action::Publish, "com.app.feed", Dict::new());
    let ev = sim.recv(callee);
    let Message::Event(e) = ev else {
        panic!("{ev:?}")
    };
    assert_eq!(e.details.get_u64("publisher"), Some(user_sid.get()));
    assert_eq!(e.details.get_str("publisher_authid"), Some("user1"));
    assert!(matches!(sim.recv_all(user)[..], [Message::Published(_)]));
    // The admin role discloses every publication of admins.
    request(
        &mut sim,
        callee,
        Action::Publish,
        "com.app.feed",
        Dict::new().with("exclude_me", false),
    );
    let Message::Event(e) = sim.recv(user) else {
        panic!()
    };
    assert_eq!(e.details.get_u64("publisher"), Some(admin_sid.get()));
}

#[test]
fn no_roles_means_allow_all_and_no_disclosure() {
    let mut config = RouterConfig::with_realm("realm1");
    config.validate().unwrap();
    config.max_realms = 1;
    let mut sim = Sim::new(config, 6);
    let a = login(&mut sim, None);
    let b = login(&mut sim, None);
    for action in [
        Action::Call,
        Action::Register,
        Action::Publish,
        Action::Subscribe,
    ] {
        assert!(authorized(&mut sim, a, action, "any.uri"));
    }
    request(&mut sim, b, Action::Subscribe, "any.uri", Dict::new());
    sim.recv(b);
    request(&mut sim, a, Action::Publish, "any.uri", Dict::new());
    let Message::Event(e) = sim.recv(b) else {
        panic!()
    };
    assert!(e.details.is_empty());
}

// ------------------------------------------------------------------------------------------
// Dynamic authorizer
// ------------------------------------------------------------------------------------------

fn authz_request(sim: &mut Sim) -> (DecisionTicket, AuthzRequest) {
    match sim.next_decision() {
        (t, DecisionRequest::Authorize(r)) => (t, r),
        other => panic!("{other:?}"),
    }
}

fn answer(d: AuthzDecision) -> Decision {
    Decision::Authorize(d)
}

#[test]
fn dynamic_authorizer_request_and_answers() {
    let mut sim = sim(matrix_roles(), 7);
    let c = login(&mut sim, Some("dyn1"));
    let sid = sim.clients[c].session.unwrap();
    request(
        &mut sim,
        c,
        Action::Subscribe,
        "com.x.",
        Dict::new().with("match", "prefix"),
    );
    sim.assert_quiet(c);
    let (t, r) = authz_request(&mut sim);
    assert_eq!(r.realm, Uri::from("realm1"));
    assert_eq!(r.session, sid);
    assert_eq!((r.authid.as_str(), r.authrole.as_str()), ("dyn1", "dyn"));
    assert_eq!(r.action, Action::Subscribe);
    assert_eq!(r.uri, Uri::from("com.x."));
    assert_eq!(r.options.get_str("match"), Some("prefix"));
    assert!(sim.decide(t, answer(AuthzDecision::allow())));
    assert_eq!(outcome(sim.recv(c)), Ok("SUBSCRIBED".into()));
    // Not cached: the next request asks again; a denial answers not_authorized.
    request(
        &mut sim,
        c,
        Action::Subscribe,
        "com.x.",
        Dict::new().with("match", "prefix"),
    );
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::deny()));
    assert_eq!(outcome(sim.recv(c)), Err(uris::NOT_AUTHORIZED.into()));
    // A disclosing answer discloses the caller.
    let admin = login(&mut sim, Some("admin1"));
    request(&mut sim, admin, Action::Register, "com.p", Dict::new());
    sim.recv(admin);
    request(&mut sim, c, Action::Call, "com.p", Dict::new());
    let (t, r) = authz_request(&mut sim);
    assert_eq!(r.action, Action::Call);
    sim.decide(t, answer(AuthzDecision::allow().disclosing()));
    let Message::Invocation(i) = sim.recv(admin) else {
        panic!()
    };
    assert_eq!(i.details.get_u64("caller"), Some(sid.get()));
}

#[test]
fn dynamic_authorizer_cache_is_shared_bounded_and_invalidatable() {
    let mut config = RouterConfig::with_realm(realm(matrix_roles()));
    config.authorization_cache_size = 2;
    let mut sim = Sim::new(config, 8);
    let a = login(&mut sim, Some("dyn1"));
    let b = login(&mut sim, Some("dyn2"));
    request(&mut sim, a, Action::Call, "com.one", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow().cached()));
    assert_eq!(outcome(sim.recv(a)), Err(uris::NO_SUCH_PROCEDURE.into()));
    // Another session of the same role: answered from the cache.
    request(&mut sim, b, Action::Call, "com.one", Dict::new());
    assert_eq!(outcome(sim.recv(b)), Err(uris::NO_SUCH_PROCEDURE.into()));
    assert!(sim.decisions.is_empty());
    // Another action on the same URI is another question.
    request(&mut sim, b, Action::Subscribe, "com.one", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::deny().cached()));
    assert_eq!(outcome(sim.recv(b)), Err(uris::NOT_AUTHORIZED.into()));
    assert_eq!(sim.router.stats().cached_authorizations, 2);
    // A third cached answer evicts the oldest (com.one/call).
    request(&mut sim, b, Action::Call, "com.two", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow().cached()));
    sim.recv(b);
    assert_eq!(sim.router.stats().cached_authorizations, 2);
    request(&mut sim, a, Action::Call, "com.one", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow()));
    sim.recv(a);
    // Still cached: com.one/subscribe (denied) and com.two/call.
    request(&mut sim, a, Action::Subscribe, "com.one", Dict::new());
    assert_eq!(outcome(sim.recv(a)), Err(uris::NOT_AUTHORIZED.into()));
    // Invalidation: other realms and roles are untouched, this role's answers go.
    sim.router
        .invalidate_authorizations(Some("other.realm"), None);
    sim.router.invalidate_authorizations(None, Some("user"));
    assert_eq!(sim.router.stats().cached_authorizations, 2);
    sim.router
        .invalidate_authorizations(Some("realm1"), Some("dyn"));
    assert_eq!(sim.router.stats().cached_authorizations, 0);
    request(&mut sim, a, Action::Subscribe, "com.one", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow()));
    assert_eq!(outcome(sim.recv(a)), Ok("SUBSCRIBED".into()));
}

#[test]
fn dynamic_authorizer_deadline_fails_the_request() {
    let mut sim = sim(matrix_roles(), 9);
    let c = login(&mut sim, Some("dyn1"));
    request(&mut sim, c, Action::Register, "com.r", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.advance(Duration::from_secs(9));
    sim.assert_quiet(c);
    sim.advance(Duration::from_secs(1));
    assert_eq!(outcome(sim.recv(c)), Err(uris::AUTHORIZATION_FAILED.into()));
    assert!(!sim.decide(t, answer(AuthzDecision::allow())));
    sim.assert_quiet(c);
    // An answer of the wrong kind fails too.
    request(&mut sim, c, Action::Register, "com.r", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(
        t,
        Decision::Authenticate(wamp_router_core::AuthDecision::Deny),
    );
    assert_eq!(outcome(sim.recv(c)), Err(uris::AUTHORIZATION_FAILED.into()));
}

#[test]
fn requests_behind_a_pending_authorization_keep_their_order() {
    let mut sim = sim(matrix_roles(), 10);
    let admin = login(&mut sim, Some("admin1"));
    let c = login(&mut sim, Some("dyn1"));
    request(&mut sim, admin, Action::Register, "com.slow", Dict::new());
    sim.recv(admin);
    // The callee (dyn1) registers; the registration waits for the authorizer.
    let reg = request(&mut sim, c, Action::Register, "com.dyn", Dict::new());
    let (t1, _) = authz_request(&mut sim);
    // Meanwhile it calls, subscribes and unsubscribes: all queued behind the REGISTER.
    let call = request(&mut sim, c, Action::Call, "com.slow", Dict::new());
    let sub = request(&mut sim, c, Action::Subscribe, "com.t", Dict::new());
    let unsub = sim.next_req(c);
    sim.send(
        c,
        Unsubscribe {
            request: unsub,
            subscription: wamp_proto::id::SubscriptionId::new(999).unwrap(),
        },
    );
    sim.assert_quiet(c);
    assert_eq!(sim.decisions.len(), 0);
    // Other sessions are not held up.
    request(&mut sim, admin, Action::Call, "com.nothing", Dict::new());
    assert_eq!(
        outcome(sim.recv(admin)),
        Err(uris::NO_SUCH_PROCEDURE.into())
    );
    sim.decide(t1, answer(AuthzDecision::allow()));
    match sim.recv(c) {
        Message::Registered(r) => assert_eq!(r.request, reg),
        other => panic!("{other:?}"),
    }
    // The CALL is next and asks the authorizer; nothing after it runs yet.
    let (t2, r2) = authz_request(&mut sim);
    assert_eq!(r2.action, Action::Call);
    sim.assert_quiet(c);
    sim.decide(t2, answer(AuthzDecision::allow()));
    let Message::Invocation(inv) = sim.recv(admin) else {
        panic!()
    };
    // The SUBSCRIBE asks next.
    let (t3, r3) = authz_request(&mut sim);
    assert_eq!(r3.action, Action::Subscribe);
    // Results reach a session while one of its requests waits.
    sim.send(
        admin,
        Yield {
            request: inv.request,
            options: Dict::new(),
            payload: Payload::empty(),
        },
    );
    match sim.recv(c) {
        Message::Result(r) => assert_eq!(r.request, call),
        other => panic!("{other:?}"),
    }
    sim.decide(t3, answer(AuthzDecision::allow()));
    let got: Vec<_> = sim.recv_all(c).into_iter().map(outcome).collect();
    assert_eq!(
        got,
        vec![
            Ok("SUBSCRIBED".to_owned()),
            Err(uris::NO_SUCH_SUBSCRIPTION.to_owned())
        ]
    );
    assert!(sub < unsub);
}

#[test]
fn yields_and_cancels_around_a_pending_authorization() {
    let mut sim = sim(matrix_roles(), 11);
    let admin = login(&mut sim, Some("admin1"));
    let c = login(&mut sim, Some("dyn1"));
    // dyn1 is a callee of a cached-allowed registration.
    request(&mut sim, c, Action::Register, "com.dyn", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow()));
    sim.recv(c);
    request(&mut sim, admin, Action::Call, "com.dyn", Dict::new());
    let Message::Invocation(inv) = sim.recv(c) else {
        panic!()
    };
    // dyn1 publishes (pending), then answers the invocation: the YIELD is not queued.
    request(&mut sim, c, Action::Publish, "com.t", Dict::new());
    let (t, _) = authz_request(&mut sim);
    sim.send(
        c,
        Yield {
            request: inv.request,
            options: Dict::new(),
            payload: Payload::empty(),
        },
    );
    assert!(matches!(sim.recv(admin), Message::Result(_)));
    // A CANCEL is queued behind (in order with the CALL it cancels).
    let call = request(&mut sim, c, Action::Call, "com.dyn2", Dict::new());
    sim.send(
        c,
        Cancel {
            request: call,
            options: Dict::new(),
        },
    );
    sim.decide(t, answer(AuthzDecision::deny()));
    assert_eq!(outcome(sim.recv(c)), Err(uris::NOT_AUTHORIZED.into()));
    let (t, _) = authz_request(&mut sim);
    sim.decide(t, answer(AuthzDecision::allow()));
    // No such procedure; the CANCEL finds nothing to cancel.
    assert_eq!(outcome(sim.recv(c)), Err(uris::NO_SUCH_PROCEDURE.into()));
    sim.assert_quiet(c);
}

#[test]
fn queue_limit_and_leaving_with_a_pending_authorization() {
    let mut config = RouterConfig::with_realm(realm(matrix_roles()));
    config.max_queued_messages_per_session = 3;
    let mut sim = Sim::new(config, 12);
    let c = login(&mut sim, Some("dyn1"));
    request(&mut sim, c, Action::Call, "com.a", Dict::new());
    let (t, _) = authz_request(&mut sim);
    for _ in 0..3 {
        request(&mut sim, c, Action::Call, "com.a", Dict::new());
    }
    sim.assert_quiet(c);
    request(&mut sim, c, Action::Call, "com.a", Dict::new());
    match sim.recv(c) {
        Message::Abort(a) => assert_eq!(a.reason.as_str(), uris::NOT_AUTHORIZED),
        other => panic!("{other:?}"),
    }
    assert!(sim.clients[c].closed_by_router);
    assert!(
        sim.trace
            .last()
            .unwrap()
            .contains(&format!("{:?}", CloseReason::Capacity))
    );
    // The decision was abandoned with the session.
    assert_eq!(sim.router.stats().pending_decisions, 0);
    assert!(!sim.decide(t, answer(AuthzDecision::allow())));
    sim.disconnect(c);
    // A session that leaves (GOODBYE) while waiting abandons its decision too.
    let c = login(&mut sim, Some("dyn1"));
    request(&mut sim, c, Action::Subscribe, "com.a", Dict::new());
    let (t, _) = authz_request(&mut sim);
    assert!(matches!(sim.goodbye(c), Message::Goodbye(_)));
    assert!(!sim.decide(t, answer(AuthzDecision::allow())));
    sim.assert_quiet(c);
    let st = sim.router.stats();
    assert_eq!(
        (st.sessions, st.subscriptions, st.pending_decisions),
        (0, 0, 0)
    );
}
