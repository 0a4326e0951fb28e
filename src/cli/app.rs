//! Dispatch and what every command shares: the output streams, loading files, exit-code ranking,
//! the Ctrl-C channel.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anstream::ColorChoice;
use clap::{CommandFactory, Parser};
use std::sync::atomic::{AtomicI32, Ordering};

use crossbeam::channel::{Receiver, bounded};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::args::{CheckArgs, Cli, Color, Command};
use crate::exit::{Exit, Signal};
use crate::scenario::{LoadError, NeededVars, Scenario, VarValues, load_file_needing};

/// Parses the command line, runs the command, returns the process exit code.
pub fn main() -> ExitCode {
    say_panics_are_bugs();
    let cli = Cli::parse();
    // Whatever a program under test detaches comes back to netlab, to be ended with the command.
    crate::exec::adopt_orphans();
    let choice = match cli.color {
        Color::Auto => ColorChoice::Auto,
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
    };
    let vars: VarValues = cli.vars.into_iter().collect();
    let exit = match cli.command {
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
                Err(_) => Exit::Environment,
            }
        }
    };
    crate::exec::end_adopted();
    ExitCode::from(exit.code())
}

/// Makes every panic (in any thread) say, after the usual message, that it is netlab's bug and
/// how to report it. A panic on the main thread exits with 101 (Rust's code for it, which
/// `Exit::Bug` shares); a panic in a run's thread ends that run with `RunError::Bug`.
fn say_panics_are_bugs() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!(
            "this is a bug in netlab: please report it with the scenario, and the output of the \
             same command with RUST_BACKTRACE=1"
        );
    }));
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> Exit {
    let _ = std::io::stdout().write_all(bytes);
    Exit::Passed
}

/// Output streams that drop colour when the terminal, NO_COLOR or `--color` say so.
pub(super) struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
    /// Why stdout could not be written (a full disk, an I/O error), if it could not; a closed
    /// pipe (`| head`) is not a failure: the reader has all it wanted.
    lost: Option<String>,
}

impl Output {
    pub(super) fn new(choice: ColorChoice) -> Self {
        Self {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
            lost: None,
        }
    }

    /// Writes a line to stdout, noting (not panicking on) a failure to.
    pub(super) fn say(&mut self, line: &str) {
        let written = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
        if let Err(error) = written
            && error.kind() != std::io::ErrorKind::BrokenPipe
            && self.lost.is_none()
        {
            self.lost = Some(crate::diagnostic::io_reason(&error));
        }
    }

    pub(super) fn warn(&mut self, text: &str) {
        let _ = write!(self.err, "{text}");
        if !text.ends_with('\n') {
            let _ = writeln!(self.err);
        }
    }

    /// `exit`, or the environment's refusal if the report could not be written to stdout (a
    /// report nobody can read is not a pass).
    pub(super) fn unless_lost(&mut self, exit: Exit) -> Exit {
        match self.lost.take() {
            Some(reason) => {
                self.warn(&format!(
                    "error: cannot write the report to stdout: {reason}"
                ));
                exit.max(Exit::Environment)
            }
            None => exit,
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
            Ok(scenario) => {
                if let Some(warnings) = &scenario.warnings {
                    output.warn(&warnings.render_warnings(true));
                }
                scenarios.push(Arc::new(scenario));
            }
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

fn check(args: &CheckArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
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
            Exit::Passed
        }
        None => Exit::Input,
    }
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP: a channel that closes on the first of them, waking every run that
/// waits on it at once, and which of them it was, for the exit code. The handlers stay installed,
/// so a second signal does not kill netlab halfway through stopping what it started.
#[derive(Clone)]
pub(super) struct Interrupt {
    /// Closes on the first signal.
    pub(super) receiver: Receiver<()>,
    /// 0 until a signal came, then its number.
    signal: Arc<AtomicI32>,
}

impl Interrupt {
    /// Installs the handlers; `None` if they cannot be installed (runs then cannot be stopped
    /// cleanly, only killed).
    pub(super) fn install() -> Option<Interrupt> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).ok()?;
        let (tx, receiver) = bounded::<()>(0);
        let signal = Arc::new(AtomicI32::new(0));
        let seen = signal.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sender = Some(tx);
                for number in signals.forever() {
                    let _ = seen.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
                    sender.take();
                }
            })
            .ok()?;
        Some(Interrupt { receiver, signal })
    }

    /// The exit of a command that was interrupted, if it was.
    pub(super) fn exit(&self) -> Option<Exit> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            SIGTERM => Some(Exit::Interrupted(Signal::Terminate)),
            SIGHUP => Some(Exit::Interrupted(Signal::Hangup)),
            _ => Some(Exit::Interrupted(Signal::Interrupt)),
        }
    }

    /// Whether a signal came.
    pub(super) fn fired(&self) -> bool {
        self.exit().is_some()
    }
}

/// The receiver of `interrupt`, for `RunOptions`.
pub(super) fn receiver(interrupt: Option<&Interrupt>) -> Option<Receiver<()>> {
    interrupt.map(|i| i.receiver.clone())
}

/// `exit`, made `Interrupted` if a signal came meanwhile.
pub(super) fn unless_interrupted(exit: Exit, interrupt: Option<&Interrupt>) -> Exit {
    match interrupt.and_then(Interrupt::exit) {
        Some(interrupted) => exit.max(interrupted),
        None => exit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
