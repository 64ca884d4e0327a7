//! The router task: owns the [`Router`], applies inputs from the connections, delivers the
//! router's actions to the connections' bounded queues, and drives its timers.

use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use wamp_proto::{DecodeError, Message, Serializer};
use wamp_router_core::{CloseReason, ConnId, Router, RouterAction, RouterStats};

use super::queue;
use super::{Metrics, bump};

/// What a connection task (or the server handle) tells the router task.
pub(crate) enum Input {
    /// A new transport connection; the reply carries its handle, `None` when refused.
    Open {
        out: queue::Sender<Out>,
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

struct State {
    router: Router,
    conns: Vec<Option<Entry>>,
    metrics: Arc<Metrics>,
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
            Input::Open { out, reply } => {
                let id = if self.shutting_down {
                    None
                } else {
                    self.router.open_connection(now).ok()
                };
                if let Some(id) = id {
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
                other => tracing::warn!(action = ?other, "unsupported router action"),
            }
        }
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
pub(crate) async fn run(router: Router, mut rx: mpsc::Receiver<Input>, metrics: Arc<Metrics>) {
    let mut st = State {
        router,
        conns: Vec::new(),
        metrics,
        shutting_down: false,
        stopped: false,
    };
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
                st.router.handle_timeout(now);
                st.drain(now);
            }
        }
    }
}
