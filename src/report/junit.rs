//! `netlab test --junit FILE`: a JUnit XML report (as GitLab, GitHub and Jenkins read it), one
//! test suite per run and one test case per scenario; a failure's text is the failing step or the
//! snapshot diff, and the transcript goes to the case's system-out.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use super::json::{failure_text, verdict_word};
use crate::suite::{CaseResult, CaseStatus};

/// The report as XML text.
pub fn junit_xml(results: &[CaseResult], took: Duration) -> Result<String, String> {
    let mut suite = TestSuite::new("netlab");
    for result in results {
        let word = verdict_word(result);
        let status = match result.status() {
            CaseStatus::Passed => TestCaseStatus::success(),
            CaseStatus::Skipped => {
                let mut skipped = TestCaseStatus::skipped();
                skipped
                    .set_message("not run: enough scenarios had failed (--fail-fast, --max-fail)");
                skipped
            }
            CaseStatus::Error => failed(NonSuccessKind::Error, word, result),
            _ => failed(NonSuccessKind::Failure, word, result),
        };
        let mut status = status;
        // Earlier attempts (`--retries`): flakyFailure under a pass, rerunFailure under a failure,
        // as cargo-nextest writes them.
        status.add_reruns(result.earlier.iter().map(rerun));
        let mut case = TestCase::new(result.name.clone(), status);
        case.set_classname(result.path.display().to_string());
        case.set_time(result.duration);
        if !result.transcript.is_empty() {
            case.set_system_out(result.transcript.clone());
        }
        suite.add_test_case(case);
    }
    suite.set_time(took);
    let mut report = Report::new("netlab");
    report.set_time(took);
    report.add_test_suite(suite);
    report.to_string().map_err(|e| e.to_string())
}

/// An earlier attempt that failed, as a rerun element.
fn rerun(attempt: &CaseResult) -> TestRerun {
    let word = verdict_word(attempt);
    let kind = match attempt.status() {
        CaseStatus::Error => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    };
    let mut rerun = TestRerun::new(kind);
    let (message, text) = message_and_text(word, attempt);
    rerun.set_message(message);
    rerun.set_type(word.to_string());
    rerun.set_description(text);
    rerun.set_time(attempt.duration);
    if !attempt.transcript.is_empty() {
        rerun.set_system_out(attempt.transcript.clone());
    }
    rerun
}

fn failed(kind: NonSuccessKind, word: &str, result: &CaseResult) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    let (message, text) = message_and_text(word, result);
    status.set_message(message);
    status.set_type(word.to_string());
    status.set_description(text);
    status
}

/// A failure's one-line message (its word and first line) and its whole text.
fn message_and_text(word: &str, result: &CaseResult) -> (String, String) {
    let text = failure_text(result).unwrap_or_default();
    let first = text.lines().next().unwrap_or(word);
    (format!("{word}: {first}"), text)
}
