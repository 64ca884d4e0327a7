<<<<<<< HEAD
//! Integration tests of the WAMP workspace (one test binary, modules inside).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;
=======
//! Integration tests (one binary).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz_corpus;
mod proptests;
mod vectors;
>>>>>>> vectors
