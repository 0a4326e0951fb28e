//! One line of a transcript per event: what a client step or a server action did, in words and
//! escaped bytes, with the detail lines (expected vs received) of a failure.

use std::time::Duration;

use crate::capture::{self, MarkedPiece};
use crate::difference::{self, Difference};
use crate::escape::{Part, SHOW_LIMIT};
use crate::event::{
    AppliedFault, FailureKind, Handshake, InstanceId, PROGRAM_OUTPUT_HEAD, ProgramFailure,
    ProgramFailureKind, ProgramStatus, RECORD_BUDGET, ReadyBound, ServerAction, ServerEvent,
    StepEvent, StepOutcome, Way,
};
use crate::framing::Framing;
use crate::matcher::{CapturedKind, Matcher};
use crate::redact::Redactions;
use crate::scenario::{Client, Payload, Protocol, Scenario, Step, Target, TlsVersion};

use super::drawing::{Arrow, ArrowKind, Drawing, Label, Tie, Toward};

/// How a line is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A client step that passed.
    Passed,
    /// A client step that failed.
    Failed,
    /// Something a server did (no verdict of its own).
    Server,
    /// A client's program that ran and ended: no verdict of its own (its exit code and output
    /// are judged by the `expect_exit` and `expect_stdout` lines after it).
    Ran,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The mark in front.
    pub mark: Mark,
    /// Who acted: a client instance or a server name.
    pub actor: String,
    /// What happened.
    pub text: String,
    /// Extra lines under it (a failure's expected/received).
    pub detail: Vec<String>,
    /// A mismatch's first differing line, expected and received (for one-line messages); boxed,
    /// as entries are many and this is rare.
    pub differs: Option<Box<Difference>>,
    /// The advice of a failure (the step's, the program's, the check's `hint`), shown after
    /// the detail.
    pub hint: Option<String>,
    /// What it draws in a sequence diagram (not part of its text).
    pub drawing: Drawing,
}

impl Entry {
    /// The lines under it: the detail, then the hint.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        (self.detail.iter().cloned()).chain(self.hint.iter().map(|hint| format!("hint: {hint}")))
    }
}

/// `client` for a single instance, `client#2` when the client has `count` > 1.
pub fn instance_label(scenario: &Scenario, id: InstanceId) -> String {
    scenario.clients[id.client].instance_label(id.instance)
}

/// An applied fault in words.
pub fn fault_text(fault: &AppliedFault) -> String {
    match fault {
        AppliedFault::Latency(latency) => format!("latency {}", duration(*latency)),
        AppliedFault::Slice { bytes: 1, pause } => format!(
            "written 1 byte at a time, {} apart (slice)",
            duration(*pause)
        ),
        AppliedFault::Slice { bytes, pause } => format!(
            "written {bytes} bytes at a time, {} apart (slice)",
            duration(*pause)
        ),
        AppliedFault::Bandwidth(rate) => format!("throttled to {rate} bytes/s (bandwidth)"),
        AppliedFault::CloseAfter(limit) => {
            format!("connection cut after {limit} bytes (close_after)")
        }
        AppliedFault::Reset => "closed with a reset (RST)".to_string(),
        AppliedFault::Dropped => "reply lost (drop)".to_string(),
        AppliedFault::Duplicated => "reply sent twice (duplicate)".to_string(),
        AppliedFault::Stalled { after, duration } => {
            let how_long = duration.map_or_else(|| "for good".to_string(), self::duration);
            match after {
                0 => format!("stalled {how_long} from the first byte (stall)"),
                1 => format!("stalled {how_long} after 1 byte (stall)"),
                n => format!("stalled {how_long} after {n} bytes (stall)"),
            }
        }
    }
}

/// What a proxy's way does to every piece it forwards, as declared (the latency drawn for a
/// piece depends on how recv() cut the stream, which the transcript must not).
fn way_faults(faults: &crate::scenario::Faults) -> Vec<String> {
    let mut words = Vec::new();
    match (faults.latency.is_zero(), faults.jitter.is_zero()) {
        (true, true) => {}
        (_, true) => words.push(fault_text(&AppliedFault::Latency(faults.latency))),
        _ => words.push(format!(
            "latency {} + up to {} (jitter)",
            duration(faults.latency),
            duration(faults.jitter)
        )),
    }
    if let Some(bytes) = faults.slice {
        words.push(fault_text(&AppliedFault::Slice {
            bytes,
            pause: faults.slice_pause,
        }));
    }
    if let Some(rate) = faults.bandwidth {
        words.push(fault_text(&AppliedFault::Bandwidth(rate)));
    }
    words
}

/// What a proxy forwards to, as the transcript names it: the server's name, or the address as
/// written.
pub fn upstream_name(scenario: &Scenario, proxy: &crate::scenario::Proxy) -> String {
    match &proxy.to {
        Target::Server(i) => scenario.servers[*i].name.clone(),
        Target::Address(address) => address.clone(),
    }
}

/// The words of a proxy's own action (`None`: not a proxy's). For a `client` with hidden
/// steps, what the proxy forwarded shows by its size alone: it would show what they send and
/// expect.
fn proxy_words(
    scenario: &Scenario,
    (server, client): (usize, Option<usize>),
    redact: Redactions,
    action: &ServerAction,
) -> Option<String> {
    let proxy = scenario.servers[server].proxy.as_ref()?;
    let hides = client.is_some_and(|c| scenario.clients[c].hidden.contains(&true));
    let upstream = upstream_name(scenario, proxy);
    let side = |way: Way| match way {
        Way::ToUpstream => upstream.clone(),
        Way::ToClient => "the client".to_string(),
    };
    let from = |way: Way| match way {
        Way::ToUpstream => "the client".to_string(),
        Way::ToClient => upstream.clone(),
    };
    Some(match action {
        ServerAction::UpstreamConnecting { .. } => format!("connecting to {upstream}"),
        ServerAction::UpstreamFailed(reason) => {
            format!("could not connect to {upstream}: {reason} → closed the client's connection")
        }
        ServerAction::Forwarded { way, .. } if scenario.proxy_carries_tls(server) => {
            let mut text = format!(
                "relayed bytes to {} (a TLS conversation: not shown)",
                side(*way)
            );
            for words in way_faults(proxy.faults(*way)) {
                text.push_str(&format!(", fault: {words}"));
            }
            text
        }
        ServerAction::Forwarded {
            way,
            bytes,
            unrecorded,
            ..
        } => {
            let shown = match unrecorded {
                _ if hides => format!("{} bytes (hidden)", bytes.len() as u64 + unrecorded),
                0 => redact.show(bytes),
                more if bytes.is_empty() => format!("{more} more bytes"),
                more => format!(
                    "{}… ({} bytes, the first {} kept)",
                    redact.show_head(bytes, SHOW_LIMIT / 4),
                    bytes.len() as u64 + more,
                    bytes.len()
                ),
            };
            let mut text = format!("forwarded {shown} to {}", side(*way));
            for words in way_faults(proxy.faults(*way)) {
                text.push_str(&format!(", fault: {words}"));
            }
            text
        }
        ServerAction::Relayed {
            way,
            datagram,
            unrecorded,
            faults,
            ..
        } => {
            let shown = match unrecorded {
                _ if hides => format!("{} bytes (hidden)", datagram.len() as u64 + unrecorded),
                0 => redact.show(datagram),
                more => format!(
                    "{}… ({} bytes, the first {} kept)",
                    redact.show_head(datagram, SHOW_LIMIT / 4),
                    datagram.len() as u64 + more,
                    datagram.len()
                ),
            };
            let mut text = match (
                faults.contains(&AppliedFault::Dropped),
                faults.contains(&AppliedFault::Duplicated),
            ) {
                (true, _) => format!("lost {shown} on its way to {} (drop)", side(*way)),
                (_, true) => format!("relayed {shown} to {} twice (duplicate)", side(*way)),
                _ => format!("relayed {shown} to {}", side(*way)),
            };
            for fault in faults {
                if let AppliedFault::Latency(_) = fault {
                    text.push_str(&format!(", fault: {}", fault_text(fault)));
                }
            }
            text
        }
        ServerAction::SideClosed {
            way,
            came_as_reset,
            passed_as_reset,
            ..
        } => match (came_as_reset, passed_as_reset) {
            (false, false) => {
                format!(
                    "{} closed → closed its side toward {}",
                    from(*way),
                    side(*way)
                )
            }
            (false, true) => format!(
                "{} closed → reset the connection to {}, fault: {}",
                from(*way),
                side(*way),
                fault_text(&AppliedFault::Reset)
            ),
            (true, _) => format!(
                "{} reset the connection → reset the one to {}",
                from(*way),
                side(*way)
            ),
        },
        ServerAction::ProxyFault { way, fault } => {
            format!("fault toward {}: {}", side(*way), fault_text(fault))
        }
        ServerAction::Unrecorded { received, sent, .. } => format!(
            "{received} more bytes forwarded to {upstream} and {sent} to the client, not recorded: \
             this connection's record is full ({} runs or {} MiB)",
            crate::event::PROXY_RECORDED_RUNS,
            RECORD_BUDGET >> 20
        ),
        _ => return None,
    })
}

/// `exit code 1`, `killed by signal 11 (SIGSEGV)`.
pub fn program_status(status: ProgramStatus) -> String {
    match status {
        ProgramStatus::Exited(code) => format!("exit code {code}"),
        ProgramStatus::Signalled(signal) => match signal_name(signal) {
            Some(name) => format!("killed by signal {signal} ({name})"),
            None => format!("killed by signal {signal}"),
        },
    }
}

/// The usual name of a signal (Linux numbering), for the ones a crash or a stop sends.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Why a program under test failed, in words: `exited (exit code 1) before it was ready`.
pub fn program_failure_reason(kind: &ProgramFailureKind) -> String {
    match kind {
        ProgramFailureKind::ExitedBeforeReady(status) => {
            format!("exited ({}) before it was ready", program_status(*status))
        }
        ProgramFailureKind::NotReady {
            within,
            port,
            holder,
        } => {
            let bound = match within {
                ReadyBound::ReadyTimeout(d) => format!("{} (ready_timeout)", duration(*d)),
                ReadyBound::ScenarioTimeout(d) => {
                    format!("{} (the scenario's timeout)", duration(*d))
                }
            };
            let mut text = format!("was not listening on port {port} within {bound}");
            if let Some(holder) = holder {
                text.push_str(&format!("; the port is held by {holder}"));
            }
            text
        }
        ProgramFailureKind::Exited(status) => {
            format!("exited during the run ({})", program_status(*status))
        }
    }
}

/// A failed program under test: a line naming it and why, and the end of its stderr.
pub fn describe_program_failure(
    scenario: &Scenario,
    server: usize,
    failure: &ProgramFailure,
) -> Entry {
    let mut detail = vec![format!("command: {}", printable(&failure.command))];
    let redact = scenario.redactions(None);
    detail.extend(stderr_lines(redact, failure.stderr_tail.as_bytes()));
    let hint = scenario.servers[server]
        .program
        .as_ref()
        .and_then(|p| p.hint.clone());
    Entry {
        mark: Mark::Failed,
        actor: scenario.servers[server].name.clone(),
        text: format!(
            "the program under test {}",
            program_failure_reason(&failure.kind)
        ),
        detail,
        differs: None,
        hint,
        drawing: Drawing::default(),
    }
}

/// `1s`, `250ms`, `1m 30s`.
fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A matcher as written, for display (its bytes redacted; a regex as written).
fn matcher_text(redact: Redactions, matcher: &Matcher) -> String {
    match matcher {
        Matcher::Equals { bytes, hex: true } => redact.hex(bytes),
        Matcher::Equals { bytes, hex: false } => redact.show(bytes),
        Matcher::Contains(bytes) => format!("contains {}", redact.show(bytes)),
        Matcher::Regex(regex) => format!("regex {}", regex_text(regex.as_str())),
        Matcher::Bytes(n) => format!("any {n} bytes"),
        Matcher::Frame { frames, body } => {
            format!(
                "frame ({}) {}",
                frames.describe(),
                matcher_text(redact, body)
            )
        }
        Matcher::Http(http) => {
            let mut parts = Vec::new();
            if let Some(method) = &http.method {
                parts.push(method.clone());
            }
            if let Some(path) = &http.path {
                parts.push(format!("path {}", matcher_text(redact, path)));
            }
            if let Some(status) = http.status {
                parts.push(format!("status {status}"));
            }
            for (name, value) in &http.headers {
                parts.push(format!("{name} {}", matcher_text(redact, value)));
            }
            if let Some(body) = &http.body {
                parts.push(format!("body {}", matcher_text(redact, body)));
            }
            let what = if http.request { "request" } else { "response" };
            if parts.is_empty() {
                format!("http {what}")
            } else {
                format!("http {what} ({})", parts.join(", "))
            }
        }
        // As written, each captured value as `{name}`: the same on every run.
        Matcher::Captured { kind, template } => {
            let text = template.template();
            match kind {
                CapturedKind::Equals => redact.show(&text),
                CapturedKind::Contains => format!("contains {}", redact.show(&text)),
                CapturedKind::Regex => {
                    format!("regex {}", regex_text(&String::from_utf8_lossy(&text)))
                }
            }
        }
    }
}

fn target_text(scenario: &Scenario, client: &Client) -> String {
    match &client.target {
        Target::Server(i) => scenario.servers[*i].name.clone(),
        Target::Address(address) => address.clone(),
    }
}

/// A peer that left during a TLS handshake, in words (whichever way it left: the same).
const TLS_ABANDONED: &str =
    "the peer left during the TLS handshake (it closed or reset the connection, with no TLS alert)";

/// Whose view of a handshake is told: the client's says whether it checked the server's
/// certificate, the server's whether it got (and checked) the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// A handshake in words: `tls TLS 1.3, TLS13_AES_256_GCM_SHA384, alpn h2, sni localhost, …`.
fn handshake_text(handshake: &Handshake, side: Side) -> String {
    let version = match handshake.version {
        TlsVersion::Tls12 => "TLS 1.2",
        TlsVersion::Tls13 => "TLS 1.3",
    };
    let mut parts = vec![format!("tls {version}"), handshake.cipher_suite.clone()];
    parts.push(match &handshake.alpn {
        Some(protocol) => format!("alpn {}", String::from_utf8_lossy(protocol)),
        None => "no alpn".to_string(),
    });
    parts.push(match &handshake.sni {
        Some(name) => format!("sni {name}"),
        None => "no sni".to_string(),
    });
    parts.push(
        match (side, handshake.peer_verified, handshake.client_certificate) {
            (Side::Client, true, _) => "server certificate verified",
            (Side::Client, false, _) => "server certificate not checked (insecure)",
            (Side::Server, true, _) => "client certificate verified",
            (Side::Server, false, true) => "client certificate not checked",
            (Side::Server, false, false) => "no client certificate",
        }
        .to_string(),
    );
    if side == Side::Client && handshake.client_certificate {
        parts.push("a client certificate to show if asked".to_string());
    }
    parts.join(", ")
}

/// The words for a step of `client`, as declared (its bytes redacted with `redact`).
pub(super) fn step_text(redact: Redactions, step: &Step) -> String {
    match step {
        Step::Send(Payload::Bytes(bytes)) => format!("send {}", redact.show(bytes)),
        Step::Send(Payload::Captured(filled)) => match &filled.frame {
            Some(frames) => format!(
                "send frame ({}) {}",
                frames.describe(),
                redact.show(&filled.template())
            ),
            None => format!("send {}", redact.show(&filled.template())),
        },
        Step::Send(Payload::Repeat { unit, times }) => format!(
            "send {} × {times} ({} bytes, streamed)",
            redact.show(unit),
            (unit.len() as u64).saturating_mul(*times)
        ),
        Step::Repeat { times, body } => format!("repeat {times} times (the next {body} steps)"),
        Step::Expect { matcher, .. } => format!("expect {}", matcher_text(redact, matcher)),
        Step::ExpectClose { .. } => "expect_close".into(),
        Step::ExpectReset { .. } => "expect_reset".into(),
        Step::ReadToClose { matcher, .. } => {
            format!("read_to_close {}", matcher_text(redact, matcher))
        }
        Step::ExpectNothing(d) => format!("expect_nothing {}", duration(*d)),
        Step::Sleep(d) => format!("sleep {}", duration(*d)),
        Step::ShutdownWrite => "shutdown write".into(),
        Step::Close => "close".into(),
        Step::StartTls => "starttls".into(),
        Step::ExpectTlsError { kind, .. } => format!("expect_tls_error {kind}"),
        Step::Run(program) => format!("exec {}", printable(&program.shown())),
        Step::ExpectExit(code) => format!("expect_exit {code}"),
        Step::ExpectStdout(matcher) => {
            format!("expect_stdout {}", matcher_text(redact, matcher))
        }
    }
}

/// The words for a hidden step: its kind alone (`expect (hidden)`), none of its bytes.
pub(super) fn hidden_step_text(step: &Step) -> String {
    format!("{} (hidden)", step.keyword())
}

/// The declared timeout of a reading step (for messages: the scaled one is not shown).
fn declared_timeout(client: &Client, step: Option<&Step>) -> Duration {
    match step {
        Some(Step::ExpectNothing(d)) => *d,
        Some(step) => step.own_timeout().unwrap_or(client.timeout),
        None => client.timeout,
    }
}

/// Describes a client step event of instance `id`.
///
/// `dead`: the program under test this client talks to, if it had failed (exited, never got
/// ready): a failure it caused says so instead of the step's hint.
pub fn describe_step_event(
    scenario: &Scenario,
    id: InstanceId,
    event: &StepEvent,
    dead: Option<&ProgramFailure>,
) -> Entry {
    Entry {
        drawing: step_drawing(scenario, id, event),
        ..step_words(scenario, id, event, dead)
    }
}

/// What a client step event draws: its own sends and closes; what a server sent only when no
/// netlab server's lines draw it (a program under test, an outside address).
fn step_drawing(scenario: &Scenario, id: InstanceId, event: &StepEvent) -> Drawing {
    let client = &scenario.clients[id.client];
    let redact = scenario.redactions(Some(id.client));
    let step = event.step.and_then(|i| client.steps_of(id.instance).get(i));
    let hidden = event
        .step
        .is_some_and(|i| client.hidden.get(i).copied().unwrap_or(false));
    let udp = client.protocol == Protocol::Udp;
    let drawn_by_server = match client.target {
        Target::Server(server) => scenario.servers[server].is_netlabs(),
        Target::Address(_) => false,
    };
    // Bytes that hold captured values show them by name, as the step's words do: they differ
    // from run to run.
    let label = |bytes: &[u8]| match step {
        _ if hidden => Label::hidden(),
        Some(step) if step.uses_captured().is_some() => Label::words(step_text(redact, step)),
        Some(step) if !step.captures().is_empty() => show_with_captures_named(redact, bytes, step)
            .map_or_else(|| Label::words(step_text(redact, step)), Label::words),
        _ => Label::of(redact, bytes),
    };
    let mut drawing = Drawing {
        tie: match &event.outcome {
            StepOutcome::Connected { .. } if !udp => Tie::Opened,
            StepOutcome::Sending(payload) => Tie::Sent(payload.len()),
            StepOutcome::Closed | StepOutcome::HalfClosed => Tie::Closed,
            StepOutcome::Repeated { .. } => Tie::Repeated,
            _ => Tie::None,
        },
        ..Drawing::default()
    };
    let arrow = match (&event.outcome, step) {
        (StepOutcome::Connected { .. }, _) if !udp => {
            Some(Arrow::plain(Toward::Server, ArrowKind::Connect))
        }
        (StepOutcome::Sending(payload), _) => {
            let label = match (payload, step) {
                _ if hidden => Label::hidden(),
                // Sent filled with this run's values: shown by name.
                (_, Some(Step::Send(Payload::Captured(filled)))) => {
                    Label::words(redact.show(&filled.template()))
                }
                (Payload::Bytes(bytes), _) => Label::of(redact, bytes),
                (Payload::Captured(filled), _) => Label::words(redact.show(&filled.template())),
                (Payload::Repeat { unit, times }, _) => {
                    Label::words(format!("{} × {times}", redact.show(unit)))
                }
            };
            Some(Arrow::data(Toward::Server, label, udp))
        }
        (StepOutcome::HalfClosed, _) => Some(Arrow::plain(Toward::Server, ArrowKind::HalfClose)),
        (StepOutcome::Closed, _) if !udp => Some(Arrow::plain(Toward::Server, ArrowKind::Fin)),
        (StepOutcome::Matched(bytes), Some(Step::Expect { .. } | Step::ReadToClose { .. }))
            if !drawn_by_server =>
        {
            Some(Arrow::data(Toward::Client, label(bytes), udp))
        }
        // What came instead of what a step expected, from a peer whose lines are not netlab's.
        (StepOutcome::Failed(failure), Some(step))
            if !drawn_by_server && !failure.received.is_empty() && step.reads() =>
        {
            Some(Arrow::data(Toward::Client, label(&failure.received), udp))
        }
        (StepOutcome::Counted(count), _) if !drawn_by_server => Some(Arrow::data(
            Toward::Client,
            Label::words(format!("{count} bytes")),
            udp,
        )),
        (StepOutcome::PeerClosed, _) if !drawn_by_server => {
            Some(Arrow::plain(Toward::Client, ArrowKind::Fin))
        }
        (StepOutcome::Reset, _) if !drawn_by_server => {
            Some(Arrow::plain(Toward::Client, ArrowKind::Reset))
        }
        (
            StepOutcome::Slept | StepOutcome::Quiet,
            Some(Step::Sleep(d) | Step::ExpectNothing(d)),
        ) => {
            drawing.pause = *d;
            None
        }
        // Its later times through, each as long as the first (whose lines are shown).
        (StepOutcome::Repeated { times, .. }, Some(Step::Repeat { body, .. })) => {
            let steps = client.steps_of(id.instance);
            let first = event.step.map_or(0, |i| i + 1);
            let end = steps.len().min(first.saturating_add(*body));
            let once = crate::plan::declared_pause(steps.get(first..end).unwrap_or_default());
            let later = u32::try_from(times.saturating_sub(1)).unwrap_or(u32::MAX);
            drawing.pause = once.saturating_mul(later);
            None
        }
        _ => None,
    };
    drawing.arrows.extend(arrow);
    drawing
}

/// The words of a client step event (see `describe_step_event`).
fn step_words(
    scenario: &Scenario,
    id: InstanceId,
    event: &StepEvent,
    dead: Option<&ProgramFailure>,
) -> Entry {
    let client = &scenario.clients[id.client];
    let redact = scenario.redactions(Some(id.client));
    let step = event.step.and_then(|i| client.steps_of(id.instance).get(i));
    let actor = instance_label(scenario, id);
    // A hidden check shows no byte it sends or expects, passed or failed.
    let hidden = event
        .step
        .is_some_and(|i| client.hidden.get(i).copied().unwrap_or(false));
    let what = match step {
        Some(step) if hidden => hidden_step_text(step),
        Some(step) => step_text(redact, step),
        None => format!("connect {}", target_text(scenario, client)),
    };
    let passed = |text: String| Entry {
        mark: Mark::Passed,
        actor: actor.clone(),
        text,
        detail: Vec::new(),
        differs: None,
        hint: None,
        drawing: Drawing::default(),
    };
    match &event.outcome {
        StepOutcome::Matched(bytes) => {
            // What an exact matcher matched is what the step says (a frame: its body, the
            // prefix being the one the body makes).
            let exact = match step {
                Some(Step::Expect { matcher, .. } | Step::ExpectStdout(matcher)) => {
                    matcher.is_exact()
                }
                _ => false,
            };
            if exact || hidden {
                passed(what)
            } else if step.and_then(Step::uses_captured).is_some() {
                // What it matched holds the values it used, which differ from run to run: the
                // step as written (values by name) says what held.
                passed(format!("{what}: matched"))
            } else if matches!(step, Some(Step::ExpectStdout(_))) {
                // A program's output often holds what changes run to run (a time, an id): the
                // transcript says what was asserted held, and shows the output only on failure.
                passed(format!("{what}: matched"))
            } else {
                let shown = match step {
                    Some(step) => show_with_captures_named(redact, bytes, step),
                    None => Some(redact.show(bytes)),
                };
                match shown {
                    Some(shown) => passed(format!("{what}: got {shown}")),
                    // Values taken from a decoded body have no place in the bytes, which hold
                    // them: the step as written says what held.
                    None => passed(format!("{what}: matched")),
                }
            }
        }
        StepOutcome::Failed(failure) => {
            // What came may echo what a hidden step sent: only its size shows.
            let received = || {
                if hidden {
                    "(hidden)".to_string()
                } else {
                    redact.show(&failure.received)
                }
            };
            let mut detail = Vec::new();
            let mut differs = None;
            let reason = match &failure.kind {
                // Not even how much came: a student could steer it to learn the expected length.
                FailureKind::Mismatch if hidden => {
                    "received something else (what was expected is hidden)".to_string()
                }
                FailureKind::CaptureFailed(_) if hidden => {
                    "a value could not be captured (the step is hidden)".to_string()
                }
                FailureKind::Mismatch => {
                    // A matcher that uses captured values, as it was when it failed.
                    let filled = step.and_then(|s| s.filled(&failure.captured).ok().flatten());
                    let expected = filled.as_ref().or(step).and_then(|s| match s {
                        Step::Expect { matcher, .. }
                        | Step::ReadToClose { matcher, .. }
                        | Step::ExpectStdout(matcher) => matcher.exact_bytes(),
                        _ => None,
                    });
                    match expected {
                        Some(expected) => {
                            detail.extend(diff_lines(redact, expected, &failure.received));
                            differs =
                                first_difference(redact, expected, &failure.received).map(Box::new);
                        }
                        None => {
                            // An HTTP view says what was wrong with the message it read.
                            if let Some(
                                Step::Expect {
                                    matcher: Matcher::Http(http),
                                    ..
                                }
                                | Step::ReadToClose {
                                    matcher: Matcher::Http(http),
                                    ..
                                }
                                | Step::ExpectStdout(Matcher::Http(http)),
                            ) = step
                                && let Some(why) = http.explain(
                                    &failure.received,
                                    true,
                                    !matches!(step, Some(Step::Expect { .. })),
                                )
                            {
                                detail.push(redacted_text(redact, &why));
                            }
                            detail.push(format!("received: {}", received()))
                        }
                    }
                    "received something else".to_string()
                }
                FailureKind::Timeout(_) => {
                    if !failure.received.is_empty() {
                        detail.push(format!("received so far: {}", received()));
                    }
                    if let Some(Step::Expect {
                        matcher: Matcher::Http(http),
                        ..
                    }) = step
                        && !hidden
                        && let Some(why) = http.awaited_body(&failure.received)
                    {
                        detail.push(why);
                    }
                    let within = duration(declared_timeout(client, step));
                    match step {
                        // What these wait for is the close, not bytes.
                        Some(Step::ExpectClose { .. } | Step::ReadToClose { .. }) => {
                            format!("the connection was not closed within {within}")
                        }
                        Some(Step::ExpectReset { .. }) => {
                            format!("the connection was not reset within {within}")
                        }
                        _ => format!("nothing matching within {within}"),
                    }
                }
                FailureKind::PeerClosed => {
                    if !failure.received.is_empty() {
                        detail.push(format!("received before the close: {}", received()));
                    }
                    "the peer closed the connection".to_string()
                }
                FailureKind::UnexpectedData => {
                    detail.push(format!("received: {}", received()));
                    "data arrived".to_string()
                }
                FailureKind::ConnectFailed(reason) | FailureKind::Io(reason) => {
                    redacted_text(redact, reason)
                }
                FailureKind::NotConnected => "the connection is already closed".to_string(),
                FailureKind::Stopped => "stopped: the scenario ended first".to_string(),
                FailureKind::ProgramStart(reason) => reason.clone(),
                FailureKind::ClosedNotReset => {
                    "the peer closed normally (FIN), not with a reset".to_string()
                }
                FailureKind::FrameTooLarge(cap) => {
                    detail.push(format!("received: {}", received()));
                    let delimited = matches!(
                        step,
                        Some(Step::Expect {
                            matcher: Matcher::Frame {
                                frames: crate::framing::Frames::Delimiter(_),
                                ..
                            },
                            ..
                        })
                    );
                    if delimited {
                        format!("no delimiter within {cap} bytes (max_received): stopped reading")
                    } else {
                        format!(
                            "the frame announces more than {cap} bytes (max_received): stopped reading"
                        )
                    }
                }
                FailureKind::TooMuchData(cap) => {
                    detail.push(format!("received: {}", received()));
                    format!("more than {cap} bytes arrived (max_received): stopped reading")
                }
                FailureKind::ProgramTimeout(_) => {
                    detail.extend(stderr_lines(redact, &failure.received));
                    format!(
                        "still running after {}: stopped",
                        duration(declared_timeout(client, step))
                    )
                }
                FailureKind::OutputTooLarge(written) => format!(
                    "its stdout (about {written} bytes) is more than netlab keeps to judge ({} MiB)",
                    PROGRAM_OUTPUT_HEAD >> 20
                ),
                FailureKind::CaptureFailed(why) => {
                    if !failure.received.is_empty() {
                        detail.push(format!("matched: {}", received()));
                    }
                    redacted_text(redact, why)
                }
                FailureKind::WrongExit(status) => {
                    detail.extend(stderr_lines(redact, &failure.received));
                    match status {
                        Some(status) => program_status(*status),
                        None => "it did not exit by itself: netlab stopped it".to_string(),
                    }
                }
                FailureKind::Tls(tls) => match step {
                    Some(Step::ExpectTlsError { .. }) => format!("TLS failed otherwise: {tls}"),
                    _ => format!("TLS failed: {tls}"),
                },
                FailureKind::HandshakeTimeout(_) => {
                    let next = event.step.map_or(0, |at| at + 1);
                    let steps = client.steps_of(id.instance);
                    let within = duration(client.handshake_timeout(steps, next));
                    format!("the TLS handshake did not finish within {within}")
                }
                FailureKind::TlsAbandoned => TLS_ABANDONED.to_string(),
                FailureKind::TlsSucceeded => {
                    if !failure.received.is_empty() {
                        detail.push(format!("received: {}", received()));
                    }
                    "the handshake succeeded, and no TLS error came".to_string()
                }
            };
            // The values the step used: a failure may show them (a passing run shows names),
            // unless the step is hidden.
            if let Some(filled) = step.and_then(Step::uses_captured).filter(|_| !hidden) {
                for (slot, name) in filled.values_used() {
                    if let Some(Some(value)) = failure.captured.get(slot) {
                        detail.push(format!("{{{name}}} was {}", redact.show(value)));
                    }
                }
            }
            let mut hint = event
                .step
                .and_then(|i| client.hints_of(id.instance).get(i))
                .and_then(Option::clone);
            // A failure the dead program caused says so, not what the step advises.
            if let Some(program) = dead.filter(|_| failure.kind.can_follow_a_dead_peer()) {
                detail.push(format!(
                    "because the program under test had failed: {}",
                    program_failure_reason(&program.kind)
                ));
                hint = None;
            }
            let when = if event.iteration > 1 {
                format!(" (time {} through the repeat)", event.iteration)
            } else {
                String::new()
            };
            Entry {
                mark: Mark::Failed,
                actor,
                text: format!("{what}{when}: {reason}"),
                detail,
                differs,
                hint,
                drawing: Drawing::default(),
            }
        }
        StepOutcome::ProgramExited { status } => Entry {
            mark: Mark::Ran,
            ..passed(format!("{what}: {}", program_status(*status)))
        },
        StepOutcome::Counted(count) => passed(format!("{what}: {count} bytes arrived (not kept)")),
        StepOutcome::Secured(handshake) => match step {
            Some(_) => passed(format!(
                "{what}: {}",
                handshake_text(handshake, Side::Client)
            )),
            None => passed(handshake_text(handshake, Side::Client)),
        },
        // A handshake that failed as the next step expects: said, judged by that step.
        StepOutcome::TlsRefused(failure) if !matches!(step, Some(Step::ExpectTlsError { .. })) => {
            let said = format!("the TLS handshake failed: {}", failure.reason);
            Entry {
                mark: Mark::Ran,
                ..passed(match step {
                    Some(_) => format!("{what}: {said}"),
                    None => said,
                })
            }
        }
        StepOutcome::TlsRefused(failure) => passed(format!("{what}: {}", failure.reason)),
        StepOutcome::Repeated { times, .. } => passed(format!(
            "{what}: every step passed all {times} times (the first time is shown above)"
        )),
        _ => passed(what),
    }
}

/// Describes the result of check `check` of server `server`: `count` was counted.
pub fn describe_server_check(
    scenario: &Scenario,
    server: usize,
    check: usize,
    count: u64,
    passed: bool,
) -> Entry {
    let Some((server, written)) = scenario
        .servers
        .get(server)
        .and_then(|s| Some((s, s.checks.get(check)?)))
    else {
        return Entry {
            mark: Mark::Failed,
            actor: String::new(),
            text: format!("check {check} of server {server}: {count}"),
            detail: Vec::new(),
            differs: None,
            hint: None,
            drawing: Drawing::default(),
        };
    };
    let hint = written.hint.clone().filter(|_| !passed);
    Entry {
        mark: if passed { Mark::Passed } else { Mark::Failed },
        actor: server.name.clone(),
        text: format!(
            "{}: {}",
            written.text(),
            written.counted.words(server.protocol, count)
        ),
        detail: Vec::new(),
        differs: None,
        hint,
        drawing: Drawing::default(),
    }
}

/// Describes a server action on a connection, of client `client`'s section (`None`: a peer from
/// outside the scenario).
pub fn describe_server_event(
    scenario: &Scenario,
    server: usize,
    client: Option<usize>,
    event: &ServerEvent,
) -> Entry {
    Entry {
        drawing: server_drawing(scenario, server, client, event),
        ..server_words(scenario, server, client, event)
    }
}

/// What a server action draws: what it sent and closed, and what it received when no client's
/// lines draw it (a program under test's, an outside peer's).
fn server_drawing(
    scenario: &Scenario,
    server: usize,
    client: Option<usize>,
    event: &ServerEvent,
) -> Drawing {
    let redact = scenario.redactions(client);
    let udp = scenario.servers[server].protocol == Protocol::Udp;
    // Under the `reset` fault, each close of the server is a reset, drawn by the
    // `Fault(Reset)` line that follows it (exec/tcp_server.rs records one after every close).
    let resets = scenario.servers[server].faults.reset;
    // A client of netlab's draws its own sends and closes.
    let draws_received = client.is_none_or(|c| scenario.clients[c].is_program());
    let mut drawing = Drawing::default();
    let mut arrows = Vec::new();
    // What a message of `len` bytes took on the wire (its frame's header or delimiter too):
    // what ties it to the client's sends.
    let framing = &scenario.servers[server].framing;
    let wire = |len: usize| -> Option<u64> {
        match framing {
            Framing::Chunk => Some(len as u64),
            Framing::Line => None,
            Framing::Frames(frames) => frames.wire_len(len).map(|n| n as u64),
        }
    };
    let received = |arrows: &mut Vec<Arrow>, message: &[u8]| {
        if draws_received {
            arrows.push(Arrow::data(Toward::Server, Label::of(redact, message), udp));
        }
    };
    match &event.action {
        ServerAction::Accepted { .. } if !udp => {
            drawing.tie = Tie::Accepted;
            if draws_received {
                arrows.push(Arrow::plain(Toward::Server, ArrowKind::Connect));
            }
        }
        ServerAction::Greeting { bytes, faults } => {
            drawing.pause = faults_pause(faults, bytes.len());
            arrows.push(Arrow {
                faults: faults.clone(),
                ..Arrow::data(Toward::Client, Label::of(redact, bytes), udp)
            });
            arrows.extend(cut(faults).filter(|_| !resets));
        }
        ServerAction::Answered {
            message,
            rule,
            delay,
            reply,
            close,
            lost,
            faults,
            ..
        } => {
            drawing.tie = Tie::Received(wire(message.len()));
            if draws_received {
                arrows.push(Arrow {
                    lost: *lost,
                    ..Arrow::data(Toward::Server, Label::of(redact, message), udp)
                });
            }
            let reply_len = reply.as_ref().map_or(0, Vec::len);
            drawing.pause = delay
                .unwrap_or_default()
                .saturating_add(faults_pause(faults, reply_len));
            if let Some(reply) = reply {
                let arrow = Arrow {
                    rule: Some(*rule),
                    delay: *delay,
                    faults: faults.clone(),
                    lost: faults.contains(&AppliedFault::Dropped),
                    ..Arrow::data(Toward::Client, Label::of(redact, reply), udp)
                };
                // A duplicated datagram arrives twice.
                if faults.contains(&AppliedFault::Duplicated) {
                    arrows.push(arrow.clone());
                }
                arrows.push(arrow);
            }
            if let Some(arrow) = cut(faults).filter(|_| !resets) {
                arrows.push(arrow);
            } else if *close && !resets {
                arrows.push(Arrow {
                    rule: reply.is_none().then_some(*rule),
                    delay: delay.filter(|_| reply.is_none()),
                    ..Arrow::plain(Toward::Client, ArrowKind::Fin)
                });
            }
        }
        ServerAction::Unanswered {
            message,
            unrecorded,
            ..
        } => {
            drawing.tie = Tie::Received(wire(message.len()).map(|n| n.saturating_add(*unrecorded)));
            received(&mut arrows, message);
        }
        // Seen when the client closed (or half-closed) with part of a frame sent.
        ServerAction::UnfinishedFrame { bytes, .. } => {
            drawing.tie = Tie::SawClose;
            received(&mut arrows, bytes);
        }
        // Caused by what the client sent (a bad frame) or did: after its lines before it.
        ServerAction::Failed(_) => drawing.tie = Tie::Received(None),
        ServerAction::PeerClosed => {
            drawing.tie = Tie::SawClose;
            if draws_received && !udp {
                arrows.push(Arrow::plain(Toward::Server, ArrowKind::Fin));
            }
            if !udp && !resets {
                arrows.push(Arrow::plain(Toward::Client, ArrowKind::Fin));
            }
        }
        // Counts of what is not shown one by one: what follows is not matched to sends.
        ServerAction::Repeated { times, .. } => drawing.more = *times,
        ServerAction::Unrecorded { messages, .. } => drawing.more = (*messages).max(1),
        ServerAction::Fault(fault @ AppliedFault::Reset) => arrows.push(Arrow {
            faults: vec![*fault],
            ..Arrow::plain(Toward::Client, ArrowKind::Reset)
        }),
        _ => {}
    }
    drawing.arrows = arrows;
    drawing
}

/// The close a `close_after` fault made right after a write (a FIN: under the `reset` fault,
/// the `Fault(Reset)` line that follows every close draws the reset instead).
fn cut(faults: &[AppliedFault]) -> Option<Arrow> {
    let limit = faults
        .iter()
        .find(|f| matches!(f, AppliedFault::CloseAfter(_)))?;
    Some(Arrow {
        faults: vec![*limit],
        ..Arrow::plain(Toward::Client, ArrowKind::Fin)
    })
}

/// The time the faults of a write of `len` bytes take, as declared: its latency, and its
/// pacing by a slice or a bandwidth (`plan::pacing`, the writer's own rule).
fn faults_pause(faults: &[AppliedFault], len: usize) -> Duration {
    let mut latency = Duration::ZERO;
    let (mut slice, mut bandwidth) = (None, None);
    for fault in faults {
        match *fault {
            AppliedFault::Latency(d) => latency = latency.saturating_add(d),
            AppliedFault::Slice { bytes, pause } => slice = Some((bytes, pause)),
            AppliedFault::Bandwidth(rate) => bandwidth = Some(rate),
            _ => {}
        }
    }
    latency.saturating_add(crate::plan::paced_time(
        crate::plan::pacing(slice, bandwidth),
        len,
    ))
}

/// The words of a server action (see `describe_server_event`).
fn server_words(
    scenario: &Scenario,
    server: usize,
    client: Option<usize>,
    event: &ServerEvent,
) -> Entry {
    let redact = scenario.redactions(client);
    let udp = scenario.servers[server].protocol == Protocol::Udp;
    let read_size = scenario.servers[server].read_size;
    let received = |message: &[u8], truncated: &Option<usize>| match truncated {
        Some(length) => format!(
            "received {} (a {length}-byte datagram, cut to read_size {read_size})",
            redact.show(message)
        ),
        None => format!("received {}", redact.show(message)),
    };
    let text = match proxy_words(scenario, (server, client), redact, &event.action) {
        Some(text) => text,
        None => match &event.action {
            ServerAction::Accepted { .. } if udp => "a first datagram from this client".to_string(),
            ServerAction::Accepted { .. } => "accepted the connection".to_string(),
            ServerAction::Secured(handshake) => handshake_text(handshake, Side::Server),
            ServerAction::TlsFailed(failure) => format!("TLS failed: {failure}"),
            ServerAction::TlsHelloToPlain => {
                "received a TLS client's hello (not shown: it differs every run), and speaks plain text → closed the connection".to_string()
            }
            ServerAction::TlsAbandoned => TLS_ABANDONED.to_string(),
            ServerAction::Greeting { bytes, faults } => {
                let mut text = format!("greeting {}", redact.show(bytes));
                for fault in faults {
                    text.push_str(&format!(", fault: {}", fault_text(fault)));
                }
                text
            }
            ServerAction::Answered {
                message,
                truncated,
                rule,
                delay,
                reply,
                close,
                lost,
                faults,
            } => {
                let mut parts = vec![format!("rules[{rule}]")];
                if *lost {
                    parts.push("lost (lose_first)".into());
                }
                if let Some(delay) = delay {
                    parts.push(format!("after {}", duration(*delay)));
                }
                if let Some(reply) = reply {
                    parts.push(format!("reply {}", redact.show(reply)));
                }
                if *close {
                    parts.push("close".into());
                }
                if reply.is_none() && !close && !lost {
                    parts.push("no reply".into());
                }
                parts.extend(faults.iter().map(|f| format!("fault: {}", fault_text(f))));
                format!("{} → {}", received(message, truncated), parts.join(", "))
            }
            ServerAction::Unanswered {
                message,
                truncated,
                unrecorded: 0,
            } => {
                format!(
                    "{} → no rule matched, no reply",
                    received(message, truncated)
                )
            }
            ServerAction::Unanswered {
                message,
                unrecorded,
                ..
            } => {
                let total = message.len() as u64 + unrecorded;
                format!(
                    "received {}… ({total} bytes, the first {} kept) → no rule matched, no reply",
                    redact.show_head(message, SHOW_LIMIT / 4),
                    message.len()
                )
            }
            ServerAction::Repeated { times: 1, .. } => "the same again".to_string(),
            ServerAction::Repeated { times, .. } => format!("the same again, {times} more times"),
            // Over TCP, how many messages recv() made of the bytes depends on timing: only bytes.
            ServerAction::Unrecorded { received, sent, .. } if !udp => format!(
                "{received} more bytes in, {sent} bytes out, not recorded: \
                 this connection's record reached its {} MiB",
                RECORD_BUDGET >> 20
            ),
            ServerAction::Unrecorded {
                messages,
                received,
                sent,
            } => format!(
                "{messages} more messages ({received} bytes in, {sent} bytes out), not recorded: \
                 this connection's record reached its {} MiB",
                RECORD_BUDGET >> 20
            ),
            ServerAction::UnfinishedFrame { bytes, len } => {
                let shown = if (bytes.len() as u64) < *len {
                    format!("{}… ({len} bytes)", redact.show(bytes))
                } else {
                    redact.show(bytes)
                };
                format!("an unfinished frame at the close: {shown} (no rule saw it)")
            }
            ServerAction::PeerClosed => "saw the client close → closed its side".to_string(),
            ServerAction::Failed(reason) => {
                format!("connection failed: {}", redacted_text(redact, reason))
            }
            ServerAction::Fault(fault) => format!("fault: {}", fault_text(fault)),
            // Said by `proxy_words` (a proxy's actions).
            ServerAction::UpstreamConnecting { .. }
            | ServerAction::UpstreamFailed(_)
            | ServerAction::Forwarded { .. }
            | ServerAction::Relayed { .. }
            | ServerAction::SideClosed { .. }
            | ServerAction::ProxyFault { .. } => String::new(),
        },
    };
    Entry {
        mark: Mark::Server,
        actor: scenario.servers[server].name.clone(),
        text,
        detail: Vec::new(),
        differs: None,
        hint: None,
        drawing: Drawing::default(),
    }
}

/// A program's stderr, a line each, for a failure's detail.
fn stderr_lines(redact: Redactions, stderr: &[u8]) -> Vec<String> {
    let stderr = redact.bytes(stderr);
    let text = String::from_utf8_lossy(&stderr);
    text.lines()
        .map(|line| format!("stderr: {}", printable(line)))
        .collect()
}

/// A program's text made safe to print on one line: control characters (a `\r` that would
/// overwrite the line, an escape sequence, a newline inside an argument) are shown escaped.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Expected vs received, as `-`/`+` lines of escaped text (one per line of the data). Both are
/// redacted, so that lines that differ only in what is hidden line up.
/// A regex as written in the file (`"^\\d+$"` in YAML shows as `"^\d+$"`), in quotes: only
/// what would break the line (control characters) is escaped.
fn regex_text(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    out.push('"');
    for c in pattern.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// A reason in words that may quote received bytes or captured values (an HTTP header's value,
/// a regex filled with a token): what the redactions hide in them is hidden here too.
fn redacted_text(redact: Redactions, text: &str) -> String {
    String::from_utf8_lossy(&redact.bytes(text.as_bytes())).into_owned()
}

fn diff_lines(redact: Redactions, expected: &[u8], received: &[u8]) -> Vec<String> {
    let old = escaped_lines(redact, expected);
    let new = escaped_lines(redact, received);
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let diff = similar::TextDiff::from_slices(&old, &new);
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "- expected",
            similar::ChangeTag::Insert => "+ received",
            similar::ChangeTag::Equal => "  both    ",
        };
        out.push(format!("{sign} {}", change.value()));
    }
    // A diff without a `- expected` line (what came holds all that was expected, and more before
    // it) would hide what was expected: then say both whole, what arrived first included.
    if !out.iter().any(|line| line.starts_with("- expected")) {
        out = vec![
            format!("- expected {}", redact.show(expected)),
            format!("+ received {}", redact.show(received)),
        ];
        if old == new {
            out.push("(they differ only in what `redact:` hides)".to_string());
        }
    }
    out
}

/// The first line of `expected` that did not come as it was, and what came instead (both
/// redacted).
fn first_difference(redact: Redactions, expected: &[u8], received: &[u8]) -> Option<Difference> {
    let old = escaped_lines(redact, expected);
    let new = escaped_lines(redact, received);
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    difference::first_difference(&old, &new)
}

/// Data split after each `\n`, each piece shown as escaped text (or hex).
fn escaped_lines(redact: Redactions, bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return vec!["(nothing)".to_string()];
    }
    redact.show_lines(bytes)
}

/// `bytes` shown with each value the captures of `step` took from them as `{name}` (a value
/// differs from run to run; its name does not), in text or in hex alike, the rest redacted.
fn show_with_captures_named(redact: Redactions, bytes: &[u8], step: &Step) -> Option<String> {
    let captures = step.captures();
    if captures.is_empty() {
        return Some(redact.show(bytes));
    }
    let (start, part) = step.captured_part(bytes);
    // Taken from a decoded body (chunks joined): no place in the bytes for the names.
    let start = start?;
    let mut marks: Vec<(std::ops::Range<usize>, &str)> = captures
        .iter()
        .filter_map(|c| {
            c.take(&part)
                .ok()
                .map(|(range, _)| (start + range.start..start + range.end, c.name.as_str()))
        })
        .collect();
    let pieces = capture::marked(bytes, &mut marks);
    let names: Vec<String> = (pieces.iter())
        .map(|piece| match piece {
            MarkedPiece::Name(name) => format!("{{{name}}}"),
            MarkedPiece::Bytes(_) => String::new(),
        })
        .collect();
    let mut parts = Vec::new();
    for (piece, name) in pieces.iter().zip(&names) {
        match piece {
            MarkedPiece::Bytes(bytes) => parts.extend(redact.parts(bytes)),
            MarkedPiece::Name(_) => parts.push(Part::Placeholder(name)),
        }
    }
    Some(crate::escape::show_parts(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_programs_text_cannot_overwrite_the_line() {
        assert_eq!(printable("50%\rdone\x1b[2K"), "50%\\rdone\\u{1b}[2K");
        assert_eq!(printable("a\tb"), "a\tb");
    }

    #[test]
    fn a_diff_always_says_what_was_expected() {
        // Before: `+ received "\r\n"` and `both "BYE\r\n"`, and no `- expected` line.
        let lines = diff_lines(Redactions::default(), b"BYE\r\n", b"\r\nBYE\r\n");
        assert_eq!(
            lines,
            vec![
                "- expected \"BYE\\r\\n\"".to_string(),
                "+ received \"\\r\\nBYE\\r\\n\"".to_string()
            ]
        );
    }

    #[test]
    fn diff_shows_expected_then_received() {
        let lines = diff_lines(
            Redactions::default(),
            b"Hello, Michael!",
            b"Hello, Micheal!",
        );
        assert_eq!(
            lines,
            vec![
                "- expected \"Hello, Michael!\"".to_string(),
                "+ received \"Hello, Micheal!\"".to_string()
            ]
        );
    }

    #[test]
    fn diff_keeps_equal_lines_as_context() {
        let lines = diff_lines(
            Redactions::default(),
            b"HTTP/1.1 200 OK\r\nA: 1\r\n",
            b"HTTP/1.1 200 OK\r\nA: 2\r\n",
        );
        assert_eq!(lines[0], "  both     \"HTTP/1.1 200 OK\\r\\n\"");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn a_diff_is_redacted_on_both_sides_so_that_only_what_differs_shows() {
        let Ok(regex) = regex::bytes::Regex::new(r"\d\d:\d\d") else {
            panic!("the regex compiles");
        };
        let scenario = [crate::redact::Redaction::new("time", regex)];
        let redact = Redactions::new(&scenario, &[]);
        let lines = diff_lines(redact, b"at 10:00\nX: 1\n", b"at 11:59\nX: 2\n");
        assert_eq!(
            lines,
            [
                "  both     \"at [time]\\n\"",
                "- expected \"X: 1\\n\"",
                "+ received \"X: 2\\n\""
            ]
        );
        // What differs is all hidden: both are shown whole, and that is said.
        let lines = diff_lines(redact, b"at 10:00\n", b"at 11:59\n");
        assert_eq!(lines[2], "(they differ only in what `redact:` hides)");
    }

    #[test]
    fn nothing_received_is_said_in_words() {
        assert_eq!(
            diff_lines(Redactions::default(), b"x", b"")[1],
            "+ received (nothing)"
        );
    }
}
