//! Chaos for authentication, authorization and the meta API: arbitrary HELLOs (every method,
//! odd authextra), AUTHENTICATEs, requests, meta procedure calls with odd arguments, dynamic
//! decisions answered at random (allow, deny, cached, of the wrong kind, late, never), clock
//! jumps and reconnects, from three connections. The router never panics, never sends to a
//! closed connection (the harness checks), stays within its bounds, and once the connections
//! are gone nothing is left: no session, authentication, decision, timer or subscription.

use std::time::Duration;

use proptest::prelude::*;
use wamp_proto::auth::cryptosign::CryptosignKey;
use wamp_proto::id::RequestId;
use wamp_proto::message::{Authenticate, Call, Hello, Publish, Register, Subscribe};
use wamp_proto::{Dict, MatchPolicy, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::{
    Allow, AuthConfig, AuthDecision, AuthMethod, AuthzDecision, CraCredential, Decision,
    DecisionRequest, HistoryConfig, MethodConfig, Permission, Principal, RealmConfig, RoleConfig,
    RouterConfig,
};

use crate::sim::{Sim, full_roles};

fn config() -> RouterConfig {
    let mut r = RealmConfig::new("realm1");
    r.auth = AuthConfig {
        methods: vec![
            MethodConfig::dynamic(AuthMethod::Anonymous),
            MethodConfig::static_(AuthMethod::Ticket),
            MethodConfig::dynamic(AuthMethod::WampCra),
            MethodConfig::static_(AuthMethod::Cryptosign),
            MethodConfig::dynamic(AuthMethod::Scram),
        ],
        principals: vec![
            Principal::new("joe", "user").with_ticket("t"),
            Principal::new("dev", "dyn")
                .with_cryptosign_key(CryptosignKey::from_seed(&[1; 32]).public_key_hex()),
        ],
        ..AuthConfig::default()
    };
    r.roles = vec![
        RoleConfig::new(
            "anonymous",
            vec![
                Permission::new("", MatchPolicy::Prefix, Allow::all()),
                Permission::new("a.b", MatchPolicy::Exact, Allow::none()),
            ],
        ),
        RoleConfig::new(
            "user",
            vec![Permission::new("a", MatchPolicy::Prefix, Allow::all())],
        ),
        RoleConfig::dynamic("dyn"),
    ];
    r.event_history = vec![HistoryConfig::new("a.b")];
    let mut c = RouterConfig::with_realm(r);
    c.hello_timeout = Some(Duration::from_secs(2));
    c.decision_timeout = Duration::from_secs(1);
    c.max_pending_decisions = 4;
    c.max_queued_messages_per_session = 3;
    c.authorization_cache_size = 2;
    c.max_testaments_per_session = 2;
    c.max_subscriptions_per_session = 3;
    c
}

fn text() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "",
        "t",
        "joe",
        "dev",
        "a.b",
        "bogus",
        "destroyed",
        "detached",
        "AAAA",
        "%%",
    ])
    .prop_map(Value::from)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        text(),
        (0..4u64).prop_map(Value::UInt),
        Just(Value::Null),
        Just(Value::Bool(true)),
        prop::collection::vec(text(), 0..3).prop_map(Value::List),
        Just(Value::Dict(Dict::new().with("match", "prefix"))),
    ]
}

fn dict() -> impl Strategy<Value = Dict> {
    let keys = prop::sample::select(vec![
        "pubkey",
        "nonce",
        "channel_binding",
        "challenge",
        "scope",
        "reason",
        "message",
        "limit",
        "reverse",
        "publish_options",
        "from_time",
        "topic",
        "match",
    ]);
    prop::collection::vec((keys, value()), 0..3).prop_map(|kv| {
        let mut d = Dict::new();
        for (k, v) in kv {
            d.insert(k, v);
        }
        d
    })
}

fn hello() -> impl Strategy<Value = Message> {
    let methods = prop::collection::vec(
        prop::sample::select(vec![
            "anonymous",
            "ticket",
            "wampcra",
            "cryptosign",
            "scram",
            "wamp-scram",
            "x",
        ]),
        0..3,
    );
    let authid = prop::option::of(prop::sample::select(vec!["joe", "dev", "zed"]));
    let pubkey = prop::option::of(prop::sample::select(vec![
        CryptosignKey::from_seed(&[1; 32]).public_key_hex(),
        CryptosignKey::from_seed(&[2; 32]).public_key_hex(),
        "zz".to_owned(),
    ]));
    (methods, authid, pubkey, dict()).prop_map(|(m, authid, pubkey, mut extra)| {
        let mut details = Dict::new().with("roles", full_roles());
        if !m.is_empty() {
            details.insert(
                "authmethods",
                Value::List(m.into_iter().map(Value::from).collect()),
            );
        }
        if let Some(a) = authid {
            details.insert("authid", a);
        }
        if let Some(p) = pubkey {
            extra.insert("pubkey", p);
        }
        extra.insert("nonce", "AAAAAAAAAAAAAAAAAAAAAA==");
        details.insert("authextra", extra);
        Hello {
            realm: "realm1".into(),
            details,
        }
        .into()
    })
}

fn uri() -> impl Strategy<Value = Uri> {
    prop::sample::select(vec![
        "a",
        "a.b",
        "a.c",
        "b",
        "wamp.session.count",
        "wamp.session.list",
        "wamp.session.get",
        "wamp.session.kill",
        "wamp.session.kill_by_authid",
        "wamp.session.kill_by_authrole",
        "wamp.session.kill_all",
        "wamp.session.add_testament",
        "wamp.session.flush_testaments",
        "wamp.registration.list",
        "wamp.registration.lookup",
        "wamp.registration.match",
        "wamp.registration.get",
        "wamp.registration.list_callees",
        "wamp.subscription.list",
        "wamp.subscription.match",
        "wamp.subscription.get",
        "wamp.subscription.count_subscribers",
        "wamp.subscription.get_events",
        "wamp.session.on_leave",
        "wamp.subscription.on_create",
    ])
    .prop_map(Uri::from_wire)
}

fn message() -> impl Strategy<Value = Message> {
    let r = || (1..5u64).prop_map(|n| RequestId::new(n).unwrap());
    let args = prop::collection::vec(value(), 0..3);
    prop_oneof![
        4 => hello(),
        2 => (text(), dict()).prop_map(|(s, extra)| Authenticate { signature: s.as_str().unwrap_or("").to_owned(), extra }.into()),
        5 => (r(), uri(), args, dict()).prop_map(|(request, procedure, args, kwargs)| Call { request, options: Dict::new(), procedure, payload: Payload::new(args, kwargs) }.into()),
        2 => (r(), uri()).prop_map(|(request, topic)| Subscribe { request, options: Dict::new(), topic }.into()),
        2 => (r(), uri(), any::<bool>()).prop_map(|(request, topic, ack)| Publish { request, options: Dict::new().with("acknowledge", ack), topic, payload: Payload::empty() }.into()),
        1 => (r(), uri()).prop_map(|(request, procedure)| Register { request, options: Dict::new(), procedure }.into()),
        1 => Just(Message::from(wamp_proto::message::Goodbye { details: Dict::new(), reason: "wamp.close.normal".into() })),
        1 => Just(Message::from(wamp_proto::message::Abort { details: Dict::new(), reason: "wamp.close.normal".into(), payload: Payload::empty() })),
    ]
}

#[derive(Debug, Clone)]
enum Answer {
    Allow { cache: bool, disclose: bool },
    Deny,
    Accept(&'static str),
    Reject,
    WrongKind,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        (any::<bool>(), any::<bool>())
            .prop_map(|(cache, disclose)| Answer::Allow { cache, disclose }),
        Just(Answer::Deny),
        prop::sample::select(vec!["user", "dyn", "anonymous", "ghost"]).prop_map(Answer::Accept),
        Just(Answer::Reject),
        Just(Answer::WrongKind),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    /// A proper join: anonymous with the dynamic authenticator's answer (`Some(role)`), or
    /// ticket (`None`, role `user`).
    Join(usize, Option<&'static str>),
    Send(usize, Message),
    Decide(usize, Answer),
    Reconnect(usize),
    Advance(u64),
    Invalidate,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, prop::option::of(prop::sample::select(vec!["dyn", "anonymous", "user"]))).prop_map(|(c, r)| Step::Join(c, r)),
        12 => (0..3usize, message()).prop_map(|(c, m)| Step::Send(c, m)),
        4 => (0..4usize, answer()).prop_map(|(i, a)| Step::Decide(i, a)),
        1 => (0..3usize).prop_map(Step::Reconnect),
        1 => (0..3000u64).prop_map(Step::Advance),
        1 => Just(Step::Invalidate),
    ]
}

fn decision(request: &DecisionRequest, a: &Answer) -> Decision {
    match (request, a) {
        (_, Answer::WrongKind) => match request {
            DecisionRequest::Authenticate(_) => Decision::Authorize(AuthzDecision::allow()),
            _ => Decision::Authenticate(AuthDecision::Deny),
        },
        (DecisionRequest::Authorize(_), Answer::Allow { cache, disclose }) => {
            Decision::Authorize(AuthzDecision {
                allow: true,
                cache: *cache,
                disclose: *disclose,
            })
        }
        (DecisionRequest::Authorize(_), _) => Decision::Authorize(AuthzDecision::deny()),
        (DecisionRequest::Authenticate(_), Answer::Accept(role)) => Decision::Authenticate(
            AuthDecision::accept(Principal::new("", *role).with_wampcra(CraCredential::plain("s"))),
        ),
        (DecisionRequest::Authenticate(_), _) => Decision::Authenticate(AuthDecision::Deny),
        _ => Decision::Authenticate(AuthDecision::Deny),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn auth_authz_and_meta_chaos(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..100)) {
        let mut sim = Sim::new(config(), seed);
        let mut clients: Vec<usize> = (0..3)
            .map(|i| sim.connect([Serializer::Json, Serializer::MsgPack, Serializer::Cbor][i]))
            .collect();
        for s in steps {
            match s {
                Step::Join(c, role) => {
                    sim.disconnect(clients[c]);
                    clients[c] = sim.connect(Serializer::MsgPack);
                    let i = clients[c];
                    let mut details = Dict::new().with("roles", full_roles());
                    if role.is_none() {
                        details.insert("authmethods", Value::List(vec!["ticket".into()]));
                        details.insert("authid", "joe");
                    }
                    sim.send(i, Hello { realm: "realm1".into(), details });
                    match role {
                        None => {
                            if matches!(sim.recv_all(i).last(), Some(Message::Challenge(_))) {
                                sim.send(i, Authenticate { signature: "t".into(), extra: Dict::new() });
                            }
                        }
                        Some(r) => {
                            let last = sim.decisions.len().checked_sub(1);
                            if let Some((t, DecisionRequest::Authenticate(_))) = last.and_then(|l| sim.decisions.remove(l)) {
                                sim.decide(t, Decision::Authenticate(AuthDecision::accept(Principal::new("", r))));
                            }
                        }
                    }
                }
                Step::Send(c, m) => {
                    if sim.clients[clients[c]].closed_by_router {
                        sim.disconnect(clients[c]);
                        clients[c] = sim.connect(Serializer::Json);
                    }
                    sim.send(clients[c], m);
                }
                Step::Decide(i, a) => {
                    if !sim.decisions.is_empty() {
                        let idx = i % sim.decisions.len();
                        let (t, request) = sim.decisions.remove(idx).unwrap();
                        let d = decision(&request, &a);
                        sim.decide(t, d);
                    }
                }
                Step::Reconnect(c) => {
                    sim.disconnect(clients[c]);
                    clients[c] = sim.connect(Serializer::Json);
                }
                Step::Advance(ms) => sim.advance(Duration::from_millis(ms)),
                Step::Invalidate => sim.router.invalidate_authorizations(None, None),
            }
            for i in &clients {
                sim.recv_all(*i);
            }
            let st = sim.router.stats();
            prop_assert!(st.sessions + st.authenticating <= 3);
            prop_assert!(st.pending_decisions <= 4);
            prop_assert!(st.cached_authorizations <= 2);
            prop_assert!(st.subscribers <= 3 * 3);
            prop_assert!(st.history_events <= 100);
        }
        for i in clients {
            sim.disconnect(i);
        }
        let st = sim.router.stats();
        prop_assert_eq!(
            (st.sessions, st.connections, st.authenticating, st.pending_decisions, st.subscriptions, st.registrations, st.pending_calls, st.timers),
            (0, 0, 0, 0, 0, 0, 0, 0)
        );
        // Answers to decisions that are gone are refused, never applied.
        while let Some((t, request)) = sim.decisions.pop_front() {
            let d = decision(&request, &Answer::Allow { cache: true, disclose: true });
            prop_assert!(!sim.decide(t, d));
        }
    }
}
