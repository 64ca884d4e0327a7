//! A serde `Deserializer` over a borrowed [`Value`], so that a value tree goes through the same
//! message checks as bytes do ([`Message::from_value`](crate::message::Message::from_value)).

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::value::Value;

/// Error of the value deserializer; the typed error lives in the decode state.
#[derive(Debug)]
pub(crate) struct ValueDeError;

impl std::fmt::Display for ValueDeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid value")
    }
}
impl std::error::Error for ValueDeError {}
impl de::Error for ValueDeError {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        ValueDeError
    }
}

/// Deserializes from a borrowed value (bytes stay bytes: not human-readable).
#[derive(Clone, Copy)]
pub(crate) struct ValueRef<'a>(pub(crate) &'a Value);

impl<'de, 'a> de::Deserializer<'de> for ValueRef<'a> {
    type Error = ValueDeError;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueDeError> {
        match self.0 {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::UInt(u) => v.visit_u64(*u),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Bytes(b) => v.visit_bytes(b),
            Value::List(l) => v.visit_seq(ListAccess(l.iter())),
            Value::Dict(d) => v.visit_map(DictAccess {
                iter: d.iter(),
                value: None,
                len: d.len(),
            }),
        }
    }
    fn is_human_readable(&self) -> bool {
        false
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'a> IntoDeserializer<'_, ValueDeError> for ValueRef<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

struct ListAccess<'a>(std::slice::Iter<'a, Value>);

impl<'de, 'a> SeqAccess<'de> for ListAccess<'a> {
    type Error = ValueDeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueDeError> {
        match self.0.next() {
            Some(v) => seed.deserialize(ValueRef(v)).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct DictAccess<'a, I> {
    iter: I,
    value: Option<&'a Value>,
    len: usize,
}

impl<'de, 'a, I: Iterator<Item = (&'a str, &'a Value)>> MapAccess<'de> for DictAccess<'a, I> {
    type Error = ValueDeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueDeError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyRef(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueDeError> {
        match self.value.take() {
            Some(v) => seed.deserialize(ValueRef(v)),
            None => Err(ValueDeError),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

struct KeyRef<'a>(&'a str);

impl<'de, 'a> de::Deserializer<'de> for KeyRef<'a> {
    type Error = ValueDeError;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, ValueDeError> {
        v.visit_str(self.0)
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
