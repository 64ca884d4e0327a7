//! Integration tests of the WAMP workspace (one test binary, modules inside).

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aclient_crossbar;
mod aclient_ours;
mod aclient_scenarios;
mod bench_smoke;
mod client_auth_vectors;
mod client_golden;
mod client_props;
mod client_session;
mod coverage_matrix;
mod fuzz_corpus;
mod interop;
mod proptests;
mod router_auth;
mod router_auth_props;
mod router_authz;
mod router_meta;
mod router_peer;
mod router_props;
mod router_sim;
mod router_vectors;
mod server_config_auth;
mod server_decisions;
mod server_harness;
mod server_peer;
mod server_robustness;
mod server_router_hooks;
mod server_timeouts;
mod server_tls_unix;
mod server_transport;
mod sim;
mod vectors;
