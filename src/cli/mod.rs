//! The command line: clap types, dispatch, and one module per command. Each command loads, runs
//! and reports through the library and returns an exit code; the binary's `main` only calls
//! [`main`]. Imports flow one way: `app` dispatches to the commands, and the commands take what
//! they share from `output`, `loading` and `interrupt`.

mod app;
mod args;
mod check;
mod class;
mod color;
mod generate;
mod grade;
mod gradescope;
mod interrupt;
mod lab;
mod loading;
mod new;
mod output;
mod profile;
mod record;
mod reports;
mod review;
mod run;
mod serve;
mod test;

pub use app::main;
pub use args::*;
