//! WAMP-over-RawSocket: the opening handshake (both sides) and the frame codec, sans-IO.
//!
//! RawSocket runs over any reliable byte stream (TCP, TLS, Unix sockets). All integers are
//! big-endian.
//!
//! **Handshake.** The client sends 4 octets `0x7F, LLLL SSSS, 0, 0`: magic, the maximum message
//! length it is willing to *receive* as 2^(9+L) octets ([`MaxLength`], 512 B to 16 MiB) and the
//! serializer id (1 JSON, 2 MessagePack, 3 CBOR, 4 UBJSON). The router answers with the same
//! layout, echoing the serializer and giving its own receive limit, or with an error reply
//! `0x7F, EEEE 0000, 0, 0` ([`HandshakeErrorCode`]). [`ClientHandshake`] builds the request and
//! checks the reply; [`ServerHandshake`] decides on a request and builds the reply. Both yield
//! [`Negotiated`], from which a [`Link`](crate::link::Link) is built. Every [`HandshakeError`]
//! means: close the connection (a server first writes [`Rejection::reply`] when there is one).
//!
//! **Framing.** Every transport message is a 4-octet header `RRRR XTTT` + 24-bit length, then
//! the payload. `TTT` is the [`FrameKind`] (0 message, 1 PING, 2 PONG, 3-7 reserved), `RRRR`
//! must be zero, and `X` is a 25th length bit set only for a payload of exactly 2^24 octets.
//! [`FrameDecoder`] decodes frames incrementally from arbitrary chunks, checking every header
//! (including the size limit) before it buffers any payload; [`encode_frame`] and
//! [`FrameHeader::encode`] write them. Every [`FrameError`] means: close the connection.
//!
//! ```
//! use wamp_proto::Serializer;
//! use wamp_proto::rawsocket::{ClientHandshake, ServerHandshake, MaxLength};
//!
//! let client = ClientHandshake::new(Serializer::MsgPack, MaxLength::MAX);
//! let server = ServerHandshake::new(&[Serializer::Json, Serializer::MsgPack], MaxLength::from_exponent(11).unwrap());
//! let (at_server, reply) = server.handle_request(client.request()).unwrap();
//! let at_client = client.handle_reply(reply).unwrap();
//! assert_eq!(at_client.serializer, Serializer::MsgPack);
//! assert_eq!(at_client.max_send.bytes(), 1 << 20); // the router receives up to 1 MiB
//! assert_eq!(at_server.max_send.bytes(), 1 << 24); // the client receives up to 16 MiB
//! ```

use std::fmt;

use crate::serializer::Serializer;
use crate::websocket::CloseReason;

/// The first octet of every handshake request and reply. No HTTP request starts with it, so an
/// adapter can serve RawSocket and WebSocket on one port by peeking at the first octet.
pub const MAGIC: u8 = 0x7F;

/// The largest payload a frame can carry: 2^24 octets (16 MiB).
pub const MAX_PAYLOAD: usize = 1 << 24;

/// Length of a frame header and of a handshake message.
pub const HEADER_LEN: usize = 4;

/// Whether a connection whose first octet is `first` is a RawSocket connection.
pub const fn is_rawsocket(first: u8) -> bool {
    first == MAGIC
}

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

/// A maximum message length as carried in the handshake: 2^(9+L) octets for L in 0..=15.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MaxLength(u8);

impl MaxLength {
    /// 512 octets (L = 0).
    pub const MIN: MaxLength = MaxLength(0);
    /// 16 MiB (L = 15), the default.
    pub const MAX: MaxLength = MaxLength(15);

    /// The length for the nibble `l`, if `l <= 15`.
    pub const fn from_exponent(l: u8) -> Option<MaxLength> {
        if l <= 15 { Some(MaxLength(l)) } else { None }
    }

    /// The largest length not above `bytes` (clamped to [`MaxLength::MIN`] below 512 octets and
    /// to [`MaxLength::MAX`] above 16 MiB).
    pub const fn at_most(bytes: usize) -> MaxLength {
        let mut l = 15u8;
        while l > 0 && (1usize << (9 + l)) > bytes {
            l -= 1;
        }
        MaxLength(l)
    }

    /// The nibble L.
    pub const fn exponent(self) -> u8 {
        self.0
    }

    /// The length in octets, 2^(9+L).
    pub const fn bytes(self) -> usize {
        1usize << (9 + self.0)
    }
}

impl Default for MaxLength {
    fn default() -> Self {
        MaxLength::MAX
    }
}

/// The error codes of a handshake error reply (`0x7F, EEEE 0000, 0, 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandshakeErrorCode {
    /// 1: the requested serializer is not supported.
    SerializerUnsupported,
    /// 2: the client's maximum message length is not acceptable.
    MaxLengthUnacceptable,
    /// 3: the request uses reserved bits (an unsupported feature).
    ReservedBitsUsed,
    /// 4: the router has reached its maximum connection count.
    ConnectionLimitReached,
}

impl HandshakeErrorCode {
    /// The 4-bit code.
    pub const fn code(self) -> u8 {
        match self {
            HandshakeErrorCode::SerializerUnsupported => 1,
            HandshakeErrorCode::MaxLengthUnacceptable => 2,
            HandshakeErrorCode::ReservedBitsUsed => 3,
            HandshakeErrorCode::ConnectionLimitReached => 4,
        }
    }

    /// The code for a 4-bit value (0 and 5-15 are not defined).
    pub const fn from_code(code: u8) -> Option<HandshakeErrorCode> {
        match code {
            1 => Some(HandshakeErrorCode::SerializerUnsupported),
            2 => Some(HandshakeErrorCode::MaxLengthUnacceptable),
            3 => Some(HandshakeErrorCode::ReservedBitsUsed),
            4 => Some(HandshakeErrorCode::ConnectionLimitReached),
            _ => None,
        }
    }

    /// The 4-octet error reply carrying this code.
    pub const fn reply(self) -> [u8; 4] {
        [MAGIC, self.code() << 4, 0, 0]
    }
}

impl fmt::Display for HandshakeErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandshakeErrorCode::SerializerUnsupported => "serializer unsupported",
            HandshakeErrorCode::MaxLengthUnacceptable => "maximum message length unacceptable",
            HandshakeErrorCode::ReservedBitsUsed => "use of reserved bits",
            HandshakeErrorCode::ConnectionLimitReached => "maximum connection count reached",
        })
    }
}

/// A RawSocket handshake failed. Whatever the variant, the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The first octet is not `0x7F`: not a RawSocket peer.
    #[error("not a RawSocket handshake (first octet is not 0x7F)")]
    BadMagic,
    /// The reserved third and fourth octets are not zero.
    #[error("reserved handshake octets are not zero")]
    ReservedBits,
    /// The request names serializer 0, which is illegal.
    #[error("serializer id 0 is illegal")]
    IllegalSerializer,
    /// The request names a serializer id (1-15) this side does not support.
    #[error("serializer id {0} is not supported")]
    UnsupportedSerializer(u8),
    /// The client's receive limit is below the server's minimum.
    #[error("the client's maximum message length of {} octets is too small", .0.bytes())]
    MaxLengthUnacceptable(MaxLength),
    /// The router's success reply names another serializer than the one requested.
    #[error("the router answered with serializer id {echoed}, not {requested}")]
    SerializerMismatch {
        /// The id we requested.
        requested: u8,
        /// The id in the reply.
        echoed: u8,
    },
    /// The router refused with an error reply.
    #[error("the router refused the connection: {0}")]
    Refused(HandshakeErrorCode),
    /// The router sent an error reply with an undefined code (0 or 5-15).
    #[error("the router refused the connection with undefined error code {0}")]
    RefusedUndefined(u8),
}

impl HandshakeError {
    /// The code a server sends back for this failure, if it answers at all ([`BadMagic`]
    /// gets no reply: the peer does not speak RawSocket).
    ///
    /// [`BadMagic`]: HandshakeError::BadMagic
    pub const fn reply_code(self) -> Option<HandshakeErrorCode> {
        match self {
            HandshakeError::BadMagic => None,
            HandshakeError::ReservedBits => Some(HandshakeErrorCode::ReservedBitsUsed),
            HandshakeError::IllegalSerializer | HandshakeError::UnsupportedSerializer(_) => {
                Some(HandshakeErrorCode::SerializerUnsupported)
            }
            HandshakeError::MaxLengthUnacceptable(_) => {
                Some(HandshakeErrorCode::MaxLengthUnacceptable)
            }
            HandshakeError::SerializerMismatch { .. }
            | HandshakeError::Refused(_)
            | HandshakeError::RefusedUndefined(_) => None,
        }
    }
}

/// The outcome of a successful handshake, seen from one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Negotiated {
    /// The serializer both sides use.
    pub serializer: Serializer,
    /// The largest message this side accepts (what it announced).
    pub max_receive: MaxLength,
    /// The largest message this side may send (what the peer announced).
    pub max_send: MaxLength,
}

/// The client side of the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHandshake {
    serializer: Serializer,
    max_receive: MaxLength,
}

impl ClientHandshake {
    /// A handshake asking for `serializer` and announcing that we receive messages of up to
    /// `max_receive` octets.
    pub const fn new(serializer: Serializer, max_receive: MaxLength) -> Self {
        ClientHandshake {
            serializer,
            max_receive,
        }
    }

    /// The 4 octets to send.
    pub fn request(&self) -> [u8; 4] {
        [
            MAGIC,
            (self.max_receive.exponent() << 4) | (self.serializer.rawsocket_id() & 0x0F),
            0,
            0,
        ]
    }

    /// Checks the router's 4-octet reply.
    pub fn handle_reply(&self, reply: [u8; 4]) -> Result<Negotiated, HandshakeError> {
        if reply[0] != MAGIC {
            return Err(HandshakeError::BadMagic);
        }
        if reply[2] != 0 || reply[3] != 0 {
            return Err(HandshakeError::ReservedBits);
        }
        let (high, low) = (reply[1] >> 4, reply[1] & 0x0F);
        if low == 0 {
            return Err(match HandshakeErrorCode::from_code(high) {
                Some(code) => HandshakeError::Refused(code),
                None => HandshakeError::RefusedUndefined(high),
            });
        }
        let requested = self.serializer.rawsocket_id();
        if low != requested {
            return Err(HandshakeError::SerializerMismatch {
                requested,
                echoed: low,
            });
        }
        Ok(Negotiated {
            serializer: self.serializer,
            max_receive: self.max_receive,
            // `high` is a nibble, so always <= 15.
            max_send: MaxLength(high),
        })
    }
}

/// A server's refusal: the error, and the reply to write before closing (none for a peer that
/// does not speak RawSocket).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why the request was refused.
    pub error: HandshakeError,
    /// The error reply to send, then close.
    pub reply: Option<[u8; 4]>,
}

/// The server side of the handshake: which serializers we speak and what we receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHandshake {
    /// Bit `i` set: serializer with RawSocket id `i` is supported.
    supported: u16,
    max_receive: MaxLength,
    min_client_receive: MaxLength,
}

impl ServerHandshake {
    /// A server speaking `supported` and receiving messages of up to `max_receive` octets. It
    /// accepts any client receive limit (see [`ServerHandshake::with_min_client_receive`]).
    pub fn new(supported: &[Serializer], max_receive: MaxLength) -> Self {
        let mut mask = 0u16;
        for s in supported {
            mask |= 1 << (s.rawsocket_id() & 0x0F);
        }
        ServerHandshake {
            supported: mask,
            max_receive,
            min_client_receive: MaxLength::MIN,
        }
    }

    /// Refuses clients (error code 2) that announce a receive limit below `min`. Default
    /// [`MaxLength::MIN`]: every client is accepted; messages too large for it are refused at
    /// send time ([`EncodeError::TooLarge`](crate::EncodeError::TooLarge)).
    pub const fn with_min_client_receive(mut self, min: MaxLength) -> Self {
        self.min_client_receive = min;
        self
    }

    /// Decides on the client's 4-octet request. On success returns what was agreed and the
    /// reply to send; on failure the [`Rejection`] (send its reply if any, then close).
    pub fn handle_request(&self, request: [u8; 4]) -> Result<(Negotiated, [u8; 4]), Rejection> {
        let reject = |error: HandshakeError| Rejection {
            error,
            reply: error.reply_code().map(HandshakeErrorCode::reply),
        };
        if request[0] != MAGIC {
            return Err(reject(HandshakeError::BadMagic));
        }
        if request[2] != 0 || request[3] != 0 {
            return Err(reject(HandshakeError::ReservedBits));
        }
        let (high, id) = (request[1] >> 4, request[1] & 0x0F);
        if id == 0 {
            return Err(reject(HandshakeError::IllegalSerializer));
        }
        let serializer = match Serializer::from_rawsocket_id(id) {
            Some(s) if self.supported & (1 << id) != 0 => s,
            _ => return Err(reject(HandshakeError::UnsupportedSerializer(id))),
        };
        // `high` is a nibble, so always <= 15.
        let client_receive = MaxLength(high);
        if client_receive < self.min_client_receive {
            return Err(reject(HandshakeError::MaxLengthUnacceptable(
                client_receive,
            )));
        }
        let reply = [MAGIC, (self.max_receive.exponent() << 4) | id, 0, 0];
        Ok((
            Negotiated {
                serializer,
                max_receive: self.max_receive,
                max_send: client_receive,
            },
            reply,
        ))
    }

    /// The reply refusing a client for a reason decided outside the handshake (typically
    /// [`HandshakeErrorCode::ConnectionLimitReached`]).
    pub const fn refuse(code: HandshakeErrorCode) -> [u8; 4] {
        code.reply()
    }
}

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

/// The transport message type in a frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// 0: a serialized WAMP message.
    Message,
    /// 1: PING; the peer must answer with one PONG echoing the payload.
    Ping,
    /// 2: PONG.
    Pong,
}

impl FrameKind {
    /// The 3-bit type code.
    pub const fn code(self) -> u8 {
        match self {
            FrameKind::Message => 0,
            FrameKind::Ping => 1,
            FrameKind::Pong => 2,
        }
    }
}

/// A RawSocket frame is malformed or too large. Close the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The reserved high nibble of the header is not zero.
    #[error("reserved frame header bits are set")]
    ReservedBits,
    /// Frame type 3-7.
    #[error("reserved frame type {0}")]
    ReservedType(u8),
    /// The X bit is set but the 24 length bits are not all zero.
    #[error("invalid frame length encoding")]
    InvalidLength,
    /// The payload is larger than allowed (our receive limit on input; 2^24 on output).
    #[error("frame payload of {size} octets exceeds the limit of {limit}")]
    TooLarge {
        /// The payload length.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl FrameError {
    /// How to close: [`CloseReason::MessageTooBig`] for an oversize frame,
    /// [`CloseReason::ProtocolError`] otherwise. (RawSocket has no close codes: the adapter
    /// simply closes the stream; the reason is for logs and metrics.)
    pub const fn close_reason(self) -> CloseReason {
        match self {
            FrameError::TooLarge { .. } => CloseReason::MessageTooBig,
            _ => CloseReason::ProtocolError,
        }
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The transport message type.
    pub kind: FrameKind,
    /// The payload length (at most [`MAX_PAYLOAD`]).
    pub len: usize,
}

impl FrameHeader {
    /// Writes the header. Fails for a payload above [`MAX_PAYLOAD`].
    pub const fn encode(self) -> Result<[u8; 4], FrameError> {
        let t = self.kind.code();
        if self.len == MAX_PAYLOAD {
            Ok([0x08 | t, 0, 0, 0])
        } else if self.len < MAX_PAYLOAD {
            let l = self.len;
            Ok([t, (l >> 16) as u8, (l >> 8) as u8, l as u8])
        } else {
            Err(FrameError::TooLarge {
                size: self.len,
                limit: MAX_PAYLOAD,
            })
        }
    }

    /// Reads a header. Checks the reserved bits, the type and the X bit (the size limit is the
    /// caller's: see [`FrameDecoder`]).
    pub const fn decode(h: [u8; 4]) -> Result<FrameHeader, FrameError> {
        if h[0] & 0xF0 != 0 {
            return Err(FrameError::ReservedBits);
        }
        let kind = match h[0] & 0x07 {
            0 => FrameKind::Message,
            1 => FrameKind::Ping,
            2 => FrameKind::Pong,
            t => return Err(FrameError::ReservedType(t)),
        };
        let low = ((h[1] as usize) << 16) | ((h[2] as usize) << 8) | (h[3] as usize);
        let len = if h[0] & 0x08 != 0 {
            if low != 0 {
                return Err(FrameError::InvalidLength);
            }
            MAX_PAYLOAD
        } else {
            low
        };
        Ok(FrameHeader { kind, len })
    }
}

/// Appends one frame (header and payload) to `out`. Fails, leaving `out` untouched, for a
/// payload above [`MAX_PAYLOAD`] (the caller checks the peer's smaller limit).
pub fn encode_frame(kind: FrameKind, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let header = FrameHeader {
        kind,
        len: payload.len(),
    }
    .encode()?;
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(())
}

/// One decoded frame; the payload borrows the input chunk or the decoder's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The transport message type.
    pub kind: FrameKind,
    /// The payload.
    pub payload: &'a [u8],
}

/// Capacity the decoder keeps between frames; a larger buffer (left by a large frame) is
/// shrunk back to this once the frame is delivered, so idle connections stay small.
pub const RETAINED_BUFFER: usize = 64 * 1024;

/// Incremental frame decoder: push bytes in arbitrary chunks, pull frames.
///
/// Complete frames inside a chunk are returned without copying; only a frame split across
/// chunks is buffered. The buffer never holds more than one frame: at most the 4 header octets
/// plus `max_payload` octets, and it grows only as payload octets actually arrive (a header
/// claiming 16 MiB allocates nothing by itself). Headers are checked as soon as their 4 octets
/// are in, so an oversize or malformed frame fails before any of its payload is buffered.
///
/// After an error the decoder keeps returning that error.
///
/// ```
/// use wamp_proto::rawsocket::{encode_frame, FrameDecoder, FrameKind};
///
/// let mut wire = Vec::new();
/// encode_frame(FrameKind::Message, b"[1]", &mut wire).unwrap();
/// encode_frame(FrameKind::Ping, b"hi", &mut wire).unwrap();
///
/// let mut dec = FrameDecoder::new(1 << 20);
/// let mut frames = Vec::new();
/// for chunk in wire.chunks(3) {
///     let mut rest = chunk;
///     loop {
///         let (used, frame) = dec.decode(rest).unwrap();
///         rest = &rest[used..];
///         match frame {
///             Some(f) => frames.push((f.kind, f.payload.to_vec())),
///             None => break, // the whole chunk is consumed
///         }
///     }
/// }
/// assert_eq!(frames, [(FrameKind::Message, b"[1]".to_vec()), (FrameKind::Ping, b"hi".to_vec())]);
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    max_payload: usize,
    header: [u8; 4],
    header_len: usize,
    current: Option<FrameHeader>,
    buf: Vec<u8>,
    /// The last frame returned came from `buf`: clear it on the next call.
    delivered_from_buf: bool,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder accepting payloads of up to `max_payload` octets (capped at [`MAX_PAYLOAD`]).
    pub fn new(max_payload: usize) -> Self {
        FrameDecoder {
            max_payload: max_payload.min(MAX_PAYLOAD),
            header: [0; 4],
            header_len: 0,
            current: None,
            buf: Vec::new(),
            delivered_from_buf: false,
            failed: None,
        }
    }

    /// The payload limit.
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Whether the decoder is between frames (no partial header or payload held).
    pub fn is_idle(&self) -> bool {
        self.header_len == 0 && self.current.is_none()
    }

    /// Octets of the partial frame consumed so far (header included).
    pub fn buffered(&self) -> usize {
        match self.current {
            Some(_) => HEADER_LEN + self.buf.len(),
            None => self.header_len,
        }
    }

    /// Consumes octets from the start of `input` and returns how many, with the next complete
    /// frame if there is one. `None` means every octet of `input` was consumed and more are
    /// needed; call again with the rest of `input` after a frame.
    pub fn decode<'a>(
        &'a mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Frame<'a>>), FrameError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.delivered_from_buf {
            self.delivered_from_buf = false;
            self.buf.clear();
            if self.buf.capacity() > RETAINED_BUFFER {
                self.buf.shrink_to(RETAINED_BUFFER);
            }
        }
        let mut used = 0;
        let header = match self.current {
            Some(h) => h,
            None => {
                if self.header_len == 0 && input.len() >= HEADER_LEN {
                    // Fast path: a whole header in the input, maybe the whole frame.
                    let h = self.check(&[input[0], input[1], input[2], input[3]])?;
                    let rest = &input[HEADER_LEN..];
                    if rest.len() >= h.len {
                        let frame = Frame {
                            kind: h.kind,
                            payload: &rest[..h.len],
                        };
                        return Ok((HEADER_LEN + h.len, Some(frame)));
                    }
                    used = HEADER_LEN;
                    h
                } else {
                    let take = (HEADER_LEN - self.header_len).min(input.len());
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&input[..take]);
                    self.header_len += take;
                    used = take;
                    if self.header_len < HEADER_LEN {
                        return Ok((used, None));
                    }
                    self.header_len = 0;
                    let h = self.header;
                    self.check(&h)?
                }
            }
        };
        self.current = Some(header);
        let rest = &input[used..];
        let take = (header.len - self.buf.len()).min(rest.len());
        self.buf.extend_from_slice(&rest[..take]);
        used += take;
        if self.buf.len() < header.len {
            return Ok((used, None));
        }
        self.current = None;
        self.delivered_from_buf = true;
        Ok((
            used,
            Some(Frame {
                kind: header.kind,
                payload: &self.buf,
            }),
        ))
    }

    /// Decodes and checks a header against the limit; latches errors.
    fn check(&mut self, h: &[u8; 4]) -> Result<FrameHeader, FrameError> {
        let r = FrameHeader::decode(*h).and_then(|h| {
            if h.len > self.max_payload {
                Err(FrameError::TooLarge {
                    size: h.len,
                    limit: self.max_payload,
                })
            } else {
                Ok(h)
            }
        });
        if let Err(e) = r {
            self.failed = Some(e);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- handshake ----------------------------------------------------------------------

    #[test]
    fn max_length_values() {
        assert_eq!(MaxLength::MIN.bytes(), 512);
        assert_eq!(MaxLength::MAX.bytes(), 1 << 24);
        assert_eq!(MaxLength::default(), MaxLength::MAX);
        for l in 0..=15u8 {
            let m = MaxLength::from_exponent(l).unwrap();
            assert_eq!(m.exponent(), l);
            assert_eq!(m.bytes(), 1 << (9 + l));
            assert_eq!(MaxLength::at_most(m.bytes()), m);
            assert_eq!(MaxLength::at_most(m.bytes() + 1), m);
            if l > 0 {
                assert_eq!(
                    MaxLength::at_most(m.bytes() - 1),
                    MaxLength::from_exponent(l - 1).unwrap()
                );
            }
        }
        assert_eq!(MaxLength::from_exponent(16), None);
        assert_eq!(MaxLength::at_most(0), MaxLength::MIN);
        assert_eq!(MaxLength::at_most(usize::MAX), MaxLength::MAX);
    }

    #[test]
    fn client_request_layout() {
        let c = ClientHandshake::new(Serializer::Json, MaxLength::MAX);
        assert_eq!(c.request(), [0x7F, 0xF1, 0, 0]);
        let c = ClientHandshake::new(Serializer::MsgPack, MaxLength::MIN);
        assert_eq!(c.request(), [0x7F, 0x02, 0, 0]);
        let c = ClientHandshake::new(Serializer::Cbor, MaxLength::from_exponent(7).unwrap());
        assert_eq!(c.request(), [0x7F, 0x73, 0, 0]);
        for s in Serializer::ALL {
            let r = ClientHandshake::new(s, MaxLength::MAX).request();
            assert_eq!(r[1] & 0x0F, s.rawsocket_id());
            assert!(is_rawsocket(r[0]));
        }
        assert!(!is_rawsocket(b'G'));
    }

    #[test]
    fn client_accepts_echo() {
        let c = ClientHandshake::new(Serializer::Cbor, MaxLength::from_exponent(3).unwrap());
        let n = c.handle_reply([0x7F, 0x53, 0, 0]).unwrap();
        assert_eq!(n.serializer, Serializer::Cbor);
        assert_eq!(n.max_receive.bytes(), 4096);
        assert_eq!(n.max_send.bytes(), 16384);
        assert_eq!(
            c.handle_reply([0x7F, 0xF3, 0, 0]).unwrap().max_send,
            MaxLength::MAX
        );
    }

    #[test]
    fn client_rejects_bad_replies() {
        let c = ClientHandshake::new(Serializer::Json, MaxLength::MAX);
        assert_eq!(
            c.handle_reply([0x7E, 0xF1, 0, 0]),
            Err(HandshakeError::BadMagic)
        );
        assert_eq!(
            c.handle_reply([b'H', b'T', b'T', b'P']),
            Err(HandshakeError::BadMagic)
        );
        assert_eq!(
            c.handle_reply([0x7F, 0xF1, 1, 0]),
            Err(HandshakeError::ReservedBits)
        );
        assert_eq!(
            c.handle_reply([0x7F, 0xF1, 0, 0x80]),
            Err(HandshakeError::ReservedBits)
        );
        assert_eq!(
            c.handle_reply([0x7F, 0xF2, 0, 0]),
            Err(HandshakeError::SerializerMismatch {
                requested: 1,
                echoed: 2
            })
        );
        assert_eq!(
            c.handle_reply([0x7F, 0xFF, 0, 0]),
            Err(HandshakeError::SerializerMismatch {
                requested: 1,
                echoed: 15
            })
        );
    }

    #[test]
    fn client_reports_every_error_code() {
        let c = ClientHandshake::new(Serializer::MsgPack, MaxLength::MAX);
        let cases = [
            (1, HandshakeErrorCode::SerializerUnsupported),
            (2, HandshakeErrorCode::MaxLengthUnacceptable),
            (3, HandshakeErrorCode::ReservedBitsUsed),
            (4, HandshakeErrorCode::ConnectionLimitReached),
        ];
        for (code, e) in cases {
            assert_eq!(e.code(), code);
            assert_eq!(HandshakeErrorCode::from_code(code), Some(e));
            assert_eq!(e.reply(), [0x7F, code << 4, 0, 0]);
            assert_eq!(
                c.handle_reply([0x7F, code << 4, 0, 0]),
                Err(HandshakeError::Refused(e))
            );
            assert!(!e.to_string().is_empty());
        }
        for code in [0u8, 5, 9, 15] {
            assert_eq!(HandshakeErrorCode::from_code(code), None);
            assert_eq!(
                c.handle_reply([0x7F, code << 4, 0, 0]),
                Err(HandshakeError::RefusedUndefined(code))
            );
        }
    }

    fn server() -> ServerHandshake {
        ServerHandshake::new(
            &[Serializer::Json, Serializer::Cbor],
            MaxLength::from_exponent(11).unwrap(),
        )
    }

    #[test]
    fn server_accepts_and_echoes() {
        let (n, reply) = server().handle_request([0x7F, 0x41, 0, 0]).unwrap();
        assert_eq!(reply, [0x7F, 0xB1, 0, 0]);
        assert_eq!(
            n,
            Negotiated {
                serializer: Serializer::Json,
                max_receive: MaxLength::from_exponent(11).unwrap(),
                max_send: MaxLength::from_exponent(4).unwrap(),
            }
        );
        let (n, reply) = server().handle_request([0x7F, 0x03, 0, 0]).unwrap();
        assert_eq!(reply, [0x7F, 0xB3, 0, 0]);
        assert_eq!(n.serializer, Serializer::Cbor);
        assert_eq!(n.max_send, MaxLength::MIN);
    }

    #[test]
    fn server_rejections_and_their_replies() {
        let s = server();
        let cases: [([u8; 4], HandshakeError, Option<[u8; 4]>); 7] = [
            ([b'G', b'E', b'T', b' '], HandshakeError::BadMagic, None),
            (
                [0x7F, 0xF1, 0, 1],
                HandshakeError::ReservedBits,
                Some([0x7F, 0x30, 0, 0]),
            ),
            (
                [0x7F, 0xF1, 0x10, 0],
                HandshakeError::ReservedBits,
                Some([0x7F, 0x30, 0, 0]),
            ),
            (
                [0x7F, 0xF0, 0, 0],
                HandshakeError::IllegalSerializer,
                Some([0x7F, 0x10, 0, 0]),
            ),
            (
                [0x7F, 0xF2, 0, 0],
                HandshakeError::UnsupportedSerializer(2),
                Some([0x7F, 0x10, 0, 0]),
            ),
            (
                [0x7F, 0xF5, 0, 0],
                HandshakeError::UnsupportedSerializer(5),
                Some([0x7F, 0x10, 0, 0]),
            ),
            (
                [0x7F, 0xFF, 0, 0],
                HandshakeError::UnsupportedSerializer(15),
                Some([0x7F, 0x10, 0, 0]),
            ),
        ];
        for (req, error, reply) in cases {
            assert_eq!(
                s.handle_request(req),
                Err(Rejection { error, reply }),
                "{req:?}"
            );
        }
        // Minimum client receive limit: code 2.
        let strict = s.with_min_client_receive(MaxLength::from_exponent(2).unwrap());
        assert_eq!(
            strict.handle_request([0x7F, 0x11, 0, 0]),
            Err(Rejection {
                error: HandshakeError::MaxLengthUnacceptable(MaxLength::from_exponent(1).unwrap()),
                reply: Some([0x7F, 0x20, 0, 0]),
            })
        );
        assert!(strict.handle_request([0x7F, 0x21, 0, 0]).is_ok());
        // Connection limit: decided by the adapter.
        assert_eq!(
            ServerHandshake::refuse(HandshakeErrorCode::ConnectionLimitReached),
            [0x7F, 0x40, 0, 0]
        );
    }

    #[test]
    fn server_and_client_agree_for_every_serializer_and_length() {
        for s in Serializer::ALL {
            let server =
                ServerHandshake::new(&Serializer::ALL, MaxLength::from_exponent(9).unwrap());
            for l in 0..=15 {
                let client = ClientHandshake::new(s, MaxLength::from_exponent(l).unwrap());
                let (at_server, reply) = server.handle_request(client.request()).unwrap();
                let at_client = client.handle_reply(reply).unwrap();
                assert_eq!(at_server.serializer, s);
                assert_eq!(at_client.serializer, s);
                assert_eq!(at_server.max_send, at_client.max_receive);
                assert_eq!(at_client.max_send, at_server.max_receive);
            }
            // A server without this serializer refuses with code 1 and the client reports it.
            let others: Vec<Serializer> = Serializer::ALL.into_iter().filter(|&o| o != s).collect();
            let server = ServerHandshake::new(&others, MaxLength::MAX);
            let client = ClientHandshake::new(s, MaxLength::MAX);
            let rej = server.handle_request(client.request()).unwrap_err();
            assert_eq!(
                client.handle_reply(rej.reply.unwrap()),
                Err(HandshakeError::Refused(
                    HandshakeErrorCode::SerializerUnsupported
                ))
            );
        }
    }

    // ---- frame headers --------------------------------------------------------------------

    #[test]
    fn header_edge_cases() {
        let h = |kind, len| FrameHeader { kind, len };
        assert_eq!(h(FrameKind::Message, 0).encode(), Ok([0, 0, 0, 0]));
        assert_eq!(h(FrameKind::Ping, 0).encode(), Ok([1, 0, 0, 0]));
        assert_eq!(h(FrameKind::Pong, 5).encode(), Ok([2, 0, 0, 5]));
        assert_eq!(
            h(FrameKind::Message, 0x123456).encode(),
            Ok([0, 0x12, 0x34, 0x56])
        );
        assert_eq!(
            h(FrameKind::Message, MAX_PAYLOAD - 1).encode(),
            Ok([0, 0xFF, 0xFF, 0xFF])
        );
        assert_eq!(
            h(FrameKind::Message, MAX_PAYLOAD).encode(),
            Ok([0x08, 0, 0, 0])
        );
        assert_eq!(
            h(FrameKind::Pong, MAX_PAYLOAD).encode(),
            Ok([0x0A, 0, 0, 0])
        );
        assert_eq!(
            h(FrameKind::Message, MAX_PAYLOAD + 1).encode(),
            Err(FrameError::TooLarge {
                size: MAX_PAYLOAD + 1,
                limit: MAX_PAYLOAD
            })
        );
        for kind in [FrameKind::Message, FrameKind::Ping, FrameKind::Pong] {
            for len in [0, 1, 255, 256, 65535, 65536, MAX_PAYLOAD - 1, MAX_PAYLOAD] {
                let b = h(kind, len).encode().unwrap();
                assert_eq!(FrameHeader::decode(b), Ok(h(kind, len)));
            }
        }
        // The X bit with any length bit set is invalid: no 2^24 + n.
        assert_eq!(
            FrameHeader::decode([0x08, 0, 0, 1]),
            Err(FrameError::InvalidLength)
        );
        assert_eq!(
            FrameHeader::decode([0x08, 0x80, 0, 0]),
            Err(FrameError::InvalidLength)
        );
        for t in 3..=7u8 {
            assert_eq!(
                FrameHeader::decode([t, 0, 0, 0]),
                Err(FrameError::ReservedType(t))
            );
            assert_eq!(
                FrameHeader::decode([0x08 | t, 0, 0, 0]),
                Err(FrameError::ReservedType(t))
            );
        }
        for r in [0x10u8, 0x20, 0x40, 0x80, 0xF0] {
            assert_eq!(
                FrameHeader::decode([r, 0, 0, 0]),
                Err(FrameError::ReservedBits)
            );
        }
        assert_eq!(
            FrameError::TooLarge { size: 1, limit: 0 }.close_reason(),
            CloseReason::MessageTooBig
        );
        assert_eq!(
            FrameError::ReservedBits.close_reason(),
            CloseReason::ProtocolError
        );
    }

    #[test]
    fn encode_frame_writes_header_and_payload() {
        let mut out = vec![9];
        encode_frame(FrameKind::Ping, b"abc", &mut out).unwrap();
        assert_eq!(out, [9, 1, 0, 0, 3, b'a', b'b', b'c']);
    }

    // ---- decoder --------------------------------------------------------------------------

    /// Feeds `chunks` and collects every frame (or the first error).
    fn feed(
        dec: &mut FrameDecoder,
        chunks: &[&[u8]],
    ) -> Result<Vec<(FrameKind, Vec<u8>)>, FrameError> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest: &[u8] = chunk;
            loop {
                let (used, frame) = dec.decode(rest)?;
                assert!(used <= rest.len());
                rest = &rest[used..];
                match frame {
                    Some(f) => out.push((f.kind, f.payload.to_vec())),
                    None => {
                        assert!(rest.is_empty(), "None before the chunk was consumed");
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn sample_wire() -> (Vec<u8>, Vec<(FrameKind, Vec<u8>)>) {
        let frames = vec![
            (FrameKind::Message, b"[1,\"realm\",{}]".to_vec()),
            (FrameKind::Ping, Vec::new()),
            (FrameKind::Message, Vec::new()),
            (FrameKind::Pong, b"xyz".to_vec()),
            (FrameKind::Message, (0..=255u8).collect()),
        ];
        let mut wire = Vec::new();
        for (k, p) in &frames {
            encode_frame(*k, p, &mut wire).unwrap();
        }
        (wire, frames)
    }

    #[test]
    fn every_single_split_point() {
        let (wire, frames) = sample_wire();
        for cut in 0..=wire.len() {
            let mut dec = FrameDecoder::new(1024);
            let got = feed(&mut dec, &[&wire[..cut], &wire[cut..]]).unwrap();
            assert_eq!(got, frames, "cut at {cut}");
            assert!(dec.is_idle());
        }
        // And every pair of split points.
        for a in 0..=wire.len() {
            for b in a..=wire.len() {
                let mut dec = FrameDecoder::new(1024);
                let got = feed(&mut dec, &[&wire[..a], &wire[a..b], &wire[b..]]).unwrap();
                assert_eq!(got, frames, "cuts at {a}, {b}");
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let (wire, frames) = sample_wire();
        let mut dec = FrameDecoder::new(1024);
        let chunks: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(feed(&mut dec, &chunks).unwrap(), frames);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn oversize_rejected_from_header_alone() {
        let mut dec = FrameDecoder::new(512);
        let mut wire = Vec::new();
        encode_frame(FrameKind::Message, &[b'x'; 512], &mut wire).unwrap();
        assert_eq!(feed(&mut dec, &[&wire]).unwrap().len(), 1);
        // 513 octets: rejected on the header, before any payload arrives.
        assert_eq!(
            dec.decode(&[0, 0, 0x02, 0x01])
                .map(|(u, f)| (u, f.is_none())),
            Err(FrameError::TooLarge {
                size: 513,
                limit: 512
            })
        );
        assert_eq!(dec.buffered(), 0);
        // Latched.
        assert!(dec.decode(&[0, 0, 0, 0]).is_err());
        // Split header, too.
        let mut dec = FrameDecoder::new(512);
        assert!(dec.decode(&[0, 0]).is_ok());
        assert_eq!(
            dec.decode(&[0x02, 0x01]).map(|_| ()),
            Err(FrameError::TooLarge {
                size: 513,
                limit: 512
            })
        );
        // A PING is a frame like any other.
        let mut dec = FrameDecoder::new(512);
        assert!(dec.decode(&[1, 0, 0x02, 0x01]).is_err());
    }

    #[test]
    fn largest_frames() {
        let mut dec = FrameDecoder::new(usize::MAX);
        assert_eq!(dec.max_payload(), MAX_PAYLOAD);
        // 2^24 with the X bit, split in three chunks.
        let payload = vec![7u8; MAX_PAYLOAD];
        let mut wire = Vec::new();
        encode_frame(FrameKind::Message, &payload, &mut wire).unwrap();
        assert_eq!(&wire[..4], &[0x08, 0, 0, 0]);
        let got = feed(&mut dec, &[&wire[..2], &wire[2..1000], &wire[1000..]]).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].1 == payload);
        // The buffer was shrunk back once the frame was delivered.
        assert_eq!(feed(&mut dec, &[&[0, 0, 0, 1, 1]]).unwrap().len(), 1);
        assert!(dec.buf.capacity() <= RETAINED_BUFFER);
        // 2^24 + 1 cannot be written.
        assert!(matches!(
            encode_frame(
                FrameKind::Message,
                &vec![0; MAX_PAYLOAD + 1],
                &mut Vec::new()
            ),
            Err(FrameError::TooLarge { .. })
        ));
        // A decoder limited below 2^24 refuses the X-bit header.
        let mut dec = FrameDecoder::new(MAX_PAYLOAD - 1);
        assert_eq!(
            dec.decode(&[0x08, 0, 0, 0]).map(|_| ()),
            Err(FrameError::TooLarge {
                size: MAX_PAYLOAD,
                limit: MAX_PAYLOAD - 1
            })
        );
    }

    #[test]
    fn malformed_headers_fail_the_stream() {
        for bad in [
            [3u8, 0, 0, 0],
            [0x10, 0, 0, 0],
            [0x08, 0, 0, 1],
            [7, 0, 0, 0],
        ] {
            let mut dec = FrameDecoder::new(1024);
            // Preceded by a valid frame in the same chunk.
            let mut wire = vec![0, 0, 0, 1, b'x'];
            wire.extend_from_slice(&bad);
            let e = feed(&mut dec, &[&wire]).unwrap_err();
            assert_eq!(Err(e), FrameHeader::decode(bad));
        }
    }

    #[test]
    fn empty_input_is_harmless() {
        let mut dec = FrameDecoder::new(16);
        assert_eq!(dec.decode(&[]), Ok((0, None)));
        assert!(dec.is_idle());
        assert_eq!(dec.decode(&[0, 0]), Ok((2, None)));
        assert_eq!(dec.decode(&[]), Ok((0, None)));
        assert_eq!(dec.buffered(), 2);
        assert!(!dec.is_idle());
        assert_eq!(dec.decode(&[0, 3, 1]), Ok((3, None)));
        assert_eq!(dec.buffered(), 5);
        let (used, frame) = dec.decode(&[2, 3, 9]).unwrap();
        assert_eq!(
            (used, frame.map(|f| f.payload)),
            (2, Some(&[1u8, 2, 3][..]))
        );
        assert_eq!(dec.buffered(), 0);
        assert!(dec.is_idle());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            limit in 0usize..4096,
        ) {
            let mut dec = FrameDecoder::new(limit);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let mut prev = 0;
            let mut total = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                let mut rest = &data[prev..c];
                prev = c;
                loop {
                    match dec.decode(rest) {
                        Err(_) => break,
                        Ok((used, frame)) => {
                            prop_assert!(used <= rest.len());
                            if let Some(f) = frame {
                                prop_assert!(f.payload.len() <= limit);
                            }
                            total += used;
                            rest = &rest[used..];
                            if frame.is_none() { break; }
                        }
                    }
                }
                prop_assert!(dec.buffered() <= limit + HEADER_LEN);
            }
            prop_assert!(total <= data.len());
        }

        #[test]
        fn frames_survive_any_chunking(
            frames in proptest::collection::vec(
                (0u8..3, proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
            cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let frames: Vec<(FrameKind, Vec<u8>)> = frames.into_iter().map(|(k, p)| {
                let kind = match k { 0 => FrameKind::Message, 1 => FrameKind::Ping, _ => FrameKind::Pong };
                (kind, p)
            }).collect();
            let mut wire = Vec::new();
            for (k, p) in &frames {
                encode_frame(*k, p, &mut wire).unwrap();
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain([wire.len()]) {
                chunks.push(&wire[prev..c]);
                prev = c;
            }
            let mut dec = FrameDecoder::new(300);
            prop_assert_eq!(feed(&mut dec, &chunks).unwrap(), frames);
            prop_assert!(dec.is_idle());
        }
    }
}
