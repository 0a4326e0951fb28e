//! Validation: raw scenario → checked model. Every semantic rule of the format lives here (names
//! unique and resolvable, fields only where their protocol uses them, positive timeouts, payload
//! files readable…). It reports every problem it finds, each pointing at its key or value.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::Duration;

use super::model::{
    Client, MAX_DATAGRAM_PAYLOAD, Payload, Reply, ReplyPart, Rule, Scenario, Server, Step, Target,
};
use super::payload;
use super::positions::{Positions, join};
use super::programs::Vars;
use super::raw::{
    Framing, Protocol, RawAction, RawClient, RawDuration, RawMatcher, RawPayload, RawRule,
    RawScenario, RawServer, RawSize, RawStep,
};
use super::vars::{NeededVars, VarValues};
use crate::diagnostic::{Diagnostic, Severity, did_you_mean};
use crate::matcher::{Matcher, StreamRegex};
use crate::source::SourceFile;

/// Default bound on a whole scenario.
pub const DEFAULT_SCENARIO_TIMEOUT: Duration = Duration::from_secs(30);
/// Default timeout of connect and of the reading steps.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on the bytes one reading step gathers.
pub const DEFAULT_MAX_RECEIVED: usize = 16 << 20;
/// Default listen() backlog (what std uses).
pub const DEFAULT_BACKLOG: i32 = 128;
/// Default bytes per recv(), as in the tutorial.
pub const DEFAULT_READ_SIZE: usize = 1024;
const MAX_READ_SIZE: usize = 16 * 1024 * 1024;
const MAX_COUNT: u32 = 10_000;

/// Checks `raw` (parsed from `source`) and builds the scenario, or returns every problem found;
/// `vars` are values from the command line, `needed_vars` says whose vars must have one.
pub fn validate(
    raw: RawScenario,
    source: &SourceFile,
    positions: &Positions,
    vars: &VarValues,
    needed_vars: &NeededVars,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut checker = Checker {
        source,
        positions,
        needed_vars,
        problems: Vec::new(),
        warnings: Vec::new(),
        build_payloads: true,
        unset_vars: Vec::new(),
    };
    let mut scenario = checker.scenario(raw, vars);
    if checker.problems.is_empty() {
        // Only a valid scenario is looked at for warnings: every client's server is known.
        checker.warn_of_sends_a_chunk_server_may_join(&scenario);
        if !checker.warnings.is_empty() {
            scenario.warnings = Some(crate::diagnostic::Diagnostics {
                source: source.clone(),
                items: std::mem::take(&mut checker.warnings),
            });
        }
        Ok(scenario)
    } else {
        checker
            .problems
            .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        Err(checker.problems)
    }
}

/// Collects the problems of one file while building its model.
pub(super) struct Checker<'a> {
    pub(super) source: &'a SourceFile,
    positions: &'a Positions,
    /// Which programs need a value for each var they use.
    pub(super) needed_vars: &'a NeededVars,
    problems: Vec<Diagnostic>,
    /// What runs, but probably not as meant.
    warnings: Vec<Diagnostic>,
    /// False once the file's payloads are found over the per-file cap: none is built then.
    build_payloads: bool,
    /// Vars used without a value by programs that will start, as found.
    pub(super) unset_vars: Vec<String>,
}

impl Checker<'_> {
    fn value_span(&self, path: &str) -> Option<Range<usize>> {
        self.positions
            .value_offset(path)
            .map(|at| self.source.token_span(at))
    }

    fn key_span(&self, path: &str) -> Option<Range<usize>> {
        self.positions
            .key_offset(path)
            .map(|at| self.source.key_span(at))
    }

    /// Reports a problem with the value at `path`.
    pub(super) fn at_value(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.value_span(path);
        self.problems.push(Diagnostic::new(message, path, span));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// Warns about the value at `path`: the file runs, but probably not as meant.
    fn warn_at_value(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.value_span(path);
        let mut warning = Diagnostic::new(message, path, span);
        warning.severity = Severity::Warning;
        self.warnings.push(warning);
        let last = self.warnings.len() - 1;
        &mut self.warnings[last]
    }

    /// A server that takes one recv() result as one message (`framing: chunk`) and answers by
    /// rules, and a client that sends to it twice with nothing read between: the two sends may
    /// arrive as one message, or one as two, as timing decides, and the rules see that.
    fn warn_of_sends_a_chunk_server_may_join(&mut self, scenario: &Scenario) {
        for (index, client) in scenario.clients.iter().enumerate() {
            let Target::Server(server) = client.target else {
                continue;
            };
            let server = &scenario.servers[server];
            let joins = server.protocol == Protocol::Tcp
                && server.framing == Framing::Chunk
                && server.program.is_none()
                && !server.rules.is_empty();
            if !joins {
                continue;
            }
            let mut sent_since_a_read = false;
            for (step, path) in client.steps.iter().zip(&client.paths) {
                match step {
                    Step::Send(_) if sent_since_a_read => {
                        let path = format!("clients[{index}].{path}.send");
                        self.warn_at_value(
                            &path,
                            format!(
                                "a second send before anything is read: `{}` may receive both \
                                 as one message, or either in pieces, as timing decides",
                                server.name
                            ),
                        )
                        .add_help(
                            "give the server `framing: line` (and end each send with \\n), or \
                             `expect` its reply before sending again",
                        );
                    }
                    Step::Send(_) => sent_since_a_read = true,
                    Step::Expect { .. }
                    | Step::ExpectNothing(_)
                    | Step::ExpectClose { .. }
                    | Step::ExpectReset { .. }
                    | Step::ReadToClose { .. } => sent_since_a_read = false,
                    _ => {}
                }
            }
        }
    }

    /// Reports a problem with the key at `path` (a field that should not be there).
    pub(super) fn at_key(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.key_span(path);
        self.problems.push(Diagnostic::new(message, path, span));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    pub(super) fn positive(
        &mut self,
        path: &str,
        duration: Option<RawDuration>,
        default: Duration,
    ) -> Duration {
        match duration {
            Some(RawDuration(d)) if d.is_zero() => {
                self.at_value(path, "a timeout must be longer than zero");
                default
            }
            Some(RawDuration(d)) => d,
            None => default,
        }
    }

    fn scenario(&mut self, raw: RawScenario, given: &VarValues) -> Scenario {
        self.build_payloads = self.payloads_fit(&raw);
        let name = match raw.name {
            Some(name) => {
                self.check_name("name", &name);
                name
            }
            None => self.source.path.file_stem().map_or_else(
                || "scenario".to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        let timeout = self.positive("timeout", raw.timeout, DEFAULT_SCENARIO_TIMEOUT);
        if raw.servers.is_empty() && raw.clients.is_empty() {
            self.problems.push(
                Diagnostic::new("a scenario needs at least one server or client", "", None)
                    .with_help("add a `servers:` or `clients:` list"),
            );
        }
        let vars = self.vars(&raw.vars, given);
        let servers: Vec<Server> = raw
            .servers
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.server(&format!("servers[{i}]"), s, &vars))
            .collect();
        self.check_unique("servers", servers.iter().map(|s| s.name.as_str()), "server");
        let client_count = raw.clients.len();
        let clients: Vec<Client> = raw
            .clients
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                self.client(
                    &format!("clients[{i}]"),
                    i,
                    client_count,
                    c,
                    &servers,
                    &vars,
                )
            })
            .collect();
        self.report_unset_vars();
        self.check_unique("clients", clients.iter().map(|c| c.name.as_str()), "client");
        Scenario {
            name,
            description: raw.description,
            path: self.source.path.clone(),
            timeout,
            servers,
            clients,
            warnings: None,
        }
    }

    fn check_name(&mut self, path: &str, name: &str) {
        if name.is_empty() {
            self.at_value(path, "a name cannot be empty");
        } else if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            self.at_value(path, format!("`{bad}` is not allowed in a name"))
                .add_help("names use letters, digits, `_`, `-` and `.`");
        }
    }

    fn check_unique<'n>(&mut self, list: &str, names: impl Iterator<Item = &'n str>, what: &str) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, name) in names.enumerate() {
            if let Some(earlier) = first.get(name) {
                let path = format!("{list}[{i}].name");
                let message = format!("two {what}s are named `{name}`");
                let label = format!("{list}[{earlier}] already has this name");
                if self.positions.get(&path).is_some() {
                    self.at_value(&path, message).add_label(label);
                } else {
                    self.at_value(&format!("{list}[{i}]"), message)
                        .add_label(label)
                        .add_help(format!("give each {what} a `name:`"));
                }
            } else {
                first.insert(name, i);
            }
        }
    }

    fn server(&mut self, path: &str, mut raw: RawServer, vars: &Vars) -> Server {
        self.check_name(&join(path, "name"), &raw.name);
        let protocol = raw.protocol.unwrap_or(Protocol::Tcp);
        let program = self.server_program(path, &mut raw, protocol == Protocol::Udp, vars);
        let faults = self.faults(
            path,
            raw.faults.take(),
            protocol == Protocol::Udp,
            program.is_some(),
        );
        let bind = match raw.bind.as_deref() {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(text) => match text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                Ok(ip) => ip,
                Err(_) => {
                    let hint = if text == "localhost" {
                        "write `127.0.0.1` or `::1`: `localhost` may resolve to either"
                    } else {
                        "write an IP address such as `127.0.0.1`, `::1`, `0.0.0.0` or `::` (the port goes in `port:`)"
                    };
                    self.at_value(
                        &join(path, "bind"),
                        format!("`{text}` is not an IP address"),
                    )
                    .add_help(hint);
                    IpAddr::from([127, 0, 0, 1])
                }
            },
        };
        let backlog = match raw.backlog {
            Some(0) => {
                self.at_value(&join(path, "backlog"), "the backlog must be at least 1");
                1
            }
            Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
            None => DEFAULT_BACKLOG,
        };
        let read_size = match raw
            .read_size
            .map(|s| usize::try_from(s.0).unwrap_or(usize::MAX))
        {
            Some(0) => {
                self.at_value(
                    &join(path, "read_size"),
                    "`read_size` must be at least 1 byte",
                );
                1
            }
            Some(n) if n > MAX_READ_SIZE => {
                self.at_value(
                    &join(path, "read_size"),
                    format!("`read_size` is at most {MAX_READ_SIZE} bytes"),
                );
                MAX_READ_SIZE
            }
            Some(n) => n,
            None => DEFAULT_READ_SIZE,
        };
        if protocol == Protocol::Udp && program.is_none() {
            for (present, key) in [
                (raw.backlog.is_some(), "backlog"),
                (raw.concurrency.is_some(), "concurrency"),
                (raw.greeting.is_some(), "greeting"),
                (raw.framing.is_some(), "framing"),
            ] {
                if present {
                    self.at_key(
                        &join(path, key),
                        format!("`{key}` applies to tcp servers only"),
                    );
                }
            }
            for (i, rule) in raw.rules.iter().enumerate() {
                if rule.close == Some(true) {
                    self.at_key(
                        &format!("{path}.rules[{i}].close"),
                        "`close` applies to tcp servers only: a udp server has no connection to close",
                    );
                }
            }
        }
        let greeting = raw
            .greeting
            .map(|g| self.payload(&join(path, "greeting"), g).into());
        let rules: Vec<Rule> = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.rule(&format!("{path}.rules[{i}]"), r))
            .collect();
        if protocol == Protocol::Udp {
            for (i, rule) in rules.iter().enumerate() {
                // A reply is at least its literal text; `{data}` adds what came (checked then).
                let least = rule.reply.as_ref().map_or(0, Reply::literal_len);
                if least > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&format!("{path}.rules[{i}].reply"), least);
                }
            }
        }
        Server {
            name: raw.name,
            protocol,
            bind,
            port: raw.port.unwrap_or(0),
            backlog,
            read_size,
            concurrency: raw.concurrency.unwrap_or_default(),
            framing: raw.framing.unwrap_or_default(),
            greeting,
            delay: raw.delay.map(|d| d.0),
            rules,
            faults,
            program,
        }
    }

    fn rule(&mut self, path: &str, raw: RawRule) -> Rule {
        let reply = raw.reply.map(|payload| {
            let reply_path = join(path, "reply");
            match payload {
                RawPayload::Text(text) => match payload::parse_template(&text) {
                    Ok(reply) => reply,
                    Err(message) => {
                        self.at_value(&reply_path, message)
                            .add_help("`{data}` is the message received; write `{{` and `}}` for literal braces");
                        Reply { parts: Vec::new() }
                    }
                },
                other => Reply {
                    parts: vec![ReplyPart::Literal(self.payload(&reply_path, other))],
                },
            }
        });
        Rule {
            matcher: raw.matcher.map(matcher),
            reply,
            delay: raw.delay.map(|d| d.0),
            close: raw.close.unwrap_or(false),
            lose_first: raw.lose_first.unwrap_or(0),
        }
    }

    fn client(
        &mut self,
        path: &str,
        index: usize,
        total: usize,
        mut raw: RawClient,
        servers: &[Server],
        vars: &Vars,
    ) -> Client {
        let program_steps = self.client_program(path, &mut raw, vars);
        let name = match raw.name {
            Some(name) => {
                self.check_name(&join(path, "name"), &name);
                name
            }
            None if total == 1 => "client".to_string(),
            None => format!("client{}", index + 1),
        };
        let connect_path = join(path, "connect");
        let target = if let Some(i) = servers.iter().position(|s| s.name == raw.connect) {
            Target::Server(i)
        } else if address_shape(&raw.connect) == AddressShape::Valid {
            Target::Address(raw.connect.clone())
        } else if address_shape(&raw.connect) == AddressShape::BadPort {
            self.at_value(
                &connect_path,
                format!(
                    "cannot connect to `{}`: the port must be 1 to 65535",
                    raw.connect
                ),
            );
            Target::Address(raw.connect.clone())
        } else {
            let guess = did_you_mean(&raw.connect, servers.iter().map(|s| s.name.as_str()));
            let known: Vec<String> = servers.iter().map(|s| format!("`{}`", s.name)).collect();
            let diagnostic = self.at_value(
                &connect_path,
                format!("unknown server `{}` in `connect`", raw.connect),
            );
            if let Some(guess) = guess {
                diagnostic.label = Some(format!("did you mean `{guess}`?"));
            }
            diagnostic.help = Some(if known.is_empty() {
                "no server is declared: `connect` takes a server's name or `host:port`".to_string()
            } else {
                format!(
                    "`connect` takes a server's name ({}) or `host:port`",
                    known.join(", ")
                )
            });
            Target::Server(0)
        };
        let server_protocol = match &target {
            Target::Server(i) => {
                if raw.protocol.is_some() {
                    self.at_key(
                        &join(path, "protocol"),
                        "`protocol` is only for clients that `connect` to an address",
                    )
                    .add_help("a client of a named server uses that server's protocol");
                }
                Some(servers.get(*i).map_or(Protocol::Tcp, |s| s.protocol))
            }
            Target::Address(_) => None,
        };
        let protocol = client_protocol(server_protocol, raw.protocol);
        let count = match raw.count {
            Some(0) => {
                self.at_value(&join(path, "count"), "`count` must be at least 1");
                1
            }
            Some(n) if n > MAX_COUNT => {
                self.at_value(
                    &join(path, "count"),
                    format!("`count` is at most {MAX_COUNT}"),
                );
                MAX_COUNT
            }
            Some(n) => n,
            None => 1,
        };
        let timeout = self.positive(&join(path, "timeout"), raw.timeout, DEFAULT_STEP_TIMEOUT);
        let (steps, paths, hints) = match program_steps {
            Some(steps) => {
                let hints = vec![raw.hint.clone(); steps.len()];
                let paths = (0..steps.len()).map(|i| format!("exec ({i})")).collect();
                (steps, paths, hints)
            }
            None => {
                if raw.hint.is_some() {
                    self.at_key(
                        &join(path, "hint"),
                        "a client's `hint` is for a program under test (`exec:`)",
                    )
                    .add_help("put `hint:` beside the step it explains");
                }
                let mut flat = FlatSteps::default();
                self.steps(path, "steps", raw.steps, protocol, &mut flat);
                (flat.steps, flat.paths, flat.hints)
            }
        };
        Client {
            name,
            target,
            protocol,
            count,
            start_after: raw.start_after.map_or(Duration::ZERO, |d| d.0),
            timeout,
            steps,
            paths,
            hints,
            max_received: match raw.max_received {
                Some(RawSize(0)) => {
                    self.at_value(
                        &join(path, "max_received"),
                        "`max_received` must be at least 1 byte",
                    );
                    DEFAULT_MAX_RECEIVED
                }
                Some(RawSize(n)) => usize::try_from(n).unwrap_or(usize::MAX),
                None => DEFAULT_MAX_RECEIVED,
            },
        }
    }

    /// Checks `raw` steps (at `client_path`.`under`) and appends them to `flat`, each `repeat`
    /// followed by its body.
    fn steps(
        &mut self,
        client_path: &str,
        under: &str,
        raw: Vec<RawStep>,
        protocol: Protocol,
        flat: &mut FlatSteps,
    ) {
        for (i, mut step) in raw.into_iter().enumerate() {
            let relative = format!("{under}[{i}]");
            let path = format!("{client_path}.{relative}");
            flat.hints.push(step.hint.take());
            flat.paths.push(relative.clone());
            let RawAction::Repeat(repeat) = step.action else {
                flat.steps.push(self.step(&path, step, protocol));
                continue;
            };
            if step.timeout.is_some() {
                self.at_key(
                    &join(&path, "timeout"),
                    "`timeout` does not apply to `repeat`",
                )
                .add_help("put `timeout:` on the steps inside it");
            }
            let repeat_path = join(&path, "repeat");
            if repeat.times == 0 {
                self.at_value(&join(&repeat_path, "times"), "`times` must be at least 1");
            }
            if repeat.steps.is_empty() {
                self.at_value(
                    &join(&repeat_path, "steps"),
                    "a `repeat` needs at least one step",
                );
            }
            let at = flat.steps.len();
            flat.steps.push(Step::Repeat {
                times: repeat.times.max(1),
                body: 0,
            });
            self.steps(
                client_path,
                &format!("{relative}.repeat.steps"),
                repeat.steps,
                protocol,
                flat,
            );
            let body = flat.steps.len() - at - 1;
            flat.steps[at] = Step::Repeat {
                times: repeat.times.max(1),
                body,
            };
        }
    }

    fn step(&mut self, path: &str, raw: RawStep, protocol: Protocol) -> Step {
        let action_path = join(path, raw.key);
        let stream_only = matches!(
            raw.action,
            RawAction::ExpectClose(_)
                | RawAction::ExpectReset(_)
                | RawAction::ReadToClose(_)
                | RawAction::Shutdown(_)
        );
        if protocol == Protocol::Udp && stream_only {
            self.at_key(
                &action_path,
                format!("`{}` applies to tcp clients only", raw.key),
            )
            .add_help("udp has no connection to close: use `expect_nothing` to check for silence");
        }
        let reads = matches!(
            raw.action,
            RawAction::Expect(_)
                | RawAction::ExpectClose(_)
                | RawAction::ExpectReset(_)
                | RawAction::ReadToClose(_)
        );
        if raw.timeout.is_some() && !reads {
            self.at_key(
                &join(path, "timeout"),
                format!("`timeout` does not apply to `{}`", raw.key),
            )
            .add_help("only `expect`, `expect_close` and `read_to_close` take a `timeout`");
        }
        let timeout = raw
            .timeout
            .map(|t| self.positive(&join(path, "timeout"), Some(t), DEFAULT_STEP_TIMEOUT));
        match raw.action {
            RawAction::Send(payload) => {
                let payload = self.send_payload(&action_path, payload, protocol);
                if protocol == Protocol::Udp && payload.len() > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&action_path, payload.len());
                }
                Step::Send(payload)
            }
            RawAction::Expect(m) => Step::Expect {
                matcher: matcher(m),
                timeout,
            },
            RawAction::ExpectClose(flag) => {
                if !flag {
                    self.at_value(&action_path, "`expect_close` takes `true`")
                        .add_help("remove the step if the connection may stay open");
                }
                Step::ExpectClose { timeout }
            }
            RawAction::ExpectReset(flag) => {
                if !flag {
                    self.at_value(&action_path, "`expect_reset` takes `true`")
                        .add_help("remove the step if the connection may stay open");
                }
                Step::ExpectReset { timeout }
            }
            RawAction::ReadToClose(m) => Step::ReadToClose {
                matcher: matcher(m),
                timeout,
            },
            RawAction::ExpectNothing(d) => {
                if d.0.is_zero() {
                    self.at_value(
                        &action_path,
                        "`expect_nothing` needs a duration longer than zero",
                    );
                }
                Step::ExpectNothing(d.0)
            }
            RawAction::Sleep(d) => Step::Sleep(d.0),
            RawAction::Shutdown(_) => Step::ShutdownWrite,
            RawAction::Close(flag) => {
                if !flag {
                    self.at_value(&action_path, "`close` takes `true`")
                        .add_help("remove the step to keep the connection open");
                }
                Step::Close
            }
            // `steps` takes repeats apart before calling this.
            RawAction::Repeat(_) => Step::Close,
        }
    }

    /// A `send` payload: a large `repeat` over TCP is streamed rather than built in memory.
    fn send_payload(&mut self, path: &str, raw: RawPayload, protocol: Protocol) -> Payload {
        if let RawPayload::Repeat { text, times } = &raw
            && protocol == Protocol::Tcp
            && payload::streams(&raw)
        {
            return Payload::Repeat {
                unit: text.as_bytes().to_vec(),
                times: *times,
            };
        }
        Payload::Bytes(self.payload(path, raw))
    }

    /// A UDP payload that no datagram can carry.
    fn too_large_for_a_datagram(&mut self, path: &str, len: u64) {
        self.at_value(
            path,
            format!("a udp datagram carries at most {MAX_DATAGRAM_PAYLOAD} bytes; this is {len}"),
        )
        .add_help("split it into several sends, or use tcp for a stream of bytes");
    }

    fn payload(&mut self, path: &str, raw: RawPayload) -> Vec<u8> {
        if !self.build_payloads {
            return Vec::new();
        }
        match payload::resolve(raw, self.source.base_dir()) {
            Ok(bytes) => bytes,
            Err(problem) => {
                let diagnostic = self.at_value(&join(path, problem.field), problem.message);
                if let Some(help) = problem.help {
                    diagnostic.add_help(help);
                }
                Vec::new()
            }
        }
    }
}

/// A client's steps as they are run: flat, each `repeat` followed by its body.
#[derive(Default)]
struct FlatSteps {
    steps: Vec<Step>,
    paths: Vec<String>,
    hints: Vec<Option<String>>,
}

/// The protocol of a client: its server's (`server`), else for an address the one it wrote,
/// else tcp.
pub(super) fn client_protocol(server: Option<Protocol>, written: Option<Protocol>) -> Protocol {
    server.or(written).unwrap_or(Protocol::Tcp)
}

/// The checked form of a matcher as written.
pub(super) fn matcher(raw: RawMatcher) -> Matcher {
    match raw {
        RawMatcher::Equals(bytes) => Matcher::Equals { bytes, hex: false },
        RawMatcher::Hex(bytes) => Matcher::Equals { bytes, hex: true },
        RawMatcher::Contains(bytes) => Matcher::Contains(bytes),
        RawMatcher::Regex(regex) => Matcher::Regex(StreamRegex::new(regex)),
        RawMatcher::Bytes(n) => Matcher::Bytes(n),
    }
}

/// What a `connect` value that is not a server name looks like.
#[derive(Debug, PartialEq, Eq)]
enum AddressShape {
    /// `host:port` or `[v6]:port` with a usable port.
    Valid,
    /// Looks like an address but cannot be dialled (port 0 or out of range).
    BadPort,
    /// Not an address: a (misspelt?) server name.
    NotAnAddress,
}

fn address_shape(text: &str) -> AddressShape {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return if addr.port() == 0 {
            AddressShape::BadPort
        } else {
            AddressShape::Valid
        };
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return AddressShape::NotAnAddress;
    };
    let host_ok = !host.is_empty()
        && !host.contains(':')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']'));
    if !host_ok || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
        return AddressShape::NotAnAddress;
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => AddressShape::Valid,
        _ => AddressShape::BadPort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of an unknown server in a file without servers panicked (index out of bounds)
    /// in the warnings pass instead of being refused.
    #[test]
    fn an_unknown_server_in_a_file_without_servers_is_refused_not_a_panic() {
        let text = "clients:\n  - connect: nowhere\n    steps:\n      - send: a\n";
        let Err(problems) = crate::scenario::load_source(SourceFile::new("x.yaml", text)) else {
            panic!("a client of an unknown server was accepted");
        };
        let messages: Vec<&str> = problems.items.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["unknown server `nowhere` in `connect`"]);
    }

    #[test]
    fn addresses_are_told_from_names() {
        assert_eq!(address_shape("127.0.0.1:9999"), AddressShape::Valid);
        assert_eq!(address_shape("[::1]:80"), AddressShape::Valid);
        assert_eq!(address_shape("localhost:8080"), AddressShape::Valid);
        assert_eq!(address_shape("hello"), AddressShape::NotAnAddress);
        assert_eq!(address_shape("host:port"), AddressShape::NotAnAddress);
        assert_eq!(address_shape("127.0.0.1:0"), AddressShape::BadPort);
        assert_eq!(address_shape("localhost:70000"), AddressShape::BadPort);
    }
}
