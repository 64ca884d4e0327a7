//! Property test of the client session against a reference model of its pending requests:
//! valid replies in any order, errors, progressive results, cancels, replies to unknown IDs,
//! duplicates and wrong reply types. Checks: every request ends in exactly one outcome, the
//! session's bookkeeping matches the model, protocol violations abort, queues stay bounded,
//! nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use wamp_proto::client::*;
use wamp_proto::id::{PublicationId, RegistrationId, RequestId, SubscriptionId};
use wamp_proto::message::*;
use wamp_proto::{Dict, Message, MessageKind, Payload};

use crate::client_session::Client;

#[derive(Clone, Debug)]
enum Op {
    Call {
        receive_progress: bool,
    },
    Publish {
        ack: bool,
    },
    Subscribe,
    Unsubscribe(usize),
    Register,
    Unregister(usize),
    Cancel(usize, u8),
    /// The router answers the n-th pending request: 0 success, 1 error, 2 progress.
    Reply(usize, u8),
    /// A reply of some type to an ID that was never issued.
    UnknownReply(u8, u64),
    /// The final reply to an already answered request, again.
    Duplicate(usize),
    /// A reply of the wrong type to a pending request.
    WrongType(usize),
    Event(usize),
    EventUnknown,
    Invocation(usize),
    Yield(usize),
    End(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<bool>().prop_map(|receive_progress| Op::Call { receive_progress }),
        3 => any::<bool>().prop_map(|ack| Op::Publish { ack }),
        3 => Just(Op::Subscribe),
        2 => any::<usize>().prop_map(Op::Unsubscribe),
        3 => Just(Op::Register),
        2 => any::<usize>().prop_map(Op::Unregister),
        2 => (any::<usize>(), 0u8..3).prop_map(|(i, m)| Op::Cancel(i, m)),
        14 => (any::<usize>(), 0u8..3).prop_map(|(i, k)| Op::Reply(i, k)),
        1 => (0u8..6, 0u64..5).prop_map(|(k, o)| Op::UnknownReply(k, o)),
        1 => any::<usize>().prop_map(Op::Duplicate),
        1 => any::<usize>().prop_map(Op::WrongType),
        3 => any::<usize>().prop_map(Op::Event),
        1 => Just(Op::EventUnknown),
        3 => any::<usize>().prop_map(Op::Invocation),
        3 => any::<usize>().prop_map(Op::Yield),
        1 => (0u8..4).prop_map(Op::End),
    ]
}

#[derive(Clone, Debug)]
enum Req {
    Call { receive_progress: bool },
    Publish,
    Subscribe,
    Unsubscribe(u64),
    Register,
    Unregister(u64),
}

/// The reference model.
#[derive(Default)]
struct Model {
    closed: bool,
    pending: BTreeMap<u64, Req>,
    /// Final reply of every answered request, for duplicates.
    answered: Vec<Message>,
    issued: u64,
    subs: Vec<u64>,
    regs: Vec<u64>,
    invocations: Vec<u64>,
    next_router_id: u64,
    next_invocation: u64,
}

/// Per request: how many terminal outcomes the application saw.
#[derive(Default)]
struct Outcomes {
    terminal: BTreeMap<u64, u32>,
    expected: Vec<u64>,
}

fn rid(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

fn success(id: u64, req: &Req, m: &mut Model) -> Message {
    m.next_router_id += 1;
    let fresh = m.next_router_id;
    match req {
        Req::Call { .. } => CallResult {
            request: rid(id),
            details: Dict::new(),
            payload: Payload::empty(),
        }
        .into(),
        Req::Publish => Published {
            request: rid(id),
            publication: PublicationId::new(fresh).unwrap(),
        }
        .into(),
        Req::Subscribe => Subscribed {
            request: rid(id),
            subscription: SubscriptionId::new(fresh).unwrap(),
        }
        .into(),
        Req::Unsubscribe(_) => Unsubscribed {
            request: Some(rid(id)),
            details: Dict::new(),
        }
        .into(),
        Req::Register => Registered {
            request: rid(id),
            registration: RegistrationId::new(fresh).unwrap(),
        }
        .into(),
        Req::Unregister(_) => Unregistered {
            request: Some(rid(id)),
            details: Dict::new(),
        }
        .into(),
    }
}

fn kind_of(req: &Req) -> MessageKind {
    match req {
        Req::Call { .. } => MessageKind::Call,
        Req::Publish => MessageKind::Publish,
        Req::Subscribe => MessageKind::Subscribe,
        Req::Unsubscribe(_) => MessageKind::Unsubscribe,
        Req::Register => MessageKind::Register,
        Req::Unregister(_) => MessageKind::Unregister,
    }
}

fn error(id: u64, kind: MessageKind) -> Message {
    Error {
        request_type: kind,
        request: rid(id),
        details: Dict::new(),
        error: "com.example.error".into(),
        payload: Payload::empty(),
    }
    .into()
}

struct Run {
    c: Client,
    m: Model,
    o: Outcomes,
}

impl Run {
    /// Drains the session, checks the bound on queued actions, records outcomes, and returns
    /// whether the session aborted with a protocol violation.
    fn drain(&mut self) -> bool {
        let actions = self.c.drain();
        assert!(
            actions.len() <= self.m.pending.len() + 4,
            "{} actions for {} pending",
            actions.len(),
            self.m.pending.len()
        );
        let mut violated = false;
        for a in actions {
            match a {
                ClientAction::Event(e) => {
                    let done = match &e {
                        ClientEvent::Result(o) => Some(o.request),
                        ClientEvent::Error(e) => Some(e.request),
                        ClientEvent::Lost { request, .. }
                        | ClientEvent::Published { request, .. }
                        | ClientEvent::Subscribed { request, .. }
                        | ClientEvent::Unsubscribed { request, .. }
                        | ClientEvent::Registered { request, .. }
                        | ClientEvent::Unregistered { request, .. } => Some(*request),
                        _ => None,
                    };
                    if let Some(r) = done {
                        *self.o.terminal.entry(r.get()).or_default() += 1;
                    }
                }
                ClientAction::Close(CloseCause::ProtocolViolation(_)) => violated = true,
                _ => {}
            }
        }
        violated
    }

    fn expect_violation(&mut self) {
        assert!(self.drain(), "expected a protocol violation");
        assert_eq!(self.c.s.state(), SessionState::Closed);
        self.m.closed = true;
        self.m.pending.clear();
    }

    fn expect_ok(&mut self) {
        assert!(!self.drain(), "unexpected protocol violation");
        assert_eq!(self.c.s.pending_requests(), self.m.pending.len());
    }

    fn nth_pending(&self, i: usize) -> Option<(u64, Req)> {
        if self.m.pending.is_empty() {
            return None;
        }
        self.m
            .pending
            .iter()
            .nth(i % self.m.pending.len())
            .map(|(k, v)| (*k, v.clone()))
    }

    fn issued(&mut self, r: Result<RequestId, UsageError>, req: Option<Req>) {
        let r = r.unwrap();
        self.m.issued += 1;
        assert_eq!(r.get(), self.m.issued, "sequential request IDs");
        if let Some(req) = req {
            self.o.expected.push(r.get());
            self.m.pending.insert(r.get(), req);
        }
        self.expect_ok();
    }

    fn apply(&mut self, op: Op) {
        let t = self.c.t0;
        if self.m.closed {
            // Everything is refused or ignored.
            let r = self
                .c
                .s
                .call(t, "f".into(), Payload::empty(), CallOptions::default());
            assert_eq!(r, Err(UsageError::InvalidState(SessionState::Closed)));
            self.c.feed(CallResult {
                request: rid(1),
                details: Dict::new(),
                payload: Payload::empty(),
            });
            assert!(self.c.drain().is_empty());
            return;
        }
        match op {
            Op::Call { receive_progress } => {
                let opts = CallOptions {
                    receive_progress,
                    ..CallOptions::default()
                };
                let r = self.c.s.call(t, "com.f".into(), Payload::empty(), opts);
                self.issued(r, Some(Req::Call { receive_progress }));
            }
            Op::Publish { ack } => {
                let opts = PublishOptions {
                    acknowledge: ack,
                    ..PublishOptions::default()
                };
                let r = self.c.s.publish(t, "com.t".into(), Payload::empty(), opts);
                self.issued(r, ack.then_some(Req::Publish));
            }
            Op::Subscribe => {
                let r = self
                    .c
                    .s
                    .subscribe(t, "com.t".into(), SubscribeOptions::default());
                self.issued(r, Some(Req::Subscribe));
            }
            Op::Register => {
                let r = self
                    .c
                    .s
                    .register(t, "com.f".into(), RegisterOptions::default());
                self.issued(r, Some(Req::Register));
            }
            Op::Unsubscribe(i) => {
                let unsubscribing: Vec<u64> = self
                    .m
                    .pending
                    .values()
                    .filter_map(|r| match r {
                        Req::Unsubscribe(s) => Some(*s),
                        _ => None,
                    })
                    .collect();
                let Some(&sub) = self.m.subs.get(i % self.m.subs.len().max(1)) else {
                    return;
                };
                let r = self.c.s.unsubscribe(t, SubscriptionId::new(sub).unwrap());
                if unsubscribing.contains(&sub) {
                    assert!(r.is_err());
                    return;
                }
                self.issued(r, Some(Req::Unsubscribe(sub)));
            }
            Op::Unregister(i) => {
                let unregistering: Vec<u64> = self
                    .m
                    .pending
                    .values()
                    .filter_map(|r| match r {
                        Req::Unregister(s) => Some(*s),
                        _ => None,
                    })
                    .collect();
                let Some(&reg) = self.m.regs.get(i % self.m.regs.len().max(1)) else {
                    return;
                };
                let r = self.c.s.unregister(t, RegistrationId::new(reg).unwrap());
                if unregistering.contains(&reg) {
                    assert!(r.is_err());
                    return;
                }
                self.issued(r, Some(Req::Unregister(reg)));
            }
            Op::Cancel(i, mode) => {
                let Some((id, Req::Call { .. })) = self.nth_pending(i) else {
                    return;
                };
                let mode =
                    [CancelMode::Skip, CancelMode::Kill, CancelMode::KillNoWait][usize::from(mode)];
                // Cancelling twice is refused; either way the call stays pending.
                let _ = self.c.s.cancel(t, rid(id), mode);
                self.expect_ok();
            }
            Op::Reply(i, k) => {
                let Some((id, req)) = self.nth_pending(i) else {
                    return;
                };
                match k {
                    0 => {
                        let msg = success(id, &req, &mut self.m);
                        match (&req, &msg) {
                            (Req::Subscribe, Message::Subscribed(s)) => {
                                self.m.subs.push(s.subscription.get())
                            }
                            (Req::Register, Message::Registered(r)) => {
                                self.m.regs.push(r.registration.get())
                            }
                            (Req::Unsubscribe(s), _) => self.m.subs.retain(|x| x != s),
                            (Req::Unregister(r), _) => {
                                self.m.regs.retain(|x| x != r);
                                // INVOCATIONs of a gone registration: the model forgets them.
                            }
                            _ => {}
                        }
                        self.m.pending.remove(&id);
                        self.m.answered.push(msg.clone());
                        self.c.feed(msg);
                        self.expect_ok();
                    }
                    1 => {
                        let msg = error(id, kind_of(&req));
                        self.m.pending.remove(&id);
                        self.m.answered.push(msg.clone());
                        self.c.feed(msg);
                        self.expect_ok();
                    }
                    _ => {
                        let Req::Call { receive_progress } = req else {
                            return;
                        };
                        self.c.feed(CallResult {
                            request: rid(id),
                            details: Dict::new().with("progress", true),
                            payload: Payload::empty(),
                        });
                        if receive_progress {
                            self.expect_ok();
                        } else {
                            self.expect_violation();
                        }
                    }
                }
            }
            Op::UnknownReply(k, offset) => {
                let id = self.m.issued + 1 + offset;
                let req = [
                    Req::Call {
                        receive_progress: false,
                    },
                    Req::Publish,
                    Req::Subscribe,
                    Req::Unsubscribe(1),
                    Req::Register,
                    Req::Unregister(1),
                ][usize::from(k)]
                .clone();
                let msg = success(id, &req, &mut self.m);
                self.c.feed(msg);
                self.expect_violation();
            }
            Op::Duplicate(i) => {
                if self.m.answered.is_empty() {
                    return;
                }
                let msg = self.m.answered[i % self.m.answered.len()].clone();
                self.c.feed(msg);
                self.expect_violation();
            }
            Op::WrongType(i) => {
                let Some((id, req)) = self.nth_pending(i) else {
                    return;
                };
                let wrong = match req {
                    Req::Call { .. } => Req::Subscribe,
                    _ => Req::Call {
                        receive_progress: false,
                    },
                };
                let msg = if i % 2 == 0 {
                    success(id, &wrong, &mut self.m)
                } else {
                    error(id, kind_of(&wrong))
                };
                self.c.feed(msg);
                self.expect_violation();
            }
            Op::Event(i) => {
                let Some(&sub) = self.m.subs.get(i % self.m.subs.len().max(1)) else {
                    return;
                };
                self.c.feed(Event {
                    subscription: SubscriptionId::new(sub).unwrap(),
                    publication: PublicationId::new(1).unwrap(),
                    details: Dict::new(),
                    payload: Payload::empty(),
                });
                self.expect_ok();
            }
            Op::EventUnknown => {
                self.c.feed(Event {
                    subscription: SubscriptionId::new(1 << 50).unwrap(),
                    publication: PublicationId::new(1).unwrap(),
                    details: Dict::new(),
                    payload: Payload::empty(),
                });
                self.expect_violation();
            }
            Op::Invocation(i) => {
                let Some(&reg) = self.m.regs.get(i % self.m.regs.len().max(1)) else {
                    return;
                };
                self.m.next_invocation += 1;
                let id = self.m.next_invocation;
                self.c.feed(Invocation {
                    request: rid(id),
                    registration: RegistrationId::new(reg).unwrap(),
                    details: Dict::new(),
                    payload: Payload::empty(),
                });
                self.m.invocations.push(id);
                self.expect_ok();
                assert_eq!(self.c.s.pending_invocations(), self.m.invocations.len());
            }
            Op::Yield(i) => {
                if self.m.invocations.is_empty() {
                    return;
                }
                let id = self.m.invocations.remove(i % self.m.invocations.len());
                self.c
                    .s
                    .yield_(t, rid(id), Payload::empty(), YieldOptions::default())
                    .unwrap();
                self.expect_ok();
                assert_eq!(self.c.s.pending_invocations(), self.m.invocations.len());
            }
            Op::End(how) => {
                match how {
                    0 => self.c.s.handle_transport_closed(t),
                    1 => self.c.feed(Goodbye {
                        details: Dict::new(),
                        reason: "wamp.close.system_shutdown".into(),
                    }),
                    2 => self.c.feed(Abort {
                        details: Dict::new(),
                        reason: "wamp.error.system_shutdown".into(),
                        payload: Payload::empty(),
                    }),
                    _ => {
                        self.c.s.leave(t, None).unwrap();
                        self.c.feed(Goodbye {
                            details: Dict::new(),
                            reason: "wamp.close.normal".into(),
                        });
                    }
                }
                assert!(!self.drain());
                assert_eq!(self.c.s.state(), SessionState::Closed);
                self.m.closed = true;
                self.m.pending.clear();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_request_ends_exactly_once(ops in proptest::collection::vec(op(), 1..120)) {
        let mut run = Run { c: Client::joined(), m: Model::default(), o: Outcomes::default() };
        for op in ops {
            run.apply(op);
        }
        if !run.m.closed {
            run.c.s.handle_transport_closed(run.c.t0);
            run.drain();
        }
        for id in &run.o.expected {
            prop_assert_eq!(run.o.terminal.get(id).copied(), Some(1), "request {}", id);
        }
        prop_assert_eq!(run.o.terminal.len(), run.o.expected.len());
        prop_assert_eq!(run.c.s.pending_requests(), 0);
    }
}
