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

use super::client::Dial;
use super::context::{Context, Link};
use super::faults::{Injector, Written};
use super::resolve::{Resolved, resolve};
use super::socket::{self, ReadResult, TICK, TimedStream};
use crate::diagnostic::io_reason;
use crate::event::{
    AppliedFault, ConnectionId, EventKind, InstanceId, Origin, RECORD_BUDGET, RECORDED_BYTES,
    ServerAction, ServerEvent, Way,
};
use crate::scenario::{Faults, Server};

/// How long a proxy waits for its upstream to take a connection (within the scenario's time).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most runs (bytes one way between bytes the other way) recorded on one connection; past them,
/// and past `RECORD_BUDGET` bytes, bytes are counted, not kept (a load through the proxy).
pub const MOST_RUNS: u64 = 4096;

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
    let upstream = match connect(upstream, context) {
        Ok(stream) => stream,
        Err(reason) => {
            if !context.cancel.is_set() {
                note(ServerAction::UpstreamFailed(reason), true);
            }
            return end(&record, context, id);
        }
    };
    let _ = upstream.set_nodelay(true);
    if let (Ok(local), Ok(remote)) = (upstream.local_addr(), upstream.peer_addr()) {
        note(
            ServerAction::UpstreamConnected {
                local: socket::canonical(local),
                remote: socket::canonical(remote),
            },
            false,
        );
    }
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
    let back = Pump {
        way: Way::ToClient,
        faults: proxy.to_client.clone(),
        from: TimedStream::new(upstream_again),
        to: TimedStream::new(client_again),
    };
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
    let forth = Pump {
        way: Way::ToUpstream,
        faults: proxy.to_upstream.clone(),
        from: TimedStream::new(client),
        to: TimedStream::new(upstream),
    };
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

/// Connects to the upstream, within `CONNECT_TIMEOUT` and the scenario's time.
fn connect(upstream: &Dial, context: &Context) -> Result<TcpStream, String> {
    let timeout = context.bounded(context.scale.timeout(CONNECT_TIMEOUT));
    let addrs = match upstream {
        Dial::Addr(addr) => vec![*addr],
        Dial::Name(name) => match resolve(name, timeout, &context.cancel) {
            Resolved::Addresses(addrs) => addrs,
            Resolved::Failed(reason) => return Err(reason),
            Resolved::TimedOut => return Err(format!("no answer from the resolver for `{name}`")),
            Resolved::Stopped => return Err("the run stopped".into()),
        },
    };
    let mut last = String::from("no address to connect to");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = io_reason(&e),
        }
    }
    Err(last)
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

    /// Waits `duration` (`None`: until the connection or the run ends); false if the connection
    /// or the run ended meanwhile.
    fn wait(&self, duration: Option<Duration>) -> bool {
        let until = duration.map(|d| Instant::now() + self.context.scale.pause(d));
        loop {
            if self.ended() || self.context.cancel.is_set() {
                return false;
            }
            let left = until.map_or(TICK, |u| u.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return true;
            }
            if !self.context.cancel.sleep(left.min(TICK)) {
                return false;
            }
        }
    }
}

/// One way through the proxy.
struct Pump {
    way: Way,
    faults: Faults,
    from: TimedStream,
    to: TimedStream,
}

/// How a write through a way's faults ended.
enum Forwarded {
    Whole,
    /// The connection is over (cut, stopped, or the write failed).
    Over,
}

impl Pump {
    fn run(mut self, shared: &Shared) {
        let context = &shared.context;
        let mut scratch = vec![0u8; shared.read_size.max(1)];
        let mut piece = Vec::with_capacity(shared.read_size);
        let faults = self.faults.clone();
        let mut injector = Injector::new(&faults);
        let mut stall = faults.stall;
        let mut read_total: u64 = 0;
        let mut forwarded: u64 = 0;
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
                    read_total += piece.len() as u64;
                    let mut rest = &piece[..];
                    if let Some(at) = stall
                        && forwarded + rest.len() as u64 >= at.after
                    {
                        let head = usize::try_from(at.after - forwarded).unwrap_or(usize::MAX);
                        let (before, after) = rest.split_at(head.min(rest.len()));
                        if let Forwarded::Over =
                            self.forward(shared, &mut injector, before, read_total)
                        {
                            return;
                        }
                        forwarded += before.len() as u64;
                        stall = None;
                        let fault = AppliedFault::Stalled {
                            after: at.after,
                            duration: at.duration,
                        };
                        shared.note(
                            ServerAction::ProxyFault {
                                way: self.way,
                                fault,
                            },
                            false,
                        );
                        if !shared.wait(at.duration) {
                            return;
                        }
                        rest = after;
                    }
                    if let Forwarded::Over = self.forward(shared, &mut injector, rest, read_total) {
                        return;
                    }
                    forwarded += rest.len() as u64;
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
                        self.way == Way::ToClient,
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

    /// Forwards `bytes` (read so far from this way's side: `read_total`) through the way's
    /// faults: a latency, then the write in slices or throttled, cut by `close_after`.
    fn forward(
        &mut self,
        shared: &Shared,
        injector: &mut Injector<'_>,
        bytes: &[u8],
        read_total: u64,
    ) -> Forwarded {
        if bytes.is_empty() {
            return Forwarded::Whole;
        }
        let context = &shared.context;
        let link = (self.way == Way::ToClient).then_some(shared.link).flatten();
        if injector.active() {
            let mut rng = injector.next_rng(bytes);
            if let Some(latency) = injector.latency(&mut rng)
                && !shared.wait(Some(latency))
            {
                return Forwarded::Over;
            }
        }
        // What goes out before `close_after` cuts the connection, recorded before it is written
        // (a cause before its effects: the other side's reading of it).
        let room = injector.room(bytes.len());
        if let Ok(mut record) = shared.record.lock() {
            record.piece(context, self.way, &bytes[..room], read_total);
        }
        if injector.cuts(bytes.len()) {
            // Over from before the last bytes go: an answer to them must not get through the
            // other way before the cut (which would depend on timing).
            shared.ended.store(true, Ordering::Release);
        }
        match injector.write(&mut self.to, bytes, link, context) {
            Ok(Written::Whole | Written::Abandoned) => Forwarded::Whole,
            Ok(Written::Cut) => {
                let limit = self.faults.close_after.unwrap_or_default();
                shared.note(
                    ServerAction::ProxyFault {
                        way: self.way,
                        fault: AppliedFault::CloseAfter(limit),
                    },
                    true,
                );
                if self.faults.reset {
                    self.reset_both(shared);
                } else {
                    self.end_both(shared);
                }
                Forwarded::Over
            }
            Err(_) if shared.ended() || context.cancel.is_set() => Forwarded::Over,
            // The side written to is gone: the way from it says how (a FIN or a reset) when it
            // reads.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                ) =>
            {
                Forwarded::Whole
            }
            Err(e) => {
                shared.note(ServerAction::Failed(io_reason(&e)), true);
                self.end_both(shared);
                Forwarded::Over
            }
        }
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

/// What a proxy connection records: each piece forwarded, joined into runs by the transcript;
/// per run at most `RECORDED_BYTES` kept (the rest counted and recorded when the way turns),
/// and past `MOST_RUNS` runs or `RECORD_BUDGET` bytes, only counts, recorded at the end.
struct Record {
    id: ConnectionId,
    /// The way of the run under way.
    way: Option<Way>,
    /// Bytes kept of the run under way.
    run_kept: usize,
    /// Bytes of the run under way not kept yet recorded, and what had been read then.
    held: u64,
    held_read_total: u64,
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
            run_kept: 0,
            held: 0,
            held_read_total: 0,
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
            self.run_kept = 0;
            self.runs += 1;
        }
        let len = bytes.len() as u64;
        if way == Way::ToClient {
            self.sent_total += len;
        }
        if self.runs > MOST_RUNS || self.kept >= RECORD_BUDGET {
            let (pieces, up, down) = self.counted.get_or_insert((0, 0, 0));
            *pieces += 1;
            match way {
                Way::ToUpstream => *up += len,
                Way::ToClient => *down += len,
            }
            return;
        }
        let take = bytes.len().min(RECORDED_BYTES - self.run_kept);
        if take == 0 {
            self.held += len;
            self.held_read_total = read_total;
            return;
        }
        self.run_kept += take;
        self.kept += take as u64;
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
        self.closed |= closed;
        self.emit(context, action);
    }

    /// Records the bytes held back of the run under way.
    fn flush(&mut self, context: &Context) {
        if self.held == 0 {
            return;
        }
        let (Some(way), held) = (self.way, std::mem::take(&mut self.held)) else {
            return;
        };
        let action = ServerAction::Forwarded {
            way,
            bytes: Vec::new(),
            unrecorded: held,
            read_total: self.held_read_total,
        };
        self.emit(context, action);
    }

    fn finish(&mut self, context: &Context) {
        self.flush(context);
        if let Some((pieces, up, down)) = self.counted.take() {
            let action = ServerAction::Unrecorded {
                messages: pieces,
                received: up,
                sent: down,
            };
            self.emit(context, action);
        }
    }

    fn emit(&self, context: &Context, action: ServerAction) {
        context.emit(
            Origin::Connection(self.id),
            EventKind::Served(ServerEvent {
                action,
                sent_total: self.sent_total,
                closed: self.closed,
            }),
        );
    }
}
