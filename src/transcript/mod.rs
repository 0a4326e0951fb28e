//! The transcript stage: events → a deterministic, per-client account of a run (no ports, no
//! timestamps, no chunk boundaries), and its text. The live report uses the same descriptions.

mod build;
mod describe;
mod render;
mod score;

pub use build::{Section, Transcript, build};
pub use describe::{Entry, Mark, describe_server_event, describe_step_event, instance_label};
pub use score::{StepCounts, StepResult, count, step_results};
