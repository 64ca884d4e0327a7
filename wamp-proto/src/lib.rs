//! # wamp-proto
//!
//! The sans-IO core of a [WAMP v2](https://wamp-proto.org) implementation: every message of the
//! Basic and Advanced Profiles ([`Message`]), the payload tree ([`Value`], [`Dict`]), URIs and
//! IDs, the serializers ([`Serializer`]: JSON with the binary convention, MessagePack, CBOR,
//! UBJSON), RawSocket framing ([`rawsocket`]), the per-connection link layer ([`link`]) and
//! WebSocket subprotocol negotiation ([`websocket`]); the client session state machine
//! ([`client::Session`]: joining with every authentication method, RPC and PubSub with the
//! advanced options) and the authentication maths both roles share ([`auth`]: ticket, WAMP-CRA,
//! WAMP-Cryptosign, WAMP-SCRAM).
//!
//! ## The contract
//!
//! Nothing in this crate does IO, reads a clock, spawns, locks or draws OS randomness. Bytes,
//! time (`now`) and randomness (an [`Entropy`] source handed over at construction) come in as
//! inputs; messages, bytes to send, closes and deadlines go out as values. Same inputs, same
//! outputs, every time. State machines are driven in three steps:
//!
//! 1. apply one input (a `handle_*` call or a command);
//! 2. drain `poll_action()` until it returns `None`;
//! 3. read `poll_timeout()` and wake up then.
//!
//! ## Encoding and decoding
//!
//! ```
//! use wamp_proto::{Dict, Message, Serializer, Value};
//! use wamp_proto::message::{Call, Payload};
//! use wamp_proto::id::RequestId;
//!
//! let call: Message = Call {
//!     request: RequestId::new(1).unwrap(),
//!     options: Dict::new(),
//!     procedure: "com.example.add".into(),
//!     payload: Payload::args(vec![Value::from(2), Value::from(3)]),
//! }
//! .into();
//! for s in Serializer::ALL {
//!     let bytes = s.encode_to_vec(&call).unwrap();
//!     assert_eq!(s.decode(&bytes).unwrap(), call);
//! }
//! assert_eq!(
//!     Serializer::Json.encode_to_vec(&call).unwrap(),
//!     br#"[48,1,{},"com.example.add",[2,3]]"#
//! );
//! ```
//!
//! Decoding never panics: malformed input yields a typed [`DecodeError`].

pub mod auth;
pub mod batch;
mod binary;
mod cbor;
pub mod client;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod id;
pub mod link;
pub mod message;
mod msgpack;
pub mod rawsocket;
pub mod serializer;
#[cfg(any(test, feature = "fuzzing"))]
mod transport_fuzz;
mod ubjson;
pub mod uri;
pub mod value;
mod value_de;
pub mod websocket;

pub use error::{DecodeError, EncodeError};
pub use id::{Entropy, SeededEntropy};
pub use message::{Message, MessageKind, Payload};
pub use serializer::Serializer;
pub use uri::{MatchPolicy, Uri, UriRules};
pub use value::{DecodeLimits, Dict, List, Value};
