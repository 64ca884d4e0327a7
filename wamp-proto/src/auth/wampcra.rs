//! WAMP-CRA (`wampcra`): challenge-response with a shared secret.
//!
//! The router sends `CHALLENGE.Extra.challenge`, a JSON text describing the pending session;
//! the client answers with `base64(HMAC-SHA256(key, challenge))` where the challenge string is
//! signed **verbatim** (never re-serialized). With salted passwords the router adds `salt`,
//! `iterations` and `keylen`, and the key becomes, exactly as Autobahn and Crossbar derive it:
//!
//! ```text
//! key = ASCII( base64( PBKDF2-HMAC-SHA256(UTF-8(secret), UTF-8(salt), iterations, keylen) ) )
//! ```
//!
//! that is, the salt string is used as is (not base64-decoded) and the *base64 text* of the
//! derived key is the HMAC key.

use sha2::Sha256;

use super::{
    AuthError, KdfLimits, base64_decode, base64_encode, constant_time_eq, hmac_sha256, u32_field,
};
use crate::Dict;
use crate::id::SessionId;

/// The authmethod name.
pub const METHOD: &str = "wampcra";

/// Autobahn's default PBKDF2 iteration count when a challenge names a salt but no iterations.
pub const DEFAULT_ITERATIONS: u32 = 1000;
/// Autobahn's default derived key length when a challenge names a salt but no keylen.
pub const DEFAULT_KEYLEN: u32 = 32;

/// Salting parameters of a salted WAMP-CRA challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaltParams {
    /// The salt, used as UTF-8 text.
    pub salt: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Derived key length in bytes.
    pub keylen: u32,
}

impl SaltParams {
    /// The salting parameters of a CHALLENGE's `Extra`, if it names a salt.
    pub fn from_extra(extra: &Dict) -> Result<Option<SaltParams>, AuthError> {
        let Some(salt) = extra.get("salt") else {
            return Ok(None);
        };
        let salt = salt.as_str().ok_or(AuthError::InvalidField("salt"))?;
        let iterations = match extra.get("iterations") {
            Some(v) => u32_field(v, "iterations")?,
            None => DEFAULT_ITERATIONS,
        };
        let keylen = match extra.get("keylen") {
            Some(v) => u32_field(v, "keylen")?,
            None => DEFAULT_KEYLEN,
        };
        Ok(Some(SaltParams {
            salt: salt.to_owned(),
            iterations,
            keylen,
        }))
    }

    /// The parameters as CHALLENGE `Extra` entries (router side), added to `extra`.
    pub fn write_into(&self, extra: &mut Dict) {
        extra.insert("salt", self.salt.as_str());
        extra.insert("keylen", self.keylen);
        extra.insert("iterations", self.iterations);
    }
}

/// Derives the salted key: the base64 text of PBKDF2-HMAC-SHA256(secret, salt), which is then
/// the HMAC key (Autobahn's `derive_key`). Routers can store this instead of the password.
pub fn derive_key(
    secret: &str,
    params: &SaltParams,
    limits: &KdfLimits,
) -> Result<String, AuthError> {
    if params.iterations == 0 || params.iterations > limits.max_pbkdf2_iterations {
        return Err(AuthError::KdfLimit("iterations"));
    }
    if params.keylen == 0 || params.keylen > limits.max_keylen {
        return Err(AuthError::KdfLimit("keylen"));
    }
    let len = usize::try_from(params.keylen).map_err(|_| AuthError::KdfLimit("keylen"))?;
    let mut dk = vec![0u8; len];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        secret.as_bytes(),
        params.salt.as_bytes(),
        params.iterations,
        &mut dk,
    );
    Ok(base64_encode(&dk))
}

/// The signature of `challenge` under `key`: standard base64 of HMAC-SHA256 (44 characters).
pub fn sign(key: &[u8], challenge: &str) -> String {
    base64_encode(&hmac_sha256(key, challenge.as_bytes()))
}

/// Router side: whether `signature` is the signature of `challenge` under `key` (constant
/// time). For salted secrets `key` is the output of [`derive_key`].
pub fn verify(key: &[u8], challenge: &str, signature: &str) -> bool {
    let Some(sig) = base64_decode(signature) else {
        return false;
    };
    constant_time_eq(&hmac_sha256(key, challenge.as_bytes()), &sig)
}

/// Client side: the `AUTHENTICATE.Signature` answering a `wampcra` CHALLENGE `Extra` with
/// `secret` (deriving the salted key first if the challenge names a salt).
pub fn compute_signature(
    secret: &str,
    extra: &Dict,
    limits: &KdfLimits,
) -> Result<String, AuthError> {
    let challenge = extra
        .get("challenge")
        .ok_or(AuthError::MissingField("challenge"))?
        .as_str()
        .ok_or(AuthError::InvalidField("challenge"))?;
    match SaltParams::from_extra(extra)? {
        Some(p) => Ok(sign(derive_key(secret, &p, limits)?.as_bytes(), challenge)),
        None => Ok(sign(secret.as_bytes(), challenge)),
    }
}

/// What a router puts into a WAMP-CRA challenge string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeInfo<'a> {
    /// The authid being authenticated.
    pub authid: &'a str,
    /// The role the session will get.
    pub authrole: &'a str,
    /// Who authenticates (e.g. `static`, `dynamic`).
    pub authprovider: &'a str,
    /// The session ID the router will assign.
    pub session: SessionId,
    /// A random nonce (see [`super::random_nonce`]).
    pub nonce: &'a str,
    /// UTC ISO 8601 time, e.g. from [`utc_timestamp`].
    pub timestamp: &'a str,
}

/// Router side: the challenge string (a compact JSON object with `authid`, `authrole`,
/// `authmethod`, `authprovider`, `session`, `nonce`, `timestamp`, in that order).
pub fn challenge_string(info: &ChallengeInfo<'_>) -> String {
    let mut d = Dict::with_capacity(7);
    d.insert("authid", info.authid);
    d.insert("authrole", info.authrole);
    d.insert("authmethod", METHOD);
    d.insert("authprovider", info.authprovider);
    d.insert("session", info.session.get());
    d.insert("nonce", info.nonce);
    d.insert("timestamp", info.timestamp);
    // Serializing a dict of strings and an integer to JSON cannot fail.
    serde_json::to_string(&d).unwrap_or_default()
}

/// Formats milliseconds since the Unix epoch as UTC ISO 8601 with milliseconds
/// (`2014-06-22T16:51:41.643Z`), the form WAMP-CRA challenges carry.
pub fn utc_timestamp(unix_millis: u64) -> String {
    let ms = unix_millis % 1000;
    let secs = unix_millis / 1000;
    let (days, sod) = (secs / 86_400, secs % 86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), in unsigned arithmetic.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_format() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_timestamp(1_403_455_901_643), "2014-06-22T16:51:41.643Z");
        assert_eq!(utc_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn sign_and_verify() {
        let sig = sign(b"secret", "challenge");
        assert_eq!(sig.len(), 44);
        assert!(verify(b"secret", "challenge", &sig));
        assert!(!verify(b"secret", "challengE", &sig));
        assert!(!verify(b"secret", "challenge", "not base64!"));
    }

    #[test]
    fn salted_limits() {
        let p = SaltParams {
            salt: "salt".into(),
            iterations: 10,
            keylen: 32,
        };
        let tight = KdfLimits {
            max_pbkdf2_iterations: 5,
            ..KdfLimits::default()
        };
        assert_eq!(
            derive_key("pw", &p, &tight),
            Err(AuthError::KdfLimit("iterations"))
        );
        assert!(derive_key("pw", &p, &KdfLimits::default()).is_ok());
    }

    #[test]
    fn challenge_string_shape() {
        let s = challenge_string(&ChallengeInfo {
            authid: "joe",
            authrole: "user",
            authprovider: "static",
            session: SessionId::new(42).unwrap(),
            nonce: "abc",
            timestamp: "2014-06-22T16:51:41.643Z",
        });
        assert_eq!(
            s,
            r#"{"authid":"joe","authrole":"user","authmethod":"wampcra","authprovider":"static","session":42,"nonce":"abc","timestamp":"2014-06-22T16:51:41.643Z"}"#
        );
    }
}
