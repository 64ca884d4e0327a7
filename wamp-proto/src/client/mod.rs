//! The client session: a sans-IO state machine for the Caller, Callee, Publisher and
//! Subscriber roles.
//!
//! # Driving it
//!
//! [`Session`] never does IO and never reads a clock. One way in, one way out:
//!
//! 1. apply one input: a `handle_*` call ([`Session::handle_message`],
//!    [`Session::handle_timeout`], [`Session::handle_malformed`],
//!    [`Session::handle_transport_closed`]) or a command ([`Session::join`], [`Session::call`],
//!    [`Session::publish`], [`Session::subscribe`], [`Session::register`], [`Session::yield_`],
//!    [`Session::cancel`], [`Session::leave`], ...);
//! 2. drain [`Session::poll_action`] until it returns `None`: [`ClientAction::Send`] a message,
//!    hand a [`ClientAction::Event`] to the application, [`ClientAction::Close`] the transport;
//! 3. read [`Session::poll_timeout`] and call [`Session::handle_timeout`] then.
//!
//! Commands return a [`RequestId`] (or `()`) at once, or a [`UsageError`] for a local mistake;
//! their outcome arrives later as an event. Every request ends in exactly one outcome (see
//! [`ClientEvent`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use wamp_proto::client::{ClientAction, ClientConfig, ClientEvent, CallOptions, JoinOptions, Session};
//! use wamp_proto::id::{RequestId, SessionId};
//! use wamp_proto::message::{CallResult, Welcome};
//! use wamp_proto::{Dict, Message, Payload, SeededEntropy, Value};
//!
//! let mut session = Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(1)));
//! let t0 = Instant::now();
//! let mut outbox = Vec::new();
//! let mut drain = |s: &mut Session, outbox: &mut Vec<Message>| {
//!     let mut events = Vec::new();
//!     while let Some(a) = s.poll_action() {
//!         match a {
//!             ClientAction::Send(m) => outbox.push(m), // encode and write it
//!             ClientAction::Event(e) => events.push(e), // give it to the application
//!             ClientAction::Close(_) => {}              // close the transport
//!         }
//!     }
//!     events
//! };
//!
//! session.join(t0, JoinOptions::anonymous("realm1")).unwrap();
//! drain(&mut session, &mut outbox);
//! assert!(matches!(outbox[0], Message::Hello(_)));
//! assert_eq!(session.poll_timeout(), Some(t0 + Duration::from_secs(30))); // join timeout
//!
//! // The router answers.
//! let roles = Dict::new().with("dealer", Dict::new());
//! let welcome = Welcome { session: SessionId::new(7).unwrap(), details: Dict::new().with("roles", roles) };
//! session.handle_message(t0, welcome.into());
//! let events = drain(&mut session, &mut outbox);
//! assert!(matches!(events[0], ClientEvent::Joined(_)));
//!
//! let call = session
//!     .call(t0, "com.example.add".into(), Payload::args(vec![2.into(), 3.into()]), CallOptions::default())
//!     .unwrap();
//! drain(&mut session, &mut outbox);
//! let result = CallResult { request: call, details: Dict::new(), payload: Payload::args(vec![5.into()]) };
//! session.handle_message(t0, result.into());
//! match &drain(&mut session, &mut outbox)[0] {
//!     ClientEvent::Result(r) => assert_eq!(r.payload.arguments(), &[Value::from(5)]),
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! # Authentication
//!
//! [`JoinOptions::authenticators`] lists the methods, in order. The session answers CHALLENGEs
//! itself for ticket, WAMP-CRA (salted too), cryptosign and SCRAM, using the maths of
//! [`crate::auth`] — including the key derivations, whose costs are bounded by
//! [`ClientConfig::kdf_limits`] but can still take a while. An embedder that must not block
//! its loop uses [`Authenticator::External`]: the session emits [`ClientEvent::Challenge`],
//! the application computes the answer elsewhere (e.g. with
//! [`crate::auth::scram::ScramClient`], whose HELLO entries it puts into
//! [`JoinOptions::authextra`]) and calls [`Session::authenticate`]; with SCRAM it then checks the
//! server signature in [`SessionDetails::authextra`] of the `Joined` event and leaves if it is
//! wrong. With a direct SCRAM authenticator the session checks it and ABORTs with
//! `wamp.error.cannot_authenticate` on a mismatch.
//!
//! # Choices where the spec and Autobahn/Crossbar differ
//!
//! * The GOODBYE reply reason is `wamp.close.goodbye_and_out`; a reply's reason is never
//!   checked. Leaving sends `wamp.close.normal` unless told otherwise.
//! * A reply to a request that is not pending, an EVENT for an unknown subscription, an
//!   INVOCATION for an unknown registration, and a progressive RESULT that was not asked for
//!   are protocol violations (as Autobahn-JS treats them): ABORT `wamp.error.protocol_violation`
//!   and close. An INTERRUPT for an unknown invocation is ignored (it races with our YIELD), as
//!   is a revocation naming an unknown subscription or registration.
//! * Before [`Session::join`] every message is a protocol violation except ABORT, which is
//!   ignored (it is never answered, and there is no session to end).
//! * INTERRUPT without a mode (Crossbar) is treated as `kill`: the invocation stays pending.
//! * CANCEL, progressive call invocations and payload passthru are only sent to routers that
//!   announced them; hints (`receive_progress`, `disclose_me`, `timeout`, match policies) are
//!   sent regardless.
//! * Later chunks of a progressive invocation whose invocation already ended are dropped
//!   silently, as the spec asks; so are YIELD/ERROR commands for an invocation that the dealer
//!   no longer waits for (after INTERRUPT `killnowait` or a forwarded timeout).

mod features;
mod types;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

pub use features::{
    CALLEE_FEATURES, CALLER_FEATURES, Feature, PUBLISHER_FEATURES, Roles, RouterFeatures,
    SUBSCRIBER_FEATURES,
};
pub use types::{
    AuthChallenge, Authenticator, CallOptions, CallOutput, CancelMode, ChannelBindingData,
    ClientAction, ClientConfig, ClientEvent, CloseCause, CloseInfo, EventDelivery, InterruptMode,
    InvocationEvent, InvokePolicy, JoinOptions, Passthru, ProtocolViolation, PublishOptions,
    RegisterOptions, RequestError, RequestKind, SessionDetails, SessionState, SubscribeOptions,
    UsageError, YieldOptions,
};

use crate::auth::cryptosign::ChannelBinding;
use crate::auth::scram::{ScramClient, ScramResponse};
use crate::auth::{AuthError, wampcra};
use crate::error::DecodeError;
use crate::id::{Entropy, IdSequence, RegistrationId, RequestId, SubscriptionId};
use crate::message::{
    Abort, Authenticate, Call, Cancel, Challenge, Error, Event, Goodbye, Hello, Invocation,
    Message, MessageKind, Publish, Register, Subscribe, Unregister, Unregistered, Unsubscribe,
    Unsubscribed, Yield,
};
use crate::{Dict, MatchPolicy, Payload, Uri, UriRules, Value};
use types::{details_reason, id_list, string_list};

/// Reason of the ABORT we send on a protocol violation.
pub const PROTOCOL_VIOLATION: &str = "wamp.error.protocol_violation";
/// Reason of the ABORT we send when we cannot authenticate.
pub const CANNOT_AUTHENTICATE: &str = "wamp.error.cannot_authenticate";
/// Our GOODBYE reply reason.
pub const GOODBYE_AND_OUT: &str = "wamp.close.goodbye_and_out";
/// Default reason when leaving.
pub const CLOSE_NORMAL: &str = "wamp.close.normal";
/// Reason of the ABORT we send when the join times out, and of our invocation timeout errors.
pub const TIMEOUT: &str = "wamp.error.timeout";
/// The error we answer an INVOCATION with when too many are pending.
pub const UNAVAILABLE: &str = "wamp.error.unavailable";

/// At most this many CHALLENGE rounds per join (two-factor schemes use two).
const MAX_CHALLENGES: u8 = 4;
/// How many ended invocation IDs are remembered to drop late chunks and late answers.
const ENDED_INVOCATIONS: usize = 1024;

/// A pending request.
#[derive(Debug)]
enum Pending {
    Call(PendingCall),
    Publish,
    Subscribe { topic: Uri, policy: MatchPolicy },
    Unsubscribe { subscription: SubscriptionId },
    Register { procedure: Uri },
    Unregister { registration: RegistrationId },
}

impl Pending {
    fn kind(&self) -> RequestKind {
        match self {
            Pending::Call(_) => RequestKind::Call,
            Pending::Publish => RequestKind::Publish,
            Pending::Subscribe { .. } => RequestKind::Subscribe,
            Pending::Unsubscribe { .. } => RequestKind::Unsubscribe,
            Pending::Register { .. } => RequestKind::Register,
            Pending::Unregister { .. } => RequestKind::Unregister,
        }
    }
}

#[derive(Debug)]
struct PendingCall {
    procedure: Uri,
    receive_progress: bool,
    input_open: bool,
    cancelled: bool,
}

#[derive(Debug)]
struct SubscriptionRec {
    topic: Uri,
    policy: MatchPolicy,
    unsubscribing: bool,
}

#[derive(Debug)]
struct RegistrationRec {
    procedure: Uri,
    unregistering: bool,
}

#[derive(Debug)]
struct PendingInvocation {
    registration: RegistrationId,
    receive_progress: bool,
    input_open: bool,
    deadline: Option<Instant>,
}

/// What the session keeps between HELLO and WELCOME.
#[derive(Debug)]
struct Joining {
    realm: Uri,
    authenticators: Vec<Authenticator>,
    channel_binding: Option<ChannelBindingData>,
    scram: Option<ScramClient>,
    scram_response: Option<ScramResponse>,
    /// Cryptosign router authentication: our challenge and the key the router must sign with.
    router_auth: Option<([u8; 32], [u8; 32])>,
    challenges: u8,
    awaiting_app: bool,
}

/// The client session state machine. See the [module documentation](self).
///
/// Methods by group:
/// * getters: [`state`](Session::state), [`details`](Session::details),
///   [`pending_requests`](Session::pending_requests),
///   [`pending_invocations`](Session::pending_invocations);
/// * inputs: [`handle_message`](Session::handle_message),
///   [`handle_timeout`](Session::handle_timeout),
///   [`handle_malformed`](Session::handle_malformed),
///   [`handle_transport_closed`](Session::handle_transport_closed);
/// * commands: [`join`](Session::join), [`authenticate`](Session::authenticate),
///   [`leave`](Session::leave), [`call`](Session::call),
///   [`call_progress`](Session::call_progress), [`cancel`](Session::cancel),
///   [`publish`](Session::publish), [`subscribe`](Session::subscribe),
///   [`unsubscribe`](Session::unsubscribe), [`register`](Session::register),
///   [`unregister`](Session::unregister), [`yield_`](Session::yield_),
///   [`invocation_error`](Session::invocation_error);
/// * outputs: [`poll_action`](Session::poll_action), [`poll_timeout`](Session::poll_timeout).
pub struct Session {
    config: ClientConfig,
    entropy: Box<dyn Entropy + Send>,
    state: SessionState,
    joining: Option<Box<Joining>>,
    details: Option<Box<SessionDetails>>,
    ids: IdSequence,
    pending: BTreeMap<u64, Pending>,
    subscriptions: BTreeMap<u64, SubscriptionRec>,
    registrations: BTreeMap<u64, RegistrationRec>,
    invocations: BTreeMap<u64, PendingInvocation>,
    invocation_deadlines: BTreeSet<(Instant, u64)>,
    ended_invocations: VecDeque<u64>,
    actions: VecDeque<ClientAction>,
    /// Join or goodbye deadline.
    deadline: Option<Instant>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("pending", &self.pending.len())
            .field("invocations", &self.invocations.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session in state [`SessionState::Idle`]. `entropy` supplies the SCRAM nonces.
    pub fn new(config: ClientConfig, entropy: Box<dyn Entropy + Send>) -> Self {
        Session {
            config,
            entropy,
            state: SessionState::Idle,
            joining: None,
            details: None,
            ids: IdSequence::new(),
            pending: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            registrations: BTreeMap::new(),
            invocations: BTreeMap::new(),
            invocation_deadlines: BTreeSet::new(),
            ended_invocations: VecDeque::new(),
            actions: VecDeque::new(),
            deadline: None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Getters
    // -----------------------------------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The session as welcomed (while established and after, until the next join).
    pub fn details(&self) -> Option<&SessionDetails> {
        self.details.as_deref()
    }

    /// Requests awaiting their reply.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Invocations awaiting the application's answer.
    pub fn pending_invocations(&self) -> usize {
        self.invocations.len()
    }

    // -----------------------------------------------------------------------------------------
    // Outputs
    // -----------------------------------------------------------------------------------------

    /// The next action, in order.
    pub fn poll_action(&mut self) -> Option<ClientAction> {
        self.actions.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let inv = self.invocation_deadlines.first().map(|(t, _)| *t);
        match (self.deadline, inv) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------------------------

    fn send(&mut self, m: impl Into<Message>) {
        self.actions.push_back(ClientAction::Send(m.into()));
    }

    fn emit(&mut self, e: ClientEvent) {
        self.actions.push_back(ClientAction::Event(e));
    }

    fn check_command(&self) -> Result<(), UsageError> {
        if self.state != SessionState::Established {
            return Err(UsageError::InvalidState(self.state));
        }
        if self.actions.len() >= self.config.max_queued_actions {
            return Err(UsageError::QueueFull);
        }
        Ok(())
    }

    fn check_request(&self) -> Result<(), UsageError> {
        self.check_command()?;
        if self.pending.len() >= self.config.max_pending_requests {
            return Err(UsageError::TooManyPending);
        }
        Ok(())
    }

    fn router(&self) -> RouterFeatures {
        self.details.as_ref().map(|d| d.router).unwrap_or_default()
    }

    /// The next request ID not in use (IDs wrap after 2^53).
    fn next_request(&mut self) -> RequestId {
        loop {
            let id = self.ids.next_id();
            if !self.pending.contains_key(&id.get()) {
                return id;
            }
        }
    }

    fn reset(&mut self) {
        self.joining = None;
        self.details = None;
        self.ids = IdSequence::new();
        self.pending.clear();
        self.subscriptions.clear();
        self.registrations.clear();
        self.invocations.clear();
        self.invocation_deadlines.clear();
        self.ended_invocations.clear();
        self.deadline = None;
    }

    /// Ends the session: every pending request is lost, then `Closed`, then (unless the
    /// transport is already gone) `Close`.
    fn end(&mut self, cause: CloseCause, reason: Uri, details: Dict, close_transport: bool) {
        let pending = std::mem::take(&mut self.pending);
        for (id, p) in pending {
            if let Some(request) = RequestId::new(id) {
                self.emit(ClientEvent::Lost {
                    request,
                    kind: p.kind(),
                });
            }
        }
        self.subscriptions.clear();
        self.registrations.clear();
        self.invocations.clear();
        self.invocation_deadlines.clear();
        self.ended_invocations.clear();
        self.joining = None;
        self.deadline = None;
        self.state = SessionState::Closed;
        self.emit(ClientEvent::Closed(CloseInfo {
            cause: cause.clone(),
            reason,
            details,
        }));
        if close_transport {
            self.actions.push_back(ClientAction::Close(cause));
        }
    }

    fn abort(&mut self, cause: CloseCause, reason: &'static str, message: &'static str) {
        self.send(Abort {
            details: Dict::new().with("message", message),
            reason: Uri::from(reason),
            payload: Payload::empty(),
        });
        self.end(cause, Uri::from(reason), Dict::new(), true);
    }

    fn violation(&mut self, v: ProtocolViolation) {
        self.abort(
            CloseCause::ProtocolViolation(v),
            PROTOCOL_VIOLATION,
            "protocol violation",
        );
    }

    fn unexpected(&mut self, kind: MessageKind) {
        let state = self.state;
        self.violation(ProtocolViolation::UnexpectedMessage { kind, state });
    }

    fn auth_failed(&mut self, e: Option<AuthError>) {
        self.abort(
            CloseCause::AuthenticationFailed(e),
            CANNOT_AUTHENTICATE,
            "cannot authenticate",
        );
    }

    fn end_invocation(&mut self, id: u64) -> Option<PendingInvocation> {
        let inv = self.invocations.remove(&id)?;
        if let Some(t) = inv.deadline {
            self.invocation_deadlines.remove(&(t, id));
        }
        if self.ended_invocations.len() >= ENDED_INVOCATIONS {
            self.ended_invocations.pop_front();
        }
        self.ended_invocations.push_back(id);
        Some(inv)
    }

    // -----------------------------------------------------------------------------------------
    // Joining and leaving
    // -----------------------------------------------------------------------------------------

    /// Sends HELLO. Allowed in [`SessionState::Idle`] and [`SessionState::Closed`] (a new
    /// session on a kept transport).
    pub fn join(&mut self, now: Instant, opts: JoinOptions) -> Result<(), UsageError> {
        if !matches!(self.state, SessionState::Idle | SessionState::Closed) {
            return Err(UsageError::InvalidState(self.state));
        }
        if !opts.realm.is_valid(UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        let mut methods: Vec<&str> = Vec::with_capacity(opts.authenticators.len());
        for a in &opts.authenticators {
            if methods.contains(&a.method()) {
                return Err(UsageError::DuplicateAuthMethod);
            }
            methods.push(a.method());
            let needs_authid = matches!(
                a,
                Authenticator::Ticket(_) | Authenticator::WampCra(_) | Authenticator::Scram { .. }
            );
            if needs_authid && opts.authid.is_none() {
                return Err(UsageError::MissingAuthid);
            }
            if let (Authenticator::Cryptosign(_), Some(cb)) = (a, &opts.channel_binding)
                && cb.data.len() != 32
            {
                return Err(UsageError::InvalidChannelBinding);
            }
        }
        self.reset();

        let mut authextra = opts.authextra.clone();
        let mut scram = None;
        let mut router_auth = None;
        for a in &opts.authenticators {
            match a {
                Authenticator::Cryptosign(key) => {
                    authextra.insert("pubkey", key.public_key_hex());
                    if let Some(cb) = &opts.channel_binding {
                        authextra.insert("channel_binding", cb.kind.as_str());
                    }
                    if let Some(router_key) = opts.cryptosign_router_key {
                        let (challenge, hex) =
                            crate::auth::cryptosign::new_challenge(&mut self.entropy);
                        authextra.insert("challenge", hex);
                        router_auth = Some((challenge, router_key));
                    }
                }
                Authenticator::Scram { profile, password } => {
                    let mut c = ScramClient::new(
                        *profile,
                        opts.authid.as_deref().unwrap_or_default(),
                        password,
                        &mut self.entropy,
                    );
                    if let Some(cb) = &opts.channel_binding {
                        c = c.with_channel_binding(cb.kind.as_str(), cb.data.clone());
                    }
                    for (k, v) in c.hello_authextra() {
                        authextra.insert(k, v);
                    }
                    scram = Some(c);
                }
                _ => {}
            }
        }

        let mut details = Dict::with_capacity(6);
        details.insert("roles", features::hello_roles(self.config.roles));
        if let Some(agent) = &self.config.agent {
            details.insert("agent", agent.as_str());
        }
        if !methods.is_empty() {
            details.insert(
                "authmethods",
                Value::List(methods.iter().map(|m| Value::from(*m)).collect()),
            );
        }
        if let Some(id) = &opts.authid {
            details.insert("authid", id.as_str());
        }
        if let Some(role) = &opts.authrole {
            details.insert("authrole", role.as_str());
        }
        if !authextra.is_empty() {
            details.insert("authextra", authextra);
        }
        self.send(Hello {
            realm: opts.realm.clone(),
            details,
        });
        self.joining = Some(Box::new(Joining {
            realm: opts.realm,
            authenticators: opts.authenticators,
            channel_binding: opts.channel_binding,
            scram,
            scram_response: None,
            router_auth,
            challenges: 0,
            awaiting_app: false,
        }));
        self.state = SessionState::HelloSent;
        self.deadline = self.config.join_timeout.map(|t| now + t);
        Ok(())
    }

    /// Answers a CHALLENGE delivered as [`ClientEvent::Challenge`] (external authentication).
    pub fn authenticate(
        &mut self,
        _now: Instant,
        signature: String,
        extra: Dict,
    ) -> Result<(), UsageError> {
        match self.joining.as_deref_mut() {
            Some(j) if self.state == SessionState::Challenged && j.awaiting_app => {
                j.awaiting_app = false;
            }
            _ => return Err(UsageError::NoChallengePending),
        }
        self.send(Authenticate { signature, extra });
        Ok(())
    }

    /// Leaves: GOODBYE when established (the session ends when the router replies, or after
    /// [`ClientConfig::goodbye_timeout`]); ABORT while joining. `reason` defaults to
    /// `wamp.close.normal`.
    pub fn leave(&mut self, now: Instant, reason: Option<Uri>) -> Result<(), UsageError> {
        let reason = reason.unwrap_or_else(|| Uri::from(CLOSE_NORMAL));
        if !reason.is_valid(UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        match self.state {
            SessionState::Established => {
                self.send(Goodbye {
                    details: Dict::new(),
                    reason,
                });
                self.state = SessionState::GoodbyeSent;
                self.deadline = Some(now + self.config.goodbye_timeout);
                Ok(())
            }
            SessionState::HelloSent | SessionState::Challenged => {
                self.send(Abort {
                    details: Dict::new(),
                    reason: reason.clone(),
                    payload: Payload::empty(),
                });
                self.end(CloseCause::JoinCancelled, reason, Dict::new(), true);
                Ok(())
            }
            s => Err(UsageError::InvalidState(s)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Inputs
    // -----------------------------------------------------------------------------------------

    /// Applies one message from the router.
    pub fn handle_message(&mut self, now: Instant, msg: Message) {
        match self.state {
            // ABORT is never answered, and before HELLO there is no session to end.
            SessionState::Idle => match msg {
                Message::Abort(_) => {}
                other => self.unexpected(other.kind()),
            },
            SessionState::HelloSent | SessionState::Challenged => self.on_joining(now, msg),
            SessionState::Established => self.on_established(now, msg),
            SessionState::GoodbyeSent => match msg {
                Message::Goodbye(g) => {
                    self.end(CloseCause::Left, g.reason, g.details, true);
                }
                Message::Abort(a) => self.end(CloseCause::Aborted, a.reason, a.details, true),
                _ => {}
            },
            SessionState::Closed => {}
        }
    }

    /// Reports bytes from the router that could not be decoded: a protocol violation
    /// (ignored after GOODBYE was sent and after the session ended).
    pub fn handle_malformed(&mut self, _now: Instant, error: DecodeError) {
        match self.state {
            SessionState::GoodbyeSent | SessionState::Closed => {}
            _ => self.violation(ProtocolViolation::Malformed(error)),
        }
    }

    /// Reports that the transport closed: the session (if any) ends and pending requests are
    /// lost. No `Close` action follows.
    pub fn handle_transport_closed(&mut self, _now: Instant) {
        match self.state {
            SessionState::Idle | SessionState::Closed => {}
            _ => self.end(
                CloseCause::TransportClosed,
                Uri::from(CLOSE_NORMAL),
                Dict::new(),
                false,
            ),
        }
    }

    /// Runs the timers that are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            match self.state {
                SessionState::HelloSent | SessionState::Challenged => {
                    self.abort(CloseCause::JoinTimeout, TIMEOUT, "join timeout");
                    return;
                }
                SessionState::GoodbyeSent => {
                    self.end(
                        CloseCause::GoodbyeTimeout,
                        Uri::from(CLOSE_NORMAL),
                        Dict::new(),
                        true,
                    );
                    return;
                }
                _ => {}
            }
        }
        while let Some(&(t, id)) = self.invocation_deadlines.first() {
            if t > now {
                break;
            }
            self.invocation_deadlines.pop_first();
            if let Some(inv) = self.invocations.get_mut(&id) {
                inv.deadline = None;
                self.end_invocation(id);
                if let Some(request) = RequestId::new(id) {
                    self.send(Error {
                        request_type: MessageKind::Invocation,
                        request,
                        details: Dict::new(),
                        error: Uri::from(TIMEOUT),
                        payload: Payload::empty(),
                    });
                    self.emit(ClientEvent::InvocationTimedOut { request });
                }
            }
        }
    }

    fn on_joining(&mut self, now: Instant, msg: Message) {
        match msg {
            Message::Welcome(w) => self.on_welcome(w),
            Message::Abort(a) => self.end(CloseCause::Aborted, a.reason, a.details, true),
            Message::Challenge(c) => self.on_challenge(now, c),
            other => self.unexpected(other.kind()),
        }
    }

    fn on_challenge(&mut self, _now: Instant, c: Challenge) {
        let limits = self.config.kdf_limits;
        let Some(j) = self.joining.as_deref_mut() else {
            return self.unexpected(MessageKind::Challenge);
        };
        if j.awaiting_app {
            return self.unexpected(MessageKind::Challenge);
        }
        j.challenges += 1;
        if j.challenges > MAX_CHALLENGES {
            return self.violation(ProtocolViolation::TooManyChallenges);
        }
        let Some(auth) = j
            .authenticators
            .iter()
            .find(|a| a.method() == c.auth_method)
        else {
            return self.auth_failed(None);
        };
        let answer: Result<(String, Dict), AuthError> = match auth {
            Authenticator::Anonymous => Err(AuthError::InvalidField("authmethod")),
            Authenticator::Ticket(t) => Ok((crate::auth::ticket::signature(t), Dict::new())),
            Authenticator::WampCra(secret) => {
                wampcra::compute_signature(secret, &c.extra, &limits).map(|s| (s, Dict::new()))
            }
            Authenticator::Cryptosign(key) => cryptosign_answer(key, &c.extra, j),
            Authenticator::Scram { .. } => match &j.scram {
                Some(client) => client.respond(&c.extra, &limits).map(|r| {
                    let out = (r.signature.clone(), r.extra.clone());
                    j.scram_response = Some(r);
                    out
                }),
                None => Err(AuthError::InvalidField("authmethod")),
            },
            Authenticator::External(_) => {
                j.awaiting_app = true;
                self.state = SessionState::Challenged;
                self.emit(ClientEvent::Challenge(AuthChallenge {
                    method: c.auth_method,
                    extra: c.extra,
                }));
                return;
            }
        };
        match answer {
            Ok((signature, extra)) => {
                self.state = SessionState::Challenged;
                self.send(Authenticate { signature, extra });
            }
            Err(e) => self.auth_failed(Some(e)),
        }
    }

    fn on_welcome(&mut self, w: crate::message::Welcome) {
        let Some(router) = w
            .details
            .get_dict("roles")
            .and_then(RouterFeatures::from_roles)
        else {
            return self.violation(ProtocolViolation::InvalidWelcome);
        };
        let Some(j) = self.joining.take() else {
            return self.unexpected(MessageKind::Welcome);
        };
        // Once we answered a SCRAM challenge, the router must prove it knows our credential.
        if let Some(r) = &j.scram_response
            && let Err(e) = r.verify_welcome(w.details.get_dict("authextra"))
        {
            return self.auth_failed(Some(e));
        }
        let s = |k: &str| w.details.get_str(k).map(str::to_owned);
        let details = SessionDetails {
            session: w.session,
            realm: w
                .details
                .get_str("realm")
                .map_or_else(|| j.realm.clone(), Uri::from_wire),
            authid: s("authid"),
            authrole: s("authrole"),
            authmethod: s("authmethod"),
            authprovider: s("authprovider"),
            router,
            details: w.details,
        };
        self.details = Some(Box::new(details.clone()));
        self.state = SessionState::Established;
        self.deadline = None;
        self.emit(ClientEvent::Joined(Box::new(details)));
    }

    fn on_established(&mut self, now: Instant, msg: Message) {
        match msg {
            Message::Result(r) => {
                let id = r.request.get();
                let Some(Pending::Call(c)) = self.pending.get(&id) else {
                    return self.violation(ProtocolViolation::UnknownRequest(MessageKind::Result));
                };
                let progress = r.details.get_bool("progress") == Some(true);
                let out = CallOutput {
                    request: r.request,
                    details: r.details,
                    payload: r.payload,
                };
                if progress {
                    if !c.receive_progress {
                        return self.violation(ProtocolViolation::UnrequestedProgress);
                    }
                    self.emit(ClientEvent::Progress(out));
                } else {
                    self.pending.remove(&id);
                    self.emit(ClientEvent::Result(out));
                }
            }
            Message::Event(e) => self.on_event(e),
            Message::Invocation(i) => self.on_invocation(now, i),
            Message::Interrupt(i) => {
                let id = i.request.get();
                if !self.invocations.contains_key(&id) {
                    return;
                }
                let mode = match i.options.get_str("mode") {
                    Some("killnowait") => InterruptMode::KillNoWait,
                    _ => InterruptMode::Kill,
                };
                if mode == InterruptMode::KillNoWait {
                    self.end_invocation(id);
                }
                let reason = details_reason(&i.options);
                self.emit(ClientEvent::Interrupt {
                    request: i.request,
                    mode,
                    reason,
                });
            }
            Message::Error(e) => self.on_error(e),
            Message::Published(p) => {
                if !matches!(self.pending.get(&p.request.get()), Some(Pending::Publish)) {
                    return self
                        .violation(ProtocolViolation::UnknownRequest(MessageKind::Published));
                }
                self.pending.remove(&p.request.get());
                self.emit(ClientEvent::Published {
                    request: p.request,
                    publication: p.publication,
                });
            }
            Message::Subscribed(s) => {
                let Some(Pending::Subscribe { .. }) = self.pending.get(&s.request.get()) else {
                    return self
                        .violation(ProtocolViolation::UnknownRequest(MessageKind::Subscribed));
                };
                if let Some(Pending::Subscribe { topic, policy }) =
                    self.pending.remove(&s.request.get())
                {
                    self.subscriptions
                        .entry(s.subscription.get())
                        .or_insert(SubscriptionRec {
                            topic,
                            policy,
                            unsubscribing: false,
                        });
                }
                self.emit(ClientEvent::Subscribed {
                    request: s.request,
                    subscription: s.subscription,
                });
            }
            Message::Unsubscribed(u) => self.on_unsubscribed(u),
            Message::Registered(r) => {
                let Some(Pending::Register { .. }) = self.pending.get(&r.request.get()) else {
                    return self
                        .violation(ProtocolViolation::UnknownRequest(MessageKind::Registered));
                };
                if let Some(Pending::Register { procedure }) = self.pending.remove(&r.request.get())
                {
                    self.registrations
                        .entry(r.registration.get())
                        .or_insert(RegistrationRec {
                            procedure,
                            unregistering: false,
                        });
                }
                self.emit(ClientEvent::Registered {
                    request: r.request,
                    registration: r.registration,
                });
            }
            Message::Unregistered(u) => self.on_unregistered(u),
            Message::Goodbye(g) => {
                self.send(Goodbye {
                    details: Dict::new(),
                    reason: Uri::from(GOODBYE_AND_OUT),
                });
                self.end(CloseCause::GoodbyeFromRouter, g.reason, g.details, true);
            }
            Message::Abort(a) => self.end(CloseCause::Aborted, a.reason, a.details, true),
            other @ (Message::Hello(_)
            | Message::Welcome(_)
            | Message::Challenge(_)
            | Message::Authenticate(_)
            | Message::Publish(_)
            | Message::Subscribe(_)
            | Message::Unsubscribe(_)
            | Message::Call(_)
            | Message::Cancel(_)
            | Message::Register(_)
            | Message::Unregister(_)
            | Message::Yield(_)
            | Message::EventReceived(_)) => self.unexpected(other.kind()),
        }
    }

    fn on_event(&mut self, e: Event) {
        let Some(sub) = self.subscriptions.get(&e.subscription.get()) else {
            return self.violation(ProtocolViolation::UnknownSubscription);
        };
        let topic = match (sub.policy, e.details.get_str("topic")) {
            (MatchPolicy::Exact, _) | (_, None) => sub.topic.clone(),
            (_, Some(t)) => Uri::from_wire(t),
        };
        self.emit(ClientEvent::Event(EventDelivery {
            subscription: e.subscription,
            publication: e.publication,
            topic,
            details: e.details,
            payload: e.payload,
        }));
    }

    fn on_invocation(&mut self, now: Instant, i: Invocation) {
        let Some(reg) = self.registrations.get(&i.registration.get()) else {
            return self.violation(ProtocolViolation::UnknownRegistration);
        };
        let id = i.request.get();
        let progress = i.details.get_bool("progress") == Some(true);
        let procedure = match i.details.get_str("procedure") {
            Some(p) => Uri::from_wire(p),
            None => reg.procedure.clone(),
        };
        if let Some(inv) = self.invocations.get_mut(&id) {
            if !inv.input_open || inv.registration != i.registration {
                return self.violation(ProtocolViolation::DuplicateInvocation);
            }
            inv.input_open = progress;
            self.emit(ClientEvent::Invocation(InvocationEvent {
                request: i.request,
                registration: i.registration,
                procedure,
                details: i.details,
                payload: i.payload,
                progress,
                continuation: true,
            }));
            return;
        }
        if self.ended_invocations.contains(&id) {
            // A late chunk of an invocation that already ended: the spec says discard.
            return;
        }
        if self.invocations.len() >= self.config.max_pending_invocations {
            self.send(Error {
                request_type: MessageKind::Invocation,
                request: i.request,
                details: Dict::new(),
                error: Uri::from(UNAVAILABLE),
                payload: Payload::empty(),
            });
            return;
        }
        let deadline = i
            .details
            .get_u64("timeout")
            .filter(|t| *t > 0)
            .map(|ms| now + Duration::from_millis(ms));
        if let Some(t) = deadline {
            self.invocation_deadlines.insert((t, id));
        }
        self.invocations.insert(
            id,
            PendingInvocation {
                registration: i.registration,
                receive_progress: i.details.get_bool("receive_progress") == Some(true),
                input_open: progress,
                deadline,
            },
        );
        self.emit(ClientEvent::Invocation(InvocationEvent {
            request: i.request,
            registration: i.registration,
            procedure,
            details: i.details,
            payload: i.payload,
            progress,
            continuation: false,
        }));
    }

    fn on_error(&mut self, e: Error) {
        let id = e.request.get();
        let matches = self
            .pending
            .get(&id)
            .is_some_and(|p| p.kind().message_kind() == e.request_type);
        if !matches {
            return self.violation(ProtocolViolation::UnknownRequest(MessageKind::Error));
        }
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        match &p {
            Pending::Unsubscribe { subscription } => {
                if let Some(s) = self.subscriptions.get_mut(&subscription.get()) {
                    s.unsubscribing = false;
                }
            }
            Pending::Unregister { registration } => {
                if let Some(r) = self.registrations.get_mut(&registration.get()) {
                    r.unregistering = false;
                }
            }
            _ => {}
        }
        self.emit(ClientEvent::Error(RequestError {
            request: e.request,
            kind: p.kind(),
            error: e.error,
            details: e.details,
            payload: e.payload,
        }));
    }

    fn on_unsubscribed(&mut self, u: Unsubscribed) {
        match u.request {
            Some(request) => {
                let Some(Pending::Unsubscribe { subscription }) = self.pending.get(&request.get())
                else {
                    return self
                        .violation(ProtocolViolation::UnknownRequest(MessageKind::Unsubscribed));
                };
                let subscription = *subscription;
                self.pending.remove(&request.get());
                self.subscriptions.remove(&subscription.get());
                self.emit(ClientEvent::Unsubscribed {
                    request,
                    subscription,
                });
            }
            None => {
                let Some(subscription) = u
                    .details
                    .get_u64("subscription")
                    .and_then(SubscriptionId::new)
                else {
                    return;
                };
                if self.subscriptions.remove(&subscription.get()).is_some() {
                    self.emit(ClientEvent::SubscriptionRevoked {
                        subscription,
                        reason: details_reason(&u.details),
                    });
                }
            }
        }
    }

    fn on_unregistered(&mut self, u: Unregistered) {
        match u.request {
            Some(request) => {
                let Some(Pending::Unregister { registration }) = self.pending.get(&request.get())
                else {
                    return self
                        .violation(ProtocolViolation::UnknownRequest(MessageKind::Unregistered));
                };
                let registration = *registration;
                self.pending.remove(&request.get());
                self.registrations.remove(&registration.get());
                self.emit(ClientEvent::Unregistered {
                    request,
                    registration,
                });
            }
            None => {
                let Some(registration) = u
                    .details
                    .get_u64("registration")
                    .and_then(RegistrationId::new)
                else {
                    return;
                };
                if self.registrations.remove(&registration.get()).is_some() {
                    self.emit(ClientEvent::RegistrationRevoked {
                        registration,
                        reason: details_reason(&u.details),
                    });
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Caller
    // -----------------------------------------------------------------------------------------

    /// Sends CALL. The outcome: [`ClientEvent::Result`] (after any [`ClientEvent::Progress`]),
    /// [`ClientEvent::Error`] or [`ClientEvent::Lost`].
    pub fn call(
        &mut self,
        _now: Instant,
        procedure: Uri,
        payload: Payload,
        opts: CallOptions,
    ) -> Result<RequestId, UsageError> {
        self.check_request()?;
        if !procedure.is_valid(UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        let router = self.router();
        if opts.progress && !router.dealer(Feature::ProgressiveCallInvocations) {
            return Err(UsageError::FeatureNotSupported(
                "progressive_call_invocations",
            ));
        }
        if opts.passthru.is_some() && !router.dealer(Feature::PayloadPassthru) {
            return Err(UsageError::FeatureNotSupported("payload_passthru_mode"));
        }
        let mut options = opts.extra;
        if let Some(t) = opts.timeout {
            let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
            if ms > 0 {
                options.insert("timeout", ms);
            }
        }
        if opts.receive_progress {
            options.insert("receive_progress", true);
        }
        if opts.disclose_me {
            options.insert("disclose_me", true);
        }
        if opts.progress {
            options.insert("progress", true);
        }
        if let Some(p) = &opts.passthru {
            p.write_into(&mut options);
        }
        let request = self.next_request();
        self.pending.insert(
            request.get(),
            Pending::Call(PendingCall {
                procedure: procedure.clone(),
                receive_progress: opts.receive_progress,
                input_open: opts.progress,
                cancelled: false,
            }),
        );
        self.send(Call {
            request,
            options,
            procedure,
            payload,
        });
        Ok(request)
    }

    /// Sends a further chunk of a progressive call invocation started with
    /// [`CallOptions::progress`]: `more` says whether yet more chunks follow (the last chunk
    /// has `more == false`).
    pub fn call_progress(
        &mut self,
        _now: Instant,
        request: RequestId,
        payload: Payload,
        more: bool,
    ) -> Result<(), UsageError> {
        self.check_command()?;
        let Some(Pending::Call(c)) = self.pending.get_mut(&request.get()) else {
            return Err(UsageError::UnknownRequest(request));
        };
        if !c.input_open || c.cancelled {
            return Err(UsageError::CallInputClosed);
        }
        c.input_open = more;
        let procedure = c.procedure.clone();
        let options = if more {
            Dict::new().with("progress", true)
        } else {
            Dict::new()
        };
        self.send(Call {
            request,
            options,
            procedure,
            payload,
        });
        Ok(())
    }

    /// Sends CANCEL for a pending call (needs the dealer's `call_canceling`). The call still
    /// ends in one outcome: usually ERROR `wamp.error.canceled`; with `kill`, whatever the
    /// callee answers.
    pub fn cancel(
        &mut self,
        _now: Instant,
        request: RequestId,
        mode: CancelMode,
    ) -> Result<(), UsageError> {
        self.check_command()?;
        if !self.router().dealer(Feature::CallCanceling) {
            return Err(UsageError::FeatureNotSupported("call_canceling"));
        }
        let Some(Pending::Call(c)) = self.pending.get_mut(&request.get()) else {
            return Err(UsageError::UnknownRequest(request));
        };
        if c.cancelled {
            return Err(UsageError::AlreadyCancelled);
        }
        c.cancelled = true;
        c.input_open = false;
        self.send(Cancel {
            request,
            options: Dict::new().with("mode", mode.as_str()),
        });
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Publisher
    // -----------------------------------------------------------------------------------------

    /// Sends PUBLISH. With `acknowledge` the outcome is [`ClientEvent::Published`],
    /// [`ClientEvent::Error`] or [`ClientEvent::Lost`]; without it there is none (the request
    /// ID is still consumed, as the spec asks).
    pub fn publish(
        &mut self,
        _now: Instant,
        topic: Uri,
        payload: Payload,
        opts: PublishOptions,
    ) -> Result<RequestId, UsageError> {
        if opts.acknowledge {
            self.check_request()?;
        } else {
            self.check_command()?;
        }
        if !topic.is_valid(UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        if opts.passthru.is_some() && !self.router().broker(Feature::PayloadPassthru) {
            return Err(UsageError::FeatureNotSupported("payload_passthru_mode"));
        }
        let mut options = opts.extra;
        if opts.acknowledge {
            options.insert("acknowledge", true);
        }
        if let Some(x) = opts.exclude_me {
            options.insert("exclude_me", x);
        }
        if !opts.exclude.is_empty() {
            options.insert("exclude", id_list(&opts.exclude));
        }
        if !opts.exclude_authid.is_empty() {
            options.insert("exclude_authid", string_list(&opts.exclude_authid));
        }
        if !opts.exclude_authrole.is_empty() {
            options.insert("exclude_authrole", string_list(&opts.exclude_authrole));
        }
        if let Some(e) = &opts.eligible {
            options.insert("eligible", id_list(e));
        }
        if let Some(e) = &opts.eligible_authid {
            options.insert("eligible_authid", string_list(e));
        }
        if let Some(e) = &opts.eligible_authrole {
            options.insert("eligible_authrole", string_list(e));
        }
        if opts.disclose_me {
            options.insert("disclose_me", true);
        }
        if opts.retain {
            options.insert("retain", true);
        }
        if let Some(p) = &opts.passthru {
            p.write_into(&mut options);
        }
        let request = self.next_request();
        if opts.acknowledge {
            self.pending.insert(request.get(), Pending::Publish);
        }
        self.send(Publish {
            request,
            options,
            topic,
            payload,
        });
        Ok(request)
    }

    // -----------------------------------------------------------------------------------------
    // Subscriber
    // -----------------------------------------------------------------------------------------

    /// Sends SUBSCRIBE. The outcome: [`ClientEvent::Subscribed`], [`ClientEvent::Error`] or
    /// [`ClientEvent::Lost`].
    pub fn subscribe(
        &mut self,
        _now: Instant,
        topic: Uri,
        opts: SubscribeOptions,
    ) -> Result<RequestId, UsageError> {
        self.check_request()?;
        if !topic.is_valid_pattern(opts.match_policy, UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        let mut options = opts.extra;
        if opts.match_policy != MatchPolicy::Exact {
            options.insert("match", opts.match_policy.as_str());
        }
        if opts.get_retained {
            options.insert("get_retained", true);
        }
        let request = self.next_request();
        self.pending.insert(
            request.get(),
            Pending::Subscribe {
                topic: topic.clone(),
                policy: opts.match_policy,
            },
        );
        self.send(Subscribe {
            request,
            options,
            topic,
        });
        Ok(request)
    }

    /// Sends UNSUBSCRIBE. The outcome: [`ClientEvent::Unsubscribed`], [`ClientEvent::Error`]
    /// or [`ClientEvent::Lost`]. Events keep arriving until the router confirms.
    pub fn unsubscribe(
        &mut self,
        _now: Instant,
        subscription: SubscriptionId,
    ) -> Result<RequestId, UsageError> {
        self.check_request()?;
        match self.subscriptions.get_mut(&subscription.get()) {
            Some(s) if !s.unsubscribing => s.unsubscribing = true,
            _ => return Err(UsageError::UnknownSubscription(subscription)),
        }
        let request = self.next_request();
        self.pending
            .insert(request.get(), Pending::Unsubscribe { subscription });
        self.send(Unsubscribe {
            request,
            subscription,
        });
        Ok(request)
    }

    // -----------------------------------------------------------------------------------------
    // Callee
    // -----------------------------------------------------------------------------------------

    /// Sends REGISTER. The outcome: [`ClientEvent::Registered`], [`ClientEvent::Error`] or
    /// [`ClientEvent::Lost`].
    pub fn register(
        &mut self,
        _now: Instant,
        procedure: Uri,
        opts: RegisterOptions,
    ) -> Result<RequestId, UsageError> {
        self.check_request()?;
        if !procedure.is_valid_pattern(opts.match_policy, UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        let mut options = opts.extra;
        if opts.match_policy != MatchPolicy::Exact {
            options.insert("match", opts.match_policy.as_str());
        }
        if opts.invoke != InvokePolicy::Single {
            options.insert("invoke", opts.invoke.as_str());
        }
        if opts.disclose_caller {
            options.insert("disclose_caller", true);
        }
        if opts.forward_timeout {
            options.insert("forward_timeout", true);
        }
        let request = self.next_request();
        self.pending.insert(
            request.get(),
            Pending::Register {
                procedure: procedure.clone(),
            },
        );
        self.send(Register {
            request,
            options,
            procedure,
        });
        Ok(request)
    }

    /// Sends UNREGISTER. The outcome: [`ClientEvent::Unregistered`], [`ClientEvent::Error`]
    /// or [`ClientEvent::Lost`]. Invocations keep arriving until the router confirms.
    pub fn unregister(
        &mut self,
        _now: Instant,
        registration: RegistrationId,
    ) -> Result<RequestId, UsageError> {
        self.check_request()?;
        match self.registrations.get_mut(&registration.get()) {
            Some(r) if !r.unregistering => r.unregistering = true,
            _ => return Err(UsageError::UnknownRegistration(registration)),
        }
        let request = self.next_request();
        self.pending
            .insert(request.get(), Pending::Unregister { registration });
        self.send(Unregister {
            request,
            registration,
        });
        Ok(request)
    }

    /// Whether `request` names an invocation the dealer no longer waits for (its answer is
    /// dropped silently), or an error if it never existed.
    fn invocation_gone(&self, request: RequestId) -> Result<(), UsageError> {
        if self.ended_invocations.contains(&request.get()) {
            Ok(())
        } else {
            Err(UsageError::UnknownInvocation(request))
        }
    }

    /// Answers an invocation with YIELD (progressive when `opts.progress`, then more must
    /// follow; the final one ends the invocation).
    pub fn yield_(
        &mut self,
        _now: Instant,
        request: RequestId,
        payload: Payload,
        opts: YieldOptions,
    ) -> Result<(), UsageError> {
        self.check_command()?;
        let Some(inv) = self.invocations.get(&request.get()) else {
            return self.invocation_gone(request);
        };
        if opts.progress && !inv.receive_progress {
            return Err(UsageError::ProgressNotRequested);
        }
        if opts.passthru.is_some() && !self.router().dealer(Feature::PayloadPassthru) {
            return Err(UsageError::FeatureNotSupported("payload_passthru_mode"));
        }
        let mut options = opts.extra;
        if opts.progress {
            options.insert("progress", true);
        } else {
            self.end_invocation(request.get());
        }
        if let Some(p) = &opts.passthru {
            p.write_into(&mut options);
        }
        self.send(Yield {
            request,
            options,
            payload,
        });
        Ok(())
    }

    /// Answers an invocation with ERROR (ends it).
    pub fn invocation_error(
        &mut self,
        _now: Instant,
        request: RequestId,
        error: Uri,
        details: Dict,
        payload: Payload,
    ) -> Result<(), UsageError> {
        self.check_command()?;
        if !error.is_valid(UriRules::Loose) {
            return Err(UsageError::InvalidUri);
        }
        if !self.invocations.contains_key(&request.get()) {
            return self.invocation_gone(request);
        }
        self.end_invocation(request.get());
        self.send(Error {
            request_type: MessageKind::Invocation,
            request,
            details,
            error,
            payload,
        });
        Ok(())
    }
}

fn cryptosign_answer(
    key: &crate::auth::cryptosign::CryptosignKey,
    extra: &Dict,
    j: &Joining,
) -> Result<(String, Dict), AuthError> {
    let challenge = extra
        .get("challenge")
        .ok_or(AuthError::MissingField("challenge"))?
        .as_str()
        .ok_or(AuthError::InvalidField("challenge"))?;
    let requested = j.channel_binding.as_ref();
    let channel_id = match extra.get("channel_binding") {
        None | Some(Value::Null) => None,
        Some(Value::Str(kind)) => match requested {
            Some(cb) if ChannelBinding::parse(kind) == Some(cb.kind) => {
                let id: [u8; 32] = cb
                    .data
                    .as_slice()
                    .try_into()
                    .map_err(|_| AuthError::ChannelBindingData)?;
                Some(id)
            }
            _ => return Err(AuthError::ChannelBindingMismatch),
        },
        Some(_) => return Err(AuthError::InvalidField("channel_binding")),
    };
    if let Some((our_challenge, router_key)) = &j.router_auth {
        // Router authentication: the router signed our challenge with the key we trust.
        let pubkey = extra
            .get_str("pubkey")
            .ok_or(AuthError::MissingField("pubkey"))?;
        if crate::auth::cryptosign::hex32(pubkey) != Some(*router_key) {
            return Err(AuthError::InvalidKey);
        }
        let signature = extra
            .get_str("signature")
            .ok_or(AuthError::MissingField("signature"))?;
        crate::auth::cryptosign::verify_signature(
            router_key,
            our_challenge,
            channel_id.as_ref(),
            signature,
        )?;
    }
    Ok((
        key.sign_challenge(challenge, channel_id.as_ref())?,
        Dict::new(),
    ))
}

#[cfg(test)]
mod tests;
