//! Loading the files a command was given: all of them, on every CPU when there are many, every
//! problem printed in file order; nothing runs unless every file is right.

use std::path::PathBuf;
use std::sync::Arc;

use super::args::OutsideServer;
use super::output::Output;
use crate::exit::{Bug, Exit};
use crate::scenario::{LoadError, NeededVars, Scenario, VarValues, load_file_needing};

/// Below this many files per CPU, loading them on one thread is quicker than starting others.
const FILES_PER_LOADER: usize = 16;

/// The scenario files of the paths a command was given (`scenarios` when none): files as they
/// are, folders' `*.yaml`, patterns' matches (`suite::discover`). `Err` is the command's exit:
/// `Input` for a path that cannot be read, `NothingMatched` when no file is found.
pub(super) fn scenario_files(
    given: &[PathBuf],
    output: &mut Output,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Exit> {
    let paths = if given.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        given.to_vec()
    };
    let files = crate::suite::discover(&paths).map_err(|message| {
        output.warn(&format!("error: {message}"));
        Exit::Input
    })?;
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        output.warn(&format!(
            "error: no scenario (*.yaml) found in {}",
            shown.join(", ")
        ));
        return Err(Exit::NothingMatched);
    }
    Ok((paths, files))
}

/// Loads every file to run all of it (every program's vars need a value), on every CPU when
/// there are many; prints every problem, in file order. `Err` is the command's exit: `Input` if
/// any file is wrong, `Bug` if a loader thread panicked.
pub(super) fn load_all(
    files: &[PathBuf],
    vars: &VarValues,
    output: &mut Output,
) -> Result<Vec<Arc<Scenario>>, Exit> {
    load_all_needing(files, vars, &NeededVars::All, output)
}

/// Like [`load_all`], with `needed` saying whose vars need a value.
pub(super) fn load_all_needing(
    files: &[PathBuf],
    vars: &VarValues,
    needed: &NeededVars,
    output: &mut Output,
) -> Result<Vec<Arc<Scenario>>, Exit> {
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
        let joined = std::thread::scope(|scope| {
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
                .map(|handle| handle.join())
                .collect::<Result<Vec<_>, _>>()
        });
        match joined {
            Ok(chunks) => chunks.into_iter().flatten().collect(),
            Err(_) => {
                output.bug(&Bug(
                    "a file could not be loaded: a loader thread panicked".to_string()
                ));
                return Err(Exit::Bug);
            }
        }
    } else {
        files
            .iter()
            .map(|file| load_file_needing(file, vars, needed))
            .collect()
    };
    let mut scenarios = Vec::new();
    let mut wrong = false;
    for result in loaded {
        match result {
            Ok(scenario) => {
                if let Some(warnings) = &scenario.warnings {
                    output.warn_of_file(&warnings.render_warnings(true));
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
    if wrong {
        Err(Exit::Input)
    } else {
        Ok(scenarios)
    }
}

/// Points the servers `targets` name at their addresses outside the run, in every scenario that
/// has them; a target no scenario has is refused (a misspelt name must not run the real server).
pub(super) fn point_at_outside(
    scenarios: Vec<Arc<Scenario>>,
    targets: &[OutsideServer],
    output: &mut Output,
) -> Result<Vec<Arc<Scenario>>, Exit> {
    if targets.is_empty() {
        return Ok(scenarios);
    }
    let mut used = vec![false; targets.len()];
    let scenarios = scenarios
        .into_iter()
        .map(|mut scenario| {
            for (target, used) in targets.iter().zip(&mut used) {
                if scenario.servers.iter().any(|s| s.name == target.server) {
                    *used |= Arc::make_mut(&mut scenario)
                        .point_at_outside(&target.server, &target.address);
                }
            }
            scenario
        })
        .collect::<Vec<_>>();
    let unknown: Vec<&str> = targets
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(target, _)| target.server.as_str())
        .collect();
    if unknown.is_empty() {
        return Ok(scenarios);
    }
    let names: std::collections::BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.servers.iter().map(|server| server.name.as_str()))
        .collect();
    output.warn(&format!(
        "error: --target names no server of the scenarios: `{}` (their servers: {})",
        unknown.join("`, `"),
        names.into_iter().collect::<Vec<_>>().join(", ")
    ));
    Err(Exit::Input)
}
