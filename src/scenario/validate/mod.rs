//! Validation: raw scenario → checked model. Every semantic rule of the format lives in this
//! module (names unique and resolvable, fields only where their protocol uses them, positive
//! timeouts, payload files readable…), one file per thing checked, all reporting to one
//! [`Checker`](checker::Checker); the shapes of check that recur across fields are in `fields`.
//!
//! Invariants:
//! - every problem found is reported, not just the first, each pointing at its key or value;
//!   they are listed in file order, and problems at one place (an alias points all those of
//!   what it repeats at itself) in a fixed order: a step's protocol, its `timeout`, its action;
//! - a scenario is returned only when no problem was found, so what is built from a wrong value
//!   (a default in its place, a count brought within bounds) never runs; a client whose server
//!   is unknown is not built at all;
//! - no payload is built once the file's payloads are found over the per-file cap (`budget`);
//! - warnings (what runs, but probably not as meant) are looked for in a valid scenario only.

mod budget;
mod captures;
mod checker;
mod clients;
mod faults;
mod fields;
mod names;
mod payloads;
mod pem;
mod programs;
mod redact;
mod scenario;
mod servers;
mod steps;
mod templates;
mod tls;
mod warnings;

pub use scenario::validate;
