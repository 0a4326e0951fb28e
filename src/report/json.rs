//! `netlab test --format json`: one JSON object per scenario, one per line (JSON Lines), in the
//! order of the scenario files. Version 1 of the schema is documented in `docs/json-report.md`;
//! fields are only ever added within a version.

use serde::Serialize;

use crate::exec::Verdict;
use crate::suite::{CaseResult, SnapshotCheck};
use crate::transcript::{StepCounts, StepResult};

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
    failure: Option<String>,
    step_results: &'a [StepResult],
}

/// The overall word for a result: `passed`, `failed`, `snapshot_differs`, `snapshot_missing`,
/// `error` (the environment refused, or the snapshot could not be read).
pub fn verdict_word(result: &CaseResult) -> &'static str {
    match (&result.verdict, &result.snapshot) {
        (Err(_), _) | (_, Some(SnapshotCheck::Unreadable(_))) => "error",
        (Ok(v), _) if *v != Verdict::Passed => "failed",
        (Ok(_), Some(SnapshotCheck::Differs(_))) => "snapshot_differs",
        (Ok(_), Some(SnapshotCheck::Missing)) => "snapshot_missing",
        _ => "passed",
    }
}

/// What failed, in words: the failing step, the snapshot diff, or the environment's refusal.
pub fn failure_text(result: &CaseResult) -> Option<String> {
    match (&result.verdict, &result.snapshot) {
        (Err(error), _) => Some(error.clone()),
        (_, Some(SnapshotCheck::Unreadable(error))) => Some(error.clone()),
        (Ok(v), _) if *v != Verdict::Passed => result.first_failure.clone(),
        (Ok(_), Some(SnapshotCheck::Differs(diff))) => Some(diff.clone()),
        (Ok(_), Some(SnapshotCheck::Missing)) => {
            Some("no snapshot is stored for this scenario".into())
        }
        _ => None,
    }
}

/// One result as a line of JSON (no trailing newline).
pub fn json_line(result: &CaseResult) -> String {
    let scenario = result.verdict.as_ref().ok().map(|v| match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::TimedOut(_) => "timed_out",
        Verdict::Interrupted => "interrupted",
    });
    let snapshot = result.snapshot.as_ref().map(|s| match s {
        SnapshotCheck::Matches => "matches",
        SnapshotCheck::Differs(_) => "differs",
        SnapshotCheck::Missing => "missing",
        SnapshotCheck::Unreadable(_) => "unreadable",
        SnapshotCheck::Written => "written",
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
        failure: failure_text(result),
        step_results: &result.step_results,
    };
    serde_json::to_string(&line).unwrap_or_default()
}
