//! The one-line verdict printed for each scenario after it ran, with its score.

use std::time::Duration;

use anstyle::AnsiColor;

use crate::event::ProgramFailure;
use crate::outcome::Verdict;
use crate::scenario::Owner;
use crate::scenario::Scenario;
use crate::transcript::{Points, StepResult, StepStatus, program_failure_reason};

/// `PASS tcp_hello (scenarios/tcp_hello.yaml) in 3.01s, score 4/4 points`, or `FAIL …: reason`.
pub fn verdict_line(
    scenario: &Scenario,
    verdict: &Verdict,
    program: Option<&(String, ProgramFailure)>,
    steps: &[StepResult],
    points: Points,
    took: Duration,
    styled: bool,
) -> String {
    let red = AnsiColor::Red.on_default().bold();
    let (word, style, reason) = match verdict {
        Verdict::Passed => ("PASS", AnsiColor::Green.on_default().bold(), String::new()),
        Verdict::Failed => match program {
            Some((server, failure)) => (
                "FAIL",
                red,
                format!(
                    ": the program under test of `{server}` {}",
                    program_failure_reason(&failure.kind)
                ),
            ),
            // What failed first: a client's step, else a server's count at the end.
            None if steps
                .iter()
                .any(|r| r.result == StepStatus::Failed && matches!(r.owner, Owner::Client(_))) =>
            {
                ("FAIL", red, ": a client step failed".to_string())
            }
            None if steps.iter().any(|r| r.result == StepStatus::Failed) => {
                ("FAIL", red, ": a server's check failed".to_string())
            }
            None => ("FAIL", red, ": a client step failed".to_string()),
        },
        Verdict::TimedOut(d) => (
            "FAIL",
            red,
            format!(": timed out after {}", humantime::format_duration(*d)),
        ),
        Verdict::Interrupted => ("FAIL", red, ": interrupted".to_string()),
    };
    let word = if styled {
        format!("{style}{word}{style:#}")
    } else {
        word.to_string()
    };
    // A scenario that checks nothing (it only sends, say) has no score.
    let score = if points.max > 0 {
        format!(", score {}/{} points", points.earned, points.max)
    } else {
        String::new()
    };
    format!(
        "{word} {} ({}) in {:.2}s{score}{reason}",
        scenario.name,
        scenario.path.display(),
        took.as_secs_f64()
    )
}
