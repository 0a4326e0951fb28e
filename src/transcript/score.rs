//! Grading: the result of every step of every client instance (passed, failed, not run), and
//! the score they add up to, for `netlab run`'s verdict line and the JSON report.

use std::collections::HashMap;

use serde::Serialize;

use super::build::{dead_program, failed_programs};
use super::describe::{
    Mark, describe_server_check, describe_step_event, hidden_step_text, instance_label, step_text,
};
use crate::event::{Event, EventKind, InstanceId, Origin, StepEvent};
use crate::scenario::{Owner, Scenario, Step};

/// The result of one step of one client instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The client instance (`client`, `client#2`).
    pub client: String,
    /// The step's index in the client's `steps`.
    pub step: usize,
    /// The step as declared (`expect "Welcome!"`).
    pub action: String,
    /// `passed`, `failed` or `not_run`.
    pub result: StepStatus,
    /// For a failure: what happened instead, with expected and received.
    pub detail: Option<String>,
    /// What the step is worth when it passes in every instance of its client.
    pub points: u32,
    /// Whose step it is: a client's (`client` is the instance), or a server's check at the
    /// end of the run (`client` is the server's name, `step` the check's index).
    #[serde(skip)]
    pub owner: Owner,
    /// The line of the scenario file where the step is written (0: not known).
    #[serde(skip)]
    pub line: usize,
}

/// What came of one step of one instance (in JSON: `passed`, `failed`, `not_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It passed (every time through, inside a repeat).
    Passed,
    /// It failed.
    Failed,
    /// It did not run (every time through): an earlier step failed, or the run stopped.
    NotRun,
}

/// Steps passed, failed and not run over every instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StepCounts {
    /// Steps that passed.
    pub passed: usize,
    /// Steps that failed (at most one per instance).
    pub failed: usize,
    /// Steps not run because an earlier one failed or the run stopped.
    pub not_run: usize,
}

impl StepCounts {
    /// Every step of the scenario.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.not_run
    }
}

/// Every step of every instance, in scenario order; the last event of a step decides.
pub fn step_results(scenario: &Scenario, events: &[Event]) -> Vec<StepResult> {
    let mut last: HashMap<(InstanceId, usize), &StepEvent> = HashMap::new();
    for event in events {
        if let (Origin::Instance(id), EventKind::Step(step)) = (&event.origin, &event.kind)
            && let Some(index) = step.step
        {
            last.insert((*id, index), step);
        }
    }
    let failed = failed_programs(events);
    let mut results = Vec::new();
    for (client_index, client) in scenario.clients.iter().enumerate() {
        let dead = dead_program(client, &failed);
        for instance in 1..=client.count {
            let id = InstanceId {
                client: client_index,
                instance,
            };
            let first = results.len();
            for (index, step) in client.steps_of(instance).iter().enumerate() {
                let (result, detail) = match last.get(&(id, index)) {
                    None => (StepStatus::NotRun, None),
                    Some(event) => {
                        let entry = describe_step_event(scenario, id, event, dead);
                        if entry.mark == Mark::Failed {
                            let mut text = entry.text.clone();
                            for line in entry.lines() {
                                text.push('\n');
                                text.push_str(&line);
                            }
                            (StepStatus::Failed, Some(text))
                        } else {
                            (StepStatus::Passed, None)
                        }
                    }
                };
                results.push(StepResult {
                    client: instance_label(scenario, id),
                    step: index,
                    action: if client.hidden.get(index).copied().unwrap_or(false) {
                        hidden_step_text(step)
                    } else {
                        step_text(scenario.redactions(Some(client_index)), step)
                    },
                    result,
                    detail,
                    points: match client.worth {
                        Some(_) => 0,
                        None => client.points.get(index).copied().unwrap_or(0),
                    },
                    owner: Owner::Client(client_index),
                    line: client.lines.get(index).copied().unwrap_or(0),
                });
            }
            fail_repeats_that_failed(&client.steps, &mut results[first..]);
        }
    }
    results.extend(server_check_results(scenario, events));
    results
}

/// The result of every server's checks at the end of the run (`not_run` when the run did not
/// end by itself).
fn server_check_results(scenario: &Scenario, events: &[Event]) -> Vec<StepResult> {
    let mut checked: HashMap<(usize, usize), (u64, bool)> = HashMap::new();
    for event in events {
        if let (
            Origin::Server(server),
            EventKind::ServerChecked {
                check,
                count,
                passed,
            },
        ) = (&event.origin, &event.kind)
        {
            checked.insert((*server, *check), (*count, *passed));
        }
    }
    let mut results = Vec::new();
    for (index, server) in scenario.servers.iter().enumerate() {
        for (check, written) in server.checks.iter().enumerate() {
            let (result, detail) = match checked.get(&(index, check)) {
                None => (StepStatus::NotRun, None),
                Some((_, true)) => (StepStatus::Passed, None),
                Some((count, false)) => {
                    let entry = describe_server_check(scenario, index, check, *count, false);
                    let mut text = entry.text.clone();
                    for line in entry.lines() {
                        text.push('\n');
                        text.push_str(&line);
                    }
                    (StepStatus::Failed, Some(text))
                }
            };
            results.push(StepResult {
                client: server.name.clone(),
                step: check,
                action: written.text(),
                result,
                detail,
                points: written.points,
                owner: Owner::Server(index),
                line: 0,
            });
        }
    }
    results
}

/// A `repeat` reports nothing of its own when a step inside it fails: it failed too, with that
/// step's detail. (`results` are one instance's, one per step, in order.)
fn fail_repeats_that_failed(steps: &[Step], results: &mut [StepResult]) {
    // Innermost first, so that an outer repeat sees an inner one's failure.
    for (index, step) in steps.iter().enumerate().rev() {
        let Step::Repeat { body, .. } = step else {
            continue;
        };
        let Some(inside) = results.get(index + 1..=index + body) else {
            continue;
        };
        let Some(detail) = inside
            .iter()
            .find(|r| r.result == StepStatus::Failed)
            .map(|r| r.detail.clone())
        else {
            continue;
        };
        // Failed, whatever its last event said (an inner repeat reports its first time
        // through, passed, before a later time through fails).
        results[index].result = StepStatus::Failed;
        if results[index].detail.is_none() {
            results[index].detail = detail;
        }
        // What passed inside did not pass every time through: it did not run them all.
        for inner in results
            .get_mut(index + 1..=index + body)
            .into_iter()
            .flatten()
        {
            if inner.result == StepStatus::Passed {
                inner.result = StepStatus::NotRun;
            }
        }
    }
}

/// Points earned, and the most the scenario can give.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Points {
    /// Earned by the steps that passed.
    pub earned: u64,
    /// The most, known from the file alone (also when a program never started).
    pub max: u64,
}

/// The points of a run whose step results are `results` (as `step_results` gives them). A
/// step's points are earned once, when it passed in every instance of its client (five
/// instances of a `count: 5` client earn a step's points together, not five times); a client
/// worth points as a whole (`points:` on the client) earns them when every step of every
/// instance passed.
pub fn points(scenario: &Scenario, results: &[StepResult]) -> Points {
    let mut total = Points::default();
    // A server's check is earned when it held.
    for result in results
        .iter()
        .filter(|r| matches!(r.owner, Owner::Server(_)))
    {
        total.max += u64::from(result.points);
        if result.result == StepStatus::Passed {
            total.earned += u64::from(result.points);
        }
    }
    if results.is_empty() {
        for server in &scenario.servers {
            total.max += server
                .checks
                .iter()
                .map(|c| u64::from(c.points))
                .sum::<u64>();
        }
    }
    for (index, client) in scenario.clients.iter().enumerate() {
        let mine: Vec<&StepResult> = results
            .iter()
            .filter(|r| r.owner == Owner::Client(index))
            .collect();
        let passed_everywhere = |step: usize| {
            mine.iter()
                .filter(|r| r.step == step)
                .all(|r| r.result == StepStatus::Passed)
        };
        match client.worth {
            Some(worth) => {
                total.max += u64::from(worth);
                if !mine.is_empty() && mine.iter().all(|r| r.result == StepStatus::Passed) {
                    total.earned += u64::from(worth);
                }
            }
            None => {
                for (step, &points) in client.points.iter().enumerate() {
                    total.max += u64::from(points);
                    let ran = mine.iter().any(|r| r.step == step);
                    if ran && passed_everywhere(step) {
                        total.earned += u64::from(points);
                    }
                }
            }
        }
    }
    total
}

/// The counts of `results`.
pub fn count(results: &[StepResult]) -> StepCounts {
    let mut counts = StepCounts::default();
    for result in results {
        match result.result {
            StepStatus::Passed => counts.passed += 1,
            StepStatus::Failed => counts.failed += 1,
            StepStatus::NotRun => counts.not_run += 1,
        }
    }
    counts
}
