//! The per-file payload cap: every payload a file would build in memory is sized from what the
//! file wrote (templates filled in, a client whose instances differ once per instance), and their
//! total checked against [`MAX_FILE_PAYLOADS`], before `validate` builds any.
//! Four aliases of one 256 MiB `repeat` passed a per-payload cap and took over 1 GB.

use std::path::Path;

use super::checker::Checker;
use super::clients::{client_protocol, uses_instance_names};
use super::templates::Vars;
use crate::scenario::payload::{self, MAX_FILE_PAYLOADS};
use crate::scenario::raw::{Protocol, RawAction, RawMatcher, RawPayload, RawScenario, RawStep};
use crate::template::{self, Piece, Syntax};

impl Checker<'_> {
    /// True when the payloads of `raw` fit [`MAX_FILE_PAYLOADS`] together; otherwise reports the
    /// payload that crosses it (in file order) and returns false: then none may be built.
    pub(super) fn payloads_fit(&mut self, raw: &RawScenario) -> bool {
        let base_dir = self.source.base_dir();
        let size = Sizer { vars: &self.vars };
        let mut sizes: Vec<(String, u64)> = Vec::new();
        for (i, server) in raw.servers.iter().enumerate() {
            let path = format!("servers[{i}]");
            if let Some(greeting) = &server.greeting {
                sizes.push((format!("{path}.greeting"), size.payload(greeting, base_dir)));
            }
            for (j, rule) in server.rules.iter().enumerate() {
                if let Some(matcher) = &rule.matcher {
                    sizes.push((format!("{path}.rules[{j}].match"), size.matcher(matcher)));
                }
                if let Some(reply) = &rule.reply {
                    sizes.push((
                        format!("{path}.rules[{j}].reply"),
                        size.payload(reply, base_dir),
                    ));
                }
            }
        }
        for (i, client) in raw.clients.iter().enumerate() {
            let path = format!("clients[{i}]");
            let connect = template::render(&client.connect, Syntax::Text, &|name| {
                size.vars.values.get(name).cloned()
            })
            .unwrap_or_default();
            let server = raw.servers.iter().find(|s| s.name == connect);
            let protocol = client_protocol(
                server.map(|s| s.protocol.unwrap_or(Protocol::Tcp)),
                client.protocol,
            );
            // Instances whose steps differ are built one by one.
            let copies = match client.count {
                Some(count) if uses_instance_names(client) => u64::from(count),
                _ => 1,
            };
            let first = sizes.len();
            step_sizes(
                &size,
                &format!("{path}.steps"),
                &client.steps,
                protocol,
                base_dir,
                &mut sizes,
            );
            if let Some(matcher) = &client.expect_stdout {
                sizes.push((format!("{path}.expect_stdout"), size.matcher(matcher)));
            }
            for (_, bytes) in &mut sizes[first..] {
                *bytes = bytes.saturating_mul(copies);
            }
        }
        let mut total: u64 = 0;
        for (path, size) in sizes {
            total = total.saturating_add(size);
            if total > MAX_FILE_PAYLOADS {
                self.at_value(
                    &path,
                    format!(
                        "the payloads of this file take more than {MAX_FILE_PAYLOADS} bytes, the most netlab builds for one file"
                    ),
                )
                .add_label(format!("the payloads up to this one take {total} bytes"))
                .add_help("a tcp `send` of `repeat` + `times` is streamed and does not count; aliases count each time they are used");
                return false;
            }
        }
        true
    }
}

/// Appends the sizes of the payloads of `steps` (at `path`), `repeat` bodies once each (a body
/// is built once, however many times it runs).
fn step_sizes(
    size: &Sizer<'_>,
    path: &str,
    steps: &[RawStep],
    protocol: Protocol,
    base_dir: &Path,
    sizes: &mut Vec<(String, u64)>,
) {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{path}[{i}].{}", step.key);
        match &step.action {
            RawAction::Send(sent) => sizes.push((at, size.send(sent, protocol, base_dir))),
            RawAction::Expect(matcher) | RawAction::ReadToClose(matcher) => {
                sizes.push((at, size.matcher(matcher)));
            }
            RawAction::Repeat(repeat) => {
                step_sizes(
                    size,
                    &format!("{at}.steps"),
                    &repeat.steps,
                    protocol,
                    base_dir,
                    sizes,
                );
            }
            _ => {}
        }
    }
}

/// Sizes payloads as they will be built: their templates filled in.
struct Sizer<'v> {
    vars: &'v Vars,
}

impl Sizer<'_> {
    /// What a `send` builds in memory: nothing when it is streamed, else all of it.
    fn send(&self, sent: &RawPayload, protocol: Protocol, base_dir: &Path) -> u64 {
        match sent {
            RawPayload::Repeat { .. } if protocol == Protocol::Tcp && payload::streams(sent) => 0,
            other => self.payload(other, base_dir),
        }
    }

    /// The bytes a payload builds.
    fn payload(&self, raw: &RawPayload, base_dir: &Path) -> u64 {
        match raw {
            RawPayload::Text(text) => self.text(text, Syntax::Text),
            RawPayload::Repeat { text, times } => {
                self.text(text, Syntax::Text).saturating_mul(*times)
            }
            other => payload::size(other, base_dir),
        }
    }

    /// The bytes a matcher holds.
    fn matcher(&self, matcher: &RawMatcher) -> u64 {
        match matcher {
            RawMatcher::Equals(text) | RawMatcher::Contains(text) => self.text(text, Syntax::Text),
            // Escaped, a value can take twice its length.
            RawMatcher::Regex(pattern) => self.text(pattern, Syntax::Regex),
            RawMatcher::Hex(bytes) => bytes.len() as u64,
            RawMatcher::Bytes(_) => 0,
        }
    }

    /// The length of `text` filled in: each var's value in its place (twice its length in a
    /// regex, which escapes it), and room for the names netlab gives.
    fn text(&self, text: &str, syntax: Syntax) -> u64 {
        let factor = if syntax == Syntax::Regex { 2 } else { 1 };
        template::pieces(text, syntax)
            .iter()
            .map(|piece| match piece {
                Piece::Text(literal) => literal.len() as u64,
                Piece::Name(name) => self.vars.values.get(name).map_or(
                    // `{client}`, `{instance}`, `{data}`…: a name and a number at most.
                    name.len() as u64 + 32,
                    |value| value.len() as u64 * factor,
                ),
            })
            .sum()
    }
}
