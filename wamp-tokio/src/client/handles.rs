//! The application's side of calls, subscriptions, registrations and invocations.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use wamp_proto::client::{
    CallOutput, CancelMode, EventDelivery, InterruptMode, InvocationEvent, YieldOptions,
};
use wamp_proto::id::{RegistrationId, RequestId, SessionId, SubscriptionId};
use wamp_proto::{Dict, Payload, Uri, Value};

use super::Error;
use super::driver::{Command, Note};

/// The channels every handle uses to reach the connection task.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) cmd: mpsc::Sender<Command>,
    pub(crate) notes: mpsc::UnboundedSender<Note>,
}

impl Ctx {
    /// Sends a command and waits for its reply.
    pub(crate) async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(make(tx)).await.map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Tells the connection task that a handle went away (never blocks; a closed task means
    /// there is nothing left to clean up).
    pub(crate) fn note(&self, n: Note) {
        let _ = self.notes.send(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// What the connection task hands to a call's handle.
#[derive(Debug)]
pub(crate) enum CallItem {
    Progress(CallOutput),
    Final(Result<CallOutput, Error>),
}

/// One item of a call's stream.
#[derive(Clone, Debug, PartialEq)]
pub enum CallUpdate {
    /// A progressive result: more follow.
    Progress(CallOutput),
    /// The final result: the stream ends after it.
    Final(CallOutput),
}

/// A call in progress, from [`super::Client::call_with`]: a stream of progressive results
/// ending with the final result or an error, and the means to cancel it.
///
/// Dropping the handle before the final result cancels the call with
/// [`super::ConnectOptions::cancel_on_drop`] (when the router supports call canceling; the
/// answer is discarded either way).
#[derive(Debug)]
pub struct CallHandle {
    pub(crate) request: RequestId,
    pub(crate) items: mpsc::Receiver<CallItem>,
    pub(crate) ctx: Ctx,
    pub(crate) done: bool,
}

impl CallHandle {
    /// The call's request ID.
    pub fn request(&self) -> RequestId {
        self.request
    }

    /// Cancels the call (needs the router's `call_canceling`). The stream still ends with the
    /// call's one outcome: usually `wamp.error.canceled`; with [`CancelMode::Kill`], whatever
    /// the callee answers.
    pub async fn cancel(&self, mode: CancelMode) -> Result<(), Error> {
        let request = self.request;
        self.ctx
            .request(|reply| Command::Cancel {
                request,
                mode,
                reply,
            })
            .await
    }

    /// Sends a further input chunk of a progressive call invocation (the call was started
    /// with `CallOptions::progress`); `more == false` marks the last chunk.
    pub async fn send_progress(&self, payload: Payload, more: bool) -> Result<(), Error> {
        let request = self.request;
        self.ctx
            .request(|reply| Command::CallProgress {
                request,
                payload,
                more,
                reply,
            })
            .await
    }

    /// The next progressive or final result; `None` after the outcome was delivered.
    pub async fn next(&mut self) -> Option<Result<CallUpdate, Error>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// Waits for the final result, skipping progressive results.
    pub async fn result(mut self) -> Result<CallOutput, Error> {
        loop {
            match self.next().await {
                Some(Ok(CallUpdate::Final(out))) => return Ok(out),
                Some(Ok(CallUpdate::Progress(_))) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(Error::Closed),
            }
        }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<CallUpdate, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.items.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(CallItem::Progress(p))) => {
                Poll::Ready(Some(Ok(CallUpdate::Progress(p))))
            }
            Poll::Ready(Some(CallItem::Final(r))) => {
                self.done = true;
                Poll::Ready(Some(r.map(CallUpdate::Final)))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::Closed)))
            }
        }
    }
}

impl Stream for CallHandle {
    type Item = Result<CallUpdate, Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}

impl Drop for CallHandle {
    fn drop(&mut self) {
        if !self.done {
            self.ctx.note(Note::CancelCall(self.request));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Subscriptions and registrations
// ---------------------------------------------------------------------------------------------

/// Why a subscription's or registration's stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The router confirmed our UNSUBSCRIBE or UNREGISTER (another local handle of the same
    /// subscription may have sent it).
    Ended,
    /// The router revoked it, with `Details.reason`.
    Revoked(Option<String>),
    /// The session ended.
    SessionClosed,
}

/// State shared between a stream's handle and the connection task.
#[derive(Debug, Default)]
pub(crate) struct StreamShared {
    pub(crate) missed: AtomicU64,
    pub(crate) end: OnceLock<EndReason>,
}

/// An active subscription: a stream of its events.
///
/// Events that do not fit the bounded queue ([`super::ConnectOptions::event_queue`]) are
/// dropped and counted ([`Subscription::missed`]). The stream ends when the subscription
/// ends ([`Subscription::end_reason`]). Dropping the handle unsubscribes (once no other local
/// handle holds the same router subscription).
///
/// Several local subscriptions to the same topic and match policy share one router
/// subscription (the router answers every SUBSCRIBE with the same ID). A SUBSCRIBE that
/// crosses the UNSUBSCRIBE of the last other local handle on the wire gets that ID too and
/// then ends with [`EndReason::Ended`] when the router confirms the UNSUBSCRIBE: the
/// protocol cannot tell the two apart; subscribe again if that happens.
#[derive(Debug)]
pub struct Subscription {
    pub(crate) id: SubscriptionId,
    pub(crate) key: u64,
    pub(crate) events: mpsc::Receiver<EventDelivery>,
    pub(crate) shared: Arc<StreamShared>,
    pub(crate) ctx: Ctx,
    pub(crate) detached: bool,
}

impl Subscription {
    /// The router's subscription ID (shared by every local subscription to the same topic
    /// with the same match policy).
    pub fn id(&self) -> SubscriptionId {
        self.id
    }

    /// Events dropped because the queue was full.
    pub fn missed(&self) -> u64 {
        self.shared.missed.load(Ordering::Relaxed)
    }

    /// Why the stream ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.shared.end.get()
    }

    /// The next event; `None` once the subscription has ended.
    pub async fn next(&mut self) -> Option<EventDelivery> {
        self.events.recv().await
    }

    /// Unsubscribes and waits for the router's confirmation (or returns at once when other
    /// local handles still hold the subscription).
    pub async fn unsubscribe(mut self) -> Result<(), Error> {
        self.detached = true;
        let (subscription, key) = (self.id, self.key);
        self.ctx
            .request(|reply| Command::Unsubscribe {
                subscription,
                key,
                reply,
            })
            .await
    }
}

impl Stream for Subscription {
    type Item = EventDelivery;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EventDelivery>> {
        self.get_mut().events.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.detached {
            self.ctx.note(Note::Unsubscribe {
                subscription: self.id,
                key: self.key,
            });
        }
    }
}

/// An active registration: a stream of its invocations.
///
/// An invocation that does not fit the bounded queue
/// ([`super::ConnectOptions::invocation_queue`]) is answered with ERROR
/// `wamp.error.unavailable` (the dealer may try another callee) and counted
/// ([`Registration::missed`]). Dropping the handle unregisters.
#[derive(Debug)]
pub struct Registration {
    pub(crate) id: RegistrationId,
    pub(crate) key: u64,
    pub(crate) invocations: mpsc::Receiver<Invocation>,
    pub(crate) shared: Arc<StreamShared>,
    pub(crate) ctx: Ctx,
    pub(crate) detached: bool,
}

impl Registration {
    /// The router's registration ID.
    pub fn id(&self) -> RegistrationId {
        self.id
    }

    /// Invocations refused because the queue was full.
    pub fn missed(&self) -> u64 {
        self.shared.missed.load(Ordering::Relaxed)
    }

    /// Why the stream ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.shared.end.get()
    }

    /// The next invocation; `None` once the registration has ended.
    pub async fn next(&mut self) -> Option<Invocation> {
        self.invocations.recv().await
    }

    /// Unregisters and waits for the router's confirmation.
    pub async fn unregister(mut self) -> Result<(), Error> {
        self.detached = true;
        let (registration, key) = (self.id, self.key);
        self.ctx
            .request(|reply| Command::Unregister {
                registration,
                key,
                reply,
            })
            .await
    }
}

impl Stream for Registration {
    type Item = Invocation;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Invocation>> {
        self.get_mut().invocations.poll_recv(cx)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.detached {
            self.ctx.note(Note::Unregister {
                registration: self.id,
                key: self.key,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invocations
// ---------------------------------------------------------------------------------------------

/// Why an invocation should stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// The caller cancelled: INTERRUPT. With [`InterruptMode::Kill`] the dealer waits for our
    /// answer (answer with ERROR `wamp.error.canceled`, or let the handle drop, which does
    /// that); with `KillNoWait` any answer is discarded.
    Interrupt {
        /// The mode.
        mode: InterruptMode,
        /// `Options.reason`.
        reason: Option<String>,
    },
    /// A forwarded call timeout expired; the session already answered `wamp.error.timeout`.
    TimedOut,
    /// The session ended.
    SessionClosed,
}

/// A further input chunk of a progressive call invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationChunk {
    /// `INVOCATION.Details` of this chunk.
    pub details: Dict,
    /// The chunk's payload.
    pub payload: Payload,
    /// More chunks follow.
    pub more: bool,
}

/// The answering side of an invocation, shared by every holder.
#[derive(Debug)]
pub(crate) struct InvocationCtl {
    pub(crate) request: RequestId,
    pub(crate) ctx: Ctx,
    pub(crate) answered: AtomicBool,
    pub(crate) interrupt: watch::Receiver<Option<Interrupted>>,
}

impl Drop for InvocationCtl {
    fn drop(&mut self) {
        if !self.answered.load(Ordering::Acquire) {
            self.ctx.note(Note::AbandonInvocation(self.request));
        }
    }
}

impl InvocationCtl {
    async fn yield_with(&self, payload: Payload, opts: YieldOptions) -> Result<(), Error> {
        if !opts.progress && self.answered.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let request = self.request;
        self.ctx
            .request(|reply| Command::Yield {
                request,
                payload,
                opts,
                reply,
            })
            .await
    }

    async fn error(&self, error: Uri, details: Dict, payload: Payload) -> Result<(), Error> {
        if self.answered.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let request = self.request;
        self.ctx
            .request(|reply| Command::InvocationError {
                request,
                error,
                details,
                payload,
                reply,
            })
            .await
    }

    async fn interrupted(&self) -> Interrupted {
        let mut rx = self.interrupt.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or(Interrupted::SessionClosed),
            Err(_) => Interrupted::SessionClosed,
        }
    }
}

/// A call to one of our registrations. Answer it once with [`Invocation::yield_`] or
/// [`Invocation::error`] (after any [`Invocation::progress`] results). Dropping it
/// unanswered answers ERROR `wamp.error.canceled` after an interrupt and
/// `wamp.error.runtime_error` otherwise.
#[derive(Debug)]
pub struct Invocation {
    /// The invocation ID.
    pub request: RequestId,
    /// The registration.
    pub registration: RegistrationId,
    /// The concrete procedure (pattern registrations get the called URI).
    pub procedure: Uri,
    /// `INVOCATION.Details`.
    pub details: Dict,
    /// The payload (the first chunk, for progressive call invocations).
    pub payload: Payload,
    /// More input chunks follow ([`Invocation::next_chunk`]).
    pub more: bool,
    pub(crate) ctl: Arc<InvocationCtl>,
    pub(crate) chunks: Option<mpsc::Receiver<InvocationChunk>>,
}

impl Invocation {
    pub(crate) fn new(
        ev: InvocationEvent,
        ctl: Arc<InvocationCtl>,
        chunks: Option<mpsc::Receiver<InvocationChunk>>,
    ) -> Self {
        Invocation {
            request: ev.request,
            registration: ev.registration,
            procedure: ev.procedure,
            details: ev.details,
            payload: ev.payload,
            more: ev.progress,
            ctl,
            chunks,
        }
    }

    /// The positional arguments.
    pub fn args(&self) -> &[Value] {
        self.payload.arguments()
    }

    /// The keyword arguments.
    pub fn kwargs(&self) -> Option<&Dict> {
        self.payload.keyword_arguments()
    }

    /// `Details.receive_progress`: the caller accepts progressive results.
    pub fn receive_progress(&self) -> bool {
        self.details.get_bool("receive_progress") == Some(true)
    }

    /// `Details.caller`, when disclosed.
    pub fn caller(&self) -> Option<SessionId> {
        self.details.get_u64("caller").and_then(SessionId::new)
    }

    /// `Details.caller_authid`, when disclosed.
    pub fn caller_authid(&self) -> Option<&str> {
        self.details.get_str("caller_authid")
    }

    /// Sends a progressive result (needs [`Invocation::receive_progress`]).
    pub async fn progress(&self, payload: Payload) -> Result<(), Error> {
        let opts = YieldOptions {
            progress: true,
            ..YieldOptions::default()
        };
        self.ctl.yield_with(payload, opts).await
    }

    /// Answers with the final result.
    pub async fn yield_(self, payload: Payload) -> Result<(), Error> {
        self.ctl.yield_with(payload, YieldOptions::default()).await
    }

    /// Answers with a YIELD with options (progressive when `opts.progress`).
    pub async fn yield_with(&self, payload: Payload, opts: YieldOptions) -> Result<(), Error> {
        self.ctl.yield_with(payload, opts).await
    }

    /// Answers with an ERROR.
    pub async fn error(self, error: impl Into<Uri>, payload: Payload) -> Result<(), Error> {
        self.ctl.error(error.into(), Dict::new(), payload).await
    }

    /// Answers with an ERROR with details.
    pub async fn error_with(
        self,
        error: impl Into<Uri>,
        details: Dict,
        payload: Payload,
    ) -> Result<(), Error> {
        self.ctl.error(error.into(), details, payload).await
    }

    /// Waits until the invocation is interrupted (or timed out, or the session ends).
    pub async fn interrupted(&self) -> Interrupted {
        self.ctl.interrupted().await
    }

    /// The interrupt, if one arrived.
    pub fn interrupt(&self) -> Option<Interrupted> {
        self.ctl.interrupt.borrow().clone()
    }

    /// The next input chunk of a progressive call invocation; `None` after the last one (or
    /// when the invocation is not progressive).
    pub async fn next_chunk(&mut self) -> Option<InvocationChunk> {
        match &mut self.chunks {
            Some(rx) => rx.recv().await,
            None => None,
        }
    }

    /// A second handle to answer this invocation (for example from a supervising task while
    /// the invocation itself is handed to a handler). The first answer wins.
    pub fn responder(&self) -> Responder {
        Responder {
            ctl: self.ctl.clone(),
        }
    }
}

/// A handle that answers an invocation; see [`Invocation::responder`].
#[derive(Clone, Debug)]
pub struct Responder {
    ctl: Arc<InvocationCtl>,
}

impl Responder {
    /// The invocation ID.
    pub fn request(&self) -> RequestId {
        self.ctl.request
    }

    /// Answers with the final result (ignored if already answered).
    pub async fn yield_(&self, payload: Payload) -> Result<(), Error> {
        self.ctl.yield_with(payload, YieldOptions::default()).await
    }

    /// Answers with an ERROR (ignored if already answered).
    pub async fn error(&self, error: Uri, details: Dict, payload: Payload) -> Result<(), Error> {
        self.ctl.error(error, details, payload).await
    }

    /// Waits until the invocation is interrupted (or timed out, or the session ends).
    pub async fn interrupted(&self) -> Interrupted {
        self.ctl.interrupted().await
    }
}

/// An application error a handler of [`super::Client::register_fn`] returns: sent as the
/// invocation's ERROR.
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    /// The error URI.
    pub error: Uri,
    /// `ERROR.Details`.
    pub details: Dict,
    /// The error payload.
    pub payload: Payload,
}

impl CallError {
    /// An error with a URI and payload.
    pub fn new(error: impl Into<Uri>, payload: Payload) -> Self {
        CallError {
            error: error.into(),
            details: Dict::new(),
            payload,
        }
    }
}

/// A registration served by a handler ([`super::Client::register_fn`]). Dropping it stops
/// the dispatching task and unregisters.
#[derive(Debug)]
pub struct HandlerRegistration {
    pub(crate) id: RegistrationId,
    pub(crate) key: u64,
    pub(crate) ctx: Ctx,
    pub(crate) task: tokio::task::JoinHandle<()>,
    pub(crate) shared: Arc<StreamShared>,
}

impl HandlerRegistration {
    /// The router's registration ID.
    pub fn id(&self) -> RegistrationId {
        self.id
    }

    /// Invocations refused because the queue was full.
    pub fn missed(&self) -> u64 {
        self.shared.missed.load(Ordering::Relaxed)
    }

    /// Why the registration ended, once it has.
    pub fn end_reason(&self) -> Option<&EndReason> {
        self.shared.end.get()
    }

    /// Unregisters and waits for the router's confirmation. Invocations already running go
    /// on; new ones are no longer dispatched.
    pub async fn unregister(self) -> Result<(), Error> {
        let (registration, key) = (self.id, self.key);
        let ctx = self.ctx.clone();
        // Dropping `self` aborts the dispatcher, whose `Registration` then asks to
        // unregister; ours comes first and the later request finds nothing to do.
        let r = ctx
            .request(|reply| Command::Unregister {
                registration,
                key,
                reply,
            })
            .await;
        drop(self);
        r
    }
}

impl Drop for HandlerRegistration {
    fn drop(&mut self) {
        self.task.abort();
    }
}
