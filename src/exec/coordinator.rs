//! The coordinator: binds every server before anything starts (so clients never race a
//! listener), starts the threads, collects their events until every client is done or the
//! scenario's deadline passes, then stops and joins every thread before returning.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossbeam::channel::{Receiver, after, at, never, select, tick};

use super::bind::{Bound, ProgramEntrance, Startup, bind_all, bind_program_entrances};
use super::cancel::{self, Cancel};
use super::client::{Closing, Dial, run_instance};
use super::context::{Context, EventSink};
use super::entrance::{self, Entrance};
use super::pool::Jobs;
use super::program::{Running, STOP_GRACE};
use super::settle::{self, OpenConnections};
use super::socket;
use super::tcp_server::accept_loop;
use super::tls::RunTls;
use super::udp_proxy::serve_udp_proxy;
use super::udp_server::serve_udp;
use crate::event::{
    Event, EventKind, FailureKind, InstanceId, Origin, ProgramFailure, ProgramFailureKind,
    ProgramReport, ProgramStatus, ServerAction, StepEvent, StepOutcome,
};
use crate::outcome::{Outcome, RunError, Verdict};
use crate::plan::{TimeScale, deadline_after, scenario_deadline};
use crate::scenario::{Counted, Scenario, Target};

/// How a run is carried out.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Multiplies every declared delay, sleep and timeout.
    pub time_scale: TimeScale,
    /// A message on (or the closing of) this channel stops the run early, as Ctrl-C does.
    pub interrupt: Option<Receiver<()>>,
    /// Serve until interrupted, whatever the scenario's `timeout` says (`netlab serve`).
    pub forever: bool,
    /// Keep no event in the outcome (`netlab serve`: nothing is built from them, and a server
    /// that runs for days must not grow); the observer still sees every one.
    pub discard_events: bool,
}

impl RunOptions {
    /// True once `interrupt` has fired (a message arrived, or every sender is gone), as a run
    /// sees it: for callers that start runs one after another and must stop starting them.
    pub fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|interrupt| {
            !matches!(
                interrupt.try_recv(),
                Err(crossbeam::channel::TryRecvError::Empty)
            )
        })
    }
}

/// Runs `scenario`, calling `observe` on each event as it arrives (for live output).
///
/// A scenario that fails (a program under test that crashes included) is an `Ok` outcome; `Err`
/// means the environment refused something (a port in use, an address not available, a command
/// that cannot be executed) and nothing ran, or netlab itself failed.
pub fn run(
    scenario: &Arc<Scenario>,
    options: &RunOptions,
    observe: &mut dyn FnMut(&Event),
) -> Result<Outcome, RunError> {
    let (mut stop, cancel) = cancel::pair();
    // The scenario's timeout bounds the whole run, the start of its programs included.
    let started = Instant::now();
    let deadline = (!options.forever)
        .then(|| deadline_after(started, scenario_deadline(options.time_scale, scenario)));
    // Until the run's own stop signal matters, Ctrl-C stops a program's start.
    let starting = Cancel::on_interrupt(options.interrupt.as_ref());
    let refused = |error: anyhow::Error| RunError::Refused(format!("{error:#}"));
    // Certificates and configurations first: a program in a TLS server's place starts with its
    // files. Removed (the run's directory) when the run ends.
    let tls = Arc::new(RunTls::of(scenario).map_err(|e| refused(e.context("cannot set up TLS")))?);
    let startup = Startup {
        tls: &tls,
        cancel: &starting,
        scale: options.time_scale,
        deadline,
        scenario_timeout: scenario.timeout,
    };
    let bound = match bind_all(scenario, &startup) {
        Ok(bound) => bound,
        // Ctrl-C while a program was starting: the run was interrupted, nothing failed.
        Err(_) if starting.is_set() => {
            return Ok(Outcome {
                events: Vec::new(),
                verdict: Verdict::Interrupted,
                addresses: Vec::new(),
            });
        }
        Err(error) => return Err(refused(error)),
    };
    let addresses: Vec<Option<SocketAddr>> = bound.iter().map(|(_, addr)| *addr).collect();
    let entrances = bind_program_entrances(scenario, &bound).map_err(refused)?;
    let every_socket = bound
        .iter()
        .map(|(b, _)| b)
        .chain(entrances.iter().map(|e| &e.socket));
    let wakers = Waker::of_each(every_socket).map_err(refused)?;
    // What waits at a program's own way in is that program's, and owed; what waits at a server's
    // own address may be anyone's.
    let owed_queues = Waker::of_each(entrances.iter().map(|e| &e.socket)).map_err(refused)?;
    let (sink, doorbell) = EventSink::new();
    let jobs = Jobs::default();
    let context = Context {
        events: sink.clone(),
        cancel,
        started,
        scale: options.time_scale,
        deadline,
        jobs: jobs.clone(),
        activity: Arc::default(),
        leaving: Arc::default(),
        tls: tls.clone(),
        rule_counts: Arc::new(
            (scenario.servers.iter())
                .map(|server| server.rules.iter().map(|_| Default::default()).collect())
                .collect(),
        ),
    };
    let instances = instances(scenario);
    let mut collector = Collector::new(scenario, observe, instances.len(), options.discard_events);
    collector.started = started;
    collector.deadline = deadline;
    for (index, (bound, addr)) in bound.iter().enumerate() {
        // A program that never got ready does not listen: its failure is said instead, below.
        // A server outside the run listens where it listens.
        if let (false, Some(addr)) = (matches!(bound, Bound::ProgramFailed(_)), addr) {
            collector.take(Event {
                elapsed: started.elapsed(),
                origin: Origin::Server(index),
                kind: EventKind::Listening {
                    addr: *addr,
                    tls: tls.trust_files_of(index),
                },
            });
        }
    }
    let mut sockets = Vec::new();
    let mut not_ready = false;
    for (index, (bound, _)) in bound.into_iter().enumerate() {
        match bound {
            Bound::Program(running) => collector.programs.push(Watched {
                server: index,
                running,
                reported: false,
                clean_exit: None,
            }),
            Bound::ProgramFailed(failure) => {
                not_ready = true;
                collector.program_failed = true;
                collector.take(Event {
                    elapsed: started.elapsed(),
                    origin: Origin::Server(index),
                    kind: EventKind::ProgramFailed(failure),
                });
            }
            socket => sockets.push((index, socket)),
        }
    }
    // A program under test that never got ready has failed: no client is started to talk to it.
    let verdict = if not_ready {
        Ok(Verdict::Failed)
    } else {
        spawn_all(
            scenario, sockets, entrances, &addresses, &instances, &context,
        )
        .map(|()| collector.until_done(&sink, &doorbell, options, &owed_queues, &context.activity))
    };
    // Whatever happened, stop every thread started so far, and wait for them.
    stop.stop();
    for waker in &wakers {
        match waker {
            Waker::Tcp(listener) => socket::wake_acceptor(listener),
            Waker::Udp(socket) => socket::wake_receiver(socket),
        }
    }
    drop(context);
    if jobs.wait() {
        return Err(RunError::Bug(
            "a netlab thread panicked: this is a bug in netlab".into(),
        ));
    }
    // Every thread is done; keep what they recorded while stopping.
    collector.drain(&sink);
    collector.watch_programs();
    collector.watch_programs_for(END_WATCH);
    collector.stop_programs();
    let verdict = verdict.map_err(refused)?;
    let verdict = match verdict {
        Verdict::Passed if collector.program_failed => Verdict::Failed,
        verdict => verdict,
    };
    // The servers' counts, over a run that ended by itself (one stopped early counted less)
    // and whose programs under test did not fail: counted over a program that never started,
    // an `at_most` holds without it having done anything.
    let checked = matches!(verdict, Verdict::Passed | Verdict::Failed)
        && !collector.program_failed
        && !collector.events.iter().any(a_client_program_failed);
    let mut checks_passed = true;
    if checked {
        for event in check_servers(scenario, &collector.events, started) {
            checks_passed &= !matches!(event.kind, EventKind::ServerChecked { passed: false, .. });
            collector.take(event);
        }
    }
    let verdict = match verdict {
        Verdict::Passed if !checks_passed => Verdict::Failed,
        verdict => verdict,
    };
    Ok(Outcome {
        events: collector.events,
        verdict,
        addresses,
    })
}

/// Whether `event` says a client's program under test never started (a count over a program
/// that never ran is no check of it; one that ran and ended badly was still counted).
fn a_client_program_failed(event: &Event) -> bool {
    matches!(
        &event.kind,
        EventKind::Step(StepEvent {
            outcome: StepOutcome::Failed(failure),
            ..
        }) if matches!(failure.kind, FailureKind::ProgramStart(_))
    )
}

/// Checks each server's counts (`expect_connections`, `expect_messages`) against what its
/// connections recorded: the results, as events.
fn check_servers(scenario: &Scenario, events: &[Event], started: Instant) -> Vec<Event> {
    let mut connections = vec![0u64; scenario.servers.len()];
    let mut messages = vec![0u64; scenario.servers.len()];
    for event in events.iter() {
        let (Origin::Connection(id), EventKind::Served(served)) = (&event.origin, &event.kind)
        else {
            continue;
        };
        let (Some(c), Some(m)) = (connections.get_mut(id.server), messages.get_mut(id.server))
        else {
            continue;
        };
        match &served.action {
            ServerAction::Accepted { .. } => *c += 1,
            action => *m += action.messages_read(),
        }
    }
    let mut results = Vec::new();
    for (index, server) in scenario.servers.iter().enumerate() {
        for (check, written) in server.checks.iter().enumerate() {
            let counts = match written.counted {
                Counted::Connections => &connections,
                Counted::Messages => &messages,
            };
            let count = counts.get(index).copied().unwrap_or(0);
            let passed = written.holds(count);
            results.push(Event {
                elapsed: started.elapsed(),
                origin: Origin::Server(index),
                kind: EventKind::ServerChecked {
                    check,
                    count,
                    passed,
                },
            });
        }
    }
    results
}

impl Watched {
    /// Takes note that the program exited with `status`: its failure, if an error or a signal
    /// ended it; an exit with status 0 is kept aside (see `clean_exit`).
    fn exited(&mut self, status: ProgramStatus) -> Option<ProgramFailure> {
        self.reported = true;
        let failure = ProgramFailure {
            command: self.running.command().to_string(),
            kind: ProgramFailureKind::Exited(status),
            stderr_tail: self.running.stderr_tail(),
        };
        if status == ProgramStatus::Exited(0) {
            self.clean_exit = Some(failure);
            None
        } else {
            Some(failure)
        }
    }
}

/// A server's program under test, watched while the run goes on.
struct Watched {
    server: usize,
    running: Running,
    /// Its exit was seen already.
    reported: bool,
    /// It exited with status 0: a failure only if a client of its failed as a dead peer makes
    /// clients fail (a server that served every client and then ended has done its job). Decided
    /// by what clients saw, not by when netlab looked.
    clean_exit: Option<ProgramFailure>,
}

/// How long programs under test are watched once the clients are done, before they are stopped:
/// a server that exits as its last client finishes (or that a client saw close as it died) has
/// this long to be seen exiting. A process's exit takes milliseconds; without a window, whether
/// it was seen would depend on which thread was quicker.
const END_WATCH: Duration = Duration::from_millis(250);

/// How often the coordinator takes the events recorded without ringing (for the live view).
const LIVE_TICK: Duration = Duration::from_millis(20);

/// A second handle on a server's socket, to wake its thread when the run stops.
enum Waker {
    Tcp(TcpListener),
    Udp(std::net::UdpSocket),
}

impl Waker {
    /// A second handle on each socket among `sockets`.
    fn of_each<'b>(sockets: impl Iterator<Item = &'b Bound>) -> anyhow::Result<Vec<Waker>> {
        sockets
            .filter_map(|b| match b {
                Bound::Tcp(listener) => Some(listener.try_clone().map(Waker::Tcp)),
                Bound::Udp(socket) => Some(socket.try_clone().map(Waker::Udp)),
                Bound::Program(_) | Bound::ProgramFailed(_) | Bound::Outside => None,
            })
            .collect::<Result<Vec<Waker>, _>>()
            .context("cannot duplicate a server socket")
    }

    /// Whether a connection waits in the listener's backlog, or a datagram in the socket's queue.
    fn has_input(&self) -> bool {
        match self {
            Waker::Tcp(listener) => socket::has_input(listener),
            Waker::Udp(udp) => socket::has_input(udp),
        }
    }
}

/// Starts a thread per server (and per way in of a server: see `exec::entrance`) and a thread
/// per client instance.
fn spawn_all(
    scenario: &Arc<Scenario>,
    sockets: Vec<(usize, Bound)>,
    program_entrances: Vec<ProgramEntrance>,
    addresses: &[Option<SocketAddr>],
    instances: &[InstanceId],
    context: &Context,
) -> anyhow::Result<()> {
    let mut shared: HashMap<usize, Arc<entrance::Shared>> = HashMap::new();
    let mut own_address: HashMap<InstanceId, SocketAddr> = HashMap::new();
    let ways_in = sockets
        .into_iter()
        .map(|(index, socket)| (index, None, socket))
        .chain(program_entrances.into_iter().map(|e| {
            own_address.insert(e.owner, e.addr);
            (e.server, Some(e.owner), e.socket)
        }));
    for (index, owner, socket) in ways_in {
        let entrance = Entrance {
            owner,
            shared: shared.entry(index).or_default().clone(),
        };
        let job_context = context.clone();
        let shared = scenario.clone();
        let upstream = match &scenario.servers[index].proxy {
            Some(proxy) => Some(dial_of(scenario, addresses, &proxy.to)?),
            None => None,
        };
        match socket {
            Bound::Tcp(listener) => context.jobs.spawn(move || {
                accept_loop(index, shared, listener, (entrance, upstream), job_context)
            }),
            Bound::Udp(socket) => match upstream {
                Some(upstream) => context.jobs.spawn(move || {
                    let server = &shared.servers[index];
                    serve_udp_proxy(index, server, socket, (entrance, upstream), job_context)
                }),
                None => context.jobs.spawn(move || {
                    serve_udp(index, &shared.servers[index], socket, entrance, job_context)
                }),
            },
            // Programs under test were started by `bind_all` and run on their own; a server
            // outside the run is not netlab's to serve.
            Bound::Program(_) | Bound::ProgramFailed(_) | Bound::Outside => continue,
        }
        .context("cannot start a server thread")?;
    }
    for id in instances {
        let client = &scenario.clients[id.client];
        let dial = match own_address.get(id) {
            Some(own) => Dial::Addr(socket::loopback_of(*own)),
            None => dial_of(scenario, addresses, &client.target)?,
        };
        // A netlab server closes after the client's close: the client waits for it.
        let closing = match client.target {
            Target::Server(i) if scenario.closes_after_its_clients(i) => {
                Closing::UntilThePeerCloses
            }
            _ => Closing::Briefly,
        };
        let job_context = context.clone();
        let shared = scenario.clone();
        let id = *id;
        context
            .jobs
            .spawn(move || {
                run_instance(id, &shared.clients[id.client], (dial, closing), job_context)
            })
            .context("cannot start a client thread")?;
    }
    Ok(())
}

/// Where a client (or a proxy) dials to reach `target`: a server's bound address, a server's
/// outside address, or an address to resolve.
fn dial_of(
    scenario: &Scenario,
    addresses: &[Option<SocketAddr>],
    target: &Target,
) -> anyhow::Result<Dial> {
    Ok(match target {
        Target::Server(i) => match (
            addresses.get(*i).copied().flatten(),
            &scenario.servers[*i].outside,
        ) {
            (Some(addr), _) => Dial::Addr(socket::loopback_of(addr)),
            (None, Some(outside)) => Dial::Name(outside.clone()),
            // Clients start only once every server is up (see `run`).
            (None, None) => anyhow::bail!("server {i} has no address: a bug in netlab"),
        },
        Target::Address(text) => Dial::Name(text.clone()),
    })
}

/// Receives the events of a run and decides when it is over.
struct Collector<'a> {
    scenario: &'a Scenario,
    observe: &'a mut dyn FnMut(&Event),
    events: Vec<Event>,
    open: OpenConnections<'a>,
    instances: usize,
    remaining: usize,
    failed: bool,
    /// Keep no event (see `RunOptions::discard_events`).
    discard: bool,
    /// The servers' programs under test, watched for an exit of their own.
    programs: Vec<Watched>,
    /// A program under test failed.
    program_failed: bool,
    /// When the run started (for the time of a program's exit).
    started: Instant,
    /// When the scenario's timeout ends (`None`: never).
    deadline: Option<Instant>,
    /// The servers some client failed on as a dead peer makes clients fail.
    dead_peer_failures: std::collections::BTreeSet<usize>,
    /// Failures seen while stopping, recorded once every program was asked to stop.
    failures_at_stop: Vec<(usize, ProgramFailure)>,
}

impl<'a> Collector<'a> {
    fn new(
        scenario: &'a Scenario,
        observe: &'a mut dyn FnMut(&Event),
        instances: usize,
        discard: bool,
    ) -> Self {
        Self {
            scenario,
            observe,
            events: Vec::new(),
            open: OpenConnections::new(scenario),
            instances,
            remaining: instances,
            failed: false,
            discard,
            programs: Vec::new(),
            program_failed: false,
            started: Instant::now(),
            deadline: None,
            dead_peer_failures: std::collections::BTreeSet::new(),
            failures_at_stop: Vec::new(),
        }
    }

    /// Stops every program under test at once (SIGTERM to all, one shared grace, then SIGKILL),
    /// so that the run ends within its timeout plus one grace however many there are, and a
    /// program that exits by itself while another is being stopped is seen as having done so.
    fn stop_programs(&mut self) {
        for watched in &mut self.programs {
            if let Some(status) = watched.running.terminate()
                && !watched.reported
                && let Some(failure) = watched.exited(status)
            {
                self.failures_at_stop.push((watched.server, failure));
            }
        }
        for (server, failure) in std::mem::take(&mut self.failures_at_stop) {
            self.record_failure(server, failure);
        }
        self.blame_clean_exits();
        let programs = std::mem::take(&mut self.programs);
        let grace_until = deadline_after(Instant::now(), STOP_GRACE);
        for Watched {
            server, running, ..
        } in programs
        {
            let finished = running.finish(grace_until);
            self.take(Event {
                elapsed: self.started.elapsed(),
                origin: Origin::Server(server),
                kind: EventKind::ProgramFinished(ProgramReport {
                    exited_early: finished.exited_early,
                    stdout: finished.stdout,
                    stderr: finished.stderr,
                }),
            });
        }
    }

    /// Records a program's failure, when it is seen.
    fn record_failure(&mut self, server: usize, failure: ProgramFailure) {
        self.program_failed = true;
        self.take(Event {
            elapsed: self.started.elapsed(),
            origin: Origin::Server(server),
            kind: EventKind::ProgramFailed(failure),
        });
    }

    /// Watches the programs under test for `window` (not at all if there is none, or every one
    /// has been seen exiting).
    fn watch_programs_for(&mut self, window: Duration) {
        let until = deadline_after(Instant::now(), window);
        while self.programs.iter().any(|w| !w.reported) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
            self.watch_programs();
        }
    }

    /// Every server is a program under test, and every one has exited.
    fn nothing_left_to_serve(&self) -> bool {
        !self.programs.is_empty()
            && self.programs.len() == self.scenario.servers.len()
            && self.programs.iter().all(|watched| watched.reported)
    }

    /// Records, when it happens, a program under test that exited by itself: with an error or a
    /// signal, its failure; with status 0, a failure only once a client of its fails as a dead
    /// peer makes it fail (see `Watched::clean_exit`).
    fn watch_programs(&mut self) {
        let mut failures = Vec::new();
        for watched in &mut self.programs {
            if watched.reported {
                continue;
            }
            let Some(status) = watched.running.exited() else {
                continue;
            };
            if let Some(failure) = watched.exited(status) {
                failures.push((watched.server, failure));
            }
        }
        for (server, failure) in failures {
            self.record_failure(server, failure);
        }
        self.blame_clean_exits();
    }

    /// Makes a failure of every clean exit of a program whose clients failed as its absence
    /// makes clients fail.
    fn blame_clean_exits(&mut self) {
        let mut failures = Vec::new();
        for watched in &mut self.programs {
            if self.dead_peer_failures.contains(&watched.server)
                && let Some(failure) = watched.clean_exit.take()
            {
                failures.push((watched.server, failure));
            }
        }
        for (server, failure) in failures {
            self.record_failure(server, failure);
        }
    }

    fn take(&mut self, event: Event) {
        // A client that failed as a dead peer would make it: if its program under test has
        // exited, say so first, so that the live view blames the program, not the client.
        if let (
            Origin::Instance(id),
            EventKind::Step(StepEvent {
                outcome: StepOutcome::Failed(failure),
                ..
            }),
        ) = (&event.origin, &event.kind)
            && failure.kind.can_follow_a_dead_peer()
        {
            if let Some(Target::Server(server)) =
                self.scenario.clients.get(id.client).map(|c| &c.target)
            {
                self.dead_peer_failures.insert(*server);
            }
            self.watch_programs();
        }
        if let EventKind::InstanceDone { passed } = event.kind {
            self.remaining = self.remaining.saturating_sub(1);
            self.failed |= !passed;
        }
        // What is still open matters only to let servers finish after clients: a run that keeps
        // no event (`netlab serve`) has no clients, and must not grow with every connection.
        if !self.discard {
            self.open.observe(&event);
        }
        (self.observe)(&event);
        if !self.discard {
            self.events.push(event);
        }
    }

    /// Takes every event recorded so far.
    fn drain(&mut self, sink: &EventSink) {
        while let Some(event) = sink.pop() {
            self.take(event);
        }
    }

    /// Collects until every client instance is done (then lets the servers finish), the
    /// scenario's deadline passes, or the run is interrupted. The doorbell rings for the events
    /// that can end the run; the live view is fed on a short tick.
    fn until_done(
        &mut self,
        sink: &EventSink,
        doorbell: &Receiver<()>,
        options: &RunOptions,
        owed_queues: &[Waker],
        activity_now: &AtomicU64,
    ) -> Verdict {
        let live = tick(LIVE_TICK);
        let deadline = self.deadline.map_or_else(never, at);
        let interrupt = options.interrupt.clone().unwrap_or_else(never);
        let servers_only = self.instances == 0;
        while self.remaining > 0 || servers_only {
            select! {
                recv(doorbell) -> ring => match ring {
                    Ok(()) => self.drain(sink),
                    Err(_) => return Verdict::Failed,
                },
                recv(live) -> _ => {
                    self.drain(sink);
                    self.watch_programs();
                    // Serving, with every server a program under test that has exited: there
                    // is nothing left to serve.
                    if servers_only && self.nothing_left_to_serve() {
                        return Verdict::Failed;
                    }
                }
                recv(deadline) -> _ => {
                    return if servers_only { Verdict::Passed } else { Verdict::TimedOut(self.scenario.timeout) };
                }
                recv(interrupt) -> _ => {
                    return if servers_only { Verdict::Passed } else { Verdict::Interrupted };
                }
            }
        }
        // Settling: until the servers owe the clients nothing (every connection a client made
        // accepted and its server side ended, every datagram seen, nothing waiting at a program's
        // own way in), or they stop working on it for too long: quiet means no event and no
        // server activity (a read, a datagram, a piece of a reply), recorded or not.
        let quiet_limit = settle::quiet_limit(self.scenario, options.time_scale);
        let mut quiet = after(quiet_limit);
        let queues = tick(settle::QUEUE_TICK);
        let mut activity = activity_now.load(Ordering::Relaxed);
        sink.make_eager();
        self.drain(sink);
        while !self.open.all_closed() || owed_queues.iter().any(Waker::has_input) {
            select! {
                recv(doorbell) -> ring => match ring {
                    Ok(()) => {
                        self.drain(sink);
                        quiet = after(quiet_limit);
                    }
                    Err(_) => break,
                },
                recv(queues) -> _ => {
                    let now = activity_now.load(Ordering::Relaxed);
                    if now != activity {
                        activity = now;
                        quiet = after(quiet_limit);
                    }
                }
                recv(quiet) -> _ => break,
                // The servers still owed the clients something: the run is not over in time.
                recv(deadline) -> _ => return Verdict::TimedOut(self.scenario.timeout),
                recv(interrupt) -> _ => return Verdict::Interrupted,
            }
        }
        if self.failed {
            Verdict::Failed
        } else {
            Verdict::Passed
        }
    }
}

/// Every client instance of the scenario, in name order.
fn instances(scenario: &Scenario) -> Vec<InstanceId> {
    scenario
        .clients
        .iter()
        .enumerate()
        .flat_map(|(client, c)| (1..=c.count).map(move |instance| InstanceId { client, instance }))
        .collect()
}
