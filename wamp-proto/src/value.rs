//! The payload tree: [`Value`], [`Dict`] and [`List`].
//!
//! `Value` keeps apart what the WAMP serializers keep apart: signed and unsigned integers
//! (an unsigned value up to 2^64-1 survives), text and bytes, floats, booleans and null.
//! [`Dict`] keeps its keys in insertion order and never holds a key twice.
//!
//! Integers compare by numeric value: `Value::Int(5) == Value::UInt(5)`, because
//! a serializer writes both the same way (the decoder hands back non-negative
//! integers as `UInt`).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DecodeError;

/// A positional argument list.
pub type List = Vec<Value>;

/// One value of a WAMP payload or of an options/details dictionary.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Null (`nil` in MessagePack, `null` in JSON).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer. Decoders produce it only for negative numbers.
    Int(i64),
    /// An unsigned integer (full `u64` range).
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// UTF-8 text.
    Str(String),
    /// A byte string (MessagePack `bin`, CBOR byte string, JSON `"\u0000"+base64`).
    Bytes(Vec<u8>),
    /// A list.
    List(List),
    /// A dictionary with string keys.
    Dict(Dict),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Int(a), UInt(b)) | (UInt(b), Int(a)) => u64::try_from(*a).is_ok_and(|a| a == *b),
            // Bitwise, so that NaN round-trips compare equal and the relation stays reflexive.
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Dict(a), Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The value as a `u64`, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::UInt(v) => Some(v),
            Value::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// The value as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::UInt(v) => i64::try_from(v).ok(),
            Value::Int(v) => Some(v),
            _ => None,
        }
    }
    /// The value as an `f64`, if it is a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a `bool`, if it is a boolean (integers are not booleans).
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }
    /// The value as text, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(v) => Some(v),
            _ => None,
        }
    }
    /// The value as bytes, if it is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a list, if it is one.
    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a dictionary, if it is one.
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(v) => Some(v),
            _ => None,
        }
    }
    /// Whether the value is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::UInt(v as u64) }
        }
    )*};
}
macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            /// Non-negative values become `UInt`, as a decoder would produce them.
            fn from(v: $t) -> Self {
                let v = v as i64;
                if v >= 0 { Value::UInt(v as u64) } else { Value::Int(v) }
            }
        }
    )*};
}
from_unsigned!(u8, u16, u32, u64, usize);
from_signed!(i8, i16, i32, i64, isize);

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(v.into())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}
impl From<List> for Value {
    fn from(v: List) -> Self {
        Value::List(v)
    }
}
impl From<Dict> for Value {
    fn from(v: Dict) -> Self {
        Value::Dict(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// An insertion-ordered dictionary with string keys, without duplicate keys.
///
/// Lookups are linear: WAMP options and details dictionaries are small, and a linear scan
/// over a few entries beats hashing. Decoding checks for duplicate keys in `O(n log n)`.
#[derive(Clone, Default, PartialEq)]
pub struct Dict {
    entries: Vec<(String, Value)>,
}

impl fmt::Debug for Dict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl Dict {
    /// An empty dictionary.
    pub const fn new() -> Self {
        Dict {
            entries: Vec::new(),
        }
    }
    /// An empty dictionary with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Dict {
            entries: Vec::with_capacity(n),
        }
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// A mutable reference to the value under `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Sets `key` to `value`: replaces the value in place if the key exists (keeping its
    /// position), appends otherwise. Returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        self.entries.push((key, value));
        None
    }
    /// Builder form of [`Dict::insert`].
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }
    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }
    /// Iterates in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// The keys in insertion order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
    /// `true` if `key` holds `Bool(true)`.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }
    /// The string under `key`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
    /// The non-negative integer under `key`.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }
    /// The dictionary under `key`.
    pub fn get_dict(&self, key: &str) -> Option<&Dict> {
        self.get(key).and_then(Value::as_dict)
    }
    /// The list under `key`.
    pub fn get_list(&self, key: &str) -> Option<&List> {
        self.get(key).and_then(Value::as_list)
    }

    /// Builds a dictionary from entries, rejecting a duplicate key.
    pub fn try_from_entries(entries: Vec<(String, Value)>) -> Result<Self, DecodeError> {
        if has_duplicate_keys(&entries) {
            return Err(DecodeError::DuplicateKey);
        }
        Ok(Dict { entries })
    }
}

fn has_duplicate_keys(entries: &[(String, Value)]) -> bool {
    if entries.len() <= 12 {
        for (i, (k, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(o, _)| o == k) {
                return true;
            }
        }
        false
    } else {
        let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    }
}

impl<'a> IntoIterator for &'a Dict {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl IntoIterator for Dict {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Dict {
    /// Later duplicates replace earlier values (see [`Dict::insert`]).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut d = Dict::new();
        for (k, v) in iter {
            d.insert(k, v);
        }
        d
    }
}

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

/// The JSON binary convention: bytes travel as a string of U+0000 followed by base64.
pub(crate) fn json_bytes_string(b: &[u8]) -> String {
    use base64::Engine as _;
    let mut s = String::with_capacity(1 + b.len().div_ceil(3) * 4);
    s.push('\0');
    base64::engine::general_purpose::STANDARD.encode_string(b, &mut s);
    s
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::Float(f) => {
                if s.is_human_readable() && !f.is_finite() {
                    return Err(serde::ser::Error::custom(
                        "JSON cannot carry NaN or infinite floats",
                    ));
                }
                s.serialize_f64(*f)
            }
            Value::Str(v) => {
                // In JSON a string starting with U+0000 means base64 bytes (the binary
                // convention): text of that shape cannot be carried faithfully.
                if s.is_human_readable() && v.starts_with('\0') {
                    return Err(serde::ser::Error::custom(
                        "JSON cannot carry a text string that starts with U+0000",
                    ));
                }
                s.serialize_str(v)
            }
            Value::Bytes(b) => serialize_bytes(b, s),
            Value::List(l) => l.as_slice().serialize(s),
            Value::Dict(d) => d.serialize(s),
        }
    }
}

/// Bytes as the serializer carries them: JSON (human-readable) with the binary convention.
pub(crate) fn serialize_bytes<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&json_bytes_string(b))
    } else {
        s.serialize_bytes(b)
    }
}

impl Serialize for Dict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Serializes a slice of values as a sequence.
pub(crate) struct SliceSer<'a>(pub(crate) &'a [Value]);
impl Serialize for SliceSer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Deserialization with limits
// ---------------------------------------------------------------------------------------------

/// Limits a decoder enforces on a message's value tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Maximum nesting depth of lists and dicts (the message list itself is level 1).
    /// Default 64. (JSON input is additionally capped at 127 by serde_json.)
    pub max_depth: usize,
    /// Maximum total number of values in one message (every list element, dict key and
    /// value counts). Default 1,000,000.
    pub max_elements: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_depth: 64,
            max_elements: 1_000_000,
        }
    }
}

/// Mutable state threaded through one decode: remaining budget and the first typed error.
#[derive(Debug)]
pub(crate) struct DecodeState {
    pub(crate) limits: DecodeLimits,
    pub(crate) elements: usize,
    pub(crate) error: Option<DecodeError>,
}

impl DecodeState {
    pub(crate) fn new(limits: DecodeLimits) -> Self {
        DecodeState {
            limits,
            elements: 0,
            error: None,
        }
    }
    /// Records a typed error (the first one wins) and returns a format error to unwind with.
    pub(crate) fn fail<E: de::Error>(&mut self, e: DecodeError) -> E {
        if self.error.is_none() {
            self.error = Some(e);
        }
        E::custom("wamp decode error")
    }
    pub(crate) fn count<E: de::Error>(&mut self) -> Result<(), E> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(self.fail(DecodeError::TooManyElements));
        }
        Ok(())
    }
}

/// Largest capacity pre-allocated from a size hint the peer controls.
pub(crate) const MAX_PREALLOC: usize = 256;

/// Deserializes one [`Value`] at a given depth.
pub(crate) struct ValueSeed<'s> {
    pub(crate) state: &'s mut DecodeState,
    pub(crate) depth: usize,
    pub(crate) human_readable: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.state.count()?;
        let human_readable = d.is_human_readable();
        d.deserialize_any(ValueVisitor {
            state: self.state,
            depth: self.depth,
            human_readable: human_readable || self.human_readable,
        })
    }
}

struct ValueVisitor<'s> {
    state: &'s mut DecodeState,
    depth: usize,
    human_readable: bool,
}

/// A decoded string; in human-readable (JSON) input a leading U+0000 marks base64 bytes.
fn decode_str(human_readable: bool, v: &str) -> Result<Value, DecodeError> {
    if human_readable && let Some(b64) = v.strip_prefix('\0') {
        use base64::Engine as _;
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map(Value::Bytes)
            .map_err(|_| DecodeError::InvalidBinaryString);
    }
    Ok(Value::Str(v.to_owned()))
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::UInt(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        if let Ok(u) = u64::try_from(v) {
            Ok(Value::UInt(u))
        } else if let Ok(i) = i64::try_from(v) {
            Ok(Value::Int(i))
        } else {
            Err(self.state.fail(DecodeError::IntegerOutOfRange))
        }
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(u) => Ok(Value::UInt(u)),
            Err(_) => Err(self.state.fail(DecodeError::IntegerOutOfRange)),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        decode_str(self.human_readable, v).map_err(|e| self.state.fail(e))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.human_readable && v.starts_with('\0') {
            return self.visit_str(&v);
        }
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        visit_list(self.state, self.depth, self.human_readable, seq).map(Value::List)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        visit_dict(self.state, self.depth, self.human_readable, map).map(Value::Dict)
    }
}

pub(crate) fn visit_list<'de, A: SeqAccess<'de>>(
    state: &mut DecodeState,
    depth: usize,
    human_readable: bool,
    mut seq: A,
) -> Result<List, A::Error> {
    if depth >= state.limits.max_depth {
        return Err(state.fail(DecodeError::TooDeep));
    }
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PREALLOC));
    // Each element is pushed by its seed, so that the value is not moved through the nested
    // `Result<Option<Value>>` of `next_element_seed` (measurably slower).
    while seq
        .next_element_seed(PushSeed {
            state: &mut *state,
            depth: depth + 1,
            human_readable,
            out: &mut out,
        })?
        .is_some()
    {}
    Ok(out)
}

/// Deserializes one [`Value`] and appends it to a list.
struct PushSeed<'s, 'v> {
    state: &'s mut DecodeState,
    depth: usize,
    human_readable: bool,
    out: &'v mut List,
}

impl<'de> DeserializeSeed<'de> for PushSeed<'_, '_> {
    type Value = ();
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let v = ValueSeed {
            state: self.state,
            depth: self.depth,
            human_readable: self.human_readable,
        }
        .deserialize(d)?;
        self.out.push(v);
        Ok(())
    }
}

pub(crate) fn visit_dict<'de, A: MapAccess<'de>>(
    state: &mut DecodeState,
    depth: usize,
    human_readable: bool,
    mut map: A,
) -> Result<Dict, A::Error> {
    if depth >= state.limits.max_depth {
        return Err(state.fail(DecodeError::TooDeep));
    }
    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(MAX_PREALLOC));
    while let Some(k) = map.next_key_seed(KeySeed { state: &mut *state })? {
        let v = map.next_value_seed(ValueSeed {
            state: &mut *state,
            depth: depth + 1,
            human_readable,
        })?;
        entries.push((k, v));
    }
    if has_duplicate_keys(&entries) {
        return Err(state.fail(DecodeError::DuplicateKey));
    }
    Ok(Dict { entries })
}

/// A dictionary key: text only.
struct KeySeed<'s> {
    state: &'s mut DecodeState,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        self.state.count()?;
        d.deserialize_any(KeyVisitor { state: self.state })
    }
}

struct KeyVisitor<'s> {
    state: &'s mut DecodeState,
}

macro_rules! key_reject {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E: de::Error>(self, _v: $t) -> Result<String, E> {
            Err(self.state.fail(DecodeError::NonStringKey))
        }
    )*};
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    key_reject!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64,
        visit_i128: i128, visit_u128: u128);
    fn visit_bytes<E: de::Error>(self, _v: &[u8]) -> Result<String, E> {
        Err(self.state.fail(DecodeError::NonStringKey))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.state.fail(DecodeError::NonStringKey))
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(self.state.fail(DecodeError::NonStringKey))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<String, A::Error> {
        Err(self.state.fail(DecodeError::NonStringKey))
    }
    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<String, A::Error> {
        Err(self.state.fail(DecodeError::NonStringKey))
    }
}

/// Plain `Deserialize` for a standalone value with default limits (used by tests and by
/// embedders that decode application data with serde).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let mut state = DecodeState::new(DecodeLimits::default());
        ValueSeed {
            state: &mut state,
            depth: 0,
            human_readable: false,
        }
        .deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_compare_numerically() {
        assert_eq!(Value::Int(5), Value::UInt(5));
        assert_ne!(Value::Int(-1), Value::UInt(u64::MAX));
        assert_eq!(Value::from(-3i32), Value::Int(-3));
        assert_eq!(Value::from(3i32), Value::UInt(3));
    }

    #[test]
    fn dict_keeps_order_and_replaces() {
        let mut d = Dict::new().with("b", 1u8).with("a", 2u8);
        assert_eq!(d.insert("b", 3u8), Some(Value::UInt(1)));
        assert_eq!(d.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(d.get_u64("b"), Some(3));
        assert_eq!(d.remove("b"), Some(Value::UInt(3)));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn duplicate_keys_detected_small_and_large() {
        let small = vec![("a".into(), Value::Null), ("a".into(), Value::Null)];
        assert!(Dict::try_from_entries(small).is_err());
        let mut large: Vec<(String, Value)> =
            (0..40).map(|i| (format!("k{i}"), Value::Null)).collect();
        assert!(Dict::try_from_entries(large.clone()).is_ok());
        large.push(("k7".into(), Value::Null));
        assert!(Dict::try_from_entries(large).is_err());
    }
}
