//! What a client instance tells the run: one event per step (a send reports before writing), how
//! many of the peer's bytes the steps have consumed so far (so that the transcript can place the
//! server's actions among the client's), and where in a `repeat` it is.

use crate::event::{EventKind, Failure, FailureKind, InstanceId, Origin, StepEvent, StepOutcome};
use crate::scenario::{Client, Step};

use super::super::context::Context;

/// A step failed (its failure is reported): the instance stops.
#[derive(Debug)]
pub(in crate::exec) struct Halt;

/// The result of one step: go on, or stop the instance.
pub(in crate::exec) type Proceed = Result<(), Halt>;

/// A client instance's voice.
pub(in crate::exec) struct Reporter<'a> {
    pub id: InstanceId,
    pub client: &'a Client,
    pub context: Context,
    /// Bytes from the peer consumed by the steps so far.
    pub consumed: u64,
    /// Inside a `repeat`: the current time through (1-based) of the innermost one; 0 outside.
    pub iteration: u64,
    /// In a repeat's second and later times through: steps that pass are not reported (failures
    /// are, and the repeat reports its count).
    pub passes_unreported: bool,
    /// Datagrams sent while `passes_unreported` (reported with the repeat, for the end of the run).
    pub unreported_datagrams: u64,
    /// The values the steps captured so far, by slot (`Client::captures`).
    pub captured: Vec<Option<Vec<u8>>>,
}

impl Reporter<'_> {
    /// Reports `outcome` of step `step` (`None`: the connect).
    pub fn report(&self, step: Option<usize>, outcome: StepOutcome) {
        if self.passes_unreported && !matches!(outcome, StepOutcome::Failed(_)) {
            return;
        }
        let shown = match &outcome {
            StepOutcome::Failed(failure) => failure.received.len() as u64,
            _ => 0,
        };
        let read_to_close = matches!(
            step.and_then(|i| self.client.steps_of(self.id.instance).get(i)),
            Some(Step::ReadToClose { .. })
        );
        // A program under test's whole conversation happened before it exited.
        let program_over = matches!(
            &outcome,
            StepOutcome::ProgramExited { .. }
                | StepOutcome::Failed(Failure {
                    kind: FailureKind::ProgramTimeout(_),
                    ..
                })
        );
        let depends_on_close = match &outcome {
            _ if program_over => true,
            // A reset is the peer's close too: what the server did before it came first.
            StepOutcome::PeerClosed | StepOutcome::Reset => true,
            StepOutcome::Matched(_) => read_to_close,
            StepOutcome::Failed(failure) => {
                matches!(
                    failure.kind,
                    FailureKind::PeerClosed | FailureKind::ClosedNotReset
                ) || (read_to_close && failure.kind == FailureKind::Mismatch)
            }
            _ => false,
        };
        self.context.emit(
            Origin::Instance(self.id),
            EventKind::Step(StepEvent {
                step,
                outcome,
                depends_on_bytes: if program_over {
                    u64::MAX
                } else {
                    self.consumed + shown
                },
                depends_on_close,
                iteration: self.iteration,
            }),
        );
    }

    /// Reports that step `step` failed as `kind`, having received `received` (a stop of the run
    /// is reported as such, whatever else failed with it).
    pub fn fail(&self, step: Option<usize>, kind: FailureKind, received: Vec<u8>) -> Proceed {
        let kind = if self.context.cancel.is_set() {
            FailureKind::Stopped
        } else {
            kind
        };
        self.report(
            step,
            StepOutcome::Failed(Failure {
                kind,
                received,
                captured: self.captured.clone(),
            }),
        );
        Err(Halt)
    }

    /// Saves the values step `index` captures from `matched` (the bytes it consumed); the step
    /// fails if one cannot be taken (a later step would use a value that is not there).
    pub fn capture(&mut self, index: usize, matched: &[u8]) -> Proceed {
        let steps = self.client.steps_of(self.id.instance);
        let Some(step) = steps.get(index) else {
            return Ok(());
        };
        let (_, part) = step.captured_part(matched);
        for capture in step.captures() {
            match capture.take(&part) {
                Ok((_, value)) => {
                    if let Some(slot) = self.captured.get_mut(capture.slot) {
                        *slot = Some(value);
                    }
                }
                Err(why) => {
                    return self.fail(
                        Some(index),
                        FailureKind::CaptureFailed(format!("capture `{}`: {why}", capture.name)),
                        matched.to_vec(),
                    );
                }
            }
        }
        Ok(())
    }

    /// Reports that step `index` consumed `bytes` of the peer's and passed with them.
    pub fn matched(&mut self, index: usize, bytes: Vec<u8>) {
        self.consumed += bytes.len() as u64;
        self.report(Some(index), StepOutcome::Matched(bytes));
    }
}
