//! Fuzz target: a `Link` (RawSocket, WebSocket or batched WebSocket, any serializer) receiving
//! arbitrary input; every accepted message must survive being sent again over the same link.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wamp_proto::fuzzing::fuzz_link(data);
});
