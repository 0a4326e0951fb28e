//! Letting the servers finish: when the last client instance is done, the servers' ends of its
//! connections may still be reading the close. The coordinator keeps collecting events until the
//! server side of every TCP connection a client made is closed (within a short grace period), so that
//! the end of a transcript does not depend on which thread happened to be quicker.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use crate::event::{ConnectionId, Event, EventKind, Origin, ServerAction, StepOutcome};
use crate::scenario::{Protocol, Scenario, Target};

/// The longest the coordinator waits for servers to finish after the clients are done.
pub const GRACE: Duration = Duration::from_secs(1);

/// A client's connection as both sides name it: the server's index and the client's address.
type Endpoint = (usize, SocketAddr);

/// Client connections whose server side is not closed yet.
#[derive(Debug, Default)]
pub struct OpenConnections {
    awaiting: HashSet<Endpoint>,
    closed: HashSet<Endpoint>,
    peers: HashMap<ConnectionId, Endpoint>,
}

impl OpenConnections {
    /// Takes note of one event of the run.
    pub fn observe(&mut self, scenario: &Scenario, event: &Event) {
        match (&event.origin, &event.kind) {
            (Origin::Instance(id), EventKind::Step(step)) => {
                let target = scenario.clients.get(id.client).map(|c| &c.target);
                if let (StepOutcome::Connected { local }, Some(Target::Server(server))) =
                    (&step.outcome, target)
                    && scenario
                        .servers
                        .get(*server)
                        .is_some_and(|s| s.protocol == Protocol::Tcp)
                {
                    let endpoint = (*server, *local);
                    if !self.closed.contains(&endpoint) {
                        self.awaiting.insert(endpoint);
                    }
                }
            }
            (Origin::Connection(conn), EventKind::Served(served)) => {
                if let ServerAction::Accepted { peer } = served.action {
                    self.peers.insert(*conn, (conn.server, peer));
                }
                if served.closed
                    && let Some(endpoint) = self.peers.get(conn)
                {
                    self.awaiting.remove(endpoint);
                    self.closed.insert(*endpoint);
                }
            }
            _ => {}
        }
    }

    /// True when the server side of every client connection seen so far is closed.
    pub fn all_closed(&self) -> bool {
        self.awaiting.is_empty()
    }
}
