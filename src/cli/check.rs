//! `netlab check`: load and validate files without running anything, one line per scenario.

use anstream::ColorChoice;

use super::args::CheckArgs;
use super::loading::{load_all_needing, scenario_files};
use super::output::Output;
use crate::exit::Exit;
use crate::scenario::{NeededVars, VarValues};

/// Runs `netlab check`; returns the exit code.
pub fn check(args: &CheckArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    // Checking runs nothing: a var may wait for its value (an exercise before any solution).
    let files = match scenario_files(&args.paths, &mut output) {
        Ok((_, files)) => files,
        Err(exit) => return exit,
    };
    match load_all_needing(&files, vars, &NeededVars::None, &mut output) {
        Ok(scenarios) => {
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
        Err(exit) => exit,
    }
}
