//! The one-line verdict printed for each scenario after it ran.

use std::time::Duration;

use anstyle::AnsiColor;

use crate::exec::Verdict;
use crate::scenario::Scenario;

/// `PASS tcp_hello (scenarios/tcp_hello.yaml) in 3.01s`, or `FAIL … : reason`.
pub fn verdict_line(
    scenario: &Scenario,
    verdict: &Verdict,
    took: Duration,
    styled: bool,
) -> String {
    let (word, style, reason) = match verdict {
        Verdict::Passed => ("PASS", AnsiColor::Green.on_default().bold(), String::new()),
        Verdict::Failed => (
            "FAIL",
            AnsiColor::Red.on_default().bold(),
            ": a client step failed".to_string(),
        ),
        Verdict::TimedOut(d) => (
            "FAIL",
            AnsiColor::Red.on_default().bold(),
            format!(": timed out after {}", humantime::format_duration(*d)),
        ),
        Verdict::Interrupted => (
            "FAIL",
            AnsiColor::Red.on_default().bold(),
            ": interrupted".to_string(),
        ),
    };
    let word = if styled {
        format!("{style}{word}{style:#}")
    } else {
        word.to_string()
    };
    format!(
        "{word} {} ({}) in {:.2}s{reason}",
        scenario.name,
        scenario.path.display(),
        took.as_secs_f64()
    )
}
