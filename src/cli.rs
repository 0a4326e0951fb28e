//! The command line: clap types and dispatch. Each command loads, runs and reports through the
//! library and returns an exit code; `main` only calls `cli::main`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anstream::ColorChoice;
use clap::{Args, Parser, Subcommand, ValueEnum};
use crossbeam::channel::{Receiver, bounded};

use crate::exec::{self, RunOptions};
use crate::plan::{TimeScale, parse_time_scale};
use crate::report::{LiveView, verdict_line};
use crate::scenario::{LoadError, Scenario, load_file};
use crate::transcript;

/// Exit codes, as documented in `--help`.
pub mod code {
    /// Every scenario passed.
    pub const PASSED: u8 = 0;
    /// A scenario failed.
    pub const FAILED: u8 = 1;
    /// The input is wrong (usage, unreadable file, invalid scenario); nothing ran.
    pub const INPUT: u8 = 2;
    /// The environment refused (port in use, address not available, permission denied).
    pub const ENVIRONMENT: u8 = 3;
}

const EXIT_CODES: &str = "Exit codes:
  0  every scenario passed
  1  a scenario failed
  2  the input is wrong (usage, unreadable file, invalid scenario): nothing ran
  3  the environment refused (port in use, address not available, permission denied)";

/// Stage a network conversation from a file: start the servers and clients a scenario
/// describes, on real sockets, and show what crossed every connection.
#[derive(Debug, Parser)]
#[command(name = "netlab", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// When to colour the output (`auto` follows the terminal and NO_COLOR).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios, printing what happens as it happens, then a verdict per scenario.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Load and validate scenarios without opening any socket.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

/// Arguments of `netlab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files to run, one after the other.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Multiply every declared delay, sleep and timeout by FACTOR (0.01 runs 100× faster);
    /// transcripts keep the declared values.
    #[arg(long, value_name = "FACTOR", env = "NETLAB_TIME_SCALE", value_parser = parse_time_scale)]
    pub time_scale: Option<TimeScale>,
    /// Print the deterministic transcript after each run instead of the live view.
    #[arg(long)]
    pub transcript: bool,
}

/// Arguments of `netlab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Parses the command line, runs the command, returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let choice = match cli.color {
        Color::Auto => ColorChoice::Auto,
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
    };
    let code = match cli.command {
        Command::Run(args) => run(&args, choice),
        Command::Check(args) => check(&args, choice),
    };
    ExitCode::from(code)
}

/// Output streams that drop colour when the terminal, NO_COLOR or `--color` say so.
struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
}

impl Output {
    fn new(choice: ColorChoice) -> Self {
        Self {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
        }
    }

    /// Writes a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    fn warn(&mut self, text: &str) {
        let _ = write!(self.err, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(self.err);
        }
    }
}

/// Loads every file; prints every problem; `None` if any file is wrong.
fn load_all(files: &[PathBuf], output: &mut Output) -> Option<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let mut wrong = false;
    for file in files {
        match load_file(file) {
            Ok(scenario) => scenarios.push(scenario),
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

fn check(args: &CheckArgs, choice: ColorChoice) -> u8 {
    let mut output = Output::new(choice);
    match load_all(&args.files, &mut output) {
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

fn run(args: &RunArgs, choice: ColorChoice) -> u8 {
    let mut output = Output::new(choice);
    let Some(scenarios) = load_all(&args.files, &mut output) else {
        return code::INPUT;
    };
    let interrupt = interrupt_channel();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: interrupt.clone(),
    };
    let mut worst = code::PASSED;
    for scenario in &scenarios {
        if interrupt.as_ref().is_some_and(|rx| !rx.is_empty()) {
            break;
        }
        let code = run_one(scenario, &options, args.transcript, &mut output);
        worst = worse(worst, code);
    }
    worst
}

fn run_one(
    scenario: &Scenario,
    options: &RunOptions,
    transcript_only: bool,
    output: &mut Output,
) -> u8 {
    if !transcript_only {
        output.say(&format!(
            "── {} ({})",
            scenario.name,
            scenario.path.display()
        ));
        if let Some(description) = &scenario.description {
            for line in description.trim_end().lines() {
                output.say(&format!("   {line}"));
            }
        }
    }
    let started = Instant::now();
    let mut live = LiveView::new(scenario);
    let result = exec::run(scenario, options, &mut |event| {
        if transcript_only {
            if let crate::event::EventKind::Listening { addr } = &event.kind
                && let crate::event::Origin::Server(i) = event.origin
            {
                output.warn(&format!("{} listening on {addr}", scenario.servers[i].name));
            }
        } else {
            for line in live.lines(event, true) {
                output.say(&line);
            }
        }
    });
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            output.warn(&format!("error: {}: {error:#}", scenario.path.display()));
            return code::ENVIRONMENT;
        }
    };
    if transcript_only {
        output.say(&transcript::build(scenario, &outcome.events, &outcome.verdict).render(true));
    } else {
        for line in live.finish(true) {
            output.say(&line);
        }
    }
    output.say(&verdict_line(
        scenario,
        &outcome.verdict,
        started.elapsed(),
        true,
    ));
    if outcome.verdict.passed() {
        code::PASSED
    } else {
        code::FAILED
    }
}

/// The more serious of two exit codes (environment > input > failed > passed).
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        code::ENVIRONMENT => 3,
        code::INPUT => 2,
        code::FAILED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// A channel that receives a message on Ctrl-C or SIGTERM (`None` if a handler cannot be set).
fn interrupt_channel() -> Option<Receiver<()>> {
    let (tx, rx) = bounded(1);
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
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
