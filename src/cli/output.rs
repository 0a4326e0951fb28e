//! What every command writes: stdout and stderr with colour as the terminal, NO_COLOR or
//! `--color` say, a failure to write the report remembered for the exit code, and the words for a
//! run that could not be carried out.

use std::io::Write;
use std::path::Path;

use anstream::ColorChoice;

use crate::exit::Exit;
use crate::outcome::RunError;

/// Output streams that drop colour when the terminal, NO_COLOR or `--color` say so.
pub(super) struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
    /// Why stdout could not be written (a full disk, an I/O error), if it could not; a closed
    /// pipe (`| head`) is not a failure: the reader has all it wanted.
    lost: Option<String>,
}

impl Output {
    /// Both streams, coloured as `choice` says.
    pub(super) fn new(choice: ColorChoice) -> Self {
        Self {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
            lost: None,
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

    /// `exit`, or the environment's refusal if the report could not be written to stdout (a
    /// report nobody can read is not a pass).
    pub(super) fn unless_lost(&mut self, exit: Exit) -> Exit {
        match self.lost.take() {
            Some(reason) => {
                self.warn(&format!(
                    "error: cannot write the report to stdout: {reason}"
                ));
                exit.max(Exit::Environment)
            }
            None => exit,
        }
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
