//! `netlab test --format json` and `netlab run --format json`: one JSON object per scenario, one
//! per line (JSON Lines), in the order of the scenario files. Version 1 of the schema is documented in `docs/json-report.md`;
//! fields are only ever added within a version.

use serde::Serialize;

use crate::event::{ProgramFailureKind, ProgramStatus};
use crate::exit::Bug;
use crate::outcome::Verdict;
use crate::suite::{CaseResult, SnapshotCheck};
use crate::transcript::{StepCounts, StepResult, program_failure_reason};

/// The schema version written in every object.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Line<'a> {
    schema_version: u32,
    name: &'a str,
    file: String,
    verdict: &'static str,
    scenario: Option<&'static str>,
    snapshot: Option<&'static str>,
    duration_ms: u128,
    steps: StepCounts,
    points: u64,
    max_points: u64,
    failure: Option<String>,
    program: Option<ProgramLine<'a>>,
    warnings: Vec<&'a str>,
    step_results: &'a [StepResult],
    attempts: usize,
    flaky: bool,
    earlier_failures: Vec<String>,
}

/// The program under test that failed.
#[derive(Serialize)]
struct ProgramLine<'a> {
    server: &'a str,
    command: &'a str,
    reason: String,
    exit_code: Option<i32>,
    signal: Option<i32>,
    stderr_tail: &'a str,
}

/// The overall word for a result: `passed`, `failed`, `snapshot_differs`, `snapshot_missing`,
/// `error` (the run could not be carried out, or the snapshot could not be read).
pub fn verdict_word(result: &CaseResult) -> &'static str {
    result.status().word()
}

/// What failed, in words: the failing step, the snapshot diff, or the environment's refusal.
pub fn failure_text(result: &CaseResult) -> Option<String> {
    match (&result.verdict, &result.snapshot) {
        (Err(error), _) => Some(error.to_string()),
        (_, Some(SnapshotCheck::Unreadable(error))) => Some(error.clone()),
        (Ok(v), _) if *v != Verdict::Passed => result.first_failure.clone(),
        (Ok(_), Some(SnapshotCheck::Differs { diff, .. })) => Some(diff.clone()),
        (Ok(_), Some(SnapshotCheck::Missing)) => {
            Some("no snapshot is stored for this scenario".into())
        }
        _ => None,
    }
}

/// What failed, on one line (a JUnit `message`, a CI annotation's title): the failing step with
/// the first line that differs, the first line of the snapshot that differs, or the refusal.
pub fn failure_line(result: &CaseResult) -> Option<String> {
    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_string();
    match (&result.verdict, &result.snapshot) {
        (Err(error), _) => Some(first_line(&error.to_string())),
        (_, Some(SnapshotCheck::Unreadable(error))) => Some(first_line(error)),
        (Ok(v), _) if *v != Verdict::Passed => result
            .built
            .as_ref()
            .and_then(|t| t.first_failure_line())
            .or_else(|| result.first_failure.as_deref().map(first_line)),
        (Ok(_), Some(SnapshotCheck::Differs { first, .. })) => Some(match first {
            Some(difference) => format!(
                "the transcript differs from its snapshot: {}",
                difference.message()
            ),
            None => "the transcript differs from its snapshot".to_string(),
        }),
        (Ok(_), Some(SnapshotCheck::Missing)) => {
            Some("no snapshot is stored for this scenario".into())
        }
        _ => None,
    }
}

/// One result as a line of JSON (no trailing newline). Every field serializes (strings, numbers,
/// derived structs): an error here is a bug in netlab.
pub fn json_line(result: &CaseResult) -> Result<String, Bug> {
    // A skipped scenario did not run at all.
    let ran = result.verdict.as_ref().ok().filter(|_| !result.skipped);
    let scenario = ran.map(|v| match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::TimedOut(_) => "timed_out",
        Verdict::Interrupted => "interrupted",
    });
    // No snapshot is compared with a run that did not happen.
    let snapshot = result
        .snapshot
        .as_ref()
        .filter(|_| scenario.is_some())
        .map(|s| match s {
            SnapshotCheck::Matches => "matches",
            SnapshotCheck::Differs { .. } => "differs",
            SnapshotCheck::Missing => "missing",
            SnapshotCheck::Unreadable(_) => "unreadable",
            SnapshotCheck::Written => "written",
        });
    let program = result.program.as_ref().map(|(server, failure)| {
        let status = match failure.kind {
            ProgramFailureKind::ExitedBeforeReady(status) | ProgramFailureKind::Exited(status) => {
                Some(status)
            }
            ProgramFailureKind::NotReady { .. } => None,
        };
        ProgramLine {
            server,
            command: &failure.command,
            reason: program_failure_reason(&failure.kind),
            exit_code: status.and_then(ProgramStatus::code),
            signal: status.and_then(ProgramStatus::signal),
            stderr_tail: &failure.stderr_tail,
        }
    });
    let line = Line {
        schema_version: SCHEMA_VERSION,
        name: &result.name,
        file: result.path.display().to_string(),
        verdict: verdict_word(result),
        scenario,
        snapshot,
        duration_ms: result.duration.as_millis(),
        steps: result.steps,
        points: result.points.earned,
        max_points: result.points.max,
        failure: failure_text(result),
        program,
        warnings: result
            .file_warnings
            .iter()
            .chain(&result.run_warnings)
            .map(String::as_str)
            .collect(),
        step_results: &result.step_results,
        attempts: result.earlier.len() + 1,
        flaky: result.flaky(),
        earlier_failures: result
            .earlier
            .iter()
            .map(|attempt| {
                let word = verdict_word(attempt);
                match failure_text(attempt) {
                    Some(text) => format!("{word}: {}", text.lines().next().unwrap_or_default()),
                    None => word.to_string(),
                }
            })
            .collect(),
    };
    serde_json::to_string(&line).map_err(|error| {
        Bug(format!(
            "the JSON report of `{}` could not be made: {error}",
            result.name
        ))
    })
}
