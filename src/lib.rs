//! netlab: stage a network conversation from a file.
//!
//! A scenario file describes TCP servers to start and clients that talk to them. netlab runs it
//! with real sockets on `std::net` and threads and records a deterministic transcript of
//! everything that crossed every connection. The pipeline, one module per stage:
//!
//! ```text
//! path ─read─▶ source text ─load─▶ raw scenario (serde mirror)  [source, scenario::raw, scenario::load]
//!      ─validate─▶ Scenario (checked model)                       [scenario::validate, scenario::model]
//!      ─plan─▶ Plan (time scale applied: pure)                    [plan]
//!      ─run─▶ threads recording Events on one queue              [exec, event]
//!      ─▶ Transcript (deterministic, per client)                  [transcript]
//!      ─▶ report (human text, live or final) and exit code        [report]
//! ```
//!
//! The library is what the `netlab` binary calls; tests and other Rust programs can call it too:
//! [`scenario::load_file`] then [`exec::run`].

pub mod cli;
pub mod diagnostic;
pub mod escape;
pub mod event;
pub mod exec;
pub mod exit;
pub mod matcher;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod snapshot;
pub mod source;
pub mod suite;
pub mod transcript;
