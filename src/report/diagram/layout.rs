//! Where everything of a sequence diagram goes, before it is drawn: a lane per client instance,
//! outside peer, address and server; a row per arrow or note, ordered by *declared* time (what
//! the scenario says things take: start_after, sleeps, expect_nothing, delays, latency, and a
//! sequential server's queue), so the layout is the same on every run and machine. Measured
//! times ride along, for the side axis only.

use std::collections::HashMap;
use std::time::Duration;

use crate::event::InstanceId;
use crate::scenario::{Concurrency, Protocol, Scenario, Target};
use crate::transcript::{
    Arrow, ArrowKind, Entry, Mark, Section, Tie, Toward, Transcript, Who, is_drawn,
};

/// Most lanes of one client's instances drawn; the others are said in a note (their lines are
/// in the transcript). With the transcript's own folding of repeats, this bounds a diagram.
pub const MOST_INSTANCE_LANES: u32 = 8;

/// Most rows of one diagram (past them, only failures): a conversation's own lines are
/// folded (`transcript::DRAWN_HEAD`), and this bounds many conversations together.
pub const MOST_ROWS: usize = 160;

/// The close of a client that closed when its steps ended (no step of its own drew it).
static IMPLICIT_CLOSE: Arrow = Arrow::plain(Toward::Server, ArrowKind::Fin);

/// Who a lane is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LaneKey {
    /// A client instance.
    Instance(InstanceId),
    /// A peer from outside the scenario (one per section that shows one).
    Outside(usize),
    /// An address outside the scenario a client connects to.
    Address(String),
    /// A server.
    Server(usize),
}

/// What a lane stands for, for its heading and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    /// A client netlab runs.
    Client,
    /// A client that is a program under test.
    ClientProgram,
    /// A peer or address outside the scenario.
    Outside,
    /// A server netlab runs.
    Server,
    /// A server that is a program under test.
    ServerProgram,
}

/// One lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// Who.
    pub key: LaneKey,
    /// Its heading.
    pub name: String,
    /// Its second line (`threaded`, `program under test`…).
    pub note: String,
    /// What it stands for.
    pub kind: LaneKind,
}

/// One row of the diagram: an arrow of a line, or a line drawn as a note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// The line.
    pub entry: &'a Entry,
    /// Which of its arrows (`None`: the line is a note).
    pub arrow: Option<&'a Arrow>,
    /// The lane of the line's actor.
    pub lane: usize,
    /// The lane at the other end of its section's conversation.
    pub peer: usize,
    /// Where its arrow starts and ends (both its lane for a note).
    pub from: usize,
    /// See `from`.
    pub to: usize,
    /// The section it comes from.
    pub section: usize,
    /// The line's place in its section.
    pub entry_index: usize,
    /// A server's line (else its section's client's).
    pub on_server: bool,
    /// When it happened, as declared.
    pub declared: Duration,
    /// How many lines of a long section this row stands for, not drawn (0: a line's row).
    pub folded: usize,
}

/// A connection a client waited on, or held: drawn as a bar on the client's lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    /// The client's lane.
    pub lane: usize,
    /// Its first row (the connect).
    pub from: usize,
    /// The row where a server took it, when rows came between (it waited in the backlog).
    pub accepted: Option<usize>,
    /// Its last row.
    pub to: usize,
}

/// A diagram laid out.
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// Lanes, left to right.
    pub lanes: Vec<Lane>,
    /// Rows, top to bottom.
    pub rows: Vec<Row<'a>>,
    /// Connections held, per client instance.
    pub holds: Vec<Hold>,
    /// Client instances not drawn (past `MOST_INSTANCE_LANES`), by client name.
    pub not_drawn: Vec<(String, u32)>,
    /// Rows past `MOST_ROWS`, not drawn (their lines are in the transcript).
    pub rows_not_drawn: usize,
}

/// Lays out the diagram of `transcript`, a run of `scenario`.
pub fn lay_out<'a>(scenario: &Scenario, transcript: &'a Transcript) -> Layout<'a> {
    let (lanes, index) = lanes(scenario, transcript);
    let times = declared_times(scenario, transcript);
    let mut rows = Vec::new();
    for (s, section) in transcript.sections.iter().enumerate() {
        let Some((own, peer)) = ends(scenario, section.who, s, &index) else {
            continue;
        };
        let len = section.entries.len();
        let entries = &section.entries;
        let closes_implicitly = match section.who {
            Who::Instance(id) => {
                let client = &scenario.clients[id.client];
                !client.is_program() && client.protocol == Protocol::Tcp
            }
            Who::Outside(_) | Who::Server(_) => false,
        };
        let mut client_closed = false;
        // Where a run of lines not drawn began, and how many.
        let mut fold: Option<(usize, usize)> = None;
        for (e, entry) in section.entries.iter().enumerate() {
            if !is_drawn(entries, e) {
                let (_, count) = fold.get_or_insert((e, 0));
                *count += 1;
                if e + 1 < len {
                    continue;
                }
            }
            // One row for each run of lines between a long section's first and last ones.
            if let Some((first, count)) = fold.take() {
                rows.push(Row {
                    entry: &section.entries[first],
                    arrow: None,
                    lane: own,
                    peer,
                    from: own,
                    to: own,
                    section: s,
                    entry_index: first,
                    on_server: false,
                    // Not before a line drawn above it.
                    declared: times[s][..=first].iter().copied().max().unwrap_or_default(),
                    folded: count,
                });
                if !is_drawn(entries, e) {
                    continue;
                }
            }
            let on_server = entry.mark == Mark::Server || matches!(section.who, Who::Server(_));
            // The section's client end is `own`, its server end `peer`.
            let (client, server) = (own, peer);
            let (lane, other) = if on_server {
                (server, client)
            } else {
                (client, server)
            };
            // The line as a note on its actor's lane; its arrows are drawn from it.
            let note = Row {
                entry,
                arrow: None,
                lane,
                peer: other,
                from: lane,
                to: lane,
                section: s,
                entry_index: e,
                on_server,
                declared: times[s][e],
                folded: 0,
            };
            // A client of netlab's that never closed by a step closed when its steps ended: the
            // close the server saw is drawn as the client's, before the server's own.
            match entry.drawing.tie {
                Tie::Closed => client_closed = true,
                Tie::SawClose if on_server && !client_closed && closes_implicitly => {
                    client_closed = true;
                    rows.push(Row {
                        arrow: Some(&IMPLICIT_CLOSE),
                        lane: client,
                        peer: server,
                        from: client,
                        to: server,
                        on_server: false,
                        ..note
                    });
                }
                _ => {}
            }
            if entry.drawing.arrows.is_empty() {
                rows.push(note);
            }
            for arrow in &entry.drawing.arrows {
                let (from, to) = match arrow.toward {
                    Toward::Server => (client, server),
                    Toward::Client => (server, client),
                };
                // What a server line received came before the pause it declares (its delay),
                // what it sent after.
                let declared = if on_server && arrow.toward == Toward::Server {
                    note.declared.saturating_sub(entry.drawing.pause)
                } else {
                    note.declared
                };
                rows.push(Row {
                    arrow: Some(arrow),
                    from,
                    to,
                    declared,
                    ..note
                });
            }
        }
    }
    // Rows of one declared time are taken a row of each section in turn (what happens at once
    // in several conversations is drawn interleaved, side by side, not one conversation after
    // the other); a section's rows keep their order.
    let mut turn: HashMap<(usize, Duration), usize> = HashMap::new();
    let mut keyed: Vec<((Duration, usize, usize), Row)> = rows
        .into_iter()
        .map(|row| {
            let n = turn.entry((row.section, row.declared)).or_default();
            *n += 1;
            ((row.declared, *n, row.section), row)
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    // At most `MOST_ROWS`, failures always: many conversations, each folded, still end.
    let total = keyed.len();
    let rows: Vec<Row> = keyed
        .into_iter()
        .enumerate()
        .filter(|(n, (_, row))| *n < MOST_ROWS || row.entry.mark == Mark::Failed)
        .map(|(_, (_, row))| row)
        .collect();
    let rows_not_drawn = total - rows.len();
    let holds = holds(&lanes, &rows);
    let mut not_drawn: Vec<(String, u32)> = scenario
        .clients
        .iter()
        .filter(|c| c.count > MOST_INSTANCE_LANES)
        .map(|c| (c.name.clone(), c.count - MOST_INSTANCE_LANES))
        .collect();
    for (s, server) in scenario.servers.iter().enumerate() {
        let peers = transcript
            .sections
            .iter()
            .filter(|section| section.who == Who::Outside(s))
            .count();
        if peers > MOST_INSTANCE_LANES as usize {
            not_drawn.push((
                format!("the outside peers of {}", server.name),
                u32::try_from(peers - MOST_INSTANCE_LANES as usize).unwrap_or(u32::MAX),
            ));
        }
    }
    Layout {
        lanes,
        rows,
        holds,
        not_drawn,
        rows_not_drawn,
    }
}

/// The lanes, each server after the clients that talk to it (so a conversation stays close
/// together and concurrent clients stand side by side), and where each key is.
fn lanes(scenario: &Scenario, transcript: &Transcript) -> (Vec<Lane>, HashMap<LaneKey, usize>) {
    let mut lanes = Vec::new();
    for (s, server) in scenario.servers.iter().enumerate() {
        lanes.extend(client_lanes(scenario, &Target::Server(s)));
        let outside = transcript
            .sections
            .iter()
            .enumerate()
            .filter(|(_, section)| section.who == Who::Outside(s));
        for (index, _) in outside.take(MOST_INSTANCE_LANES as usize) {
            lanes.push(Lane {
                key: LaneKey::Outside(index),
                name: "outside peer".to_string(),
                note: "not in the scenario".to_string(),
                kind: LaneKind::Outside,
            });
        }
        let threading = match server.concurrency {
            Concurrency::Threaded => "threaded",
            Concurrency::Sequential => "sequential",
        };
        let protocol = server.protocol.name();
        let (note, kind) = if server.program.is_some() {
            (
                format!("{protocol} · program under test"),
                LaneKind::ServerProgram,
            )
        } else if let Some(address) = &server.outside {
            (
                format!("{protocol} · outside: {address}"),
                LaneKind::Outside,
            )
        } else if server.protocol == Protocol::Udp {
            (protocol.to_string(), LaneKind::Server)
        } else {
            (format!("{protocol} · {threading}"), LaneKind::Server)
        };
        lanes.push(Lane {
            key: LaneKey::Server(s),
            name: server.name.clone(),
            note,
            kind,
        });
    }
    // Clients of addresses outside the scenario, each address after its clients.
    let mut addresses: Vec<&String> = Vec::new();
    for client in &scenario.clients {
        if let Target::Address(address) = &client.target
            && !addresses.contains(&address)
        {
            addresses.push(address);
        }
    }
    for address in addresses {
        lanes.extend(client_lanes(scenario, &Target::Address(address.clone())));
        lanes.push(Lane {
            key: LaneKey::Address(address.clone()),
            name: address.clone(),
            note: "outside the scenario".to_string(),
            kind: LaneKind::Outside,
        });
    }
    let index = lanes
        .iter()
        .enumerate()
        .map(|(i, lane)| (lane.key.clone(), i))
        .collect();
    (lanes, index)
}

/// The lanes of the instances of the clients that connect to `target` (at most
/// `MOST_INSTANCE_LANES` per client).
fn client_lanes<'a>(scenario: &'a Scenario, target: &'a Target) -> impl Iterator<Item = Lane> + 'a {
    let theirs = scenario
        .clients
        .iter()
        .enumerate()
        .filter(move |(_, client)| client.target == *target);
    theirs.flat_map(|(c, client)| {
        (1..=client.count.min(MOST_INSTANCE_LANES)).map(move |instance| Lane {
            key: LaneKey::Instance(InstanceId {
                client: c,
                instance,
            }),
            name: client.instance_label(instance),
            note: client_note(client),
            kind: if client.is_program() {
                LaneKind::ClientProgram
            } else {
                LaneKind::Client
            },
        })
    })
}

fn client_note(client: &crate::scenario::Client) -> String {
    let protocol = client.protocol.name();
    if client.is_program() {
        format!("{protocol} · program under test")
    } else if client.start_after > Duration::ZERO {
        format!(
            "{protocol} · starts after {}",
            humantime::format_duration(client.start_after)
        )
    } else {
        protocol.to_string()
    }
}

/// The lanes of a section's two ends: its own (the client's, or the server's for a server's own
/// lines) and the other; `None` when the section is not drawn (an instance past the cap).
fn ends(
    scenario: &Scenario,
    who: Who,
    section: usize,
    index: &HashMap<LaneKey, usize>,
) -> Option<(usize, usize)> {
    match who {
        Who::Instance(id) => {
            let own = *index.get(&LaneKey::Instance(id))?;
            let peer = match &scenario.clients[id.client].target {
                Target::Server(s) => LaneKey::Server(*s),
                Target::Address(address) => LaneKey::Address(address.clone()),
            };
            Some((own, *index.get(&peer)?))
        }
        Who::Outside(server) => Some((
            *index.get(&LaneKey::Outside(section))?,
            *index.get(&LaneKey::Server(server))?,
        )),
        Who::Server(server) => {
            let lane = *index.get(&LaneKey::Server(server))?;
            Some((lane, lane))
        }
    }
}

/// When each line of each section happened, as declared. A section starts at its client's
/// `start_after`; each side keeps a clock, and each line adds the time it declares. A client's
/// line comes after the server lines shown before it (it depended on them); a server's line
/// after its own previous one and after the client line that caused it: the send whose bytes it
/// received (by bytes over TCP, by count over UDP), the connect it took, the close it saw. A
/// sequential server takes a connection only once the section that held the one before it is
/// over. A server's own lines before the clients' sections (a program that failed) come first;
/// after them, last.
fn declared_times(scenario: &Scenario, transcript: &Transcript) -> Vec<Vec<Duration>> {
    let sections = &transcript.sections;
    let first_client = sections
        .iter()
        .position(|s| !matches!(s.who, Who::Server(_)))
        .unwrap_or(sections.len());
    let trailing = |s: usize| matches!(sections[s].who, Who::Server(_)) && s >= first_client;
    // The sequential server each section talks to, if it talks to one.
    let queue_of: Vec<Option<usize>> = sections
        .iter()
        .map(|section| {
            let server = match section.who {
                Who::Instance(id) => match scenario.clients[id.client].target {
                    Target::Server(server) => server,
                    Target::Address(_) => return None,
                },
                Who::Outside(server) => server,
                Who::Server(_) => return None,
            };
            let s = scenario.servers.get(server)?;
            (s.concurrency == Concurrency::Sequential && s.protocol == Protocol::Tcp)
                .then_some(server)
        })
        .collect();
    let start = |s: usize| match sections[s].who {
        Who::Instance(id) => scenario.clients[id.client].start_after,
        Who::Outside(_) | Who::Server(_) => Duration::ZERO,
    };
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); sections.len()];
    let mut freed: Vec<Duration> = vec![Duration::ZERO; sections.len()];
    let mut opened: Vec<Duration> = vec![Duration::ZERO; sections.len()];
    // First as if no server made anyone wait: when each section opened its connection (its
    // connect comes before any wait), and the times of the sections no queue holds.
    for s in (0..sections.len()).filter(|s| !trailing(*s)) {
        let (row, timing) = section_times(scenario, &sections[s], start(s), None);
        opened[s] = timing.opened;
        freed[s] = timing.freed;
        times[s] = row;
    }
    // A sequential server takes its connections in the order they were opened, as declared
    // (ties by section), not in the order the kernel happened to hand them over: the same on
    // every run. Each waits until the one before it left the server free.
    let mut queued: Vec<usize> = (0..sections.len())
        .filter(|s| queue_of[*s].is_some())
        .collect();
    queued.sort_by_key(|s| (queue_of[*s], opened[*s], *s));
    for pair in queued.windows(2) {
        let [before, s] = [pair[0], pair[1]];
        if queue_of[before] != queue_of[s] {
            continue;
        }
        let (row, timing) = section_times(scenario, &sections[s], start(s), Some(freed[before]));
        freed[s] = timing.freed;
        times[s] = row;
    }
    // A server's own lines after the clients' sections (its checks, its program's output)
    // come last.
    let last = times
        .iter()
        .filter_map(|row| row.last().copied())
        .max()
        .unwrap_or_default();
    for s in (0..sections.len()).filter(|s| trailing(*s)) {
        times[s] = section_times(scenario, &sections[s], last, None).0;
    }
    times
}

/// When a section opened its connection, and when its server was free of it, as declared.
struct Timing {
    opened: Duration,
    freed: Duration,
}

/// The declared times of one section's lines (see `declared_times`), and its `Timing`; `free`
/// is when its sequential server was done with the connection before its own.
fn section_times(
    scenario: &Scenario,
    section: &Section,
    start: Duration,
    free: Option<Duration>,
) -> (Vec<Duration>, Timing) {
    let protocol = match section.who {
        Who::Instance(id) => scenario.clients[id.client].protocol,
        Who::Outside(server) | Who::Server(server) => scenario.servers[server].protocol,
    };
    // Folded lines stand for sends and messages not shown one by one: from the first, no
    // matching them, the transcript's order is kept.
    let mut matchable = true;
    let (mut client, mut server) = (start, start);
    let mut sends: Vec<(u64, Duration)> = Vec::new();
    let (mut sent, mut received, mut messages) = (0u64, 0u64, 0usize);
    let (mut opened, mut closed) = (start, None);
    let mut row = Vec::with_capacity(section.entries.len());
    for entry in &section.entries {
        let on_server = entry.mark == Mark::Server || matches!(section.who, Who::Server(_));
        let pause = entry.drawing.pause;
        matchable &= entry.drawing.more == 0
            && !matches!(entry.drawing.tie, Tie::Repeated | Tie::Received(None));
        if on_server {
            let cause = match entry.drawing.tie {
                Tie::Accepted => opened.max(free.unwrap_or_default()),
                Tie::Received(Some(len)) if matchable => {
                    received = received.saturating_add(len);
                    messages += 1;
                    let send = match protocol {
                        Protocol::Udp => sends.get(messages - 1),
                        Protocol::Tcp => sends.iter().find(|(end, _)| *end >= received),
                    };
                    send.map_or(client, |(_, at)| *at)
                }
                Tie::Received(_) => client,
                Tie::SawClose => closed.unwrap_or(client),
                _ => server,
            };
            server = server.max(cause).saturating_add(pause);
            row.push(server);
        } else {
            client = client.max(server).saturating_add(pause);
            match entry.drawing.tie {
                Tie::Sent(len) => {
                    sent = sent.saturating_add(len);
                    sends.push((sent, client));
                }
                Tie::Opened => opened = client,
                Tie::Closed => closed = Some(client),
                _ => {}
            }
            row.push(client);
        }
    }
    // The server is free of the connection after its own last line (the close it made or
    // saw), or once the client closed it.
    (
        row,
        Timing {
            opened,
            freed: server.max(closed.unwrap_or_default()),
        },
    )
}

/// Each client instance's connection, from its connect to its last row, and where a server
/// took it when rows came between (it waited in the listen backlog).
fn holds(lanes: &[Lane], rows: &[Row]) -> Vec<Hold> {
    let mut open: HashMap<usize, Hold> = HashMap::new();
    let mut holds = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let client = if row.on_server { row.peer } else { row.lane };
        if !matches!(
            lanes[client].key,
            LaneKey::Instance(_) | LaneKey::Outside(_)
        ) {
            continue;
        }
        let connect = row
            .arrow
            .is_some_and(|a| a.kind == ArrowKind::Connect && a.toward == Toward::Server);
        if connect {
            holds.extend(open.remove(&client));
            open.insert(
                client,
                Hold {
                    lane: client,
                    from: r,
                    accepted: None,
                    to: r,
                },
            );
        }
        if let Some(hold) = open.get_mut(&client) {
            hold.to = r;
            if hold.accepted.is_none() && row.entry.drawing.tie == Tie::Accepted {
                hold.accepted = Some(r);
            }
        }
    }
    holds.extend(open.into_values());
    // It waited only if it was taken later than it connected, as declared (a threaded server's
    // `accepted` line may be shown after a send it had not yet read: no wait).
    for hold in &mut holds {
        hold.accepted = hold
            .accepted
            .filter(|a| rows[*a].declared > rows[hold.from].declared);
    }
    holds.sort_by_key(|h| (h.lane, h.from));
    holds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Drawing;
    use crate::transcript::{DRAWN_HEAD, DRAWN_TAIL};

    fn scenario(yaml: &str) -> Scenario {
        crate::scenario::load_source(crate::source::SourceFile::new("t.yaml", yaml))
            .unwrap_or_else(|d| panic!("{d}"))
    }

    fn line(mark: Mark, tie: Tie, pause_ms: u64) -> Entry {
        Entry {
            mark,
            actor: String::new(),
            text: String::new(),
            detail: Vec::new(),
            differs: None,
            hint: None,
            drawing: Drawing {
                tie,
                pause: Duration::from_millis(pause_ms),
                ..Drawing::default()
            },
        }
    }

    fn section(client: usize, entries: Vec<Entry>) -> Section {
        Section {
            who: Who::Instance(InstanceId {
                client,
                instance: 1,
            }),
            heading: String::new(),
            entries,
            result: String::new(),
        }
    }

    fn millis(times: &[Duration]) -> Vec<u128> {
        times.iter().map(Duration::as_millis).collect()
    }

    const ONE_UDP_CLIENT: &str = "servers:\n  - name: s\n    protocol: udp\n    rules:\n      - reply: \"x\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: \"1\"\n";

    #[test]
    fn a_server_line_is_placed_at_the_send_that_caused_it_not_where_the_transcript_shows_it() {
        let scenario = scenario(ONE_UDP_CLIENT);
        // send 1, expect_nothing 100ms, send 2, then the server's two answers (the first
        // reply lost), as the transcript shows them: before the client's next expect.
        let entries = vec![
            line(Mark::Passed, Tie::Sent(1), 0),
            line(Mark::Passed, Tie::None, 100),
            line(Mark::Passed, Tie::Sent(1), 0),
            line(Mark::Server, Tie::Received(Some(1)), 0),
            line(Mark::Server, Tie::Received(Some(1)), 0),
            line(Mark::Passed, Tie::None, 0),
        ];
        let (times, timing) = section_times(&scenario, &section(0, entries), Duration::ZERO, None);
        assert_eq!(millis(&times), [0, 100, 100, 0, 100, 100]);
        assert_eq!(timing.freed, Duration::from_millis(100));
    }

    #[test]
    fn over_tcp_a_message_is_tied_to_the_send_that_completed_it() {
        let scenario = scenario(
            "servers:\n  - name: s\n    rules:\n      - reply: \"x\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: \"ab\"\n",
        );
        // "ab" at 0, "cd" after a 50ms sleep: one 4-byte message, answered after 1s.
        let entries = vec![
            line(Mark::Passed, Tie::Opened, 0),
            line(Mark::Passed, Tie::Sent(2), 0),
            line(Mark::Passed, Tie::None, 50),
            line(Mark::Passed, Tie::Sent(2), 0),
            line(Mark::Server, Tie::Accepted, 0),
            line(Mark::Server, Tie::Received(Some(4)), 1000),
            line(Mark::Passed, Tie::None, 0),
        ];
        let (times, _) = section_times(&scenario, &section(0, entries), Duration::ZERO, None);
        assert_eq!(millis(&times), [0, 0, 50, 50, 0, 1050, 1050]);
    }

    #[test]
    fn a_sequential_server_takes_a_connection_once_the_one_before_is_over() {
        let scenario = scenario(
            "servers:\n  - name: s\n    concurrency: sequential\n    rules:\n      - reply: \"x\"\nclients:\n  - name: a\n    connect: s\n    steps:\n      - send: \"1\"\n  - name: b\n    connect: s\n    start_after: 200ms\n    steps:\n      - send: \"1\"\n",
        );
        let first = section(
            0,
            vec![
                line(Mark::Passed, Tie::Opened, 0),
                line(Mark::Server, Tie::Accepted, 0),
                line(Mark::Passed, Tie::None, 2000),
                line(Mark::Passed, Tie::Closed, 0),
            ],
        );
        let second = section(
            1,
            vec![
                line(Mark::Passed, Tie::Opened, 0),
                line(Mark::Server, Tie::Accepted, 0),
                line(Mark::Passed, Tie::None, 0),
            ],
        );
        let transcript = Transcript {
            scenario: String::new(),
            sections: vec![first, second],
            verdict: String::new(),
            warnings: Vec::new(),
            first_failed_section: None,
        };
        let times = declared_times(&scenario, &transcript);
        assert_eq!(millis(&times[0]), [0, 0, 2000, 2000]);
        // Connected at 200ms, taken at 2s, when the first had gone.
        assert_eq!(millis(&times[1]), [200, 2000, 2000]);
    }

    #[test]
    fn a_long_conversation_is_folded_but_its_failure_is_drawn() {
        let scenario = scenario(ONE_UDP_CLIENT);
        let mut entries: Vec<Entry> = (0..500).map(|_| line(Mark::Passed, Tie::None, 0)).collect();
        entries[250].mark = Mark::Failed;
        let transcript = Transcript {
            scenario: String::new(),
            sections: vec![section(0, entries)],
            verdict: String::new(),
            warnings: Vec::new(),
            first_failed_section: None,
        };
        let layout = lay_out(&scenario, &transcript);
        let folds: Vec<(usize, usize)> = layout
            .rows
            .iter()
            .filter(|r| r.folded > 0)
            .map(|r| (r.entry_index, r.folded))
            .collect();
        // The failure and the three lines before it are drawn.
        assert_eq!(
            folds,
            [
                (DRAWN_HEAD, 247 - DRAWN_HEAD),
                (251, 500 - DRAWN_TAIL - 251)
            ]
        );
        assert_eq!(layout.rows.len(), DRAWN_HEAD + DRAWN_TAIL + 4 + 2);
        assert!(layout.rows.iter().any(|r| r.entry.mark == Mark::Failed));
    }

    #[test]
    fn lines_before_a_folded_repeat_are_still_placed_at_their_cause() {
        let scenario = scenario(ONE_UDP_CLIENT);
        let entries = vec![
            line(Mark::Passed, Tie::Sent(1), 0),
            line(Mark::Passed, Tie::None, 20),
            line(Mark::Passed, Tie::Sent(1), 0),
            line(Mark::Server, Tie::Received(Some(1)), 0),
            line(Mark::Server, Tie::Received(Some(1)), 0),
            line(Mark::Passed, Tie::None, 0),
            line(Mark::Passed, Tie::Repeated, 0),
        ];
        let (times, _) = section_times(&scenario, &section(0, entries), Duration::ZERO, None);
        assert_eq!(millis(&times), [0, 20, 20, 0, 20, 20, 20]);
    }
}
