//! `{name}` templates as validation fills them: the scenario's vars (declared under `vars:`, with
//! values from `--var`, `NETLAB_VAR_*` or their default) and the names netlab gives (`{client}`
//! and `{instance}` in a client's steps, `{data}` in a reply, `{port}` and `{host}` in `exec`),
//! each allowed where it has a meaning. The grammar is `crate::template`'s; which name is known
//! where is decided here, once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::checker::Checker;
use crate::diagnostic::did_you_mean;
use crate::scenario::positions::join;
use crate::scenario::raw::{RawMatcher, RawPayload};
use crate::scenario::vars::{VarValues, for_a_program};
use crate::template::{self, Piece, Syntax};

/// Most regexes a file may have compiled again for later instances (a regex that uses
/// `{instance}` in a `count: N` client is compiled N times): compiling one can take tens of
/// milliseconds and a megabyte, so ten thousand would take minutes and gigabytes.
pub const MAX_VARIED_REGEXES: u64 = 256;

/// Names netlab fills in itself: no var may take them.
pub(super) const BUILT_IN: &[&str] = &[
    "port",
    "host",
    "client",
    "instance",
    "data",
    "ca_file",
    "cert_file",
    "key_file",
];

/// The scenario's `vars`: the names declared, and the values known for them.
#[derive(Debug, Default)]
pub(super) struct Vars {
    pub(super) declared: Vec<String>,
    /// As given (payloads, matchers, `connect`, hints).
    pub(super) values: BTreeMap<String, String>,
    /// As programs under test are given them (`vars::for_a_program`); shared by every program
    /// (a `count:` client's instances each have one).
    pub(super) for_programs: Arc<BTreeMap<String, String>>,
}

/// Where a template is written, which decides the names it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// A server's greeting or `match`, or a client's `connect`: the vars.
    Shared,
    /// A server's reply: the vars and `{data}`, which is kept for the reply to fill.
    Reply,
    /// A client's steps and hints: the vars, `{client}` and `{instance}`.
    Instance,
    /// An `exec` argument: the vars, `{port}` and `{host}`; a client program's also
    /// `{client}` and `{instance}`. Checked here, filled when the program starts.
    Program {
        /// A client's program (else a server's).
        client: bool,
    },
}

/// What a name stands for in a scope.
enum Meaning {
    /// This text.
    Value(String),
    /// Kept as a placeholder, for a later stage to fill.
    Kept,
    /// Not usable here: why, and what to do.
    Refused(String, String),
}

/// The client instance whose steps are being built (`{client}`, `{instance}`).
#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub(super) label: String,
    pub(super) index: u32,
}

impl Checker<'_> {
    /// The declared vars, with the values known: the command line's, the environment's, else
    /// the default.
    pub(super) fn vars(&mut self, declared: &BTreeMap<String, Option<String>>, given: &VarValues) {
        let mut vars = Vars::default();
        let mut for_programs_values = BTreeMap::new();
        for (name, default) in declared {
            let path = join("vars", name);
            if BUILT_IN.contains(&name.as_str()) {
                self.at_key(
                    &path,
                    format!("`{name}` is filled in by netlab: choose another name"),
                );
                continue;
            }
            if template::names(&format!("{{{name}}}"), Syntax::Text) != [name.clone()] {
                self.at_key(&path, format!("`{name}` cannot be written as `{{{name}}}`"))
                    .add_help("a var's name is a letter or `_`, then letters, digits or `_`");
                continue;
            }
            vars.declared.push(name.clone());
            let (value, for_programs) = match (given.value_of(name), default) {
                (Some(given), _) => (given.to_string(), for_a_program(given)),
                (None, Some(default)) => (default.clone(), default.clone()),
                (None, None) => continue,
            };
            vars.values.insert(name.clone(), value);
            for_programs_values.insert(name.clone(), for_programs);
        }
        vars.for_programs = Arc::new(for_programs_values);
        self.vars = vars;
    }

    /// Reports each var used without a value where it is needed, once, at its declaration.
    pub(super) fn report_unset_vars(&mut self) {
        let mut unset = std::mem::take(&mut self.unset_vars);
        unset.sort();
        unset.dedup();
        for name in unset {
            let upper = name.to_uppercase();
            self.at_key(&join("vars", &name), format!("`{name}` has no value"))
                .add_help(format!(
                    "give it on the command line (`--var {name}=VALUE`), in the environment (`NETLAB_VAR_{upper}=VALUE`), or a default here"
                ));
        }
    }

    /// `text` (the value at `path`) with its names filled in for `scope`; a name that cannot be
    /// used there is reported and left empty.
    pub(super) fn fill(&mut self, path: &str, text: &str, syntax: Syntax, scope: Scope) -> String {
        let mut out = String::with_capacity(text.len());
        for piece in self.pieces(path, text, syntax, scope) {
            match piece {
                Piece::Text(literal) => out.push_str(&literal),
                Piece::Name(name) => {
                    out.push('{');
                    out.push_str(&name);
                    out.push('}');
                }
            }
        }
        out
    }

    /// Like [`Checker::fill`], for what the file builds (payloads, matchers, hints): once the
    /// file is over its payload cap, the names are checked but nothing is filled in (the file is
    /// refused, and a filled value could take gigabytes).
    pub(super) fn fill_built(
        &mut self,
        path: &str,
        text: &str,
        syntax: Syntax,
        scope: Scope,
    ) -> String {
        if self.build_payloads {
            self.fill(path, text, syntax, scope)
        } else {
            self.pieces_with(path, text, syntax, scope, false);
            text.to_string()
        }
    }

    /// The pieces of `text` (at `path`) for `scope`: values filled in as text (escaped in a
    /// regex), the names kept for later (`{data}`, a program's `{port}`) as names.
    pub(super) fn pieces(
        &mut self,
        path: &str,
        text: &str,
        syntax: Syntax,
        scope: Scope,
    ) -> Vec<Piece> {
        self.pieces_with(path, text, syntax, scope, true)
    }

    /// [`Checker::pieces`], with the values left out unless `values`.
    fn pieces_with(
        &mut self,
        path: &str,
        text: &str,
        syntax: Syntax,
        scope: Scope,
        values: bool,
    ) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        // One problem per value, the first: a value of a thousand unknown names is one mistake.
        let mut reported = false;
        let all = template::pieces(text, syntax);
        for (at, piece) in all.iter().cloned().enumerate() {
            let literal = match piece {
                Piece::Text(literal) => literal,
                Piece::Name(name) => match self.meaning(&name, scope) {
                    Meaning::Value(_) if !values => continue,
                    Meaning::Value(value) if syntax == Syntax::Regex => {
                        let before = match out.last() {
                            Some(Piece::Text(text)) => text.as_str(),
                            _ => "",
                        };
                        let after = match all.get(at + 1) {
                            Some(Piece::Text(text)) => text.as_str(),
                            _ => "",
                        };
                        template::regex_literal(
                            &regex::escape(&value),
                            value.chars().count(),
                            text,
                            (before, after),
                        )
                    }
                    Meaning::Value(value) => value,
                    Meaning::Kept => {
                        out.push(Piece::Name(name));
                        continue;
                    }
                    Meaning::Refused(..) if reported => continue,
                    Meaning::Refused(message, help) => {
                        reported = true;
                        let guess = self.guess(&name, scope);
                        let diagnostic = self.at_value(path, message);
                        diagnostic.add_help(help);
                        if let Some(guess) = guess {
                            diagnostic.label = Some(format!("did you mean `{{{guess}}}`?"));
                        }
                        continue;
                    }
                },
            };
            match out.last_mut() {
                Some(Piece::Text(text)) => text.push_str(&literal),
                _ => out.push(Piece::Text(literal)),
            }
        }
        out
    }

    /// Whether `more` regexes compiled again for later instances of the client at `path` keep the
    /// file within [`MAX_VARIED_REGEXES`]; reported at its `count` when they do not.
    pub(super) fn room_for_varied_regexes(&mut self, path: &str, more: u64) -> bool {
        let total = self.varied_regexes.saturating_add(more);
        if total > MAX_VARIED_REGEXES {
            self.at_value(
                &join(path, "count"),
                format!(
                    "its regexes that use `{{client}}` or `{{instance}}` would be compiled {total} times in this file; the most is {MAX_VARIED_REGEXES}"
                ),
            )
            .add_help("match what differs with `contains` or `equals`, or run fewer instances");
            return false;
        }
        self.varied_regexes = total;
        true
    }

    /// Whether `text` uses a var that has no value.
    pub(super) fn lacks_a_value(&self, text: &str) -> bool {
        template::names(text, Syntax::Text)
            .iter()
            .any(|name| self.vars.declared.contains(name) && !self.vars.values.contains_key(name))
    }

    /// A payload with its text filled in (hex and files are bytes, never templates). A rule's
    /// reply keeps `{data}` and the groups in its own strings only (`servers::rule`): what comes
    /// here is built once, in a shared scope.
    pub(super) fn fill_payload(&mut self, path: &str, raw: RawPayload, scope: Scope) -> RawPayload {
        match raw {
            RawPayload::Text(text) => {
                RawPayload::Text(self.fill_built(path, &text, Syntax::Text, scope))
            }
            RawPayload::Frame(inner) => RawPayload::Frame(Box::new(self.fill_payload(
                &join(path, "frame"),
                *inner,
                scope,
            ))),
            RawPayload::Http(reply) => {
                let mut reply = *reply;
                let at = join(path, "http");
                reply.headers = reply.headers.map(|headers| {
                    (headers.into_iter())
                        .map(|(name, value)| {
                            let value_at = join(&join(&at, "headers"), &name);
                            let filled = self.fill_built(&value_at, &value, Syntax::Text, scope);
                            (name, filled)
                        })
                        .collect()
                });
                let body_at = join(&at, "body");
                reply.body = reply
                    .body
                    .map(|body| self.fill_payload(&body_at, body, scope));
                RawPayload::Http(Box::new(reply))
            }
            RawPayload::Repeat { text, times } => RawPayload::Repeat {
                text: self.fill_built(&join(path, "repeat"), &text, Syntax::Text, scope),
                times,
            },
            bytes => bytes,
        }
    }

    /// A matcher with its text filled in.
    pub(super) fn fill_matcher(&mut self, path: &str, raw: RawMatcher, scope: Scope) -> RawMatcher {
        match raw {
            RawMatcher::Equals(text) => {
                RawMatcher::Equals(self.fill_built(path, &text, Syntax::Text, scope))
            }
            RawMatcher::Contains(text) => RawMatcher::Contains(self.fill_built(
                &join(path, "contains"),
                &text,
                Syntax::Text,
                scope,
            )),
            RawMatcher::Frame(inner) => RawMatcher::Frame(Box::new(self.fill_matcher(
                &join(path, "frame"),
                *inner,
                scope,
            ))),
            RawMatcher::Http(http) => {
                let at = join(path, "http");
                let http = *http;
                let headers = http.headers.map(|headers| {
                    headers
                        .into_iter()
                        .map(|(name, m)| {
                            let filled =
                                self.fill_matcher(&join(&join(&at, "headers"), &name), m, scope);
                            (name, filled)
                        })
                        .collect()
                });
                RawMatcher::Http(Box::new(crate::scenario::raw::RawHttp {
                    path: http
                        .path
                        .map(|m| self.fill_matcher(&join(&at, "path"), m, scope)),
                    body: http
                        .body
                        .map(|m| self.fill_matcher(&join(&at, "body"), m, scope)),
                    headers,
                    ..http
                }))
            }
            RawMatcher::Regex(pattern) => RawMatcher::Regex(self.fill_built(
                &join(path, "regex"),
                &pattern,
                Syntax::Regex,
                scope,
            )),
            bytes => bytes,
        }
    }

    /// The name usable in `scope` that `name` probably misspells.
    fn guess(&self, name: &str, scope: Scope) -> Option<String> {
        // Damerau-Levenshtein takes the product of the lengths: a name past any real one's
        // length gets no guess.
        if BUILT_IN.contains(&name) || name.len() > 64 {
            return None;
        }
        let built_in: &[&str] = match scope {
            Scope::Shared => &[],
            Scope::Reply => &["data"],
            Scope::Instance => &["client", "instance"],
            Scope::Program { client: false } => {
                &["port", "host", "ca_file", "cert_file", "key_file"]
            }
            Scope::Program { client: true } => &[
                "port",
                "host",
                "client",
                "instance",
                "ca_file",
                "cert_file",
                "key_file",
            ],
        };
        let captured: &[String] = match scope {
            Scope::Instance => &self.captures.known,
            Scope::Reply => &self.server_groups,
            _ => &[],
        };
        let known = (self.vars.declared.iter().map(String::as_str))
            .chain(built_in.iter().copied())
            .chain(captured.iter().map(String::as_str));
        did_you_mean(name, known).map(str::to_string)
    }

    /// What `name` stands for in `scope`.
    fn meaning(&mut self, name: &str, scope: Scope) -> Meaning {
        if self.vars.declared.iter().any(|d| d == name) {
            return match self.vars.values.get(name) {
                Some(value) => Meaning::Value(value.clone()),
                None => {
                    if self.values_needed {
                        self.unset_vars.push(name.to_string());
                    }
                    // Checked without its value (`check`), the var stands for its own name: a
                    // word, which keeps what it is in valid (a `repeat` unit, a regex's class)
                    // as it would be with most values. Nothing built from it runs.
                    Meaning::Value(name.to_string())
                }
            };
        }
        let vars_help = || {
            let declared: Vec<String> = (self.vars.declared.iter())
                .map(|d| format!("`{{{d}}}`"))
                .collect();
            if declared.is_empty() {
                String::new()
            } else {
                format!("; this scenario's vars: {}", declared.join(", "))
            }
        };
        if scope == Scope::Instance && self.captures.slot(name).is_some() {
            // Filled when its step runs.
            return Meaning::Kept;
        }
        if scope == Scope::Instance && self.captures.anywhere.iter().any(|c| c == name) {
            return Meaning::Refused(
                format!("`{{{name}}}` is used before a step captures it"),
                "a captured value is known in the steps after the one that captures it".into(),
            );
        }
        if scope == Scope::Reply && self.server_groups.iter().any(|g| g == name) {
            // The named group's last value on the connection, filled when the rule answers.
            return Meaning::Kept;
        }
        match (name, scope) {
            ("data", Scope::Reply) => Meaning::Kept,
            ("port" | "host", Scope::Program { .. }) => Meaning::Kept,
            ("cert_file" | "key_file", Scope::Program { client: false }) if !self.server_has_tls => {
                Meaning::Refused(
                    format!("`{{{name}}}` is given to a program in the place of a server with `tls:`, and this server has none"),
                    "give the server `tls: { self_signed: true }`: a certificate is made for the run and given to its program".into(),
                )
            }
            ("ca_file" | "cert_file" | "key_file", Scope::Program { .. }) => Meaning::Kept,
            ("client" | "instance", Scope::Program { client: true }) => Meaning::Kept,
            ("client", Scope::Instance) => {
                Meaning::Value(self.instance.as_ref().map_or(String::new(), |i| i.label.clone()))
            }
            ("instance", Scope::Instance) => Meaning::Value(
                self.instance
                    .as_ref()
                    .map_or(String::new(), |i| i.index.to_string()),
            ),
            ("port" | "host", _) => Meaning::Refused(
                format!("`{{{name}}}` is given to programs under test (`exec:`) only"),
                "a netlab client is told where to connect by `connect`; in its bytes a port would make each run's transcript differ".into(),
            ),
            ("ca_file" | "cert_file" | "key_file", _) => Meaning::Refused(
                format!("`{{{name}}}` is given to programs under test (`exec:`) only"),
                "a netlab client trusts the run's CA by itself, and a netlab server with `tls: { self_signed: true }` presents the run's certificate".into(),
            ),
            ("client" | "instance", _) => Meaning::Refused(
                format!("`{{{name}}}` is known in a client's steps, hints and `exec` only"),
                "it names one instance of a client; here there is none".into(),
            ),
            ("data", _) => Meaning::Refused(
                "`{data}` is known in a server rule's `reply` only: its string, a `frame` string, or an `http` reply's header values and string body".into(),
                format!("it is the message the rule answers{}", vars_help()),
            ),
            _ => Meaning::Refused(
                format!("unknown name `{{{name}}}`"),
                format!(
                    "declare it under `vars:`, or write `{{{{{name}}}}}` for the text `{{{name}}}`{}",
                    vars_help()
                ),
            ),
        }
    }
}

/// Whether any of `texts` uses `{client}` or `{instance}` (then each instance is built apart).
pub(super) fn names_an_instance<'t>(texts: impl IntoIterator<Item = (&'t str, Syntax)>) -> bool {
    texts.into_iter().any(|(text, syntax)| {
        template::names(text, syntax)
            .iter()
            .any(|n| n == "client" || n == "instance")
    })
}
