//! One task per connection: TLS, transport handshake, then the read/write loop between the
//! socket and the router task. No protocol logic here: bytes go through a [`Link`], messages
//! to the router task, the router's messages back through the link.
//!
//! # What the router learns about a transport
//!
//! When a connection registers with the router task (before its first message) it hands over
//! a [`TransportInfo`]: the TLS channel binding and the `details` the session meta API shows
//! as `transport` (and dynamic authenticators get in `AuthRequest::transport`). The details
//! follow Crossbar: its older keys `type` (`websocket` or `rawsocket`), `protocol` (the
//! WebSocket subprotocol, or the RawSocket serializer: `json`, `msgpack`, `cbor`, `ubjson`)
//! and `peer` (`tcp4:127.0.0.1:54321`, `tcp6:::1:54321`, `unix` for a Unix socket, whose
//! client end has no name), and the keys of Autobahn's `TransportDetails`: `channel_type`
//! (`tls` over TLS, else `tcp`, as Crossbar reports Unix sockets too), `channel_framing`,
//! `channel_serializer`, `is_server` (`true`), `is_secure` (TLS), `channel_id` (TLS:
//! `{"tls-exporter": <32 bytes>}`), and for WebSocket `websocket_protocol` and
//! `http_headers_received` (only with [`super::ConnectionConfig::http_headers`]; lower-case
//! names; repeated headers joined with `, `; at most [`MAX_HEADERS`] names, values cut at
//! [`MAX_HEADER_VALUE`] octets, [`MAX_HEADERS_TOTAL`] octets in all; values that are not
//! visible ASCII are left out). The headers include
//! `cookie` and `authorization` when the client sent them, as Crossbar's do (dynamic
//! authenticators use them): restrict `wamp.session.get` and `wamp.session.on_join` to
//! trusted roles. Crossbar's `own`, `peer_cert`, `http_headers_sent` and `http_cbtid` are
//! not given.
//!
//! # TLS channel binding
//!
//! The router offers `tls-exporter` (RFC 9266): 32 octets of keying material exported with
//! the label `EXPORTER-Channel-Binding` and no context, what our async client computes
//! (`Client::tls_channel_binding`). It is offered on TLS 1.3, and on TLS 1.2 only when the
//! listener's rustls configuration sets `require_ems` (RFC 9266 forbids the exporter without
//! the extended master secret, and rustls does not tell whether a TLS 1.2 session used it).
//! `tls-unique` (RFC 5929, the first Finished message, what Autobahn and Crossbar use) is
//! not offered: rustls does not expose the Finished message, and `tls-unique` is undefined
//! for TLS 1.3. A client asking for a binding the router does not offer fails
//! authentication, as with Crossbar.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use wamp_proto::auth::cryptosign::ChannelBinding;
use wamp_proto::link::{Incoming, Link, LinkConfig, LinkError};
use wamp_proto::rawsocket::{
    self, FrameKind, HandshakeErrorCode, MaxLength, ServerHandshake, encode_frame,
};
use wamp_proto::websocket::{self as ws, FrameType, Subprotocol};
use wamp_proto::{DecodeError, Dict, Message, Serializer, Value};
use wamp_router_core::{AuthMethod, CloseReason, ConnId, TransportInfo};

use super::io::Prefixed;
use super::queue;
use super::router_task::{Input, Out};
use super::{ConnectionConfig, ListenerConfig, Metrics, bump, drop_one};

/// Octets one read may take from the socket (RawSocket). The buffer is per thread, not per
/// connection: an idle connection holds none.
const READ_CHUNK: usize = 64 * 1024;

/// Most octets written in one burst before the queue is looked at again.
const WRITE_BURST: usize = 256 * 1024;

/// How long to wait for the peer's side of a WebSocket closing handshake.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Most header names kept in `http_headers_received`.
const MAX_HEADERS: usize = 64;

/// Longest header value kept in `http_headers_received` (longer ones are cut).
const MAX_HEADER_VALUE: usize = 1024;

/// Most octets of names and values in `http_headers_received`.
const MAX_HEADERS_TOTAL: usize = 8 * 1024;

/// The RFC 9266 exporter label of `tls-exporter` channel binding.
const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// What every connection of one listener shares.
pub(crate) struct Shared {
    listener: Arc<ListenerConfig>,
    cfg: Arc<ConnectionConfig>,
    router_tx: mpsc::Sender<Input>,
    metrics: Arc<Metrics>,
    subprotocols: Vec<Subprotocol>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    ws_config: WebSocketConfig,
    /// [`common_details`] per kind of connection: RawSocket (`None`) or WebSocket
    /// subprotocol, and serializer.
    details: Vec<(Option<Subprotocol>, Serializer, Arc<Dict>)>,
    /// The listener's authentication methods, shared by its connections.
    auth_methods: Option<Arc<[AuthMethod]>>,
    _alive: mpsc::Sender<()>,
}

impl Shared {
    pub(crate) fn new(
        listener: Arc<ListenerConfig>,
        cfg: Arc<ConnectionConfig>,
        router_tx: mpsc::Sender<Input>,
        metrics: Arc<Metrics>,
        alive: mpsc::Sender<()>,
    ) -> Self {
        let mut subprotocols = Vec::new();
        for s in &listener.serializers {
            subprotocols.push(Subprotocol::new(*s, false));
        }
        if listener.batched {
            for s in &listener.serializers {
                subprotocols.push(Subprotocol::new(*s, true));
            }
        }
        let max = cfg.max_message_size.max(512);
        let write_buf = cfg.websocket_write_buffer;
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(cfg.websocket_read_buffer.max(256))
            .write_buffer_size(write_buf)
            .max_write_buffer_size(write_buf.saturating_add(max).saturating_add(64 * 1024))
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        let tls = listener.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let secure = tls.is_some();
        let details = listener
            .serializers
            .iter()
            .map(|s| (None, *s))
            .chain(subprotocols.iter().map(|p| (Some(*p), p.serializer)))
            .map(|(p, s)| (p, s, Arc::new(common_details(secure, p, s))))
            .collect();
        let auth_methods = listener.auth_methods.as_deref().map(Arc::from);
        Shared {
            listener,
            cfg,
            router_tx,
            metrics,
            subprotocols,
            tls,
            ws_config,
            details,
            auth_methods,
            _alive: alive,
        }
    }

    /// The details shared by connections speaking `websocket` (or RawSocket) with
    /// `serializer`.
    fn details_of(
        &self,
        websocket: Option<Subprotocol>,
        serializer: Serializer,
    ) -> Option<Arc<Dict>> {
        self.details
            .iter()
            .find(|(p, s, _)| *p == websocket && *s == serializer)
            .map(|(_, _, d)| d.clone())
    }
}

/// Decrements the open-connection gauge when the task ends, however it ends.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        drop_one(&self.0.metrics.open_connections);
    }
}

/// A TCP peer in Crossbar's form: `tcp4:127.0.0.1:54321`, `tcp6:::1:54321`.
pub(crate) fn tcp_peer(addr: std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(a) => format!("tcp4:{}:{}", a.ip(), a.port()),
        std::net::SocketAddr::V6(a) => format!("tcp6:{}:{}", a.ip(), a.port()),
    }
}

/// What the layers under the WAMP transport know about a connection.
struct Origin {
    /// The peer, in Crossbar's form (see [`tcp_peer`]; `unix` for a Unix socket).
    peer: String,
    /// Whether the connection runs over TLS.
    secure: bool,
    /// The `tls-exporter` channel binding, when it can be offered (see the module docs).
    exporter: Option<[u8; 32]>,
}

impl Origin {
    /// The router's view of this transport (see the module docs): what is this connection's
    /// own, plus the details and methods it shares with every connection of its kind.
    fn transport_info(
        &self,
        shared: &Shared,
        serializer: Serializer,
        websocket: Option<(Subprotocol, Dict)>,
    ) -> Box<TransportInfo> {
        let (kind, headers) = match websocket {
            Some((p, headers)) => (Some(p), headers),
            None => (None, Dict::new()),
        };
        let own = 1 + usize::from(self.exporter.is_some()) + usize::from(!headers.is_empty());
        let mut d = Dict::with_capacity(own);
        d.insert("peer", self.peer.as_str());
        if let Some(x) = &self.exporter {
            d.insert("channel_id", Dict::new().with("tls-exporter", &x[..]));
        }
        if !headers.is_empty() {
            d.insert("http_headers_received", headers);
        }
        Box::new(TransportInfo {
            channel_binding: self
                .exporter
                .map(|x| (ChannelBinding::TlsExporter, x.to_vec())),
            details: d,
            shared_details: shared.details_of(kind, serializer),
            auth_methods: shared.auth_methods.clone(),
        })
    }
}

/// The transport details every connection of one kind (transport, subprotocol or
/// serializer) on one listener has in common.
fn common_details(secure: bool, websocket: Option<Subprotocol>, serializer: Serializer) -> Dict {
    let framing = if websocket.is_some() {
        "websocket"
    } else {
        "rawsocket"
    };
    let protocol = websocket.map_or(serializer.name(), |p| p.name());
    let mut d = Dict::with_capacity(8);
    d.insert("type", framing);
    d.insert("protocol", protocol);
    d.insert("is_secure", secure);
    d.insert("channel_type", if secure { "tls" } else { "tcp" });
    d.insert("channel_framing", framing);
    d.insert("channel_serializer", serializer.name());
    d.insert("is_server", true);
    if let Some(p) = websocket {
        d.insert("websocket_protocol", p.name());
    }
    d
}

/// The `tls-exporter` channel binding of a finished TLS handshake, where RFC 9266 allows it:
/// TLS 1.3, or TLS 1.2 with the extended master secret (known only when the configuration
/// requires it).
fn tls_exporter(conn: &rustls::ServerConnection, ems_required: bool) -> Option<[u8; 32]> {
    let allowed = match conn.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_3 => true,
        rustls::ProtocolVersion::TLSv1_2 => ems_required,
        _ => false,
    };
    if !allowed {
        return None;
    }
    conn.export_keying_material([0u8; 32], TLS_EXPORTER_LABEL, None)
        .ok()
}

/// The request headers for `http_headers_received`, bounded (see the module docs).
fn received_headers(req: &Request) -> Dict {
    let mut d = Dict::new();
    let mut total = 0usize;
    for (name, value) in req.headers() {
        // Visible ASCII only, so any cut below falls on a character boundary.
        let Ok(v) = value.to_str() else { continue };
        let v = v.get(..MAX_HEADER_VALUE).unwrap_or(v);
        let key = name.as_str();
        let cost = key.len() + v.len() + 2;
        if total + cost > MAX_HEADERS_TOTAL {
            continue;
        }
        let full = d.len() >= MAX_HEADERS;
        match d.get_mut(key) {
            Some(Value::Str(joined)) => {
                joined.push_str(", ");
                joined.push_str(v);
            }
            Some(_) => continue,
            None if full => continue,
            None => {
                d.insert(key, v);
            }
        }
        total += cost;
    }
    d
}

/// Spawns the task serving one accepted socket; `peer` is in Crossbar's form (see
/// [`tcp_peer`]).
pub(crate) fn spawn<S>(stream: S, peer: String, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    bump(&shared.metrics.accepted);
    bump(&shared.metrics.open_connections);
    tokio::spawn(async move {
        let guard = OpenGuard(shared);
        let shared = &*guard.0;
        let deadline = Instant::now() + shared.cfg.handshake_timeout;
        let origin = Origin {
            peer,
            secure: false,
            exporter: None,
        };
        // Each path's state lives in a box of its own, so that a connection pays only for
        // its own transport (a task's size is that of its largest state).
        match &shared.tls {
            Some(acceptor) => {
                Box::pin(serve_tls(stream, acceptor, origin, deadline, shared)).await;
            }
            None => serve(stream, &origin, deadline, shared).await,
        }
    });
}

async fn serve_tls<S>(
    stream: S,
    acceptor: &tokio_rustls::TlsAcceptor,
    mut origin: Origin,
    deadline: Instant,
    shared: &Shared,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer = &*origin.peer;
    match timeout_at(deadline, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let ems_required = shared.listener.tls.as_ref().is_some_and(|c| c.require_ems);
            origin.secure = true;
            origin.exporter = tls_exporter(tls.get_ref().1, ems_required);
            serve(tls, &origin, deadline, shared).await;
        }
        Ok(Err(e)) => {
            bump(&shared.metrics.handshake_failures);
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            bump(&shared.metrics.handshake_timeouts);
            tracing::debug!(%peer, "TLS handshake timed out");
        }
    }
}

async fn serve<S>(stream: S, origin: &Origin, deadline: Instant, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer = &*origin.peer;
    // Boxed, like every transient state: a task keeps the size of its largest state for
    // its whole life.
    let first = match Box::pin(timeout_at(deadline, Prefixed::read_first(stream))).await {
        Ok(Ok(Some(f))) => f,
        Ok(Ok(None)) | Ok(Err(_)) => {
            bump(&shared.metrics.handshake_failures);
            tracing::debug!(%peer, "connection closed before the handshake");
            return;
        }
        Err(_) => {
            bump(&shared.metrics.handshake_timeouts);
            tracing::debug!(%peer, "handshake timed out");
            return;
        }
    };
    let (octet, stream) = first;
    if rawsocket::is_rawsocket(octet) {
        if shared.listener.rawsocket {
            // The handshake's state is gone once the session runs (a task keeps the size of
            // its largest state, so each phase gets a box of its own).
            let run = match Box::pin(rawsocket_handshake(stream, origin, deadline, shared)).await {
                Some((s, link, reg)) => Box::pin(run_rawsocket(s, link, reg, shared)),
                None => return,
            };
            run.await;
        } else {
            bump(&shared.metrics.handshake_failures);
            tracing::debug!(%peer, "RawSocket is not enabled on this listener");
        }
    } else if shared.listener.websocket {
        let run = match Box::pin(websocket_handshake(stream, origin, deadline, shared)).await {
            Some((wss, link, reg)) => Box::pin(run_websocket(wss, link, reg, shared)),
            None => return,
        };
        run.await;
    } else {
        bump(&shared.metrics.handshake_failures);
        tracing::debug!(%peer, "not a RawSocket handshake (WebSocket is not enabled)");
    }
}

/// A connection registered with the router task.
struct Registered {
    conn: ConnId,
    out_rx: queue::Receiver<Out>,
    _closed: ClosedGuard,
}

/// Tells the router task the connection is gone, whichever way the task ends.
struct ClosedGuard {
    conn: ConnId,
    router_tx: mpsc::Sender<Input>,
    metrics: Arc<Metrics>,
}

impl Drop for ClosedGuard {
    fn drop(&mut self) {
        drop_one(&self.metrics.established);
        let input = Input::Closed(self.conn);
        match self.router_tx.try_send(input) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(input)) => {
                let tx = self.router_tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(input).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

async fn register(shared: &Shared, transport: Box<TransportInfo>) -> Option<Registered> {
    let (out, out_rx) = queue::channel(shared.cfg.outgoing_queue);
    let (reply, rx) = oneshot::channel();
    shared
        .router_tx
        .send(Input::Open {
            out,
            transport,
            reply,
        })
        .await
        .ok()?;
    let conn = rx.await.ok()??;
    bump(&shared.metrics.established);
    Some(Registered {
        conn,
        out_rx,
        _closed: ClosedGuard {
            conn,
            router_tx: shared.router_tx.clone(),
            metrics: shared.metrics.clone(),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// RawSocket
// ---------------------------------------------------------------------------------------------

async fn rawsocket_handshake<S>(
    mut s: S,
    origin: &Origin,
    deadline: Instant,
    shared: &Shared,
) -> Option<(S, Link, Registered)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer = &*origin.peer;
    let mut request = [0u8; 4];
    match timeout_at(deadline, s.read_exact(&mut request)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => {
            bump(&shared.metrics.handshake_failures);
            return None;
        }
        Err(_) => {
            bump(&shared.metrics.handshake_timeouts);
            return None;
        }
    }
    let hs = ServerHandshake::new(
        &shared.listener.serializers,
        MaxLength::at_most(shared.cfg.max_message_size),
    );
    let (negotiated, reply) = match hs.handle_request(request) {
        Ok(ok) => ok,
        Err(rejection) => {
            bump(&shared.metrics.handshake_failures);
            tracing::debug!(%peer, error = %rejection.error, "RawSocket handshake refused");
            if let Some(reply) = rejection.reply {
                let _ = timeout_at(deadline, write_and_close(&mut s, &reply)).await;
            }
            return None;
        }
    };
    let info = origin.transport_info(shared, negotiated.serializer, None);
    let Some(reg) = register(shared, info).await else {
        bump(&shared.metrics.refused);
        tracing::warn!(%peer, "connection refused: connection limit reached");
        let reply = ServerHandshake::refuse(HandshakeErrorCode::ConnectionLimitReached);
        let _ = timeout_at(deadline, write_and_close(&mut s, &reply)).await;
        return None;
    };
    if !matches!(timeout_at(deadline, s.write_all(&reply)).await, Ok(Ok(()))) {
        return None;
    }
    tracing::debug!(%peer, conn = ?reg.conn, serializer = negotiated.serializer.name(), "RawSocket session transport open");
    let link = Link::new(LinkConfig::rawsocket(negotiated));
    Some((s, link, reg))
}

async fn write_and_close<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) -> std::io::Result<()> {
    s.write_all(bytes).await?;
    s.shutdown().await
}

/// Reads once from `s` into the per-thread buffer and feeds the octets to the link at once
/// (so the buffer never lives across an await). Messages go to `msgs`, a receive error to
/// `err`. `Ok(0)`: end of stream.
fn poll_read_link<S: AsyncRead + Unpin>(
    s: &mut S,
    link: &mut Link,
    cx: &mut Context<'_>,
    msgs: &mut Vec<Message>,
    err: &mut Option<LinkError>,
) -> Poll<std::io::Result<usize>> {
    let mut read_with = |buf: &mut [u8]| {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *s).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {
                let mut input = rb.filled();
                let n = input.len();
                loop {
                    match link.receive_rawsocket(&mut input) {
                        Ok(Some(Incoming::Message(m))) => msgs.push(m),
                        Ok(Some(Incoming::Pong(_))) => {}
                        Ok(None) => break,
                        Err(e) => {
                            *err = Some(e);
                            break;
                        }
                    }
                }
                Poll::Ready(Ok(n))
            }
        }
    };
    READ_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => read_with(&mut buf[..]),
        // Not reentrant in practice; a private buffer keeps it correct anyway.
        Err(_) => read_with(&mut vec![0; READ_CHUNK][..]),
    })
}

/// Liveness bookkeeping shared by both transports: idle timeout and keepalive pings.
struct Liveness {
    idle: Option<Duration>,
    ping: Option<Duration>,
    last_rx: Instant,
    pinged: bool,
}

enum Tick {
    Nothing,
    Ping,
    Idle,
}

impl Liveness {
    fn new(cfg: &ConnectionConfig) -> Self {
        Liveness {
            idle: cfg.idle_timeout,
            ping: cfg.ping_interval,
            last_rx: Instant::now(),
            pinged: false,
        }
    }

    fn received(&mut self) {
        self.last_rx = Instant::now();
        self.pinged = false;
    }

    fn deadline(&self) -> Instant {
        let far = self.last_rx + Duration::from_secs(86_400 * 365);
        let idle = self.idle.map_or(far, |d| self.last_rx + d);
        let ping = match self.ping {
            Some(d) if !self.pinged => self.last_rx + d,
            _ => far,
        };
        idle.min(ping)
    }

    fn tick(&mut self) -> Tick {
        let now = Instant::now();
        if self.idle.is_some_and(|d| now >= self.last_rx + d) {
            return Tick::Idle;
        }
        if !self.pinged && self.ping.is_some_and(|d| now >= self.last_rx + d) {
            self.pinged = true;
            return Tick::Ping;
        }
        Tick::Nothing
    }
}

/// What a write burst ended with.
enum Burst {
    /// Keep going.
    Continue,
    /// Close the connection (after what was written), for this reason.
    Close(CloseReason),
    /// A message could not be encoded: close as an internal error.
    EncodeFailed,
}

/// Appends `item` framed for `link` to `buf` (RawSocket frame or batch element).
fn frame_item(link: &Link, item: Out, buf: &mut Vec<u8>) -> Burst {
    let r = match item {
        Out::Msg(m) => link.encode(&m, buf),
        Out::Shared(sm) => match sm.encoded(link.serializer()) {
            Some(b) => link.write_encoded(b, buf),
            None => return Burst::EncodeFailed,
        },
        Out::Close(reason) => return Burst::Close(reason),
    };
    match r {
        Ok(()) => Burst::Continue,
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode a message for a connection");
            Burst::EncodeFailed
        }
    }
}

/// Collects `first` and whatever else is queued (up to [`WRITE_BURST`] octets) into `buf`.
fn collect_burst(link: &Link, first: Out, rx: &queue::Receiver<Out>, buf: &mut Vec<u8>) -> Burst {
    let mut item = first;
    loop {
        match frame_item(link, item, buf) {
            Burst::Continue => {}
            other => return other,
        }
        if buf.len() >= WRITE_BURST {
            return Burst::Continue;
        }
        match rx.try_recv() {
            Some(next) => item = next,
            None => return Burst::Continue,
        }
    }
}

/// How a connection loop ended.
enum End {
    /// Peer closed, or an IO error.
    Gone,
    /// The router killed it (slow consumer): drop at once.
    Killed,
    /// Close with this reason (after flushing).
    Close(CloseReason),
    /// Close after a transport error of ours or the peer's.
    Abort(ws::CloseReason),
}

async fn run_rawsocket<S>(mut s: S, mut link: Link, reg: Registered, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let cfg = &*shared.cfg;
    let conn = reg.conn;
    let mut pending: VecDeque<Input> = VecDeque::new();
    let mut reading = true;
    let mut live = Liveness::new(cfg);
    let mut timer = pin!(sleep_until(live.deadline()));
    let mut wbuf: Vec<u8> = Vec::new();
    let end = loop {
        let mut msgs = Vec::new();
        let mut err = None;
        tokio::select! {
            biased;
            () = reg.out_rx.killed() => break End::Killed,
            item = reg.out_rx.recv() => {
                let Some(first) = item else { break End::Gone };
                wbuf.reserve(4096);
                let burst = collect_burst(&link, first, &reg.out_rx, &mut wbuf);
                if !wbuf.is_empty() {
                    match Box::pin(write_guarded(&mut s, &wbuf, cfg.write_timeout, &reg.out_rx)).await {
                        WriteResult::Ok => {}
                        WriteResult::Failed => break End::Gone,
                        WriteResult::Killed => break End::Killed,
                        WriteResult::TimedOut => {
                            bump(&shared.metrics.write_timeouts);
                            tracing::warn!(?conn, "write timed out, disconnecting");
                            break End::Gone;
                        }
                    }
                }
                // Idle connections keep no write buffer.
                wbuf = Vec::new();
                match burst {
                    Burst::Continue => {}
                    Burst::Close(reason) => break End::Close(reason),
                    Burst::EncodeFailed => {
                        bump(&shared.metrics.encode_failures);
                        break End::Abort(ws::CloseReason::Internal);
                    }
                }
            }
            permit = shared.router_tx.reserve(), if !pending.is_empty() => {
                let Ok(permit) = permit else { break End::Gone };
                if let Some(input) = pending.pop_front() {
                    permit.send(input);
                }
            }
            r = poll_fn(|cx| poll_read_link(&mut s, &mut link, cx, &mut msgs, &mut err)),
                if reading && pending.is_empty() =>
            {
                match r {
                    Ok(0) | Err(_) => break End::Gone,
                    Ok(_) => live.received(),
                }
                if !msgs.is_empty() {
                    pending.push_back(Input::Messages(conn, msgs));
                }
                if let Some(e) = err {
                    reading = false;
                    match link_error_input(conn, e) {
                        Ok(input) => pending.push_back(input),
                        Err(reason) => {
                            bump(&shared.metrics.framing_errors);
                            tracing::debug!(?conn, "RawSocket framing error, closing");
                            break End::Abort(reason);
                        }
                    }
                }
                if link.has_pending_pongs() {
                    let mut pongs = Vec::new();
                    link.take_pongs(&mut pongs);
                    match Box::pin(write_guarded(&mut s, &pongs, cfg.write_timeout, &reg.out_rx)).await {
                        WriteResult::Ok => {}
                        WriteResult::Killed => break End::Killed,
                        _ => break End::Gone,
                    }
                }
            }
            () = &mut timer => {
                match live.tick() {
                    Tick::Idle => {
                        bump(&shared.metrics.idle_timeouts);
                        tracing::debug!(?conn, "idle timeout");
                        break End::Abort(ws::CloseReason::PolicyViolation);
                    }
                    Tick::Ping => {
                        let mut ping = Vec::new();
                        let _ = encode_frame(FrameKind::Ping, b"", &mut ping);
                        match Box::pin(write_guarded(&mut s, &ping, cfg.write_timeout, &reg.out_rx)).await {
                            WriteResult::Ok => {}
                            WriteResult::Killed => break End::Killed,
                            _ => break End::Gone,
                        }
                    }
                    Tick::Nothing => {}
                }
                timer.as_mut().reset(live.deadline());
            }
        }
    };
    match end {
        End::Gone | End::Killed => {}
        End::Close(_) | End::Abort(_) => {
            let _ = Box::pin(timeout(cfg.write_timeout, s.shutdown())).await;
        }
    }
    drop(reg);
}

/// A receive error becomes an input for the router (it answers with ABORT and closes), or,
/// for a broken transport, the reason to close at once.
fn link_error_input(conn: ConnId, e: LinkError) -> Result<Input, ws::CloseReason> {
    match e {
        LinkError::Decode(d) => Ok(Input::DecodeError(conn, d)),
        LinkError::TooLarge { size, limit } => Ok(Input::DecodeError(
            conn,
            DecodeError::TooLarge { size, limit },
        )),
        other => Err(other.close_reason()),
    }
}

enum WriteResult {
    Ok,
    Failed,
    TimedOut,
    Killed,
}

/// Writes all of `buf`, giving up after `limit` or when the router kills the connection
/// (the stream is abandoned in both cases, so dropping the write future is fine).
async fn write_guarded<S: AsyncWrite + Unpin>(
    s: &mut S,
    buf: &[u8],
    limit: Duration,
    kill: &queue::Receiver<Out>,
) -> WriteResult {
    guarded(s.write_all(buf), limit, kill).await
}

/// Runs the write `write` within `limit`, unless the router kills the connection meanwhile.
async fn guarded(
    write: impl Future<Output = std::io::Result<()>>,
    limit: Duration,
    kill: &queue::Receiver<Out>,
) -> WriteResult {
    tokio::select! {
        biased;
        () = kill.killed() => WriteResult::Killed,
        r = timeout(limit, write) => match r {
            Ok(Ok(())) => WriteResult::Ok,
            Ok(Err(_)) => WriteResult::Failed,
            Err(_) => WriteResult::TimedOut,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------------------

fn error_response(status: StatusCode, text: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(text.to_owned()));
    *r.status_mut() = status;
    r
}

async fn websocket_handshake<S>(
    s: S,
    origin: &Origin,
    deadline: Instant,
    shared: &Shared,
) -> Option<(WebSocketStream<S>, Link, Registered)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let peer = &*origin.peer;
    let mut chosen: Option<Subprotocol> = None;
    let mut headers = Dict::new();
    let paths = &shared.listener.websocket_paths;
    let keep_headers = shared.cfg.http_headers;
    let enabled = &shared.subprotocols;
    // The signature is tungstenite's (its error response type is large).
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let path = req.uri().path();
        if !paths.is_empty() && !paths.iter().any(|p| p == path) {
            return Err(error_response(
                StatusCode::NOT_FOUND,
                "no WAMP endpoint here",
            ));
        }
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok());
        match ws::negotiate(enabled, offered) {
            Some(p) => {
                resp.headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_static(p.name()));
                chosen = Some(p);
                if keep_headers {
                    headers = received_headers(req);
                }
                Ok(resp)
            }
            None => Err(error_response(
                StatusCode::BAD_REQUEST,
                "no supported WAMP subprotocol offered",
            )),
        }
    };
    let accepted = timeout_at(
        deadline,
        tokio_tungstenite::accept_hdr_async_with_config(s, callback, Some(shared.ws_config)),
    )
    .await;
    let wss = match accepted {
        Ok(Ok(wss)) => wss,
        Ok(Err(e)) => {
            bump(&shared.metrics.handshake_failures);
            tracing::debug!(%peer, error = %e, "WebSocket handshake failed");
            return None;
        }
        Err(_) => {
            bump(&shared.metrics.handshake_timeouts);
            tracing::debug!(%peer, "WebSocket handshake timed out");
            return None;
        }
    };
    let Some(subprotocol) = chosen else {
        // The callback accepted, so it chose; nothing else can get here.
        bump(&shared.metrics.handshake_failures);
        return None;
    };
    let mut wss = wss;
    let info = origin.transport_info(shared, subprotocol.serializer, Some((subprotocol, headers)));
    let Some(reg) = register(shared, info).await else {
        bump(&shared.metrics.refused);
        tracing::warn!(%peer, "connection refused: connection limit reached");
        let frame = CloseFrame {
            code: CloseCode::Again,
            reason: Utf8Bytes::from_static("connection limit reached"),
        };
        let _ = timeout(CLOSE_WAIT, wss.close(Some(frame))).await;
        return None;
    };
    tracing::debug!(%peer, conn = ?reg.conn, %subprotocol, "WebSocket session transport open");
    let mut lc = LinkConfig::websocket(subprotocol);
    lc.max_incoming = shared.cfg.max_message_size;
    lc.max_outgoing = shared.cfg.max_message_size;
    Some((wss, Link::new(lc), reg))
}

/// Reserves room for a frame header in `buf`; returns where the frame starts.
fn begin_frame(buf: &mut Vec<u8>) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; ws::MAX_SERVER_HEADER_LEN]);
    start
}

/// Turns everything after the header room reserved at `start` into one WebSocket frame of
/// type `ft`: writes the header and closes the gap.
fn finish_frame(buf: &mut Vec<u8>, start: usize, ft: FrameType) {
    let body = start + ws::MAX_SERVER_HEADER_LEN;
    let (header, n) = ws::server_frame_header(ft, buf.len() - body);
    let gap = ws::MAX_SERVER_HEADER_LEN - n;
    if gap > 0 {
        buf.copy_within(body.., start + n);
        buf.truncate(buf.len() - gap);
    }
    if let (Some(dst), Some(src)) = (buf.get_mut(start..start + n), header.get(..n)) {
        dst.copy_from_slice(src);
    }
}

/// Collects `first` and whatever else is queued (up to [`WRITE_BURST`] octets) into `buf` as
/// WebSocket frames, written by us rather than through tungstenite's write buffer (which
/// keeps its largest size for the connection's lifetime): one frame per message, or on a
/// batched link as few batches as the peer's message limit allows.
fn ws_burst(link: &Link, first: Out, rx: &queue::Receiver<Out>, buf: &mut Vec<u8>) -> Burst {
    let ft = link.frame_type();
    let batched = link.subprotocol().is_some_and(|p| p.batched);
    let mut open: Option<usize> = None;
    let mut item = first;
    let result = loop {
        let start = match open {
            Some(start) => start,
            None => begin_frame(buf),
        };
        let before = buf.len();
        let r = frame_item(link, item, buf);
        if !matches!(r, Burst::Continue) {
            // `frame_item` leaves `buf` as it was on failure.
            open = Some(start);
            break r;
        }
        if batched {
            // A batch must stay within the peer's message limit: start a new one before it
            // would overflow.
            let body = start + ws::MAX_SERVER_HEADER_LEN;
            if buf.len() - body > link.max_outgoing() && before > body {
                let element = buf.split_off(before);
                finish_frame(buf, start, ft);
                let next = begin_frame(buf);
                buf.extend_from_slice(&element);
                open = Some(next);
            } else {
                open = Some(start);
            }
        } else {
            finish_frame(buf, start, ft);
        }
        if buf.len() >= WRITE_BURST {
            break Burst::Continue;
        }
        match rx.try_recv() {
            Some(next) => item = next,
            None => break Burst::Continue,
        }
    };
    if let Some(start) = open {
        if buf.len() > start + ws::MAX_SERVER_HEADER_LEN {
            finish_frame(buf, start, ft);
        } else {
            buf.truncate(start);
        }
    }
    result
}

async fn run_websocket<S>(mut wss: WebSocketStream<S>, link: Link, reg: Registered, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let cfg = &*shared.cfg;
    let conn = reg.conn;
    let mut pending: VecDeque<Input> = VecDeque::new();
    let mut reading = true;
    let mut live = Liveness::new(cfg);
    let mut timer = pin!(sleep_until(live.deadline()));
    let end = loop {
        tokio::select! {
            biased;
            () = reg.out_rx.killed() => break End::Killed,
            item = reg.out_rx.recv() => {
                let Some(first) = item else { break End::Gone };
                // Idle connections keep no write buffer: it lives for one burst.
                let mut wbuf = Vec::with_capacity(4096);
                let burst = ws_burst(&link, first, &reg.out_rx, &mut wbuf);
                if !wbuf.is_empty() {
                    match Box::pin(ws_write(&mut wss, &wbuf, cfg.write_timeout, &reg.out_rx)).await {
                        WriteResult::Ok => {}
                        WriteResult::Failed => break End::Gone,
                        WriteResult::Killed => break End::Killed,
                        WriteResult::TimedOut => {
                            bump(&shared.metrics.write_timeouts);
                            tracing::warn!(?conn, "write timed out, disconnecting");
                            break End::Gone;
                        }
                    }
                }
                match burst {
                    Burst::Continue => {}
                    Burst::Close(reason) => break End::Close(reason),
                    Burst::EncodeFailed => {
                        bump(&shared.metrics.encode_failures);
                        break End::Abort(ws::CloseReason::Internal);
                    }
                }
            }
            permit = shared.router_tx.reserve(), if !pending.is_empty() => {
                let Ok(permit) = permit else { break End::Gone };
                if let Some(input) = pending.pop_front() {
                    permit.send(input);
                }
            }
            next = wss.next(), if reading && pending.is_empty() => {
                live.received();
                let payload = match next {
                    None => break End::Gone,
                    Some(Ok(WsMessage::Text(t))) => Bytes::from(t),
                    Some(Ok(WsMessage::Binary(b))) => b,
                    Some(Ok(WsMessage::Close(_))) => break End::Gone,
                    Some(Ok(_)) => continue, // ping, pong: answered by tungstenite
                    Some(Err(tungstenite::Error::Capacity(
                        tungstenite::error::CapacityError::MessageTooLong { size, max_size },
                    ))) => {
                        reading = false;
                        pending.push_back(Input::DecodeError(
                            conn,
                            DecodeError::TooLarge { size, limit: max_size },
                        ));
                        continue;
                    }
                    Some(Err(tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                    ))) => break End::Gone,
                    Some(Err(tungstenite::Error::Protocol(e))) => {
                        bump(&shared.metrics.framing_errors);
                        tracing::debug!(?conn, error = %e, "WebSocket protocol error");
                        break End::Abort(ws::CloseReason::ProtocolError);
                    }
                    Some(Err(_)) => break End::Gone,
                };
                let mut msgs = Vec::new();
                match link.receive_websocket(&payload) {
                    Ok(iter) => {
                        for r in iter {
                            match r {
                                Ok(m) => msgs.push(m),
                                Err(e) => {
                                    reading = false;
                                    if !msgs.is_empty() {
                                        pending.push_back(Input::Messages(conn, std::mem::take(&mut msgs)));
                                    }
                                    match link_error_input(conn, e) {
                                        Ok(input) => pending.push_back(input),
                                        Err(_) => break,
                                    }
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        reading = false;
                        if let Ok(input) = link_error_input(conn, e) {
                            pending.push_back(input);
                        }
                    }
                }
                if !msgs.is_empty() {
                    pending.push_back(Input::Messages(conn, msgs));
                }
                if !reading && pending.is_empty() {
                    break End::Abort(ws::CloseReason::ProtocolError);
                }
            }
            () = &mut timer => {
                match live.tick() {
                    Tick::Idle => {
                        bump(&shared.metrics.idle_timeouts);
                        tracing::debug!(?conn, "idle timeout");
                        break End::Abort(ws::CloseReason::PolicyViolation);
                    }
                    Tick::Ping => {
                        let ping = &ws::SERVER_PING_FRAME;
                        match Box::pin(ws_write(&mut wss, ping, cfg.write_timeout, &reg.out_rx)).await {
                            WriteResult::Ok => {}
                            WriteResult::Killed => break End::Killed,
                            _ => break End::Gone,
                        }
                    }
                    Tick::Nothing => {}
                }
                timer.as_mut().reset(live.deadline());
            }
        }
    };
    let code = match end {
        End::Gone | End::Killed => None,
        End::Close(reason) => Some(reason.transport()),
        End::Abort(reason) => Some(reason),
    };
    if let Some(reason) = code {
        let frame = CloseFrame {
            code: CloseCode::from(reason.websocket_code()),
            reason: Utf8Bytes::default(),
        };
        // Send our close frame, then wait a little for the peer's.
        let _ = Box::pin(timeout(CLOSE_WAIT, async {
            if wss.close(Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = wss.next().await {}
            }
        }))
        .await;
    }
    drop(reg);
}

/// Writes frames built by [`ws_burst`] straight to the socket, within `limit`, unless the
/// connection is killed meanwhile. Whatever tungstenite has buffered itself (an automatic
/// pong, say) is flushed first, so frames never interleave.
async fn ws_write<S>(
    wss: &mut WebSocketStream<S>,
    frames: &[u8],
    limit: Duration,
    kill: &queue::Receiver<Out>,
) -> WriteResult
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let write = async {
        wss.flush().await.map_err(std::io::Error::other)?;
        let s = wss.get_mut();
        s.write_all(frames).await?;
        s.flush().await
    };
    guarded(write, limit, kill).await
}
