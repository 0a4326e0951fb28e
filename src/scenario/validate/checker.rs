//! The collector every check reports to: the problems and the warnings of one file, each
//! located at the key or the value its field path names.

use std::ops::Range;
use std::time::Duration;

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::scenario::positions::Positions;
use crate::scenario::raw::RawDuration;
use crate::scenario::vars::NeededVars;
use crate::source::SourceFile;

use super::captures::Captures;
use super::templates::{Instance, Vars};

/// Collects the problems of one file while building its model.
pub(super) struct Checker<'a> {
    pub(super) source: &'a SourceFile,
    pub(super) positions: &'a Positions,
    /// Which programs need a value for each var they use.
    pub(super) needed_vars: &'a NeededVars,
    problems: Vec<Diagnostic>,
    /// What runs, but probably not as meant.
    warnings: Vec<Diagnostic>,
    /// False once the file's payloads are found over the per-file cap: none is built then.
    pub(super) build_payloads: bool,
    /// Vars used without a value where they are needed, as found.
    pub(super) unset_vars: Vec<String>,
    /// The scenario's vars (known once `vars` has run).
    pub(super) vars: Vars,
    /// Whether what is being checked will run, so that the vars it uses need a value.
    pub(super) values_needed: bool,
    /// The client instance whose steps are being built.
    pub(super) instance: Option<Instance>,
    /// Regexes compiled again for a later instance so far, in the whole file.
    pub(super) varied_regexes: u64,
    /// What the client being checked captures, and what its steps so far have.
    pub(super) captures: Captures,
    /// The named groups of the regexes of the server being checked (usable in its replies).
    pub(super) server_groups: Vec<String>,
    /// The frames of the server or client being checked (for `frame:` payloads and matchers).
    pub(super) frames: Option<crate::framing::Frames>,
    /// Whose entry is being checked (a server's matchers read requests).
    pub(super) side: Side,
    /// The `max_received` of the client being checked.
    pub(super) max_received: usize,
    /// The `points` of the client being checked, if it is worth points as a whole.
    pub(super) client_worth: Option<u32>,
    /// Whether the server being checked has `tls:` (a program in its place is given its
    /// certificate as `{cert_file}`/`{key_file}`).
    pub(super) server_has_tls: bool,
}

/// Whose entry is being checked: what `frame` and `http` mean depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// A server: its framing cuts what it reads into messages, its `http` matchers read requests.
    Server,
    /// A client: its `frame` steps use its own framing or its server's, its `http` matchers read
    /// responses.
    Client,
}

impl<'a> Checker<'a> {
    /// A checker for the file `source`, whose fields are at `positions`.
    pub(super) fn new(
        source: &'a SourceFile,
        positions: &'a Positions,
        needed_vars: &'a NeededVars,
    ) -> Self {
        Checker {
            source,
            positions,
            needed_vars,
            problems: Vec::new(),
            warnings: Vec::new(),
            build_payloads: true,
            unset_vars: Vec::new(),
            vars: Vars::default(),
            values_needed: true,
            instance: None,
            varied_regexes: 0,
            captures: Captures::default(),
            server_groups: Vec::new(),
            frames: None,
            side: Side::Client,
            max_received: usize::MAX,
            client_worth: None,
            server_has_tls: false,
        }
    }
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

    /// The line (1-based) where the value at `path` is written; 0 when it is nowhere.
    pub(super) fn line_of(&self, path: &str) -> usize {
        self.positions
            .value_offset(path)
            .or_else(|| self.positions.key_offset(path))
            .map_or(0, |at| self.source.line_col(at).line)
    }

    /// Reports a problem with the value at `path`.
    pub(super) fn at_value(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.value_span(path);
        pushed(&mut self.problems, Diagnostic::new(message, path, span))
    }

    /// Reports a problem with the key at `path` (a field that should not be there).
    pub(super) fn at_key(&mut self, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.key_span(path);
        pushed(&mut self.problems, Diagnostic::new(message, path, span))
    }

    /// A timeout written at `path` (`default` when it is not); one of zero is reported, and
    /// `default` stands in for it.
    pub(super) fn positive(
        &mut self,
        path: &str,
        duration: Option<RawDuration>,
        default: Duration,
    ) -> Duration {
        let Some(RawDuration(written)) = duration else {
            return default;
        };
        if self.check_timeout(path, written) {
            written
        } else {
            default
        }
    }

    /// Reports the timeout written at `path` if it is zero; true when it is longer.
    pub(super) fn check_timeout(&mut self, path: &str, timeout: Duration) -> bool {
        if timeout.is_zero() {
            self.at_value(path, "a timeout must be longer than zero");
        }
        !timeout.is_zero()
    }

    /// Runs `check` with the problems it finds held back, and gives them with its result, so
    /// that the caller can report others first and then these ([`Checker::report_held`]).
    pub(super) fn holding_problems<T>(
        &mut self,
        check: impl FnOnce(&mut Self) -> T,
    ) -> (T, Vec<Diagnostic>) {
        let earlier = std::mem::take(&mut self.problems);
        let value = check(self);
        let held = std::mem::replace(&mut self.problems, earlier);
        (value, held)
    }

    /// Reports problems held back by [`Checker::holding_problems`].
    pub(super) fn report_held(&mut self, held: Vec<Diagnostic>) {
        self.problems.extend(held);
    }

    /// Reports a problem that points at no place in the file.
    pub(super) fn report(&mut self, problem: Diagnostic) {
        self.problems.push(problem);
    }

    /// True while no problem has been found.
    pub(super) fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Warns about the value at `path`: the file runs, but probably not as meant.
    pub(super) fn warn_at_value(
        &mut self,
        path: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let span = self.value_span(path);
        let mut warning = Diagnostic::new(message, path, span);
        warning.severity = Severity::Warning;
        pushed(&mut self.warnings, warning)
    }

    /// The warnings found, with the file to show them in; `None` when there is none.
    pub(super) fn take_warnings(&mut self) -> Option<Diagnostics> {
        if self.warnings.is_empty() {
            return None;
        }
        Some(Diagnostics {
            source: self.source.clone(),
            items: std::mem::take(&mut self.warnings),
        })
    }

    /// Every problem found, in file order (problems at one place in the order found).
    pub(super) fn into_problems(mut self) -> Vec<Diagnostic> {
        self.problems
            .sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        self.problems
    }
}

/// `item`, pushed onto `list`, for the caller to add a label or help to.
fn pushed(list: &mut Vec<Diagnostic>, item: Diagnostic) -> &mut Diagnostic {
    let at = list.len();
    list.push(item);
    &mut list[at]
}
