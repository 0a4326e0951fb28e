//! A client's steps as written → the flat list it runs: each step checked (where its
//! protocol and its own timeout allow it, its payload or matcher), each `repeat` followed by its
//! body.

use super::checker::Checker;
use super::clients::DEFAULT_STEP_TIMEOUT;
use super::fields::Unit;
use super::payloads::matcher;
use crate::scenario::model::{MAX_DATAGRAM_PAYLOAD, Step};
use crate::scenario::positions::join;
use crate::scenario::raw::{Protocol, RawAction, RawStep};

impl Checker<'_> {
    /// Checks `raw` steps (at `client_path`.`under`) and appends them to `flat`, each `repeat`
    /// followed by its body.
    pub(super) fn steps(
        &mut self,
        client_path: &str,
        under: &str,
        raw: Vec<RawStep>,
        protocol: Protocol,
        flat: &mut FlatSteps,
    ) {
        for (i, mut step) in raw.into_iter().enumerate() {
            let relative = format!("{under}[{i}]");
            let path = format!("{client_path}.{relative}");
            flat.hints.push(step.hint.take());
            flat.paths.push(relative.clone());
            let RawAction::Repeat(repeat) = step.action else {
                flat.steps.push(self.step(&path, step, protocol));
                continue;
            };
            if step.timeout.is_some() {
                self.at_key(
                    &join(&path, "timeout"),
                    "`timeout` does not apply to `repeat`",
                )
                .add_help("put `timeout:` on the steps inside it");
            }
            let repeat_path = join(&path, "repeat");
            let times = self.within_one_to(
                &join(&repeat_path, "times"),
                "`times`",
                repeat.times,
                u64::MAX,
                Unit::Plain,
            );
            if repeat.steps.is_empty() {
                self.at_value(
                    &join(&repeat_path, "steps"),
                    "a `repeat` needs at least one step",
                );
            }
            let at = flat.steps.len();
            flat.steps.push(Step::Repeat { times, body: 0 });
            self.steps(
                client_path,
                &format!("{relative}.repeat.steps"),
                repeat.steps,
                protocol,
                flat,
            );
            let body = flat.steps.len() - at - 1;
            flat.steps[at] = Step::Repeat { times, body };
        }
    }

    fn step(&mut self, path: &str, raw: RawStep, protocol: Protocol) -> Step {
        let action_path = join(path, raw.key);
        let stream_only = matches!(
            raw.action,
            RawAction::ExpectClose(_)
                | RawAction::ExpectReset(_)
                | RawAction::ReadToClose(_)
                | RawAction::Shutdown(_)
        );
        if protocol == Protocol::Udp && stream_only {
            self.at_key(
                &action_path,
                format!("`{}` applies to tcp clients only", raw.key),
            )
            .add_help("udp has no connection to close: use `expect_nothing` to check for silence");
        }
        let reads = matches!(
            raw.action,
            RawAction::Expect(_)
                | RawAction::ExpectClose(_)
                | RawAction::ExpectReset(_)
                | RawAction::ReadToClose(_)
        );
        if raw.timeout.is_some() && !reads {
            self.at_key(
                &join(path, "timeout"),
                format!("`timeout` does not apply to `{}`", raw.key),
            )
            .add_help("only `expect`, `expect_close` and `read_to_close` take a `timeout`");
        }
        let timeout = raw
            .timeout
            .map(|t| self.positive(&join(path, "timeout"), Some(t), DEFAULT_STEP_TIMEOUT));
        match raw.action {
            RawAction::Send(payload) => {
                let payload = self.send_payload(&action_path, payload, protocol);
                if protocol == Protocol::Udp && payload.len() > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&action_path, payload.len());
                }
                Step::Send(payload)
            }
            RawAction::Expect(m) => Step::Expect {
                matcher: matcher(m),
                timeout,
            },
            RawAction::ExpectClose(flag) => {
                if !flag {
                    self.at_value(&action_path, "`expect_close` takes `true`")
                        .add_help("remove the step if the connection may stay open");
                }
                Step::ExpectClose { timeout }
            }
            RawAction::ExpectReset(flag) => {
                if !flag {
                    self.at_value(&action_path, "`expect_reset` takes `true`")
                        .add_help("remove the step if the connection may stay open");
                }
                Step::ExpectReset { timeout }
            }
            RawAction::ReadToClose(m) => Step::ReadToClose {
                matcher: matcher(m),
                timeout,
            },
            RawAction::ExpectNothing(d) => {
                if d.0.is_zero() {
                    self.at_value(
                        &action_path,
                        "`expect_nothing` needs a duration longer than zero",
                    );
                }
                Step::ExpectNothing(d.0)
            }
            RawAction::Sleep(d) => Step::Sleep(d.0),
            RawAction::Shutdown(_) => Step::ShutdownWrite,
            RawAction::Close(flag) => {
                if !flag {
                    self.at_value(&action_path, "`close` takes `true`")
                        .add_help("remove the step to keep the connection open");
                }
                Step::Close
            }
            // `steps` takes repeats apart before calling this.
            RawAction::Repeat(_) => Step::Close,
        }
    }
}

/// A client's steps as they are run: flat, each `repeat` followed by its body.
#[derive(Default)]
pub(super) struct FlatSteps {
    pub(super) steps: Vec<Step>,
    pub(super) paths: Vec<String>,
    pub(super) hints: Vec<Option<String>>,
}
