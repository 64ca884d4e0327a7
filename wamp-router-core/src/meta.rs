//! The meta API: session, registration and subscription meta events and procedures,
//! testaments and `wamp.subscription.get_events`.
//!
//! Meta events are published by the router itself (no publisher, nothing disclosed) in the
//! realm of the session concerned, after the message that caused them (so a SUBSCRIBED
//! precedes its `on_subscribe`), in the spec's order: `on_create` before `on_subscribe`
//! (`on_register`), `on_unsubscribe` (`on_unregister`) before `on_delete`. Payloads:
//!
//! | topic | arguments |
//! |---|---|
//! | `wamp.session.on_join` | `[{session, authid, authrole, authmethod, authprovider, authextra, transport}]` |
//! | `wamp.session.on_leave` | `[session]` (Crossbar, what Autobahn handlers expect; see [`crate::RealmConfig::on_leave_with_identity`] for the spec's `[session, authid, authrole]`) |
//! | `wamp.subscription.on_create` | `[session, {id, created, uri, match}]` |
//! | `wamp.subscription.on_subscribe` / `on_unsubscribe` / `on_delete` | `[session, subscription]` |
//! | `wamp.registration.on_create` | `[session, {id, created, uri, match, invoke}]` |
//! | `wamp.registration.on_register` / `on_unregister` / `on_delete` | `[session, registration]` |
//!
//! When a session leaves (GOODBYE, ABORT, transport loss, protocol violation, kill): its
//! subscriptions and registrations go (with their meta events), then its testaments are
//! published (`detached` before `destroyed`), then `on_leave`. `wamp.session.kill_all`
//! produces none of these (spec).
//!
//! Procedures (all authorized as CALLs of their URI; bad arguments give
//! `wamp.error.invalid_argument`):
//!
//! | procedure | arguments | result |
//! |---|---|---|
//! | `wamp.session.count` | `[filter_authroles?]` | `[count]` |
//! | `wamp.session.list` | `[filter_authroles?]` | `[[session, ...]]` (ascending) |
//! | `wamp.session.get` | `[session]` | `[details]` as in `on_join`, or `wamp.error.no_such_session` |
//! | `wamp.session.kill` | `[session]`, kwargs `reason`, `message` | `[]`; the caller's own session or an unknown one: `wamp.error.no_such_session` |
//! | `wamp.session.kill_by_authid` | `[authid]`, kwargs | `[[session, ...]]` (the caller excluded) |
//! | `wamp.session.kill_by_authrole` | `[authrole]`, kwargs | `[count]` (the caller excluded) |
//! | `wamp.session.kill_all` | kwargs | `[count]` (the caller excluded) |
//! | `wamp.session.add_testament` | `[topic, args?, kwargs?]`, kwargs `publish_options`, `scope` | `[]` |
//! | `wamp.session.flush_testaments` | kwargs `scope` | `[count]` (Crossbar; the spec returns nothing) |
//! | `wamp.registration.list` / `wamp.subscription.list` | | `[{exact: [...], prefix: [...], wildcard: [...]}]` |
//! | `wamp.registration.lookup` / `wamp.subscription.lookup` | `[uri, options?]` | `[id]` or `[null]` |
//! | `wamp.registration.match` | `[uri]` | `[id]` or `[null]` (the registration a call would reach) |
//! | `wamp.subscription.match` | `[uri]` | `[[id, ...]]` or `[null]` |
//! | `wamp.registration.get` | `[id]` | `[{id, created, uri, match, invoke}]` |
//! | `wamp.subscription.get` | `[id]` | `[{id, created, uri, match}]` |
//! | `wamp.registration.list_callees` / `count_callees` | `[id]` | `[[session, ...]]` / `[count]` |
//! | `wamp.subscription.list_subscribers` / `count_subscribers` | `[id]` | `[[session, ...]]` / `[count]` |
//! | `wamp.subscription.get_events` | `[id, limit?]`, kwargs (spec filters) | `[[event, ...]]`; needs subscribe permission on the subscription's URI |
//!
//! Kill: the victims get GOODBYE with the reason (default `wamp.close.killed`) and `message`
//! in the details, and their sessions end at once; the router waits for their GOODBYE reply.

use wamp_proto::auth::wampcra::utc_timestamp;
use wamp_proto::id::{RegistrationId, RequestId, SessionId, SubscriptionId};
use wamp_proto::message::{Call, CallResult, Error as ErrorMsg};
use wamp_proto::{Dict, MatchPolicy, MessageKind, Payload, Uri, UriRules, Value};

use crate::broker::{Publisher, policy_of, publish_valid};
use crate::ctx::Ctx;
use crate::dealer::InvokePolicy;
use crate::decision::AuthzDecision;
use crate::realm::Realm;
use crate::session::{Session, Testament};
use crate::uris;

/// Something the broker or dealer did that the meta API announces.
#[derive(Clone, Debug)]
pub(crate) enum MetaEvent {
    SubscriptionCreated {
        session: SessionId,
        id: SubscriptionId,
        uri: Uri,
        policy: MatchPolicy,
        created: u64,
    },
    Subscribed {
        session: SessionId,
        id: SubscriptionId,
    },
    Unsubscribed {
        session: SessionId,
        id: SubscriptionId,
    },
    SubscriptionDeleted {
        session: SessionId,
        id: SubscriptionId,
    },
    RegistrationCreated {
        session: SessionId,
        id: RegistrationId,
        uri: Uri,
        policy: MatchPolicy,
        invoke: InvokePolicy,
        created: u64,
    },
    Registered {
        session: SessionId,
        id: RegistrationId,
    },
    Unregistered {
        session: SessionId,
        id: RegistrationId,
    },
    RegistrationDeleted {
        session: SessionId,
        id: RegistrationId,
    },
}

/// A session the meta API killed: the router sends GOODBYE and ends it.
#[derive(Clone, Debug)]
pub(crate) struct Kill {
    pub(crate) session: SessionId,
    pub(crate) reason: Uri,
    pub(crate) message: Option<String>,
    /// No meta events, no testaments (`kill_all`).
    pub(crate) quiet: bool,
}

/// Topic names.
pub(crate) const ON_JOIN: &str = "wamp.session.on_join";
pub(crate) const ON_LEAVE: &str = "wamp.session.on_leave";

impl MetaEvent {
    fn topic(&self) -> &'static str {
        match self {
            MetaEvent::SubscriptionCreated { .. } => "wamp.subscription.on_create",
            MetaEvent::Subscribed { .. } => "wamp.subscription.on_subscribe",
            MetaEvent::Unsubscribed { .. } => "wamp.subscription.on_unsubscribe",
            MetaEvent::SubscriptionDeleted { .. } => "wamp.subscription.on_delete",
            MetaEvent::RegistrationCreated { .. } => "wamp.registration.on_create",
            MetaEvent::Registered { .. } => "wamp.registration.on_register",
            MetaEvent::Unregistered { .. } => "wamp.registration.on_unregister",
            MetaEvent::RegistrationDeleted { .. } => "wamp.registration.on_delete",
        }
    }

    fn payload(self) -> Payload {
        let args = match self {
            MetaEvent::SubscriptionCreated {
                session,
                id,
                uri,
                policy,
                created,
            } => vec![
                Value::from(session),
                Value::Dict(subscription_details(id, &uri, policy, created)),
            ],
            MetaEvent::RegistrationCreated {
                session,
                id,
                uri,
                policy,
                invoke,
                created,
            } => vec![
                Value::from(session),
                Value::Dict(registration_details(id, &uri, policy, invoke, created)),
            ],
            MetaEvent::Subscribed { session, id }
            | MetaEvent::Unsubscribed { session, id }
            | MetaEvent::SubscriptionDeleted { session, id } => {
                vec![Value::from(session), Value::from(id)]
            }
            MetaEvent::Registered { session, id }
            | MetaEvent::Unregistered { session, id }
            | MetaEvent::RegistrationDeleted { session, id } => {
                vec![Value::from(session), Value::from(id)]
            }
        };
        Payload::args(args)
    }
}

fn subscription_details(id: SubscriptionId, uri: &Uri, policy: MatchPolicy, created: u64) -> Dict {
    Dict::with_capacity(4)
        .with("id", id)
        .with("created", utc_timestamp(created))
        .with("uri", uri.as_str())
        .with("match", policy.as_str())
}

fn registration_details(
    id: RegistrationId,
    uri: &Uri,
    policy: MatchPolicy,
    invoke: InvokePolicy,
    created: u64,
) -> Dict {
    Dict::with_capacity(5)
        .with("id", id)
        .with("created", utc_timestamp(created))
        .with("uri", uri.as_str())
        .with("match", policy.as_str())
        .with("invoke", invoke.as_str())
}

/// The session details of the session meta API (`on_join`, `wamp.session.get`).
pub(crate) fn session_details(sid: SessionId, s: &Session) -> Dict {
    let mut d = Dict::with_capacity(7);
    d.insert("session", sid);
    d.insert("authid", &*s.identity.authid);
    d.insert("authrole", &*s.identity.authrole);
    d.insert("authmethod", &*s.identity.authmethod);
    d.insert("authprovider", &*s.identity.authprovider);
    d.insert("authextra", s.authextra.clone());
    d.insert(
        "transport",
        s.transport
            .as_ref()
            .map(|t| t.all_details())
            .unwrap_or_default(),
    );
    d
}

/// The meta procedures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proc {
    SessionCount,
    SessionList,
    SessionGet,
    SessionKill,
    SessionKillByAuthid,
    SessionKillByAuthrole,
    SessionKillAll,
    AddTestament,
    FlushTestaments,
    RegList,
    RegLookup,
    RegMatch,
    RegGet,
    RegListCallees,
    RegCountCallees,
    SubList,
    SubLookup,
    SubMatch,
    SubGet,
    SubListSubscribers,
    SubCountSubscribers,
    SubGetEvents,
}

impl Proc {
    pub(crate) fn parse(uri: &str) -> Option<Proc> {
        let rest = uri.strip_prefix("wamp.")?;
        Some(match rest {
            "session.count" => Proc::SessionCount,
            "session.list" => Proc::SessionList,
            "session.get" => Proc::SessionGet,
            "session.kill" => Proc::SessionKill,
            "session.kill_by_authid" => Proc::SessionKillByAuthid,
            "session.kill_by_authrole" => Proc::SessionKillByAuthrole,
            "session.kill_all" => Proc::SessionKillAll,
            "session.add_testament" => Proc::AddTestament,
            "session.flush_testaments" => Proc::FlushTestaments,
            "registration.list" => Proc::RegList,
            "registration.lookup" => Proc::RegLookup,
            "registration.match" => Proc::RegMatch,
            "registration.get" => Proc::RegGet,
            "registration.list_callees" => Proc::RegListCallees,
            "registration.count_callees" => Proc::RegCountCallees,
            "subscription.list" => Proc::SubList,
            "subscription.lookup" => Proc::SubLookup,
            "subscription.match" => Proc::SubMatch,
            "subscription.get" => Proc::SubGet,
            "subscription.list_subscribers" => Proc::SubListSubscribers,
            "subscription.count_subscribers" => Proc::SubCountSubscribers,
            "subscription.get_events" => Proc::SubGetEvents,
            _ => return None,
        })
    }
}

/// An error URI with an optional one-string explanation.
type Failure = (&'static str, Option<&'static str>);
type Reply = Result<Vec<Value>, Failure>;

const BAD_ARGS: Failure = (uris::INVALID_ARGUMENT, Some("invalid arguments"));

fn id_list<T: Into<Value> + Copy>(v: &[T]) -> Value {
    Value::List(v.iter().map(|x| (*x).into()).collect())
}

fn arg_id<T: TryFrom<u64>>(args: &[Value], i: usize) -> Option<T> {
    args.get(i)?.as_u64().and_then(|n| T::try_from(n).ok())
}

fn arg_str(args: &[Value], i: usize) -> Option<&str> {
    args.get(i)?.as_str()
}

fn role_filter(args: &[Value]) -> Result<Option<Vec<&str>>, Failure> {
    match args.first() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(l)) => l
            .iter()
            .map(|v| v.as_str().ok_or(BAD_ARGS))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(BAD_ARGS),
    }
}

/// `reason` and `message` of the kill procedures.
fn kill_args(kwargs: &Dict, rules: UriRules) -> Result<(Uri, Option<String>), Failure> {
    let reason = match kwargs.get("reason") {
        None | Some(Value::Null) => Uri::from(uris::KILLED),
        Some(Value::Str(s)) => {
            let u = Uri::from_wire(s);
            if s.is_empty() || !u.is_valid(rules) {
                return Err((uris::INVALID_URI, None));
            }
            u
        }
        Some(_) => return Err((uris::INVALID_URI, None)),
    };
    let message = match kwargs.get("message") {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) => Some(s.clone()),
        Some(_) => return Err(BAD_ARGS),
    };
    Ok((reason, message))
}

fn scope_index(kwargs: &Dict) -> Result<usize, Failure> {
    match kwargs.get("scope") {
        None | Some(Value::Null) => Ok(1),
        Some(Value::Str(s)) if s == "destroyed" => Ok(1),
        Some(Value::Str(s)) if s == "detached" => Ok(0),
        Some(_) => Err((
            uris::TESTAMENT_ERROR,
            Some("scope must be destroyed or detached"),
        )),
    }
}

fn lookup_policy(args: &[Value]) -> Option<MatchPolicy> {
    match args.get(1) {
        None | Some(Value::Null) => Some(MatchPolicy::Exact),
        Some(Value::Dict(o)) => policy_of(o),
        Some(_) => None,
    }
}

impl Realm {
    /// Publishes the meta events the broker and dealer recorded (only those someone
    /// subscribed to are built at all).
    #[inline]
    pub(crate) fn flush_meta(&mut self, ctx: &mut Ctx<'_>) {
        if !ctx.meta.is_empty() {
            self.publish_recorded(ctx);
        }
    }

    fn publish_recorded(&mut self, ctx: &mut Ctx<'_>) {
        let mut events = std::mem::take(ctx.meta);
        for e in events.drain(..) {
            let topic = e.topic();
            if !self.broker.has_match(topic) {
                continue;
            }
            self.publish_meta(ctx, topic, e.payload());
        }
        // Keep the buffer's capacity.
        *ctx.meta = events;
    }

    /// Publishes a meta event (the router is the publisher).
    pub(crate) fn publish_meta(
        &mut self,
        ctx: &mut Ctx<'_>,
        topic: &'static str,
        payload: Payload,
    ) {
        let topic = Uri::from(topic);
        self.broker.publish_from(
            ctx,
            &self.sessions,
            Publisher::ROUTER,
            &topic,
            &Dict::new(),
            payload,
        );
    }

    /// `wamp.session.on_join` for a session that just joined.
    pub(crate) fn announce_join(&mut self, ctx: &mut Ctx<'_>, sid: SessionId) {
        if !self.broker.has_match(ON_JOIN) {
            return;
        }
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        let details = session_details(sid, s);
        self.publish_meta(ctx, ON_JOIN, Payload::args(vec![Value::Dict(details)]));
    }

    /// Testaments and `wamp.session.on_leave` of a session that left.
    pub(crate) fn announce_leave(&mut self, ctx: &mut Ctx<'_>, sid: SessionId, session: &Session) {
        for bucket in &session.testaments {
            for t in bucket {
                let from = Publisher {
                    session: Some(sid),
                    identity: Some(&session.identity),
                    disclose: t.disclose,
                };
                self.broker.publish_from(
                    ctx,
                    &self.sessions,
                    from,
                    &t.topic,
                    &t.options,
                    t.payload.clone(),
                );
            }
        }
        if !self.broker.has_match(ON_LEAVE) {
            return;
        }
        let mut args = vec![Value::from(sid)];
        if self.on_leave_with_identity {
            args.push(Value::from(&*session.identity.authid));
            args.push(Value::from(&*session.identity.authrole));
        }
        self.publish_meta(ctx, ON_LEAVE, Payload::args(args));
    }

    /// A CALL of a meta procedure, authorized by `grants` (the CALL's, then the extra one
    /// `get_events` and `add_testament` need).
    pub(crate) fn meta_call(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        proc_: Proc,
        call: Call,
        grants: [Option<AuthzDecision>; 2],
    ) {
        let Some(conn) = self.sessions.get(&sid).map(|s| s.conn) else {
            return;
        };
        let request = call.request;
        let reply = if !grants[0].is_some_and(|g| g.allow) {
            Err((uris::NOT_AUTHORIZED, None))
        } else {
            let (args, kwargs) = match &call.payload {
                Payload::Args { args, kwargs } => (args.as_slice(), kwargs.clone()),
                Payload::Transparent(_) => (&[][..], Dict::new()),
            };
            let args = args.to_vec();
            self.meta_reply(ctx, sid, proc_, &args, &kwargs, grants[1])
        };
        send_reply(ctx, conn, request, reply);
    }

    fn meta_reply(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        proc_: Proc,
        args: &[Value],
        kwargs: &Dict,
        extra_grant: Option<AuthzDecision>,
    ) -> Reply {
        let rules = ctx.config.uri_rules;
        match proc_ {
            Proc::SessionCount | Proc::SessionList => {
                let filter = role_filter(args)?;
                let mut ids: Vec<SessionId> = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| {
                        filter
                            .as_ref()
                            .is_none_or(|f| f.contains(&&*s.identity.authrole))
                    })
                    .map(|(id, _)| *id)
                    .collect();
                if proc_ == Proc::SessionCount {
                    return Ok(vec![Value::from(ids.len() as u64)]);
                }
                ids.sort_unstable();
                Ok(vec![id_list(&ids)])
            }
            Proc::SessionGet => {
                let id: SessionId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let s = self
                    .sessions
                    .get(&id)
                    .ok_or((uris::NO_SUCH_SESSION, None))?;
                Ok(vec![Value::Dict(session_details(id, s))])
            }
            Proc::SessionKill => {
                let id: SessionId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let (reason, message) = kill_args(kwargs, rules)?;
                if id == sid || !self.sessions.contains_key(&id) {
                    return Err((uris::NO_SUCH_SESSION, None));
                }
                ctx.kills.push(Kill {
                    session: id,
                    reason,
                    message,
                    quiet: false,
                });
                Ok(Vec::new())
            }
            Proc::SessionKillByAuthid | Proc::SessionKillByAuthrole | Proc::SessionKillAll => {
                let key = match proc_ {
                    Proc::SessionKillAll => None,
                    _ => Some(arg_str(args, 0).ok_or(BAD_ARGS)?.to_owned()),
                };
                let (reason, message) = kill_args(kwargs, rules)?;
                let mut victims: Vec<SessionId> = self
                    .sessions
                    .iter()
                    .filter(|(id, _)| **id != sid)
                    .filter(|(_, s)| match (proc_, &key) {
                        (Proc::SessionKillByAuthid, Some(k)) => &*s.identity.authid == k,
                        (Proc::SessionKillByAuthrole, Some(k)) => &*s.identity.authrole == k,
                        _ => true,
                    })
                    .map(|(id, _)| *id)
                    .collect();
                victims.sort_unstable();
                let quiet = proc_ == Proc::SessionKillAll;
                for v in &victims {
                    ctx.kills.push(Kill {
                        session: *v,
                        reason: reason.clone(),
                        message: message.clone(),
                        quiet,
                    });
                }
                Ok(vec![match proc_ {
                    Proc::SessionKillByAuthid => id_list(&victims),
                    _ => Value::from(victims.len() as u64),
                }])
            }
            Proc::AddTestament => self.add_testament(ctx, sid, args, kwargs, extra_grant),
            Proc::FlushTestaments => {
                let scope = scope_index(kwargs)?;
                let s = self.sessions.get_mut(&sid).ok_or(BAD_ARGS)?;
                let n = s.testaments.get_mut(scope).map_or(0, |b| {
                    let n = b.len();
                    b.clear();
                    n
                });
                Ok(vec![Value::from(n as u64)])
            }
            Proc::RegList => {
                let [e, p, w] = self.dealer.list();
                Ok(vec![Value::Dict(
                    Dict::with_capacity(3)
                        .with("exact", id_list(&e))
                        .with("prefix", id_list(&p))
                        .with("wildcard", id_list(&w)),
                )])
            }
            Proc::SubList => {
                let [e, p, w] = self.broker.list();
                Ok(vec![Value::Dict(
                    Dict::with_capacity(3)
                        .with("exact", id_list(&e))
                        .with("prefix", id_list(&p))
                        .with("wildcard", id_list(&w)),
                )])
            }
            Proc::RegLookup => {
                let uri = arg_str(args, 0).ok_or(BAD_ARGS)?;
                let policy = lookup_policy(args).ok_or(BAD_ARGS)?;
                Ok(vec![
                    self.dealer
                        .lookup(policy, uri)
                        .map_or(Value::Null, Value::from),
                ])
            }
            Proc::SubLookup => {
                let uri = arg_str(args, 0).ok_or(BAD_ARGS)?;
                let policy = lookup_policy(args).ok_or(BAD_ARGS)?;
                Ok(vec![
                    self.broker
                        .lookup(policy, uri)
                        .map_or(Value::Null, Value::from),
                ])
            }
            Proc::RegMatch => {
                let uri = arg_str(args, 0).ok_or(BAD_ARGS)?;
                Ok(vec![
                    self.dealer.best_match(uri).map_or(Value::Null, Value::from),
                ])
            }
            Proc::SubMatch => {
                let uri = arg_str(args, 0).ok_or(BAD_ARGS)?;
                let ids = self.broker.matching(uri);
                Ok(vec![if ids.is_empty() {
                    Value::Null
                } else {
                    id_list(&ids)
                }])
            }
            Proc::RegGet => {
                let id: RegistrationId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let r = self
                    .dealer
                    .info(id)
                    .ok_or((uris::NO_SUCH_REGISTRATION, None))?;
                Ok(vec![Value::Dict(registration_details(
                    id, &r.uri, r.policy, r.invoke, r.created,
                ))])
            }
            Proc::SubGet => {
                let id: SubscriptionId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let s = self
                    .broker
                    .info(id)
                    .ok_or((uris::NO_SUCH_SUBSCRIPTION, None))?;
                Ok(vec![Value::Dict(subscription_details(
                    id, &s.uri, s.policy, s.created,
                ))])
            }
            Proc::RegListCallees | Proc::RegCountCallees => {
                let id: RegistrationId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let c = self
                    .dealer
                    .callees_of(id)
                    .ok_or((uris::NO_SUCH_REGISTRATION, None))?;
                Ok(vec![if proc_ == Proc::RegListCallees {
                    id_list(&c)
                } else {
                    Value::from(c.len() as u64)
                }])
            }
            Proc::SubListSubscribers | Proc::SubCountSubscribers => {
                let id: SubscriptionId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let c = self
                    .broker
                    .subscribers_of(id)
                    .ok_or((uris::NO_SUCH_SUBSCRIPTION, None))?;
                Ok(vec![if proc_ == Proc::SubListSubscribers {
                    id_list(&c)
                } else {
                    Value::from(c.len() as u64)
                }])
            }
            Proc::SubGetEvents => {
                let id: SubscriptionId = arg_id(args, 0).ok_or(BAD_ARGS)?;
                let info = self
                    .broker
                    .info(id)
                    .ok_or((uris::NO_SUCH_SUBSCRIPTION, None))?;
                if !extra_grant.is_some_and(|g| g.allow) {
                    return Err((uris::NOT_AUTHORIZED, None));
                }
                let identity = self
                    .sessions
                    .get(&sid)
                    .map(|s| s.identity.clone())
                    .ok_or(BAD_ARGS)?;
                let events = self
                    .broker
                    .history
                    .events(id, &info.uri, info.policy, sid, &identity, args, kwargs)
                    .map_err(|e| (e, None))?;
                Ok(vec![Value::List(events)])
            }
        }
    }

    fn add_testament(
        &mut self,
        ctx: &mut Ctx<'_>,
        sid: SessionId,
        args: &[Value],
        kwargs: &Dict,
        grant: Option<AuthzDecision>,
    ) -> Reply {
        let topic = Uri::from_wire(arg_str(args, 0).ok_or(BAD_ARGS)?);
        if !publish_valid(&topic, ctx.config.uri_rules) {
            return Err((uris::INVALID_URI, None));
        }
        let t_args = match args.get(1) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(l)) => l.clone(),
            Some(_) => return Err(BAD_ARGS),
        };
        let t_kwargs = match args.get(2) {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d.clone(),
            Some(_) => return Err(BAD_ARGS),
        };
        let mut options = match kwargs.get("publish_options") {
            None | Some(Value::Null) => Dict::new(),
            Some(Value::Dict(d)) => d.clone(),
            Some(_) => return Err(BAD_ARGS),
        };
        // Crossbar's rule: no acknowledgement, and the (gone) publisher is excluded anyway.
        options.remove("acknowledge");
        options.remove("exclude_me");
        let scope = scope_index(kwargs)?;
        let Some(grant) = grant.filter(|g| g.allow) else {
            return Err((uris::NOT_AUTHORIZED, None));
        };
        let max = ctx.config.max_testaments_per_session;
        let s = self.sessions.get_mut(&sid).ok_or(BAD_ARGS)?;
        let bucket = s.testaments.get_mut(scope).ok_or(BAD_ARGS)?;
        if bucket.len() >= max {
            return Err((uris::TESTAMENT_ERROR, Some("testament limit reached")));
        }
        let disclose = grant.disclose || options.get_bool("disclose_me") == Some(true);
        bucket.push(Testament {
            topic,
            options,
            payload: Payload::new(t_args, t_kwargs),
            disclose,
        });
        Ok(Vec::new())
    }
}

fn send_reply(ctx: &mut Ctx<'_>, conn: crate::action::ConnId, request: RequestId, reply: Reply) {
    match reply {
        Ok(args) => ctx.send(
            conn,
            CallResult {
                request,
                details: Dict::new(),
                payload: Payload::args(args),
            },
        ),
        Err((uri, message)) => {
            let payload = match message {
                Some(m) => Payload::args(vec![Value::from(m)]),
                None => Payload::empty(),
            };
            ctx.send(
                conn,
                ErrorMsg {
                    request_type: MessageKind::Call,
                    request,
                    details: Dict::new(),
                    error: Uri::from(uri),
                    payload,
                },
            );
        }
    }
}
