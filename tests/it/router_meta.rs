//! The router's meta API through the public API: every session, registration and
//! subscription meta procedure and topic, the kill procedures, testaments and event history.

use std::collections::BTreeMap;
use std::time::Duration;

use wamp_proto::id::{RegistrationId, SessionId, SubscriptionId};
use wamp_proto::message::{
    Authenticate, Call, Goodbye, Hello, Publish, Register, Subscribe, Unregister, Unsubscribe,
};
use wamp_proto::{Dict, MatchPolicy, Message, Payload, Serializer, Uri, Value};
use wamp_router_core::{
    Allow, AuthConfig, AuthMethod, HistoryConfig, MethodConfig, Permission, Principal, RealmConfig,
    RoleConfig, RouterConfig, TransportInfo, uris,
};

use crate::sim::{Sim, full_roles};

const WALL: u64 = 1_700_000_000_000; // 2023-11-14T22:13:20.000Z

fn config(r: RealmConfig) -> Sim {
    let c = RouterConfig::with_realm(r);
    c.validate().unwrap();
    let mut sim = Sim::new(c, 21);
    let now = sim.now;
    sim.router.set_wall_clock(now, WALL);
    sim
}

fn plain() -> Sim {
    config(RealmConfig::new("realm1"))
}

/// A realm with ticket principals `a1`, `a2` (role `alpha`), `b1` (role `beta`) and
/// anonymous sessions (role `anonymous`); no roles (allow-all) unless set.
fn principals() -> RealmConfig {
    let mut r = RealmConfig::new("realm1");
    r.auth = AuthConfig {
        methods: vec![
            MethodConfig::static_(AuthMethod::Ticket),
            MethodConfig::static_(AuthMethod::Anonymous),
        ],
        principals: vec![
            Principal::new("a1", "alpha").with_ticket("t"),
            Principal::new("a2", "alpha").with_ticket("t"),
            Principal::new("b1", "beta").with_ticket("t"),
        ],
        ..AuthConfig::default()
    };
    r
}

fn login(sim: &mut Sim, authid: Option<&str>) -> usize {
    let c = sim.connect(Serializer::MsgPack);
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
        sim.recv(c);
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

fn sid(sim: &Sim, c: usize) -> SessionId {
    sim.clients[c].session.unwrap()
}

/// Calls a meta procedure; `Ok(args, kwargs)` or `Err(error URI)`.
fn call(
    sim: &mut Sim,
    c: usize,
    procedure: &str,
    args: Vec<Value>,
    kwargs: Dict,
) -> Result<Vec<Value>, String> {
    let request = sim.next_req(c);
    sim.send(
        c,
        Call {
            request,
            options: Dict::new(),
            procedure: Uri::from_wire(procedure),
            payload: Payload::new(args, kwargs),
        },
    );
    let reply = take(sim, c, |m| {
        matches!(m, Message::Result(r) if r.request == request)
            || matches!(m, Message::Error(e) if e.request == request)
    });
    match reply {
        Message::Result(r) => Ok(r.payload.arguments().to_vec()),
        Message::Error(e) => Err(e.error.to_string()),
        other => panic!("{procedure}: {other:?}"),
    }
}

/// Takes the first message `c` received that `pred` selects; the others stay queued.
fn take(sim: &mut Sim, c: usize, pred: impl Fn(&Message) -> bool) -> Message {
    let inbox = &mut sim.clients[c].inbox;
    let i = inbox
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such message in {inbox:?}"));
    inbox.remove(i).unwrap()
}

fn ok1(sim: &mut Sim, c: usize, procedure: &str, args: Vec<Value>) -> Value {
    let mut v = call(sim, c, procedure, args, Dict::new()).unwrap();
    assert_eq!(v.len(), 1, "{procedure}: {v:?}");
    v.remove(0)
}

fn subscribe_with(sim: &mut Sim, c: usize, topic: &str, options: Dict) -> SubscriptionId {
    let request = sim.next_req(c);
    sim.send(
        c,
        Subscribe {
            request,
            options,
            topic: Uri::from_wire(topic),
        },
    );
    match take(
        sim,
        c,
        |m| matches!(m, Message::Subscribed(s) if s.request == request),
    ) {
        Message::Subscribed(s) => s.subscription,
        other => panic!("{other:?}"),
    }
}

fn subscribe(sim: &mut Sim, c: usize, topic: &str) -> SubscriptionId {
    subscribe_with(sim, c, topic, Dict::new())
}

fn register_with(sim: &mut Sim, c: usize, procedure: &str, options: Dict) -> RegistrationId {
    let request = sim.next_req(c);
    sim.send(
        c,
        Register {
            request,
            options,
            procedure: Uri::from_wire(procedure),
        },
    );
    match take(
        sim,
        c,
        |m| matches!(m, Message::Registered(r) if r.request == request),
    ) {
        Message::Registered(r) => r.registration,
        other => panic!("{other:?}"),
    }
}

fn publish(sim: &mut Sim, c: usize, topic: &str, args: Vec<Value>, options: Dict) {
    let request = sim.next_req(c);
    sim.send(
        c,
        Publish {
            request,
            options,
            topic: Uri::from_wire(topic),
            payload: Payload::args(args),
        },
    );
}

/// Subscribes `c` to `topics`; returns subscription -> topic.
fn watch(sim: &mut Sim, c: usize, topics: &[&str]) -> BTreeMap<SubscriptionId, String> {
    topics
        .iter()
        .map(|t| (subscribe(sim, c, t), (*t).to_owned()))
        .collect()
}

/// The events `c` received, as (topic, args).
fn events(
    sim: &mut Sim,
    c: usize,
    topics: &BTreeMap<SubscriptionId, String>,
) -> Vec<(String, Vec<Value>)> {
    sim.recv_all(c)
        .into_iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some((
                topics
                    .get(&e.subscription)
                    .cloned()
                    .unwrap_or_else(|| e.details.get_str("topic").unwrap_or("?").to_owned()),
                e.payload.arguments().to_vec(),
            )),
            _ => None,
        })
        .collect()
}

fn v(s: SessionId) -> Value {
    Value::from(s)
}

fn ids(list: &Value) -> Vec<u64> {
    list.as_list()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

// ------------------------------------------------------------------------------------------
// Session meta API
// ------------------------------------------------------------------------------------------

#[test]
fn on_join_and_on_leave_for_every_way_of_leaving() {
    let mut sim = config(principals());
    let w = login(&mut sim, None);
    let topics = watch(
        &mut sim,
        w,
        &["wamp.session.on_join", "wamp.session.on_leave"],
    );
    // Join: one dict with the session's identity (and the transport's details).
    let c = sim.connect(Serializer::Json);
    sim.router.set_transport_info(
        sim.clients[c].conn,
        TransportInfo {
            channel_binding: None,
            details: Dict::new().with("peer", "tcp4:10.0.0.1:40000"),
            // Shared by many connections; the connection's own `peer` wins.
            shared_details: Some(std::sync::Arc::new(
                Dict::new().with("type", "websocket").with("peer", "shared"),
            )),
            ..TransportInfo::default()
        },
    );
    sim.send(
        c,
        Hello {
            realm: "realm1".into(),
            details: Dict::new()
                .with("roles", full_roles())
                .with("authmethods", Value::List(vec!["ticket".into()]))
                .with("authid", "a1"),
        },
    );
    sim.recv(c);
    sim.send(
        c,
        Authenticate {
            signature: "t".into(),
            extra: Dict::new(),
        },
    );
    assert!(matches!(sim.recv(c), Message::Welcome(_)));
    let s = sid(&sim, c);
    let ev = events(&mut sim, w, &topics);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "wamp.session.on_join");
    let d = ev[0].1[0].as_dict().unwrap();
    assert_eq!(d.get_u64("session"), Some(s.get()));
    assert_eq!(d.get_str("authid"), Some("a1"));
    assert_eq!(d.get_str("authrole"), Some("alpha"));
    assert_eq!(d.get_str("authmethod"), Some("ticket"));
    assert_eq!(d.get_str("authprovider"), Some("static"));
    assert_eq!(
        d.get_dict("transport").unwrap().get_str("peer"),
        Some("tcp4:10.0.0.1:40000")
    );
    assert_eq!(
        d.get_dict("transport").unwrap().get_str("type"),
        Some("websocket")
    );
    assert_eq!(d.get_dict("transport").unwrap().len(), 2);
    // wamp.session.get shows the same details.
    assert_eq!(
        ok1(&mut sim, w, "wamp.session.get", vec![v(s)]).as_dict(),
        Some(d)
    );
    // GOODBYE: on_leave with [session] (Crossbar's form).
    sim.goodbye(c);
    assert_eq!(
        events(&mut sim, w, &topics),
        [("wamp.session.on_leave".to_owned(), vec![v(s)])]
    );
    // Transport loss, ABORT and a protocol violation: on_leave too.
    for how in 0..3 {
        let c = login(&mut sim, None);
        let s = sid(&sim, c);
        events(&mut sim, w, &topics);
        match how {
            0 => sim.disconnect(c),
            1 => sim.send(
                c,
                wamp_proto::message::Abort {
                    details: Dict::new(),
                    reason: "wamp.close.normal".into(),
                    payload: Payload::empty(),
                },
            ),
            _ => sim.send_direct(
                c,
                Hello {
                    realm: "realm1".into(),
                    details: Dict::new(),
                },
            ),
        }
        assert_eq!(
            events(&mut sim, w, &topics),
            [("wamp.session.on_leave".to_owned(), vec![v(s)])],
            "case {how}"
        );
    }
}

#[test]
fn on_leave_with_identity_when_configured() {
    let mut r = principals();
    r.on_leave_with_identity = true;
    let mut sim = config(r);
    let w = login(&mut sim, None);
    let topics = watch(&mut sim, w, &["wamp.session.on_leave"]);
    let c = login(&mut sim, Some("b1"));
    let s = sid(&sim, c);
    sim.disconnect(c);
    assert_eq!(
        events(&mut sim, w, &topics),
        [(
            "wamp.session.on_leave".to_owned(),
            vec![v(s), Value::from("b1"), Value::from("beta")]
        )]
    );
}

#[test]
fn session_count_list_get() {
    let mut sim = config(principals());
    let w = login(&mut sim, None);
    let a1 = login(&mut sim, Some("a1"));
    let a2 = login(&mut sim, Some("a2"));
    let b1 = login(&mut sim, Some("b1"));
    let count = |sim: &mut Sim, args| ok1(sim, w, "wamp.session.count", args).as_u64();
    assert_eq!(count(&mut sim, vec![]), Some(4));
    let roles = |r: &[&str]| Value::List(r.iter().map(|x| Value::from(*x)).collect());
    assert_eq!(count(&mut sim, vec![roles(&["alpha"])]), Some(2));
    assert_eq!(count(&mut sim, vec![roles(&["alpha", "beta"])]), Some(3));
    assert_eq!(count(&mut sim, vec![roles(&[])]), Some(0));
    let mut all: Vec<u64> = [w, a1, a2, b1]
        .iter()
        .map(|c| sid(&sim, *c).get())
        .collect();
    all.sort_unstable();
    assert_eq!(ids(&ok1(&mut sim, w, "wamp.session.list", vec![])), all);
    assert_eq!(
        ids(&ok1(
            &mut sim,
            w,
            "wamp.session.list",
            vec![roles(&["beta"])]
        )),
        [sid(&sim, b1).get()]
    );
    let s2 = sid(&sim, a2);
    let d = ok1(&mut sim, w, "wamp.session.get", vec![v(s2)]);
    assert_eq!(d.as_dict().unwrap().get_str("authid"), Some("a2"));
    assert_eq!(
        call(
            &mut sim,
            w,
            "wamp.session.get",
            vec![Value::from(12345u64)],
            Dict::new()
        ),
        Err(uris::NO_SUCH_SESSION.into())
    );
    assert_eq!(
        call(
            &mut sim,
            w,
            "wamp.session.get",
            vec![Value::from("x")],
            Dict::new()
        ),
        Err(uris::INVALID_ARGUMENT.into())
    );
    assert_eq!(
        call(
            &mut sim,
            w,
            "wamp.session.count",
            vec![Value::from(1u8)],
            Dict::new()
        ),
        Err(uris::INVALID_ARGUMENT.into())
    );
}

#[test]
fn kill_a_session() {
    let mut sim = config(principals());
    let w = login(&mut sim, None);
    let topics = watch(&mut sim, w, &["wamp.session.on_leave"]);
    let victim = login(&mut sim, Some("a1"));
    let vs = sid(&sim, victim);
    // One's own session is no other session.
    let own = sid(&sim, w);
    assert_eq!(
        call(&mut sim, w, "wamp.session.kill", vec![v(own)], Dict::new()),
        Err(uris::NO_SUCH_SESSION.into())
    );
    assert_eq!(
        call(
            &mut sim,
            w,
            "wamp.session.kill",
            vec![Value::from(7u8)],
            Dict::new()
        ),
        Err(uris::NO_SUCH_SESSION.into())
    );
    assert_eq!(
        call(
            &mut sim,
            w,
            "wamp.session.kill",
            vec![v(vs)],
            Dict::new().with("reason", "not a uri")
        ),
        Err(uris::INVALID_URI.into())
    );
    sim.assert_quiet(victim);
    // Default reason, no message.
    assert_eq!(
        call(&mut sim, w, "wamp.session.kill", vec![v(vs)], Dict::new()),
        Ok(vec![])
    );
    match sim.recv(victim) {
        Message::Goodbye(g) => {
            assert_eq!(g.reason.as_str(), uris::KILLED);
            assert!(g.details.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        events(&mut sim, w, &topics),
        [("wamp.session.on_leave".to_owned(), vec![v(vs)])]
    );
    assert_eq!(sim.router.stats().sessions, 1);
    // The killed session's messages are ignored until its GOODBYE reply; then it may rejoin.
    publish(
        &mut sim,
        victim,
        "t",
        vec![],
        Dict::new().with("acknowledge", true),
    );
    sim.assert_quiet(victim);
    sim.send(
        victim,
        Goodbye {
            details: Dict::new(),
            reason: "wamp.close.goodbye_and_out".into(),
        },
    );
    sim.assert_quiet(victim);
    sim.send(
        victim,
        Hello {
            realm: "realm1".into(),
            details: Dict::new().with("roles", full_roles()),
        },
    );
    assert!(matches!(sim.recv(victim), Message::Welcome(_)));
    // Custom reason and message.
    let vs = sid(&sim, victim);
    call(
        &mut sim,
        w,
        "wamp.session.kill",
        vec![v(vs)],
        Dict::new()
            .with("reason", "com.example.maintenance")
            .with("message", "back soon"),
    )
    .unwrap();
    match sim.recv(victim) {
        Message::Goodbye(g) => {
            assert_eq!(g.reason.as_str(), "com.example.maintenance");
            assert_eq!(g.details.get_str("message"), Some("back soon"));
        }
        other => panic!("{other:?}"),
    }
    // A killed session that never replies is closed after the HELLO timeout.
    sim.advance(Duration::from_secs(31));
    assert!(sim.clients[victim].closed_by_router);
}

#[test]
fn kill_by_authid_authrole_and_all() {
    let mut sim = config(principals());
    let killer = login(&mut sim, Some("a1"));
    let topics = watch(&mut sim, killer, &["wamp.session.on_leave"]);
    let a1b = login(&mut sim, Some("a1"));
    let a2 = login(&mut sim, Some("a2"));
    let b1 = login(&mut sim, Some("b1"));
    let b1b = login(&mut sim, Some("b1"));
    let anon = login(&mut sim, None);
    // kill_by_authid: a list of killed IDs, the caller excluded.
    let killed = ok1(
        &mut sim,
        killer,
        "wamp.session.kill_by_authid",
        vec![Value::from("a1")],
    );
    assert_eq!(ids(&killed), [sid(&sim, a1b).get()]);
    assert!(matches!(sim.recv(a1b), Message::Goodbye(_)));
    assert_eq!(events(&mut sim, killer, &topics).len(), 1);
    assert_eq!(
        ids(&ok1(
            &mut sim,
            killer,
            "wamp.session.kill_by_authid",
            vec![Value::from("zz")]
        )),
        Vec::<u64>::new()
    );
    // kill_by_authrole: a count.
    let n = ok1(
        &mut sim,
        killer,
        "wamp.session.kill_by_authrole",
        vec![Value::from("beta")],
    );
    assert_eq!(n.as_u64(), Some(2));
    for c in [b1, b1b] {
        assert!(matches!(sim.recv(c), Message::Goodbye(_)));
    }
    assert_eq!(events(&mut sim, killer, &topics).len(), 2);
    assert_eq!(
        call(
            &mut sim,
            killer,
            "wamp.session.kill_by_authrole",
            vec![],
            Dict::new()
        ),
        Err(uris::INVALID_ARGUMENT.into())
    );
    // A testament of a session killed by kill_all is not published, nor is on_leave.
    let t = watch(&mut sim, killer, &["com.will"]);
    call(
        &mut sim,
        a2,
        "wamp.session.add_testament",
        vec![
            Value::from("com.will"),
            Value::List(vec![]),
            Value::Dict(Dict::new()),
        ],
        Dict::new(),
    )
    .unwrap();
    let n = ok1(&mut sim, killer, "wamp.session.kill_all", vec![]);
    assert_eq!(n.as_u64(), Some(2));
    for c in [a2, anon] {
        assert!(matches!(sim.recv(c), Message::Goodbye(g) if g.reason.as_str() == uris::KILLED));
    }
    assert!(events(&mut sim, killer, &topics).is_empty());
    assert!(events(&mut sim, killer, &t).is_empty());
    assert_eq!(
        ok1(&mut sim, killer, "wamp.session.count", vec![]).as_u64(),
        Some(1)
    );
}

// ------------------------------------------------------------------------------------------
// Registration meta API
// ------------------------------------------------------------------------------------------

const REG_TOPICS: [&str; 4] = [
    "wamp.registration.on_create",
    "wamp.registration.on_register",
    "wamp.registration.on_unregister",
    "wamp.registration.on_delete",
];

#[test]
fn registration_meta_events_in_order() {
    let mut sim = plain();
    let w = login(&mut sim, None);
    let topics = watch(&mut sim, w, &REG_TOPICS);
    let a = login(&mut sim, None);
    let b = login(&mut sim, None);
    let (sa, sb) = (sid(&sim, a), sid(&sim, b));
    let r = register_with(
        &mut sim,
        a,
        "com.p",
        Dict::new().with("invoke", "roundrobin"),
    );
    let ev = events(&mut sim, w, &topics);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].0, "wamp.registration.on_create");
    assert_eq!(ev[0].1[0], v(sa));
    let d = ev[0].1[1].as_dict().unwrap();
    assert_eq!(d.get_u64("id"), Some(r.get()));
    assert_eq!(d.get_str("uri"), Some("com.p"));
    assert_eq!(d.get_str("match"), Some("exact"));
    assert_eq!(d.get_str("invoke"), Some("roundrobin"));
    assert_eq!(d.get_str("created"), Some("2023-11-14T22:13:20.000Z"));
    assert_eq!(
        ev[1],
        (
            "wamp.registration.on_register".to_owned(),
            vec![v(sa), Value::from(r)]
        )
    );
    // A second callee joins the shared registration: on_register only.
    register_with(
        &mut sim,
        b,
        "com.p",
        Dict::new().with("invoke", "roundrobin"),
    );
    assert_eq!(
        events(&mut sim, w, &topics),
        [(
            "wamp.registration.on_register".to_owned(),
            vec![v(sb), Value::from(r)]
        )]
    );
    // The first callee unregisters: on_unregister only.
    let request = sim.next_req(a);
    sim.send(
        a,
        Unregister {
            request,
            registration: r,
        },
    );
    assert!(matches!(sim.recv(a), Message::Unregistered(_)));
    assert_eq!(
        events(&mut sim, w, &topics),
        [(
            "wamp.registration.on_unregister".to_owned(),
            vec![v(sa), Value::from(r)]
        )]
    );
    // The last one leaves: on_unregister, then on_delete.
    sim.disconnect(b);
    assert_eq!(
        events(&mut sim, w, &topics),
        [
            (
                "wamp.registration.on_unregister".to_owned(),
                vec![v(sb), Value::from(r)]
            ),
            (
                "wamp.registration.on_delete".to_owned(),
                vec![v(sb), Value::from(r)]
            )
        ]
    );
    // Revocation by the embedder is announced too.
    let r = register_with(&mut sim, a, "com.q", Dict::new());
    events(&mut sim, w, &topics);
    let now = sim.now;
    sim.router.revoke_registration(now, "realm1", r, None);
    sim.pump();
    assert_eq!(
        events(&mut sim, w, &topics)
            .iter()
            .map(|e| e.0.as_str())
            .collect::<Vec<_>>(),
        [
            "wamp.registration.on_unregister",
            "wamp.registration.on_delete"
        ]
    );
}

#[test]
fn registration_procedures() {
    let mut sim = plain();
    let w = login(&mut sim, None);
    let a = login(&mut sim, None);
    let b = login(&mut sim, None);
    let exact = register_with(&mut sim, a, "com.p.x", Dict::new().with("invoke", "first"));
    register_with(&mut sim, b, "com.p.x", Dict::new().with("invoke", "first"));
    let prefix = register_with(&mut sim, a, "com.p", Dict::new().with("match", "prefix"));
    let wild = register_with(&mut sim, a, "com..x", Dict::new().with("match", "wildcard"));
    let list = ok1(&mut sim, w, "wamp.registration.list", vec![]);
    let l = list.as_dict().unwrap();
    assert_eq!(ids(l.get("exact").unwrap()), [exact.get()]);
    assert_eq!(ids(l.get("prefix").unwrap()), [prefix.get()]);
    assert_eq!(ids(l.get("wildcard").unwrap()), [wild.get()]);
    let lookup = |sim: &mut Sim, args: Vec<Value>| ok1(sim, w, "wamp.registration.lookup", args);
    assert_eq!(lookup(&mut sim, vec!["com.p.x".into()]), Value::from(exact));
    assert_eq!(
        lookup(
            &mut sim,
            vec![
                "com.p".into(),
                Value::Dict(Dict::new().with("match", "prefix"))
            ]
        ),
        Value::from(prefix)
    );
    assert_eq!(lookup(&mut sim, vec!["com.p".into()]), Value::Null);
    let best = |sim: &mut Sim, uri: &str| ok1(sim, w, "wamp.registration.match", vec![uri.into()]);
    assert_eq!(best(&mut sim, "com.p.x"), Value::from(exact));
    assert_eq!(best(&mut sim, "com.p.y"), Value::from(prefix));
    assert_eq!(best(&mut sim, "com.q.x"), Value::from(wild));
    assert_eq!(best(&mut sim, "org.x"), Value::Null);
    let g = ok1(
        &mut sim,
        w,
        "wamp.registration.get",
        vec![Value::from(wild)],
    );
    let g = g.as_dict().unwrap();
    assert_eq!(g.get_str("uri"), Some("com..x"));
    assert_eq!(g.get_str("match"), Some("wildcard"));
    assert_eq!(g.get_str("invoke"), Some("single"));
    assert_eq!(
        ids(&ok1(
            &mut sim,
            w,
            "wamp.registration.list_callees",
            vec![Value::from(exact)]
        )),
        [sid(&sim, a).get(), sid(&sim, b).get()]
    );
    assert_eq!(
        ok1(
            &mut sim,
            w,
            "wamp.registration.count_callees",
            vec![Value::from(exact)]
        )
        .as_u64(),
        Some(2)
    );
    for p in [
        "wamp.registration.get",
        "wamp.registration.list_callees",
        "wamp.registration.count_callees",
    ] {
        assert_eq!(
            call(&mut sim, w, p, vec![Value::from(999u64)], Dict::new()),
            Err(uris::NO_SUCH_REGISTRATION.into())
        );
    }
}

// ------------------------------------------------------------------------------------------
// Subscription meta API
// ------------------------------------------------------------------------------------------

const SUB_TOPICS: [&str; 4] = [
    "wamp.subscription.on_create",
    "wamp.subscription.on_subscribe",
    "wamp.subscription.on_unsubscribe",
    "wamp.subscription.on_delete",
];

#[test]
fn subscription_meta_events_in_order() {
    let mut sim = plain();
    let w = login(&mut sim, None);
    let topics = watch(&mut sim, w, &SUB_TOPICS);
    // The watcher's own subscriptions were announced to itself as they came (on_create of
    // the first one had no subscriber yet).
    let own = events(&mut sim, w, &topics);
    assert!(!own.is_empty());
    let a = login(&mut sim, None);
    let b = login(&mut sim, None);
    let (sa, sb) = (sid(&sim, a), sid(&sim, b));
    let s = subscribe_with(&mut sim, a, "com.t", Dict::new().with("match", "prefix"));
    let ev = events(&mut sim, w, &topics);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].0, "wamp.subscription.on_create");
    let d = ev[0].1[1].as_dict().unwrap();
    assert_eq!(
        (d.get_u64("id"), d.get_str("uri"), d.get_str("match")),
        (Some(s.get()), Some("com.t"), Some("prefix"))
    );
    assert!(d.get_str("created").is_some());
    assert_eq!(
        ev[1],
        (
            "wamp.subscription.on_subscribe".to_owned(),
            vec![v(sa), Value::from(s)]
        )
    );
    subscribe_with(&mut sim, b, "com.t", Dict::new().with("match", "prefix"));
    assert_eq!(
        events(&mut sim, w, &topics),
        [(
            "wamp.subscription.on_subscribe".to_owned(),
            vec![v(sb), Value::from(s)]
        )]
    );
    // A duplicate SUBSCRIBE is no new subscriber.
    subscribe_with(&mut sim, b, "com.t", Dict::new().with("match", "prefix"));
    assert!(events(&mut sim, w, &topics).is_empty());
    let request = sim.next_req(b);
    sim.send(
        b,
        Unsubscribe {
            request,
            subscription: s,
        },
    );
    sim.recv(b);
    assert_eq!(
        events(&mut sim, w, &topics),
        [(
            "wamp.subscription.on_unsubscribe".to_owned(),
            vec![v(sb), Value::from(s)]
        )]
    );
    sim.goodbye(a);
    assert_eq!(
        events(&mut sim, w, &topics),
        [
            (
                "wamp.subscription.on_unsubscribe".to_owned(),
                vec![v(sa), Value::from(s)]
            ),
            (
                "wamp.subscription.on_delete".to_owned(),
                vec![v(sa), Value::from(s)]
            )
        ]
    );
}

#[test]
fn subscription_procedures() {
    let mut sim = plain();
    let w = login(&mut sim, None);
    let a = login(&mut sim, None);
    let b = login(&mut sim, None);
    let exact = subscribe(&mut sim, a, "com.t.x");
    subscribe(&mut sim, b, "com.t.x");
    let prefix = subscribe_with(&mut sim, a, "com.t", Dict::new().with("match", "prefix"));
    let wild = subscribe_with(&mut sim, b, "com..x", Dict::new().with("match", "wildcard"));
    let list = ok1(&mut sim, w, "wamp.subscription.list", vec![]);
    let l = list.as_dict().unwrap();
    assert_eq!(ids(l.get("exact").unwrap()), [exact.get()]);
    assert_eq!(ids(l.get("prefix").unwrap()), [prefix.get()]);
    assert_eq!(ids(l.get("wildcard").unwrap()), [wild.get()]);
    assert_eq!(
        ok1(
            &mut sim,
            w,
            "wamp.subscription.lookup",
            vec!["com.t.x".into()]
        ),
        Value::from(exact)
    );
    assert_eq!(
        ok1(
            &mut sim,
            w,
            "wamp.subscription.lookup",
            vec![
                "com..x".into(),
                Value::Dict(Dict::new().with("match", "wildcard"))
            ]
        ),
        Value::from(wild)
    );
    assert_eq!(
        ok1(
            &mut sim,
            w,
            "wamp.subscription.lookup",
            vec!["com.t".into()]
        ),
        Value::Null
    );
    let mut all = ids(&ok1(
        &mut sim,
        w,
        "wamp.subscription.match",
        vec!["com.t.x".into()],
    ));
    all.sort_unstable();
    let mut expected = vec![exact.get(), prefix.get(), wild.get()];
    expected.sort_unstable();
    assert_eq!(all, expected);
    assert_eq!(
        ok1(&mut sim, w, "wamp.subscription.match", vec!["org.y".into()]),
        Value::Null
    );
    let g = ok1(
        &mut sim,
        w,
        "wamp.subscription.get",
        vec![Value::from(prefix)],
    );
    let g = g.as_dict().unwrap();
    assert_eq!(
        (g.get_str("uri"), g.get_str("match")),
        (Some("com.t"), Some("prefix"))
    );
    assert_eq!(g.get("invoke"), None);
    let mut subs = vec![sid(&sim, a).get(), sid(&sim, b).get()];
    subs.sort_unstable();
    assert_eq!(
        ids(&ok1(
            &mut sim,
            w,
            "wamp.subscription.list_subscribers",
            vec![Value::from(exact)]
        )),
        subs
    );
    assert_eq!(
        ok1(
            &mut sim,
            w,
            "wamp.subscription.count_subscribers",
            vec![Value::from(wild)]
        )
        .as_u64(),
        Some(1)
    );
    for p in [
        "wamp.subscription.get",
        "wamp.subscription.list_subscribers",
        "wamp.subscription.count_subscribers",
        "wamp.subscription.get_events",
    ] {
        assert_eq!(
            call(&mut sim, w, p, vec![Value::from(999u64)], Dict::new()),
            Err(uris::NO_SUCH_SUBSCRIPTION.into()),
            "{p}"
        );
    }
}

#[test]
fn meta_procedures_are_authorized_like_calls() {
    let mut r = principals();
    r.roles = vec![
        RoleConfig::new(
            "alpha",
            vec![Permission::new(
                "wamp.session.",
                MatchPolicy::Prefix,
                Allow::all(),
            )],
        ),
        RoleConfig::new("beta", vec![]),
        RoleConfig::new("anonymous", vec![]),
    ];
    let mut sim = config(r);
    let a = login(&mut sim, Some("a1"));
    let b = login(&mut sim, Some("b1"));
    assert_eq!(
        ok1(&mut sim, a, "wamp.session.count", vec![]).as_u64(),
        Some(2)
    );
    assert_eq!(
        call(&mut sim, b, "wamp.session.count", vec![], Dict::new()),
        Err(uris::NOT_AUTHORIZED.into())
    );
    assert_eq!(
        call(&mut sim, a, "wamp.registration.list", vec![], Dict::new()),
        Err(uris::NOT_AUTHORIZED.into())
    );
    assert_eq!(
        call(&mut sim, b, "wamp.session.kill_all", vec![], Dict::new()),
        Err(uris::NOT_AUTHORIZED.into())
    );
}

// ------------------------------------------------------------------------------------------
// Testaments
// ------------------------------------------------------------------------------------------

fn add_testament(
    sim: &mut Sim,
    c: usize,
    topic: &str,
    arg: &str,
    kwargs: Dict,
) -> Result<Vec<Value>, String> {
    call(
        sim,
        c,
        "wamp.session.add_testament",
        vec![
            Value::from(topic),
            Value::List(vec![Value::from(arg)]),
            Value::Dict(Dict::new().with("k", arg)),
        ],
        kwargs,
    )
}

#[test]
fn testaments_are_published_when_the_session_goes() {
    let mut sim = config(principals());
    let w = login(&mut sim, Some("a2"));
    let topics = watch(&mut sim, w, &["com.will", "wamp.session.on_leave"]);
    for how in 0..3 {
        let c = login(&mut sim, Some("a1"));
        let s = sid(&sim, c);
        assert_eq!(
            add_testament(&mut sim, c, "com.will", "d1", Dict::new()),
            Ok(vec![])
        );
        add_testament(
            &mut sim,
            c,
            "com.will",
            "x1",
            Dict::new().with("scope", "detached"),
        )
        .unwrap();
        add_testament(
            &mut sim,
            c,
            "com.will",
            "d2",
            Dict::new().with("scope", "destroyed"),
        )
        .unwrap();
        sim.assert_quiet(w);
        match how {
            0 => {
                sim.goodbye(c);
            }
            1 => sim.disconnect(c),
            _ => {
                call(&mut sim, w, "wamp.session.kill", vec![v(s)], Dict::new()).unwrap();
            }
        }
        // Detached before destroyed, each in insertion order; then on_leave.
        let got: Vec<(String, Vec<Value>)> = events(&mut sim, w, &topics);
        assert_eq!(
            got,
            [
                ("com.will".to_owned(), vec![Value::from("x1")]),
                ("com.will".to_owned(), vec![Value::from("d1")]),
                ("com.will".to_owned(), vec![Value::from("d2")]),
                ("wamp.session.on_leave".to_owned(), vec![v(s)]),
            ],
            "case {how}"
        );
    }
}

#[test]
fn testament_options_flush_and_errors() {
    let mut r = principals();
    r.roles = vec![
        RoleConfig::new(
            "alpha",
            vec![
                Permission::new("", MatchPolicy::Prefix, Allow::all()),
                Permission::new("com.forbidden", MatchPolicy::Exact, Allow::none()),
            ],
        ),
        RoleConfig::new(
            "beta",
            vec![Permission::new("", MatchPolicy::Prefix, Allow::all())],
        ),
        RoleConfig::new(
            "anonymous",
            vec![Permission::new("", MatchPolicy::Prefix, Allow::all())],
        ),
    ];
    let mut config_ = RouterConfig::with_realm(r);
    config_.max_testaments_per_session = 2;
    let mut sim = Sim::new(config_, 22);
    let a = login(&mut sim, Some("a2"));
    let b = login(&mut sim, Some("b1"));
    let ta = watch(&mut sim, a, &["com.will"]);
    let tb = watch(&mut sim, b, &["com.will"]);
    let c = login(&mut sim, Some("a1"));
    // Publish options: only beta sessions get it; acknowledge is dropped.
    add_testament(
        &mut sim,
        c,
        "com.will",
        "for-beta",
        Dict::new().with(
            "publish_options",
            Dict::new()
                .with("eligible_authrole", Value::List(vec!["beta".into()]))
                .with("acknowledge", true),
        ),
    )
    .unwrap();
    add_testament(&mut sim, c, "com.will", "flushed", Dict::new()).unwrap();
    assert_eq!(
        add_testament(&mut sim, c, "com.will", "too many", Dict::new()),
        Err(uris::TESTAMENT_ERROR.into())
    );
    // Flush: the destroyed scope empties (Crossbar returns the count).
    let n = call(
        &mut sim,
        c,
        "wamp.session.flush_testaments",
        vec![],
        Dict::new(),
    )
    .unwrap();
    assert_eq!(n, vec![Value::from(2u64)]);
    add_testament(
        &mut sim,
        c,
        "com.will",
        "for-beta",
        Dict::new().with(
            "publish_options",
            Dict::new().with("eligible_authrole", Value::List(vec!["beta".into()])),
        ),
    )
    .unwrap();
    // Errors: scope, reserved or invalid topic, forbidden topic, bad arguments.
    assert_eq!(
        add_testament(
            &mut sim,
            c,
            "com.will",
            "x",
            Dict::new().with("scope", "forever")
        ),
        Err(uris::TESTAMENT_ERROR.into())
    );
    assert_eq!(
        call(
            &mut sim,
            c,
            "wamp.session.flush_testaments",
            vec![],
            Dict::new().with("scope", "sometimes")
        ),
        Err(uris::TESTAMENT_ERROR.into())
    );
    assert_eq!(
        add_testament(&mut sim, c, "wamp.session.on_leave", "x", Dict::new()),
        Err(uris::INVALID_URI.into())
    );
    assert_eq!(
        add_testament(&mut sim, c, "bad topic", "x", Dict::new()),
        Err(uris::INVALID_URI.into())
    );
    assert_eq!(
        add_testament(&mut sim, c, "com.forbidden", "x", Dict::new()),
        Err(uris::NOT_AUTHORIZED.into())
    );
    assert_eq!(
        call(
            &mut sim,
            c,
            "wamp.session.add_testament",
            vec![Value::from(1u8)],
            Dict::new()
        ),
        Err(uris::INVALID_ARGUMENT.into())
    );
    sim.disconnect(c);
    assert!(events(&mut sim, a, &ta).is_empty());
    assert_eq!(
        events(&mut sim, b, &tb),
        [("com.will".to_owned(), vec![Value::from("for-beta")])]
    );
}

// ------------------------------------------------------------------------------------------
// Event history
// ------------------------------------------------------------------------------------------

fn history_realm() -> RealmConfig {
    let mut r = principals();
    r.event_history = vec![
        HistoryConfig {
            uri: "com.hist".into(),
            match_policy: MatchPolicy::Exact,
            limit: 5,
        },
        HistoryConfig {
            uri: "com.h.".into(),
            match_policy: MatchPolicy::Prefix,
            limit: 3,
        },
    ];
    r
}

fn get_events(
    sim: &mut Sim,
    c: usize,
    s: SubscriptionId,
    kwargs: Dict,
) -> Result<Vec<Dict>, String> {
    call(
        sim,
        c,
        "wamp.subscription.get_events",
        vec![Value::from(s)],
        kwargs,
    )
    .map(|v| {
        v[0].as_list()
            .unwrap()
            .iter()
            .map(|e| e.as_dict().unwrap().clone())
            .collect()
    })
}

fn arg0(e: &Dict) -> u64 {
    e.get_list("args").unwrap()[0].as_u64().unwrap()
}

#[test]
fn event_history_bounded_and_filtered() {
    let mut sim = config(history_realm());
    let p = login(&mut sim, Some("a1"));
    let w = login(&mut sim, Some("a2"));
    let s = subscribe(&mut sim, w, "com.hist");
    let mut publications = Vec::new();
    for i in 0..8u64 {
        // One event per second of wall-clock time.
        sim.advance(Duration::from_secs(1));
        publish(
            &mut sim,
            p,
            "com.hist",
            vec![Value::from(i)],
            Dict::new().with("acknowledge", true),
        );
        match sim.recv(p) {
            Message::Published(x) => publications.push(x.publication.get()),
            other => panic!("{other:?}"),
        }
    }
    sim.recv_all(w);
    assert_eq!(sim.router.stats().history_events, 5);
    // The last five, oldest first.
    let all = get_events(&mut sim, w, s, Dict::new()).unwrap();
    assert_eq!(all.iter().map(arg0).collect::<Vec<_>>(), [3, 4, 5, 6, 7]);
    let e = &all[0];
    assert_eq!(e.get_u64("subscription"), Some(s.get()));
    assert_eq!(e.get_u64("publication"), Some(publications[3]));
    assert_eq!(e.get_str("topic"), Some("com.hist"));
    assert_eq!(e.get_str("timestamp"), Some("2023-11-14T22:13:24.000Z"));
    let q = |sim: &mut Sim, k: Dict| -> Vec<u64> {
        get_events(sim, w, s, k).unwrap().iter().map(arg0).collect()
    };
    assert_eq!(q(&mut sim, Dict::new().with("limit", 2u8)), [6, 7]);
    assert_eq!(
        q(
            &mut sim,
            Dict::new().with("limit", 2u8).with("reverse", true)
        ),
        [7, 6]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new().with("from_publication", publications[5])
        ),
        [5, 6, 7]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new()
                .with("after_publication", publications[5])
                .with("limit", 1u8)
        ),
        [6]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new().with("before_publication", publications[5])
        ),
        [3, 4]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new().with("until_publication", publications[5])
        ),
        [3, 4, 5]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new().with("from_publication", publications[0])
        ),
        Vec::<u64>::new(),
        "a publication no longer kept selects nothing"
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new()
                .with("from_time", "2023-11-14T22:13:25Z")
                .with("before_time", "2023-11-14T22:13:27.000Z")
        ),
        [4, 5]
    );
    assert_eq!(
        q(
            &mut sim,
            Dict::new()
                .with("after_time", "2023-11-14T22:13:25Z")
                .with("until_time", "2023-11-14T23:13:27+01:00")
        ),
        [5, 6]
    );
    // Crossbar's positional limit.
    let r = call(
        &mut sim,
        w,
        "wamp.subscription.get_events",
        vec![Value::from(s), Value::from(1u8)],
        Dict::new(),
    )
    .unwrap();
    assert_eq!(r[0].as_list().unwrap().len(), 1);
    assert_eq!(
        get_events(&mut sim, w, s, Dict::new().with("from_time", "yesterday")),
        Err(uris::INVALID_ARGUMENT.into())
    );
    // A subscription without a configured history.
    let other = subscribe(&mut sim, w, "com.nohist");
    assert_eq!(
        get_events(&mut sim, w, other, Dict::new()),
        Err(uris::HISTORY_UNAVAILABLE.into())
    );
}

#[test]
fn event_history_patterns_lists_and_authorization() {
    let mut r = history_realm();
    r.roles = vec![
        RoleConfig::new(
            "alpha",
            vec![Permission::new("", MatchPolicy::Prefix, Allow::all())],
        ),
        RoleConfig::new(
            "beta",
            vec![
                Permission::new("wamp.", MatchPolicy::Prefix, Allow::all()),
                Permission::new(
                    "com.h.",
                    MatchPolicy::Prefix,
                    Allow {
                        call: false,
                        register: false,
                        publish: false,
                        subscribe: false,
                    },
                ),
            ],
        ),
        RoleConfig::new(
            "anonymous",
            vec![Permission::new("", MatchPolicy::Prefix, Allow::all())],
        ),
    ];
    let mut sim = config(r);
    let p = login(&mut sim, Some("a1"));
    let w = login(&mut sim, Some("a2"));
    let anon = login(&mut sim, None);
    let s = subscribe_with(&mut sim, w, "com.h.", Dict::new().with("match", "prefix"));
    publish(
        &mut sim,
        p,
        "com.h.one",
        vec![Value::from(1u8)],
        Dict::new(),
    );
    publish(
        &mut sim,
        p,
        "com.h.two",
        vec![Value::from(2u8)],
        Dict::new(),
    );
    // Only alpha sessions may see this one; this one names sessions and is not kept.
    publish(
        &mut sim,
        p,
        "com.h.one",
        vec![Value::from(3u8)],
        Dict::new().with("eligible_authrole", Value::List(vec!["alpha".into()])),
    );
    let anon_sid = sid(&sim, anon);
    publish(
        &mut sim,
        p,
        "com.h.one",
        vec![Value::from(4u8)],
        Dict::new().with("exclude", Value::List(vec![Value::from(anon_sid)])),
    );
    sim.recv_all(w);
    let got = get_events(&mut sim, w, s, Dict::new()).unwrap();
    assert_eq!(got.iter().map(arg0).collect::<Vec<_>>(), [1, 2, 3]);
    let got = get_events(&mut sim, w, s, Dict::new().with("topic", "com.h.two")).unwrap();
    assert_eq!(got.iter().map(arg0).collect::<Vec<_>>(), [2]);
    // The black/white lists apply to whoever asks.
    let got = get_events(&mut sim, anon, s, Dict::new()).unwrap();
    assert_eq!(got.iter().map(arg0).collect::<Vec<_>>(), [1, 2]);
    // Whoever may not subscribe to the topic may not read its history.
    let b = login(&mut sim, Some("b1"));
    assert_eq!(
        get_events(&mut sim, b, s, Dict::new()),
        Err(uris::NOT_AUTHORIZED.into())
    );
    // The prefix history keeps three events.
    for i in 10..15u8 {
        publish(&mut sim, p, "com.h.x", vec![Value::from(i)], Dict::new());
    }
    sim.recv_all(w);
    let got = get_events(&mut sim, w, s, Dict::new()).unwrap();
    assert_eq!(got.iter().map(arg0).collect::<Vec<_>>(), [12, 13, 14]);
}
