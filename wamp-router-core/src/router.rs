//! [`Router`]: connections, session state, authentication, realms; dispatches to the realms'
//! brokers and dealers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use wamp_proto::auth::cryptosign::ChannelBinding;
use wamp_proto::id::{RegistrationId, SessionId, SubscriptionId, random_id};
use wamp_proto::message::{Abort, Goodbye, Hello, Welcome};
use wamp_proto::{DecodeError, Dict, Entropy, Message, Payload, Uri, Value};

use crate::action::{CloseReason, ConnId, RouterAction};
use crate::auth::{self, AuthMethod, Env, PendingAuth, Step, Welcomed};
use crate::broker::BrokerStats;
use crate::config::{RealmConfig, RouterConfig};
use crate::ctx::{Ctx, IdAlloc, Timer};
use crate::dealer::DealerStats;
use crate::decision::{AuthDecision, Decision, DecisionRequest, DecisionTicket, Decisions, Waiter};
use crate::error::ProtocolViolation;
use crate::ids::SESSION_ONE;
use crate::index::{FastMap, HashSeed, maybe_shrink};
use crate::meta::{Kill, MetaEvent};
use crate::realm::{Fault, Realm};
use crate::session::{ClientFeatures, Session};
use crate::timer::{TimerKey, TimerQueue};
use crate::uris;

/// The features the broker announces (only what works).
const BROKER_FEATURES: &[&str] = &[
    "publisher_identification",
    "pattern_based_subscription",
    "subscriber_blackwhite_listing",
    "publisher_exclusion",
    "event_retention",
    "subscription_revocation",
    "session_meta_api",
    "subscription_meta_api",
    "event_history",
];

/// The features the dealer announces (only what works).
const DEALER_FEATURES: &[&str] = &[
    "caller_identification",
    "pattern_based_registration",
    "shared_registration",
    "call_timeout",
    "call_canceling",
    "progressive_call_results",
    "progressive_call_invocations",
    "registration_revocation",
    "session_meta_api",
    "registration_meta_api",
    "testament_meta_api",
];

/// `open_connection` refused: [`RouterConfig::max_connections`] connections are open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("connection limit reached")]
pub struct ConnectionLimit;

/// What the transport tells the router about a connection
/// ([`Router::set_transport_info`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransportInfo {
    /// TLS channel binding data, if the transport is TLS and the adapter can read it
    /// (`tls-unique`: the first Finished message; `tls-exporter`: 32 bytes of keying material).
    /// Cryptosign binds only to 32-byte data. Default: none (a client asking for channel
    /// binding then fails authentication, as with Crossbar).
    pub channel_binding: Option<(ChannelBinding, Vec<u8>)>,
    /// Implementation-defined details of this connection (peer address, ...), shown as
    /// `transport` by the session meta API and in dynamic authentication requests, after
    /// [`TransportInfo::shared_details`] (a key in both: this one wins). Default: empty.
    pub details: Dict,
    /// Details many connections have in common (the listener's transport, protocol and
    /// serializer, say), shared rather than copied into each connection: an adapter keeps
    /// one per kind of connection, which keeps idle connections small. Default: none.
    pub shared_details: Option<Arc<Dict>>,
    /// The authentication methods sessions on this connection may use, e.g. only those a
    /// listener is configured for (Crossbar configures authentication per transport: ticket
    /// only over TLS, say). The router picks the first of the client's methods that both the
    /// realm offers and this list contains; a client offering none of them gets the same
    /// ABORT `wamp.error.no_auth_method` as for methods the realm lacks. `None` (default):
    /// every method of the realm. Shared, like [`TransportInfo::shared_details`].
    pub auth_methods: Option<Arc<[AuthMethod]>>,
}

impl TransportInfo {
    /// [`TransportInfo::shared_details`] followed by [`TransportInfo::details`] (which win
    /// over shared keys): the `transport` dictionary of the meta API and of
    /// [`crate::AuthRequest`].
    pub fn all_details(&self) -> Dict {
        let mut d = match &self.shared_details {
            Some(shared) => Dict::clone(shared),
            None => Dict::with_capacity(self.details.len()),
        };
        for (k, v) in self.details.iter() {
            d.insert(k, v.clone());
        }
        d
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// No session: HELLO expected.
    Idle,
    /// HELLO received, authentication under way (see `Conn::auth`).
    Authenticating,
    /// A session is established.
    Established { realm: usize, session: SessionId },
    /// The router sent GOODBYE (meta API kill): waiting for the reply, ignoring the rest.
    GoodbyeSent,
    /// The router asked the embedder to close it; input is ignored.
    Closed,
}

#[derive(Debug)]
struct Conn {
    state: ConnState,
    hello_timer: Option<TimerKey>,
    auth: Option<Box<PendingAuth>>,
    /// Shared with the connection's session (one copy per connection).
    transport: Option<Arc<TransportInfo>>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

fn slot_conn(slots: &[Slot], id: ConnId) -> Option<&Conn> {
    let slot = slots.get(id.index() as usize)?;
    if slot.generation != id.generation() {
        return None;
    }
    slot.conn.as_ref()
}

/// Counts of the router's state, for monitoring and for tests that check nothing leaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Open connections.
    pub connections: usize,
    /// Joined sessions.
    pub sessions: usize,
    /// Realms.
    pub realms: usize,
    /// Subscriptions over all realms.
    pub subscriptions: usize,
    /// Subscriber entries over all realms.
    pub subscribers: usize,
    /// Retained events over all realms.
    pub retained: usize,
    /// Registrations over all realms.
    pub registrations: usize,
    /// Callee entries over all realms.
    pub callees: usize,
    /// Calls in flight over all realms.
    pub pending_calls: usize,
    /// Armed timers.
    pub timers: usize,
    /// Actions not yet polled.
    pub queued_actions: usize,
    /// Connections authenticating (between HELLO and WELCOME or ABORT).
    pub authenticating: usize,
    /// Decisions waiting for the embedder.
    pub pending_decisions: usize,
    /// Cached dynamic authorization answers over all realms.
    pub cached_authorizations: usize,
    /// Events kept in event histories over all realms.
    pub history_events: usize,
}

/// The WAMP router state machine. See the crate documentation for the drive loop.
///
/// Methods, by kind:
/// - inputs: [`Router::open_connection`], [`Router::handle_message`],
///   [`Router::handle_decode_error`], [`Router::close_connection`],
///   [`Router::handle_timeout`], [`Router::handle_decision`];
/// - wall clock and transport facts: [`Router::set_wall_clock`],
///   [`Router::set_transport_info`];
/// - commands: [`Router::add_realm`], [`Router::add_realm_config`],
///   [`Router::revoke_subscription`], [`Router::revoke_registration`],
///   [`Router::invalidate_authorizations`];
/// - outputs: [`Router::poll_action`], [`Router::poll_timeout`];
/// - getters: [`Router::stats`], [`Router::session_of`], [`Router::config`],
///   [`Router::realms`].
pub struct Router {
    config: RouterConfig,
    entropy: Box<dyn Entropy + Send>,
    seed: HashSeed,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    open_conns: usize,
    realms: Vec<Realm>,
    realm_names: BTreeMap<Uri, usize>,
    /// Every joined session, with its realm (session IDs are unique router-wide).
    sessions: FastMap<SessionId, usize>,
    /// Session IDs promised to connections that are authenticating.
    reserved: BTreeSet<SessionId>,
    out: VecDeque<RouterAction>,
    timers: TimerQueue<Timer>,
    ids: IdAlloc,
    decisions: Decisions,
    meta: Vec<MetaEvent>,
    kills: Vec<Kill>,
    /// `(instant, unix milliseconds at that instant)`.
    wall_clock: (Option<Instant>, u64),
    welcome_roles: Dict,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn features(names: &[&str]) -> Value {
    let mut f = Dict::with_capacity(names.len());
    for n in names {
        f.insert(*n, true);
    }
    Dict::new().with("features", f).into()
}

impl Router {
    /// A router with `config`, drawing all its randomness (session and publication IDs,
    /// `random` invocation, hash seeds, challenges and nonces) from `entropy`. Invalid
    /// configuration entries are skipped: check the configuration with
    /// [`RouterConfig::validate`] first.
    pub fn new(config: RouterConfig, mut entropy: Box<dyn Entropy + Send>) -> Self {
        let seed = HashSeed(entropy.next_u64());
        let welcome_roles = Dict::new()
            .with("broker", features(BROKER_FEATURES))
            .with("dealer", features(DEALER_FEATURES));
        let mut r = Router {
            entropy,
            seed,
            slots: Vec::new(),
            free_slots: Vec::new(),
            open_conns: 0,
            realms: Vec::new(),
            realm_names: BTreeMap::new(),
            sessions: seed.map(),
            reserved: BTreeSet::new(),
            out: VecDeque::new(),
            timers: TimerQueue::new(),
            ids: IdAlloc::default(),
            decisions: Decisions::default(),
            meta: Vec::new(),
            kills: Vec::new(),
            wall_clock: (None, 0),
            welcome_roles,
            config,
        };
        let realms = r.config.realms.clone();
        for realm in realms {
            if realm.name.is_valid(r.config.uri_rules) {
                r.add_realm_config(realm);
            }
        }
        r
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Adds a realm with the defaults of [`RealmConfig::new`]; returns `false` if it exists
    /// already or [`RouterConfig::max_realms`] is reached.
    pub fn add_realm(&mut self, name: impl Into<Uri>) -> bool {
        self.add_realm_config(RealmConfig::new(name))
    }

    /// Adds a realm; returns `false` if one with its name exists already or
    /// [`RouterConfig::max_realms`] is reached.
    pub fn add_realm_config(&mut self, config: RealmConfig) -> bool {
        if self.realm_names.contains_key(&config.name)
            || self.realms.len() >= self.config.max_realms
        {
            return false;
        }
        self.realm_names
            .insert(config.name.clone(), self.realms.len());
        let realm = Realm::new(&config, self.seed, &mut *self.entropy);
        self.realms.push(realm);
        true
    }

    /// The realms, in creation order.
    pub fn realms(&self) -> impl Iterator<Item = &Uri> {
        self.realms.iter().map(|r| &r.name)
    }

    /// Counts of the current state.
    pub fn stats(&self) -> RouterStats {
        let mut s = RouterStats {
            connections: self.open_conns,
            sessions: self.sessions.len(),
            realms: self.realms.len(),
            timers: self.timers.len(),
            queued_actions: self.out.len(),
            authenticating: self.reserved.len(),
            pending_decisions: self.decisions.len(),
            ..RouterStats::default()
        };
        for r in &self.realms {
            let BrokerStats {
                subscriptions,
                subscribers,
                retained,
            } = r.broker.stats();
            let DealerStats {
                registrations,
                callees,
                pending_calls,
            } = r.dealer.stats();
            s.subscriptions += subscriptions;
            s.subscribers += subscribers;
            s.retained += retained;
            s.registrations += registrations;
            s.callees += callees;
            s.pending_calls += pending_calls;
            s.cached_authorizations += r.authz.cached();
            s.history_events += r.broker.history.len();
        }
        s
    }

    /// The session currently established on `conn`.
    pub fn session_of(&self, conn: ConnId) -> Option<SessionId> {
        match self.conn(conn)?.state {
            ConnState::Established { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The next action for the embedder, in order.
    pub fn poll_action(&mut self) -> Option<RouterAction> {
        self.out.pop_front()
    }

    /// When [`Router::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Tells the router the wall-clock time: `unix_millis` (milliseconds since the Unix
    /// epoch) at `now`. Later wall-clock values are derived from it and the `now` of each
    /// input (WAMP-CRA challenge timestamps, `created` in the meta API, event history
    /// timestamps). Call it once at start (and again to correct drift). Until then the wall
    /// clock starts at the Unix epoch.
    pub fn set_wall_clock(&mut self, now: Instant, unix_millis: u64) {
        self.wall_clock = (Some(now), unix_millis);
    }

    fn unix_millis(&self, now: Instant) -> u64 {
        match self.wall_clock {
            (None, ms) => ms,
            (Some(at), ms) => {
                if now >= at {
                    let d = u64::try_from((now - at).as_millis()).unwrap_or(u64::MAX);
                    ms.saturating_add(d)
                } else {
                    let d = u64::try_from((at - now).as_millis()).unwrap_or(u64::MAX);
                    ms.saturating_sub(d)
                }
            }
        }
    }

    /// Tells the router about the transport of `conn` (TLS channel binding, details for the
    /// meta API); call it before the client's HELLO is handed over. Returns `false` for an
    /// unknown connection.
    pub fn set_transport_info(&mut self, conn: ConnId, info: TransportInfo) -> bool {
        match self.conn_mut(conn) {
            Some(c) => {
                c.transport = Some(Arc::new(info));
                true
            }
            None => false,
        }
    }

    /// Forgets cached answers of dynamic authorizers: in `realm` (all realms if `None`), for
    /// `authrole` (all roles if `None`). Later requests ask the embedder again.
    pub fn invalidate_authorizations(&mut self, realm: Option<&str>, authrole: Option<&str>) {
        for r in &mut self.realms {
            if realm.is_none_or(|n| r.name.as_str() == n) {
                r.authz.invalidate(authrole);
            }
        }
    }

    fn conn(&self, id: ConnId) -> Option<&Conn> {
        slot_conn(&self.slots, id)
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.index() as usize)?;
        if slot.generation != id.generation() {
            return None;
        }
        slot.conn.as_mut()
    }

    fn set_state(&mut self, id: ConnId, state: ConnState) {
        if let Some(c) = self.conn_mut(id) {
            c.state = state;
        }
    }

    /// A new transport connection. The router expects HELLO on it (within
    /// [`RouterConfig::hello_timeout`]).
    pub fn open_connection(&mut self, now: Instant) -> Result<ConnId, ConnectionLimit> {
        if self.open_conns >= self.config.max_connections {
            return Err(ConnectionLimit);
        }
        let index = match self.free_slots.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).map_err(|_| ConnectionLimit)?;
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                i
            }
        };
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return Err(ConnectionLimit);
        };
        let id = ConnId::new(index, slot.generation);
        slot.conn = Some(Conn {
            state: ConnState::Idle,
            hello_timer: None,
            auth: None,
            transport: None,
        });
        self.open_conns += 1;
        self.arm_hello_timer(now, id);
        Ok(id)
    }

    fn arm_hello_timer(&mut self, now: Instant, id: ConnId) {
        self.disarm_hello_timer(id);
        let Some(deadline) = self.config.hello_timeout.and_then(|t| now.checked_add(t)) else {
            return;
        };
        let key = self.timers.insert(deadline, Timer::Hello(id));
        if let Some(c) = self.conn_mut(id) {
            c.hello_timer = Some(key);
        }
    }

    fn disarm_hello_timer(&mut self, id: ConnId) {
        if let Some(key) = self.conn_mut(id).and_then(|c| c.hello_timer.take()) {
            self.timers.remove(key);
        }
    }

    /// Drops the authentication under way on `conn`, if any.
    fn drop_auth(&mut self, conn: ConnId) {
        let Some(p) = self.conn_mut(conn).and_then(|c| c.auth.take()) else {
            return;
        };
        self.reserved.remove(&p.sid);
        if let Some(t) = p.ticket {
            self.decisions.close(&mut self.timers, t);
        }
    }

    /// The transport of `conn` is gone (closed by the peer, by an error, or after a
    /// [`RouterAction::Close`]). Its session, if any, leaves. Unknown or stale handles are
    /// ignored.
    pub fn close_connection(&mut self, now: Instant, conn: ConnId) {
        let Some(state) = self.conn(conn).map(|c| c.state) else {
            return;
        };
        if let ConnState::Established { realm, session } = state {
            self.leave(now, realm, session);
        }
        self.drop_auth(conn);
        self.disarm_hello_timer(conn);
        if let Some(slot) = self.slots.get_mut(conn.index() as usize) {
            slot.conn = None;
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(conn.index());
            self.open_conns -= 1;
        }
        self.run_kills(now);
    }

    /// A message the adapter could not decode arrived on `conn`: ABORT
    /// (`wamp.error.payload_size_exceeded` for an oversize message,
    /// `wamp.error.protocol_violation` otherwise) and close.
    pub fn handle_decode_error(&mut self, now: Instant, conn: ConnId, error: &DecodeError) {
        let (reason, close, text) = match error {
            DecodeError::TooLarge { .. } => (
                uris::PAYLOAD_SIZE_EXCEEDED,
                CloseReason::MessageTooLarge,
                "message too large".to_owned(),
            ),
            _ => (
                uris::PROTOCOL_VIOLATION,
                CloseReason::ProtocolViolation,
                ProtocolViolation::Malformed.to_string(),
            ),
        };
        self.abort_and_close(now, conn, reason, &text, close);
    }

    /// One message from `conn`.
    pub fn handle_message(&mut self, now: Instant, conn: ConnId, msg: Message) {
        let Some(state) = self.conn(conn).map(|c| c.state) else {
            return;
        };
        match state {
            ConnState::Closed => {}
            ConnState::Idle => match msg {
                Message::Hello(h) => self.hello(now, conn, h),
                // ABORT is never answered; there is no session to end.
                Message::Abort(_) => {}
                _ => self.violation(now, conn, ProtocolViolation::ExpectedHello),
            },
            ConnState::Authenticating => match msg {
                Message::Authenticate(a)
                    if self
                        .conn(conn)
                        .and_then(|c| c.auth.as_ref())
                        .is_some_and(|p| p.expects_authenticate()) =>
                {
                    let Some(mut pending) = self.conn_mut(conn).and_then(|c| c.auth.take()) else {
                        return;
                    };
                    let step =
                        self.auth_step(now, conn, &mut pending, |p, env| p.authenticate(env, a));
                    self.apply_auth(now, conn, pending, step);
                }
                // The client gives up: the connection may carry a new HELLO.
                Message::Abort(_) => {
                    self.drop_auth(conn);
                    self.set_state(conn, ConnState::Idle);
                }
                _ => self.violation(now, conn, ProtocolViolation::ExpectedAuthenticate),
            },
            ConnState::GoodbyeSent => match msg {
                Message::Goodbye(_) | Message::Abort(_) => {
                    self.set_state(conn, ConnState::Idle);
                    self.arm_hello_timer(now, conn);
                }
                // After sending GOODBYE, everything but the reply is ignored.
                _ => {}
            },
            ConnState::Established { realm, session } => match msg {
                Message::Goodbye(_) => {
                    self.send(
                        conn,
                        Goodbye {
                            details: Dict::new(),
                            reason: Uri::from(uris::GOODBYE_AND_OUT),
                        },
                    );
                    self.end_session(now, conn, realm, session);
                }
                Message::Abort(_) => self.end_session(now, conn, realm, session),
                msg => {
                    let result = self.with_realm(now, realm, |r, ctx| r.handle(ctx, session, msg));
                    self.fault(now, conn, result);
                }
            },
        }
        self.run_kills(now);
    }

    /// A session's fault: abort it.
    fn fault(&mut self, now: Instant, conn: ConnId, result: Option<Result<(), Fault>>) {
        match result {
            Some(Err(Fault::Violation(pv))) => self.violation(now, conn, pv),
            Some(Err(Fault::QueueFull)) => self.abort_and_close(
                now,
                conn,
                uris::NOT_AUTHORIZED,
                "message queue limit reached",
                CloseReason::Capacity,
            ),
            _ => {}
        }
    }

    /// Timers due at `now`: call timeouts, HELLO (and authentication) timeouts, decision
    /// deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Hello(conn) => {
                    let state = self.conn(conn).map(|c| c.state);
                    if let Some(c) = self.conn_mut(conn) {
                        c.hello_timer = None;
                    }
                    let waiting = matches!(
                        state,
                        Some(ConnState::Idle | ConnState::Authenticating | ConnState::GoodbyeSent)
                    );
                    if waiting {
                        self.drop_auth(conn);
                        self.set_state(conn, ConnState::Closed);
                        self.out.push_back(RouterAction::Close {
                            conn,
                            reason: CloseReason::HelloTimeout,
                        });
                    }
                }
                Timer::Call { realm, call } => {
                    self.with_realm(now, realm, |r, ctx| {
                        r.dealer.timeout(ctx, &mut r.sessions, call)
                    });
                }
                Timer::Decision(ticket) => {
                    if let Some(w) = self.decisions.expire(ticket) {
                        self.decided(now, w, ticket, None);
                    }
                }
            }
        }
        self.run_kills(now);
    }

    /// The embedder's answer to the [`RouterAction::NeedDecision`] with `ticket`. Returns
    /// `false` if that decision is no longer awaited (answered already, timed out, or its
    /// connection or session is gone); the answer is then ignored.
    pub fn handle_decision(
        &mut self,
        now: Instant,
        ticket: DecisionTicket,
        decision: Decision,
    ) -> bool {
        let Some(w) = self.decisions.close(&mut self.timers, ticket) else {
            return false;
        };
        self.decided(now, w, ticket, Some(decision));
        self.run_kills(now);
        true
    }

    fn decided(
        &mut self,
        now: Instant,
        waiter: Waiter,
        ticket: DecisionTicket,
        d: Option<Decision>,
    ) {
        match waiter {
            Waiter::Auth(conn) => {
                let Some(mut pending) = self.conn_mut(conn).and_then(|c| c.auth.take()) else {
                    return;
                };
                if pending.ticket != Some(ticket) {
                    if let Some(c) = self.conn_mut(conn) {
                        c.auth = Some(pending);
                    }
                    return;
                }
                let answer = match d {
                    Some(Decision::Authenticate(a)) => Some(a),
                    _ => None::<AuthDecision>,
                };
                let step = self.auth_step(now, conn, &mut pending, |p, env| p.decided(env, answer));
                self.apply_auth(now, conn, pending, step);
            }
            Waiter::Authz { realm, session } => {
                let answer = match d {
                    Some(Decision::Authorize(a)) => Some(a),
                    _ => None,
                };
                let conn = self
                    .realms
                    .get(realm)
                    .and_then(|r| r.sessions.get(&session))
                    .map(|s| s.conn);
                let result =
                    self.with_realm(now, realm, |r, ctx| r.decided(ctx, session, ticket, answer));
                if let Some(conn) = conn {
                    self.fault(now, conn, result);
                }
            }
        }
    }

    /// Revokes subscription `id` in `realm` for all its subscribers; subscribers that
    /// announced `subscription_revocation` get `UNSUBSCRIBED(0, {subscription, reason})`.
    /// Returns how many subscribers were removed, `None` for an unknown realm or subscription.
    pub fn revoke_subscription(
        &mut self,
        now: Instant,
        realm: &str,
        id: SubscriptionId,
        reason: Option<&str>,
    ) -> Option<usize> {
        let idx = *self.realm_names.get(realm)?;
        let reason = reason.unwrap_or(uris::UNSUBSCRIBED);
        self.with_realm(now, idx, |r, ctx| {
            let n = r.broker.revoke(ctx, &mut r.sessions, id, None, reason);
            r.flush_meta(ctx);
            n
        })
        .flatten()
    }

    /// Revokes registration `id` in `realm` for all its callees; callees that announced
    /// `registration_revocation` get `UNREGISTERED(0, {registration, reason})`. Invocations
    /// in flight complete normally. Returns how many callees were removed, `None` for an
    /// unknown realm or registration.
    pub fn revoke_registration(
        &mut self,
        now: Instant,
        realm: &str,
        id: RegistrationId,
        reason: Option<&str>,
    ) -> Option<usize> {
        let idx = *self.realm_names.get(realm)?;
        let reason = reason.unwrap_or(uris::UNREGISTERED);
        self.with_realm(now, idx, |r, ctx| {
            let n = r.dealer.revoke(ctx, &mut r.sessions, id, None, reason);
            r.flush_meta(ctx);
            n
        })
        .flatten()
    }

    /// The router shuts down: every established session gets GOODBYE
    /// `wamp.close.system_shutdown` and leaves, and every open connection is closed
    /// ([`RouterAction::Close`] with [`CloseReason::Shutdown`]), in connection order. The
    /// embedder stops accepting connections first; the router stays usable (a connection
    /// opened afterwards works as usual).
    pub fn shutdown(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let Some(slot) = self.slots.get(index) else {
                break;
            };
            // Slot indexes fit in u32: `open_connection` refuses to grow the slab past it.
            let id = ConnId::new(u32::try_from(index).unwrap_or(u32::MAX), slot.generation);
            let Some(state) = self.conn(id).map(|c| c.state) else {
                continue;
            };
            if state == ConnState::Closed {
                continue;
            }
            if let ConnState::Established { realm, session } = state {
                self.send(
                    id,
                    Goodbye {
                        details: Dict::new(),
                        reason: Uri::from(uris::SYSTEM_SHUTDOWN),
                    },
                );
                self.leave(now, realm, session);
            }
            self.drop_auth(id);
            self.disarm_hello_timer(id);
            if let Some(c) = self.conn_mut(id) {
                c.state = ConnState::Closed;
            }
            self.out.push_back(RouterAction::Close {
                conn: id,
                reason: CloseReason::Shutdown,
            });
        }
    }

    fn with_realm<R>(
        &mut self,
        now: Instant,
        idx: usize,
        f: impl FnOnce(&mut Realm, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let unix_millis = self.unix_millis(now);
        let realm = self.realms.get_mut(idx)?;
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            entropy: &mut *self.entropy,
            timers: &mut self.timers,
            ids: &mut self.ids,
            realm: idx,
            unix_millis,
            decisions: &mut self.decisions,
            meta: &mut self.meta,
            kills: &mut self.kills,
        };
        Some(f(realm, &mut ctx))
    }

    fn send(&mut self, to: ConnId, msg: impl Into<Message>) {
        self.out.push_back(RouterAction::Send {
            to,
            msg: msg.into(),
        });
    }

    fn abort(&mut self, conn: ConnId, reason: &'static str, message: &str) {
        self.send(
            conn,
            Abort {
                details: Dict::new().with("message", message),
                reason: Uri::from(reason),
                payload: Payload::empty(),
            },
        );
    }

    fn abort_and_close(
        &mut self,
        now: Instant,
        conn: ConnId,
        reason: &'static str,
        message: &str,
        close: CloseReason,
    ) {
        let Some(state) = self.conn(conn).map(|c| c.state) else {
            return;
        };
        if state == ConnState::Closed {
            return;
        }
        self.abort(conn, reason, message);
        if let ConnState::Established { realm, session } = state {
            self.leave(now, realm, session);
        }
        self.drop_auth(conn);
        self.disarm_hello_timer(conn);
        self.set_state(conn, ConnState::Closed);
        self.out.push_back(RouterAction::Close {
            conn,
            reason: close,
        });
    }

    fn violation(&mut self, now: Instant, conn: ConnId, pv: ProtocolViolation) {
        let text = pv.to_string();
        self.abort_and_close(
            now,
            conn,
            uris::PROTOCOL_VIOLATION,
            &text,
            CloseReason::ProtocolViolation,
        );
    }

    /// The session on `conn` ended by GOODBYE or ABORT: the connection may carry another.
    fn end_session(&mut self, now: Instant, conn: ConnId, realm: usize, session: SessionId) {
        self.leave(now, realm, session);
        self.set_state(conn, ConnState::Idle);
        self.arm_hello_timer(now, conn);
    }

    fn leave(&mut self, now: Instant, realm: usize, session: SessionId) {
        self.leave_with(now, realm, session, false);
    }

    fn leave_with(&mut self, now: Instant, realm: usize, session: SessionId, quiet: bool) {
        self.sessions.remove(&session);
        maybe_shrink(&mut self.sessions);
        self.with_realm(now, realm, |r, ctx| r.leave(ctx, session, quiet));
    }

    /// Ends the sessions the meta API killed: GOODBYE to each, then the session leaves; the
    /// connection waits for the GOODBYE reply (within the HELLO timeout).
    #[inline]
    fn run_kills(&mut self, now: Instant) {
        if !self.kills.is_empty() {
            self.kill_now(now);
        }
    }

    fn kill_now(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.kills.len() {
            let Some(k) = self.kills.get(i).cloned() else {
                break;
            };
            i += 1;
            let Some(&realm) = self.sessions.get(&k.session) else {
                continue;
            };
            let Some(conn) = self
                .realms
                .get(realm)
                .and_then(|r| r.sessions.get(&k.session))
                .map(|s| s.conn)
            else {
                continue;
            };
            let mut details = Dict::new();
            if let Some(m) = &k.message {
                details.insert("message", m.as_str());
            }
            self.send(
                conn,
                Goodbye {
                    details,
                    reason: k.reason.clone(),
                },
            );
            // Leaving can publish testaments but kill no one: the list does not grow here.
            self.leave_with(now, realm, k.session, k.quiet);
            self.set_state(conn, ConnState::GoodbyeSent);
            self.arm_hello_timer(now, conn);
        }
        self.kills.clear();
    }

    fn new_session_id(&mut self) -> SessionId {
        loop {
            let id = SessionId::new(random_id(&mut *self.entropy)).unwrap_or(SESSION_ONE);
            if !self.sessions.contains_key(&id) && !self.reserved.contains(&id) {
                return id;
            }
        }
    }

    fn hello(&mut self, now: Instant, conn: ConnId, hello: Hello) {
        if !hello.realm.is_valid(self.config.uri_rules) {
            return self.violation(now, conn, ProtocolViolation::InvalidRealm);
        }
        let features = match ClientFeatures::from_hello(&hello.details) {
            Ok(f) => f,
            Err(pv) => return self.violation(now, conn, pv),
        };
        let realm = match self.realm_names.get(&hello.realm).copied() {
            Some(i) => i,
            None if self.config.auto_create_realms && self.add_realm(hello.realm.clone()) => {
                self.realms.len() - 1
            }
            None => {
                self.abort(conn, uris::NO_SUCH_REALM, "no such realm");
                return;
            }
        };
        if self.sessions.len() + self.reserved.len() >= self.config.max_sessions {
            return self.abort_and_close(
                now,
                conn,
                uris::NOT_AUTHORIZED,
                "session limit reached",
                CloseReason::Capacity,
            );
        }
        let allowed = slot_conn(&self.slots, conn)
            .and_then(|c| c.transport.as_deref())
            .and_then(|t| t.auth_methods.as_deref());
        let Some(chosen) = self
            .realms
            .get(realm)
            .and_then(|r| auth::choose(&r.auth, &hello.details, allowed))
        else {
            self.abort(
                conn,
                uris::NO_AUTH_METHOD,
                "no acceptable authentication method",
            );
            return;
        };
        let sid = self.new_session_id();
        self.reserved.insert(sid);
        let unix_millis = self.unix_millis(now);
        let Some(r) = self.realms.get(realm) else {
            return;
        };
        let transport = slot_conn(&self.slots, conn).and_then(|c| c.transport.as_deref());
        let mut env = Env {
            realm_name: &r.name,
            auth: &r.auth,
            entropy: &mut *self.entropy,
            unix_millis,
            binding: transport
                .and_then(|t| t.channel_binding.as_ref())
                .map(|(k, d)| (*k, d.as_slice())),
            transport,
        };
        let (pending, step) =
            PendingAuth::start(&mut env, realm, sid, features, &hello.details, chosen);
        self.apply_auth(now, conn, pending, step);
    }

    /// Runs one step of `pending` with the environment of its realm and connection.
    fn auth_step(
        &mut self,
        now: Instant,
        conn: ConnId,
        pending: &mut PendingAuth,
        f: impl FnOnce(&mut PendingAuth, &mut Env<'_>) -> Step,
    ) -> Step {
        let unix_millis = self.unix_millis(now);
        let Some(r) = self.realms.get(pending.realm) else {
            return Step::Fail(uris::AUTHENTICATION_FAILED);
        };
        let transport = slot_conn(&self.slots, conn).and_then(|c| c.transport.as_deref());
        let mut env = Env {
            realm_name: &r.name,
            auth: &r.auth,
            entropy: &mut *self.entropy,
            unix_millis,
            binding: transport
                .and_then(|t| t.channel_binding.as_ref())
                .map(|(k, d)| (*k, d.as_slice())),
            transport,
        };
        f(pending, &mut env)
    }

    /// Carries out an authentication step's outcome.
    fn apply_auth(
        &mut self,
        now: Instant,
        conn: ConnId,
        mut pending: Box<PendingAuth>,
        step: Step,
    ) {
        match step {
            Step::Challenge(c) => {
                self.send(conn, c);
                self.park_auth(conn, pending);
            }
            Step::Ask(request) => {
                let ticket = self.decisions.open(
                    &mut self.timers,
                    now,
                    self.config.decision_timeout,
                    self.config.max_pending_decisions,
                    Waiter::Auth(conn),
                );
                let Some(ticket) = ticket else {
                    return self.apply_auth(
                        now,
                        conn,
                        pending,
                        Step::Fail(uris::AUTHENTICATION_FAILED),
                    );
                };
                pending.ticket = Some(ticket);
                self.out.push_back(RouterAction::NeedDecision {
                    ticket,
                    request: Box::new(DecisionRequest::Authenticate(*request)),
                });
                self.park_auth(conn, pending);
            }
            Step::Fail(reason) => {
                self.reserved.remove(&pending.sid);
                if let Some(t) = pending.ticket {
                    self.decisions.close(&mut self.timers, t);
                }
                // The same details for every failure: nothing for a guesser.
                self.abort(conn, reason, "authentication failed");
                self.set_state(conn, ConnState::Idle);
            }
            Step::Welcome(w) => self.welcome(now, conn, pending, *w),
        }
    }

    fn park_auth(&mut self, conn: ConnId, pending: Box<PendingAuth>) {
        if let Some(c) = self.conn_mut(conn) {
            c.auth = Some(pending);
            c.state = ConnState::Authenticating;
        }
    }

    fn welcome(&mut self, now: Instant, conn: ConnId, pending: Box<PendingAuth>, w: Welcomed) {
        let (sid, realm, features) = (pending.sid, pending.realm, pending.features);
        self.reserved.remove(&sid);
        let Some(r) = self.realms.get(realm) else {
            self.set_state(conn, ConnState::Idle);
            return;
        };
        let realm_name = r.name.clone();
        if !r.authz.has_role(&w.identity.authrole) {
            self.abort(conn, uris::NO_SUCH_ROLE, "no such role");
            self.set_state(conn, ConnState::Idle);
            return;
        }
        self.disarm_hello_timer(conn);
        let identity = w.identity;
        let mut details = Dict::with_capacity(8);
        details.insert("roles", self.welcome_roles.clone());
        details.insert("agent", self.config.agent.as_str());
        details.insert("realm", realm_name.as_str());
        details.insert("authid", &*identity.authid);
        details.insert("authrole", &*identity.authrole);
        details.insert("authmethod", &*identity.authmethod);
        details.insert("authprovider", &*identity.authprovider);
        if !w.authextra.is_empty() {
            details.insert("authextra", w.authextra.clone());
        }
        let transport = self.conn(conn).and_then(|c| c.transport.clone());
        self.sessions.insert(sid, realm);
        if let Some(c) = self.conn_mut(conn) {
            c.state = ConnState::Established {
                realm,
                session: sid,
            };
        }
        self.send(
            conn,
            Welcome {
                session: sid,
                details,
            },
        );
        let mut session = Session::new(conn, identity, features);
        session.authextra = w.authextra;
        session.transport = transport;
        self.with_realm(now, realm, |r, ctx| r.join(ctx, sid, session));
    }
}

#[cfg(test)]
mod send_tests {
    /// Embedders may move the router to another thread or hold it in a `Send` future.
    #[test]
    fn router_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<super::Router>();
    }
}
