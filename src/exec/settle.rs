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
use crate::scenario::{Protocol, Scenario, Server};

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

/// What one server action says of a client's datagrams (see `datagrams_moved`).
struct Moved {
    /// Sent by the client, now arrived at their first stop (a server, or a udp proxy).
    arrived: i64,
    /// Copies now on their way toward an upstream (less those read there).
    requests: i64,
    /// Copies of answers now on their way back (less those relayed back).
    answers: i64,
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
    /// Copies of each client's datagrams on their way through udp proxies not yet read where
    /// they go, and copies of the answers to them not yet relayed back (see `datagrams_moved`).
    in_flight: HashMap<InstanceId, (i64, i64)>,
    /// What the last action of a server's connection that answers a udp proxy owed it (what a
    /// `Repeated` of it owes each time).
    owed_last: HashMap<ConnectionId, i64>,
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
            in_flight: HashMap::new(),
            owed_last: HashMap::new(),
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
                let moved = self.datagrams_moved(*conn, &served.action);
                if let Some(id) = self.owners.get(conn).copied() {
                    if let Some(count) = self.awaiting_datagrams.get_mut(&id) {
                        *count -= moved.arrived;
                    }
                    let in_flight = self.in_flight.entry(id).or_default();
                    in_flight.0 += moved.requests;
                    in_flight.1 += moved.answers;
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

    /// What action `action` of connection `conn` (its client's) says of the datagrams in the
    /// air (see `Moved`). A udp proxy that received one owes its netlab upstream the copies it
    /// relayed (none if it lost it); the upstream (the client's leg) reads them and owes the
    /// proxy the copies of its answers, which the proxy relays back (owing them to the proxy
    /// before it, in a chain). All must come before the run is settled, else where the
    /// transcript ends would be timing's. They are counted for a program client too (what it
    /// sent is not known; what its proxy relays is).
    fn datagrams_moved(&mut self, conn: ConnectionId, action: &ServerAction) -> Moved {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        // (A tcp proxy's bytes are owed by its connections' ends, not counted here.)
        let relays = self.scenario.relays_to_netlab(conn.server)
            && self
                .scenario
                .servers
                .get(conn.server)
                .is_some_and(|s| s.protocol == Protocol::Udp);
        let leg = self.pairing.proxy_of(conn).is_some();
        let answers_a_udp_proxy = self
            .pairing
            .proxy_of(conn)
            .and_then(|proxy| self.scenario.servers.get(proxy.server))
            .is_some_and(|proxy| proxy.protocol == Protocol::Udp);
        // What it read of what its client (the client, or a proxy before it) sent.
        let read = count(action.messages_read());
        // The copies it sends on toward the upstream that a netlab server or proxy will say it
        // read.
        let requests_owed = match action {
            ServerAction::Relayed {
                way: Way::ToUpstream,
                faults,
                ..
            } if relays => count(copies(faults)),
            // Past a udp proxy's record: taken as relayed once each (what the faults did to
            // them is not kept).
            ServerAction::Unrecorded { messages, .. } if relays => count(*messages),
            _ => 0,
        };
        // The copies of answers it sends back toward a udp proxy, which it will say it relayed.
        let answers_owed = match action {
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
            // A repeat owes what the action it repeats owed, each time.
            ServerAction::Repeated { times, .. } if answers_a_udp_proxy => {
                count(*times).saturating_mul(self.owed_last.get(&conn).copied().unwrap_or(0))
            }
            _ => 0,
        };
        if answers_a_udp_proxy
            && matches!(
                action,
                ServerAction::Answered { .. } | ServerAction::Unanswered { .. }
            )
        {
            self.owed_last.insert(conn, answers_owed);
        }
        // An answer its netlab upstream owed it, relayed back.
        let answered = match action {
            ServerAction::Relayed {
                way: Way::ToClient, ..
            } if relays => 1,
            _ => 0,
        };
        Moved {
            arrived: if leg { 0 } else { read },
            requests: requests_owed - if leg { read } else { 0 },
            answers: answers_owed - answered,
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
    /// every datagram a client sent has reached its server, and every copy a udp proxy relayed
    /// for it (and of the answers to it) has come where it went.
    pub fn all_closed(&self) -> bool {
        self.awaiting_accept.is_empty()
            && self.open.iter().all(|conn| !self.owners.contains_key(conn))
            && self.awaiting_datagrams.values().all(|n| *n <= 0)
            // Answers exactly: one can be relayed back before the server's folded count that
            // owed it comes (below zero until then; its read is not counted yet either).
            && self
                .in_flight
                .values()
                .all(|(requests, answers)| *requests <= 0 && *answers == 0)
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
