//! A client that is a program under test: netlab starts it with `{host}` and `{port}` of the peer
//! it names, waits (within the client's timeout) for it to exit, then checks its exit code and
//! its stdout. Its conversation is seen from the server's side.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::super::program::{self, Finished, STDERR_LINES};
use super::Dial;
use super::report::{Proceed, Reporter};
use crate::event::{FailureKind, ProgramStatus, StepOutcome};
use crate::matcher::Matcher;
use crate::plan::deadline_after;
use crate::scenario::Program;

/// The host and port a program under test is told to talk to.
fn host_and_port(dial: &Dial) -> (String, u16) {
    match dial {
        Dial::Addr(addr) => (addr.ip().to_string(), addr.port()),
        Dial::Name(name) => match name.parse::<SocketAddr>() {
            Ok(addr) => (addr.ip().to_string(), addr.port()),
            Err(_) => {
                let (host, port) = name.rsplit_once(':').unwrap_or((name, "0"));
                (
                    host.trim_matches(['[', ']']).to_string(),
                    port.parse().unwrap_or(0),
                )
            }
        },
    }
}

/// A client that is a program under test: what it did, once it is over.
#[derive(Default)]
pub(in crate::exec) struct ProgramLink {
    finished: Option<Finished>,
}

impl ProgramLink {
    /// `exec`: runs the program until it exits, within `timeout`, told to talk to `dial`.
    pub fn run(
        &mut self,
        r: &Reporter<'_>,
        dial: &Dial,
        index: usize,
        program: &Program,
        timeout: Duration,
    ) -> Proceed {
        let (host, port) = host_and_port(dial);
        let label = r.client.instance_label(r.id.instance);
        let instance = Some((label.as_str(), r.id.instance));
        let files = r.context.tls.program_files(None);
        let told = (r.context.scale, &files);
        let mut running = match program::start(program, &host, port, instance, told) {
            Ok(running) => running,
            Err(reason) => {
                return r.fail(Some(index), FailureKind::ProgramStart(reason), Vec::new());
            }
        };
        let exited = running.wait_exit(deadline_after(Instant::now(), timeout), &r.context.cancel);
        let finished = running.stop();
        let stderr = program::tail(&finished.stderr, STDERR_LINES).into_bytes();
        let status = finished.exited_early;
        self.finished = Some(finished);
        match status {
            Some(status) if exited => {
                r.report(Some(index), StepOutcome::ProgramExited { status });
                Ok(())
            }
            _ => r.fail(Some(index), FailureKind::ProgramTimeout(timeout), stderr),
        }
    }

    /// `expect_exit`: the program exited by itself with `code`.
    pub fn expect_exit(&self, r: &Reporter<'_>, index: usize, code: i32) -> Proceed {
        let Some(finished) = &self.finished else {
            return r.fail(Some(index), FailureKind::NotConnected, Vec::new());
        };
        if finished.exited_early.and_then(ProgramStatus::code) == Some(code) {
            r.report(Some(index), StepOutcome::ExitMatched);
            return Ok(());
        }
        let stderr = program::tail(&finished.stderr, STDERR_LINES).into_bytes();
        let status = finished.exited_early;
        r.fail(Some(index), FailureKind::WrongExit(status), stderr)
    }

    /// `expect_stdout`: everything the program wrote to stdout matches.
    pub fn expect_stdout(&self, r: &Reporter<'_>, index: usize, matcher: &Matcher) -> Proceed {
        let Some(finished) = &self.finished else {
            return r.fail(Some(index), FailureKind::NotConnected, Vec::new());
        };
        if finished.stdout_dropped > 0 {
            // Part of it is gone: matching what is left could pass or fail wrongly.
            let written = finished.stdout.len() as u64 + finished.stdout_dropped;
            return r.fail(
                Some(index),
                FailureKind::OutputTooLarge(written),
                Vec::new(),
            );
        }
        let stdout = finished.stdout.clone();
        if matcher.matches_whole(&stdout) {
            r.report(Some(index), StepOutcome::Matched(stdout));
            Ok(())
        } else {
            r.fail(Some(index), FailureKind::Mismatch, stdout)
        }
    }
}
