//! One WAMP connection of the bench, over RawSocket or WebSocket, with batched IO.
//!
//! Reads: [`Conn::recv`] waits for data, then takes every message already received (one
//! `read` of up to the read buffer on RawSocket; every message tungstenite has buffered or
//! can read without waiting on WebSocket). Hot messages (RESULT, INVOCATION, EVENT, PUBLISHED)
//! are only peeked at ([`crate::wire::peek`]); the rest are fully decoded.
//!
//! Writes: [`Conn::send`], [`Conn::send_template`] and [`Conn::send_with`] only queue; the queue
//! goes out with [`Conn::flush`], in one `write` for RawSocket, and through tungstenite's write
//! buffer (one write per flush up to its size) for WebSocket.

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Bytes, Utf8Bytes};
use wamp_proto::id::SessionId;
use wamp_proto::message::{Goodbye, Hello};
use wamp_proto::rawsocket::{
    ClientHandshake, FrameDecoder, FrameHeader, FrameKind, HEADER_LEN, MaxLength, encode_frame,
};
use wamp_proto::websocket::{Subprotocol, client_offer, validate_echo};
use wamp_proto::{Dict, Message, MessageKind, Serializer, Value};

use crate::BenchError;
use crate::target::{Target, Transport};
use crate::wire::{self, Template};

/// WAMP type codes the bench handles without a full decode.
const HOT: [u64; 4] = [
    MessageKind::Result.code(),
    MessageKind::Invocation.code(),
    MessageKind::Event.code(),
    MessageKind::Published.code(),
];

/// Most messages taken from a WebSocket in one [`Conn::recv`].
const MAX_WS_BATCH: usize = 4096;

/// A received message.
#[derive(Debug)]
pub enum Received {
    /// A hot message, peeked: its type code and second element (request, subscription ID).
    Hot {
        /// The WAMP type code.
        code: u64,
        /// The second element.
        id: u64,
    },
    /// Any other message, decoded.
    Msg(Message),
}

/// Connection settings.
#[derive(Clone, Copy, Debug)]
pub struct ConnOptions {
    /// Read buffer in octets (RawSocket read size, tungstenite read buffer).
    pub read_buffer: usize,
    /// Deadline of connecting, the transport handshake and joining.
    pub setup_timeout: Duration,
}

impl Default for ConnOptions {
    fn default() -> Self {
        ConnOptions {
            read_buffer: 256 * 1024,
            setup_timeout: Duration::from_secs(10),
        }
    }
}

struct Raw {
    stream: TcpStream,
    decoder: FrameDecoder,
    rbuf: Vec<u8>,
    out: Vec<u8>,
    max_send: usize,
}

struct Ws {
    ws: WebSocketStream<TcpStream>,
    text: bool,
    queue: Vec<tungstenite::Message>,
    scratch: Vec<u8>,
}

enum Io {
    Raw(Box<Raw>),
    Ws(Box<Ws>),
}

/// See the [module docs](self).
pub struct Conn {
    serializer: Serializer,
    io: Io,
    session: Option<SessionId>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("serializer", &self.serializer)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn io_timeout(what: &'static str) -> impl FnOnce(tokio::time::error::Elapsed) -> BenchError {
    move |_| BenchError::Timeout(what)
}

impl Conn {
    /// Connects and performs the transport handshake (no WAMP session yet).
    pub async fn connect(
        target: &Target,
        serializer: Serializer,
        opts: ConnOptions,
    ) -> Result<Conn, BenchError> {
        timeout(
            opts.setup_timeout,
            Conn::connect_inner(target, serializer, opts),
        )
        .await
        .map_err(io_timeout("connect"))?
    }

    async fn connect_inner(
        target: &Target,
        serializer: Serializer,
        opts: ConnOptions,
    ) -> Result<Conn, BenchError> {
        let mut stream = TcpStream::connect(target.addr).await?;
        stream.set_nodelay(true)?;
        let io = match &target.transport {
            Transport::RawSocket => {
                let hs = ClientHandshake::new(serializer, MaxLength::MAX);
                stream.write_all(&hs.request()).await?;
                let mut reply = [0u8; 4];
                stream.read_exact(&mut reply).await?;
                let negotiated = hs.handle_reply(reply).map_err(BenchError::RawHandshake)?;
                Io::Raw(Box::new(Raw {
                    stream,
                    decoder: FrameDecoder::new(negotiated.max_receive.bytes()),
                    rbuf: vec![0; opts.read_buffer.max(1024)],
                    out: Vec::new(),
                    max_send: negotiated.max_send.bytes(),
                }))
            }
            Transport::WebSocket { .. } => {
                let offer = [Subprotocol::new(serializer, false)];
                let mut request = target.ws_url().into_client_request()?;
                let value = HeaderValue::from_str(&client_offer(&offer))
                    .map_err(|_| BenchError::Protocol("subprotocol header"))?;
                request
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", value);
                let config = WebSocketConfig::default()
                    .read_buffer_size(opts.read_buffer.max(1024))
                    .write_buffer_size(128 * 1024)
                    .max_message_size(Some(16 << 20));
                let (ws, response) =
                    tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                        .await?;
                let echoed = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok());
                let p = validate_echo(&offer, echoed).map_err(BenchError::Negotiation)?;
                Io::Ws(Box::new(Ws {
                    ws,
                    text: !p.serializer.is_binary(),
                    queue: Vec::new(),
                    scratch: Vec::new(),
                }))
            }
        };
        Ok(Conn {
            serializer,
            io,
            session: None,
        })
    }

    /// Connects and joins `realm` anonymously.
    pub async fn open(
        target: &Target,
        serializer: Serializer,
        realm: &str,
        opts: ConnOptions,
    ) -> Result<Conn, BenchError> {
        let mut c = Conn::connect(target, serializer, opts).await?;
        c.join(realm, opts.setup_timeout).await?;
        Ok(c)
    }

    /// The session ID, once joined.
    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    /// The serializer.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Sends HELLO (every client role, anonymous) and waits for WELCOME.
    pub async fn join(&mut self, realm: &str, within: Duration) -> Result<SessionId, BenchError> {
        let role = |features: Dict| Value::from(Dict::new().with("features", features));
        let roles = Dict::new()
            .with("caller", role(Dict::new()))
            .with("callee", role(Dict::new()))
            .with("publisher", role(Dict::new()))
            .with("subscriber", role(Dict::new()));
        let hello: Message = Hello {
            realm: wamp_proto::Uri::from_wire(realm),
            details: Dict::new().with("roles", roles).with("agent", "wamp-bench"),
        }
        .into();
        self.send(&hello)?;
        self.flush().await?;
        let msg = self.expect_message(within, "WELCOME").await?;
        match msg {
            Message::Welcome(w) => {
                self.session = Some(w.session);
                Ok(w.session)
            }
            Message::Abort(a) => Err(BenchError::Abort(a.reason.to_string())),
            _ => Err(BenchError::Protocol("expected WELCOME")),
        }
    }

    /// Waits (at most `within`) for the next fully decoded message; hot messages arriving
    /// meanwhile are a protocol error (setup phases expect none).
    pub async fn expect_message(
        &mut self,
        within: Duration,
        what: &'static str,
    ) -> Result<Message, BenchError> {
        let mut batch = Vec::new();
        timeout(within, async {
            loop {
                self.recv(&mut batch).await?;
                // Setup replies come one at a time: take the first, keep nothing else.
                if let Some(first) = batch.drain(..).next() {
                    return match first {
                        Received::Msg(m) => Ok(m),
                        Received::Hot { .. } => Err(BenchError::Protocol("unexpected message")),
                    };
                }
            }
        })
        .await
        .map_err(io_timeout(what))?
    }

    /// Queues `msg`.
    pub fn send(&mut self, msg: &Message) -> Result<(), BenchError> {
        let serializer = self.serializer;
        let mut err = None;
        self.send_with(|out| {
            if let Err(e) = serializer.encode(msg, out) {
                err = Some(e);
            }
        })?;
        match err {
            Some(e) => Err(BenchError::Encode(e)),
            None => Ok(()),
        }
    }

    /// Queues the template's message with request ID `id`.
    pub fn send_template(&mut self, template: &Template, id: u64) -> Result<(), BenchError> {
        self.send_with(|out| template.write(id, out))
    }

    /// Queues one message that `write` appends, serialized, to the buffer it gets.
    pub fn send_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), BenchError> {
        match &mut self.io {
            Io::Raw(r) => {
                let start = r.out.len();
                r.out.extend_from_slice(&[0; HEADER_LEN]);
                write(&mut r.out);
                let len = r.out.len() - start - HEADER_LEN;
                if len > r.max_send {
                    r.out.truncate(start);
                    return Err(BenchError::Protocol(
                        "message larger than the router accepts",
                    ));
                }
                let header = FrameHeader {
                    kind: FrameKind::Message,
                    len,
                }
                .encode()
                .map_err(BenchError::Frame)?;
                r.out[start..start + HEADER_LEN].copy_from_slice(&header);
            }
            Io::Ws(w) => {
                w.scratch.clear();
                write(&mut w.scratch);
                let msg = if w.text {
                    let text = Utf8Bytes::try_from(Bytes::copy_from_slice(&w.scratch))
                        .map_err(|_| BenchError::Protocol("JSON text is not UTF-8"))?;
                    tungstenite::Message::Text(text)
                } else {
                    tungstenite::Message::Binary(Bytes::copy_from_slice(&w.scratch))
                };
                w.queue.push(msg);
            }
        }
        Ok(())
    }

    /// Whether anything is queued.
    pub fn has_queued(&self) -> bool {
        match &self.io {
            Io::Raw(r) => !r.out.is_empty(),
            Io::Ws(w) => !w.queue.is_empty(),
        }
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), BenchError> {
        match &mut self.io {
            Io::Raw(r) => {
                if !r.out.is_empty() {
                    r.stream.write_all(&r.out).await?;
                    r.out.clear();
                    if r.out.capacity() > 1 << 20 {
                        r.out = Vec::new();
                    }
                }
            }
            Io::Ws(w) => {
                for m in w.queue.drain(..) {
                    w.ws.feed(m).await?;
                }
                w.ws.flush().await?;
            }
        }
        Ok(())
    }

    /// Waits until at least one message is in (or, on RawSocket, a PONG answering the router's
    /// PING is queued: flush it), then appends every message available without waiting to
    /// `out`. Cancel-safe: the only await is the wait for data, before any state
    /// changes. Fails with [`BenchError::Closed`] when the router closes the connection.
    pub async fn recv(&mut self, out: &mut Vec<Received>) -> Result<(), BenchError> {
        let serializer = self.serializer;
        match &mut self.io {
            Io::Raw(r) => {
                let Raw {
                    stream,
                    decoder,
                    rbuf,
                    out: wbuf,
                    ..
                } = &mut **r;
                let before = out.len();
                // Until a message is in, or a PONG waits to be flushed by the caller. Bounded:
                // each turn reads at least one octet, and a frame is at most 16 MiB.
                while out.len() == before && wbuf.is_empty() {
                    let n = stream.read(rbuf).await?;
                    if n == 0 {
                        return Err(BenchError::Closed);
                    }
                    let mut input = &rbuf[..n];
                    loop {
                        let (used, frame) = decoder.decode(input).map_err(BenchError::Frame)?;
                        input = &input[used..];
                        let Some(frame) = frame else { break };
                        match frame.kind {
                            FrameKind::Message => out.push(classify(serializer, frame.payload)?),
                            FrameKind::Ping => encode_frame(FrameKind::Pong, frame.payload, wbuf)
                                .map_err(BenchError::Frame)?,
                            FrameKind::Pong => {}
                        }
                    }
                }
            }
            Io::Ws(w) => {
                let first = w.ws.next().await.ok_or(BenchError::Closed)??;
                let mut taken = 1;
                let mut next = Some(first);
                while let Some(m) = next.take() {
                    match m {
                        tungstenite::Message::Binary(b) => out.push(classify(serializer, &b)?),
                        tungstenite::Message::Text(t) => {
                            out.push(classify(serializer, t.as_bytes())?)
                        }
                        tungstenite::Message::Close(_) => return Err(BenchError::Closed),
                        _ => {}
                    }
                    if taken >= MAX_WS_BATCH {
                        break;
                    }
                    match w.ws.next().now_or_never() {
                        Some(Some(m)) => {
                            next = Some(m?);
                            taken += 1;
                        }
                        Some(None) => return Err(BenchError::Closed),
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Leaves the session (GOODBYE, waiting at most `within` for the router's GOODBYE) and
    /// closes the connection. Messages arriving meanwhile are dropped.
    pub async fn close(mut self, within: Duration) -> Result<(), BenchError> {
        if self.session.is_some() {
            let bye: Message = Goodbye {
                details: Dict::new(),
                reason: "wamp.close.close_realm".into(),
            }
            .into();
            self.send(&bye)?;
            self.flush().await?;
            let mut batch = Vec::new();
            let got = timeout(within, async {
                loop {
                    self.recv(&mut batch).await?;
                    for m in batch.drain(..) {
                        if let Received::Msg(Message::Goodbye(_)) = m {
                            return Ok::<(), BenchError>(());
                        }
                    }
                }
            })
            .await
            .map_err(io_timeout("GOODBYE"))?;
            got?;
        }
        match &mut self.io {
            Io::Raw(r) => {
                let _ = r.stream.shutdown().await;
            }
            Io::Ws(w) => {
                let _ = timeout(within, w.ws.close(None)).await;
            }
        }
        Ok(())
    }
}

fn classify(serializer: Serializer, payload: &[u8]) -> Result<Received, BenchError> {
    if let Some((code, id)) = wire::peek(serializer, payload) {
        if HOT.contains(&code) {
            return Ok(Received::Hot { code, id });
        }
    }
    serializer
        .decode(payload)
        .map(Received::Msg)
        .map_err(BenchError::Decode)
}
