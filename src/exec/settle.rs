//! Letting the servers finish: when the last client instance is done, a server may still be
//! reading a TCP client's close, or a UDP client's last datagram. The coordinator keeps collecting
//! events until the server side has caught up with every client (within a short grace period), so
//! that the end of a transcript does not depend on which thread happened to be quicker.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use crate::event::{ConnectionId, Event, EventKind, InstanceId, Origin, ServerAction, StepOutcome};
use crate::scenario::{Protocol, Scenario};

/// The longest the coordinator waits for servers to finish after the clients are done.
pub const GRACE: Duration = Duration::from_secs(1);

/// A client's connection as both sides name it: the server's index and the client's address.
type Endpoint = (usize, SocketAddr);

/// What the server side of the run still owes the clients.
#[derive(Debug, Default)]
pub struct OpenConnections {
    /// TCP connections a client made that no server has accepted yet.
    awaiting_accept: HashSet<Endpoint>,
    /// TCP connections accepted (from any peer: a program under test connects by itself) and
    /// not closed yet on the server side.
    open: HashSet<ConnectionId>,
    /// Every TCP endpoint a server has accepted so far.
    accepted: HashSet<Endpoint>,
    /// UDP datagrams sent by clients and not yet seen by their server (never below zero).
    awaiting_datagrams: HashMap<Endpoint, i64>,
    /// Each client instance's endpoint on a scenario server.
    instances: HashMap<InstanceId, (Endpoint, Protocol)>,
    /// Each server-side connection's endpoint.
    peers: HashMap<ConnectionId, Endpoint>,
}

impl OpenConnections {
    /// Takes note of one event of the run.
    pub fn observe(&mut self, scenario: &Scenario, event: &Event) {
        match (&event.origin, &event.kind) {
            (Origin::Instance(id), EventKind::Step(step)) => match &step.outcome {
                StepOutcome::Connected { local } => {
                    let Some(server) = scenario
                        .clients
                        .get(id.client)
                        .and_then(|c| scenario.server_of(c))
                    else {
                        return;
                    };
                    // A program under test reports nothing of its side: nothing to wait for.
                    let Some(protocol) = scenario
                        .servers
                        .get(server)
                        .filter(|s| s.program.is_none())
                        .map(|s| s.protocol)
                    else {
                        return;
                    };
                    let endpoint = (server, *local);
                    self.instances.insert(*id, (endpoint, protocol));
                    if protocol == Protocol::Tcp && !self.accepted.contains(&endpoint) {
                        self.awaiting_accept.insert(endpoint);
                    }
                }
                StepOutcome::Sending(_) => self.datagrams_sent(id, 1),
                StepOutcome::Repeated {
                    unreported_datagrams,
                    ..
                } => self.datagrams_sent(id, *unreported_datagrams),
                _ => {}
            },
            (Origin::Connection(conn), EventKind::Served(served)) => {
                if let ServerAction::Accepted { peer, .. } = served.action {
                    let endpoint = (conn.server, peer);
                    self.peers.insert(*conn, endpoint);
                    if scenario
                        .servers
                        .get(conn.server)
                        .is_some_and(|s| s.protocol == Protocol::Tcp)
                    {
                        self.accepted.insert(endpoint);
                        self.awaiting_accept.remove(&endpoint);
                        self.open.insert(*conn);
                    }
                }
                let Some(endpoint) = self.peers.get(conn).copied() else {
                    return;
                };
                let messages = match served.action {
                    ServerAction::Answered { .. } | ServerAction::Unanswered { .. } => 1,
                    ServerAction::Repeated { messages, .. }
                    | ServerAction::Unrecorded { messages, .. } => messages,
                    _ => 0,
                };
                if let Some(count) = self.awaiting_datagrams.get_mut(&endpoint) {
                    *count -= i64::try_from(messages).unwrap_or(i64::MAX);
                }
                if served.closed {
                    self.open.remove(conn);
                }
            }
            _ => {}
        }
    }

    /// Takes note of `count` datagrams sent by instance `id` (nothing for TCP).
    fn datagrams_sent(&mut self, id: &InstanceId, count: u64) {
        if let Some((endpoint, Protocol::Udp)) = self.instances.get(id) {
            *self.awaiting_datagrams.entry(*endpoint).or_default() +=
                i64::try_from(count).unwrap_or(i64::MAX);
        }
    }

    /// True when every client's TCP connection has been accepted, every accepted connection is
    /// closed on the server side, and every datagram a client sent has reached its server.
    pub fn all_closed(&self) -> bool {
        self.awaiting_accept.is_empty()
            && self.open.is_empty()
            && self.awaiting_datagrams.values().all(|n| *n <= 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ServerEvent, StepEvent};
    use crate::scenario::load_source;
    use crate::source::SourceFile;

    fn scenario() -> Scenario {
        let text = "servers:\n  - name: t\n  - name: u\n    protocol: udp\nclients:\n  - name: a\n    connect: t\n  - name: b\n    connect: u\n";
        load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"))
    }

    fn step(client: usize, outcome: StepOutcome) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Instance(InstanceId {
                client,
                instance: 1,
            }),
            kind: EventKind::Step(StepEvent {
                step: None,
                outcome,
                depends_on_bytes: 0,
                depends_on_close: false,
                iteration: 0,
            }),
        }
    }

    fn served(server: usize, action: ServerAction, closed: bool) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Connection(ConnectionId { server, seq: 1 }),
            kind: EventKind::Served(ServerEvent {
                action,
                sent_total: 0,
                closed,
            }),
        }
    }

    #[test]
    fn waits_for_tcp_closes_and_udp_datagrams() {
        let scenario = scenario();
        let a = SocketAddr::from(([127, 0, 0, 1], 5000));
        let b = SocketAddr::from(([127, 0, 0, 1], 6000));
        let mut open = OpenConnections::default();
        open.observe(&scenario, &step(0, StepOutcome::Connected { local: a }));
        open.observe(&scenario, &step(1, StepOutcome::Connected { local: b }));
        let datagram = crate::scenario::Payload::Bytes(b"x".to_vec());
        open.observe(&scenario, &step(1, StepOutcome::Sending(datagram)));
        assert!(!open.all_closed());
        open.observe(
            &scenario,
            &served(0, ServerAction::Accepted { peer: a, via: None }, false),
        );
        open.observe(&scenario, &served(0, ServerAction::PeerClosed, true));
        assert!(
            !open.all_closed(),
            "the datagram has not reached its server yet"
        );
        open.observe(
            &scenario,
            &served(1, ServerAction::Accepted { peer: b, via: None }, false),
        );
        let message = b"x".to_vec();
        open.observe(
            &scenario,
            &served(
                1,
                ServerAction::Unanswered {
                    message,
                    truncated: None,
                    unrecorded: 0,
                },
                false,
            ),
        );
        assert!(open.all_closed());
    }
}
