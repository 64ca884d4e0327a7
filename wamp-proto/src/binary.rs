//! Plumbing shared by the hand-written binary codecs ([`crate::cbor`], [`crate::ubjson`],
//! [`crate::msgpack`]): their error type, and one serde `Serializer` generic over a small
//! [`Emit`] trait, so that each format only says how it writes a primitive or opens a
//! container.
//!
//! The encoders write straight into the caller's `Vec<u8>`; serde monomorphises the message
//! layout code for each format, so there is no intermediate tree and no dynamic dispatch.
//!
//! On the decoding side each format keeps its own `deserialize_any` (the byte layouts have
//! nothing in common); they share the input cursor ([`Reader`]), the nesting bound and the
//! completeness check of a container ([`nested`]), the item accessor of containers that
//! carry a count or end at a break byte ([`Items`], used by MessagePack and CBOR; BJData's
//! typed containers and no-op markers need their own), and the forwarding of every typed
//! entry point to `deserialize_any` ([`self_describing!`]). All of it is generic and
//! monomorphised per format: no dynamic dispatch on the decoding path either.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess};
use serde::ser::{self, Serialize};

/// Failure of a hand-written decoder or encoder. The typed errors found by the WAMP seeds
/// live in the decode state; this only says what the format layer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawError {
    /// Malformed or truncated input, trailing bytes, an unsupported marker.
    Syntax,
    /// Containers nested deeper than the decoder's own bound.
    TooDeep,
    /// A number outside the range of `i64` and `u64`.
    OutOfRange,
    /// Raised by a visitor or a `Serialize` impl (the typed error, if any, is in the state).
    Custom,
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RawError::Syntax => "malformed data",
            RawError::TooDeep => "nesting too deep",
            RawError::OutOfRange => "integer out of range",
            RawError::Custom => "invalid value",
        })
    }
}

impl std::error::Error for RawError {}

impl serde::de::Error for RawError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        RawError::Custom
    }
}

impl ser::Error for RawError {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        RawError::Custom
    }
}

/// How a binary format writes each item of the serde data model we use.
pub(crate) trait Emit {
    /// Null / nil / unit.
    fn null(&mut self);
    /// A boolean.
    fn bool(&mut self, v: bool);
    /// A non-negative integer.
    fn uint(&mut self, v: u64);
    /// A negative integer (`v < 0`).
    fn neg(&mut self, v: i64);
    /// A float.
    fn float(&mut self, v: f64);
    /// Text.
    fn str(&mut self, v: &str);
    /// A map key (text). Most formats write it like any other string.
    fn key(&mut self, v: &str) {
        self.str(v);
    }
    /// A byte string.
    fn bytes(&mut self, v: &[u8]);
    /// Opens a list of `len` elements (`None`: not known in advance).
    fn seq_begin(&mut self, len: Option<usize>) -> Result<(), RawError>;
    /// Closes a list opened with the same `len`.
    fn seq_end(&mut self, len: Option<usize>);
    /// Opens a map of `len` entries (`None`: not known in advance).
    fn map_begin(&mut self, len: Option<usize>) -> Result<(), RawError>;
    /// Closes a map opened with the same `len`.
    fn map_end(&mut self, len: Option<usize>);

    /// A signed integer of either sign.
    fn int(&mut self, v: i64) {
        match u64::try_from(v) {
            Ok(u) => self.uint(u),
            Err(_) => self.neg(v),
        }
    }
}

/// Serializes `value` with the emitter `e`.
pub(crate) fn serialize_into<E: Emit, T: Serialize + ?Sized>(
    e: &mut E,
    value: &T,
) -> Result<(), RawError> {
    value.serialize(Ser { e })
}

/// The serde `Serializer` over an [`Emit`]ter.
pub(crate) struct Ser<'a, E> {
    e: &'a mut E,
}

/// An open container. `variant` marks the outer one-entry map of an enum variant, closed in
/// `end` together with the inner container.
pub(crate) struct Compound<'a, E> {
    e: &'a mut E,
    len: Option<usize>,
    variant: bool,
}

impl<'a, E: Emit> Ser<'a, E> {
    fn variant_begin(self, variant: &str) -> Result<&'a mut E, RawError> {
        self.e.map_begin(Some(1))?;
        self.e.key(variant);
        Ok(self.e)
    }
}

impl<'a, E: Emit> ser::Serializer for Ser<'a, E> {
    type Ok = ();
    type Error = RawError;
    type SerializeSeq = Compound<'a, E>;
    type SerializeTuple = Compound<'a, E>;
    type SerializeTupleStruct = Compound<'a, E>;
    type SerializeTupleVariant = Compound<'a, E>;
    type SerializeMap = Compound<'a, E>;
    type SerializeStruct = Compound<'a, E>;
    type SerializeStructVariant = Compound<'a, E>;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_bool(self, v: bool) -> Result<(), RawError> {
        self.e.bool(v);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), RawError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), RawError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), RawError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), RawError> {
        self.e.int(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), RawError> {
        if let Ok(u) = u64::try_from(v) {
            self.e.uint(u);
        } else if let Ok(i) = i64::try_from(v) {
            self.e.neg(i);
        } else {
            return Err(RawError::Custom);
        }
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), RawError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), RawError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), RawError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), RawError> {
        self.e.uint(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), RawError> {
        let v = u64::try_from(v).map_err(|_| RawError::Custom)?;
        self.serialize_u64(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), RawError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), RawError> {
        self.e.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), RawError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), RawError> {
        self.e.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), RawError> {
        self.e.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), RawError> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), RawError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), RawError> {
        self.e.null();
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), RawError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), RawError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), RawError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), RawError> {
        let e = self.variant_begin(variant)?;
        value.serialize(Ser { e: &mut *e })?;
        e.map_end(Some(1));
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, E>, RawError> {
        self.e.seq_begin(len)?;
        Ok(Compound {
            e: self.e,
            len,
            variant: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, E>, RawError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, E>, RawError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, E>, RawError> {
        let e = self.variant_begin(variant)?;
        e.seq_begin(Some(len))?;
        Ok(Compound {
            e,
            len: Some(len),
            variant: true,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, E>, RawError> {
        self.e.map_begin(len)?;
        Ok(Compound {
            e: self.e,
            len,
            variant: false,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, E>, RawError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, E>, RawError> {
        let e = self.variant_begin(variant)?;
        e.map_begin(Some(len))?;
        Ok(Compound {
            e,
            len: Some(len),
            variant: true,
        })
    }
}

impl<E: Emit> Compound<'_, E> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        value.serialize(Ser { e: &mut *self.e })
    }
    fn end_seq(self) -> Result<(), RawError> {
        self.e.seq_end(self.len);
        if self.variant {
            self.e.map_end(Some(1));
        }
        Ok(())
    }
    fn end_map(self) -> Result<(), RawError> {
        self.e.map_end(self.len);
        if self.variant {
            self.e.map_end(Some(1));
        }
        Ok(())
    }
}

impl<E: Emit> ser::SerializeSeq for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_seq()
    }
}

impl<E: Emit> ser::SerializeTuple for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_seq()
    }
}

impl<E: Emit> ser::SerializeTupleStruct for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_seq()
    }
}

impl<E: Emit> ser::SerializeTupleVariant for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_seq()
    }
}

impl<E: Emit> ser::SerializeMap for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), RawError> {
        key.serialize(KeySer { e: &mut *self.e })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), RawError> {
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_map()
    }
}

impl<E: Emit> ser::SerializeStruct for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RawError> {
        self.e.key(key);
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_map()
    }
}

impl<E: Emit> ser::SerializeStructVariant for Compound<'_, E> {
    type Ok = ();
    type Error = RawError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), RawError> {
        self.e.key(key);
        self.element(value)
    }
    fn end(self) -> Result<(), RawError> {
        self.end_map()
    }
}

/// Map keys: WAMP dictionaries have text keys only, so anything else is an error.
struct KeySer<'a, E> {
    e: &'a mut E,
}

macro_rules! key_reject {
    ($($name:ident: $t:ty),*) => {$(
        fn $name(self, _v: $t) -> Result<(), RawError> {
            Err(RawError::Custom)
        }
    )*};
}

impl<E: Emit> ser::Serializer for KeySer<'_, E> {
    type Ok = ();
    type Error = RawError;
    type SerializeSeq = ser::Impossible<(), RawError>;
    type SerializeTuple = ser::Impossible<(), RawError>;
    type SerializeTupleStruct = ser::Impossible<(), RawError>;
    type SerializeTupleVariant = ser::Impossible<(), RawError>;
    type SerializeMap = ser::Impossible<(), RawError>;
    type SerializeStruct = ser::Impossible<(), RawError>;
    type SerializeStructVariant = ser::Impossible<(), RawError>;

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_str(self, v: &str) -> Result<(), RawError> {
        self.e.key(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), RawError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), RawError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), RawError> {
        value.serialize(self)
    }
    key_reject!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_bytes: &[u8]);
    fn serialize_none(self) -> Result<(), RawError> {
        Err(RawError::Custom)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), RawError> {
        Err(RawError::Custom)
    }
    fn serialize_unit(self) -> Result<(), RawError> {
        Err(RawError::Custom)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), RawError> {
        Err(RawError::Custom)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), RawError> {
        Err(RawError::Custom)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, RawError> {
        Err(RawError::Custom)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, RawError> {
        Err(RawError::Custom)
    }
}

/// The `Deserializer` items every hand-written decoder has alike: not human-readable, and
/// every typed entry point forwarded to `deserialize_any` (the formats describe themselves).
macro_rules! self_describing {
    () => {
        fn is_human_readable(&self) -> bool {
            false
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    };
}
pub(crate) use self_describing;

/// A hand-written decoder, as the shared container code sees it.
pub(crate) trait Source<'de> {
    /// The byte that ends a container of unknown length, in formats that have such
    /// containers in the shape [`Items`] reads (CBOR's break); `None` otherwise.
    const BREAK: Option<u8> = None;

    /// The input.
    fn reader(&self) -> &Reader<'de>;

    /// The input, to read from.
    fn reader_mut(&mut self) -> &mut Reader<'de>;
}

/// Decodes one container: one nesting level deeper (bounded by the reader), `visit` reads the
/// items and says whether it read the container to its end; a container left unfinished (the
/// visitor stopped early) is a syntax error, as its remaining bytes would be misread.
#[inline]
pub(crate) fn nested<'de, D: Source<'de>, T>(
    de: &mut D,
    visit: impl FnOnce(&mut D) -> Result<(T, bool), RawError>,
) -> Result<T, RawError> {
    de.reader_mut().enter()?;
    let (value, complete) = visit(de)?;
    de.reader_mut().leave();
    if complete {
        Ok(value)
    } else {
        Err(RawError::Syntax)
    }
}

/// The items of a list (elements) or map (entries) that carries its count (`Some`, counting
/// down to `Some(0)`), or that ends at [`Source::BREAK`] (`None`, until the break is read,
/// then `Some(0)`).
pub(crate) struct Items<'a, D> {
    de: &'a mut D,
    left: Option<usize>,
}

impl<'a, 'de, D: Source<'de>> Items<'a, D>
where
    for<'b> &'b mut D: de::Deserializer<'de, Error = RawError>,
{
    /// Reads a list with `visitor`.
    #[inline]
    pub(crate) fn seq<V: de::Visitor<'de>>(
        de: &'a mut D,
        left: Option<usize>,
        visitor: V,
    ) -> Result<V::Value, RawError> {
        nested(de, |de| {
            let mut items = Items { de, left };
            let value = visitor.visit_seq(&mut items)?;
            Ok((value, items.left == Some(0)))
        })
    }

    /// Reads a map with `visitor`.
    #[inline]
    pub(crate) fn map<V: de::Visitor<'de>>(
        de: &'a mut D,
        left: Option<usize>,
        visitor: V,
    ) -> Result<V::Value, RawError> {
        nested(de, |de| {
            let mut items = Items { de, left };
            let value = visitor.visit_map(&mut items)?;
            Ok((value, items.left == Some(0)))
        })
    }

    /// Whether another item follows (counting it).
    #[inline]
    fn next(&mut self) -> Result<bool, RawError> {
        match self.left {
            Some(0) => return Ok(false),
            Some(n) => self.left = Some(n - 1),
            None => {
                if let Some(b) = D::BREAK {
                    let r = self.de.reader_mut();
                    if r.peek()? == b {
                        r.advance();
                        self.left = Some(0);
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// At most the count, and at most the bytes left (each item takes at least one).
    #[inline]
    fn hint(&self) -> Option<usize> {
        let left = self.left?;
        Some(left.min(self.de.reader().remaining()))
    }
}

impl<'de, D: Source<'de>> SeqAccess<'de> for &mut Items<'_, D>
where
    for<'b> &'b mut D: de::Deserializer<'de, Error = RawError>,
{
    type Error = RawError;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, RawError> {
        if !self.next()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de, D: Source<'de>> MapAccess<'de> for &mut Items<'_, D>
where
    for<'b> &'b mut D: de::Deserializer<'de, Error = RawError>,
{
    type Error = RawError;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RawError> {
        if !self.next()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RawError> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

/// A cursor over the input of a hand-written decoder, with its own nesting bound.
pub(crate) struct Reader<'de> {
    input: &'de [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl<'de> Reader<'de> {
    /// A reader that refuses containers nested deeper than `max_depth`.
    pub(crate) fn new(input: &'de [u8], max_depth: usize) -> Self {
        Reader {
            input,
            pos: 0,
            depth: 0,
            max_depth,
        }
    }

    /// Fails if bytes are left.
    pub(crate) fn end(&self) -> Result<(), RawError> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(RawError::Syntax)
        }
    }

    /// The next byte.
    #[inline]
    pub(crate) fn byte(&mut self) -> Result<u8, RawError> {
        let b = *self.input.get(self.pos).ok_or(RawError::Syntax)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next byte, left unread.
    #[inline]
    pub(crate) fn peek(&self) -> Result<u8, RawError> {
        self.input.get(self.pos).copied().ok_or(RawError::Syntax)
    }

    /// Skips the byte just peeked.
    #[inline]
    pub(crate) fn advance(&mut self) {
        self.pos = (self.pos + 1).min(self.input.len());
    }

    /// The next `n` bytes; fails (before anything is allocated) if fewer remain.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'de [u8], RawError> {
        let end = self.pos.checked_add(n).ok_or(RawError::Syntax)?;
        let s = self.input.get(self.pos..end).ok_or(RawError::Syntax)?;
        self.pos = end;
        Ok(s)
    }

    /// The next `N` bytes as an array.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RawError> {
        let s = self.take(N)?;
        <[u8; N]>::try_from(s).map_err(|_| RawError::Syntax)
    }

    /// The next `n` bytes as UTF-8 text.
    #[inline]
    pub(crate) fn str(&mut self, n: usize) -> Result<&'de str, RawError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| RawError::Syntax)
    }

    /// Bytes not yet read: an upper bound on the items a container can still hold when each
    /// takes at least one byte.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Enters a container.
    #[inline]
    pub(crate) fn enter(&mut self) -> Result<(), RawError> {
        if self.depth >= self.max_depth {
            return Err(RawError::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves a container entered with [`Reader::enter`].
    #[inline]
    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

/// Test support shared by the three formats' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use serde::de::DeserializeSeed;

    use super::*;
    use crate::value::{DecodeLimits, DecodeState, ValueSeed};
    use crate::{DecodeError, Dict, Value};

    /// Decodes one value with `de` under `limits` and checks that no byte follows; errors
    /// are mapped as `Serializer::decode` maps them.
    pub(crate) fn decode_value<'de, D>(
        mut de: D,
        limits: DecodeLimits,
        format: &'static str,
    ) -> Result<Value, DecodeError>
    where
        D: Source<'de>,
        for<'a> &'a mut D: de::Deserializer<'de, Error = RawError>,
    {
        let mut state = DecodeState::new(limits);
        let r = ValueSeed {
            state: &mut state,
            depth: 0,
            human_readable: false,
        }
        .deserialize(&mut de)
        .and_then(|v| de.reader().end().map(|()| v));
        r.map_err(|e| {
            state.error.unwrap_or(match e {
                RawError::TooDeep => DecodeError::TooDeep,
                RawError::OutOfRange => DecodeError::IntegerOutOfRange,
                RawError::Syntax | RawError::Custom => DecodeError::Syntax(format),
            })
        })
    }

    /// Values every format's tests round-trip: each variant, the integer widths, the floats
    /// that need care, empty and large strings and byte strings, and nesting. Each format adds
    /// the boundaries of its own encoding.
    pub(crate) fn common_values() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Int(-129),
            Value::Int(-40_000),
            Value::Int(-3_000_000_000),
            Value::UInt(0),
            Value::UInt(255),
            Value::UInt(256),
            Value::UInt(65_536),
            Value::UInt(u64::from(u32::MAX) + 1),
            Value::UInt(u64::MAX),
            Value::Float(1.5),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
            Value::Float(f64::MIN_POSITIVE / 3.0),
            Value::Str(String::new()),
            Value::Str("héllo wörld ✓".into()),
            Value::Str("x".repeat(70_000)),
            Value::Bytes(vec![]),
            Value::Bytes(vec![0, 1, 255]),
            Value::Bytes(vec![7; 70_000]),
            Value::List(vec![]),
            Value::Dict(Dict::new()),
            Value::Dict(
                Dict::new()
                    .with("a", 1u8)
                    .with("nested", Dict::new().with("l", vec![Value::Null]))
                    .with("", "empty key"),
            ),
        ]
    }

    /// The list `every` without its large items (long strings and byte strings, long lists).
    pub(crate) fn small_items(every: Value) -> Value {
        let Value::List(items) = every else {
            panic!("a list of test values")
        };
        Value::List(
            items
                .into_iter()
                .filter(|x| match x {
                    Value::Str(s) => s.len() < 1000,
                    Value::Bytes(b) => b.len() < 1000,
                    Value::List(l) => l.len() < 100,
                    _ => true,
                })
                .collect(),
        )
    }

    /// Every prefix of `small` and every 997th prefix of `large` fails to decode (without
    /// panicking).
    pub(crate) fn assert_truncations_fail(
        small: &[u8],
        large: &[u8],
        decode: impl Fn(&[u8]) -> Result<Value, DecodeError>,
    ) {
        for n in 0..small.len() {
            assert!(decode(&small[..n]).is_err(), "prefix {n}");
        }
        for n in (0..large.len()).step_by(997) {
            assert!(decode(&large[..n]).is_err(), "prefix {n}");
        }
    }

    /// Runs `check` on 20 000 random inputs of up to 63 bytes, seeded with `seed`;
    /// `byte(round, index, random)` makes each byte (to bias inputs towards structure).
    pub(crate) fn random_inputs(
        seed: u64,
        byte: impl Fn(usize, usize, u64) -> u8,
        mut check: impl FnMut(&[u8]),
    ) {
        let mut rng = crate::SeededEntropy::new(seed);
        let mut buf = Vec::new();
        for round in 0..20_000 {
            buf.clear();
            let n = (crate::Entropy::next_u64(&mut rng) % 64) as usize;
            for i in 0..n {
                buf.push(byte(round, i, crate::Entropy::next_u64(&mut rng)));
            }
            check(&buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::de::DeserializeSeed;

    use super::*;
    use crate::value::{DecodeLimits, DecodeState, ValueSeed};
    use crate::{Dict, Value};

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (i64::MIN..0).prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            any::<f64>().prop_map(Value::Float),
            any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
            ".{0,40}".prop_map(Value::Str),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(5, 200, 12, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..12).prop_map(Value::List),
                proptest::collection::vec((".{0,12}", inner), 0..12)
                    .prop_map(|e| Value::Dict(e.into_iter().collect::<Dict>())),
            ]
        })
    }

    fn encode<E: Emit>(e: &mut E, v: &Value) {
        serialize_into(e, v).unwrap();
    }

    fn decode<'de, D>(de: D) -> Value
    where
        D: serde::Deserializer<'de>,
    {
        let mut state = DecodeState::new(DecodeLimits::default());
        ValueSeed {
            state: &mut state,
            depth: 0,
            human_readable: false,
        }
        .deserialize(de)
        .unwrap_or_else(|_| panic!("decode failed: {:?}", state.error))
    }

    proptest! {
        #[test]
        fn binary_codecs_round_trip_and_agree_with_references(v in value()) {
            let mut out = Vec::new();
            encode(&mut crate::cbor::Encoder::new(&mut out), &v);
            let mut de = crate::cbor::Deserializer::new(&out, 100);
            prop_assert_eq!(&decode(&mut de), &v);
            prop_assert!(de.end().is_ok());
            let theirs: Value = ciborium::de::from_reader(out.as_slice()).unwrap();
            prop_assert_eq!(&theirs, &v);

            out.clear();
            let mut e = crate::msgpack::Encoder::new(&mut out);
            encode(&mut e, &v);
            prop_assert!(!e.failed());
            prop_assert_eq!(&out, &rmp_serde::to_vec(&v).unwrap());
            let mut de = crate::msgpack::Deserializer::new(&out, 100);
            prop_assert_eq!(&decode(&mut de), &v);
            prop_assert!(de.end().is_ok());

            out.clear();
            encode(&mut crate::ubjson::Encoder::new(&mut out), &v);
            let mut de = crate::ubjson::Deserializer::new(&out, 100, 1_000_000);
            prop_assert_eq!(&decode(&mut de), &v);
            prop_assert!(de.end().is_ok());
        }
    }
}
