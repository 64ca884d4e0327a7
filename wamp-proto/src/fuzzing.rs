//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay test in `tests/`.
//!
//! Compiled only with the `fuzzing` feature and hidden from the docs: this is not API. Each
//! entry point takes arbitrary bytes and must never panic on them; a panic here means a bug in
//! this crate (a decoder that panics, or a decoded message that does not survive its own
//! encoding), which is exactly what a fuzzer should report.
//!
//! The module is split by subject: the decoder entry points below, and transport entry points
//! (RawSocket, `Link`) in their own section.

use crate::serializer::Serializer;
use crate::value::DecodeLimits;

// ---------------------------------------------------------------------------------------------
// Decoders (`decode_json`, `decode_msgpack`, `decode_cbor`, ... targets)
// ---------------------------------------------------------------------------------------------

/// Decodes `data` with `serializer`, under the default and under tight [`DecodeLimits`].
///
/// When a message decodes, it is encoded again with the same serializer and decoded again,
/// and the result must equal the first decode; it is also transcoded into every binary
/// serializer (they carry every [`Value`](crate::Value) exactly) and must survive that too.
/// JSON is left out of the transcoding check: it cannot carry non-finite floats or strings
/// that start with U+0000 (its binary convention), so a message from a binary serializer may
/// legitimately fail to encode or come back as bytes.
///
/// # Panics
///
/// Only if the crate has a bug: a decoder panics, or a decoded message does not round-trip.
pub fn fuzz_decode(serializer: Serializer, data: &[u8]) {
    let tight = DecodeLimits {
        max_depth: 4,
        max_elements: 64,
    };
    if let Ok(m) = serializer.decode_with_limits(data, tight) {
        // Anything accepted under tight limits is accepted under the default ones.
        assert_eq!(
            serializer.decode(data).as_ref(),
            Ok(&m),
            "limits not monotonic"
        );
    }
    let Ok(msg) = serializer.decode(data) else {
        return;
    };
    for target in Serializer::ALL {
        if target == Serializer::Json && serializer != Serializer::Json {
            continue;
        }
        let bytes = match target.encode_to_vec(&msg) {
            Ok(b) => b,
            Err(e) => panic!("{target:?} cannot encode a message decoded by {serializer:?}: {e}"),
        };
        match target.decode(&bytes) {
            Ok(again) => assert_eq!(
                again, msg,
                "{serializer:?} -> {target:?} changed the message"
            ),
            Err(e) => {
                panic!("{target:?} rejects its own encoding of a {serializer:?} message: {e}")
            }
        }
    }
}

/// [`fuzz_decode`] with JSON.
pub fn fuzz_decode_json(data: &[u8]) {
    fuzz_decode(Serializer::Json, data);
}

/// [`fuzz_decode`] with MessagePack.
pub fn fuzz_decode_msgpack(data: &[u8]) {
    fuzz_decode(Serializer::MsgPack, data);
}

/// [`fuzz_decode`] with CBOR.
pub fn fuzz_decode_cbor(data: &[u8]) {
    fuzz_decode(Serializer::Cbor, data);
}

/// [`fuzz_decode`] with UBJSON (the BJData dialect).
pub fn fuzz_decode_ubjson(data: &[u8]) {
    fuzz_decode(Serializer::Ubjson, data);
}

// ---------------------------------------------------------------------------------------------
// Transports (`rawsocket_framer`, `link` targets)
// ---------------------------------------------------------------------------------------------

/// RawSocket: the first 4 octets through both handshake sides, then the rest through the frame
/// decoder in chunks (limit and chunk size picked by the first octet); decoded frames must
/// re-encode to the input octets.
///
/// # Panics
///
/// Only if the crate has a bug.
pub fn fuzz_rawsocket_framer(data: &[u8]) {
    crate::transport_fuzz::rawsocket_framer(data);
}

/// [`Link`](crate::link::Link): the first octet picks serializer, transport and limits, the
/// second a chunk or WebSocket message size, the rest is input; every accepted message must
/// survive being sent again over the same kind of link.
///
/// # Panics
///
/// Only if the crate has a bug.
pub fn fuzz_link(data: &[u8]) {
    crate::transport_fuzz::link(data);
}
