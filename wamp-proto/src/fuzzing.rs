//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay test in `tests/`.
//!
//! Compiled only with the `fuzzing` feature and hidden from the docs: this is not API. Each
//! entry point takes arbitrary bytes and must never panic on them.

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
