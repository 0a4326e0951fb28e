//! `netlab run`: run scenarios one after the other, printing the live view (or the transcript)
//! and a verdict line for each.

use std::time::Instant;

use anstream::ColorChoice;

use super::app::{Output, interrupt_channel, load_all, worse};
use super::args::{RunArgs, code};
use crate::exec::{self, RunOptions};
use crate::report::{LiveView, verdict_line};
use crate::scenario::{Scenario, VarValues};
use crate::transcript;

/// Runs `netlab run`; returns the exit code.
pub fn run(args: &RunArgs, choice: ColorChoice, vars: &VarValues) -> u8 {
    let mut output = Output::new(choice);
    let Some(scenarios) = load_all(&args.files, vars, &mut output) else {
        return code::INPUT;
    };
    let interrupt = interrupt_channel();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: interrupt.clone(),
        forever: false,
    };
    let mut worst = code::PASSED;
    for scenario in &scenarios {
        if interrupt.as_ref().is_some_and(exec::is_interrupted) {
            break;
        }
        let code = run_one(scenario, &options, args.transcript, &mut output);
        worst = worse(worst, code);
    }
    worst
}

fn run_one(
    scenario: &Scenario,
    options: &RunOptions,
    transcript_only: bool,
    output: &mut Output,
) -> u8 {
    if !transcript_only {
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
        if transcript_only {
            if let crate::event::EventKind::Listening { addr } = &event.kind
                && let crate::event::Origin::Server(i) = event.origin
            {
                output.warn(&format!("{} listening on {addr}", scenario.servers[i].name));
            }
        } else {
            for line in live.lines(event, true) {
                output.say(&line);
            }
        }
    });
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            output.warn(&format!("error: {}: {error:#}", scenario.path.display()));
            return code::ENVIRONMENT;
        }
    };
    if transcript_only {
        output.say(&transcript::build(scenario, &outcome.events, &outcome.verdict).render(true));
    } else {
        for line in live.finish(true) {
            output.say(&line);
        }
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
