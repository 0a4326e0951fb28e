//! Proxy servers (`proxy: { to: … }`): each connection accepted is joined to a new connection to
//! the upstream, and what comes is forwarded both ways, each way through its own faults
//! (toxiproxy's model, with both ways declared in the file). One pump per way: the connection's
//! thread forwards toward the upstream, a job of the run's pool back toward the client. Every
//! wait (a read, a latency, a stall, a slice's pause) is bounded by the stop signal; a way whose
//! side closes passes the close on (a FIN as a FIN, a reset as a reset), and a cut (`close_after`)
//! or a reset ends both ways at once.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::client::Dial;
use super::context::{Context, Link};
use super::faults::Injector;
use super::resolve::{Resolved, resolve};
use super::socket::{self, ReadResult, TICK, TimedStream};
use crate::diagnostic::io_reason;
use crate::event::{
    AppliedFault, ConnectionId, EventKind, InstanceId, Origin, PROXY_RECORDED_RUNS, RECORD_BUDGET,
    ServerAction, Way,
};
use crate::plan;
use crate::scenario::{Faults, Server};

/// How long a proxy waits for its upstream to take a connection (within the scenario's time).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The proxies each open connection to an upstream has come through, by its own address (the
/// upstream's peer), for every run of the process: a connection that comes back to a proxy it
/// came through is a circle (`to:` an address that leads back, however it is spelt), refused at
/// once instead of opening connections until the descriptors run out. Entries last until their
/// proxy connection is over.
static CHAINS: std::sync::LazyLock<Mutex<std::collections::HashMap<SocketAddr, Chain>>> =
    std::sync::LazyLock::new(Default::default);

/// The proxies a connection came through, and which connection of that address it is (a port is
/// used again once its connection is gone: an old entry's guard must not remove a new one).
struct Chain {
    through: Vec<SocketAddr>,
    generation: u64,
}

/// Numbers the entries of `CHAINS`.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The proxies a connection from `peer` came through (none: it came from elsewhere).
pub(super) fn chain_of(peer: SocketAddr) -> Vec<SocketAddr> {
    CHAINS
        .lock()
        .map(|chains| {
            chains
                .get(&peer)
                .map(|chain| chain.through.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// Takes note that the connection to an upstream from `local` came through `chain`, until the
/// returned guard drops.
pub(super) fn note_chain(local: SocketAddr, through: Vec<SocketAddr>) -> ChainEntry {
    let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut chains) = CHAINS.lock() {
        chains.insert(
            local,
            Chain {
                through,
                generation,
            },
        );
    }
    ChainEntry(local, generation)
}

/// An entry of `CHAINS` (its address and generation), removed when dropped.
pub(super) struct ChainEntry(SocketAddr, u64);

impl Drop for ChainEntry {
    fn drop(&mut self) {
        if let Ok(mut chains) = CHAINS.lock()
            && chains
                .get(&self.0)
                .is_some_and(|chain| chain.generation == self.1)
        {
            chains.remove(&self.0);
        }
    }
}

/// Pieces of one run recorded one by one (see `Record`).
const PIECES_PER_RUN: u32 = 64;

/// Serves one connection accepted by proxy `server` from `peer` (through a program's own way
/// in: `via`): connects to `upstream`, then forwards both ways until both have closed, the
/// connection is cut, or the run stops.
pub fn serve(
    server: &Server,
    id: ConnectionId,
    (peer, via): (SocketAddr, Option<InstanceId>),
    client: TcpStream,
    upstream: &Dial,
    context: &Context,
) {
    let Some(proxy) = &server.proxy else {
        return;
    };
    let record = Arc::new(Mutex::new(Record::new(id)));
    let note = |action: ServerAction, closed: bool| {
        if let Ok(mut record) = record.lock() {
            record.action(context, action, closed);
        }
    };
    if context.cancel.is_set() {
        return end(&record, context, id);
    }
    note(
        ServerAction::Accepted {
            peer: socket::canonical(peer),
            via,
        },
        false,
    );
    let link: Option<Link> = match (client.peer_addr(), client.local_addr()) {
        (Ok(peer), Ok(local)) => Some((socket::canonical(peer), socket::canonical(local))),
        _ => None,
    };
    let _ = client.set_nodelay(true);
    // The proxies this connection came through, this one last.
    let mut chain = chain_of(socket::canonical(peer));
    let own = client.local_addr().map(socket::canonical);
    if let Ok(own) = own {
        if chain.contains(&own) {
            note(
                ServerAction::Failed(
                    "the proxies forward in a circle: this connection came back to this proxy"
                        .into(),
                ),
                true,
            );
            return end(&record, context, id);
        }
        chain.push(own);
    }
    let mut entry = None;
    let upstream = match connect(upstream, context, link, &note, (&chain, &mut entry)) {
        Reached::Stream(stream) => stream,
        Reached::Failed(reason) => {
            note(ServerAction::UpstreamFailed(reason), true);
            return end(&record, context, id);
        }
        // The run stopped, or the client left, while the upstream did not answer yet.
        Reached::Abandoned => return end(&record, context, id),
    };
    let _ = upstream.set_nodelay(true);
    let ends = (client.try_clone(), upstream.try_clone());
    let (Ok(client_again), Ok(upstream_again)) = ends else {
        note(
            ServerAction::Failed("cannot share the connection between its two ways".into()),
            true,
        );
        return end(&record, context, id);
    };
    let shared = Arc::new(Shared {
        record: record.clone(),
        ended: AtomicBool::new(false),
        link,
        context: context.clone(),
        read_size: server.read_size,
    });
    // Back toward the client on a job of its own; toward the upstream on this thread.
    let back = Pump::new(
        Way::ToClient,
        &proxy.to_client,
        upstream_again,
        client_again,
    );
    let (done, finished) = crossbeam::channel::bounded::<()>(1);
    let job = shared.clone();
    let spawned = context.jobs.spawn(move || {
        back.run(&job);
        drop(done);
    });
    if spawned.is_err() {
        note(
            ServerAction::Failed("cannot start a thread for the way back to the client".into()),
            true,
        );
        return end(&record, context, id);
    }
    let forth = Pump::new(Way::ToUpstream, &proxy.to_upstream, client, upstream);
    forth.run(&shared);
    // The other way ends by itself (every wait of its wakes for the stop signal); its channel
    // closes when it does, or if it panicked.
    let _ = finished.recv();
    end(&record, context, id);
}

/// Records what is held back and that the connection is over (every handle of its sockets is
/// dropped by then, so a reset goes out now).
fn end(record: &Mutex<Record>, context: &Context, id: ConnectionId) {
    if let Ok(mut record) = record.lock() {
        record.finish(context);
    }
    context.emit(Origin::Connection(id), EventKind::ConnectionEnded);
}

/// How reaching the upstream ended.
enum Reached {
    Stream(TcpStream),
    Failed(String),
    /// The run stopped, or the client left, first.
    Abandoned,
}

/// Connects to the upstream, within `CONNECT_TIMEOUT` and the scenario's time, without blocking
/// (`connect_within`): the stop signal, or the client leaving, ends the wait within a tick.
/// A connection to an address of this machine is bound to its own port before it is made, and
/// noted then (`UpstreamConnecting`): its upstream accepts it only after, so the run knows
/// whose it is the moment it is accepted. (To another machine's address, it is noted once made:
/// no server of the run is there.)
fn connect(
    upstream: &Dial,
    context: &Context,
    link: Option<Link>,
    note: &dyn Fn(ServerAction, bool),
    (chain, entry): (&[SocketAddr], &mut Option<ChainEntry>),
) -> Reached {
    let timeout = context.bounded(CONNECT_TIMEOUT);
    let addrs = match upstream {
        Dial::Addr(addr) => vec![*addr],
        Dial::Name(name) => match resolve(name, timeout, &context.cancel) {
            Resolved::Addresses(addrs) => addrs,
            Resolved::Failed(reason) => return Reached::Failed(reason),
            Resolved::TimedOut => {
                return Reached::Failed(format!("no answer from the resolver for `{name}`"));
            }
            Resolved::Stopped => return Reached::Abandoned,
        },
    };
    let mut last = String::from("no address to connect to");
    for addr in addrs {
        let socket = match Socket::new(Domain::for_address(addr), Type::STREAM, None) {
            Ok(socket) => socket,
            Err(e) => {
                last = io_reason(&e);
                continue;
            }
        };
        // Bound first where the address is one of this machine's (loopback, or a local
        // address), so that its own end is known before the upstream can accept it.
        let bound = socket.bind(&SocketAddr::new(addr.ip(), 0).into()).is_ok();
        let local = bound
            .then(|| socket.local_addr().ok().and_then(|a| a.as_socket()))
            .flatten();
        if let Some(local) = local {
            *entry = Some(note_chain(socket::canonical(local), chain.to_vec()));
            note(
                ServerAction::UpstreamConnecting {
                    local: socket::canonical(local),
                    remote: socket::canonical(addr),
                },
                false,
            );
        }
        let connected = connect_within(socket, addr, timeout, context, link);
        match connected {
            Connect::Done(socket) => {
                let stream = TcpStream::from(socket);
                if local.is_none()
                    && let (Ok(local), Ok(remote)) = (stream.local_addr(), stream.peer_addr())
                {
                    *entry = Some(note_chain(socket::canonical(local), chain.to_vec()));
                    note(
                        ServerAction::UpstreamConnecting {
                            local: socket::canonical(local),
                            remote: socket::canonical(remote),
                        },
                        false,
                    );
                }
                return Reached::Stream(stream);
            }
            Connect::Failed(e) => last = io_reason(&e),
            Connect::Abandoned => return Reached::Abandoned,
        }
    }
    Reached::Failed(last)
}

/// How one connect ended.
enum Connect {
    Done(Socket),
    Failed(io::Error),
    /// The run stopped, or the client left.
    Abandoned,
}

/// Connects `socket` to `addr` without blocking: waits for the connect a tick at a time, within
/// `timeout`, ending the wait when the run stops or the client at `link` leaves.
fn connect_within(
    socket: Socket,
    addr: SocketAddr,
    timeout: Duration,
    context: &Context,
    link: Option<Link>,
) -> Connect {
    if let Err(e) = socket.set_nonblocking(true) {
        return Connect::Failed(e);
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e)
            if e.kind() == io::ErrorKind::WouldBlock
                || e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Connect::Failed(e),
    }
    let until = plan::deadline_after(Instant::now(), timeout);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Connect::Failed(io::ErrorKind::TimedOut.into());
        }
        if socket::writable_within(&socket, left.min(TICK)) {
            break;
        }
        if context.cancel.is_set() || link.is_some_and(|link| context.has_left(link)) {
            return Connect::Abandoned;
        }
    }
    match socket.take_error() {
        Ok(None) => match socket.set_nonblocking(false) {
            Ok(()) => Connect::Done(socket),
            Err(e) => Connect::Failed(e),
        },
        Ok(Some(e)) | Err(e) => Connect::Failed(e),
    }
}

/// What the two ways of one connection share.
struct Shared {
    record: Arc<Mutex<Record>>,
    /// The connection is over (cut, reset, or failed): the other way stops without a word.
    ended: AtomicBool,
    /// The client's connection, by its two ends (whether the client is leaving).
    link: Option<Link>,
    context: Context,
    read_size: usize,
}

impl Shared {
    fn note(&self, action: ServerAction, closed: bool) {
        if let Ok(mut record) = self.record.lock() {
            record.action(&self.context, action, closed);
        }
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Waits `duration` before forwarding (see `wait_to_forward`).
    fn wait(&self, duration: Option<Duration>, link: Option<Link>) -> Wait {
        wait_to_forward(&self.context, &self.ended, duration, link)
    }

    /// Records that `bytes` go `way` now, the last of them at `position` of what was read from
    /// the side they come from.
    fn piece(&self, way: Way, bytes: &[u8], position: u64) {
        if let Ok(mut record) = self.record.lock() {
            record.piece(&self.context, way, bytes, position);
        }
    }
}

/// Waits `duration` (`None`: until the connection or the run ends) before forwarding, unless
/// the connection is `over`, the run stops, or the client at `link` leaves first.
fn wait_to_forward(
    context: &Context,
    over: &AtomicBool,
    duration: Option<Duration>,
    link: Option<Link>,
) -> Wait {
    let until = duration.map(|d| plan::deadline_after(Instant::now(), context.scale.pause(d)));
    loop {
        if over.load(Ordering::Acquire) || context.cancel.is_set() {
            return Wait::Over;
        }
        // The client left, or no client is left at all (a program's leaving is not said).
        if link.is_some_and(|link| context.has_left(link)) || context.events.settling() {
            return Wait::Released;
        }
        let left = until.map_or(TICK, |u| u.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Wait::Elapsed;
        }
        if !context.cancel.sleep(left.min(LEAVE_TICK)) {
            return Wait::Over;
        }
    }
}

/// How often a wait before forwarding to a client looks whether it left.
const LEAVE_TICK: Duration = Duration::from_millis(10);

/// How a wait before forwarding ended.
enum Wait {
    Elapsed,
    /// The client is closing for good, or every client of the run is done: what is left goes
    /// on at once, without the way's faults.
    Released,
    /// The connection or the run is over.
    Over,
}

/// One way through the proxy.
struct Pump {
    way: Way,
    faults: Faults,
    from: TimedStream,
    to: TimedStream,
    /// The client left: the way's faults no longer hold anything back.
    unhindered: bool,
}

/// How a write through a way's faults ended.
enum Forwarded {
    Whole,
    /// The connection is over (cut, stopped, or the side written to is gone).
    Over,
}

impl Pump {
    fn new(way: Way, faults: &Faults, from: TcpStream, to: TcpStream) -> Pump {
        Pump {
            way,
            faults: faults.clone(),
            from: TimedStream::new(from),
            to: TimedStream::new(to),
            unhindered: false,
        }
    }

    /// Waits `duration` unless the client left, or every client of the run is done: then this way
    /// forwards unhindered from now on (toward the client, what it reads until the proxy closes;
    /// toward the upstream, what the client sent, and then its close), so that the connection
    /// ends with the clients' steps, as a netlab server's work does. False if the connection is
    /// over.
    fn hold(&mut self, shared: &Shared, duration: Option<Duration>) -> bool {
        if self.unhindered {
            return true;
        }
        match shared.wait(duration, shared.link) {
            Wait::Elapsed => true,
            Wait::Released => {
                self.unhindered = true;
                true
            }
            Wait::Over => false,
        }
    }

    fn run(mut self, shared: &Shared) {
        let context = &shared.context;
        let mut scratch = vec![0u8; shared.read_size.max(1)];
        let mut piece = Vec::with_capacity(shared.read_size);
        let faults = self.faults.clone();
        let mut injector = Injector::new(&faults);
        let mut stall = faults.stall;
        let mut read_total: u64 = 0;
        loop {
            piece.clear();
            let read = socket::read_some(
                &mut self.from,
                &mut scratch,
                &mut piece,
                None,
                &context.cancel,
            );
            if shared.ended() {
                return;
            }
            match read {
                ReadResult::Data => {
                    context.progressed();
                    // Where this piece starts in what was read from its side.
                    let start = read_total;
                    read_total += piece.len() as u64;
                    // The way's latency, once for what was read (a stall may cut it in two).
                    if injector.active() {
                        let mut rng = injector.next_rng(&piece);
                        if let Some(latency) = injector.latency(&mut rng)
                            && !self.hold(shared, Some(latency))
                        {
                            return;
                        }
                    }
                    let mut rest = &piece[..];
                    let mut at = start;
                    if let Some(stall_at) = stall
                        && injector.written + rest.len() as u64 >= stall_at.after
                    {
                        let head = usize::try_from(stall_at.after.saturating_sub(injector.written))
                            .unwrap_or(usize::MAX)
                            .min(rest.len());
                        let (before, after) = rest.split_at(head);
                        if let Forwarded::Over = self.forward(shared, &mut injector, before, at) {
                            return;
                        }
                        at += before.len() as u64;
                        stall = None;
                        let fault = AppliedFault::Stalled {
                            after: stall_at.after,
                            duration: stall_at.duration,
                        };
                        shared.note(
                            ServerAction::ProxyFault {
                                way: self.way,
                                fault,
                            },
                            false,
                        );
                        if !self.hold(shared, stall_at.duration) {
                            return;
                        }
                        rest = after;
                    }
                    if let Forwarded::Over = self.forward(shared, &mut injector, rest, at) {
                        return;
                    }
                }
                ReadResult::Eof => {
                    // Passed on: a FIN, or a reset under the `reset` fault (which ends both ways).
                    let reset = faults.reset;
                    shared.note(
                        ServerAction::SideClosed {
                            way: self.way,
                            came_as_reset: false,
                            passed_as_reset: reset,
                            read_total,
                        },
                        // A reset ends both ways: the client's side too.
                        self.way == Way::ToClient || reset,
                    );
                    if reset {
                        self.reset_both(shared);
                    } else {
                        let _ = self.to.shutdown(Shutdown::Write);
                    }
                    return;
                }
                ReadResult::Failed(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    shared.note(
                        ServerAction::SideClosed {
                            way: self.way,
                            came_as_reset: true,
                            passed_as_reset: true,
                            read_total,
                        },
                        true,
                    );
                    self.reset_both(shared);
                    return;
                }
                ReadResult::Failed(e) => {
                    shared.note(ServerAction::Failed(io_reason(&e)), true);
                    self.end_both(shared);
                    return;
                }
                ReadResult::Timeout | ReadResult::Stopped => return,
            }
        }
    }

    /// Forwards `bytes` (read from this way's side from position `start` on) through the way's
    /// write faults: in slices or throttled, cut by `close_after`; each part recorded as it goes
    /// out. (Its latency was waited for when it was read.)
    fn forward(
        &mut self,
        shared: &Shared,
        injector: &mut Injector<'_>,
        bytes: &[u8],
        start: u64,
    ) -> Forwarded {
        if bytes.is_empty() {
            return Forwarded::Whole;
        }
        let context = &shared.context;
        let cut = injector.cuts(bytes.len());
        let bytes = &bytes[..injector.room(bytes.len())];
        if cut {
            // Over from before the last bytes go: an answer to them must not get through the
            // other way before the cut (which would depend on timing).
            shared.ended.store(true, Ordering::Release);
        }
        let pacing = crate::plan::pacing(
            self.faults
                .slice
                .map(|bytes| (bytes, self.faults.slice_pause)),
            self.faults.bandwidth,
        );
        let mut written = 0;
        while written < bytes.len() {
            let paced = pacing.filter(|_| !self.unhindered);
            if written > 0
                && let Some((_, pause)) = paced
                && !self.hold(shared, Some(pause))
            {
                return Forwarded::Over;
            }
            let size = match pacing.filter(|_| !self.unhindered) {
                Some((piece, _)) => piece.max(1),
                None => bytes.len() - written,
            };
            let part = &bytes[written..(written + size).min(bytes.len())];
            written += part.len();
            // Recorded before it is written: a cause before its effects (the other side's
            // reading of it).
            shared.piece(self.way, part, start + written as u64);
            if let Err(e) = socket::write_all(&mut self.to, part, &context.cancel) {
                return self.write_failed(shared, &e);
            }
            injector.written += part.len() as u64;
            context.progressed();
        }
        if !cut {
            return Forwarded::Whole;
        }
        let limit = self.faults.close_after.unwrap_or_default();
        shared.note(
            ServerAction::ProxyFault {
                way: self.way,
                fault: AppliedFault::CloseAfter(limit),
            },
            true,
        );
        if self.faults.reset {
            shared.note(
                ServerAction::ProxyFault {
                    way: self.way,
                    fault: AppliedFault::Reset,
                },
                true,
            );
            self.reset_both(shared);
        } else {
            self.end_both(shared);
        }
        Forwarded::Over
    }

    /// A write toward this way's side failed: that side is gone (a reset, or it closed for
    /// good) or the run stopped. Toward the client, the connection is over; toward the upstream,
    /// the way back says how it ended when it reads.
    fn write_failed(&self, shared: &Shared, error: &io::Error) -> Forwarded {
        if shared.ended() || shared.context.cancel.is_set() {
            return Forwarded::Over;
        }
        let gone = matches!(
            error.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        );
        if !gone {
            shared.note(ServerAction::Failed(io_reason(error)), true);
        }
        if self.way == Way::ToClient || !gone {
            self.end_both(shared);
        }
        Forwarded::Over
    }

    /// Ends the connection both ways with a FIN: the other way stops without a word.
    fn end_both(&self, shared: &Shared) {
        shared.ended.store(true, Ordering::Release);
        let _ = self.to.shutdown(Shutdown::Both);
        let _ = self.from.shutdown(Shutdown::Both);
    }

    /// Ends the connection both ways with a reset toward this way's side: its socket closes
    /// with SO_LINGER 0 once every handle of it is dropped (when the connection ends, at once),
    /// and the other side gets a FIN.
    fn reset_both(&self, shared: &Shared) {
        shared.ended.store(true, Ordering::Release);
        let _ = socket2::SockRef::from(&*self.to).set_linger(Some(Duration::ZERO));
        // Reading stops on both (no FIN goes to the side reset: a shutdown for writing would).
        let _ = self.to.shutdown(Shutdown::Read);
        let _ = self.from.shutdown(Shutdown::Both);
    }
}

/// What a proxy connection records: each piece forwarded as it goes, joined into runs by the
/// transcript; past `PIECES_PER_RUN` pieces of one run, what follows is gathered and recorded
/// when the way turns (a bulk transfer in 1-byte slices is not millions of events). Bytes are
/// kept whole up to `RECORD_BUDGET` a connection (what `netlab record` replays), and past it, or
/// past `PROXY_RECORDED_RUNS` runs, only counted, recorded before the next action or at the end.
struct Record {
    id: ConnectionId,
    /// The way of the run under way.
    way: Option<Way>,
    /// Pieces of the run under way recorded one by one.
    run_pieces: u32,
    /// What came of the run under way past its first pieces, not recorded yet: the bytes kept,
    /// those not kept, and where they end in what was read.
    gathered: Vec<u8>,
    unkept: u64,
    gathered_to: u64,
    /// Runs so far.
    runs: u64,
    /// Bytes kept so far.
    kept: u64,
    /// Past the budget: pieces, bytes toward the upstream, bytes toward the client.
    counted: Option<(u64, u64, u64)>,
    /// Bytes forwarded toward the client so far (`ServerEvent::sent_total`).
    sent_total: u64,
    /// The client's side is closed.
    closed: bool,
}

impl Record {
    fn new(id: ConnectionId) -> Record {
        Record {
            id,
            way: None,
            run_pieces: 0,
            gathered: Vec::new(),
            unkept: 0,
            gathered_to: 0,
            runs: 0,
            kept: 0,
            counted: None,
            sent_total: 0,
            closed: false,
        }
    }

    fn piece(&mut self, context: &Context, way: Way, bytes: &[u8], read_total: u64) {
        if self.way != Some(way) {
            self.flush(context);
            self.way = Some(way);
            self.run_pieces = 0;
            self.runs += 1;
        }
        let len = bytes.len() as u64;
        if way == Way::ToClient {
            self.sent_total += len;
        }
        if self.runs > PROXY_RECORDED_RUNS || self.kept >= RECORD_BUDGET {
            let (pieces, up, down) = self.counted.get_or_insert((0, 0, 0));
            *pieces += 1;
            match way {
                Way::ToUpstream => *up += len,
                Way::ToClient => *down += len,
            }
            return;
        }
        let room = usize::try_from(RECORD_BUDGET.saturating_sub(self.kept)).unwrap_or(usize::MAX);
        let take = bytes.len().min(room);
        self.kept += take as u64;
        if self.run_pieces >= PIECES_PER_RUN {
            self.gathered.extend_from_slice(&bytes[..take]);
            self.unkept += len - take as u64;
            self.gathered_to = read_total;
            return;
        }
        self.run_pieces += 1;
        let action = ServerAction::Forwarded {
            way,
            bytes: bytes[..take].to_vec(),
            unrecorded: len - take as u64,
            read_total,
        };
        self.emit(context, action);
    }

    fn action(&mut self, context: &Context, action: ServerAction, closed: bool) {
        self.flush(context);
        self.flush_counted(context);
        self.closed |= closed;
        self.emit(context, action);
    }

    /// Records what was counted past the budget so far (before an action, which must follow
    /// it, and at the end).
    fn flush_counted(&mut self, context: &Context) {
        if let Some((pieces, up, down)) = self.counted.take() {
            let action = ServerAction::Unrecorded {
                messages: pieces,
                received: up,
                sent: down,
            };
            self.emit(context, action);
        }
    }

    /// Records what was gathered of the run under way.
    fn flush(&mut self, context: &Context) {
        if self.gathered.is_empty() && self.unkept == 0 {
            return;
        }
        let Some(way) = self.way else {
            return;
        };
        let action = ServerAction::Forwarded {
            way,
            bytes: std::mem::take(&mut self.gathered),
            unrecorded: std::mem::take(&mut self.unkept),
            read_total: self.gathered_to,
        };
        self.emit(context, action);
    }

    fn finish(&mut self, context: &Context) {
        self.flush(context);
        self.flush_counted(context);
    }

    fn emit(&self, context: &Context, action: ServerAction) {
        context.served(self.id, action, self.sent_total, self.closed);
    }
}
