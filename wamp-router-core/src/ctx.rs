//! What every sub-machine handler gets: the time, the config, the outgoing queue, entropy,
//! timers and the router-scope ID counters.

use std::collections::VecDeque;
use std::time::Instant;

use wamp_proto::id::RequestId;
use wamp_proto::message::Error as ErrorMsg;
use wamp_proto::{Dict, Entropy, Message, MessageKind, Payload, Uri, Value};

use crate::action::{ConnId, RouterAction};
use crate::config::RouterConfig;
use crate::decision::{DecisionTicket, Decisions};
use crate::meta::{Kill, MetaEvent};
use crate::timer::TimerQueue;

/// What a timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// A call's router-enforced timeout.
    Call { realm: usize, call: u64 },
    /// A connection that has not sent HELLO yet (or not completed authentication, or not
    /// answered the router's GOODBYE).
    Hello(ConnId),
    /// A decision's deadline.
    Decision(DecisionTicket),
}

/// Router-scope ID counters (subscriptions, registrations): sequential, unique per router.
#[derive(Debug, Default)]
pub(crate) struct IdAlloc {
    pub(crate) subscription: u64,
    pub(crate) registration: u64,
}

pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) config: &'a RouterConfig,
    pub(crate) out: &'a mut VecDeque<RouterAction>,
    pub(crate) entropy: &'a mut dyn Entropy,
    pub(crate) timers: &'a mut TimerQueue<Timer>,
    pub(crate) ids: &'a mut IdAlloc,
    /// Index of the realm being worked on (for timers).
    pub(crate) realm: usize,
    /// Wall-clock time (milliseconds since the Unix epoch) at `now`.
    pub(crate) unix_millis: u64,
    /// Pending decisions.
    pub(crate) decisions: &'a mut Decisions,
    /// Meta events to publish (filled by the broker and dealer, published by the realm).
    pub(crate) meta: &'a mut Vec<MetaEvent>,
    /// Sessions the meta API killed (the router closes them).
    pub(crate) kills: &'a mut Vec<Kill>,
}

impl Ctx<'_> {
    pub(crate) fn send(&mut self, to: ConnId, msg: impl Into<Message>) {
        self.out.push_back(RouterAction::Send {
            to,
            msg: msg.into(),
        });
    }

    /// Sends `ERROR(kind, request, {}, uri)` with an optional one-string explanation.
    pub(crate) fn error(
        &mut self,
        to: ConnId,
        kind: MessageKind,
        request: RequestId,
        uri: &'static str,
        message: Option<&'static str>,
    ) {
        let payload = match message {
            Some(m) => Payload::args(vec![Value::from(m)]),
            None => Payload::empty(),
        };
        self.send(
            to,
            ErrorMsg {
                request_type: kind,
                request,
                details: Dict::new(),
                error: Uri::from(uri),
                payload,
            },
        );
    }
}
