//! Client session benchmarks (filled in with the session).
fn main() {}
