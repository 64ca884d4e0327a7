//! The WAMP router server: listeners (TCP or Unix, optionally TLS) serving WebSocket and
//! RawSocket on one port, one task per connection, and one router task that owns
//! [`wamp_router_core::Router`].
//!
//! How it is wired (see also `DESIGN.md`, "How an adapter drives the router"):
//!
//! * A listener task accepts sockets and spawns one task per connection. That task does the
//!   TLS handshake if configured, reads the first octet (`0x7F` is RawSocket, anything else
//!   an HTTP upgrade to WebSocket), does the transport handshake within
//!   [`ConnectionConfig::handshake_timeout`], then registers with the router task.
//! * Incoming messages go to the router task through one **bounded** channel
//!   ([`ServerConfig::router_queue`]): a connection reads its socket only as fast as the
//!   router takes its messages.
//! * The router task reads the clock once per turn, applies the inputs, drains the router's
//!   actions and `try_send`s each message to its connection's **bounded** queue
//!   ([`ConnectionConfig::outgoing_queue`]). A full queue means a slow consumer: it is
//!   disconnected, logged and counted ([`ServerStats::slow_consumers`]).
//! * The router task runs on a thread of its own with a single-threaded runtime: a dedicated
//!   thread keeps the routing state hot in one core's cache, and routing never waits behind
//!   connection IO. (The core is `Send`; on the shared runtime instead, one run measured 25 %
//!   more calls/s and 19 % fewer events/s: no clear win.)
//! * A connection task either reads or writes: while a write to a peer that does not read is
//!   blocked, that peer's input is not read either (backpressure). Such a peer is
//!   disconnected when its queue overflows or when one write outlasts
//!   [`ConnectionConfig::write_timeout`].
//! * Timeouts: the opening handshake ([`ConnectionConfig::handshake_timeout`]), HELLO (the
//!   router core's `hello_timeout`), idleness ([`ConnectionConfig::idle_timeout`]) with
//!   keepalive pings ([`ConnectionConfig::ping_interval`]), and single writes.
//! * Dynamic authentication and authorization: the router core's questions go to the
//!   [`Decider`] of [`ServerConfig::decider`], run as tasks on the server's runtime, never on
//!   the router's thread; see [`decider`] for bounds, deadlines, panics and the no-decider
//!   case.
//! * The router task gives the core the wall clock at start and every five minutes (WAMP-CRA
//!   challenge timestamps, `created` in the meta API), and every connection's transport
//!   details and TLS channel binding before its first message (Crossbar's keys: `type`,
//!   `protocol`, `peer`, `is_secure`, `http_headers_received`, ...; `tls-exporter` binding).
//! * Connection tasks encode their own messages (in parallel on the runtime's threads); an
//!   event fanned out to many connections is encoded at most once per serializer (the queue
//!   item carries the message and one lazily filled buffer per serializer). Queued messages
//!   are written together: many messages per syscall.
//!
//! ```no_run
//! use wamp_tokio::server::{Server, ServerConfig};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::bind(ServerConfig::default()).await?; // realm1 on 127.0.0.1:8080
//! let handle = server.handle();
//! tokio::spawn(async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     handle.shutdown(); // GOODBYE wamp.close.system_shutdown to every session
//! });
//! server.run().await
//! # }
//! ```

mod conn;
pub mod decider;
mod io;
mod queue;
mod router_task;
mod trim;

pub use decider::{Decider, DeciderFn, DecisionFuture, decider_fn};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, oneshot, watch};
use wamp_proto::Serializer;
use wamp_proto::id::SeededEntropy;
use wamp_router_core::{AuthMethod, Router, RouterConfig, RouterStats};

use router_task::Input;

/// Where a listener listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address (port 0: the system picks one, see [`Server::local_endpoints`]).
    Tcp(SocketAddr),
    /// A Unix domain socket path. A stale socket file left by an earlier run is replaced.
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// One listening socket and what it serves.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// Where to listen.
    pub endpoint: Endpoint,
    /// Serve WebSocket (HTTP upgrade). Default: `true`.
    pub websocket: bool,
    /// Serve RawSocket (first octet `0x7F`). Default: `true`.
    pub rawsocket: bool,
    /// The serializers offered, on both transports. Default: all four.
    pub serializers: Vec<Serializer>,
    /// Whether the batched WebSocket subprotocols (`wamp.2.<serializer>.batched`) are
    /// offered too. Default: `true`.
    pub batched: bool,
    /// HTTP paths at which WebSocket upgrades are accepted; others get 404. Empty: any
    /// path. Default: `/ws` and `/`.
    pub websocket_paths: Vec<String>,
    /// TLS for every connection of this listener (rustls, `ring` provider). Default: none.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The authentication methods sessions on this listener's connections may use, out of
    /// their realm's (Crossbar configures authentication per transport: e.g. ticket only on
    /// the TLS listener); handed to the router core as
    /// [`wamp_router_core::TransportInfo::auth_methods`]. A client offering none of them gets
    /// ABORT `wamp.error.no_auth_method`. `None` (default): every method of the realm.
    pub auth_methods: Option<Vec<AuthMethod>>,
}

impl ListenerConfig {
    /// A listener on `endpoint` with the defaults above.
    pub fn new(endpoint: Endpoint) -> Self {
        ListenerConfig {
            endpoint,
            websocket: true,
            rawsocket: true,
            serializers: Serializer::ALL.to_vec(),
            batched: true,
            websocket_paths: vec!["/ws".to_owned(), "/".to_owned()],
            tls: None,
            auth_methods: None,
        }
    }
}

/// Per-connection limits and timeouts, each with its default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// Largest incoming WAMP message in octets (the WebSocket message and frame limits, the
    /// RawSocket maximum announced in the handshake, rounded down to a power of two, at least
    /// 512). Default: the router's `max_message_size` (16 MiB).
    pub max_message_size: usize,
    /// Most messages queued for one connection and not yet written. A connection whose
    /// queue is full is a slow consumer and is disconnected. Default: 1024.
    pub outgoing_queue: usize,
    /// tungstenite's read buffer, allocated for every WebSocket connection for its lifetime,
    /// and the most one read takes from the socket (it grows while a larger message
    /// arrives). Smaller saves memory per idle connection, larger saves system calls under
    /// load (4 KiB: about 10 % less router CPU per call than 1 KiB, 3 KiB more per
    /// connection). Default: 1 KiB.
    pub websocket_read_buffer: usize,
    /// tungstenite's write buffer, which only carries the control frames tungstenite writes
    /// itself (pongs, the closing handshake): the server writes its data frames straight to
    /// the socket, many per system call, from a buffer that lives for one burst. Default:
    /// 16 KiB.
    pub websocket_write_buffer: usize,
    /// Keep the WebSocket opening request's HTTP headers in the transport details
    /// (`http_headers_received`, bounded: 64 names, 1 KiB per value, 8 KiB in all), for
    /// dynamic authenticators (`cookie`, `authorization`) and the session meta API, as
    /// Crossbar does. They then stay in memory for the session's lifetime (typically 0.5 to
    /// 2 KiB per browser session), and any session allowed to call `wamp.session.get` sees
    /// them. Default: `false`.
    pub http_headers: bool,
    /// Time for the TLS, WebSocket or RawSocket opening handshake. Default: 10 s.
    pub handshake_timeout: Duration,
    /// Close a connection that sent nothing (not even a PONG) for this long. `None`: never.
    /// Default: 300 s.
    pub idle_timeout: Option<Duration>,
    /// Send a PING (WebSocket ping frame, RawSocket PING) after this long without incoming
    /// traffic; with `idle_timeout` this detects dead peers. `None`: no keepalive. Default:
    /// 30 s.
    pub ping_interval: Option<Duration>,
    /// Close a connection when one write to it takes longer than this (a peer that does not
    /// read). Default: 30 s.
    pub write_timeout: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            max_message_size: RouterConfig::default().max_message_size,
            outgoing_queue: 1024,
            websocket_read_buffer: 1024,
            websocket_write_buffer: 16 * 1024,
            http_headers: false,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(300)),
            ping_interval: Some(Duration::from_secs(30)),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything a [`Server`] is built from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The router core's configuration (realms, limits, HELLO timeout, disclosure).
    pub router: RouterConfig,
    /// The listeners. Default: one on `127.0.0.1:8080` with every transport and serializer.
    pub listeners: Vec<ListenerConfig>,
    /// Per-connection limits and timeouts.
    pub connection: ConnectionConfig,
    /// Capacity of the channel from all connections to the router task, in items (an item
    /// is every message of one read). Default: 1024.
    pub router_queue: usize,
    /// Seed of a deterministic (not cryptographically secure) random source for the router,
    /// for tests and reproducible runs only. `None` (default): the operating system's CSPRNG.
    pub seed: Option<u64>,
    /// How long shutdown waits for connections to flush their GOODBYE and close. Default:
    /// 5 s.
    pub shutdown_grace: Duration,
    /// Give freed memory back to the system once many connections have closed (glibc's
    /// `malloc_trim`, called off the worker threads when the open-connection count has
    /// fallen by at least 64 and an eighth of its peak and settled; nothing on other
    /// platforms). Default: `true`.
    pub release_memory: bool,
    /// Answers dynamic authentication and authorization questions, off the routing task
    /// (see [`decider`]). Default: none (such questions are denied).
    pub decider: Option<Arc<dyn Decider>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            router: RouterConfig::with_realm("realm1"),
            listeners: vec![ListenerConfig::new(Endpoint::Tcp(SocketAddr::from((
                [127, 0, 0, 1],
                8080,
            ))))],
            connection: ConnectionConfig::default(),
            router_queue: 1024,
            seed: None,
            shutdown_grace: Duration::from_secs(5),
            decider: None,
            release_memory: true,
        }
    }
}

/// Counters of the server (monotonic unless said otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Sockets accepted.
    pub accepted: u64,
    /// Connection tasks alive now (gauge), handshaking or established.
    pub open_connections: u64,
    /// Connections registered with the router now (gauge).
    pub established: u64,
    /// Handshakes that failed (TLS, HTTP upgrade, RawSocket, refused subprotocol).
    pub handshake_failures: u64,
    /// Handshakes that timed out.
    pub handshake_timeouts: u64,
    /// Connections refused because the router's connection limit was reached.
    pub refused: u64,
    /// Connections disconnected because their outgoing queue was full.
    pub slow_consumers: u64,
    /// Connections closed because a write took longer than the write timeout.
    pub write_timeouts: u64,
    /// Connections closed for idleness.
    pub idle_timeouts: u64,
    /// Connections closed because a message for them could not be encoded (too large for
    /// the peer, or not representable in its serializer).
    pub encode_failures: u64,
    /// Connections closed for a transport framing error.
    pub framing_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    accepted: AtomicU64,
    open_connections: AtomicU64,
    established: AtomicU64,
    handshake_failures: AtomicU64,
    handshake_timeouts: AtomicU64,
    refused: AtomicU64,
    slow_consumers: AtomicU64,
    write_timeouts: AtomicU64,
    idle_timeouts: AtomicU64,
    encode_failures: AtomicU64,
    framing_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn drop_one(c: &AtomicU64) {
    c.fetch_sub(1, Ordering::Relaxed);
}

impl Metrics {
    fn snapshot(&self) -> ServerStats {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            accepted: l(&self.accepted),
            open_connections: l(&self.open_connections),
            established: l(&self.established),
            handshake_failures: l(&self.handshake_failures),
            handshake_timeouts: l(&self.handshake_timeouts),
            refused: l(&self.refused),
            slow_consumers: l(&self.slow_consumers),
            write_timeouts: l(&self.write_timeouts),
            idle_timeouts: l(&self.idle_timeouts),
            encode_failures: l(&self.encode_failures),
            framing_errors: l(&self.framing_errors),
        }
    }
}

/// A cheap, cloneable handle to a running server: statistics and shutdown.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    metrics: Arc<Metrics>,
    router_tx: mpsc::Sender<Input>,
    stop: Arc<watch::Sender<bool>>,
}

impl ServerHandle {
    /// Starts a graceful shutdown: listeners stop accepting, every session gets GOODBYE
    /// `wamp.close.system_shutdown`, connections close; [`Server::run`] then returns.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// The server's counters.
    pub fn stats(&self) -> ServerStats {
        self.metrics.snapshot()
    }

    /// The router core's counts (sessions, subscriptions, pending calls, ...), or `None`
    /// once the router task has ended.
    pub async fn router_stats(&self) -> Option<RouterStats> {
        let (tx, rx) = oneshot::channel();
        self.router_tx.send(Input::Stats(tx)).await.ok()?;
        rx.await.ok()
    }
}

enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// A bound, not yet running router server. See the [module docs](self).
pub struct Server {
    config: ServerConfig,
    bound: Vec<(Bound, Arc<ListenerConfig>)>,
    endpoints: Vec<Endpoint>,
    handle: ServerHandle,
    router_rx: mpsc::Receiver<Input>,
    stop_rx: watch::Receiver<bool>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std's RandomState is seeded from the operating system's randomness.
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u64(0x5741_4d50);
    h.finish()
}

/// The router's random source in production: the operating system's CSPRNG (session and
/// publication IDs, cryptosign challenges, WAMP-CRA challenges, SCRAM nonces and salts must not
/// be predictable from IDs a peer has seen). Should the OS source ever fail, it falls back to a
/// generator seeded from the OS at start rather than stopping the router.
struct OsEntropy {
    fallback: SeededEntropy,
}

impl OsEntropy {
    fn new() -> Self {
        OsEntropy {
            fallback: SeededEntropy::new(os_seed()),
        }
    }
}

impl wamp_proto::Entropy for OsEntropy {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            tracing::error!("the OS random source failed; using the fallback generator");
            self.fallback.fill_bytes(buf);
        }
    }
}

impl Server {
    /// Binds every listener of `config` (fails on the first that cannot be bound).
    pub async fn bind(config: ServerConfig) -> std::io::Result<Server> {
        let mut bound = Vec::new();
        let mut endpoints = Vec::new();
        for l in &config.listeners {
            match &l.endpoint {
                Endpoint::Tcp(addr) => {
                    let listener = TcpListener::bind(addr).await?;
                    endpoints.push(Endpoint::Tcp(listener.local_addr()?));
                    bound.push((Bound::Tcp(listener), Arc::new(l.clone())));
                }
                Endpoint::Unix(path) => {
                    if let Ok(meta) = std::fs::symlink_metadata(path) {
                        use std::os::unix::fs::FileTypeExt;
                        if meta.file_type().is_socket() {
                            std::fs::remove_file(path)?;
                        }
                    }
                    let listener = UnixListener::bind(path)?;
                    endpoints.push(Endpoint::Unix(path.clone()));
                    bound.push((Bound::Unix(listener, path.clone()), Arc::new(l.clone())));
                }
            }
        }
        let (router_tx, router_rx) = mpsc::channel(config.router_queue.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let handle = ServerHandle {
            metrics: Arc::new(Metrics::default()),
            router_tx,
            stop: Arc::new(stop),
        };
        Ok(Server {
            config,
            bound,
            endpoints,
            handle,
            router_rx,
            stop_rx,
        })
    }

    /// The bound endpoints, in listener order (TCP port 0 replaced by the real port).
    pub fn local_endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// A handle for statistics and shutdown.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Serves until [`ServerHandle::shutdown`], then says GOODBYE to every session, waits up
    /// to [`ServerConfig::shutdown_grace`] for the connections to close, and returns.
    pub async fn run(self) -> std::io::Result<()> {
        let Server {
            config,
            bound,
            endpoints: _,
            handle,
            router_rx,
            mut stop_rx,
        } = self;
        let seed = config.seed;
        let conn_cfg = Arc::new(config.connection.clone());
        // Every connection task holds a clone; `recv` returns `None` once all are gone.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        // The router lives on a thread of its own, with a single-threaded runtime for its
        // channel and timers (see the module docs).
        let (router_done_tx, router_done) = oneshot::channel::<()>();
        let router_config = config.router.clone();
        let metrics = handle.metrics.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Decider futures run on the server's runtime, not on the router's thread.
        let deciding = router_task::Deciding {
            decider: config.decider.clone(),
            runtime: tokio::runtime::Handle::current(),
            tx: handle.router_tx.downgrade(),
            max_in_flight: config.router.max_pending_decisions,
            timeout: config.router.decision_timeout,
        };
        std::thread::Builder::new()
            .name("wamp-router".to_owned())
            .spawn(move || {
                let entropy: Box<dyn wamp_proto::Entropy + Send> = match seed {
                    Some(seed) => Box::new(SeededEntropy::new(seed)),
                    None => Box::new(OsEntropy::new()),
                };
                let router = Router::new(router_config, entropy);
                rt.block_on(router_task::run(router, router_rx, metrics, deciding));
                let _ = router_done_tx.send(());
            })?;
        let mut accept_tasks = Vec::new();
        for (b, lcfg) in bound {
            let shared = Arc::new(conn::Shared::new(
                lcfg,
                conn_cfg.clone(),
                handle.router_tx.clone(),
                handle.metrics.clone(),
                alive_tx.clone(),
            ));
            let stop = stop_rx.clone();
            accept_tasks.push(tokio::spawn(accept_loop(b, shared, stop)));
        }
        drop(alive_tx);
        let trimmer = config
            .release_memory
            .then(|| tokio::spawn(trim::watch(handle.metrics.clone())));
        // Wait for the stop signal.
        while !*stop_rx.borrow_and_update() {
            if stop_rx.changed().await.is_err() {
                break;
            }
        }
        tracing::info!("shutting down");
        // The accept loops see the stop signal too, close their listeners (removing Unix
        // socket files) and end.
        for t in accept_tasks {
            let _ = t.await;
        }
        let _ = handle.router_tx.send(Input::Shutdown).await;
        let drained = tokio::time::timeout(config.shutdown_grace, alive_rx.recv()).await;
        if drained.is_err() {
            tracing::warn!(
                open = handle.metrics.open_connections.load(Ordering::Relaxed),
                "shutdown grace period over with connections still open"
            );
        }
        let _ = handle.router_tx.send(Input::Stop).await;
        let _ = router_done.await;
        if let Some(t) = trimmer {
            t.abort();
        }
        Ok(())
    }
}

async fn accept_loop(b: Bound, shared: Arc<conn::Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let accepted = tokio::select! {
            r = accept(&b) => r,
            r = stop.changed() => {
                if r.is_err() {
                    break;
                }
                continue;
            }
        };
        match accepted {
            Ok(Accepted::Tcp(s, peer)) => {
                let _ = s.set_nodelay(true);
                conn::spawn(s, conn::tcp_peer(peer), shared.clone());
            }
            Ok(Accepted::Unix(s)) => conn::spawn(s, "unix".to_owned(), shared.clone()),
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    if let Bound::Unix(listener, path) = b {
        drop(listener);
        let _ = std::fs::remove_file(path);
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    Unix(tokio::net::UnixStream),
}

async fn accept(b: &Bound) -> std::io::Result<Accepted> {
    match b {
        Bound::Tcp(l) => l.accept().await.map(|(s, a)| Accepted::Tcp(s, a)),
        Bound::Unix(l, _) => l.accept().await.map(|(s, _)| Accepted::Unix(s)),
    }
}
