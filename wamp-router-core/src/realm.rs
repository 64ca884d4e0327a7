//! A realm: its sessions, broker, dealer, authentication and authorization. The one place
//! where sessions join and leave, where every request is authorized, and where a client
//! message is dispatched.

use wamp_proto::id::{MAX_ID, RequestId, SessionId};
use wamp_proto::{Dict, Message, MessageKind, Uri};

use crate::action::RouterAction;
use crate::auth::RealmAuth;
use crate::authz::{Authorizer, Verdict};
use crate::broker::{Broker, publish_valid, subscribe_valid};
use crate::config::RealmConfig;
use crate::ctx::Ctx;
use crate::dealer::{Dealer, register_valid};
use crate::decision::{
    Action, AuthzDecision, AuthzRequest, DecisionRequest, DecisionTicket, Waiter,
};
use crate::error::ProtocolViolation;
use crate::index::{HashSeed, maybe_shrink};
use crate::meta::Proc;
use crate::session::{Needs, Parked, Session, Sessions};
use crate::uris;

/// Checks a new client request ID against the session's watermark. With strict request IDs
/// the ID must be the next in sequence; otherwise any ID is accepted.
pub(crate) fn check_request_id(
    strict: bool,
    session: &mut Session,
    id: RequestId,
) -> Result<(), ProtocolViolation> {
    let id = id.get();
    if strict {
        let expected = if session.last_request >= MAX_ID {
            1
        } else {
            session.last_request + 1
        };
        if id != expected {
            return Err(ProtocolViolation::RequestIdSequence);
        }
    }
    session.last_request = id;
    Ok(())
}

/// Why a session must go (the router aborts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// ABORT `wamp.error.protocol_violation`.
    Violation(ProtocolViolation),
    /// Too many messages queued behind a pending authorization.
    QueueFull,
}

impl From<ProtocolViolation> for Fault {
    fn from(pv: ProtocolViolation) -> Self {
        Fault::Violation(pv)
    }
}

/// One realm.
#[derive(Debug)]
pub(crate) struct Realm {
    pub(crate) name: Uri,
    pub(crate) sessions: Sessions,
    pub(crate) broker: Broker,
    pub(crate) dealer: Dealer,
    pub(crate) auth: RealmAuth,
    pub(crate) authz: Authorizer,
    pub(crate) on_leave_with_identity: bool,
    /// Whether requests may wait for dynamic authorization (some role is dynamic).
    may_park: bool,
}

/// The request ID and type of a message that is a request (for refusals).
fn request_of(msg: &Message) -> Option<(MessageKind, RequestId, bool)> {
    Some(match msg {
        Message::Publish(m) => (
            MessageKind::Publish,
            m.request,
            m.options.get_bool("acknowledge") == Some(true),
        ),
        Message::Subscribe(m) => (MessageKind::Subscribe, m.request, true),
        Message::Register(m) => (MessageKind::Register, m.request, true),
        Message::Call(m) => (MessageKind::Call, m.request, true),
        _ => return None,
    })
}

fn options_of(msg: &Message) -> Dict {
    match msg {
        Message::Publish(m) => m.options.clone(),
        Message::Subscribe(m) => m.options.clone(),
        Message::Register(m) => m.options.clone(),
        Message::Call(m) => m.options.clone(),
        _ => Dict::new(),
    }
}

impl Realm {
    pub(crate) fn new(
        config: &RealmConfig,
        seed: HashSeed,
        entropy: &mut dyn wamp_proto::Entropy,
    ) -> Self {
        Realm {
            name: config.name.clone(),
            sessions: seed.map(),
            broker: Broker::new(seed, &config.event_history),
            dealer: Dealer::new(seed),
            auth: RealmAuth::new(config.auth.clone(), entropy),
            authz: Authorizer::new(&config.roles, seed),
            on_leave_with_identity: config.on_leave_with_identity,
            may_park: config.roles.iter().any(|r| r.dynamic),
        }
    }

    /// A session joins (after WELCOME was queued): `wamp.session.on_join`.
    pub(crate) fn join(&mut self, ctx: &mut Ctx<'_>, sid: SessionId, session: Session) {
        self.sessions.insert(sid, Box::new(session));
        self.announce_join(ctx, sid);
    }

    /// A session leaves, whatever the cause (GOODBYE, ABORT, protocol violation, transport
    /// loss, kill): a request waiting for authorization is dropped, its subscriptions and
    /// registrations are disposed (meta events), its pending calls ended, then its testaments
    /// and `wamp.session.on_leave` are published — unless `quiet` (`kill_all`), which
    /// publishes nothing.
    pub(crate) fn leave(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        quiet: bool,
    ) -> Option<Session> {
        let mut session = self.sessions.remove(&sid)?;
        maybe_shrink(&mut self.sessions);
        if let Some(p) = session.parked.take() {
            ctx.decisions.close(ctx.timers, p.ticket);
        }
        session.queue.clear();
        self.broker
            .remove_session(ctx.meta, sid, &session.subscriptions);
        self.dealer
            .remove_session(ctx, &mut self.sessions, sid, &session);
        if quiet {
            ctx.meta.clear();
        } else {
            self.flush_meta(ctx);
            self.announce_leave(ctx, sid, &session);
        }
        Some(*session)
    }

    /// A message from an established session (not GOODBYE or ABORT: the router handles the
    /// session state itself). While one of the session's requests waits for a dynamic
    /// authorization, later messages queue behind it (replies to INVOCATIONs excepted).
    pub(crate) fn handle(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        msg: Message,
    ) -> Result<(), Fault> {
        if !self.may_park {
            return self.process(ctx, sid, msg);
        }
        let max = ctx.config.max_queued_messages_per_session;
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Ok(());
        };
        if s.parked.is_some() {
            let reply = matches!(&msg, Message::Yield(_))
                || matches!(&msg, Message::Error(e) if e.request_type == MessageKind::Invocation);
            if !reply {
                if s.queue.len() >= max {
                    return Err(Fault::QueueFull);
                }
                s.queue.push_back(msg);
                return Ok(());
            }
        }
        self.process(ctx, sid, msg)
    }

    /// The authorizations `msg` needs: none for a request the broker or dealer will refuse
    /// anyway (they answer with the right error), for CALL continuations and for messages
    /// that are no requests.
    fn needs(&self, ctx: &Ctx<'_>, sid: SessionId, msg: &Message) -> Needs {
        let rules = ctx.config.uri_rules;
        let mut n = Needs::default();
        n.items[0] = match msg {
            Message::Publish(m) if publish_valid(&m.topic, rules) => {
                Some((Action::Publish, m.topic.clone()))
            }
            Message::Subscribe(m) if subscribe_valid(&m.options, &m.topic, rules) => {
                Some((Action::Subscribe, m.topic.clone()))
            }
            Message::Register(m) if register_valid(&m.options, &m.procedure, rules) => {
                Some((Action::Register, m.procedure.clone()))
            }
            Message::Call(m)
                if m.procedure.is_valid(rules) && !self.dealer.is_pending_call(sid, m.request) =>
            {
                let args = m.payload.arguments();
                n.items[1] = match Proc::parse(m.procedure.as_str()) {
                    Some(Proc::SubGetEvents) => args
                        .first()
                        .and_then(|a| a.as_u64())
                        .and_then(wamp_proto::id::SubscriptionId::new)
                        .and_then(|id| self.broker.info(id))
                        .map(|info| (Action::Subscribe, info.uri)),
                    Some(Proc::AddTestament) => args
                        .first()
                        .and_then(|a| a.as_str())
                        .map(Uri::from_wire)
                        .filter(|t| publish_valid(t, rules))
                        .map(|t| (Action::Publish, t)),
                    _ => None,
                };
                Some((Action::Call, m.procedure.clone()))
            }
            _ => None,
        };
        n
    }

    #[inline(always)]
    fn process(&mut self, ctx: &mut Ctx<'_>, sid: SessionId, msg: Message) -> Result<(), Fault> {
        if self.authz.allows_all() {
            // No roles: every authorization is granted, nothing to work out.
            let all = Some(AuthzDecision::allow());
            self.dispatch(ctx, sid, msg, [all, all])?;
            return Ok(());
        }
        let needs = self.needs(ctx, sid, &msg);
        self.authorize(ctx, sid, msg, needs)
    }

    /// Goes through the authorizations `msg` needs; dispatches it when all are known, parks
    /// it when the embedder must be asked.
    fn authorize(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        msg: Message,
        mut needs: Needs,
    ) -> Result<(), Fault> {
        while let Some((i, action, uri)) = needs.next() {
            let Some(session) = self.sessions.get(&sid) else {
                return Ok(());
            };
            match self.authz.check(&session.identity.authrole, action, uri) {
                Verdict::Decided(d) => {
                    if let Some(g) = needs.granted.get_mut(i) {
                        *g = Some(d);
                    }
                }
                Verdict::Ask => {
                    let ticket = ctx.decisions.open(
                        ctx.timers,
                        ctx.now,
                        ctx.config.decision_timeout,
                        ctx.config.max_pending_decisions,
                        Waiter::Authz {
                            realm: ctx.realm,
                            session: sid,
                        },
                    );
                    let Some(ticket) = ticket else {
                        self.refuse(ctx, sid, &msg, uris::AUTHORIZATION_FAILED);
                        return Ok(());
                    };
                    let request = AuthzRequest {
                        realm: self.name.clone(),
                        session: sid,
                        authid: session.identity.authid.to_string(),
                        authrole: session.identity.authrole.to_string(),
                        action,
                        uri: uri.clone(),
                        options: options_of(&msg),
                    };
                    ctx.out.push_back(RouterAction::NeedDecision {
                        ticket,
                        request: Box::new(DecisionRequest::Authorize(request)),
                    });
                    if let Some(s) = self.sessions.get_mut(&sid) {
                        s.parked = Some(Box::new(Parked { msg, ticket, needs }));
                    }
                    return Ok(());
                }
            }
        }
        self.dispatch(ctx, sid, msg, needs.granted)?;
        Ok(())
    }

    /// Answers a request with ERROR `uri` (a PUBLISH only if it asked for an
    /// acknowledgement).
    fn refuse(&mut self, ctx: &mut Ctx<'_>, sid: SessionId, msg: &Message, uri: &'static str) {
        let Some(conn) = self.sessions.get(&sid).map(|s| s.conn) else {
            return;
        };
        if let Some((kind, request, answer)) = request_of(msg) {
            if answer {
                ctx.error(conn, kind, request, uri, None);
            }
        }
    }

    /// The embedder answered the authorization `ticket` of session `sid` (`None`: no answer
    /// in time, or an answer of the wrong kind). The parked request goes on, then the queue.
    pub(crate) fn decided(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        ticket: DecisionTicket,
        decision: Option<AuthzDecision>,
    ) -> Result<(), Fault> {
        let Some(s) = self.sessions.get_mut(&sid) else {
            return Ok(());
        };
        if s.parked.as_ref().is_none_or(|p| p.ticket != ticket) {
            return Ok(());
        }
        let Some(parked) = s.parked.take() else {
            return Ok(());
        };
        let role = s.identity.authrole.clone();
        let Parked { msg, mut needs, .. } = *parked;
        match (decision, needs.next()) {
            (Some(d), Some((i, action, uri))) => {
                if d.cache {
                    let max = ctx.config.authorization_cache_size;
                    let uri = uri.clone();
                    self.authz.remember(max, &role, action, &uri, d);
                }
                if let Some(g) = needs.granted.get_mut(i) {
                    *g = Some(d);
                }
                self.authorize(ctx, sid, msg, needs)?;
            }
            _ => self.refuse(ctx, sid, &msg, uris::AUTHORIZATION_FAILED),
        }
        self.drain(ctx, sid)
    }

    /// Processes queued messages until one parks again.
    fn drain(&mut self, ctx: &mut Ctx<'_>, sid: SessionId) -> Result<(), Fault> {
        loop {
            let Some(s) = self.sessions.get_mut(&sid) else {
                return Ok(());
            };
            if s.parked.is_some() {
                return Ok(());
            }
            let Some(msg) = s.queue.pop_front() else {
                return Ok(());
            };
            self.process(ctx, sid, msg)?;
        }
    }

    /// Carries out an authorized (or unauthorizable) message.
    fn dispatch(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        msg: Message,
        grants: [Option<AuthzDecision>; 2],
    ) -> Result<(), ProtocolViolation> {
        let strict = ctx.config.strict_request_ids;
        let check = |sessions: &mut Sessions, id: RequestId| match sessions.get_mut(&sid) {
            Some(s) => check_request_id(strict, s, id),
            None => Ok(()),
        };
        let grant = grants[0];
        match msg {
            Message::Publish(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker.publish(ctx, &self.sessions, sid, m, grant);
            }
            Message::Subscribe(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker
                    .subscribe(ctx, &mut self.sessions, sid, m, grant);
            }
            Message::Unsubscribe(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker.unsubscribe(ctx, &mut self.sessions, sid, m);
            }
            Message::Register(m) => {
                check(&mut self.sessions, m.request)?;
                self.dealer.register(ctx, &mut self.sessions, sid, m, grant);
            }
            Message::Unregister(m) => {
                check(&mut self.sessions, m.request)?;
                self.dealer.unregister(ctx, &mut self.sessions, sid, m);
            }
            Message::Call(m) => {
                let meta = Proc::parse(m.procedure.as_str()).filter(|_| {
                    m.procedure.is_valid(ctx.config.uri_rules)
                        && !self.dealer.is_pending_call(sid, m.request)
                });
                match meta {
                    Some(p) => {
                        check(&mut self.sessions, m.request)?;
                        self.meta_call(ctx, sid, p, m, grants);
                    }
                    None => self.dealer.call(ctx, &mut self.sessions, sid, m, grant)?,
                }
            }
            Message::Cancel(m) => self.dealer.cancel(ctx, &mut self.sessions, sid, m),
            Message::Yield(m) => self.dealer.yield_(ctx, &mut self.sessions, sid, m)?,
            Message::Error(m) if m.request_type == MessageKind::Invocation => self
                .dealer
                .invocation_error(ctx, &mut self.sessions, sid, m)?,
            Message::Error(_) => return Err(ProtocolViolation::InvalidErrorType),
            // Acknowledged event delivery is not announced: ignore.
            Message::EventReceived(_) => {}
            Message::Hello(_)
            | Message::Welcome(_)
            | Message::Challenge(_)
            | Message::Authenticate(_) => return Err(ProtocolViolation::AlreadyEstablished),
            Message::Published(_)
            | Message::Subscribed(_)
            | Message::Unsubscribed(_)
            | Message::Event(_)
            | Message::Result(_)
            | Message::Registered(_)
            | Message::Unregistered(_)
            | Message::Invocation(_)
            | Message::Interrupt(_) => return Err(ProtocolViolation::RouterMessage),
            // Handled by the router (session state), never dispatched here.
            Message::Goodbye(_) | Message::Abort(_) => {}
        }
        self.flush_meta(ctx);
        Ok(())
    }
}
