//! Execution: runs a checked scenario on real sockets with one thread per server, per connection
//! and per client instance, all reporting `Event`s to one coordinator.

mod cancel;
mod client;
mod coordinator;
mod server;
mod settle;
mod socket;

pub use coordinator::{Outcome, RunOptions, Verdict, run};
