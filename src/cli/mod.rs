//! The command line: clap types and dispatch. Each command loads, runs and reports through the
//! library and returns an exit code; the binary's `main` only calls [`main`].

mod app;
mod args;
mod new;
mod run;
mod serve;
mod test;

pub use app::main;
pub use args::*;
