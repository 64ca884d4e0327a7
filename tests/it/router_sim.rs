//! Router scenarios in the simulation harness: every feature through the public API, over
//! real serializers, with a virtual clock.

use std::time::Duration;

use wamp_proto::id::{RegistrationId, SubscriptionId};
use wamp_proto::message::{
    Abort, Call, Cancel, Error, Hello, Publish, Register, Subscribe, Unregister, Unsubscribe, Yield,
};
use wamp_proto::{DecodeError, Dict, Message, MessageKind, Payload, Serializer, Uri, Value};
use wamp_router_core::{RouterConfig, uris};

use crate::sim::{Sim, basic_roles, full_roles, req};

const J: Serializer = Serializer::Json;
const M: Serializer = Serializer::MsgPack;
const C: Serializer = Serializer::Cbor;

fn subscribe(sim: &mut Sim, i: usize, topic: &str, options: Dict) -> SubscriptionId {
    let request = sim.next_req(i);
    sim.send(
        i,
        Subscribe {
            request,
            options,
            topic: Uri::from_wire(topic),
        },
    );
    match sim.recv(i) {
        Message::Subscribed(s) => {
            assert_eq!(s.request, request);
            s.subscription
        }
        other => panic!("{other:?}"),
    }
}

fn publish(sim: &mut Sim, i: usize, topic: &str, options: Dict, payload: Payload) {
    let request = sim.next_req(i);
    sim.send(
        i,
        Publish {
            request,
            options,
            topic: Uri::from_wire(topic),
            payload,
        },
    );
}

fn register(sim: &mut Sim, i: usize, procedure: &str, options: Dict) -> RegistrationId {
    let request = sim.next_req(i);
    sim.send(
        i,
        Register {
            request,
            options,
            procedure: Uri::from_wire(procedure),
        },
    );
    match sim.recv(i) {
        Message::Registered(r) => r.registration,
        other => panic!("{other:?}"),
    }
}

fn call(sim: &mut Sim, i: usize, procedure: &str, options: Dict, payload: Payload) -> u64 {
    let request = sim.next_req(i);
    sim.send(
        i,
        Call {
            request,
            options,
            procedure: Uri::from_wire(procedure),
            payload,
        },
    );
    request.get()
}

fn invocation(sim: &mut Sim, i: usize) -> wamp_proto::message::Invocation {
    match sim.recv(i) {
        Message::Invocation(inv) => inv,
        other => panic!("expected INVOCATION, got {other:?}"),
    }
}

fn yield_(
    sim: &mut Sim,
    i: usize,
    request: wamp_proto::id::RequestId,
    options: Dict,
    payload: Payload,
) {
    sim.send(
        i,
        Yield {
            request,
            options,
            payload,
        },
    );
}

fn error_uri(m: &Message) -> &str {
    match m {
        Message::Error(e) => e.error.as_str(),
        Message::Abort(a) => a.reason.as_str(),
        other => other.kind().name(),
    }
}

fn args(v: Vec<Value>) -> Payload {
    Payload::args(v)
}

#[test]
fn welcome_announces_roles_and_anonymous_identity() {
    let mut sim = Sim::realm1(1);
    let c = sim.connect(J);
    let Message::Welcome(w) = sim.hello(c, "realm1", basic_roles()) else {
        panic!()
    };
    let d = &w.details;
    assert_eq!(d.get_str("authrole"), Some("anonymous"));
    assert_eq!(d.get_str("authmethod"), Some("anonymous"));
    assert_eq!(d.get_str("authprovider"), Some("static"));
    assert_eq!(d.get_str("authid"), Some(w.session.to_string().as_str()));
    assert_eq!(d.get_str("realm"), Some("realm1"));
    assert!(d.get_str("agent").is_some());
    let roles = d.get_dict("roles").unwrap();
    let feats = |r: &str| -> Vec<String> {
        roles
            .get_dict(r)
            .unwrap()
            .get_dict("features")
            .unwrap()
            .iter()
            .map(|(k, v)| {
                assert_eq!(v, &Value::Bool(true));
                k.to_owned()
            })
            .collect()
    };
    assert_eq!(
        feats("broker"),
        [
            "publisher_identification",
            "pattern_based_subscription",
            "subscriber_blackwhite_listing",
            "publisher_exclusion",
            "event_retention",
            "subscription_revocation",
            "session_meta_api",
            "subscription_meta_api",
            "event_history"
        ]
    );
    assert_eq!(
        feats("dealer"),
        [
            "caller_identification",
            "pattern_based_registration",
            "shared_registration",
            "call_timeout",
            "call_canceling",
            "progressive_call_results",
            "progressive_call_invocations",
            "registration_revocation",
            "session_meta_api",
            "registration_meta_api",
            "testament_meta_api"
        ]
    );
}

#[test]
fn no_such_realm_then_retry_on_the_same_connection() {
    let mut sim = Sim::realm1(2);
    let c = sim.connect(M);
    let m = sim.hello(c, "realm2", basic_roles());
    assert_eq!(error_uri(&m), uris::NO_SUCH_REALM);
    assert!(!sim.clients[c].closed_by_router);
    assert!(matches!(
        sim.hello(c, "realm1", basic_roles()),
        Message::Welcome(_)
    ));
}

#[test]
fn auto_created_realms_and_realm_limit() {
    let mut config = RouterConfig::default();
    config.auto_create_realms = true;
    config.max_realms = 2;
    let mut sim = Sim::new(config, 3);
    for (realm, ok) in [("a.b", true), ("c.d", true), ("e.f", false), ("a.b", true)] {
        let c = sim.connect(J);
        let m = sim.hello(c, realm, basic_roles());
        assert_eq!(matches!(m, Message::Welcome(_)), ok, "{realm}: {m:?}");
    }
    assert_eq!(
        sim.router.realms().map(|r| r.as_str()).collect::<Vec<_>>(),
        ["a.b", "c.d"]
    );
}

#[test]
fn no_matching_auth_method() {
    let mut sim = Sim::realm1(4);
    let c = sim.connect(J);
    sim.send(
        c,
        Hello {
            realm: "realm1".into(),
            details: Dict::new()
                .with("roles", basic_roles())
                .with("authmethods", Value::List(vec!["ticket".into()])),
        },
    );
    assert_eq!(error_uri(&sim.recv(c)), uris::NO_AUTH_METHOD);
    sim.send(
        c,
        Hello {
            realm: "realm1".into(),
            details: Dict::new().with("roles", basic_roles()).with(
                "authmethods",
                Value::List(vec!["ticket".into(), "anonymous".into()]),
            ),
        },
    );
    assert!(matches!(sim.recv(c), Message::Welcome(_)));
}

/// Every message that is illegal in the state: ABORT protocol_violation, then Close, then
/// silence.
#[test]
fn protocol_violations_abort_and_close() {
    let illegal_before_hello: Vec<Message> = vec![
        Call {
            request: req(1),
            options: Dict::new(),
            procedure: "p".into(),
            payload: Payload::empty(),
        }
        .into(),
        Subscribe {
            request: req(1),
            options: Dict::new(),
            topic: "t".into(),
        }
        .into(),
        wamp_proto::message::Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        }
        .into(),
        Yield {
            request: req(1),
            options: Dict::new(),
            payload: Payload::empty(),
        }
        .into(),
    ];
    for msg in illegal_before_hello {
        let mut sim = Sim::realm1(5);
        let c = sim.connect(J);
        sim.send(c, msg.clone());
        assert_eq!(error_uri(&sim.recv(c)), uris::PROTOCOL_VIOLATION, "{msg:?}");
        assert!(sim.clients[c].closed_by_router);
        // Input after the close is ignored (the harness fails on any send to it).
        sim.send(c, msg);
        sim.assert_quiet(c);
    }
    let illegal_in_session: Vec<Message> = vec![
        Hello {
            realm: "realm1".into(),
            details: Dict::new().with("roles", basic_roles()),
        }
        .into(),
        wamp_proto::message::Welcome {
            session: wamp_proto::id::SessionId::new(5).unwrap(),
            details: Dict::new(),
        }
        .into(),
        wamp_proto::message::Authenticate {
            signature: "x".into(),
            extra: Dict::new(),
        }
        .into(),
        wamp_proto::message::Event {
            subscription: SubscriptionId::new(1).unwrap(),
            publication: wamp_proto::id::PublicationId::new(1).unwrap(),
            details: Dict::new(),
            payload: Payload::empty(),
        }
        .into(),
        wamp_proto::message::CallResult {
            request: req(1),
            details: Dict::new(),
            payload: Payload::empty(),
        }
        .into(),
        Error {
            request_type: MessageKind::Call,
            request: req(1),
            details: Dict::new(),
            error: "x.y".into(),
            payload: Payload::empty(),
        }
        .into(),
        Yield {
            request: req(1),
            options: Dict::new(),
            payload: Payload::empty(),
        }
        .into(),
    ];
    for msg in illegal_in_session {
        let mut sim = Sim::realm1(6);
        let c = sim.join(C);
        let other = sim.join(J);
        let sub = subscribe(&mut sim, c, "t", Dict::new());
        sim.send(c, msg.clone());
        assert_eq!(error_uri(&sim.recv(c)), uris::PROTOCOL_VIOLATION, "{msg:?}");
        assert!(sim.clients[c].closed_by_router);
        // The session is gone: its subscription too.
        publish(&mut sim, other, "t", Dict::new(), Payload::empty());
        assert_eq!(sim.router.stats().sessions, 1);
        assert_eq!(sim.router.stats().subscriptions, 0, "{sub}");
    }
    // Malformed HELLOs.
    for details in [
        Dict::new(),
        Dict::new().with("roles", Dict::new()),
        Dict::new().with("roles", 3u8),
    ] {
        let mut sim = Sim::realm1(7);
        let c = sim.connect(M);
        sim.send(
            c,
            Hello {
                realm: "realm1".into(),
                details,
            },
        );
        assert_eq!(error_uri(&sim.recv(c)), uris::PROTOCOL_VIOLATION);
    }
    let mut sim = Sim::realm1(7);
    let c = sim.connect(M);
    assert_eq!(
        error_uri(&sim.hello(c, "bad realm", basic_roles())),
        uris::PROTOCOL_VIOLATION
    );
}

#[test]
fn decode_errors_abort_and_close() {
    let mut sim = Sim::realm1(8);
    let c = sim.join(J);
    let conn = sim.clients[c].conn;
    sim.router
        .handle_decode_error(sim.now, conn, &DecodeError::TooLarge { size: 10, limit: 5 });
    sim.pump();
    assert_eq!(error_uri(&sim.recv(c)), uris::PAYLOAD_SIZE_EXCEEDED);
    assert!(sim.clients[c].closed_by_router);
    let d = sim.connect(J);
    let conn = sim.clients[d].conn;
    sim.router
        .handle_decode_error(sim.now, conn, &DecodeError::Empty);
    sim.pump();
    assert_eq!(error_uri(&sim.recv(d)), uris::PROTOCOL_VIOLATION);
    assert_eq!(sim.router.stats().sessions, 0);
}

#[test]
fn goodbye_handshake_and_several_sessions_per_connection() {
    let mut sim = Sim::realm1(9);
    let c = sim.connect(C);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let Message::Welcome(w) = sim.hello(c, "realm1", full_roles()) else {
            panic!()
        };
        ids.push(w.session);
        subscribe(&mut sim, c, "t", Dict::new());
        register(&mut sim, c, "p", Dict::new());
        match sim.goodbye(c) {
            Message::Goodbye(g) => assert_eq!(g.reason, uris::GOODBYE_AND_OUT),
            other => panic!("{other:?}"),
        }
        let s = sim.router.stats();
        assert_eq!((s.sessions, s.subscriptions, s.registrations), (0, 0, 0));
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
    // ABORT from the client ends the session silently; the connection stays usable.
    let Message::Welcome(_) = sim.hello(c, "realm1", full_roles()) else {
        panic!()
    };
    sim.send(
        c,
        Abort {
            details: Dict::new(),
            reason: "wamp.close.system_shutdown".into(),
            payload: Payload::empty(),
        },
    );
    sim.assert_quiet(c);
    assert_eq!(sim.router.stats().sessions, 0);
    assert!(matches!(
        sim.hello(c, "realm1", full_roles()),
        Message::Welcome(_)
    ));
}

#[test]
fn invalid_uris_get_errors() {
    let mut sim = Sim::realm1(10);
    let c = sim.join(J);
    let r = sim.next_req(c);
    sim.send(
        c,
        Subscribe {
            request: r,
            options: Dict::new(),
            topic: "a..b".into(),
        },
    );
    assert_eq!(error_uri(&sim.recv(c)), uris::INVALID_URI);
    let r = sim.next_req(c);
    sim.send(
        c,
        Register {
            request: r,
            options: Dict::new(),
            procedure: "a b".into(),
        },
    );
    assert_eq!(error_uri(&sim.recv(c)), uris::INVALID_URI);
    call(&mut sim, c, "a.#", Dict::new(), Payload::empty());
    assert_eq!(error_uri(&sim.recv(c)), uris::INVALID_URI);
    publish(&mut sim, c, "a..b", Dict::new(), Payload::empty());
    sim.assert_quiet(c);
    publish(
        &mut sim,
        c,
        "a..b",
        Dict::new().with("acknowledge", true),
        Payload::empty(),
    );
    assert_eq!(error_uri(&sim.recv(c)), uris::INVALID_URI);
    // Pattern URIs are valid with their policy.
    subscribe(&mut sim, c, "a..b", Dict::new().with("match", "wildcard"));
    subscribe(&mut sim, c, "a.", Dict::new().with("match", "prefix"));
}

/// Payloads cross serializers without losing bytes/strings, u64, negative ints, floats.
#[test]
fn pubsub_transcodes_between_serializers() {
    let mut sim = Sim::realm1(11);
    let subs: Vec<usize> = [J, M, C].iter().map(|s| sim.join(*s)).collect();
    for s in &subs {
        subscribe(&mut sim, *s, "com.x", Dict::new());
    }
    let payload = Payload::new(
        vec![
            Value::Bytes(vec![0, 1, 255]),
            Value::from("text"),
            Value::UInt(u64::MAX),
            Value::Int(-5),
            Value::Float(1.5),
        ],
        Dict::new().with(
            "k",
            Value::List(vec![Value::Bytes(b"ab".to_vec()), Value::Null]),
        ),
    );
    for publisher in [J, M, C] {
        let p = sim.join(publisher);
        let pl = payload.clone();
        publish(
            &mut sim,
            p,
            "com.x",
            Dict::new().with("acknowledge", true),
            pl.clone(),
        );
        let Message::Published(pubd) = sim.recv(p) else {
            panic!()
        };
        for s in &subs {
            match sim.recv(*s) {
                Message::Event(e) => {
                    assert_eq!(e.publication, pubd.publication);
                    assert_eq!(
                        e.payload, pl,
                        "from {publisher:?} to {:?}",
                        sim.clients[*s].serializer
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn rpc_round_trip_across_serializers() {
    let mut sim = Sim::realm1(12);
    let callee = sim.join(M);
    let caller = sim.join(J);
    register(&mut sim, callee, "com.add", Dict::new());
    let r = call(
        &mut sim,
        caller,
        "com.add",
        Dict::new(),
        args(vec![Value::Bytes(vec![9; 3]), Value::UInt(1 << 60)]),
    );
    let inv = invocation(&mut sim, callee);
    assert_eq!(
        inv.payload.arguments(),
        &[Value::Bytes(vec![9; 3]), Value::UInt(1 << 60)]
    );
    yield_(
        &mut sim,
        callee,
        inv.request,
        Dict::new(),
        args(vec![Value::Float(0.25), Value::Bytes(vec![])]),
    );
    match sim.recv(caller) {
        Message::Result(res) => {
            assert_eq!(res.request.get(), r);
            assert_eq!(
                res.payload.arguments(),
                &[Value::Float(0.25), Value::Bytes(vec![])]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pattern_subscriptions_deliver_once_per_subscription_with_topic() {
    let mut sim = Sim::realm1(13);
    let s = sim.join(C);
    let p = sim.join(J);
    let exact = subscribe(&mut sim, s, "com.a.b", Dict::new());
    let prefix = subscribe(&mut sim, s, "com.a", Dict::new().with("match", "prefix"));
    let wild = subscribe(&mut sim, s, "com..b", Dict::new().with("match", "wildcard"));
    publish(&mut sim, p, "com.a.b", Dict::new(), Payload::empty());
    let evs: Vec<(SubscriptionId, Option<String>)> = sim
        .recv_all(s)
        .into_iter()
        .map(|m| match m {
            Message::Event(e) => (
                e.subscription,
                e.details.get_str("topic").map(str::to_owned),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        evs,
        vec![
            (exact, None),
            (prefix, Some("com.a.b".into())),
            (wild, Some("com.a.b".into()))
        ]
    );
    // After UNSUBSCRIBE no more events for that subscription.
    let r = sim.next_req(s);
    sim.send(
        s,
        Unsubscribe {
            request: r,
            subscription: prefix,
        },
    );
    assert!(matches!(sim.recv(s), Message::Unsubscribed(_)));
    publish(&mut sim, p, "com.a.b", Dict::new(), Payload::empty());
    assert_eq!(sim.recv_all(s).len(), 2);
    let r = sim.next_req(s);
    sim.send(
        s,
        Unsubscribe {
            request: r,
            subscription: prefix,
        },
    );
    assert_eq!(error_uri(&sim.recv(s)), uris::NO_SUCH_SUBSCRIPTION);
}

#[test]
fn fan_out_is_one_broadcast_and_ordered_per_publisher() {
    let mut sim = Sim::realm1(14);
    let subs: Vec<usize> = (0..20).map(|i| sim.join([J, M, C][i % 3])).collect();
    for s in &subs {
        subscribe(&mut sim, *s, "t1", Dict::new());
        subscribe(&mut sim, *s, "t2", Dict::new());
    }
    let p = sim.join(J);
    let before = sim.broadcasts;
    for n in 0..10u64 {
        publish(
            &mut sim,
            p,
            if n % 2 == 0 { "t1" } else { "t2" },
            Dict::new(),
            args(vec![n.into()]),
        );
    }
    assert_eq!(sim.broadcasts - before, 10);
    for s in &subs {
        let seq: Vec<u64> = sim
            .recv_all(*s)
            .iter()
            .map(|m| match m {
                Message::Event(e) => e.payload.arguments()[0].as_u64().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seq, (0..10).collect::<Vec<_>>());
    }
}

#[test]
fn exclusion_lists_and_disclosure_end_to_end() {
    let mut sim = Sim::realm1(15);
    let a = sim.join(J);
    let b = sim.join(M);
    let c = sim.join(C);
    for x in [a, b, c] {
        subscribe(&mut sim, x, "t", Dict::new());
    }
    let sid = |sim: &Sim, i: usize| Value::from(sim.clients[i].session.unwrap());
    // Default: the publisher is excluded.
    publish(&mut sim, a, "t", Dict::new(), Payload::empty());
    assert!(sim.recv_all(a).is_empty());
    assert_eq!(sim.recv_all(b).len() + sim.recv_all(c).len(), 2);
    let opts = Dict::new()
        .with("exclude_me", false)
        .with("exclude", Value::List(vec![sid(&sim, b)]))
        .with("disclose_me", true);
    publish(&mut sim, a, "t", opts, Payload::empty());
    for x in [a, c] {
        match sim.recv(x) {
            Message::Event(e) => assert_eq!(e.details.get("publisher"), Some(&sid(&sim, a))),
            other => panic!("{other:?}"),
        }
    }
    sim.assert_quiet(b);
    let opts = Dict::new()
        .with("eligible", Value::List(vec![sid(&sim, b)]))
        .with("eligible_authrole", Value::List(vec!["anonymous".into()]));
    publish(&mut sim, a, "t", opts, Payload::empty());
    assert_eq!(sim.recv_all(b).len(), 1);
    assert!(sim.recv_all(c).is_empty());
}

#[test]
fn retained_events_reach_late_subscribers() {
    let mut sim = Sim::realm1(16);
    let p = sim.join(J);
    publish(
        &mut sim,
        p,
        "com.r",
        Dict::new().with("retain", true),
        args(vec![1u8.into()]),
    );
    publish(
        &mut sim,
        p,
        "com.r",
        Dict::new().with("retain", true),
        args(vec![2u8.into()]),
    );
    let s = sim.join(M);
    subscribe(&mut sim, s, "com.r", Dict::new().with("get_retained", true));
    match sim.recv(s) {
        Message::Event(e) => {
            assert_eq!(e.details.get_bool("retained"), Some(true));
            assert_eq!(e.payload.arguments(), &[Value::from(2u8)]);
        }
        other => panic!("{other:?}"),
    }
    // The publisher itself was excluded from the retained event.
    subscribe(&mut sim, p, "com.r", Dict::new().with("get_retained", true));
    sim.assert_quiet(p);
}

#[test]
fn subscription_and_registration_revocation() {
    let mut sim = Sim::realm1(17);
    let full = sim.join(J);
    let basic = sim.join_with(M, basic_roles());
    let sub = subscribe(&mut sim, full, "t", Dict::new());
    assert_eq!(subscribe(&mut sim, basic, "t", Dict::new()), sub);
    assert_eq!(
        sim.router
            .revoke_subscription(sim.now, "realm1", sub, Some("wamp.error.revoked")),
        Some(2)
    );
    sim.pump();
    match sim.recv(full) {
        Message::Unsubscribed(u) => {
            assert_eq!(u.request, None);
            assert_eq!(u.details.get_u64("subscription"), Some(sub.get()));
            assert_eq!(u.details.get_str("reason"), Some("wamp.error.revoked"));
        }
        other => panic!("{other:?}"),
    }
    sim.assert_quiet(basic);
    let p = sim.join(C);
    publish(&mut sim, p, "t", Dict::new(), Payload::empty());
    sim.assert_quiet(full);
    let reg = register(&mut sim, full, "p", Dict::new());
    assert_eq!(
        sim.router.revoke_registration(sim.now, "realm1", reg, None),
        Some(1)
    );
    sim.pump();
    assert!(matches!(sim.recv(full), Message::Unregistered(u) if u.request.is_none()));
    assert_eq!(
        sim.router.revoke_registration(sim.now, "realm1", reg, None),
        None
    );
    assert_eq!(
        sim.router.revoke_subscription(sim.now, "nope", sub, None),
        None
    );
}

#[test]
fn registration_precedence_and_errors() {
    let mut sim = Sim::realm1(18);
    let c1 = sim.join(J);
    let c2 = sim.join(M);
    let caller = sim.join(C);
    register(
        &mut sim,
        c1,
        "com.app.",
        Dict::new().with("match", "prefix"),
    );
    register(
        &mut sim,
        c2,
        "com..proc",
        Dict::new().with("match", "wildcard"),
    );
    call(
        &mut sim,
        caller,
        "com.app.proc",
        Dict::new(),
        Payload::empty(),
    );
    let inv = invocation(&mut sim, c1);
    assert_eq!(inv.details.get_str("procedure"), Some("com.app.proc"));
    call(
        &mut sim,
        caller,
        "com.other.proc",
        Dict::new(),
        Payload::empty(),
    );
    assert_eq!(
        invocation(&mut sim, c2).details.get_str("procedure"),
        Some("com.other.proc")
    );
    call(&mut sim, caller, "org.x", Dict::new(), Payload::empty());
    assert_eq!(error_uri(&sim.recv(caller)), uris::NO_SUCH_PROCEDURE);
    let r = sim.next_req(c2);
    sim.send(
        c2,
        Register {
            request: r,
            options: Dict::new().with("match", "prefix"),
            procedure: "com.app.".into(),
        },
    );
    assert_eq!(error_uri(&sim.recv(c2)), uris::PROCEDURE_ALREADY_EXISTS);
    let r = sim.next_req(c2);
    sim.send(
        c2,
        Unregister {
            request: r,
            registration: RegistrationId::new(999).unwrap(),
        },
    );
    assert_eq!(error_uri(&sim.recv(c2)), uris::NO_SUCH_REGISTRATION);
}

#[test]
fn shared_registration_round_robin_and_policy_conflict() {
    let mut sim = Sim::realm1(19);
    let callees: Vec<usize> = (0..3).map(|_| sim.join(M)).collect();
    let caller = sim.join(J);
    let rr = Dict::new().with("invoke", "roundrobin");
    let ids: Vec<RegistrationId> = callees
        .iter()
        .map(|c| register(&mut sim, *c, "p", rr.clone()))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    let x = sim.join(C);
    let r = sim.next_req(x);
    sim.send(
        x,
        Register {
            request: r,
            options: Dict::new().with("invoke", "random"),
            procedure: "p".into(),
        },
    );
    assert_eq!(
        error_uri(&sim.recv(x)),
        uris::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY
    );
    for round in 0..6 {
        call(&mut sim, caller, "p", Dict::new(), Payload::empty());
        let target = callees[round % 3];
        let inv = invocation(&mut sim, target);
        yield_(&mut sim, target, inv.request, Dict::new(), Payload::empty());
        assert!(matches!(sim.recv(caller), Message::Result(_)));
    }
}

#[test]
fn caller_identification() {
    let mut sim = Sim::realm1(20);
    let callee = sim.join(J);
    let caller = sim.join(J);
    register(&mut sim, callee, "p", Dict::new());
    call(
        &mut sim,
        caller,
        "p",
        Dict::new().with("disclose_me", true),
        Payload::empty(),
    );
    let inv = invocation(&mut sim, callee);
    assert_eq!(
        inv.details.get_u64("caller"),
        Some(sim.clients[caller].session.unwrap().get())
    );
    assert_eq!(inv.details.get_str("caller_authrole"), Some("anonymous"));
}

#[test]
fn progressive_results_and_invocations() {
    let mut sim = Sim::realm1(21);
    let callee = sim.join(C);
    let caller = sim.join(J);
    register(&mut sim, callee, "stream", Dict::new());
    let r = call(
        &mut sim,
        caller,
        "stream",
        Dict::new()
            .with("receive_progress", true)
            .with("progress", true),
        args(vec![0u8.into()]),
    );
    let inv = invocation(&mut sim, callee);
    assert_eq!(inv.details.get_bool("receive_progress"), Some(true));
    assert_eq!(inv.details.get_bool("progress"), Some(true));
    for n in 1..=2u8 {
        sim.send(
            caller,
            Call {
                request: req(r),
                options: Dict::new().with("progress", n < 2),
                procedure: "stream".into(),
                payload: args(vec![n.into()]),
            },
        );
        let chunk = invocation(&mut sim, callee);
        assert_eq!(chunk.request, inv.request);
        assert_eq!(
            chunk.details.get_bool("progress"),
            if n < 2 { Some(true) } else { None }
        );
        yield_(
            &mut sim,
            callee,
            inv.request,
            Dict::new().with("progress", true),
            args(vec![n.into()]),
        );
        assert!(
            matches!(sim.recv(caller), Message::Result(res) if res.details.get_bool("progress") == Some(true))
        );
    }
    yield_(&mut sim, callee, inv.request, Dict::new(), Payload::empty());
    assert!(
        matches!(sim.recv(caller), Message::Result(res) if res.details.is_empty() && res.request.get() == r)
    );
    // A caller that did not announce progressive invocations is aborted.
    let plain = sim.join_with(J, basic_roles());
    call(
        &mut sim,
        plain,
        "stream",
        Dict::new().with("progress", true),
        Payload::empty(),
    );
    assert_eq!(error_uri(&sim.recv(plain)), uris::PROTOCOL_VIOLATION);
    // A callee without the features cannot take progressive invocations.
    let basic_callee = sim.join_with(M, basic_roles());
    register(&mut sim, basic_callee, "basic", Dict::new());
    call(
        &mut sim,
        caller,
        "basic",
        Dict::new().with("progress", true),
        Payload::empty(),
    );
    assert_eq!(error_uri(&sim.recv(caller)), uris::FEATURE_NOT_SUPPORTED);
}

#[test]
fn cancel_kill_waits_for_the_callee() {
    let mut sim = Sim::realm1(22);
    let callee = sim.join(J);
    let caller = sim.join(M);
    register(&mut sim, callee, "slow", Dict::new());
    let r = call(&mut sim, caller, "slow", Dict::new(), Payload::empty());
    let inv = invocation(&mut sim, callee);
    sim.send(
        caller,
        Cancel {
            request: req(r),
            options: Dict::new().with("mode", "kill"),
        },
    );
    assert!(matches!(sim.recv(callee), Message::Interrupt(i) if i.request == inv.request));
    sim.assert_quiet(caller);
    sim.send(
        callee,
        Error {
            request_type: MessageKind::Invocation,
            request: inv.request,
            details: Dict::new(),
            error: uris::CANCELED.into(),
            payload: Payload::empty(),
        },
    );
    assert_eq!(error_uri(&sim.recv(caller)), uris::CANCELED);
    // skip and killnowait answer at once.
    for mode in ["skip", "killnowait"] {
        let r = call(&mut sim, caller, "slow", Dict::new(), Payload::empty());
        let inv = invocation(&mut sim, callee);
        sim.send(
            caller,
            Cancel {
                request: req(r),
                options: Dict::new().with("mode", mode),
            },
        );
        assert_eq!(error_uri(&sim.recv(caller)), uris::CANCELED);
        assert_eq!(
            sim.recv_all(callee).len(),
            usize::from(mode == "killnowait")
        );
        // The late reply is discarded.
        yield_(&mut sim, callee, inv.request, Dict::new(), Payload::empty());
        sim.assert_quiet(caller);
    }
    assert_eq!(sim.router.stats().pending_calls, 0);
}

#[test]
fn router_enforced_timeout_with_virtual_clock() {
    let mut sim = Sim::realm1(23);
    let callee = sim.join(J);
    let caller = sim.join(J);
    register(&mut sim, callee, "slow", Dict::new());
    register(
        &mut sim,
        callee,
        "fwd",
        Dict::new().with("forward_timeout", true),
    );
    let r = call(
        &mut sim,
        caller,
        "slow",
        Dict::new().with("timeout", 1500u64),
        Payload::empty(),
    );
    let inv = invocation(&mut sim, callee);
    assert_eq!(
        sim.router.poll_timeout(),
        Some(sim.now + Duration::from_millis(1500))
    );
    sim.advance(Duration::from_millis(1499));
    sim.assert_quiet(caller);
    sim.advance(Duration::from_millis(1));
    match sim.recv(caller) {
        Message::Error(e) => {
            assert_eq!(e.error, uris::TIMEOUT);
            assert_eq!(e.request.get(), r);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(sim.recv(callee), Message::Interrupt(i) if i.request == inv.request));
    yield_(&mut sim, callee, inv.request, Dict::new(), Payload::empty());
    sim.assert_quiet(caller);
    // A timeout beyond the clock's range is no timeout (and no panic).
    let r = call(
        &mut sim,
        caller,
        "slow",
        Dict::new().with("timeout", u64::MAX),
        Payload::empty(),
    );
    let inv = invocation(&mut sim, callee);
    sim.advance(Duration::from_secs(3600));
    sim.assert_quiet(caller);
    yield_(&mut sim, callee, inv.request, Dict::new(), Payload::empty());
    assert!(matches!(sim.recv(caller), Message::Result(res) if res.request.get() == r));
    // forward_timeout: the callee enforces it.
    call(
        &mut sim,
        caller,
        "fwd",
        Dict::new().with("timeout", 100u64),
        Payload::empty(),
    );
    assert_eq!(
        invocation(&mut sim, callee).details.get_u64("timeout"),
        Some(100)
    );
    sim.advance(Duration::from_secs(60));
    sim.assert_quiet(caller);
}

#[test]
fn callee_leaving_fails_pending_calls_and_caller_leaving_interrupts() {
    let mut sim = Sim::realm1(24);
    let callee = sim.join(J);
    let callers: Vec<usize> = (0..3).map(|_| sim.join(M)).collect();
    register(&mut sim, callee, "p", Dict::new());
    for c in &callers {
        call(&mut sim, *c, "p", Dict::new(), Payload::empty());
        invocation(&mut sim, callee);
    }
    sim.disconnect(callee);
    for c in &callers {
        match sim.recv(*c) {
            Message::Error(e) => {
                assert_eq!(e.error, uris::CANCELED);
                assert_eq!(
                    e.payload.arguments(),
                    &[Value::from("callee disconnected from in-flight request")]
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let callee = sim.join(C);
    register(&mut sim, callee, "p", Dict::new());
    call(&mut sim, callers[0], "p", Dict::new(), Payload::empty());
    let inv = invocation(&mut sim, callee);
    assert_eq!(sim.goodbye(callers[0]).kind(), MessageKind::Goodbye);
    match sim.recv(callee) {
        Message::Interrupt(i) => {
            assert_eq!(i.request, inv.request);
            assert_eq!(i.options.get_str("mode"), Some("killnowait"));
        }
        other => panic!("{other:?}"),
    }
    // The late YIELD is silently dropped, not a protocol violation.
    yield_(&mut sim, callee, inv.request, Dict::new(), Payload::empty());
    assert!(!sim.clients[callee].closed_by_router);
    assert_eq!(sim.router.stats().pending_calls, 0);
}

#[test]
fn hello_timeout_closes_idle_connections() {
    let mut config = RouterConfig::with_realm("realm1");
    config.hello_timeout = Some(Duration::from_secs(5));
    let mut sim = Sim::new(config, 25);
    let idle = sim.connect(J);
    let active = sim.connect(J);
    sim.advance(Duration::from_secs(1));
    sim.hello(active, "realm1", basic_roles());
    sim.advance(Duration::from_secs(10));
    assert!(sim.clients[idle].closed_by_router);
    assert!(!sim.clients[active].closed_by_router);
    // After GOODBYE the timer runs again.
    sim.goodbye(active);
    sim.advance(Duration::from_secs(5));
    assert!(sim.clients[active].closed_by_router);
}

#[test]
fn stale_connection_handles_are_ignored() {
    let mut sim = Sim::realm1(29);
    let a = sim.join(J);
    let old = sim.clients[a].conn;
    assert!(sim.router.session_of(old).is_some());
    sim.disconnect(a);
    let b = sim.join(M);
    let new = sim.clients[b].conn;
    assert_eq!(old.index(), new.index(), "the slot is reused");
    assert_ne!(old, new);
    assert_eq!(sim.router.session_of(old), None);
    // Input and a second close on the stale handle change nothing.
    sim.router.handle_message(
        sim.now,
        old,
        Subscribe {
            request: req(1),
            options: Dict::new(),
            topic: "t".into(),
        }
        .into(),
    );
    sim.router.close_connection(sim.now, old);
    sim.pump();
    assert!(sim.router.session_of(new).is_some());
    assert_eq!(sim.router.stats().subscriptions, 0);
}

#[test]
fn strict_request_ids() {
    let mut config = RouterConfig::with_realm("realm1");
    config.strict_request_ids = true;
    let mut sim = Sim::new(config, 26);
    let c = sim.join(J);
    subscribe(&mut sim, c, "a", Dict::new());
    subscribe(&mut sim, c, "b", Dict::new());
    sim.send(
        c,
        Subscribe {
            request: req(7),
            options: Dict::new(),
            topic: "c".into(),
        },
    );
    assert_eq!(error_uri(&sim.recv(c)), uris::PROTOCOL_VIOLATION);
}

#[test]
fn session_limit() {
    let mut config = RouterConfig::with_realm("realm1");
    config.max_sessions = 2;
    config.max_connections = 3;
    let mut sim = Sim::new(config, 27);
    sim.join(J);
    sim.join(J);
    let c = sim.connect(J);
    assert_eq!(
        error_uri(&sim.hello(c, "realm1", basic_roles())),
        uris::NOT_AUTHORIZED
    );
    assert!(sim.clients[c].closed_by_router);
    assert!(sim.router.open_connection(sim.now).is_err());
}

/// 10k join/leave cycles leave nothing behind.
#[test]
fn join_leave_cycles_leave_nothing() {
    let mut sim = Sim::realm1(28);
    let keep = sim.join(J);
    subscribe(&mut sim, keep, "t", Dict::new());
    for n in 0..10_000u64 {
        let c = sim.join(if n % 2 == 0 { M } else { C });
        subscribe(&mut sim, c, "t", Dict::new());
        subscribe(&mut sim, c, "com.", Dict::new().with("match", "prefix"));
        register(&mut sim, c, &format!("p{n}"), Dict::new());
        call(
            &mut sim,
            keep,
            &format!("p{n}"),
            Dict::new().with("timeout", 1000u64),
            Payload::empty(),
        );
        invocation(&mut sim, c);
        if n % 2 == 0 {
            sim.goodbye(c);
            sim.disconnect(c);
        } else {
            sim.disconnect(c);
        }
        sim.recv_all(keep);
        sim.clients[c].inbox.clear();
    }
    let s = sim.router.stats();
    assert_eq!((s.sessions, s.connections), (1, 1));
    assert_eq!(
        (s.subscriptions, s.subscribers, s.registrations, s.callees),
        (1, 1, 0, 0)
    );
    assert_eq!(
        (s.pending_calls, s.timers, s.retained, s.queued_actions),
        (0, 0, 0, 0)
    );
    sim.disconnect(keep);
    let s = sim.router.stats();
    assert_eq!(
        (s.sessions, s.connections, s.subscriptions, s.subscribers),
        (0, 0, 0, 0)
    );
}

/// A scripted scenario with random choices: the same seed twice gives the same trace.
fn scripted(seed: u64) -> Vec<String> {
    let mut sim = Sim::realm1(seed);
    let mut rng = wamp_proto::SeededEntropy::new(seed);
    use wamp_proto::Entropy;
    let clients: Vec<usize> = (0..6).map(|i| sim.join([J, M, C][i % 3])).collect();
    for (n, c) in clients.iter().enumerate() {
        subscribe(&mut sim, *c, "t", Dict::new());
        register(
            &mut sim,
            *c,
            &format!("p{n}"),
            Dict::new().with("invoke", "random"),
        );
        register(&mut sim, *c, "shared", Dict::new().with("invoke", "random"));
    }
    for step in 0..200u64 {
        let c = clients[(rng.next_u64() % 6) as usize];
        match rng.next_u64() % 4 {
            0 => publish(
                &mut sim,
                c,
                "t",
                Dict::new().with("acknowledge", true),
                args(vec![step.into()]),
            ),
            1 => {
                call(
                    &mut sim,
                    c,
                    "shared",
                    Dict::new().with("timeout", 50u64),
                    args(vec![step.into()]),
                );
            }
            2 => {
                for x in &clients {
                    while let Some(m) = sim.clients[*x].inbox.pop_front() {
                        if let Message::Invocation(inv) = m
                            && rng.next_u64().is_multiple_of(2)
                        {
                            yield_(&mut sim, *x, inv.request, Dict::new(), Payload::empty());
                        }
                    }
                }
            }
            _ => sim.advance(Duration::from_millis(rng.next_u64() % 40)),
        }
    }
    sim.trace
}

#[test]
fn same_seed_same_trace() {
    let a = scripted(99);
    let b = scripted(99);
    assert!(a.len() > 500, "{}", a.len());
    assert_eq!(a, b);
    assert_ne!(a, scripted(100));
}
