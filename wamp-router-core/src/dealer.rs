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
use crate::error::ProtocolViolation;
use crate::ids::{self, REQUEST_MAX, REQUEST_MIN};
use crate::index::{FastMap, HashSeed, UriIndex, maybe_shrink};
use crate::realm::{Action, authorize, check_request_id};
use crate::session::{ClientFeatures, Session, Sessions};
use crate::timer::TimerKey;
use crate::uris;

/// How a shared registration picks its callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InvokePolicy {
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

    /// REGISTER.
    pub(crate) fn register(
        &mut self,
        ctx: &mut Ctx<'_>,
        sessions: &mut Sessions,
        sid: SessionId,
        msg: Register,
    ) {
        let Some(session) = sessions.get_mut(&sid) else {
            return;
        };
        let conn = session.conn;
        let kind = MessageKind::Register;
        let policy = match msg.options.get("match") {
            None => Some(MatchPolicy::Exact),
            Some(v) => v.as_str().and_then(MatchPolicy::parse),
        };
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
        if !authorize(&session.identity, Action::Register, &msg.procedure) {
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
                        callees: vec![callee],
                        rr_next: 0,
                    },
                );
                self.index.insert(policy, msg.procedure.clone(), id);
                id
            }
        };
        self.callees += 1;
        session.registrations.push(id);
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
    fn remove_callee(&mut self, id: RegistrationId, sid: SessionId) -> bool {
        let Some(reg) = self.regs.get_mut(&id) else {
            return false;
        };
        let Some(pos) = reg.callees.iter().position(|c| c.session == sid) else {
            return false;
        };
        reg.callees.remove(pos);
        self.callees -= 1;
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
        if !self.remove_callee(msg.registration, sid) {
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
        if !authorize(&session.identity, Action::Call, &msg.procedure) {
            caller_error(ctx, conn, msg.request, uris::NOT_AUTHORIZED, None);
            return Ok(());
        }
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
        let receive_progress = msg.options.get_bool("receive_progress") == Some(true)
            && cf.contains(ClientFeatures::CALLEE_PROGRESSIVE_RESULTS)
            && callee_cancel;
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
        if msg.options.get_bool("disclose_me") == Some(true) || callee.disclose_caller {
            details.insert("caller", sid);
            details.insert("caller_authid", &*caller_identity.authid);
            details.insert("caller_authrole", &*caller_identity.authrole);
        }
        if policy != MatchPolicy::Exact {
            details.insert("procedure", msg.procedure.as_str());
        }

        self.next_call += 1;
        let key = self.next_call;
        let timer = timeout.map(|t| {
            ctx.timers.insert(
                ctx.now + t,
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
            if call.caller_streaming {
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
                call.timer = Some(ctx.timers.insert(
                    ctx.now + d,
                    Timer::Call {
                        realm: ctx.realm,
                        call: key,
                    },
                ));
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
            self.remove_callee(*id, sid);
        }
        let as_caller: Vec<u64> = self
            .by_caller
            .range((sid, REQUEST_MIN)..=(sid, REQUEST_MAX))
            .map(|(_, k)| *k)
            .collect();
        for key in as_caller {
            if let Some(call) = self.finish(ctx, sessions, key) {
                if call.callee_cancel {
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
            self.remove_callee(id, *sid);
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
