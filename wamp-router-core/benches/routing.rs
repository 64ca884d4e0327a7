//! Routing benchmarks (filled in below).
fn main() {}
