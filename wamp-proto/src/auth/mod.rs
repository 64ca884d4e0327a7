//! Authentication maths, shared by the client session (to answer a CHALLENGE) and by routers
//! (to issue challenges and verify the answers).
//!
//! Every function here is pure: no IO, no clock, no OS randomness. Nonces, salts and keys come
//! in as arguments or are drawn from an [`Entropy`] the caller passes; wall-clock values (the
//! WAMP-CRA timestamp) are inputs too.
//!
//! | method | module | wire name | notes |
//! |---|---|---|---|
//! | Ticket | [`ticket`] | `ticket` | the ticket travels in clear |
//! | WAMP-CRA | [`wampcra`] | `wampcra` | HMAC-SHA256 over the challenge string; salted keys via PBKDF2, as Autobahn derives them |
//! | WAMP-Cryptosign | [`cryptosign`] | `cryptosign` | Ed25519; optional TLS channel binding |
//! | WAMP-SCRAM | [`scram`] | `wamp-scram` (spec) / `scram` (Autobahn, Crossbar) | Argon2id or PBKDF2 |
//!
//! The key derivation functions (PBKDF2, Argon2) can be slow on purpose. Their cost parameters
//! come from the peer, so the client bounds them with [`KdfLimits`] before running them; an
//! embedder that must not block its event loop can run them elsewhere (see
//! [`crate::client`], the external authentication path).

use base64::Engine as _;

use crate::id::Entropy;

pub mod cryptosign;
pub mod scram;
pub mod ticket;
pub mod wampcra;

/// An authentication computation that cannot be carried out. Never carries peer text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A required field of the challenge (or welcome) is absent.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field has the wrong type or an invalid value.
    #[error("invalid field {0}")]
    InvalidField(&'static str),
    /// A key derivation parameter lies outside the configured [`KdfLimits`].
    #[error("key derivation parameter {0} outside the allowed range")]
    KdfLimit(&'static str),
    /// The key derivation function is not one we know.
    #[error("unsupported key derivation function")]
    UnsupportedKdf,
    /// A string cannot be normalized with SASLprep (RFC 4013).
    #[error("string rejected by SASLprep")]
    Saslprep,
    /// A key has the wrong length or encoding.
    #[error("invalid key")]
    InvalidKey,
    /// A signature, proof or verifier does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The channel binding in the challenge differs from the one requested.
    #[error("channel binding mismatch")]
    ChannelBindingMismatch,
    /// Channel binding was requested but no channel binding data is available.
    #[error("channel binding data missing or of the wrong length")]
    ChannelBindingData,
    /// The SCRAM server nonce does not extend the client nonce.
    #[error("server nonce does not start with the client nonce")]
    NonceMismatch,
}

/// Bounds on the cost parameters of key derivation a peer may ask for. A rogue router could
/// otherwise make a client burn CPU or memory (huge costs), or harvest a weak hash (tiny costs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfLimits {
    /// Most PBKDF2 iterations accepted (WAMP-CRA salted keys and SCRAM). Default 2,000,000.
    pub max_pbkdf2_iterations: u32,
    /// Fewest PBKDF2 iterations accepted for SCRAM (RFC 7677 recommends at least 4096).
    /// WAMP-CRA has no minimum (Autobahn's default is 1000). Default 4096.
    pub min_scram_pbkdf2_iterations: u32,
    /// Most Argon2 iterations (time cost) accepted. Default 16,384 (Autobahn and Crossbar
    /// credentials use 4096).
    pub max_argon2_iterations: u32,
    /// Most Argon2 memory accepted, in KiB. Default 262,144 (256 MiB).
    pub max_argon2_memory_kib: u32,
    /// Longest derived key accepted for salted WAMP-CRA, in bytes. Default 1024.
    pub max_keylen: u32,
}

impl Default for KdfLimits {
    fn default() -> Self {
        KdfLimits {
            max_pbkdf2_iterations: 2_000_000,
            min_scram_pbkdf2_iterations: 4096,
            max_argon2_iterations: 16_384,
            max_argon2_memory_kib: 262_144,
            max_keylen: 1024,
        }
    }
}

impl KdfLimits {
    /// Limits that accept any parameters the algorithms themselves accept (for routers deriving
    /// their own credentials, and tests).
    pub const fn unbounded() -> Self {
        KdfLimits {
            max_pbkdf2_iterations: u32::MAX,
            min_scram_pbkdf2_iterations: 1,
            max_argon2_iterations: u32::MAX,
            max_argon2_memory_kib: u32::MAX,
            max_keylen: u32::MAX,
        }
    }
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64 (with padding), as WAMP authentication fields carry it.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A random nonce of `len` bytes from `entropy`, base64-encoded.
pub fn random_nonce(entropy: &mut (impl Entropy + ?Sized), len: usize) -> String {
    let mut buf = vec![0u8; len];
    entropy.fill_bytes(&mut buf);
    base64_encode(&buf)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    // HMAC takes keys of any length (long keys are hashed), so `new_from_slice` cannot fail;
    // the fallback arm only exists to keep this function free of panics.
    match <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().into()
        }
        Err(_) => [0u8; 32],
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// `u32` from a challenge field that must be a non-negative integer.
pub(crate) fn u32_field(v: &crate::Value, name: &'static str) -> Result<u32, AuthError> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(AuthError::InvalidField(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn nonce_is_base64_of_len() {
        let mut e = crate::SeededEntropy::new(1);
        let n = random_nonce(&mut e, 16);
        assert_eq!(base64_decode(&n).map(|b| b.len()), Some(16));
    }
}
