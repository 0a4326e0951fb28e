//! `netlab grade EXERCISE SUBMISSION...`: one exercise run against every submission of a class,
//! in parallel, into a gradebook — `gradebook.csv` and `gradebook.json`, and with
//! `--format gradescope` Gradescope's `results.json` for each submission.
//!
//! Each submission is a file or a directory; it fills the exercise's vars through `--var`
//! values that hold `{}` (`--var solution={}/server.py`), by default `solution={}`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use super::args::{ClassArgs, GradeArgs, GradeFormat};
use super::interrupt::{Interrupt, receiver, unless_interrupted};
use super::loading::load_all;
use super::output::Output;
use crate::event::ProgramFailureKind;
use crate::exec::RunOptions;
use crate::exit::Exit;
use crate::outcome::Verdict;
use crate::scenario::{Owner, Scenario, VarValues};
use crate::suite::{self, CaseResult, SuiteLimits};
use crate::transcript::{StepResult, StepStatus};
use anstream::ColorChoice;

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

/// One submission's line of the gradebook.
#[derive(Debug, Serialize)]
struct Row {
    /// The submission, as given.
    submission: String,
    /// Empty when not graded.
    points: Option<u64>,
    max_points: u64,
    /// `passed`, `failed`, `error` (the run could not be carried out), or `not_graded` (an
    /// interrupt cut it short).
    verdict: &'static str,
    /// The first failure in time, on one line.
    first_failure: Option<String>,
    /// Its hint.
    hint: Option<String>,
    /// The program under test that failed: how it ended, and the end of its stderr.
    exit_code: Option<i32>,
    signal: Option<i32>,
    stderr_tail: Option<String>,
    duration_ms: u128,
    /// What in this run depended on timing (the points may differ on another run).
    timing_dependent: Vec<String>,
    /// Every step's result, for scripts (not in the CSV).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepResult>,
}

/// `netlab grade`.
pub fn grade(args: &GradeArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    if let Some(missing) = args.submissions.iter().find(|s| !s.exists()) {
        output.warn(&format!(
            "error: no such submission: `{}`",
            missing.display()
        ));
        return Exit::Input;
    }
    // A path made from `{}` that exists for no submission is the exercise's mistake (a typo in
    // `--var solution={}/serve.py`), not every student's.
    let mapped: Vec<(String, Vec<PathBuf>)> = mapped_paths(vars, &args.submissions);
    for (name, paths) in &mapped {
        if !paths.is_empty() && !paths.iter().any(|p| p.exists()) {
            output.warn(&format!(
                "error: `--var {name}` names a path that none of the {} submissions has (the first: `{}`)",
                paths.len(),
                paths[0].display()
            ));
            return Exit::Input;
        }
    }
    // Each submission's own values, and the exercise loaded with them (a mistake in the file is
    // said once, with the first submission's values).
    let mut scenarios: Vec<Arc<Scenario>> = Vec::with_capacity(args.submissions.len());
    if let Err(why) = mapping_is_clear(vars) {
        output.warn(&format!("error: {why}"));
        return Exit::Input;
    }
    // The file's warnings are said once, with the first submission's load.
    let mut quiet = Output::new(choice);
    quiet.hide_warnings();
    for (index, submission) in args.submissions.iter().enumerate() {
        let values = values_for(vars, submission);
        let said = if index == 0 { &mut output } else { &mut quiet };
        match load_all(std::slice::from_ref(&args.exercise), &values, said) {
            Ok(mut loaded) => scenarios.append(&mut loaded),
            Err(exit) => return exit,
        }
    }
    if let Err(error) = std::fs::create_dir_all(&args.out) {
        output.warn(&format!(
            "error: cannot create `{}`: {}",
            args.out.display(),
            crate::diagnostic::io_reason(&error)
        ));
        return Exit::Environment;
    }
    let interrupt = Interrupt::install();
    let started = Instant::now();
    let bar = super::test::progress(scenarios.len());
    let results = run_class(&args.class, &scenarios, interrupt.as_ref(), &bar);
    let rows: Vec<Row> = (args.submissions.iter())
        .zip(&results)
        .map(|(submission, result)| row(submission, result))
        .collect();
    let written = write_gradebook(&args.out, &rows).and_then(|()| {
        if args.format.contains(&GradeFormat::Gradescope) {
            write_gradescope(&args.out, &args.submissions, &scenarios, &results)
        } else {
            Ok(())
        }
    });
    if let Err(error) = written {
        output.warn(&format!("error: {error}"));
        return Exit::Environment;
    }
    summarize(&mut output, &rows, started, &args.out, &bar);
    // A run the environment refused (or a bug) is no grade: the command says so.
    let refused = (results.iter())
        .filter_map(|r| r.verdict.as_ref().err())
        .map(Exit::of_error)
        .max()
        .unwrap_or(Exit::Passed);
    unless_interrupted(refused, interrupt.as_ref())
}

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
fn mapped_paths(vars: &VarValues, submissions: &[PathBuf]) -> Vec<(String, Vec<PathBuf>)> {
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

/// Whether `result` is a grade: its run ended by itself (not cut short, nor never started,
/// by an interrupt), and the environment let it happen.
fn graded(result: &CaseResult) -> bool {
    matches!(&result.verdict, Ok(v) if *v != Verdict::Interrupted)
}

/// The gradebook's word for `result`.
fn verdict_of(result: &CaseResult) -> &'static str {
    match &result.verdict {
        Ok(Verdict::Interrupted) => "not_graded",
        Ok(verdict) if verdict.passed() => "passed",
        Ok(_) => "failed",
        Err(_) => "error",
    }
}

fn row(submission: &Path, result: &CaseResult) -> Row {
    let built = result.built.as_ref();
    let program = result.program.as_ref().map(|(_, failure)| failure);
    let status = program.and_then(|f| match f.kind {
        ProgramFailureKind::ExitedBeforeReady(status) | ProgramFailureKind::Exited(status) => {
            Some(status)
        }
        ProgramFailureKind::NotReady { .. } => None,
    });
    Row {
        submission: submission.display().to_string(),
        points: graded(result).then_some(result.points.earned),
        max_points: result.points.max,
        verdict: verdict_of(result),
        first_failure: if graded(result) {
            crate::report::json::failure_line(result)
        } else {
            Some("not graded: netlab was interrupted before this submission's run ended".into())
        },
        hint: built
            .and_then(|t| t.first_failure_hint())
            .map(str::to_string),
        exit_code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stderr_tail: program.map(|f| f.stderr_tail.clone()),
        duration_ms: result.duration.as_millis(),
        // What the file does that timing decides (said at load), and what this run showed.
        timing_dependent: (result.file_warnings.iter())
            .chain(&result.run_warnings)
            .cloned()
            .collect(),
        steps: result.step_results.clone(),
    }
}

/// `gradebook.csv` and `gradebook.json` in `out`.
fn write_gradebook(out: &Path, rows: &[Row]) -> Result<(), String> {
    let csv_path = out.join("gradebook.csv");
    let cannot =
        |path: &Path, e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let mut writer = csv::Writer::from_path(&csv_path).map_err(|e| cannot(&csv_path, &e))?;
    writer
        .write_record([
            "submission",
            "points",
            "max_points",
            "verdict",
            "first_failure",
            "hint",
            "exit_code",
            "signal",
            "stderr_tail",
            "duration_ms",
            "timing_dependent",
        ])
        .map_err(|e| cannot(&csv_path, &e))?;
    let text = |value: Option<String>| inert(value.unwrap_or_default());
    for row in rows {
        writer
            .write_record([
                inert(row.submission.clone()),
                text(row.points.map(|p| p.to_string())),
                row.max_points.to_string(),
                row.verdict.to_string(),
                text(row.first_failure.clone()),
                text(row.hint.clone()),
                text(row.exit_code.map(|c| c.to_string())),
                text(row.signal.map(|s| s.to_string())),
                text(row.stderr_tail.clone()),
                row.duration_ms.to_string(),
                row.timing_dependent.join("; "),
            ])
            .map_err(|e| cannot(&csv_path, &e))?;
    }
    writer.flush().map_err(|e| cannot(&csv_path, &e))?;
    let json_path = out.join("gradebook.json");
    let json = serde_json::to_string_pretty(rows).map_err(|e| cannot(&json_path, &e))?;
    std::fs::write(&json_path, json + "\n").map_err(|e| cannot(&json_path, &e))
}

/// `cell` as a spreadsheet shows it and never runs it: a student's stderr starting with `=`
/// (`=HYPERLINK(…)`) would be a formula in a gradebook opened in a spreadsheet, so such a cell
/// starts with a `'` (OWASP's advice for CSV injection).
fn inert(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// One test of Gradescope's `results.json`.
#[derive(Debug, Serialize)]
struct GradescopeTest {
    name: String,
    score: u64,
    max_score: u64,
    /// `passed` or `failed`.
    status: &'static str,
    output: String,
    /// `visible`, or `after_published` for a hidden check (its text already shows no bytes).
    visibility: &'static str,
}

/// Gradescope's autograder results (https://gradescope-autograders.readthedocs.io).
#[derive(Debug, Serialize)]
struct GradescopeResults {
    score: u64,
    output: String,
    visibility: &'static str,
    stdout_visibility: &'static str,
    tests: Vec<GradescopeTest>,
}

/// `results.json` for each submission: in `out` for one submission (Gradescope grades one at a
/// time, into /autograder/results), else in `out/<n>-<name>/`.
fn write_gradescope(
    out: &Path,
    submissions: &[PathBuf],
    scenarios: &[Arc<Scenario>],
    results: &[CaseResult],
) -> Result<(), String> {
    for (index, ((submission, scenario), result)) in
        submissions.iter().zip(scenarios).zip(results).enumerate()
    {
        // No results for a submission an interrupt kept from its grade: Gradescope says so.
        if !graded(result) {
            continue;
        }
        let dir = if submissions.len() == 1 {
            out.to_path_buf()
        } else {
            let name = submission
                .file_name()
                .map_or_else(|| "submission".into(), |n| n.to_string_lossy().into_owned());
            out.join(format!("{}-{name}", index + 1))
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let results = gradescope(scenario, result);
        let path = dir.join("results.json");
        let json = serde_json::to_string_pretty(&results)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        std::fs::write(&path, json + "\n")
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// One test per scored step of each client (its instances together, as points count them), and
/// per server check.
fn gradescope(scenario: &Scenario, result: &CaseResult) -> GradescopeResults {
    let mut tests = Vec::new();
    for (index, client) in scenario.clients.iter().enumerate() {
        let mine: Vec<&StepResult> = (result.step_results.iter())
            .filter(|r| r.owner == Owner::Client(index))
            .collect();
        let steps = client.points.len();
        for step in 0..steps {
            let of_step: Vec<&&StepResult> = mine.iter().filter(|r| r.step == step).collect();
            let Some(first) = of_step.first() else {
                continue;
            };
            let points = client.points.get(step).copied().unwrap_or(0);
            if points == 0 || client.worth.is_some() {
                continue;
            }
            let passed = of_step.iter().all(|r| r.result == StepStatus::Passed);
            let output = match (of_step.iter()).find_map(|r| r.detail.clone()) {
                Some(detail) => detail,
                None if of_step.iter().any(|r| r.result == StepStatus::NotRun) => {
                    "not run: an earlier step of this client failed, or the run stopped".into()
                }
                None => String::new(),
            };
            tests.push(GradescopeTest {
                name: format!("{}: {}", client.name, first.action),
                score: if passed { u64::from(points) } else { 0 },
                max_score: u64::from(points),
                status: status(passed),
                output,
                visibility: if client.hidden.get(step).copied().unwrap_or(false) {
                    "after_published"
                } else {
                    "visible"
                },
            });
        }
        if let Some(worth) = client.worth {
            let passed = !mine.is_empty() && mine.iter().all(|r| r.result == StepStatus::Passed);
            tests.push(GradescopeTest {
                name: client.name.clone(),
                score: if passed { u64::from(worth) } else { 0 },
                max_score: u64::from(worth),
                status: status(passed),
                output: (mine.iter())
                    .find_map(|r| r.detail.clone())
                    .unwrap_or_default(),
                // One hidden step makes the whole client's test hidden until published.
                visibility: if client.hidden.contains(&true) {
                    "after_published"
                } else {
                    "visible"
                },
            });
        }
    }
    for check in result
        .step_results
        .iter()
        .filter(|r| matches!(r.owner, Owner::Server(_)))
    {
        tests.push(GradescopeTest {
            name: format!("{}: {}", check.client, check.action),
            score: if check.result == StepStatus::Passed {
                u64::from(check.points)
            } else {
                0
            },
            max_score: u64::from(check.points),
            status: status(check.result == StepStatus::Passed),
            output: check.detail.clone().unwrap_or_default(),
            visibility: "visible",
        });
    }
    let output = match (&result.program, crate::report::json::failure_line(result)) {
        (Some((server, failure)), _) => format!(
            "the program under test of `{server}` {}",
            crate::transcript::program_failure_reason(&failure.kind)
        ),
        (None, Some(line)) => line,
        (None, None) => "every check passed".to_string(),
    };
    GradescopeResults {
        score: result.points.earned,
        output,
        visibility: "visible",
        stdout_visibility: "hidden",
        tests,
    }
}

/// `1 submission`, `3 submissions`.
pub(super) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn status(passed: bool) -> &'static str {
    if passed { "passed" } else { "failed" }
}

/// The class at a glance, after the gradebook is written.
fn summarize(output: &mut Output, rows: &[Row], started: Instant, out: &Path, bar: &ProgressBar) {
    bar.suspend(|| {
        for row in rows {
            let failure = row
                .first_failure
                .as_deref()
                .map(|f| format!("  {f}"))
                .unwrap_or_default();
            let points = row
                .points
                .map_or_else(|| "-".to_string(), |p| p.to_string());
            output.say(&format!(
                "{points:>4}/{:<4} {:<6} {}{failure}",
                row.max_points, row.verdict, row.submission
            ));
        }
    });
    let passed = rows.iter().filter(|r| r.verdict == "passed").count();
    let not_graded = rows.iter().filter(|r| r.verdict == "not_graded").count();
    let interrupted = if not_graded > 0 {
        format!(" ({not_graded} not graded: interrupted)")
    } else {
        String::new()
    };
    output.say(&format!(
        "graded {} in {:.2}s: {passed} passed{interrupted}; gradebook in {}",
        plural(rows.len() - not_graded, "submission"),
        started.elapsed().as_secs_f64(),
        out.display()
    ));
    let _ = std::io::stdout().flush();
}
