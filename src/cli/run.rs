//! `netlab run`: run scenarios one after the other, printing the live view (or the transcript)
//! and a verdict line for each.

use std::sync::Arc;
use std::time::Instant;

use anstream::ColorChoice;

use super::app::{Output, interrupt_channel, load_all, worse};
use super::args::{Format, RunArgs, code};
use crate::exec::{self, RunOptions};
use crate::report::json::json_line;
use crate::report::{LiveView, verdict_line};
use crate::scenario::{Scenario, VarValues};
use crate::suite;
use crate::transcript;

/// What `netlab run` prints for each scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Events as they happen, then the verdict.
    Live,
    /// Events as they happen, the transcript, then the verdict.
    Verbose,
    /// The transcript once it is over, then the verdict.
    Transcript,
    /// The verdict only.
    Quiet,
    /// One JSON object.
    Json,
}

/// Runs `netlab run`; returns the exit code.
pub fn run(args: &RunArgs, choice: ColorChoice, vars: &VarValues) -> u8 {
    let mut output = Output::new(choice);
    let Some(scenarios) = load_all(&args.files, vars, &mut output) else {
        return code::INPUT;
    };
    let mode = match (args.format, args.transcript, args.quiet, args.verbose) {
        (Format::Json, ..) => Mode::Json,
        (_, true, _, _) => Mode::Transcript,
        (_, _, true, _) => Mode::Quiet,
        (_, _, _, true) => Mode::Verbose,
        _ => Mode::Live,
    };
    let interrupt = interrupt_channel();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: interrupt.clone(),
        ..RunOptions::default()
    };
    let mut worst = code::PASSED;
    for scenario in &scenarios {
        if interrupt.as_ref().is_some_and(exec::is_interrupted) {
            break;
        }
        let code = if mode == Mode::Json {
            let result = suite::run_case(scenario, &options, false);
            output.say(&json_line(&result));
            match &result.verdict {
                Err(_) => code::ENVIRONMENT,
                Ok(verdict) if verdict.passed() => code::PASSED,
                Ok(_) => code::FAILED,
            }
        } else {
            run_one(scenario, &options, mode, &mut output)
        };
        worst = worse(worst, code);
    }
    worst
}

fn run_one(scenario: &Arc<Scenario>, options: &RunOptions, mode: Mode, output: &mut Output) -> u8 {
    let live_view = matches!(mode, Mode::Live | Mode::Verbose);
    if live_view {
        output.say(&format!(
            "── {} ({})",
            scenario.name,
            scenario.path.display()
        ));
        if let Some(description) = &scenario.description {
            for line in description.trim_end().lines() {
                output.say(&format!("   {line}"));
            }
        }
    }
    let started = Instant::now();
    let mut live = LiveView::new(scenario);
    let result = exec::run(scenario, options, &mut |event| {
        if live_view {
            for line in live.lines(event, true) {
                output.say(&line);
            }
        } else if let crate::event::EventKind::Listening { addr } = &event.kind
            && let crate::event::Origin::Server(i) = event.origin
        {
            output.warn(&format!("{} listening on {addr}", scenario.servers[i].name));
        }
    });
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            output.warn(&format!("error: {}: {error:#}", scenario.path.display()));
            return code::ENVIRONMENT;
        }
    };
    if live_view {
        for line in live.finish(true) {
            output.say(&line);
        }
    }
    if matches!(mode, Mode::Transcript | Mode::Verbose) {
        output.say(&transcript::build(scenario, &outcome.events, &outcome.verdict).render(true));
    }
    let steps = transcript::count(&transcript::step_results(scenario, &outcome.events));
    output.say(&verdict_line(
        scenario,
        &outcome.verdict,
        steps,
        started.elapsed(),
        true,
    ));
    if let Some(reason) = outcome.refused_connection() {
        output.warn(&format!(
            "error: {}: a client could not connect: {reason}",
            scenario.path.display()
        ));
        return code::ENVIRONMENT;
    }
    if outcome.verdict.passed() {
        code::PASSED
    } else {
        code::FAILED
    }
}
