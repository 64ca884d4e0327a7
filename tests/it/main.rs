//! Integration tests of the WAMP workspace (one test binary, modules inside).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;
