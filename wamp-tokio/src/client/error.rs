//! The client's error type.

use wamp_proto::client::{CloseInfo, RequestError, UsageError};
use wamp_proto::link::LinkError;
use wamp_proto::rawsocket::HandshakeError;
use wamp_proto::websocket::NegotiationError;
use wamp_proto::{EncodeError, Uri};

/// Why a client operation failed.
///
/// Sorted by who is to blame: the URL or options given (`InvalidUrl`, `Usage`), the network
/// or the router's transport (`Io`, `Tls`, `WebSocket`, `Negotiation`, `Handshake`,
/// `ConnectTimeout`, `Link`), the router's WAMP answer (`Wamp`, `JoinFailed`), the session
/// ending under a request (`Lost`, `Closed`), and the application not keeping up (`Overflow`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL is not one of the supported forms (see [`super::Client::connect`]).
    #[error("invalid URL: {0}")]
    InvalidUrl(&'static str),
    /// Connecting, reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS configuration or the server's name is unusable.
    #[error("TLS error: {0}")]
    Tls(#[from] rustls::Error),
    /// The WebSocket opening handshake (or a later WebSocket frame) failed.
    #[error("WebSocket error: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The router did not agree to the WAMP subprotocol we offered.
    #[error("WebSocket subprotocol negotiation failed: {0}")]
    Negotiation(#[from] NegotiationError),
    /// The RawSocket handshake failed (including the router refusing the serializer).
    #[error("RawSocket handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// [`super::ConnectOptions::connect_timeout`] passed before the transport was ready.
    #[error("connecting timed out")]
    ConnectTimeout,
    /// The router's bytes broke the transport framing or a size limit; the connection was
    /// closed.
    #[error("transport error: {0}")]
    Link(#[from] LinkError),
    /// A message could not be encoded (for example it is larger than the router accepts);
    /// see [`super`] for what happens to the request.
    #[error("cannot encode message: {0}")]
    Encode(#[from] EncodeError),
    /// The operating system's random source failed.
    #[error("the operating system random source failed")]
    Entropy,
    /// The command is not allowed now, or its arguments are invalid: a bug or race in the
    /// application. Never sent on the wire.
    #[error("{0}")]
    Usage(#[from] UsageError),
    /// The router answered the request with an ERROR (for a cancelled call:
    /// `wamp.error.canceled`).
    #[error("the router answered with error {}", .0.error)]
    Wamp(Box<RequestError>),
    /// Joining failed: the router sent ABORT, authentication failed, the join timed out, or
    /// the transport closed.
    #[error("joining failed: {}", .0.reason)]
    JoinFailed(Box<CloseInfo>),
    /// The challenge handler of [`super::Client::join_with`] gave up; the join was aborted.
    #[error("the challenge handler refused to authenticate")]
    AuthenticationRefused,
    /// The session ended before the router answered the request.
    #[error("the session ended before the request was answered")]
    Lost,
    /// The connection is closed (or closing): no more commands are accepted.
    #[error("the connection is closed")]
    Closed,
    /// The application did not read a bounded queue fast enough; see [`super`] for the
    /// policy of each queue.
    #[error("the application did not keep up: queue overflow")]
    Overflow,
}

impl Error {
    /// The WAMP error URI, when the router answered with ERROR.
    pub fn wamp_error(&self) -> Option<&Uri> {
        match self {
            Error::Wamp(e) => Some(&e.error),
            _ => None,
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Error::WebSocket(Box::new(e))
    }
}
