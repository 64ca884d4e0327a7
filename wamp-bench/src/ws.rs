//! The client side of WebSocket (RFC 6455) as the bench needs it, without IO: the upgrade
//! request and the check of its answer, a frame decoder that hands out whole messages straight
//! from the read buffer, and masked frame encoding.
//!
//! The bench frames WebSocket itself (instead of going through a WebSocket library's message
//! objects) so that it can batch like on RawSocket: one read of many frames, the messages peeked
//! at in place, all replies masked into one output buffer and written with one syscall.
//! No extension is negotiated, so every reserved bit must be clear.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use wamp_proto::websocket::{NegotiationError, Subprotocol, client_offer, validate_echo};

/// Longest HTTP answer to the upgrade request we read.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// A WebSocket-level failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The upgrade answer is not `101 Switching Protocols`, or is malformed.
    #[error("the server did not switch to WebSocket")]
    NotSwitching,
    /// `Sec-WebSocket-Accept` is missing or wrong.
    #[error("wrong Sec-WebSocket-Accept")]
    BadAccept,
    /// The subprotocol answer is unusable.
    #[error("subprotocol: {0}")]
    Negotiation(NegotiationError),
    /// A frame breaking RFC 6455 (reserved bits, a masked server frame, a bad opcode, a bad
    /// control frame or continuation).
    #[error("malformed WebSocket frame")]
    Malformed,
    /// A message larger than the limit.
    #[error("WebSocket message larger than the limit")]
    TooLarge,
}

/// The HTTP upgrade request for `host:port` `path`, with `key` (base64 of 16 random octets)
/// and the subprotocols offered.
pub fn upgrade_request(host_port: &str, path: &str, key: &str, offer: &[Subprotocol]) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {}\r\n\r\n",
        client_offer(offer)
    )
}

/// The length of the HTTP answer head (through the blank line), once it is complete in `buf`.
pub fn response_head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Checks the answer head: status 101, `Upgrade: websocket`, the accept key derived from
/// `key`, and a subprotocol we offered.
pub fn check_response(
    head: &[u8],
    key: &str,
    offer: &[Subprotocol],
) -> Result<Subprotocol, WsError> {
    let text = std::str::from_utf8(head).map_err(|_| WsError::NotSwitching)?;
    let mut lines = text.split("\r\n");
    let status = lines.next().ok_or(WsError::NotSwitching)?;
    let mut parts = status.split(' ');
    let (version, code) = (parts.next(), parts.next());
    if !matches!(version, Some("HTTP/1.1")) || code != Some("101") {
        return Err(WsError::NotSwitching);
    }
    let (mut upgrade, mut accept, mut protocol) = (false, None, None);
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(WsError::NotSwitching);
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept = Some(value);
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            if protocol.is_some() {
                return Err(WsError::Negotiation(NegotiationError::NotOffered));
            }
            protocol = Some(value);
        }
    }
    if !upgrade {
        return Err(WsError::NotSwitching);
    }
    if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err(WsError::BadAccept);
    }
    validate_echo(offer, protocol).map_err(WsError::Negotiation)
}

/// Frame opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opcode {
    /// Continuation of a fragmented message.
    Continuation = 0,
    /// Text data.
    Text = 1,
    /// Binary data.
    Binary = 2,
    /// Close.
    Close = 8,
    /// Ping.
    Ping = 9,
    /// Pong.
    Pong = 10,
}

/// What [`Decoder::decode`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole data message (text or binary).
    Message(&'a [u8]),
    /// A PING with its payload (answer with a PONG).
    Ping(&'a [u8]),
    /// A PONG.
    Pong,
    /// A close frame, with its status code if it has one.
    Close(Option<u16>),
}

/// Decodes server frames (unmasked) into messages; see [`Decoder::decode`].
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    /// Payload of a fragmented message so far.
    fragments: Vec<u8>,
    fragmenting: bool,
    /// The last event borrowed `fragments`: clear it on the next call.
    delivered_fragments: bool,
}

impl Decoder {
    /// A decoder refusing messages above `max_message` octets.
    pub fn new(max_message: usize) -> Self {
        Decoder {
            max_message,
            fragments: Vec::new(),
            fragmenting: false,
            delivered_fragments: false,
        }
    }

    /// The most octets one frame can take in the input buffer (header included).
    pub fn max_frame(&self) -> usize {
        self.max_message + 14
    }

    /// Decodes the next frame at the start of `input`: `(consumed, event)`. Only whole frames are
    /// consumed: `(0, None)` means the frame is incomplete (keep the octets, read more);
    /// `(n, None)` a fragment was taken in and the message is not complete yet.
    pub fn decode<'a>(
        &'a mut self,
        input: &'a [u8],
    ) -> Result<(usize, Option<Event<'a>>), WsError> {
        if self.delivered_fragments {
            self.delivered_fragments = false;
            self.fragments.clear();
            if self.fragments.capacity() > 1 << 20 {
                self.fragments = Vec::new();
            }
        }
        if input.len() < 2 {
            return Ok((0, None));
        }
        let (b0, b1) = (input[0], input[1]);
        if b0 & 0x70 != 0 || b1 & 0x80 != 0 {
            return Err(WsError::Malformed); // reserved bits, or a masked server frame
        }
        let fin = b0 & 0x80 != 0;
        let opcode = match b0 & 0x0f {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return Err(WsError::Malformed),
        };
        let (len, header) = match b1 & 0x7f {
            126 => match input.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok((0, None)),
            },
            127 => match input.get(2..10) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    (u64::from_be_bytes(a), 10)
                }
                None => return Ok((0, None)),
            },
            n => (u64::from(n), 2),
        };
        let control = matches!(opcode, Opcode::Close | Opcode::Ping | Opcode::Pong);
        if control && (!fin || len > 125) {
            return Err(WsError::Malformed);
        }
        let len = usize::try_from(len).map_err(|_| WsError::TooLarge)?;
        if len > self.max_message || self.fragments.len() + len > self.max_message {
            return Err(WsError::TooLarge);
        }
        let Some(payload) = input.get(header..header + len) else {
            return Ok((0, None));
        };
        let used = header + len;
        let event = match opcode {
            Opcode::Ping => Some(Event::Ping(payload)),
            Opcode::Pong => Some(Event::Pong),
            Opcode::Close => Some(Event::Close(
                payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])),
            )),
            Opcode::Text | Opcode::Binary => {
                if self.fragmenting {
                    return Err(WsError::Malformed);
                }
                if fin {
                    Some(Event::Message(payload))
                } else {
                    self.fragmenting = true;
                    self.fragments.extend_from_slice(payload);
                    None
                }
            }
            Opcode::Continuation => {
                if !self.fragmenting {
                    return Err(WsError::Malformed);
                }
                self.fragments.extend_from_slice(payload);
                if fin {
                    self.fragmenting = false;
                    self.delivered_fragments = true;
                    Some(Event::Message(&self.fragments))
                } else {
                    None
                }
            }
        };
        Ok((used, event))
    }
}

/// Appends one masked client frame (FIN set) to `out`.
pub fn encode_frame(opcode: Opcode, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.reserve(14 + payload.len());
    out.push(0x80 | opcode as u8);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], mask);
}

/// XORs `buf` with the repeated 4-octet `mask`.
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(a) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Masking keys: xorshift64*, seeded per connection. Masking protects intermediaries, not
/// secrets; on loopback a cheap generator is enough.
#[derive(Clone, Debug)]
pub struct MaskSource(u64);

impl MaskSource {
    /// A source from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        MaskSource(seed | 1)
    }

    /// The next key.
    pub fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let b = (v >> 32) as u32;
        b.to_ne_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wamp_proto::Serializer;

    fn server_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![if fin { 0x80 } else { 0 } | opcode];
        let len = payload.len();
        if len < 126 {
            v.push(len as u8);
        } else if len <= 0xffff {
            v.push(126);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            v.push(127);
            v.extend_from_slice(&(len as u64).to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn handshake_request_and_answer() {
        let offer = [Subprotocol::new(Serializer::MsgPack, false)];
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let req = upgrade_request("127.0.0.1:8080", "/ws", key, &offer);
        assert!(req.starts_with("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(req.contains("Sec-WebSocket-Protocol: wamp.2.msgpack\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
        // The RFC 6455 example key and accept value.
        let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
                  Sec-WebSocket-Protocol: wamp.2.msgpack\r\n\r\n";
        let mut buf = ok.as_bytes().to_vec();
        buf.extend_from_slice(&[0x82, 0x01, 0x00]);
        let n = response_head_len(&buf).unwrap();
        assert_eq!(n, ok.len());
        assert_eq!(check_response(&buf[..n], key, &offer), Ok(offer[0]));
        assert_eq!(response_head_len(b"HTTP/1.1 101\r\n"), None);

        let bad_accept = ok.replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAA");
        assert_eq!(
            check_response(bad_accept.as_bytes(), key, &offer),
            Err(WsError::BadAccept)
        );
        let refused = "HTTP/1.1 400 Bad Request\r\n\r\n";
        assert_eq!(
            check_response(refused.as_bytes(), key, &offer),
            Err(WsError::NotSwitching)
        );
        let other = ok.replace("wamp.2.msgpack", "wamp.2.json");
        assert_eq!(
            check_response(other.as_bytes(), key, &offer),
            Err(WsError::Negotiation(NegotiationError::NotOffered))
        );
        let none = ok.replace("Sec-WebSocket-Protocol: wamp.2.msgpack\r\n", "");
        assert_eq!(
            check_response(none.as_bytes(), key, &offer),
            Err(WsError::Negotiation(NegotiationError::NoSubprotocol))
        );
    }

    #[test]
    fn decodes_messages_of_every_length_form() {
        for len in [0, 1, 125, 126, 65_535, 65_536, 100_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let frame = server_frame(true, 2, &payload);
            let mut d = Decoder::new(1 << 20);
            // Every strict prefix is incomplete and consumes nothing.
            for cut in [0, 1, frame.len().min(3), frame.len() - 1] {
                if cut < frame.len() {
                    assert_eq!(
                        d.decode(&frame[..cut]).unwrap(),
                        (0, None),
                        "len {len} cut {cut}"
                    );
                }
            }
            let (used, ev) = d.decode(&frame).unwrap();
            assert_eq!(used, frame.len());
            assert_eq!(ev, Some(Event::Message(&payload[..])));
        }
    }

    #[test]
    fn reassembles_fragments_around_control_frames() {
        let mut wire = server_frame(false, 1, b"[1,");
        wire.extend(server_frame(true, 9, b"hi"));
        wire.extend(server_frame(false, 0, b"2"));
        wire.extend(server_frame(true, 0, b"]"));
        wire.extend(server_frame(true, 2, b"next"));
        wire.extend(server_frame(true, 8, &[0x03, 0xe8]));
        let mut d = Decoder::new(1024);
        let mut input = &wire[..];
        let mut got = Vec::new();
        while !input.is_empty() {
            let (used, ev) = d.decode(input).unwrap();
            assert!(used > 0);
            if let Some(ev) = ev {
                got.push(format!("{ev:?}"));
            }
            input = &input[used..];
        }
        assert_eq!(
            got,
            [
                format!("{:?}", Event::Ping(b"hi")),
                format!("{:?}", Event::Message(b"[1,2]")),
                format!("{:?}", Event::Message(b"next")),
                format!("{:?}", Event::Close(Some(1000))),
            ]
        );
    }

    #[test]
    fn refuses_malformed_frames() {
        let cases: Vec<(Vec<u8>, WsError)> = vec![
            (vec![0xc2, 0x00], WsError::Malformed),                 // RSV1
            (vec![0x82, 0x80, 0, 0, 0, 0], WsError::Malformed),     // masked
            (vec![0x83, 0x00], WsError::Malformed),                 // opcode 3
            (server_frame(false, 9, b"x"), WsError::Malformed),     // fragmented ping
            (server_frame(true, 9, &[0; 126]), WsError::Malformed), // long ping
            (server_frame(true, 0, b"x"), WsError::Malformed),      // continuation first
            (server_frame(true, 2, &[0; 11]), WsError::TooLarge),
            (
                vec![0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                WsError::TooLarge,
            ),
        ];
        for (frame, want) in cases {
            let mut d = Decoder::new(10);
            assert_eq!(d.decode(&frame), Err(want), "{frame:?}");
        }
        // A new data frame inside a fragmented message.
        let mut d = Decoder::new(100);
        assert_eq!(d.decode(&server_frame(false, 2, b"a")).unwrap(), (3, None));
        assert_eq!(
            d.decode(&server_frame(true, 2, b"b")),
            Err(WsError::Malformed)
        );
        // Fragments add up against the limit.
        let mut d = Decoder::new(4);
        assert_eq!(
            d.decode(&server_frame(false, 2, b"abc")).unwrap(),
            (5, None)
        );
        assert_eq!(
            d.decode(&server_frame(true, 0, b"de")),
            Err(WsError::TooLarge)
        );
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        let mut keys = MaskSource::new(42);
        for len in [0usize, 3, 8, 13, 125, 126, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let key = keys.next_key();
            let mut out = Vec::new();
            encode_frame(Opcode::Binary, &payload, key, &mut out);
            assert_eq!(out[0], 0x82);
            assert_eq!(out[1] & 0x80, 0x80);
            let (hdr, n) = match out[1] & 0x7f {
                126 => (8, u16::from_be_bytes([out[2], out[3]]) as usize),
                127 => (
                    14,
                    u64::from_be_bytes(out[2..10].try_into().unwrap()) as usize,
                ),
                n => (6, n as usize),
            };
            assert_eq!(n, len);
            assert_eq!(&out[hdr - 4..hdr], &key);
            let mut body = out[hdr..].to_vec();
            apply_mask(&mut body, key);
            assert_eq!(body, payload);
        }
        assert_ne!(keys.next_key(), keys.next_key());
    }
}
