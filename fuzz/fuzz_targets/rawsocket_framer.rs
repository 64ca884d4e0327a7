//! Fuzz target: RawSocket handshakes (both sides) and the frame decoder, fed in chunks; decoded
//! frames must re-encode to the input octets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto::fuzzing::fuzz_rawsocket_framer(data);
});
