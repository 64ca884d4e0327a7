//! CBOR (RFC 8949): a serde `Deserializer` over `&[u8]` and an encoder.
//!
//! Decoding accepts every well-formed data item a WAMP peer can send: all integer widths
//! (a negative number below `i64::MIN` is handed on as an `i128`, which the value visitor
//! rejects as out of range), definite and indefinite lengths (an indefinite string is the
//! concatenation of its definite chunks, each of the same major type), half, single and double
//! floats, `true`/`false`/`null`, `undefined` (read as null), and tags (skipped: the tagged item is
//! decoded as if untagged). Other simple values, reserved additional-information values and a
//! stray break are syntax errors. Strings are borrowed from the input and UTF-8-checked.
//!
//! The decoder never panics, never allocates from a length the peer claims before the bytes are
//! there (a string longer than the rest of the input fails at once; list and map capacity is
//! capped by the seeds and by the bytes left), and bounds its own nesting depth, independently of
//! the visitors.
//!
//! Encoding writes the preferred serialization: integers in their shortest form, definite
//! lengths (a container of unknown length, which our messages never produce, is written with an
//! indefinite length), text as major 3 and bytes as major 2, finite floats as 64-bit floats and
//! NaN and the infinities as half floats when that is lossless (what cbor2, hence
//! autobahn-python, writes).

use serde::de::{self, Visitor};

use crate::binary::{Emit, Items, RawError, Reader, Source, self_describing};

const BREAK: u8 = 0xff;

/// A CBOR deserializer over a byte slice.
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

    /// The argument of a head whose additional information is `info` (not 31).
    #[inline]
    fn arg(&mut self, info: u8) -> Result<u64, RawError> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.r.byte()?),
            25 => u64::from(u16::from_be_bytes(self.r.array()?)),
            26 => u64::from(u32::from_be_bytes(self.r.array()?)),
            27 => u64::from_be_bytes(self.r.array()?),
            _ => return Err(RawError::Syntax),
        })
    }

    /// A definite length.
    #[inline]
    fn len(&mut self, info: u8) -> Result<usize, RawError> {
        usize::try_from(self.arg(info)?).map_err(|_| RawError::Syntax)
    }

    /// A container's count; `None` for an indefinite length (up to the break).
    #[inline]
    fn count(&mut self, info: u8) -> Result<Option<usize>, RawError> {
        if info == 31 {
            Ok(None)
        } else {
            self.len(info).map(Some)
        }
    }

    /// Concatenates the chunks of an indefinite-length string of major type `major`.
    fn chunks(&mut self, major: u8) -> Result<Vec<u8>, RawError> {
        let mut out = Vec::new();
        loop {
            let ib = self.r.byte()?;
            if ib == BREAK {
                return Ok(out);
            }
            if ib >> 5 != major || ib & 0x1f == 31 {
                return Err(RawError::Syntax);
            }
            let n = self.len(ib & 0x1f)?;
            let chunk = self.r.take(n)?;
            if major == 3 {
                std::str::from_utf8(chunk).map_err(|_| RawError::Syntax)?;
            }
            out.extend_from_slice(chunk);
        }
    }
}

/// Converts an IEEE 754 half-precision float to `f64`, exactly.
pub(crate) fn f16_to_f64(h: u16) -> f64 {
    let sign = u64::from(h >> 15) << 63;
    let exp = u64::from((h >> 10) & 0x1f);
    let mant = u64::from(h & 0x3ff);
    match exp {
        // Zero and subnormals: mant * 2^-24, exact in f64.
        0 => {
            let magnitude = mant as f64 * (1.0 / 16_777_216.0);
            if sign != 0 { -magnitude } else { magnitude }
        }
        // Infinities and NaNs (payload kept in the top mantissa bits).
        31 => f64::from_bits(sign | 0x7ff0_0000_0000_0000 | (mant << 42)),
        _ => f64::from_bits(sign | ((exp + 1023 - 15) << 52) | (mant << 42)),
    }
}

/// The half-precision encoding of `v`, if converting it back gives the same bits.
pub(crate) fn f64_to_f16_exact(v: f64) -> Option<u16> {
    let bits = v.to_bits();
    let sign = ((bits >> 63) as u16) << 15;
    let top_mant = ((bits >> 42) & 0x3ff) as u16;
    let h = if !v.is_finite() {
        sign | 0x7c00 | top_mant
    } else {
        let a = v.abs();
        if a < 6.103_515_625e-5 {
            // Below the smallest normal half: zero or a subnormal, a multiple of 2^-24.
            let scaled = a * 16_777_216.0; // exact: scaling by a power of two
            if scaled.fract() != 0.0 || scaled >= 1024.0 {
                return None;
            }
            sign | scaled as u16
        } else {
            let exp = ((bits >> 52) & 0x7ff) as i64 - 1023 + 15;
            if exp > 30 {
                return None;
            }
            sign | ((exp as u16) << 10) | top_mant
        }
    };
    (f16_to_f64(h).to_bits() == bits).then_some(h)
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = RawError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, RawError> {
        let mut ib = self.r.byte()?;
        // Tags: skip the tag number, decode the item. Each tag takes at least one byte, so the
        // loop is bounded by the input.
        while ib >> 5 == 6 {
            self.arg(ib & 0x1f)?;
            ib = self.r.byte()?;
        }
        let info = ib & 0x1f;
        match ib >> 5 {
            0 => v.visit_u64(self.arg(info)?),
            1 => {
                let n = self.arg(info)?;
                match i64::try_from(n) {
                    Ok(n) => v.visit_i64(-1 - n),
                    Err(_) => v.visit_i128(-1 - i128::from(n)),
                }
            }
            2 if info == 31 => v.visit_byte_buf(self.chunks(2)?),
            2 => {
                let n = self.len(info)?;
                v.visit_borrowed_bytes(self.r.take(n)?)
            }
            3 if info == 31 => {
                let s = String::from_utf8(self.chunks(3)?).map_err(|_| RawError::Syntax)?;
                v.visit_string(s)
            }
            3 => {
                let n = self.len(info)?;
                let s = std::str::from_utf8(self.r.take(n)?).map_err(|_| RawError::Syntax)?;
                v.visit_borrowed_str(s)
            }
            4 => {
                let left = self.count(info)?;
                Items::seq(self, left, v)
            }
            5 => {
                let left = self.count(info)?;
                Items::map(self, left, v)
            }
            _ => match info {
                20 => v.visit_bool(false),
                21 => v.visit_bool(true),
                22 | 23 => v.visit_unit(),
                25 => v.visit_f64(f16_to_f64(u16::from_be_bytes(self.r.array()?))),
                26 => v.visit_f64(f32::from_be_bytes(self.r.array()?).into()),
                27 => v.visit_f64(f64::from_be_bytes(self.r.array()?)),
                _ => Err(RawError::Syntax),
            },
        }
    }

    self_describing!();
}

impl<'de> Source<'de> for Deserializer<'de> {
    const BREAK: Option<u8> = Some(BREAK);

    fn reader(&self) -> &Reader<'de> {
        &self.r
    }
    fn reader_mut(&mut self) -> &mut Reader<'de> {
        &mut self.r
    }
}

/// Writes CBOR into a vector.
pub(crate) struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Encoder { out }
    }

    /// A head: major type and argument in its shortest form.
    #[inline]
    fn head(&mut self, major: u8, arg: u64) {
        let m = major << 5;
        if arg < 24 {
            self.out.push(m | arg as u8);
        } else if let Ok(a) = u8::try_from(arg) {
            self.out.extend_from_slice(&[m | 24, a]);
        } else if let Ok(a) = u16::try_from(arg) {
            self.out.push(m | 25);
            self.out.extend_from_slice(&a.to_be_bytes());
        } else if let Ok(a) = u32::try_from(arg) {
            self.out.push(m | 26);
            self.out.extend_from_slice(&a.to_be_bytes());
        } else {
            self.out.push(m | 27);
            self.out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

impl Emit for Encoder<'_> {
    fn null(&mut self) {
        self.out.push(0xf6);
    }
    fn bool(&mut self, v: bool) {
        self.out.push(if v { 0xf5 } else { 0xf4 });
    }
    fn uint(&mut self, v: u64) {
        self.head(0, v);
    }
    fn neg(&mut self, v: i64) {
        // v < 0, so -1 - v is in [0, i64::MAX].
        self.head(1, (-1 - v) as u64);
    }
    fn float(&mut self, v: f64) {
        if !v.is_finite()
            && let Some(h) = f64_to_f16_exact(v)
        {
            self.out.push(0xf9);
            self.out.extend_from_slice(&h.to_be_bytes());
            return;
        }
        self.out.push(0xfb);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    fn str(&mut self, v: &str) {
        self.head(3, v.len() as u64);
        self.out.extend_from_slice(v.as_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.head(2, v.len() as u64);
        self.out.extend_from_slice(v);
    }
    fn seq_begin(&mut self, len: Option<usize>) -> Result<(), RawError> {
        match len {
            Some(n) => self.head(4, n as u64),
            None => self.out.push(0x9f),
        }
        Ok(())
    }
    fn seq_end(&mut self, len: Option<usize>) {
        if len.is_none() {
            self.out.push(BREAK);
        }
    }
    fn map_begin(&mut self, len: Option<usize>) -> Result<(), RawError> {
        match len {
            Some(n) => self.head(5, n as u64),
            None => self.out.push(0xbf),
        }
        Ok(())
    }
    fn map_end(&mut self, len: Option<usize>) {
        if len.is_none() {
            self.out.push(BREAK);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::de::SeqAccess;

    use super::*;
    use crate::binary::testing::{
        assert_truncations_fail, common_values, decode_value, random_inputs, small_items,
    };
    use crate::value::DecodeLimits;
    use crate::{DecodeError, Dict, Value};

    fn encode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        crate::binary::serialize_into(&mut Encoder::new(&mut out), v).unwrap();
        out
    }

    fn decode_limits(b: &[u8], limits: DecodeLimits) -> Result<Value, DecodeError> {
        decode_value(
            Deserializer::new(b, limits.max_depth.saturating_add(2)),
            limits,
            "cbor",
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
            // Heads with the argument inline and in the next byte; a NaN with a payload.
            Value::Int(-24),
            Value::Int(-25),
            Value::UInt(23),
            Value::UInt(24),
            Value::Float(f64::from_bits(0x7ff0_0000_0000_0001)),
            Value::Str("x".repeat(300)),
        ]);
        Value::List(v)
    }

    #[test]
    fn round_trips_every_variant() {
        let v = every_variant();
        let b = encode(&v);
        assert_eq!(decode(&b).unwrap(), v);
    }

    #[test]
    fn agrees_with_ciborium() {
        // ciborium writes floats in their shortest lossless width (half, single), so this also
        // exercises the float decoding paths; and it reads what we write.
        let v = every_variant();
        let mut theirs = Vec::new();
        ciborium::ser::into_writer(&v, &mut theirs).unwrap();
        assert_eq!(decode(&theirs).unwrap(), v);
        let ours = encode(&v);
        let back: Value = ciborium::de::from_reader(ours.as_slice()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn encoding_matches_rfc_examples_and_cbor2() {
        let cases: [(Value, &str); 14] = [
            (Value::UInt(0), "00"),
            (Value::UInt(23), "17"),
            (Value::UInt(24), "1818"),
            (Value::UInt(1000), "1903e8"),
            (Value::UInt(1_000_000), "1a000f4240"),
            (Value::UInt(u64::MAX), "1bffffffffffffffff"),
            (Value::Int(-1), "20"),
            (Value::Int(-1000), "3903e7"),
            (Value::Int(i64::MIN), "3b7fffffffffffffff"),
            (Value::Float(1.5), "fb3ff8000000000000"),
            (Value::Float(f64::NAN), "f97e00"),
            (Value::Float(f64::NEG_INFINITY), "f9fc00"),
            (Value::Str("é".into()), "62c3a9"),
            (Value::Bytes(b"ab".to_vec()), "426162"),
        ];
        for (v, hex) in cases {
            assert_eq!(hex::encode(encode(&v)), hex, "{v:?}");
        }
    }

    #[test]
    fn decodes_rfc_appendix_a_items() {
        let cases: Vec<(&str, Value)> = vec![
            ("f90000", Value::Float(0.0)),
            ("f98000", Value::Float(-0.0)),
            ("f93c00", Value::Float(1.0)),
            ("f93e00", Value::Float(1.5)),
            ("f97bff", Value::Float(65504.0)),
            ("f90001", Value::Float(5.960_464_477_539_063e-8)),
            ("f90400", Value::Float(6.103_515_625e-5)),
            ("f9c400", Value::Float(-4.0)),
            ("f97c00", Value::Float(f64::INFINITY)),
            ("f9fc00", Value::Float(f64::NEG_INFINITY)),
            ("fa47c35000", Value::Float(100_000.0)),
            ("fa7f7fffff", Value::Float(f32::MAX.into())),
            ("fb7e37e43c8800759c", Value::Float(1.0e300)),
            ("fbc010666666666666", Value::Float(-4.1)),
            ("3bffffffffffffffff", Value::Null), // placeholder, checked below
            ("f7", Value::Null),
            ("f6", Value::Null),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                "2013-03-21T20:04:00Z".into(),
            ),
            (
                "d82076687474703a2f2f7777772e6578616d706c652e636f6d",
                "http://www.example.com".into(),
            ),
            (
                "c249010000000000000000",
                Value::Bytes(h("010000000000000000")),
            ),
            ("5f42010243030405ff", Value::Bytes(vec![1, 2, 3, 4, 5])),
            ("7f657374726561646d696e67ff", "streaming".into()),
            ("9fff", Value::List(vec![])),
            (
                "9f018202039f0405ffff",
                Value::List(vec![
                    1u8.into(),
                    vec![Value::from(2u8), 3u8.into()].into(),
                    vec![Value::from(4u8), 5u8.into()].into(),
                ]),
            ),
            (
                "bf61610161629f0203ffff",
                Dict::new()
                    .with("a", 1u8)
                    .with("b", vec![Value::from(2u8), 3u8.into()])
                    .into(),
            ),
            ("1b000000e8d4a51000", Value::UInt(1_000_000_000_000)),
            ("3b7fffffffffffffff", Value::Int(i64::MIN)),
        ];
        for (hex, want) in cases {
            let got = decode(&h(hex));
            if hex == "3bffffffffffffffff" {
                // -2^64: beyond i64.
                assert_eq!(got, Err(DecodeError::IntegerOutOfRange));
            } else {
                assert_eq!(got, Ok(want), "{hex}");
            }
        }
        let nan = decode(&h("f97e00")).unwrap();
        assert!(nan.as_f64().unwrap().is_nan());
        let nan32 = decode(&h("fa7fc00000")).unwrap();
        assert!(nan32.as_f64().unwrap().is_nan());
    }

    #[test]
    fn rejects_malformed_items() {
        for hex in [
            "",             // nothing
            "1c",           // reserved additional information
            "1f",           // indefinite integer
            "ff",           // stray break
            "f0",           // unassigned simple value
            "f818",         // two-byte simple value
            "5f01ff",       // indefinite bytes with an integer chunk
            "5f5f4101ffff", // nested indefinite chunk
            "7f4161ff",     // indefinite text with a byte chunk
            "62c328",       // invalid UTF-8
            "7f61c361a9ff", // chunks that are not UTF-8 on their own
            "a16161",       // map without its value
            "8201",         // short list
            "0000",         // trailing bytes
            "c0",           // tag without an item
            "bf6161ff",     // indefinite map with a key and no value
        ] {
            assert!(decode(&h(hex)).is_err(), "{hex} must fail");
        }
        assert_eq!(decode(&h("a20101")), Err(DecodeError::NonStringKey));
        assert_eq!(decode(&h("a2616101616102")), Err(DecodeError::DuplicateKey));
    }

    #[test]
    fn half_floats_convert_exactly() {
        for bits in 0..=u16::MAX {
            let f = f16_to_f64(bits);
            if f.is_nan() {
                assert_eq!((bits >> 10) & 0x1f, 31);
                assert_ne!(bits & 0x3ff, 0);
            }
            if let Some(back) = f64_to_f16_exact(f) {
                assert_eq!(back, bits);
            } else {
                panic!("{bits:#06x} does not convert back");
            }
        }
        assert_eq!(f64_to_f16_exact(0.1), None);
        assert_eq!(f64_to_f16_exact(1e10), None);
    }

    #[test]
    fn every_truncation_fails_without_panic() {
        let small = encode(&small_items(every_variant()));
        assert_truncations_fail(&small, &encode(&every_variant()), decode);
    }

    #[test]
    fn garbage_never_panics() {
        // Half the rounds start with a list or map head, so that nesting paths are exercised.
        let byte = |round: usize, i: usize, r: u64| match (round % 2, i) {
            (0, 0) => 0x80 | (r as u8 & 0x3f),
            _ => r as u8,
        };
        random_inputs(7, byte, |buf| {
            let _ = decode(buf);
            let _ = crate::Serializer::Cbor.decode(buf);
        });
    }

    #[test]
    fn nesting_is_bounded_by_the_limits() {
        let limits = DecodeLimits {
            max_depth: 16,
            max_elements: 1_000_000,
        };
        for opener in [0x81u8, 0x9f, 0xa1] {
            let mut b = Vec::new();
            for _ in 0..100_000 {
                b.push(opener);
                if opener == 0xa1 {
                    b.extend_from_slice(&[0x61, b'k']);
                }
            }
            assert_eq!(decode_limits(&b, limits), Err(DecodeError::TooDeep));
            // The raw deserializer bounds itself too, whatever the visitor does.
            let mut de = Deserializer::new(&b, 16);
            let r = de::Deserializer::deserialize_ignored_any(&mut de, de::IgnoredAny);
            assert_eq!(r.err(), Some(RawError::TooDeep));
        }
        let mut ok = vec![0x81u8; 15];
        ok.push(0x01);
        assert!(decode_limits(&ok, limits).is_ok());
    }

    #[test]
    fn huge_claimed_lengths_fail_fast() {
        for hex in [
            "5bffffffffffffffff", // bytes of 2^64-1
            "7bffffffffffffffff", // text of 2^64-1
            "9bffffffffffffffff", // list of 2^64-1 elements
            "bbffffffffffffffff", // map of 2^64-1 entries
            "9a7fffffff01",       // list of 2^31-1 elements, one present
            "5a7fffffff00",       // bytes of 2^31-1, one present
        ] {
            assert!(decode(&h(hex)).is_err(), "{hex}");
        }
        let mut de = Deserializer::new(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 8);
        // The size hint never exceeds the bytes that are left.
        struct Hint;
        impl<'de> Visitor<'de> for Hint {
            type Value = Option<usize>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<usize>, A::Error> {
                Ok(seq.size_hint())
            }
        }
        let r = de::Deserializer::deserialize_any(&mut de, Hint);
        // The visitor stopped early: the list is incomplete, so the result is an error.
        assert_eq!(r, Err(RawError::Syntax));
        let mut de = Deserializer::new(&[0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02], 8);
        struct HintOnly;
        impl<'de> Visitor<'de> for HintOnly {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
                assert_eq!(seq.size_hint(), Some(2));
                Err(de::Error::custom("stop"))
            }
        }
        assert!(de::Deserializer::deserialize_any(&mut de, HintOnly).is_err());
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
