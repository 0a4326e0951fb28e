//! The checked scenario: what `validate` produces and every later stage consumes. Every value
//! here has been checked (names resolve, durations are positive where they must be, files were
//! read), so execution never has to report a user mistake.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use super::raw::{Concurrency, LoseScope, Protocol, SolutionExpect};
use crate::capture::{Capture, Filled, Values};

pub use super::tls::{
    CertificateFault, ClientAuth, ClientIdentity, ClientTls, Identity, ServerIdentity, ServerTls,
    ServerTrust, TlsErrorKind, TlsFiles, TlsVersion, Trust,
};
use crate::framing::Frames;
pub use crate::framing::Framing;
use crate::matcher::Matcher;
use crate::redact::{Redaction, Redactions};
use crate::template::{self, Piece, Syntax};

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name (the file stem unless given).
    pub name: String,
    /// Free text for reports.
    pub description: Option<String>,
    /// The file it came from.
    pub path: PathBuf,
    /// Bound on the whole run.
    pub timeout: Duration,
    /// Under `netlab test`, how many more times to run it when it fails (`None`: not said).
    pub retries: Option<u32>,
    /// Servers, in file order.
    pub servers: Vec<Server>,
    /// Clients, in file order.
    pub clients: Vec<Client>,
    /// What its transcript hides (`redact:`), in the order written.
    pub redact: Vec<Redaction>,
    /// What the file does that probably is not what its author meant (it runs all the same),
    /// with the file to show them in; `None` when there is nothing to say.
    pub warnings: Option<crate::diagnostic::Diagnostics>,
    /// For an exercise: the solutions `netlab lab` checks it with.
    pub solutions: Vec<Solution>,
}

/// Whose a step or a check is, by index in the scenario: a client's steps, or a server's
/// checks (`expect_connections`, `expect_messages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Client N's steps.
    Client(usize),
    /// Server N's checks.
    Server(usize),
}

/// A solution of an exercise, and how it must do (`solutions:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// The solution, resolved against the exercise's directory.
    pub path: PathBuf,
    /// Whether it must pass or fail.
    pub expect: SolutionExpect,
    /// Where it must fail (see `Scenario::failure_places`), if said.
    pub at: Option<String>,
}

/// A server to start.
#[derive(Debug, Clone)]
pub struct Server {
    /// Unique name.
    pub name: String,
    /// Transport.
    pub protocol: Protocol,
    /// Address to bind.
    pub bind: IpAddr,
    /// Port to bind (0: any free port).
    pub port: u16,
    /// listen() backlog.
    pub backlog: i32,
    /// Bytes asked of each recv().
    pub read_size: usize,
    /// One thread per connection, or one connection at a time.
    pub concurrency: Concurrency,
    /// How received bytes become messages.
    pub framing: Framing,
    /// Sent on accept.
    pub greeting: Option<std::sync::Arc<Vec<u8>>>,
    /// Default pause before a reply.
    pub delay: Option<Duration>,
    /// Reply rules, first match wins.
    pub rules: Vec<Rule>,
    /// The named groups of its rules' regexes (`(?P<user>…)`), by slot: usable as `{user}` in
    /// any rule's reply, each the last value matched on the connection.
    pub groups: Vec<String>,
    /// A program under test started in this server's place (`exec:`), if any.
    pub program: Option<ServerProgram>,
    /// Counts checked at the end of the run (a netlab server's).
    pub checks: Vec<ServerCheck>,
    /// Faults injected into its replies (none by default).
    pub faults: Faults,
    /// Served from outside the run at this `host:port` (`--target NAME=HOST:PORT`): nothing is
    /// started for it, and its clients connect there.
    pub outside: Option<String>,
    /// A proxy: it forwards what comes both ways to another server or address, with faults on
    /// each way, instead of answering by rules.
    pub proxy: Option<Proxy>,
    /// TLS: its certificate and what it asks of clients (`tls:`).
    pub tls: Option<ServerTls>,
}

/// The servers a connection to server `start` passes through: `start`, then the server each
/// proxy forwards to, in turn (no further than there are servers: a circle is cut). The one
/// walk of a chain of proxies.
pub fn proxy_chain(servers: &[Server], start: usize) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(Some(start), move |&at| match &servers.get(at)?.proxy {
        Some(Proxy {
            to: Target::Server(next),
            ..
        }) => Some(*next),
        _ => None,
    })
    .take(servers.len() + 1)
}

/// The server a client of server `index` talks to in the end: through any proxies, the server
/// they forward to (a proxy passes TLS through as bytes); `None` past an address, or where a
/// chain of proxies goes round in a circle.
pub fn reached_server(servers: &[Server], index: usize) -> Option<usize> {
    let last = proxy_chain(servers, index).last()?;
    servers
        .get(last)
        .filter(|s| s.proxy.is_none())
        .map(|_| last)
}

/// What a proxy server forwards to, and what goes wrong on each way through it.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    /// Where it forwards: a server of the scenario, or `host:port`.
    pub to: Target,
    /// Faults on what goes from its client to the upstream.
    pub to_upstream: Faults,
    /// Faults on what comes back from the upstream to its client.
    pub to_client: Faults,
}

impl Proxy {
    /// The faults of the way `way`.
    pub fn faults(&self, way: crate::event::Way) -> &Faults {
        match way {
            crate::event::Way::ToUpstream => &self.to_upstream,
            crate::event::Way::ToClient => &self.to_client,
        }
    }
}

/// `stall:` of a proxy's faults: forwarding one way stops for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// After this many bytes forwarded that way (0: from the start).
    pub after: u64,
    /// For this long; `None`: until the connection ends.
    pub duration: Option<Duration>,
}

/// Faults a netlab server injects, toxiproxy-style, for testing clients.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Extra pause before every write: fixed part.
    pub latency: Duration,
    /// Extra pause before every write: up to this much more, drawn from `seed`.
    pub jitter: Duration,
    /// Write replies this many bytes at a time (TCP).
    pub slice: Option<usize>,
    /// Pause between slices.
    pub slice_pause: Duration,
    /// At most this many bytes per second (TCP).
    pub bandwidth: Option<u64>,
    /// Close with a reset (RST) instead of a FIN (TCP).
    pub reset: bool,
    /// Close once this many bytes are sent on a connection (TCP).
    pub close_after: Option<u64>,
    /// Probability that a reply is lost (UDP).
    pub drop: f64,
    /// Probability that a reply is sent twice (UDP).
    pub duplicate: f64,
    /// Stop forwarding for a while (a proxy's).
    pub stall: Option<Stall>,
    /// Seed of the jitter and the probabilities.
    pub seed: u64,
}

impl Faults {
    /// True when no fault is set.
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }
}

/// A program under test: a command netlab starts and stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The command and its arguments as written: `{port}`, `{host}` (and for a client program
    /// `{client}`, `{instance}`) and the scenario's vars are filled in when it starts.
    pub argv: Vec<String>,
    /// The values of the scenario's `vars` (defaults, or `--var` from the command line).
    pub vars: std::sync::Arc<std::collections::BTreeMap<String, String>>,
    /// Where it runs: the scenario file's directory.
    pub dir: PathBuf,
}

impl Program {
    /// The command as the file wrote it, placeholders and all (for transcripts: no ports).
    pub fn shown(&self) -> String {
        self.argv.join(" ")
    }

    /// The command line to start, for a peer at `host` and `port`; `instance` names the client
    /// instance a client program runs as (`{client}`, `{instance}`).
    pub fn command_line(
        &self,
        host: &str,
        port: u16,
        instance: Option<(&str, u32)>,
        files: &TlsFiles,
    ) -> Result<Vec<String>, String> {
        let value = |name: &str| match (name, instance) {
            ("port", _) => Some(port.to_string()),
            ("host", _) => Some(host.to_string()),
            ("client", Some((label, _))) => Some(label.to_string()),
            ("instance", Some((_, index))) => Some(index.to_string()),
            (other, _) if TlsFiles::NAMES.contains(&other) => files.get(other).cloned(),
            (other, _) => self.vars.get(other).cloned(),
        };
        self.argv
            .iter()
            .map(|arg| {
                template::render(arg, Syntax::Text, &value).map_err(|name| {
                    match TlsFiles::NAMES.contains(&name.as_str()) {
                        true => format!("uses `{{{name}}}`, and the run has no such file: a certificate and key are made for a program in the place of a server with `tls:`, and for client programs"),
                        false => format!("unknown placeholder `{{{name}}}`"),
                    }
                })
            })
            .collect()
    }

    /// Whether its command line uses the run's TLS files (`{ca_file}`…).
    pub fn uses_tls_files(&self) -> bool {
        self.argv.iter().any(|arg| {
            template::names(arg, Syntax::Text)
                .iter()
                .any(|name| TlsFiles::NAMES.contains(&name.as_str()))
        })
    }
}

/// How a program under test serves in a server's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProgram {
    /// What to start.
    pub program: Program,
    /// UDP: how long to give it before it counts as ready (TCP: ready when it accepts).
    pub ready_after: Duration,
    /// How long it may take to become ready.
    pub ready_timeout: Duration,
    /// Whether its stdout and stderr go in the transcript.
    pub capture_output: bool,
    /// Advice shown when it never gets ready, or dies (for exercises).
    pub hint: Option<String>,
}

/// What a server counts for a check at the end of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Connections accepted (udp: senders heard from).
    Connections,
    /// Messages its rules saw, answered or not (udp: datagrams).
    Messages,
}

impl Counted {
    /// The key the check is written with.
    pub fn key(self) -> &'static str {
        match self {
            Counted::Connections => "expect_connections",
            Counted::Messages => "expect_messages",
        }
    }

    /// `count` of what is counted, over `protocol`, in words (`1 sender`, `3 datagrams`).
    pub fn words(self, protocol: Protocol, count: u64) -> String {
        let noun = match (self, protocol) {
            (Counted::Connections, Protocol::Tcp) => "connection",
            (Counted::Connections, Protocol::Udp) => "sender",
            (Counted::Messages, Protocol::Tcp) => "message",
            (Counted::Messages, Protocol::Udp) => "datagram",
        };
        let plural = if count == 1 { "" } else { "s" };
        format!("{count} {noun}{plural}")
    }
}

/// A count a netlab server checks at the end of the run (`expect_connections`,
/// `expect_messages`), graded like a client's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// What is counted.
    pub counted: Counted,
    /// At least this many.
    pub at_least: Option<u64>,
    /// At most this many.
    pub at_most: Option<u64>,
    /// Advice shown when it fails.
    pub hint: Option<String>,
    /// What it is worth.
    pub points: u32,
}

impl ServerCheck {
    /// Whether `count` is within the bounds.
    pub fn holds(&self, count: u64) -> bool {
        self.at_least.is_none_or(|least| count >= least)
            && self.at_most.is_none_or(|most| count <= most)
    }

    /// The check in words: `expect_messages at least 2, at most 4`.
    pub fn text(&self) -> String {
        let bounds = match (self.at_least, self.at_most) {
            (Some(least), Some(most)) if least == most => format!("exactly {least}"),
            (Some(least), Some(most)) => format!("at least {least}, at most {most}"),
            (Some(least), None) => format!("at least {least}"),
            (None, Some(most)) => format!("at most {most}"),
            (None, None) => "any".to_string(),
        };
        format!("{} {bounds}", self.counted.key())
    }
}

/// What a server does with one message: the first rule that matches it, and what that rule
/// makes of it (the reply's bytes are written to a buffer the caller reuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Index of the rule.
    pub rule: usize,
    /// Pause before replying (the rule's own, else the server's), as declared.
    pub delay: Option<Duration>,
    /// Whether the rule replies (the bytes, `{data}` filled in, are in the caller's buffer).
    pub replies: bool,
    /// Close the connection after the reply.
    pub close: bool,
    /// The rule's `lose_first` swallowed this message: no delay, no reply, no close.
    pub lost: bool,
    /// Why the rule's reply, as filled in for this message, cannot be sent (then `replies` is
    /// false): a tcp server ends the connection with it, a udp server sends nothing.
    pub unsendable: Option<Unsendable>,
}

/// Why a rule's reply, filled in for one message, is not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsendable {
    /// A header value of an `http` reply, filled in, holds a CR, LF or NUL: written raw, it
    /// would end the field there and make what follows another header, or the body.
    BrokenHeader {
        /// The header's name.
        name: String,
    },
    /// The body, filled in, cannot be one frame of the server's framing (too long for its
    /// length field, or it holds the delimiter): sent unframed, the client would read it as
    /// some other frame. Why.
    Unframable(String),
}

impl std::fmt::Display for Unsendable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsendable::BrokenHeader { name } => write!(
                f,
                "reply not sent: the `{name}` header's value, filled in, holds a CR, LF or NUL"
            ),
            Unsendable::Unframable(why) => write!(f, "reply not sent: {why}"),
        }
    }
}

impl Scenario {
    /// Whether what proxy `server` forwards is TLS (the server it reaches in the end speaks it,
    /// or a client that speaks it goes through it): its bytes are records that differ every
    /// run, not the conversation.
    pub fn proxy_carries_tls(&self, server: usize) -> bool {
        if self.servers.get(server).is_none_or(|s| s.proxy.is_none()) {
            return false;
        }
        let upstream_speaks_it = reached_server(&self.servers, server)
            .and_then(|reached| self.servers.get(reached))
            .is_some_and(|reached| reached.tls.is_some());
        // A client that speaks TLS through it (to an address outside the run, say).
        let through = |first: usize| proxy_chain(&self.servers, first).any(|at| at == server);
        let a_client_speaks_it = self.clients.iter().any(|client| {
            client.tls.is_some() && matches!(client.target, Target::Server(first) if through(first))
        });
        upstream_speaks_it || a_client_speaks_it
    }

    /// Every place a run can fail, as a solution's `at:` names it: `CLIENT.steps[N]` for each
    /// client step, `SERVER` for a program under test, `SERVER.expect_messages` for a check.
    pub fn failure_places(&self) -> Vec<String> {
        let steps = (self.clients.iter().enumerate())
            .flat_map(|(i, c)| (0..c.paths.len()).map(move |step| (Owner::Client(i), step)));
        let checks = (self.servers.iter().enumerate())
            .flat_map(|(i, s)| (0..s.checks.len()).map(move |check| (Owner::Server(i), check)));
        let programs = (self.servers.iter())
            .filter(|s| s.program.is_some())
            .map(|s| s.name.clone());
        (steps.chain(checks))
            .filter_map(|(owner, index)| self.place_name(owner, index))
            .chain(programs)
            .collect()
    }

    /// The name of step or check `index` of `owner` (see `failure_places`).
    pub fn place_name(&self, owner: Owner, index: usize) -> Option<String> {
        match owner {
            Owner::Client(client) => {
                let client = self.clients.get(client)?;
                Some(format!("{}.{}", client.name, client.paths.get(index)?))
            }
            Owner::Server(server) => {
                let server = self.servers.get(server)?;
                let check = server.checks.get(index)?;
                Some(format!("{}.{}", server.name, check.counted.key()))
            }
        }
    }

    /// Points the server `name` at `address` outside the run (`--target`): false if the
    /// scenario has no such server.
    pub fn point_at_outside(&mut self, name: &str, address: &str) -> bool {
        let Some(server) = self.servers.iter_mut().find(|s| s.name == name) else {
            return false;
        };
        server.outside = Some(address.to_string());
        true
    }

    /// What the transcript hides on a line of client `client`'s section (the scenario's
    /// `redact`, then the client's), or elsewhere (`None`: the scenario's alone).
    pub fn redactions(&self, client: Option<usize>) -> Redactions<'_> {
        let own = client
            .and_then(|c| self.clients.get(c))
            .map_or(&[][..], |c| &c.redact);
        Redactions::new(&self.redact, own)
    }
}

impl Server {
    /// Whether netlab itself serves it (not a program under test, not a server outside the run):
    /// then its side of every conversation is recorded.
    pub fn is_netlabs(&self) -> bool {
        self.program.is_none() && self.outside.is_none()
    }

    /// The answer to `message`, or `None` when no rule matches (the server stays silent); the
    /// reply's bytes replace what `reply` held. `conversation` is what the server remembers of
    /// this client (for `lose_first`, and the named groups of its rules' regexes); it is updated.
    ///
    /// `server_matched`: how many messages each rule matched on the whole server in this run,
    /// from any sender (for `lose_scope: server`); it is updated.
    pub fn answer(
        &self,
        message: &[u8],
        conversation: &mut Conversation,
        server_matched: &[AtomicU32],
        reply: &mut Vec<u8>,
    ) -> Option<Answer> {
        reply.clear();
        let (index, rule) = self.rules.iter().enumerate().find(|(_, rule)| {
            rule.matcher
                .as_ref()
                .is_none_or(|m| m.matches_whole(message))
        })?;
        let matched = &mut conversation.matched;
        matched.resize(self.rules.len(), 0);
        matched[index] = matched[index].saturating_add(1);
        let nth = match rule.lose_scope {
            LoseScope::Sender => matched[index],
            // Saturating: past 2^32 messages the count must not wrap to losing again.
            LoseScope::Server => server_matched.get(index).map_or(u32::MAX, |n| {
                let before = n
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                        Some(v.saturating_add(1))
                    })
                    .unwrap_or(u32::MAX);
                before.saturating_add(1)
            }),
        };
        if nth <= rule.lose_first {
            return Some(Answer {
                rule: index,
                delay: None,
                replies: false,
                close: false,
                lost: true,
                unsendable: None,
            });
        }
        if !self.groups.is_empty()
            && let Some(matcher) = &rule.matcher
        {
            conversation.captured.resize(self.groups.len(), None);
            matcher.remember_groups(message, &self.groups, &mut conversation.captured);
        }
        let unsendable = (rule.reply.as_ref()).and_then(|template| {
            template
                .render_into(message, &conversation.captured, reply)
                .err()
        });
        Some(Answer {
            rule: index,
            delay: rule.delay.or(self.delay),
            replies: rule.reply.is_some() && unsendable.is_none(),
            // A reply that cannot be sent ends the connection (`unsendable`), not the rule.
            close: rule.close && unsendable.is_none(),
            lost: false,
            unsendable,
        })
    }
}

/// What a server remembers of one connection (over UDP, of one sender).
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// Messages each rule matched so far (for `lose_first`).
    pub matched: Vec<u32>,
    /// The last value of each named group of the server's regexes (`Server::groups`), by slot.
    pub captured: Vec<Option<Vec<u8>>>,
}

/// One reply rule of a server.
#[derive(Debug, Clone)]
pub struct Rule {
    /// What a message must look like (`None`: anything).
    pub matcher: Option<Matcher>,
    /// What to send back.
    pub reply: Option<Reply>,
    /// This rule's delay, overriding the server's.
    pub delay: Option<Duration>,
    /// Close after replying.
    pub close: bool,
    /// The first N messages it matches (per client) are lost: no delay, no reply.
    pub lose_first: u32,
    /// Whose messages `lose_first` counts.
    pub lose_scope: LoseScope,
    /// Turn the connection to TLS after the reply (`starttls: true`).
    pub starttls: bool,
}

/// A reply: literal bytes, or text with `{data}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The pieces, in order.
    pub parts: Vec<ReplyPart>,
    /// Sent as one frame of the server's framing (`reply: { frame: … }`).
    pub frame: Option<Frames>,
    /// Sent as the body of an HTTP response with this head (`reply: { http: … }`), its
    /// Content-Length computed.
    pub http: Option<ReplyHead>,
}

/// The head of an HTTP response a rule writes: its status, and its header fields, each value
/// filled in as the body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyHead {
    /// The status code.
    pub status: u16,
    /// The header fields, in order of name: each value's pieces.
    pub headers: Vec<(String, Vec<ReplyPart>)>,
}

/// A piece of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyPart {
    /// These bytes.
    Literal(Vec<u8>),
    /// The message that was received.
    Data,
    /// The last value of a named group of the server's regexes on this connection
    /// (`Server::groups`, by slot): empty until one matched.
    Group(usize),
}

/// The most a UDP datagram carries over IPv4 (65,535 less the IP and UDP headers).
pub const MAX_DATAGRAM_PAYLOAD: u64 = 65_507;

impl Reply {
    /// The reply of a template's pieces: `{data}` is the message received; validation has
    /// filled in every other name.
    pub fn from_pieces(pieces: Vec<Piece>, groups: &[String]) -> Reply {
        Reply {
            parts: ReplyPart::of_pieces(pieces, groups),
            frame: None,
            http: None,
        }
    }

    /// Its bytes, if it is literal bytes alone (no `{data}`, no group).
    pub fn literal_only(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                ReplyPart::Literal(bytes) => out.extend_from_slice(bytes),
                ReplyPart::Data | ReplyPart::Group(_) => return None,
            }
        }
        Some(out)
    }

    /// How many bytes its literal parts hold (the least any reply it renders holds).
    pub fn literal_len(&self) -> u64 {
        self.parts
            .iter()
            .map(|part| match part {
                ReplyPart::Literal(bytes) => bytes.len() as u64,
                ReplyPart::Data | ReplyPart::Group(_) => 0,
            })
            .sum()
    }

    /// The bytes to send in answer to `message`, with the named groups remembered of this
    /// conversation (`captured`) in their places.
    pub fn render(
        &self,
        message: &[u8],
        captured: &[Option<Vec<u8>>],
    ) -> Result<Vec<u8>, Unsendable> {
        let mut out = Vec::new();
        self.render_into(message, captured, &mut out)?;
        Ok(out)
    }

    /// Appends the bytes to send in answer to `message` to `out`, with the named groups
    /// remembered of this conversation (`captured`) in their places; when they cannot be sent
    /// (an HTTP header value filled with a line break), appends nothing and says why.
    pub fn render_into(
        &self,
        message: &[u8],
        captured: &[Option<Vec<u8>>],
        out: &mut Vec<u8>,
    ) -> Result<(), Unsendable> {
        let start = out.len();
        ReplyPart::render(&self.parts, message, captured, out);
        if let Some(head) = &self.http {
            let mut headers = Vec::with_capacity(head.headers.len());
            for (name, parts) in &head.headers {
                let mut value = Vec::new();
                ReplyPart::render(parts, message, captured, &mut value);
                if crate::http::breaks_a_field_value(&value) {
                    out.truncate(start);
                    return Err(Unsendable::BrokenHeader { name: name.clone() });
                }
                headers.push((name.clone(), value));
            }
            let head = crate::http::response_head(head.status, &headers, out.len() - start);
            // The response to a HEAD request is its head alone, its Content-Length the one
            // the body would have had (RFC 9110 section 9.3.2).
            if crate::http::is_head_request(message) {
                out.truncate(start);
            }
            out.splice(start..start, head);
        }
        if let Some(frames) = &self.frame {
            // Never sent unframed: a client would read it as some other frame.
            let framed = frames.encode(&out[start..]).map_err(|why| {
                out.truncate(start);
                Unsendable::Unframable(why)
            })?;
            out.truncate(start);
            out.extend_from_slice(&framed);
        }
        Ok(())
    }
}

impl ReplyPart {
    /// The parts of a template's pieces: `{data}` is the message received, a named group of
    /// `groups` its last value; validation has filled in every other name.
    pub fn of_pieces(pieces: Vec<Piece>, groups: &[String]) -> Vec<ReplyPart> {
        pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => ReplyPart::Literal(text.into_bytes()),
                Piece::Name(name) => match groups.iter().position(|g| *g == name) {
                    Some(slot) if name != "data" => ReplyPart::Group(slot),
                    _ => ReplyPart::Data,
                },
            })
            .collect()
    }

    /// Appends `parts`, filled in for `message` and the groups `captured`, to `out`.
    fn render(
        parts: &[ReplyPart],
        message: &[u8],
        captured: &[Option<Vec<u8>>],
        out: &mut Vec<u8>,
    ) {
        for part in parts {
            match part {
                ReplyPart::Literal(bytes) => out.extend_from_slice(bytes),
                ReplyPart::Data => out.extend_from_slice(message),
                ReplyPart::Group(slot) => {
                    if let Some(Some(value)) = captured.get(*slot) {
                        out.extend_from_slice(value);
                    }
                }
            }
        }
    }
}

/// Bytes to send: held in memory, or a unit repeated and streamed (bulk data of any size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `unit` written `times` times over, without building the whole in memory.
    Repeat {
        /// What is repeated (not empty).
        unit: Vec<u8>,
        /// How many times.
        times: u64,
    },
    /// Bytes that use values captured by earlier steps: filled when the step runs
    /// (`Step::filled`), never sent as they are.
    Captured(Filled),
}

impl Payload {
    /// Its length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Payload::Bytes(bytes) => bytes.len() as u64,
            Payload::Repeat { unit, times } => (unit.len() as u64).saturating_mul(*times),
            Payload::Captured(filled) => filled.literal_len(),
        }
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes in memory (a `Repeat` is built: only for ones known to be small).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(bytes) => bytes.clone(),
            Payload::Repeat { unit, times } => unit.repeat(usize::try_from(*times).unwrap_or(0)),
            Payload::Captured(filled) => filled.template(),
        }
    }
}

/// Where a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A server of this scenario, by index.
    Server(usize),
    /// Any other peer, `host:port`.
    Address(String),
}

/// A client to run.
#[derive(Debug, Clone)]
pub struct Client {
    /// Unique name.
    pub name: String,
    /// Where it connects.
    pub target: Target,
    /// Transport.
    pub protocol: Protocol,
    /// Instances to run at once.
    pub count: u32,
    /// Wait before starting.
    pub start_after: Duration,
    /// Default timeout of the reading steps and of connect.
    pub timeout: Duration,
    /// What to do, in order. A `repeat` is followed by its body, so nested steps have their
    /// own index here too.
    pub steps: Vec<Step>,
    /// Where each step is in the file, as a field path under the client (`steps[2]`,
    /// `steps[1].repeat.steps[0]`), for messages.
    pub paths: Vec<String>,
    /// The line of the file where each step is written (a program's: its `exec`), 1-based; 0
    /// when it is not known.
    pub lines: Vec<usize>,
    /// Advice shown when a step fails, one per step (for exercises).
    pub hints: Vec<Option<String>>,
    /// What each step is worth when it passes in every instance (see `transcript::points`).
    pub points: Vec<u32>,
    /// Whether each step's expected bytes are kept out of every output (`hidden: true`).
    pub hidden: Vec<bool>,
    /// What the whole client is worth, earned when every step of every instance passed
    /// (`points:` on the client; `points` above is then unused).
    pub worth: Option<u32>,
    /// Most bytes a reading step may gather before it fails.
    pub max_received: usize,
    /// When its steps use `{client}` or `{instance}`: the steps and hints of instances 2, 3…
    /// (`steps` and `hints` are the first's); empty when every instance runs the same steps.
    pub later_instances: Vec<Script>,
    /// The names its steps capture (`capture:`), by slot: each instance keeps a value per slot.
    pub captures: Vec<String>,
    /// The frames its `frame` steps write and read: its own `framing:`, else its server's.
    pub frames: Option<Frames>,
    /// What its section of the transcript hides, after the scenario's `redact`.
    pub redact: Vec<Redaction>,
    /// TLS: whom it trusts, what it shows (`tls:`; a client of a TLS server speaks it too).
    pub tls: Option<ClientTls>,
}

/// The name of instance `instance` of the client `name` of which `count` run: `name#2` when
/// several run, else `name`.
pub fn instance_label(name: &str, count: u32, instance: u32) -> String {
    if count > 1 {
        format!("{name}#{instance}")
    } else {
        name.to_string()
    }
}

/// The steps and hints of one client instance whose steps differ from the first's.
#[derive(Debug, Clone)]
pub struct Script {
    /// Same shape as the client's `steps` (same kinds at the same indices), own bytes.
    pub steps: Vec<Step>,
    /// One per step.
    pub hints: Vec<Option<String>>,
}

impl Scenario {
    /// Keeps only the servers named in `names` and those the proxies among them forward to
    /// (which they need), their indices renumbered (`netlab serve --server`).
    pub fn keep_servers(&mut self, names: &[String]) {
        let mut kept: Vec<bool> = self
            .servers
            .iter()
            .map(|s| names.contains(&s.name))
            .collect();
        // Each round adds the upstreams of the proxies kept so far; a chain is at most as long
        // as the list.
        for _ in 0..self.servers.len() {
            for (index, server) in self.servers.iter().enumerate() {
                if let (
                    true,
                    Some(Proxy {
                        to: Target::Server(up),
                        ..
                    }),
                ) = (kept[index], &server.proxy)
                    && let Some(keep) = kept.get_mut(*up)
                {
                    *keep = true;
                }
            }
        }
        let mut renumbered = Vec::with_capacity(self.servers.len());
        let mut next = 0;
        for keep in &kept {
            renumbered.push(next);
            next += usize::from(*keep);
        }
        let mut index = 0;
        self.servers.retain(|_| {
            index += 1;
            kept[index - 1]
        });
        for server in &mut self.servers {
            if let Some(Proxy {
                to: Target::Server(up),
                ..
            }) = &mut server.proxy
            {
                *up = renumbered[*up];
            }
        }
    }

    /// Whether server `server` is a proxy whose upstream is a netlab server (a proxy too), which
    /// says what it accepts and reads.
    pub fn relays_to_netlab(&self, server: usize) -> bool {
        let upstream = self
            .servers
            .get(server)
            .and_then(|s| s.proxy.as_ref())
            .map(|proxy| &proxy.to);
        match upstream {
            Some(Target::Server(i)) => self.servers.get(*i).is_some_and(Server::is_netlabs),
            _ => false,
        }
    }

    /// Whether server `server` closes its side once its client closes: a netlab server does
    /// (when it has answered what came before); a proxy passes the close on, and so closes when
    /// its upstream does, which only a netlab server at the end of the chain promises.
    pub fn closes_after_its_clients(&self, server: usize) -> bool {
        let mut at = server;
        // A chain is at most as long as the list (circles are refused when loading).
        for _ in 0..=self.servers.len() {
            let Some(s) = self.servers.get(at) else {
                return false;
            };
            match &s.proxy {
                _ if !s.is_netlabs() => return false,
                None => return true,
                Some(Proxy {
                    to: Target::Server(next),
                    ..
                }) => at = *next,
                Some(_) => return false,
            }
        }
        false
    }
}

impl Server {
    /// The longest a netlab server may spend on one message before its next action: the
    /// longest delay of its rules, then its latency and jitter and a pause between slices.
    pub fn longest_pause(&self) -> Duration {
        let delay = self
            .rules
            .iter()
            .filter_map(|rule| rule.delay)
            .chain(self.delay)
            .max()
            .unwrap_or_default();
        let ways = match &self.proxy {
            Some(proxy) => vec![&proxy.to_upstream, &proxy.to_client],
            None => vec![&self.faults],
        };
        let faults = ways.into_iter().map(Faults::longest_pause).max();
        delay.saturating_add(faults.unwrap_or_default())
    }
}

impl Faults {
    /// The longest these faults hold one write back: latency and jitter, and a pause between
    /// slices or a throttled piece. (A proxy's stall is not counted: once the clients are done,
    /// a proxy holds nothing back.)
    pub fn longest_pause(&self) -> Duration {
        // A throttled reply goes out in pieces of a tenth of a second's worth, one byte at least.
        let throttle = self.bandwidth.map_or(Duration::ZERO, |rate| {
            Duration::from_secs_f64(1.0 / rate.max(1) as f64).max(Duration::from_millis(100))
        });
        self.latency
            .saturating_add(self.jitter)
            .saturating_add(self.slice_pause.max(throttle))
    }
}

impl Client {
    /// The name of its instance `instance` (1-based): `name#2` when several run, else `name`
    /// (`{client}` in its steps and command).
    pub fn instance_label(&self, instance: u32) -> String {
        instance_label(&self.name, self.count, instance)
    }

    /// The steps instance `instance` (1-based) runs: its own where they differ by instance.
    pub fn steps_of(&self, instance: u32) -> &[Step] {
        self.script_of(instance).map_or(&self.steps, |s| &s.steps)
    }

    /// The hints of the steps of instance `instance` (1-based).
    pub fn hints_of(&self, instance: u32) -> &[Option<String>] {
        self.script_of(instance).map_or(&self.hints, |s| &s.hints)
    }

    fn script_of(&self, instance: u32) -> Option<&Script> {
        let later = usize::try_from(instance).ok()?.checked_sub(2)?;
        self.later_instances.get(later)
    }

    /// Whether the client is a program under test (its first step runs it) rather than steps
    /// netlab takes itself.
    pub fn is_program(&self) -> bool {
        matches!(self.steps.first(), Some(Step::Run(_)))
    }

    /// The declared time a TLS handshake just before step `next` of `steps` (its instance's)
    /// may take: the `expect_tls_error` that is step `next`, with a timeout of its own (the
    /// failure it waits for is the handshake's), else the client's `timeout`.
    pub fn handshake_timeout(&self, steps: &[Step], next: usize) -> Duration {
        let own = match steps.get(next) {
            Some(step @ Step::ExpectTlsError { .. }) => step.own_timeout(),
            _ => None,
        };
        own.unwrap_or(self.timeout)
    }

    /// The program under test it runs, if it is one.
    pub fn program(&self) -> Option<&Program> {
        match self.steps.first() {
            Some(Step::Run(program)) => Some(program),
            _ => None,
        }
    }
}

/// One client step.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write all these bytes.
    Send(Payload),
    /// Read until the matcher is satisfied.
    Expect {
        /// What must arrive next.
        matcher: Matcher,
        /// This step's own timeout.
        timeout: Option<Duration>,
        /// Values saved from what it matched, for the instance's later steps.
        capture: Vec<Capture>,
    },
    /// The peer closes; nothing else arrives.
    ExpectClose {
        /// This step's own timeout.
        timeout: Option<Duration>,
    },
    /// The peer resets the connection (RST).
    ExpectReset {
        /// This step's own timeout.
        timeout: Option<Duration>,
    },
    /// Read until the peer closes and match everything.
    ReadToClose {
        /// What everything must look like.
        matcher: Matcher,
        /// This step's own timeout.
        timeout: Option<Duration>,
        /// Values saved from what it read.
        capture: Vec<Capture>,
    },
    /// Nothing arrives for this long.
    ExpectNothing(Duration),
    /// Pause.
    Sleep(Duration),
    /// Half-close (send FIN, keep reading).
    ShutdownWrite,
    /// Close the connection.
    Close,
    /// Turn the connection to TLS (a handshake, as the client's `tls:` says).
    StartTls,
    /// The TLS handshake fails, for this reason (the connect's or `starttls`'s handshake, or an
    /// alert the server sends right after it).
    ExpectTlsError {
        /// Why it must fail.
        kind: TlsErrorKind,
        /// This step's own timeout.
        timeout: Option<Duration>,
    },
    /// Run a program under test as the client, until it exits.
    Run(Program),
    /// The program ended with this exit code.
    ExpectExit(i32),
    /// The program's whole stdout matches.
    ExpectStdout(Matcher),
    /// Run the `body` steps that follow this one `times` times (they are the next `body`
    /// entries of the client's flat list of steps).
    Repeat {
        /// How many times.
        times: u64,
        /// How many of the following steps (nested ones included) form one time through.
        body: usize,
    },
}

impl Step {
    /// Whether the step checks what the program did, and so earns a point by default: what a
    /// silent program passes as well (`send`, `sleep`, `expect_nothing`…) does not.
    pub fn checks(&self) -> bool {
        matches!(
            self,
            Step::Expect { .. }
                | Step::ReadToClose { .. }
                | Step::ExpectClose { .. }
                | Step::ExpectReset { .. }
                | Step::ExpectTlsError { .. }
                | Step::ExpectExit(_)
                | Step::ExpectStdout(_)
        )
    }

    /// Whether the step reads from the peer (what it received on failure is the peer's bytes,
    /// not a program's output).
    pub fn reads(&self) -> bool {
        matches!(
            self,
            Step::Expect { .. }
                | Step::ReadToClose { .. }
                | Step::ExpectClose { .. }
                | Step::ExpectReset { .. }
                | Step::ExpectTlsError { .. }
                | Step::ExpectNothing(_)
        )
    }

    /// The YAML key of this step, for transcripts and messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Step::Send(_) => "send",
            Step::Expect { .. } => "expect",
            Step::ExpectClose { .. } => "expect_close",
            Step::ExpectReset { .. } => "expect_reset",
            Step::ReadToClose { .. } => "read_to_close",
            Step::ExpectNothing(_) => "expect_nothing",
            Step::Sleep(_) => "sleep",
            Step::ShutdownWrite => "shutdown",
            Step::Close => "close",
            Step::StartTls => "starttls",
            Step::ExpectTlsError { .. } => "expect_tls_error",
            Step::Run(_) => "exec",
            Step::ExpectExit(_) => "expect_exit",
            Step::ExpectStdout(_) => "expect_stdout",
            Step::Repeat { .. } => "repeat",
        }
    }

    /// The values this step saves from what it reads.
    pub fn captures(&self) -> &[Capture] {
        match self {
            Step::Expect { capture, .. } | Step::ReadToClose { capture, .. } => capture,
            _ => &[],
        }
    }

    /// Where this step's captures look in the bytes it matched (a frame's body, an HTTP
    /// body decoded), and where that part starts in them (`None`: it is not a range of them).
    pub fn captured_part<'b>(
        &self,
        matched: &'b [u8],
    ) -> (Option<usize>, std::borrow::Cow<'b, [u8]>) {
        match self {
            Step::Expect { matcher, .. } | Step::ReadToClose { matcher, .. } => {
                matcher.captured_part(matched)
            }
            _ => (Some(0), std::borrow::Cow::Borrowed(matched)),
        }
    }

    /// The text of this step that uses captured values, if one does.
    pub fn uses_captured(&self) -> Option<&Filled> {
        match self {
            Step::Send(Payload::Captured(filled)) => Some(filled),
            Step::Expect { matcher, .. } | Step::ReadToClose { matcher, .. } => {
                matcher.captured_template()
            }
            _ => None,
        }
    }

    /// This step with the values captured so far filled in, if it uses any; a regex that no
    /// longer compiles says why.
    pub fn filled(&self, values: &Values) -> Result<Option<Step>, String> {
        Ok(match self {
            Step::Send(Payload::Captured(filled)) => {
                Some(Step::Send(Payload::Bytes(filled.fill_payload(values)?)))
            }
            Step::Expect {
                matcher,
                timeout,
                capture,
            } => matcher.filled(values)?.map(|matcher| Step::Expect {
                matcher,
                timeout: *timeout,
                capture: capture.clone(),
            }),
            Step::ReadToClose {
                matcher,
                timeout,
                capture,
            } => matcher.filled(values)?.map(|matcher| Step::ReadToClose {
                matcher,
                timeout: *timeout,
                capture: capture.clone(),
            }),
            _ => None,
        })
    }

    /// The timeout this step was given, for the steps that take one of their own (the reading
    /// steps: `expect`, `expect_close`, `expect_reset`, `read_to_close`); `None` for the others,
    /// and for a reading step left to its client's timeout. The one place that says which steps
    /// take a timeout: validation refuses one elsewhere, planning and messages fall back to the
    /// client's.
    pub fn own_timeout(&self) -> Option<Duration> {
        match self {
            Step::Expect { timeout, .. }
            | Step::ExpectClose { timeout }
            | Step::ExpectReset { timeout }
            | Step::ExpectTlsError { timeout, .. }
            | Step::ReadToClose { timeout, .. } => *timeout,
            Step::Send(_)
            | Step::ExpectNothing(_)
            | Step::Sleep(_)
            | Step::ShutdownWrite
            | Step::StartTls
            | Step::Close
            | Step::Run(_)
            | Step::ExpectExit(_)
            | Step::ExpectStdout(_)
            | Step::Repeat { .. } => None,
        }
    }
}
