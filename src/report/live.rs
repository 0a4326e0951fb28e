//! The live view of `netlab run`: each event printed the moment it arrives, with the time since
//! the start (so a learner sees the server's one-second delay happen). Server actions are held
//! back until the connection is known to belong to a client, then labelled with it.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::fold::CycleFold;
use crate::event::{
    ConnectionId, Event, EventKind, InstanceId, Origin, ProgramFailure, ServerAction, ServerEvent,
};
use crate::pairing::Pairing;
use crate::scenario::{Scenario, Target};
use crate::transcript::{
    Entry, describe_program_failure, describe_server_check, describe_server_event,
    describe_step_event, instance_label, program_status,
};

/// Turns events into printable lines, in arrival order.
pub struct LiveView<'a> {
    scenario: &'a Scenario,
    /// Which connection is which client's.
    pairing: Pairing<'a>,
    /// Connection → the label of the client on it, once known.
    labels: HashMap<ConnectionId, String>,
    /// Connection → the client on it (whose `redact` its lines use), once known.
    owners: HashMap<ConnectionId, usize>,
    /// Connection → peer address and actions waiting for their label (described then, with
    /// their client's `redact`).
    waiting: HashMap<ConnectionId, (SocketAddr, Vec<(f64, ServerEvent)>)>,
    /// Connection → the cycle of lines being folded (a load loop's server side).
    folds: HashMap<ConnectionId, CycleFold>,
    /// Client instance → its connections (to fold no further once the client speaks again).
    connections_of: HashMap<InstanceId, Vec<ConnectionId>>,
    /// The time of the last event (for what `finish` prints).
    last_seconds: f64,
    width: usize,
    /// The programs under test that failed so far, by server.
    failed_programs: std::collections::BTreeMap<usize, ProgramFailure>,
}

impl<'a> LiveView<'a> {
    /// A view of a run of `scenario`.
    pub fn new(scenario: &'a Scenario) -> Self {
        let client_width = scenario
            .clients
            .iter()
            .map(|c| {
                let suffix = if c.count > 1 {
                    1 + c.count.to_string().len()
                } else {
                    0
                };
                c.name.chars().count() + suffix
            })
            .max()
            .unwrap_or(0);
        // A server's lines read `hello (client#2)`.
        let width = scenario
            .servers
            .iter()
            .map(|s| s.name.chars().count() + client_width + 3)
            .chain([client_width])
            .max()
            .unwrap_or(0);
        Self {
            scenario,
            pairing: Pairing::forgetting(scenario),
            labels: HashMap::new(),
            owners: HashMap::new(),
            waiting: HashMap::new(),
            folds: HashMap::new(),
            connections_of: HashMap::new(),
            last_seconds: 0.0,
            width,
            failed_programs: std::collections::BTreeMap::new(),
        }
    }

    /// The lines to print for `event` now (possibly lines held back earlier, possibly none).
    pub fn lines(&mut self, event: &Event, styled: bool) -> Vec<String> {
        let seconds = event.elapsed.as_secs_f64();
        self.last_seconds = seconds;
        let paired = self.pairing.observe(event);
        let mut out = Vec::new();
        match (&event.origin, &event.kind) {
            (Origin::Server(i), EventKind::Listening { addr, tls }) => {
                let name = &self.scenario.servers[*i].name;
                let tls = listening_tls(tls.as_ref());
                out.push(format!("{seconds:8.3}s    {name} listening on {addr}{tls}"));
            }
            (Origin::Server(i), EventKind::ProgramFinished(report)) => {
                let name = &self.scenario.servers[*i].name;
                let how = match report.exited_early {
                    Some(status) => format!("exited by itself: {}", program_status(status)),
                    None => "stopped by netlab at the end of the run".to_string(),
                };
                out.push(format!(
                    "{seconds:8.3}s    {name}: program under test {how}"
                ));
                let capture = self.scenario.servers[*i]
                    .program
                    .as_ref()
                    .is_some_and(|p| p.capture_output);
                // A failure showed the end of stderr when it happened.
                if capture {
                    let redact = self.scenario.redactions(None);
                    for (pipe, output) in [("stdout", &report.stdout), ("stderr", &report.stderr)] {
                        let output = redact.bytes(output);
                        for line in String::from_utf8_lossy(&output).trim_end().lines() {
                            out.push(format!("{seconds:8.3}s    {name} {pipe}: {line}"));
                        }
                    }
                }
            }
            (Origin::Server(i), EventKind::ProgramFailed(failure)) => {
                let entry = describe_program_failure(self.scenario, *i, failure);
                out.push(self.line(seconds, &entry, styled));
                self.failed_programs
                    .entry(*i)
                    .or_insert_with(|| failure.clone());
            }
            (
                Origin::Server(i),
                EventKind::ServerChecked {
                    check,
                    count,
                    passed,
                },
            ) => {
                let entry = describe_server_check(self.scenario, *i, *check, *count, *passed);
                out.push(self.line(seconds, &entry, styled));
            }
            (Origin::Server(i), EventKind::AcceptFailed { reason }) => {
                let name = &self.scenario.servers[*i].name;
                out.push(format!("{seconds:8.3}s    {name} accept failed: {reason}"));
            }
            (Origin::Instance(id), EventKind::Step(step)) => {
                let client = &self.scenario.clients[id.client];
                let dead = match client.target {
                    Target::Server(server) => self.failed_programs.get(&server),
                    Target::Address(_) => None,
                };
                let entry = describe_step_event(self.scenario, *id, step, dead);
                // The client speaks: its server side stops folding (and says what it hid).
                for conn in self.connections_of.get(id).cloned().unwrap_or_default() {
                    out.extend(self.unfold(conn, seconds, styled));
                }
                out.push(self.line(seconds, &entry, styled));
                for (conn, id) in paired {
                    out.extend(self.release(conn, id, styled));
                }
            }
            (Origin::Connection(conn), EventKind::Served(action)) => {
                let own = paired.iter().find(|(paired, _)| paired == conn);
                if let ServerAction::Accepted { peer, .. } = action.action {
                    let leg_of = self.pairing.proxy_of(*conn);
                    match own {
                        Some((_, id)) => {
                            self.label(*conn, *id);
                        }
                        // A leg through a proxy from outside: its proxy's peer's.
                        None if let Some(proxy) = leg_of
                            && let Some(label) = self.labels.get(&proxy).cloned() =>
                        {
                            let through = &self.scenario.servers[proxy.server].name;
                            self.labels
                                .insert(*conn, format!("{label} through {through}"));
                        }
                        // Its client may still say so (held back until then).
                        None if self.pairing.may_be_claimed(conn.server) => {
                            self.waiting.insert(*conn, (peer, Vec::new()));
                        }
                        // Nobody of the scenario talks to this server: a peer from outside.
                        None => {
                            self.labels.insert(*conn, format!("peer {peer}"));
                        }
                    }
                }
                out.extend(self.server_line(*conn, seconds, action, styled));
                // A proxy's connection to its upstream makes that connection its client's.
                for (leg, id) in paired.into_iter().filter(|(paired, _)| paired != conn) {
                    out.extend(self.release(leg, id, styled));
                }
            }
            _ => {}
        }
        out
    }

    /// A server line of connection `conn`: printed now with its client's label, or held back
    /// until the label is known.
    fn server_line(
        &mut self,
        conn: ConnectionId,
        seconds: f64,
        action: &ServerEvent,
        styled: bool,
    ) -> Vec<String> {
        match self.labels.get(&conn).cloned() {
            Some(label) => {
                let mut entry = self.describe(conn, action);
                entry.actor = format!("{} ({label})", entry.actor);
                self.folded(conn, seconds, entry, styled)
            }
            None => {
                if let Some((_, held)) = self.waiting.get_mut(&conn) {
                    held.push((seconds, action.clone()));
                }
                Vec::new()
            }
        }
    }

    /// A server action of connection `conn` in words, redacted as its client's section is.
    fn describe(&self, conn: ConnectionId, action: &ServerEvent) -> Entry {
        let owner = self.owners.get(&conn).copied();
        describe_server_event(self.scenario, conn.server, owner, action)
    }

    /// A labelled server line, through its connection's fold: maybe hidden, maybe after the
    /// count of the lines a broken cycle hid.
    fn folded(
        &mut self,
        conn: ConnectionId,
        seconds: f64,
        entry: Entry,
        styled: bool,
    ) -> Vec<String> {
        let (summary, show) = self.folds.entry(conn).or_default().offer(&entry.text);
        let mut out = Vec::new();
        if let Some(text) = summary {
            let note = Entry {
                text,
                ..entry.clone()
            };
            out.push(self.line(seconds, &note, styled));
        }
        if show {
            out.push(self.line(seconds, &entry, styled));
        }
        out
    }

    /// Ends the fold of a connection: the count of what it hid, if anything.
    fn unfold(&mut self, conn: ConnectionId, seconds: f64, styled: bool) -> Option<String> {
        let text = self.folds.get_mut(&conn)?.flush()?;
        let label = self.labels.get(&conn)?;
        let note = Entry {
            mark: crate::transcript::Mark::Server,
            actor: format!("{} ({label})", self.scenario.servers[conn.server].name),
            text,
            detail: Vec::new(),
            differs: None,
            hint: None,
            drawing: Default::default(),
        };
        Some(self.line(seconds, &note, styled))
    }

    /// Lines still held back at the end of the run (connections from outside peers).
    pub fn finish(&mut self, styled: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut folding: Vec<ConnectionId> = self.folds.keys().copied().collect();
        folding.sort();
        for conn in folding {
            out.extend(self.unfold(conn, self.last_seconds, styled));
        }
        // What never paired but is all the same its server's one program client's.
        for (conn, id) in self.pairing.leftovers() {
            if self.waiting.contains_key(&conn) {
                out.extend(self.release(conn, id, styled));
            }
        }
        let mut waiting: Vec<_> = self.waiting.drain().collect();
        waiting.sort_by_key(|(conn, _)| *conn);
        for (conn, (peer, held)) in waiting {
            for (seconds, action) in held {
                let mut entry = self.describe(conn, &action);
                entry.actor = format!("{} (peer {peer}, connection {})", entry.actor, conn.seq);
                out.push(self.line(seconds, &entry, styled));
            }
        }
        out
    }

    /// Prints the held lines of connection `conn`, now known to be instance `id`'s.
    fn release(&mut self, conn: ConnectionId, id: InstanceId, styled: bool) -> Vec<String> {
        let Some((_, held)) = self.waiting.remove(&conn) else {
            self.label(conn, id);
            return Vec::new();
        };
        let label = self.label(conn, id);
        let mut out = Vec::new();
        for (seconds, action) in held {
            let mut entry = self.describe(conn, &action);
            entry.actor = format!("{} ({label})", entry.actor);
            out.extend(self.folded(conn, seconds, entry, styled));
        }
        out
    }

    /// Takes note that connection `conn` is instance `id`'s; its label.
    fn label(&mut self, conn: ConnectionId, id: InstanceId) -> String {
        let label = instance_label(self.scenario, id);
        self.labels.insert(conn, label.clone());
        self.owners.insert(conn, id.client);
        self.connections_of.entry(id).or_default().push(conn);
        label
    }

    fn line(&self, seconds: f64, entry: &Entry, styled: bool) -> String {
        format!("{seconds:8.3}s  {}", entry.render(self.width, styled))
    }
}

/// What a listening line adds for a TLS server with a certificate the run made: the files a
/// client from outside the run needs (removed when the run ends).
pub fn listening_tls(tls: Option<&crate::event::TrustFiles>) -> String {
    match tls {
        Some(files) => match &files.client {
            Some((cert, key)) => format!(
                " (TLS: its CA is {}; it asks for a client certificate: {cert}, key {key})",
                files.ca_file
            ),
            None => format!(" (TLS: its CA is {})", files.ca_file),
        },
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::event::StepOutcome;
    use crate::event::fixtures::{listening, served, step};
    use crate::source::SourceFile;

    /// A server's lines held back until their client is known are described then, with that
    /// client's `redact` (not the scenario's alone, as they would be when they arrived).
    #[test]
    fn held_server_lines_get_their_clients_redactions() {
        let text = "redact:\n  time: \"[0-9]{2}:[0-9]{2}\"\nservers:\n  - name: api\n    rules:\n      - reply: \"ok\"\nclients:\n  - name: mine\n    connect: api\n    redact:\n      session: \"sid=[0-9a-f]+\"\n    steps:\n      - send: \"x\"\n";
        let Ok(scenario) = crate::scenario::load_source(SourceFile::new("t.yaml", text)) else {
            panic!("the scenario loads");
        };
        let server = SocketAddr::from(([127, 0, 0, 1], 7000));
        let client = SocketAddr::from(([127, 0, 0, 1], 5000));
        let answered = ServerAction::Answered {
            message: b"at 12:34".to_vec(),
            truncated: None,
            rule: 0,
            delay: None,
            reply: Some(b"ok 12:34 sid=ab12".to_vec()),
            close: false,
            lost: false,
            faults: Vec::new(),
        };
        let mut live = LiveView::new(&scenario);
        let mut lines = Vec::new();
        for event in [
            listening(0, server),
            // The server's side comes first: held, its client not known yet.
            served(
                0,
                ServerAction::Accepted {
                    peer: client,
                    via: None,
                },
                false,
            ),
            served(0, answered, false),
            step(
                0,
                StepOutcome::Connected {
                    local: client,
                    remote: server,
                },
            ),
        ] {
            lines.extend(live.lines(&event, false));
        }
        let text = lines.join("\n");
        assert!(
            text.contains(
                "api (mine)  received \"at [time]\" → rules[0], reply \"ok [time] [session]\""
            ),
            "{text}"
        );
    }
}
