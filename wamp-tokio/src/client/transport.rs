//! Transports: URL parsing, connecting (TCP, Unix, TLS), the WebSocket and RawSocket
//! handshakes, and reading and writing WAMP messages through a [`Link`].

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};
use wamp_proto::link::{Incoming, Link, LinkConfig, LinkError};
use wamp_proto::rawsocket::{ClientHandshake, MaxLength};
use wamp_proto::websocket::{CloseReason, FrameType, Subprotocol, client_offer, validate_echo};
use wamp_proto::{Message, Serializer};

use super::{ConnectOptions, Error};

/// A byte stream a transport runs on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

type BoxIo = Pin<Box<dyn Io>>;

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Address {
    Tcp { host: String, port: u16 },
    Unix(std::path::PathBuf),
}

/// A parsed client URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    address: Address,
    tls: bool,
    /// `Some(request URL)` for WebSocket, `None` for RawSocket.
    websocket: Option<String>,
}

/// Splits `host:port` (with `[v6]:port`), using `default_port` when none is given.
fn host_port(authority: &str, default_port: Option<u16>) -> Result<(String, u16), Error> {
    if authority.is_empty() {
        return Err(Error::InvalidUrl("missing host"));
    }
    if authority.contains('@') {
        return Err(Error::InvalidUrl("user information is not supported"));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or(Error::InvalidUrl("unterminated IPv6 literal"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(Error::InvalidUrl("garbage after IPv6 literal"))?,
            ),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(Error::InvalidUrl("missing host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| Error::InvalidUrl("invalid port"))?,
        None => default_port.ok_or(Error::InvalidUrl("missing port"))?,
    };
    Ok((host.to_owned(), port))
}

impl Endpoint {
    /// Parses one of the URL forms documented on [`super::Client::connect`].
    pub(crate) fn parse(url: &str) -> Result<Endpoint, Error> {
        // `unix:/path` (the router's `--listen` form) is accepted next to `unix:///path`.
        let (scheme, rest) = match url.split_once("://") {
            Some(parts) => parts,
            None => match url.strip_prefix("unix:") {
                Some(path) if path.starts_with('/') => ("unix", path),
                _ => return Err(Error::InvalidUrl("missing scheme")),
            },
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "ws" | "wss" => {
                let tls = scheme == "wss";
                let (authority, path) = match rest.find(['/', '?']) {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                let (host, port) = host_port(authority, Some(if tls { 443 } else { 80 }))?;
                let path = if path.starts_with('?') {
                    format!("/{path}")
                } else {
                    path.to_owned()
                };
                Ok(Endpoint {
                    address: Address::Tcp { host, port },
                    tls,
                    websocket: Some(format!("{scheme}://{authority}{path}")),
                })
            }
            "rs" | "rss" | "tcp" | "tcps" => {
                let authority = rest.strip_suffix('/').unwrap_or(rest);
                if authority.contains('/') {
                    return Err(Error::InvalidUrl("a RawSocket URL has no path"));
                }
                let (host, port) = host_port(authority, None)?;
                Ok(Endpoint {
                    address: Address::Tcp { host, port },
                    tls: scheme.ends_with('s') && scheme != "rs",
                    websocket: None,
                })
            }
            "unix" | "rs+unix" | "ws+unix" => {
                if rest.is_empty() {
                    return Err(Error::InvalidUrl("missing socket path"));
                }
                // `unix:///abs/path` is absolute; `unix://rel/path` is relative.
                Ok(Endpoint {
                    address: Address::Unix(rest.into()),
                    tls: false,
                    websocket: (scheme == "ws+unix").then(|| "ws://localhost/".to_owned()),
                })
            }
            _ => Err(Error::InvalidUrl("unsupported scheme")),
        }
    }
}

/// The transport and the framing of a connected client.
pub(crate) struct Transport {
    pub(crate) link: Link,
    kind: Kind,
    /// RawSocket: bytes waiting to be written. WebSocket: unused.
    wbuf: Vec<u8>,
    /// WebSocket messages waiting to be written.
    wqueue: Vec<tungstenite::Message>,
    /// The TLS `tls-exporter` channel binding (RFC 9266), when the connection uses TLS.
    pub(crate) tls_exporter: Option<Vec<u8>>,
}

enum Kind {
    WebSocket(Box<WebSocketStream<BoxIo>>),
    RawSocket { io: BoxIo, rbuf: Box<[u8]> },
}

/// Something read from the transport.
pub(crate) enum Read {
    /// RawSocket octets (in the transport's read buffer, this many).
    Bytes(usize),
    /// One whole WebSocket message.
    WebSocket(tungstenite::Message),
    /// The peer closed the connection.
    Eof,
}

/// The RawSocket read chunk size.
const RAWSOCKET_READ: usize = 16 * 1024;

/// The WebSocket read buffer (tungstenite's default is 128 KiB per connection).
const WS_READ_BUFFER: usize = 8 * 1024;

/// tungstenite writes to the socket once this many octets are buffered (and on every flush).
const WS_WRITE_BUFFER: usize = 64 * 1024;

/// The default rustls client configuration: the ring provider and the webpki root store.
fn default_tls() -> Result<Arc<rustls::ClientConfig>, Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn connect_stream(
    endpoint: &Endpoint,
    opts: &ConnectOptions,
) -> Result<(BoxIo, Option<Vec<u8>>), Error> {
    match &endpoint.address {
        Address::Tcp { host, port } => {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            tcp.set_nodelay(true)?;
            if !endpoint.tls {
                return Ok((Box::pin(tcp), None));
            }
            let config = match &opts.tls {
                Some(c) => c.clone(),
                None => default_tls()?,
            };
            let name = opts.tls_server_name.as_deref().unwrap_or(host.as_str());
            let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
                .map_err(|_| Error::InvalidUrl("invalid TLS server name"))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(server_name, tcp)
                .await
                .map_err(|e| {
                    // A certificate or handshake failure is a TLS error, not an I/O one.
                    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                        Some(tls) => Error::Tls(tls.clone()),
                        None => Error::Io(e),
                    }
                })?;
            let mut exporter = [0u8; 32];
            let exporter = tls
                .get_ref()
                .1
                .export_keying_material(&mut exporter[..], b"EXPORTER-Channel-Binding", None)
                .ok()
                .map(|b| b.to_vec());
            Ok((Box::pin(tls), exporter))
        }
        Address::Unix(path) => {
            #[cfg(unix)]
            {
                let s = tokio::net::UnixStream::connect(path).await?;
                Ok((Box::pin(s), None))
            }
            #[cfg(not(unix))]
            {
                let _ = path;
                Err(Error::InvalidUrl(
                    "Unix sockets are not supported on this platform",
                ))
            }
        }
    }
}

impl Transport {
    /// Connects and runs the transport handshake.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        opts: &ConnectOptions,
    ) -> Result<Transport, Error> {
        let (mut io, tls_exporter) = connect_stream(endpoint, opts).await?;
        let max_in = opts
            .max_message_size
            .clamp(512, wamp_proto::link::DEFAULT_MAX_MESSAGE_SIZE);
        match &endpoint.websocket {
            Some(url) => {
                let offer = [Subprotocol::new(opts.serializer, opts.websocket_batched)];
                let mut request = url.as_str().into_client_request()?;
                let header = HeaderValue::from_str(&client_offer(&offer))
                    .map_err(|_| Error::InvalidUrl("invalid subprotocol header"))?;
                request
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", header);
                let mut link_config = LinkConfig::websocket(offer[0]);
                link_config.max_incoming = max_in;
                let ws_config = WebSocketConfig::default()
                    .read_buffer_size(WS_READ_BUFFER)
                    .write_buffer_size(WS_WRITE_BUFFER)
                    .max_write_buffer_size(
                        WS_WRITE_BUFFER
                            .saturating_add(link_config.max_outgoing)
                            .saturating_add(4096),
                    )
                    .max_message_size(Some(max_in))
                    .max_frame_size(Some(max_in));
                let (ws, response) =
                    tokio_tungstenite::client_async_with_config(request, io, Some(ws_config))
                        .await?;
                let echoed = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok());
                let chosen = validate_echo(&offer, echoed)?;
                link_config.transport = wamp_proto::link::Transport::WebSocket {
                    batched: chosen.batched,
                };
                Ok(Transport {
                    link: Link::new(link_config),
                    kind: Kind::WebSocket(Box::new(ws)),
                    wbuf: Vec::new(),
                    wqueue: Vec::new(),
                    tls_exporter,
                })
            }
            None => {
                let hs = ClientHandshake::new(opts.serializer, MaxLength::at_most(max_in));
                io.write_all(&hs.request()).await?;
                io.flush().await?;
                let mut reply = [0u8; 4];
                io.read_exact(&mut reply).await?;
                let negotiated = hs.handle_reply(reply)?;
                Ok(Transport {
                    link: Link::rawsocket(negotiated),
                    kind: Kind::RawSocket {
                        io,
                        rbuf: vec![0u8; RAWSOCKET_READ].into_boxed_slice(),
                    },
                    wbuf: Vec::new(),
                    wqueue: Vec::new(),
                    tls_exporter,
                })
            }
        }
    }

    /// The serializer in use.
    pub(crate) fn serializer(&self) -> Serializer {
        self.link.serializer()
    }

    /// Reads the next chunk or WebSocket message. Cancel-safe (it only reads).
    pub(crate) async fn read(&mut self) -> Result<Read, Error> {
        match &mut self.kind {
            Kind::WebSocket(ws) => match ws.next().await {
                Some(Ok(m)) => Ok(Read::WebSocket(m)),
                Some(Err(tungstenite::Error::ConnectionClosed)) | None => Ok(Read::Eof),
                Some(Err(e)) => Err(e.into()),
            },
            Kind::RawSocket { io, rbuf } => match io.read(&mut rbuf[..]).await? {
                0 => Ok(Read::Eof),
                n => Ok(Read::Bytes(n)),
            },
        }
    }

    /// Decodes what [`Transport::read`] returned, handing each incoming WAMP message to `f`.
    /// Returns `false` when the peer closed the connection.
    pub(crate) fn decode(
        &mut self,
        read: Read,
        mut f: impl FnMut(Result<Message, LinkError>),
    ) -> Result<bool, LinkError> {
        match read {
            Read::Eof => Ok(false),
            Read::Bytes(n) => {
                let Kind::RawSocket { rbuf, .. } = &self.kind else {
                    return Ok(true);
                };
                let mut input: &[u8] = &rbuf[..n];
                while let Some(item) = self.link.receive_rawsocket(&mut input)? {
                    match item {
                        Incoming::Message(m) => f(Ok(m)),
                        Incoming::Pong(_) => {}
                    }
                }
                if self.link.has_pending_pongs() {
                    self.link.take_pongs(&mut self.wbuf);
                }
                Ok(true)
            }
            Read::WebSocket(m) => {
                let payload: &[u8] = match &m {
                    tungstenite::Message::Text(t) => t.as_bytes(),
                    tungstenite::Message::Binary(b) => b,
                    tungstenite::Message::Close(_) => return Ok(false),
                    _ => return Ok(true),
                };
                for item in self.link.receive_websocket(payload)? {
                    match item {
                        Ok(msg) => f(Ok(msg)),
                        Err(e) => {
                            f(Err(e));
                            break;
                        }
                    }
                }
                Ok(true)
            }
        }
    }

    /// Encodes a message into the write queue (nothing is written yet).
    pub(crate) fn queue(&mut self, msg: &Message) -> Result<(), Error> {
        match &self.kind {
            Kind::RawSocket { .. } => {
                self.link.encode(msg, &mut self.wbuf)?;
            }
            Kind::WebSocket(_) => {
                let mut buf = Vec::new();
                self.link.encode(msg, &mut buf)?;
                let m = match self.link.frame_type() {
                    FrameType::Text => {
                        tungstenite::Message::Text(Utf8Bytes::try_from(buf).map_err(|_| {
                            Error::Encode(wamp_proto::EncodeError::JsonUnrepresentable)
                        })?)
                    }
                    FrameType::Binary => tungstenite::Message::Binary(buf.into()),
                };
                self.wqueue.push(m);
            }
        }
        Ok(())
    }

    /// Whether anything waits to be written.
    pub(crate) fn has_pending_writes(&self) -> bool {
        !self.wbuf.is_empty() || !self.wqueue.is_empty()
    }

    /// Writes and flushes everything queued. Not cancel-safe: never call it in a `select!`
    /// branch.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        match &mut self.kind {
            Kind::RawSocket { io, .. } => {
                if !self.wbuf.is_empty() {
                    io.write_all(&self.wbuf).await?;
                    self.wbuf.clear();
                    if self.wbuf.capacity() > 64 * 1024 {
                        self.wbuf.shrink_to(64 * 1024);
                    }
                    io.flush().await?;
                }
            }
            Kind::WebSocket(ws) => {
                if !self.wqueue.is_empty() {
                    for m in self.wqueue.drain(..) {
                        ws.feed(m).await?;
                    }
                    ws.flush().await?;
                }
            }
        }
        Ok(())
    }

    /// Closes the connection (a WebSocket close frame with `reason`'s code first). Errors are
    /// ignored: the connection is going away either way.
    pub(crate) async fn close(&mut self, reason: CloseReason) {
        let _ = self.flush().await;
        match &mut self.kind {
            Kind::RawSocket { io, .. } => {
                let _ = io.shutdown().await;
            }
            Kind::WebSocket(ws) => {
                let frame = CloseFrame {
                    code: CloseCode::from(reason.websocket_code()),
                    reason: Utf8Bytes::from_static(""),
                };
                let _ = ws.close(Some(frame)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_url_form() {
        let e = Endpoint::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(
            e.address,
            Address::Tcp {
                host: "127.0.0.1".into(),
                port: 8080
            }
        );
        assert!(!e.tls);
        assert_eq!(e.websocket.as_deref(), Some("ws://127.0.0.1:8080/ws"));

        let e = Endpoint::parse("wss://example.com").unwrap();
        assert_eq!(
            e.address,
            Address::Tcp {
                host: "example.com".into(),
                port: 443
            }
        );
        assert!(e.tls);
        assert_eq!(e.websocket.as_deref(), Some("wss://example.com/"));

        let e = Endpoint::parse("rs://[::1]:9000").unwrap();
        assert_eq!(
            e.address,
            Address::Tcp {
                host: "::1".into(),
                port: 9000
            }
        );
        assert!(e.websocket.is_none());
        assert!(!e.tls);
        assert!(Endpoint::parse("rss://localhost:9000").unwrap().tls);
        assert!(Endpoint::parse("tcps://localhost:9000/").unwrap().tls);
        assert!(!Endpoint::parse("tcp://localhost:9000").unwrap().tls);

        let e = Endpoint::parse("unix:///tmp/wamp.sock").unwrap();
        assert_eq!(e.address, Address::Unix("/tmp/wamp.sock".into()));
        assert!(e.websocket.is_none());
        let e = Endpoint::parse("unix:/tmp/wamp.sock").unwrap();
        assert_eq!(e.address, Address::Unix("/tmp/wamp.sock".into()));
        let e = Endpoint::parse("ws+unix:///tmp/wamp.sock").unwrap();
        assert!(e.websocket.is_some());

        for bad in [
            "127.0.0.1:80",
            "http://x",
            "rs://host",
            "rs://host:99999",
            "rs://host:1/path",
            "ws://",
            "ws://user@host/",
            "ws://[::1/",
            "unix://",
            "unix:relative",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
