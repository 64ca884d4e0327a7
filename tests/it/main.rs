//! Integration tests (one binary).
mod client_auth_vectors;
mod client_golden;
mod client_props;
mod client_session;
