//! A client as written → a checked client: its name, where it connects (a server of the file
//! or an address) and so its protocol, how many run, its timeouts and limits, and its steps or
//! its program (checked in `steps` and `programs`).

use std::net::SocketAddr;
use std::time::Duration;

use super::captures::Captures;
use super::checker::{Checker, Side};
use super::fields::Unit;
use super::steps::FlatSteps;
use super::templates::{Instance, Scope, names_an_instance};
use crate::diagnostic::did_you_mean;
use crate::framing::Frames;
use crate::scenario::model::{
    Client, Script, Server, Step, Target, instance_label, reached_server,
};
use crate::scenario::positions::join;
use crate::scenario::raw::{
    Protocol, RawAction, RawClient, RawFraming, RawMatcher, RawPayload, RawSize, RawStep,
};
use crate::template::Syntax;

/// Default timeout of connect and of the reading steps.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on the bytes one reading step gathers.
pub const DEFAULT_MAX_RECEIVED: usize = 16 << 20;
const MAX_COUNT: u32 = 10_000;

impl Checker<'_> {
    /// The checked client written at `path`, named `name`; `None` when its `connect` names no
    /// server of the file (that is reported; the rest of it is checked all the same).
    pub(super) fn client(
        &mut self,
        path: &str,
        name: String,
        mut raw: RawClient,
        servers: &[Server],
    ) -> Option<Client> {
        self.side = Side::Client;
        self.values_needed = self.needed_vars.of_clients();
        if raw.name.is_some() {
            self.check_name(&join(path, "name"), &name);
        }
        let connect_path = join(path, "connect");
        let connect = self.fill(&connect_path, &raw.connect, Syntax::Text, Scope::Shared);
        let connect_by_var = connect != raw.connect;
        let target = if self.lacks_a_value(&raw.connect) {
            // Where it leads is known once the var is given (`check` checks without it; any
            // other command reports the var).
            Some(Target::Address(connect))
        } else {
            self.target(&connect_path, "connect", &connect, servers)
        };
        let server_protocol = match &target {
            Some(Target::Address(_)) => None,
            named => {
                // A name that is no server's is checked as if it were the first server's.
                let server = match named {
                    Some(Target::Server(i)) => servers.get(*i),
                    _ => servers.first(),
                };
                let protocol = server.map_or(Protocol::Tcp, |s| s.protocol);
                // Where `connect` is a var that names a server here and an address elsewhere
                // (a recorded scenario's `{upstream}`), the protocol it says for the address
                // may stay, if it is the server's.
                let by_var = connect_by_var && raw.protocol == Some(protocol);
                self.refuse_fields(
                    path,
                    &[(raw.protocol.is_some() && !by_var, "protocol")],
                    "is only for clients that `connect` to an address",
                    Some("a client of a named server uses that server's protocol"),
                );
                Some(protocol)
            }
        };
        let protocol = client_protocol(server_protocol, raw.protocol);
        let count = raw.count.map_or(1, |n| {
            let count_path = join(path, "count");
            let n = self.within_one_to(
                &count_path,
                "`count`",
                n.into(),
                MAX_COUNT.into(),
                Unit::Plain,
            );
            u32::try_from(n).unwrap_or(MAX_COUNT)
        });
        let timeout = self.positive(&join(path, "timeout"), raw.timeout, DEFAULT_STEP_TIMEOUT);
        let redact = self.redactions(&join(path, "redact"), std::mem::take(&mut raw.redact));
        // Instances whose steps differ (`{instance}`) are built one by one, from copies of
        // what was written, once the first is right; the first later one that is wrong (a
        // regex its value breaks, a datagram it makes too long) is reported, and building stops.
        let varies = count > 1 && uses_instance_names(&raw);
        let varied_regexes = if varies { varied_regexes(&raw) } else { 0 };
        let later_raw = if varies { Some(raw.clone()) } else { None };
        let max_received_raw = raw.max_received;
        let start_after = raw.start_after;
        self.instance = Some(Instance {
            label: instance_label(&name, count, 1),
            index: 1,
        });
        let max_received = max_received_raw.map_or(DEFAULT_MAX_RECEIVED, |RawSize(n)| {
            let max_path = join(path, "max_received");
            let n = self.within_one_to(&max_path, "`max_received`", n, u64::MAX, Unit::Bytes);
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        self.max_received = max_received;
        self.captures = Captures::default();
        self.client_worth = raw.points.map(|p| p.0);
        let program = raw.exec.is_some();
        let raw_tls = raw.tls.take();
        self.frames = self.client_frames(path, raw.framing.take(), target.as_ref(), servers);
        let (
            FlatSteps {
                steps,
                paths,
                hints,
                points,
                hidden,
            },
            first_problems,
        ) = self.holding_problems(|checker| checker.script(path, raw, protocol));
        let captures = std::mem::take(&mut self.captures).known;
        let first_is_right = first_problems.is_empty();
        self.report_held(first_problems);
        let mut later_instances = Vec::new();
        let regexes = u64::from(count - 1) * varied_regexes;
        if let Some(raw) = later_raw.filter(|_| first_is_right && self.build_payloads)
            && self.room_for_varied_regexes(path, regexes)
        {
            for index in 2..=count {
                self.instance = Some(Instance {
                    label: instance_label(&name, count, index),
                    index,
                });
                let (FlatSteps { steps, hints, .. }, mut problems) =
                    self.holding_problems(|checker| checker.script(path, raw.clone(), protocol));
                if !problems.is_empty() {
                    for problem in &mut problems {
                        let label = format!("with {{instance}} = {index}");
                        problem.label = Some(match problem.label.take() {
                            Some(earlier) => format!("{earlier} ({label})"),
                            None => label,
                        });
                    }
                    self.report_held(problems);
                    break;
                }
                later_instances.push(Script { steps, hints });
            }
        }
        self.instance = None;
        self.captures = Captures::default();
        let worth = self.client_worth.take();
        let reached = match &target {
            Some(Target::Server(i)) => reached_server(servers, *i).and_then(|r| servers.get(r)),
            _ => None,
        };
        let tls = self.client_tls(
            path,
            raw_tls,
            (reached, protocol == Protocol::Udp, program),
            &steps,
            &paths,
        );
        let hidden = hidden_with_their_values(&steps, hidden);
        let frames = self.frames.take();
        let lines = paths
            .iter()
            .map(|relative| {
                let written = if program { "exec" } else { relative.as_str() };
                self.line_of(&join(path, written))
            })
            .collect();
        Some(Client {
            name,
            target: target?,
            protocol,
            count,
            start_after: start_after.map_or(Duration::ZERO, |d| d.0),
            timeout,
            steps,
            paths,
            lines,
            hints,
            points,
            hidden,
            worth,
            max_received,
            later_instances,
            captures,
            frames,
            redact,
            tls,
        })
    }

    /// The steps, their paths and hints of the client written at `path`, for the instance being
    /// built: its program's, or the steps it takes.
    fn script(&mut self, path: &str, mut raw: RawClient, protocol: Protocol) -> FlatSteps {
        if let Some(steps) = self.client_program(path, &mut raw) {
            let hint = raw
                .hint
                .map(|h| self.fill_built(&join(path, "hint"), &h, Syntax::Text, Scope::Instance));
            let hints = vec![hint; steps.len()];
            // Named by the key each check is written with (`student.expect_exit` in a lab's
            // `at:`, `FAILED at expect_exit` in the transcript).
            let paths = steps.iter().map(|s| s.keyword().to_string()).collect();
            let points = steps.iter().map(|s| u32::from(s.checks())).collect();
            let hidden = vec![false; steps.len()];
            return FlatSteps {
                steps,
                paths,
                hints,
                points,
                hidden,
            };
        }
        if raw.hint.is_some() {
            self.at_key(
                &join(path, "hint"),
                "a client's `hint` is for a program under test (`exec:`)",
            )
            .add_help("put `hint:` beside the step it explains");
        }
        let mut flat = FlatSteps::default();
        self.captures = Captures::of(&raw.steps);
        self.steps(path, "steps", raw.steps, protocol, &mut flat);
        flat
    }

    /// The frames the client at `path` writes and reads with `frame`: its own `framing`
    /// (a length prefix or a delimiter), else its server's, if that server frames.
    fn client_frames(
        &mut self,
        path: &str,
        written: Option<RawFraming>,
        target: Option<&Target>,
        servers: &[Server],
    ) -> Option<Frames> {
        if let Some(written) = written {
            let at = join(path, "framing");
            let framing = self.framing(&at, written);
            if matches!(framing.frames(), None | Some(Frames::HttpRequests)) {
                self.at_value(
                    &at,
                    "a client's `framing` is a length prefix or a delimiter (`chunk`, `line` and `http` are a server's)",
                )
                .add_help("`framing: { length: u16be }` or `framing: { delimiter: \"\\r\\n\" }`; a client reads an HTTP response with `expect: { http: … }`");
                return None;
            }
            return framing.frames().cloned();
        }
        match target {
            Some(Target::Server(i)) => servers.get(*i).and_then(|s| s.framing.frames().cloned()),
            _ => None,
        }
    }

    /// Where the `connect` value `connect` (at `path`, a `field` named so) leads: a server of
    /// the file, or an address; `None`, reported, when it is neither.
    pub(super) fn target(
        &mut self,
        path: &str,
        field: &str,
        connect: &str,
        servers: &[Server],
    ) -> Option<Target> {
        if let Some(i) = servers.iter().position(|s| s.name == connect) {
            return Some(Target::Server(i));
        }
        match address_shape(connect) {
            AddressShape::Valid => return Some(Target::Address(connect.to_string())),
            AddressShape::BadPort => {
                self.at_value(
                    path,
                    format!("cannot connect to `{connect}`: the port must be 1 to 65535"),
                );
                return Some(Target::Address(connect.to_string()));
            }
            AddressShape::NotAnAddress => {}
        }
        let guess = did_you_mean(connect, servers.iter().map(|s| s.name.as_str()));
        let known: Vec<String> = servers.iter().map(|s| format!("`{}`", s.name)).collect();
        let diagnostic = self.at_value(path, format!("unknown server `{connect}` in `{field}`"));
        if let Some(guess) = guess {
            diagnostic.label = Some(format!("did you mean `{guess}`?"));
        }
        diagnostic.help = Some(if known.is_empty() {
            format!("no server is declared: `{field}` takes a server's name or `host:port`")
        } else {
            format!(
                "`{field}` takes a server's name ({}) or `host:port`",
                known.join(", ")
            )
        });
        None
    }
}

/// `hidden`, with every step that uses a value a hidden step captured hidden too: its bytes
/// (a send, an expected text) would show the value.
fn hidden_with_their_values(steps: &[Step], mut hidden: Vec<bool>) -> Vec<bool> {
    let mut secret_slots = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        if hidden.get(index).copied().unwrap_or(false) {
            secret_slots.extend(step.captures().iter().map(|c| c.slot));
        } else if let Some(filled) = step.uses_captured()
            && filled
                .values_used()
                .iter()
                .any(|(slot, _)| secret_slots.contains(slot))
        {
            if let Some(hide) = hidden.get_mut(index) {
                *hide = true;
            }
            // What it captures in turn came through a hidden value's step.
            secret_slots.extend(step.captures().iter().map(|c| c.slot));
        }
    }
    hidden
}

/// Whether the steps, hints or checks of `raw` use `{client}` or `{instance}`.
pub(super) fn uses_instance_names(raw: &RawClient) -> bool {
    let mut texts: Vec<(&str, Syntax)> = Vec::new();
    texts.extend(raw.hint.as_deref().map(|h| (h, Syntax::Text)));
    texts.extend(
        raw.exec
            .iter()
            .flatten()
            .map(|a| (a.as_str(), Syntax::Text)),
    );
    if let Some(m) = &raw.expect_stdout {
        matcher_texts(m, &mut texts);
    }
    step_texts(&raw.steps, &mut texts);
    names_an_instance(texts)
}

/// How many of the regexes of `raw` use `{client}` or `{instance}`: each is compiled again for
/// every instance.
fn varied_regexes(raw: &RawClient) -> u64 {
    let mut texts: Vec<(&str, Syntax)> = Vec::new();
    if let Some(m) = &raw.expect_stdout {
        matcher_texts(m, &mut texts);
    }
    step_texts(&raw.steps, &mut texts);
    texts
        .into_iter()
        .filter(|&(text, syntax)| syntax == Syntax::Regex && names_an_instance([(text, syntax)]))
        .count() as u64
}

/// The templates of `steps` (nested ones too), appended to `texts`.
fn step_texts<'t>(steps: &'t [RawStep], texts: &mut Vec<(&'t str, Syntax)>) {
    for step in steps {
        texts.extend(step.hint.as_deref().map(|h| (h, Syntax::Text)));
        match &step.action {
            RawAction::Send(payload) => {
                if let RawPayload::Text(text) | RawPayload::Repeat { text, .. } = payload.unframed()
                {
                    texts.push((text, Syntax::Text));
                }
            }
            RawAction::Expect(m) | RawAction::ReadToClose(m) => matcher_texts(m, texts),
            RawAction::Repeat(repeat) => step_texts(&repeat.steps, texts),
            _ => {}
        }
    }
}

/// The templates of a matcher (those inside `frame` and `http` too), appended to `texts`.
pub(super) fn matcher_texts<'t>(m: &'t RawMatcher, texts: &mut Vec<(&'t str, Syntax)>) {
    match m {
        RawMatcher::Equals(text) | RawMatcher::Contains(text) => texts.push((text, Syntax::Text)),
        RawMatcher::Regex(pattern) => texts.push((pattern, Syntax::Regex)),
        RawMatcher::Frame(inner) => matcher_texts(inner, texts),
        RawMatcher::Http(http) => {
            let parts = (http.path.iter())
                .chain(http.headers.iter().flat_map(|h| h.values()))
                .chain(http.body.iter());
            for part in parts {
                matcher_texts(part, texts);
            }
        }
        RawMatcher::Hex(_) | RawMatcher::Bytes(_) => {}
    }
}

/// The name of the `index`th of `total` clients: the one written, else `client` for the only
/// one, else `client1`, `client2`…
pub(super) fn client_name(written: Option<&String>, index: usize, total: usize) -> String {
    match written {
        Some(name) => name.clone(),
        None if total == 1 => "client".to_string(),
        None => format!("client{}", index + 1),
    }
}

/// The protocol of a client: its server's (`server`), else for an address the one it wrote,
/// else tcp.
pub(super) fn client_protocol(server: Option<Protocol>, written: Option<Protocol>) -> Protocol {
    server.or(written).unwrap_or(Protocol::Tcp)
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
