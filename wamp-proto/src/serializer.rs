//! The WAMP serializers: JSON (with the binary convention), MessagePack, CBOR and UBJSON, and
//! the batched WebSocket framings.
//!
//! Every serializer goes through one `serde` implementation of [`Message`], so the message
//! layout rules live in one place. Decoding is limited by [`DecodeLimits`] and never panics.

use serde::de::DeserializeSeed;

use crate::binary::RawError;
use crate::error::{DecodeError, EncodeError};
use crate::message::{Message, MessageSeed};
use crate::value::{DecodeLimits, DecodeState, Value};
use crate::{cbor, msgpack, ubjson};

/// A WAMP serializer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Serializer {
    /// JSON (RFC 8259); bytes as `"\u0000"` + base64. WebSocket text frames.
    Json,
    /// MessagePack (spec v5: `str` vs `bin`).
    MsgPack,
    /// CBOR (RFC 8949).
    Cbor,
    /// "UBJSON" as autobahn-python (>= 26.6.1) and Crossbar speak it today: BJData Draft 4
    /// (little-endian numbers, unsigned integer types, bytes as `[$B#` arrays), byte for byte
    /// what the `bjdata` package writes. RawSocket serializer 4.
    ///
    /// Not supported: the legacy big-endian UBJSON of py-ubjson (autobahn-python <= 25.12.2);
    /// its multi-byte numbers would be read in the wrong byte order. Decoding also accepts the
    /// optimized containers (`$` type, `#` count, one-dimensional `#[n]` counts), `N` no-ops,
    /// `C` chars, `h` half floats and `H` high-precision numbers (an integer in the `i64`/`u64`
    /// range, else the nearest float; larger integers are `IntegerOutOfRange`); it rejects
    /// multi-dimensional and structure-of-arrays containers. Encoding differs from bjdata in one
    /// place: subnormal floats are written exactly as `D` float64, where bjdata writes an `H`
    /// decimal string.
    Ubjson,
}

impl Serializer {
    /// Every serializer, in preference order for negotiation.
    pub const ALL: [Serializer; 4] = [
        Serializer::MsgPack,
        Serializer::Cbor,
        Serializer::Json,
        Serializer::Ubjson,
    ];

    /// The WebSocket subprotocol (`wamp.2.json`, ...).
    pub const fn subprotocol(self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json",
            Serializer::MsgPack => "wamp.2.msgpack",
            Serializer::Cbor => "wamp.2.cbor",
            Serializer::Ubjson => "wamp.2.ubjson",
        }
    }

    /// The batched WebSocket subprotocol (`wamp.2.json.batched`, ...).
    pub const fn batched_subprotocol(self) -> &'static str {
        match self {
            Serializer::Json => "wamp.2.json.batched",
            Serializer::MsgPack => "wamp.2.msgpack.batched",
            Serializer::Cbor => "wamp.2.cbor.batched",
            Serializer::Ubjson => "wamp.2.ubjson.batched",
        }
    }

    /// The RawSocket serializer ID (1 JSON, 2 MessagePack, 3 CBOR, 4 UBJSON).
    pub const fn rawsocket_id(self) -> u8 {
        match self {
            Serializer::Json => 1,
            Serializer::MsgPack => 2,
            Serializer::Cbor => 3,
            Serializer::Ubjson => 4,
        }
    }

    /// The serializer for a RawSocket serializer ID.
    pub fn from_rawsocket_id(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.rawsocket_id() == id)
    }

    /// Whether the encoding is binary (WebSocket binary frames) rather than text.
    pub const fn is_binary(self) -> bool {
        !matches!(self, Serializer::Json)
    }

    /// A short name for logs and errors.
    pub const fn name(self) -> &'static str {
        match self {
            Serializer::Json => "json",
            Serializer::MsgPack => "msgpack",
            Serializer::Cbor => "cbor",
            Serializer::Ubjson => "ubjson",
        }
    }

    /// Appends the encoding of `msg` to `out`. On error `out` is left as it was.
    pub fn encode(self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let r = match self {
            Serializer::Json => {
                serde_json::to_writer(&mut *out, msg).map_err(|_| EncodeError::JsonUnrepresentable)
            }
            Serializer::MsgPack => {
                let mut e = msgpack::Encoder::new(out);
                match crate::binary::serialize_into(&mut e, msg) {
                    Ok(()) if !e.failed() => Ok(()),
                    _ => Err(EncodeError::Serializer("msgpack")),
                }
            }
            Serializer::Cbor => crate::binary::serialize_into(&mut cbor::Encoder::new(out), msg)
                .map_err(|_| EncodeError::Serializer("cbor")),
            Serializer::Ubjson => {
                crate::binary::serialize_into(&mut ubjson::Encoder::new(out), msg)
                    .map_err(|_| EncodeError::Serializer("ubjson"))
            }
        };
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Encodes `msg` into a new buffer.
    pub fn encode_to_vec(self, msg: &Message) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.encode(msg, &mut out)?;
        Ok(out)
    }

    /// Decodes one message with the default [`DecodeLimits`].
    pub fn decode(self, bytes: &[u8]) -> Result<Message, DecodeError> {
        self.decode_with_limits(bytes, DecodeLimits::default())
    }

    /// Decodes one message under `limits`.
    pub fn decode_with_limits(
        self,
        bytes: &[u8],
        limits: DecodeLimits,
    ) -> Result<Message, DecodeError> {
        let mut state = DecodeState::new(limits);
        match self {
            Serializer::Json => {
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let r = MessageSeed { state: &mut state }.deserialize(&mut de);
                let r = r.and_then(|m| de.end().map(|()| m));
                finish(r, state, "json")
            }
            Serializer::MsgPack => {
                let mut de = msgpack::Deserializer::new(bytes, raw_depth(limits));
                let r = MessageSeed { state: &mut state }.deserialize(&mut de);
                let r = r.and_then(|m| de.end().map(|()| m));
                finish_raw(r, state, "msgpack")
            }
            Serializer::Cbor => {
                let mut de = cbor::Deserializer::new(bytes, raw_depth(limits));
                let r = MessageSeed { state: &mut state }.deserialize(&mut de);
                let r = r.and_then(|m| de.end().map(|()| m));
                finish_raw(r, state, "cbor")
            }
            Serializer::Ubjson => {
                let mut de = ubjson::Deserializer::new(
                    bytes,
                    raw_depth(limits),
                    limits.max_elements.saturating_add(1),
                );
                let r = MessageSeed { state: &mut state }.deserialize(&mut de);
                let r = r.and_then(|m| de.end().map(|()| m));
                finish_raw(r, state, "ubjson")
            }
        }
    }
}

/// Turns a format result plus the typed error recorded in `state` into our result.
fn finish<E>(
    r: Result<Message, E>,
    state: DecodeState,
    format: &'static str,
) -> Result<Message, DecodeError> {
    match r {
        Ok(m) => Ok(m),
        Err(_) => Err(state.error.unwrap_or(DecodeError::Syntax(format))),
    }
}

/// The nesting bound our own decoders enforce by themselves: one more level than the seeds
/// allow (the message list is level 1 for the decoder and level 0 for the seeds), plus one, so
/// that the seeds report `TooDeep` with their typed error first, and skipping stays bounded.
fn raw_depth(limits: DecodeLimits) -> usize {
    limits.max_depth.saturating_add(2)
}

/// Like [`finish`], for our own decoders, whose errors say whether nesting was too deep.
fn finish_raw(
    r: Result<Message, RawError>,
    state: DecodeState,
    format: &'static str,
) -> Result<Message, DecodeError> {
    match r {
        Ok(m) => Ok(m),
        Err(e) => Err(state.error.unwrap_or(match e {
            RawError::TooDeep => DecodeError::TooDeep,
            RawError::OutOfRange => DecodeError::IntegerOutOfRange,
            RawError::Syntax | RawError::Custom => DecodeError::Syntax(format),
        })),
    }
}

/// Builds a message from a value tree with the decoder's checks.
pub(crate) fn decode_with(v: &Value, limits: DecodeLimits) -> Result<Message, DecodeError> {
    let mut state = DecodeState::new(limits);
    let r = MessageSeed { state: &mut state }.deserialize(crate::value_de::ValueRef(v));
    finish(r, state, "value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Call, Payload};
    use crate::{Dict, Value};

    fn call() -> Message {
        Call {
            request: crate::id::RequestId::new(7814135).unwrap(),
            options: Dict::new(),
            procedure: "com.myapp.myprocedure1".into(),
            payload: Payload::args(vec!["Hello, world!".into()]),
        }
        .into()
    }

    #[test]
    fn json_matches_vector() {
        let b = Serializer::Json.encode_to_vec(&call()).unwrap();
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            r#"[48,7814135,{},"com.myapp.myprocedure1",["Hello, world!"]]"#
        );
        assert_eq!(Serializer::Json.decode(&b).unwrap(), call());
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(Serializer::ALL.last(), Some(&Serializer::Ubjson));
        assert_eq!(Serializer::Ubjson.subprotocol(), "wamp.2.ubjson");
        assert_eq!(
            Serializer::Ubjson.batched_subprotocol(),
            "wamp.2.ubjson.batched"
        );
        assert_eq!(Serializer::from_rawsocket_id(4), Some(Serializer::Ubjson));
        assert!(Serializer::Ubjson.is_binary());
        for (i, s) in Serializer::ALL.iter().enumerate() {
            assert_eq!(Serializer::from_rawsocket_id(s.rawsocket_id()), Some(*s));
            assert!(s.batched_subprotocol().starts_with(s.subprotocol()));
            assert!(Serializer::ALL[..i].iter().all(|o| o.name() != s.name()));
        }
        assert_eq!(Serializer::from_rawsocket_id(5), None);
    }

    #[test]
    fn every_serializer_matches_the_call_vector() {
        // call.json of the WAMP test suite (the BJData variant for ubjson).
        let cases = [
            (
                Serializer::MsgPack,
                "9530ce00773bf780b6636f6d2e6d796170702e6d7970726f6365647572653191ad48656c6c6f2c20776f726c6421",
            ),
            (
                Serializer::Cbor,
                "8518301a00773bf7a076636f6d2e6d796170702e6d7970726f63656475726531816d48656c6c6f2c20776f726c6421",
            ),
            (
                Serializer::Ubjson,
                "5b55306df73b77007b7d535516636f6d2e6d796170702e6d7970726f636564757265315b53550d48656c6c6f2c20776f726c64215d5d",
            ),
        ];
        for (s, hex) in cases {
            let b = hex::decode(hex).unwrap();
            assert_eq!(s.decode(&b).unwrap(), call(), "{s:?}");
            assert_eq!(s.encode_to_vec(&call()).unwrap(), b, "{s:?}");
        }
    }

    #[test]
    fn limits_apply_to_every_serializer() {
        let nested = (0..10).fold(Value::Null, |v, _| Value::List(vec![v]));
        let mut m = call();
        if let Message::Call(c) = &mut m {
            c.payload = Payload::args(vec![nested, Value::List(vec![Value::Null; 50])]);
        }
        let shallow = DecodeLimits {
            max_depth: 8,
            max_elements: 1_000,
        };
        let few = DecodeLimits {
            max_depth: 64,
            max_elements: 40,
        };
        for s in Serializer::ALL {
            let b = s.encode_to_vec(&m).unwrap();
            assert_eq!(s.decode(&b).as_ref(), Ok(&m), "{s:?}");
            assert_eq!(
                s.decode_with_limits(&b, shallow),
                Err(DecodeError::TooDeep),
                "{s:?}"
            );
            assert_eq!(
                s.decode_with_limits(&b, few),
                Err(DecodeError::TooManyElements),
                "{s:?}"
            );
            let mut trailing = b.clone();
            trailing.push(b.last().copied().unwrap_or(0));
            assert!(s.decode(&trailing).is_err(), "{s:?}");
        }
    }

    /// Mutations of valid messages (byte flips, insertions, deletions, truncations) never panic
    /// any decoder, and whatever still decodes re-encodes.
    #[test]
    fn mutated_messages_never_panic() {
        use crate::Entropy as _;
        let mut m = call();
        if let Message::Call(c) = &mut m {
            c.options = Dict::new()
                .with("timeout", 100u8)
                .with("receive_progress", true);
            c.payload = Payload::new(
                vec![
                    Value::Bytes(vec![1, 2, 3]),
                    Value::Int(-70_000),
                    Value::UInt(u64::MAX),
                    Value::Float(-1.25),
                    Value::List(vec![Value::Null, Value::Bool(false), "x".into()]),
                ],
                Dict::new().with("k", Dict::new().with("n", vec![Value::UInt(300)])),
            );
        }
        let mut rng = crate::SeededEntropy::new(99);
        for s in Serializer::ALL {
            let good = s.encode_to_vec(&m).unwrap();
            for _ in 0..5_000 {
                let mut b = good.clone();
                for _ in 0..=(rng.next_u64() % 4) {
                    let r = rng.next_u64();
                    let i = (r >> 8) as usize % b.len().max(1);
                    match r % 4 {
                        0 if !b.is_empty() => b[i] = (r >> 40) as u8,
                        1 => b.insert(i.min(b.len()), (r >> 40) as u8),
                        2 if !b.is_empty() => {
                            b.remove(i);
                        }
                        _ => b.truncate(i),
                    }
                }
                if let Ok(decoded) = s.decode(&b) {
                    assert!(s.encode_to_vec(&decoded).is_ok(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn transparent_payloads_round_trip() {
        for s in Serializer::ALL {
            let mut m = call();
            if let Message::Call(c) = &mut m {
                c.payload = Payload::Transparent(vec![0, 1, 2, 255]);
            }
            let b = s.encode_to_vec(&m).unwrap();
            assert_eq!(s.decode(&b).unwrap(), m, "{s:?}");
        }
    }

    #[test]
    fn binary_round_trips() {
        for s in Serializer::ALL {
            let mut m = call();
            if let Message::Call(c) = &mut m {
                c.payload = Payload::new(
                    vec![
                        Value::Bytes(vec![0, 1, 255]),
                        Value::Int(-5),
                        Value::UInt(u64::MAX),
                    ],
                    Dict::new().with("f", 1.5f64),
                );
            }
            let b = s.encode_to_vec(&m).unwrap();
            assert_eq!(s.decode(&b).unwrap(), m, "{s:?}");
        }
    }

    #[test]
    fn errors_are_typed() {
        let j = Serializer::Json;
        assert_eq!(j.decode(b"{}"), Err(DecodeError::NotAList));
        assert_eq!(j.decode(b"[]"), Err(DecodeError::Empty));
        assert_eq!(j.decode(b"[7]"), Err(DecodeError::UnknownMessageType(7)));
        assert!(matches!(
            j.decode(br#"[48, 0, {}, "a"]"#),
            Err(DecodeError::InvalidId { .. })
        ));
        assert!(matches!(
            j.decode(br#"[48, 1, {}, "a", [], {}, 1]"#),
            Err(DecodeError::WrongArity { .. })
        ));
        assert!(matches!(
            j.decode(br#"[16, 1, {"acknowledge": 1}, "a"]"#),
            Err(DecodeError::InvalidOption {
                key: "acknowledge",
                ..
            })
        ));
        assert_eq!(
            j.decode(br#"[1, "r", {"a":1, "a":2}]"#),
            Err(DecodeError::DuplicateKey)
        );
        assert!(matches!(j.decode(b"[1, "), Err(DecodeError::Syntax(_))));
        let m = rmp_serde::to_vec(&(1u8, "realm", std::collections::BTreeMap::from([(1u8, 2u8)])))
            .unwrap();
        assert_eq!(
            Serializer::MsgPack.decode(&m),
            Err(DecodeError::NonStringKey)
        );
    }
}

#[cfg(test)]
mod json_limits {
    use super::*;
    use crate::message::{Payload, Publish};
    use crate::{Dict, Value};

    #[test]
    fn json_refuses_what_it_cannot_carry() {
        for bad in [
            Value::Str("\0looks like bytes".into()),
            Value::Float(f64::NAN),
        ] {
            let m: Message = Publish {
                request: crate::id::RequestId::new(1).unwrap(),
                options: Dict::new(),
                topic: "t".into(),
                payload: Payload::args(vec![bad.clone()]),
            }
            .into();
            let mut out = b"keep".to_vec();
            assert_eq!(
                Serializer::Json.encode(&m, &mut out),
                Err(EncodeError::JsonUnrepresentable)
            );
            assert_eq!(out, b"keep", "buffer untouched on error");
            let b = Serializer::MsgPack.encode_to_vec(&m).unwrap();
            assert_eq!(Serializer::MsgPack.decode(&b).unwrap(), m);
        }
    }
}
