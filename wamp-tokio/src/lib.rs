//! # wamp-tokio
//!
//! The tokio adapter of the WAMP cores.

pub mod client;
