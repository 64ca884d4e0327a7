//! WAMP-Cryptosign (`cryptosign`): Ed25519 public-key authentication.
//!
//! The client announces its public key (hex) in `HELLO.Details.authextra.pubkey`; the router
//! answers with `CHALLENGE.Extra.challenge`, 32 random bytes as hex. The client signs the
//! challenge — XORed with the 32-byte TLS channel ID when channel binding is active — and sends
//! `hex(signature(64) || signed message(32))`, 192 hex characters.
//!
//! Router authentication (optional) is the same computation the other way round: the client
//! sends `authextra.challenge`, the router signs it with its own key and returns
//! `CHALLENGE.Extra.signature` and `pubkey`; [`verify_signature`] checks it.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::AuthError;
use crate::id::Entropy;

/// The authmethod name.
pub const METHOD: &str = "cryptosign";

/// A TLS channel binding type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChannelBinding {
    /// `tls-unique` (RFC 5929).
    TlsUnique,
    /// `tls-exporter` (RFC 9266).
    TlsExporter,
}

impl ChannelBinding {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBinding::TlsUnique => "tls-unique",
            ChannelBinding::TlsExporter => "tls-exporter",
        }
    }
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tls-unique" => Some(ChannelBinding::TlsUnique),
            "tls-exporter" => Some(ChannelBinding::TlsExporter),
            _ => None,
        }
    }
}

/// An Ed25519 signing key. `Debug` never shows the secret.
#[derive(Clone)]
pub struct CryptosignKey {
    key: SigningKey,
}

impl fmt::Debug for CryptosignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptosignKey")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

impl CryptosignKey {
    /// The key from its 32-byte seed (the "private key" of the spec's test vectors).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        CryptosignKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The key from its seed as 64 hex characters.
    pub fn from_hex(seed_hex: &str) -> Result<Self, AuthError> {
        Ok(Self::from_seed(
            &hex32(seed_hex).ok_or(AuthError::InvalidKey)?,
        ))
    }

    /// A new random key drawn from `entropy`.
    pub fn generate(entropy: &mut (impl Entropy + ?Sized)) -> Self {
        let mut seed = [0u8; 32];
        entropy.fill_bytes(&mut seed);
        Self::from_seed(&seed)
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as 64 lowercase hex characters (`authextra.pubkey`).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// Signs a 32-byte message: `hex(signature || message)`.
    pub fn sign_message(&self, message: &[u8; 32]) -> String {
        let sig: Signature = self.key.sign(message);
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(&sig.to_bytes());
        out.extend_from_slice(message);
        hex::encode(out)
    }

    /// The `AUTHENTICATE.Signature` for a hex challenge, with the TLS channel ID when channel
    /// binding is active.
    pub fn sign_challenge(
        &self,
        challenge_hex: &str,
        channel_id: Option<&[u8; 32]>,
    ) -> Result<String, AuthError> {
        let challenge = hex32(challenge_hex).ok_or(AuthError::InvalidField("challenge"))?;
        Ok(self.sign_message(&message_to_sign(&challenge, channel_id)))
    }
}

/// The message that gets signed: the challenge, XORed bytewise with the channel ID if any.
pub fn message_to_sign(challenge: &[u8; 32], channel_id: Option<&[u8; 32]>) -> [u8; 32] {
    let mut m = *challenge;
    if let Some(cid) = channel_id {
        for (b, c) in m.iter_mut().zip(cid) {
            *b ^= c;
        }
    }
    m
}

/// A fresh 32-byte challenge from `entropy`, as the hex text a CHALLENGE carries.
pub fn new_challenge(entropy: &mut (impl Entropy + ?Sized)) -> ([u8; 32], String) {
    let mut c = [0u8; 32];
    entropy.fill_bytes(&mut c);
    (c, hex::encode(c))
}

/// Verifies a signature field (`hex(signature || message)`) made by `public_key` over
/// `challenge` (XOR `channel_id`): the embedded message must be exactly that, and the Ed25519
/// signature must verify (strict verification, rejecting malleable signatures).
pub fn verify_signature(
    public_key: &[u8; 32],
    challenge: &[u8; 32],
    channel_id: Option<&[u8; 32]>,
    signature_hex: &str,
) -> Result<(), AuthError> {
    if signature_hex.len() != 192 {
        return Err(AuthError::BadSignature);
    }
    let raw = hex::decode(signature_hex).map_err(|_| AuthError::BadSignature)?;
    let (sig, msg) = raw.split_at(64);
    let expected = message_to_sign(challenge, channel_id);
    if !super::constant_time_eq(msg, &expected) {
        return Err(AuthError::BadSignature);
    }
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| AuthError::InvalidKey)?;
    let sig = Signature::from_slice(sig).map_err(|_| AuthError::BadSignature)?;
    key.verify_strict(&expected, &sig)
        .map_err(|_| AuthError::BadSignature)
}

/// Decodes exactly 32 bytes of hex.
pub fn hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The six vectors of the WAMP spec (authentication_cryptosign.md, "Test Vectors").
    const SPEC_VECTORS: [(Option<&str>, &str, &str, &str); 6] = [
        (
            None,
            "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ),
        (
            None,
            "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
            "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
            "d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
        ),
        (
            None,
            "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
            "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
            "7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
        ),
        (
            Some("62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff"),
            "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00",
        ),
        (
            Some("62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff"),
            "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
            "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
            "305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282",
        ),
        (
            Some("62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff"),
            "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
            "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
            "ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d",
        ),
    ];

    #[test]
    fn spec_vectors_sign_and_verify() {
        for (cid, key, challenge, expected) in SPEC_VECTORS {
            let cid = cid.map(|c| hex32(c).unwrap());
            let k = CryptosignKey::from_hex(key).unwrap();
            let sig = k.sign_challenge(challenge, cid.as_ref()).unwrap();
            assert_eq!(sig, expected);
            let ch = hex32(challenge).unwrap();
            verify_signature(&k.public_key(), &ch, cid.as_ref(), &sig).unwrap();
            // Any flipped bit fails.
            let mut bad = sig.clone().into_bytes();
            bad[10] = if bad[10] == b'0' { b'1' } else { b'0' };
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(
                verify_signature(&k.public_key(), &ch, cid.as_ref(), &bad),
                Err(AuthError::BadSignature)
            );
        }
    }

    #[test]
    fn wrong_binding_or_key_fails() {
        let k = CryptosignKey::from_seed(&[7; 32]);
        let other = CryptosignKey::from_seed(&[8; 32]);
        let ch = [3u8; 32];
        let sig = k.sign_message(&ch);
        assert!(verify_signature(&k.public_key(), &ch, None, &sig).is_ok());
        assert!(verify_signature(&other.public_key(), &ch, None, &sig).is_err());
        assert!(verify_signature(&k.public_key(), &ch, Some(&[1; 32]), &sig).is_err());
        assert!(verify_signature(&k.public_key(), &ch, None, "abc").is_err());
        assert!(k.sign_challenge("zz", None).is_err());
        assert!(!format!("{k:?}").contains("0707"));
    }
}
