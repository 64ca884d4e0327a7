//! One WAMP connection of the bench, over RawSocket or WebSocket, with batched IO.
//!
//! Reads: [`Conn::recv`] waits for data, then takes every complete message of one `read` of up
//! to the read buffer (RawSocket frames, or WebSocket frames decoded by [`crate::ws`] in place).
//! Hot messages (RESULT, INVOCATION, EVENT, PUBLISHED) are only peeked at
//! ([`crate::wire::peek`]); the rest are fully decoded.
//!
//! Writes: [`Conn::send`], [`Conn::send_template`] and [`Conn::send_with`] only queue (framed,
//! and masked on WebSocket); [`Conn::flush`] writes the queue with one `write_all`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use wamp_proto::id::SessionId;
use wamp_proto::message::{Goodbye, Hello};
use wamp_proto::rawsocket::{
    ClientHandshake, FrameDecoder, FrameHeader, FrameKind, HEADER_LEN, MAX_PAYLOAD, MaxLength,
    encode_frame,
};
use wamp_proto::websocket::Subprotocol;
use wamp_proto::{Dict, Message, MessageKind, Serializer, Value};

use crate::BenchError;
use crate::target::{Target, Transport};
use crate::wire::{self, Template};
use crate::ws::{self, MaskSource, Opcode};

/// WAMP type codes the bench handles without a full decode.
const HOT: [u64; 4] = [
    MessageKind::Result.code(),
    MessageKind::Invocation.code(),
    MessageKind::Event.code(),
    MessageKind::Published.code(),
];

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
    /// Any other message, decoded (boxed: batches of hot messages stay small).
    Msg(Box<Message>),
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
    stream: TcpStream,
    decoder: ws::Decoder,
    /// Received octets `start..end` not decoded yet.
    rbuf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    scratch: Vec<u8>,
    opcode: Opcode,
    masks: MaskSource,
    /// Our close frame is queued or sent: do not answer the server's.
    close_sent: bool,
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
            Transport::WebSocket { path } => {
                let offer = [Subprotocol::new(serializer, false)];
                let key = generate_key();
                let request = ws::upgrade_request(&target.host_port(), path, &key, &offer);
                stream.write_all(request.as_bytes()).await?;
                let mut rbuf = vec![0; opts.read_buffer.max(ws::MAX_RESPONSE_HEAD)];
                let mut end = 0;
                let head = loop {
                    if let Some(n) = ws::response_head_len(&rbuf[..end]) {
                        break n;
                    }
                    if end == ws::MAX_RESPONSE_HEAD {
                        return Err(BenchError::Ws(ws::WsError::NotSwitching));
                    }
                    let n = stream.read(&mut rbuf[end..ws::MAX_RESPONSE_HEAD]).await?;
                    if n == 0 {
                        return Err(BenchError::Closed);
                    }
                    end += n;
                };
                let p = ws::check_response(&rbuf[..head], &key, &offer).map_err(BenchError::Ws)?;
                // Masking keys need no secrecy: seed from the clock and the local port.
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
                    ^ (u64::from(stream.local_addr()?.port()) << 48);
                Io::Ws(Box::new(Ws {
                    stream,
                    decoder: ws::Decoder::new(MAX_PAYLOAD),
                    rbuf,
                    start: head,
                    end,
                    out: Vec::new(),
                    scratch: Vec::new(),
                    opcode: if p.serializer.is_binary() {
                        Opcode::Binary
                    } else {
                        Opcode::Text
                    },
                    masks: MaskSource::new(seed),
                    close_sent: false,
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
                if self.has_queued() {
                    self.flush().await?; // PONGs
                }
                // Setup replies come one at a time: take the first, keep nothing else.
                if let Some(first) = batch.drain(..).next() {
                    return match first {
                        Received::Msg(m) => Ok(*m),
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
                if w.scratch.len() > MAX_PAYLOAD {
                    return Err(BenchError::Protocol("message larger than 16 MiB"));
                }
                ws::encode_frame(w.opcode, &w.scratch, w.masks.next_key(), &mut w.out);
                if w.scratch.capacity() > 1 << 20 {
                    w.scratch = Vec::new();
                }
            }
        }
        Ok(())
    }

    /// Whether anything is queued.
    pub fn has_queued(&self) -> bool {
        match &self.io {
            Io::Raw(r) => !r.out.is_empty(),
            Io::Ws(w) => !w.out.is_empty(),
        }
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), BenchError> {
        let (stream, out) = match &mut self.io {
            Io::Raw(r) => (&mut r.stream, &mut r.out),
            Io::Ws(w) => (&mut w.stream, &mut w.out),
        };
        if !out.is_empty() {
            stream.write_all(out).await?;
            out.clear();
            if out.capacity() > 1 << 20 {
                *out = Vec::new();
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
                let Ws {
                    stream,
                    decoder,
                    rbuf,
                    start,
                    end,
                    out: wbuf,
                    masks,
                    close_sent,
                    ..
                } = &mut **w;
                let before = out.len();
                // Bounded: each turn reads at least one octet into a buffer of at most one
                // frame, or fails.
                loop {
                    loop {
                        let (used, event) = decoder
                            .decode(&rbuf[*start..*end])
                            .map_err(BenchError::Ws)?;
                        if used == 0 {
                            break;
                        }
                        *start += used;
                        match event {
                            Some(ws::Event::Message(p)) => out.push(classify(serializer, p)?),
                            Some(ws::Event::Ping(p)) => {
                                ws::encode_frame(Opcode::Pong, p, masks.next_key(), wbuf)
                            }
                            Some(ws::Event::Close(_)) if out.len() > before => {
                                // Hand out the messages before it first; the next call ends.
                                *start -= used;
                                break;
                            }
                            Some(ws::Event::Close(_)) => {
                                if !*close_sent {
                                    *close_sent = true;
                                    ws::encode_frame(Opcode::Close, &[], masks.next_key(), wbuf);
                                    let _ = stream.write_all(wbuf).await;
                                    wbuf.clear();
                                }
                                return Err(BenchError::Closed);
                            }
                            Some(ws::Event::Pong) | None => {}
                        }
                    }
                    if out.len() > before || !wbuf.is_empty() {
                        break;
                    }
                    // Make room for the rest of the frame.
                    if *start == *end {
                        (*start, *end) = (0, 0);
                    } else if *end == rbuf.len() {
                        if *start > 0 {
                            rbuf.copy_within(*start..*end, 0);
                            *end -= *start;
                            *start = 0;
                        } else if rbuf.len() < decoder.max_frame() {
                            let size = (rbuf.len() * 2).min(decoder.max_frame());
                            rbuf.resize(size, 0);
                        } else {
                            return Err(BenchError::Ws(ws::WsError::TooLarge));
                        }
                    }
                    let n = stream.read(&mut rbuf[*end..]).await?;
                    if n == 0 {
                        return Err(BenchError::Closed);
                    }
                    *end += n;
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
                    match self.recv(&mut batch).await {
                        // The router may close right after its GOODBYE.
                        Err(BenchError::Closed) => return Ok::<(), BenchError>(()),
                        r => r?,
                    }
                    if self.has_queued() {
                        self.flush().await?; // PONGs
                    }
                    for m in batch.drain(..) {
                        if matches!(m, Received::Msg(m) if matches!(*m, Message::Goodbye(_))) {
                            return Ok(());
                        }
                    }
                }
            })
            .await
            .map_err(io_timeout("GOODBYE"))?;
            got?;
        }
        if let Io::Ws(w) = &mut self.io {
            // Close handshake: our close frame, then the server's (or its end of stream).
            if !w.close_sent {
                w.close_sent = true;
                let key = w.masks.next_key();
                ws::encode_frame(Opcode::Close, &1000u16.to_be_bytes(), key, &mut w.out);
            }
            self.flush().await?;
            let mut batch = Vec::new();
            let _ = timeout(within, async {
                loop {
                    if self.recv(&mut batch).await.is_err() || self.flush().await.is_err() {
                        return;
                    }
                    batch.clear();
                }
            })
            .await;
        }
        let stream = match &mut self.io {
            Io::Raw(r) => &mut r.stream,
            Io::Ws(w) => &mut w.stream,
        };
        let _ = stream.shutdown().await;
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
        .map(|m| Received::Msg(Box::new(m)))
        .map_err(BenchError::Decode)
}
