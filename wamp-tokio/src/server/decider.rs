//! The embedder's hook for dynamic authentication and dynamic authorization: a [`Decider`].
//!
//! When a realm names a dynamic authenticator ([`wamp_router_core::MethodConfig::dynamic`]) or
//! a role is authorized dynamically ([`wamp_router_core::RoleConfig::dynamic`]), the router
//! core asks a question ([`DecisionRequest`]) and goes on routing; the server answers it with
//! the [`Decider`] of [`super::ServerConfig::decider`]:
//!
//! * The router task never runs the decider itself: each question becomes a task on the
//!   server's runtime (the runtime [`super::Server::run`] is awaited on), so a decider may
//!   take its time (a database, a key derivation, another service) while the router serves
//!   everyone else. Only the connection being authenticated, or the session whose request is
//!   being authorized, waits.
//! * At most [`wamp_router_core::RouterConfig::max_pending_decisions`] decider futures run at
//!   once (the core bounds its pending decisions by the same number); a question beyond that
//!   is denied at once.
//! * A future that has not finished by [`wamp_router_core::RouterConfig::decision_timeout`]
//!   is dropped (cancelled): the core has answered for it by then (authentication or
//!   authorization failed).
//! * A decider that panics (in [`Decider::decide`] or in its future) denies: the panic is
//!   caught, logged, and the router carries on.
//! * An answer of the wrong kind (an authorization answer to an authentication question)
//!   counts as a refusal.
//! * Without a decider, every question is denied at once (a warning is logged the first time)
//!   rather than left to the core's deadline.
//!
//! ```
//! use std::sync::Arc;
//! use wamp_router_core::{AuthDecision, AuthzDecision, Decision, DecisionRequest, Principal};
//! use wamp_tokio::server::{ServerConfig, decider_fn};
//!
//! let mut config = ServerConfig::default();
//! config.decider = Some(Arc::new(decider_fn(|request: DecisionRequest| async move {
//!     match request {
//!         DecisionRequest::Authenticate(a) if a.ticket.as_deref() == Some("secret") => {
//!             Decision::Authenticate(AuthDecision::accept(Principal::new("joe", "user")))
//!         }
//!         DecisionRequest::Authenticate(_) => Decision::Authenticate(AuthDecision::Deny),
//!         DecisionRequest::Authorize(q) if q.uri.as_str().starts_with("com.example.") => {
//!             Decision::Authorize(AuthzDecision::allow().cached())
//!         }
//!         _ => Decision::Authorize(AuthzDecision::deny()),
//!     }
//! })));
//! ```

use std::future::Future;
use std::pin::Pin;

use wamp_router_core::{Decision, DecisionRequest};

/// The future a [`Decider`] returns.
pub type DecisionFuture = Pin<Box<dyn Future<Output = Decision> + Send + 'static>>;

/// Answers the router's questions (dynamic authentication and authorization), off the
/// routing task. See the [module docs](self).
///
/// Implement it directly, or wrap an async closure with [`decider_fn`].
pub trait Decider: Send + Sync + 'static {
    /// Works out the answer to `request`. Called on the server's runtime, not on the router's
    /// thread; the returned future runs there as a task of its own.
    fn decide(&self, request: DecisionRequest) -> DecisionFuture;
}

impl std::fmt::Debug for dyn Decider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decider")
    }
}

/// A [`Decider`] made from a closure returning a future; see [`decider_fn`].
#[derive(Clone)]
pub struct DeciderFn<F>(F);

impl<F> std::fmt::Debug for DeciderFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeciderFn")
    }
}

impl<F, Fut> Decider for DeciderFn<F>
where
    F: Fn(DecisionRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Decision> + Send + 'static,
{
    fn decide(&self, request: DecisionRequest) -> DecisionFuture {
        Box::pin((self.0)(request))
    }
}

/// A [`Decider`] from `f`, typically `|request| async move { ... }`.
pub fn decider_fn<F, Fut>(f: F) -> DeciderFn<F>
where
    F: Fn(DecisionRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Decision> + Send + 'static,
{
    DeciderFn(f)
}
