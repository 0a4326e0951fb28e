//! Client instances: connect, then run the steps in order, each reporting one event.
//!
//! The seam between a client's steps and its transport is `Link`, one variant per kind of
//! conversation: a byte stream (`stream`: TCP, with or without TLS, over a `Transport`),
//! datagrams (`datagram`: UDP), or a program under test that makes its own connections
//! (`program_client`). The enum chooses the steps' meaning (an `expect` spans reads on a stream,
//! takes exactly one datagram over UDP); the transport moves the bytes. The steps that need
//! no connection (`sleep`, `close`, a `repeat`) are the instance's own. What the instance tells the
//! run goes through its `Reporter` (`report`).

mod datagram;
mod inbox;
mod program_client;
mod report;
mod stream;
mod tls_steps;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use self::datagram::DatagramLink;
use self::program_client::ProgramLink;
use self::report::{Proceed, Reporter};
pub use self::stream::Closing;
use self::stream::StreamLink;
use super::context::Context;
use super::resolve::{Resolved, resolve};
use super::socket;
use super::transport::Transport;
use crate::diagnostic::io_reason;
use crate::event::{EventKind, FailureKind, InstanceId, Origin, StepOutcome};
use crate::plan::step_timeout;
use crate::scenario::{Client, ClientTls, Protocol, Step};

/// Why a step that uses captured values could not run as it is: `Instance::step` fills them
/// first, so it is seen only if netlab has a bug.
const UNFILLED: &str = "a step ran before its captured values were filled in: a bug in netlab";

/// Where an instance connects: the bound address of a scenario server, or an address to resolve.
#[derive(Debug, Clone)]
pub enum Dial {
    /// A resolved address.
    Addr(SocketAddr),
    /// `host:port` to resolve at connect time.
    Name(String),
}

/// Runs one client instance to completion and reports `InstanceDone`.
pub fn run_instance(
    id: InstanceId,
    client: &Client,
    (dial, closing): (Dial, Closing),
    context: Context,
) {
    let link = if client.is_program() {
        Link::Program(ProgramLink::default())
    } else {
        Link::None
    };
    let mut instance = Instance {
        reporter: Reporter {
            id,
            client,
            context: context.clone(),
            consumed: 0,
            iteration: 0,
            passes_unreported: false,
            unreported_datagrams: 0,
            captured: vec![None; client.captures.len()],
        },
        link,
        dial,
        closing,
    };
    let passed = instance.run();
    // A connection still open at the end is closed as `close` closes it.
    if let Link::Stream(link) = instance.link {
        link.close(closing, &context);
    }
    context.emit(Origin::Instance(id), EventKind::InstanceDone { passed });
}

/// What a client instance talks over.
enum Link {
    /// Nothing: before `connect`, after `close`.
    None,
    /// A byte stream (TCP).
    Stream(StreamLink),
    /// A connected UDP socket.
    Datagrams(DatagramLink),
    /// A program under test, which makes its own connections.
    Program(ProgramLink),
}

/// One client instance and its connection.
struct Instance<'a> {
    reporter: Reporter<'a>,
    link: Link,
    /// Where the instance connects (a program under test is told it as `{host}`/`{port}`).
    dial: Dial,
    /// How its close waits for the peer.
    closing: Closing,
}

impl Instance<'_> {
    fn run(&mut self) -> bool {
        let r = &self.reporter;
        if !r
            .context
            .cancel
            .sleep(r.context.scale.pause(r.client.start_after))
        {
            return false;
        }
        // A program under test makes its own connections.
        if matches!(self.link, Link::None) && self.connect().is_err() {
            return false;
        }
        let steps = self.reporter.client.steps_of(self.reporter.id.instance);
        self.run_steps(0, steps.len()).is_ok()
    }

    /// Runs the steps `from..to` (a `repeat` takes its body along).
    fn run_steps(&mut self, from: usize, to: usize) -> Proceed {
        let steps = self.reporter.client.steps_of(self.reporter.id.instance);
        let mut index = from;
        while index < to {
            let step = &steps[index];
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
    fn repeat(&mut self, index: usize, times: u64, body: usize) -> Proceed {
        let r = &mut self.reporter;
        let (outer_iteration, outer_unreported) = (r.iteration, r.passes_unreported);
        let mut result = Ok(());
        for time in 1..=times {
            self.reporter.iteration = time;
            self.reporter.passes_unreported = outer_unreported || time > 1;
            result = self.run_steps(index + 1, index + 1 + body);
            if result.is_err() {
                break;
            }
        }
        let r = &mut self.reporter;
        r.iteration = outer_iteration;
        r.passes_unreported = outer_unreported;
        result?;
        if r.passes_unreported {
            // Inside an outer repeat's later time through: its own report carries the count.
            return Ok(());
        }
        let unreported_datagrams = std::mem::take(&mut r.unreported_datagrams);
        r.report(
            Some(index),
            StepOutcome::Repeated {
                times,
                unreported_datagrams,
            },
        );
        Ok(())
    }

    fn connect(&mut self) -> Proceed {
        let r = &self.reporter;
        // A connect cannot be woken by the stop signal: never let it outlast the scenario.
        let timeout = r.context.bounded(r.context.scale.timeout(r.client.timeout));
        let addrs: Vec<SocketAddr> = match &self.dial {
            Dial::Addr(addr) => vec![*addr],
            Dial::Name(name) => match resolve(name, timeout, &r.context.cancel) {
                Resolved::Addresses(addrs) => addrs,
                Resolved::Failed(reason) => {
                    return r.fail(None, FailureKind::ConnectFailed(reason), Vec::new());
                }
                Resolved::TimedOut => {
                    let reason = format!(
                        "no answer from the resolver for `{name}` within {}",
                        humantime::format_duration(Duration::from_millis(
                            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)
                        ))
                    );
                    return r.fail(None, FailureKind::ConnectFailed(reason), Vec::new());
                }
                Resolved::Stopped => return r.fail(None, FailureKind::Stopped, Vec::new()),
            },
        };
        let connected = match r.client.protocol {
            Protocol::Udp => {
                datagram::connect(&addrs).map(|(link, ends)| (Link::Datagrams(link), ends))
            }
            Protocol::Tcp => {
                connect_tcp(&addrs, timeout).map(|(link, ends)| (Link::Stream(link), ends))
            }
        };
        match connected {
            Ok((link, (local, remote))) => {
                self.link = link;
                r.report(None, StepOutcome::Connected { local, remote });
                let at_once = r.client.tls.as_ref().is_some_and(ClientTls::at_connect);
                match &mut self.link {
                    Link::Stream(stream) if at_once => stream.secure_at_connect(r),
                    _ => Ok(()),
                }
            }
            Err(kind) => r.fail(None, kind, Vec::new()),
        }
    }

    fn step(&mut self, index: usize, step: &Step) -> Proceed {
        let at = Some(index);
        let r = &mut self.reporter;
        // A step that uses captured values runs with them filled in.
        let filled = match step.filled(&r.captured) {
            Ok(filled) => filled,
            Err(why) => return r.fail(at, FailureKind::CaptureFailed(why), Vec::new()),
        };
        let step = filled.as_ref().unwrap_or(step);
        let timeout = step_timeout(r.context.scale, r.client, step);
        match (step, &mut self.link) {
            (Step::Sleep(pause), _) => {
                if r.context.cancel.sleep(r.context.scale.pause(*pause)) {
                    r.report(at, StepOutcome::Slept);
                    Ok(())
                } else {
                    r.fail(at, FailureKind::Stopped, Vec::new())
                }
            }
            // `run_steps` runs repeats.
            (Step::Repeat { .. }, _) => Ok(()),
            (Step::Close, Link::Stream(_) | Link::Datagrams(_)) => {
                if let Link::Stream(link) = std::mem::replace(&mut self.link, Link::None) {
                    link.close(self.closing, &r.context);
                }
                r.report(at, StepOutcome::Closed);
                Ok(())
            }
            (Step::Run(program), Link::Program(link)) => {
                link.run(r, &self.dial, index, program, timeout)
            }
            (Step::ExpectExit(code), Link::Program(link)) => link.expect_exit(r, index, *code),
            (Step::ExpectStdout(matcher), Link::Program(link)) => {
                link.expect_stdout(r, index, matcher)
            }
            (_, Link::Stream(link)) => link.step(r, index, step, timeout),
            (_, Link::Datagrams(link)) => link.step(r, index, step, timeout),
            // After `close` (a program's steps are refused on any other client at load time).
            (_, Link::None | Link::Program(_)) => r.fail(at, FailureKind::NotConnected, Vec::new()),
        }
    }
}

/// Connects over TCP to the first of `addrs` that accepts, within `timeout` each: the link and
/// its local and remote addresses, or why there is none (the last address's refusal).
fn connect_tcp(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(StreamLink, (SocketAddr, SocketAddr)), FailureKind> {
    let mut last_error = String::from("no address to connect to");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let local = stream
                    .local_addr()
                    .map_err(|e| FailureKind::ConnectFailed(io_reason(&e)))?;
                // Where the connection really goes (`0.0.0.0:P` reaches the local host).
                let remote = stream.peer_addr().unwrap_or(*addr);
                let link = StreamLink::new(Transport::plain(stream));
                return Ok((link, (socket::canonical(local), socket::canonical(remote))));
            }
            Err(e) => last_error = io_reason(&e),
        }
    }
    Err(FailureKind::ConnectFailed(last_error))
}
