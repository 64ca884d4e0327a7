//! Deterministic simulation harness for the router: N in-memory clients (each with its own
//! serializer, so every message is really encoded and decoded on both sides), a virtual
//! clock built from one `Instant` plus durations, seeded entropy and a recorded trace.

// Test support code: a failed expectation is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use wamp_proto::id::{RequestId, SessionId};
use wamp_proto::message::{Goodbye, Hello};
use wamp_proto::{Dict, Message, SeededEntropy, Serializer, Uri};
use wamp_router_core::{
    ConnId, Decision, DecisionRequest, DecisionTicket, Router, RouterAction, RouterConfig,
};

/// One simulated client connection.
pub(crate) struct Client {
    pub(crate) conn: ConnId,
    pub(crate) serializer: Serializer,
    pub(crate) inbox: VecDeque<Message>,
    pub(crate) session: Option<SessionId>,
    pub(crate) next_request: u64,
    /// The router asked to close this connection.
    pub(crate) closed_by_router: bool,
    /// The transport is gone (closed by either side).
    pub(crate) gone: bool,
}

pub(crate) struct Sim {
    pub(crate) router: Router,
    pub(crate) now: Instant,
    pub(crate) start: Instant,
    pub(crate) clients: Vec<Client>,
    pub(crate) trace: Vec<String>,
    closed: BTreeSet<ConnId>,
    pub(crate) broadcasts: usize,
    /// Decision requests the router emitted and nobody answered yet, in order.
    pub(crate) decisions: VecDeque<(DecisionTicket, DecisionRequest)>,
}

/// Every client role with every feature the router looks at.
pub(crate) fn full_roles() -> Dict {
    let f = |names: &[&str]| {
        let mut d = Dict::new();
        for n in names {
            d.insert(*n, true);
        }
        Dict::new().with("features", d)
    };
    Dict::new()
        .with(
            "publisher",
            f(&[
                "publisher_exclusion",
                "publisher_identification",
                "subscriber_blackwhite_listing",
            ]),
        )
        .with(
            "subscriber",
            f(&["pattern_based_subscription", "subscription_revocation"]),
        )
        .with(
            "caller",
            f(&[
                "progressive_call_invocations",
                "call_canceling",
                "call_timeout",
                "progressive_call_results",
            ]),
        )
        .with(
            "callee",
            f(&[
                "call_canceling",
                "progressive_call_results",
                "progressive_call_invocations",
                "call_timeout",
                "registration_revocation",
                "pattern_based_registration",
                "shared_registration",
            ]),
        )
}

/// The four client roles without any feature (a Basic Profile client).
pub(crate) fn basic_roles() -> Dict {
    Dict::new()
        .with("publisher", Dict::new())
        .with("subscriber", Dict::new())
        .with("caller", Dict::new())
        .with("callee", Dict::new())
}

fn json(m: &Message) -> String {
    match Serializer::Json.encode_to_vec(m) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => format!("<{e}>"),
    }
}

/// Encodes with `s` and decodes again, as a transport would.
fn wire(s: Serializer, m: &Message) -> Message {
    let bytes = s.encode_to_vec(m).expect("encode");
    s.decode(&bytes).expect("decode")
}

pub(crate) fn req(n: u64) -> RequestId {
    RequestId::new(n).unwrap()
}

impl Sim {
    pub(crate) fn new(config: RouterConfig, seed: u64) -> Self {
        // The virtual clock: one Instant captured here, then only durations are added.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        Sim {
            router: Router::new(config, Box::new(SeededEntropy::new(seed))),
            now: start,
            start,
            clients: Vec::new(),
            trace: Vec::new(),
            closed: BTreeSet::new(),
            broadcasts: 0,
            decisions: VecDeque::new(),
        }
    }

    /// A router with one realm `realm1` and default limits.
    pub(crate) fn realm1(seed: u64) -> Self {
        Self::new(RouterConfig::with_realm("realm1"), seed)
    }

    fn t(&self) -> u128 {
        (self.now - self.start).as_millis()
    }

    /// Opens a connection for a new client.
    pub(crate) fn connect(&mut self, serializer: Serializer) -> usize {
        let conn = self.router.open_connection(self.now).expect("open");
        self.clients.push(Client {
            conn,
            serializer,
            inbox: VecDeque::new(),
            session: None,
            next_request: 0,
            closed_by_router: false,
            gone: false,
        });
        let i = self.clients.len() - 1;
        self.trace
            .push(format!("{} open c{i} {:?}", self.t(), serializer));
        self.pump();
        i
    }

    fn client_of(&self, conn: ConnId) -> Option<usize> {
        self.clients.iter().position(|c| c.conn == conn && !c.gone)
    }

    /// Drains the router's actions into the clients' inboxes. Panics if anything is sent to
    /// a connection the router closed or the transport of which is gone.
    pub(crate) fn pump(&mut self) {
        while let Some(a) = self.router.poll_action() {
            match a {
                RouterAction::Send { to, msg } => self.deliver(to, &msg, "->"),
                RouterAction::Broadcast { to, msg } => {
                    self.broadcasts += 1;
                    let mut seen = BTreeSet::new();
                    for c in to.iter() {
                        assert!(seen.insert(*c), "broadcast names {c:?} twice");
                        self.deliver(*c, &msg, "=>");
                    }
                }
                RouterAction::Close { conn, reason } => {
                    assert!(!self.closed.contains(&conn), "closed twice: {conn:?}");
                    self.closed.insert(conn);
                    let i = self
                        .client_of(conn)
                        .expect("close of an unknown connection");
                    self.clients[i].closed_by_router = true;
                    self.trace
                        .push(format!("{} close c{i} {reason:?}", self.t()));
                }
                RouterAction::NeedDecision { ticket, request } => {
                    self.trace.push(format!(
                        "{} decision {} {request:?}",
                        self.t(),
                        ticket.get()
                    ));
                    self.decisions.push_back((ticket, *request));
                }
                other => panic!("unexpected action {other:?}"),
            }
        }
    }

    fn deliver(&mut self, to: ConnId, msg: &Message, arrow: &str) {
        assert!(
            !self.closed.contains(&to),
            "message to a closed connection: {msg:?}"
        );
        let i = self
            .client_of(to)
            .expect("message to an unknown connection");
        let s = self.clients[i].serializer;
        let received = wire(s, msg);
        if let Message::Welcome(w) = &received {
            self.clients[i].session = Some(w.session);
            self.clients[i].next_request = 0;
        }
        self.trace.push(format!(
            "{} router {arrow} c{i}: {}",
            self.t(),
            json(&received)
        ));
        self.clients[i].inbox.push_back(received);
    }

    /// Client `i` sends `msg` (encoded and decoded with its serializer), then the router's
    /// actions are delivered.
    pub(crate) fn send(&mut self, i: usize, msg: impl Into<Message>) {
        let msg = msg.into();
        let c = &self.clients[i];
        assert!(!c.gone, "client {i} has no transport");
        let bytes = c.serializer.encode_to_vec(&msg).expect("encode");
        let decoded = match c.serializer.decode(&bytes) {
            Ok(m) => m,
            Err(e) => {
                // What an adapter does with undecodable input.
                self.trace
                    .push(format!("{} c{i} -> router: undecodable ({e})", self.t()));
                let conn = self.clients[i].conn;
                self.router.handle_decode_error(self.now, conn, &e);
                self.pump();
                return;
            }
        };
        self.deliver_to_router(i, decoded);
    }

    /// Client `i`'s message reaches the router as is, without the serializer's checks (the
    /// core must cope with any `Message` value, not only decoded ones).
    pub(crate) fn send_direct(&mut self, i: usize, msg: impl Into<Message>) {
        assert!(!self.clients[i].gone, "client {i} has no transport");
        self.deliver_to_router(i, msg.into());
    }

    fn deliver_to_router(&mut self, i: usize, decoded: Message) {
        self.trace
            .push(format!("{} c{i} -> router: {}", self.t(), json(&decoded)));
        if matches!(decoded, Message::Goodbye(_) | Message::Abort(_)) {
            self.clients[i].session = None;
        }
        let conn = self.clients[i].conn;
        self.router.handle_message(self.now, conn, decoded);
        self.pump();
    }

    /// The next request ID of client `i` (sequential per session).
    pub(crate) fn next_req(&mut self, i: usize) -> RequestId {
        self.clients[i].next_request += 1;
        req(self.clients[i].next_request)
    }

    /// Sends HELLO for `realm` with `roles`; returns the reply.
    pub(crate) fn hello(&mut self, i: usize, realm: &str, roles: Dict) -> Message {
        self.send(
            i,
            Hello {
                realm: Uri::from_wire(realm),
                details: Dict::new().with("roles", roles),
            },
        );
        self.recv(i)
    }

    /// Connects a client and joins `realm1` with every feature.
    pub(crate) fn join(&mut self, serializer: Serializer) -> usize {
        self.join_with(serializer, full_roles())
    }

    /// Connects a client and joins `realm1` with `roles`.
    pub(crate) fn join_with(&mut self, serializer: Serializer, roles: Dict) -> usize {
        let i = self.connect(serializer);
        match self.hello(i, "realm1", roles) {
            Message::Welcome(_) => i,
            other => panic!("expected WELCOME, got {other:?}"),
        }
    }

    /// The next message client `i` received.
    pub(crate) fn recv(&mut self, i: usize) -> Message {
        self.clients[i]
            .inbox
            .pop_front()
            .unwrap_or_else(|| panic!("client {i} received nothing"))
    }

    /// Everything client `i` received so far.
    pub(crate) fn recv_all(&mut self, i: usize) -> Vec<Message> {
        self.clients[i].inbox.drain(..).collect()
    }

    /// Asserts client `i` received nothing.
    pub(crate) fn assert_quiet(&mut self, i: usize) {
        let v = self.recv_all(i);
        assert!(v.is_empty(), "client {i} received {v:?}");
    }

    /// GOODBYE from client `i`; returns the router's reply.
    pub(crate) fn goodbye(&mut self, i: usize) -> Message {
        self.send(
            i,
            Goodbye {
                details: Dict::new(),
                reason: Uri::from("wamp.close.close_realm"),
            },
        );
        self.recv(i)
    }

    /// The transport of client `i` goes away.
    pub(crate) fn disconnect(&mut self, i: usize) {
        let conn = self.clients[i].conn;
        self.trace.push(format!("{} lost c{i}", self.t()));
        self.router.close_connection(self.now, conn);
        self.clients[i].gone = true;
        self.clients[i].session = None;
        self.pump();
    }

    /// The oldest unanswered decision request.
    pub(crate) fn next_decision(&mut self) -> (DecisionTicket, DecisionRequest) {
        self.decisions
            .pop_front()
            .unwrap_or_else(|| panic!("no decision requested"))
    }

    /// The embedder answers decision `ticket`; returns whether the router still waited for it.
    pub(crate) fn decide(&mut self, ticket: DecisionTicket, decision: Decision) -> bool {
        self.trace
            .push(format!("{} answer {} {decision:?}", self.t(), ticket.get()));
        let pending = self.router.handle_decision(self.now, ticket, decision);
        self.pump();
        pending
    }

    /// Moves the virtual clock forward by `d`, firing every timer on the way at its deadline.
    pub(crate) fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.router.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.trace.push(format!("{} timeout", self.t()));
            self.router.handle_timeout(self.now);
            self.pump();
        }
        self.now = target;
    }
}
