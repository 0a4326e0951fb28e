//! netlab: stage a network conversation from a file.
//!
//! A scenario file describes TCP and UDP servers to start and clients that talk to them. Either
//! side can be scripted by the file (greetings and rules that reply; steps that send and expect)
//! or be a program under test that netlab starts, talks to and grades (`exec:`). netlab runs it
//! with real sockets on `std::net` and threads and records a deterministic transcript of
//! everything that crossed every connection. The pipeline, one module per stage:
//!
//! ```text
//! path ─read─▶ source text ─load─▶ raw scenario (serde mirror)   [source, scenario::raw, scenario::load]
//!      ─validate─▶ Scenario (checked model)                       [scenario::validate, scenario::model]
//!      ─run─▶ threads recording Events on one queue               [exec, event; plan: real durations]
//!      ─▶ Outcome: the events and a Verdict                       [outcome]
//!      ─▶ Transcript (deterministic, per client)                  [transcript]
//!      ─▶ report (live view, verdict line, JSON, JUnit),          [report, snapshot, exit]
//!         snapshot comparison, exit code
//! ```
//!
//! `plan` is pure arithmetic that `exec` calls (the time scale applied to every declared
//! duration), not a stage with a type of its own. `event` and `outcome` are the whole contract
//! between `exec` and what follows it: the transcript, the reports, `suite` (many scenarios in
//! parallel, checked against their snapshots) and the exit code are built from an outcome alone.
//! `cli` is the command line over all of it.
//!
//! The library is what the `netlab` binary calls; tests and other Rust programs can call it too:
//! [`scenario::load_file`] then [`exec::run`] (or [`suite::run_case`], which also builds the
//! transcript and, if asked, compares it with its snapshot).

pub mod capture;
pub mod cli;
pub mod diagnostic;
pub mod difference;
pub mod escape;
pub mod event;
pub mod exec;
pub(crate) mod exit;
pub mod framing;
pub mod http;
pub mod matcher;
pub mod outcome;
pub(crate) mod pairing;
pub mod plan;
pub mod recording;
pub mod redact;
pub mod report;
pub mod scenario;
pub(crate) mod snapshot;
pub mod source;
pub mod suite;
pub mod template;
pub mod transcript;
