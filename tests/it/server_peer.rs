//! A minimal raw WAMP peer for the server tests: a WebSocket (tokio-tungstenite) or RawSocket
//! stream with a `wamp_proto` link, sending and receiving whole messages, nothing more (so
//! the tests see exactly what the router sends).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use wamp_proto::link::{Incoming, Link};
use wamp_proto::message::{Goodbye, Hello};
use wamp_proto::rawsocket::{ClientHandshake, MaxLength};
use wamp_proto::websocket::{FrameType, Subprotocol};
use wamp_proto::{Dict, Message, Serializer};

/// Anything a peer can run over.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How long a test waits for one message.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A test runtime.
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The roles of a peer that does everything.
pub(crate) fn all_roles() -> Dict {
    let f = || Dict::new().with("features", Dict::new().with("call_canceling", true));
    Dict::new()
        .with("caller", f())
        .with("callee", f())
        .with("publisher", Dict::new())
        .with("subscriber", Dict::new())
}

/// HELLO for `realm` with [`all_roles`].
pub(crate) fn hello(realm: &str) -> Message {
    Hello {
        realm: wamp_proto::Uri::from_wire(realm),
        details: Dict::new().with("roles", all_roles()),
    }
    .into()
}

/// GOODBYE `wamp.close.close_realm`.
pub(crate) fn goodbye() -> Message {
    Goodbye {
        details: Dict::new(),
        reason: "wamp.close.close_realm".into(),
    }
    .into()
}

enum Inner {
    Ws(Box<WebSocketStream<Box<dyn Stream>>>),
    Raw {
        stream: Box<dyn Stream>,
        buf: Vec<u8>,
    },
}

/// One connection to the router.
pub(crate) struct Peer {
    inner: Inner,
    link: Link,
    /// Messages decoded but not yet returned (batches, several frames per read).
    queue: std::collections::VecDeque<Message>,
}

/// What the peer saw instead of a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Gone {
    /// A WebSocket close frame with this code (or none).
    Closed(Option<u16>),
    /// End of stream (or a reset).
    Eof,
    /// Nothing within [`WAIT`].
    Timeout,
}

/// Opens a WebSocket to `path` offering `offer` (a `Sec-WebSocket-Protocol` value).
pub(crate) async fn ws_raw(
    stream: Box<dyn Stream>,
    port: u16,
    path: &str,
    offer: Option<&str>,
) -> Result<
    (
        WebSocketStream<Box<dyn Stream>>,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    WsError,
> {
    let mut req = format!("ws://127.0.0.1:{port}{path}").into_client_request()?;
    if let Some(o) = offer {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(o).expect("header value"),
        );
    }
    tokio_tungstenite::client_async(req, stream).await
}

/// A TCP connection to the test server.
pub(crate) async fn tcp(port: u16) -> Box<dyn Stream> {
    let s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.set_nodelay(true).expect("nodelay");
    Box::new(s)
}

impl Peer {
    /// A WebSocket peer speaking `p` over `stream`.
    pub(crate) async fn websocket(stream: Box<dyn Stream>, port: u16, p: Subprotocol) -> Peer {
        let (ws, resp) = ws_raw(stream, port, "/ws", Some(p.name()))
            .await
            .expect("WebSocket handshake");
        let echoed = resp
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok());
        assert_eq!(echoed, Some(p.name()));
        Peer {
            inner: Inner::Ws(Box::new(ws)),
            link: Link::websocket(p),
            queue: Default::default(),
        }
    }

    /// A RawSocket peer speaking `s` over `stream`.
    pub(crate) async fn rawsocket(stream: Box<dyn Stream>, s: Serializer) -> Peer {
        Peer::try_rawsocket(stream, s)
            .await
            .expect("RawSocket handshake accepted")
    }

    /// A RawSocket peer, or `None` when the handshake fails.
    pub(crate) async fn try_rawsocket(mut stream: Box<dyn Stream>, s: Serializer) -> Option<Peer> {
        let hs = ClientHandshake::new(s, MaxLength::MAX);
        stream.write_all(&hs.request()).await.ok()?;
        let mut reply = [0u8; 4];
        tokio::time::timeout(WAIT, stream.read_exact(&mut reply))
            .await
            .ok()?
            .ok()?;
        let negotiated = hs.handle_reply(reply).ok()?;
        Some(Peer {
            inner: Inner::Raw {
                stream,
                buf: Vec::new(),
            },
            link: Link::rawsocket(negotiated),
            queue: Default::default(),
        })
    }

    /// Connects over TCP (WebSocket when `p` is given, else RawSocket with `s`).
    pub(crate) async fn connect(port: u16, ws: Option<Subprotocol>, s: Serializer) -> Peer {
        match ws {
            Some(p) => Peer::websocket(tcp(port).await, port, p).await,
            None => Peer::rawsocket(tcp(port).await, s).await,
        }
    }

    /// Sends one message.
    pub(crate) async fn send(&mut self, msg: &Message) {
        let mut bytes = Vec::new();
        self.link.encode(msg, &mut bytes).expect("encode");
        match &mut self.inner {
            Inner::Ws(ws) => {
                let m = match self.link.frame_type() {
                    FrameType::Text => WsMessage::text(String::from_utf8(bytes).expect("utf8")),
                    FrameType::Binary => WsMessage::binary(bytes),
                };
                ws.send(m).await.expect("send");
            }
            Inner::Raw { stream, .. } => stream.write_all(&bytes).await.expect("send"),
        }
    }

    /// Sends one message; `false` when the transport failed (the router closed it).
    pub(crate) async fn try_send(&mut self, msg: &Message) -> bool {
        let mut bytes = Vec::new();
        self.link.encode(msg, &mut bytes).expect("encode");
        match &mut self.inner {
            Inner::Ws(ws) => ws.send(WsMessage::binary(bytes)).await.is_ok(),
            Inner::Raw { stream, .. } => stream.write_all(&bytes).await.is_ok(),
        }
    }

    /// Writes raw octets (RawSocket) or one raw binary WebSocket message.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        match &mut self.inner {
            Inner::Ws(ws) => ws.send(WsMessage::binary(bytes.to_vec())).await.is_ok(),
            Inner::Raw { stream, .. } => stream.write_all(bytes).await.is_ok(),
        }
    }

    /// The next message, or why there is none.
    pub(crate) async fn recv(&mut self) -> Result<Message, Gone> {
        match tokio::time::timeout(WAIT, self.recv_inner()).await {
            Ok(r) => r,
            Err(_) => Err(Gone::Timeout),
        }
    }

    async fn recv_inner(&mut self) -> Result<Message, Gone> {
        loop {
            if let Some(m) = self.queue.pop_front() {
                return Ok(m);
            }
            match &mut self.inner {
                Inner::Ws(ws) => match ws.next().await {
                    Some(Ok(WsMessage::Text(t))) => {
                        let msgs = self.link.receive_websocket(t.as_bytes()).expect("link");
                        for m in msgs {
                            self.queue.push_back(m.expect("decode"));
                        }
                    }
                    Some(Ok(WsMessage::Binary(b))) => {
                        let msgs = self.link.receive_websocket(&b).expect("link");
                        for m in msgs {
                            self.queue.push_back(m.expect("decode"));
                        }
                    }
                    Some(Ok(WsMessage::Close(f))) => {
                        return Err(Gone::Closed(f.map(|f| u16::from(f.code))));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return Err(Gone::Eof),
                },
                Inner::Raw { stream, buf } => {
                    buf.resize(64 * 1024, 0);
                    let n = match stream.read(buf).await {
                        Ok(0) | Err(_) => return Err(Gone::Eof),
                        Ok(n) => n,
                    };
                    let mut input: &[u8] = &buf[..n];
                    while let Some(item) = self.link.receive_rawsocket(&mut input).expect("link") {
                        if let Incoming::Message(m) = item {
                            self.queue.push_back(m);
                        }
                    }
                    // Answer the router's PINGs, as a live peer does.
                    if self.link.has_pending_pongs() {
                        let mut pongs = Vec::new();
                        self.link.take_pongs(&mut pongs);
                        if stream.write_all(&pongs).await.is_err() {
                            return Err(Gone::Eof);
                        }
                    }
                }
            }
        }
    }

    /// Sends HELLO for `realm1` and returns WELCOME's session ID.
    pub(crate) async fn join(&mut self) -> u64 {
        self.send(&hello("realm1")).await;
        match self.recv().await {
            Ok(Message::Welcome(w)) => w.session.get(),
            other => panic!("expected WELCOME, got {other:?}"),
        }
    }

    /// Waits for the transport to end (skipping messages); returns how.
    pub(crate) async fn closed(&mut self) -> Gone {
        loop {
            match self.recv().await {
                Ok(_) => {}
                Err(g) => return g,
            }
        }
    }
}
