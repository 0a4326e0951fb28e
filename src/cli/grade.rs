//! `netlab grade EXERCISE SUBMISSION...`: one exercise run against every submission of a class,
//! in parallel (`class.rs`), into a gradebook — `gradebook.csv` and `gradebook.json`, and with
//! `--format gradescope` Gradescope's `results.json` for each submission (`gradescope.rs`).
//!
//! Each submission is a file or a directory; it fills the exercise's vars through `--var`
//! values that hold `{}` (`--var solution={}/server.py`), by default `solution={}`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use serde::Serialize;

use super::args::{GradeArgs, GradeFormat};
use super::interrupt::{Interrupt, unless_interrupted};
use super::loading::load_all;
use super::output::Output;
use crate::event::ProgramFailureKind;
use crate::exit::Exit;
use crate::outcome::Verdict;
use crate::scenario::{Scenario, VarValues};
use crate::suite::CaseResult;
use crate::transcript::StepResult;
use anstream::ColorChoice;

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
    let mapped: Vec<(String, Vec<PathBuf>)> = super::class::mapped_paths(vars, &args.submissions);
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
    if let Err(why) = super::class::mapping_is_clear(vars) {
        output.warn(&format!("error: {why}"));
        return Exit::Input;
    }
    // The file's warnings are said once, with the first submission's load.
    let mut quiet = Output::new(choice);
    quiet.hide_warnings();
    for (index, submission) in args.submissions.iter().enumerate() {
        let values = super::class::values_for(vars, submission);
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
    let results = super::class::run_class(&args.class, &scenarios, interrupt.as_ref(), &bar);
    let rows: Vec<Row> = (args.submissions.iter())
        .zip(&results)
        .map(|(submission, result)| row(submission, result))
        .collect();
    let written = write_gradebook(&args.out, &rows).and_then(|()| {
        if args.format.contains(&GradeFormat::Gradescope) {
            super::gradescope::write_gradescope(&args.out, &args.submissions, &scenarios, &results)
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

/// Whether `result` is a grade: its run ended by itself (not cut short, nor never started,
/// by an interrupt), and the environment let it happen.
pub(super) fn graded(result: &CaseResult) -> bool {
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
        super::class::plural(rows.len() - not_graded, "submission"),
        started.elapsed().as_secs_f64(),
        out.display()
    ));
    let _ = std::io::stdout().flush();
}
