//! Validation of programs under test (`exec:` on a server or a client): the parts of `validate`
//! that concern commands netlab starts rather than sockets it opens.

use std::sync::Arc;
use std::time::Duration;

use super::checker::Checker;
use super::templates::Scope;
use crate::scenario::model::{Program, ServerProgram, Step};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawClient, RawDuration, RawServer};
use crate::template::Syntax;

/// Default time a TCP program under test may take to accept connections.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a UDP program under test is given before it counts as ready.
pub const DEFAULT_READY_AFTER: Duration = Duration::from_millis(300);

/// Why a field of a program under test is refused where there is none.
const ONLY_FOR_A_PROGRAM: &str = "applies to a program under test (`exec:`) only";

impl Checker<'_> {
    /// Checks an `exec:` list: a command, with only names known in `scope`.
    fn program(&mut self, path: &str, argv: Vec<String>, scope: Scope) -> Program {
        if argv.first().is_none_or(|c| c.trim().is_empty()) {
            self.at_value(
                path,
                "`exec` needs a command: a list such as [\"python3\", \"server.py\", \"{port}\"]",
            );
        }
        for (i, arg) in argv.iter().enumerate() {
            self.pieces(&format!("{path}[{i}]"), arg, Syntax::Text, scope);
        }
        Program {
            argv,
            vars: Arc::clone(&self.vars.for_programs),
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
    ) -> Option<ServerProgram> {
        let Some(argv) = raw.exec.take() else {
            self.refuse_fields(
                path,
                &[
                    (raw.ready_after.is_some(), "ready_after"),
                    (raw.ready_timeout.is_some(), "ready_timeout"),
                    (raw.capture_output.is_some(), "capture_output"),
                    (raw.hint.is_some(), "hint"),
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
                (raw.expect_connections.is_some(), "expect_connections"),
                (raw.expect_messages.is_some(), "expect_messages"),
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
        let program = self.program(&join(path, "exec"), argv, Scope::Program { client: false });
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
            hint: raw
                .hint
                .take()
                .map(|h| self.fill_built(&join(path, "hint"), &h, Syntax::Text, Scope::Shared)),
        })
    }

    /// A client's program under test as steps (`exec`, `expect_exit`, `expect_stdout`), or `None`.
    pub(super) fn client_program(&mut self, path: &str, raw: &mut RawClient) -> Option<Vec<Step>> {
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
            Step::Run(self.program(&join(path, "exec"), argv, Scope::Program { client: true })),
            Step::ExpectExit(raw.expect_exit.unwrap_or(0)),
        ];
        if let Some(expected) = raw.expect_stdout.take() {
            let at = join(path, "expect_stdout");
            steps.push(Step::ExpectStdout(self.filled_matcher(&at, expected)));
        }
        Some(steps)
    }
}
