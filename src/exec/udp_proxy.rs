//! UDP proxies (`protocol: udp`, `proxy: { to: … }`): each sender heard on the proxy's socket
//! gets a session, a socket of its own connected to the upstream (so the upstream sees one peer
//! per client, and its replies come back to the right one), as a NAT or `socat UDP-LISTEN,fork`
//! does. Each datagram is relayed whole, each way through its own faults (latency and jitter,
//! drop, duplicate, stall).
//!
//! One thread serves every session: it waits (`poll(2)`, a tick at most, so that the stop signal
//! reaches it) for a datagram on the proxy's socket or a session's, and for the next datagram due
//! on some way. A way is a queue: a datagram is due when its latency has passed and the one
//! before it went (first in, first out, as over one link), or when a stall ends; a stall for
//! good holds it until every client is done. So a session's latency never holds another's
//! datagrams, an idle session costs nothing but its socket, and what waits is bounded in bytes
//! (`QUEUED_BYTES`) and datagrams (`QUEUED_DATAGRAMS`), what is lost past them said at once.
//! std has no way to wait on several sockets at once, hence `poll` by hand (as
//! `socket::writable_within` does).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::client::Dial;
use super::context::Context;
use super::entrance::Entrance;
use super::faults::Injector;
use super::proxy::{CONNECT_TIMEOUT, ChainEntry, chain_of, note_chain};
use super::resolve::{Resolved, resolve};
use super::socket::{self, MAX_DATAGRAM, TICK};
use crate::diagnostic::io_reason;
use crate::event::{
    AppliedFault, ConnectionId, InstanceId, PROXY_RECORDED_RUNS, RECORD_BUDGET, ServerAction, Way,
    copies, latency_of,
};
use crate::plan;
use crate::scenario::{Faults, Server, Stall};

/// Most senders a UDP proxy's socket (one per way in) keeps a session for (a socket each):
/// past it, the one heard from least recently is forgotten. No scenario's own clients come
/// near it.
const MAX_SESSIONS: usize = 1024;

/// Most datagrams waiting on one way of one session (a stalled or slow way): past it, what
/// comes is lost, as a full socket buffer would lose it, and said so.
const QUEUED_DATAGRAMS: usize = 1024;

/// Most bytes waiting on all the ways of one proxy socket's sessions together.
const QUEUED_BYTES: usize = 32 << 20;

/// Most datagrams read from one socket before the others get their turn.
const READ_BATCH: usize = 64;

/// How long a send the kernel could not take yet waits before it is tried again.
const SEND_RETRY: Duration = Duration::from_millis(1);

/// Most datagrams sent on one way at once: what a stall or a latency held back goes on in
/// bursts of this many, `SEND_RETRY` apart (32,000 a second), so that the receiver's socket buffer (about 200 KB,
/// some 250 small datagrams) is not overrun by what it could have read as it came.
const BURST: usize = 32;

/// Serves proxy `server` on `socket` (one of its ways in) until the run stops, relaying to
/// `upstream`.
pub fn serve_udp_proxy(
    index: usize,
    server: &Server,
    socket: UdpSocket,
    (entrance, upstream): (Entrance, Dial),
    context: Context,
) {
    let Some(proxy) = &server.proxy else {
        return;
    };
    if let Err(e) = socket.set_nonblocking(true) {
        context.server_failed(index, &e);
        return;
    }
    // Room for a burst of new senders while their sessions open.
    socket::roomy(&socket2::SockRef::from(&socket));
    let mut proxy = UdpProxy {
        index,
        faults: (&proxy.to_upstream, &proxy.to_client),
        own: socket.local_addr().ok().map(socket::canonical),
        listener: socket,
        sessions: HashMap::new(),
        refused: HashSet::new(),
        upstream,
        upstream_addr: None,
        heard: 0,
        queued_bytes: 0,
        unhindered: false,
        entrance,
        context,
    };
    proxy.serve();
}

/// A UDP proxy at work.
struct UdpProxy<'a> {
    index: usize,
    /// The faults toward the upstream and toward the client.
    faults: (&'a Faults, &'a Faults),
    /// The proxy's own address (for the circle check).
    own: Option<SocketAddr>,
    listener: UdpSocket,
    sessions: HashMap<SocketAddr, Session<'a>>,
    /// Senders refused (a circle, an upstream out of reach): their datagrams are dropped unsaid.
    refused: HashSet<SocketAddr>,
    upstream: Dial,
    upstream_addr: Option<SocketAddr>,
    /// Datagrams heard from clients so far (when each session was last heard from).
    heard: u64,
    /// Bytes waiting on every way.
    queued_bytes: usize,
    /// Every client is done (the run is settling): the faults hold nothing back any more.
    unhindered: bool,
    entrance: Entrance,
    context: Context,
}

impl<'a> UdpProxy<'a> {
    fn serve(&mut self) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut order: Vec<SocketAddr> = Vec::new();
        let mut flushed = Instant::now();
        while !self.context.cancel.is_set() {
            // What was counted past a session's record is recorded a tick later at most (the
            // run waits for its clients' datagrams to be seen; a recording for quiet).
            if flushed.elapsed() >= TICK {
                self.flush();
                flushed = Instant::now();
            }
            if !self.unhindered && self.context.events.settling() {
                self.unhindered = true;
            }
            let next = self.send_what_is_due();
            let wait = next.map_or(TICK, |due| {
                due.saturating_duration_since(Instant::now()).min(TICK)
            });
            fds.clear();
            order.clear();
            fds.push(readable(&self.listener));
            for (client, session) in &self.sessions {
                fds.push(readable(&session.socket));
                order.push(*client);
            }
            // Rounded up: a wait of less than a millisecond is not none (that would spin).
            let ms =
                libc::c_int::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
            let nfds = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
            // SAFETY: `fds` holds `nfds` valid `pollfd`s for descriptors owned by `self` for the
            // whole call (nothing else runs on this thread meanwhile).
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), nfds, ms) };
            // (The run's end wakes the proxy with an empty datagram: not a client's.)
            if self.context.cancel.is_set() {
                break;
            }
            if ready < 0 {
                // Interrupted, or out of memory for the call: wait a tick rather than spin.
                if !self.context.cancel.sleep(SEND_RETRY) {
                    break;
                }
                continue;
            }
            if ready == 0 {
                continue;
            }
            if fds[0].revents != 0 && !self.read_clients(&mut buf) {
                return self.finish();
            }
            for (fd, client) in fds[1..].iter().zip(&order) {
                if fd.revents != 0 {
                    self.read_upstream(*client, &mut buf);
                }
            }
        }
        self.finish();
    }

    /// Records what every session counted past its record (every tick, and at the end).
    fn flush(&mut self) {
        for session in self.sessions.values_mut() {
            session.record.flush(&self.context);
        }
    }

    /// Records what every session counted and lost, as the proxy stops.
    fn finish(&mut self) {
        for session in self.sessions.values_mut() {
            session.say_what_was_lost(&self.context);
            session.record.flush(&self.context);
        }
    }

    /// Reads what clients sent (a batch at most); false if the run stopped while a failure of
    /// the proxy's socket was being noted.
    fn read_clients(&mut self, buf: &mut [u8]) -> bool {
        for _ in 0..READ_BATCH {
            let (length, from) = match self.listener.recv_from(buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // An ICMP error for an earlier datagram to a client can surface here: note it,
                // keep serving.
                Err(e) => return self.context.server_failed(self.index, &e),
            };
            self.heard += 1;
            self.context.progressed();
            if self.refused.contains(&from) {
                continue;
            }
            if !self.sessions.contains_key(&from) && !self.open(from) {
                if self.refused.len() >= MAX_SESSIONS {
                    self.refused.clear();
                }
                self.refused.insert(from);
                continue;
            }
            let heard = self.heard;
            let unhindered = self.unhindered;
            let Some(session) = self.sessions.get_mut(&from) else {
                continue;
            };
            session.last_heard = heard;
            session.take(
                Way::ToUpstream,
                &buf[..length],
                (&mut self.queued_bytes, unhindered),
                &self.context,
            );
        }
        true
    }

    /// Reads what the upstream sent back to `client`'s session (a batch at most).
    fn read_upstream(&mut self, client: SocketAddr, buf: &mut [u8]) {
        let unhindered = self.unhindered;
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        for _ in 0..READ_BATCH {
            match session.socket.recv(buf) {
                Ok(length) => session.take(
                    Way::ToClient,
                    &buf[..length],
                    (&mut self.queued_bytes, unhindered),
                    &self.context,
                ),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // An ICMP "port unreachable" for what was sent: said once a session.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    if !session.refused {
                        session.refused = true;
                        let reason = format!("the upstream refused a datagram: {}", io_reason(&e));
                        session
                            .record
                            .action(&self.context, ServerAction::UpstreamFailed(reason));
                    }
                }
                Err(e) => {
                    session
                        .record
                        .action(&self.context, ServerAction::Failed(io_reason(&e)));
                    return;
                }
            }
        }
    }

    /// Sends every datagram due on every way; returns when the next one is due, if one waits
    /// for a time (not for good).
    fn send_what_is_due(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let unhindered = self.unhindered;
        for (client, session) in &mut self.sessions {
            let Session {
                socket,
                record,
                to_upstream,
                to_client,
                ..
            } = session;
            for way in [Way::ToUpstream, Way::ToClient] {
                let queue = match way {
                    Way::ToUpstream => &mut *to_upstream,
                    Way::ToClient => &mut *to_client,
                };
                let mut burst = 0;
                while let Some(front) = queue.queue.front_mut() {
                    if burst == BURST {
                        let later = now + SEND_RETRY;
                        next = Some(next.map_or(later, |n| n.min(later)));
                        break;
                    }
                    burst += 1;
                    let due = match (unhindered, front.due) {
                        (true, _) => now,
                        (false, Some(due)) => due,
                        // Held for good (until every client is done).
                        (false, None) => break,
                    };
                    if due > now {
                        next = Some(next.map_or(due, |n| n.min(due)));
                        break;
                    }
                    let sent = match way {
                        Way::ToUpstream => send_copies(front, |b| socket.send(b)),
                        Way::ToClient => send_copies(front, |b| self.listener.send_to(b, *client)),
                    };
                    match sent {
                        Sent::All => {}
                        Sent::NotYet => {
                            let retry = now + SEND_RETRY;
                            next = Some(next.map_or(retry, |n| n.min(retry)));
                            break;
                        }
                        // Toward the upstream, a refusal shows on the way back (its ICMP
                        // error); toward a client, what it no longer takes is gone.
                        Sent::Failed(e) => {
                            if way == Way::ToUpstream
                                && e.kind() != io::ErrorKind::ConnectionRefused
                            {
                                record.action(&self.context, ServerAction::Failed(io_reason(&e)));
                            }
                        }
                    }
                    if let Some(done) = queue.queue.pop_front() {
                        self.queued_bytes = self.queued_bytes.saturating_sub(done.bytes.len());
                    }
                    self.context.progressed();
                }
            }
        }
        next
    }

    /// Opens the session of client `from`: notes the accept, finds the upstream, binds a socket
    /// of its own and notes it (`UpstreamConnecting`, so that the upstream's first datagram
    /// from it is known as this client's leg). False: refused (said why).
    fn open(&mut self, from: SocketAddr) -> bool {
        if self.sessions.len() >= MAX_SESSIONS {
            self.forget_the_oldest();
        }
        let id = ConnectionId {
            server: self.index,
            seq: self.entrance.next_seq(),
        };
        let mut record = Relays::new(id);
        let peer = socket::canonical(from);
        let via: Option<InstanceId> = self.entrance.owner;
        record.action(&self.context, ServerAction::Accepted { peer, via });
        // The proxies this client's datagrams came through, this one last.
        let mut chain = chain_of(peer);
        if let Some(own) = self.own {
            if chain.contains(&own) {
                let reason =
                    "the proxies relay in a circle: these datagrams came back to this proxy";
                record.action(&self.context, ServerAction::Failed(reason.into()));
                return false;
            }
            chain.push(own);
        }
        let remote = match self.upstream_address() {
            Ok(remote) => remote,
            Err(reason) => {
                record.action(&self.context, ServerAction::UpstreamFailed(reason));
                return false;
            }
        };
        let socket = match session_socket(remote) {
            Ok(socket) => socket,
            Err(e) => {
                record.action(&self.context, ServerAction::UpstreamFailed(io_reason(&e)));
                return false;
            }
        };
        let local = match socket.local_addr() {
            Ok(local) => socket::canonical(local),
            Err(e) => {
                record.action(&self.context, ServerAction::UpstreamFailed(io_reason(&e)));
                return false;
            }
        };
        let chain = note_chain(local, chain);
        let connecting = ServerAction::UpstreamConnecting {
            local,
            remote: socket::canonical(remote),
        };
        record.action(&self.context, connecting);
        let session = Session {
            socket,
            record,
            to_upstream: WayQueue::new(self.faults.0),
            to_client: WayQueue::new(self.faults.1),
            last_heard: self.heard,
            refused: false,
            lost: [0, 0],
            _chain: chain,
        };
        self.sessions.insert(from, session);
        true
    }

    /// Forgets the session heard from least recently (what waits on its ways is dropped).
    fn forget_the_oldest(&mut self) {
        let oldest = self
            .sessions
            .iter()
            .min_by_key(|(_, session)| session.last_heard)
            .map(|(addr, _)| *addr);
        if let Some(mut session) = oldest.and_then(|addr| self.sessions.remove(&addr)) {
            for (at, way) in [&session.to_upstream, &session.to_client]
                .iter()
                .enumerate()
            {
                let waiting: usize = way.queue.iter().map(|pending| pending.bytes.len()).sum();
                self.queued_bytes = self.queued_bytes.saturating_sub(waiting);
                session.lost[at] += way.queue.len() as u64;
            }
            session.say_what_was_lost(&self.context);
            session.record.flush(&self.context);
        }
    }

    /// The upstream's address: as given, or resolved once for the proxy's life (within
    /// `CONNECT_TIMEOUT` and the scenario's time; the stop signal ends the wait).
    fn upstream_address(&mut self) -> Result<SocketAddr, String> {
        if let Some(addr) = self.upstream_addr {
            return Ok(addr);
        }
        let addr = match &self.upstream {
            Dial::Addr(addr) => *addr,
            Dial::Name(name) => {
                let timeout = self.context.bounded(CONNECT_TIMEOUT);
                match resolve(name, timeout, &self.context.cancel) {
                    Resolved::Addresses(addrs) => addrs
                        .first()
                        .copied()
                        .ok_or_else(|| format!("no address for `{name}`"))?,
                    Resolved::Failed(reason) => return Err(reason),
                    Resolved::TimedOut => {
                        return Err(format!("no answer from the resolver for `{name}`"));
                    }
                    Resolved::Stopped => return Err("the run stopped".into()),
                }
            }
        };
        self.upstream_addr = Some(addr);
        Ok(addr)
    }
}

/// A socket for a session: bound on the upstream's side (the loopback address for a loopback
/// upstream), connected to it, not blocking.
fn session_socket(remote: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(remote.ip(), 0)).or_else(|_| {
        let any = match remote {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        UdpSocket::bind(any)
    })?;
    socket.connect(remote)?;
    socket.set_nonblocking(true)?;
    socket::roomy(&socket2::SockRef::from(&socket));
    Ok(socket)
}

/// A `pollfd` waiting for `socket` to have something to read.
fn readable(socket: &UdpSocket) -> libc::pollfd {
    libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }
}

/// How sending a datagram's copies went.
enum Sent {
    All,
    /// The kernel takes no more for now: tried again shortly.
    NotYet,
    Failed(io::Error),
}

/// Sends the copies of `pending` not sent yet (a copy the kernel could not take waits, and
/// only it and those after it go when tried again).
fn send_copies(pending: &mut Pending, send: impl Fn(&[u8]) -> io::Result<usize>) -> Sent {
    while pending.copies > 0 {
        match send(&pending.bytes) {
            Ok(_) => pending.copies -= 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Sent::NotYet,
            Err(e) => return Sent::Failed(e),
        }
    }
    Sent::All
}

/// One client's session.
struct Session<'a> {
    /// Connected to the upstream.
    socket: UdpSocket,
    record: Relays,
    to_upstream: WayQueue<'a>,
    to_client: WayQueue<'a>,
    /// When its client was last heard from (a count of datagrams).
    last_heard: u64,
    /// The upstream's refusal was said.
    refused: bool,
    /// Datagrams lost because too many were waiting, not said yet: from the client, from the
    /// upstream.
    lost: [u64; 2],
    /// Its entry in the circle check, while it lives.
    _chain: ChainEntry,
}

impl<'a> Session<'a> {
    /// Records what was lost, if anything (when the session is forgotten, and at the end: one
    /// line, whatever the timing of the losses).
    fn say_what_was_lost(&mut self, context: &Context) {
        for (from, lost) in ["the client", "the upstream"].iter().zip(&mut self.lost) {
            let count = std::mem::take(lost);
            if count > 0 {
                let reason = format!(
                    "{count} datagram{} from {from} lost: more than {QUEUED_DATAGRAMS} datagrams or {} MiB were waiting to be relayed",
                    if count == 1 { "" } else { "s" },
                    QUEUED_BYTES >> 20
                );
                self.record.action(context, ServerAction::Failed(reason));
            }
        }
    }

    fn way_mut(&mut self, way: Way) -> &mut WayQueue<'a> {
        match way {
            Way::ToUpstream => &mut self.to_upstream,
            Way::ToClient => &mut self.to_client,
        }
    }

    /// Takes a datagram that came to be relayed `way`: through the way's faults (a stall it
    /// reaches, its latency, none, one or two copies), recorded now (a cause before its
    /// effects), and queued until it is due. Past what may wait, lost, and said so.
    fn take(
        &mut self,
        way: Way,
        datagram: &[u8],
        (queued_bytes, unhindered): (&mut usize, bool),
        context: &Context,
    ) {
        context.progressed();
        // Received from its side, relayed or not.
        self.way_mut(way).read_total += datagram.len() as u64;
        let full = self.way_mut(way).queue.len() >= QUEUED_DATAGRAMS
            || *queued_bytes + datagram.len() > QUEUED_BYTES;
        if full {
            // Said at the end (or when the session is forgotten): one line for a flood.
            self.lost[usize::from(way == Way::ToClient)] += 1;
            return;
        }
        let queue = self.way_mut(way);
        let now = Instant::now();
        let mut stalled = None;
        if let Some(stall) = queue.stall
            && queue.relayed + datagram.len() as u64 > stall.after
        {
            queue.stall = None;
            queue.held_until = Hold::Until(
                stall
                    .duration
                    .map(|d| plan::deadline_after(now, context.scale.pause(d))),
            );
            stalled = Some(stall);
        }
        let faults = queue.injector.datagram_faults(datagram);
        let latency = latency_of(&faults);
        let copies = copies(&faults);
        queue.relayed += datagram.len() as u64 * copies;
        // Due once its latency passed, the one before it went, and a stall it waits behind
        // ended; `None`: held for good.
        let own = latency.map_or(now, |l| plan::deadline_after(now, context.scale.pause(l)));
        let due = match (unhindered, queue.held_until) {
            (true, _) => Some(now),
            (false, Hold::Until(None)) => None,
            (false, Hold::Until(Some(until))) => Some(own.max(until)),
            (false, Hold::No) => Some(own),
        }
        .map(|due| queue.last_due.map_or(due, |last| due.max(last)));
        if let Some(due) = due {
            queue.last_due = Some(due);
        }
        let read_total = queue.read_total;
        if let Some(stall) = stalled {
            let fault = AppliedFault::Stalled {
                after: stall.after,
                duration: stall.duration,
            };
            let action = ServerAction::ProxyFault { way, fault };
            self.record.action(context, action);
        }
        self.record
            .relayed(context, way, datagram, (read_total, copies), faults);
        if copies > 0 {
            *queued_bytes += datagram.len();
            self.way_mut(way).queue.push_back(Pending {
                due,
                bytes: datagram.to_vec(),
                copies,
            });
        }
    }
}

/// Whether a way is held by a stall.
#[derive(Clone, Copy)]
enum Hold {
    No,
    /// Until then (`None`: for good).
    Until(Option<Instant>),
}

/// One way of a session: its faults and what waits on it.
struct WayQueue<'a> {
    injector: Injector<'a>,
    stall: Option<Stall>,
    held_until: Hold,
    /// Bytes received from the way's side so far.
    read_total: u64,
    /// Bytes relayed (or to be) so far (what `stall.after` counts).
    relayed: u64,
    /// When the last datagram queued is due (none goes before it).
    last_due: Option<Instant>,
    queue: VecDeque<Pending>,
}

impl<'a> WayQueue<'a> {
    fn new(faults: &'a Faults) -> WayQueue<'a> {
        WayQueue {
            injector: Injector::new(faults),
            stall: faults.stall,
            held_until: Hold::No,
            read_total: 0,
            relayed: 0,
            last_due: None,
            queue: VecDeque::new(),
        }
    }
}

/// A datagram waiting to be relayed.
struct Pending {
    /// When it is due (`None`: held for good, until every client is done).
    due: Option<Instant>,
    bytes: Vec<u8>,
    copies: u64,
}

/// What a session records: each datagram as it comes, whole up to `RECORD_BUDGET` bytes and
/// `PROXY_RECORDED_RUNS` datagrams a session; past them, only counted, recorded before the next
/// action or at the end (a load loop through the proxy is not millions of events).
struct Relays {
    id: ConnectionId,
    /// Datagrams recorded so far.
    recorded: u64,
    /// Bytes kept so far.
    kept: u64,
    /// Past the budget: datagrams from the client, bytes toward the upstream, toward the client.
    counted: Option<(u64, u64, u64)>,
    /// Bytes relayed toward the client so far (`ServerEvent::sent_total`).
    sent_total: u64,
}

impl Relays {
    fn new(id: ConnectionId) -> Relays {
        Relays {
            id,
            recorded: 0,
            kept: 0,
            counted: None,
            sent_total: 0,
        }
    }

    fn relayed(
        &mut self,
        context: &Context,
        way: Way,
        datagram: &[u8],
        (read_total, copies): (u64, u64),
        faults: Vec<AppliedFault>,
    ) {
        let len = datagram.len() as u64;
        if way == Way::ToClient {
            self.sent_total += len * copies;
        }
        if self.recorded >= PROXY_RECORDED_RUNS || self.kept >= RECORD_BUDGET {
            let (messages, up, down) = self.counted.get_or_insert((0, 0, 0));
            match way {
                Way::ToUpstream => {
                    *messages += 1;
                    *up += len * copies;
                }
                Way::ToClient => *down += len * copies,
            }
            return;
        }
        self.recorded += 1;
        let room = usize::try_from(RECORD_BUDGET - self.kept).unwrap_or(usize::MAX);
        let take = datagram.len().min(room);
        self.kept += take as u64;
        let action = ServerAction::Relayed {
            way,
            datagram: datagram[..take].to_vec(),
            unrecorded: len - take as u64,
            read_total,
            faults,
        };
        self.emit(context, action);
    }

    fn action(&mut self, context: &Context, action: ServerAction) {
        self.flush(context);
        self.emit(context, action);
    }

    /// Records what was counted past the budget (before an action, which must follow it, and
    /// at the end).
    fn flush(&mut self, context: &Context) {
        if let Some((messages, received, sent)) = self.counted.take() {
            let action = ServerAction::Unrecorded {
                messages,
                received,
                sent,
            };
            self.emit(context, action);
        }
    }

    fn emit(&self, context: &Context, action: ServerAction) {
        context.served(self.id, action, self.sent_total, false);
    }
}
