//! Integration tests (one binary).
mod router_props;
mod router_sim;
mod router_vectors;
mod sim;
