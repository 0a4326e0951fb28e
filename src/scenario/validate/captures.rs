//! `capture:` on a client's reading steps, and the later steps that use the values: which names a
//! client captures (each a slot of its instances), where a name is known (in the steps after the
//! one that captures it, in file order), and the sends and matchers built with them.

use super::checker::Checker;
use super::payloads::compile_regex;
use super::templates::Scope;
use crate::capture::{Capture, CaptureFrom, FillPiece, Filled, INT_KINDS, MOST_GROUPS};
use crate::matcher::{CapturedKind, Matcher};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawCapture, RawGroup, RawMatcher, RawPayload, RawStep};
use crate::template::{self, Piece, Syntax};

/// What the client being checked captures.
#[derive(Debug, Default)]
pub(super) struct Captures {
    /// Every name its steps capture, anywhere (to tell a use too early from an unknown name).
    pub(super) anywhere: Vec<String>,
    /// The names captured by the steps checked so far, by slot.
    pub(super) known: Vec<String>,
}

impl Captures {
    /// For a client whose steps are `steps`: nothing known yet.
    pub(super) fn of(steps: &[RawStep]) -> Captures {
        let mut anywhere = Vec::new();
        collect_names(steps, &mut anywhere);
        Captures {
            anywhere,
            known: Vec::new(),
        }
    }

    /// The slot of the captured name `name`, if a step before has captured it.
    pub(super) fn slot(&self, name: &str) -> Option<usize> {
        self.known.iter().position(|known| known == name)
    }
}

fn collect_names(steps: &[RawStep], names: &mut Vec<String>) {
    for step in steps {
        for name in step.capture.iter().flat_map(|c| c.keys()) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        if let crate::scenario::raw::RawAction::Repeat(repeat) = &step.action {
            collect_names(&repeat.steps, names);
        }
    }
}

impl Checker<'_> {
    /// Whether `text` names a value the client captures (before or after this point).
    pub(super) fn names_a_capture(&self, text: &str) -> bool {
        template::names(text, Syntax::Text)
            .iter()
            .any(|name| self.captures.anywhere.contains(name))
    }

    /// Whether `text` uses a value captured by an earlier step.
    pub(super) fn uses_captured(&self, text: &str, syntax: Syntax) -> bool {
        template::names(text, syntax)
            .iter()
            .any(|name| self.captures.slot(name).is_some())
    }

    /// The text at `path` as pieces the step fills when it runs: vars and `{instance}` filled in
    /// now, captured values kept in their places.
    fn filled(&mut self, path: &str, text: &str, syntax: Syntax) -> Filled {
        let pieces = self
            .pieces(path, text, syntax, Scope::Instance)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(literal) => FillPiece::Bytes(literal.into_bytes()),
                Piece::Name(name) => match self.captures.slot(&name) {
                    Some(slot) => FillPiece::Value { slot, name },
                    // Only captured names are kept in a client's steps.
                    None => FillPiece::Bytes(format!("{{{name}}}").into_bytes()),
                },
            })
            .collect();
        Filled {
            pieces,
            frame: None,
        }
    }

    /// A send's payload that uses captured values (`None`: it uses none). A `repeat` unit is
    /// built once, before the run: it cannot use one.
    pub(super) fn captured_payload(&mut self, path: &str, raw: &RawPayload) -> Option<Filled> {
        match raw {
            RawPayload::Frame(inner) => {
                let at = join(path, "frame");
                let mut filled = self.captured_payload(&at, inner)?;
                filled.frame = Some(self.frames_for(path)?);
                Some(filled)
            }
            RawPayload::Text(text) if self.uses_captured(text, Syntax::Text) => {
                Some(self.filled(path, text, Syntax::Text))
            }
            RawPayload::Repeat { text, .. } if self.uses_captured(text, Syntax::Text) => {
                self.at_value(
                    &join(path, "repeat"),
                    "a `repeat` unit is built once, before the run: it cannot use a captured value",
                )
                .add_help("send the captured value in a step of its own");
                None
            }
            _ => None,
        }
    }

    /// A matcher that uses captured values (`None`: it uses none); a regex is checked with each
    /// value as `1`, a literal wherever one may be written, a count in a repetition (`.{{n}}`)
    /// too. A value that breaks it when the step runs fails that step, saying why.
    pub(super) fn captured_matcher(&mut self, path: &str, raw: &RawMatcher) -> Option<Matcher> {
        let (kind, text, at, syntax) = match raw {
            RawMatcher::Equals(text) => {
                (CapturedKind::Equals, text, path.to_string(), Syntax::Text)
            }
            RawMatcher::Contains(text) => (
                CapturedKind::Contains,
                text,
                join(path, "contains"),
                Syntax::Text,
            ),
            RawMatcher::Regex(text) => (
                CapturedKind::Regex,
                text,
                join(path, "regex"),
                Syntax::Regex,
            ),
            RawMatcher::Frame(inner) => {
                let body = self.captured_matcher(&join(path, "frame"), inner)?;
                return Some(Matcher::Frame {
                    frames: self.frames_for(path)?,
                    body: Box::new(body),
                });
            }
            RawMatcher::Http(_) => {
                let mut texts = Vec::new();
                super::clients::matcher_texts(raw, &mut texts);
                if texts
                    .iter()
                    .any(|(text, syntax)| self.uses_captured(text, *syntax))
                {
                    self.at_value(
                        &join(path, "http"),
                        "a captured value cannot be used inside `http` yet",
                    )
                    .add_help("check the response's part that holds it with `contains` or `regex` in a step of its own");
                }
                return None;
            }
            RawMatcher::Hex(_) | RawMatcher::Bytes(_) => return None,
        };
        if !self.uses_captured(text, syntax) {
            return None;
        }
        let template = self.filled(&at, text, syntax);
        if kind == CapturedKind::Regex {
            let samples = vec![Some(b"1".to_vec()); self.captures.known.len()];
            let pattern = String::from_utf8_lossy(&template.fill(&samples, true)).into_owned();
            if let Err(why) = compile_regex(&pattern) {
                self.at_value(&at, format!("invalid regex: {why}"));
            }
        }
        Some(Matcher::Captured { kind, template })
    }

    /// The captures written on the step at `path` (`key`: its action), checked; their names
    /// become known to the steps after it.
    pub(super) fn step_captures(
        &mut self,
        path: &str,
        key: &str,
        raw: Option<std::collections::BTreeMap<String, RawCapture>>,
    ) -> Vec<Capture> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        let capture_path = join(path, "capture");
        if !matches!(key, "expect" | "read_to_close") {
            self.at_key(
                &capture_path,
                format!("`capture` applies to `expect` and `read_to_close`, not `{key}`"),
            )
            .add_help("capture from the bytes a reading step matched");
            return Vec::new();
        }
        let mut captures = Vec::new();
        let mut written = Vec::new();
        for (name, spec) in raw {
            let entry = join(&capture_path, &name);
            if let Some(capture) = self.capture(&entry, &name, spec) {
                captures.push(capture);
            }
            written.push(name);
        }
        // A wrong entry's name is known all the same: its later uses are not another problem.
        for name in written {
            if self.captures.slot(&name).is_none() {
                self.captures.known.push(name);
            }
        }
        // Slots are given once every name of the step is known (a step's own captures are
        // not known to its own matcher).
        for capture in &mut captures {
            capture.slot = self.captures.slot(&capture.name).unwrap_or(0);
        }
        captures
    }

    /// One capture entry at `path`, named `name`.
    fn capture(&mut self, path: &str, name: &str, spec: RawCapture) -> Option<Capture> {
        if template::names(&format!("{{{name}}}"), Syntax::Text) != [name.to_string()] {
            self.at_key(path, format!("`{name}` cannot be written as `{{{name}}}`"))
                .add_help("a capture's name is a letter or `_`, then letters, digits or `_`");
            return None;
        }
        if super::templates::BUILT_IN.contains(&name) {
            self.at_key(
                path,
                format!("`{name}` is filled in by netlab: choose another name"),
            );
            return None;
        }
        if self.vars.declared.iter().any(|var| var == name) {
            self.at_key(
                path,
                format!("`{name}` is a var of the scenario: choose another name for the capture"),
            );
            return None;
        }
        let integers = spec.integers();
        let kinds = usize::from(spec.regex.is_some())
            + usize::from(spec.from.is_some() || spec.to.is_some())
            + integers.len();
        if kinds != 1 {
            let found = if kinds == 0 { "none is" } else { "several are" };
            self.at_value(
                path,
                format!("a capture takes one of `regex`, `from`/`to` or an integer kind (`u16be: OFFSET`…); {found} given"),
            );
            return None;
        }
        if spec.group.is_some() && spec.regex.is_none() {
            self.at_key(&join(path, "group"), "`group` goes with `regex`");
            return None;
        }
        let from = if let Some(pattern) = spec.regex {
            self.capture_regex(path, name, &pattern, spec.group)?
        } else if let Some((kind_name, offset)) = integers.first() {
            let kind = INT_KINDS
                .iter()
                .find(|(k, _)| k == kind_name)
                .map(|(_, kind)| *kind)?;
            CaptureFrom::Integer {
                kind,
                offset: usize::try_from(*offset).unwrap_or(usize::MAX),
            }
        } else {
            let start = spec.from.unwrap_or(0);
            if let Some(end) = spec.to
                && end < start
            {
                self.at_value(
                    &join(path, "to"),
                    format!("`to` ({end}) is before `from` ({start})"),
                )
                .add_help("`to` is past the last byte: `from: 2, to: 6` takes 4 bytes");
                return None;
            }
            CaptureFrom::Bytes {
                start: usize::try_from(start).unwrap_or(usize::MAX),
                end: spec
                    .to
                    .map(|end| usize::try_from(end).unwrap_or(usize::MAX)),
            }
        };
        Some(Capture {
            name: name.to_string(),
            slot: 0,
            from,
        })
    }

    /// The regex of a capture at `path` and its group: the one written, else the group named
    /// like the capture, else the first group, else the whole match.
    fn capture_regex(
        &mut self,
        path: &str,
        name: &str,
        pattern: &str,
        group: Option<RawGroup>,
    ) -> Option<CaptureFrom> {
        let at = join(path, "regex");
        let pattern = self.fill(&at, pattern, Syntax::Regex, Scope::Shared);
        let regex = match compile_regex(&pattern) {
            Ok(regex) => regex,
            Err(why) => {
                self.at_value(&at, format!("invalid regex: {why}"));
                return None;
            }
        };
        if regex.captures_len() - 1 > MOST_GROUPS {
            self.at_value(
                &at,
                format!(
                    "a regex that captures has at most {MOST_GROUPS} groups; this one has {}",
                    regex.captures_len() - 1
                ),
            )
            .add_help("make the groups you do not take `(?:…)`");
            return None;
        }
        let names: Vec<&str> = regex.capture_names().flatten().collect();
        let group = match group {
            Some(RawGroup::Number(n)) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n >= regex.captures_len() {
                    self.at_value(
                        &join(path, "group"),
                        format!(
                            "the regex has {} group(s): `group` is 0 (the whole match) to {}",
                            regex.captures_len() - 1,
                            regex.captures_len() - 1
                        ),
                    );
                    return None;
                }
                n
            }
            Some(RawGroup::Name(group_name)) => {
                let Some(index) = regex
                    .capture_names()
                    .position(|n| n == Some(group_name.as_str()))
                else {
                    let named = if names.is_empty() {
                        "it has no named group".to_string()
                    } else {
                        format!("its named groups: {}", names.join(", "))
                    };
                    self.at_value(
                        &join(path, "group"),
                        format!("the regex has no group named `{group_name}`; {named}"),
                    );
                    return None;
                };
                index
            }
            None => regex
                .capture_names()
                .position(|n| n == Some(name))
                .unwrap_or(usize::from(regex.captures_len() > 1)),
        };
        Some(CaptureFrom::Regex { regex, group })
    }
}
