//! Gradescope's autograder `results.json` for graded submissions
//! (https://gradescope-autograders.readthedocs.io/en/latest/specs/#output-format).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::scenario::{Owner, Scenario};
use crate::suite::CaseResult;
use crate::transcript::{StepResult, StepStatus};

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
pub(super) fn write_gradescope(
    out: &Path,
    submissions: &[PathBuf],
    scenarios: &[Arc<Scenario>],
    results: &[CaseResult],
) -> Result<(), String> {
    for (index, ((submission, scenario), result)) in
        submissions.iter().zip(scenarios).zip(results).enumerate()
    {
        // No results for a submission an interrupt kept from its grade: Gradescope says so.
        if !super::grade::graded(result) {
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

fn status(passed: bool) -> &'static str {
    if passed { "passed" } else { "failed" }
}
