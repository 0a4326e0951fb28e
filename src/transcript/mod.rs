//! The transcript stage: events → a deterministic, per-client account of a run (no ports, no
//! timestamps, no chunk boundaries), and its text. The live report uses the same descriptions.

mod build;
mod describe;
mod drawing;
mod render;
mod score;

pub use build::{Section, Transcript, Who, build, dead_program};
pub use describe::{
    Entry, Mark, describe_program_failure, describe_server_check, describe_server_event,
    describe_step_event, instance_label, program_failure_reason, program_status,
};
pub use drawing::{
    Arrow, ArrowKind, DRAWN_HEAD, DRAWN_TAIL, Drawing, HEX_LIMIT, Label, Tie, Toward, is_drawn,
};
pub use score::{Points, StepCounts, StepResult, StepStatus, count, points, step_results};
