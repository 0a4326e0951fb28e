//! Validation: raw scenario → checked model. Every semantic rule of the format lives in this
//! module (names unique and resolvable, fields only where their protocol uses them, positive
//! timeouts, payload files readable…), one file per thing checked, all reporting to one
//! [`Checker`](checker::Checker).
//!
//! Invariants:
//! - every problem found is reported, not just the first, each pointing at its key or value;
//!   they are listed in file order, and problems at one place in the order they were found;
//! - a scenario is returned only when no problem was found: a value that stands in for a wrong
//!   one (a default for a zero timeout, say) never runs;
//! - no payload is built once the file's payloads are found over the per-file cap (`budget`);
//! - warnings (what runs, but probably not as meant) are looked for in a valid scenario only.

mod budget;
mod checker;
mod clients;
mod faults;
mod fields;
mod names;
mod payloads;
mod programs;
mod scenario;
mod servers;
mod steps;
mod warnings;

pub use clients::{DEFAULT_MAX_RECEIVED, DEFAULT_STEP_TIMEOUT};
pub use programs::{DEFAULT_READY_AFTER, DEFAULT_READY_TIMEOUT};
pub use scenario::{DEFAULT_SCENARIO_TIMEOUT, validate};
pub use servers::{DEFAULT_BACKLOG, DEFAULT_READ_SIZE};
