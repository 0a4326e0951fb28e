//! Validation of programs under test (`exec:` on a server or a client) and of the scenario's
//! `vars`: the parts of `validate` that concern commands netlab starts rather than sockets it
//! opens.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use super::checker::Checker;
use super::payloads::matcher;
use crate::scenario::model::{Program, ServerProgram, Step, fill};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawClient, RawDuration, RawServer};
use crate::scenario::vars::VarValues;

/// Default time a TCP program under test may take to accept connections.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a UDP program under test is given before it counts as ready.
pub const DEFAULT_READY_AFTER: Duration = Duration::from_millis(300);

/// Why a field of a program under test is refused where there is none.
const ONLY_FOR_A_PROGRAM: &str = "applies to a program under test (`exec:`) only";

/// The scenario's `vars`: the names declared, and the values known for them.
pub(super) struct Vars {
    declared: Vec<String>,
    values: VarValues,
}

impl Checker<'_> {
    /// The declared vars, with the values known: the command line's, else the default.
    pub(super) fn vars(
        &mut self,
        declared: &BTreeMap<String, Option<String>>,
        given: &VarValues,
    ) -> Vars {
        let mut vars = Vars {
            declared: Vec::new(),
            values: VarValues::new(),
        };
        for (name, default) in declared {
            if matches!(name.as_str(), "port" | "host") {
                self.at_key(
                    &join("vars", name),
                    format!("`{name}` is filled in by netlab: choose another name"),
                );
                continue;
            }
            vars.declared.push(name.clone());
            if let Some(value) = given.get(name).or(default.as_ref()) {
                vars.values.insert(name.clone(), value.clone());
            }
        }
        vars
    }

    /// Reports each var used without a value by a program that will start, once, at its
    /// declaration.
    pub(super) fn report_unset_vars(&mut self) {
        let mut unset = std::mem::take(&mut self.unset_vars);
        unset.sort();
        unset.dedup();
        for name in unset {
            self.at_key(&join("vars", &name), format!("`{name}` has no value"))
                .add_help(format!("give it on the command line: `--var {name}=VALUE`"));
        }
    }

    /// Checks an `exec:` list: a command, with only known placeholders. The declared vars it
    /// uses without a value are noted when `needed` (the program will start).
    fn program(&mut self, path: &str, argv: Vec<String>, vars: &Vars, needed: bool) -> Program {
        if argv.first().is_none_or(|c| c.trim().is_empty()) {
            self.at_value(
                path,
                "`exec` needs a command: a list such as [\"python3\", \"server.py\", \"{port}\"]",
            );
        }
        let used_unset = RefCell::new(Vec::new());
        for (i, arg) in argv.iter().enumerate() {
            let known = |name: &str| match name {
                "port" | "host" => Some(String::new()),
                other if vars.declared.iter().any(|d| d == other) => {
                    if !vars.values.contains_key(other) {
                        used_unset.borrow_mut().push(other.to_string());
                    }
                    Some(String::new())
                }
                _ => None,
            };
            if let Err(message) = fill(arg, &known) {
                let names: Vec<String> =
                    vars.declared.iter().map(|k| format!("`{{{k}}}`")).collect();
                let mut help = "`{port}` and `{host}` are filled in by netlab".to_string();
                if !names.is_empty() {
                    help.push_str(&format!("; this scenario's vars: {}", names.join(", ")));
                }
                self.at_value(&format!("{path}[{i}]"), message)
                    .add_help(help);
            }
        }
        if needed {
            self.unset_vars.extend(used_unset.into_inner());
        }
        Program {
            argv,
            vars: vars.values.clone(),
            // Absolute, so that it names the same directory whatever the current one is.
            dir: std::path::absolute(self.source.base_dir())
                .unwrap_or_else(|_| self.source.base_dir().to_path_buf()),
        }
    }

    /// A server's program under test, if it has `exec:`; reports netlab-server fields beside it.
    pub(super) fn server_program(
        &mut self,
        path: &str,
        raw: &mut RawServer,
        udp: bool,
        vars: &Vars,
    ) -> Option<ServerProgram> {
        let Some(argv) = raw.exec.take() else {
            self.refuse_fields(
                path,
                &[
                    (raw.ready_after.is_some(), "ready_after"),
                    (raw.ready_timeout.is_some(), "ready_timeout"),
                    (raw.capture_output.is_some(), "capture_output"),
                ],
                ONLY_FOR_A_PROGRAM,
                None,
            );
            return None;
        };
        self.refuse_fields(
            path,
            &[
                (raw.greeting.is_some(), "greeting"),
                (raw.delay.is_some(), "delay"),
                (!raw.rules.is_empty(), "rules"),
                (raw.backlog.is_some(), "backlog"),
                (raw.concurrency.is_some(), "concurrency"),
                (raw.framing.is_some(), "framing"),
                (raw.read_size.is_some(), "read_size"),
            ],
            "has no effect on a program under test (`exec:`)",
            Some("the program decides how it answers; netlab only starts it and talks to it"),
        );
        self.refuse_fields(
            path,
            &[(!udp && raw.ready_after.is_some(), "ready_after")],
            "applies to udp programs only",
            Some("a tcp program is ready as soon as it accepts a connection"),
        );
        let needed = self.needed_vars.of_server(&raw.name);
        let program = self.program(&join(path, "exec"), argv, vars, needed);
        let ready_timeout = self.positive(
            &join(path, "ready_timeout"),
            raw.ready_timeout,
            DEFAULT_READY_TIMEOUT,
        );
        Some(ServerProgram {
            program,
            ready_after: raw
                .ready_after
                .map_or(DEFAULT_READY_AFTER, |RawDuration(d)| d),
            ready_timeout,
            capture_output: raw.capture_output.unwrap_or(false),
        })
    }

    /// A client's program under test as steps (`exec`, `expect_exit`, `expect_stdout`), or `None`.
    pub(super) fn client_program(
        &mut self,
        path: &str,
        raw: &mut RawClient,
        vars: &Vars,
    ) -> Option<Vec<Step>> {
        let Some(argv) = raw.exec.take() else {
            self.refuse_fields(
                path,
                &[
                    (raw.expect_stdout.is_some(), "expect_stdout"),
                    (raw.expect_exit.is_some(), "expect_exit"),
                ],
                ONLY_FOR_A_PROGRAM,
                None,
            );
            return None;
        };
        if !raw.steps.is_empty() {
            self.at_key(
                &join(path, "steps"),
                "a client with `exec:` runs a program, not steps",
            )
            .add_help("check the program with `expect_stdout` and `expect_exit`");
        }
        let mut steps = vec![
            Step::Run(self.program(
                &join(path, "exec"),
                argv,
                vars,
                self.needed_vars.of_clients(),
            )),
            Step::ExpectExit(raw.expect_exit.unwrap_or(0)),
        ];
        if let Some(expected) = raw.expect_stdout.take() {
            steps.push(Step::ExpectStdout(matcher(expected)));
        }
        Some(steps)
    }
}
