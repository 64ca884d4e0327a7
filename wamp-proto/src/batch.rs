//! The batched WebSocket framings (`wamp.2.<serializer>.batched`): several WAMP messages in one
//! WebSocket message.
//!
//! * **Text (JSON):** every serialized message is *followed* by one separator octet. The spec
//!   names the ASCII record separator `0x1E` but also writes it as `\30`, and Autobahn-Python
//!   (hence Crossbar) really emits octal `\30` = **`0x18`**. We accept both on input, even mixed
//!   in one batch (neither octet can occur inside JSON text: control characters must be escaped
//!   in strings). On output the separator is configurable ([`JsonSeparator`]); the default is
//!   `0x18` ([`JsonSeparator::Autobahn`]) so that Autobahn and Crossbar peers, the only batched
//!   implementations in use, understand us.
//! * **Binary (MessagePack, CBOR, UBJSON, any serializer with [`Serializer::is_binary`]):**
//!   every serialized message is *preceded* by its length as a big-endian `u32`. The spec only
//!   describes this for MessagePack; Autobahn frames CBOR and UBJSON the same way.
//!
//! A batch always holds at least one message; an empty WebSocket message, a message without its
//! trailing separator, an empty element, or a length prefix pointing past the end is
//! [`DecodeError::InvalidBatch`], and the receiver must fail the transport.
//!
//! ```
//! use wamp_proto::Serializer;
//! use wamp_proto::batch::{self, JsonSeparator};
//!
//! let mut ws_message = Vec::new();
//! batch::push(Serializer::Json, JsonSeparator::default(), b"[6,{},\"a\"]", &mut ws_message).unwrap();
//! batch::push(Serializer::Json, JsonSeparator::default(), b"[6,{},\"b\"]", &mut ws_message).unwrap();
//! assert_eq!(ws_message, b"[6,{},\"a\"]\x18[6,{},\"b\"]\x18");
//!
//! let parts: Vec<&[u8]> = batch::split(Serializer::Json, &ws_message)
//!     .unwrap()
//!     .collect::<Result<_, _>>()
//!     .unwrap();
//! assert_eq!(parts, [&b"[6,{},\"a\"]"[..], &b"[6,{},\"b\"]"[..]]);
//! ```

use crate::error::{DecodeError, EncodeError};
use crate::message::Message;
use crate::serializer::Serializer;

/// The ASCII record separator `0x1E`, the JSON batch separator the spec names.
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// `0x18` (octal `\30`), the JSON batch separator Autobahn-Python and Crossbar emit.
pub const AUTOBAHN_SEPARATOR: u8 = 0x18;

/// Length of the `u32` prefix of binary batch elements.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Which separator octet we write after each JSON message of a batch (input accepts both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum JsonSeparator {
    /// `0x18`, what Autobahn-Python and Crossbar send and expect (the default).
    #[default]
    Autobahn,
    /// `0x1E`, the record separator the spec names.
    RecordSeparator,
}

impl JsonSeparator {
    /// The octet.
    pub const fn byte(self) -> u8 {
        match self {
            JsonSeparator::Autobahn => AUTOBAHN_SEPARATOR,
            JsonSeparator::RecordSeparator => RECORD_SEPARATOR,
        }
    }
}

/// Whether `b` separates JSON batch elements (`0x18` or `0x1E`).
pub const fn is_json_separator(b: u8) -> bool {
    b == AUTOBAHN_SEPARATOR || b == RECORD_SEPARATOR
}

/// Splits one batched WebSocket message into its serialized WAMP messages (without copying).
/// Fails at once on an empty batch; later framing errors come out of the iterator, after which
/// it ends.
pub fn split(serializer: Serializer, batch: &[u8]) -> Result<Split<'_>, DecodeError> {
    if batch.is_empty() {
        return Err(DecodeError::InvalidBatch);
    }
    Ok(Split {
        rest: batch,
        binary: serializer.is_binary(),
    })
}

/// Iterator over the elements of a batch; see [`split`].
#[derive(Clone, Debug)]
pub struct Split<'a> {
    rest: &'a [u8],
    binary: bool,
}

impl<'a> Split<'a> {
    /// The octets not yet split.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    fn next_binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let [a, b, c, d, tail @ ..] = self.rest else {
            return Err(DecodeError::InvalidBatch);
        };
        let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        if len == 0 || len > tail.len() {
            return Err(DecodeError::InvalidBatch);
        }
        let (item, rest) = tail.split_at(len);
        self.rest = rest;
        Ok(item)
    }

    fn next_text(&mut self) -> Result<&'a [u8], DecodeError> {
        let end = self
            .rest
            .iter()
            .position(|&b| is_json_separator(b))
            .ok_or(DecodeError::InvalidBatch)?;
        if end == 0 {
            return Err(DecodeError::InvalidBatch);
        }
        let item = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        Ok(item)
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let r = if self.binary {
            self.next_binary()
        } else {
            self.next_text()
        };
        if r.is_err() {
            self.rest = &[];
        }
        Some(r)
    }
}

impl std::iter::FusedIterator for Split<'_> {}

/// Appends one already serialized message to a batch in `out`. Fails, leaving `out` untouched,
/// for a binary element longer than `u32::MAX`.
pub fn push(
    serializer: Serializer,
    separator: JsonSeparator,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if serializer.is_binary() {
        let len = u32::try_from(payload.len()).map_err(|_| too_large(payload.len()))?;
        out.reserve(LENGTH_PREFIX_LEN + payload.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
    } else {
        out.reserve(payload.len() + 1);
        out.extend_from_slice(payload);
        out.push(separator.byte());
    }
    Ok(())
}

/// Serializes `msg` straight into a batch in `out` (no intermediate buffer) and returns the
/// length of the serialized message (without prefix or separator). On error `out` is left as
/// it was.
pub fn encode_into(
    serializer: Serializer,
    separator: JsonSeparator,
    msg: &Message,
    out: &mut Vec<u8>,
) -> Result<usize, EncodeError> {
    let start = out.len();
    if serializer.is_binary() {
        out.extend_from_slice(&[0; LENGTH_PREFIX_LEN]);
        if let Err(e) = serializer.encode(msg, out) {
            out.truncate(start);
            return Err(e);
        }
        let len = out.len() - start - LENGTH_PREFIX_LEN;
        let Ok(len32) = u32::try_from(len) else {
            out.truncate(start);
            return Err(too_large(len));
        };
        out[start..start + LENGTH_PREFIX_LEN].copy_from_slice(&len32.to_be_bytes());
        Ok(len)
    } else {
        serializer.encode(msg, out)?;
        let len = out.len() - start;
        out.push(separator.byte());
        Ok(len)
    }
}

fn too_large(size: usize) -> EncodeError {
    EncodeError::TooLarge {
        size,
        limit: u32::MAX as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Goodbye, Payload, Publish};
    use crate::{Dict, Value};

    fn collect(s: Serializer, b: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
        split(s, b)?.map(|r| r.map(<[u8]>::to_vec)).collect()
    }

    fn binary_serializers() -> impl Iterator<Item = Serializer> {
        Serializer::ALL.into_iter().filter(|s| s.is_binary())
    }

    #[test]
    fn json_accepts_both_separators() {
        let j = Serializer::Json;
        assert_eq!(collect(j, b"[1]\x18").unwrap(), [b"[1]".to_vec()]);
        assert_eq!(collect(j, b"[1]\x1e").unwrap(), [b"[1]".to_vec()]);
        assert_eq!(
            collect(j, b"[1]\x18[2]\x1e[3]\x18").unwrap(),
            [b"[1]".to_vec(), b"[2]".to_vec(), b"[3]".to_vec()]
        );
        // Other control octets are not separators.
        assert_eq!(collect(j, b"[1]\x1f"), Err(DecodeError::InvalidBatch));
    }

    #[test]
    fn json_batch_errors() {
        let j = Serializer::Json;
        assert!(matches!(split(j, b""), Err(DecodeError::InvalidBatch)));
        // Missing trailing separator.
        assert_eq!(collect(j, b"[1]"), Err(DecodeError::InvalidBatch));
        assert_eq!(collect(j, b"[1]\x18[2]"), Err(DecodeError::InvalidBatch));
        // Empty elements.
        assert_eq!(collect(j, b"\x18"), Err(DecodeError::InvalidBatch));
        assert_eq!(collect(j, b"[1]\x18\x1e"), Err(DecodeError::InvalidBatch));
        // The iterator ends after an error.
        let mut it = split(j, b"\x18[1]\x18").unwrap();
        assert_eq!(it.next(), Some(Err(DecodeError::InvalidBatch)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn binary_length_prefixes() {
        for s in binary_serializers() {
            assert_eq!(
                collect(s, b"\0\0\0\x01a\0\0\0\x02bc").unwrap(),
                [b"a".to_vec(), b"bc".to_vec()],
                "{s:?}"
            );
            // JSON separators mean nothing here.
            assert_eq!(collect(s, b"\0\0\0\x01\x18").unwrap(), [b"\x18".to_vec()]);
            assert!(matches!(split(s, b""), Err(DecodeError::InvalidBatch)));
            for bad in [
                &b"\0"[..],
                b"\0\0\0",
                b"\0\0\0\x02a",
                b"\0\0\0\x01a\0\0",
                b"\0\0\0\0",
                b"\xff\xff\xff\xffabc",
                b"\0\0\0\x01a\0\0\0\x05abcd",
            ] {
                assert_eq!(collect(s, bad), Err(DecodeError::InvalidBatch), "{bad:?}");
            }
        }
    }

    #[test]
    fn push_and_split_round_trip() {
        for s in Serializer::ALL {
            for sep in [JsonSeparator::Autobahn, JsonSeparator::RecordSeparator] {
                let mut out = Vec::new();
                let items: [&[u8]; 3] = [b"[1]", b"[2,3]", b"x"];
                for i in items {
                    push(s, sep, i, &mut out).unwrap();
                }
                if s.is_binary() {
                    assert_eq!(&out[..5], b"\0\0\0\x03[");
                } else {
                    assert_eq!(out[3], sep.byte());
                }
                assert_eq!(collect(s, &out).unwrap(), items.map(<[u8]>::to_vec));
            }
        }
        assert_eq!(JsonSeparator::default().byte(), 0x18);
        assert_eq!(JsonSeparator::RecordSeparator.byte(), 0x1E);
    }

    #[test]
    fn encode_into_round_trips_messages() {
        let msgs: Vec<Message> = vec![
            Goodbye {
                details: Dict::new(),
                reason: "wamp.close.normal".into(),
            }
            .into(),
            Publish {
                request: crate::id::RequestId::new(1).unwrap(),
                options: Dict::new(),
                topic: "com.example.t".into(),
                payload: Payload::args(vec![Value::Bytes(vec![0x18, 0x1E, 0]), "\u{18}".into()]),
            }
            .into(),
        ];
        for s in Serializer::ALL {
            let mut out = vec![];
            for m in &msgs {
                let n = encode_into(s, JsonSeparator::default(), m, &mut out).unwrap();
                assert_eq!(n, s.encode_to_vec(m).unwrap().len());
            }
            let back: Vec<Message> = split(s, &out)
                .unwrap()
                .map(|r| s.decode(r.unwrap()).unwrap())
                .collect();
            assert_eq!(back, msgs, "{s:?}");
        }
        // A failed encoding leaves the batch untouched.
        let bad: Message = Publish {
            request: crate::id::RequestId::new(1).unwrap(),
            options: Dict::new(),
            topic: "t".into(),
            payload: Payload::args(vec![Value::Float(f64::NAN)]),
        }
        .into();
        let mut out = b"[1]\x18".to_vec();
        assert!(encode_into(Serializer::Json, JsonSeparator::default(), &bad, &mut out).is_err());
        assert_eq!(out, b"[1]\x18");
    }
}
