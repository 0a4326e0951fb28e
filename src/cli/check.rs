//! `netlab check`: load and validate files without running anything, one line per scenario.

use anstream::ColorChoice;

use super::args::CheckArgs;
use super::loading::load_all_needing;
use super::output::Output;
use crate::exit::Exit;
use crate::scenario::{NeededVars, VarValues};

/// Runs `netlab check`; returns the exit code.
pub fn check(args: &CheckArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    // Checking runs nothing: a var may wait for its value (an exercise before any solution).
    match load_all_needing(&args.files, vars, &NeededVars::None, &mut output) {
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
