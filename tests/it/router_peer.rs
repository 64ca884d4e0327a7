//! Our client `Session` on the other side of the simulated router: each peer is one
//! simulated connection driven by a real client state machine.

use std::collections::VecDeque;

use wamp_proto::client::{
    ClientAction, ClientConfig, ClientEvent, CloseCause, CloseInfo, JoinOptions, Session,
    SessionDetails,
};
use wamp_proto::{Message, SeededEntropy, Serializer};

use crate::sim::Sim;

pub(crate) struct Peer {
    /// The simulated connection.
    pub(crate) c: usize,
    pub(crate) s: Session,
    pub(crate) events: VecDeque<ClientEvent>,
    pub(crate) closed: Option<CloseCause>,
}

impl Peer {
    /// A new connection with a client session on it.
    pub(crate) fn connect(sim: &mut Sim, serializer: Serializer, seed: u64) -> Peer {
        let c = sim.connect(serializer);
        Peer {
            c,
            s: Session::new(ClientConfig::default(), Box::new(SeededEntropy::new(seed))),
            events: VecDeque::new(),
            closed: None,
        }
    }

    /// Connects and joins with `opts`; returns the peer (joined or not: see `details`).
    pub(crate) fn join(sim: &mut Sim, seed: u64, opts: JoinOptions) -> Peer {
        let mut p = Peer::connect(sim, Serializer::Json, seed);
        p.s.join(sim.now, opts).unwrap();
        p.pump(sim);
        p
    }

    /// Exchanges messages between the client session and the router until both are quiet.
    pub(crate) fn pump(&mut self, sim: &mut Sim) {
        loop {
            let mut progressed = false;
            while let Some(a) = self.s.poll_action() {
                progressed = true;
                match a {
                    ClientAction::Send(m) => {
                        if !sim.clients[self.c].gone && !sim.clients[self.c].closed_by_router {
                            sim.send(self.c, m);
                        }
                    }
                    ClientAction::Event(e) => self.events.push_back(e),
                    ClientAction::Close(c) => self.closed = Some(c),
                }
            }
            let inbox: Vec<Message> = sim.recv_all(self.c);
            if inbox.is_empty() && !progressed {
                return;
            }
            for m in inbox {
                self.s.handle_message(sim.now, m);
            }
        }
    }

    /// The WELCOME details, if the session joined.
    pub(crate) fn details(&self) -> Option<&SessionDetails> {
        self.events.iter().find_map(|e| match e {
            ClientEvent::Joined(d) => Some(&**d),
            _ => None,
        })
    }

    /// How the session closed, if it did.
    pub(crate) fn close_info(&self) -> Option<&CloseInfo> {
        self.events.iter().find_map(|e| match e {
            ClientEvent::Closed(c) => Some(c),
            _ => None,
        })
    }

    /// The reason URI the router aborted with (panics if it did not).
    pub(crate) fn abort_reason(&self) -> String {
        let info = self
            .close_info()
            .unwrap_or_else(|| panic!("not closed: {:?}", self.events));
        info.reason.as_str().to_owned()
    }

    /// Drains the events.
    pub(crate) fn take(&mut self) -> Vec<ClientEvent> {
        self.events.drain(..).collect()
    }
}

/// Pumps several peers until all are quiet.
pub(crate) fn pump_all(sim: &mut Sim, peers: &mut [&mut Peer]) {
    loop {
        let before: usize = sim.trace.len();
        for p in peers.iter_mut() {
            p.pump(sim);
        }
        if sim.trace.len() == before {
            return;
        }
    }
}
