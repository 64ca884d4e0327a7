//! Fuzz target: the UBJSON (BJData) decoder must never panic, and what it accepts must
//! round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto::fuzzing::fuzz_decode_ubjson(data);
});
