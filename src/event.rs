//! Events: the only thing execution produces. Every thread (server acceptor, connection, client
//! instance) records them on one queue; the transcript and the live report are built from them
//! alone (with the run's `outcome`, this is the contract between `exec` and its consumers).
//! Events carry byte counts so that the transcript can order the two sides of a connection by
//! cause and effect instead of by arrival time. The bounds below are part of the contract: `exec`
//! keeps to them when it records, and the transcript states them when it shows what was not kept.

use std::net::SocketAddr;
use std::time::Duration;

use crate::scenario::{Payload, TlsErrorKind, TlsVersion};

/// What a TLS handshake settled: only what is the same every run (no keys, no serial numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The version spoken.
    pub version: TlsVersion,
    /// The cipher suite, by its IANA name (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// The application protocol agreed (ALPN), if any.
    pub alpn: Option<Vec<u8>>,
    /// The server name the client asked for (SNI), if any (an IP address is never sent).
    pub sni: Option<String>,
    /// Whether the client showed a certificate (the server's side), or has one to show when
    /// asked (the client's).
    pub client_certificate: bool,
    /// Whether the peer's certificate was checked: the server's by the client (`false`:
    /// `insecure`), or the client's by the server (`false`: it showed none, or none was asked).
    pub peer_verified: bool,
}

/// Whether `bytes` (what a peer sent first) may begin a TLS record: a content type of TLS
/// (change cipher spec, alert, handshake, application data) and a major version of 3. A plain
/// server shown a client's hello, and a client's handshake with a plain server, decide by it.
pub fn opens_a_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(20..=23)) && bytes.get(1).is_none_or(|major| *major == 3)
}

/// What the first bytes of a message on a plain connection say of a TLS client's hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloCheck {
    /// They are one: a handshake record holding a ClientHello, header and version all as a
    /// TLS client writes them (what follows differs every run).
    Hello,
    /// They cannot be one.
    NotAHello,
    /// Too few came to tell, and those that did could begin one.
    TooFewToTell,
}

/// How many bytes `tls_client_hello` needs to tell.
const HELLO_HEAD: usize = 11;

/// Whether `bytes` begin a TLS client's hello: a handshake record (22, version 3.x, a length a
/// ClientHello can have) whose message is a ClientHello (1) of a length that fills the record
/// (or more: a hello spread over records), for version 3.x. Eleven bytes tell; a binary
/// protocol's message that merely starts `16 03` does not pass.
pub fn tls_client_hello(bytes: &[u8]) -> HelloCheck {
    let fits = |at: usize, ok: &dyn Fn(u8) -> bool| bytes.get(at).is_none_or(|b| ok(*b));
    // The smallest ClientHello is 45 bytes with its header; a record holds at most 16 KiB.
    let record = (bytes.len() >= 5).then(|| usize::from(u16::from_be_bytes([bytes[3], bytes[4]])));
    let message = (bytes.len() >= 9)
        .then(|| usize::from(bytes[6]) << 16 | usize::from(bytes[7]) << 8 | usize::from(bytes[8]));
    let each_part = fits(0, &|b| b == 22)
        && fits(1, &|b| b == 3)
        && fits(2, &|b| b <= 4)
        && record.is_none_or(|record| (45..=16_384).contains(&record))
        && fits(5, &|b| b == 1)
        && message
            .zip(record)
            .is_none_or(|(message, record)| message + 4 >= record)
        && fits(9, &|b| b == 3)
        && fits(10, &|b| b <= 4);
    match (each_part, bytes.len() >= HELLO_HEAD) {
        (false, _) => HelloCheck::NotAHello,
        (true, false) => HelloCheck::TooFewToTell,
        (true, true) => HelloCheck::Hello,
    }
}

/// The files a client from outside the run needs to talk to a TLS server of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFiles {
    /// The run's CA, which signed the server's certificate.
    pub ca_file: String,
    /// A client certificate and its key, signed by the run's CA, when the server asks for one.
    pub client: Option<(String, String)>,
}

/// Why a TLS handshake failed (or a TLS connection ended in an alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    /// The kind, as `expect_tls_error` names it.
    pub kind: TlsErrorKind,
    /// What rustls said, or what the connection did.
    pub reason: String,
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.kind, self.reason)
    }
}

impl std::error::Error for TlsFailure {}

/// Most bytes of consecutive unanswered TCP messages kept in one `ServerAction::Unanswered` (the
/// rest is counted in its `unrecorded`).
pub const RECORDED_BYTES: usize = 64 * 1024;

/// Adds `more` to the unanswered bytes `kept`, keeping at most `RECORDED_BYTES` in all: the
/// number of bytes of `more` that were not kept (to count in `unrecorded`). The one rule for
/// joining unanswered messages, whether the recorder joins them or the transcript joins records
/// an idle moment split.
pub fn keep_unanswered(kept: &mut Vec<u8>, more: &[u8]) -> u64 {
    let take = more.len().min(RECORDED_BYTES.saturating_sub(kept.len()));
    kept.extend_from_slice(&more[..take]);
    (more.len() - take) as u64
}

/// Most bytes of messages and replies recorded for one connection; beyond it, messages are
/// counted (`ServerAction::Unrecorded`), not kept (a peer flooding a server with ever-different
/// data cannot exhaust memory).
pub const RECORD_BUDGET: u64 = 16 << 20;

/// Most runs (bytes one way between bytes the other way) a proxy records on one connection; past
/// them, and past `RECORD_BUDGET` bytes, it counts what it forwards (a load through it).
pub const PROXY_RECORDED_RUNS: u64 = 4096;

/// The first bytes of each output of a program under test kept whole (what `expect_stdout` and
/// `capture_output` see); past them, only the end is kept, and a stdout that lost bytes between
/// cannot be judged (`FailureKind::OutputTooLarge`).
pub const PROGRAM_OUTPUT_HEAD: usize = 16 << 20;

/// One client instance: the client's index in the scenario and its instance number (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId {
    /// Index into `Scenario::clients`.
    pub client: usize,
    /// 1..=count.
    pub instance: u32,
}

/// One accepted connection: the server's index and the order it was accepted in (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    /// Index into `Scenario::servers`.
    pub server: usize,
    /// 1 for the first connection the server accepted.
    pub seq: u64,
}

/// Who emitted an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client instance.
    Instance(InstanceId),
    /// A server's side of one connection.
    Connection(ConnectionId),
    /// A server as a whole (its listener).
    Server(usize),
}

/// Something that happened, when, and who did it.
#[derive(Debug, Clone)]
pub struct Event {
    /// Time since the scenario started (for the live view only; never in transcripts).
    pub elapsed: Duration,
    /// Who.
    pub origin: Origin,
    /// What.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// A server is bound and accepting.
    Listening {
        /// The real address (port 0 resolved).
        addr: SocketAddr,
        /// For a TLS server presenting a certificate the run made: what a client from outside
        /// the run needs to talk to it (`netlab serve` says where they are).
        tls: Option<TrustFiles>,
    },
    /// A server could not accept a connection.
    AcceptFailed {
        /// What the OS said.
        reason: String,
    },
    /// A client step (or the connect, as step `None`) produced a result.
    Step(StepEvent),
    /// A client instance has finished all it will do.
    InstanceDone {
        /// Whether every step passed.
        passed: bool,
    },
    /// A server's side of a TCP connection is over: everything it did is recorded, its socket
    /// closed (for the end of the run; the transcript shows the connection's own actions).
    ConnectionEnded,
    /// A server did something on one connection.
    Served(ServerEvent),
    /// A server's program under test is over (stopped at the end, or exited by itself).
    ProgramFinished(ProgramReport),
    /// A server's program under test failed: it never got ready, or it exited during the run.
    /// Recorded when netlab sees it (within a few milliseconds), so the live view shows it then.
    ProgramFailed(ProgramFailure),
    /// A server's count was checked at the end of the run (`expect_connections`…).
    ServerChecked {
        /// Index into the server's `checks`.
        check: usize,
        /// What was counted.
        count: u64,
        /// Whether it was within the bounds.
        passed: bool,
    },
}

/// The result of a client step, with the byte counts the transcript orders by.
#[derive(Debug, Clone)]
pub struct StepEvent {
    /// Index into the client's steps; `None` for the connect.
    pub step: Option<usize>,
    /// What came of it.
    pub outcome: StepOutcome,
    /// How many bytes from the peer this event depends on: everything consumed by earlier
    /// steps plus what this event matched or shows as received. (Not what happened to be read:
    /// that depends on how the stream was cut into recv() results.)
    pub depends_on_bytes: u64,
    /// Whether this event depends on the peer having closed (`expect_close`, `read_to_close`,
    /// a failure because the peer closed).
    pub depends_on_close: bool,
    /// Inside a `repeat`: which time through (1-based) of the innermost one; 0 outside.
    pub iteration: u64,
}

/// What came of a client step.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Connected; the addresses let the run find the server's side (see `pairing`).
    Connected {
        /// The client's own address, as the server sees it as the peer.
        local: SocketAddr,
        /// The address it connected to.
        remote: SocketAddr,
    },
    /// About to write these bytes (emitted before the write, so that it precedes its effects).
    Sending(Payload),
    /// An `expect` or `read_to_close` matched these bytes (now consumed).
    Matched(Vec<u8>),
    /// An `expect: { bytes: N }` took this many bytes without keeping them (bulk data).
    Counted(u64),
    /// A `repeat` went through its steps every time; only the first time was reported step by
    /// step.
    Repeated {
        /// How many times.
        times: u64,
        /// Datagrams sent in the times not reported (UDP), so that the run can wait for them.
        unreported_datagrams: u64,
    },
    /// `expect_close`: the peer closed.
    PeerClosed,
    /// `expect_nothing`: nothing arrived.
    Quiet,
    /// `expect_reset`: the peer reset the connection.
    Reset,
    /// `sleep` is over.
    Slept,
    /// A TLS handshake succeeded (at connect, or at `starttls`).
    Secured(Handshake),
    /// `expect_tls_error`: TLS failed as expected.
    TlsRefused(TlsFailure),
    /// `shutdown: write` done.
    HalfClosed,
    /// `close` done.
    Closed,
    /// `exec`: the program under test exited by itself (before its timeout).
    ProgramExited {
        /// How it exited.
        status: ProgramStatus,
    },
    /// `expect_exit`: the exit code was the one expected.
    ExitMatched,
    /// The step failed; the instance stops here.
    Failed(Failure),
}

/// Why a step failed, and what was received instead.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The reason.
    pub kind: FailureKind,
    /// Bytes received and not consumed when it failed.
    pub received: Vec<u8>,
    /// The values the instance had captured, by slot (`Client::captures`): a failure shows the
    /// ones its step used (a passing run shows only their names).
    pub captured: Vec<Option<Vec<u8>>>,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The bytes received cannot match.
    Mismatch,
    /// The step's timeout passed.
    Timeout(Duration),
    /// The peer closed before the step was satisfied.
    PeerClosed,
    /// Bytes arrived where none should.
    UnexpectedData,
    /// The connection could not be made.
    ConnectFailed(String),
    /// A socket call failed.
    Io(String),
    /// The step needs a connection that the client already closed.
    NotConnected,
    /// The scenario stopped (its timeout, or an interrupt) while this step ran.
    Stopped,
    /// The peer closed normally (FIN) where a reset was expected.
    ClosedNotReset,
    /// More bytes arrived than `max_received` allows (a flooding peer).
    TooMuchData(usize),
    /// The frame's header announces more bytes than `max_received` (this many) allows.
    FrameTooLarge(usize),
    /// A program under test could not be started.
    ProgramStart(String),
    /// A program under test was still running when its timeout passed (it was stopped).
    ProgramTimeout(Duration),
    /// `expect_stdout`: the program wrote more than netlab keeps (this many bytes), so its stdout
    /// cannot be judged.
    OutputTooLarge(u64),
    /// A program under test ended otherwise than expected: how it ended, or `None` if it did not
    /// exit by itself (netlab stopped it).
    WrongExit(Option<ProgramStatus>),
    /// A value could not be captured from what the step matched (`capture:`), or a matcher
    /// filled with captured values did not compile: why.
    CaptureFailed(String),
    /// TLS failed (the handshake, or an alert after it), unexpectedly or otherwise than
    /// `expect_tls_error` said.
    Tls(TlsFailure),
    /// `expect_tls_error`: the handshake succeeded and nothing failed within the step.
    TlsSucceeded,
    /// A TLS handshake did not finish within this long (the peer stopped answering it).
    HandshakeTimeout(Duration),
    /// The peer left during the TLS handshake (closed or reset, with no alert).
    TlsAbandoned,
}

impl FailureKind {
    /// Whether a peer that died could have caused this failure (a close, a reset, silence, a
    /// refused connection), as opposed to one only the bytes received explain (a mismatch).
    pub fn can_follow_a_dead_peer(&self) -> bool {
        matches!(
            self,
            FailureKind::Timeout(_)
                | FailureKind::PeerClosed
                | FailureKind::ConnectFailed(_)
                | FailureKind::Io(_)
                | FailureKind::NotConnected
                | FailureKind::Stopped
        )
    }
}

/// A server's action on one connection, with its byte counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    /// What it did.
    pub action: ServerAction,
    /// Bytes the server had sent (or was about to send, for replies) on this connection.
    pub sent_total: u64,
    /// Whether the server has closed its side after this action.
    pub closed: bool,
}

/// What a server did on one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    /// Accepted a connection from `peer` (TCP), or received a first datagram from it (UDP).
    Accepted {
        /// The client's address.
        peer: SocketAddr,
        /// The client instance it came from, where the server knows it by the way it came: a
        /// program under test is given an address of the server of its own (see `exec::bind`).
        via: Option<InstanceId>,
    },
    /// A TLS handshake succeeded (on accept, or at a `starttls` rule).
    Secured(Handshake),
    /// A TLS handshake failed, or the connection ended in a TLS alert; the connection ends.
    TlsFailed(TlsFailure),
    /// A client's first bytes on a connection in plain text were a TLS hello (which differs
    /// every run, and no rule answers): the connection ends.
    TlsHelloToPlain,
    /// The peer left during the TLS handshake (closed or reset, with no alert); the
    /// connection ends.
    TlsAbandoned,
    /// Sent its greeting.
    Greeting {
        /// The bytes (shared with the scenario: a bulk greeting is not copied).
        bytes: std::sync::Arc<Vec<u8>>,
        /// Faults applied to it, in words.
        faults: Vec<AppliedFault>,
    },
    /// Received a message and a rule answered it (the event precedes the delay and the reply).
    Answered {
        /// The message.
        message: Vec<u8>,
        /// The real length of a UDP datagram longer than `read_size` (the message is cut).
        truncated: Option<usize>,
        /// Index of the rule.
        rule: usize,
        /// Declared delay applied before the reply (unscaled, as written).
        delay: Option<Duration>,
        /// Reply bytes, if the rule replies.
        reply: Option<Vec<u8>>,
        /// Whether the rule closes the connection.
        close: bool,
        /// The rule's `lose_first` swallowed the message.
        lost: bool,
        /// Faults applied to the reply, in words (`latency 120ms`, `reply lost (drop)`…).
        faults: Vec<AppliedFault>,
    },
    /// Received a message no rule matched; nothing was sent. Over TCP, messages in a row that
    /// no rule matched are one event.
    Unanswered {
        /// The message (its first `RECORDED_BYTES` over TCP).
        message: Vec<u8>,
        /// The real length of a UDP datagram longer than `read_size` (the message is cut).
        truncated: Option<usize>,
        /// Bytes received after `message` and not kept (bulk data).
        unrecorded: u64,
    },
    /// Messages handled once the connection's record was full (`RECORD_BUDGET`): counted,
    /// not kept.
    Unrecorded {
        /// How many messages.
        messages: u64,
        /// Bytes they held.
        received: u64,
        /// Bytes sent in reply to them.
        sent: u64,
    },
    /// The action before this one happened `times` more times in a row, identically (a load
    /// loop, past the first few times recorded in full); recorded once, as a count.
    Repeated {
        /// How many more times.
        times: u64,
        /// How many of them were messages received (for waiting on UDP datagrams).
        messages: u64,
    },
    /// The client closed with part of a frame sent, never finished: no rule saw it.
    UnfinishedFrame {
        /// The bytes of the frame that came (its first `RECORDED_BYTES`).
        bytes: Vec<u8>,
        /// How many came in all.
        len: u64,
    },
    /// The client closed or half-closed; the server closed its side.
    PeerClosed,
    /// A socket call failed; the server dropped the connection.
    Failed(String),
    /// A fault was injected (`faults:`) on its own (not on a reply).
    Fault(AppliedFault),
    /// A proxy connects to its upstream for this connection (noted before the connect when its
    /// own end is known then, so that the upstream's accept comes after it).
    UpstreamConnecting {
        /// The proxy's own end of that connection (the upstream's peer: see `pairing`).
        local: SocketAddr,
        /// Where it connected.
        remote: SocketAddr,
    },
    /// A proxy could not reach its upstream; it closed the client's connection.
    UpstreamFailed(String),
    /// A proxy forwarded bytes one way. Consecutive pieces the same way are one run (how recv()
    /// cut the stream is timing's), recorded as they go and joined by the transcript.
    Forwarded {
        /// Which way.
        way: Way,
        /// The bytes (within the connection's `RECORD_BUDGET`).
        bytes: Vec<u8>,
        /// Bytes forwarded after `bytes` and not kept.
        unrecorded: u64,
        /// Bytes read so far from the side they came from (what this depends on).
        read_total: u64,
    },
    /// One side of a proxied connection closed (or reset); the proxy closed (or reset) the
    /// other side's way `way`.
    SideClosed {
        /// The way the close went on (`ToUpstream`: the client closed).
        way: Way,
        /// It came as a reset (passed on as one).
        came_as_reset: bool,
        /// It was passed on as a reset (one that came as a reset, or under the way's `reset`
        /// fault).
        passed_as_reset: bool,
        /// Bytes read so far from the side that closed.
        read_total: u64,
    },
    /// A UDP proxy relayed one datagram one way, through the way's faults (a datagram is a
    /// message of its own: never joined with the next).
    Relayed {
        /// Which way.
        way: Way,
        /// The datagram (within the session's `RECORD_BUDGET`).
        datagram: Vec<u8>,
        /// Bytes of it not kept.
        unrecorded: u64,
        /// Bytes received so far from the side it came from, this datagram's included.
        read_total: u64,
        /// What the way's faults did to it (latency, drop, duplicate).
        faults: Vec<AppliedFault>,
    },
    /// A proxy injected a fault on one way (`faults: { to_upstream: …, to_client: … }`).
    ProxyFault {
        /// The way.
        way: Way,
        /// What it did.
        fault: AppliedFault,
    },
}

impl ServerAction {
    /// How many messages (over udp, datagrams) this action read of what its client sent: a
    /// server's answered or unanswered message, a udp proxy's datagram from its client, a run
    /// of them counted.
    pub fn messages_read(&self) -> u64 {
        match self {
            ServerAction::Answered { .. }
            | ServerAction::Unanswered { .. }
            | ServerAction::Relayed {
                way: Way::ToUpstream,
                ..
            } => 1,
            ServerAction::Repeated { messages, .. } | ServerAction::Unrecorded { messages, .. } => {
                *messages
            }
            _ => 0,
        }
    }
}

/// The latency among `faults`, if one was applied.
pub fn latency_of(faults: &[AppliedFault]) -> Option<Duration> {
    faults.iter().find_map(|fault| match fault {
        AppliedFault::Latency(latency) => Some(*latency),
        _ => None,
    })
}

/// How many copies of a datagram went under `faults` (0: lost, 2: duplicated).
pub fn copies(faults: &[AppliedFault]) -> u64 {
    if faults.contains(&AppliedFault::Dropped) {
        0
    } else if faults.contains(&AppliedFault::Duplicated) {
        2
    } else {
        1
    }
}

/// A way through a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Way {
    /// From the client to the upstream.
    ToUpstream,
    /// From the upstream back to the client.
    ToClient,
}

/// A fault injected on a server's write or connection (`faults:`), as it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliedFault {
    /// Extra latency (fixed plus seeded jitter) before the write.
    Latency(Duration),
    /// The write went out this many bytes at a time, this far apart.
    Slice {
        /// Bytes per piece.
        bytes: usize,
        /// Pause between pieces.
        pause: Duration,
    },
    /// The write was throttled to this many bytes per second.
    Bandwidth(u64),
    /// The connection was cut after this many bytes in all (`close_after`).
    CloseAfter(u64),
    /// The connection was closed with a reset (RST).
    Reset,
    /// A UDP reply was lost.
    Dropped,
    /// A UDP reply was sent twice.
    Duplicated,
    /// Forwarding stopped after this many bytes, for this long (`None`: for good).
    Stalled {
        /// Bytes forwarded that way before it.
        after: u64,
        /// How long, as declared.
        duration: Option<Duration>,
    },
}

/// How a program under test ended, as the operating system said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it.
    Signalled(i32),
}

impl ProgramStatus {
    /// The exit code, if it exited.
    pub fn code(self) -> Option<i32> {
        match self {
            ProgramStatus::Exited(code) => Some(code),
            ProgramStatus::Signalled(_) => None,
        }
    }

    /// The signal, if one ended it.
    pub fn signal(self) -> Option<i32> {
        match self {
            ProgramStatus::Exited(_) => None,
            ProgramStatus::Signalled(signal) => Some(signal),
        }
    }
}

/// What a server's program under test did, reported once it is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramReport {
    /// How it ended if it exited by itself before netlab stopped it; `None`: netlab stopped it
    /// at the end of the run.
    pub exited_early: Option<ProgramStatus>,
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// Its stderr.
    pub stderr: Vec<u8>,
}

/// Why a program under test failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramFailureKind {
    /// It exited before it was ready.
    ExitedBeforeReady(ProgramStatus),
    /// It still ran, but was not ready (listening on its port) within its `ready_timeout` or the
    /// scenario's `timeout`, whichever ended first.
    NotReady {
        /// That bound, as declared.
        within: ReadyBound,
        /// The port it was told to use.
        port: u16,
        /// Another process that holds the port meanwhile (pid and command), if one does.
        holder: Option<String>,
    },
    /// It exited by itself while the run went on (a crash, or a server that gave up).
    Exited(ProgramStatus),
}

/// What bounded the wait for a program under test to be ready (as declared: transcripts keep
/// the declared values, whatever the time scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyBound {
    /// Its `ready_timeout`.
    ReadyTimeout(Duration),
    /// The scenario's `timeout`, which ended first.
    ScenarioTimeout(Duration),
}

/// A program under test that failed: which, how, and the end of what it wrote to stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFailure {
    /// The command line as started, placeholders filled in.
    pub command: String,
    /// What went wrong.
    pub kind: ProgramFailureKind,
    /// The last lines of its stderr at that moment.
    pub stderr_tail: String,
}

/// Events as a run would record them, for the unit tests of what consumes events.
#[cfg(test)]
pub(crate) mod fixtures {

    use super::*;

    /// Instance 1 of client `client` reports `outcome` (of no step in particular).
    pub fn step(client: usize, outcome: StepOutcome) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Instance(InstanceId {
                client,
                instance: 1,
            }),
            kind: EventKind::Step(StepEvent {
                step: None,
                outcome,
                depends_on_bytes: 0,
                depends_on_close: false,
                iteration: 0,
            }),
        }
    }

    /// Connection 1 of server `server` records `action`.
    pub fn served(server: usize, action: ServerAction, closed: bool) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Connection(ConnectionId { server, seq: 1 }),
            kind: EventKind::Served(ServerEvent {
                action,
                sent_total: 0,
                closed,
            }),
        }
    }

    /// Connection 1 of server `server` is over.
    pub fn ended(server: usize) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Connection(ConnectionId { server, seq: 1 }),
            kind: EventKind::ConnectionEnded,
        }
    }

    /// Server `server` listens at `addr`.
    pub fn listening(server: usize, addr: SocketAddr) -> Event {
        Event {
            elapsed: Duration::ZERO,
            origin: Origin::Server(server),
            kind: EventKind::Listening { addr, tls: None },
        }
    }
}

#[cfg(test)]
mod hello_tests {
    use super::*;

    /// A real hello's head, cut anywhere, is a hello or too short to tell, never "not one"; a
    /// binary message that only starts like a record is not one.
    #[test]
    fn a_hello_is_told_however_it_is_cut() {
        let hello = [22u8, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3, 7, 7, 7];
        for cut in 1..hello.len() {
            let check = tls_client_hello(&hello[..cut]);
            let expected = if cut < HELLO_HEAD {
                HelloCheck::TooFewToTell
            } else {
                HelloCheck::Hello
            };
            assert_eq!(check, expected, "cut after {cut}");
        }
        // A frame of a binary protocol: a one-byte length cannot hold a ClientHello.
        assert_eq!(
            tls_client_hello(&[22, 3, 1, 0, 1, 1]),
            HelloCheck::NotAHello
        );
        assert_eq!(
            tls_client_hello(&[22, 3, 1, 0, 200, 1, 0, 0, 1]),
            HelloCheck::NotAHello
        );
        assert_eq!(tls_client_hello(&[22, 3]), HelloCheck::TooFewToTell);
        assert_eq!(tls_client_hello(b"GET / HTTP/1.1"), HelloCheck::NotAHello);
    }
}
