//! Test fixture for the sub-machines: a context, a session table and helpers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use wamp_proto::id::{RequestId, SessionId};
use wamp_proto::{Message, SeededEntropy};

use crate::action::{ConnId, RouterAction};
use crate::config::RouterConfig;
use crate::ctx::{Ctx, IdAlloc, Timer};
use crate::decision::Decisions;
use crate::index::HashSeed;
use crate::meta::{Kill, MetaEvent};
use crate::session::{ClientFeatures, Identity, Session, Sessions};
use crate::timer::TimerQueue;

pub(crate) struct Fixture {
    pub(crate) config: RouterConfig,
    pub(crate) out: VecDeque<RouterAction>,
    pub(crate) entropy: SeededEntropy,
    pub(crate) timers: TimerQueue<Timer>,
    pub(crate) ids: IdAlloc,
    pub(crate) sessions: Sessions,
    pub(crate) now: Instant,
    pub(crate) broadcasts: usize,
    pub(crate) decisions: Decisions,
    pub(crate) meta: Vec<MetaEvent>,
    pub(crate) kills: Vec<Kill>,
}

pub(crate) fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

impl Fixture {
    #[allow(clippy::disallowed_methods)] // the test's virtual clock origin
    pub(crate) fn new() -> Self {
        Fixture {
            config: RouterConfig::default(),
            out: VecDeque::new(),
            entropy: SeededEntropy::new(7),
            timers: TimerQueue::new(),
            ids: IdAlloc::default(),
            sessions: HashSeed(1).map(),
            now: Instant::now(),
            broadcasts: 0,
            decisions: Decisions::default(),
            meta: Vec::new(),
            kills: Vec::new(),
        }
    }

    pub(crate) fn seed() -> HashSeed {
        HashSeed(1)
    }

    /// Runs `f` with a context and the session table.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut Ctx<'_>, &mut Sessions) -> R) -> R {
        let mut ctx = Ctx {
            now: self.now,
            config: &self.config,
            out: &mut self.out,
            entropy: &mut self.entropy,
            timers: &mut self.timers,
            ids: &mut self.ids,
            realm: 0,
            unix_millis: 0,
            decisions: &mut self.decisions,
            meta: &mut self.meta,
            kills: &mut self.kills,
        };
        f(&mut ctx, &mut self.sessions)
    }

    /// Adds session `id` on connection `id` with `features` and identity `authid`/`authrole`.
    pub(crate) fn session(
        &mut self,
        id: u64,
        features: ClientFeatures,
        authid: &str,
        authrole: &str,
    ) -> SessionId {
        let sid = SessionId::new(id).unwrap();
        let identity = Identity {
            authid: Arc::from(authid),
            authrole: Arc::from(authrole),
            authmethod: Arc::from("anonymous"),
            authprovider: Arc::from("static"),
        };
        self.sessions
            .insert(sid, Box::new(Session::new(conn(id), identity, features)));
        sid
    }

    /// Drains the queue; broadcasts are expanded to one entry per receiver.
    pub(crate) fn drain(&mut self) -> Vec<(u64, Message)> {
        let mut v = Vec::new();
        while let Some(a) = self.out.pop_front() {
            match a {
                RouterAction::Send { to, msg } => v.push((u64::from(to.index()), msg)),
                RouterAction::Broadcast { to, msg } => {
                    self.broadcasts += 1;
                    for c in to.iter() {
                        v.push((u64::from(c.index()), (*msg).clone()));
                    }
                }
                RouterAction::Close { .. } | RouterAction::NeedDecision { .. } => {}
            }
        }
        v
    }
}

/// Session `n` lives on connection index `n`.
pub(crate) fn conn(n: u64) -> ConnId {
    ConnId::new(u32::try_from(n).unwrap(), 0)
}
