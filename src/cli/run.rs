//! `netlab run`: run scenarios one after the other, printing the live view (or the transcript)
//! and a verdict line for each.

use std::sync::Arc;

use anstream::ColorChoice;

use super::args::{Format, RunArgs};
use super::interrupt::{Interrupt, receiver, unless_interrupted};
use super::loading::{load_all, point_at_outside};
use super::output::{Output, run_error_text};
use super::reports::{cases, discard, prepare_report_file, same_file, write_html, write_svg};
use crate::exec::RunOptions;
use crate::exit::Exit;
use crate::report::json::json_line;
use crate::report::{LiveView, verdict_line};
use crate::scenario::{Scenario, VarValues};
use crate::suite::{self, CaseResult};

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

/// Runs `netlab run`; returns how it ended.
pub fn run(args: &RunArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    if args.quiet && !args.transcript && !args.verbose {
        output.hide_warnings();
    }
    let scenarios = match load_all(&args.files, vars, &mut output)
        .and_then(|scenarios| point_at_outside(scenarios, &args.targets, &mut output))
    {
        Ok(scenarios) => scenarios,
        Err(exit) => return exit,
    };
    let mode = match (args.format, args.transcript, args.quiet, args.verbose) {
        (Format::Json, ..) => Mode::Json,
        (_, true, _, _) => Mode::Transcript,
        (_, _, true, _) => Mode::Quiet,
        (_, _, _, true) => Mode::Verbose,
        _ => Mode::Live,
    };
    if let Some(error) = reports_unwritable(args, scenarios.len()) {
        output.warn(&error.0);
        return error.1;
    }
    let interrupt = Interrupt::install();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: receiver(interrupt.as_ref()),
        ..RunOptions::default()
    };
    let mut worst = Exit::Passed;
    let mut results = Vec::new();
    for scenario in &scenarios {
        if interrupt.as_ref().is_some_and(Interrupt::fired) {
            break;
        }
        let result = if mode == Mode::Json {
            let result = suite::run_case(scenario, &options, false);
            output.say_made(json_line(&result));
            result
        } else {
            run_one(scenario, &options, mode, &mut output)
        };
        worst = worst.max(Exit::of(&result));
        results.push(result);
    }
    let cases = cases(&scenarios, &results);
    if let Some(path) = &args.html
        && let Err(error) = write_html(path, &cases)
    {
        output.warn(&format!(
            "error: cannot write the HTML report `{}`: {error}",
            path.display()
        ));
        worst = worst.max(Exit::Environment);
    }
    if let Some(path) = &args.svg {
        match cases.first() {
            Some(case) => {
                if let Err(error) = write_svg(path, case) {
                    output.warn(&format!(
                        "error: cannot write the diagram `{}`: {error}",
                        path.display()
                    ));
                    worst = worst.max(Exit::Environment);
                }
            }
            // Interrupted before it ran.
            None => discard(path),
        }
    }
    let worst = output.unless_output_failed(worst);
    unless_interrupted(worst, interrupt.as_ref())
}

fn run_one(
    scenario: &Arc<Scenario>,
    options: &RunOptions,
    mode: Mode,
    output: &mut Output,
) -> CaseResult {
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
    let mut live = LiveView::new(scenario);
    let result = suite::run_case_observed(scenario, options, false, &mut |event| {
        if live_view {
            for line in live.lines(event, true) {
                output.say(&line);
            }
        } else if mode == Mode::Transcript
            // The transcript has no ports: where each server listened is said beside it (not
            // under `-q`, which prints the verdict line alone).
            && let crate::event::EventKind::Listening { addr, .. } = &event.kind
            && let crate::event::Origin::Server(i) = event.origin
        {
            output.warn(&format!("{} listening on {addr}", scenario.servers[i].name));
        }
    });
    let Some(verdict) = &result.ran else {
        if let Err(error) = &result.verdict {
            output.warn(&run_error_text(&scenario.path, error));
        }
        return result;
    };
    if live_view {
        for line in live.finish(true) {
            output.say(&line);
        }
    }
    if let (Mode::Transcript | Mode::Verbose, Some(built)) = (mode, &result.built) {
        output.say(&built.render(true));
    }
    // What depended on timing, said where the user looks (the file's own are said at load);
    // `-q` says the verdict alone.
    if mode != Mode::Quiet {
        for warning in &result.run_warnings {
            output.warn(&format!("warning: {warning}"));
        }
    }
    match &result.verdict {
        Ok(_) => output.say(&verdict_line(
            scenario,
            verdict,
            result.program.as_ref(),
            &result.step_results,
            result.points,
            result.duration,
            true,
        )),
        // The run happened, but the environment refused a client: not the scenario's verdict.
        Err(error) => {
            let red = anstyle::AnsiColor::Red.on_default().bold();
            output.say(&format!(
                "{red}ERROR{red:#} {} ({}) in {:.2}s: {error}",
                scenario.name,
                scenario.path.display(),
                result.duration.as_secs_f64()
            ));
            if mode != Mode::Quiet {
                output.warn(&run_error_text(&scenario.path, error));
            }
        }
    }
    result
}

/// Why the report files asked for cannot be written, checked before the run, and the exit
/// code: `--svg` draws one scenario (a usage error with several), a file that cannot be made is
/// the environment's refusal.
fn reports_unwritable(args: &RunArgs, scenarios: usize) -> Option<(String, Exit)> {
    if args.svg.is_some() && scenarios != 1 {
        return Some((
            format!(
                "error: --svg draws the diagram of one scenario; {scenarios} were given (use \
                 --html for several)"
            ),
            Exit::Input,
        ));
    }
    for (path, what) in [(&args.html, "HTML report"), (&args.svg, "diagram")] {
        if let Some(path) = path
            && let Err(error) = prepare_report_file(path)
        {
            return Some((
                format!(
                    "error: cannot write the {what} `{}`: {error}",
                    path.display()
                ),
                Exit::Environment,
            ));
        }
    }
    // However they are spelled (`./x`, a link), once both exist.
    if let (Some(html), Some(svg)) = (&args.html, &args.svg)
        && same_file(html, svg)
    {
        // Made just now, if it was not there.
        if std::fs::metadata(html).is_ok_and(|m| m.len() == 0) {
            discard(html);
        }
        return Some((
            "error: --html and --svg name the same file".to_string(),
            Exit::Input,
        ));
    }
    None
}
