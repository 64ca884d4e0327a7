//! Integration tests (one binary).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz_corpus;
mod proptests;
mod vectors;
