//! `netlab completions`, `netlab man` and `netlab schema`: text generated from the definitions of
//! the command line and of the scenario format, written to stdout.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_mangen::roff::{Roff, bold, roman};

use super::args::Cli;
use crate::exit::Exit;

/// Runs `netlab completions SHELL`: the completion script of `shell`.
pub fn completions(shell: clap_complete::Shell) -> Exit {
    let mut script = Vec::new();
    clap_complete::aot::generate(shell, &mut Cli::command(), "netlab", &mut script);
    print_bytes(&script)
}

/// Runs `netlab man`: the manual page of netlab on stdout, or with `dir` the pages of netlab and
/// of each command written there (`netlab.1`, `netlab-run.1`…).
pub fn man(dir: Option<&Path>) -> Exit {
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    let Some(dir) = dir else {
        return print_bytes(&page(&top));
    };
    let mut commands = vec![top.clone()];
    commands.extend(top.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        for command in &commands {
            let name = command
                .get_display_name()
                .unwrap_or_else(|| command.get_name())
                .to_string();
            std::fs::write(dir.join(format!("{name}.1")), page(command))?;
        }
        Ok(())
    });
    match written {
        Ok(()) => Exit::Passed,
        Err(error) => {
            eprintln!(
                "error: cannot write the man pages into `{}`: {}",
                dir.display(),
                crate::diagnostic::io_reason(&error)
            );
            Exit::Environment
        }
    }
}

/// The manual page of `command`: clap's sections, then ENVIRONMENT and EXIT STATUS.
fn page(command: &clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    let rendered = (|| -> std::io::Result<()> {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut out)?;
        }
        if command.has_subcommands() {
            man.render_subcommands_section(&mut out)?;
        }
        environment(command).to_writer(&mut out)?;
        exit_status(command).to_writer(&mut out)?;
        if command.get_version().is_some() {
            man.render_version_section(&mut out)?;
        }
        Ok(())
    })();
    // Writing to memory does not fail; were it to, the page would be cut, not wrong.
    let _ = rendered;
    out
}

/// The ENVIRONMENT section: the variables every command reads, then this command's flags that a
/// `NETLAB_*` variable can give.
fn environment(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    let mut item = |name: &str, text: &str| {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(text)]);
    };
    item(
        "NO_COLOR",
        "when set and not empty, no colour (unless --color always).",
    );
    item(
        "CLICOLOR_FORCE, FORCE_COLOR",
        "when set (FORCE_COLOR: not 0 or false), colour even when the output is not a terminal.",
    );
    item("TERM", "dumb: no colour and no progress spinner.");
    item(
        "CI",
        "when set (not empty, 0 or false), or TF_BUILD is set: snapshots are never written, and a run that would write one fails instead.",
    );
    let loads = command.get_arguments().any(|a| a.get_id() == "vars");
    if loads || command.get_name() == "netlab" {
        item(
            "NETLAB_VAR_<NAME>",
            "a value for the scenario var NAME (also NETLAB_VAR_name), when --var does not give one.",
        );
        item(
            "NETLAB_HOST, NETLAB_PORT, NETLAB_TIME_SCALE",
            "given to programs under test: where to listen or connect, and the run's time scale.",
        );
    }
    if command.get_name() == "test" || command.get_name() == "netlab" {
        item(
            "GITHUB_ACTIONS, GITHUB_STEP_SUMMARY",
            "under GitHub Actions (true): netlab test prints an annotation per failure at its step's line, and appends a summary table to the file GITHUB_STEP_SUMMARY names.",
        );
    }
    let mut flags: Vec<(String, String)> = command
        .get_arguments()
        .filter_map(|arg| {
            Some((
                arg.get_env()?.to_string_lossy().into_owned(),
                arg.get_long()?.to_string(),
            ))
        })
        .collect();
    if command.get_name() == "test" {
        flags.extend(
            super::profile::GROUPED_ENVIRONMENT
                .iter()
                .map(|(env, long)| (env.to_string(), long.to_string())),
        );
    }
    for (env, long) in flags {
        item(
            &env,
            &format!(
                "the same as --{long}, when the command line does not give it (empty: unset; for a flag: true or false)."
            ),
        );
    }
    roff
}

/// The EXIT STATUS section: the command's exit codes as its help lists them.
fn exit_status(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    let codes = command
        .get_after_help()
        .map_or_else(|| crate::exit::EXIT_CODES.to_string(), |h| h.to_string());
    roff.control("nf", []);
    for line in codes.lines().skip_while(|l| l.ends_with(':')) {
        roff.text([roman(line)]);
        roff.control("br", []);
    }
    roff.control("fi", []);
    roff
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
