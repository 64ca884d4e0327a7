//! A realm: its sessions, broker and dealer. The one place where sessions join and leave,
//! where every request is authorized, and where a client message is dispatched.

use wamp_proto::id::{MAX_ID, RequestId, SessionId};
use wamp_proto::{Message, MessageKind, Uri};

use crate::broker::Broker;
use crate::ctx::Ctx;
use crate::dealer::Dealer;
use crate::error::ProtocolViolation;
use crate::index::{HashSeed, maybe_shrink};
use crate::session::{Identity, Session, Sessions};

/// What a request asks to do (the authorization object is the URI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Subscribe,
    Publish,
    Register,
    Call,
}

/// Authorizes `action` on `uri` for `identity`. Every request goes through here; the policy
/// is allow-all until per-role authorization lands.
pub(crate) fn authorize(_identity: &Identity, _action: Action, _uri: &Uri) -> bool {
    true
}

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

/// One realm.
#[derive(Debug)]
pub(crate) struct Realm {
    pub(crate) name: Uri,
    pub(crate) sessions: Sessions,
    pub(crate) broker: Broker,
    pub(crate) dealer: Dealer,
}

impl Realm {
    pub(crate) fn new(name: Uri, seed: HashSeed) -> Self {
        Realm {
            name,
            sessions: seed.map(),
            broker: Broker::new(seed),
            dealer: Dealer::new(seed),
        }
    }

    /// A session joins (the session meta API's `on_join` hooks in here).
    pub(crate) fn join(&mut self, sid: SessionId, session: Session) {
        self.sessions.insert(sid, session);
    }

    /// A session leaves, whatever the cause (GOODBYE, ABORT, protocol violation, transport
    /// loss): its subscriptions and registrations are disposed and its pending calls ended
    /// (the meta API's `on_leave` and testaments hook in here).
    pub(crate) fn leave(&mut self, ctx: &mut Ctx<'_>, sid: SessionId) -> Option<Session> {
        let session = self.sessions.remove(&sid)?;
        maybe_shrink(&mut self.sessions);
        self.broker.remove_session(sid, &session.subscriptions);
        self.dealer
            .remove_session(ctx, &mut self.sessions, sid, &session);
        Some(session)
    }

    /// A message from an established session (not GOODBYE or ABORT: the router handles the
    /// session state itself).
    pub(crate) fn handle(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        msg: Message,
    ) -> Result<(), ProtocolViolation> {
        let strict = ctx.config.strict_request_ids;
        let check = |sessions: &mut Sessions, id: RequestId| match sessions.get_mut(&sid) {
            Some(s) => check_request_id(strict, s, id),
            None => Ok(()),
        };
        match msg {
            Message::Publish(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker.publish(ctx, &self.sessions, sid, m);
            }
            Message::Subscribe(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker.subscribe(ctx, &mut self.sessions, sid, m);
            }
            Message::Unsubscribe(m) => {
                check(&mut self.sessions, m.request)?;
                self.broker.unsubscribe(ctx, &mut self.sessions, sid, m);
            }
            Message::Register(m) => {
                check(&mut self.sessions, m.request)?;
                self.dealer.register(ctx, &mut self.sessions, sid, m);
            }
            Message::Unregister(m) => {
                check(&mut self.sessions, m.request)?;
                self.dealer.unregister(ctx, &mut self.sessions, sid, m);
            }
            Message::Call(m) => self.dealer.call(ctx, &mut self.sessions, sid, m)?,
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
        Ok(())
    }
}
