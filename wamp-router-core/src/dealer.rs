//! The dealer: registrations (exact, prefix, wildcard; shared with an invocation policy),
//! call routing with the spec's precedence, caller disclosure, progressive results and
//! invocations, cancel modes, router-enforced timeouts, and the bookkeeping that ends every
//! CALL with exactly one RESULT or ERROR whatever happens.

use std::collections::BTreeMap;
use std::time::Duration;

use wamp_proto::id::{RegistrationId, RequestId, SessionId};
use wamp_proto::message::{
    Call, CallResult, Cancel, Error as ErrorMsg, Interrupt, Invocation, Register, Registered,
    Unregister, Unregistered, Yield,
};
use wamp_proto::{Dict, MatchPolicy, MessageKind, Payload, Uri, Value};

use crate::action::ConnId;
use crate::ctx::{Ctx, Timer};
use crate::decision::AuthzDecision;
use crate::error::ProtocolViolation;
use crate::ids::{self, REQUEST_MAX, REQUEST_MIN};
use crate::index::{FastMap, HashSeed, UriIndex, maybe_shrink};
use crate::meta::MetaEvent;
use crate::realm::check_request_id;
use crate::session::{ClientFeatures, Session, Sessions};
use crate::timer::TimerKey;
use crate::uris;

/// How a shared registration picks its callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InvokePolicy {
    Single,
    RoundRobin,
    Random,
    First,
    Last,
}

impl InvokePolicy {
    fn parse(options: &Dict) -> Option<Self> {
        Some(match options.get("invoke") {
            None => InvokePolicy::Single,
            Some(v) => match v.as_str()? {
                "single" => InvokePolicy::Single,
                "roundrobin" => InvokePolicy::RoundRobin,
                "random" => InvokePolicy::Random,
                "first" => InvokePolicy::First,
                "last" => InvokePolicy::Last,
                _ => return None,
            },
        })
    }

    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            InvokePolicy::Single => "single",
            InvokePolicy::RoundRobin => "roundrobin",
            InvokePolicy::Random => "random",
            InvokePolicy::First => "first",
            InvokePolicy::Last => "last",
        }
    }
}

fn register_policy(options: &Dict) -> Option<MatchPolicy> {
    match options.get("match") {
        None => Some(MatchPolicy::Exact),
        Some(v) => v.as_str().and_then(MatchPolicy::parse),
    }
}

/// Whether a REGISTER would pass the dealer's checks before authorization.
pub(crate) fn register_valid(options: &Dict, procedure: &Uri, rules: wamp_proto::UriRules) -> bool {
    let (Some(policy), Some(_)) = (register_policy(options), InvokePolicy::parse(options)) else {
        return false;
    };
    procedure.is_valid_pattern(policy, rules) && !procedure.is_reserved()
}

/// What the registration meta API shows of a registration.
pub(crate) struct RegistrationInfo {
    pub(crate) uri: Uri,
    pub(crate) policy: MatchPolicy,
    pub(crate) invoke: InvokePolicy,
    pub(crate) created: u64,
}

#[derive(Debug, Clone, Copy)]
struct Callee {
    session: SessionId,
    conn: ConnId,
    disclose_caller: bool,
    forward_timeout: bool,
}

#[derive(Debug)]
struct Registration {
    uri: Uri,
    policy: MatchPolicy,
    invoke: InvokePolicy,
    /// Wall-clock creation time (ms since the Unix epoch).
    created: u64,
    /// In registration order.
    callees: Vec<Callee>,
    rr_next: usize,
}

#[derive(Debug)]
struct PendingCall {
    caller: SessionId,
    caller_conn: ConnId,
    caller_request: RequestId,
    callee: SessionId,
    callee_conn: ConnId,
    invocation: RequestId,
    registration: RegistrationId,
    procedure: Uri,
    /// `receive_progress` was forwarded: progressive YIELDs become progressive RESULTs.
    receive_progress: bool,
    /// The caller is still sending progressive CALL chunks.
    caller_streaming: bool,
    /// The call is a progressive call invocation (chunks share its request ID).
    streamed: bool,
    /// The callee announced call canceling (INTERRUPT allowed).
    callee_cancel: bool,
    /// CANCEL `kill` was sent: waiting for the callee's final answer.
    killing: bool,
    /// Router-enforced timeout (restarted by each progressive result).
    timeout: Option<Duration>,
    timer: Option<TimerKey>,
}

/// Statistics of one dealer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DealerStats {
    /// Registrations (distinct procedure+match).
    pub registrations: usize,
    /// Callee entries over all registrations.
    pub callees: usize,
    /// Calls in flight.
    pub pending_calls: usize,
}

/// How many finished progressive-invocation calls a session remembers, so that late CALL
/// chunks for them are discarded instead of starting new calls.
const FINISHED_STREAMS: usize = 16;

/// The dealer of one realm.
#[derive(Debug)]
pub(crate) struct Dealer {
    index: UriIndex<RegistrationId>,
    regs: FastMap<RegistrationId, Registration>,
    callees: usize,
    calls: FastMap<u64, PendingCall>,
    next_call: u64,
    by_caller: BTreeMap<(SessionId, RequestId), u64>,
    by_callee: BTreeMap<(SessionId, RequestId), u64>,
    /// Per caller: recently finished progressive-invocation calls (bounded).
    finished_streams: BTreeMap<SessionId, Vec<RequestId>>,
}

fn caller_error(
    ctx: &mut Ctx<'_>,
    conn: ConnId,
    request: RequestId,
    uri: &'static str,
    msg: Option<&'static str>,
) {
    ctx.error(conn, MessageKind::Call, request, uri, msg);
}

impl Dealer {
    pub(crate) fn new(seed: HashSeed) -> Self {
        Dealer {
            index: UriIndex::new(seed),
            regs: seed.map(),
            callees: 0,
            calls: seed.map(),
            next_call: 0,
            by_caller: BTreeMap::new(),
            by_callee: BTreeMap::new(),
            finished_streams: BTreeMap::new(),
        }
    }

    pub(crate) fn stats(&self) -> DealerStats {
        DealerStats {
            registrations: self.regs.len(),
            callees: self.callees,
            pending_calls: self.calls.len(),
        }
    }

    /// Whether `(sid, request)` names a pending call (a progressive CALL continuation).
    pub(crate) fn is_pending_call(&self, sid: SessionId, request: RequestId) -> bool {
        self.by_caller.contains_key(&(sid, request))
    }

    /// The registration `id`.
    pub(crate) fn info(&self, id: RegistrationId) -> Option<RegistrationInfo> {
        self.regs.get(&id).map(|r| RegistrationInfo {
            uri: r.uri.clone(),
            policy: r.policy,
            invoke: r.invoke,
            created: r.created,
        })
    }

    /// The callees of `id`, in registration order.
    pub(crate) fn callees_of(&self, id: RegistrationId) -> Option<Vec<SessionId>> {
        self.regs
            .get(&id)
            .map(|r| r.callees.iter().map(|c| c.session).collect())
    }

    /// Every registration ID by match policy (exact, prefix, wildcard), each sorted.
    pub(crate) fn list(&self) -> [Vec<RegistrationId>; 3] {
        let mut out: [Vec<RegistrationId>; 3] = Default::default();
        for (id, r) in &self.regs {
            let i = match r.policy {
                MatchPolicy::Exact => 0,
                MatchPolicy::Prefix => 1,
                MatchPolicy::Wildcard => 2,
            };
            out[i].push(*id);
        }
        for v in &mut out {
            v.sort_unstable();
        }
        out
    }

    /// The registration for exactly this pattern and policy.
    pub(crate) fn lookup(&self, policy: MatchPolicy, uri: &str) -> Option<RegistrationId> {
        self.index.get(policy, uri)
    }

    /// The registration a call to `uri` would reach.
    pub(crate) fn best_match(&self, uri: &str) -> Option<RegistrationId> {
        self.index.best_match(uri).map(|(id, _)| id)
    }

    /// REGISTER.
    pub(crate) fn register(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Register,
        grant: Option<AuthzDecision>,
    ) {
        let Some(session) = sessions.get_mut(&sid) else {
            return;
        };
        let conn = session.conn;
        let kind = MessageKind::Register;
        let policy = register_policy(&msg.options);
        let (Some(policy), Some(invoke)) = (policy, InvokePolicy::parse(&msg.options)) else {
            ctx.error(
                conn,
                kind,
                msg.request,
                uris::INVALID_ARGUMENT,
                Some("invalid option"),
            );
            return;
        };
        if !msg.procedure.is_valid_pattern(policy, ctx.config.uri_rules)
            || msg.procedure.is_reserved()
        {
            ctx.error(conn, kind, msg.request, uris::INVALID_URI, None);
            return;
        }
        if !grant.is_some_and(|g| g.allow) {
            ctx.error(conn, kind, msg.request, uris::NOT_AUTHORIZED, None);
            return;
        }
        if session.registrations.len() >= ctx.config.max_registrations_per_session {
            ctx.error(
                conn,
                kind,
                msg.request,
                uris::NOT_AUTHORIZED,
                Some("registration limit reached"),
            );
            return;
        }
        let callee = Callee {
            session: sid,
            conn,
            disclose_caller: msg.options.get_bool("disclose_caller") == Some(true),
            forward_timeout: msg.options.get_bool("forward_timeout") == Some(true),
        };
        let id = match self.index.get(policy, msg.procedure.as_str()) {
            Some(id) => {
                let Some(reg) = self.regs.get_mut(&id) else {
                    return;
                };
                if reg.invoke == InvokePolicy::Single
                    || invoke == InvokePolicy::Single
                    || reg.callees.iter().any(|c| c.session == sid)
                {
                    ctx.error(
                        conn,
                        kind,
                        msg.request,
                        uris::PROCEDURE_ALREADY_EXISTS,
                        None,
                    );
                    return;
                }
                if reg.invoke != invoke {
                    ctx.error(
                        conn,
                        kind,
                        msg.request,
                        uris::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY,
                        None,
                    );
                    return;
                }
                reg.callees.push(callee);
                id
            }
            None => {
                let id = ids::next_id(&mut ctx.ids.registration, |id| self.regs.contains_key(&id));
                self.regs.insert(
                    id,
                    Registration {
                        uri: msg.procedure.clone(),
                        policy,
                        invoke,
                        created: ctx.unix_millis,
                        callees: vec![callee],
                        rr_next: 0,
                    },
                );
                self.index.insert(policy, msg.procedure.clone(), id);
                ctx.meta.push(MetaEvent::RegistrationCreated {
                    session: sid,
                    id,
                    uri: msg.procedure.clone(),
                    policy,
                    invoke,
                    created: ctx.unix_millis,
                });
                id
            }
        };
        self.callees += 1;
        session.registrations.push(id);
        ctx.meta.push(MetaEvent::Registered { session: sid, id });
        ctx.send(
            conn,
            Registered {
                request: msg.request,
                registration: id,
            },
        );
    }

    /// Removes callee `sid` from registration `id` (deleting it when empty). Returns whether
    /// `sid` was a callee of it.
    fn remove_callee(
        &mut self,
        meta: &mut Vec<MetaEvent>,
        id: RegistrationId,
        sid: SessionId,
    ) -> bool {
        let Some(reg) = self.regs.get_mut(&id) else {
            return false;
        };
        let Some(pos) = reg.callees.iter().position(|c| c.session == sid) else {
            return false;
        };
        reg.callees.remove(pos);
        self.callees -= 1;
        meta.push(MetaEvent::Unregistered { session: sid, id });
        if pos < reg.rr_next {
            reg.rr_next -= 1;
        }
        if reg.rr_next >= reg.callees.len() {
            reg.rr_next = 0;
        }
        if reg.callees.is_empty() {
            let (policy, uri) = (reg.policy, reg.uri.clone());
            self.index.remove(policy, uri.as_str());
            self.regs.remove(&id);
            maybe_shrink(&mut self.regs);
            meta.push(MetaEvent::RegistrationDeleted { session: sid, id });
        }
        true
    }

    /// UNREGISTER. Invocations already sent stay pending and complete normally.
    pub(crate) fn unregister(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Unregister,
    ) {
        let Some(session) = sessions.get_mut(&sid) else {
            return;
        };
        if !self.remove_callee(ctx.meta, msg.registration, sid) {
            ctx.error(
                session.conn,
                MessageKind::Unregister,
                msg.request,
                uris::NO_SUCH_REGISTRATION,
                None,
            );
            return;
        }
        if let Some(pos) = session
            .registrations
            .iter()
            .position(|r| *r == msg.registration)
        {
            session.registrations.swap_remove(pos);
        }
        ctx.send(
            session.conn,
            Unregistered {
                request: Some(msg.request),
                details: Dict::new(),
            },
        );
    }

    /// CALL (a new call, or a chunk of a progressive call invocation).
    pub(crate) fn call(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Call,
        grant: Option<AuthzDecision>,
    ) -> Result<(), ProtocolViolation> {
        let progress = msg.options.get_bool("progress") == Some(true);
        if let Some(&key) = self.by_caller.get(&(sid, msg.request)) {
            return self.continue_call(ctx, key, msg, progress);
        }
        let strict = ctx.config.strict_request_ids;
        let Some(session) = sessions.get_mut(&sid) else {
            return Ok(());
        };
        // Late chunk of a finished progressive call: discard (spec's completed-call race).
        if self
            .finished_streams
            .get(&sid)
            .is_some_and(|v| v.contains(&msg.request))
        {
            return Ok(());
        }
        if strict && msg.request.get() <= session.last_request {
            // Continuation candidate matching no active call: discard.
            return Ok(());
        }
        check_request_id(strict, session, msg.request)?;
        if progress
            && !session
                .features
                .contains(ClientFeatures::CALLER_PROGRESSIVE_INVOCATIONS)
        {
            return Err(ProtocolViolation::ProgressNotAnnounced);
        }
        let conn = session.conn;
        if !msg.procedure.is_valid(ctx.config.uri_rules) {
            caller_error(ctx, conn, msg.request, uris::INVALID_URI, None);
            return Ok(());
        }
        let Some(grant) = grant.filter(|g| g.allow) else {
            caller_error(ctx, conn, msg.request, uris::NOT_AUTHORIZED, None);
            return Ok(());
        };
        if session.pending_calls >= ctx.config.max_pending_calls_per_session {
            caller_error(
                ctx,
                conn,
                msg.request,
                uris::NOT_AUTHORIZED,
                Some("pending call limit reached"),
            );
            return Ok(());
        }
        let caller_identity = session.identity.clone();
        let Some((reg_id, policy)) = self.index.best_match(msg.procedure.as_str()) else {
            caller_error(ctx, conn, msg.request, uris::NO_SUCH_PROCEDURE, None);
            return Ok(());
        };
        let Some(reg) = self.regs.get_mut(&reg_id) else {
            caller_error(ctx, conn, msg.request, uris::NO_SUCH_PROCEDURE, None);
            return Ok(());
        };
        let n = reg.callees.len();
        let pick = match reg.invoke {
            InvokePolicy::Single | InvokePolicy::First => 0,
            InvokePolicy::Last => n.saturating_sub(1),
            InvokePolicy::RoundRobin => {
                let i = if reg.rr_next < n { reg.rr_next } else { 0 };
                reg.rr_next = if i + 1 < n { i + 1 } else { 0 };
                i
            }
            InvokePolicy::Random => {
                // n is at most the number of sessions: the modulo bias is negligible.
                usize::try_from(ctx.entropy.next_u64() % n.max(1) as u64).unwrap_or(0)
            }
        };
        let Some(callee) = reg.callees.get(pick).copied() else {
            caller_error(ctx, conn, msg.request, uris::NO_SUCH_PROCEDURE, None);
            return Ok(());
        };
        let Some(callee_session) = sessions.get_mut(&callee.session) else {
            caller_error(ctx, conn, msg.request, uris::NO_AVAILABLE_CALLEE, None);
            return Ok(());
        };
        let cf = callee_session.features;
        let callee_cancel = cf.contains(ClientFeatures::CALLEE_CALL_CANCELING);
        if progress
            && !(cf.contains(ClientFeatures::CALLEE_PROGRESSIVE_INVOCATIONS) && callee_cancel)
        {
            caller_error(ctx, conn, msg.request, uris::FEATURE_NOT_SUPPORTED, None);
            return Ok(());
        }
        if callee_session.pending_invocations >= ctx.config.max_pending_invocations_per_session {
            caller_error(ctx, conn, msg.request, uris::NO_AVAILABLE_CALLEE, None);
            return Ok(());
        }
        let invocation = callee_session.invocations.next_id();
        callee_session.pending_invocations += 1;

        let mut details = Dict::new();
        // Crossbar forwards `receive_progress` to every callee announcing progressive call
        // results, also without call canceling (autobahn-js announces no call canceling);
        // the spec would disregard the feature then.
        let receive_progress = msg.options.get_bool("receive_progress") == Some(true)
            && cf.contains(ClientFeatures::CALLEE_PROGRESSIVE_RESULTS);
        if receive_progress {
            details.insert("receive_progress", true);
        }
        if progress {
            details.insert("progress", true);
        }
        let timeout_ms = msg.options.get_u64("timeout").unwrap_or(0);
        let mut timeout = None;
        if timeout_ms > 0 {
            if callee.forward_timeout && cf.contains(ClientFeatures::CALLEE_CALL_TIMEOUT) {
                details.insert("timeout", timeout_ms);
            } else {
                timeout = Some(Duration::from_millis(timeout_ms));
            }
        }
        if grant.disclose
            || msg.options.get_bool("disclose_me") == Some(true)
            || callee.disclose_caller
            || ctx.config.disclose_caller
        {
            details.insert("caller", sid);
            details.insert("caller_authid", &*caller_identity.authid);
            details.insert("caller_authrole", &*caller_identity.authrole);
        }
        if policy != MatchPolicy::Exact {
            details.insert("procedure", msg.procedure.as_str());
        }

        self.next_call += 1;
        let key = self.next_call;
        // A deadline past the clock's range is no deadline.
        let timer = timeout
            .and_then(|t| ctx.now.checked_add(t))
            .map(|deadline| {
                ctx.timers.insert(
                    deadline,
                    Timer::Call {
                        realm: ctx.realm,
                        call: key,
                    },
                )
            });
        if let Some(s) = sessions.get_mut(&sid) {
            s.pending_calls += 1;
        }
        self.by_caller.insert((sid, msg.request), key);
        self.by_callee.insert((callee.session, invocation), key);
        self.calls.insert(
            key,
            PendingCall {
                caller: sid,
                caller_conn: conn,
                caller_request: msg.request,
                callee: callee.session,
                callee_conn: callee.conn,
                invocation,
                registration: reg_id,
                procedure: msg.procedure,
                receive_progress,
                caller_streaming: progress,
                streamed: progress,
                callee_cancel,
                killing: false,
                timeout,
                timer,
            },
        );
        ctx.send(
            callee.conn,
            Invocation {
                request: invocation,
                registration: reg_id,
                details,
                payload: msg.payload,
            },
        );
        Ok(())
    }

    /// A CALL whose request ID belongs to a pending call.
    fn continue_call(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: u64,
        msg: Call,
        progress: bool,
    ) -> Result<(), ProtocolViolation> {
        let Some(call) = self.calls.get_mut(&key) else {
            return Ok(());
        };
        if !call.caller_streaming {
            return Err(ProtocolViolation::DuplicateRequestId);
        }
        if call.procedure != msg.procedure {
            return Err(ProtocolViolation::ProgressProcedureMismatch);
        }
        if call.killing {
            return Ok(());
        }
        call.caller_streaming = progress;
        let mut details = Dict::new();
        if progress {
            details.insert("progress", true);
        }
        ctx.send(
            call.callee_conn,
            Invocation {
                request: call.invocation,
                registration: call.registration,
                details,
                payload: msg.payload,
            },
        );
        Ok(())
    }

    /// Removes a call and everything that refers to it.
    fn finish(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        key: u64,
    ) -> Option<PendingCall> {
        let call = self.calls.remove(&key)?;
        maybe_shrink(&mut self.calls);
        self.by_caller.remove(&(call.caller, call.caller_request));
        self.by_callee.remove(&(call.callee, call.invocation));
        if let Some(t) = call.timer {
            ctx.timers.remove(t);
        }
        if let Some(s) = sessions.get_mut(&call.caller) {
            s.pending_calls = s.pending_calls.saturating_sub(1);
            if call.streamed {
                let v = self.finished_streams.entry(call.caller).or_default();
                if v.len() >= FINISHED_STREAMS {
                    v.remove(0);
                }
                v.push(call.caller_request);
            }
        }
        if let Some(s) = sessions.get_mut(&call.callee) {
            s.pending_invocations = s.pending_invocations.saturating_sub(1);
        }
        Some(call)
    }

    /// The pending call an INVOCATION reply refers to; a reply to an INVOCATION that was
    /// issued but is no longer pending is discarded (`Ok(None)`), one to an INVOCATION never
    /// issued is a protocol violation.
    fn reply_target(
        &self,
        sessions: &Sessions,
        sid: SessionId,
        request: RequestId,
    ) -> Result<Option<u64>, ProtocolViolation> {
        if let Some(k) = self.by_callee.get(&(sid, request)) {
            return Ok(Some(*k));
        }
        let issued = sessions.get(&sid).map_or(0, |s| s.invocations.last());
        if request.get() <= issued {
            Ok(None)
        } else {
            Err(ProtocolViolation::UnknownInvocation)
        }
    }

    /// YIELD.
    pub(crate) fn yield_(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Yield,
    ) -> Result<(), ProtocolViolation> {
        let Some(key) = self.reply_target(sessions, sid, msg.request)? else {
            return Ok(());
        };
        if msg.options.get_bool("progress") == Some(true) {
            let Some(call) = self.calls.get_mut(&key) else {
                return Ok(());
            };
            if !call.receive_progress || call.killing {
                return Ok(());
            }
            if let (Some(t), Some(d)) = (call.timer, call.timeout) {
                ctx.timers.remove(t);
                call.timer = ctx.now.checked_add(d).map(|deadline| {
                    ctx.timers.insert(
                        deadline,
                        Timer::Call {
                            realm: ctx.realm,
                            call: key,
                        },
                    )
                });
            }
            let (to, request) = (call.caller_conn, call.caller_request);
            ctx.send(
                to,
                CallResult {
                    request,
                    details: Dict::new().with("progress", true),
                    payload: msg.payload,
                },
            );
            return Ok(());
        }
        if let Some(call) = self.finish(ctx, sessions, key) {
            ctx.send(
                call.caller_conn,
                CallResult {
                    request: call.caller_request,
                    details: Dict::new(),
                    payload: msg.payload,
                },
            );
        }
        Ok(())
    }

    /// ERROR from a callee for an INVOCATION.
    pub(crate) fn invocation_error(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: ErrorMsg,
    ) -> Result<(), ProtocolViolation> {
        let Some(key) = self.reply_target(sessions, sid, msg.request)? else {
            return Ok(());
        };
        if let Some(call) = self.finish(ctx, sessions, key) {
            ctx.send(
                call.caller_conn,
                ErrorMsg {
                    request_type: MessageKind::Call,
                    request: call.caller_request,
                    details: msg.details,
                    error: msg.error,
                    payload: msg.payload,
                },
            );
        }
        Ok(())
    }

    /// CANCEL. Unknown or finished calls are ignored, so are repeated CANCELs.
    pub(crate) fn cancel(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Cancel,
    ) {
        let Some(&key) = self.by_caller.get(&(sid, msg.request)) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if call.killing {
            return;
        }
        // Absent mode: Crossbar's behaviour (interrupt, answer the caller at once).
        let mut mode = msg.options.get_str("mode").unwrap_or("killnowait");
        if !call.callee_cancel {
            mode = "skip";
        }
        match mode {
            "kill" => {
                call.killing = true;
                let (to, request) = (call.callee_conn, call.invocation);
                ctx.send(
                    to,
                    Interrupt {
                        request,
                        options: Dict::new().with("mode", "kill"),
                    },
                );
            }
            "skip" => {
                if let Some(call) = self.finish(ctx, sessions, key) {
                    caller_error(
                        ctx,
                        call.caller_conn,
                        call.caller_request,
                        uris::CANCELED,
                        None,
                    );
                }
            }
            _ => {
                if let Some(call) = self.finish(ctx, sessions, key) {
                    ctx.send(
                        call.callee_conn,
                        Interrupt {
                            request: call.invocation,
                            options: Dict::new().with("mode", "killnowait"),
                        },
                    );
                    caller_error(
                        ctx,
                        call.caller_conn,
                        call.caller_request,
                        uris::CANCELED,
                        None,
                    );
                }
            }
        }
    }

    /// A router-enforced call timeout fired.
    pub(crate) fn timeout(&mut self, ctx: &mut Ctx<'_>, sessions: &mut Sessions, key: u64) {
        if let Some(call) = self.calls.get_mut(&key) {
            // The timer that fired is gone already.
            call.timer = None;
        }
        let Some(call) = self.finish(ctx, sessions, key) else {
            return;
        };
        if call.callee_cancel {
            ctx.send(
                call.callee_conn,
                Interrupt {
                    request: call.invocation,
                    options: Dict::new()
                        .with("mode", "killnowait")
                        .with("reason", uris::TIMEOUT),
                },
            );
        }
        caller_error(
            ctx,
            call.caller_conn,
            call.caller_request,
            uris::TIMEOUT,
            None,
        );
    }

    /// A leaving session: its registrations go; its calls as caller are interrupted at the
    /// callee (if it supports canceling); its invocations as callee fail at their callers
    /// with `wamp.error.canceled`. The session must already be out of `sessions`.
    pub(crate) fn remove_session(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        session: &Session,
    ) {
        for id in &session.registrations {
            self.remove_callee(ctx.meta, *id, sid);
        }
        let as_caller: Vec<u64> = self
            .by_caller
            .range((sid, REQUEST_MIN)..=(sid, REQUEST_MAX))
            .map(|(_, k)| *k)
            .collect();
        for key in as_caller {
            if let Some(call) = self.finish(ctx, sessions, key) {
                // A session calling itself: nothing goes to the leaving session.
                if call.callee_cancel && call.callee != sid {
                    ctx.send(
                        call.callee_conn,
                        Interrupt {
                            request: call.invocation,
                            options: Dict::new().with("mode", "killnowait"),
                        },
                    );
                }
            }
        }
        let as_callee: Vec<u64> = self
            .by_callee
            .range((sid, REQUEST_MIN)..=(sid, REQUEST_MAX))
            .map(|(_, k)| *k)
            .collect();
        for key in as_callee {
            if let Some(call) = self.finish(ctx, sessions, key) {
                ctx.send(
                    call.caller_conn,
                    ErrorMsg {
                        request_type: MessageKind::Call,
                        request: call.caller_request,
                        details: Dict::new(),
                        error: Uri::from(uris::CANCELED),
                        payload: Payload::args(vec![Value::from(
                            "callee disconnected from in-flight request",
                        )]),
                    },
                );
            }
        }
        self.finished_streams.remove(&sid);
    }

    /// Ends registration `id` for every callee (or only `only`); callees that announced
    /// `registration_revocation` get `UNREGISTERED(0, {registration, reason})`. Pending
    /// invocations complete normally. Returns the number of callees removed.
    pub(crate) fn revoke(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        id: RegistrationId,
        only: Option<SessionId>,
        reason: &str,
    ) -> Option<usize> {
        let reg = self.regs.get(&id)?;
        let victims: Vec<SessionId> = match only {
            Some(s) if reg.callees.iter().any(|c| c.session == s) => vec![s],
            Some(_) => return None,
            None => reg.callees.iter().map(|c| c.session).collect(),
        };
        for sid in &victims {
            self.remove_callee(ctx.meta, id, *sid);
            let Some(session) = sessions.get_mut(sid) else {
                continue;
            };
            if let Some(pos) = session.registrations.iter().position(|r| *r == id) {
                session.registrations.swap_remove(pos);
            }
            if session
                .features
                .contains(ClientFeatures::CALLEE_REGISTRATION_REVOCATION)
            {
                ctx.send(
                    session.conn,
                    Unregistered {
                        request: None,
                        details: Dict::new().with("registration", id).with("reason", reason),
                    },
                );
            }
        }
        Some(victims.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Fixture, req};
    use wamp_proto::Message;

    const CALLER: ClientFeatures = ClientFeatures::CALLER;
    const CALLEE: ClientFeatures = ClientFeatures::CALLEE;
    const FULL: ClientFeatures = ClientFeatures::CALLEE
        .with(ClientFeatures::CALLEE_CALL_CANCELING)
        .with(ClientFeatures::CALLEE_PROGRESSIVE_RESULTS)
        .with(ClientFeatures::CALLEE_PROGRESSIVE_INVOCATIONS)
        .with(ClientFeatures::CALLEE_CALL_TIMEOUT)
        .with(ClientFeatures::CALLEE_REGISTRATION_REVOCATION)
        .with(ClientFeatures::CALLER)
        .with(ClientFeatures::CALLER_PROGRESSIVE_INVOCATIONS);

    struct T {
        d: Dealer,
        f: Fixture,
    }

    impl T {
        fn new() -> Self {
            T {
                d: Dealer::new(Fixture::seed()),
                f: Fixture::new(),
            }
        }
        fn session(&mut self, id: u64, features: ClientFeatures) -> SessionId {
            self.f.session(id, features, &format!("u{id}"), "role")
        }
        fn register(&mut self, s: SessionId, r: u64, uri: &str, opts: Dict) -> Vec<(u64, Message)> {
            let d = &mut self.d;
            self.f.with(|ctx, ss| {
                d.register(
                    ctx,
                    ss,
                    s,
                    Register {
                        request: req(r),
                        options: opts,
                        procedure: Uri::from_wire(uri),
                    },
                    Some(AuthzDecision::allow()),
                )
            });
            self.f.drain()
        }
        fn reg(&mut self, s: SessionId, r: u64, uri: &str, opts: Dict) -> RegistrationId {
            match &self.register(s, r, uri, opts)[..] {
                [(_, Message::Registered(x))] => x.registration,
                other => panic!("{other:?}"),
            }
        }
        fn call(
            &mut self,
            s: SessionId,
            r: u64,
            uri: &str,
            opts: Dict,
        ) -> Result<Vec<(u64, Message)>, ProtocolViolation> {
            let d = &mut self.d;
            self.f.with(|ctx, ss| {
                d.call(
                    ctx,
                    ss,
                    s,
                    Call {
                        request: req(r),
                        options: opts,
                        procedure: Uri::from_wire(uri),
                        payload: Payload::empty(),
                    },
                    Some(AuthzDecision::allow()),
                )
            })?;
            Ok(self.f.drain())
        }
        fn invocation(&mut self, s: SessionId, r: u64, uri: &str, opts: Dict) -> (u64, Invocation) {
            match self.call(s, r, uri, opts).unwrap().as_slice() {
                [(c, Message::Invocation(i))] => (*c, i.clone()),
                other => panic!("{other:?}"),
            }
        }
        fn yield_(
            &mut self,
            s: SessionId,
            inv: RequestId,
            opts: Dict,
        ) -> Result<Vec<(u64, Message)>, ProtocolViolation> {
            let d = &mut self.d;
            self.f.with(|ctx, ss| {
                d.yield_(
                    ctx,
                    ss,
                    s,
                    Yield {
                        request: inv,
                        options: opts,
                        payload: Payload::empty(),
                    },
                )
            })?;
            Ok(self.f.drain())
        }
        fn cancel(&mut self, s: SessionId, r: u64, mode: Option<&str>) -> Vec<(u64, Message)> {
            let d = &mut self.d;
            let options = mode.map_or_else(Dict::new, |m| Dict::new().with("mode", m));
            self.f.with(|ctx, ss| {
                d.cancel(
                    ctx,
                    ss,
                    s,
                    Cancel {
                        request: req(r),
                        options,
                    },
                )
            });
            self.f.drain()
        }
        fn leave(&mut self, s: SessionId) -> Vec<(u64, Message)> {
            let session = self.f.sessions.remove(&s).unwrap();
            let d = &mut self.d;
            self.f
                .with(|ctx, ss| d.remove_session(ctx, ss, s, &session));
            self.f.drain()
        }
    }

    fn error_uri(m: &(u64, Message)) -> String {
        match &m.1 {
            Message::Error(e) => e.error.to_string(),
            other => other.kind().name().to_owned(),
        }
    }

    #[test]
    fn register_errors_and_unregister() {
        let mut t = T::new();
        let a = t.session(1, CALLEE);
        let b = t.session(2, CALLEE);
        let id = t.reg(a, 1, "com.p", Dict::new());
        assert_eq!(
            error_uri(&t.register(b, 1, "com.p", Dict::new())[0]),
            uris::PROCEDURE_ALREADY_EXISTS
        );
        assert_eq!(
            error_uri(&t.register(a, 2, "com.p", Dict::new())[0]),
            uris::PROCEDURE_ALREADY_EXISTS
        );
        assert_eq!(
            error_uri(&t.register(a, 3, "wamp.x", Dict::new())[0]),
            uris::INVALID_URI
        );
        assert_eq!(
            error_uri(&t.register(a, 3, "a..b", Dict::new())[0]),
            uris::INVALID_URI
        );
        let rr = Dict::new().with("invoke", "roundrobin");
        t.reg(a, 4, "com.s", rr.clone());
        t.reg(b, 2, "com.s", rr);
        let c = t.session(3, CALLEE);
        assert_eq!(
            error_uri(&t.register(c, 3, "com.s", Dict::new().with("invoke", "first"))[0]),
            uris::PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY
        );
        assert_eq!(t.d.stats().callees, 3);
        let d = &mut t.d;
        t.f.with(|ctx, ss| {
            d.unregister(
                ctx,
                ss,
                b,
                Unregister {
                    request: req(4),
                    registration: id,
                },
            )
        });
        assert_eq!(error_uri(&t.f.drain()[0]), uris::NO_SUCH_REGISTRATION);
        let d = &mut t.d;
        t.f.with(|ctx, ss| {
            d.unregister(
                ctx,
                ss,
                a,
                Unregister {
                    request: req(5),
                    registration: id,
                },
            )
        });
        assert!(matches!(t.f.drain()[0].1, Message::Unregistered(_)));
        assert_eq!(t.d.stats().registrations, 1);
    }

    #[test]
    fn call_yield_result_and_error() {
        let mut t = T::new();
        let callee = t.session(1, CALLEE);
        let caller = t.session(2, CALLER);
        let reg = t.reg(callee, 1, "com.p", Dict::new());
        let (to, inv) = t.invocation(caller, 1, "com.p", Dict::new());
        assert_eq!((to, inv.registration, inv.request.get()), (1, reg, 1));
        assert!(inv.details.is_empty());
        let out = t.yield_(callee, inv.request, Dict::new()).unwrap();
        assert!(
            matches!(&out[..], [(2, Message::Result(r))] if r.request == req(1) && r.details.is_empty())
        );
        // Late YIELD for an issued invocation: discarded; never issued: violation.
        assert!(
            t.yield_(callee, inv.request, Dict::new())
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            t.yield_(callee, req(7), Dict::new()),
            Err(ProtocolViolation::UnknownInvocation)
        );
        // Callee ERROR is forwarded with URI and payload.
        let (_, inv) = t.invocation(caller, 2, "com.p", Dict::new());
        assert_eq!(inv.request.get(), 2);
        let d = &mut t.d;
        t.f.with(|ctx, ss| {
            d.invocation_error(
                ctx,
                ss,
                callee,
                ErrorMsg {
                    request_type: MessageKind::Invocation,
                    request: inv.request,
                    details: Dict::new(),
                    error: Uri::from("com.err"),
                    payload: Payload::args(vec![Value::from(5u8)]),
                },
            )
        })
        .unwrap();
        let out = t.f.drain();
        assert!(
            matches!(&out[..], [(2, Message::Error(e))] if e.request_type == MessageKind::Call && e.request == req(2) && e.error == "com.err" && e.payload.arguments() == [Value::from(5u8)])
        );
        assert_eq!(
            error_uri(&t.call(caller, 3, "com.none", Dict::new()).unwrap()[0]),
            uris::NO_SUCH_PROCEDURE
        );
        assert_eq!(
            error_uri(&t.call(caller, 4, "bad uri", Dict::new()).unwrap()[0]),
            uris::INVALID_URI
        );
        assert_eq!(t.d.stats().pending_calls, 0);
    }

    #[test]
    fn precedence_and_procedure_detail() {
        let mut t = T::new();
        let (c1, c2, c3) = (
            t.session(1, CALLEE),
            t.session(2, CALLEE),
            t.session(3, CALLEE),
        );
        let caller = t.session(4, CALLER);
        t.reg(c1, 1, "com.a.", Dict::new().with("match", "prefix"));
        t.reg(c2, 1, "com.a.b", Dict::new().with("match", "prefix"));
        t.reg(c3, 1, "com..c", Dict::new().with("match", "wildcard"));
        let (to, inv) = t.invocation(caller, 1, "com.a.b.c", Dict::new());
        assert_eq!(to, 2);
        assert_eq!(inv.details.get_str("procedure"), Some("com.a.b.c"));
        assert_eq!(t.invocation(caller, 2, "com.a.x", Dict::new()).0, 1);
        assert_eq!(t.invocation(caller, 3, "com.x.c", Dict::new()).0, 3);
        t.reg(c3, 2, "com.a.b.c", Dict::new());
        let (to, inv) = t.invocation(caller, 4, "com.a.b.c", Dict::new());
        assert_eq!(to, 3);
        assert!(inv.details.get("procedure").is_none());
    }

    #[test]
    fn shared_registration_policies() {
        let mut t = T::new();
        let cs: Vec<SessionId> = (1..=3).map(|i| t.session(i, CALLEE)).collect();
        let caller = t.session(9, CALLER);
        for (policy, uri) in [
            ("roundrobin", "rr"),
            ("first", "f"),
            ("last", "l"),
            ("random", "x"),
        ] {
            for c in &cs {
                t.reg(
                    *c,
                    10 + cs.len() as u64,
                    uri,
                    Dict::new().with("invoke", policy),
                );
            }
        }
        let mut n = 0;
        let mut pick = |t: &mut T, uri: &str| {
            n += 1;
            t.invocation(caller, n, uri, Dict::new()).0
        };
        let rr: Vec<u64> = (0..5).map(|_| pick(&mut t, "rr")).collect();
        assert_eq!(rr, vec![1, 2, 3, 1, 2]);
        assert_eq!(pick(&mut t, "f"), 1);
        assert_eq!(pick(&mut t, "l"), 3);
        let rnd: Vec<u64> = (0..30).map(|_| pick(&mut t, "x")).collect();
        assert!((1..=3).all(|c| rnd.contains(&c)), "{rnd:?}");
        // Removing a callee keeps the rotation going.
        t.leave(cs[2]);
        let rr: Vec<u64> = (0..3).map(|_| pick(&mut t, "rr")).collect();
        assert_eq!(rr, vec![1, 2, 1]);
    }

    #[test]
    fn caller_disclosure() {
        let mut t = T::new();
        let callee = t.session(1, CALLEE);
        let caller = t.session(2, CALLER);
        t.reg(callee, 1, "p", Dict::new());
        t.reg(callee, 2, "q", Dict::new().with("disclose_caller", true));
        let (_, inv) = t.invocation(caller, 1, "p", Dict::new());
        assert!(inv.details.get("caller").is_none());
        let (_, inv) = t.invocation(caller, 2, "p", Dict::new().with("disclose_me", true));
        assert_eq!(inv.details.get_u64("caller"), Some(2));
        assert_eq!(inv.details.get_str("caller_authid"), Some("u2"));
        assert_eq!(inv.details.get_str("caller_authrole"), Some("role"));
        let (_, inv) = t.invocation(caller, 3, "q", Dict::new());
        assert_eq!(inv.details.get_u64("caller"), Some(2));
    }

    #[test]
    fn progressive_results() {
        let mut t = T::new();
        let full = t.session(1, FULL);
        let basic = t.session(2, CALLEE);
        let caller = t.session(3, CALLER);
        t.reg(full, 1, "p", Dict::new());
        t.reg(basic, 1, "q", Dict::new());
        let rp = Dict::new().with("receive_progress", true);
        let (_, inv) = t.invocation(caller, 1, "p", rp.clone());
        assert_eq!(inv.details.get_bool("receive_progress"), Some(true));
        let prog = Dict::new().with("progress", true);
        for _ in 0..2 {
            let out = t.yield_(full, inv.request, prog.clone()).unwrap();
            assert!(
                matches!(&out[..], [(3, Message::Result(r))] if r.details.get_bool("progress") == Some(true))
            );
        }
        let out = t.yield_(full, inv.request, Dict::new()).unwrap();
        assert!(matches!(&out[..], [(3, Message::Result(r))] if r.details.is_empty()));
        assert!(
            t.yield_(full, inv.request, prog.clone())
                .unwrap()
                .is_empty()
        );
        // Not forwarded to a callee without the feature; its progress YIELDs are dropped.
        let (_, inv) = t.invocation(caller, 2, "q", rp);
        assert!(inv.details.get("receive_progress").is_none());
        assert!(t.yield_(basic, inv.request, prog).unwrap().is_empty());
        assert_eq!(t.yield_(basic, inv.request, Dict::new()).unwrap().len(), 1);
    }

    #[test]
    fn progressive_invocations() {
        let mut t = T::new();
        let c1 = t.session(1, FULL);
        let c2 = t.session(2, FULL);
        let basic = t.session(3, CALLEE);
        let caller = t.session(4, FULL);
        let plain_caller = t.session(5, CALLER);
        let rr = Dict::new().with("invoke", "roundrobin");
        t.reg(c1, 1, "p", rr.clone());
        t.reg(c2, 1, "p", rr);
        t.reg(basic, 1, "q", Dict::new());
        let prog = Dict::new().with("progress", true);
        let (to, inv) = t.invocation(caller, 1, "p", prog.clone());
        assert_eq!(inv.details.get_bool("progress"), Some(true));
        // Chunks stick to the first callee, same invocation ID.
        let out = t.call(caller, 1, "p", prog.clone()).unwrap();
        assert!(
            matches!(&out[..], [(c, Message::Invocation(i))] if *c == to && i.request == inv.request)
        );
        let out = t.call(caller, 1, "p", Dict::new()).unwrap();
        assert!(
            matches!(&out[..], [(c, Message::Invocation(i))] if *c == to && i.details.is_empty())
        );
        // After the final chunk, another chunk is a duplicate request ID.
        assert_eq!(
            t.call(caller, 1, "p", prog.clone()),
            Err(ProtocolViolation::DuplicateRequestId)
        );
        let callee = if to == 1 { c1 } else { c2 };
        assert_eq!(t.yield_(callee, inv.request, Dict::new()).unwrap().len(), 1);
        // Late chunk of the finished call: discarded.
        assert!(t.call(caller, 1, "p", prog.clone()).unwrap().is_empty());
        assert_eq!(
            error_uri(&t.call(caller, 2, "q", prog.clone()).unwrap()[0]),
            uris::FEATURE_NOT_SUPPORTED
        );
        assert_eq!(
            t.call(plain_caller, 1, "p", prog),
            Err(ProtocolViolation::ProgressNotAnnounced)
        );
    }

    #[test]
    fn cancel_modes() {
        let mut t = T::new();
        let full = t.session(1, FULL);
        let basic = t.session(2, CALLEE);
        let caller = t.session(3, CALLER);
        t.reg(full, 1, "p", Dict::new());
        t.reg(basic, 1, "q", Dict::new());
        // skip: caller errored at once, callee untouched, late YIELD discarded.
        let (_, inv) = t.invocation(caller, 1, "p", Dict::new());
        let out = t.cancel(caller, 1, Some("skip"));
        assert_eq!(
            out.iter().map(error_uri).collect::<Vec<_>>(),
            vec![uris::CANCELED]
        );
        assert!(t.yield_(full, inv.request, Dict::new()).unwrap().is_empty());
        // killnowait: INTERRUPT then ERROR.
        let (_, inv) = t.invocation(caller, 2, "p", Dict::new());
        let out = t.cancel(caller, 2, Some("killnowait"));
        assert!(
            matches!(&out[0], (1, Message::Interrupt(i)) if i.request == inv.request && i.options.get_str("mode") == Some("killnowait"))
        );
        assert_eq!(error_uri(&out[1]), uris::CANCELED);
        // kill: INTERRUPT, then the callee's answer decides.
        let (_, inv) = t.invocation(caller, 3, "p", Dict::new());
        let out = t.cancel(caller, 3, Some("kill"));
        assert!(
            matches!(&out[..], [(1, Message::Interrupt(i))] if i.options.get_str("mode") == Some("kill"))
        );
        assert!(
            t.cancel(caller, 3, Some("kill")).is_empty(),
            "repeated CANCEL ignored"
        );
        assert_eq!(
            t.yield_(full, inv.request, Dict::new())
                .unwrap()
                .iter()
                .map(error_uri)
                .collect::<Vec<_>>(),
            vec!["RESULT"]
        );
        // Callee without call_canceling: always skip.
        t.invocation(caller, 4, "q", Dict::new());
        let out = t.cancel(caller, 4, Some("kill"));
        assert_eq!(
            out.iter().map(error_uri).collect::<Vec<_>>(),
            vec![uris::CANCELED]
        );
        // No mode: killnowait.
        t.invocation(caller, 5, "p", Dict::new());
        assert_eq!(t.cancel(caller, 5, None).len(), 2);
        assert!(t.cancel(caller, 77, None).is_empty());
        assert_eq!(t.d.stats().pending_calls, 0);
    }

    #[test]
    fn timeouts() {
        let mut t = T::new();
        let full = t.session(1, FULL);
        let caller = t.session(2, CALLER);
        t.reg(full, 1, "p", Dict::new());
        t.reg(full, 2, "f", Dict::new().with("forward_timeout", true));
        let (_, inv) = t.invocation(
            caller,
            1,
            "p",
            Dict::new()
                .with("timeout", 100u64)
                .with("receive_progress", true),
        );
        assert!(inv.details.get("timeout").is_none());
        let first = t.f.timers.next_deadline().unwrap();
        assert_eq!(first, t.f.now + Duration::from_millis(100));
        // A progressive result restarts the timer.
        t.f.now += Duration::from_millis(60);
        t.yield_(full, inv.request, Dict::new().with("progress", true))
            .unwrap();
        assert_eq!(
            t.f.timers.next_deadline(),
            Some(t.f.now + Duration::from_millis(100))
        );
        t.f.now += Duration::from_millis(100);
        let (_, Timer::Call { call, .. }) = t.f.timers.pop_due(t.f.now).unwrap() else {
            panic!()
        };
        let d = &mut t.d;
        t.f.with(|ctx, ss| d.timeout(ctx, ss, call));
        let out = t.f.drain();
        assert!(
            matches!(&out[0], (1, Message::Interrupt(i)) if i.options.get_str("reason") == Some(uris::TIMEOUT))
        );
        assert_eq!(error_uri(&out[1]), uris::TIMEOUT);
        assert!(t.yield_(full, inv.request, Dict::new()).unwrap().is_empty());
        // forward_timeout: the callee gets the timeout, the router runs no timer.
        let (_, inv) = t.invocation(caller, 2, "f", Dict::new().with("timeout", 100u64));
        assert_eq!(inv.details.get_u64("timeout"), Some(100));
        assert!(t.f.timers.is_empty());
        // A finished call disarms its timer.
        let (_, inv) = t.invocation(caller, 3, "p", Dict::new().with("timeout", 5u64));
        t.yield_(full, inv.request, Dict::new()).unwrap();
        assert!(t.f.timers.is_empty());
    }

    #[test]
    fn leaving_sessions_end_their_calls() {
        let mut t = T::new();
        let full = t.session(1, FULL);
        let basic = t.session(2, CALLEE);
        let caller = t.session(3, CALLER);
        t.reg(full, 1, "p", Dict::new());
        t.reg(basic, 1, "q", Dict::new());
        t.invocation(caller, 1, "p", Dict::new());
        t.invocation(caller, 2, "q", Dict::new());
        // Caller leaves: only the canceling-capable callee is interrupted.
        let out = t.leave(caller);
        assert!(
            matches!(&out[..], [(1, Message::Interrupt(i))] if i.options.get_str("mode") == Some("killnowait"))
        );
        assert_eq!(t.f.sessions.get(&full).unwrap().pending_invocations, 0);
        // Callee leaves: its callers get wamp.error.canceled.
        let caller = t.session(4, CALLER);
        t.invocation(caller, 1, "p", Dict::new());
        t.invocation(caller, 2, "p", Dict::new());
        let out = t.leave(full);
        assert_eq!(
            out.iter().map(error_uri).collect::<Vec<_>>(),
            vec![uris::CANCELED, uris::CANCELED]
        );
        assert_eq!(t.f.sessions.get(&caller).unwrap().pending_calls, 0);
        assert_eq!(t.d.stats().pending_calls, 0);
        assert_eq!(t.d.stats().registrations, 1);
    }

    #[test]
    fn a_session_calling_itself_leaves_cleanly() {
        let mut t = T::new();
        let me = t.session(1, FULL);
        t.reg(me, 1, "p", Dict::new());
        t.invocation(me, 1, "p", Dict::new());
        assert!(t.leave(me).is_empty());
        assert_eq!(t.d.stats(), DealerStats::default());
    }

    #[test]
    fn limits() {
        let mut t = T::new();
        t.f.config.max_pending_calls_per_session = 1;
        t.f.config.max_pending_invocations_per_session = 1;
        t.f.config.max_registrations_per_session = 1;
        let callee = t.session(1, CALLEE);
        let a = t.session(2, CALLER);
        let b = t.session(3, CALLER);
        t.reg(callee, 1, "p", Dict::new());
        assert_eq!(
            error_uri(&t.register(callee, 2, "q", Dict::new())[0]),
            uris::NOT_AUTHORIZED
        );
        t.invocation(a, 1, "p", Dict::new());
        assert_eq!(
            error_uri(&t.call(a, 2, "p", Dict::new()).unwrap()[0]),
            uris::NOT_AUTHORIZED
        );
        assert_eq!(
            error_uri(&t.call(b, 1, "p", Dict::new()).unwrap()[0]),
            uris::NO_AVAILABLE_CALLEE
        );
    }

    #[test]
    fn revocation() {
        let mut t = T::new();
        let full = t.session(1, FULL);
        let basic = t.session(2, CALLEE);
        let caller = t.session(3, CALLER);
        let rr = Dict::new().with("invoke", "roundrobin");
        let id = t.reg(full, 1, "p", rr.clone());
        t.reg(basic, 1, "p", rr);
        let (_, inv) = t.invocation(caller, 1, "p", Dict::new());
        let d = &mut t.d;
        assert_eq!(
            t.f.with(|ctx, ss| d.revoke(ctx, ss, id, None, "bye")),
            Some(2)
        );
        let out = t.f.drain();
        assert!(
            matches!(&out[..], [(1, Message::Unregistered(u))] if u.request.is_none() && u.details.get_u64("registration") == Some(id.get()))
        );
        assert_eq!(t.d.stats().registrations, 0);
        // The invocation in flight still completes.
        assert_eq!(t.yield_(full, inv.request, Dict::new()).unwrap().len(), 1);
        assert_eq!(
            error_uri(&t.call(caller, 2, "p", Dict::new()).unwrap()[0]),
            uris::NO_SUCH_PROCEDURE
        );
    }
}
