//! The per-file payload cap: every payload a file would build in memory is sized from what the
//! file wrote, and their total checked against [`MAX_FILE_PAYLOADS`], before `validate` builds any.
//! Four aliases of one 256 MiB `repeat` passed a per-payload cap and took over 1 GB.

use super::checker::Checker;
use super::clients::client_protocol;
use crate::scenario::payload::{self, MAX_FILE_PAYLOADS};
use crate::scenario::raw::{Protocol, RawAction, RawMatcher, RawPayload, RawScenario, RawStep};

impl Checker<'_> {
    /// True when the payloads of `raw` fit [`MAX_FILE_PAYLOADS`] together; otherwise reports the
    /// payload that crosses it (in file order) and returns false: then none may be built.
    pub(super) fn payloads_fit(&mut self, raw: &RawScenario) -> bool {
        let base_dir = self.source.base_dir();
        let mut sizes: Vec<(String, u64)> = Vec::new();
        for (i, server) in raw.servers.iter().enumerate() {
            let path = format!("servers[{i}]");
            if let Some(greeting) = &server.greeting {
                sizes.push((
                    format!("{path}.greeting"),
                    payload::size(greeting, base_dir),
                ));
            }
            for (j, rule) in server.rules.iter().enumerate() {
                if let Some(matcher) = &rule.matcher {
                    sizes.push((format!("{path}.rules[{j}].match"), matcher_size(matcher)));
                }
                if let Some(reply) = &rule.reply {
                    sizes.push((
                        format!("{path}.rules[{j}].reply"),
                        payload::size(reply, base_dir),
                    ));
                }
            }
        }
        for (i, client) in raw.clients.iter().enumerate() {
            let path = format!("clients[{i}]");
            let server = raw.servers.iter().find(|s| s.name == client.connect);
            let protocol = client_protocol(
                server.map(|s| s.protocol.unwrap_or(Protocol::Tcp)),
                client.protocol,
            );
            step_sizes(
                &format!("{path}.steps"),
                &client.steps,
                protocol,
                base_dir,
                &mut sizes,
            );
            if let Some(matcher) = &client.expect_stdout {
                sizes.push((format!("{path}.expect_stdout"), matcher_size(matcher)));
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
    path: &str,
    steps: &[RawStep],
    protocol: Protocol,
    base_dir: &std::path::Path,
    sizes: &mut Vec<(String, u64)>,
) {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{path}[{i}].{}", step.key);
        match &step.action {
            RawAction::Send(sent) => sizes.push((at, send_size(sent, protocol, base_dir))),
            RawAction::Expect(matcher) | RawAction::ReadToClose(matcher) => {
                sizes.push((at, matcher_size(matcher)));
            }
            RawAction::Repeat(repeat) => {
                step_sizes(
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

/// What a `send` builds in memory: nothing when it is streamed, else all of it.
fn send_size(sent: &RawPayload, protocol: Protocol, base_dir: &std::path::Path) -> u64 {
    match sent {
        RawPayload::Repeat { .. } if protocol == Protocol::Tcp && payload::streams(sent) => 0,
        other => payload::size(other, base_dir),
    }
}

/// The bytes a matcher holds.
fn matcher_size(matcher: &RawMatcher) -> u64 {
    match matcher {
        RawMatcher::Equals(bytes) | RawMatcher::Hex(bytes) | RawMatcher::Contains(bytes) => {
            bytes.len() as u64
        }
        RawMatcher::Regex(regex) => regex.as_str().len() as u64,
        RawMatcher::Bytes(_) => 0,
    }
}
