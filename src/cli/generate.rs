//! `netlab completions`, `netlab man` and `netlab schema`: text generated from the definitions of
//! the command line and of the scenario format, written to stdout.

use std::io::Write;

use clap::CommandFactory;

use super::args::Cli;
use crate::exit::Exit;

/// Runs `netlab completions SHELL`: the completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::aot::generate(shell, &mut Cli::command(), "netlab", &mut script);
    print_bytes(&script)
}

/// Runs `netlab man`: the manual page.
pub fn man() -> Exit {
    let mut page = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut page) {
        Ok(()) => print_bytes(&page),
        Err(_) => Exit::Environment,
    }
}

/// Runs `netlab schema`: the JSON Schema of the scenario format.
pub fn schema() -> Exit {
    print_bytes(crate::scenario::schema::scenario_schema().as_bytes())
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> Exit {
    let _ = std::io::stdout().write_all(bytes);
    Exit::Passed
}
