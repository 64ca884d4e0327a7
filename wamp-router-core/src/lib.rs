//! # wamp-router-core
//!
//! The sans-IO WAMP v2 router: realms, sessions, a broker and a dealer with the advanced
//! routing features, as one deterministic state machine ([`Router`]).
//!
//! ## The contract
//!
//! The router does no IO, reads no clock, spawns nothing, takes no lock and draws no OS
//! randomness. Time comes in as `now` (an [`Instant`](std::time::Instant) the embedder reads
//! once per turn), randomness from the [`Entropy`](wamp_proto::Entropy) source handed to
//! [`Router::new`]. Same configuration, same seed, same inputs: the same actions, in the same
//! order.
//!
//! Drive it in three steps, one input at a time:
//!
//! 1. apply one input: [`Router::open_connection`], [`Router::handle_message`],
//!    [`Router::handle_decode_error`], [`Router::close_connection`],
//!    [`Router::handle_timeout`], or a command ([`Router::revoke_subscription`], ...);
//! 2. drain [`Router::poll_action`] until it returns `None`, delivering each
//!    [`RouterAction`] in order;
//! 3. read [`Router::poll_timeout`] and call [`Router::handle_timeout`] then.
//!
//! ```
//! use std::time::Instant;
//! use wamp_proto::message::{Hello, Publish, Subscribe};
//! use wamp_proto::id::RequestId;
//! use wamp_proto::{Dict, Message, Payload, SeededEntropy, Value};
//! use wamp_router_core::{Router, RouterAction, RouterConfig};
//!
//! let now = Instant::now();
//! let mut router = Router::new(RouterConfig::with_realm("realm1"), Box::new(SeededEntropy::new(1)));
//! let mut drain = |router: &mut Router| {
//!     let mut out = Vec::new();
//!     while let Some(a) = router.poll_action() {
//!         out.push(a);
//!     }
//!     out
//! };
//! let roles = Dict::new()
//!     .with("subscriber", Dict::new())
//!     .with("publisher", Dict::new());
//! let hello = |roles: &Dict| Message::from(Hello {
//!     realm: "realm1".into(),
//!     details: Dict::new().with("roles", roles.clone()),
//! });
//!
//! let sub = router.open_connection(now).unwrap();
//! router.handle_message(now, sub, hello(&roles));
//! assert!(matches!(&drain(&mut router)[..], [RouterAction::Send { msg: Message::Welcome(_), .. }]));
//! router.handle_message(now, sub, Subscribe {
//!     request: RequestId::new(1).unwrap(),
//!     options: Dict::new(),
//!     topic: "com.example.topic".into(),
//! }.into());
//! drain(&mut router); // SUBSCRIBED
//!
//! let publisher = router.open_connection(now).unwrap();
//! router.handle_message(now, publisher, hello(&roles));
//! drain(&mut router); // WELCOME
//! router.handle_message(now, publisher, Publish {
//!     request: RequestId::new(1).unwrap(),
//!     options: Dict::new(),
//!     topic: "com.example.topic".into(),
//!     payload: Payload::args(vec![Value::from("hi")]),
//! }.into());
//! match &drain(&mut router)[..] {
//!     [RouterAction::Send { to, msg: Message::Event(e) }] => {
//!         assert_eq!(*to, sub);
//!         assert_eq!(e.payload, Payload::args(vec![Value::from("hi")]));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! // Both connections carry a session: no HELLO timeout is armed, nothing else is due.
//! assert_eq!(router.poll_timeout(), None);
//! ```
//!
//! ## What it implements
//!
//! Sessions: HELLO -> WELCOME (anonymous authentication) announcing the `broker` and `dealer`
//! features below; ABORT `wamp.error.no_such_realm`; the GOODBYE handshake (reply reason
//! `wamp.close.goodbye_and_out`); ABORT `wamp.error.protocol_violation` and close for any
//! message illegal in the session's state; several sessions one after another on one
//! connection.
//!
//! Broker: exact, prefix and wildcard subscriptions (one subscription ID per topic+match,
//! shared by its subscribers), `acknowledge`, publisher exclusion, subscriber black/white
//! listing, publisher identification, `topic` in pattern-matched events, event retention,
//! subscription revocation ([`Router::revoke_subscription`]).
//!
//! Dealer: exact, prefix and wildcard registrations (exact over longest prefix over
//! best-ranked wildcard), shared registrations (`single`, `first`, `last`, `roundrobin`,
//! `random`), caller identification, progressive call results and invocations, call
//! canceling (`skip`, `kill`, `killnowait`), router-enforced call timeouts
//! (`forward_timeout` honoured), registration revocation ([`Router::revoke_registration`]).
//! Every CALL ends in exactly one RESULT or ERROR (callee leaving: `wamp.error.canceled`).
//!
//! Interop choices (Crossbar/Autobahn behaviour where the spec is silent or differs):
//! - a CANCEL without `mode` behaves like `killnowait`;
//! - `receive_progress` reaches every callee announcing `progressive_call_results`, also one
//!   that does not announce call canceling (autobahn-js); the spec would disregard the
//!   callee's feature then;
//! - a callee that leaves fails its callers' calls with `wamp.error.canceled` and the
//!   argument `"callee disconnected from in-flight request"`;
//! - joining a shared registration with another policy gives
//!   `wamp.error.procedure_exists_with_different_invocation_policy`;
//! - prefix matching is a plain string prefix; REGISTER of a `wamp.` URI and PUBLISH to one
//!   give `wamp.error.invalid_uri` (subscribing to `wamp.` topics is allowed);
//! - request IDs are not required to be sequential unless
//!   [`RouterConfig::strict_request_ids`] is set;
//! - per-session limits answer `wamp.error.not_authorized` (with a message argument), a callee
//!   with too many pending invocations `wamp.error.no_available_callee`.

mod action;
mod broker;
mod config;
mod ctx;
mod dealer;
mod error;
mod ids;
mod index;
mod realm;
mod router;
mod session;
#[cfg(test)]
mod testutil;
pub mod timer;
pub mod uris;

pub use action::{CloseReason, ConnId, Recipients, RouterAction};
pub use broker::BrokerStats;
pub use config::RouterConfig;
pub use dealer::DealerStats;
pub use error::ProtocolViolation;
pub use router::{ConnectionLimit, Router, RouterStats};
pub use session::{ClientFeatures, Identity};
