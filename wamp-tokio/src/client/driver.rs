//! The connection task: owns the transport and the `client::Session`, applies commands from
//! the handles and messages from the router, and routes the session's events to the handles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};
use wamp_proto::client::{
    AuthChallenge, CallOptions, CancelMode, ClientAction, ClientEvent, CloseCause, CloseInfo,
    JoinOptions, PublishOptions, RegisterOptions, RequestKind, Session, SessionDetails,
    SubscribeOptions, YieldOptions,
};
use wamp_proto::id::{PublicationId, RegistrationId, RequestId, SubscriptionId};
use wamp_proto::websocket::CloseReason;
use wamp_proto::{Dict, Payload, Uri};

use super::handles::{
    CallHandle, CallItem, Ctx, EndReason, Interrupted, Invocation, InvocationChunk, InvocationCtl,
    Registration, StreamShared, Subscription,
};
use super::transport::Transport;
use super::{ConnectOptions, Ended, Error};

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// A command from a handle to the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    Join {
        opts: Box<JoinOptions>,
        challenges: mpsc::Sender<AuthChallenge>,
        reply: Reply<SessionDetails>,
    },
    Authenticate {
        signature: String,
        extra: Dict,
        reply: Reply<()>,
    },
    Leave {
        reason: Option<Uri>,
        reply: Reply<CloseInfo>,
    },
    Call {
        procedure: Uri,
        payload: Payload,
        opts: Box<CallOptions>,
        /// The capacity of the call's item queue.
        cap: usize,
        /// Gets the handle itself: if the caller's future is dropped before it takes the
        /// handle out, dropping the handle (in the channel, or here when `send` fails)
        /// cancels the call, so no window leaves an abandoned call running.
        reply: Reply<CallHandle>,
    },
    CallProgress {
        request: RequestId,
        payload: Payload,
        more: bool,
        reply: Reply<()>,
    },
    Cancel {
        request: RequestId,
        mode: CancelMode,
        reply: Reply<()>,
    },
    Publish {
        topic: Uri,
        payload: Payload,
        opts: Box<PublishOptions>,
        reply: Reply<Option<PublicationId>>,
    },
    Subscribe {
        topic: Uri,
        opts: Box<SubscribeOptions>,
        reply: Reply<Subscription>,
    },
    Unsubscribe {
        subscription: SubscriptionId,
        key: u64,
        reply: Reply<()>,
    },
    Register {
        procedure: Uri,
        opts: Box<RegisterOptions>,
        reply: Reply<Registration>,
    },
    Unregister {
        registration: RegistrationId,
        key: u64,
        reply: Reply<()>,
    },
    Yield {
        request: RequestId,
        payload: Payload,
        opts: YieldOptions,
        reply: Reply<()>,
    },
    InvocationError {
        request: RequestId,
        error: Uri,
        details: Dict,
        payload: Payload,
        reply: Reply<()>,
    },
}

/// A handle went away (sent from `Drop`, so it never blocks).
#[derive(Debug)]
pub(crate) enum Note {
    /// The last [`super::Client`] was dropped: leave and close.
    Leave,
    CancelCall(RequestId),
    Unsubscribe {
        subscription: SubscriptionId,
        key: u64,
    },
    Unregister {
        registration: RegistrationId,
        key: u64,
    },
    AbandonInvocation(RequestId),
}

/// The error an invocation dropped unanswered gets.
const RUNTIME_ERROR: &str = "wamp.error.runtime_error";
/// The error an interrupted invocation dropped unanswered gets.
const CANCELED: &str = "wamp.error.canceled";
/// The error an invocation gets when the application's queue is full.
const UNAVAILABLE: &str = "wamp.error.unavailable";

struct CallEntry {
    items: mpsc::Sender<CallItem>,
    /// The handle is gone or the queue overflowed: discard everything until the outcome.
    abandoned: bool,
}

enum RequestEntry {
    Publish(Reply<Option<PublicationId>>),
    Subscribe(Reply<Subscription>),
    Register(Reply<Registration>),
    /// `reply` is `None` when sent on behalf of a dropped handle.
    Unsubscribe {
        subscription: SubscriptionId,
        reply: Option<Reply<()>>,
    },
    Unregister {
        registration: RegistrationId,
        reply: Option<Reply<()>>,
    },
}

struct Sink<T> {
    key: u64,
    tx: mpsc::Sender<T>,
    shared: Arc<StreamShared>,
}

struct SubEntry {
    sinks: Vec<Sink<wamp_proto::client::EventDelivery>>,
    unsubscribing: bool,
}

struct RegEntry {
    sinks: Vec<Sink<Invocation>>,
    unregistering: bool,
}

struct InvEntry {
    interrupt: watch::Sender<Option<Interrupted>>,
    chunks: Option<mpsc::Sender<InvocationChunk>>,
}

struct Joining {
    challenges: mpsc::Sender<AuthChallenge>,
    reply: Reply<SessionDetails>,
}

/// Shared between the task and every [`super::Client`].
#[derive(Debug)]
pub(crate) struct SharedState {
    pub(crate) details: watch::Sender<Option<Arc<SessionDetails>>>,
    pub(crate) ended: watch::Sender<Option<Arc<Ended>>>,
    pub(crate) closing: AtomicBool,
}

pub(crate) struct Driver {
    session: Session,
    transport: Transport,
    opts: Arc<ConnectOptions>,
    ctx: Ctx,
    cmd_rx: mpsc::Receiver<Command>,
    note_rx: mpsc::UnboundedReceiver<Note>,
    shared: Arc<SharedState>,
    calls: BTreeMap<u64, CallEntry>,
    requests: BTreeMap<u64, RequestEntry>,
    subs: BTreeMap<u64, SubEntry>,
    regs: BTreeMap<u64, RegEntry>,
    invocations: BTreeMap<u64, InvEntry>,
    joining: Option<Joining>,
    leaving: Vec<Reply<CloseInfo>>,
    next_key: u64,
    /// The session asked to close the transport.
    close: Option<CloseReason>,
    close_info: Option<CloseInfo>,
    error: Option<Error>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        session: Session,
        transport: Transport,
        opts: Arc<ConnectOptions>,
        ctx: Ctx,
        cmd_rx: mpsc::Receiver<Command>,
        note_rx: mpsc::UnboundedReceiver<Note>,
        shared: Arc<SharedState>,
    ) -> Self {
        Driver {
            session,
            transport,
            opts,
            ctx,
            cmd_rx,
            note_rx,
            shared,
            calls: BTreeMap::new(),
            requests: BTreeMap::new(),
            subs: BTreeMap::new(),
            regs: BTreeMap::new(),
            invocations: BTreeMap::new(),
            joining: None,
            leaving: Vec::new(),
            next_key: 0,
            close: None,
            close_info: None,
            error: None,
        }
    }

    /// Runs until the connection closes.
    pub(crate) async fn run(mut self) {
        let mut client_gone = false;
        loop {
            let deadline = self.session.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            // Every branch only reads (cancel-safe); writes happen below, outside `select!`.
            tokio::select! {
                note = self.note_rx.recv() => match note {
                    Some(n) => self.on_note(n, &mut client_gone),
                    None => client_gone = true,
                },
                cmd = self.cmd_rx.recv(), if !client_gone => match cmd {
                    Some(c) => {
                        self.on_command(c);
                        // Take whatever else is ready before writing (bounded batch).
                        for _ in 0..64 {
                            match self.cmd_rx.try_recv() {
                                Ok(c) => self.on_command(c),
                                Err(_) => break,
                            }
                        }
                    }
                    None => client_gone = true,
                },
                read = self.transport.read() => match read {
                    Ok(r) => self.on_read(r),
                    Err(e) => self.transport_failed(e),
                },
                () = sleep => {
                    self.session.handle_timeout(Instant::now());
                    self.drain();
                }
            }
            if client_gone && !self.shared.closing.swap(true, Ordering::AcqRel) {
                // The application dropped every `Client`: leave (or abort a join) cleanly.
                if self.session.leave(Instant::now(), None).is_err()
                    && self.session.state() != wamp_proto::client::SessionState::GoodbyeSent
                {
                    // Nothing joined (or already over): just close. A GOODBYE already sent
                    // still gets its reply (or the goodbye timeout).
                    self.close.get_or_insert(CloseReason::Normal);
                }
                self.drain();
            }
            if self.close.is_none()
                && self.transport.has_pending_writes()
                && let Err(e) = self.transport.flush().await
            {
                self.transport_failed(e);
            }
            if let Some(reason) = self.close {
                self.transport.close(reason).await;
                break;
            }
        }
        self.finish();
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    fn transport_failed(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.session.handle_transport_closed(Self::now());
        self.drain();
        self.close.get_or_insert(CloseReason::Normal);
    }

    fn on_read(&mut self, read: super::transport::Read) {
        let mut msgs = Vec::new();
        let mut malformed = None;
        let r = self.transport.decode(read, |m| match m {
            Ok(m) => msgs.push(m),
            Err(e) => malformed = Some(e),
        });
        for m in msgs {
            self.session.handle_message(Self::now(), m);
            self.drain();
        }
        if let Some(e) = malformed {
            match e {
                wamp_proto::link::LinkError::Decode(d) => {
                    self.session.handle_malformed(Self::now(), d);
                    self.drain();
                    self.close.get_or_insert(CloseReason::ProtocolError);
                }
                other => {
                    let reason = other.close_reason();
                    self.transport_failed(Error::Link(other));
                    self.close = Some(reason);
                }
            }
        }
        match r {
            Ok(true) => {}
            Ok(false) => {
                self.session.handle_transport_closed(Self::now());
                self.drain();
                self.close.get_or_insert(CloseReason::Normal);
            }
            Err(e) => {
                let reason = e.close_reason();
                match e {
                    wamp_proto::link::LinkError::Decode(d) => {
                        self.session.handle_malformed(Self::now(), d);
                        self.drain();
                    }
                    other => self.transport_failed(Error::Link(other)),
                }
                self.close = Some(reason);
            }
        }
    }

    /// Applies every action the session has queued.
    fn drain(&mut self) {
        while let Some(a) = self.session.poll_action() {
            match a {
                ClientAction::Send(m) => {
                    if let Err(e) = self.transport.queue(&m) {
                        // A message we cannot encode (e.g. larger than the router accepts):
                        // the session cannot go on consistently, so the connection ends and
                        // every pending request is reported lost.
                        self.transport_failed(e);
                        return;
                    }
                }
                ClientAction::Event(e) => self.on_event(e),
                ClientAction::Close(cause) => {
                    let reason = match cause {
                        CloseCause::ProtocolViolation(_) => CloseReason::ProtocolError,
                        _ => CloseReason::Normal,
                    };
                    self.close.get_or_insert(reason);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Commands
    // -----------------------------------------------------------------------------------------

    fn on_command(&mut self, c: Command) {
        let now = Self::now();
        if self.close.is_some() {
            // The connection is going away: everything fails (replies are dropped).
            return;
        }
        match c {
            Command::Join {
                opts,
                challenges,
                reply,
            } => match self.session.join(now, *opts) {
                Ok(()) => {
                    self.joining = Some(Joining { challenges, reply });
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Authenticate {
                signature,
                extra,
                reply,
            } => {
                let _ = reply.send(
                    self.session
                        .authenticate(now, signature, extra)
                        .map_err(Error::from),
                );
            }
            Command::Leave { reason, reply } => match self.session.leave(now, reason) {
                Ok(()) => self.leaving.push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Call {
                procedure,
                payload,
                opts,
                cap,
                reply,
            } => match self.session.call(now, procedure, payload, *opts) {
                Ok(id) => {
                    let (items, items_rx) = mpsc::channel::<CallItem>(cap);
                    self.calls.insert(
                        id.get(),
                        CallEntry {
                            items,
                            abandoned: false,
                        },
                    );
                    // A failed send drops the handle, whose `Drop` notes the cancellation.
                    let _ = reply.send(Ok(CallHandle {
                        request: id,
                        items: items_rx,
                        ctx: self.ctx.clone(),
                        done: false,
                    }));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::CallProgress {
                request,
                payload,
                more,
                reply,
            } => {
                let r = self.session.call_progress(now, request, payload, more);
                let _ = reply.send(r.map_err(Error::from));
            }
            Command::Cancel {
                request,
                mode,
                reply,
            } => {
                let r = self.session.cancel(now, request, mode);
                let _ = reply.send(r.map_err(Error::from));
            }
            Command::Publish {
                topic,
                payload,
                opts,
                reply,
            } => {
                let ack = opts.acknowledge;
                match self.session.publish(now, topic, payload, *opts) {
                    Ok(id) if ack => {
                        self.requests.insert(id.get(), RequestEntry::Publish(reply));
                    }
                    Ok(_) => {
                        let _ = reply.send(Ok(None));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Subscribe { topic, opts, reply } => {
                match self.session.subscribe(now, topic, *opts) {
                    Ok(id) => {
                        self.requests
                            .insert(id.get(), RequestEntry::Subscribe(reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Unsubscribe {
                subscription,
                key,
                reply,
            } => self.unsubscribe(subscription, key, Some(reply)),
            Command::Register {
                procedure,
                opts,
                reply,
            } => match self.session.register(now, procedure, *opts) {
                Ok(id) => {
                    self.requests
                        .insert(id.get(), RequestEntry::Register(reply));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Unregister {
                registration,
                key,
                reply,
            } => self.unregister(registration, key, Some(reply)),
            Command::Yield {
                request,
                payload,
                opts,
                reply,
            } => {
                let last = !opts.progress;
                let r = self.session.yield_(now, request, payload, opts);
                if last {
                    self.invocations.remove(&request.get());
                }
                let _ = reply.send(r.map_err(Error::from));
            }
            Command::InvocationError {
                request,
                error,
                details,
                payload,
                reply,
            } => {
                let r = self
                    .session
                    .invocation_error(now, request, error, details, payload);
                self.invocations.remove(&request.get());
                let _ = reply.send(r.map_err(Error::from));
            }
        }
        self.drain();
    }

    fn unsubscribe(&mut self, subscription: SubscriptionId, key: u64, reply: Option<Reply<()>>) {
        let Some(entry) = self.subs.get_mut(&subscription.get()) else {
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        };
        if let Some(i) = entry.sinks.iter().position(|s| s.key == key) {
            let sink = entry.sinks.swap_remove(i);
            let _ = sink.shared.end.set(EndReason::Ended);
        }
        if !entry.sinks.is_empty() || entry.unsubscribing {
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        }
        match self.session.unsubscribe(Self::now(), subscription) {
            Ok(id) => {
                entry.unsubscribing = true;
                self.requests.insert(
                    id.get(),
                    RequestEntry::Unsubscribe {
                        subscription,
                        reply,
                    },
                );
            }
            Err(e) => {
                // The session no longer knows it (it ended or was revoked).
                self.subs.remove(&subscription.get());
                if let Some(r) = reply {
                    let _ = r.send(Err(e.into()));
                }
            }
        }
    }

    fn unregister(&mut self, registration: RegistrationId, key: u64, reply: Option<Reply<()>>) {
        let Some(entry) = self.regs.get_mut(&registration.get()) else {
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        };
        if let Some(i) = entry.sinks.iter().position(|s| s.key == key) {
            let sink = entry.sinks.swap_remove(i);
            let _ = sink.shared.end.set(EndReason::Ended);
        } else {
            // Not (or no longer) this handle's registration.
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        }
        if !entry.sinks.is_empty() || entry.unregistering {
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        }
        match self.session.unregister(Self::now(), registration) {
            Ok(id) => {
                entry.unregistering = true;
                self.requests.insert(
                    id.get(),
                    RequestEntry::Unregister {
                        registration,
                        reply,
                    },
                );
            }
            Err(e) => {
                self.regs.remove(&registration.get());
                if let Some(r) = reply {
                    let _ = r.send(Err(e.into()));
                }
            }
        }
    }

    fn cancel_dropped(&mut self, request: RequestId) {
        if let Some(c) = self.calls.get_mut(&request.get()) {
            c.abandoned = true;
            // Without the router's `call_canceling` (or once cancelled) this fails; the
            // outcome is then simply discarded when it arrives.
            let _ = self
                .session
                .cancel(Self::now(), request, self.opts.cancel_on_drop);
        }
    }

    fn on_note(&mut self, n: Note, client_gone: &mut bool) {
        if self.close.is_some() {
            return;
        }
        match n {
            Note::Leave => *client_gone = true,
            Note::CancelCall(request) => self.cancel_dropped(request),
            Note::Unsubscribe { subscription, key } => self.unsubscribe(subscription, key, None),
            Note::Unregister { registration, key } => self.unregister(registration, key, None),
            Note::AbandonInvocation(request) => {
                if let Some(inv) = self.invocations.remove(&request.get()) {
                    let error = if inv.interrupt.borrow().is_some() {
                        CANCELED
                    } else {
                        RUNTIME_ERROR
                    };
                    let _ = self.session.invocation_error(
                        Self::now(),
                        request,
                        Uri::from(error),
                        Dict::new(),
                        Payload::empty(),
                    );
                }
            }
        }
        self.drain();
    }

    // -----------------------------------------------------------------------------------------
    // Events
    // -----------------------------------------------------------------------------------------

    fn request_failed(&mut self, request: RequestId, kind: RequestKind, err: impl Fn() -> Error) {
        let id = request.get();
        if kind == RequestKind::Call {
            if let Some(c) = self.calls.remove(&id)
                && !c.abandoned
            {
                let _ = c.items.try_send(CallItem::Final(Err(err())));
            }
            return;
        }
        match self.requests.remove(&id) {
            Some(RequestEntry::Publish(r)) => {
                let _ = r.send(Err(err()));
            }
            Some(RequestEntry::Subscribe(r)) => {
                let _ = r.send(Err(err()));
            }
            Some(RequestEntry::Register(r)) => {
                let _ = r.send(Err(err()));
            }
            Some(
                RequestEntry::Unsubscribe { reply, .. } | RequestEntry::Unregister { reply, .. },
            ) => {
                if let Some(r) = reply {
                    let _ = r.send(Err(err()));
                }
            }
            None => {}
        }
    }

    fn on_event(&mut self, e: ClientEvent) {
        match e {
            ClientEvent::Challenge(c) => {
                // The join's API future answers it (or gives up and leaves).
                if let Some(j) = &self.joining
                    && j.challenges.try_send(c).is_ok()
                {
                    return;
                }
                let _ = self.session.leave(Self::now(), None);
            }
            ClientEvent::Joined(details) => {
                let details = *details;
                self.shared
                    .details
                    .send_replace(Some(Arc::new(details.clone())));
                if let Some(j) = self.joining.take() {
                    let _ = j.reply.send(Ok(details));
                }
            }
            ClientEvent::Closed(info) => self.on_closed(info),
            ClientEvent::Progress(out) => {
                let Some(c) = self.calls.get_mut(&out.request.get()) else {
                    return;
                };
                if c.abandoned {
                    return;
                }
                // One slot stays free for the outcome (final result or overflow error).
                if c.items.capacity() > 1 {
                    let _ = c.items.try_send(CallItem::Progress(out));
                } else {
                    let _ = c.items.try_send(CallItem::Final(Err(Error::Overflow)));
                    let request = out.request;
                    self.cancel_dropped(request);
                }
            }
            ClientEvent::Result(out) => {
                if let Some(c) = self.calls.remove(&out.request.get())
                    && !c.abandoned
                {
                    let _ = c.items.try_send(CallItem::Final(Ok(out)));
                }
            }
            ClientEvent::Error(err) => {
                let (request, kind) = (err.request, err.kind);
                let err = Box::new(err);
                // A refused UNSUBSCRIBE/UNREGISTER leaves the subscription or registration
                // active; a later drop or explicit request may try again.
                match self.requests.get(&request.get()) {
                    Some(RequestEntry::Unsubscribe { subscription, .. }) => {
                        if let Some(s) = self.subs.get_mut(&subscription.get()) {
                            s.unsubscribing = false;
                        }
                    }
                    Some(RequestEntry::Unregister { registration, .. }) => {
                        if let Some(r) = self.regs.get_mut(&registration.get()) {
                            r.unregistering = false;
                        }
                    }
                    _ => {}
                }
                self.request_failed(request, kind, || Error::Wamp(err.clone()));
            }
            ClientEvent::Lost { request, kind } => {
                self.request_failed(request, kind, || Error::Lost);
            }
            ClientEvent::Published {
                request,
                publication,
            } => {
                if let Some(RequestEntry::Publish(r)) = self.requests.remove(&request.get()) {
                    let _ = r.send(Ok(Some(publication)));
                }
            }
            ClientEvent::Subscribed {
                request,
                subscription,
            } => self.on_subscribed(request, subscription),
            ClientEvent::Unsubscribed {
                request,
                subscription,
            } => {
                if let Some(RequestEntry::Unsubscribe { reply: Some(r), .. }) =
                    self.requests.remove(&request.get())
                {
                    let _ = r.send(Ok(()));
                }
                self.end_subscription(subscription, EndReason::Ended);
            }
            ClientEvent::SubscriptionRevoked {
                subscription,
                reason,
            } => self.end_subscription(subscription, EndReason::Revoked(reason)),
            ClientEvent::Registered {
                request,
                registration,
            } => self.on_registered(request, registration),
            ClientEvent::Unregistered {
                request,
                registration,
            } => {
                if let Some(RequestEntry::Unregister { reply: Some(r), .. }) =
                    self.requests.remove(&request.get())
                {
                    let _ = r.send(Ok(()));
                }
                self.end_registration(registration, EndReason::Ended);
            }
            ClientEvent::RegistrationRevoked {
                registration,
                reason,
            } => self.end_registration(registration, EndReason::Revoked(reason)),
            ClientEvent::Event(ev) => self.on_event_delivery(ev),
            ClientEvent::Invocation(inv) => self.on_invocation(inv),
            ClientEvent::Interrupt {
                request,
                mode,
                reason,
            } => {
                if let Some(inv) = self.invocations.get(&request.get()) {
                    inv.interrupt
                        .send_replace(Some(Interrupted::Interrupt { mode, reason }));
                }
            }
            ClientEvent::InvocationTimedOut { request } => {
                if let Some(inv) = self.invocations.remove(&request.get()) {
                    inv.interrupt.send_replace(Some(Interrupted::TimedOut));
                }
            }
        }
    }

    fn on_subscribed(&mut self, request: RequestId, subscription: SubscriptionId) {
        let Some(RequestEntry::Subscribe(reply)) = self.requests.remove(&request.get()) else {
            return;
        };
        let key = self.key();
        let (tx, rx) = mpsc::channel(self.opts.event_queue.max(1));
        let shared = Arc::new(StreamShared::default());
        let handle = Subscription {
            id: subscription,
            key,
            events: rx,
            shared: shared.clone(),
            ctx: self.ctx.clone(),
            detached: false,
        };
        let entry = self.subs.entry(subscription.get()).or_insert(SubEntry {
            sinks: Vec::new(),
            unsubscribing: false,
        });
        entry.sinks.push(Sink { key, tx, shared });
        if let Err(Ok(mut h)) = reply.send(Ok(handle)) {
            // The application stopped waiting: its handle unsubscribes when dropped here.
            h.detached = true;
            drop(h);
            self.unsubscribe(subscription, key, None);
        }
    }

    fn on_registered(&mut self, request: RequestId, registration: RegistrationId) {
        let Some(RequestEntry::Register(reply)) = self.requests.remove(&request.get()) else {
            return;
        };
        let key = self.key();
        let (tx, rx) = mpsc::channel(self.opts.invocation_queue.max(1));
        let shared = Arc::new(StreamShared::default());
        let handle = Registration {
            id: registration,
            key,
            invocations: rx,
            shared: shared.clone(),
            ctx: self.ctx.clone(),
            detached: false,
        };
        let entry = self.regs.entry(registration.get()).or_insert(RegEntry {
            sinks: Vec::new(),
            unregistering: false,
        });
        entry.sinks.push(Sink { key, tx, shared });
        if let Err(Ok(mut h)) = reply.send(Ok(handle)) {
            h.detached = true;
            drop(h);
            self.unregister(registration, key, None);
        }
    }

    fn end_subscription(&mut self, subscription: SubscriptionId, why: EndReason) {
        if let Some(entry) = self.subs.remove(&subscription.get()) {
            for s in entry.sinks {
                let _ = s.shared.end.set(why.clone());
            }
        }
    }

    fn end_registration(&mut self, registration: RegistrationId, why: EndReason) {
        if let Some(entry) = self.regs.remove(&registration.get()) {
            for s in entry.sinks {
                let _ = s.shared.end.set(why.clone());
            }
        }
    }

    fn on_event_delivery(&mut self, ev: wamp_proto::client::EventDelivery) {
        let Some(entry) = self.subs.get_mut(&ev.subscription.get()) else {
            return;
        };
        let n = entry.sinks.len();
        let mut ev = Some(ev);
        for (i, s) in entry.sinks.iter().enumerate() {
            let item = if i + 1 == n { ev.take() } else { ev.clone() };
            let Some(item) = item else { break };
            if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(item) {
                s.shared.missed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn on_invocation(&mut self, ev: wamp_proto::client::InvocationEvent) {
        let id = ev.request.get();
        if ev.continuation {
            let Some(inv) = self.invocations.get_mut(&id) else {
                return;
            };
            let Some(tx) = &inv.chunks else { return };
            let chunk = InvocationChunk {
                details: ev.details,
                payload: ev.payload,
                more: ev.progress,
            };
            match tx.try_send(chunk) {
                Ok(()) => {
                    if !ev.progress {
                        inv.chunks = None;
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => inv.chunks = None,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // The handler does not read its input: give up on the invocation.
                    self.invocations.remove(&id);
                    self.refuse_invocation(ev.request);
                }
            }
            return;
        }
        let request = ev.request;
        let Some(entry) = self.regs.get_mut(&ev.registration.get()) else {
            return self.refuse_invocation(request);
        };
        let (itx, irx) = watch::channel(None);
        let ctl = Arc::new(InvocationCtl {
            request,
            ctx: self.ctx.clone(),
            answered: AtomicBool::new(false),
            interrupt: irx,
        });
        let (chunks_tx, chunks_rx) = if ev.progress {
            let (tx, rx) = mpsc::channel(self.opts.progress_queue.max(1));
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let mut inv = Some(Invocation::new(ev, ctl.clone(), chunks_rx));
        for s in &entry.sinks {
            let Some(i) = inv.take() else { break };
            match s.tx.try_send(i) {
                Ok(()) => break,
                Err(mpsc::error::TrySendError::Full(i)) => {
                    s.shared.missed.fetch_add(1, Ordering::Relaxed);
                    inv = Some(i);
                }
                Err(mpsc::error::TrySendError::Closed(i)) => inv = Some(i),
            }
        }
        match inv {
            None => {
                self.invocations.insert(
                    id,
                    InvEntry {
                        interrupt: itx,
                        chunks: chunks_tx,
                    },
                );
            }
            Some(i) => {
                // Nobody took it: answer here and make sure the handle stays silent.
                i.ctl.answered.store(true, Ordering::Release);
                drop(i);
                self.refuse_invocation(request);
            }
        }
    }

    fn refuse_invocation(&mut self, request: RequestId) {
        let _ = self.session.invocation_error(
            Self::now(),
            request,
            Uri::from(UNAVAILABLE),
            Dict::new(),
            Payload::empty(),
        );
    }

    fn on_closed(&mut self, info: CloseInfo) {
        if let Some(j) = self.joining.take() {
            let _ = j.reply.send(Err(Error::JoinFailed(Box::new(info.clone()))));
        }
        for r in self.leaving.drain(..) {
            let _ = r.send(Ok(info.clone()));
        }
        self.end_streams();
        self.close_info = Some(info);
    }

    fn end_streams(&mut self) {
        for (_, e) in std::mem::take(&mut self.subs) {
            for s in e.sinks {
                let _ = s.shared.end.set(EndReason::SessionClosed);
            }
        }
        for (_, e) in std::mem::take(&mut self.regs) {
            for s in e.sinks {
                let _ = s.shared.end.set(EndReason::SessionClosed);
            }
        }
        for (_, i) in std::mem::take(&mut self.invocations) {
            i.interrupt.send_replace(Some(Interrupted::SessionClosed));
        }
    }

    /// The connection is gone: fail everything still waiting.
    fn finish(mut self) {
        self.shared.closing.store(true, Ordering::Release);
        if let Some(j) = self.joining.take() {
            let _ = j.reply.send(Err(match self.close_info.clone() {
                Some(info) => Error::JoinFailed(Box::new(info)),
                None => Error::Closed,
            }));
        }
        self.end_streams();
        for (_, c) in std::mem::take(&mut self.calls) {
            if !c.abandoned {
                let _ = c.items.try_send(CallItem::Final(Err(Error::Lost)));
            }
        }
        let ended = Ended {
            close: self.close_info.take(),
            error: self.error.take(),
        };
        self.shared.ended.send_replace(Some(Arc::new(ended)));
        // Dropping the receivers fails every command still queued with `Error::Closed`.
    }
}
