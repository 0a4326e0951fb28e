//! What every command writes: stdout and stderr with colour as the terminal, NO_COLOR or
//! `--color` say, a failure to write the report and a bug said remembered for the exit code, and
//! the words for a run that could not be carried out.

use std::io::Write;
use std::path::Path;

use anstream::ColorChoice;

use crate::exit::{Bug, Exit};
use crate::outcome::RunError;

/// Output streams that drop colour when the terminal, NO_COLOR or `--color` say so.
pub(super) struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
    /// Why stdout could not be written (a full disk, an I/O error), if it could not; a closed
    /// pipe (`| head`) is not a failure: the reader has all it wanted.
    lost: Option<String>,
    /// Whether a bug in netlab was said (`bug`): the command then ends with `Exit::Bug`.
    bug: bool,
    /// Whether warnings about the files go unsaid (`run -q`: the verdict line alone).
    warnings_hidden: bool,
}

impl Output {
    /// Both streams, coloured as `choice` says.
    pub(super) fn new(choice: ColorChoice) -> Self {
        Self {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
            lost: None,
            bug: false,
            warnings_hidden: false,
        }
    }

    /// Says no warning about the files from now on (`run -q`).
    pub(super) fn hide_warnings(&mut self) {
        self.warnings_hidden = true;
    }

    /// Writes a warning about a file to stderr, unless warnings are hidden.
    pub(super) fn warn_of_file(&mut self, text: &str) {
        if !self.warnings_hidden {
            self.warn(text);
        }
    }

    /// Writes a line to stdout, noting (not panicking on) a failure to.
    pub(super) fn say(&mut self, line: &str) {
        let written = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        if let Err(error) = written
            && error.kind() != std::io::ErrorKind::BrokenPipe
            && self.lost.is_none()
        {
            self.lost = Some(crate::diagnostic::io_reason(&error));
        }
    }

    /// Writes `text` to stderr, ending its line if it does not; stderr failing is not noted
    /// (there is nowhere left to say so).
    pub(super) fn warn(&mut self, text: &str) {
        let _ = write!(self.err, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(self.err);
        }
    }

    /// Writes `line` to stdout, or, if netlab could not make it, says so as a `bug`.
    pub(super) fn say_made(&mut self, line: Result<String, Bug>) {
        match line {
            Ok(line) => self.say(&line),
            Err(bug) => self.bug(&bug),
        }
    }

    /// Says on stderr that netlab hit a bug, and remembers it for the exit code.
    pub(super) fn bug(&mut self, bug: &Bug) {
        self.warn(&format!("error: {bug}"));
        self.bug = true;
    }

    /// `exit`, made worse by what went wrong with the output: the environment's refusal if the
    /// report could not be written to stdout (a report nobody can read is not a pass), a bug if
    /// one was said.
    pub(super) fn unless_output_failed(&mut self, exit: Exit) -> Exit {
        let exit = match self.lost.take() {
            Some(reason) => {
                self.warn(&format!(
                    "error: cannot write the report to stdout: {reason}"
                ));
                exit.max(Exit::Environment)
            }
            None => exit,
        };
        if self.bug { exit.max(Exit::Bug) } else { exit }
    }
}

/// An error that stopped a run, for stderr: the environment's refusal, or netlab's own bug.
pub(super) fn run_error_text(path: &Path, error: &RunError) -> String {
    match error {
        RunError::Refused(reason) => format!("error: {}: {reason}", path.display()),
        RunError::Bug(reason) => format!(
            "error: {}: {reason}\n  this is a bug in netlab: please report it, with the scenario \
             and the output of the same run with RUST_BACKTRACE=1",
            path.display()
        ),
    }
}
