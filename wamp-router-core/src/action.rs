//! What the router asks its embedder to do: [`RouterAction`].

use std::fmt;
use std::sync::Arc;

use wamp_proto::Message;

use crate::decision::{DecisionRequest, DecisionTicket};

/// A connection handle: a slab index plus a generation, so that a handle kept after its
/// connection closed never reaches a newer connection that reuses the slot.
///
/// A connection carries WAMP sessions one after another (HELLO ... GOODBYE, HELLO ...), so a
/// `ConnId` is not a session ID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    pub(crate) const fn new(index: u32, generation: u32) -> Self {
        ConnId { index, generation }
    }
    /// The slab slot (small, dense: usable as an index into the embedder's own tables).
    pub const fn index(self) -> u32 {
        self.index
    }
    /// The slot's generation when this connection was opened.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({}v{})", self.index, self.generation)
    }
}

/// The receivers of one [`RouterAction::Broadcast`]: a shared, immutable list of connections.
///
/// The router caches one list per subscription and hands out clones of it while the
/// subscription's members do not change, so fanning an event out to 10k subscribers costs a
/// reference-count increment, not a 10k-element copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipients(Arc<[ConnId]>);

impl Recipients {
    pub(crate) fn new(conns: Arc<[ConnId]>) -> Self {
        Recipients(conns)
    }
    /// The connections, in the router's deterministic order.
    pub fn as_slice(&self) -> &[ConnId] {
        &self.0
    }
    /// Iterates over the connections.
    pub fn iter(&self) -> std::slice::Iter<'_, ConnId> {
        self.0.iter()
    }
    /// Number of connections.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there is no connection (the router never emits such a broadcast).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Recipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Recipients {
    type Item = &'a ConnId;
    type IntoIter = std::slice::Iter<'a, ConnId>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Why the router closes a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer broke the protocol; an ABORT `wamp.error.protocol_violation` was sent first.
    ProtocolViolation,
    /// The peer sent a message larger than the configured limit; an ABORT
    /// `wamp.error.payload_size_exceeded` was sent first.
    MessageTooLarge,
    /// The peer did not send HELLO within [`crate::RouterConfig::hello_timeout`].
    HelloTimeout,
    /// The router refused the session for lack of capacity; an ABORT was sent first.
    Capacity,
    /// The router shuts down ([`crate::Router::shutdown`]); an established session got
    /// GOODBYE `wamp.close.system_shutdown` first.
    Shutdown,
}

impl CloseReason {
    /// The transport-level reason to close with (WebSocket close code; logs and metrics for
    /// RawSocket, which has no close codes).
    pub const fn transport(self) -> wamp_proto::websocket::CloseReason {
        use wamp_proto::websocket::CloseReason as T;
        match self {
            CloseReason::ProtocolViolation => T::ProtocolError,
            CloseReason::MessageTooLarge => T::MessageTooBig,
            CloseReason::HelloTimeout | CloseReason::Capacity => T::PolicyViolation,
            CloseReason::Shutdown => T::GoingAway,
        }
    }
}

/// One thing the embedder must do, in order. Drain them with [`crate::Router::poll_action`]
/// after every input.
///
/// Ordering contract: deliver the messages of successive actions to each connection in the
/// order the actions come out (a `Broadcast` counts, for each of its recipients, at its
/// position in the sequence). The spec's ordering guarantees (per publisher/subscriber and
/// caller/callee pair) follow from that.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RouterAction {
    /// Send `msg` to one connection.
    Send {
        /// The receiver.
        to: ConnId,
        /// The message.
        msg: Message,
    },
    /// Send the same message to several connections (event fan-out). Encode it once per
    /// serializer in use, not once per receiver.
    Broadcast {
        /// The receivers (never empty; no connection twice).
        to: Recipients,
        /// The message.
        msg: Arc<Message>,
    },
    /// Close the transport of `conn` after sending what was queued for it. The router sends
    /// nothing more to it and ignores its input until [`crate::Router::close_connection`].
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
    /// Take a decision (dynamic authentication or authorization) and answer it with
    /// [`crate::Router::handle_decision`], from anywhere, at any later time; the router goes on
    /// meanwhile. Unanswered by [`crate::RouterConfig::decision_timeout`], it counts as a
    /// refusal. Only emitted when the configuration names a dynamic authenticator or
    /// authorizer.
    NeedDecision {
        /// Quote it in the answer.
        ticket: DecisionTicket,
        /// The question (boxed: it is rare and large, and actions are moved often).
        request: Box<DecisionRequest>,
    },
}
