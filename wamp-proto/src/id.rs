//! WAMP IDs and the random source the cores draw from.
//!
//! IDs are integers in [1, 2^53]. Three scopes: *global* IDs (session, publication) are drawn
//! uniformly at random from an [`Entropy`] source; *router* IDs (subscription, registration) are
//! chosen by the router; *session* IDs (request IDs) start at 1 and count up per direction,
//! wrapping to 1 after 2^53 ([`IdSequence`]).

use std::fmt;

/// The largest valid ID: 2^53.
pub const MAX_ID: u64 = 1 << 53;

/// A source of randomness handed to a core at construction. The cores never read OS
/// randomness themselves: the embedder chooses (an OS CSPRNG in production, a seeded PRNG in
/// tests and simulations).
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill_bytes(&mut self, buf: &mut [u8]);

    /// A uniformly random `u64`.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
}

impl<E: Entropy + ?Sized> Entropy for &mut E {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        (**self).fill_bytes(buf)
    }
}

impl<E: Entropy + ?Sized> Entropy for Box<E> {
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        (**self).fill_bytes(buf)
    }
}

/// A small deterministic PRNG (SplitMix64) for tests and simulations. **Not** cryptographically
/// secure: production embedders pass an OS-backed source.
#[derive(Clone, Debug)]
pub struct SeededEntropy {
    state: u64,
}

impl SeededEntropy {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededEntropy { state: seed }
    }
}

impl Entropy for SeededEntropy {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Draws a global-scope ID uniformly from [1, 2^53].
pub fn random_id(entropy: &mut (impl Entropy + ?Sized)) -> u64 {
    // 2^53 values: take 53 random bits (uniform over [0, 2^53-1]) and add 1.
    (entropy.next_u64() >> 11) + 1
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// The ID if `v` is in [1, 2^53].
            pub const fn new(v: u64) -> Option<Self> {
                if v >= 1 && v <= MAX_ID { Some($name(v)) } else { None }
            }
            /// The raw value.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl TryFrom<u64> for $name {
            type Error = InvalidId;
            fn try_from(v: u64) -> Result<Self, InvalidId> {
                $name::new(v).ok_or(InvalidId(v))
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl From<$name> for crate::Value {
            fn from(id: $name) -> crate::Value {
                crate::Value::UInt(id.0)
            }
        }
    };
}

id_type!(
    /// A session ID (global scope: random).
    SessionId
);
id_type!(
    /// A request ID (session scope: sequential per direction).
    RequestId
);
id_type!(
    /// A subscription ID (router scope).
    SubscriptionId
);
id_type!(
    /// A registration ID (router scope).
    RegistrationId
);
id_type!(
    /// A publication ID (global scope: random).
    PublicationId
);

/// A value outside [1, 2^53] offered as an ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a WAMP ID (must be in [1, 2^53])")]
pub struct InvalidId(pub u64);

/// A session-scope ID counter: 1, 2, 3, ... wrapping to 1 after 2^53.
#[derive(Clone, Debug, Default)]
pub struct IdSequence {
    last: u64,
}

impl IdSequence {
    /// A sequence whose first ID is 1.
    pub const fn new() -> Self {
        IdSequence { last: 0 }
    }
    /// The next ID.
    pub fn next_id(&mut self) -> RequestId {
        self.last = if self.last >= MAX_ID {
            1
        } else {
            self.last + 1
        };
        RequestId(self.last)
    }
    /// The last ID handed out (0 before the first).
    pub fn last(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_range() {
        assert!(SessionId::new(0).is_none());
        assert!(SessionId::new(1).is_some());
        assert!(SessionId::new(MAX_ID).is_some());
        assert!(SessionId::new(MAX_ID + 1).is_none());
    }

    #[test]
    fn sequence_wraps() {
        let mut s = IdSequence { last: MAX_ID - 1 };
        assert_eq!(s.next_id().get(), MAX_ID);
        assert_eq!(s.next_id().get(), 1);
    }

    #[test]
    fn random_ids_in_range_and_deterministic() {
        let mut a = SeededEntropy::new(7);
        let mut b = SeededEntropy::new(7);
        for _ in 0..1000 {
            let x = random_id(&mut a);
            assert!((1..=MAX_ID).contains(&x));
            assert_eq!(x, random_id(&mut b));
        }
    }
}
