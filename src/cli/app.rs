//! Dispatch and what every command shares: the output streams, loading files, exit-code ranking,
//! the Ctrl-C channel.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anstream::ColorChoice;
use clap::{CommandFactory, Parser};
use crossbeam::channel::{Receiver, bounded};

use super::args::{CheckArgs, Cli, Color, Command, code};
use crate::scenario::{LoadError, NeededVars, Scenario, VarValues, load_file_needing};

/// Parses the command line, runs the command, returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let choice = match cli.color {
        Color::Auto => ColorChoice::Auto,
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
    };
    let vars: VarValues = cli.vars.into_iter().collect();
    let code = match cli.command {
        Command::Run(args) => super::run::run(&args, choice, &vars),
        Command::Test(args) => super::test::test(&args, choice, &vars),
        Command::Serve(args) => super::serve::serve(&args, choice, &vars),
        Command::Check(args) => check(&args, choice, &vars),
        Command::New(args) => super::new::new(&args, choice),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::aot::generate(shell, &mut Cli::command(), "netlab", &mut script);
            print_bytes(&script)
        }
        Command::Schema => print_bytes(crate::scenario::schema::scenario_schema().as_bytes()),
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(_) => code::ENVIRONMENT,
            }
        }
    };
    ExitCode::from(code)
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> u8 {
    let _ = std::io::stdout().write_all(bytes);
    code::PASSED
}

/// Output streams that drop colour when the terminal, NO_COLOR or `--color` say so.
pub(super) struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
}

impl Output {
    pub(super) fn new(choice: ColorChoice) -> Self {
        Self {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
        }
    }

    /// Writes a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
    pub(super) fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    pub(super) fn warn(&mut self, text: &str) {
        let _ = write!(self.err, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(self.err);
        }
    }
}

/// Below this many files per CPU, loading them on one thread is quicker than starting others.
const FILES_PER_LOADER: usize = 16;

/// Loads every file to run all of it (every program's vars need a value), on every CPU when
/// there are many; prints every problem, in file order; `None` if any file is wrong.
pub(super) fn load_all(
    files: &[PathBuf],
    vars: &VarValues,
    output: &mut Output,
) -> Option<Vec<Arc<Scenario>>> {
    load_all_needing(files, vars, &NeededVars::All, output)
}

/// Like [`load_all`], with `needed` saying whose vars need a value.
pub(super) fn load_all_needing(
    files: &[PathBuf],
    vars: &VarValues,
    needed: &NeededVars,
    output: &mut Output,
) -> Option<Vec<Arc<Scenario>>> {
    // (Asking for the CPU count reads cgroup files: not worth it for a few files.)
    let workers = if files.len() >= 2 * FILES_PER_LOADER {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(files.len() / FILES_PER_LOADER)
    } else {
        1
    };
    let loaded: Vec<_> = if workers > 1 {
        let per_worker = files.len().div_ceil(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(per_worker)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|file| load_file_needing(file, vars, needed))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().unwrap_or_default())
                .collect()
        })
    } else {
        files
            .iter()
            .map(|file| load_file_needing(file, vars, needed))
            .collect()
    };
    if loaded.len() != files.len() {
        output.warn("error: a file could not be loaded (netlab bug: a loader thread panicked)");
        return None;
    }
    let mut scenarios = Vec::new();
    let mut wrong = false;
    for result in loaded {
        match result {
            Ok(scenario) => scenarios.push(Arc::new(scenario)),
            Err(LoadError::Invalid(diagnostics)) => {
                wrong = true;
                output.warn(&diagnostics.render(true));
            }
            Err(error) => {
                wrong = true;
                output.warn(&error.to_string());
            }
        }
    }
    (!wrong).then_some(scenarios)
}

fn check(args: &CheckArgs, choice: ColorChoice, vars: &VarValues) -> u8 {
    let mut output = Output::new(choice);
    // Checking runs nothing: a var may wait for its value (an exercise before any solution).
    match load_all_needing(&args.files, vars, &NeededVars::None, &mut output) {
        Some(scenarios) => {
            for scenario in &scenarios {
                output.say(&format!(
                    "ok {} ({}): {} server(s), {} client(s)",
                    scenario.name,
                    scenario.path.display(),
                    scenario.servers.len(),
                    scenario.clients.len()
                ));
            }
            code::PASSED
        }
        None => code::INPUT,
    }
}

/// The more serious of two exit codes (environment > input > failed > passed).
pub(super) fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        code::ENVIRONMENT => 3,
        code::INPUT => 2,
        code::FAILED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// A channel that closes on Ctrl-C or SIGTERM, waking every run that waits on it at once
/// (`None` if a handler cannot be set).
pub(super) fn interrupt_channel() -> Option<Receiver<()>> {
    let (tx, rx) = bounded::<()>(0);
    let mut sender = Some(tx);
    ctrlc::set_handler(move || {
        sender.take();
    })
    .ok()?;
    Some(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn environment_errors_outrank_failures() {
        assert_eq!(worse(code::FAILED, code::ENVIRONMENT), code::ENVIRONMENT);
        assert_eq!(worse(code::ENVIRONMENT, code::PASSED), code::ENVIRONMENT);
        assert_eq!(worse(code::PASSED, code::FAILED), code::FAILED);
    }
}
