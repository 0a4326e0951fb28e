//! Which server connection is which client instance's: the one rule the settling of a run, the
//! live view and the transcript all use, learnt from the events in the order they were recorded.
//!
//! A connection that came through a program's own way into its server says whose it is (`via`:
//! see `exec::entrance`). A step client's connection is the one whose peer is the client's own
//! address, on the server it reached (the one it names, or the one listening where it connected),
//! whichever of the client's `Connected` and the server's `Accepted` was recorded first. A program
//! that ignored the address it was given is a peer like any other, but where it is its server's
//! one program client, its connections are its all the same. What never pairs is a peer from
//! outside the scenario.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::event::{
    ConnectionId, Event, EventKind, InstanceId, Origin, ServerAction, ServerEvent, StepEvent,
    StepOutcome,
};
use crate::scenario::{Scenario, Target};

/// A server and an address of a peer of its: a client's own address (ports are unique per
/// destination only: two clients of two servers may have the same one).
type Endpoint = (usize, SocketAddr);

/// Pairs connections with client instances as the events come.
pub struct Pairing<'a> {
    scenario: &'a Scenario,
    /// Each server's address, as it listens.
    listening: HashMap<usize, SocketAddr>,
    /// Step clients connected and not paired yet, by the server they reached and their own
    /// address.
    clients: HashMap<Endpoint, InstanceId>,
    /// Connections accepted and not paired yet, by their server and their peer's address.
    connections: HashMap<Endpoint, ConnectionId>,
    /// Program instances that connected through their own way in.
    came_their_way: std::collections::HashSet<InstanceId>,
    /// The instance each paired connection is (a leg through a proxy included).
    owners: HashMap<ConnectionId, InstanceId>,
    /// Proxies' connections to their upstream not accepted yet, by the upstream server and the
    /// proxy's own end: the proxy's connection.
    proxied: HashMap<Endpoint, ConnectionId>,
    /// A proxy's connection → the connection its upstream accepted for it (a server of the
    /// scenario).
    legs: HashMap<ConnectionId, ConnectionId>,
    /// The reverse of `legs`.
    proxies: HashMap<ConnectionId, ConnectionId>,
    /// Forget what concerns a connection once it is over (a run that never ends, such as
    /// `netlab serve`, must not grow with every connection through a proxy); the transcript,
    /// built after the run, keeps it all.
    forget_ended: bool,
}

impl<'a> Pairing<'a> {
    /// Nothing paired yet, in a run of `scenario`.
    pub fn new(scenario: &'a Scenario) -> Self {
        Pairing {
            scenario,
            listening: HashMap::new(),
            clients: HashMap::new(),
            connections: HashMap::new(),
            came_their_way: std::collections::HashSet::new(),
            owners: HashMap::new(),
            proxied: HashMap::new(),
            legs: HashMap::new(),
            proxies: HashMap::new(),
            forget_ended: false,
        }
    }

    /// As `new`, for a run being watched as it goes: what concerns a connection is forgotten once
    /// it is over.
    pub fn forgetting(scenario: &'a Scenario) -> Self {
        Pairing {
            forget_ended: true,
            ..Pairing::new(scenario)
        }
    }

    /// The connection the upstream of proxy connection `conn` accepted for it, if it is a
    /// server of the scenario and has.
    pub fn upstream_of(&self, conn: ConnectionId) -> Option<ConnectionId> {
        self.legs.get(&conn).copied()
    }

    /// Pairs `conn` with `id`, and the legs beyond it through proxies: the pairs made.
    fn paired(&mut self, conn: ConnectionId, id: InstanceId) -> Vec<(ConnectionId, InstanceId)> {
        let mut pairs = vec![(conn, id)];
        let mut at = conn;
        self.owners.insert(conn, id);
        while let Some(next) = self.legs.get(&at).copied() {
            if self.owners.insert(next, id).is_some() {
                break;
            }
            pairs.push((next, id));
            at = next;
        }
        pairs
    }

    /// Takes note that proxy connection `proxy` reached its upstream `upstream` through
    /// `leg`: the pairs that makes if the proxy's connection is already someone's.
    fn joined(
        &mut self,
        proxy: ConnectionId,
        leg: ConnectionId,
    ) -> Vec<(ConnectionId, InstanceId)> {
        self.legs.insert(proxy, leg);
        self.proxies.insert(leg, proxy);
        match self.owners.get(&proxy).copied() {
            Some(id) => self.paired(leg, id),
            None => Vec::new(),
        }
    }

    /// Takes note of `event`: the pairs it completes (a connection, and the legs through
    /// proxies it leads to).
    pub fn observe(&mut self, event: &Event) -> Vec<(ConnectionId, InstanceId)> {
        match (&event.origin, &event.kind) {
            (Origin::Server(server), EventKind::Listening { addr, .. }) => {
                self.listening.insert(*server, *addr);
                Vec::new()
            }
            (
                Origin::Instance(id),
                EventKind::Step(StepEvent {
                    outcome: StepOutcome::Connected { local, remote },
                    ..
                }),
            ) => {
                let Some(server) = self.server_reached(id.client, *remote) else {
                    return Vec::new();
                };
                let endpoint = (server, *local);
                match self.connections.remove(&endpoint) {
                    Some(conn) => self.paired(conn, *id),
                    None => {
                        self.clients.insert(endpoint, *id);
                        Vec::new()
                    }
                }
            }
            (
                Origin::Connection(proxy),
                EventKind::Served(ServerEvent {
                    action: ServerAction::UpstreamConnecting { local, remote },
                    ..
                }),
            ) => {
                let Some(upstream) = self.upstream_reached(proxy.server, *remote) else {
                    return Vec::new();
                };
                let endpoint = (upstream, *local);
                match self.connections.remove(&endpoint) {
                    Some(leg) => self.joined(*proxy, leg),
                    None => {
                        self.proxied.insert(endpoint, *proxy);
                        Vec::new()
                    }
                }
            }
            (
                Origin::Connection(conn),
                EventKind::Served(ServerEvent {
                    action: ServerAction::Accepted { peer, via },
                    ..
                }),
            ) => {
                if let Some(owner) = via {
                    self.came_their_way.insert(*owner);
                    return self.paired(*conn, *owner);
                }
                let endpoint = (conn.server, *peer);
                if let Some(id) = self.clients.remove(&endpoint) {
                    return self.paired(*conn, id);
                }
                if let Some(proxy) = self.proxied.remove(&endpoint) {
                    return self.joined(proxy, *conn);
                }
                // Kept only if something could still claim it: a visitor of `netlab serve`
                // (no client of the scenario runs) is not kept, however many come.
                if self.may_be_claimed(conn.server) {
                    self.connections.insert(endpoint, *conn);
                }
                Vec::new()
            }
            (Origin::Connection(conn), EventKind::ConnectionEnded) if self.forget_ended => {
                self.owners.remove(conn);
                if let Some(leg) = self.legs.remove(conn) {
                    self.proxies.remove(&leg);
                }
                if let Some(proxy) = self.proxies.remove(conn) {
                    self.legs.remove(&proxy);
                }
                self.proxied.retain(|_, proxy| proxy != conn);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The server of the scenario a connection of proxy `proxy` to `remote` reached: the one
    /// it names, or the one listening there.
    fn upstream_reached(&self, proxy: usize, remote: SocketAddr) -> Option<usize> {
        let own = self.scenario.servers.get(proxy)?;
        match &own.proxy.as_ref()?.to {
            Target::Server(server) => Some(*server),
            Target::Address(_) => self.listening_at(own.protocol, remote),
        }
    }

    /// The server of the scenario of `protocol` listening at `remote`, if one is.
    fn listening_at(
        &self,
        protocol: crate::scenario::Protocol,
        remote: SocketAddr,
    ) -> Option<usize> {
        self.listening
            .iter()
            .filter(|(server, addr)| {
                self.scenario.servers[**server].protocol == protocol && listens_at(**addr, remote)
            })
            .map(|(server, _)| *server)
            .min()
    }

    /// Whether a connection `server` accepted may still turn out to be a client's of the
    /// scenario (a step client's, or its one program client's). A leg through a proxy is known
    /// as it is accepted: the proxy notes its own end before it connects (`UpstreamConnecting`).
    pub fn may_be_claimed(&self, server: usize) -> bool {
        self.step_clients_may_reach(server) || self.sole_program(server).is_some()
    }

    /// The proxy connection whose leg to its upstream `leg` is, if it is one.
    pub fn proxy_of(&self, leg: ConnectionId) -> Option<ConnectionId> {
        self.proxies.get(&leg).copied()
    }

    /// At the end of the run: the connections that never paired and are, all the same, the one
    /// program client's of their server, when that program never came its own way (it connected
    /// to the server's address rather than the one it was given). Once it did come its own way,
    /// another connection is someone else's.
    pub fn leftovers(&self) -> Vec<(ConnectionId, InstanceId)> {
        let mut found: Vec<(ConnectionId, InstanceId)> = self
            .connections
            .values()
            .filter_map(|conn| Some((*conn, self.sole_program(conn.server)?)))
            .filter(|(_, program)| !self.came_their_way.contains(program))
            .collect();
        // And the legs through proxies they lead to.
        let mut legs = Vec::new();
        for (conn, id) in &found {
            let mut at = *conn;
            while let Some(next) = self.legs.get(&at).copied() {
                if self.owners.contains_key(&next) || legs.iter().any(|(leg, _)| *leg == next) {
                    break;
                }
                legs.push((next, *id));
                at = next;
            }
        }
        found.extend(legs);
        found.sort();
        found
    }

    /// The server a step client of index `client` reached by connecting to `remote`: the one it
    /// names, or the one listening there (a client may connect by address to a server of the
    /// scenario).
    pub fn server_reached(&self, client: usize, remote: SocketAddr) -> Option<usize> {
        let client = self.scenario.clients.get(client)?;
        match client.target {
            Target::Server(server) => Some(server),
            Target::Address(_) => self.listening_at(client.protocol, remote),
        }
    }

    /// Whether a step client may connect to server `server`: one names it, or one connects by
    /// address over its transport while it has a fixed port.
    pub fn step_clients_may_reach(&self, server: usize) -> bool {
        let Some(s) = self.scenario.servers.get(server) else {
            return false;
        };
        self.scenario.clients.iter().any(|c| {
            !c.is_program()
                && match c.target {
                    Target::Server(target) => target == server,
                    Target::Address(_) => c.protocol == s.protocol && s.port != 0,
                }
        })
    }

    /// The instance of the one program client of server `server` (naming it, or given an
    /// address where it listens), if it has exactly one.
    pub fn sole_program(&self, server: usize) -> Option<InstanceId> {
        let s = self.scenario.servers.get(server)?;
        let listening = self.listening.get(&server);
        let reaches = |target: &Target| match target {
            Target::Server(named) => *named == server,
            Target::Address(address) => match (address.parse::<SocketAddr>(), listening) {
                (Ok(remote), Some(listening)) => listens_at(*listening, remote),
                // A name (`localhost:P`): by its port.
                _ => {
                    s.port != 0
                        && address
                            .rsplit_once(':')
                            .and_then(|(_, port)| port.parse::<u16>().ok())
                            == Some(s.port)
                }
            },
        };
        let mut programs = self
            .scenario
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_program() && c.protocol == s.protocol && reaches(&c.target))
            .flat_map(|(client, c)| {
                (1..=c.count).map(move |instance| InstanceId { client, instance })
            });
        let only = programs.next()?;
        programs.next().is_none().then_some(only)
    }
}

/// Whether a socket listening at `listening` receives what is sent to `remote`: the same port and
/// address, or an unspecified address (`0.0.0.0` for IPv4, `::` for both families).
fn listens_at(listening: SocketAddr, remote: SocketAddr) -> bool {
    listening.port() == remote.port()
        && (listening.ip() == remote.ip()
            || (listening.ip().is_unspecified() && (listening.is_ipv6() || remote.is_ipv4())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::fixtures::{listening, served, step};
    use crate::scenario::load_source;
    use crate::source::SourceFile;

    fn scenario() -> Scenario {
        let text = "servers:\n  - name: t\n  - name: u\n    port: 7000\n    protocol: udp\nclients:\n  - name: a\n    connect: t\n  - name: b\n    connect: \"127.0.0.1:7000\"\n    protocol: udp\n";
        load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"))
    }

    fn connected(client: usize, local: SocketAddr, remote: SocketAddr) -> Event {
        step(client, StepOutcome::Connected { local, remote })
    }

    fn accepted(server: usize, peer: SocketAddr, via: Option<InstanceId>) -> Event {
        served(server, ServerAction::Accepted { peer, via }, false)
    }

    const A: InstanceId = InstanceId {
        client: 0,
        instance: 1,
    };
    const B: InstanceId = InstanceId {
        client: 1,
        instance: 1,
    };

    #[test]
    fn pairs_whichever_side_was_recorded_first() {
        let scenario = scenario();
        let here = SocketAddr::from(([127, 0, 0, 1], 5000));
        let t = ConnectionId { server: 0, seq: 1 };
        let there = SocketAddr::from(([127, 0, 0, 1], 6000));
        let mut pairing = Pairing::new(&scenario);
        assert_eq!(pairing.observe(&connected(0, here, there)), []);
        assert_eq!(pairing.observe(&accepted(0, here, None)), [(t, A)]);
        let mut pairing = Pairing::new(&scenario);
        assert_eq!(pairing.observe(&accepted(0, here, None)), []);
        assert_eq!(pairing.observe(&connected(0, here, there)), [(t, A)]);
    }

    #[test]
    fn a_client_by_address_pairs_on_the_server_listening_where_it_connected() {
        let scenario = scenario();
        let here = SocketAddr::from(([127, 0, 0, 1], 5000));
        let mut pairing = Pairing::new(&scenario);
        pairing.observe(&listening(0, SocketAddr::from(([127, 0, 0, 1], 7000))));
        pairing.observe(&listening(1, SocketAddr::from(([0, 0, 0, 0], 7000))));
        let u_address = SocketAddr::from(([127, 0, 0, 1], 7000));
        assert_eq!(pairing.observe(&connected(1, here, u_address)), []);
        // Same address, another transport: a TCP peer of server `t` is not the UDP client.
        assert_eq!(pairing.observe(&accepted(0, here, None)), []);
        let u = ConnectionId { server: 1, seq: 1 };
        assert_eq!(pairing.observe(&accepted(1, here, None)), [(u, B)]);
    }

    #[test]
    fn a_connection_through_a_program_s_own_way_in_is_that_program_s() {
        let scenario = scenario();
        let there = SocketAddr::from(([127, 0, 0, 1], 6000));
        let t = ConnectionId { server: 0, seq: 1 };
        let mut pairing = Pairing::new(&scenario);
        assert_eq!(pairing.observe(&accepted(0, there, Some(B))), [(t, B)]);
    }

    #[test]
    fn a_listening_address_receives_what_its_family_and_port_allow() {
        let at = |text: &str| text.parse::<SocketAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert!(listens_at(at("127.0.0.1:80"), at("127.0.0.1:80")));
        assert!(!listens_at(at("127.0.0.1:80"), at("127.0.0.1:81")));
        assert!(!listens_at(at("127.0.0.1:80"), at("[::1]:80")));
        assert!(listens_at(at("0.0.0.0:80"), at("127.0.0.2:80")));
        assert!(!listens_at(at("0.0.0.0:80"), at("[::1]:80")));
        assert!(listens_at(at("[::]:80"), at("127.0.0.1:80")));
        assert!(!listens_at(at("[::1]:80"), at("127.0.0.1:80")));
    }

    #[test]
    fn a_program_that_ignored_its_address_is_its_server_s_one_program_client() {
        let text = "servers:\n  - name: t\n    port: 7000\nclients:\n  - name: p\n    connect: t\n    exec: [\"true\"]\n  - name: q\n    connect: \"127.0.0.1:7000\"\n    exec: [\"true\"]\n";
        let scenario =
            load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
        let peer = SocketAddr::from(([127, 0, 0, 1], 5000));
        let mut pairing = Pairing::new(&scenario);
        pairing.observe(&listening(0, SocketAddr::from(([127, 0, 0, 1], 7000))));
        // Two program clients reach `t` (one by name, one by its address): neither is sure.
        assert_eq!(pairing.observe(&accepted(0, peer, None)), []);
        assert!(pairing.leftovers().is_empty());
        let one = text.replace("7000\"\n", "7001\"\n");
        let scenario =
            load_source(SourceFile::new("s.yaml", one.as_str())).unwrap_or_else(|d| panic!("{d}"));
        let mut pairing = Pairing::new(&scenario);
        pairing.observe(&listening(0, SocketAddr::from(([127, 0, 0, 1], 7000))));
        let t = ConnectionId { server: 0, seq: 1 };
        // Said at the end of the run: a program that later comes its own way would show that
        // this connection was someone else's.
        assert_eq!(pairing.observe(&accepted(0, peer, None)), []);
        assert_eq!(pairing.leftovers(), [(t, A)]);
        let own = SocketAddr::from(([127, 0, 0, 1], 5001));
        let mut through_its_own = served(
            0,
            ServerAction::Accepted {
                peer: own,
                via: Some(A),
            },
            false,
        );
        if let Origin::Connection(conn) = &mut through_its_own.origin {
            conn.seq = 2;
        }
        assert!(!pairing.observe(&through_its_own).is_empty());
        assert!(
            pairing.leftovers().is_empty(),
            "an outsider's connection is not the program's"
        );
    }

    #[test]
    fn two_clients_of_two_servers_may_have_the_same_address() {
        // Linux gives one local port to several connections with different destinations: the
        // pairing was lost when it went by address alone (a flaky "peer from outside").
        let text = "servers:\n  - name: t\n  - name: w\nclients:\n  - name: a\n    connect: t\n  - name: c\n    connect: w\n";
        let scenario =
            load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
        let same = SocketAddr::from(([127, 0, 0, 1], 5000));
        let (t, w) = (
            SocketAddr::from(([127, 0, 0, 1], 7000)),
            SocketAddr::from(([127, 0, 0, 1], 7001)),
        );
        let c = InstanceId {
            client: 1,
            instance: 1,
        };
        let mut pairing = Pairing::new(&scenario);
        assert_eq!(pairing.observe(&connected(0, same, t)), []);
        assert_eq!(pairing.observe(&connected(1, same, w)), []);
        let on_w = ConnectionId { server: 1, seq: 1 };
        let on_t = ConnectionId { server: 0, seq: 1 };
        assert_eq!(pairing.observe(&accepted(1, same, None)), [(on_w, c)]);
        assert_eq!(pairing.observe(&accepted(0, same, None)), [(on_t, A)]);
    }

    #[test]
    fn a_watching_pairing_forgets_a_proxy_s_legs_once_they_are_over() {
        let text = "servers:\n  - name: t\n  - name: p\n    proxy: { to: t }\n";
        let scenario =
            load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
        let mut pairing = Pairing::forgetting(&scenario);
        for seq in 1..=100 {
            let proxy = ConnectionId { server: 1, seq };
            let leg = ConnectionId { server: 0, seq };
            let local = SocketAddr::from(([127, 0, 0, 1], 5000 + seq as u16));
            let mut connecting = served(
                1,
                ServerAction::UpstreamConnecting {
                    local,
                    remote: SocketAddr::from(([127, 0, 0, 1], 7000)),
                },
                false,
            );
            connecting.origin = Origin::Connection(proxy);
            pairing.observe(&connecting);
            let mut accepted = accepted(0, local, None);
            accepted.origin = Origin::Connection(leg);
            pairing.observe(&accepted);
            assert_eq!(pairing.proxy_of(leg), Some(proxy));
            for conn in [proxy, leg] {
                let mut over = crate::event::fixtures::ended(0);
                over.origin = Origin::Connection(conn);
                pairing.observe(&over);
            }
        }
        assert!(pairing.legs.is_empty() && pairing.proxies.is_empty());
        assert!(pairing.proxied.is_empty() && pairing.owners.is_empty());
    }

    #[test]
    fn visitors_nobody_could_claim_are_not_kept() {
        // Before: every visitor of `netlab serve` was kept, unpaired, for the life of the serve.
        let text = "servers:\n  - name: t\n";
        let scenario =
            load_source(SourceFile::new("s.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
        let mut pairing = Pairing::new(&scenario);
        for port in 5000..5100 {
            let peer = SocketAddr::from(([127, 0, 0, 1], port));
            assert_eq!(pairing.observe(&accepted(0, peer, None)), []);
        }
        assert!(pairing.connections.is_empty());
    }
}
