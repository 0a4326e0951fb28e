//! The exit code of a command: one type ordered by severity, one function from a scenario's
//! result to it, and the numbers in one place (`--help` lists them from here).

use crate::outcome::{RunError, Verdict};
use crate::suite::{CaseResult, SnapshotCheck};

/// A signal that interrupted netlab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: a polite stop from a supervisor (CI, a timeout, `kill`).
    Terminate,
    /// SIGHUP: the terminal went away (a closed window, a dropped ssh session).
    Hangup,
}

/// How a command ended, from the least to the most serious: the worse of several results is
/// their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every scenario passed (and matched its snapshot).
    Passed,
    /// A scenario failed: a step, a program under test, a snapshot.
    Failed,
    /// A path or filter matched no scenario.
    NothingMatched,
    /// The input is wrong (usage, unreadable file, invalid scenario): nothing ran.
    Input,
    /// The environment refused (port in use, address not available, a command that cannot be
    /// executed).
    Environment,
    /// A signal stopped netlab (after it cleaned up).
    Interrupted(Signal),
    /// netlab itself failed: a bug.
    Bug,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Passed => 0,
            Exit::Failed => 1,
            Exit::Input => 2,
            Exit::Environment => 3,
            Exit::NothingMatched => 4,
            Exit::Bug => 101,
            // 128 + the signal's number, as shells report a command a signal ended.
            Exit::Interrupted(Signal::Interrupt) => 130,
            Exit::Interrupted(Signal::Terminate) => 143,
            Exit::Interrupted(Signal::Hangup) => 129,
        }
    }

    /// The exit of a run that could not be carried out.
    pub fn of_error(error: &RunError) -> Exit {
        match error {
            RunError::Refused(_) => Exit::Environment,
            RunError::Bug(_) => Exit::Bug,
        }
    }

    /// The exit of one scenario's result. An interrupted run is a failure here; the command
    /// makes its exit `Interrupted` once it knows the signal.
    pub fn of(result: &CaseResult) -> Exit {
        // Not started because others failed: their failures carry the exit.
        if result.skipped {
            return Exit::Passed;
        }
        match (&result.verdict, &result.snapshot) {
            (Err(error), _) => Exit::of_error(error),
            (_, Some(SnapshotCheck::Unreadable(_))) => Exit::Environment,
            (Ok(Verdict::Passed), None | Some(SnapshotCheck::Matches | SnapshotCheck::Written)) => {
                Exit::Passed
            }
            (Ok(_), _) => Exit::Failed,
        }
    }
}

/// A case that netlab's own code rules out, found to happen anyway: a bug in netlab, not a
/// problem of the input or of the environment. It is said as such, never replaced by an empty
/// value, and ends the command with `Exit::Bug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bug(pub String);

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n  this is a bug in netlab: please report it, with the scenario and the command",
            self.0
        )
    }
}

/// The text of `--help` about exit codes.
pub const EXIT_CODES: &str = "Exit codes:
  0    every scenario passed
  1    a scenario failed (a step, a program under test that crashed, exited or never got
       ready; under `netlab test`, also: its transcript differs from its snapshot)
  2    the input is wrong (usage, unreadable file, invalid scenario): nothing ran
  3    the environment refused (port in use, address not available, a command that cannot be
       executed, a client found nobody to connect to outside the scenario)
  4    a path or filter matched no scenario (netlab test)
  101  netlab failed: this is a bug in netlab (run with RUST_BACKTRACE=1 and report it)
  129  the terminal hung up (SIGHUP), after stopping everything it started
  130  interrupted by Ctrl-C (SIGINT), after stopping everything it started
  143  stopped by SIGTERM, after stopping everything it started";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_is_101_and_a_refusal_3() {
        // Before: a panicked netlab thread was "the environment refused", exit 3.
        assert_eq!(
            Exit::of_error(&RunError::Bug("panicked".into())).code(),
            101
        );
        assert_eq!(Exit::of_error(&RunError::Refused("port".into())).code(), 3);
        assert_eq!(Exit::Interrupted(Signal::Interrupt).code(), 130);
        assert_eq!(Exit::Interrupted(Signal::Terminate).code(), 143);
    }

    #[test]
    fn a_bug_says_it_is_one() {
        let text = Bug("the JSON report of `x` could not be made".into()).to_string();
        assert!(text.starts_with("the JSON report of `x`"), "{text}");
        assert!(text.contains("this is a bug in netlab"), "{text}");
    }

    #[test]
    fn the_worse_exit_is_the_larger() {
        assert!(Exit::Failed > Exit::Passed);
        assert!(Exit::Environment > Exit::Failed);
        assert!(Exit::Interrupted(Signal::Interrupt) > Exit::Environment);
        assert!(Exit::Bug > Exit::Interrupted(Signal::Terminate));
        assert_eq!(
            [Exit::Failed, Exit::Environment, Exit::Passed]
                .into_iter()
                .max(),
            Some(Exit::Environment)
        );
    }
}
