//! The per-file payload cap: every payload a file would build in memory is sized from what the
//! file wrote (templates filled in, a client whose instances differ once per instance), and their
//! total checked against [`MAX_FILE_PAYLOADS`], before `validate` builds any.
//! Four aliases of one 256 MiB `repeat` passed a per-payload cap and took over 1 GB.

use std::path::Path;

use super::checker::Checker;
use super::clients::{client_protocol, uses_instance_names};
use super::templates::Vars;
use crate::scenario::payload::{self, MAX_FILE_PAYLOADS, MAX_PAYLOAD};
use crate::scenario::raw::{Protocol, RawAction, RawMatcher, RawPayload, RawScenario, RawStep};
use crate::template::{self, Piece, Syntax};

impl Checker<'_> {
    /// True when the payloads of `raw` fit [`MAX_FILE_PAYLOADS`] together; otherwise reports the
    /// payload that crosses it (in file order) and returns false: then none may be built.
    pub(super) fn payloads_fit(&mut self, raw: &RawScenario) -> bool {
        let base_dir = self.source.base_dir();
        let size = Sizer {
            vars: &self.vars,
            label: 0,
        };
        let mut sizes: Vec<(String, u64, bool)> = Vec::new();
        for (i, server) in raw.servers.iter().enumerate() {
            let path = format!("servers[{i}]");
            if let Some(greeting) = &server.greeting {
                sizes.push((
                    format!("{path}.greeting"),
                    size.payload(greeting, base_dir),
                    is_text(greeting),
                ));
            }
            for (j, rule) in server.rules.iter().enumerate() {
                if let Some(matcher) = &rule.matcher {
                    sizes.push((
                        format!("{path}.rules[{j}].match"),
                        size.matcher(matcher),
                        true,
                    ));
                }
                if let Some(reply) = &rule.reply {
                    sizes.push((
                        format!("{path}.rules[{j}].reply"),
                        size.payload(reply, base_dir),
                        is_text(reply),
                    ));
                }
            }
        }
        // Where each client's sizes start in `sizes`, and how many times they are built.
        let mut copies_from: Vec<(usize, u64)> = vec![(0, 1)];
        for (i, client) in raw.clients.iter().enumerate() {
            let path = format!("clients[{i}]");
            // `{client}` is its name and an instance number, `{instance}` the number.
            let size = Sizer {
                vars: &self.vars,
                label: client.name.as_ref().map_or(16, |n| n.len() as u64) + 6,
            };
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
                sizes.push((format!("{path}.expect_stdout"), size.matcher(matcher), true));
            }
            if let Some(hint) = &client.hint {
                sizes.push((
                    format!("{path}.hint"),
                    size.text(hint, Syntax::Text, Bound::Most),
                    true,
                ));
            }
            copies_from.push((first, copies));
        }
        let mut total: u64 = 0;
        let mut copies = 1;
        for (i, (path, size, text)) in sizes.into_iter().enumerate() {
            if let Some(&(_, n)) = copies_from.iter().rfind(|(from, _)| *from <= i) {
                copies = n;
            }
            // One payload over the cap of one (a var's value repeated in a text) is refused as
            // `repeat` and `file` are, before it is built.
            if text && size > MAX_PAYLOAD {
                self.at_value(
                    &path,
                    format!("filled in, this payload would be {size} bytes; the most netlab builds is {MAX_PAYLOAD}"),
                );
                return false;
            }
            total = total.saturating_add(size.saturating_mul(copies));
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
    sizes: &mut Vec<(String, u64, bool)>,
) {
    for (i, step) in steps.iter().enumerate() {
        if let Some(hint) = &step.hint {
            sizes.push((
                format!("{path}[{i}].hint"),
                size.text(hint, Syntax::Text, Bound::Most),
                true,
            ));
        }
        let at = format!("{path}[{i}].{}", step.key);
        match &step.action {
            RawAction::Send(sent) => {
                sizes.push((at, size.send(sent, protocol, base_dir), is_text(sent)));
            }
            RawAction::Expect(matcher) | RawAction::ReadToClose(matcher) => {
                sizes.push((at, size.matcher(matcher), true));
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

/// Whether a payload is a text (a template: its own size is known only filled in; a `repeat`,
/// a file and hex are checked against the cap of one payload where they are built).
fn is_text(raw: &RawPayload) -> bool {
    matches!(raw, RawPayload::Text(_))
}

/// Sizes payloads as they will be built: their templates filled in.
struct Sizer<'v> {
    vars: &'v Vars,
    /// The most bytes `{client}` or `{instance}` take (0 outside a client).
    label: u64,
}

/// Which end of a template's filled length: the most it can take (for the cap), or the least
/// (to decide whether a `send` is streamed, which it is only if every instance's would be).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Least,
    Most,
}

impl Sizer<'_> {
    /// What a `send` builds in memory: nothing when it is streamed, else all of it.
    fn send(&self, sent: &RawPayload, protocol: Protocol, base_dir: &Path) -> u64 {
        match sent {
            RawPayload::Repeat { text, times }
                if protocol == Protocol::Tcp
                    && self
                        .text(text, Syntax::Text, Bound::Least)
                        .saturating_mul(*times)
                        > payload::STREAM_ABOVE =>
            {
                0
            }
            other => self.payload(other, base_dir),
        }
    }

    /// The bytes a payload builds.
    fn payload(&self, raw: &RawPayload, base_dir: &Path) -> u64 {
        match raw {
            RawPayload::Text(text) => self.text(text, Syntax::Text, Bound::Most),
            RawPayload::Repeat { text, times } => self
                .text(text, Syntax::Text, Bound::Most)
                .saturating_mul(*times),
            RawPayload::Frame(inner) => self.payload(inner, base_dir).saturating_add(10),
            other => payload::size(other, base_dir),
        }
    }

    /// The bytes a matcher holds.
    fn matcher(&self, matcher: &RawMatcher) -> u64 {
        match matcher {
            RawMatcher::Equals(text) | RawMatcher::Contains(text) => {
                self.text(text, Syntax::Text, Bound::Most)
            }
            RawMatcher::Regex(pattern) => self.text(pattern, Syntax::Regex, Bound::Most),
            RawMatcher::Hex(bytes) => bytes.len() as u64,
            RawMatcher::Bytes(_) => 0,
            RawMatcher::Frame(inner) => self.matcher(inner),
            RawMatcher::Http(http) => (http.path.iter())
                .chain(http.headers.iter().flat_map(|h| h.values()))
                .chain(http.body.iter())
                .map(|m| self.matcher(m))
                .sum(),
        }
    }

    /// The length of `text` filled in: each var's value in its place (in a regex, which escapes
    /// it, up to twice its length), `{client}` and `{instance}` at their longest (or shortest),
    /// a var without a value as its name (what `check` puts there).
    fn text(&self, text: &str, syntax: Syntax, bound: Bound) -> u64 {
        let factor = if syntax == Syntax::Regex && bound == Bound::Most {
            2
        } else {
            1
        };
        template::pieces(text, syntax)
            .iter()
            .map(|piece| match piece {
                Piece::Text(literal) => literal.len() as u64,
                Piece::Name(name) => match self.vars.values.get(name) {
                    Some(value) => value.len() as u64 * factor,
                    None if matches!(name.as_str(), "client" | "instance") => match bound {
                        Bound::Most => self.label,
                        Bound::Least => 1,
                    },
                    None => name.len() as u64,
                },
            })
            .sum()
    }
}
