//! The per-connection transport layer both adapters use: bytes in and out, [`Message`]s across.
//!
//! A [`Link`] is built once the transport handshake is done, from a RawSocket [`Negotiated`] or a
//! WebSocket [`Subprotocol`] (or a full [`LinkConfig`]). It knows the serializer, the framing and
//! the size limits of both directions, and holds no IO.
//!
//! **Incoming.** RawSocket: pass the bytes read from the stream, in chunks of any size, to
//! [`Link::receive_rawsocket`] and call it until it returns `Ok(None)`; it yields decoded
//! messages and PONGs, answers every PING by queuing a PONG with the same payload (take them
//! with [`Link::take_pongs`] and write them out right away), and buffers at most one partial
//! frame. WebSocket: pass each whole WebSocket message (fragments reassembled by the WebSocket
//! library) to [`Link::receive_websocket`], which yields its message, or every message of a
//! batch. Any [`LinkError`] means the connection must be closed ([`LinkError::close_reason`]);
//! for a [`LinkError::Decode`] on an established session a peer may first send ABORT
//! `wamp.error.protocol_violation` (the session layers decide; Autobahn and Crossbar just close).
//!
//! **Outgoing.** [`Link::encode`] serializes a message straight into the caller's buffer with the
//! framing around it: the RawSocket header, nothing for a plain WebSocket message, or one batch
//! element (the caller sends everything accumulated as one WebSocket message). A message larger
//! than the peer accepts is refused with [`EncodeError::TooLarge`] and the buffer is left as it
//! was. The peer's WebSocket size limit applies to a whole batch: send the batch before adding
//! an element would take it past [`Link::max_outgoing`]. For fan-out, encode a message once per serializer ([`EncodeCache`], or
//! [`Serializer::encode`] into a shared buffer) and frame the same bytes for every recipient
//! with [`Link::write_encoded`] or [`Link::envelope`] (prefix and suffix octets for vectored
//! writes, no copy of the payload).
//!
//! **Limits** (every one is per link):
//! * `max_incoming`: largest incoming WAMP message, in octets. RawSocket: what we announced in
//!   the handshake (at most 16 MiB, checked from the frame header before any payload is
//!   buffered; it also bounds PING and PONG payloads). WebSocket: default
//!   [`DEFAULT_MAX_MESSAGE_SIZE`] (16 MiB), checked per message, and per element in a batch (the
//!   WebSocket library's own message size limit bounds a whole batch; set it from the same
//!   config).
//! * `max_outgoing`: largest WAMP message we send. RawSocket: what the peer announced.
//!   WebSocket: default [`DEFAULT_MAX_MESSAGE_SIZE`].
//! * `decode_limits`: nesting depth and element count per message ([`DecodeLimits`], default
//!   64 levels and 1,000,000 values).
//! * `max_pending_pongs`: octets of PONG frames waiting to be taken, default
//!   [`DEFAULT_MAX_PENDING_PONGS`] (64 KiB); one PONG is always accepted when none is pending,
//!   however large its PING, so the bound is `max(this, one frame)`.
//!
//! ```
//! use wamp_proto::{Message, Serializer};
//! use wamp_proto::link::{Incoming, Link};
//! use wamp_proto::message::Goodbye;
//! use wamp_proto::rawsocket::{ClientHandshake, MaxLength, ServerHandshake};
//!
//! let client_hs = ClientHandshake::new(Serializer::Cbor, MaxLength::MAX);
//! let server_hs = ServerHandshake::new(&Serializer::ALL, MaxLength::MAX);
//! let (at_server, reply) = server_hs.handle_request(client_hs.request()).unwrap();
//! let client = Link::rawsocket(client_hs.handle_reply(reply).unwrap());
//! let mut server = Link::rawsocket(at_server);
//!
//! let bye: Message = Goodbye { details: Default::default(), reason: "wamp.close.normal".into() }.into();
//! let mut wire = Vec::new();
//! client.encode(&bye, &mut wire).unwrap();
//!
//! let mut input: &[u8] = &wire;
//! let mut got = Vec::new();
//! while let Some(item) = server.receive_rawsocket(&mut input).unwrap() {
//!     got.push(item);
//! }
//! assert_eq!(got, [Incoming::Message(bye)]);
//! ```

use crate::batch::{self, JsonSeparator};
use crate::error::{DecodeError, EncodeError};
use crate::message::Message;
use crate::rawsocket::{
    FrameDecoder, FrameError, FrameHeader, FrameKind, HEADER_LEN, MAX_PAYLOAD, Negotiated,
};
use crate::serializer::Serializer;
use crate::value::DecodeLimits;
use crate::websocket::{CloseReason, FrameType, Subprotocol};

/// Default maximum WAMP message size in each direction on WebSocket: 16 MiB (the RawSocket
/// maximum too).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = MAX_PAYLOAD;

/// Default bound on PONG octets queued and not yet taken: 64 KiB.
pub const DEFAULT_MAX_PENDING_PONGS: usize = 64 * 1024;

/// The transport under a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// RawSocket framing over a byte stream.
    RawSocket,
    /// WebSocket: one WAMP message per WebSocket message, or batches.
    WebSocket {
        /// `wamp.2.<serializer>.batched`.
        batched: bool,
    },
}

/// Everything a [`Link`] is built from. The module docs describe each limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// The transport and framing.
    pub transport: Transport,
    /// The serializer of every message.
    pub serializer: Serializer,
    /// Largest incoming message in octets (RawSocket: capped at 16 MiB).
    pub max_incoming: usize,
    /// Largest outgoing message in octets (RawSocket: capped at 16 MiB).
    pub max_outgoing: usize,
    /// Limits on each decoded message's value tree.
    pub decode_limits: DecodeLimits,
    /// The separator written after each JSON message of a batch (input accepts both). Default
    /// [`JsonSeparator::Autobahn`] (`0x18`).
    pub json_separator: JsonSeparator,
    /// Bound on queued PONG octets. Default [`DEFAULT_MAX_PENDING_PONGS`].
    pub max_pending_pongs: usize,
}

impl LinkConfig {
    /// RawSocket after a handshake: limits from the handshake, other settings default.
    pub fn rawsocket(negotiated: Negotiated) -> Self {
        LinkConfig {
            transport: Transport::RawSocket,
            serializer: negotiated.serializer,
            max_incoming: negotiated.max_receive.bytes(),
            max_outgoing: negotiated.max_send.bytes(),
            decode_limits: DecodeLimits::default(),
            json_separator: JsonSeparator::default(),
            max_pending_pongs: DEFAULT_MAX_PENDING_PONGS,
        }
    }

    /// WebSocket with a negotiated subprotocol; sizes default to [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub fn websocket(subprotocol: Subprotocol) -> Self {
        LinkConfig {
            transport: Transport::WebSocket {
                batched: subprotocol.batched,
            },
            serializer: subprotocol.serializer,
            max_incoming: DEFAULT_MAX_MESSAGE_SIZE,
            max_outgoing: DEFAULT_MAX_MESSAGE_SIZE,
            decode_limits: DecodeLimits::default(),
            json_separator: JsonSeparator::default(),
            max_pending_pongs: DEFAULT_MAX_PENDING_PONGS,
        }
    }
}

/// Something received, other than a PING (PINGs are answered inside the link).
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    /// A WAMP message.
    Message(Message),
    /// A RawSocket PONG with its payload.
    Pong(Vec<u8>),
}

/// Receiving failed: close the connection (see [`LinkError::close_reason`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// A malformed RawSocket frame (an oversize one is [`LinkError::TooLarge`]).
    #[error("RawSocket framing error: {0}")]
    Frame(FrameError),
    /// A malformed WAMP message or batch.
    #[error("undecodable message: {0}")]
    Decode(DecodeError),
    /// An incoming message (or frame) is larger than our limit, or a PING is larger than the
    /// peer accepts back as a PONG.
    #[error("message of {size} octets exceeds the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The peer sends PINGs faster than their PONGs are taken.
    #[error("more than {limit} octets of PONG replies pending")]
    PongBacklog {
        /// The configured bound.
        limit: usize,
    },
    /// A local bug: a RawSocket method on a WebSocket link or the other way round.
    #[error("this call does not match the link's transport")]
    WrongTransport,
}

impl LinkError {
    /// How to close: 1009 for oversize input, 1011 for our own bug, 1002 for the rest.
    pub const fn close_reason(&self) -> CloseReason {
        match self {
            LinkError::TooLarge { .. } => CloseReason::MessageTooBig,
            LinkError::WrongTransport => CloseReason::Internal,
            LinkError::Frame(_) | LinkError::Decode(_) | LinkError::PongBacklog { .. } => {
                CloseReason::ProtocolError
            }
        }
    }

    fn from_frame(e: FrameError) -> Self {
        match e {
            FrameError::TooLarge { size, limit } => LinkError::TooLarge { size, limit },
            e => LinkError::Frame(e),
        }
    }
}

/// The per-connection transport layer; see the [module docs](self).
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    decoder: FrameDecoder,
    pongs: Vec<u8>,
}

impl Link {
    /// A link with `config` (RawSocket sizes are capped at 16 MiB).
    pub fn new(mut config: LinkConfig) -> Self {
        if config.transport == Transport::RawSocket {
            config.max_incoming = config.max_incoming.min(MAX_PAYLOAD);
            config.max_outgoing = config.max_outgoing.min(MAX_PAYLOAD);
        }
        Link {
            config,
            decoder: FrameDecoder::new(config.max_incoming),
            pongs: Vec::new(),
        }
    }

    /// A RawSocket link with default settings and the handshake's limits.
    pub fn rawsocket(negotiated: Negotiated) -> Self {
        Link::new(LinkConfig::rawsocket(negotiated))
    }

    /// A WebSocket link with default settings.
    pub fn websocket(subprotocol: Subprotocol) -> Self {
        Link::new(LinkConfig::websocket(subprotocol))
    }

    /// The configuration (after capping).
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The serializer: links sharing it can share encoded bytes.
    pub fn serializer(&self) -> Serializer {
        self.config.serializer
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.config.transport
    }

    /// The WebSocket subprotocol, for a WebSocket link.
    pub fn subprotocol(&self) -> Option<Subprotocol> {
        match self.config.transport {
            Transport::WebSocket { batched } => {
                Some(Subprotocol::new(self.config.serializer, batched))
            }
            Transport::RawSocket => None,
        }
    }

    /// The WebSocket frame type to send (text for JSON, binary otherwise).
    pub fn frame_type(&self) -> FrameType {
        Subprotocol::new(self.config.serializer, false).frame_type()
    }

    /// Largest incoming message.
    pub fn max_incoming(&self) -> usize {
        self.config.max_incoming
    }

    /// Largest outgoing message.
    pub fn max_outgoing(&self) -> usize {
        self.config.max_outgoing
    }

    // -----------------------------------------------------------------------------------------
    // Incoming
    // -----------------------------------------------------------------------------------------

    /// RawSocket: consumes octets from the front of `input` (advancing it) and returns the next
    /// message or PONG. `Ok(None)`: `input` is fully consumed and a partial frame, if any, is
    /// buffered; call again with the next chunk. PINGs are answered on the way (see
    /// [`Link::take_pongs`]).
    pub fn receive_rawsocket(&mut self, input: &mut &[u8]) -> Result<Option<Incoming>, LinkError> {
        if self.config.transport != Transport::RawSocket {
            return Err(LinkError::WrongTransport);
        }
        loop {
            let data: &[u8] = input;
            let (used, frame) = self.decoder.decode(data).map_err(LinkError::from_frame)?;
            *input = &data[used..];
            let Some(frame) = frame else {
                return Ok(None);
            };
            match frame.kind {
                FrameKind::Message => {
                    return self
                        .config
                        .serializer
                        .decode_with_limits(frame.payload, self.config.decode_limits)
                        .map(|m| Some(Incoming::Message(m)))
                        .map_err(LinkError::Decode);
                }
                FrameKind::Pong => return Ok(Some(Incoming::Pong(frame.payload.to_vec()))),
                FrameKind::Ping => queue_pong(&mut self.pongs, &self.config, frame.payload)?,
            }
        }
    }

    /// WebSocket: the messages in one whole WebSocket message (text or binary). An iterator
    /// over the batch for a batched subprotocol (an empty batch fails here), else over exactly
    /// one message. It borrows only `payload`, so the link stays usable while iterating; it
    /// ends after the first error.
    pub fn receive_websocket<'a>(
        &self,
        payload: &'a [u8],
    ) -> Result<WebSocketMessages<'a>, LinkError> {
        let Transport::WebSocket { batched } = self.config.transport else {
            return Err(LinkError::WrongTransport);
        };
        let parts = if batched {
            Parts::Batch(batch::split(self.config.serializer, payload).map_err(LinkError::Decode)?)
        } else {
            Parts::Single(Some(payload))
        };
        Ok(WebSocketMessages {
            parts,
            serializer: self.config.serializer,
            limits: self.config.decode_limits,
            max_incoming: self.config.max_incoming,
        })
    }

    /// Whether PONG replies wait to be sent.
    pub fn has_pending_pongs(&self) -> bool {
        !self.pongs.is_empty()
    }

    /// Moves the queued PONG frames (complete RawSocket frames) to the end of `out`.
    pub fn take_pongs(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.pongs);
        self.pongs.clear();
        if self.pongs.capacity() > self.config.max_pending_pongs {
            self.pongs = Vec::new();
        }
    }

    // -----------------------------------------------------------------------------------------
    // Outgoing
    // -----------------------------------------------------------------------------------------

    /// Appends `msg`, serialized and framed, to `out`: a RawSocket frame, a whole WebSocket
    /// message, or one element of a batch (send the accumulated batch as one WebSocket
    /// message). Fails with [`EncodeError::TooLarge`] above the peer's limit; on any error
    /// `out` is left as it was.
    pub fn encode(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let r = self.encode_unchecked(msg, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn encode_unchecked(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let s = self.config.serializer;
        match self.config.transport {
            Transport::RawSocket => {
                out.extend_from_slice(&[0; HEADER_LEN]);
                s.encode(msg, out)?;
                let len = out.len() - start - HEADER_LEN;
                self.check_outgoing(len)?;
                let header = self.header(len)?;
                out[start..start + HEADER_LEN].copy_from_slice(&header);
                Ok(())
            }
            Transport::WebSocket { batched: false } => {
                s.encode(msg, out)?;
                self.check_outgoing(out.len() - start)
            }
            Transport::WebSocket { batched: true } => {
                let len = batch::encode_into(s, self.config.json_separator, msg, out)?;
                self.check_outgoing(len)
            }
        }
    }

    /// The octets that go before and after an encoded payload of `payload_len` octets on this
    /// link. Fails with [`EncodeError::TooLarge`] above the peer's limit.
    pub fn envelope(&self, payload_len: usize) -> Result<Envelope, EncodeError> {
        self.check_outgoing(payload_len)?;
        let mut e = Envelope::default();
        match self.config.transport {
            Transport::RawSocket => {
                e.prefix = self.header(payload_len)?;
                e.prefix_len = HEADER_LEN as u8;
            }
            Transport::WebSocket { batched: false } => {}
            Transport::WebSocket { batched: true } => {
                if self.config.serializer.is_binary() {
                    let len = u32::try_from(payload_len).map_err(|_| EncodeError::TooLarge {
                        size: payload_len,
                        limit: u32::MAX as usize,
                    })?;
                    e.prefix = len.to_be_bytes();
                    e.prefix_len = batch::LENGTH_PREFIX_LEN as u8;
                } else {
                    e.suffix = self.config.json_separator.byte();
                    e.has_suffix = true;
                }
            }
        }
        Ok(e)
    }

    /// Appends a payload already encoded with [`Link::serializer`] to `out`, framed as
    /// [`Link::encode`] would. Fails with [`EncodeError::TooLarge`] above the peer's limit,
    /// leaving `out` untouched.
    pub fn write_encoded(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let e = self.envelope(payload.len())?;
        out.reserve(e.prefix().len() + payload.len() + e.suffix().len());
        out.extend_from_slice(e.prefix());
        out.extend_from_slice(payload);
        out.extend_from_slice(e.suffix());
        Ok(())
    }

    fn check_outgoing(&self, size: usize) -> Result<(), EncodeError> {
        if size > self.config.max_outgoing {
            Err(EncodeError::TooLarge {
                size,
                limit: self.config.max_outgoing,
            })
        } else {
            Ok(())
        }
    }

    fn header(&self, len: usize) -> Result<[u8; 4], EncodeError> {
        FrameHeader {
            kind: FrameKind::Message,
            len,
        }
        .encode()
        .map_err(|_| EncodeError::TooLarge {
            size: len,
            limit: MAX_PAYLOAD,
        })
    }
}

/// Queues a PONG echoing `payload`, within the bounds.
fn queue_pong(pongs: &mut Vec<u8>, config: &LinkConfig, payload: &[u8]) -> Result<(), LinkError> {
    if payload.len() > config.max_outgoing {
        return Err(LinkError::TooLarge {
            size: payload.len(),
            limit: config.max_outgoing,
        });
    }
    if !pongs.is_empty() && pongs.len() + HEADER_LEN + payload.len() > config.max_pending_pongs {
        return Err(LinkError::PongBacklog {
            limit: config.max_pending_pongs,
        });
    }
    crate::rawsocket::encode_frame(FrameKind::Pong, payload, pongs).map_err(LinkError::from_frame)
}

/// The framing octets around an encoded payload on one link; see [`Link::envelope`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    prefix: [u8; 4],
    prefix_len: u8,
    suffix: u8,
    has_suffix: bool,
}

impl Envelope {
    /// Octets before the payload (RawSocket header, batch length prefix, or none).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix[..usize::from(self.prefix_len)]
    }

    /// Octets after the payload (the JSON batch separator, or none).
    pub fn suffix(&self) -> &[u8] {
        if self.has_suffix {
            std::slice::from_ref(&self.suffix)
        } else {
            &[]
        }
    }
}

#[derive(Clone, Debug)]
enum Parts<'a> {
    Single(Option<&'a [u8]>),
    Batch(batch::Split<'a>),
}

/// The messages of one WebSocket message; see [`Link::receive_websocket`].
#[derive(Clone, Debug)]
pub struct WebSocketMessages<'a> {
    parts: Parts<'a>,
    serializer: Serializer,
    limits: DecodeLimits,
    max_incoming: usize,
}

impl WebSocketMessages<'_> {
    fn decode(&self, bytes: &[u8]) -> Result<Message, LinkError> {
        if bytes.len() > self.max_incoming {
            return Err(LinkError::TooLarge {
                size: bytes.len(),
                limit: self.max_incoming,
            });
        }
        self.serializer
            .decode_with_limits(bytes, self.limits)
            .map_err(LinkError::Decode)
    }

    fn stop(&mut self) {
        self.parts = Parts::Single(None);
    }
}

impl Iterator for WebSocketMessages<'_> {
    type Item = Result<Message, LinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = match &mut self.parts {
            Parts::Single(p) => p.take()?,
            Parts::Batch(split) => match split.next()? {
                Ok(b) => b,
                Err(e) => {
                    self.stop();
                    return Some(Err(LinkError::Decode(e)));
                }
            },
        };
        let r = self.decode(bytes);
        if r.is_err() {
            self.stop();
        }
        Some(r)
    }
}

impl std::iter::FusedIterator for WebSocketMessages<'_> {}

/// A message encoded at most once per serializer, for fan-out to many links.
///
/// The cache owns its buffers and keeps them from one message to the next (no allocation in
/// steady state). [`EncodeCache::begin`] starts a message; the returned [`Encodings`] is tied to
/// that message, so stale bytes of an earlier message cannot be sent by mistake.
///
/// ```
/// use wamp_proto::{Message, Serializer};
/// use wamp_proto::link::{EncodeCache, Link};
/// use wamp_proto::message::Goodbye;
/// use wamp_proto::websocket::Subprotocol;
///
/// let links = [
///     Link::websocket(Subprotocol::new(Serializer::Json, false)),
///     Link::websocket(Subprotocol::new(Serializer::Json, true)),
///     Link::websocket(Subprotocol::new(Serializer::Cbor, false)),
/// ];
/// let msg: Message = Goodbye { details: Default::default(), reason: "wamp.close.normal".into() }.into();
/// let mut cache = EncodeCache::new();
/// let mut enc = cache.begin(&msg);
/// for link in &links {
///     let mut out = Vec::new();
///     enc.write(link, &mut out).unwrap(); // JSON encoded once, CBOR once
/// }
/// assert_eq!(enc.encoded_count(), 2);
/// ```
#[derive(Debug, Default)]
pub struct EncodeCache {
    slots: Vec<Slot>,
}

#[derive(Debug)]
struct Slot {
    serializer: Serializer,
    bytes: Vec<u8>,
    state: Option<Result<(), EncodeError>>,
}

impl EncodeCache {
    /// An empty cache.
    pub fn new() -> Self {
        EncodeCache::default()
    }

    /// Starts encoding `msg`, forgetting the previous message's encodings (keeping buffers).
    pub fn begin<'a>(&'a mut self, msg: &'a Message) -> Encodings<'a> {
        for slot in &mut self.slots {
            slot.state = None;
            slot.bytes.clear();
            if slot.bytes.capacity() > crate::rawsocket::RETAINED_BUFFER {
                slot.bytes = Vec::new();
            }
        }
        Encodings { cache: self, msg }
    }
}

/// The encodings of one message; see [`EncodeCache`].
#[derive(Debug)]
pub struct Encodings<'a> {
    cache: &'a mut EncodeCache,
    msg: &'a Message,
}

impl Encodings<'_> {
    /// The message encoded with `serializer` (encoded now if it is the first request).
    pub fn get(&mut self, serializer: Serializer) -> Result<&[u8], EncodeError> {
        let i = match self
            .cache
            .slots
            .iter()
            .position(|s| s.serializer == serializer)
        {
            Some(i) => i,
            None => {
                self.cache.slots.push(Slot {
                    serializer,
                    bytes: Vec::new(),
                    state: None,
                });
                self.cache.slots.len() - 1
            }
        };
        let msg = self.msg;
        // `i` indexes an existing or just pushed slot.
        let slot = &mut self.cache.slots[i];
        let state = slot
            .state
            .get_or_insert_with(|| serializer.encode(msg, &mut slot.bytes));
        match state {
            Ok(()) => Ok(&slot.bytes),
            Err(e) => Err(e.clone()),
        }
    }

    /// Appends the message framed for `link` to `out`, encoding it only if no earlier link
    /// shared the serializer.
    pub fn write(&mut self, link: &Link, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let bytes = self.get(link.serializer())?;
        link.write_encoded(bytes, out)
    }

    /// How many serializers this message was encoded with so far.
    pub fn encoded_count(&self) -> usize {
        self.cache
            .slots
            .iter()
            .filter(|s| s.state.is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{PublicationId, RequestId, SubscriptionId};
    use crate::message::{Call, Event, Goodbye, Hello, Payload};
    use crate::rawsocket::{ClientHandshake, MaxLength, ServerHandshake, encode_frame};
    use crate::{Dict, Value};
    use proptest::prelude::*;

    fn messages() -> Vec<Message> {
        vec![
            Hello {
                realm: "realm1".into(),
                details: Dict::new().with("roles", Dict::new().with("caller", Dict::new())),
            }
            .into(),
            Call {
                request: RequestId::new(1).unwrap(),
                options: Dict::new(),
                procedure: "com.example.add".into(),
                payload: Payload::new(
                    vec![Value::from(2), Value::Bytes(vec![0x18, 0x1E, 0, 255])],
                    Dict::new().with("k", "\u{1e}\u{18}"),
                ),
            }
            .into(),
            Event {
                subscription: SubscriptionId::new(5).unwrap(),
                publication: PublicationId::new(1 << 53).unwrap(),
                details: Dict::new(),
                payload: Payload::args(vec![Value::from("x".repeat(3000))]),
            }
            .into(),
            Goodbye {
                details: Dict::new(),
                reason: "wamp.close.normal".into(),
            }
            .into(),
        ]
    }

    fn rawsocket_pair(s: Serializer) -> (Link, Link) {
        let c = ClientHandshake::new(s, MaxLength::MAX);
        let srv = ServerHandshake::new(&Serializer::ALL, MaxLength::MAX);
        let (at_server, reply) = srv.handle_request(c.request()).unwrap();
        (
            Link::rawsocket(c.handle_reply(reply).unwrap()),
            Link::rawsocket(at_server),
        )
    }

    fn drain(link: &mut Link, chunks: &[&[u8]]) -> Result<Vec<Incoming>, LinkError> {
        let mut got = Vec::new();
        for chunk in chunks {
            let mut input: &[u8] = chunk;
            while let Some(item) = link.receive_rawsocket(&mut input)? {
                got.push(item);
            }
            assert!(input.is_empty());
        }
        Ok(got)
    }

    fn as_incoming(msgs: &[Message]) -> Vec<Incoming> {
        msgs.iter().cloned().map(Incoming::Message).collect()
    }

    #[test]
    fn rawsocket_round_trip_every_serializer() {
        for s in Serializer::ALL {
            let (client, mut server) = rawsocket_pair(s);
            let mut wire = Vec::new();
            for m in messages() {
                client.encode(&m, &mut wire).unwrap();
            }
            let got = drain(&mut server, &[&wire]).unwrap();
            assert_eq!(got, as_incoming(&messages()), "{s:?}");
            // Byte by byte.
            let chunks: Vec<&[u8]> = wire.chunks(1).collect();
            assert_eq!(
                drain(&mut server, &chunks).unwrap(),
                as_incoming(&messages())
            );
        }
    }

    #[test]
    fn rawsocket_every_split_point() {
        let (client, mut server) = rawsocket_pair(Serializer::MsgPack);
        let mut wire = Vec::new();
        let msgs = messages();
        for m in &msgs[..2] {
            client.encode(m, &mut wire).unwrap();
        }
        encode_frame(FrameKind::Ping, b"p", &mut wire).unwrap();
        client.encode(&msgs[3], &mut wire).unwrap();
        let want = as_incoming(&[msgs[0].clone(), msgs[1].clone(), msgs[3].clone()]);
        for cut in 0..=wire.len() {
            let got = drain(&mut server, &[&wire[..cut], &wire[cut..]]).unwrap();
            assert_eq!(got, want, "cut at {cut}");
            let mut pongs = Vec::new();
            server.take_pongs(&mut pongs);
            assert_eq!(pongs, [2, 0, 0, 1, b'p']);
        }
    }

    #[test]
    fn websocket_round_trip_every_serializer_batched_or_not() {
        for p in Subprotocol::all() {
            let tx = Link::websocket(p);
            let rx = Link::websocket(p);
            assert_eq!(tx.subprotocol(), Some(p));
            assert_eq!(tx.frame_type(), p.frame_type());
            if p.batched {
                let mut ws_msg = Vec::new();
                for m in messages() {
                    tx.encode(&m, &mut ws_msg).unwrap();
                }
                let got: Vec<Message> = rx
                    .receive_websocket(&ws_msg)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(got, messages(), "{p}");
            } else {
                for m in messages() {
                    let mut ws_msg = Vec::new();
                    tx.encode(&m, &mut ws_msg).unwrap();
                    assert_eq!(ws_msg, p.serializer.encode_to_vec(&m).unwrap());
                    let got: Vec<Message> = rx
                        .receive_websocket(&ws_msg)
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert_eq!(got, [m], "{p}");
                }
            }
        }
    }

    #[test]
    fn json_batches_use_the_configured_separator() {
        let p = Subprotocol::new(Serializer::Json, true);
        let m = &messages()[3];
        let mut out = Vec::new();
        Link::websocket(p).encode(m, &mut out).unwrap();
        assert_eq!(out.last(), Some(&0x18));
        let mut cfg = LinkConfig::websocket(p);
        cfg.json_separator = JsonSeparator::RecordSeparator;
        let spec = Link::new(cfg);
        out.clear();
        spec.encode(m, &mut out).unwrap();
        assert_eq!(out.last(), Some(&0x1E));
        // Mixed separators in one batch are fine.
        Link::websocket(p).encode(m, &mut out).unwrap();
        let n = Link::websocket(p).receive_websocket(&out).unwrap().count();
        assert_eq!(n, 2);
    }

    #[test]
    fn websocket_errors() {
        let batched = Link::websocket(Subprotocol::new(Serializer::Cbor, true));
        assert!(matches!(
            batched.receive_websocket(b""),
            Err(LinkError::Decode(DecodeError::InvalidBatch))
        ));
        // A good element, then a bad prefix: one message, then the error, then the end.
        let mut b = Vec::new();
        batched.encode(&messages()[3], &mut b).unwrap();
        b.extend_from_slice(&[0, 0, 0, 9, 1]);
        let mut it = batched.receive_websocket(&b).unwrap();
        assert_eq!(it.next(), Some(Ok(messages()[3].clone())));
        assert_eq!(
            it.next(),
            Some(Err(LinkError::Decode(DecodeError::InvalidBatch)))
        );
        assert_eq!(it.next(), None);
        // Undecodable element.
        let mut it = batched.receive_websocket(&[0, 0, 0, 1, 0xff]).unwrap();
        assert!(matches!(it.next(), Some(Err(LinkError::Decode(_)))));
        assert_eq!(it.next(), None);
        // Plain: an empty message is a decode error, garbage too.
        let plain = Link::websocket(Subprotocol::new(Serializer::Json, false));
        let mut it = plain.receive_websocket(b"").unwrap();
        assert!(matches!(it.next(), Some(Err(LinkError::Decode(_)))));
        assert_eq!(it.next(), None);
        // Too large.
        let mut cfg = LinkConfig::websocket(Subprotocol::new(Serializer::Json, false));
        cfg.max_incoming = 10;
        let small = Link::new(cfg);
        let mut it = small
            .receive_websocket(b"[6,{},\"wamp.close.normal\"]")
            .unwrap();
        assert_eq!(
            it.next(),
            Some(Err(LinkError::TooLarge {
                size: 26,
                limit: 10
            }))
        );
        assert_eq!(
            LinkError::TooLarge { size: 1, limit: 0 }.close_reason(),
            CloseReason::MessageTooBig
        );
        // Wrong transport.
        assert_eq!(plain.receive_websocket(b"x").map(|_| ()), Ok(()));
        let (mut rs, _) = rawsocket_pair(Serializer::Json);
        assert!(matches!(
            rs.receive_websocket(b"x"),
            Err(LinkError::WrongTransport)
        ));
        let mut plain = plain;
        let mut input: &[u8] = b"x";
        assert_eq!(
            plain.receive_rawsocket(&mut input),
            Err(LinkError::WrongTransport)
        );
        assert_eq!(
            LinkError::WrongTransport.close_reason(),
            CloseReason::Internal
        );
        let mut input: &[u8] = &[];
        assert_eq!(rs.receive_rawsocket(&mut input), Ok(None));
    }

    #[test]
    fn rawsocket_limits_both_ways() {
        let c = ClientHandshake::new(Serializer::Json, MaxLength::MIN);
        let srv = ServerHandshake::new(&[Serializer::Json], MaxLength::MIN);
        let (at_server, reply) = srv.handle_request(c.request()).unwrap();
        let client = Link::rawsocket(c.handle_reply(reply).unwrap());
        let mut server = Link::rawsocket(at_server);
        assert_eq!(client.max_outgoing(), 512);
        assert_eq!(server.max_incoming(), 512);
        // Outgoing: refused, buffer untouched.
        let big = &messages()[2];
        let mut out = b"keep".to_vec();
        assert!(matches!(
            client.encode(big, &mut out),
            Err(EncodeError::TooLarge { limit: 512, .. })
        ));
        assert_eq!(out, b"keep");
        assert!(matches!(
            client.write_encoded(&[0; 513], &mut out),
            Err(EncodeError::TooLarge {
                size: 513,
                limit: 512
            })
        ));
        assert_eq!(out, b"keep");
        // Incoming: refused from the header alone.
        let mut input: &[u8] = &[0, 0, 2, 1];
        assert_eq!(
            server.receive_rawsocket(&mut input),
            Err(LinkError::TooLarge {
                size: 513,
                limit: 512
            })
        );
        // Exactly at the limit is fine.
        let (_, mut server) = {
            let (at_server, reply) = srv.handle_request(c.request()).unwrap();
            (c.handle_reply(reply).unwrap(), Link::rawsocket(at_server))
        };
        let mut wire = Vec::new();
        encode_frame(FrameKind::Pong, &[1; 512], &mut wire).unwrap();
        assert_eq!(
            drain(&mut server, &[&wire]).unwrap(),
            [Incoming::Pong(vec![1; 512])]
        );
    }

    #[test]
    fn framing_errors_are_typed() {
        let (_, mut server) = rawsocket_pair(Serializer::Json);
        let mut input: &[u8] = &[3, 0, 0, 0];
        assert_eq!(
            server.receive_rawsocket(&mut input),
            Err(LinkError::Frame(FrameError::ReservedType(3)))
        );
        assert_eq!(
            LinkError::Frame(FrameError::ReservedBits).close_reason(),
            CloseReason::ProtocolError
        );
        let (_, mut server) = rawsocket_pair(Serializer::Json);
        let mut input: &[u8] = &[0, 0, 0, 2, b'[', b']'];
        assert_eq!(
            server.receive_rawsocket(&mut input),
            Err(LinkError::Decode(DecodeError::Empty))
        );
        let (_, mut server) = rawsocket_pair(Serializer::Json);
        let mut input: &[u8] = &[0, 0, 0, 0];
        assert!(matches!(
            server.receive_rawsocket(&mut input),
            Err(LinkError::Decode(DecodeError::Syntax(_)))
        ));
    }

    #[test]
    fn pings_are_answered_and_bounded() {
        let (_, mut server) = rawsocket_pair(Serializer::Cbor);
        let mut wire = Vec::new();
        encode_frame(FrameKind::Ping, b"", &mut wire).unwrap();
        encode_frame(FrameKind::Ping, b"abc", &mut wire).unwrap();
        encode_frame(FrameKind::Pong, b"z", &mut wire).unwrap();
        assert_eq!(
            drain(&mut server, &[&wire]).unwrap(),
            [Incoming::Pong(b"z".to_vec())]
        );
        assert!(server.has_pending_pongs());
        let mut out = Vec::new();
        server.take_pongs(&mut out);
        assert_eq!(out, [2, 0, 0, 0, 2, 0, 0, 3, b'a', b'b', b'c']);
        assert!(!server.has_pending_pongs());

        // A big PING is answered even above the backlog bound, a second one is not.
        let mut wire = Vec::new();
        let payload = vec![9u8; DEFAULT_MAX_PENDING_PONGS + 10];
        encode_frame(FrameKind::Ping, &payload, &mut wire).unwrap();
        assert_eq!(drain(&mut server, &[&wire]), Ok(vec![]));
        assert_eq!(
            drain(&mut server, &[&wire]),
            Err(LinkError::PongBacklog {
                limit: DEFAULT_MAX_PENDING_PONGS
            })
        );
        // A PING larger than the peer receives cannot be echoed.
        let c = ClientHandshake::new(Serializer::Json, MaxLength::MIN);
        let srv = ServerHandshake::new(&[Serializer::Json], MaxLength::MAX);
        let (at_server, _) = srv.handle_request(c.request()).unwrap();
        let mut server = Link::rawsocket(at_server);
        let mut wire = Vec::new();
        encode_frame(FrameKind::Ping, &[0; 513], &mut wire).unwrap();
        assert_eq!(
            drain(&mut server, &[&wire]),
            Err(LinkError::TooLarge {
                size: 513,
                limit: 512
            })
        );
    }

    #[test]
    fn envelopes_match_encode() {
        let mut links: Vec<Link> = Subprotocol::all().map(Link::websocket).collect();
        for s in Serializer::ALL {
            links.push(rawsocket_pair(s).0);
        }
        let msgs = messages();
        let mut cache = EncodeCache::new();
        for m in &msgs {
            let mut enc = cache.begin(m);
            for link in &links {
                let mut direct = Vec::new();
                link.encode(m, &mut direct).unwrap();
                let mut shared = Vec::new();
                enc.write(link, &mut shared).unwrap();
                assert_eq!(direct, shared, "{:?}", link.config());
                let payload = link.serializer().encode_to_vec(m).unwrap();
                let e = link.envelope(payload.len()).unwrap();
                let mut vectored = e.prefix().to_vec();
                vectored.extend_from_slice(&payload);
                vectored.extend_from_slice(e.suffix());
                assert_eq!(direct, vectored);
            }
            assert_eq!(enc.encoded_count(), Serializer::ALL.len());
        }
        // The cache reports encoding errors every time, without caching bytes.
        let nan: Message = Call {
            request: RequestId::new(1).unwrap(),
            options: Dict::new(),
            procedure: "p".into(),
            payload: Payload::args(vec![Value::Float(f64::NAN)]),
        }
        .into();
        let mut enc = cache.begin(&nan);
        assert!(enc.get(Serializer::Json).is_err());
        assert!(enc.get(Serializer::Json).is_err());
        assert!(enc.get(Serializer::Cbor).is_ok());
        let json = Link::websocket(Subprotocol::new(Serializer::Json, false));
        let mut out = vec![];
        assert!(json.encode(&nan, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn decode_limits_apply() {
        let mut cfg = LinkConfig::websocket(Subprotocol::new(Serializer::Json, false));
        cfg.decode_limits = DecodeLimits {
            max_depth: 2,
            max_elements: 100,
        };
        let link = Link::new(cfg);
        let r: Vec<_> = link
            .receive_websocket(br#"[1,"realm",{"roles":{}}]"#)
            .unwrap()
            .collect();
        assert_eq!(r, [Err(LinkError::Decode(DecodeError::TooDeep))]);
    }

    #[test]
    fn link_fuzz_body_handles_samples() {
        // A valid RawSocket stream under every serializer choice, and garbage.
        for s in 0..8u8 {
            let (client, _) = rawsocket_pair(Serializer::Json);
            let mut data = vec![s, 3];
            for m in messages() {
                client.encode(&m, &mut data).unwrap();
            }
            crate::transport_fuzz::link(&data);
            crate::transport_fuzz::link(&[s, 0, 1, 2, 3, 0x7f, 0xff]);
        }
        crate::transport_fuzz::link(&[]);
        crate::transport_fuzz::rawsocket_framer(&[]);
        crate::transport_fuzz::rawsocket_framer(&[0x7f, 0xf1, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 1, 9]);
    }

    proptest! {
        #[test]
        fn link_never_panics_on_arbitrary_input(
            data in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            crate::transport_fuzz::link(&data);
            crate::transport_fuzz::rawsocket_framer(&data);
        }

        #[test]
        fn link_fuzz_body_on_mostly_valid_streams(
            ctl in any::<u8>(),
            size in any::<u8>(),
            items in proptest::collection::vec(
                (0u8..5, 0usize..4, proptest::collection::vec(any::<u8>(), 0..40)), 0..10),
        ) {
            // RawSocket transport (bits 3-6 clear), any serializer and limit.
            let ctl = ctl & 0x87;
            let s = Serializer::ALL[usize::from(ctl) % Serializer::ALL.len()];
            let (client, _) = rawsocket_pair(s);
            let all = messages();
            let mut data = vec![ctl, size];
            for (what, pick, bytes) in items {
                match what {
                    0 => client.encode(&all[pick], &mut data).unwrap(),
                    1 => encode_frame(FrameKind::Ping, &bytes, &mut data).unwrap(),
                    2 => encode_frame(FrameKind::Pong, &bytes, &mut data).unwrap(),
                    3 => encode_frame(FrameKind::Message, &bytes, &mut data).unwrap(),
                    _ => data.extend_from_slice(&bytes),
                }
            }
            crate::transport_fuzz::link(&data);
        }

        #[test]
        fn rawsocket_messages_survive_any_chunking(
            picks in proptest::collection::vec(0usize..4, 1..10),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            s in 0usize..Serializer::ALL.len(),
        ) {
            let s = Serializer::ALL[s];
            let all = messages();
            let msgs: Vec<Message> = picks.iter().map(|&i| all[i].clone()).collect();
            let (client, mut server) = rawsocket_pair(s);
            let mut wire = Vec::new();
            for m in &msgs {
                client.encode(m, &mut wire).unwrap();
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([wire.len()]) {
                chunks.push(&wire[prev..c]);
                prev = c;
            }
            prop_assert_eq!(drain(&mut server, &chunks).unwrap(), as_incoming(&msgs));
        }
    }
}
