//! Client instances: connect, then run the steps in order. Over TCP the steps read a stream that
//! keeps received-but-unconsumed bytes, so that an `expect` may span several recv() results and
//! one recv() may feed the next step; over UDP (in `client_udp`) each `expect` takes one datagram.
//! Every step reports one event (a send reports before writing).

use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::cancel::Cancel;
use super::context::Context;
use super::resolve::{Resolved, resolve};
use super::socket::{self, ReadResult, TimedSocket, TimedStream};
use crate::diagnostic::io_reason;
use crate::event::{EventKind, Failure, FailureKind, InstanceId, Origin, StepEvent, StepOutcome};
use crate::matcher::{Matcher, Progress};
use crate::plan::{deadline_after, step_timeout};
use crate::scenario::{Client, Payload, Protocol, Step};

/// Most bytes asked of each recv() of a TCP client.
const READ_SIZE: usize = 64 * 1024;

/// Bytes asked of a TCP client's first recv().
const FIRST_READ_SIZE: usize = 4 * 1024;

/// An `expect: { bytes: N }` longer than this counts the bytes instead of keeping them.
const COUNT_ABOVE: usize = 64 * 1024;

/// About how many bytes of a streamed payload are written at a time.
const STREAM_BUFFER: usize = 64 * 1024;

/// Writes a payload: its bytes, or a repeated unit streamed a buffer at a time.
fn write_payload(
    stream: &mut TimedStream,
    payload: &Payload,
    cancel: &Cancel,
) -> std::io::Result<()> {
    match payload {
        Payload::Bytes(bytes) => socket::write_all(stream, bytes, cancel),
        Payload::Repeat { unit, times } => {
            // A buffer of whole units, about 64 KiB, written over and over.
            let per_buffer = (STREAM_BUFFER / unit.len()).max(1) as u64;
            let buffer = unit.repeat(usize::try_from(per_buffer.min(*times)).unwrap_or(1));
            let mut left = *times;
            while left > 0 {
                let units = left.min(per_buffer);
                let bytes = &buffer[..unit.len() * units as usize];
                socket::write_all(stream, bytes, cancel)?;
                left -= units;
            }
            Ok(())
        }
    }
}

/// After a mismatch, how long to keep reading so the failure shows the whole reply.
const MISMATCH_GRACE: Duration = Duration::from_millis(100);

/// Where an instance connects: the bound address of a scenario server, or an address to resolve.
#[derive(Debug, Clone)]
pub enum Dial {
    /// A resolved address.
    Addr(SocketAddr),
    /// `host:port` to resolve at connect time.
    Name(String),
}

/// Runs one client instance to completion and reports `InstanceDone`.
pub fn run_instance(id: InstanceId, client: &Client, dial: Dial, context: Context) {
    let passed = Instance {
        id,
        client,
        context: context.clone(),
        stream: None,
        datagrams: None,
        pending: Vec::new(),
        consumed: 0,
        eof: false,
        scratch: Vec::new(),
        dial: dial.clone(),
        finished: None,
        iteration: 0,
        quiet: false,
        unreported_datagrams: 0,
    }
    .run(&dial);
    context.emit(Origin::Instance(id), EventKind::InstanceDone { passed });
}

/// One client instance and its connection.
pub(super) struct Instance<'a> {
    pub(super) id: InstanceId,
    pub(super) client: &'a Client,
    pub(super) context: Context,
    /// The TCP connection, while open.
    stream: Option<TimedStream>,
    /// The (connected) UDP socket, while open.
    pub(super) datagrams: Option<TimedSocket>,
    /// TCP bytes received and not consumed yet.
    pending: Vec<u8>,
    /// Bytes from the peer consumed by the steps so far.
    pub(super) consumed: u64,
    eof: bool,
    pub(super) scratch: Vec<u8>,
    /// Where the instance connects (a program under test is told it as `{host}`/`{port}`).
    pub(super) dial: Dial,
    /// What the program under test did, once it is over.
    pub(super) finished: Option<super::program::Finished>,
    /// Inside a `repeat`: the current time through (1-based) of the innermost one; 0 outside.
    iteration: u64,
    /// In a repeat's second and later times through: steps that pass are not reported.
    pub(super) quiet: bool,
    /// Datagrams sent while `quiet` (reported with the repeat, for the end of the run).
    pub(super) unreported_datagrams: u64,
}

/// The result of one step: go on, or stop the instance.
pub(super) type StepResult = Result<(), ()>;

impl Instance<'_> {
    fn run(&mut self, dial: &Dial) -> bool {
        let scale = self.context.scale;
        if !self
            .context
            .cancel
            .sleep(scale.pause(self.client.start_after))
        {
            return false;
        }
        // A program under test makes its own connections.
        let program_client = self.client.is_program();
        if !program_client && self.connect(dial).is_err() {
            return false;
        }
        self.run_steps(0, self.client.steps.len()).is_ok()
    }

    /// Runs the steps `from..to` (a `repeat` takes its body along).
    fn run_steps(&mut self, from: usize, to: usize) -> StepResult {
        let mut index = from;
        while index < to {
            let step = &self.client.steps[index];
            if let Step::Repeat { times, body } = *step {
                self.repeat(index, times, body)?;
                index += 1 + body;
            } else {
                self.step(index, step)?;
                index += 1;
            }
        }
        Ok(())
    }

    /// Runs the `body` steps after `index` `times` times, reporting only the first time through
    /// (and any failure), then the count.
    fn repeat(&mut self, index: usize, times: u64, body: usize) -> StepResult {
        let (outer_iteration, outer_quiet) = (self.iteration, self.quiet);
        let mut result = Ok(());
        for time in 1..=times {
            self.iteration = time;
            self.quiet = outer_quiet || time > 1;
            result = self.run_steps(index + 1, index + 1 + body);
            if result.is_err() {
                break;
            }
        }
        self.iteration = outer_iteration;
        self.quiet = outer_quiet;
        result?;
        if self.quiet {
            // Inside an outer repeat's later time through: its own report carries the count.
            return Ok(());
        }
        let unreported_datagrams = std::mem::take(&mut self.unreported_datagrams);
        self.report(
            Some(index),
            StepOutcome::Repeated {
                times,
                unreported_datagrams,
            },
        );
        Ok(())
    }

    pub(super) fn report(&self, step: Option<usize>, outcome: StepOutcome) {
        if self.quiet && !matches!(outcome, StepOutcome::Failed(_)) {
            return;
        }
        let shown = match &outcome {
            StepOutcome::Failed(failure) => failure.received.len() as u64,
            _ => 0,
        };
        let read_to_close = matches!(
            step.and_then(|i| self.client.steps.get(i)),
            Some(Step::ReadToClose { .. })
        );
        // A program under test's whole conversation happened before it exited.
        let program_over = matches!(
            &outcome,
            StepOutcome::ProgramExited { .. }
                | StepOutcome::Failed(Failure {
                    kind: FailureKind::ProgramTimeout(_),
                    ..
                })
        );
        let depends_on_close = match &outcome {
            _ if program_over => true,
            StepOutcome::PeerClosed => true,
            StepOutcome::Matched(_) => read_to_close,
            StepOutcome::Failed(failure) => {
                failure.kind == FailureKind::PeerClosed
                    || (read_to_close && failure.kind == FailureKind::Mismatch)
            }
            _ => false,
        };
        self.context.emit(
            Origin::Instance(self.id),
            EventKind::Step(StepEvent {
                step,
                outcome,
                depends_on_bytes: if program_over {
                    u64::MAX
                } else {
                    self.consumed + shown
                },
                depends_on_close,
                iteration: self.iteration,
            }),
        );
    }

    pub(super) fn fail(
        &self,
        step: Option<usize>,
        kind: FailureKind,
        received: Vec<u8>,
    ) -> StepResult {
        let kind = if self.context.cancel.is_set() {
            FailureKind::Stopped
        } else {
            kind
        };
        self.report(step, StepOutcome::Failed(Failure { kind, received }));
        Err(())
    }

    fn connect(&mut self, dial: &Dial) -> StepResult {
        // A connect cannot be woken by the stop signal: never let it outlast the scenario.
        let timeout = self
            .context
            .bounded(self.context.scale.timeout(self.client.timeout));
        let addrs: Vec<SocketAddr> = match dial {
            Dial::Addr(addr) => vec![*addr],
            Dial::Name(name) => match resolve(name, timeout, &self.context.cancel) {
                Resolved::Addresses(addrs) => addrs,
                Resolved::Failed(reason) => {
                    return self.fail(None, FailureKind::ConnectFailed(reason), Vec::new());
                }
                Resolved::TimedOut => {
                    let reason = format!(
                        "no answer from the resolver for `{name}` within {}",
                        humantime::format_duration(Duration::from_millis(
                            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
                        ))
                    );
                    return self.fail(None, FailureKind::ConnectFailed(reason), Vec::new());
                }
                Resolved::Stopped => return self.fail(None, FailureKind::Stopped, Vec::new()),
            },
        };
        if self.client.protocol == Protocol::Udp {
            return self.connect_udp(&addrs);
        }
        let mut last_error = String::from("no address to connect to");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let stream = TimedStream::new(stream);
                    let local = match stream.local_addr() {
                        Ok(local) => socket::canonical(local),
                        Err(e) => {
                            return self.fail(
                                None,
                                FailureKind::ConnectFailed(io_reason(&e)),
                                Vec::new(),
                            );
                        }
                    };
                    self.stream = Some(stream);
                    self.report(None, StepOutcome::Connected { local });
                    return Ok(());
                }
                Err(e) => last_error = io_reason(&e),
            }
        }
        self.fail(None, FailureKind::ConnectFailed(last_error), Vec::new())
    }

    fn step(&mut self, index: usize, step: &Step) -> StepResult {
        let at = Some(index);
        let timeout = step_timeout(self.context.scale, self.client, step);
        match step {
            Step::Send(payload) if self.datagrams.is_some() => self.send_datagram(index, payload),
            Step::Expect { matcher, .. } if self.datagrams.is_some() => {
                self.expect_datagram(index, matcher, timeout)
            }
            Step::ExpectNothing(quiet) if self.datagrams.is_some() => {
                self.quiet_datagrams(index, self.context.scale.pause(*quiet))
            }
            Step::Send(payload) => {
                if !self.quiet {
                    self.report(at, StepOutcome::Sending(payload.clone()));
                }
                let Some(stream) = self.stream.as_mut() else {
                    return self.fail(at, FailureKind::NotConnected, Vec::new());
                };
                match write_payload(stream, payload, &self.context.cancel) {
                    Ok(()) => Ok(()),
                    Err(e) => self.fail(at, FailureKind::Io(io_reason(&e)), Vec::new()),
                }
            }
            Step::Expect {
                matcher: Matcher::Bytes(count),
                ..
            } if *count > COUNT_ABOVE => self.count_bytes(index, *count as u64, timeout),
            Step::Expect { matcher, .. } => self.expect_bytes(index, matcher, timeout),
            Step::ExpectClose { .. } => self.expect_close(index, timeout),
            Step::ExpectReset { .. } => self.expect_reset(index, timeout),
            Step::ReadToClose { matcher, .. } => self.read_to_close(index, matcher, timeout),
            Step::ExpectNothing(quiet) => {
                self.expect_nothing(index, self.context.scale.pause(*quiet))
            }
            Step::Sleep(pause) => {
                if self.context.cancel.sleep(self.context.scale.pause(*pause)) {
                    self.report(at, StepOutcome::Slept);
                    Ok(())
                } else {
                    self.fail(at, FailureKind::Stopped, Vec::new())
                }
            }
            Step::ShutdownWrite => {
                match self.stream.as_ref().map(|s| s.shutdown(Shutdown::Write)) {
                    Some(Ok(())) => {
                        self.report(at, StepOutcome::HalfClosed);
                        Ok(())
                    }
                    Some(Err(e)) => self.fail(at, FailureKind::Io(io_reason(&e)), Vec::new()),
                    None => self.fail(at, FailureKind::NotConnected, Vec::new()),
                }
            }
            Step::Run(program) => self.run_program(index, program, timeout),
            Step::ExpectExit(code) => self.expect_exit(index, *code),
            Step::ExpectStdout(matcher) => self.expect_stdout(index, matcher),
            // `run_steps` runs repeats.
            Step::Repeat { .. } => Ok(()),
            Step::Close => {
                if self.stream.take().is_none() && self.datagrams.take().is_none() {
                    return self.fail(at, FailureKind::NotConnected, Vec::new());
                }
                self.report(at, StepOutcome::Closed);
                Ok(())
            }
        }
    }

    /// `expect: { bytes: N }` for a large N: takes N bytes as they come, keeping none of them.
    fn count_bytes(&mut self, index: usize, count: u64, timeout: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), timeout);
        let mut left = count;
        loop {
            let take = left.min(self.pending.len() as u64);
            self.pending.drain(..take as usize);
            left -= take;
            self.consumed += take;
            if left == 0 {
                self.report(Some(index), StepOutcome::Counted(count));
                return Ok(());
            }
            if self.eof {
                return self.read_failure(index, ReadResult::Eof, timeout);
            }
            match self.fill(deadline) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(index, other, timeout),
            }
        }
    }

    /// Reads once more into `pending`, until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> ReadResult {
        let Some(stream) = self.stream.as_mut() else {
            return ReadResult::Failed(std::io::ErrorKind::NotConnected.into());
        };
        // Start small (most replies are), grow while reads fill the buffer (bulk data).
        if self.scratch.is_empty() {
            self.scratch.resize(FIRST_READ_SIZE, 0);
        }
        let before = self.pending.len();
        let result = socket::read_some(
            stream,
            &mut self.scratch,
            &mut self.pending,
            Some(deadline),
            &self.context.cancel,
        );
        if matches!(result, ReadResult::Eof) {
            self.eof = true;
        }
        let filled = self.pending.len() - before == self.scratch.len();
        if filled && self.scratch.len() < READ_SIZE {
            self.scratch.resize(self.scratch.len() * 2, 0);
        }
        result
    }

    /// Fails a reading step according to what the last read gave.
    fn read_failure(&mut self, index: usize, result: ReadResult, timeout: Duration) -> StepResult {
        let kind = match result {
            ReadResult::Timeout => FailureKind::Timeout(timeout),
            ReadResult::Stopped => FailureKind::Stopped,
            ReadResult::Failed(e)
                if e.kind() == std::io::ErrorKind::NotConnected && self.stream.is_none() =>
            {
                FailureKind::NotConnected
            }
            ReadResult::Failed(e) => FailureKind::Io(io_reason(&e)),
            ReadResult::Eof => FailureKind::PeerClosed,
            ReadResult::Data => FailureKind::UnexpectedData,
        };
        let received = std::mem::take(&mut self.pending);
        self.fail(Some(index), kind, received)
    }

    fn expect_bytes(&mut self, index: usize, matcher: &Matcher, timeout: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), timeout);
        // Whether no more bytes will come: the peer closed, or the deadline passed (then what
        // came is judged as it is).
        let mut complete = false;
        loop {
            complete |= self.eof;
            match matcher.progress(&self.pending, complete) {
                Progress::Matched(n) => {
                    self.consumed += n as u64;
                    if self.quiet {
                        self.pending.drain(..n);
                    } else {
                        let matched: Vec<u8> = self.pending.drain(..n).collect();
                        self.report(Some(index), StepOutcome::Matched(matched));
                    }
                    return Ok(());
                }
                Progress::Hopeless => {
                    let want = matcher.exact_bytes().map_or(0, <[u8]>::len);
                    self.linger(want);
                    let received = std::mem::take(&mut self.pending);
                    return self.fail(Some(index), FailureKind::Mismatch, received);
                }
                Progress::NeedMore if self.eof => {
                    return self.read_failure(index, ReadResult::Eof, timeout);
                }
                Progress::NeedMore if complete => {
                    return self.read_failure(index, ReadResult::Timeout, timeout);
                }
                Progress::NeedMore if self.over_cap() => return self.too_much(index),
                Progress::NeedMore => match self.fill(deadline) {
                    ReadResult::Data | ReadResult::Eof => {}
                    // At the deadline, what came is judged as it is (a match that more bytes
                    // could have extended stands).
                    ReadResult::Timeout => complete = true,
                    other => return self.read_failure(index, other, timeout),
                },
            }
        }
    }

    /// True once the unconsumed bytes exceed the client's `max_received`.
    fn over_cap(&self) -> bool {
        self.pending.len() > self.client.max_received
    }

    /// Fails a reading step that gathered more than `max_received`.
    fn too_much(&mut self, index: usize) -> StepResult {
        let received = std::mem::take(&mut self.pending);
        self.fail(
            Some(index),
            FailureKind::TooMuchData(self.client.max_received),
            received,
        )
    }

    /// Keeps reading briefly so that a failure shows the whole of what the peer sent, not
    /// whatever the last recv() happened to hold.
    fn linger(&mut self, want: usize) {
        let until = Instant::now() + MISMATCH_GRACE;
        while self.pending.len() < want.max(1) && !self.eof && !self.over_cap() {
            if !matches!(self.fill(until), ReadResult::Data) {
                break;
            }
        }
    }

    fn expect_close(&mut self, index: usize, timeout: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            if !self.pending.is_empty() {
                self.linger(usize::MAX);
                return self.read_failure(index, ReadResult::Data, timeout);
            }
            if self.eof {
                self.report(Some(index), StepOutcome::PeerClosed);
                return Ok(());
            }
            match self.fill(deadline) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(index, other, timeout),
            }
        }
    }

    /// `expect_reset`: the peer resets the connection; bytes before the reset are a failure.
    fn expect_reset(&mut self, index: usize, timeout: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            if !self.pending.is_empty() {
                return self.read_failure(index, ReadResult::Data, timeout);
            }
            match self.fill(deadline) {
                ReadResult::Data => {}
                ReadResult::Failed(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    self.report(Some(index), StepOutcome::Reset);
                    return Ok(());
                }
                ReadResult::Eof => {
                    return self.fail(Some(index), FailureKind::ClosedNotReset, Vec::new());
                }
                other => return self.read_failure(index, other, timeout),
            }
        }
    }

    fn read_to_close(&mut self, index: usize, matcher: &Matcher, timeout: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), timeout);
        while !self.eof {
            if self.over_cap() {
                return self.too_much(index);
            }
            match self.fill(deadline) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(index, other, timeout),
            }
        }
        let everything = std::mem::take(&mut self.pending);
        if matcher.matches_whole(&everything) {
            self.consumed += everything.len() as u64;
            self.report(Some(index), StepOutcome::Matched(everything));
            Ok(())
        } else {
            self.fail(Some(index), FailureKind::Mismatch, everything)
        }
    }

    fn expect_nothing(&mut self, index: usize, quiet: Duration) -> StepResult {
        let deadline = deadline_after(Instant::now(), quiet);
        loop {
            if !self.pending.is_empty() {
                self.linger(usize::MAX);
                return self.read_failure(index, ReadResult::Data, quiet);
            }
            if self.eof {
                return self.read_failure(index, ReadResult::Eof, quiet);
            }
            match self.fill(deadline) {
                ReadResult::Data | ReadResult::Eof => {}
                ReadResult::Timeout => {
                    self.report(Some(index), StepOutcome::Quiet);
                    return Ok(());
                }
                other => return self.read_failure(index, other, quiet),
            }
        }
    }
}
