//! Fuzz target: the JSON decoder must never panic, and what it accepts must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto::fuzzing::fuzz_decode_json(data);
});
