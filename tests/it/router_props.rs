//! Property tests of the router against a reference model (filled in below).
