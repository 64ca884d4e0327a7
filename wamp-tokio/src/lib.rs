//! # wamp-tokio
//!
//! The tokio adapter of the WAMP cores: the router server ([`server`]: WebSocket and RawSocket
//! over TCP or Unix sockets, optionally TLS, driving [`wamp_router_core::Router`]), its
//! configuration file ([`config`]), the `wamp-router` binary, and the async client
//! ([`client`]).
//!
//! The adapter holds no protocol logic: transport handshakes, framing and limits come from
//! `wamp_proto` (`rawsocket`, `websocket`, `link`), routing from `wamp_router_core`.

pub mod client;
pub mod config;
pub mod server;
