//! Multisession vectors (filled in below).
