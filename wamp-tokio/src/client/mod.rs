//! The async WAMP client on tokio.
//!
//! One task owns the connection and a [`wamp_proto::client::Session`] (the sans-IO state
//! machine that holds every protocol decision); a [`Client`] and the handles it returns talk
//! to that task over bounded channels.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use wamp_tokio::client::{CallOptions, Client, ConnectOptions, JoinOptions, Payload, SubscribeOptions};
//!
//! # async fn demo() -> Result<(), wamp_tokio::client::Error> {
//! let client = Client::connect("ws://127.0.0.1:8080/ws", ConnectOptions::default()).await?;
//! client.join(JoinOptions::anonymous("realm1")).await?;
//!
//! let mut events = client.subscribe("com.example.topic", SubscribeOptions::default()).await?;
//! let sum = client
//!     .call("com.example.add", Payload::args(vec![2.into(), 3.into()]), CallOptions::default())
//!     .await?;
//! println!("{:?}", sum.payload.arguments());
//! while let Some(event) = events.next().await {
//!     println!("{:?}", event.payload);
//! }
//! client.leave().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Transports
//!
//! [`Client::connect`] takes a URL:
//!
//! | URL | transport |
//! |---|---|
//! | `ws://host[:port]/path`, `wss://...` | WebSocket over TCP, over TLS |
//! | `rs://host:port` (or `tcp://`), `rss://host:port` (or `tcps://`) | RawSocket over TCP, over TLS |
//! | `unix:///path/to/socket` (or `unix:/path`, `rs+unix://`) | RawSocket over a Unix socket |
//! | `ws+unix:///path/to/socket` | WebSocket over a Unix socket |
//!
//! The serializer is [`ConnectOptions::serializer`] (JSON, MessagePack, CBOR or UBJSON); the
//! WebSocket client offers exactly that subprotocol (or its `.batched` form, with
//! [`ConnectOptions::websocket_batched`]) and fails unless the router echoes it.
//! TLS uses rustls with the `ring` provider and the webpki root store unless
//! [`ConnectOptions::tls`] supplies a configuration (for example with a private root).
//! WebSocket limits: messages and frames up to [`ConnectOptions::max_message_size`], an
//! 8 KiB read buffer, a write buffer bounded to 64 KiB plus one message. RawSocket announces
//! the same maximum in its handshake.
//!
//! # Lifetimes and cancellation
//!
//! * A connection carries one session: after it ends (leave, router GOODBYE or ABORT,
//!   transport loss) the task closes the connection; connect again for a new session.
//! * Dropping the last [`Client`] leaves (GOODBYE, then closes when the router answers or
//!   after [`wamp_proto::client::ClientConfig::goodbye_timeout`]). Handles (subscriptions,
//!   registrations, calls) do not keep the session alive: once it ends, their streams end.
//! * Dropping a call's future or [`CallHandle`] before the outcome cancels the call with
//!   [`ConnectOptions::cancel_on_drop`] (when the router announced `call_canceling`; the
//!   outcome is discarded either way). [`CallHandle::cancel`] cancels explicitly with a mode.
//! * Dropping a [`Subscription`] unsubscribes once no other local handle shares its router
//!   subscription; dropping a [`Registration`] or [`HandlerRegistration`] unregisters.
//! * Dropping an [`Invocation`] unanswered answers ERROR `wamp.error.canceled` if it was
//!   interrupted and `wamp.error.runtime_error` otherwise.
//!
//! # Bounded queues: what happens when the application does not keep up
//!
//! The connection task never waits for the application: it would stop reading the socket,
//! and an application that awaits a call result while not reading an event stream would
//! deadlock. Each queue instead has a bound and a policy:
//!
//! | queue | bound | when full |
//! |---|---|---|
//! | commands (all handles → task) | [`ConnectOptions::command_queue`] | the command's `await` waits (back-pressure on the application) |
//! | events of one [`Subscription`] | [`ConnectOptions::event_queue`] | the event is dropped and counted in [`Subscription::missed`] |
//! | invocations of one [`Registration`] | [`ConnectOptions::invocation_queue`] | answered with ERROR `wamp.error.unavailable` (the dealer may pick another callee), counted in [`Registration::missed`] |
//! | progressive results of one call | [`ConnectOptions::progress_queue`] | the call fails with [`Error::Overflow`] and is cancelled as if dropped |
//! | input chunks of one progressive invocation | [`ConnectOptions::progress_queue`] | the invocation is answered ERROR `wamp.error.unavailable` |
//! | requests and invocations in flight | [`wamp_proto::client::ClientConfig`] limits | commands fail with [`Error::Usage`]; surplus invocations are refused by the session |
//!
//! Notes sent by `Drop` implementations use an unbounded channel; each handle sends at most
//! one, so it holds at most one entry per live handle.
//!
//! # Errors
//!
//! Every failure is an [`Error`]: connecting and handshakes, usage errors from the session
//! ([`Error::Usage`]), the router's ERROR answers ([`Error::Wamp`], with the URI and payload),
//! a failed join ([`Error::JoinFailed`] with the ABORT reason), requests lost when the session
//! ends ([`Error::Lost`]), a closed connection ([`Error::Closed`], see [`Client::ended`] for
//! why). An outgoing message that cannot be encoded (larger than the router accepts) ends the
//! connection: the session's state would otherwise disagree with the router's.

mod driver;
mod error;
mod handles;
mod transport;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use error::Error;
pub use handles::{
    CallError, CallHandle, CallUpdate, EndReason, HandlerRegistration, Interrupted, Invocation,
    InvocationChunk, Registration, Responder, Subscription,
};
pub use wamp_proto::Payload;
pub use wamp_proto::auth::cryptosign::{ChannelBinding, CryptosignKey};
pub use wamp_proto::auth::scram::ScramProfile;
pub use wamp_proto::client::{
    AuthChallenge, Authenticator, CallOptions, CallOutput, CancelMode, ChannelBindingData,
    ClientConfig, CloseCause, CloseInfo, EventDelivery, InterruptMode, InvokePolicy, JoinOptions,
    PublishOptions, RegisterOptions, RequestError, SessionDetails, SubscribeOptions, UsageError,
    YieldOptions,
};
pub use wamp_proto::id::{PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
pub use wamp_proto::{Dict, MatchPolicy, Serializer, Uri, Value};

use driver::{Command, Driver, Note, SharedState};
use handles::Ctx;

/// How to connect. Every field documents its default.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The serializer. Default [`Serializer::Json`] (what every router supports).
    pub serializer: Serializer,
    /// WebSocket only: offer the batched subprotocol (`wamp.2.<serializer>.batched`). Each
    /// outgoing message then travels as a batch of one; incoming batches of any length are
    /// taken apart. Default `false`.
    pub websocket_batched: bool,
    /// Largest incoming message in octets (the WebSocket message and frame limit; RawSocket
    /// announces the nearest power of two at most this). Between 512 B and 16 MiB; default
    /// 16 MiB.
    pub max_message_size: usize,
    /// Longest time for TCP, TLS and the transport handshake. `None`: no limit. Default 10 s.
    pub connect_timeout: Option<Duration>,
    /// TLS client configuration for `wss`/`rss`. Default: rustls with the `ring` provider and
    /// the webpki root store.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The TLS server name to verify, when it differs from the URL's host.
    pub tls_server_name: Option<String>,
    /// Settings of the session state machine (timeouts, limits, agent).
    pub session: ClientConfig,
    /// Commands waiting for the connection task. Default 64.
    pub command_queue: usize,
    /// Events waiting in each [`Subscription`]. Default 1024.
    pub event_queue: usize,
    /// Invocations waiting in each [`Registration`]. Default 256.
    pub invocation_queue: usize,
    /// Progressive results waiting in each call, and input chunks in each progressive
    /// invocation. Default 256.
    pub progress_queue: usize,
    /// How a call is cancelled when its handle is dropped early. Default
    /// [`CancelMode::Kill`] (the callee is interrupted; the router waits for its answer).
    pub cancel_on_drop: CancelMode,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            serializer: Serializer::Json,
            websocket_batched: false,
            max_message_size: wamp_proto::link::DEFAULT_MAX_MESSAGE_SIZE,
            connect_timeout: Some(Duration::from_secs(10)),
            tls: None,
            tls_server_name: None,
            session: ClientConfig::default(),
            command_queue: 64,
            event_queue: 1024,
            invocation_queue: 256,
            progress_queue: 256,
            cancel_on_drop: CancelMode::Kill,
        }
    }
}

impl ConnectOptions {
    /// Builder: sets the serializer.
    #[must_use]
    pub fn serializer(mut self, s: Serializer) -> Self {
        self.serializer = s;
        self
    }

    /// Builder: sets the TLS configuration.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }
}

/// How a connection ended.
#[derive(Debug)]
pub struct Ended {
    /// The session's end (`None` if no session was ever joined or the transport closed
    /// before one ended).
    pub close: Option<CloseInfo>,
    /// The transport error that ended the connection, if any.
    pub error: Option<Error>,
}

/// The OS random source for the session (SCRAM nonces, cryptosign challenges).
struct OsEntropy {
    fallback: wamp_proto::SeededEntropy,
}

impl wamp_proto::Entropy for OsEntropy {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // `connect` checked that the OS source works; should it fail later, fall back to
            // a generator seeded from it rather than panic.
            self.fallback.fill_bytes(buf);
        }
    }
}

fn os_entropy() -> Result<OsEntropy, Error> {
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|_| Error::Entropy)?;
    Ok(OsEntropy {
        fallback: wamp_proto::SeededEntropy::new(u64::from_le_bytes(seed)),
    })
}

#[derive(Debug)]
struct Inner {
    ctx: Ctx,
    shared: Arc<SharedState>,
    serializer: Serializer,
    tls_exporter: Option<Vec<u8>>,
    progress_queue: usize,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ctx.note(Note::Leave);
    }
}

/// A connection to a router and its session. Cheap to clone; the connection leaves and
/// closes when the last clone is dropped. See the [module documentation](self).
///
/// A handler that needs the client (to call other procedures, say) should hold a
/// [`WeakClient`] ([`Client::downgrade`]): a `Client` captured by a handler of its own
/// registration keeps the connection open until [`Client::leave`].
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A [`Client`] that does not keep the connection open; see [`Client::downgrade`].
#[derive(Clone, Debug)]
pub struct WeakClient {
    inner: std::sync::Weak<Inner>,
}

impl WeakClient {
    /// The client, unless every [`Client`] clone is gone.
    pub fn upgrade(&self) -> Option<Client> {
        self.inner.upgrade().map(|inner| Client { inner })
    }
}

impl Client {
    /// Connects to `url` (see the [module documentation](self) for the forms) and runs the
    /// transport handshake. The session is joined with [`Client::join`]. Spawns the
    /// connection task on the current tokio runtime.
    pub async fn connect(url: &str, opts: ConnectOptions) -> Result<Client, Error> {
        let endpoint = transport::Endpoint::parse(url)?;
        let entropy = os_entropy()?;
        let transport = match opts.connect_timeout {
            Some(t) => tokio::time::timeout(t, transport::Transport::connect(&endpoint, &opts))
                .await
                .map_err(|_| Error::ConnectTimeout)??,
            None => transport::Transport::connect(&endpoint, &opts).await?,
        };
        let session = wamp_proto::client::Session::new(opts.session.clone(), Box::new(entropy));
        let (cmd_tx, cmd_rx) = mpsc::channel(opts.command_queue.max(1));
        let (note_tx, note_rx) = mpsc::unbounded_channel();
        let ctx = Ctx {
            cmd: cmd_tx,
            notes: note_tx,
        };
        let shared = Arc::new(SharedState {
            details: watch::channel(None).0,
            ended: watch::channel(None).0,
            closing: AtomicBool::new(false),
        });
        let serializer = transport.serializer();
        let tls_exporter = transport.tls_exporter.clone();
        let progress_queue = opts.progress_queue;
        let driver = Driver::new(
            session,
            transport,
            Arc::new(opts),
            ctx.clone(),
            cmd_rx,
            note_rx,
            shared.clone(),
        );
        tokio::spawn(driver.run());
        Ok(Client {
            inner: Arc::new(Inner {
                ctx,
                shared,
                serializer,
                tls_exporter,
                progress_queue,
            }),
        })
    }

    /// Connects and joins in one step.
    pub async fn connect_and_join(
        url: &str,
        opts: ConnectOptions,
        join: JoinOptions,
    ) -> Result<(Client, SessionDetails), Error> {
        let client = Client::connect(url, opts).await?;
        let details = client.join(join).await?;
        Ok((client, details))
    }

    /// A handle that does not keep the connection open.
    pub fn downgrade(&self) -> WeakClient {
        WeakClient {
            inner: Arc::downgrade(&self.inner),
        }
    }

    fn ctx(&self) -> &Ctx {
        &self.inner.ctx
    }

    /// The serializer in use.
    pub fn serializer(&self) -> Serializer {
        self.inner.serializer
    }

    /// The TLS `tls-exporter` channel binding (RFC 9266) of a TLS connection, to put into
    /// [`JoinOptions::channel_binding`] for cryptosign or SCRAM channel binding.
    pub fn tls_channel_binding(&self) -> Option<ChannelBindingData> {
        self.inner
            .tls_exporter
            .as_ref()
            .map(|data| ChannelBindingData {
                kind: ChannelBinding::TlsExporter,
                data: data.clone(),
            })
    }

    /// The session as the router welcomed it (`None` before joining).
    pub fn session_details(&self) -> Option<Arc<SessionDetails>> {
        self.inner.shared.details.borrow().clone()
    }

    /// The session ID (`None` before joining).
    pub fn session_id(&self) -> Option<SessionId> {
        self.session_details().map(|d| d.session)
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.ended.borrow().is_some()
    }

    /// Waits until the connection has ended and tells how.
    pub async fn ended(&self) -> Arc<Ended> {
        let mut rx = self.inner.shared.ended.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => match v.as_ref() {
                Some(e) => e.clone(),
                None => Arc::new(Ended {
                    close: None,
                    error: None,
                }),
            },
            Err(_) => Arc::new(Ended {
                close: None,
                error: None,
            }),
        }
    }

    /// Joins a realm; the session answers CHALLENGEs itself for every built-in
    /// [`Authenticator`]. Fails with [`Error::JoinFailed`] when the router aborts (wrong
    /// credentials, unknown realm), and with [`Error::AuthenticationRefused`] for an
    /// [`Authenticator::External`] challenge (use [`Client::join_with`]).
    pub async fn join(&self, opts: JoinOptions) -> Result<SessionDetails, Error> {
        self.join_with(opts, |_| async { None }).await
    }

    /// Joins a realm, answering CHALLENGEs for [`Authenticator::External`] methods with
    /// `on_challenge`: it returns the signature and `AUTHENTICATE.Extra`, or `None` to give
    /// up (the join is aborted). It runs on the caller's task, so slow work there does not
    /// hold up the connection.
    pub async fn join_with<F, Fut>(
        &self,
        opts: JoinOptions,
        mut on_challenge: F,
    ) -> Result<SessionDetails, Error>
    where
        F: FnMut(AuthChallenge) -> Fut,
        Fut: Future<Output = Option<(String, Dict)>>,
    {
        let (ch_tx, mut ch_rx) = mpsc::channel(4);
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        self.ctx()
            .cmd
            .send(Command::Join {
                opts: Box::new(opts),
                challenges: ch_tx,
                reply: tx,
            })
            .await
            .map_err(|_| Error::Closed)?;
        loop {
            tokio::select! {
                r = &mut rx => return r.map_err(|_| Error::Closed)?,
                Some(c) = ch_rx.recv() => match on_challenge(c).await {
                    Some((signature, extra)) => {
                        self.ctx()
                            .request(|reply| Command::Authenticate { signature, extra, reply })
                            .await?;
                    }
                    None => {
                        let _ = self
                            .ctx()
                            .request(|reply| Command::Leave { reason: Some(Uri::from("wamp.error.cannot_authenticate")), reply })
                            .await;
                        return Err(Error::AuthenticationRefused);
                    }
                },
            }
        }
    }

    /// Leaves the session with `wamp.close.normal` and waits for the router's GOODBYE (or
    /// the goodbye timeout); the connection then closes.
    pub async fn leave(&self) -> Result<CloseInfo, Error> {
        self.leave_with(None).await
    }

    /// Leaves with a reason URI.
    pub async fn leave_with(&self, reason: Option<Uri>) -> Result<CloseInfo, Error> {
        self.ctx()
            .request(|reply| Command::Leave { reason, reply })
            .await
    }

    /// Calls a procedure and waits for its final result (progressive results, if asked for,
    /// are skipped: use [`Client::call_with`] to see them). Dropping the future cancels the
    /// call (see [`ConnectOptions::cancel_on_drop`]).
    pub async fn call(
        &self,
        procedure: impl Into<Uri>,
        payload: Payload,
        opts: CallOptions,
    ) -> Result<CallOutput, Error> {
        self.call_with(procedure, payload, opts)
            .await?
            .result()
            .await
    }

    /// Starts a call and returns its handle: a stream of progressive results ending with the
    /// final one, with explicit cancellation and progressive input.
    pub async fn call_with(
        &self,
        procedure: impl Into<Uri>,
        payload: Payload,
        opts: CallOptions,
    ) -> Result<CallHandle, Error> {
        // Room for the progressive results plus one slot the outcome always finds free.
        let cap = if opts.receive_progress {
            self.inner.progress_queue.max(1).saturating_add(1)
        } else {
            1
        };
        let procedure = procedure.into();
        self.ctx()
            .request(|reply| Command::Call {
                procedure,
                payload,
                opts: Box::new(opts),
                cap,
                reply,
            })
            .await
    }

    /// Publishes an event. With `opts.acknowledge` it waits for the broker and returns the
    /// publication ID; without, it returns `None` once the PUBLISH is queued for sending.
    pub async fn publish(
        &self,
        topic: impl Into<Uri>,
        payload: Payload,
        opts: PublishOptions,
    ) -> Result<Option<PublicationId>, Error> {
        let topic = topic.into();
        self.ctx()
            .request(|reply| Command::Publish {
                topic,
                payload,
                opts: Box::new(opts),
                reply,
            })
            .await
    }

    /// Subscribes to a topic (or pattern) and returns the stream of its events.
    pub async fn subscribe(
        &self,
        topic: impl Into<Uri>,
        opts: SubscribeOptions,
    ) -> Result<Subscription, Error> {
        let topic = topic.into();
        self.ctx()
            .request(|reply| Command::Subscribe {
                topic,
                opts: Box::new(opts),
                reply,
            })
            .await
    }

    /// Registers a procedure and returns the stream of its invocations; answer each one.
    pub async fn register(
        &self,
        procedure: impl Into<Uri>,
        opts: RegisterOptions,
    ) -> Result<Registration, Error> {
        let procedure = procedure.into();
        self.ctx()
            .request(|reply| Command::Register {
                procedure,
                opts: Box::new(opts),
                reply,
            })
            .await
    }

    /// Registers a procedure served by `handler`: each invocation runs in its own task; the
    /// handler's `Ok` payload is the YIELD, its `Err` the ERROR. It can send progressive
    /// results with [`Invocation::progress`] and read progressive input with
    /// [`Invocation::next_chunk`]. An INTERRUPT stops the handler (its future is dropped) and
    /// answers ERROR `wamp.error.canceled`.
    pub async fn register_fn<F, Fut>(
        &self,
        procedure: impl Into<Uri>,
        opts: RegisterOptions,
        handler: F,
    ) -> Result<HandlerRegistration, Error>
    where
        F: Fn(Invocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Payload, CallError>> + Send + 'static,
    {
        let mut reg = self.register(procedure, opts).await?;
        let (id, key, shared) = (reg.id, reg.key, reg.shared.clone());
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            while let Some(inv) = reg.next().await {
                let responder = inv.responder();
                let fut = handler(inv);
                tokio::spawn(async move {
                    tokio::select! {
                        r = fut => {
                            let _ = match r {
                                Ok(payload) => responder.yield_(payload).await,
                                Err(e) => responder.error(e.error, e.details, e.payload).await,
                            };
                        }
                        i = responder.interrupted() => {
                            if matches!(i, Interrupted::Interrupt { .. }) {
                                let _ = responder
                                    .error(Uri::from("wamp.error.canceled"), Dict::new(), Payload::empty())
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        Ok(HandlerRegistration {
            id,
            key,
            ctx: self.ctx().clone(),
            task,
            shared,
        })
    }
}
