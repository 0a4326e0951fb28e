//! Letting the servers finish: when the last client instance is done, a server may still be
//! reading a TCP client's close, or a UDP client's last datagram. The coordinator keeps collecting
//! events until the server side has caught up with every client (within a short grace period), so
//! that the end of a transcript does not depend on which thread happened to be quicker.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::event::{
    ConnectionId, Event, EventKind, InstanceId, Origin, ServerAction, StepOutcome, Way, copies,
};
use crate::pairing::Pairing;
use crate::plan::TimeScale;
use crate::scenario::{Protocol, Scenario, Server, Target};

/// How long the coordinator waits, once the clients are done, for the servers' next event
/// before it stops waiting (on top of the longest pause a server takes: see `quiet_limit`).
pub const GRACE: Duration = Duration::from_secs(1);

/// How often the coordinator looks at what waits in the servers' sockets while it settles.
pub const QUEUE_TICK: Duration = Duration::from_millis(10);

/// How long the servers may stay silent, once the clients are done, while they still owe
/// something: `GRACE` and the longest pause a server of the scenario takes, as the run scales
/// it. A server that pauses 2 s before a reply is waited for at any time scale; one that owes
/// nothing is not waited for at all.
pub fn quiet_limit(scenario: &Scenario, scale: TimeScale) -> Duration {
    let longest = scenario
        .servers
        .iter()
        .filter(|s| s.is_netlabs())
        .map(Server::longest_pause)
        .max()
        .unwrap_or_default();
    GRACE.saturating_add(scale.pause(longest))
}

/// What the server side of the run still owes the clients.
pub struct OpenConnections<'a> {
    scenario: &'a Scenario,
    /// Which connection is which client's.
    pairing: Pairing<'a>,
    /// Step clients of the scenario's servers, with their transport.
    instances: HashMap<InstanceId, Protocol>,
    /// Step clients whose TCP connection no server has accepted yet.
    awaiting_accept: HashSet<InstanceId>,
    /// TCP connections accepted whose server side has not ended yet (owed only once paired with
    /// a client of the scenario: a peer from outside is not waited for).
    open: HashSet<ConnectionId>,
    /// UDP datagrams each step client sent that its server has not seen yet (never below zero
    /// for long: a server may see a datagram before the client's event is taken).
    awaiting_datagrams: HashMap<InstanceId, i64>,
    /// The client of each paired connection.
    owners: HashMap<ConnectionId, InstanceId>,
}

impl<'a> OpenConnections<'a> {
    /// Nothing owed yet, in a run of `scenario`.
    pub fn new(scenario: &'a Scenario) -> Self {
        OpenConnections {
            scenario,
            pairing: Pairing::forgetting(scenario),
            instances: HashMap::new(),
            awaiting_accept: HashSet::new(),
            open: HashSet::new(),
            awaiting_datagrams: HashMap::new(),
            owners: HashMap::new(),
        }
    }

    /// Takes note of one event of the run.
    pub fn observe(&mut self, event: &Event) {
        let paired = self.pairing.observe(event);
        match (&event.origin, &event.kind) {
            (Origin::Instance(id), EventKind::Step(step)) => match &step.outcome {
                StepOutcome::Connected { remote, .. } => {
                    // A program under test reports nothing of its side: nothing to wait for.
                    let Some(protocol) = self
                        .pairing
                        .server_reached(id.client, *remote)
                        .and_then(|server| self.scenario.servers.get(server))
                        .filter(|s| s.is_netlabs())
                        .map(|s| s.protocol)
                    else {
                        return;
                    };
                    self.instances.insert(*id, protocol);
                    if protocol == Protocol::Tcp && paired.is_empty() {
                        self.awaiting_accept.insert(*id);
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
                if matches!(served.action, ServerAction::Accepted { .. })
                    && self
                        .scenario
                        .servers
                        .get(conn.server)
                        .is_some_and(|s| s.protocol == Protocol::Tcp)
                {
                    self.open.insert(*conn);
                }
                let messages = self.datagrams_seen(*conn, &served.action);
                if let Some(count) = self
                    .owners
                    .get(conn)
                    .and_then(|id| self.awaiting_datagrams.get_mut(id))
                {
                    *count -= messages;
                }
            }
            (Origin::Connection(conn), EventKind::ConnectionEnded) => {
                self.open.remove(conn);
            }
            _ => {}
        }
        for (conn, id) in paired {
            self.awaiting_accept.remove(&id);
            self.owners.insert(conn, id);
        }
    }

    /// How many datagrams of its client's connection `conn`'s action `action` shows arrived,
    /// less those it makes owed. A udp proxy's client's datagrams are owed all the way: the
    /// proxy receives one from its client and owes its netlab upstream the copies it relayed
    /// (none if it lost it); the upstream (the same client's leg) reads them and owes the proxy
    /// the copies of its answers, which the proxy relays back. All must come before the run is
    /// settled, else where the transcript ends would be timing's.
    fn datagrams_seen(&self, conn: ConnectionId, action: &ServerAction) -> i64 {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let relays = self.relays_to_a_netlab_server(conn.server);
        let answers_a_udp_proxy = self
            .pairing
            .proxy_of(conn)
            .and_then(|proxy| self.scenario.servers.get(proxy.server))
            .is_some_and(|proxy| proxy.protocol == Protocol::Udp);
        let seen = match action {
            ServerAction::Answered { .. }
            | ServerAction::Unanswered { .. }
            | ServerAction::Relayed {
                way: Way::ToUpstream,
                ..
            } => 1,
            // An answer its netlab upstream owed it.
            ServerAction::Relayed {
                way: Way::ToClient, ..
            } if relays => 1,
            // Past a udp proxy's record, or a repeat answering one: counted, each taken as
            // relayed (or answered) once (what the faults did to them is not kept).
            ServerAction::Unrecorded { .. } | ServerAction::Repeated { .. }
                if relays || answers_a_udp_proxy =>
            {
                0
            }
            ServerAction::Repeated { messages, .. } | ServerAction::Unrecorded { messages, .. } => {
                count(*messages)
            }
            _ => 0,
        };
        let owed = match action {
            ServerAction::Relayed {
                way: Way::ToUpstream,
                faults,
                ..
            } if relays => count(copies(faults)),
            ServerAction::Answered {
                reply: Some(_),
                faults,
                ..
            }
            | ServerAction::Relayed {
                way: Way::ToClient,
                faults,
                ..
            } if answers_a_udp_proxy => count(copies(faults)),
            _ => 0,
        };
        seen - owed
    }

    /// Whether `server` is a udp proxy whose upstream is a netlab server (which says what it
    /// reads).
    fn relays_to_a_netlab_server(&self, server: usize) -> bool {
        let upstream = self
            .scenario
            .servers
            .get(server)
            .and_then(|s| s.proxy.as_ref())
            .map(|proxy| &proxy.to);
        match upstream {
            Some(Target::Server(i)) => self
                .scenario
                .servers
                .get(*i)
                .is_some_and(Server::is_netlabs),
            _ => false,
        }
    }

    /// Takes note of `count` datagrams sent by instance `id` (nothing for TCP).
    fn datagrams_sent(&mut self, id: &InstanceId, count: u64) {
        if self.instances.get(id) == Some(&Protocol::Udp) {
            *self.awaiting_datagrams.entry(*id).or_default() +=
                i64::try_from(count).unwrap_or(i64::MAX);
        }
    }

    /// True when every client's TCP connection has been accepted and its server side has ended,
    /// and every datagram a client sent has reached its server.
    pub fn all_closed(&self) -> bool {
        self.awaiting_accept.is_empty()
            && self.open.iter().all(|conn| !self.owners.contains_key(conn))
            && self.awaiting_datagrams.values().all(|n| *n <= 0)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::event::fixtures::{ended, served, step};
    use crate::scenario::load_source;
    use crate::source::SourceFile;

    fn scenario() -> Scenario {
        let text = "servers:\n  - name: t\n  - name: u\n    protocol: udp\nclients:\n  - name: a\n    connect: t\n  - name: b\n    connect: u\n";
        load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"))
    }

    #[test]
    fn waits_for_tcp_closes_and_udp_datagrams() {
        let scenario = scenario();
        let a = SocketAddr::from(([127, 0, 0, 1], 5000));
        let b = SocketAddr::from(([127, 0, 0, 1], 6000));
        let (t, u) = (
            SocketAddr::from(([127, 0, 0, 1], 7000)),
            SocketAddr::from(([127, 0, 0, 1], 7001)),
        );
        let mut open = OpenConnections::new(&scenario);
        open.observe(&step(
            0,
            StepOutcome::Connected {
                local: a,
                remote: t,
            },
        ));
        open.observe(&step(
            1,
            StepOutcome::Connected {
                local: b,
                remote: u,
            },
        ));
        let datagram = crate::scenario::Payload::Bytes(b"x".to_vec());
        open.observe(&step(1, StepOutcome::Sending(datagram)));
        assert!(!open.all_closed());
        open.observe(&served(
            0,
            ServerAction::Accepted { peer: a, via: None },
            false,
        ));
        open.observe(&served(0, ServerAction::PeerClosed, true));
        assert!(
            !open.all_closed(),
            "the connection's server side has not ended yet"
        );
        open.observe(&ended(0));
        assert!(
            !open.all_closed(),
            "the datagram has not reached its server yet"
        );
        open.observe(&served(
            1,
            ServerAction::Accepted { peer: b, via: None },
            false,
        ));
        let message = b"x".to_vec();
        open.observe(&served(
            1,
            ServerAction::Unanswered {
                message,
                truncated: None,
                unrecorded: 0,
            },
            false,
        ));
        assert!(open.all_closed());
    }

    #[test]
    fn a_connection_from_outside_the_scenario_is_not_waited_for() {
        // Before: an idle outside peer on a fixed port held every run for the grace period.
        let scenario = scenario();
        let outsider = SocketAddr::from(([127, 0, 0, 1], 5999));
        let mut open = OpenConnections::new(&scenario);
        open.observe(&served(
            0,
            ServerAction::Accepted {
                peer: outsider,
                via: None,
            },
            false,
        ));
        assert!(open.all_closed());
    }
}
