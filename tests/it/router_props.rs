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
