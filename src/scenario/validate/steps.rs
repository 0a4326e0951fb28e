//! A client's steps as written → the flat list it runs: each step checked (where its
//! protocol and its own timeout allow it, its payload or matcher), each `repeat` followed by its
//! body.

use std::time::Duration;

use super::checker::Checker;
use super::fields::Unit;
use super::templates::Scope;
use crate::scenario::model::{MAX_DATAGRAM_PAYLOAD, Payload, Step};
use crate::scenario::positions::join;
use crate::scenario::raw::{
    Protocol, RawAction, RawDuration, RawMatcher, RawPayload, RawRepeat, RawStep,
};
use crate::template::Syntax;

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
        for (i, step) in raw.into_iter().enumerate() {
            self.step(client_path, format!("{under}[{i}]"), step, protocol, flat);
        }
    }

    /// Checks the step at `relative` (under the client at `client_path`) and appends it to
    /// `flat`, a `repeat` followed by its body.
    fn step(
        &mut self,
        client_path: &str,
        relative: String,
        raw: RawStep,
        protocol: Protocol,
        flat: &mut FlatSteps,
    ) {
        let place = Place {
            client: client_path,
            step: &relative,
        };
        let path = place.path();
        let RawStep {
            action,
            key,
            timeout,
            hint,
            capture,
            points,
            hidden,
        } = raw;
        let stream_only = matches!(
            action,
            RawAction::ExpectClose(_)
                | RawAction::ExpectReset(_)
                | RawAction::ReadToClose(_)
                | RawAction::Shutdown(_)
                | RawAction::StartTls(_)
                | RawAction::ExpectTlsError(_)
        );
        if protocol == Protocol::Udp && stream_only {
            let help = match action {
                RawAction::StartTls(_) | RawAction::ExpectTlsError(_) => {
                    "TLS runs over a tcp connection (DTLS is not supported)"
                }
                _ => "udp has no connection to close: use `expect_nothing` to check for silence",
            };
            self.at_key(
                &join(&path, key),
                format!("`{key}` applies to tcp clients only"),
            )
            .add_help(help);
        }
        // Whether the step takes a `timeout` is for the built step to say, but what is wrong
        // with the `timeout` is reported before what is wrong with the action.
        let mut body = FlatSteps::default();
        let (step, action_problems) = self.holding_problems(|checker| {
            let declared = timeout.map(|RawDuration(d)| d);
            checker.action(place, key, action, declared, protocol, &mut body)
        });
        if let Some(RawDuration(written)) = timeout {
            self.check_step_timeout(&path, key, &step, written);
        }
        self.report_held(action_problems);
        // Known to the steps after this one (not to its own matcher).
        let captures = self.step_captures(&path, key, capture);
        if let Step::Expect {
            matcher: crate::matcher::Matcher::Bytes(n),
            ..
        } = &step
            && !captures.is_empty()
            && *n > self.max_received
        {
            self.at_value(
                &join(&path, key),
                format!(
                    "a capture keeps what its step read, and this one reads {n} bytes, more than the client's max_received ({})",
                    self.max_received
                ),
            )
            .add_help("raise `max_received`, or capture from a smaller step");
        }
        let mut step = step;
        if let Step::Expect { capture, .. } | Step::ReadToClose { capture, .. } = &mut step {
            *capture = captures;
        }
        if let Some(written) = points
            && self.client_worth.is_some()
        {
            self.at_key(
                &join(&path, "points"),
                format!("the client is worth {} points as a whole (its `points`): a step's own `points` cannot share them out", self.client_worth.unwrap_or_default()),
            )
            .add_help(format!("drop one of the two: the client's `points`, or this step's `points: {written}`"));
        }
        flat.points.push(points.unwrap_or(u32::from(step.checks())));
        flat.hidden.push(hidden.unwrap_or(false));
        flat.steps.push(step);
        flat.paths.push(relative);
        let hint = hint.map(|h| {
            let at = join(&path, "hint");
            if self.names_a_capture(&h) {
                self.at_value(
                    &at,
                    "a hint is written before the run: it cannot hold a captured value",
                )
                .add_help("name what the step expects in words");
                return h;
            }
            self.fill_built(&at, &h, Syntax::Text, Scope::Instance)
        });
        flat.hints.push(hint);
        flat.append(body);
    }

    /// The step of the action written under `key` at `place`, with the timeout written beside
    /// it; a `repeat`'s body goes to `body`.
    fn action(
        &mut self,
        place: Place<'_>,
        key: &str,
        action: RawAction,
        timeout: Option<Duration>,
        protocol: Protocol,
        body: &mut FlatSteps,
    ) -> Step {
        let action_path = join(&place.path(), key);
        match action {
            RawAction::Send(payload) => {
                if let Some(at) = http_response_in(&action_path, &payload) {
                    self.at_key(
                        &at,
                        "`http` writes an HTTP response (a server's `reply`); a client sends requests, and `send: { http }` cannot write one yet",
                    )
                    .add_help("write the request as text, `send: \"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"`, and read the response with `expect: { http: … }`");
                    return Step::Send(Payload::Bytes(Vec::new()));
                }
                if let Some(filled) = self.captured_payload(&action_path, &payload) {
                    return Step::Send(Payload::Captured(filled));
                }
                let payload = self.fill_payload(&action_path, payload, Scope::Instance);
                let payload = self.send_payload(&action_path, payload, protocol);
                if protocol == Protocol::Udp && payload.len() > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&action_path, payload.len());
                }
                Step::Send(payload)
            }
            RawAction::Expect(m) => Step::Expect {
                matcher: self.filled_matcher(&action_path, m),
                timeout,
                capture: Vec::new(),
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
                matcher: self.filled_matcher(&action_path, m),
                timeout,
                capture: Vec::new(),
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
            RawAction::StartTls(flag) => {
                if !flag {
                    self.at_value(&action_path, "`starttls` takes `true`")
                        .add_help("remove the step to stay in plain text");
                }
                Step::StartTls
            }
            RawAction::ExpectTlsError(kind) => Step::ExpectTlsError { kind, timeout },
            RawAction::Repeat(repeat) => self.repeat(place, repeat, protocol, body),
        }
    }

    /// The matcher of a client's step at `path`, its templates filled in for the instance.
    pub(super) fn filled_matcher(
        &mut self,
        path: &str,
        raw: RawMatcher,
    ) -> crate::matcher::Matcher {
        if let Some(matcher) = self.captured_matcher(path, &raw) {
            return matcher;
        }
        let raw = self.fill_matcher(path, raw, Scope::Instance);
        self.matcher(path, raw)
    }

    /// The `repeat` at `place`, its steps flattened into `body`.
    fn repeat(
        &mut self,
        place: Place<'_>,
        repeat: RawRepeat,
        protocol: Protocol,
        body: &mut FlatSteps,
    ) -> Step {
        let path = join(&place.path(), "repeat");
        let times = self.within_one_to(
            &join(&path, "times"),
            "`times`",
            repeat.times,
            u64::MAX,
            Unit::Plain,
        );
        if repeat.steps.is_empty() {
            self.at_value(&join(&path, "steps"), "a `repeat` needs at least one step");
        }
        self.steps(
            place.client,
            &format!("{}.repeat.steps", place.step),
            repeat.steps,
            protocol,
            body,
        );
        Step::Repeat {
            times,
            body: body.steps.len(),
        }
    }

    /// Checks the `timeout` written on the step at `path`: only the steps that take one of
    /// their own ([`Step::own_timeout`]) may have it, and it is longer than zero.
    fn check_step_timeout(&mut self, path: &str, key: &str, step: &Step, written: Duration) {
        let timeout_path = join(path, "timeout");
        if let Step::Repeat { .. } = step {
            self.at_key(&timeout_path, "`timeout` does not apply to `repeat`")
                .add_help("put `timeout:` on the steps inside it");
            return;
        }
        if step.own_timeout().is_none() {
            self.at_key(
                &timeout_path,
                format!("`timeout` does not apply to `{key}`"),
            )
            .add_help("only `expect`, `expect_close`, `expect_reset` and `read_to_close` take a `timeout`");
        }
        self.check_timeout(&timeout_path, written);
    }
}

/// Where the `http` of the payload written at `path` is, inside any `frame`s, if it has one.
fn http_response_in(path: &str, payload: &RawPayload) -> Option<String> {
    match payload {
        RawPayload::Http(_) => Some(join(path, "http")),
        RawPayload::Frame(inner) => http_response_in(&join(path, "frame"), inner),
        _ => None,
    }
}

/// Where a step is written: under its client, at its own path.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    /// The client's path (`clients[0]`).
    client: &'a str,
    /// The step's path under the client (`steps[1]`, `steps[1].repeat.steps[0]`).
    step: &'a str,
}

impl Place<'_> {
    /// The step's whole path (`clients[0].steps[1]`).
    fn path(self) -> String {
        format!("{}.{}", self.client, self.step)
    }
}

/// A client's steps as they are run: flat, each `repeat` followed by its body.
#[derive(Default)]
pub(super) struct FlatSteps {
    pub(super) steps: Vec<Step>,
    pub(super) paths: Vec<String>,
    pub(super) hints: Vec<Option<String>>,
    pub(super) points: Vec<u32>,
    pub(super) hidden: Vec<bool>,
}

impl FlatSteps {
    /// Appends the steps of `other` after these.
    fn append(&mut self, mut other: FlatSteps) {
        self.steps.append(&mut other.steps);
        self.paths.append(&mut other.paths);
        self.hints.append(&mut other.hints);
        self.points.append(&mut other.points);
        self.hidden.append(&mut other.hidden);
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Step, load_source};
    use crate::source::SourceFile;

    #[test]
    fn a_repeat_is_followed_by_its_body_nested_ones_included() {
        let text = "servers: [{name: s}]\nclients:\n  - connect: s\n    steps:\n      - send: a\n      - repeat:\n          times: 2\n          steps:\n            - send: b\n            - repeat: {times: 3, steps: [{send: c}, {expect: c}]}\n      - close: true\n";
        let Ok(scenario) = load_source(SourceFile::new("x.yaml", text)) else {
            panic!("a valid file was refused");
        };
        let client = &scenario.clients[0];
        let bodies: Vec<Option<(u64, usize)>> = (client.steps.iter())
            .map(|step| match step {
                Step::Repeat { times, body } => Some((*times, *body)),
                _ => None,
            })
            .collect();
        assert_eq!(
            bodies,
            [None, Some((2, 4)), None, Some((3, 2)), None, None, None]
        );
        assert_eq!(
            client.paths,
            [
                "steps[0]",
                "steps[1]",
                "steps[1].repeat.steps[0]",
                "steps[1].repeat.steps[1]",
                "steps[1].repeat.steps[1].repeat.steps[0]",
                "steps[1].repeat.steps[1].repeat.steps[1]",
                "steps[2]",
            ]
        );
    }

    /// An alias points every problem of the step it stands for at itself: those of the step's
    /// `timeout` still come before those of its action, as for the step written out.
    #[test]
    fn a_steps_timeout_is_reported_before_its_action_at_one_place() {
        let text = "servers: [{name: s}]\nclients:\n  - connect: s\n    steps:\n      - &s {send: {file: missing.bin}, timeout: 0s}\n      - *s\n";
        let Err(problems) = load_source(SourceFile::new("x.yaml", text)) else {
            panic!("a wrong file was accepted");
        };
        let fields: Vec<&str> = problems.items.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields[3..],
            [
                "clients[0].steps[1].timeout",
                "clients[0].steps[1].timeout",
                "clients[0].steps[1].send.file",
            ]
        );
    }
}
