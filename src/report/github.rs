//! GitHub Actions: under `GITHUB_ACTIONS=true`, `netlab test` prints a workflow command per
//! failing scenario (`::error file=…,line=…,title=…::…`, at the failing step's line in the
//! scenario file, so that the failure shows on the file in the pull request), and appends a
//! markdown table of the run to `$GITHUB_STEP_SUMMARY`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::json::{failure_line, failure_text, verdict_word};
use crate::suite::{CaseResult, CaseStatus};
use crate::transcript::StepStatus;

/// Whether the environment says this is a GitHub Actions job.
pub fn in_github_actions(variable: Option<&str>) -> bool {
    variable == Some("true")
}

/// The workflow commands for the results that did not pass: an `error` per failure, a
/// `warning` per flaky pass (at its first failure). Paths are given relative to `workspace`
/// (`GITHUB_WORKSPACE`, the repository's root, from which GitHub reads them) when they are in it.
pub fn annotations(results: &[CaseResult], workspace: Option<&Path>) -> Vec<String> {
    let mut out = Vec::new();
    for result in results {
        let status = result.status();
        let (level, title) = match status {
            CaseStatus::Passed if !result.earlier.is_empty() => (
                "warning",
                format!(
                    "{}: flaky (passed on attempt {}; first: {})",
                    result.name,
                    result.earlier.len() + 1,
                    result
                        .earlier
                        .first()
                        .and_then(failure_line)
                        .unwrap_or_default()
                ),
            ),
            CaseStatus::Passed | CaseStatus::Skipped => continue,
            _ => (
                "error",
                format!(
                    "{}: {}",
                    result.name,
                    failure_line(result).unwrap_or_else(|| verdict_word(result).to_string())
                ),
            ),
        };
        // A flaky pass is told by the attempt that failed.
        let failed = match status {
            CaseStatus::Passed => result.earlier.first().unwrap_or(result),
            _ => result,
        };
        let line = failed
            .step_results
            .iter()
            .find(|step| step.result == StepStatus::Failed && step.line > 0)
            .map_or(1, |step| step.line);
        let message = failure_text(failed).unwrap_or_default();
        out.push(format!(
            "::{level} file={},line={line},title={}::{}",
            property(
                &from_workspace(&result.path, workspace)
                    .display()
                    .to_string()
            ),
            property(&title),
            data(&message),
        ));
    }
    out
}

/// The markdown appended to `$GITHUB_STEP_SUMMARY`: the counts, then a row per scenario that
/// did not simply pass (all of them when every one passed and there are few).
pub fn step_summary(results: &[CaseResult], took: Duration) -> String {
    let count = |status: CaseStatus| results.iter().filter(|r| r.status() == status).count();
    let passed = count(CaseStatus::Passed);
    let skipped = count(CaseStatus::Skipped);
    let failed = results.len() - passed - skipped;
    let flaky = results
        .iter()
        .filter(|r| r.status() == CaseStatus::Passed && !r.earlier.is_empty())
        .count();
    let mut out = format!(
        "### netlab test: {passed} passed, {failed} failed{}{} in {:.2}s\n\n",
        if skipped > 0 {
            format!(", {skipped} skipped")
        } else {
            String::new()
        },
        if flaky > 0 {
            format!(" ({flaky} flaky)")
        } else {
            String::new()
        },
        took.as_secs_f64()
    );
    let shown: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.status() != CaseStatus::Passed || !r.earlier.is_empty())
        .collect();
    if shown.is_empty() {
        return out;
    }
    out.push_str("| scenario | file | result | time | what failed |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for result in shown {
        let word = if result.status() == CaseStatus::Passed {
            "flaky"
        } else {
            verdict_word(result)
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {:.2}s | {} |\n",
            cell(&result.name),
            cell(&result.path.display().to_string()),
            word,
            result.duration.as_secs_f64(),
            cell(
                &failure_line(
                    result
                        .earlier
                        .first()
                        .filter(|_| word == "flaky")
                        .unwrap_or(result)
                )
                .unwrap_or_default()
            ),
        ));
    }
    out
}

/// `path` relative to `workspace` when it is in it (both made absolute first), else as given.
fn from_workspace(path: &Path, workspace: Option<&Path>) -> PathBuf {
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    workspace
        .and_then(|root| {
            absolute(path)
                .strip_prefix(absolute(root))
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf())
}

/// A workflow command's message, escaped as the runner reads it.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value (`file`, `title`), escaped as the runner reads it.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a markdown table cell: on one line, its pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_text_is_escaped_as_the_runner_reads_it() {
        assert_eq!(data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(property("a: b, c"), "a%3A b%2C c");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn only_true_means_github_actions() {
        assert!(in_github_actions(Some("true")));
        assert!(!in_github_actions(Some("1")));
        assert!(!in_github_actions(None));
    }
}
