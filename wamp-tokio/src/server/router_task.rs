//! The router task: owns the [`Router`], applies inputs from the connections, delivers the
//! router's actions to the connections' bounded queues, drives its timers, keeps its wall
//! clock, and hands its questions (dynamic authentication and authorization) to the
//! [`Decider`] on the server's runtime (see [`super::decider`]).

use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use wamp_proto::{DecodeError, Message, Serializer};
use wamp_router_core::{
    CloseReason, ConnId, Decision, DecisionRequest, DecisionTicket, Router, RouterAction,
    RouterStats, TransportInfo,
};

use super::decider::Decider;
use super::queue;
use super::{Metrics, bump};

/// How often the router's wall clock is set again from the system clock (to follow NTP
/// corrections and suspends, which the monotonic clock does not see).
const WALL_CLOCK_REFRESH: Duration = Duration::from_secs(300);

/// What a connection task (or the server handle) tells the router task.
pub(crate) enum Input {
    /// A new transport connection; the reply carries its handle, `None` when refused.
    Open {
        out: queue::Sender<Out>,
        /// What the transport knows (set before the connection's first message).
        transport: Box<TransportInfo>,
        reply: oneshot::Sender<Option<ConnId>>,
    },
    /// Messages received on `conn`, in order.
    Messages(ConnId, Vec<Message>),
    /// `conn` sent something undecodable (or too large).
    DecodeError(ConnId, DecodeError),
    /// The transport of `conn` is gone.
    Closed(ConnId),
    /// Say GOODBYE to everyone and refuse new connections.
    Shutdown,
    /// The decider's answer to a question of the router.
    Decision(DecisionTicket, Decision),
    /// Report the router's counts.
    Stats(oneshot::Sender<RouterStats>),
    /// End the router task.
    Stop,
}

/// What the router task puts in a connection's queue.
pub(crate) enum Out {
    /// One message for this connection only.
    Msg(Box<Message>),
    /// A message for several connections, encoded at most once per serializer.
    Shared(Arc<SharedMsg>),
    /// Close after writing what came before.
    Close(CloseReason),
}

/// A fanned-out message with one lazily filled encoding per serializer.
pub(crate) struct SharedMsg {
    msg: Arc<Message>,
    encoded: [OnceLock<Option<Bytes>>; 4],
}

impl SharedMsg {
    fn new(msg: Arc<Message>) -> Self {
        SharedMsg {
            msg,
            encoded: Default::default(),
        }
    }

    /// The message encoded with `s` (`None`: it cannot be encoded with `s`).
    pub(crate) fn encoded(&self, s: Serializer) -> Option<&Bytes> {
        let i = Serializer::ALL.iter().position(|x| *x == s)?;
        self.encoded
            .get(i)?
            .get_or_init(|| s.encode_to_vec(&self.msg).ok().map(Bytes::from))
            .as_ref()
    }
}

struct Entry {
    id: ConnId,
    out: queue::Sender<Out>,
}

/// How the router task has its questions answered (see [`super::decider`]).
pub(crate) struct Deciding {
    /// The embedder's decider; `None`: every question is denied at once.
    pub(crate) decider: Option<Arc<dyn Decider>>,
    /// The server's runtime, where decider futures run.
    pub(crate) runtime: tokio::runtime::Handle,
    /// The router task's own input channel, for the answers (weak, so that the channel still
    /// closes when every connection is gone).
    pub(crate) tx: mpsc::WeakSender<Input>,
    /// Most decider futures running at once.
    pub(crate) max_in_flight: usize,
    /// How long a decider future may run (the core's `decision_timeout`: by then the core
    /// has answered for it).
    pub(crate) timeout: Duration,
}

/// Counts a running decider future for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct State {
    router: Router,
    conns: Vec<Option<Entry>>,
    metrics: Arc<Metrics>,
    deciding: Deciding,
    in_flight: Arc<AtomicUsize>,
    warned_no_decider: bool,
    /// When the wall clock was last given to the router.
    wall_clock_set: Option<Instant>,
    shutting_down: bool,
    stopped: bool,
}

impl State {
    fn entry(&self, id: ConnId) -> Option<&Entry> {
        self.conns
            .get(id.index() as usize)?
            .as_ref()
            .filter(|e| e.id == id)
    }

    fn remove(&mut self, id: ConnId) -> Option<Entry> {
        let slot = self.conns.get_mut(id.index() as usize)?;
        if slot.as_ref().is_some_and(|e| e.id == id) {
            slot.take()
        } else {
            None
        }
    }

    fn apply(&mut self, now: Instant, input: Input) {
        match input {
            Input::Open {
                out,
                transport,
                reply,
            } => {
                let id = if self.shutting_down {
                    None
                } else {
                    self.router.open_connection(now).ok()
                };
                if let Some(id) = id {
                    self.router.set_transport_info(id, *transport);
                    let i = id.index() as usize;
                    if self.conns.len() <= i {
                        self.conns.resize_with(i + 1, || None);
                    }
                    if let Some(slot) = self.conns.get_mut(i) {
                        *slot = Some(Entry { id, out });
                    }
                    if reply.send(Some(id)).is_err() {
                        // The connection task is gone already.
                        self.remove(id);
                        self.router.close_connection(now, id);
                    }
                } else {
                    let _ = reply.send(None);
                }
            }
            Input::Messages(conn, msgs) => {
                for m in msgs {
                    self.router.handle_message(now, conn, m);
                }
            }
            Input::DecodeError(conn, e) => self.router.handle_decode_error(now, conn, &e),
            Input::Closed(conn) => {
                self.remove(conn);
                self.router.close_connection(now, conn);
            }
            Input::Shutdown => {
                self.shutting_down = true;
                self.router.shutdown(now);
            }
            Input::Decision(ticket, decision) => {
                if !self.router.handle_decision(now, ticket, decision) {
                    tracing::debug!(
                        ticket = ticket.get(),
                        "decision answered after its deadline or its requester left"
                    );
                }
            }
            Input::Stats(reply) => {
                let _ = reply.send(self.router.stats());
            }
            Input::Stop => self.stopped = true,
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        while let Some(action) = self.router.poll_action() {
            match action {
                RouterAction::Send { to, msg } => self.push(now, to, Out::Msg(Box::new(msg))),
                RouterAction::Broadcast { to, msg } => {
                    let shared = Arc::new(SharedMsg::new(msg));
                    for &c in to.iter() {
                        self.push(now, c, Out::Shared(shared.clone()));
                    }
                }
                RouterAction::Close { conn, reason } => {
                    self.push(now, conn, Out::Close(reason));
                }
                RouterAction::NeedDecision { ticket, request } => {
                    self.need_decision(now, ticket, *request);
                }
                other => tracing::warn!(action = ?other, "unsupported router action"),
            }
        }
    }

    /// Sets the router's wall clock at start and every [`WALL_CLOCK_REFRESH`].
    fn refresh_wall_clock(&mut self, now: Instant) {
        if self
            .wall_clock_set
            .is_some_and(|at| now.saturating_duration_since(at) < WALL_CLOCK_REFRESH)
        {
            return;
        }
        self.router.set_wall_clock(now, unix_millis());
        self.wall_clock_set = Some(now);
    }

    /// Answers a question of the router: spawns the decider on the server's runtime, or
    /// denies at once (no decider, too many running, server ending). Its actions are drained
    /// by the caller's loop.
    fn need_decision(&mut self, now: Instant, ticket: DecisionTicket, request: DecisionRequest) {
        let busy = self.in_flight.load(Ordering::Relaxed) >= self.deciding.max_in_flight;
        let (decider, tx) = match (&self.deciding.decider, self.deciding.tx.upgrade()) {
            (Some(decider), Some(tx)) if !busy => (decider.clone(), tx),
            (decider, _) => {
                if decider.is_none() && !self.warned_no_decider {
                    self.warned_no_decider = true;
                    tracing::warn!(
                        "the configuration names a dynamic authenticator or authorizer but \
                         the server has no decider: denying"
                    );
                } else if busy {
                    tracing::warn!(
                        ticket = ticket.get(),
                        "too many decisions in flight: denying"
                    );
                }
                self.router.handle_decision(now, ticket, request.refusal());
                return;
            }
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight(self.in_flight.clone());
        let limit = self.deciding.timeout;
        self.deciding.runtime.spawn(async move {
            let _guard = guard;
            let fallback = request.refusal();
            // The decider's code runs inside the guarded future, so a panic in `decide`
            // itself is caught as well as one in the future it returns.
            let decided = AssertUnwindSafe(async move { decider.decide(request).await });
            let answer = match tokio::time::timeout(limit, decided.catch_unwind()).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => {
                    tracing::error!(ticket = ticket.get(), "the decider panicked: denying");
                    fallback
                }
                // The core has answered for it already.
                Err(_) => return,
            };
            let _ = tx.send(Input::Decision(ticket, answer)).await;
        });
    }

    fn push(&mut self, now: Instant, to: ConnId, item: Out) {
        let Some(e) = self.entry(to) else {
            return;
        };
        match e.out.try_send(item) {
            Ok(()) => {}
            Err(queue::TrySendError::Full(_)) => {
                bump(&self.metrics.slow_consumers);
                tracing::warn!(conn = ?to, "slow consumer: outgoing queue full, disconnecting");
                e.out.kill();
                self.remove(to);
                self.router.close_connection(now, to);
            }
            Err(queue::TrySendError::Closed(_)) => {
                // The task ended; its `Closed` input is on the way.
            }
        }
    }
}

/// Runs until [`Input::Stop`] or until every input sender is gone.
pub(crate) async fn run(
    router: Router,
    mut rx: mpsc::Receiver<Input>,
    metrics: Arc<Metrics>,
    deciding: Deciding,
) {
    let mut st = State {
        router,
        conns: Vec::new(),
        metrics,
        deciding,
        in_flight: Arc::new(AtomicUsize::new(0)),
        warned_no_decider: false,
        wall_clock_set: None,
        shutting_down: false,
        stopped: false,
    };
    st.refresh_wall_clock(Instant::now());
    let mut batch = Vec::with_capacity(64);
    let far = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365);
    let mut sleep = pin!(tokio::time::sleep_until(far));
    let mut armed: Option<Instant> = None;
    loop {
        let next = st.router.poll_timeout();
        if next != armed {
            armed = next;
            sleep
                .as_mut()
                .reset(next.map_or(far, tokio::time::Instant::from_std));
        }
        tokio::select! {
            n = rx.recv_many(&mut batch, 64) => {
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                st.refresh_wall_clock(now);
                for input in batch.drain(..) {
                    st.apply(now, input);
                }
                if st.stopped {
                    break;
                }
                if batch.capacity() > 1024 {
                    batch.shrink_to(64);
                }
            }
            () = &mut sleep, if armed.is_some() => {
                armed = None;
                sleep.as_mut().reset(far);
                let now = Instant::now();
                st.refresh_wall_clock(now);
                st.router.handle_timeout(now);
                st.drain(now);
            }
        }
    }
}
