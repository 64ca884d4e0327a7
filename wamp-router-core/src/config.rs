//! [`RouterConfig`]: realms and every limit, each with its default.

use std::time::Duration;

use wamp_proto::{Uri, UriRules};

/// The router's configuration. Every limit is enforced by the core: an exceeded limit gives
/// the peer an error (see each field), never unbounded growth.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouterConfig {
    /// Realms that exist from the start. Default: none.
    pub realms: Vec<Uri>,
    /// Whether a HELLO for an unknown (but valid) realm creates it. Default: `false` (the
    /// HELLO is answered with ABORT `wamp.error.no_such_realm`).
    pub auto_create_realms: bool,
    /// Most realms, configured and auto-created together. Beyond it a HELLO for a new realm
    /// gets ABORT `wamp.error.no_such_realm`. Default: 1024.
    pub max_realms: usize,
    /// Most open connections; [`crate::Router::open_connection`] refuses more. Default: 100 000.
    pub max_connections: usize,
    /// Most joined sessions over all realms; a HELLO beyond it gets ABORT
    /// `wamp.error.not_authorized` (details `message`: session limit) and the connection is
    /// closed. Default: 100 000.
    pub max_sessions: usize,
    /// Most subscriptions per session; a SUBSCRIBE beyond it gets ERROR
    /// `wamp.error.not_authorized`. Default: 1 000.
    pub max_subscriptions_per_session: usize,
    /// Most registrations per session; a REGISTER beyond it gets ERROR
    /// `wamp.error.not_authorized`. Default: 1 000.
    pub max_registrations_per_session: usize,
    /// Most calls a session may have pending as caller; a CALL beyond it gets ERROR
    /// `wamp.error.not_authorized`. Default: 1 000.
    pub max_pending_calls_per_session: usize,
    /// Most invocations a callee may have pending; a CALL that would exceed it gets ERROR
    /// `wamp.error.no_available_callee`. Default: 1 000.
    pub max_pending_invocations_per_session: usize,
    /// Most retained events per realm (one per topic). Retention is best-effort (spec): when
    /// full, the oldest retained event is dropped. Default: 10 000.
    pub max_retained_events: usize,
    /// Largest WAMP message in bytes. The core works on decoded messages: adapters set their
    /// decoder and transport limits from this, and report an oversize message with
    /// [`crate::Router::handle_decode_error`] and `DecodeError::TooLarge` (the router then
    /// sends ABORT `wamp.error.payload_size_exceeded` and closes). Default: 16 MiB.
    pub max_message_size: usize,
    /// How long a connection may stay without a session before it sends HELLO; then it is
    /// closed. `None` disables it. Default: 30 s.
    pub hello_timeout: Option<Duration>,
    /// Whether client request IDs must be sequential (1, 2, 3, ... per session, the spec's
    /// MUST) on SUBSCRIBE, UNSUBSCRIBE, PUBLISH, REGISTER, UNREGISTER and CALL; a gap is a
    /// protocol violation. Crossbar does not check, so the default is `false` (interop).
    pub strict_request_ids: bool,
    /// URI rules for topics, procedures and realms. Default: [`UriRules::Loose`] (the
    /// spec's MUST).
    pub uri_rules: UriRules,
    /// `WELCOME.Details.agent`. Default: `"wamp-rs-router-<version>"`.
    pub agent: String,
    /// Disclose every caller to its callee (`INVOCATION.Details.caller`, `caller_authid`,
    /// `caller_authrole`), as if each CALL had `disclose_me`; Crossbar's role permission
    /// `disclose: {caller: true}`. Default: `false` (only callers that ask are disclosed).
    pub disclose_caller: bool,
    /// Disclose every publisher to its subscribers (`EVENT.Details.publisher`, ...), as if
    /// each PUBLISH had `disclose_me`; Crossbar's `disclose: {publisher: true}`. Default:
    /// `false`.
    pub disclose_publisher: bool,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            realms: Vec::new(),
            auto_create_realms: false,
            max_realms: 1024,
            max_connections: 100_000,
            max_sessions: 100_000,
            max_subscriptions_per_session: 1_000,
            max_registrations_per_session: 1_000,
            max_pending_calls_per_session: 1_000,
            max_pending_invocations_per_session: 1_000,
            max_retained_events: 10_000,
            max_message_size: 16 * 1024 * 1024,
            hello_timeout: Some(Duration::from_secs(30)),
            strict_request_ids: false,
            uri_rules: UriRules::Loose,
            agent: concat!("wamp-rs-router-", env!("CARGO_PKG_VERSION")).to_owned(),
            disclose_caller: false,
            disclose_publisher: false,
        }
    }
}

impl RouterConfig {
    /// The default configuration with one realm.
    pub fn with_realm(realm: impl Into<Uri>) -> Self {
        RouterConfig {
            realms: vec![realm.into()],
            ..RouterConfig::default()
        }
    }
}
