//! Decisions the router asks its embedder to take: dynamic authentication and dynamic
//! authorization, without `async`.
//!
//! The router emits [`crate::RouterAction::NeedDecision`] with a [`DecisionTicket`] and a
//! [`DecisionRequest`]; the embedder works the answer out wherever it likes (another task, a
//! database, a slow key derivation) and hands it back with
//! [`crate::Router::handle_decision`]. Meanwhile the router carries on with everything else: only
//! the connection being authenticated, or the session whose request is being authorized, waits
//! (that session's later requests queue behind the pending one, so its requests keep their
//! order). If no answer arrives within [`crate::RouterConfig::decision_timeout`], the router
//! answers for the embedder: authentication fails (ABORT `wamp.error.authentication_failed`),
//! authorization fails (ERROR `wamp.error.authorization_failed`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use wamp_proto::id::SessionId;
use wamp_proto::{Dict, Uri};

use crate::action::ConnId;
use crate::auth::{AuthMethod, Principal};
use crate::ctx::Timer;
use crate::timer::{TimerKey, TimerQueue};

/// Identifies one pending decision. Unique for the router's lifetime (a counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DecisionTicket(u64);

impl DecisionTicket {
    /// The ticket's number (for the embedder's own tables and logs).
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// What a request asks to do. Authorization decides on (role, action, URI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Action {
    /// CALL (a concrete procedure URI, or a meta procedure).
    Call,
    /// REGISTER (a URI or pattern).
    Register,
    /// PUBLISH (a concrete topic URI; also testaments, at `add_testament` time).
    Publish,
    /// SUBSCRIBE (a URI or pattern; also `wamp.subscription.get_events` on the
    /// subscription's URI).
    Subscribe,
}

impl Action {
    /// `"call"`, `"register"`, `"publish"` or `"subscribe"` (Crossbar's names).
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

/// A dynamic authenticator's question: who is this client?
///
/// When it comes depends on the method:
/// - `anonymous`, `wampcra`, `cryptosign`, `scram`/`wamp-scram`: right after HELLO. Answer
///   with the [`Principal`] (its role, and the credential the router then challenges the
///   client with: `wampcra` secret, cryptosign public keys, SCRAM keys), or deny.
/// - `ticket`: after AUTHENTICATE, with the ticket in [`AuthRequest::ticket`]. Check it and
///   accept (a principal with no `ticket` is taken as verified by the embedder; one with a
///   `ticket` is compared with the received one in constant time), or deny.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AuthRequest {
    /// The realm the client asks to join.
    pub realm: Uri,
    /// The session ID the session will get.
    pub session: SessionId,
    /// The method (as the router runs it).
    pub method: AuthMethod,
    /// The method name as the client sent it (`scram` or `wamp-scram` for SCRAM).
    pub authmethod: String,
    /// `HELLO.Details.authid`.
    pub authid: Option<String>,
    /// `HELLO.Details.authrole` (a hint).
    pub authrole: Option<String>,
    /// `HELLO.Details.authextra` (cryptosign: `pubkey`, `channel_binding`; SCRAM: `nonce`).
    pub authextra: Dict,
    /// The ticket (`ticket` method only, after AUTHENTICATE).
    pub ticket: Option<String>,
    /// The transport's details, as set with [`crate::Router::set_transport_info`].
    pub transport: Dict,
}

/// A dynamic authorizer's question: may this session do this?
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AuthzRequest {
    /// The realm.
    pub realm: Uri,
    /// The session asking.
    pub session: SessionId,
    /// Its authid.
    pub authid: String,
    /// Its authrole (the role whose authorizer is dynamic).
    pub authrole: String,
    /// The action.
    pub action: Action,
    /// The URI (or pattern) acted upon.
    pub uri: Uri,
    /// The request's options (e.g. `match`), for patterns.
    pub options: Dict,
}

/// A question for the embedder.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DecisionRequest {
    /// Dynamic authentication.
    Authenticate(AuthRequest),
    /// Dynamic authorization.
    Authorize(AuthzRequest),
}

impl DecisionRequest {
    /// The refusal that answers this question: [`AuthDecision::Deny`] or
    /// [`AuthzDecision::deny`] (for an embedder that cannot or will not decide).
    pub fn refusal(&self) -> Decision {
        match self {
            DecisionRequest::Authenticate(_) => Decision::Authenticate(AuthDecision::Deny),
            DecisionRequest::Authorize(_) => Decision::Authorize(AuthzDecision::deny()),
        }
    }
}

/// The answer to an [`AuthRequest`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AuthDecision {
    /// The client is this principal (its credential is then checked by the router where the
    /// method has one; see [`AuthRequest`]). An empty `authid` means: keep the HELLO's authid
    /// (or the session ID, for anonymous sessions).
    Accept(Box<Principal>),
    /// Refuse: ABORT `wamp.error.authentication_failed`.
    Deny,
}

impl AuthDecision {
    /// [`AuthDecision::Accept`] of `principal`.
    pub fn accept(principal: Principal) -> Self {
        AuthDecision::Accept(Box::new(principal))
    }
}

/// The answer to an [`AuthzRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AuthzDecision {
    /// Whether the action is allowed (denied: ERROR `wamp.error.not_authorized`).
    pub allow: bool,
    /// Disclose the session to the other side (caller to callee for `call`, publisher to
    /// subscribers for `publish`), as Crossbar's `disclose` permission does.
    pub disclose: bool,
    /// Remember this answer for every session of the same realm and role, for the same action
    /// and URI (the cache is bounded by [`crate::RouterConfig::authorization_cache_size`] and
    /// cleared by [`crate::Router::invalidate_authorizations`]).
    pub cache: bool,
}

impl AuthzDecision {
    /// Allowed, nothing disclosed, not cached.
    pub const fn allow() -> Self {
        AuthzDecision {
            allow: true,
            disclose: false,
            cache: false,
        }
    }
    /// Denied, not cached.
    pub const fn deny() -> Self {
        AuthzDecision {
            allow: false,
            disclose: false,
            cache: false,
        }
    }
    /// The same decision, cached.
    #[must_use]
    pub const fn cached(mut self) -> Self {
        self.cache = true;
        self
    }
    /// The same decision, disclosing the session.
    #[must_use]
    pub const fn disclosing(mut self) -> Self {
        self.disclose = true;
        self
    }
}

/// The embedder's answer to a [`DecisionRequest`]. An answer of the wrong kind counts as a
/// refusal.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Decision {
    /// Answers [`DecisionRequest::Authenticate`].
    Authenticate(AuthDecision),
    /// Answers [`DecisionRequest::Authorize`].
    Authorize(AuthzDecision),
}

/// Who waits for a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// The authentication on a connection.
    Auth(ConnId),
    /// A session's parked request.
    Authz { realm: usize, session: SessionId },
}

#[derive(Debug)]
struct Pending {
    waiter: Waiter,
    timer: Option<TimerKey>,
}

/// The pending decisions: bounded, each with its deadline.
#[derive(Debug, Default)]
pub(crate) struct Decisions {
    pending: BTreeMap<u64, Pending>,
    next: u64,
}

impl Decisions {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Opens a decision for `waiter` with a deadline `timeout` after `now`; `None` if `max`
    /// decisions are pending already.
    pub(crate) fn open(
        &mut self,
        timers: &mut TimerQueue<Timer>,
        now: Instant,
        timeout: Duration,
        max: usize,
        waiter: Waiter,
    ) -> Option<DecisionTicket> {
        if self.pending.len() >= max {
            return None;
        }
        self.next += 1;
        let ticket = DecisionTicket(self.next);
        // A deadline past the clock's range is no deadline.
        let timer = now
            .checked_add(timeout)
            .map(|d| timers.insert(d, Timer::Decision(ticket)));
        self.pending.insert(ticket.0, Pending { waiter, timer });
        Some(ticket)
    }

    /// Closes a decision (answered, expired or abandoned); returns who waited for it.
    pub(crate) fn close(
        &mut self,
        timers: &mut TimerQueue<Timer>,
        ticket: DecisionTicket,
    ) -> Option<Waiter> {
        let p = self.pending.remove(&ticket.0)?;
        if let Some(t) = p.timer {
            timers.remove(t);
        }
        Some(p.waiter)
    }

    /// The deadline of `ticket` fired: its timer is gone already.
    pub(crate) fn expire(&mut self, ticket: DecisionTicket) -> Option<Waiter> {
        self.pending.remove(&ticket.0).map(|p| p.waiter)
    }
}
