//! `netlab record`'s recording: what went through its proxy on each connection, as runs of bytes
//! one way or the other and how the connection ended (`Exchange`, built from the proxy's events
//! alone), and the scenario written from them (`scenario_text`): a client per connection that
//! sends what its client sent and expects what came back, and with `stub` a server whose rules
//! answer as the upstream did. Pure: events in, YAML text out.
//!
//! The YAML is written by hand, not serialized: the file is for people to read and edit (comments
//! that say where it came from, one step per line, payloads as text where they are text), which a
//! serializer's layout does not give; every string goes through `quoted`, and the text is loaded
//! back by the caller before it is kept.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex::Regex;

use crate::event::{ConnectionId, Event, EventKind, Origin, ServerAction, Way};

/// One run of bytes one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Which way.
    pub way: Way,
    /// The bytes kept.
    pub bytes: Vec<u8>,
    /// Bytes that went this way after `bytes` and were not kept (a bulk transfer).
    pub unkept: u64,
}

/// How one side ended, and when: after how many runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// Runs before it.
    pub after: usize,
    /// It was a reset.
    pub reset: bool,
}

/// What went through the proxy on one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// When the client closed its side (or reset), if it did.
    pub client_closed: Option<Close>,
    /// When the upstream closed its side (or reset), if it did.
    pub upstream_closed: Option<Close>,
    /// The upstream closed before the client did.
    pub upstream_first: bool,
    /// The proxy could not reach the upstream: why.
    pub unreachable: Option<String>,
    /// It was still open when the recording stopped (written as far as it went).
    pub unfinished: bool,
    /// Its runs are datagrams (a udp proxy's session): one run each, never joined.
    pub datagrams: bool,
    /// Past what netlab keeps of one connection, what went was only counted: the runs end
    /// early.
    pub counted_only: bool,
}

impl Exchange {
    fn add(&mut self, way: Way, bytes: &[u8], unkept: u64) {
        match self.runs.last_mut() {
            Some(run) if run.way == way => {
                if run.unkept == 0 {
                    run.bytes.extend_from_slice(bytes);
                    run.unkept = unkept;
                } else {
                    run.unkept += bytes.len() as u64 + unkept;
                }
            }
            _ => self.runs.push(Run {
                way,
                bytes: bytes.to_vec(),
                unkept,
            }),
        }
    }

    /// Whether the client spoke TLS: a run of its bytes (its first, or one after a plain-text
    /// `STARTTLS`) is a TLS hello; what follows is encrypted and differs every run, nothing a
    /// scenario could send or expect.
    pub fn speaks_tls(&self) -> bool {
        let hello = |run: &Run| {
            run.way == Way::ToUpstream
                && crate::event::tls_client_hello(&run.bytes) == crate::event::HelloCheck::Hello
        };
        !self.datagrams && self.runs.iter().any(hello)
    }

    /// Whether a run of it was not kept whole, or not kept at all.
    pub fn cut(&self) -> bool {
        self.counted_only || self.runs.iter().any(|run| run.unkept > 0)
    }
}

/// The exchanges of proxy server `server`'s connections in `events`, in the order they were
/// accepted, each with its connection.
pub fn exchanges(server: usize, events: &[Event]) -> Vec<(ConnectionId, Exchange)> {
    let mut found: BTreeMap<ConnectionId, Exchange> = BTreeMap::new();
    for event in events {
        let (Origin::Connection(id), EventKind::Served(served)) = (&event.origin, &event.kind)
        else {
            continue;
        };
        if id.server != server {
            continue;
        }
        let exchange = found.entry(*id).or_default();
        match &served.action {
            ServerAction::Forwarded {
                way,
                bytes,
                unrecorded,
                ..
            } => exchange.add(*way, bytes, *unrecorded),
            ServerAction::Relayed {
                way,
                datagram,
                unrecorded,
                ..
            } => {
                exchange.datagrams = true;
                exchange.runs.push(Run {
                    way: *way,
                    bytes: datagram.clone(),
                    unkept: *unrecorded,
                });
            }
            ServerAction::SideClosed {
                way, came_as_reset, ..
            } => {
                let close = Some(Close {
                    after: exchange.runs.len(),
                    reset: *came_as_reset,
                });
                match way {
                    Way::ToUpstream => exchange.client_closed = exchange.client_closed.or(close),
                    Way::ToClient => {
                        exchange.upstream_first |= exchange.client_closed.is_none();
                        exchange.upstream_closed = exchange.upstream_closed.or(close);
                    }
                }
            }
            ServerAction::UpstreamFailed(reason) => exchange.unreachable = Some(reason.clone()),
            ServerAction::Unrecorded { .. } => exchange.counted_only = true,
            _ => {}
        }
    }
    found.into_iter().collect()
}

/// What the written scenario is made of, besides the exchanges.
pub struct Recorded<'a> {
    /// The scenario's name.
    pub name: &'a str,
    /// Where the proxy listened and where it forwarded, as given (for the comments).
    pub listen: &'a str,
    /// `host:port` of the upstream.
    pub upstream: &'a str,
    /// What to write as regexes (and hide in transcripts): `--redact`.
    pub redact: &'a [Regex],
    /// Write a stand-in server too.
    pub stub: bool,
    /// The exchanges are datagrams (`--udp`).
    pub udp: bool,
}

/// The name of the stand-in server and of the var that says where the clients connect.
pub const STUB: &str = "stub";

/// See `STUB`.
pub const UPSTREAM_VAR: &str = "upstream";

/// The scenario that replays `exchanges` (see the module's documentation).
pub fn scenario_text(recorded: &Recorded<'_>, exchanges: &[Exchange]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Recorded by `netlab record{} --listen {} --to {}`: {} {}{}.",
        if recorded.udp { " --udp" } else { "" },
        recorded.listen,
        recorded.upstream,
        exchanges.len(),
        if recorded.udp { "sender" } else { "connection" },
        if exchanges.len() == 1 { "" } else { "s" }
    );
    if recorded.stub {
        let _ = writeln!(
            out,
            "# Replays against the stand-in server `{STUB}`; `--var {UPSTREAM_VAR}={}` replays against the real one.",
            recorded.upstream
        );
    } else {
        let _ = writeln!(
            out,
            "# Replays against {} (`--var {UPSTREAM_VAR}=HOST:PORT` for another).",
            recorded.upstream
        );
    }
    let _ = writeln!(out, "name: {}", quoted(recorded.name));
    let _ = writeln!(out, "vars:");
    let default = if recorded.stub {
        STUB
    } else {
        recorded.upstream
    };
    let _ = writeln!(out, "  {UPSTREAM_VAR}: {}", quoted(default));
    if !recorded.redact.is_empty() {
        let _ = writeln!(out, "redact:");
        for (i, regex) in recorded.redact.iter().enumerate() {
            let _ = writeln!(out, "  redacted_{}: {}", i + 1, quoted(regex.as_str()));
        }
    }
    if recorded.stub {
        out.push_str(&stub_text(recorded, exchanges));
    }
    let _ = writeln!(out, "clients:");
    for (i, exchange) in exchanges.iter().enumerate() {
        let _ = writeln!(out, "  - name: {}_{}", client_word(recorded), i + 1);
        if recorded.udp {
            let _ = writeln!(out, "    protocol: udp");
        }
        let _ = writeln!(out, "    connect: \"{{{UPSTREAM_VAR}}}\"");
        if exchange.unfinished {
            let _ = writeln!(
                out,
                "    # Still open when the recording stopped: written as far as it went."
            );
        }
        if exchange.counted_only {
            let _ = writeln!(
                out,
                "    # Past what netlab keeps of one connection ({} MiB, {} runs), what went was only counted: these steps stop there.",
                crate::event::RECORD_BUDGET >> 20,
                crate::event::PROXY_RECORDED_RUNS
            );
        }
        if let Some(reason) = &exchange.unreachable {
            let _ = writeln!(
                out,
                "    # The upstream could not be reached when this was recorded: {}",
                one_line(reason)
            );
        }
        let _ = writeln!(out, "    steps:");
        let steps = client_steps(recorded.redact, exchange);
        if steps.is_empty() {
            let _ = writeln!(out, "      - close: true");
        }
        for step in steps {
            let _ = writeln!(out, "      - {step}");
        }
    }
    out
}

/// What a recorded client is called: a connection's, or a udp sender's.
fn client_word(recorded: &Recorded<'_>) -> &'static str {
    match recorded.udp {
        true => "sender",
        false => "connection",
    }
}

/// The steps that replay `exchange` from its client's side.
fn client_steps(redact: &[Regex], exchange: &Exchange) -> Vec<String> {
    let mut steps = Vec::new();
    let upstream_close = |steps: &mut Vec<String>, close: Close| {
        steps.push(match close.reset {
            true => "expect_reset: true".to_string(),
            false => "expect_close: true".to_string(),
        });
    };
    for (index, run) in exchange.runs.iter().enumerate() {
        if let Some(close) = exchange.client_closed
            && close.after == index
            && !close.reset
        {
            // The client half-closed and still read what came after.
            steps.push("shutdown: write".to_string());
        }
        if let Some(close) = exchange.upstream_closed
            && close.after == index
        {
            upstream_close(&mut steps, close);
            return steps;
        }
        let comment = match run.unkept {
            0 => String::new(),
            more => format!(
                "  # {more} more bytes went here; netlab kept the first {}",
                run.bytes.len()
            ),
        };
        steps.push(match run.way {
            Way::ToUpstream => format!("send: {}{comment}", payload(&run.bytes)),
            Way::ToClient if run.unkept > 0 => format!(
                "expect: {{ bytes: {} }}{comment}",
                run.bytes.len() as u64 + run.unkept
            ),
            Way::ToClient => format!("expect: {}", matcher(redact, &run.bytes, true)),
        });
    }
    // The upstream's close is seen by a client that had not closed, or had only half-closed
    // (and read on); a client that closed first never sees it.
    let half_closed = exchange
        .client_closed
        .is_some_and(|client| !client.reset && client.after < exchange.runs.len());
    if let Some(close) = exchange.upstream_closed
        && close.after >= exchange.runs.len()
        && (exchange.upstream_first || half_closed)
    {
        upstream_close(&mut steps, close);
    }
    steps
}

/// The stand-in server: the upstream's greeting (what it sent before its client said anything,
/// on the first connection), and a rule per distinct request answering as the upstream did
/// (closing where it closed).
fn stub_text(recorded: &Recorded<'_>, exchanges: &[Exchange]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "servers:");
    let _ = writeln!(out, "  - name: {STUB}");
    let _ = writeln!(out, "    # Stands in for {}.", recorded.upstream);
    if recorded.udp {
        let _ = writeln!(out, "    protocol: udp");
        // Any datagram whole.
        let _ = writeln!(out, "    read_size: 64KiB");
    } else {
        // A request is one message however long it is (up to a read), as the client sent it.
        let _ = writeln!(out, "    read_size: 16MiB");
    }
    // (A udp server speaks only when spoken to.)
    let greeting = exchanges
        .first()
        .and_then(|e| e.runs.first())
        .filter(|run| run.way == Way::ToClient && !recorded.udp);
    if let Some(greeting) = greeting {
        let _ = writeln!(out, "    greeting: {}", payload(&greeting.bytes));
    }
    let mut rules: Vec<(Vec<u8>, String)> = Vec::new();
    for exchange in exchanges {
        let runs = &exchange.runs;
        let answers = datagram_answers(exchange);
        for (index, run) in runs.iter().enumerate() {
            if run.way != Way::ToUpstream || rules.iter().any(|(seen, _)| *seen == run.bytes) {
                continue;
            }
            let reply = match &answers {
                Some(answers) => answers.get(&index).map(|at| &runs[*at]),
                None => runs.get(index + 1).filter(|next| next.way == Way::ToClient),
            };
            let replied = usize::from(reply.is_some());
            let closes = exchange
                .upstream_closed
                .is_some_and(|close| close.after == index + 1 + replied);
            let mut rule = format!(
                "      - match: {}\n",
                matcher(recorded.redact, &run.bytes, false)
            );
            if let Some(reply) = reply {
                let _ = writeln!(rule, "        reply: {}", payload(&reply.bytes));
            }
            if closes {
                let _ = writeln!(rule, "        close: true");
            }
            let more = match &answers {
                None if exchange.datagrams => runs[index + 1..]
                    .iter()
                    .take_while(|next| next.way == Way::ToClient)
                    .count(),
                _ => 0,
            };
            if more > 1 {
                let _ = writeln!(
                    rule,
                    "        # the upstream answered this with {more} datagrams: a rule replies with one"
                );
            }
            if reply.is_none() && !closes {
                // What the upstream answered nothing to: matched, so that it is not shown as a
                // message no rule knew.
                let _ = writeln!(rule, "        # the upstream did not answer this");
            }
            rules.push((run.bytes.clone(), rule));
        }
    }
    if !rules.is_empty() {
        let _ = writeln!(out, "    rules:");
        for (_, rule) in rules {
            out.push_str(&rule);
        }
    }
    out
}

/// For datagrams, which answer is which request's: where a sender got as many datagrams as it
/// sent, the first answer is the first request's, and so on, however they interleaved (a
/// sender that sends several before it reads); `None` otherwise (each request takes the
/// datagram right after it, if one came then).
fn datagram_answers(exchange: &Exchange) -> Option<BTreeMap<usize, usize>> {
    if !exchange.datagrams {
        return None;
    }
    let of = |way: Way| -> Vec<usize> {
        (0..exchange.runs.len())
            .filter(|i| exchange.runs[*i].way == way)
            .collect()
    };
    let (requests, answers) = (of(Way::ToUpstream), of(Way::ToClient));
    (requests.len() == answers.len()).then(|| requests.into_iter().zip(answers).collect())
}

/// Bytes as a payload: text where they are text, else `{ hex: … }`.
fn payload(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => quoted(&crate::template::escape(text)),
        Err(_) => format!("{{ hex: \"{}\" }}", hex(bytes)),
    }
}

/// What must arrive: exactly `bytes`, or where a `--redact` regex matches in them, a regex with
/// that part left to the regex (`prefix`: they come first on the stream, as an `expect` reads).
fn matcher(redact: &[Regex], bytes: &[u8], prefix: bool) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return format!("{{ hex: \"{}\" }}", hex(bytes));
    };
    let mut parts: Vec<(usize, usize, &Regex)> = Vec::new();
    for regex in redact {
        for found in regex.find_iter(text) {
            let overlaps = parts
                .iter()
                .any(|(start, end, _)| found.start() < *end && *start < found.end());
            if !found.is_empty() && !overlaps {
                parts.push((found.start(), found.end(), regex));
            }
        }
    }
    if parts.is_empty() {
        return quoted(&crate::template::escape(text));
    }
    parts.sort_by_key(|(start, _, _)| *start);
    let mut pattern = String::from("^");
    let mut at = 0;
    for (start, end, regex) in parts {
        pattern.push_str(&regex::escape(&text[at..start]));
        let _ = write!(pattern, "(?:{})", unnamed(regex.as_str()));
        at = end;
    }
    pattern.push_str(&regex::escape(&text[at..]));
    if !prefix {
        pattern.push('$');
    }
    format!("{{ regex: {} }}", quoted(&pattern))
}

/// `pattern` with its named groups made plain groups: one regex may stand for several parts of
/// a message, and a name may appear once in a regex.
fn unnamed(pattern: &str) -> String {
    static NAMED: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    match NAMED.get_or_init(|| Regex::new(r"\(\?P?<[A-Za-z_][A-Za-z0-9_]*>").ok()) {
        Some(named) => named.replace_all(pattern, "(").into_owned(),
        None => pattern.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` on one line (a reason in a comment).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` as a YAML double-quoted scalar: what would break the line or be read otherwise (a
/// quote, a backslash, control characters, the characters YAML takes for line breaks, a byte
/// order mark) escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(way: Way, text: &str) -> Run {
        Run {
            way,
            bytes: text.as_bytes().to_vec(),
            unkept: 0,
        }
    }

    fn hello() -> Exchange {
        Exchange {
            runs: vec![
                run(Way::ToClient, "Welcome!"),
                run(Way::ToUpstream, "Michael"),
                run(Way::ToClient, "Hello, Michael!"),
                run(Way::ToUpstream, "exit"),
            ],
            client_closed: Some(Close {
                after: 4,
                reset: false,
            }),
            upstream_closed: Some(Close {
                after: 4,
                reset: false,
            }),
            upstream_first: false,
            unreachable: None,
            unfinished: false,
            datagrams: false,
            counted_only: false,
        }
    }

    #[test]
    fn a_udp_sender_becomes_a_udp_client_and_its_stub_a_udp_server() {
        let exchange = Exchange {
            runs: vec![
                run(Way::ToUpstream, "Michael"),
                run(Way::ToClient, "Hello, Michael!"),
                run(Way::ToUpstream, "Michael"),
                run(Way::ToClient, "Hello, Michael!"),
            ],
            datagrams: true,
            ..Exchange::default()
        };
        let recorded = recorded(true, true);
        let text = scenario_text(&recorded, &[exchange]);
        let scenario = load(&text);
        assert_eq!(scenario.servers[0].protocol, crate::scenario::Protocol::Udp);
        // One rule for the request sent twice; no greeting, no close.
        assert_eq!(scenario.servers[0].rules.len(), 1);
        assert!(scenario.servers[0].greeting.is_none());
        assert_eq!(scenario.clients[0].protocol, crate::scenario::Protocol::Udp);
        // Two sends and two expects: each datagram its own step.
        assert_eq!(scenario.clients[0].steps.len(), 4);
        // Against the real server (an address), the client stays udp.
        let real = text.replace("upstream: \"stub\"", "upstream: \"127.0.0.1:8000\"");
        assert_eq!(
            load(&real).clients[0].protocol,
            crate::scenario::Protocol::Udp
        );
    }

    /// A sender that sent several datagrams before it read: its stub answers each request with
    /// its own answer (before, each took the datagram right after it: the last request got the
    /// first answer, the others none).
    #[test]
    fn a_pipelining_sender_s_stub_answers_each_request_with_its_own_answer() {
        let exchange = Exchange {
            runs: vec![
                run(Way::ToUpstream, "a"),
                run(Way::ToUpstream, "b"),
                run(Way::ToUpstream, "c"),
                run(Way::ToClient, "A"),
                run(Way::ToClient, "B"),
                run(Way::ToClient, "C"),
            ],
            datagrams: true,
            ..Exchange::default()
        };
        let recorded = recorded(true, true);
        let text = scenario_text(&recorded, &[exchange]);
        for pair in [
            "match: \"a\"\n        reply: \"A\"",
            "match: \"b\"\n        reply: \"B\"",
            "match: \"c\"\n        reply: \"C\"",
        ] {
            assert!(text.contains(pair), "no `{pair}` in:\n{text}");
        }
        load(&text);
    }

    /// An exchange past what netlab keeps of one connection (only counted from there) is cut:
    /// `record` warns, and the client says its steps stop there (before, it passed as whole).
    #[test]
    fn an_exchange_only_counted_past_the_record_is_cut() {
        let exchange = Exchange {
            runs: vec![run(Way::ToUpstream, "a"), run(Way::ToClient, "A")],
            counted_only: true,
            ..Exchange::default()
        };
        assert!(exchange.cut());
        let recorded = recorded(false, false);
        let text = scenario_text(&recorded, &[exchange]);
        assert!(text.contains("was only counted"), "{text}");
    }

    /// What a test records: scenario `r`, toward 127.0.0.1:8000, nothing redacted.
    fn recorded(stub: bool, udp: bool) -> Recorded<'static> {
        Recorded {
            name: "r",
            listen: "l",
            upstream: "127.0.0.1:8000",
            redact: &[],
            stub,
            udp,
        }
    }

    fn load(text: &str) -> crate::scenario::Scenario {
        crate::scenario::load_source(crate::source::SourceFile::new("r.yaml", text))
            .unwrap_or_else(|d| panic!("{d}\n{text}"))
    }

    #[test]
    fn a_recorded_exchange_becomes_a_client_and_a_stub_that_load() {
        let recorded = Recorded {
            name: "r",
            listen: "127.0.0.1:9000",
            upstream: "127.0.0.1:8000",
            redact: &[],
            stub: true,
            udp: false,
        };
        let text = scenario_text(&recorded, &[hello()]);
        let scenario = load(&text);
        assert_eq!(scenario.servers.len(), 1);
        let stub = &scenario.servers[0];
        assert_eq!(
            stub.greeting.as_deref().map(Vec::as_slice),
            Some(&b"Welcome!"[..])
        );
        assert_eq!(stub.rules.len(), 2, "{text}");
        assert_eq!(scenario.clients[0].steps.len(), 4, "{text}");
        assert!(
            text.contains("      - expect: \"Hello, Michael!\"\n"),
            "{text}"
        );
        assert!(
            text.contains("      - match: \"exit\"\n        close: true\n"),
            "{text}"
        );
    }

    #[test]
    fn what_is_not_text_nor_plain_is_written_so_that_it_reads_back_the_same() {
        for bytes in [
            &b"{braces} {{ }} \"quotes\" \\back\r\n\t\x00\x7f"[..],
            "line\u{2028}sep\u{feff}é".as_bytes(),
            &[0xff, 0x00, 0x80][..],
        ] {
            let exchange = Exchange {
                runs: vec![run(Way::ToUpstream, ""), run(Way::ToClient, "")],
                ..Default::default()
            };
            let mut exchange = exchange;
            exchange.runs[0].bytes = bytes.to_vec();
            exchange.runs[1].bytes = bytes.to_vec();
            let recorded = recorded(false, false);
            let scenario = load(&scenario_text(&recorded, &[exchange]));
            match &scenario.clients[0].steps[0] {
                crate::scenario::Step::Send(crate::scenario::Payload::Bytes(sent)) => {
                    assert_eq!(sent.as_slice(), bytes)
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_redacted_part_becomes_a_regex_and_is_hidden() {
        let regex = Regex::new(r"\d{4}-\d\d-\d\d").unwrap_or_else(|e| panic!("{e}"));
        let exchange = Exchange {
            runs: vec![
                run(Way::ToUpstream, "date?"),
                run(Way::ToClient, "today is 2026-12-03 (a.k.a. now)"),
            ],
            ..Default::default()
        };
        let recorded = Recorded {
            redact: std::slice::from_ref(&regex),
            ..recorded(false, false)
        };
        let text = scenario_text(&recorded, &[exchange]);
        load(&text);
        assert!(
            text.contains(
                r#"expect: { regex: "^today is (?:\\d{4}-\\d\\d-\\d\\d) \\(a\\.k\\.a\\. now\\)" }"#
            ),
            "{text}"
        );
        assert!(text.contains("redacted_1: "), "{text}");
    }
}
