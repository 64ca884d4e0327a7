//! Configuration, command options, events and errors of the client session.

use std::time::Duration;

use crate::auth::cryptosign::{ChannelBinding, CryptosignKey};
use crate::auth::scram::ScramProfile;
use crate::auth::{AuthError, KdfLimits};
use crate::client::features::{Roles, RouterFeatures};
use crate::error::DecodeError;
use crate::id::{PublicationId, RegistrationId, RequestId, SessionId, SubscriptionId};
use crate::message::MessageKind;
use crate::{Dict, MatchPolicy, Payload, Uri, Value};

/// Session-wide settings, fixed at construction. Every field documents its default.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `HELLO.Details.agent`. Default `"wamp-rs-<crate version>"`.
    pub agent: Option<String>,
    /// Roles announced in HELLO. Default: all four.
    pub roles: Roles,
    /// Longest time from HELLO to WELCOME (including authentication rounds) before the session
    /// gives up with ABORT `wamp.error.timeout`. `None` waits forever. Default 30 s.
    pub join_timeout: Option<Duration>,
    /// Longest wait for the router's GOODBYE reply before closing anyway. Default 10 s.
    pub goodbye_timeout: Duration,
    /// Most requests (CALL, acknowledged PUBLISH, SUBSCRIBE, UNSUBSCRIBE, REGISTER, UNREGISTER)
    /// awaiting their reply at once; a command beyond it fails with
    /// [`UsageError::TooManyPending`]. Default 65,536.
    pub max_pending_requests: usize,
    /// Most INVOCATIONs awaiting the application's YIELD or ERROR at once; beyond it the
    /// session answers ERROR `wamp.error.unavailable` itself (the dealer may then re-route).
    /// Default 65,536.
    pub max_pending_invocations: usize,
    /// Commands fail with [`UsageError::QueueFull`] while this many actions wait to be polled
    /// (the embedder is not draining `poll_action`). One input adds at most a handful of
    /// actions, plus one per pending request when the session ends. Default 4096.
    pub max_queued_actions: usize,
    /// Bounds on key derivation costs a router may ask for (WAMP-CRA salts, SCRAM).
    pub kdf_limits: KdfLimits,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            agent: Some(concat!("wamp-rs-", env!("CARGO_PKG_VERSION")).to_owned()),
            roles: Roles::default(),
            join_timeout: Some(Duration::from_secs(30)),
            goodbye_timeout: Duration::from_secs(10),
            max_pending_requests: 65_536,
            max_pending_invocations: 65_536,
            max_queued_actions: 4096,
            kdf_limits: KdfLimits::default(),
        }
    }
}

/// One authentication method the client is prepared to perform, in the order of preference
/// given to the router (`HELLO.Details.authmethods`).
///
/// Crossbar walks the list in order and rejects the HELLO at the first method name it does not
/// know, so put the methods it knows (`anonymous`, `ticket`, `wampcra`, `cryptosign`, `scram`)
/// before others such as `wamp-scram`.
#[derive(Clone, Debug)]
pub enum Authenticator {
    /// `anonymous`.
    Anonymous,
    /// `ticket`: the ticket is sent in clear.
    Ticket(String),
    /// `wampcra` with the shared secret (salted challenges are handled).
    WampCra(String),
    /// `cryptosign` with the client's Ed25519 key (`authextra.pubkey` is added to HELLO; with
    /// [`JoinOptions::channel_binding`] the challenge is XORed with the channel ID).
    Cryptosign(CryptosignKey),
    /// WAMP-SCRAM with a password; the profile selects `wamp-scram` or Autobahn's `scram`.
    /// The client nonce is drawn from the session's entropy.
    Scram {
        /// Which dialect.
        profile: ScramProfile,
        /// The password.
        password: String,
    },
    /// Any method, answered by the application: the session emits
    /// [`ClientEvent::Challenge`] and waits for [`crate::client::Session::authenticate`].
    /// Use it to run slow key derivations off the event loop, or for methods the session does
    /// not know; put the method's HELLO entries into [`JoinOptions::authextra`].
    External(String),
}

impl Authenticator {
    /// The authmethod name.
    pub fn method(&self) -> &str {
        match self {
            Authenticator::Anonymous => "anonymous",
            Authenticator::Ticket(_) => crate::auth::ticket::METHOD,
            Authenticator::WampCra(_) => crate::auth::wampcra::METHOD,
            Authenticator::Cryptosign(_) => crate::auth::cryptosign::METHOD,
            Authenticator::Scram { profile, .. } => profile.method(),
            Authenticator::External(m) => m,
        }
    }
}

/// Channel binding input from the transport (for example TLS `tls-unique` data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelBindingData {
    /// The binding type.
    pub kind: ChannelBinding,
    /// The binding data (32 bytes for cryptosign).
    pub data: Vec<u8>,
}

/// What to join and how to authenticate.
#[derive(Clone, Debug)]
pub struct JoinOptions {
    /// The realm.
    pub realm: Uri,
    /// `HELLO.Details.authid` (required by ticket, wampcra and SCRAM).
    pub authid: Option<String>,
    /// `HELLO.Details.authrole` (a hint some routers honour).
    pub authrole: Option<String>,
    /// Extra `HELLO.Details.authextra` entries (the session adds its own: cryptosign `pubkey`
    /// and `channel_binding`, SCRAM `nonce`).
    pub authextra: Dict,
    /// Methods, in order of preference. Empty: anonymous without `authmethods`.
    pub authenticators: Vec<Authenticator>,
    /// Channel binding data of the transport, if the methods should use it.
    pub channel_binding: Option<ChannelBindingData>,
    /// Cryptosign router authentication: the router's public key. When set, HELLO carries
    /// `authextra.challenge` (32 random bytes from the session's entropy) and the cryptosign
    /// CHALLENGE must carry this `pubkey` and a valid `signature` of our challenge, or the
    /// session ABORTs with `wamp.error.cannot_authenticate`.
    pub cryptosign_router_key: Option<[u8; 32]>,
}

impl JoinOptions {
    /// Anonymous join of `realm`.
    pub fn anonymous(realm: impl Into<Uri>) -> Self {
        JoinOptions {
            realm: realm.into(),
            authid: None,
            authrole: None,
            authextra: Dict::new(),
            authenticators: Vec::new(),
            channel_binding: None,
            cryptosign_router_key: None,
        }
    }
    /// Builder: sets the authid.
    #[must_use]
    pub fn authid(mut self, authid: impl Into<String>) -> Self {
        self.authid = Some(authid.into());
        self
    }
    /// Builder: appends an authenticator.
    #[must_use]
    pub fn with(mut self, a: Authenticator) -> Self {
        self.authenticators.push(a);
        self
    }
}

/// Payload passthru mode (`ppt_*` options): the payload is one opaque binary the router
/// forwards untouched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Passthru {
    /// `ppt_scheme` (required): `mqtt`, `wamp` or a custom `x_...` scheme.
    pub scheme: String,
    /// `ppt_serializer`.
    pub serializer: Option<String>,
    /// `ppt_cipher`.
    pub cipher: Option<String>,
    /// `ppt_keyid`.
    pub keyid: Option<String>,
}

impl Passthru {
    pub(crate) fn write_into(&self, d: &mut Dict) {
        d.insert("ppt_scheme", self.scheme.as_str());
        if let Some(s) = &self.serializer {
            d.insert("ppt_serializer", s.as_str());
        }
        if let Some(s) = &self.cipher {
            d.insert("ppt_cipher", s.as_str());
        }
        if let Some(s) = &self.keyid {
            d.insert("ppt_keyid", s.as_str());
        }
    }
}

/// Options of a CALL.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    /// `timeout` (call timeout, run by the dealer); `None` or zero: none.
    pub timeout: Option<Duration>,
    /// `receive_progress`: deliver progressive results ([`ClientEvent::Progress`]).
    pub receive_progress: bool,
    /// `disclose_me`: ask the dealer to disclose our identity to the callee.
    pub disclose_me: bool,
    /// `progress`: this CALL starts a progressive call invocation; send the further chunks
    /// with [`crate::client::Session::call_progress`]. Needs the dealer's
    /// `progressive_call_invocations`.
    pub progress: bool,
    /// Payload passthru mode; needs the dealer's `payload_passthru_mode`.
    pub passthru: Option<Passthru>,
    /// Further options, sent as given (e.g. implementation-specific `_x` keys).
    pub extra: Dict,
}

/// The CANCEL mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CancelMode {
    /// Error to the caller at once; the callee is not told.
    Skip,
    /// INTERRUPT to the callee; the caller gets whatever the callee answers.
    Kill,
    /// INTERRUPT to the callee and an error to the caller at once.
    KillNoWait,
}

impl CancelMode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelMode::Skip => "skip",
            CancelMode::Kill => "kill",
            CancelMode::KillNoWait => "killnowait",
        }
    }
}

/// Options of a PUBLISH.
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// `acknowledge`: the broker answers PUBLISHED or ERROR (otherwise nothing).
    pub acknowledge: bool,
    /// `exclude_me`; `None` leaves the broker's default (exclude the publisher).
    pub exclude_me: Option<bool>,
    /// `exclude`: sessions not to receive the event (omitted when empty).
    pub exclude: Vec<SessionId>,
    /// `exclude_authid` (omitted when empty).
    pub exclude_authid: Vec<String>,
    /// `exclude_authrole` (omitted when empty).
    pub exclude_authrole: Vec<String>,
    /// `eligible`: only these sessions (an empty list selects nobody).
    pub eligible: Option<Vec<SessionId>>,
    /// `eligible_authid`.
    pub eligible_authid: Option<Vec<String>>,
    /// `eligible_authrole`.
    pub eligible_authrole: Option<Vec<String>>,
    /// `disclose_me`: ask the broker to disclose our identity to subscribers.
    pub disclose_me: bool,
    /// `retain`: the broker keeps this event for later `get_retained` subscribers.
    pub retain: bool,
    /// Payload passthru mode; needs the broker's `payload_passthru_mode`.
    pub passthru: Option<Passthru>,
    /// Further options, sent as given.
    pub extra: Dict,
}

/// Options of a SUBSCRIBE.
#[derive(Clone, Debug, Default)]
pub struct SubscribeOptions {
    /// `match` (omitted for exact).
    pub match_policy: MatchPolicy,
    /// `get_retained`: deliver the topic's retained event, if any.
    pub get_retained: bool,
    /// Further options, sent as given.
    pub extra: Dict,
}

/// How a dealer picks among the callees of a shared registration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InvokePolicy {
    /// One callee only (the default).
    #[default]
    Single,
    /// In turn, in registration order.
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The first registered callee.
    First,
    /// The last registered callee.
    Last,
}

impl InvokePolicy {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            InvokePolicy::Single => "single",
            InvokePolicy::RoundRobin => "roundrobin",
            InvokePolicy::Random => "random",
            InvokePolicy::First => "first",
            InvokePolicy::Last => "last",
        }
    }
}

/// Options of a REGISTER.
#[derive(Clone, Debug, Default)]
pub struct RegisterOptions {
    /// `match` (omitted for exact).
    pub match_policy: MatchPolicy,
    /// `invoke` (omitted for single).
    pub invoke: InvokePolicy,
    /// `disclose_caller`: ask the dealer to disclose callers in INVOCATION details.
    pub disclose_caller: bool,
    /// `forward_timeout`: ask the dealer to forward call timeouts; the session then answers
    /// ERROR `wamp.error.timeout` itself when one expires.
    pub forward_timeout: bool,
    /// Further options, sent as given.
    pub extra: Dict,
}

/// Options of a YIELD.
#[derive(Clone, Debug, Default)]
pub struct YieldOptions {
    /// `progress`: a progressive result; more follow. Allowed only when the invocation
    /// carried `receive_progress`.
    pub progress: bool,
    /// Payload passthru mode.
    pub passthru: Option<Passthru>,
    /// Further options, sent as given.
    pub extra: Dict,
}

/// The session's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionState {
    /// Nothing sent yet; accepts `join`. Any message but ABORT (ignored) is a protocol violation.
    Idle,
    /// HELLO sent; accepts WELCOME, CHALLENGE, ABORT.
    HelloSent,
    /// Answering (or about to answer) a CHALLENGE; accepts WELCOME, CHALLENGE, ABORT.
    Challenged,
    /// Joined: accepts every router-to-client message of the four roles, GOODBYE and ABORT.
    Established,
    /// GOODBYE sent: ignores everything but the GOODBYE reply and ABORT.
    GoodbyeSent,
    /// Ended: ignores every message; accepts `join` again (if the transport is kept).
    Closed,
}

/// What the router did wrong. Never carries peer text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// A message type that is illegal in the current state.
    #[error("{kind} is not allowed in state {state:?}")]
    UnexpectedMessage {
        /// The message type.
        kind: MessageKind,
        /// The state it arrived in.
        state: SessionState,
    },
    /// A reply (or ERROR) to a request that is not pending, or of the wrong type.
    #[error("{0} for a request that is not pending")]
    UnknownRequest(MessageKind),
    /// An EVENT for a subscription we do not hold.
    #[error("EVENT for an unknown subscription")]
    UnknownSubscription,
    /// An INVOCATION for a registration we do not hold.
    #[error("INVOCATION for an unknown registration")]
    UnknownRegistration,
    /// An INVOCATION reusing the ID of a pending, non-progressive invocation.
    #[error("INVOCATION with the ID of a pending invocation")]
    DuplicateInvocation,
    /// A progressive RESULT for a call that did not ask for progress.
    #[error("progressive RESULT that was not requested")]
    UnrequestedProgress,
    /// WELCOME without a valid `roles` dictionary naming broker or dealer.
    #[error("WELCOME without broker or dealer role")]
    InvalidWelcome,
    /// More CHALLENGE rounds than any method needs.
    #[error("too many CHALLENGE rounds")]
    TooManyChallenges,
    /// The router's bytes could not be decoded.
    #[error("malformed message: {0}")]
    Malformed(DecodeError),
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// We sent GOODBYE and the router replied.
    Left,
    /// The router sent GOODBYE and we replied.
    GoodbyeFromRouter,
    /// The router sent ABORT.
    Aborted,
    /// The router broke the protocol; we sent ABORT `wamp.error.protocol_violation`.
    ProtocolViolation(ProtocolViolation),
    /// We could not answer a CHALLENGE or the router failed mutual authentication; we sent
    /// ABORT `wamp.error.cannot_authenticate`.
    AuthenticationFailed(Option<AuthError>),
    /// No WELCOME within the join timeout; we sent ABORT `wamp.error.timeout`.
    JoinTimeout,
    /// No GOODBYE reply within the goodbye timeout.
    GoodbyeTimeout,
    /// The application left while joining; we sent ABORT.
    JoinCancelled,
    /// The transport closed (reported with `handle_transport_closed`).
    TransportClosed,
}

/// What the embedder must do or tell the application.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientAction {
    /// Send this message to the router.
    Send(crate::Message),
    /// Hand this event to the application.
    Event(ClientEvent),
    /// Close the transport: the session has ended (see the cause). A transport may also be
    /// kept for a new `join` after a clean GOODBYE, which the spec allows.
    Close(CloseCause),
}

/// The kind of a request, for errors and lost requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// CALL.
    Call,
    /// Acknowledged PUBLISH.
    Publish,
    /// SUBSCRIBE.
    Subscribe,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// REGISTER.
    Register,
    /// UNREGISTER.
    Unregister,
}

impl RequestKind {
    /// The request's message type.
    pub fn message_kind(self) -> MessageKind {
        match self {
            RequestKind::Call => MessageKind::Call,
            RequestKind::Publish => MessageKind::Publish,
            RequestKind::Subscribe => MessageKind::Subscribe,
            RequestKind::Unsubscribe => MessageKind::Unsubscribe,
            RequestKind::Register => MessageKind::Register,
            RequestKind::Unregister => MessageKind::Unregister,
        }
    }
}

/// The session as the router welcomed it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionDetails {
    /// The session ID.
    pub session: SessionId,
    /// The realm joined.
    pub realm: Uri,
    /// `authid` the router authenticated.
    pub authid: Option<String>,
    /// `authrole`.
    pub authrole: Option<String>,
    /// `authmethod` used.
    pub authmethod: Option<String>,
    /// `authprovider`.
    pub authprovider: Option<String>,
    /// The router's roles and features.
    pub router: RouterFeatures,
    /// The complete `WELCOME.Details` (for `authextra`, `agent`, custom keys).
    pub details: Dict,
}

impl SessionDetails {
    /// `WELCOME.Details.authextra`.
    pub fn authextra(&self) -> Option<&Dict> {
        self.details.get_dict("authextra")
    }
}

/// A CHALLENGE the application must answer (external authentication).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthChallenge {
    /// The method.
    pub method: String,
    /// `CHALLENGE.Extra`.
    pub extra: Dict,
}

/// A result of a call (progressive or final).
#[derive(Clone, Debug, PartialEq)]
pub struct CallOutput {
    /// The call.
    pub request: RequestId,
    /// `RESULT.Details`.
    pub details: Dict,
    /// The result payload.
    pub payload: Payload,
}

/// An ERROR answering a request: the request's one outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestError {
    /// The request.
    pub request: RequestId,
    /// Its kind.
    pub kind: RequestKind,
    /// The error URI (`wamp.error.canceled` for a cancelled call).
    pub error: Uri,
    /// `ERROR.Details`.
    pub details: Dict,
    /// The error payload.
    pub payload: Payload,
}

/// An EVENT for one of our subscriptions.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDelivery {
    /// The subscription (deliver to every local handler of it).
    pub subscription: SubscriptionId,
    /// The publication (the same for every subscription it matched).
    pub publication: PublicationId,
    /// The concrete topic (from `Details.topic` for pattern subscriptions).
    pub topic: Uri,
    /// `EVENT.Details`.
    pub details: Dict,
    /// The payload.
    pub payload: Payload,
}

impl EventDelivery {
    /// `Details.publisher`, when disclosed.
    pub fn publisher(&self) -> Option<SessionId> {
        self.details.get_u64("publisher").and_then(SessionId::new)
    }
    /// `Details.publisher_authid`.
    pub fn publisher_authid(&self) -> Option<&str> {
        self.details.get_str("publisher_authid")
    }
    /// `Details.publisher_authrole`.
    pub fn publisher_authrole(&self) -> Option<&str> {
        self.details.get_str("publisher_authrole")
    }
    /// `Details.retained`: a retained event delivered on subscribe.
    pub fn retained(&self) -> bool {
        self.details.get_bool("retained") == Some(true)
    }
    /// `Details.trustlevel`.
    pub fn trustlevel(&self) -> Option<u64> {
        self.details.get_u64("trustlevel")
    }
}

/// An INVOCATION of one of our registrations.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationEvent {
    /// The invocation ID to answer with `yield_` or `invocation_error`.
    pub request: RequestId,
    /// The registration.
    pub registration: RegistrationId,
    /// The concrete procedure (from `Details.procedure` for pattern registrations).
    pub procedure: Uri,
    /// `INVOCATION.Details`.
    pub details: Dict,
    /// The payload (of this chunk, for progressive invocations).
    pub payload: Payload,
    /// More chunks of this invocation follow (progressive call invocations).
    pub progress: bool,
    /// This is a later chunk of an invocation already delivered.
    pub continuation: bool,
}

impl InvocationEvent {
    /// `Details.receive_progress`: the caller accepts progressive results.
    pub fn receive_progress(&self) -> bool {
        self.details.get_bool("receive_progress") == Some(true)
    }
    /// `Details.caller`, when disclosed.
    pub fn caller(&self) -> Option<SessionId> {
        self.details.get_u64("caller").and_then(SessionId::new)
    }
    /// `Details.caller_authid`.
    pub fn caller_authid(&self) -> Option<&str> {
        self.details.get_str("caller_authid")
    }
    /// `Details.caller_authrole`.
    pub fn caller_authrole(&self) -> Option<&str> {
        self.details.get_str("caller_authrole")
    }
    /// `Details.timeout` in milliseconds, when forwarded.
    pub fn timeout_ms(&self) -> Option<u64> {
        self.details.get_u64("timeout").filter(|t| *t > 0)
    }
    /// `Details.trustlevel`.
    pub fn trustlevel(&self) -> Option<u64> {
        self.details.get_u64("trustlevel")
    }
}

/// The INTERRUPT mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InterruptMode {
    /// The dealer waits for our answer (also used when INTERRUPT names no mode).
    Kill,
    /// The dealer does not wait; the invocation is dropped and a later answer is discarded.
    KillNoWait,
}

/// Information about a session's end.
#[derive(Clone, Debug, PartialEq)]
pub struct CloseInfo {
    /// Why.
    pub cause: CloseCause,
    /// The reason URI (from the router's GOODBYE/ABORT, or the one we sent).
    pub reason: Uri,
    /// The router's GOODBYE/ABORT details (empty otherwise).
    pub details: Dict,
}

/// Something for the application.
///
/// Every request ends in exactly one outcome: a success event (`Result`, `Published`,
/// `Subscribed`, `Unsubscribed`, `Registered`, `Unregistered`), an `Error` (including
/// `wamp.error.canceled` after a cancel), or `Lost` when the session ends first.
/// `Progress` is never an outcome. Unacknowledged publications have no outcome.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum ClientEvent {
    /// Answer this CHALLENGE with `authenticate` (external authenticators only).
    Challenge(AuthChallenge),
    /// The session is established.
    Joined(Box<SessionDetails>),
    /// The session has ended.
    Closed(CloseInfo),
    /// A progressive result (the call goes on).
    Progress(CallOutput),
    /// The final result of a call.
    Result(CallOutput),
    /// A request failed.
    Error(RequestError),
    /// The session ended before the request was answered.
    Lost {
        /// The request.
        request: RequestId,
        /// Its kind.
        kind: RequestKind,
    },
    /// An acknowledged publication was accepted.
    Published {
        /// The PUBLISH.
        request: RequestId,
        /// The publication ID.
        publication: PublicationId,
    },
    /// A subscription is active.
    Subscribed {
        /// The SUBSCRIBE.
        request: RequestId,
        /// The subscription (the same ID if we subscribed to the same topic before).
        subscription: SubscriptionId,
    },
    /// A subscription ended at our request.
    Unsubscribed {
        /// The UNSUBSCRIBE.
        request: RequestId,
        /// The subscription.
        subscription: SubscriptionId,
    },
    /// The router ended a subscription (subscription revocation).
    SubscriptionRevoked {
        /// The subscription.
        subscription: SubscriptionId,
        /// `Details.reason`.
        reason: Option<String>,
    },
    /// A registration is active.
    Registered {
        /// The REGISTER.
        request: RequestId,
        /// The registration.
        registration: RegistrationId,
    },
    /// A registration ended at our request.
    Unregistered {
        /// The UNREGISTER.
        request: RequestId,
        /// The registration.
        registration: RegistrationId,
    },
    /// The router ended a registration (registration revocation).
    RegistrationRevoked {
        /// The registration.
        registration: RegistrationId,
        /// `Details.reason`.
        reason: Option<String>,
    },
    /// An event for a subscription.
    Event(EventDelivery),
    /// A call to one of our registrations: answer with `yield_` or `invocation_error`.
    Invocation(InvocationEvent),
    /// The caller cancelled an invocation.
    Interrupt {
        /// The invocation.
        request: RequestId,
        /// What the dealer expects.
        mode: InterruptMode,
        /// `Options.reason`, if given.
        reason: Option<String>,
    },
    /// A forwarded call timeout expired: the session answered ERROR `wamp.error.timeout`.
    InvocationTimedOut {
        /// The invocation.
        request: RequestId,
    },
}

/// A command the session cannot carry out: a bug or a race in the local application, never
/// sent on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The command is not allowed in this state.
    #[error("not allowed in state {0:?}")]
    InvalidState(SessionState),
    /// A URI (or pattern, for its match policy) is invalid.
    #[error("invalid URI")]
    InvalidUri,
    /// The authenticators need an authid.
    #[error("authid required by the authentication method")]
    MissingAuthid,
    /// The same method is listed twice.
    #[error("authentication method listed twice")]
    DuplicateAuthMethod,
    /// Channel binding data of the wrong length (cryptosign needs 32 bytes).
    #[error("invalid channel binding data")]
    InvalidChannelBinding,
    /// `authenticate` without a CHALLENGE waiting for the application.
    #[error("no challenge is waiting for an answer")]
    NoChallengePending,
    /// [`ClientConfig::max_pending_requests`] reached.
    #[error("too many pending requests")]
    TooManyPending,
    /// [`ClientConfig::max_queued_actions`] reached: drain `poll_action`.
    #[error("action queue full")]
    QueueFull,
    /// The router did not announce a feature the command needs.
    #[error("the router does not support {0}")]
    FeatureNotSupported(&'static str),
    /// No such pending call.
    #[error("no pending call {0}")]
    UnknownRequest(RequestId),
    /// No such pending invocation.
    #[error("no pending invocation {0}")]
    UnknownInvocation(RequestId),
    /// No such active subscription.
    #[error("no active subscription {0}")]
    UnknownSubscription(SubscriptionId),
    /// No such active registration.
    #[error("no active registration {0}")]
    UnknownRegistration(RegistrationId),
    /// The call is already being cancelled.
    #[error("call already cancelled")]
    AlreadyCancelled,
    /// The call's progressive input has ended (or never started).
    #[error("the call takes no more input")]
    CallInputClosed,
    /// A progressive YIELD for an invocation whose caller did not ask for progress.
    #[error("the caller did not ask for progressive results")]
    ProgressNotRequested,
}

pub(crate) fn details_reason(d: &Dict) -> Option<String> {
    d.get_str("reason").map(str::to_owned)
}

pub(crate) fn string_list(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::from(s.as_str())).collect())
}

pub(crate) fn id_list(v: &[SessionId]) -> Value {
    Value::List(v.iter().map(|s| Value::from(*s)).collect())
}
