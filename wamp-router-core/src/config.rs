//! [`RouterConfig`]: realms and every limit, each with its default; [`RealmConfig`]: one
//! realm's authentication, roles and event history.
//!
//! All configuration types are plain data (public fields, `Default`, documented defaults), so an
//! embedder can fill them from a file. [`RouterConfig::validate`] names the first wrong key;
//! [`crate::Router::new`] skips invalid entries.

use std::time::Duration;

use wamp_proto::{MatchPolicy, Uri, UriRules};

use crate::auth::{AuthConfig, ConfigError};
use crate::authz::{RoleConfig, validate_roles};

/// One realm: its name, how sessions authenticate, what they may do, which topics keep an
/// event history.
#[derive(Clone, Debug, PartialEq)]
pub struct RealmConfig {
    /// The realm URI.
    pub name: Uri,
    /// Authentication. Default: anonymous only, role `anonymous`.
    pub auth: AuthConfig,
    /// Roles and their permissions. Default: none, which allows every session everything
    /// (and then any authrole may join). With roles, a session whose authrole is not listed
    /// is refused with ABORT `wamp.error.no_such_role`.
    pub roles: Vec<RoleConfig>,
    /// Topics (or patterns) whose events the broker keeps for
    /// `wamp.subscription.get_events`. Default: none.
    pub event_history: Vec<HistoryConfig>,
    /// The arguments of `wamp.session.on_leave`: `false` (default) sends `[session]` as
    /// Crossbar does and Autobahn clients' handlers expect; `true` sends the spec's
    /// `[session, authid, authrole]`.
    pub on_leave_with_identity: bool,
}

impl RealmConfig {
    /// A realm with the defaults (anonymous, allow-all, no history).
    pub fn new(name: impl Into<Uri>) -> Self {
        RealmConfig {
            name: name.into(),
            auth: AuthConfig::default(),
            roles: Vec::new(),
            event_history: Vec::new(),
            on_leave_with_identity: false,
        }
    }
}

impl From<Uri> for RealmConfig {
    fn from(name: Uri) -> Self {
        RealmConfig::new(name)
    }
}

impl From<&str> for RealmConfig {
    fn from(name: &str) -> Self {
        RealmConfig::new(Uri::from_wire(name))
    }
}

impl From<String> for RealmConfig {
    fn from(name: String) -> Self {
        RealmConfig::new(Uri::from_wire(&name))
    }
}

/// An event history: the last `limit` events published to topics matching `uri`, served to
/// subscriptions with the same URI and match policy by `wamp.subscription.get_events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// The topic or pattern.
    pub uri: String,
    /// How `uri` matches. Default: exact.
    pub match_policy: MatchPolicy,
    /// Most events kept (the oldest goes first). Default: 100.
    pub limit: usize,
}

impl HistoryConfig {
    /// The last 100 events of `uri` (exact).
    pub fn new(uri: impl Into<String>) -> Self {
        HistoryConfig {
            uri: uri.into(),
            match_policy: MatchPolicy::Exact,
            limit: 100,
        }
    }
}

/// The router's configuration. Every limit is enforced by the core: an exceeded limit gives
/// the peer an error (see each field), never unbounded growth.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouterConfig {
    /// Realms that exist from the start. Default: none.
    pub realms: Vec<RealmConfig>,
    /// Whether a HELLO for an unknown (but valid) realm creates it, with the defaults of
    /// [`RealmConfig::new`] (anonymous, allow-all). Default: `false` (the HELLO is answered
    /// with ABORT `wamp.error.no_such_realm`).
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
    /// How long the router waits for the embedder's answer to a
    /// [`crate::RouterAction::NeedDecision`]; then authentication fails (ABORT
    /// `wamp.error.authentication_failed`) or authorization fails (ERROR
    /// `wamp.error.authorization_failed`). Default: 10 s.
    pub decision_timeout: Duration,
    /// Most decisions pending at once; beyond it a HELLO needing one is aborted
    /// (`wamp.error.authentication_failed`) and a request needing one fails
    /// (`wamp.error.authorization_failed`). Default: 10 000.
    pub max_pending_decisions: usize,
    /// Most cached dynamic authorization answers per realm (the oldest goes first). Default:
    /// 10 000.
    pub authorization_cache_size: usize,
    /// Most messages a session may send while one of its requests waits for a dynamic
    /// authorization (they are processed in order afterwards); beyond it the session is
    /// aborted (`wamp.error.not_authorized`, details `message`: queue limit) and closed.
    /// Default: 1 000.
    pub max_queued_messages_per_session: usize,
    /// Most testaments a session may hold (per scope); beyond it `add_testament` fails with
    /// `wamp.error.testament_error`. Default: 64.
    pub max_testaments_per_session: usize,
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
            decision_timeout: Duration::from_secs(10),
            max_pending_decisions: 10_000,
            authorization_cache_size: 10_000,
            max_queued_messages_per_session: 1_000,
            max_testaments_per_session: 64,
        }
    }
}

impl RouterConfig {
    /// The default configuration with one realm (a name, or a whole [`RealmConfig`]).
    pub fn with_realm(realm: impl Into<RealmConfig>) -> Self {
        RouterConfig {
            realms: vec![realm.into()],
            ..RouterConfig::default()
        }
    }

    /// Checks the realms: names, principals, keys, permissions, history patterns. Returns the
    /// first error, naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, r) in self.realms.iter().enumerate() {
            if !r.name.is_valid(self.uri_rules) {
                return Err(ConfigError::RealmName(i));
            }
            if self.realms[..i].iter().any(|x| x.name == r.name) {
                return Err(ConfigError::DuplicateRealm(i));
            }
            r.auth.validate(i)?;
            validate_roles(i, &r.roles)?;
            for (e, h) in r.event_history.iter().enumerate() {
                if !Uri::from_wire(&h.uri).is_valid_pattern(h.match_policy, self.uri_rules) {
                    return Err(ConfigError::HistoryUri { realm: i, entry: e });
                }
            }
        }
        Ok(())
    }
}
