//! `netlab test`: find scenarios, run them in parallel, compare each transcript with its stored
//! snapshot, store or leave new snapshots as asked, and report for people, JSON or JUnit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{Format, TestArgs, Unreferenced};
use super::interrupt::{Interrupt, receiver, unless_interrupted};
use super::loading::{load_all, point_at_outside, scenario_files};
use super::output::Output;
use super::reports::{cases, prepare_report_dir, prepare_report_file};
use crate::exec::RunOptions;
use crate::exit::Exit;
use crate::outcome::Verdict;
use crate::report::github;
use crate::report::json::{failure_text, json_line};
use crate::report::junit::junit_xml;
use crate::scenario::VarValues;
use crate::snapshot;
use crate::suite::{self, CaseResult, CaseStatus, SnapshotCheck, SnapshotWrite, SuiteLimits};
use crate::transcript::program_failure_reason;

const GREEN: Style = AnsiColor::Green.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();

/// Runs `netlab test`; returns how it ended.
pub fn test(args: &TestArgs, choice: ColorChoice, vars: &VarValues) -> Exit {
    let mut output = Output::new(choice);
    let (paths, files) = match scenario_files(&args.paths, &mut output) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    let scenarios = match load_all(&files, vars, &mut output)
        .and_then(|scenarios| point_at_outside(scenarios, &args.targets, &mut output))
    {
        Ok(scenarios) => scenarios,
        Err(exit) => return exit,
    };
    let scenarios = suite::select(scenarios, &args.filter);
    if scenarios.is_empty() {
        output.warn(&format!(
            "error: no scenario name contains {}",
            args.filter.join(" or ")
        ));
        return Exit::NothingMatched;
    }
    // A shard may hold nothing (more shards than scenarios): that is not an error.
    let scenarios = match &args.partition {
        Some(partition) => partition.take(scenarios),
        None => scenarios,
    };
    if args.list {
        for scenario in &scenarios {
            output.say(&format!("{}\t{}", scenario.name, scenario.path.display()));
        }
        return Exit::Passed;
    }
    // A report that cannot be written is found before the run, not after a green one.
    if let Some(path) = &args.junit
        && let Err(error) = prepare_report_file(path)
    {
        output.warn(&format!(
            "error: cannot write the JUnit report `{}`: {error}",
            path.display()
        ));
        return Exit::Environment;
    }
    if let Some(dir) = &args.html
        && let Err(error) = prepare_report_dir(dir)
    {
        output.warn(&format!(
            "error: cannot write the HTML report in `{}`: {error}",
            dir.display()
        ));
        return Exit::Environment;
    }
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let interrupt = Interrupt::install();
    let options = RunOptions {
        time_scale: args.time_scale.unwrap_or_default(),
        interrupt: receiver(interrupt.as_ref()),
        ..RunOptions::default()
    };
    let human = args.format == Format::Human;
    let bar = if human {
        progress(scenarios.len())
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let in_ci = snapshot::in_ci();
    let will_write = args.update && !in_ci;
    let limits = SuiteLimits {
        jobs,
        retries: args.retries,
        default_retries: args.default_retries,
        max_fail: args.max_fail(),
        slow_after: args.slow_timeout.0,
        update: args.update && !in_ci,
        compare_snapshots: true,
    };
    // Both callbacks print (one at a time: the suite calls them from this thread).
    let shared = std::cell::RefCell::new(&mut output);
    let mut results = suite::run(
        &scenarios,
        &limits,
        &options,
        &mut |result| {
            bar.inc(1);
            bar.set_message(result.name.clone());
            if human && !(args.quiet && result.ok() && !result.flaky()) {
                bar.suspend(|| shared.borrow_mut().say(&result_line(result, will_write)));
            }
        },
        &mut |scenario, took| {
            if human {
                let line = format!(
                    "{} [> {}] {} ({})",
                    paint(YELLOW, "SLOW"),
                    humantime::format_duration(took),
                    scenario.name,
                    scenario.path.display()
                );
                bar.suspend(|| shared.borrow_mut().say(&line));
            }
        },
    );
    bar.finish_and_clear();
    let took = started.elapsed();
    let interrupted = interrupt.as_ref().is_some_and(Interrupt::fired);
    let writes = suite::store_snapshots(&mut results, args.update, in_ci, interrupted);
    // Said in every format, and counted in the exit code.
    for write in &writes {
        if let SnapshotWrite::Unmade(_, bug) = write {
            output.bug(bug);
        }
    }
    let mut worst = Exit::Passed;
    if let Some(path) = &args.junit
        && let Err(error) = write_junit(path, &results, took)
    {
        output.warn(&format!(
            "error: cannot write the JUnit report `{}`: {error}",
            path.display()
        ));
        worst = Exit::Environment;
    }
    if let Some(dir) = &args.html {
        match crate::report::html::write_suite(dir, &cases(&scenarios, &results)) {
            Ok(index) => {
                if human {
                    output.say(&format!("HTML report: {}", index.display()));
                }
            }
            Err(error) => {
                output.warn(&format!(
                    "error: cannot write the HTML report in `{}`: {}",
                    dir.display(),
                    crate::diagnostic::io_reason(&error)
                ));
                worst = Exit::Environment;
            }
        }
    }
    if human && args.verbose {
        for result in &results {
            output.say("");
            output.say(&result.transcript);
        }
    }
    if human {
        // The scenarios never started get their line too, after those that ran.
        for result in results.iter().filter(|r| r.skipped) {
            output.say(&result_line(result, will_write));
        }
        print_details(&mut output, &results);
        print_writes(&mut output, &writes, args.update, in_ci, &results);
        print_summary(&mut output, &results, scenarios.len(), took, jobs);
    } else {
        for result in &results {
            output.say_made(json_line(result));
        }
    }
    if github::in_github_actions(std::env::var("GITHUB_ACTIONS").ok().as_deref()) {
        // On stdout with the text report; beside JSON lines, on stderr (the runner reads both).
        let workspace = std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from);
        for annotation in github::annotations(&results, workspace.as_deref()) {
            if human {
                output.say(&annotation);
            } else {
                output.warn(&annotation);
            }
        }
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
            && let Err(error) = append(Path::new(&path), &github::step_summary(&results, took))
        {
            output.warn(&format!(
                "error: cannot append to GITHUB_STEP_SUMMARY `{}`: {}",
                Path::new(&path).display(),
                crate::diagnostic::io_reason(&error)
            ));
            worst = Exit::Environment;
        }
    }
    if !interrupted && !handle_unreferenced(&mut output, &paths, args.unreferenced, in_ci) {
        worst = worst.max(Exit::Failed);
    }
    let worst = results.iter().map(Exit::of).fold(worst, Exit::max);
    let worst = output.unless_output_failed(worst);
    unless_interrupted(worst, interrupt.as_ref())
}

/// Looks for snapshots that no scenario file of the folders given (`paths` that are directories)
/// writes, and does what `what` says (on stderr, in every format); false when they fail the run
/// (`reject`). Files and patterns given are not folders of a whole suite: nothing is looked for.
fn handle_unreferenced(
    output: &mut Output,
    paths: &[PathBuf],
    what: Unreferenced,
    in_ci: bool,
) -> bool {
    if what == Unreferenced::Ignore {
        return true;
    }
    let folders: Vec<&Path> = paths
        .iter()
        .filter(|p| p.is_dir())
        .map(PathBuf::as_path)
        .collect();
    let orphans = snapshot::unreferenced(&folders);
    for orphan in &orphans {
        let shown = orphan.display();
        match what {
            Unreferenced::Delete if !in_ci => match std::fs::remove_file(orphan) {
                Ok(()) => output.warn(&format!("deleted unreferenced snapshot {shown}")),
                Err(e) => output.warn(&format!(
                    "warning: cannot delete unreferenced snapshot {shown}: {}",
                    crate::diagnostic::io_reason(&e)
                )),
            },
            Unreferenced::Reject => output.warn(&format!(
                "error: unreferenced snapshot {shown}: no scenario of the suite writes it"
            )),
            _ if in_ci => output.warn(&format!(
                "warning: unreferenced snapshot {shown}: no scenario of the suite writes it"
            )),
            _ => output.warn(&format!(
                "warning: unreferenced snapshot {shown}: no scenario of the suite writes it (--unreferenced delete removes it)"
            )),
        }
    }
    what != Unreferenced::Reject || orphans.is_empty()
}

/// Scenarios spend their time waiting on sockets and delays, not computing: 4 per CPU.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get() * 4)
}

/// A progress line on stderr, drawn only on a terminal.
pub(super) fn progress(total: usize) -> ProgressBar {
    if super::color::dumb_terminal(&|name| std::env::var_os(name)) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// One line per scenario as it finishes. `will_write`: `--update` will store its snapshot.
fn result_line(result: &CaseResult, will_write: bool) -> String {
    let attempts = result.earlier.len() + 1;
    let (mark, why) = match result.status() {
        CaseStatus::Passed if result.flaky() => (
            paint(YELLOW, "FLAKY"),
            format!(
                ": passed on attempt {attempts} of {}",
                result.attempts_allowed
            ),
        ),
        CaseStatus::Passed => (paint(GREEN, "PASS"), String::new()),
        CaseStatus::SnapshotDiffers if will_write => {
            (paint(GREEN, "PASS"), ": snapshot to update".to_string())
        }
        CaseStatus::SnapshotMissing if will_write => {
            (paint(GREEN, "PASS"), ": new snapshot".to_string())
        }
        CaseStatus::Failed => (paint(RED, "FAIL"), failed_reason(result)),
        CaseStatus::SnapshotDiffers => (
            paint(RED, "FAIL"),
            ": the transcript differs from its snapshot".to_string(),
        ),
        CaseStatus::SnapshotMissing => (paint(RED, "FAIL"), ": no snapshot stored yet".to_string()),
        CaseStatus::Skipped => (
            paint(DIM, "SKIP"),
            format!(
                ": not run, {}",
                result.not_run_because().unwrap_or_default()
            ),
        ),
        CaseStatus::Error => (
            paint(RED, "ERROR"),
            match &result.verdict {
                Err(e) => format!(": {e}"),
                Ok(_) => String::new(),
            },
        ),
    };
    format!(
        "{mark} {} ({}) in {:.2}s{why}",
        result.name,
        result.path.display(),
        result.duration.as_secs_f64()
    )
}

/// Why a run failed, after the name on its result line.
fn failed_reason(result: &CaseResult) -> String {
    match (&result.verdict, &result.program) {
        (Ok(Verdict::TimedOut(d)), _) => {
            format!(": timed out after {}", humantime::format_duration(*d))
        }
        (Ok(Verdict::Interrupted), _) => ": interrupted".to_string(),
        (_, Some((server, failure))) => format!(
            ": the program under test of `{server}` {}",
            program_failure_reason(&failure.kind)
        ),
        _ => ": a step failed".to_string(),
    }
}

/// For each case that did not pass: the failing step and the snapshot diff, coloured.
fn print_details(output: &mut Output, results: &[CaseResult]) {
    for result in results.iter().filter(|r| !r.ok() && !r.never_started()) {
        output.say("");
        output.say(&paint(
            RED,
            &format!("── {} ({})", result.name, result.path.display()),
        ));
        if matches!(result.verdict, Ok(ref v) if *v != Verdict::Passed)
            && let Some(failure) = &result.first_failure
        {
            for line in failure.lines() {
                output.say(&format!("   {line}"));
            }
        }
        // What depended on timing explains many a snapshot that differs: said next to it.
        for warning in &result.run_warnings {
            output.say(&format!("   warning: {warning}"));
        }
        match &result.snapshot {
            Some(SnapshotCheck::Differs { diff, .. }) => {
                for line in diff.lines() {
                    output.say(&diff_line(line));
                }
            }
            Some(SnapshotCheck::Missing) => {
                output.say("   no snapshot is stored for this scenario")
            }
            Some(SnapshotCheck::Unreadable(error)) => output.say(&format!("   {error}")),
            _ => {
                if let Some(text) = failure_text(result).filter(|_| result.verdict.is_err()) {
                    output.say(&format!("   {text}"));
                }
            }
        }
    }
}

pub(super) fn diff_line(line: &str) -> String {
    let style = if line.starts_with("+++") || line.starts_with("---") {
        Style::new().bold()
    } else if line.starts_with('+') {
        AnsiColor::Green.on_default()
    } else if line.starts_with('-') {
        AnsiColor::Red.on_default()
    } else if line.starts_with("@@") {
        AnsiColor::Cyan.on_default()
    } else {
        Style::new()
    };
    format!("   {}", paint(style, line))
}

fn print_writes(
    output: &mut Output,
    writes: &[SnapshotWrite],
    update: bool,
    in_ci: bool,
    results: &[CaseResult],
) {
    let needed = results.iter().any(|r| {
        matches!(
            r.snapshot,
            Some(SnapshotCheck::Differs { .. } | SnapshotCheck::Missing)
        )
    });
    if in_ci && needed {
        output.say("");
        output.say(if update {
            "CI is set: no snapshot written, whatever --update says"
        } else {
            "CI is set: no snapshot written"
        });
        return;
    }
    if writes.is_empty() {
        return;
    }
    output.say("");
    for write in writes {
        match write {
            SnapshotWrite::Created(path) => output.say(&format!("created {}", path.display())),
            SnapshotWrite::Updated(path) => output.say(&format!("updated {}", path.display())),
            SnapshotWrite::Pending(path) => output.say(&format!("wrote {}", path.display())),
            SnapshotWrite::NotStored(path, why) => {
                output.say(&format!("not stored: {} ({why})", path.display()))
            }
            SnapshotWrite::Failed(path, error) => {
                output.warn(&format!("error: cannot write {}: {error}", path.display()))
            }
            // Said as a bug, in every format, once the snapshots were stored.
            SnapshotWrite::Unmade(..) => {}
        }
    }
    if writes
        .iter()
        .any(|w| matches!(w, SnapshotWrite::Pending(_)))
    {
        output.say(
            "review: `netlab test --update` stores the new transcripts (or `cargo insta review`)",
        );
    }
}

fn print_summary(
    output: &mut Output,
    results: &[CaseResult],
    planned: usize,
    took: Duration,
    jobs: usize,
) {
    let passed = results.iter().filter(|r| r.ok()).count();
    let interrupted = results
        .iter()
        .filter(|r| r.never_started() && !r.skipped)
        .count();
    let skipped = results.iter().filter(|r| r.skipped).count();
    let failed = results.len() - passed - interrupted - skipped;
    let sum: Duration = results.iter().map(|r| r.duration).sum();
    let flaky = results.iter().filter(|r| r.flaky()).count();
    let mut line = format!("{passed} passed, {failed} failed");
    if flaky > 0 {
        line.push_str(&format!(" ({flaky} flaky: passed on a retry)"));
    }
    if interrupted > 0 {
        line.push_str(&format!(", {interrupted} not run (interrupted)"));
    }
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped (enough had failed)"));
    }
    let skipped = interrupted + skipped;
    let style = if failed == 0 && skipped == 0 {
        GREEN
    } else {
        RED
    };
    output.say("");
    output.say(&format!(
        "{} {}",
        paint(style, &line),
        paint(
            DIM,
            &format!(
                "in {:.2}s ({} scenario{}, {:.2}s one after the other, {} at a time)",
                took.as_secs_f64(),
                results.len() - skipped,
                if results.len() - skipped == 1 {
                    ""
                } else {
                    "s"
                },
                sum.as_secs_f64(),
                jobs.min(planned).max(1)
            )
        )
    ));
}

/// Appends `text` to the file at `path` (made if it is not there).
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

fn write_junit(path: &PathBuf, results: &[CaseResult], took: Duration) -> Result<(), String> {
    let xml = junit_xml(results, took)?;
    std::fs::write(path, xml).map_err(|e| crate::diagnostic::io_reason(&e))
}
