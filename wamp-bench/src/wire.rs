//! The cheap wire path of the load generator: peeking at the first two elements of an encoded
//! WAMP message, and writing messages from pre-encoded templates.
//!
//! A load generator that fully decodes and encodes every message spends about as much CPU per
//! message as the router it measures. On the hot path the bench only needs the message type and
//! the request ID of a RESULT, INVOCATION, PUBLISHED or EVENT, and it sends CALL, YIELD and
//! PUBLISH messages that differ only in their request ID. So:
//!
//! * [`peek`] reads the array header and the first two elements (both unsigned integers) of a
//!   message in any of the four serializers, without decoding the rest; anything it does not
//!   recognise returns `None` and the caller falls back to a full decode with
//!   [`Serializer::decode`];
//! * [`Template`] holds a message encoded by [`Serializer::encode`] split around its second
//!   element (the request ID), and writes the same message with any other request ID by
//!   concatenation. The output is byte for byte what [`Serializer::encode`] writes (tested).

use wamp_proto::{Message, Serializer};

/// The message type code and the second element of an encoded WAMP message, when both are
/// unsigned integers in the serializer's usual encoding; `None` for anything else (not an
/// array, fewer than two elements, another element type, a form this scanner does not know).
pub fn peek(serializer: Serializer, bytes: &[u8]) -> Option<(u64, u64)> {
    let (_, code, id) = scan(serializer, bytes)?;
    Some((code, id.value))
}

/// Where the second element of a message lies, and its value.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    value: u64,
}

/// Scans the array header and two unsigned integers; returns the end of the header, the first
/// element's value, and the second element's span.
fn scan(serializer: Serializer, bytes: &[u8]) -> Option<(usize, u64, Span)> {
    let mut c = Cursor { bytes, pos: 0 };
    let header_end;
    let (code, id);
    match serializer {
        Serializer::MsgPack => {
            let len = match c.byte()? {
                b @ 0x90..=0x9f => u64::from(b & 0x0f),
                0xdc => c.be(2)?,
                0xdd => c.be(4)?,
                _ => return None,
            };
            if len < 2 {
                return None;
            }
            header_end = c.pos;
            code = msgpack_uint(&mut c)?;
            let start = c.pos;
            let value = msgpack_uint(&mut c)?;
            id = Span {
                start,
                end: c.pos,
                value,
            };
        }
        Serializer::Cbor => {
            let b = c.byte()?;
            if b >> 5 != 4 {
                return None;
            }
            let len = match b & 0x1f {
                n @ 0..=23 => Some(u64::from(n)),
                24 => Some(c.be(1)?),
                25 => Some(c.be(2)?),
                26 => Some(c.be(4)?),
                27 => Some(c.be(8)?),
                31 => None, // indefinite length
                _ => return None,
            };
            if len.is_some_and(|l| l < 2) {
                return None;
            }
            header_end = c.pos;
            code = cbor_uint(&mut c)?;
            let start = c.pos;
            let value = cbor_uint(&mut c)?;
            id = Span {
                start,
                end: c.pos,
                value,
            };
        }
        Serializer::Json => {
            c.skip_ws();
            if c.byte()? != b'[' {
                return None;
            }
            c.skip_ws();
            header_end = c.pos;
            code = json_uint(&mut c)?;
            c.skip_ws();
            if c.byte()? != b',' {
                return None;
            }
            c.skip_ws();
            let start = c.pos;
            let value = json_uint(&mut c)?;
            id = Span {
                start,
                end: c.pos,
                value,
            };
        }
        Serializer::Ubjson => {
            if c.byte()? != b'[' {
                return None;
            }
            // An optimized container (`$` type or `#` count) is left to the full decoder.
            if matches!(c.peek()?, b'$' | b'#') {
                return None;
            }
            header_end = c.pos;
            c.skip_noop();
            code = ubjson_uint(&mut c)?;
            c.skip_noop();
            let start = c.pos;
            let value = ubjson_uint(&mut c)?;
            id = Span {
                start,
                end: c.pos,
                value,
            };
        }
    }
    Some((header_end, code, id))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    /// A big-endian unsigned integer of `n` <= 8 octets.
    fn be(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }

    /// A little-endian unsigned integer of `n` <= 8 octets.
    fn le(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        )
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn skip_noop(&mut self) {
        while self.peek() == Some(b'N') {
            self.pos += 1;
        }
    }
}

/// A non-negative MessagePack integer (unsigned forms, and signed forms holding a value >= 0).
fn msgpack_uint(c: &mut Cursor<'_>) -> Option<u64> {
    let v = match c.byte()? {
        b @ 0x00..=0x7f => u64::from(b),
        0xcc => c.be(1)?,
        0xcd => c.be(2)?,
        0xce => c.be(4)?,
        0xcf => c.be(8)?,
        0xd0 => non_negative(c.be(1)?, 1)?,
        0xd1 => non_negative(c.be(2)?, 2)?,
        0xd2 => non_negative(c.be(4)?, 4)?,
        0xd3 => non_negative(c.be(8)?, 8)?,
        _ => return None,
    };
    Some(v)
}

/// `v`, a two's complement integer of `n` octets, when its sign bit is clear.
fn non_negative(v: u64, n: usize) -> Option<u64> {
    if v >> (n * 8 - 1) & 1 == 1 {
        None
    } else {
        Some(v)
    }
}

/// A CBOR unsigned integer (major type 0).
fn cbor_uint(c: &mut Cursor<'_>) -> Option<u64> {
    match c.byte()? {
        b @ 0x00..=0x17 => Some(u64::from(b)),
        0x18 => c.be(1),
        0x19 => c.be(2),
        0x1a => c.be(4),
        0x1b => c.be(8),
        _ => None,
    }
}

/// A JSON number that is a plain non-negative integer (no sign, fraction or exponent).
fn json_uint(c: &mut Cursor<'_>) -> Option<u64> {
    let mut v: u64 = 0;
    let mut digits = 0;
    while let Some(b @ b'0'..=b'9') = c.peek() {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
        c.pos += 1;
    }
    if digits == 0 || matches!(c.peek(), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    Some(v)
}

/// A non-negative BJData integer (little-endian).
fn ubjson_uint(c: &mut Cursor<'_>) -> Option<u64> {
    match c.byte()? {
        b'U' => c.le(1),
        b'u' => c.le(2),
        b'm' => c.le(4),
        b'M' => c.le(8),
        b'i' => non_negative(c.le(1)?, 1),
        b'I' => non_negative(c.le(2)?, 2),
        b'l' => non_negative(c.le(4)?, 4),
        b'L' => non_negative(c.le(8)?, 8),
        _ => None,
    }
}

/// Appends `v` as the serializer's shortest unsigned integer encoding (what
/// [`Serializer::encode`] writes for a `u64`).
pub fn write_uint(serializer: Serializer, v: u64, out: &mut Vec<u8>) {
    match serializer {
        Serializer::MsgPack => {
            if v < 0x80 {
                out.push(v as u8);
            } else if v <= 0xff {
                out.extend_from_slice(&[0xcc, v as u8]);
            } else if v <= 0xffff {
                out.push(0xcd);
                out.extend_from_slice(&(v as u16).to_be_bytes());
            } else if v <= 0xffff_ffff {
                out.push(0xce);
                out.extend_from_slice(&(v as u32).to_be_bytes());
            } else {
                out.push(0xcf);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        Serializer::Cbor => {
            if v < 24 {
                out.push(v as u8);
            } else if v <= 0xff {
                out.extend_from_slice(&[0x18, v as u8]);
            } else if v <= 0xffff {
                out.push(0x19);
                out.extend_from_slice(&(v as u16).to_be_bytes());
            } else if v <= 0xffff_ffff {
                out.push(0x1a);
                out.extend_from_slice(&(v as u32).to_be_bytes());
            } else {
                out.push(0x1b);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        Serializer::Json => {
            let mut digits = [0u8; 20];
            let mut i = digits.len();
            let mut n = v;
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            out.extend_from_slice(&digits[i..]);
        }
        Serializer::Ubjson => {
            if v <= 0xff {
                out.extend_from_slice(&[b'U', v as u8]);
            } else if v <= 0xffff {
                out.push(b'u');
                out.extend_from_slice(&(v as u16).to_le_bytes());
            } else if v <= 0xffff_ffff {
                out.push(b'm');
                out.extend_from_slice(&(v as u32).to_le_bytes());
            } else {
                out.push(b'M');
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Why a [`Template`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The message could not be encoded.
    #[error("cannot encode the template message: {0}")]
    Encode(#[from] wamp_proto::EncodeError),
    /// The encoded message does not start with two unsigned integers.
    #[error("the template message does not start with a type code and an ID")]
    Shape,
}

/// A message pre-encoded around its second element, the request ID; see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Template {
    serializer: Serializer,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Template {
    /// Encodes `msg` (whose second element must be an ID: CALL, YIELD, PUBLISH, ...) once.
    pub fn new(serializer: Serializer, msg: &Message) -> Result<Template, TemplateError> {
        let bytes = serializer.encode_to_vec(msg)?;
        let (_, _, span) = scan(serializer, &bytes).ok_or(TemplateError::Shape)?;
        Ok(Template {
            serializer,
            head: bytes[..span.start].to_vec(),
            tail: bytes[span.end..].to_vec(),
        })
    }

    /// Appends the message with request ID `id` to `out`.
    pub fn write(&self, id: u64, out: &mut Vec<u8>) {
        out.reserve(self.head.len() + 9 + self.tail.len());
        out.extend_from_slice(&self.head);
        write_uint(self.serializer, id, out);
        out.extend_from_slice(&self.tail);
    }

    /// The encoded length with a 9-octet ID (an upper bound).
    pub fn max_len(&self) -> usize {
        self.head.len() + 20 + self.tail.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wamp_proto::id::{PublicationId, RequestId, SubscriptionId};
    use wamp_proto::message::{Call, Event, Payload, Publish, Yield};
    use wamp_proto::{Dict, Value};

    const IDS: [u64; 14] = [
        1,
        23,
        24,
        127,
        128,
        255,
        256,
        65_535,
        65_536,
        4_294_967_295,
        4_294_967_296,
        1 << 52,
        (1 << 53) - 1,
        1 << 53,
    ];

    fn call(id: u64) -> Message {
        Call {
            request: RequestId::new(id).unwrap(),
            options: Dict::new(),
            procedure: "bench.echo".into(),
            payload: Payload::args(vec![Value::from("xxxxxxxxxxxxxxxx")]),
        }
        .into()
    }

    fn others(id: u64) -> [Message; 2] {
        [
            Yield {
                request: RequestId::new(id).unwrap(),
                options: Dict::new(),
                payload: Payload::args(vec![Value::from(7u64)]),
            }
            .into(),
            Publish {
                request: RequestId::new(id).unwrap(),
                options: Dict::new().with("acknowledge", true),
                topic: "bench.topic".into(),
                payload: Payload::new(vec![], Dict::new().with("k", "v")),
            }
            .into(),
        ]
    }

    #[test]
    fn template_output_equals_the_serializer_output() {
        for s in Serializer::ALL {
            let t = Template::new(s, &call(1)).unwrap();
            for id in IDS {
                let mut out = Vec::new();
                t.write(id, &mut out);
                assert_eq!(out, s.encode_to_vec(&call(id)).unwrap(), "{s:?} id {id}");
                assert!(out.len() <= t.max_len());
            }
            for (k, m) in others(99_999).iter().enumerate() {
                let t = Template::new(s, m).unwrap();
                for id in IDS {
                    let mut out = Vec::new();
                    t.write(id, &mut out);
                    assert_eq!(
                        out,
                        s.encode_to_vec(&others(id)[k]).unwrap(),
                        "{s:?} id {id}"
                    );
                }
            }
        }
    }

    #[test]
    fn peek_reads_type_and_id_in_every_serializer() {
        for s in Serializer::ALL {
            for id in IDS {
                let bytes = s.encode_to_vec(&call(id)).unwrap();
                assert_eq!(peek(s, &bytes), Some((48, id)), "{s:?} id {id}");
                let event: Message = Event {
                    subscription: SubscriptionId::new(id).unwrap(),
                    publication: PublicationId::new(5).unwrap(),
                    details: Dict::new(),
                    payload: Payload::default(),
                }
                .into();
                let bytes = s.encode_to_vec(&event).unwrap();
                assert_eq!(peek(s, &bytes), Some((36, id)), "{s:?} id {id}");
            }
        }
    }

    #[test]
    fn peek_refuses_what_it_does_not_know() {
        let cases: &[(Serializer, &[u8])] = &[
            (Serializer::Json, b""),
            (Serializer::Json, b"[48]"),
            (Serializer::Json, b"[48,-1,{}]"),
            (Serializer::Json, b"[48,1.5,{}]"),
            (Serializer::Json, b"[48,1e3,{}]"),
            (Serializer::Json, b"[48,99999999999999999999999,{}]"),
            (Serializer::Json, b"{\"a\":1}"),
            (Serializer::MsgPack, &[0x91, 0x30]),
            (Serializer::MsgPack, &[0x92, 0x30, 0xd0, 0xff]),
            (Serializer::MsgPack, &[0x92, 0x30, 0xcd, 0x01]),
            (Serializer::Cbor, &[0x81, 0x18]),
            (Serializer::Cbor, &[0x82, 0x18, 0x30, 0x20]),
            (Serializer::Ubjson, b"[$U#U\x02\x30\x01"),
            (Serializer::Ubjson, b"[U\x30i\xff]"),
        ];
        for (s, bytes) in cases {
            assert_eq!(peek(*s, bytes), None, "{s:?} {bytes:?}");
        }
        // Accepted variants: whitespace in JSON, an indefinite CBOR array, no-ops in UBJSON.
        assert_eq!(peek(Serializer::Json, b" [ 50 , 7 ,{}]"), Some((50, 7)));
        assert_eq!(
            peek(Serializer::Cbor, &[0x9f, 0x18, 0x32, 0x07, 0xff]),
            Some((50, 7))
        );
        assert_eq!(peek(Serializer::Ubjson, b"[NU\x32NU\x07]"), Some((50, 7)));
        assert_eq!(
            peek(Serializer::MsgPack, &[0x92, 0xd0, 0x32, 0xd1, 0x01, 0x00]),
            Some((50, 256))
        );
    }
}
