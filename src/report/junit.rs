//! `netlab test --junit FILE`: a JUnit XML report as Jenkins (junit-10.xsd), GitLab and GitHub
//! read it: one test suite per scenario file (with its `file`), one test case in it; a failure's
//! `message` is its first line that differs, its text the failing step or the snapshot diff, and
//! the transcript goes to the case's system-out.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use super::json::{failure_line, failure_text, verdict_word};
use crate::suite::{CaseResult, CaseStatus};

/// The report as XML text.
pub fn junit_xml(results: &[CaseResult], took: Duration) -> Result<String, String> {
    let mut report = Report::new("netlab");
    report.set_time(took);
    for result in results {
        let word = verdict_word(result);
        let mut status = match result.status() {
            CaseStatus::Passed => TestCaseStatus::success(),
            CaseStatus::Skipped => {
                let mut skipped = TestCaseStatus::skipped();
                skipped.set_message(format!(
                    "not run: {}",
                    result.not_run_because().unwrap_or_default()
                ));
                skipped
            }
            CaseStatus::Error => failed(NonSuccessKind::Error, word, result),
            _ => failed(NonSuccessKind::Failure, word, result),
        };
        // Earlier attempts (`--retries`): flakyFailure under a pass, rerunFailure under a failure,
        // as cargo-nextest writes them.
        status.add_reruns(result.earlier.iter().map(rerun));
        let classname = xml_text(&classname(&result.path));
        let mut case = TestCase::new(xml_text(&result.name), status);
        case.set_classname(classname.clone());
        case.set_time(result.duration);
        if !result.transcript.is_empty() {
            case.set_system_out(xml_text(&result.transcript));
        }
        let mut suite = TestSuite::new(classname);
        suite.extra.insert(
            "file".into(),
            xml_text(&result.path.display().to_string()).into(),
        );
        suite.set_time(result.duration);
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    let xml = report.to_string().map_err(|e| e.to_string())?;
    Ok(without_skipped_on_testsuites(xml))
}

/// The class name of a scenario file: its path with `/` separators and without `.yaml`, its
/// dots made `_` (Jenkins splits a class name at its last dot into a package and a class).
fn classname(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let relative = relative.with_extension("");
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().replace('.', "_")),
            // `..` without its dots.
            std::path::Component::ParentDir => Some("__".to_string()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// quick-junit writes a `skipped` count on `<testsuites>`, which junit-10.xsd does not allow
/// there (each `<testsuite>` keeps its own): the attribute is taken off the root element. Done on
/// the text because quick-junit has no switch for it; the root element is the first one after the
/// XML declaration, and its attributes are netlab's (numbers and the name "netlab").
fn without_skipped_on_testsuites(xml: String) -> String {
    let Some(start) = xml.find("<testsuites ") else {
        return xml;
    };
    let Some(end) = xml[start..].find('>').map(|e| start + e) else {
        return xml;
    };
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml;
    };
    let value_start = at + " skipped=\"".len();
    let Some(value_len) = tag[value_start..].find('"') else {
        return xml;
    };
    let attribute = start + at..start + value_start + value_len + 1;
    let mut xml = xml;
    xml.replace_range(attribute, "");
    xml
}

/// An earlier attempt that failed, as a rerun element (without its time: junit-10.xsd has none
/// there).
fn rerun(attempt: &CaseResult) -> TestRerun {
    let word = verdict_word(attempt);
    let kind = match attempt.status() {
        CaseStatus::Error => NonSuccessKind::Error,
        _ => NonSuccessKind::Failure,
    };
    let mut rerun = TestRerun::new(kind);
    let (message, text) = message_and_text(word, attempt);
    rerun.set_message(xml_text(&message));
    rerun.set_type(word.to_string());
    rerun.set_description(xml_text(&text));
    if !attempt.transcript.is_empty() {
        rerun.set_system_out(xml_text(&attempt.transcript));
    }
    rerun
}

fn failed(kind: NonSuccessKind, word: &str, result: &CaseResult) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    let (message, text) = message_and_text(word, result);
    status.set_message(xml_text(&message));
    status.set_type(word.to_string());
    status.set_description(xml_text(&text));
    status
}

/// `text` as XML 1.0 can hold it: quick-junit drops the control characters XML forbids, not
/// U+FFFE and U+FFFF (forbidden too), which become U+FFFD, the replacement character.
fn xml_text(text: &str) -> String {
    text.replace(['\u{FFFE}', '\u{FFFF}'], "\u{FFFD}")
}

/// A failure's one-line message (its first line that differs) and its whole text.
fn message_and_text(word: &str, result: &CaseResult) -> (String, String) {
    let text = failure_text(result).unwrap_or_default();
    let message = failure_line(result).unwrap_or_else(|| word.to_string());
    (message, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_keep_no_dot_and_no_extension() {
        assert_eq!(
            classname(Path::new("scenarios/exercises/hello_server.yaml")),
            "scenarios/exercises/hello_server"
        );
        assert_eq!(classname(Path::new("v1.2/a.b.yaml")), "v1_2/a_b");
        assert_eq!(classname(Path::new("/tmp/x/y.yaml")), "tmp/x/y");
    }

    #[test]
    fn characters_xml_forbids_are_replaced() {
        assert_eq!(xml_text("a\u{FFFE}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn the_root_loses_its_skipped_count_only() {
        let xml = "<?xml version=\"1.0\"?>\n<testsuites name=\"netlab\" tests=\"2\" skipped=\"1\" failures=\"0\">\n<testsuite name=\"a\" skipped=\"1\">".to_string();
        assert_eq!(
            without_skipped_on_testsuites(xml),
            "<?xml version=\"1.0\"?>\n<testsuites name=\"netlab\" tests=\"2\" failures=\"0\">\n<testsuite name=\"a\" skipped=\"1\">"
        );
    }
}
