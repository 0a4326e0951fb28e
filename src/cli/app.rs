//! The entry point and dispatch only: parse the command line, set up what every command runs
//! under (panics reported as bugs, detached programs adopted), call the command, end what is
//! left. What commands share lives in `output`, `loading` and `interrupt`; nothing imports this
//! module.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use super::args::{Cli, Command, VarArgs};
use super::color;
use super::profile::{self, ProfileError};
use crate::exit::Exit;
use crate::scenario::VarValues;

/// Parses the command line, runs the command, returns the process exit code.
pub fn main() -> ExitCode {
    say_panics_are_bugs();
    forget_empty_settings();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let var = |name: &str| std::env::var_os(name);
    let choice = color::choice(color::flag_in(&args, &var), &var);
    let matches = Cli::command()
        .color(color::for_clap(choice))
        .get_matches_from(&args);
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if let Command::Test(args) = &mut cli.command
        && let Some(test_matches) = matches.subcommand_matches("test")
        && let Err(ProfileError(message)) = profile::apply(args, test_matches)
    {
        eprintln!("{message}");
        return ExitCode::from(Exit::Input.code());
    }
    // Whatever a program under test detaches comes back to netlab, to be ended with the command.
    crate::exec::adopt_orphans();

    let exit = match cli.command {
        Command::Run(args) => super::run::run(&args, choice, &var_values(&args.var)),
        Command::Test(args) => super::test::test(&args, choice, &var_values(&args.var)),
        Command::Serve(args) => super::serve::serve(&args, choice, &var_values(&args.var)),
        Command::Check(args) => super::check::check(&args, choice, &var_values(&args.var)),
        Command::Review(args) => super::review::review(&args, choice),
        Command::Grade(args) => super::grade::grade(&args, choice, &var_values(&args.var)),
        Command::Lab(args) => super::lab::lab(&args, choice, &var_values(&args.var)),
        Command::New(args) => super::new::new(&args, choice),
        Command::Record(args) => super::record::record(&args, choice),
        Command::Completions { shell } => super::generate::completions(shell),
        Command::Schema => super::generate::schema(),
        Command::Man { dir } => super::generate::man(dir.as_deref()),
    };
    crate::exec::end_adopted();
    ExitCode::from(exit.code())
}

/// The values given for scenario vars: `--var`, then `NETLAB_VAR_*`.
fn var_values(given: &VarArgs) -> VarValues {
    // Environment variables that are not Unicode cannot be vars (std::env::vars would panic).
    let environment = std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
    given
        .vars
        .iter()
        .cloned()
        .collect::<VarValues>()
        .with_environment(environment)
}

/// Treats a `NETLAB_*` variable set to the empty string as unset, as CI matrices leave them
/// (`NETLAB_PARTITION=` in a job without shards): clap would read "" as the flag's value and
/// refuse it.
fn forget_empty_settings() {
    let empty: Vec<std::ffi::OsString> = std::env::vars_os()
        .filter(|(name, value)| {
            // An empty var is a value (`NETLAB_VAR_SUFFIX=`), as `--var suffix=` is.
            value.is_empty()
                && name.to_str().is_some_and(|n| {
                    n.starts_with("NETLAB_") && !n.starts_with(crate::scenario::ENVIRONMENT_PREFIX)
                })
        })
        .map(|(name, _)| name)
        .collect();
    for name in empty {
        // SAFETY: called first thing in `main`, before netlab starts any thread: no other thread
        // can be reading the environment while it changes.
        unsafe { std::env::remove_var(name) };
    }
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
