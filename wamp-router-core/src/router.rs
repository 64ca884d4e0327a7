//! [`Router`]: connections, session state, realms; dispatches to the realms' brokers and
//! dealers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use wamp_proto::id::{RegistrationId, SessionId, SubscriptionId, random_id};
use wamp_proto::message::{Abort, Goodbye, Hello, Welcome};
use wamp_proto::{DecodeError, Dict, Entropy, Message, Payload, Uri, Value};

use crate::action::{CloseReason, ConnId, RouterAction};
use crate::broker::BrokerStats;
use crate::config::RouterConfig;
use crate::ctx::{Ctx, IdAlloc, Timer};
use crate::dealer::DealerStats;
use crate::error::ProtocolViolation;
use crate::ids::SESSION_ONE;
use crate::index::{FastMap, HashSeed, maybe_shrink};
use crate::realm::Realm;
use crate::session::{ClientFeatures, Identity, Session};
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
];

/// `open_connection` refused: [`RouterConfig::max_connections`] connections are open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("connection limit reached")]
pub struct ConnectionLimit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// No session: HELLO expected.
    Idle,
    /// A session is established.
    Established { realm: usize, session: SessionId },
    /// The router asked the embedder to close it; input is ignored.
    Closed,
}

#[derive(Debug)]
struct Conn {
    state: ConnState,
    hello_timer: Option<TimerKey>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    conn: Option<Conn>,
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
}

/// The WAMP router state machine. See the crate documentation for the drive loop.
///
/// Methods, by kind:
/// - inputs: [`Router::open_connection`], [`Router::handle_message`],
///   [`Router::handle_decode_error`], [`Router::close_connection`],
///   [`Router::handle_timeout`];
/// - commands: [`Router::add_realm`], [`Router::revoke_subscription`],
///   [`Router::revoke_registration`];
/// - outputs: [`Router::poll_action`], [`Router::poll_timeout`];
/// - getters: [`Router::stats`], [`Router::session_of`], [`Router::config`].
pub struct Router {
    config: RouterConfig,
    entropy: Box<dyn Entropy>,
    seed: HashSeed,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    open_conns: usize,
    realms: Vec<Realm>,
    realm_names: BTreeMap<Uri, usize>,
    /// Every joined session, with its realm (session IDs are unique router-wide).
    sessions: FastMap<SessionId, usize>,
    out: VecDeque<RouterAction>,
    timers: TimerQueue<Timer>,
    ids: IdAlloc,
    welcome_roles: Dict,
    anonymous: Arc<str>,
    static_provider: Arc<str>,
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
    /// `random` invocation, hash seeds) from `entropy`.
    pub fn new(config: RouterConfig, mut entropy: Box<dyn Entropy>) -> Self {
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
            out: VecDeque::new(),
            timers: TimerQueue::new(),
            ids: IdAlloc::default(),
            welcome_roles,
            anonymous: Arc::from("anonymous"),
            static_provider: Arc::from("static"),
            config,
        };
        let names = r.config.realms.clone();
        for name in names {
            r.add_realm(name);
        }
        r
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Adds a realm; returns `false` if it exists already or [`RouterConfig::max_realms`] is
    /// reached.
    pub fn add_realm(&mut self, name: impl Into<Uri>) -> bool {
        let name = name.into();
        if self.realm_names.contains_key(&name) || self.realms.len() >= self.config.max_realms {
            return false;
        }
        self.realm_names.insert(name.clone(), self.realms.len());
        self.realms.push(Realm::new(name, self.seed));
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

    fn conn(&self, id: ConnId) -> Option<&Conn> {
        let slot = self.slots.get(id.index() as usize)?;
        if slot.generation != id.generation() {
            return None;
        }
        slot.conn.as_ref()
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        let slot = self.slots.get_mut(id.index() as usize)?;
        if slot.generation != id.generation() {
            return None;
        }
        slot.conn.as_mut()
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
        });
        self.open_conns += 1;
        self.arm_hello_timer(now, id);
        Ok(id)
    }

    fn arm_hello_timer(&mut self, now: Instant, id: ConnId) {
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
        self.disarm_hello_timer(conn);
        if let Some(slot) = self.slots.get_mut(conn.index() as usize) {
            slot.conn = None;
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(conn.index());
            self.open_conns -= 1;
        }
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
                    if let Some(Err(pv)) = result {
                        self.violation(now, conn, pv);
                    }
                }
            },
        }
    }

    /// Timers due at `now`: call timeouts, HELLO timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Hello(conn) => {
                    let idle = self.conn(conn).is_some_and(|c| c.state == ConnState::Idle);
                    if let Some(c) = self.conn_mut(conn) {
                        c.hello_timer = None;
                        if idle {
                            c.state = ConnState::Closed;
                        }
                    }
                    if idle {
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
            r.broker.revoke(ctx, &mut r.sessions, id, None, reason)
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
            r.dealer.revoke(ctx, &mut r.sessions, id, None, reason)
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
        let realm = self.realms.get_mut(idx)?;
        let mut ctx = Ctx {
            now,
            config: &self.config,
            out: &mut self.out,
            entropy: &mut *self.entropy,
            timers: &mut self.timers,
            ids: &mut self.ids,
            realm: idx,
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
        self.disarm_hello_timer(conn);
        if let Some(c) = self.conn_mut(conn) {
            c.state = ConnState::Closed;
        }
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
        if let Some(c) = self.conn_mut(conn) {
            c.state = ConnState::Idle;
        }
        self.arm_hello_timer(now, conn);
    }

    fn leave(&mut self, now: Instant, realm: usize, session: SessionId) {
        self.sessions.remove(&session);
        maybe_shrink(&mut self.sessions);
        self.with_realm(now, realm, |r, ctx| r.leave(ctx, session));
    }

    fn new_session_id(&mut self) -> SessionId {
        loop {
            let id = SessionId::new(random_id(&mut *self.entropy)).unwrap_or(SESSION_ONE);
            if !self.sessions.contains_key(&id) {
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
        if let Some(methods) = hello.details.get_list("authmethods") {
            if !methods.is_empty() && !methods.iter().any(|m| m.as_str() == Some("anonymous")) {
                self.abort(
                    conn,
                    uris::NO_MATCHING_AUTH_METHOD,
                    "only anonymous authentication is available",
                );
                return;
            }
        }
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
        if self.sessions.len() >= self.config.max_sessions {
            return self.abort_and_close(
                now,
                conn,
                uris::NOT_AUTHORIZED,
                "session limit reached",
                CloseReason::Capacity,
            );
        }
        let sid = self.new_session_id();
        let identity = self.authenticate(sid);
        self.disarm_hello_timer(conn);
        let mut details = Dict::with_capacity(7);
        details.insert("roles", self.welcome_roles.clone());
        details.insert("agent", self.config.agent.as_str());
        details.insert("realm", hello.realm.as_str());
        details.insert("authid", &*identity.authid);
        details.insert("authrole", &*identity.authrole);
        details.insert("authmethod", &*identity.authmethod);
        details.insert("authprovider", &*identity.authprovider);
        if let Some(r) = self.realms.get_mut(realm) {
            r.join(sid, Session::new(conn, identity, features));
        }
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
    }

    /// Authentication: anonymous only for now (authid = the session ID as a string).
    fn authenticate(&self, sid: SessionId) -> Identity {
        Identity {
            authid: Arc::from(sid.to_string()),
            authrole: self.anonymous.clone(),
            authmethod: self.anonymous.clone(),
            authprovider: self.static_provider.clone(),
        }
    }
}
