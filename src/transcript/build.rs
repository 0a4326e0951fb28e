//! Building the transcript: the events of a run, grouped per client instance (in name order) and
//! joined with the server's side of the same connection. The two sides are interleaved by cause,
//! not by arrival: a server action is shown just before the first client step that depended on it
//! (the bytes it read, or the close it saw), so the text is the same on every run and machine.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use super::describe::{
    Entry, Mark, describe_program_failure, describe_server_check, describe_server_event,
    describe_step_event, instance_label, program_status,
};
use super::drawing::drop_undrawn;
use crate::event::{
    AppliedFault, ConnectionId, Event, EventKind, InstanceId, Origin, ProgramFailure,
    ProgramReport, ServerAction, ServerEvent, StepEvent, StepOutcome, Way, copies, keep_unanswered,
};
use crate::outcome::Verdict;
use crate::pairing::Pairing;
use crate::scenario::{Client, Framing, Protocol, Scenario, Target};

/// The transcript of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// The scenario's name.
    pub scenario: String,
    /// One section per client instance, then one per connection from an outside peer.
    pub sections: Vec<Section>,
    /// The verdict line.
    pub verdict: String,
    /// What the run shows that depends on timing, in words (not part of the transcript's text,
    /// which must not: said beside it, in the live view, JSON and snapshot diffs).
    pub warnings: Vec<String>,
    /// The section of the client instance whose step failed first in time (the failure a
    /// student is told about first: what came after may be its consequence).
    pub first_failed_section: Option<usize>,
}

/// Whose account a section is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// A client instance's conversation with its server.
    Instance(InstanceId),
    /// A connection from a peer outside the scenario to this server.
    Outside(usize),
    /// This server's own lines (its program's failure, its checks, its notes).
    Server(usize),
}

/// What happened on one client instance's connection (or an outside peer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Whose it is.
    pub who: Who,
    /// `client → hello`.
    pub heading: String,
    /// The lines, in causal order.
    pub entries: Vec<Entry>,
    /// `passed`, `FAILED at steps[2]`…
    pub result: String,
}

/// Builds the transcript of a run of `scenario` from its events and verdict.
pub fn build(scenario: &Scenario, events: &[Event], verdict: &Verdict) -> Transcript {
    let mut steps: BTreeMap<InstanceId, Vec<&StepEvent>> = BTreeMap::new();
    let mut step_times: HashMap<InstanceId, Vec<Duration>> = HashMap::new();
    let mut done: HashMap<InstanceId, bool> = HashMap::new();
    let mut served: BTreeMap<ConnectionId, Vec<&ServerEvent>> = BTreeMap::new();
    let mut server_notes: BTreeMap<usize, Vec<Entry>> = BTreeMap::new();
    let failed = failed_programs(events);
    let mut program_failures: Vec<Section> = failed
        .iter()
        .map(|(server, failure)| Section {
            who: Who::Server(*server),
            heading: format!("server {}", scenario.servers[*server].name),
            entries: vec![describe_program_failure(scenario, *server, failure)],
            result: String::new(),
        })
        .collect();
    for event in events {
        match (&event.origin, &event.kind) {
            (Origin::Instance(id), EventKind::Step(step)) => {
                steps.entry(*id).or_default().push(step);
                step_times.entry(*id).or_default().push(event.elapsed);
            }
            (Origin::Instance(id), EventKind::InstanceDone { passed }) => {
                done.insert(*id, *passed);
            }
            (Origin::Connection(id), EventKind::Served(action)) => {
                served.entry(*id).or_default().push(action)
            }
            (Origin::Server(i), EventKind::AcceptFailed { reason }) => {
                server_notes.entry(*i).or_default().push(note(
                    scenario,
                    *i,
                    format!("accept failed: {reason}"),
                ));
            }
            (
                Origin::Server(i),
                EventKind::ServerChecked {
                    check,
                    count,
                    passed,
                },
            ) => {
                server_notes
                    .entry(*i)
                    .or_default()
                    .push(describe_server_check(scenario, *i, *check, *count, *passed));
            }
            (Origin::Server(i), EventKind::ProgramFinished(report)) => {
                let notes = program_notes(scenario, *i, report);
                if !notes.is_empty() {
                    server_notes.entry(*i).or_default().extend(notes);
                }
            }
            _ => {}
        }
    }
    let (mut owners, legs) = owners(scenario, events);
    let is_leg: std::collections::HashSet<ConnectionId> = legs.values().copied().collect();
    let first_failed = events
        .iter()
        .filter_map(|event| match (&event.origin, &event.kind) {
            (Origin::Instance(id), EventKind::Step(step))
                if matches!(step.outcome, StepOutcome::Failed(_)) =>
            {
                Some((event.elapsed, *id))
            }
            _ => None,
        })
        .min_by_key(|(elapsed, id)| (*elapsed, id.client, id.instance))
        .map(|(_, id)| id);
    let mut first_failed_section = None;
    // A program that failed comes first: it is the cause of what its clients saw.
    let mut sections = std::mem::take(&mut program_failures);
    let mut warnings = Vec::new();
    for (index, client) in scenario.clients.iter().enumerate() {
        for instance in 1..=client.count {
            let id = InstanceId {
                client: index,
                instance,
            };
            let client_events = steps.remove(&id).unwrap_or_default();
            let times = step_times.remove(&id).unwrap_or_default();
            let connections = owners.remove(&id).unwrap_or_default();
            let mut theirs: Vec<Vec<(usize, ServerEvent)>> = connections
                .iter()
                .filter(|c| !is_leg.contains(c))
                .filter_map(|c| {
                    let events = served.remove(c)?;
                    Some(with_legs(scenario, *c, &events, &mut served, &legs))
                })
                .collect();
            // A program's several connections were accepted in an order timing decided: shown
            // in one it does not, as peers from outside are.
            theirs.sort_by_cached_key(|events| {
                events
                    .iter()
                    .map(|(server, e)| {
                        (
                            *server,
                            describe_server_event(scenario, *server, Some(index), e).text,
                        )
                    })
                    .collect::<Vec<_>>()
            });
            let server_events: Vec<(usize, ServerEvent)> = theirs.into_iter().flatten().collect();
            let target = match &client.target {
                Target::Server(i) => scenario.servers[*i].name.clone(),
                Target::Address(address) => address.clone(),
            };
            let dead = dead_program(client, &failed);
            if let Some(warning) =
                misaligned_messages(scenario, client, &client_events, &server_events)
            {
                warnings.push(format!("{}: {warning}", instance_label(scenario, id)));
            }
            if first_failed == Some(id) {
                first_failed_section = Some(sections.len());
            }
            sections.push(Section {
                who: Who::Instance(id),
                heading: format!("{} → {target}", instance_label(scenario, id)),
                entries: interleave(scenario, id, (&client_events, &times), server_events, dead),
                result: match (client_events.is_empty(), done.get(&id), dead) {
                    (true, None, Some(_)) => {
                        "not run: the program under test it talks to had failed".to_string()
                    }
                    _ => instance_result(&client_events, &client.paths, done.get(&id).copied()),
                },
            });
        }
    }
    // Peers from outside the scenario (client programs, `netlab serve`'s visitors): accepted in
    // an order that timing decides, so shown in an order that it does not: by server, then by
    // what happened on the connection.
    let outside_connections: Vec<ConnectionId> = served
        .keys()
        .filter(|c| !is_leg.contains(c))
        .copied()
        .collect();
    let mut outside: Vec<(usize, Section)> = Vec::new();
    for id in outside_connections {
        let Some(actions) = served.remove(&id) else {
            continue;
        };
        let server = &scenario.servers[id.server];
        let mut entries = Vec::new();
        let mut undrawn = 0;
        for (at, action) in with_legs(scenario, id, &actions, &mut served, &legs) {
            let entry = describe_server_event(scenario, at, None, &action);
            push_drawn(&mut entries, &mut undrawn, entry);
        }
        let section = Section {
            who: Who::Outside(id.server),
            heading: format!("{} ← a peer from outside the scenario", server.name),
            entries,
            result: String::new(),
        };
        outside.push((id.server, section));
    }
    outside.sort_by_cached_key(|(server, section)| {
        let texts: Vec<String> = section.entries.iter().map(|e| e.text.clone()).collect();
        (*server, texts)
    });
    sections.extend(outside.into_iter().map(|(_, section)| section));
    for (index, entries) in server_notes {
        sections.push(Section {
            who: Who::Server(index),
            heading: format!("server {}", scenario.servers[index].name),
            entries,
            result: String::new(),
        });
    }
    Transcript {
        scenario: scenario.name.clone(),
        sections,
        verdict: verdict_text(verdict),
        warnings,
        first_failed_section,
    }
}

/// Which server connections belong to which client instance, and which connection each
/// proxy's connection opened to its upstream (see `pairing`).
fn owners(
    scenario: &Scenario,
    events: &[Event],
) -> (
    HashMap<InstanceId, Vec<ConnectionId>>,
    HashMap<ConnectionId, ConnectionId>,
) {
    let mut pairing = Pairing::new(scenario);
    let mut owners: HashMap<InstanceId, Vec<ConnectionId>> = HashMap::new();
    let paired = events.iter().flat_map(|event| pairing.observe(event));
    for (conn, id) in paired
        .collect::<Vec<_>>()
        .into_iter()
        .chain(pairing.leftovers())
    {
        owners.entry(id).or_default().push(conn);
    }
    let legs = events
        .iter()
        .filter_map(|event| match event.origin {
            Origin::Connection(conn) => Some((conn, pairing.upstream_of(conn)?)),
            _ => None,
        })
        .collect();
    (owners, legs)
}

/// A proxy connection's events (of server `proxy`) with those of the connection its upstream
/// (server `upstream`, the first of `leg`'s lines; behind a chain of proxies, the leg's lines are
/// several servers') accepted for it, placed among them by cause, as a client's steps are among
/// its server's: each upstream action just before the proxy's first action that depended on it
/// (forwarding the bytes it sent, passing its close on); the upstream's accept just after the
/// proxy connected to it. The upstream's actions take the proxy's byte counts toward the client,
/// so that the client's steps place them with the proxy's.
///
/// What timing decides is undone: what the proxy forwarded toward the client is cut where the
/// upstream's messages end, and what it forwarded toward the upstream is shown only when the
/// upstream is about to read something (or the proxy does something else), so that a greeting
/// and a first request that crossed in the proxy read the same on every run. A datagram a udp
/// proxy relayed toward the upstream is shown just before the upstream reads it, one for one
/// (what it lost, with the next one read).
fn splice(
    (proxy, events): (usize, Vec<ServerEvent>),
    (upstream, leg): (usize, Vec<(usize, ServerEvent)>),
) -> Vec<(usize, ServerEvent)> {
    let leg = split_repeats(leg);
    let ends = message_ends(leg.iter().map(|(_, event)| event));
    let events: Vec<ServerEvent> = events
        .into_iter()
        .flat_map(|event| cut_at(event, &ends))
        .collect();
    // A udp proxy's stall toward the client came with the datagram after it: it needs what
    // that datagram needs.
    let stall_needs: Vec<Option<u64>> = (0..events.len())
        .map(|at| match &events[at].action {
            ServerAction::ProxyFault {
                way: Way::ToClient, ..
            } => events[at + 1..].iter().find_map(|next| match &next.action {
                ServerAction::Relayed {
                    way: Way::ToClient,
                    read_total,
                    ..
                } => Some(*read_total),
                _ => None,
            }),
            _ => None,
        })
        .collect();
    let mut queue: VecDeque<(usize, ServerEvent)> = leg.into();
    let mut out = Vec::with_capacity(events.len() + queue.len());
    // What the proxy forwarded toward the upstream, not shown yet.
    let mut held: Vec<ServerEvent> = Vec::new();
    let (mut sent, mut closed) = (0, false);
    let mut shown = (0, false);
    // Datagrams the upstream read so far, and those relayed toward it shown so far.
    let mut datagrams = Datagrams::default();
    // Whether the upstream's action that sent the bytes last placed read what the client sent:
    // what the proxy forwards of them comes after what it forwarded toward the upstream.
    let mut answers = false;
    let place = |server: usize, action: ServerEvent, shown: (u64, bool), out: &mut Vec<_>| {
        out.push((
            server,
            ServerEvent {
                sent_total: shown.0,
                closed: shown.1,
                ..action
            },
        ));
    };
    // What was held back, shown now: a cut or a reset on that way closes the client's side for
    // what follows.
    let release = |held: &mut Vec<ServerEvent>,
                   shown: &mut (u64, bool),
                   out: &mut Vec<_>,
                   datagrams: &mut Datagrams| {
        for action in held.drain(..) {
            datagrams.showing(&action.action);
            shown.1 |= action.closed;
            place(proxy, action, *shown, out);
        }
    };
    // What was held back up to the client's close: what an upstream reading bytes may have
    // read (with the faults on them); the close waits for the upstream to see it.
    let release_bytes = |held: &mut Vec<ServerEvent>,
                         shown: &mut (u64, bool),
                         out: &mut Vec<_>,
                         datagrams: &mut Datagrams| {
        let ready = datagrams.ready(held);
        for action in held.drain(..ready) {
            shown.1 |= action.closed;
            place(proxy, action, *shown, out);
        }
    };
    for (event, stall_needs) in events.into_iter().zip(stall_needs) {
        let (needed, needs_close) = match &event.action {
            ServerAction::ProxyFault {
                way: Way::ToClient, ..
            } if stall_needs.is_some() => (stall_needs.unwrap_or_default(), false),
            // The way toward the upstream: its bytes, its close, its faults, in their order.
            ServerAction::Forwarded {
                way: Way::ToUpstream,
                ..
            }
            | ServerAction::Relayed {
                way: Way::ToUpstream,
                ..
            }
            | ServerAction::SideClosed {
                way: Way::ToUpstream,
                ..
            }
            | ServerAction::ProxyFault {
                way: Way::ToUpstream,
                ..
            } => {
                held.push(event);
                continue;
            }
            ServerAction::Forwarded {
                way: Way::ToClient,
                read_total,
                ..
            }
            | ServerAction::Relayed {
                way: Way::ToClient,
                read_total,
                ..
            } => (*read_total, false),
            ServerAction::SideClosed {
                way: Way::ToClient,
                read_total,
                ..
            } => (*read_total, true),
            _ => (0, false),
        };
        if !matches!(
            event.action,
            ServerAction::Forwarded { .. } | ServerAction::Relayed { .. }
        ) {
            release(&mut held, &mut shown, &mut out, &mut datagrams);
        }
        // Whether this line starts a message of the upstream's (else it goes on with one begun:
        // nothing held comes between).
        let starts = match &event.action {
            ServerAction::Forwarded {
                bytes,
                unrecorded,
                read_total,
                ..
            } => ends
                .binary_search(&read_total.saturating_sub(bytes.len() as u64 + unrecorded))
                .is_ok(),
            ServerAction::Relayed { .. } => true,
            _ => false,
        };
        while sent < needed || (needs_close && !closed) {
            let Some((server, action)) = queue.pop_front() else {
                break;
            };
            answers = reads(&action.action);
            if server == upstream {
                datagrams.read += action.action.messages_read();
            }
            if sees_the_close(&action.action) {
                release(&mut held, &mut shown, &mut out, &mut datagrams);
            } else if answers {
                release_bytes(&mut held, &mut shown, &mut out, &mut datagrams);
            }
            sent = action.sent_total;
            closed |= action.closed;
            place(server, action, shown, &mut out);
        }
        if answers && starts {
            release_bytes(&mut held, &mut shown, &mut out, &mut datagrams);
        }
        // A close under the `reset` fault and its reset are one act.
        while needs_close
            && queue.front().is_some_and(|(_, next)| {
                matches!(next.action, ServerAction::Fault(AppliedFault::Reset))
            })
            && let Some((server, reset)) = queue.pop_front()
        {
            place(server, reset, shown, &mut out);
        }
        shown = (event.sent_total, event.closed);
        let connecting = matches!(event.action, ServerAction::UpstreamConnecting { .. });
        out.push((proxy, event));
        if connecting
            && queue.front().is_some_and(|(server, next)| {
                *server == upstream && matches!(next.action, ServerAction::Accepted { .. })
            })
            && let Some((server, accepted)) = queue.pop_front()
        {
            place(server, accepted, shown, &mut out);
        }
    }
    for (server, action) in queue {
        if server == upstream {
            datagrams.read += action.action.messages_read();
        }
        if sees_the_close(&action.action) {
            release(&mut held, &mut shown, &mut out, &mut datagrams);
        } else if reads(&action.action) {
            release_bytes(&mut held, &mut shown, &mut out, &mut datagrams);
        }
        place(server, action, shown, &mut out);
    }
    release(&mut held, &mut shown, &mut out, &mut datagrams);
    join_runs(out, proxy, &ends)
}

/// A leg's runs of repeats (`Repeated`, folded when they were recorded, where the fold ended
/// being timing's), each cut into one per time through (at most `MOST_CUTS`), so that the
/// proxy's lines fall between them by cause; `join_runs` joins again those that end up side by
/// side.
fn split_repeats(leg: Vec<(usize, ServerEvent)>) -> Vec<(usize, ServerEvent)> {
    let mut out = Vec::with_capacity(leg.len());
    let mut before = 0;
    for (server, event) in leg {
        let ServerAction::Repeated { times, messages } = event.action else {
            before = event.sent_total;
            out.push((server, event));
            continue;
        };
        let pieces = times.min(MOST_CUTS as u64).max(1);
        let sent = event.sent_total.saturating_sub(before);
        // The share of `total` the first `i` pieces take (u128: no overflow).
        let share = |total: u64, i: u64| {
            u64::try_from(u128::from(total) * u128::from(i) / u128::from(pieces)).unwrap_or(total)
        };
        for i in 1..=pieces {
            let action = ServerAction::Repeated {
                times: share(times, i) - share(times, i - 1),
                messages: share(messages, i) - share(messages, i - 1),
            };
            out.push((
                server,
                ServerEvent {
                    action,
                    sent_total: before + share(sent, i),
                    closed: event.closed && i == pieces,
                },
            ));
        }
        before = event.sent_total;
    }
    out
}

/// Datagrams a udp upstream read, and those a proxy relayed toward it shown so far: each is
/// shown just before the upstream reads it.
#[derive(Default)]
struct Datagrams {
    read: u64,
    shown: u64,
}

impl Datagrams {
    /// Takes note that `action`, held toward the upstream, is shown now whatever the upstream
    /// read (something else the proxy did came after it).
    fn showing(&mut self, action: &ServerAction) {
        if let ServerAction::Relayed {
            way: Way::ToUpstream,
            faults,
            ..
        } = action
        {
            self.shown += copies(faults);
        }
    }

    /// How many of `held` (the way toward the upstream, in order) to show now: the bytes a
    /// stream proxy forwarded, each with its faults; the datagrams the upstream read (one it
    /// has not read yet waits, and with it what came after it), each with what was lost before
    /// it and the faults that came before it; never the client's close.
    fn ready(&mut self, held: &[ServerEvent]) -> usize {
        let mut ready = 0;
        for (at, event) in held.iter().enumerate() {
            match &event.action {
                ServerAction::SideClosed { .. } => break,
                ServerAction::Relayed { faults, .. } => {
                    let copies = copies(faults);
                    if copies == 0 {
                        continue;
                    }
                    if self.shown >= self.read {
                        break;
                    }
                    self.shown += copies;
                    ready = at + 1;
                }
                ServerAction::Forwarded { .. } => ready = at + 1,
                // A udp proxy's fault goes with the datagram it came before.
                _ if held
                    .iter()
                    .any(|e| matches!(e.action, ServerAction::Relayed { .. })) => {}
                _ => ready = at + 1,
            }
        }
        ready
    }
}

/// `lines` with consecutive pieces the proxy forwarded one way joined (they were apart only
/// because something the other way came in between, which timing decides); toward the client,
/// not where a message of the upstream ends.
fn join_runs(
    lines: Vec<(usize, ServerEvent)>,
    proxy: usize,
    ends: &[u64],
) -> Vec<(usize, ServerEvent)> {
    let mut joined: Vec<(usize, ServerEvent)> = Vec::with_capacity(lines.len());
    for (server, event) in lines {
        if let Some((last_server, last)) = joined.last_mut()
            && *last_server == proxy
            && server == proxy
            && let ServerAction::Forwarded {
                way, read_total, ..
            } = &last.action
            && (*way == Way::ToUpstream || ends.binary_search(read_total).is_err())
            && absorb(last, &event, false)
        {
            continue;
        }
        // Repeats `split_repeats` cut that nothing came between.
        if let Some((last_server, last)) = joined.last_mut()
            && *last_server == server
            && matches!(last.action, ServerAction::Repeated { .. })
            && matches!(event.action, ServerAction::Repeated { .. })
            && absorb(last, &event, false)
        {
            continue;
        }
        joined.push((server, event));
    }
    joined
}

/// Where the upstream's messages end in what it sent (0 first): after each of its actions, and
/// inside a run of repeats, after each of them.
fn message_ends<'a>(leg: impl Iterator<Item = &'a ServerEvent>) -> Vec<u64> {
    let mut ends = vec![0];
    for event in leg {
        let before = ends.last().copied().unwrap_or(0);
        if let ServerAction::Repeated { times, .. } = event.action
            && times > 1
            && event.sent_total > before
        {
            let each = (event.sent_total - before) / times;
            ends.extend((1..times).map(|k| before + k * each));
        }
        if event.sent_total > before {
            ends.push(event.sent_total);
        }
    }
    ends
}

/// Whether a server's action follows its client's close (or the end of its connection).
fn sees_the_close(action: &ServerAction) -> bool {
    matches!(
        action,
        ServerAction::PeerClosed
            | ServerAction::UnfinishedFrame { .. }
            | ServerAction::Failed(_)
            // A proxy further on passing the close on.
            | ServerAction::SideClosed {
                way: Way::ToUpstream,
                ..
            }
    )
}

/// Whether a server's action reads what its client sent (and so depends on what a proxy in
/// front of it forwarded), as opposed to one it takes of itself (an accept, a greeting).
fn reads(action: &ServerAction) -> bool {
    !matches!(
        action,
        ServerAction::Accepted { .. } | ServerAction::Greeting { .. } | ServerAction::Fault(_)
    )
}

/// Most lines one run a proxy forwarded is cut into (a gathered bulk run of many repeats).
const MOST_CUTS: usize = 4096;

/// A run a proxy forwarded toward the client, cut where the upstream's messages end (`ends`:
/// the upstream's byte counts after each of its actions); any other event as it is.
fn cut_at(event: ServerEvent, ends: &[u64]) -> Vec<ServerEvent> {
    let ServerAction::Forwarded {
        way: Way::ToClient,
        bytes,
        unrecorded,
        read_total,
    } = &event.action
    else {
        return vec![event];
    };
    let len = bytes.len() as u64 + unrecorded;
    let start = read_total.saturating_sub(len);
    // `ends` is sorted: the ones inside this run, at most `MOST_CUTS` (past them, the rest of
    // the run is one line).
    let first = ends.partition_point(|end| *end <= start);
    let cuts: Vec<u64> = ends[first..]
        .iter()
        .copied()
        .take_while(|end| end < read_total)
        .take(MOST_CUTS)
        .collect();
    if cuts.is_empty() {
        return vec![event];
    }
    let kept = bytes.len() as u64;
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut from = start;
    for end in cuts.into_iter().chain([*read_total]) {
        let (a, b) = ((from - start).min(kept), (end - start).min(kept));
        let range = usize::try_from(a).unwrap_or(0)..usize::try_from(b).unwrap_or(0);
        let last = end == *read_total;
        pieces.push(ServerEvent {
            action: ServerAction::Forwarded {
                way: Way::ToClient,
                bytes: bytes.get(range).unwrap_or_default().to_vec(),
                unrecorded: (end - from) - (b - a),
                read_total: end,
            },
            sent_total: event.sent_total.saturating_sub(read_total - end),
            closed: event.closed && last,
        });
        from = end;
    }
    pieces
}

/// The events of connection `conn` (merged: `merge_runs`), with those of the legs it opened
/// through proxies placed among them (`splice`); each with its server. The legs are taken out
/// of `served`.
fn with_legs(
    scenario: &Scenario,
    conn: ConnectionId,
    events: &[&ServerEvent],
    served: &mut BTreeMap<ConnectionId, Vec<&ServerEvent>>,
    legs: &HashMap<ConnectionId, ConnectionId>,
) -> Vec<(usize, ServerEvent)> {
    let own = merge_runs(scenario, conn.server, events);
    let leg = legs
        .get(&conn)
        .and_then(|leg| Some((*leg, served.remove(leg)?)));
    match leg {
        Some((leg, leg_events)) => {
            // A leg's own legs (a proxy in front of a proxy) are spliced into it first; its
            // lines keep their servers.
            let theirs = with_legs(scenario, leg, &leg_events, served, legs);
            match scenario.proxy_carries_tls(conn.server) {
                true => around_tls((conn.server, own), theirs),
                false => splice((conn.server, own), (leg.server, theirs)),
            }
        }
        // A proxy to an address outside the run, carrying a client's TLS.
        None if scenario.proxy_carries_tls(conn.server) => {
            around_tls((conn.server, own), Vec::new())
        }
        None => own.into_iter().map(|e| (conn.server, e)).collect(),
    }
}

/// A proxy's events around the leg it opened, when what it forwards is TLS: its records differ
/// every run (and their byte counts are not the conversation's), so they are not placed among
/// the upstream's lines by cause as `splice` does. The proxy's accept and connect come first,
/// then the upstream's lines (whose byte counts are the plain text the client reads), then one
/// line per way it relayed records, and how each side closed.
fn around_tls(
    (proxy, events): (usize, Vec<ServerEvent>),
    leg: Vec<(usize, ServerEvent)>,
) -> Vec<(usize, ServerEvent)> {
    let last = leg.iter().map(|(_, e)| e.sent_total).max().unwrap_or(0);
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let mut ways = Vec::new();
    for mut event in events {
        match &mut event.action {
            ServerAction::Accepted { .. } | ServerAction::UpstreamConnecting { .. } => {
                event.sent_total = 0;
                head.push((proxy, event));
                continue;
            }
            ServerAction::Forwarded {
                way,
                bytes,
                unrecorded,
                ..
            } => {
                if ways.contains(way) {
                    continue;
                }
                ways.push(*way);
                bytes.clear();
                *unrecorded = 0;
            }
            _ => {}
        }
        event.sent_total = last;
        tail.push((proxy, event));
    }
    // The two closes, in the order of their cause (the proxy records them from two threads):
    // the client's first when the upstream saw it, else the upstream's.
    // (With no leg, an upstream outside the run: the client's, as a client ends first.)
    let client_first = leg.is_empty() || leg.iter().any(|(_, e)| sees_the_close(&e.action));
    // The ways' lines in one order (toward the upstream first), whichever way moved first.
    let rank = |action: &ServerAction| match action {
        ServerAction::Forwarded { way, .. } => u8::from(*way == Way::ToClient),
        ServerAction::SideClosed { way, .. } => {
            2 + u8::from((*way == Way::ToUpstream) != client_first)
        }
        _ => 4,
    };
    tail.sort_by_key(|(_, event)| rank(&event.action));
    head.into_iter().chain(leg).chain(tail).collect()
}

/// Whether a client's sends and the messages its chunk-framed server answered by rules failed to
/// line up (sends joined into one message, or one cut in several): what the server's rules saw
/// then depended on how recv() cut the stream, which is TCP's lesson, but one to say.
fn misaligned_messages(
    scenario: &Scenario,
    client: &Client,
    client_events: &[&StepEvent],
    server_events: &[(usize, ServerEvent)],
) -> Option<String> {
    let Target::Server(index) = client.target else {
        return None;
    };
    let server = &scenario.servers[index];
    if server.protocol != Protocol::Tcp
        || server.framing != crate::scenario::Framing::Chunk
        || server.rules.is_empty()
        || !server.is_netlabs()
    {
        return None;
    }
    let mut messages = Vec::new();
    // Its own server's (not those of the legs behind a proxy).
    let own = server_events.iter().filter(|(server, _)| *server == index);
    for (_, event) in own {
        match &event.action {
            ServerAction::Answered { message, .. } => messages.push(message.len() as u64),
            // Unanswered messages in a row are recorded as one, and counted runs (a load loop)
            // as a count: their boundaries are not known one by one.
            ServerAction::Unanswered { .. }
            | ServerAction::Repeated { .. }
            | ServerAction::Unrecorded { .. } => return None,
            _ => {}
        }
    }
    let mut sends = Vec::new();
    for event in client_events {
        match &event.outcome {
            StepOutcome::Sending(payload) => sends.push(payload.len()),
            // A load loop: its sends are not reported one by one.
            StepOutcome::Repeated { .. } => return None,
            _ => {}
        }
    }
    // Only when the server read all that was sent (else the end of the run cut it short).
    let total = |lengths: &[u64]| lengths.iter().fold(0u64, |sum, n| sum.saturating_add(*n));
    if sends.is_empty() || total(&sends) != total(&messages) || sends == messages {
        return None;
    }
    Some(format!(
        "{} send{} arrived as {} message{}: the server's reads depend on timing; use \
         `framing: line` or wait for each reply",
        sends.len(),
        if sends.len() == 1 { "" } else { "s" },
        messages.len(),
        if messages.len() == 1 { "" } else { "s" },
    ))
}

/// The programs under test that failed, by server (the first failure of each).
pub fn failed_programs(events: &[Event]) -> BTreeMap<usize, &ProgramFailure> {
    let mut failed = BTreeMap::new();
    for event in events {
        if let (Origin::Server(server), EventKind::ProgramFailed(failure)) =
            (&event.origin, &event.kind)
        {
            failed.entry(*server).or_insert(failure);
        }
    }
    failed
}

/// The failed program under test `client` talks to, if it talks to one that failed.
pub fn dead_program<'a>(
    client: &Client,
    failed: &BTreeMap<usize, &'a ProgramFailure>,
) -> Option<&'a ProgramFailure> {
    match client.target {
        Target::Server(server) => failed.get(&server).copied(),
        Target::Address(_) => None,
    }
}

fn note(scenario: &Scenario, server: usize, text: String) -> Entry {
    Entry {
        mark: Mark::Server,
        actor: scenario.servers[server].name.clone(),
        text,
        detail: Vec::new(),
        differs: None,
        hint: None,
        drawing: Default::default(),
    }
}

/// What a server's program under test did: said when it exited by itself during the run (a
/// crash), and its output when the scenario asks for it (`capture_output: true`).
fn program_notes(scenario: &Scenario, server: usize, report: &ProgramReport) -> Vec<Entry> {
    let capture = scenario.servers[server]
        .program
        .as_ref()
        .is_some_and(|p| p.capture_output);
    let mut notes = Vec::new();
    if let Some(status) = report.exited_early {
        notes.push(note(
            scenario,
            server,
            format!(
                "the program under test exited by itself: {}",
                program_status(status)
            ),
        ));
    }
    if capture {
        let redact = scenario.redactions(None);
        for (name, output) in [("stdout", &report.stdout), ("stderr", &report.stderr)] {
            let output = redact.bytes(output);
            let text = String::from_utf8_lossy(&output);
            for line in text.trim_end().lines() {
                notes.push(note(scenario, server, format!("{name}: {line}")));
            }
        }
    }
    notes
}

/// One connection's server events with each run of `Repeated` counts added into one, and over
/// TCP each run of unanswered messages made one (an idle moment in a load loop or a bulk
/// transfer can split a run: the text must not depend on it).
fn merge_runs(scenario: &Scenario, server: usize, events: &[&ServerEvent]) -> Vec<ServerEvent> {
    // Over a stream cut by recv() (not by frames), where one message ended is timing's.
    let stream = scenario
        .servers
        .get(server)
        .is_some_and(|s| s.protocol == Protocol::Tcp && s.framing == Framing::Chunk);
    merge_counts(events, stream)
}

/// `merge_runs`, with unanswered messages merged when `stream`.
fn merge_counts(events: &[&ServerEvent], stream: bool) -> Vec<ServerEvent> {
    let mut merged: Vec<ServerEvent> = Vec::with_capacity(events.len());
    for event in events {
        if let Some(last) = merged.last_mut()
            && absorb(last, event, stream)
        {
            continue;
        }
        merged.push((*event).clone());
    }
    merged
}

/// Adds `next` into `last` when both are counts of one run that an idle moment split (repeats,
/// unrecorded messages, and over a `stream` unanswered messages); false if they are separate.
fn absorb(last: &mut ServerEvent, next: &ServerEvent, stream: bool) -> bool {
    match (&mut last.action, &next.action) {
        (
            ServerAction::Repeated { times, messages },
            ServerAction::Repeated {
                times: more,
                messages: more_messages,
            },
        ) => {
            *times += more;
            *messages += more_messages;
        }
        (
            ServerAction::Unrecorded {
                messages,
                received,
                sent,
            },
            ServerAction::Unrecorded {
                messages: more_messages,
                received: more_received,
                sent: more_sent,
            },
        ) => {
            *messages += more_messages;
            *received += more_received;
            *sent += more_sent;
        }
        (
            ServerAction::Unanswered {
                message: kept,
                truncated: None,
                unrecorded,
            },
            ServerAction::Unanswered {
                message,
                truncated: None,
                unrecorded: more,
            },
        ) if stream => {
            *unrecorded += keep_unanswered(kept, message) + more;
        }
        (
            ServerAction::Forwarded {
                way,
                bytes: kept,
                unrecorded,
                read_total,
            },
            ServerAction::Forwarded {
                way: next_way,
                bytes,
                unrecorded: more,
                read_total: next_total,
            },
        ) if way == next_way => {
            *unrecorded += keep_unanswered(kept, bytes) + more;
            *read_total = *next_total;
        }
        _ => return false,
    }
    last.sent_total = next.sent_total;
    last.closed |= next.closed;
    true
}

/// The server actions of a repeat's later times through, summed up: one line per distinct
/// action, with how many times it happened (a `Repeated` counts for the action before it).
/// `previous` is the action shown last before them (what a leading `Repeated` repeats). The
/// lines are `client`'s.
fn summarize(
    scenario: &Scenario,
    client: usize,
    previous: Option<&(usize, ServerEvent)>,
    actions: &[(usize, ServerEvent)],
) -> Vec<Entry> {
    // Each line with its count and its server: a `Repeated` counts for its own server's last
    // line (a proxy's and its upstream's lines are interleaved).
    let mut lines: Vec<(Entry, u64, usize)> = Vec::new();
    let mut last: Vec<&(usize, ServerEvent)> = previous.into_iter().collect();
    for pair in actions {
        let (server, action) = pair;
        if let ServerAction::Repeated { times, .. } = action.action {
            if let Some((_, count, _)) = lines.iter_mut().rev().find(|(_, _, s)| s == server) {
                *count += times;
                continue;
            }
            if let Some((_, before)) = last.iter().rev().find(|(s, _)| s == server) {
                lines.push((
                    describe_server_event(scenario, *server, Some(client), before),
                    times,
                    *server,
                ));
                continue;
            }
        }
        last.push(pair);
        let entry = describe_server_event(scenario, *server, Some(client), action);
        if matches!(action.action, ServerAction::Unrecorded { .. }) {
            // Already a count.
            lines.push((entry, 0, *server));
            continue;
        }
        match (lines.iter_mut()).find(|(e, _, s)| s == server && e.text == entry.text) {
            Some((_, count, _)) => *count += 1,
            None => lines.push((entry, 1, *server)),
        }
    }
    lines
        .into_iter()
        .map(|(mut entry, count, _)| {
            entry.drawing.more = count;
            // The delays of all the times it stands for.
            let times = u32::try_from(count).unwrap_or(u32::MAX);
            entry.drawing.pause = entry.drawing.pause.saturating_mul(times);
            if count > 0 {
                entry.text = match count {
                    1 => format!("once more: {}", entry.text),
                    _ => format!("{count} more times: {}", entry.text),
                };
            }
            entry
        })
        .collect()
}

/// Client events in their order, each preceded by the server actions it depended on. Before
/// the end of a `repeat`, the server actions of its later times through are summed up.
fn interleave(
    scenario: &Scenario,
    id: InstanceId,
    (client, times): (&[&StepEvent], &[Duration]),
    served: Vec<(usize, ServerEvent)>,
    dead: Option<&ProgramFailure>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    // Lines before this one that will not be drawn have had their arrows dropped.
    let mut undrawn = 0;
    let mut queue: VecDeque<(usize, ServerEvent)> = served.into();
    let mut sent = 0;
    let mut closed = false;
    // The last action shown in full: what a `Repeated` that follows it repeats.
    let mut shown: Option<(usize, ServerEvent)> = None;
    for (position, event) in client.iter().enumerate() {
        // A send that then failed is shown once, as the failure.
        let replaced = matches!(event.outcome, StepOutcome::Sending(_))
            && client.get(position + 1).is_some_and(|next| {
                next.step == event.step && matches!(next.outcome, StepOutcome::Failed(_))
            });
        if replaced {
            continue;
        }
        let previous = shown.clone();
        let mut before = Vec::new();
        while sent < event.depends_on_bytes || (event.depends_on_close && !closed) {
            let Some((server, action)) = take_needed(&mut queue, sent, event.depends_on_bytes)
            else {
                break;
            };
            sent = action.sent_total;
            closed |= action.closed;
            if !matches!(action.action, ServerAction::Repeated { .. }) {
                shown = Some((server, action.clone()));
            }
            before.push((server, action));
        }
        // A close under the `reset` fault and its reset are one act: shown together, before
        // the step that saw the connection end.
        if closed && event.depends_on_close {
            while queue.front().is_some_and(|(_, next)| {
                matches!(next.action, ServerAction::Fault(AppliedFault::Reset))
            }) && let Some(reset) = queue.pop_front()
            {
                before.push(reset);
            }
        }
        let repeated = matches!(event.outcome, StepOutcome::Repeated { times, .. } if times > 1);
        if repeated {
            entries.extend(summarize(scenario, id.client, previous.as_ref(), &before));
        } else {
            for (server, action) in &before {
                let entry = describe_server_event(scenario, *server, Some(id.client), action);
                push_drawn(&mut entries, &mut undrawn, entry);
            }
        }
        let mut entry = describe_step_event(scenario, id, event, dead);
        entry.drawing.at = times.get(position).copied();
        push_drawn(&mut entries, &mut undrawn, entry);
        // A handshake is one act of both sides: the server's account of it (and what led to
        // it) comes right after the client's, wherever the bytes that follow it put it.
        if shakes_hands(&event.outcome)
            && let Some(at) = queue.iter().position(|(_, e)| shook_hands(&e.action))
        {
            for (server, action) in queue.drain(..=at) {
                sent = sent.max(action.sent_total);
                closed |= action.closed;
                let entry = describe_server_event(scenario, server, Some(id.client), &action);
                push_drawn(&mut entries, &mut undrawn, entry);
            }
        }
    }
    for (server, action) in &queue {
        let entry = describe_server_event(scenario, *server, Some(id.client), action);
        push_drawn(&mut entries, &mut undrawn, entry);
    }
    entries
}

/// Whether a client's step event is the end of a TLS handshake (done, or failed as expected).
fn shakes_hands(outcome: &StepOutcome) -> bool {
    matches!(
        outcome,
        StepOutcome::Secured(_) | StepOutcome::TlsRefused(_)
    )
}

/// Whether a server's action is the end of a TLS handshake (done, or failed).
fn shook_hands(action: &ServerAction) -> bool {
    matches!(
        action,
        ServerAction::Secured(_) | ServerAction::TlsFailed(_)
    )
}

/// Adds a line to a section whose lines before `undrawn` that will not be drawn have had
/// their arrows dropped (see `drawing::drop_undrawn`).
fn push_drawn(entries: &mut Vec<Entry>, undrawn: &mut usize, entry: Entry) {
    entries.push(entry);
    *undrawn = drop_undrawn(entries, *undrawn);
}

/// Takes the next server action, or, when it is a run of repeats that sent more than the
/// client step at hand depends on (`needed`, with `sent` so far), only as many of the repeats
/// as that step needed. Idle moments cut a server's runs differently on every run; cutting them
/// by bytes instead puts each repeat beside the client step that saw its reply, every time.
fn take_needed(
    queue: &mut VecDeque<(usize, ServerEvent)>,
    sent: u64,
    needed: u64,
) -> Option<(usize, ServerEvent)> {
    let (server, next) = queue.front_mut()?;
    if let ServerAction::Repeated { times, messages } = &mut next.action
        && *times > 1
        && sent < needed
        && next.sent_total > needed
    {
        let each = (next.sent_total - sent) / *times;
        if each > 0 {
            let count = (needed - sent).div_ceil(each).min(*times - 1);
            let counted_messages = count.min(*messages);
            *times -= count;
            *messages -= counted_messages;
            let taken = ServerEvent {
                action: ServerAction::Repeated {
                    times: count,
                    messages: counted_messages,
                },
                sent_total: sent + count * each,
                closed: false,
            };
            return Some((*server, taken));
        }
    }
    queue.pop_front()
}

fn instance_result(events: &[&StepEvent], paths: &[String], passed: Option<bool>) -> String {
    let failed_at = events.iter().find_map(|e| match e.outcome {
        StepOutcome::Failed(_) => Some(e.step),
        _ => None,
    });
    match (failed_at, passed) {
        (Some(Some(step)), _) => format!(
            "FAILED at {}",
            paths.get(step).map_or("a step", String::as_str)
        ),
        (Some(None), _) => "FAILED to connect".to_string(),
        (None, Some(true)) => "passed".to_string(),
        (None, Some(false)) => "FAILED".to_string(),
        (None, None) => "did not finish".to_string(),
    }
}

fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed => "passed".to_string(),
        Verdict::Failed => "FAILED".to_string(),
        Verdict::TimedOut(d) => format!(
            "FAILED: the scenario timed out after {}",
            humantime::format_duration(*d)
        ),
        Verdict::Interrupted => "FAILED: interrupted".to_string(),
    }
}

#[cfg(test)]
mod tests {
    fn sending(text: &str) -> StepEvent {
        StepEvent {
            step: Some(0),
            outcome: StepOutcome::Sending(crate::scenario::Payload::Bytes(
                text.as_bytes().to_vec(),
            )),
            depends_on_bytes: 0,
            depends_on_close: false,
            iteration: 0,
        }
    }

    fn answered(text: &str) -> ServerEvent {
        ServerEvent {
            action: ServerAction::Answered {
                message: text.as_bytes().to_vec(),
                truncated: None,
                rule: 0,
                delay: None,
                reply: None,
                close: false,
                lost: false,
                faults: Vec::new(),
            },
            sent_total: 0,
            closed: false,
        }
    }

    #[test]
    fn sends_a_chunk_server_read_as_one_message_are_said() {
        let source = crate::source::SourceFile::new(
            "t.yaml",
            "servers:\n  - name: echo\n    rules:\n      - reply: \"[{data}]\"\nclients:\n  - name: c\n    connect: echo\n    steps:\n      - send: \"a\"\n      - send: \"b\"\n",
        );
        let Ok(scenario) = crate::scenario::load_source(source) else {
            panic!("the scenario loads");
        };
        let client = &scenario.clients[0];
        let (a, b) = (sending("a"), sending("b"));
        let joined = [(0, answered("ab"))];
        let warning = misaligned_messages(&scenario, client, &[&a, &b], &joined);
        assert_eq!(
            warning.as_deref(),
            Some(
                "2 sends arrived as 1 message: the server's reads depend on timing; use \
                 `framing: line` or wait for each reply"
            )
        );
        let apart = [(0, answered("a")), (0, answered("b"))];
        assert_eq!(
            misaligned_messages(&scenario, client, &[&a, &b], &apart),
            None
        );
        // The server had not read it all when the run ended: nothing to say.
        assert_eq!(
            misaligned_messages(&scenario, client, &[&a, &b], &joined[..0]),
            None
        );
    }

    use super::*;

    fn repeated(times: u64, sent_total: u64) -> ServerEvent {
        ServerEvent {
            action: ServerAction::Repeated {
                times,
                messages: times,
            },
            sent_total,
            closed: false,
        }
    }

    #[test]
    fn runs_cut_anywhere_are_merged_then_cut_by_bytes() {
        // The same 11 one-byte repeats after a first reply (byte 1), recorded in two runs on one
        // machine and in three on another: the steps that needed 4 and 12 bytes see 3 and 8.
        for cuts in [
            vec![repeated(11, 12)],
            vec![repeated(2, 3), repeated(9, 12)],
            vec![repeated(5, 6), repeated(1, 7), repeated(5, 12)],
        ] {
            let refs: Vec<&ServerEvent> = cuts.iter().collect();
            let mut queue: VecDeque<(usize, ServerEvent)> = merge_counts(&refs, false)
                .into_iter()
                .map(|e| (0, e))
                .collect();
            assert_eq!(queue.len(), 1);
            let first = take_needed(&mut queue, 1, 4);
            assert_eq!(first, Some((0, repeated(3, 4))));
            let second = take_needed(&mut queue, 4, 12);
            assert_eq!(second, Some((0, repeated(8, 12))));
            assert!(queue.is_empty());
        }
    }

    #[test]
    fn unanswered_stream_bytes_cut_anywhere_are_merged_alike() {
        let unanswered = |len: usize, unrecorded: u64| ServerEvent {
            action: ServerAction::Unanswered {
                message: vec![b'x'; len],
                truncated: None,
                unrecorded,
            },
            sent_total: 0,
            closed: false,
        };
        let whole = [unanswered(crate::event::RECORDED_BYTES, 100_000)];
        let cut = [
            unanswered(30_000, 0),
            unanswered(crate::event::RECORDED_BYTES, 100_000 - 30_000),
        ];
        let merge = |events: &[ServerEvent]| {
            let refs: Vec<&ServerEvent> = events.iter().collect();
            merge_counts(&refs, true)
        };
        assert_eq!(merge(&whole), merge(&cut));
        // Datagrams are separate messages: never merged.
        let refs: Vec<&ServerEvent> = cut.iter().collect();
        assert_eq!(merge_counts(&refs, false).len(), 2);
    }
}
