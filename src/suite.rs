//! Test suites: finding the scenario files under the paths given, keeping those a filter selects,
//! and running them in parallel (scenarios that bind port 0 never collide; two that bind the same
//! fixed port run one after the other), checking each transcript against its snapshot. Used by `netlab test` (and, one scenario at a time without
//! snapshots, by `netlab run`); reports are made from its results.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam::channel::unbounded;

use std::sync::Arc;

use crate::difference::Difference;
use crate::event::{Event, ProgramFailure};
use crate::exec::{self, RunOptions};
use crate::exit::Bug;
use crate::outcome::{RunError, Verdict};
use crate::scenario::{Protocol, Scenario};
use crate::snapshot::{self, Comparison};
use crate::transcript::{self, Points, StepCounts, StepResult, Transcript};

/// The files that the pattern `pattern` (`scenarios/**/*.yaml`) matches, sorted: `*` within one
/// folder, `**` at any depth. Folders are walked without following links to folders (a link to
/// `.` or `..` made the glob crate's own walk endless); a link to a file is a file.
pub fn matching_files(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let compiled = glob::Pattern::new(pattern)
        .map_err(|e| format!("`{pattern}` is not a pattern netlab can read: {e}"))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        require_literal_leading_dot: false,
        case_sensitive: true,
    };
    // The walk starts at the part of the pattern before its first wildcard.
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|part| !part.contains(['*', '?', '[']))
        .collect();
    let base = match literal.join("/") {
        text if text.is_empty() && pattern.starts_with('/') => PathBuf::from("/"),
        text if text.is_empty() => PathBuf::from("."),
        text => PathBuf::from(text),
    };
    // `./x` from a walk of `.` is matched as `x`, as the pattern wrote it.
    let relative = base == Path::new(".") && !pattern.starts_with("./");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&base)
        .follow_links(false)
        .sort_by_file_name()
    {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let shown = match path.strip_prefix(".") {
            Ok(rest) if relative => rest,
            _ => path,
        };
        if compiled.matches_path_with(shown, options) && path.is_file() {
            found.push(shown.to_path_buf());
        }
    }
    Ok(found)
}

/// Finds the scenario files under `paths`: a file is taken as it is; a directory gives the
/// `*.yaml` and `*.yml` files directly in it (not in its subdirectories, so that a suite can keep
/// scenarios that need more, such as exercises that need `--var`, one level down). The result
/// is sorted and without duplicates. Errors name a path that cannot be read.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let unreadable = |path: &Path, e: std::io::Error| {
        format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )
    };
    let mut found = Vec::new();
    for path in paths {
        // A pattern (`scenarios/**/*.yaml`, quoted so that the shell leaves it alone): the files
        // it matches, in any depth that `**` allows.
        let text = path.to_string_lossy();
        if !path.exists() && text.contains(['*', '?', '[']) {
            found.extend(matching_files(&text)?);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| unreadable(path, e))?;
        if !meta.is_dir() {
            found.push(path.clone());
            continue;
        }
        for entry in std::fs::read_dir(path)
            .map_err(|e| unreadable(path, e))?
            .flatten()
        {
            let file = entry.path();
            let is_yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if is_yaml && file.is_file() {
                found.push(file);
            }
        }
    }
    found.sort();
    // The same file named twice (`k` and `./k/c.yaml`) runs once.
    let mut seen = HashSet::new();
    found.retain(|file| seen.insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.clone())));
    Ok(found)
}

/// Keeps the scenarios whose name contains one of `filters` (all of them if there is none).
pub fn select(scenarios: Vec<Arc<Scenario>>, filters: &[String]) -> Vec<Arc<Scenario>> {
    if filters.is_empty() {
        return scenarios;
    }
    scenarios
        .into_iter()
        .filter(|s| filters.iter().any(|f| s.name.contains(f.as_str())))
        .collect()
}

/// One shard of a suite, as `--partition` names it (cargo-nextest's meaning): `count:K/N` takes
/// every N-th scenario from the K-th (in the order they were found and filtered), `hash:K/N` the
/// scenarios whose name hashes to K (a scenario stays in its shard when others come and go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// By position, or by a hash of the name.
    pub by_hash: bool,
    /// The shard taken, from 1.
    pub shard: u64,
    /// How many shards.
    pub total: u64,
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong =
            || format!("`{text}` is not a partition: write count:K/N or hash:K/N (1 <= K <= N)");
        let (kind, shards) = text.split_once(':').ok_or_else(wrong)?;
        let by_hash = match kind {
            "count" => false,
            "hash" => true,
            _ => return Err(wrong()),
        };
        let (shard, total) = shards.split_once('/').ok_or_else(wrong)?;
        // Digits only (`u64::from_str` also takes a `+`).
        let number = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u64>().ok())
                .flatten()
                .ok_or_else(wrong)
        };
        let (shard, total) = (number(shard)?, number(total)?);
        if shard == 0 || total == 0 || shard > total {
            return Err(wrong());
        }
        Ok(Partition {
            by_hash,
            shard,
            total,
        })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.by_hash { "hash" } else { "count" };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

impl Partition {
    /// The scenarios of this shard, in their order.
    pub fn take(&self, scenarios: Vec<Arc<Scenario>>) -> Vec<Arc<Scenario>> {
        scenarios
            .into_iter()
            .enumerate()
            .filter(|(position, scenario)| {
                let key = if self.by_hash {
                    stable_hash(scenario.name.as_bytes())
                } else {
                    *position as u64
                };
                key % self.total == self.shard - 1
            })
            .map(|(_, scenario)| scenario)
            .collect()
    }
}

/// FNV-1a, 64 bits: written here rather than taken from a crate because a shard must hold the same
/// scenarios on every machine and in every netlab version, which a hash fixed by its definition
/// guarantees and a library's default hasher (randomly seeded, or free to change) does not.
fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// How a suite runs: how many scenarios at once, how many retries, when to stop.
#[derive(Debug, Clone, Copy)]
pub struct SuiteLimits {
    /// Scenarios at once.
    pub jobs: usize,
    /// More attempts for a failing scenario (`--retries`; `None`: each file's `retries:`).
    pub retries: Option<u32>,
    /// More attempts for a scenario whose file says nothing (a profile's `retries`).
    pub default_retries: Option<u32>,
    /// Start no more scenarios once this many have failed (`--max-fail`; `None`: run them all).
    pub max_fail: Option<usize>,
    /// Say a scenario is slow each time it has run this long more (`--slow-timeout`).
    pub slow_after: Option<Duration>,
    /// `--update`: new and changed snapshots are to be stored (not failures, not retried).
    pub update: bool,
    /// Whether transcripts are compared with their snapshots (not when grading submissions).
    pub compare_snapshots: bool,
}

/// How often the suite looks for slow scenarios.
const SLOW_CHECK: Duration = Duration::from_millis(100);

/// What a worker tells the suite: the scenario of this index is done. (That one starts is
/// written in `Running`, not sent: a message would wake the suite's thread once more per
/// scenario, for the slow check alone.)
struct Finished(usize, Box<CaseResult>);

/// The scenarios running now, since when, and how many slow periods were said of each.
type Running = Mutex<HashMap<usize, (Instant, u32)>>;

/// The failures of a suite so far, against its `--max-fail`.
struct Failures {
    count: std::sync::atomic::AtomicUsize,
    most: Option<usize>,
}

impl Failures {
    fn new(most: Option<usize>) -> Failures {
        Failures {
            count: std::sync::atomic::AtomicUsize::new(0),
            most,
        }
    }

    fn count_one(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether no more scenarios should start.
    fn reached(&self) -> bool {
        self.most
            .is_some_and(|most| self.count.load(std::sync::atomic::Ordering::SeqCst) >= most)
    }
}

/// What the snapshot check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotCheck {
    /// The transcript equals the stored one.
    Matches,
    /// It differs.
    Differs {
        /// A unified diff from stored to new.
        diff: String,
        /// The first line that differs.
        first: Option<Difference>,
    },
    /// There was no snapshot.
    Missing,
    /// The snapshot file could not be read.
    Unreadable(String),
    /// It differed or was missing, and `--update` wrote the new one.
    Written,
}

/// The result of one scenario of a suite.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// How the run ended; `Err` when it could not be carried out (nothing, or not enough, ran).
    pub verdict: Result<Verdict, RunError>,
    /// The deterministic transcript (empty if nothing ran).
    pub transcript: String,
    /// The transcript before it was turned into text (`None` if nothing ran).
    pub built: Option<Transcript>,
    /// How the run itself ended, if it ran: kept when `verdict` is the environment's refusal of
    /// a client, for the verdict line beside the transcript.
    pub ran: Option<Verdict>,
    /// The program under test that failed, if one did: the server's name and what happened.
    pub program: Option<(String, ProgramFailure)>,
    /// The snapshot check (not done when nothing ran).
    pub snapshot: Option<SnapshotCheck>,
    /// Step counts.
    pub steps: StepCounts,
    /// Points earned, and the most the scenario gives (known also when nothing ran).
    pub points: Points,
    /// Every step of every client instance, with its result.
    pub step_results: Vec<StepResult>,
    /// The first failing step, as the transcript shows it (with its detail lines).
    pub first_failure: Option<String>,
    /// What the file does that is probably not meant: `path:line:col: message`.
    pub file_warnings: Vec<String>,
    /// What the run shows that depended on timing (sends a server read joined or cut).
    pub run_warnings: Vec<String>,
    /// Wall time of the run.
    pub duration: Duration,
    /// The attempts that failed before this one (`--retries`, `retries:`), oldest first.
    pub earlier: Vec<CaseResult>,
    /// How many attempts it was allowed (1 + its retries).
    pub attempts_allowed: u32,
    /// Not started because enough scenarios had failed (`--max-fail`).
    pub skipped: bool,
}

/// What a case came to, all things considered (the run, then its snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// It passed and matched its snapshot (or was not compared with one).
    Passed,
    /// The run failed (a step, a program under test, the timeout, an interruption).
    Failed,
    /// It passed, but its transcript differs from the snapshot.
    SnapshotDiffers,
    /// It passed, and no snapshot is stored.
    SnapshotMissing,
    /// It could not be run, or its snapshot could not be read.
    Error,
    /// It was not started: enough scenarios had failed (`--max-fail`, `--fail-fast`), or an
    /// interruption came first (`CaseResult::not_run_because` says which).
    Skipped,
}

impl CaseStatus {
    /// The word for it in reports (`docs/json-report.md`).
    pub fn word(self) -> &'static str {
        match self {
            CaseStatus::Passed => "passed",
            CaseStatus::Failed => "failed",
            CaseStatus::SnapshotDiffers => "snapshot_differs",
            CaseStatus::SnapshotMissing => "snapshot_missing",
            CaseStatus::Error => "error",
            CaseStatus::Skipped => "skipped",
        }
    }
}

impl CaseResult {
    /// The result of a scenario an interruption kept from starting.
    pub fn not_run(scenario: &Scenario) -> CaseResult {
        CaseResult {
            name: scenario.name.clone(),
            path: scenario.path.clone(),
            verdict: Ok(Verdict::Interrupted),
            transcript: String::new(),
            built: None,
            ran: None,
            program: None,
            snapshot: None,
            steps: StepCounts::default(),
            points: transcript::points(scenario, &[]),
            step_results: Vec::new(),
            first_failure: None,
            file_warnings: Vec::new(),
            run_warnings: Vec::new(),
            duration: Duration::ZERO,
            earlier: Vec::new(),
            attempts_allowed: 1,
            skipped: false,
        }
    }

    /// Why a scenario that never started did not (`None` when it started).
    pub fn not_run_because(&self) -> Option<&'static str> {
        if self.skipped {
            Some("enough scenarios had failed (--fail-fast, --max-fail)")
        } else if self.never_started() {
            Some("interrupted before it started")
        } else {
            None
        }
    }

    /// Whether the run never started (an interruption came first).
    pub fn never_started(&self) -> bool {
        self.skipped || (self.ran.is_none() && matches!(self.verdict, Ok(Verdict::Interrupted)))
    }

    /// Passed and matched its snapshot.
    pub fn ok(&self) -> bool {
        self.status() == CaseStatus::Passed
    }

    /// It passed, but only on a retry.
    pub fn flaky(&self) -> bool {
        self.ok() && !self.earlier.is_empty()
    }

    /// Whether another attempt could come to something else: a failed run or a transcript that
    /// differs from its snapshot (timing; not when `--update` is to store it), not a missing
    /// snapshot, nor an interruption.
    fn worth_retrying(&self, update: bool) -> bool {
        let differs = self.status() == CaseStatus::SnapshotDiffers && !update;
        (differs || matches!(self.status(), CaseStatus::Failed | CaseStatus::Error))
            && self.verdict != Ok(Verdict::Interrupted)
    }

    /// Whether it counts as a failure of the suite (`--max-fail`): with `--update`, a new or
    /// changed snapshot of a passing run is to be stored, not a failure.
    fn fails(&self, update: bool) -> bool {
        match self.status() {
            CaseStatus::Passed | CaseStatus::Skipped => false,
            CaseStatus::SnapshotDiffers | CaseStatus::SnapshotMissing => !update,
            CaseStatus::Failed | CaseStatus::Error => !self.never_started(),
        }
    }

    /// The result of a scenario not started because enough others had failed.
    pub fn skipped(scenario: &Scenario) -> CaseResult {
        CaseResult {
            skipped: true,
            ..CaseResult::not_run(scenario)
        }
    }

    /// What the case came to.
    pub fn status(&self) -> CaseStatus {
        if self.never_started() {
            return CaseStatus::Skipped;
        }
        match (&self.verdict, &self.snapshot) {
            (Err(_), _) | (_, Some(SnapshotCheck::Unreadable(_))) => CaseStatus::Error,
            (Ok(v), _) if *v != Verdict::Passed => CaseStatus::Failed,
            (Ok(_), Some(SnapshotCheck::Differs { .. })) => CaseStatus::SnapshotDiffers,
            (Ok(_), Some(SnapshotCheck::Missing)) => CaseStatus::SnapshotMissing,
            _ => CaseStatus::Passed,
        }
    }

    /// Why this result's transcript must not become a baseline, if it must not: only a run that
    /// completed and passed is stored.
    pub fn not_storable(&self) -> Option<String> {
        match &self.verdict {
            Ok(Verdict::Passed) => None,
            Ok(Verdict::Failed) => Some(match &self.program {
                Some((server, _)) => format!("the program under test of `{server}` failed"),
                None => "the run failed".to_string(),
            }),
            Ok(Verdict::TimedOut(d)) => Some(format!(
                "the run timed out after {}",
                humantime::format_duration(*d)
            )),
            Ok(Verdict::Interrupted) => Some("the run was interrupted".to_string()),
            Err(error) => Some(format!("the run could not be carried out: {error}")),
        }
    }
}

/// Runs `scenarios` on `jobs` threads; calls `done` with each result as it completes (in
/// completion order); returns every result in the order of `scenarios`. Stops starting new
/// scenarios once `options.interrupt` fires.
pub fn run(
    scenarios: &[Arc<Scenario>],
    limits: &SuiteLimits,
    options: &RunOptions,
    done: &mut dyn FnMut(&CaseResult),
    slow: &mut dyn FnMut(&Scenario, Duration),
) -> Vec<CaseResult> {
    let jobs = limits.jobs;
    let failures = &Failures::new(limits.max_fail);
    let (work_tx, work_rx) = unbounded::<usize>();
    for index in 0..scenarios.len() {
        let _ = work_tx.send(index);
    }
    drop(work_tx);
    let (result_tx, result_rx) = unbounded::<Finished>();
    let mut results: Vec<Option<CaseResult>> = vec![None; scenarios.len()];
    let ports = &FixedPorts::default();
    let running = &Running::default();
    // What every worker does, with the same suite (all references: the closure is `Copy`).
    let work_on = |work_rx: &crossbeam::channel::Receiver<usize>,
                   result_tx: &crossbeam::channel::Sender<Finished>| {
        work(
            scenarios,
            limits,
            options,
            (ports, failures, running),
            work_rx,
            result_tx,
        )
    };
    std::thread::scope(|scope| {
        let mut workers = 0;
        for worker in 0..jobs.clamp(1, scenarios.len().max(1)) {
            let work_rx = work_rx.clone();
            let result_tx = result_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("suite worker {worker}"))
                .spawn_scoped(scope, move || work_on(&work_rx, &result_tx));
            if spawned.is_ok() {
                workers += 1;
            }
        }
        if workers == 0 {
            // Not even one thread: run here, one scenario after the other.
            work_on(&work_rx, &result_tx);
        }
        drop(result_tx);
        let ticker = limits
            .slow_after
            .map_or_else(crossbeam::channel::never, |_| {
                crossbeam::channel::tick(SLOW_CHECK)
            });
        loop {
            crossbeam::select! {
                recv(result_rx) -> report => match report {
                    Ok(Finished(index, result)) => {
                        done(&result);
                        results[index] = Some(*result);
                    }
                    Err(_) => break,
                },
                recv(ticker) -> _ => {
                    let Some(period) = limits.slow_after else { continue };
                    let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
                    for (index, (since, said)) in running.iter_mut() {
                        let took = since.elapsed();
                        let periods = u32::try_from(took.as_nanos() / period.as_nanos().max(1))
                            .unwrap_or(u32::MAX);
                        if periods > *said {
                            *said = periods;
                            // The threshold crossed, as nextest says it: `> 60s`, `> 120s`.
                            slow(&scenarios[*index], period.saturating_mul(periods));
                        }
                    }
                }
            }
        }
    });
    // Scenarios an interruption kept from starting have a result too (one per scenario, in
    // JSON as in JUnit), which says so.
    results
        .into_iter()
        .zip(scenarios)
        .map(|(result, scenario)| {
            result.unwrap_or_else(|| {
                if failures.reached() && !options.interrupted() {
                    CaseResult::skipped(scenario)
                } else {
                    CaseResult::not_run(scenario)
                }
            })
        })
        .collect()
}

/// A worker: takes scenario indexes until there are none left or the run is interrupted. A case
/// that fails runs again, up to `retries` more times (`--retries`; else its file's `retries:`).
fn work(
    scenarios: &[Arc<Scenario>],
    limits: &SuiteLimits,
    options: &RunOptions,
    (ports, failures, running): (&FixedPorts, &Failures, &Running),
    work: &crossbeam::channel::Receiver<usize>,
    results: &crossbeam::channel::Sender<Finished>,
) {
    for index in work.iter() {
        let scenario = &scenarios[index];
        let Some(_held) = ports.hold(scenario, options) else {
            break;
        };
        // Looked at once the turn for its ports came: others may have failed meanwhile.
        if failures.reached() {
            break;
        }
        let since = Instant::now();
        running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(index, (since, 0));
        let retries = (limits.retries)
            .or(scenario.retries)
            .or(limits.default_retries)
            .unwrap_or(0);
        // A server served from outside (`--target`) is not in the transcript as its snapshot
        // recorded it: the run's verdict is the result.
        let compare = limits.compare_snapshots
            && scenario
                .servers
                .iter()
                .all(|s| s.outside.is_none() || s.program.is_some());
        let mut result = run_case(scenario, options, compare);
        let mut earlier = Vec::new();
        while result.worth_retrying(limits.update)
            && earlier.len() < retries as usize
            && !options.interrupted()
        {
            earlier.push(std::mem::replace(
                &mut result,
                run_case(scenario, options, compare),
            ));
        }
        result.earlier = earlier;
        result.attempts_allowed = retries.saturating_add(1);
        if result.fails(limits.update) {
            failures.count_one();
        }
        running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&index);
        let _ = results.send(Finished(index, Box::new(result)));
    }
}

/// The fixed ports (`port:` other than 0) of the scenarios running now: two scenarios of a suite
/// that bind the same one run one after the other, not at once (the second would find the port
/// taken, and a program under test would be blamed for it).
#[derive(Default)]
struct FixedPorts {
    held: Mutex<HashSet<(Protocol, u16)>>,
    freed: Condvar,
}

/// The ports one running scenario holds, given back when it is dropped.
struct HeldPorts<'a> {
    ports: &'a FixedPorts,
    mine: Vec<(Protocol, u16)>,
}

impl FixedPorts {
    /// Waits until none of `scenario`'s fixed ports is held, then holds them; `None` once the
    /// run is interrupted.
    fn hold(&self, scenario: &Scenario, options: &RunOptions) -> Option<HeldPorts<'_>> {
        let mine: Vec<(Protocol, u16)> = scenario
            .servers
            .iter()
            .filter(|s| s.port != 0)
            .map(|s| (s.protocol, s.port))
            .collect();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if options.interrupted() {
                return None;
            }
            if mine.iter().all(|port| !held.contains(port)) {
                held.extend(mine.iter().copied());
                return Some(HeldPorts { ports: self, mine });
            }
            // Woken when ports are given back; the timeout lets an interrupt through.
            held = self
                .freed
                .wait_timeout(held, Duration::from_millis(100))
                .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
        }
    }
}

impl Drop for HeldPorts<'_> {
    fn drop(&mut self) {
        let mut held = self
            .ports
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for port in &self.mine {
            held.remove(port);
        }
        self.ports.freed.notify_all();
    }
}

/// Runs one scenario and, if `check_snapshot`, compares its transcript with its snapshot.
pub fn run_case(
    scenario: &Arc<Scenario>,
    options: &RunOptions,
    check_snapshot: bool,
) -> CaseResult {
    run_case_observed(scenario, options, check_snapshot, &mut |_| {})
}

/// `run_case`, calling `observe` on each event as it arrives (for the live view).
pub fn run_case_observed(
    scenario: &Arc<Scenario>,
    options: &RunOptions,
    check_snapshot: bool,
    observe: &mut dyn FnMut(&Event),
) -> CaseResult {
    let started = Instant::now();
    let outcome = exec::run(scenario, options, observe);
    let duration = started.elapsed();
    let mut result = CaseResult {
        file_warnings: file_warnings(scenario),
        duration,
        earlier: Vec::new(),
        ..CaseResult::not_run(scenario)
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            result.verdict = Err(error);
            return result;
        }
    };
    let built = transcript::build(scenario, &outcome.events, &outcome.verdict);
    result.transcript = built.render(false);
    result.first_failure = built.first_failure();
    result.run_warnings.clone_from(&built.warnings);
    result.built = Some(built);
    result.ran = Some(outcome.verdict.clone());
    result.program = outcome.program_failure().map(|(server, failure)| {
        let mut failure = failure.clone();
        // Its stderr as the transcript shows it (the JSON report's `stderr_tail`): redacted.
        let redact = scenario.redactions(None);
        let tail = redact.bytes(failure.stderr_tail.as_bytes());
        failure.stderr_tail = String::from_utf8_lossy(&tail).into_owned();
        (scenario.servers[server].name.clone(), failure)
    });
    result.step_results = transcript::step_results(scenario, &outcome.events);
    result.steps = transcript::count(&result.step_results);
    result.points = transcript::points(scenario, &result.step_results);
    result.verdict = match outcome.environment_refusal(scenario) {
        Some(reason) => Err(RunError::Refused(reason)),
        None => Ok(outcome.verdict),
    };
    // A snapshot is compared only with a run that completed: the comparison of an interrupted
    // or refused run says nothing.
    let completed = matches!(
        result.verdict,
        Ok(Verdict::Passed | Verdict::Failed | Verdict::TimedOut(_))
    );
    if !check_snapshot || !completed {
        return result;
    }
    let path = snapshot::path_for(&scenario.path);
    result.snapshot = Some(match snapshot::read(&path) {
        Err(e) => SnapshotCheck::Unreadable(format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )),
        Ok(stored) => match snapshot::compare(stored.as_deref(), &result.transcript) {
            Comparison::Same => SnapshotCheck::Matches,
            Comparison::Missing => SnapshotCheck::Missing,
            Comparison::Differs { stored } => SnapshotCheck::Differs {
                diff: snapshot::unified_diff(
                    &stored,
                    &result.transcript,
                    &path.display().to_string(),
                ),
                first: snapshot::first_difference(&stored, &result.transcript),
            },
        },
    });
    result
}

/// The warnings of `scenario`'s file, one line each: `path:line:col: message`.
fn file_warnings(scenario: &Scenario) -> Vec<String> {
    let Some(warnings) = &scenario.warnings else {
        return Vec::new();
    };
    warnings
        .items
        .iter()
        .map(|item| {
            let at = item.span.as_ref().map_or(0, |span| span.start);
            let position = warnings.source.line_col(at);
            format!(
                "{}:{}:{}: {}",
                warnings.source.display_path(),
                position.line,
                position.column,
                item.message
            )
        })
        .collect()
}

/// A snapshot file written (or not) after a suite ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotWrite {
    /// A new snapshot was stored.
    Created(PathBuf),
    /// A changed snapshot was stored.
    Updated(PathBuf),
    /// The new transcript was left beside the snapshot as `.snap.new`, for review.
    Pending(PathBuf),
    /// Nothing was written for this snapshot, and why: the run did not complete and pass.
    NotStored(PathBuf, String),
    /// Writing failed.
    Failed(PathBuf, String),
    /// The snapshot file could not be made: a bug in netlab (nothing was written).
    Unmade(PathBuf, Bug),
}

/// Stores what the run found, as insta would: with `update`, new and changed snapshots are written
/// (and their results count as matching); otherwise a `.snap.new` is left for review; under CI
/// (`in_ci`) nothing is written at all. Only the transcript of a run that completed and passed is
/// ever written: a failed, timed-out, refused or interrupted run says why it was not stored, and
/// the old snapshot stays as it was. When the whole suite was `interrupted`, nothing is written.
/// A stale `.snap.new` of a matching scenario is removed.
pub fn store_snapshots(
    results: &mut [CaseResult],
    update: bool,
    in_ci: bool,
    interrupted: bool,
) -> Vec<SnapshotWrite> {
    let mut writes = Vec::new();
    if in_ci {
        return writes;
    }
    for result in results.iter_mut().filter(|r| !r.skipped) {
        let snap = snapshot::path_for(&result.path);
        let pending = snapshot::pending_path(&snap);
        if interrupted {
            if result.snapshot != Some(SnapshotCheck::Matches) && !result.never_started() {
                writes.push(SnapshotWrite::NotStored(
                    snap,
                    "netlab was interrupted".to_string(),
                ));
            }
            continue;
        }
        if let Some(why) = result.not_storable() {
            // A `.snap.new` left by an earlier run is not this run's: it must not be accepted.
            let _ = snapshot::remove_if_present(&pending);
            let compared_badly = matches!(
                result.snapshot,
                Some(SnapshotCheck::Differs { .. } | SnapshotCheck::Missing) | None
            );
            if compared_badly {
                writes.push(SnapshotWrite::NotStored(snap, why));
            }
            continue;
        }
        let file = match snapshot::render_file(&result.path, &result.name, &result.transcript) {
            Ok(file) => file,
            Err(bug) => {
                writes.push(SnapshotWrite::Unmade(snap, bug));
                continue;
            }
        };
        let written = match &result.snapshot {
            Some(SnapshotCheck::Matches) => {
                let _ = snapshot::remove_if_present(&pending);
                continue;
            }
            Some(check @ (SnapshotCheck::Differs { .. } | SnapshotCheck::Missing)) if update => {
                let existed = *check != SnapshotCheck::Missing;
                snapshot::write(&snap, &file)
                    .and_then(|()| snapshot::remove_if_present(&pending))
                    .map(|()| {
                        if existed {
                            SnapshotWrite::Updated(snap)
                        } else {
                            SnapshotWrite::Created(snap)
                        }
                    })
            }
            Some(SnapshotCheck::Differs { .. } | SnapshotCheck::Missing) => {
                snapshot::write(&pending, &file).map(|()| SnapshotWrite::Pending(pending.clone()))
            }
            _ => continue,
        };
        match written {
            Ok(write) => {
                if matches!(write, SnapshotWrite::Created(_) | SnapshotWrite::Updated(_)) {
                    result.snapshot = Some(SnapshotCheck::Written);
                }
                writes.push(write);
            }
            Err(e) => writes.push(SnapshotWrite::Failed(
                snapshot::path_for(&result.path),
                crate::diagnostic::io_reason(&e),
            )),
        }
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scenarios an interruption kept from starting were reported as failures in JUnit and to
    /// GitHub: they are not run, as those `--max-fail` kept from starting.
    #[test]
    fn a_scenario_never_started_is_skipped_and_says_why() {
        let text = "servers: [{name: s}]\n";
        let Ok(scenario) =
            crate::scenario::load_source(crate::source::SourceFile::new("x.yaml", text))
        else {
            panic!("a valid file was refused");
        };
        let interrupted = CaseResult::not_run(&scenario);
        assert_eq!(interrupted.status(), CaseStatus::Skipped);
        assert_eq!(
            interrupted.not_run_because(),
            Some("interrupted before it started")
        );
        let skipped = CaseResult::skipped(&scenario);
        assert!(
            skipped
                .not_run_because()
                .is_some_and(|why| why.contains("--max-fail"))
        );
    }

    #[test]
    fn partitions_are_read_as_nextest_writes_them() {
        let read = |text: &str| text.parse::<Partition>();
        assert_eq!(
            read("count:2/3"),
            Ok(Partition {
                by_hash: false,
                shard: 2,
                total: 3
            })
        );
        assert!(read("hash:1/1").is_ok_and(|p| p.by_hash));
        for wrong in [
            "count:0/3",
            "count:4/3",
            "count:1/0",
            "slice:1/2",
            "count:1",
            "hash:a/b",
        ] {
            assert!(read(wrong).is_err(), "{wrong}");
        }
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
