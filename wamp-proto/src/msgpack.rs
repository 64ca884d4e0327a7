//! MessagePack (spec v5, `str` apart from `bin`): a serde `Deserializer` over `&[u8]` and an
//! encoder.
//!
//! Decoding borrows strings and byte strings from the input (UTF-8-checked), accepts every
//! integer and float width, and rejects the never-used byte `0xc1`, extension types (WAMP has
//! none), text that is not UTF-8, truncation and trailing bytes. It never panics, never allocates
//! from a claimed length before the bytes are there and bounds its own nesting depth.
//!
//! Encoding writes what msgpack-python (autobahn) and rmp-serde write: integers in their
//! shortest form (non-negative ones in the unsigned formats), floats as float64, the shortest
//! `str`, `bin`, array and map headers.

use serde::de::{self, Visitor};

use crate::binary::{Emit, Items, RawError, Reader, Source, self_describing};

/// A MessagePack deserializer over a byte slice.
pub(crate) struct Deserializer<'de> {
    r: Reader<'de>,
}

impl<'de> Deserializer<'de> {
    /// A deserializer that refuses containers nested deeper than `max_depth`.
    pub(crate) fn new(input: &'de [u8], max_depth: usize) -> Self {
        Deserializer {
            r: Reader::new(input, max_depth),
        }
    }

    /// Fails if bytes are left after the decoded item.
    pub(crate) fn end(&self) -> Result<(), RawError> {
        self.r.end()
    }

    fn len8(&mut self) -> Result<usize, RawError> {
        Ok(self.r.byte()?.into())
    }
    fn len16(&mut self) -> Result<usize, RawError> {
        Ok(u16::from_be_bytes(self.r.array()?).into())
    }
    fn len32(&mut self) -> Result<usize, RawError> {
        usize::try_from(u32::from_be_bytes(self.r.array()?)).map_err(|_| RawError::Syntax)
    }
}

impl<'de> Source<'de> for Deserializer<'de> {
    fn reader(&self) -> &Reader<'de> {
        &self.r
    }
    fn reader_mut(&mut self) -> &mut Reader<'de> {
        &mut self.r
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = RawError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RawError> {
        let b = self.r.byte()?;
        match b {
            0x00..=0x7f => v.visit_u64(b.into()),
            0x80..=0x8f => Items::map(self, Some(usize::from(b & 0x0f)), v),
            0x90..=0x9f => Items::seq(self, Some(usize::from(b & 0x0f)), v),
            0xa0..=0xbf => v.visit_borrowed_str(self.r.str(usize::from(b & 0x1f))?),
            0xc0 => v.visit_unit(),
            0xc2 => v.visit_bool(false),
            0xc3 => v.visit_bool(true),
            0xc4 => {
                let n = self.len8()?;
                v.visit_borrowed_bytes(self.r.take(n)?)
            }
            0xc5 => {
                let n = self.len16()?;
                v.visit_borrowed_bytes(self.r.take(n)?)
            }
            0xc6 => {
                let n = self.len32()?;
                v.visit_borrowed_bytes(self.r.take(n)?)
            }
            0xca => v.visit_f64(f32::from_be_bytes(self.r.array()?).into()),
            0xcb => v.visit_f64(f64::from_be_bytes(self.r.array()?)),
            0xcc => v.visit_u64(self.r.byte()?.into()),
            0xcd => v.visit_u64(u16::from_be_bytes(self.r.array()?).into()),
            0xce => v.visit_u64(u32::from_be_bytes(self.r.array()?).into()),
            0xcf => v.visit_u64(u64::from_be_bytes(self.r.array()?)),
            0xd0 => v.visit_i64(i8::from_be_bytes(self.r.array()?).into()),
            0xd1 => v.visit_i64(i16::from_be_bytes(self.r.array()?).into()),
            0xd2 => v.visit_i64(i32::from_be_bytes(self.r.array()?).into()),
            0xd3 => v.visit_i64(i64::from_be_bytes(self.r.array()?)),
            0xd9 => {
                let n = self.len8()?;
                v.visit_borrowed_str(self.r.str(n)?)
            }
            0xda => {
                let n = self.len16()?;
                v.visit_borrowed_str(self.r.str(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                v.visit_borrowed_str(self.r.str(n)?)
            }
            0xdc => {
                let n = self.len16()?;
                Items::seq(self, Some(n), v)
            }
            0xdd => {
                let n = self.len32()?;
                Items::seq(self, Some(n), v)
            }
            0xde => {
                let n = self.len16()?;
                Items::map(self, Some(n), v)
            }
            0xdf => {
                let n = self.len32()?;
                Items::map(self, Some(n), v)
            }
            0xe0..=0xff => v.visit_i64(i64::from(b as i8)),
            // 0xc1 (never used), ext 8/16/32 and fixext: not WAMP data.
            _ => Err(RawError::Syntax),
        }
    }

    self_describing!();
}

/// Writes MessagePack into a vector.
pub(crate) struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    /// Set when a length does not fit MessagePack's 32 bits or is unknown.
    failed: bool,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Encoder { out, failed: false }
    }

    /// Whether something could not be written (the output is then incomplete).
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// A header: the fix form under `fix_limit`, else the 8-bit form if there is one
    /// (`m8 != 0`), the 16-bit or the 32-bit form.
    #[inline]
    fn header(&mut self, n: usize, fix: u8, fix_limit: usize, m8: u8, m16: u8, m32: u8) {
        if n < fix_limit {
            // n < fix_limit <= 32: fits the low bits of the fix marker.
            self.out.push(fix | n as u8);
        } else if m8 != 0
            && let Ok(b) = u8::try_from(n)
        {
            self.out.extend_from_slice(&[m8, b]);
        } else if let Ok(s) = u16::try_from(n) {
            self.out.push(m16);
            self.out.extend_from_slice(&s.to_be_bytes());
        } else if let Ok(w) = u32::try_from(n) {
            self.out.push(m32);
            self.out.extend_from_slice(&w.to_be_bytes());
        } else {
            self.failed = true;
        }
    }
}

impl Emit for Encoder<'_> {
    fn null(&mut self) {
        self.out.push(0xc0);
    }
    fn bool(&mut self, v: bool) {
        self.out.push(if v { 0xc3 } else { 0xc2 });
    }
    fn uint(&mut self, v: u64) {
        if v < 128 {
            self.out.push(v as u8);
        } else if let Ok(b) = u8::try_from(v) {
            self.out.extend_from_slice(&[0xcc, b]);
        } else if let Ok(s) = u16::try_from(v) {
            self.out.push(0xcd);
            self.out.extend_from_slice(&s.to_be_bytes());
        } else if let Ok(w) = u32::try_from(v) {
            self.out.push(0xce);
            self.out.extend_from_slice(&w.to_be_bytes());
        } else {
            self.out.push(0xcf);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }
    fn neg(&mut self, v: i64) {
        if v >= -32 {
            self.out.push(v as i8 as u8);
        } else if let Ok(b) = i8::try_from(v) {
            self.out.push(0xd0);
            self.out.extend_from_slice(&b.to_be_bytes());
        } else if let Ok(s) = i16::try_from(v) {
            self.out.push(0xd1);
            self.out.extend_from_slice(&s.to_be_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.out.push(0xd2);
            self.out.extend_from_slice(&w.to_be_bytes());
        } else {
            self.out.push(0xd3);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }
    fn float(&mut self, v: f64) {
        self.out.push(0xcb);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn str(&mut self, v: &str) {
        self.header(v.len(), 0xa0, 32, 0xd9, 0xda, 0xdb);
        self.out.extend_from_slice(v.as_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.header(v.len(), 0xc4, 0, 0xc4, 0xc5, 0xc6);
        self.out.extend_from_slice(v);
    }
    fn seq_begin(&mut self, len: Option<usize>) -> Result<(), RawError> {
        let n = len.ok_or(RawError::Custom)?;
        self.header(n, 0x90, 16, 0, 0xdc, 0xdd);
        Ok(())
    }
    fn seq_end(&mut self, _len: Option<usize>) {}
    fn map_begin(&mut self, len: Option<usize>) -> Result<(), RawError> {
        let n = len.ok_or(RawError::Custom)?;
        self.header(n, 0x80, 16, 0, 0xde, 0xdf);
        Ok(())
    }
    fn map_end(&mut self, _len: Option<usize>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binary::testing::{
        assert_truncations_fail, common_values, decode_value, random_inputs, small_items,
    };
    use crate::value::DecodeLimits;
    use crate::{DecodeError, Dict, Value};

    fn encode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        crate::binary::serialize_into(&mut e, v).unwrap();
        assert!(!e.failed());
        out
    }

    fn decode_limits(b: &[u8], limits: DecodeLimits) -> Result<Value, DecodeError> {
        decode_value(
            Deserializer::new(b, limits.max_depth.saturating_add(2)),
            limits,
            "msgpack",
        )
    }

    fn decode(b: &[u8]) -> Result<Value, DecodeError> {
        decode_limits(b, DecodeLimits::default())
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn every_variant() -> Value {
        let mut v = common_values();
        v.extend([
            // Fix, 8-, 16- and 32-bit forms.
            Value::Int(-32),
            Value::Int(-33),
            Value::UInt(127),
            Value::UInt(128),
            Value::Str("x".repeat(31)),
            Value::Str("x".repeat(32)),
            Value::Str("héllo wörld ✓".repeat(30)),
            Value::Bytes(vec![7; 300]),
            Value::List(vec![Value::Null; 16]),
            Value::List(vec![Value::Null; 70_000]),
            Value::Dict((0..16).map(|i| (format!("k{i}"), i)).collect()),
        ]);
        Value::List(v)
    }

    #[test]
    fn round_trips_every_variant() {
        let v = every_variant();
        assert_eq!(decode(&encode(&v)).unwrap(), v);
    }

    #[test]
    fn encoding_matches_rmp_serde() {
        // rmp-serde is the reference our previous encoder used; msgpack-python writes the same.
        let v = every_variant();
        assert_eq!(encode(&v), rmp_serde::to_vec(&v).unwrap());
        let cases: [(Value, &str); 12] = [
            (Value::UInt(0), "00"),
            (Value::UInt(127), "7f"),
            (Value::UInt(128), "cc80"),
            (Value::UInt(7_814_135), "ce00773bf7"),
            (Value::UInt(u64::MAX), "cfffffffffffffffff"),
            (Value::Int(-1), "ff"),
            (Value::Int(-32), "e0"),
            (Value::Int(-33), "d0df"),
            (Value::Float(1.5), "cb3ff8000000000000"),
            (Value::Str("é".into()), "a2c3a9"),
            (Value::Bytes(b"ab".to_vec()), "c4026162"),
            (Value::List(vec![]), "90"),
        ];
        for (v, hex) in cases {
            assert_eq!(hex::encode(encode(&v)), hex, "{v:?}");
        }
    }

    #[test]
    fn decodes_every_width() {
        let cases: Vec<(&str, Value)> = vec![
            ("cc05", Value::UInt(5)),
            ("cd0005", Value::UInt(5)),
            ("ce00000005", Value::UInt(5)),
            ("cf0000000000000005", Value::UInt(5)),
            ("d005", Value::UInt(5)),
            ("d1fffb", Value::Int(-5)),
            ("d2fffffffb", Value::Int(-5)),
            ("d3fffffffffffffffb", Value::Int(-5)),
            ("ca3fc00000", Value::Float(1.5)),
            ("d90161", "a".into()),
            ("da000161", "a".into()),
            ("db0000000161", "a".into()),
            ("c50001ff", Value::Bytes(vec![255])),
            ("c600000001ff", Value::Bytes(vec![255])),
            ("dc0001c0", Value::List(vec![Value::Null])),
            ("dd00000001c0", Value::List(vec![Value::Null])),
            ("de0001a161c3", Dict::new().with("a", true).into()),
            ("df00000001a161c2", Dict::new().with("a", false).into()),
        ];
        for (hex, want) in cases {
            assert_eq!(decode(&h(hex)), Ok(want), "{hex}");
        }
    }

    #[test]
    fn rejects_malformed_items() {
        for hex in [
            "",           // nothing
            "c1",         // never used
            "d40100",     // fixext 1
            "c70101aa",   // ext 8
            "a2c328",     // invalid UTF-8
            "92c0",       // short array
            "81a161",     // map without its value
            "c0c0",       // trailing bytes
            "dbffffffff", // truncated str32
        ] {
            assert!(decode(&h(hex)).is_err(), "{hex} must fail");
        }
        assert_eq!(decode(&h("810101")), Err(DecodeError::NonStringKey));
        assert_eq!(decode(&h("82a16101a16102")), Err(DecodeError::DuplicateKey));
    }

    #[test]
    fn every_truncation_fails_without_panic() {
        let small = encode(&small_items(every_variant()));
        assert_truncations_fail(&small, &encode(&every_variant()), decode);
    }

    #[test]
    fn garbage_never_panics() {
        // Half the rounds start with a fixarray, so that nesting paths are exercised.
        let byte = |round: usize, i: usize, r: u64| match (round % 2, i) {
            (0, 0) => 0x90 | (r as u8 & 0x0f),
            _ => r as u8,
        };
        random_inputs(5, byte, |buf| {
            let _ = decode(buf);
            let _ = crate::Serializer::MsgPack.decode(buf);
        });
    }

    #[test]
    fn nesting_is_bounded_by_the_limits() {
        let limits = DecodeLimits {
            max_depth: 16,
            max_elements: 1_000_000,
        };
        for opener in [&[0x91u8][..], &[0xdc, 0x00, 0x01], &[0x81, 0xa1, b'k']] {
            let b = opener.repeat(100_000);
            assert_eq!(decode_limits(&b, limits), Err(DecodeError::TooDeep));
            let mut de = Deserializer::new(&b, 16);
            let r = de::Deserializer::deserialize_ignored_any(&mut de, de::IgnoredAny);
            assert_eq!(r.err(), Some(RawError::TooDeep));
        }
        let mut ok = vec![0x91u8; 15];
        ok.push(0xc0);
        assert!(decode_limits(&ok, limits).is_ok());
    }

    #[test]
    fn huge_claimed_lengths_fail_fast() {
        for hex in [
            "c6ffffffff",   // bin32 of 4 GiB
            "dbffffffff",   // str32 of 4 GiB
            "ddffffffffc0", // array32 of 2^32-1 elements
            "dfffffffff",   // map32 of 2^32-1 entries
        ] {
            assert!(decode(&h(hex)).is_err(), "{hex}");
        }
    }

    #[test]
    fn element_limit_applies() {
        let limits = DecodeLimits {
            max_depth: 8,
            max_elements: 10,
        };
        let b = encode(&Value::List(vec![Value::Null; 20]));
        assert_eq!(decode_limits(&b, limits), Err(DecodeError::TooManyElements));
    }
}
