//! `netlab lab EXERCISE...`: checks a lab itself. Each exercise runs against the solutions it
//! declares (`solutions:` in the file, and `--expect PATH=pass|fail[:AT]`): a reference must
//! pass, a broken one must fail — where its author meant it to, when `at` says where. The exit
//! code is 1 when a solution does not do as declared.

use std::path::PathBuf;
use std::sync::Arc;

use anstream::ColorChoice;

use super::args::{ExpectedSolution, LabArgs};
use super::interrupt::{Interrupt, unless_interrupted};
use super::loading::{load_all, load_all_needing};
use super::output::Output;
use crate::exit::Exit;
use crate::outcome::Verdict;
use crate::scenario::{NeededVars, Scenario, Solution, SolutionExpect, VarValues};
use crate::suite::CaseResult;
use crate::transcript::StepStatus;

/// `netlab lab`.
pub fn lab(args: &LabArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    // The exercises as written (no solution given yet), for the solutions they declare.
    let exercises = match load_all_needing(&args.exercises, vars, &NeededVars::None, &mut output) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    if let Err(why) = super::class::mapping_is_clear(vars) {
        output.warn(&format!("error: {why}"));
        return Exit::Input;
    }
    let mut cases: Vec<(Solution, Arc<Scenario>)> = Vec::new();
    for (file, exercise) in args.exercises.iter().zip(&exercises) {
        let given = args.expect.iter().map(|e| Solution {
            path: e.path.clone(),
            expect: e.expect,
            at: e.at.clone(),
        });
        let solutions: Vec<Solution> = exercise.solutions.iter().cloned().chain(given).collect();
        // An `at` from the command line is checked as one in the file is.
        let places = exercise.failure_places();
        for expected in &args.expect {
            if let Some(at) = expected.at.as_ref().filter(|at| !places.contains(at)) {
                let near = crate::diagnostic::did_you_mean(at, places.iter().map(String::as_str))
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                output.warn(&format!(
                    "error: `{}` has no step or check `{at}`{near}",
                    file.display()
                ));
                return Exit::Input;
            }
        }
        if solutions.is_empty() {
            output.warn(&format!(
                "error: `{}` declares no solutions: add `solutions:` to it, or give `--expect PATH=pass`",
                file.display()
            ));
            return Exit::Input;
        }
        for solution in solutions {
            if !solution.path.exists() {
                output.warn(&format!(
                    "error: no such solution: `{}` (of `{}`)",
                    solution.path.display(),
                    file.display()
                ));
                return Exit::Input;
            }
            let values = super::class::values_for(vars, &solution.path);
            // The file's warnings were said when it was first loaded.
            let mut quiet = Output::new(choice);
            quiet.hide_warnings();
            match load_all(std::slice::from_ref(file), &values, &mut quiet) {
                Ok(mut loaded) => {
                    if let Some(scenario) = loaded.pop() {
                        cases.push((solution, scenario));
                    }
                }
                Err(exit) => return exit,
            }
        }
    }
    let interrupt = Interrupt::install();
    let scenarios: Vec<Arc<Scenario>> = cases.iter().map(|(_, s)| s.clone()).collect();
    let bar = super::test::progress(scenarios.len());
    let results = super::class::run_class(&args.class, &scenarios, interrupt.as_ref(), &bar);
    let mut wrong = 0;
    for ((solution, scenario), result) in cases.iter().zip(&results) {
        let (ok, said) = judge(solution, scenario, result);
        wrong += usize::from(!ok);
        let mark = if ok { "ok  " } else { "FAIL" };
        output.say(&format!(
            "{mark} {} with {}: {said}",
            scenario.name,
            solution.path.display()
        ));
    }
    let verdict = if wrong == 0 {
        output.say(&format!(
            "every solution did as declared ({})",
            super::class::plural(cases.len(), "run")
        ));
        Exit::Passed
    } else {
        output.say(&format!(
            "{wrong} of {} solutions did not do as declared",
            cases.len()
        ));
        Exit::Failed
    };
    unless_interrupted(verdict, interrupt.as_ref())
}

/// Whether `result` is what `solution` declares, and what happened, in words.
fn judge(solution: &Solution, scenario: &Scenario, result: &CaseResult) -> (bool, String) {
    let score = format!("{}/{} points", result.points.earned, result.points.max);
    let passed = matches!(&result.verdict, Ok(v) if v.passed());
    match &result.verdict {
        Err(error) => return (false, format!("the run could not be carried out: {error}")),
        // Cut short (or never started) by an interrupt: no judgement either way.
        Ok(Verdict::Interrupted) => return (false, "not judged: interrupted".to_string()),
        Ok(_) => {}
    }
    let places = failed_places(scenario, result);
    match (solution.expect, passed, &solution.at) {
        (SolutionExpect::Pass, true, _) => (true, format!("passed as declared ({score})")),
        (SolutionExpect::Pass, false, _) => (
            false,
            format!(
                "declared to pass, failed at {} ({score})",
                list(&places).unwrap_or_else(|| "the end of the run".into())
            ),
        ),
        (SolutionExpect::Fail, true, _) => (false, format!("declared to fail, passed ({score})")),
        (SolutionExpect::Fail, false, None) => (true, format!("failed as declared ({score})")),
        (SolutionExpect::Fail, false, Some(at)) if places.contains(at) => {
            (true, format!("failed at {at} as declared ({score})"))
        }
        (SolutionExpect::Fail, false, Some(at)) => (
            false,
            format!(
                "declared to fail at {at}, failed at {} instead ({score})",
                list(&places).unwrap_or_else(|| "the end of the run".into())
            ),
        ),
    }
}

/// Where the run failed, as `at:` names places (see `Scenario::failure_places`).
fn failed_places(scenario: &Scenario, result: &CaseResult) -> Vec<String> {
    let mut places = Vec::new();
    if let Some((server, _)) = &result.program {
        places.push(server.clone());
    }
    for failed in result
        .step_results
        .iter()
        .filter(|r| r.result == StepStatus::Failed)
    {
        let place = scenario.place_name(failed.owner, failed.step);
        if let Some(place) = place
            && !places.contains(&place)
        {
            places.push(place);
        }
    }
    places
}

fn list(places: &[String]) -> Option<String> {
    (!places.is_empty()).then(|| places.join(", "))
}

/// `--expect PATH=pass|fail[:AT]`.
pub(super) fn parse_expected(text: &str) -> Result<ExpectedSolution, String> {
    let Some((path, how)) = text.rsplit_once('=') else {
        return Err(format!("`{text}` is not PATH=pass or PATH=fail[:AT]"));
    };
    let (expect, at) = match how.split_once(':') {
        Some(("fail", at)) if !at.is_empty() => (SolutionExpect::Fail, Some(at.to_string())),
        None if how == "fail" => (SolutionExpect::Fail, None),
        None if how == "pass" => (SolutionExpect::Pass, None),
        _ => {
            return Err(format!(
                "`{how}` is not `pass`, `fail` or `fail:AT` (AT: CLIENT.steps[N], SERVER, SERVER.expect_messages)"
            ));
        }
    };
    Ok(ExpectedSolution {
        path: PathBuf::from(path),
        expect,
        at,
    })
}
