//! What a run gives back: its verdict and events (`Outcome`), or why it could not be carried out
//! (`RunError`); and the two questions asked of an outcome afterwards: did the environment refuse
//! a client, did a program under test fail. With `event`, this is the whole contract between
//! `exec` and what comes after it (transcript, report, suite, exit code): they are built from an
//! outcome alone and never reach into `exec`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::event::{Event, EventKind, FailureKind, Origin, ProgramFailure, StepOutcome};
use crate::scenario::{Scenario, Target};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every client instance passed (or, with no clients, the servers ran until stopped).
    Passed,
    /// At least one client instance failed.
    Failed,
    /// The scenario's timeout passed before every client finished.
    TimedOut(Duration),
    /// The run was interrupted before every client finished.
    Interrupted,
}

impl Verdict {
    /// True for `Passed`.
    pub fn passed(&self) -> bool {
        *self == Verdict::Passed
    }
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every event, in the order the coordinator received them.
    pub events: Vec<Event>,
    /// How it ended.
    pub verdict: Verdict,
    /// Each server's bound address, in scenario order (`None`: a server outside the run).
    pub addresses: Vec<Option<SocketAddr>>,
}

impl Outcome {
    /// What the environment refused a client, so that the run could not hold its conversation at
    /// all: a connection to an address outside the scenario or to a server `--target` points
    /// outside the run (nobody listening, an unknown host, an unreachable address), or a client
    /// program that cannot be executed. A connection refused
    /// by a scenario's own server is not the environment's doing: a program under test that does
    /// not listen has failed.
    pub fn environment_refusal(&self, scenario: &Scenario) -> Option<String> {
        self.events.iter().find_map(|event| {
            let (Origin::Instance(id), EventKind::Step(step)) = (&event.origin, &event.kind) else {
                return None;
            };
            let StepOutcome::Failed(failure) = &step.outcome else {
                return None;
            };
            let outside = scenario
                .clients
                .get(id.client)
                .is_some_and(|c| match c.target {
                    Target::Address(_) => true,
                    // Pointed outside the run with `--target`: nobody there is the environment's.
                    Target::Server(server) => scenario
                        .servers
                        .get(server)
                        .is_some_and(|s| s.outside.is_some()),
                });
            match &failure.kind {
                FailureKind::ConnectFailed(reason) if outside => {
                    Some(format!("a client could not connect: {reason}"))
                }
                FailureKind::ProgramStart(reason) => Some(reason.clone()),
                _ => None,
            }
        })
    }

    /// The first program under test that failed, if one did.
    pub fn program_failure(&self) -> Option<(usize, &ProgramFailure)> {
        self.events
            .iter()
            .find_map(|event| match (&event.origin, &event.kind) {
                (Origin::Server(index), EventKind::ProgramFailed(failure)) => {
                    Some((*index, failure))
                }
                _ => None,
            })
    }
}

/// Why a run could not be carried out (it is not a verdict on the scenario).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The environment refused something (a port in use, an address not available, a program
    /// that cannot be executed): nothing, or not enough, could run.
    Refused(String),
    /// A thread of netlab panicked: a bug in netlab.
    Bug(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Refused(reason) | RunError::Bug(reason) => f.write_str(reason),
        }
    }
}
