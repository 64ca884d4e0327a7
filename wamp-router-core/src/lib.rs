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
//!    [`Router::handle_timeout`], [`Router::handle_decision`], or a command
//!    ([`Router::revoke_subscription`], ...);
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
//! ## Decisions: dynamic authentication and authorization without `async`
//!
//! When the configuration names a dynamic authenticator ([`AuthProvider::Dynamic`]) or a
//! dynamic role ([`RoleConfig::dynamic`]), the router asks with
//! [`RouterAction::NeedDecision`] and goes on with everything else; the embedder answers
//! whenever it is ready (from another task, after a database lookup or a slow key
//! derivation) with [`Router::handle_decision`] — then drains actions as after any input. A
//! deadline ([`RouterConfig::decision_timeout`]) answers for an embedder that does not.
//! Static principals and roles need none of this: the core checks them synchronously.
//!
//! ```
//! use std::time::Instant;
//! use wamp_proto::message::{Authenticate, Hello};
//! use wamp_proto::{Dict, Message, SeededEntropy, Value};
//! use wamp_router_core::{
//!     AuthConfig, AuthDecision, AuthMethod, Decision, DecisionRequest, MethodConfig, Principal,
//!     RealmConfig, Router, RouterAction, RouterConfig,
//! };
//!
//! let now = Instant::now();
//! let mut realm = RealmConfig::new("realm1");
//! realm.auth = AuthConfig {
//!     methods: vec![MethodConfig::dynamic(AuthMethod::Ticket)],
//!     ..AuthConfig::default()
//! };
//! let mut router = Router::new(RouterConfig::with_realm(realm), Box::new(SeededEntropy::new(1)));
//! router.set_wall_clock(now, 1_700_000_000_000); // once, from the embedder's clock
//! let conn = router.open_connection(now).unwrap();
//! let hello = Hello {
//!     realm: "realm1".into(),
//!     details: Dict::new()
//!         .with("roles", Dict::new().with("caller", Dict::new()))
//!         .with("authmethods", Value::List(vec!["ticket".into()]))
//!         .with("authid", "joe"),
//! };
//! router.handle_message(now, conn, hello.into());
//! assert!(matches!(router.poll_action(), Some(RouterAction::Send { msg: Message::Challenge(_), .. })));
//! let answer = Authenticate { signature: "let me in".into(), extra: Dict::new() };
//! router.handle_message(now, conn, answer.into());
//! let Some(RouterAction::NeedDecision { ticket, request }) = router.poll_action() else {
//!     panic!()
//! };
//! let DecisionRequest::Authenticate(req) = *request else { panic!() };
//! // ... later, whoever checked the ticket answers:
//! assert_eq!(req.ticket.as_deref(), Some("let me in"));
//! let accept = AuthDecision::accept(Principal::new("joe", "user"));
//! assert!(router.handle_decision(now, ticket, Decision::Authenticate(accept)));
//! match router.poll_action() {
//!     Some(RouterAction::Send { msg: Message::Welcome(w), .. }) => {
//!         assert_eq!(w.details.get_str("authrole"), Some("user"));
//!         assert_eq!(w.details.get_str("authprovider"), Some("dynamic"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! The wall clock (WAMP-CRA timestamps, meta API `created`, event history timestamps) is an
//! input too: [`Router::set_wall_clock`] once, and the router derives it from each `now`.
//! TLS channel binding data and transport details come in with
//! [`Router::set_transport_info`].
//!
//! ## What it implements
//!
//! Sessions: HELLO -> (CHALLENGE -> AUTHENTICATE ->) WELCOME announcing the `broker` and
//! `dealer` features below; ABORT `wamp.error.no_such_realm`; the GOODBYE handshake (reply reason
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
//! Authentication ([`auth`]): `anonymous`, `ticket`, `wampcra` (plain and salted),
//! `cryptosign` (with TLS channel binding and router authentication), WAMP-SCRAM (`scram` as
//! Autobahn/Crossbar run it and the spec's `wamp-scram`, Argon2id and PBKDF2); static
//! principals or a dynamic authenticator per method and realm. WELCOME carries `authid`,
//! `authrole`, `authmethod`, `authprovider` (and `authextra`: the principal's, plus the SCRAM
//! server signature).
//!
//! Authorization ([`authz`]): per-realm roles with permission rules (exact, prefix and
//! wildcard URIs; the most specific rule wins; `call`, `register`, `publish`, `subscribe`;
//! caller and publisher disclosure) or a dynamic authorizer per role with a bounded,
//! invalidatable cache; denied requests get `wamp.error.not_authorized`. A realm without
//! roles allows everything.
//!
//! Meta API (see the `meta` module docs for every payload): `wamp.session.*` (count, list,
//! get, kill, kill_by_authid, kill_by_authrole, kill_all, add_testament, flush_testaments),
//! `wamp.registration.*` (list, lookup, match, get, list_callees, count_callees),
//! `wamp.subscription.*` (list, lookup, match, get, list_subscribers, count_subscribers,
//! get_events), and the `on_join`, `on_leave`, `on_create`, `on_register`/`on_subscribe`,
//! `on_unregister`/`on_unsubscribe`, `on_delete` topics; testaments; event history for
//! configured topics ([`HistoryConfig`]). Announced: `session_meta_api` (broker and dealer),
//! `registration_meta_api`, `testament_meta_api` (dealer), `subscription_meta_api`,
//! `event_history` (broker).
//!
//! Interop choices (Crossbar/Autobahn behaviour where the spec is silent or differs):
//! - no acceptable authentication method gives ABORT `wamp.error.no_auth_method` (Autobahn's
//!   and Crossbar's URI), every authentication failure ABORT
//!   `wamp.error.authentication_failed`; unknown authmethod names in HELLO are skipped (Crossbar
//!   refuses the HELLO at the first one);
//! - `wamp.session.on_leave` carries `[session]` as Crossbar sends it and Autobahn handlers
//!   expect, unless [`RealmConfig::on_leave_with_identity`] asks for the spec's
//!   `[session, authid, authrole]`;
//! - `wamp.session.kill_by_authrole` and `kill_all` return counts (spec; Crossbar returns
//!   lists), `flush_testaments` returns the count (Crossbar; the spec returns nothing);
//! - `wamp.subscription.get_events` also takes Crossbar's positional `limit`; unknown
//!   histories give Crossbar's `wamp.error.history_unavailable`;
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
pub mod auth;
pub mod authz;
mod broker;
mod config;
mod ctx;
mod dealer;
pub mod decision;
mod error;
mod history;
mod ids;
mod index;
mod meta;
mod realm;
mod router;
mod session;
#[cfg(test)]
mod testutil;
pub mod timer;
pub mod uris;

pub use action::{CloseReason, ConnId, Recipients, RouterAction};
pub use auth::{
    AuthConfig, AuthMethod, AuthProvider, ConfigError, CraCredential, MethodConfig, Principal,
    ScramSecret,
};
pub use authz::{Allow, Disclose, Permission, RoleConfig};
pub use broker::BrokerStats;
pub use config::{HistoryConfig, RealmConfig, RouterConfig};
pub use dealer::DealerStats;
pub use decision::{
    Action, AuthDecision, AuthRequest, AuthzDecision, AuthzRequest, Decision, DecisionRequest,
    DecisionTicket,
};
pub use error::ProtocolViolation;
pub use router::{ConnectionLimit, Router, RouterStats, TransportInfo};
pub use session::{ClientFeatures, Identity};
