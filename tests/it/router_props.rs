//! State-machine property tests of the router against a reference model: random sequences
//! of joins, leaves, disconnects, subscriptions, publications (with exclusions), registrations,
//! calls, replies, cancels and clock jumps over 4 clients. Checked after every step:
//! events reach exactly the matching subscribers minus exclusions; every CALL ends in exactly
//! one RESULT or ERROR (no stray or duplicate reply, none missing at the end); nothing is
//! sent to a closed connection (the harness panics); the configured bounds hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use wamp_proto::id::{RequestId, SubscriptionId};
use wamp_proto::message::{Call, Cancel, Error, Publish, Register, Subscribe, Unsubscribe, Yield};
use wamp_proto::{Dict, MatchPolicy, Message, MessageKind, Payload, Serializer, Uri, Value};
use wamp_router_core::{RouterConfig, uris};

use crate::sim::{Sim, full_roles};

const SLOTS: usize = 4;
const MAX_SUBS: usize = 3;
const MAX_PENDING: usize = 2;
const PATTERNS: [(&str, MatchPolicy); 6] = [
    ("a.b", MatchPolicy::Exact),
    ("a.c", MatchPolicy::Exact),
    ("a.", MatchPolicy::Prefix),
    ("a", MatchPolicy::Prefix),
    (".b", MatchPolicy::Wildcard),
    ("a.", MatchPolicy::Wildcard),
];
const TOPICS: [&str; 4] = ["a.b", "a.c", "x.b", "ab"];
const PROCS: [&str; 2] = ["p1", "p2"];

#[derive(Clone, Debug)]
enum Op {
    Join(usize),
    Goodbye(usize),
    Disconnect(usize),
    Subscribe(usize, usize),
    Unsubscribe(usize, usize),
    Publish {
        slot: usize,
        topic: usize,
        exclude_me: bool,
        exclude: u8,
    },
    Register(usize, usize),
    Call {
        slot: usize,
        proc_: usize,
        timeout: bool,
    },
    Reply {
        slot: usize,
        k: usize,
        error: bool,
    },
    Cancel {
        slot: usize,
        k: usize,
        mode: usize,
    },
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..SLOTS;
    prop_oneof![
        3 => s.clone().prop_map(Op::Join),
        1 => s.clone().prop_map(Op::Goodbye),
        1 => s.clone().prop_map(Op::Disconnect),
        3 => (s.clone(), 0..PATTERNS.len()).prop_map(|(a, b)| Op::Subscribe(a, b)),
        1 => (s.clone(), 0..4usize).prop_map(|(a, b)| Op::Unsubscribe(a, b)),
        4 => (s.clone(), 0..TOPICS.len(), any::<bool>(), any::<u8>())
            .prop_map(|(slot, topic, exclude_me, exclude)| Op::Publish { slot, topic, exclude_me, exclude }),
        2 => (s.clone(), 0..PROCS.len()).prop_map(|(a, b)| Op::Register(a, b)),
        4 => (s.clone(), 0..PROCS.len(), any::<bool>()).prop_map(|(slot, proc_, timeout)| Op::Call { slot, proc_, timeout }),
        3 => (s.clone(), 0..3usize, any::<bool>()).prop_map(|(slot, k, error)| Op::Reply { slot, k, error }),
        1 => (s.clone(), 0..3usize, 0..4usize).prop_map(|(slot, k, mode)| Op::Cancel { slot, k, mode }),
        1 => (0..300u64).prop_map(Op::Advance),
    ]
}

/// The model's view of one client slot.
#[derive(Default, Debug)]
struct Slot {
    /// Harness client index while a transport exists.
    client: Option<usize>,
    joined: bool,
    subs: BTreeMap<SubscriptionId, usize>,
    pending_calls: BTreeSet<RequestId>,
    invocations: Vec<RequestId>,
    procs: BTreeSet<usize>,
}

struct Model {
    sim: Sim,
    slots: Vec<Slot>,
}

impl Model {
    fn new(seed: u64) -> Self {
        let mut config = RouterConfig::with_realm("realm1");
        config.max_subscriptions_per_session = MAX_SUBS;
        config.max_pending_calls_per_session = MAX_PENDING;
        config.max_pending_invocations_per_session = MAX_PENDING;
        config.strict_request_ids = true;
        Model {
            sim: Sim::new(config, seed),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }

    fn client(&self, slot: usize) -> Option<usize> {
        let s = &self.slots[slot];
        if s.joined { s.client } else { None }
    }

    fn forget_session(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        s.joined = false;
        s.subs.clear();
        s.pending_calls.clear();
        s.invocations.clear();
        s.procs.clear();
    }

    /// Processes everything the clients received; returns the events as (slot, subscription).
    fn drain(&mut self) -> Vec<(usize, SubscriptionId)> {
        let mut events = Vec::new();
        for slot in 0..SLOTS {
            let Some(c) = self.slots[slot].client else {
                continue;
            };
            for m in self.sim.recv_all(c) {
                let s = &mut self.slots[slot];
                match m {
                    Message::Event(e) => {
                        assert!(
                            s.subs.contains_key(&e.subscription),
                            "EVENT for a subscription not held: {e:?}"
                        );
                        events.push((slot, e.subscription));
                    }
                    Message::Result(r) => {
                        assert!(r.details.get_bool("progress").is_none());
                        assert!(s.pending_calls.remove(&r.request), "stray RESULT {r:?}");
                    }
                    Message::Error(e) if e.request_type == MessageKind::Call => {
                        assert!(s.pending_calls.remove(&e.request), "stray ERROR {e:?}");
                    }
                    Message::Invocation(i) => s.invocations.push(i.request),
                    Message::Interrupt(_) => {}
                    other => panic!("slot {slot}: unexpected {other:?}"),
                }
            }
        }
        events
    }

    fn check_bounds(&self) {
        let st = self.sim.router.stats();
        let joined = self.slots.iter().filter(|s| s.joined).count();
        assert_eq!(st.sessions, joined);
        assert!(st.subscribers <= joined * MAX_SUBS);
        assert!(st.pending_calls <= joined * MAX_PENDING);
        assert!(st.timers <= st.pending_calls + SLOTS);
        assert_eq!(st.queued_actions, 0);
        for s in &self.slots {
            assert!(s.subs.len() <= MAX_SUBS);
        }
    }

    fn apply(&mut self, op: &Op) {
        let mut events = Vec::new();
        match *op {
            Op::Join(slot) => {
                if self.slots[slot].joined {
                    return;
                }
                let c = match self.slots[slot].client {
                    Some(c) => c,
                    None => {
                        let c = self.sim.connect(
                            [Serializer::Json, Serializer::MsgPack, Serializer::Cbor][slot % 3],
                        );
                        self.slots[slot].client = Some(c);
                        c
                    }
                };
                assert!(matches!(
                    self.sim.hello(c, "realm1", full_roles()),
                    Message::Welcome(_)
                ));
                self.slots[slot].joined = true;
            }
            Op::Goodbye(slot) => {
                let Some(c) = self.client(slot) else { return };
                assert!(matches!(self.sim.goodbye(c), Message::Goodbye(_)));
                self.forget_session(slot);
            }
            Op::Disconnect(slot) => {
                let Some(c) = self.slots[slot].client.take() else {
                    return;
                };
                self.sim.disconnect(c);
                self.forget_session(slot);
            }
            Op::Subscribe(slot, p) => {
                let Some(c) = self.client(slot) else { return };
                let (pattern, policy) = PATTERNS[p];
                let request = self.sim.next_req(c);
                self.sim.send(
                    c,
                    Subscribe {
                        request,
                        options: Dict::new().with("match", policy.as_str()),
                        topic: Uri::from_wire(pattern),
                    },
                );
                let already = self.slots[slot].subs.values().any(|x| *x == p);
                match self.sim.recv(c) {
                    Message::Subscribed(s) => {
                        assert!(already || self.slots[slot].subs.len() < MAX_SUBS);
                        // Same pattern from another slot: same ID.
                        for other in &self.slots {
                            for (id, q) in &other.subs {
                                assert_eq!(*q == p, *id == s.subscription);
                            }
                        }
                        self.slots[slot].subs.insert(s.subscription, p);
                    }
                    Message::Error(e) => {
                        assert!(!already && self.slots[slot].subs.len() >= MAX_SUBS);
                        assert_eq!(e.error, uris::NOT_AUTHORIZED);
                    }
                    other => panic!("{other:?}"),
                }
            }
            Op::Unsubscribe(slot, k) => {
                let Some(c) = self.client(slot) else { return };
                let Some(id) = self.slots[slot].subs.keys().nth(k).copied() else {
                    return;
                };
                let request = self.sim.next_req(c);
                self.sim.send(
                    c,
                    Unsubscribe {
                        request,
                        subscription: id,
                    },
                );
                assert!(matches!(self.sim.recv(c), Message::Unsubscribed(_)));
                self.slots[slot].subs.remove(&id);
                // A second UNSUBSCRIBE of it fails.
                let request = self.sim.next_req(c);
                self.sim.send(
                    c,
                    Unsubscribe {
                        request,
                        subscription: id,
                    },
                );
                assert!(
                    matches!(self.sim.recv(c), Message::Error(e) if e.error == uris::NO_SUCH_SUBSCRIPTION)
                );
            }
            Op::Publish {
                slot,
                topic,
                exclude_me,
                exclude,
            } => {
                let Some(c) = self.client(slot) else { return };
                let topic = TOPICS[topic];
                let excluded: Vec<usize> = (0..SLOTS)
                    .filter(|i| exclude & (1 << i) != 0 && self.slots[*i].joined)
                    .collect();
                let ids: Vec<Value> = excluded
                    .iter()
                    .map(|i| {
                        Value::from(
                            self.sim.clients[self.slots[*i].client.unwrap()]
                                .session
                                .unwrap(),
                        )
                    })
                    .collect();
                let mut expected: Vec<(usize, SubscriptionId)> = Vec::new();
                for (i, s) in self.slots.iter().enumerate() {
                    if !s.joined || (exclude_me && i == slot) || excluded.contains(&i) {
                        continue;
                    }
                    for (id, p) in &s.subs {
                        let (pattern, policy) = PATTERNS[*p];
                        if Uri::from_wire(pattern).matches(policy, topic) {
                            expected.push((i, *id));
                        }
                    }
                }
                let request = self.sim.next_req(c);
                let mut options = Dict::new().with("exclude_me", exclude_me);
                if !ids.is_empty() {
                    options.insert("exclude", Value::List(ids));
                }
                self.sim.send(
                    c,
                    Publish {
                        request,
                        options,
                        topic: Uri::from_wire(topic),
                        payload: Payload::empty(),
                    },
                );
                events = self.drain();
                events.sort();
                expected.sort();
                assert_eq!(events, expected, "publish to {topic}");
                return self.check_bounds();
            }
            Op::Register(slot, p) => {
                let Some(c) = self.client(slot) else { return };
                let request = self.sim.next_req(c);
                self.sim.send(
                    c,
                    Register {
                        request,
                        options: Dict::new(),
                        procedure: Uri::from_wire(PROCS[p]),
                    },
                );
                let taken = self.slots.iter().any(|s| s.joined && s.procs.contains(&p));
                match self.sim.recv(c) {
                    Message::Registered(_) => {
                        assert!(!taken);
                        self.slots[slot].procs.insert(p);
                    }
                    Message::Error(e) => {
                        assert!(taken);
                        assert_eq!(e.error, uris::PROCEDURE_ALREADY_EXISTS);
                    }
                    other => panic!("{other:?}"),
                }
            }
            Op::Call {
                slot,
                proc_,
                timeout,
            } => {
                let Some(c) = self.client(slot) else { return };
                let request = self.sim.next_req(c);
                let options = if timeout {
                    Dict::new().with("timeout", 100u64)
                } else {
                    Dict::new()
                };
                self.slots[slot].pending_calls.insert(request);
                self.sim.send(
                    c,
                    Call {
                        request,
                        options,
                        procedure: Uri::from_wire(PROCS[proc_]),
                        payload: Payload::empty(),
                    },
                );
            }
            Op::Reply { slot, k, error } => {
                let Some(c) = self.client(slot) else { return };
                if self.slots[slot].invocations.is_empty() {
                    return;
                }
                let k = k % self.slots[slot].invocations.len();
                let request = self.slots[slot].invocations.remove(k);
                let m: Message = if error {
                    Error {
                        request_type: MessageKind::Invocation,
                        request,
                        details: Dict::new(),
                        error: "app.error".into(),
                        payload: Payload::empty(),
                    }
                    .into()
                } else {
                    Yield {
                        request,
                        options: Dict::new(),
                        payload: Payload::empty(),
                    }
                    .into()
                };
                self.sim.send(c, m);
            }
            Op::Cancel { slot, k, mode } => {
                let Some(c) = self.client(slot) else { return };
                let Some(request) = self.slots[slot].pending_calls.iter().nth(k).copied() else {
                    return;
                };
                let options = match mode {
                    0 => Dict::new(),
                    1 => Dict::new().with("mode", "skip"),
                    2 => Dict::new().with("mode", "kill"),
                    _ => Dict::new().with("mode", "killnowait"),
                };
                self.sim.send(c, Cancel { request, options });
            }
            Op::Advance(ms) => self.sim.advance(Duration::from_millis(ms)),
        }
        events.extend(self.drain());
        assert!(
            events.is_empty(),
            "events without a publication: {events:?}"
        );
        self.check_bounds();
    }

    /// Answers every invocation until nothing is pending: then every caller still joined must
    /// have had exactly one final reply per call.
    fn settle(&mut self) {
        for _ in 0..20 {
            let mut any = false;
            for slot in 0..SLOTS {
                let Some(c) = self.client(slot) else { continue };
                for request in std::mem::take(&mut self.slots[slot].invocations) {
                    any = true;
                    self.sim.send(
                        c,
                        Yield {
                            request,
                            options: Dict::new(),
                            payload: Payload::empty(),
                        },
                    );
                }
            }
            let events = self.drain();
            assert!(events.is_empty());
            if !any {
                break;
            }
        }
        for (i, s) in self.slots.iter().enumerate() {
            assert!(
                s.pending_calls.is_empty(),
                "slot {i}: calls never answered: {:?}",
                s.pending_calls
            );
        }
        assert_eq!(self.sim.router.stats().pending_calls, 0);
        // Everyone leaves: nothing remains.
        for slot in 0..SLOTS {
            if let Some(c) = self.slots[slot].client.take() {
                self.sim.disconnect(c);
                self.forget_session(slot);
            }
        }
        let st = self.sim.router.stats();
        assert_eq!(
            (
                st.sessions,
                st.connections,
                st.subscriptions,
                st.registrations,
                st.timers
            ),
            (0, 0, 0, 0, 0)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn router_matches_reference_model(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..80)) {
        let mut m = Model::new(seed);
        for op in &ops {
            m.apply(op);
        }
        m.settle();
    }
}

/// Arbitrary messages (any kind, any state, odd option values) from three connections, with
/// clock jumps: the router never panics, never sends to a closed connection (the harness
/// checks), and everything is gone once the connections are.
mod chaos {
    use super::*;
    use wamp_proto::id::{PublicationId, RegistrationId, SessionId};
    use wamp_proto::message::{
        Abort, Authenticate, CallResult, Event, EventReceived, Goodbye, Hello, Interrupt,
        Invocation, Published, Registered, Subscribed, Unregister, Unregistered, Unsubscribed,
        Welcome,
    };

    fn small_id() -> impl Strategy<Value = u64> {
        prop_oneof![1..6u64, Just(wamp_proto::id::MAX_ID)]
    }

    fn option_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::UInt),
            (-3i64..0).prop_map(Value::Int),
            prop::sample::select(vec![
                "exact",
                "prefix",
                "wildcard",
                "single",
                "roundrobin",
                "random",
                "first",
                "last",
                "kill",
                "skip",
                "killnowait",
                "bogus",
                ""
            ])
            .prop_map(Value::from),
            prop::collection::vec(
                prop_oneof![
                    small_id().prop_map(Value::UInt),
                    Just(Value::from("anonymous")),
                    Just(Value::Null)
                ],
                0..3
            )
            .prop_map(Value::List),
        ]
    }

    fn options() -> impl Strategy<Value = Dict> {
        let keys = prop::sample::select(vec![
            "match",
            "invoke",
            "acknowledge",
            "exclude_me",
            "exclude",
            "eligible",
            "exclude_authid",
            "eligible_authrole",
            "disclose_me",
            "retain",
            "get_retained",
            "receive_progress",
            "progress",
            "timeout",
            "mode",
            "forward_timeout",
            "disclose_caller",
        ]);
        prop::collection::vec((keys, option_value()), 0..4).prop_map(|kv| {
            let mut d = Dict::new();
            for (k, v) in kv {
                d.insert(k, v);
            }
            d
        })
    }

    fn uri() -> impl Strategy<Value = Uri> {
        prop::sample::select(vec![
            "a", "a.b", "a.", ".b", "a..b", "", "wamp.x", "a b", "realm1",
        ])
        .prop_map(Uri::from_wire)
    }

    fn message() -> impl Strategy<Value = Message> {
        let r = || small_id().prop_map(|n| RequestId::new(n).unwrap());
        prop_oneof![
            4 => any::<bool>().prop_map(|full| Message::from(Hello { realm: "realm1".into(), details: Dict::new().with("roles", if full { full_roles() } else { Dict::new().with("caller", Dict::new()) }) })),
            1 => uri().prop_map(|realm| Hello { realm, details: Dict::new() }.into()),
            1 => Just(Message::from(Goodbye { details: Dict::new(), reason: "wamp.close.normal".into() })),
            1 => Just(Message::from(Abort { details: Dict::new(), reason: "wamp.close.normal".into(), payload: Payload::empty() })),
            3 => (r(), options(), uri()).prop_map(|(request, options, topic)| Subscribe { request, options, topic }.into()),
            1 => (r(), small_id()).prop_map(|(request, s)| Unsubscribe { request, subscription: SubscriptionId::new(s).unwrap() }.into()),
            3 => (r(), options(), uri()).prop_map(|(request, options, topic)| Publish { request, options, topic, payload: Payload::empty() }.into()),
            3 => (r(), options(), uri()).prop_map(|(request, options, procedure)| Register { request, options, procedure }.into()),
            1 => (r(), small_id()).prop_map(|(request, g)| Unregister { request, registration: RegistrationId::new(g).unwrap() }.into()),
            4 => (r(), options(), uri()).prop_map(|(request, options, procedure)| Call { request, options, procedure, payload: Payload::empty() }.into()),
            2 => (r(), options()).prop_map(|(request, options)| Cancel { request, options }.into()),
            4 => (r(), options()).prop_map(|(request, options)| Yield { request, options, payload: Payload::empty() }.into()),
            2 => (r(), prop::sample::select(vec![MessageKind::Invocation, MessageKind::Call])).prop_map(|(request, request_type)| Error { request_type, request, details: Dict::new(), error: "app.err".into(), payload: Payload::empty() }.into()),
            1 => prop::sample::select(vec![
                Message::from(Welcome { session: SessionId::new(1).unwrap(), details: Dict::new() }),
                Authenticate { signature: String::new(), extra: Dict::new() }.into(),
                Published { request: RequestId::new(1).unwrap(), publication: PublicationId::new(1).unwrap() }.into(),
                Subscribed { request: RequestId::new(1).unwrap(), subscription: SubscriptionId::new(1).unwrap() }.into(),
                Unsubscribed { request: None, details: Dict::new() }.into(),
                Event { subscription: SubscriptionId::new(1).unwrap(), publication: PublicationId::new(1).unwrap(), details: Dict::new(), payload: Payload::empty() }.into(),
                CallResult { request: RequestId::new(1).unwrap(), details: Dict::new(), payload: Payload::empty() }.into(),
                Registered { request: RequestId::new(1).unwrap(), registration: RegistrationId::new(1).unwrap() }.into(),
                Unregistered { request: None, details: Dict::new() }.into(),
                Invocation { request: RequestId::new(1).unwrap(), registration: RegistrationId::new(1).unwrap(), details: Dict::new(), payload: Payload::empty() }.into(),
                Interrupt { request: RequestId::new(1).unwrap(), options: Dict::new() }.into(),
                EventReceived { publication: PublicationId::new(1).unwrap() }.into(),
            ]),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        Send(usize, Message, bool),
        Reconnect(usize),
        Advance(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            12 => (0..3usize, message(), any::<bool>()).prop_map(|(c, m, direct)| Step::Send(c, m, direct)),
            1 => (0..3usize).prop_map(Step::Reconnect),
            1 => (0..5000u64).prop_map(Step::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_messages_never_break_the_router(seed in any::<u64>(), steps in prop::collection::vec(step(), 1..120)) {
            let mut config = RouterConfig::with_realm("realm1");
            config.max_subscriptions_per_session = 2;
            config.max_pending_calls_per_session = 2;
            config.max_retained_events = 2;
            config.hello_timeout = Some(Duration::from_secs(2));
            let mut sim = Sim::new(config, seed);
            let mut clients: Vec<usize> = (0..3).map(|i| sim.connect([Serializer::Json, Serializer::MsgPack, Serializer::Cbor][i])).collect();
            for s in steps {
                match s {
                    Step::Send(c, m, direct) => {
                        let i = clients[c];
                        if !sim.clients[i].closed_by_router {
                            if direct {
                                sim.send_direct(i, m);
                            } else {
                                sim.send(i, m);
                            }
                        }
                    }
                    Step::Reconnect(c) => {
                        sim.disconnect(clients[c]);
                        clients[c] = sim.connect(Serializer::Json);
                    }
                    Step::Advance(ms) => sim.advance(Duration::from_millis(ms)),
                }
                for i in &clients {
                    sim.recv_all(*i);
                }
                let st = sim.router.stats();
                prop_assert!(st.sessions <= 3);
                prop_assert!(st.subscribers <= 3 * 2);
                prop_assert!(st.pending_calls <= 3 * 2);
                prop_assert!(st.retained <= 2);
            }
            for i in clients {
                sim.disconnect(i);
            }
            let st = sim.router.stats();
            prop_assert_eq!((st.sessions, st.connections, st.subscriptions, st.registrations, st.pending_calls, st.timers), (0, 0, 0, 0, 0, 0));
        }
    }
}
