//! Running an exercise against many programs at once — a class's submissions (`netlab grade`),
//! a lab's declared solutions (`netlab lab`) — and how a program's path fills the exercise's
//! vars (`{}` in a `--var` value, else `solution`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::ProgressBar;

use super::args::ClassArgs;
use super::interrupt::{Interrupt, receiver};
use crate::exec::RunOptions;
use crate::scenario::{Scenario, VarValues};
use crate::suite::{self, CaseResult, SuiteLimits};

/// Runs `scenarios` (an exercise, once per program) in parallel as `class` says, without
/// snapshots or retries, ticking `bar` as each ends.
pub(super) fn run_class(
    class: &ClassArgs,
    scenarios: &[Arc<Scenario>],
    interrupt: Option<&Interrupt>,
    bar: &ProgressBar,
) -> Vec<CaseResult> {
    let options = RunOptions {
        time_scale: class.time_scale.unwrap_or_default(),
        interrupt: receiver(interrupt),
        ..RunOptions::default()
    };
    let limits = SuiteLimits {
        // One per CPU: a student's program may compute, and a loaded machine would fail its
        // timeouts, unfairly.
        jobs: class.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            usize::from,
        ),
        retries: None,
        default_retries: None,
        max_fail: None,
        slow_after: None,
        update: false,
        compare_snapshots: false,
    };
    let results = suite::run(
        scenarios,
        &limits,
        &options,
        &mut |result| {
            bar.inc(1);
            bar.set_message(format!("{} points", result.points.earned));
        },
        &mut |_, _| {},
    );
    bar.finish_and_clear();
    results
}

/// What stands for a submission's path in a `--var` value.
const SUBMISSION: &str = "{}";

/// The var a submission fills when no `--var` value holds `{}`.
const DEFAULT_VAR: &str = "solution";

/// Refuses `--var solution=PATH` with no `{}` anywhere: each submission would silently replace
/// it.
pub(super) fn mapping_is_clear(vars: &VarValues) -> Result<(), String> {
    let mapped = vars.command_line.values().any(|v| v.contains(SUBMISSION));
    if !mapped && vars.command_line.contains_key(DEFAULT_VAR) {
        return Err(format!(
            "`--var {DEFAULT_VAR}=…` has no `{SUBMISSION}`: each submission is the value of `{DEFAULT_VAR}` (write `--var {DEFAULT_VAR}={SUBMISSION}/server.py` to name a file in each)"
        ));
    }
    Ok(())
}

/// For each var whose value holds `{}`, the path it makes for each submission.
pub(super) fn mapped_paths(
    vars: &VarValues,
    submissions: &[PathBuf],
) -> Vec<(String, Vec<PathBuf>)> {
    (vars.command_line.iter())
        .filter(|(_, value)| value.contains(SUBMISSION))
        .map(|(name, value)| {
            let paths = (submissions.iter())
                .map(|s| PathBuf::from(value.replace(SUBMISSION, &s.display().to_string())))
                .collect();
            (name.clone(), paths)
        })
        .collect()
}

/// The vars of a run for `submission`: `{}` in a value is its path; without one, `solution`.
pub(super) fn values_for(vars: &VarValues, submission: &Path) -> VarValues {
    let path = submission.display().to_string();
    let mut values = vars.clone();
    let mut mapped = false;
    for value in values.command_line.values_mut() {
        if value.contains(SUBMISSION) {
            *value = value.replace(SUBMISSION, &path);
            mapped = true;
        }
    }
    if !mapped {
        values.command_line.insert(DEFAULT_VAR.to_string(), path);
    }
    values
}

/// `1 submission`, `3 submissions`.
pub(super) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
