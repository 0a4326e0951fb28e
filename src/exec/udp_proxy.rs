//! UDP proxies (`protocol: udp`, `proxy: { to: … }`): each sender heard on the proxy's socket
//! gets a session, a socket of its own connected to the upstream (so the upstream sees one peer
//! per client, and its replies come back to the right one), as a NAT or `socat UDP-LISTEN,fork`
//! does. Each datagram is relayed whole, each way through its own faults (latency and jitter,
//! drop, duplicate, stall). A session has two jobs: one relays what its client sent (handed over
//! by the proxy's thread, which only reads and dispatches, so that a session's latency or stall
//! never holds another's datagrams), one what the upstream sends back. Every wait wakes for the
//! stop signal within a tick; sessions are bounded (`MAX_SESSIONS`), the oldest forgotten first.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::client::Dial;
use super::context::Context;
use super::entrance::Entrance;
use super::faults::Injector;
use super::proxy::{CONNECT_TIMEOUT, Wait, chain_of, note_chain, wait_to_forward};
use super::resolve::{Resolved, resolve};
use super::socket::{self, DatagramResult, MAX_DATAGRAM, TICK, TimedSocket};
use crate::diagnostic::io_reason;
use crate::event::{
    AppliedFault, ConnectionId, EventKind, Origin, PROXY_RECORDED_RUNS, RECORD_BUDGET,
    ServerAction, ServerEvent, Way, copies,
};
use crate::scenario::{Faults, Server, Stall};

/// Most senders a UDP proxy keeps a session for (two jobs and a socket each): past it, the one
/// heard from least recently is forgotten. No scenario's own clients come near it.
const MAX_SESSIONS: usize = 512;

/// Datagrams from a client waiting for its session to relay them (a stalled or slow way): past
/// it, what comes is lost, as a full socket buffer would lose it, and said so.
const INBOX: usize = 1024;

/// What the proxy's thread keeps of one session.
struct Session {
    inbox: Sender<Vec<u8>>,
    /// Set when the session is forgotten: its jobs stop within a tick.
    over: Arc<AtomicBool>,
    /// When its client was last heard from (a count of datagrams).
    last_heard: u64,
    record: Arc<Mutex<Relays>>,
    /// Datagrams lost because the inbox was full, not said yet.
    overflowed: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.over.store(true, Ordering::Release);
    }
}

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
    let replies = match socket.try_clone() {
        Ok(replies) => Arc::new(replies),
        Err(e) => {
            context.server_failed(index, &e);
            return;
        }
    };
    let own = socket.local_addr().ok().map(socket::canonical);
    let listener = TimedSocket::new(socket);
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    // Senders refused (a circle, an upstream out of reach): their datagrams are dropped unsaid.
    let mut refused: HashSet<SocketAddr> = HashSet::new();
    let mut upstream_addr: Option<SocketAddr> = None;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut heard: u64 = 0;
    loop {
        let (length, from) = match socket::recv_datagram(&listener, &mut buf, None, &context.cancel)
        {
            DatagramResult::Datagram(length, from) => (length, from),
            DatagramResult::Stopped => break,
            DatagramResult::Timeout => continue,
            DatagramResult::Failed(e) => {
                if !context.server_failed(index, &e) {
                    break;
                }
                continue;
            }
        };
        heard += 1;
        context.progressed();
        if refused.contains(&from) {
            continue;
        }
        if !sessions.contains_key(&from) {
            if sessions.len() >= MAX_SESSIONS {
                forget_the_oldest(&mut sessions, &context);
            }
            if refused.len() >= MAX_SESSIONS {
                refused.clear();
            }
            let id = ConnectionId {
                server: index,
                seq: entrance.next_seq(),
            };
            let opened = open(
                (id, from),
                (proxy.to_upstream.clone(), proxy.to_client.clone()),
                (&upstream, &mut upstream_addr),
                (own, &replies, entrance.owner),
                &context,
            );
            match opened {
                Some(session) => {
                    sessions.insert(from, session);
                }
                None => {
                    refused.insert(from);
                    continue;
                }
            }
        }
        let Some(session) = sessions.get_mut(&from) else {
            continue;
        };
        session.last_heard = heard;
        match session.inbox.try_send(buf[..length].to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => session.overflowed += 1,
            Err(TrySendError::Disconnected(_)) => {}
        }
        if !session.inbox.is_full() {
            session.say_what_was_lost(&context);
        }
    }
    for session in sessions.values_mut() {
        session.say_what_was_lost(&context);
        finish(&session.record, &context);
    }
}

impl Session {
    /// Notes the datagrams from the client lost because too many were waiting, if any.
    fn say_what_was_lost(&mut self, context: &Context) {
        let lost = std::mem::take(&mut self.overflowed);
        if lost > 0 {
            let reason = format!(
                "{lost} datagram{} from the client lost: more than {INBOX} were waiting to be relayed",
                if lost == 1 { "" } else { "s" }
            );
            note(&self.record, context, ServerAction::Failed(reason));
        }
    }
}

/// Forgets the session heard from least recently (its jobs stop within a tick).
fn forget_the_oldest(sessions: &mut HashMap<SocketAddr, Session>, context: &Context) {
    let oldest = sessions
        .iter()
        .min_by_key(|(_, session)| session.last_heard)
        .map(|(addr, _)| *addr);
    if let Some(mut session) = oldest.and_then(|addr| sessions.remove(&addr)) {
        session.say_what_was_lost(context);
        finish(&session.record, context);
    }
}

/// Opens the session of client `from`: notes the accept, finds the upstream, binds a socket of
/// its own and notes it (`UpstreamConnecting`, so the upstream's first datagram from it is
/// known as this client's leg), and starts its two jobs. `None`: refused (said why).
fn open(
    (id, from): (ConnectionId, SocketAddr),
    (to_upstream, to_client): (Faults, Faults),
    (upstream, resolved): (&Dial, &mut Option<SocketAddr>),
    (own, replies, via): (
        Option<SocketAddr>,
        &Arc<UdpSocket>,
        Option<crate::event::InstanceId>,
    ),
    context: &Context,
) -> Option<Session> {
    let record = Arc::new(Mutex::new(Relays::new(id)));
    let peer = socket::canonical(from);
    note(&record, context, ServerAction::Accepted { peer, via });
    // The proxies this client's datagrams came through, this one last.
    let mut chain = chain_of(peer);
    if let Some(own) = own {
        if chain.contains(&own) {
            let reason = "the proxies relay in a circle: these datagrams came back to this proxy";
            note(&record, context, ServerAction::Failed(reason.into()));
            return None;
        }
        chain.push(own);
    }
    let remote = match upstream_address(upstream, resolved, context) {
        Ok(remote) => remote,
        Err(reason) => {
            note(&record, context, ServerAction::UpstreamFailed(reason));
            return None;
        }
    };
    let bound = UdpSocket::bind(SocketAddr::new(remote.ip(), 0)).or_else(|_| {
        let any = match remote {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        UdpSocket::bind(any)
    });
    let session_socket = match bound.and_then(|s| s.connect(remote).map(|()| s)) {
        Ok(s) => s,
        Err(e) => {
            note(
                &record,
                context,
                ServerAction::UpstreamFailed(io_reason(&e)),
            );
            return None;
        }
    };
    let local = match session_socket.local_addr() {
        Ok(local) => socket::canonical(local),
        Err(e) => {
            note(
                &record,
                context,
                ServerAction::UpstreamFailed(io_reason(&e)),
            );
            return None;
        }
    };
    let entry = note_chain(local, chain);
    let connecting = ServerAction::UpstreamConnecting {
        local,
        remote: socket::canonical(remote),
    };
    note(&record, context, connecting);
    let (Ok(sending), Ok(receiving)) = (session_socket.try_clone(), session_socket.try_clone())
    else {
        let reason = "cannot share the session's socket between its two ways";
        note(&record, context, ServerAction::Failed(reason.into()));
        return None;
    };
    let over = Arc::new(AtomicBool::new(false));
    let (inbox, taken) = bounded::<Vec<u8>>(INBOX);
    let forth = Relay::new(Way::ToUpstream, to_upstream, &record, &over, context);
    let back = Relay::new(Way::ToClient, to_client, &record, &over, context);
    let entry = Arc::new(entry);
    let kept = entry.clone();
    let spawned = context
        .jobs
        .spawn(move || {
            relay_to_upstream(forth, &taken, &sending);
            drop(kept);
        })
        .and_then(|()| {
            let replies = replies.clone();
            context.jobs.spawn(move || {
                relay_to_client(back, &receiving, (&replies, from));
                drop(entry);
            })
        });
    if spawned.is_err() {
        over.store(true, Ordering::Release);
        let reason = "cannot start a thread for the session";
        note(&record, context, ServerAction::Failed(reason.into()));
        return None;
    }
    Some(Session {
        inbox,
        over,
        last_heard: 0,
        record,
        overflowed: 0,
    })
}

/// The upstream's address: as given, or resolved once for the proxy's life (within
/// `CONNECT_TIMEOUT` and the scenario's time; the stop signal ends the wait).
fn upstream_address(
    upstream: &Dial,
    resolved: &mut Option<SocketAddr>,
    context: &Context,
) -> Result<SocketAddr, String> {
    if let Some(addr) = resolved {
        return Ok(*addr);
    }
    let addr = match upstream {
        Dial::Addr(addr) => *addr,
        Dial::Name(name) => {
            match resolve(name, context.bounded(CONNECT_TIMEOUT), &context.cancel) {
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
    *resolved = Some(addr);
    Ok(addr)
}

/// The client's datagrams, as the proxy's thread hands them over, relayed to the upstream.
fn relay_to_upstream(mut way: Relay, taken: &Receiver<Vec<u8>>, upstream: &UdpSocket) {
    let faults = way.faults.clone();
    let mut injector = Injector::new(&faults);
    loop {
        let datagram = match taken.recv_timeout(TICK) {
            Ok(datagram) => datagram,
            Err(RecvTimeoutError::Timeout) if !way.stopped() => {
                // Quiet: what was counted past the record's budget is recorded now (the run
                // waits for its clients' datagrams to be seen).
                finish(&way.record, &way.context);
                continue;
            }
            Err(_) => break,
        };
        if way.stopped() || !way.relay(&mut injector, &datagram, |bytes| upstream.send(bytes)) {
            break;
        }
    }
    finish(&way.record, &way.context);
}

/// What the upstream sends back, relayed to the client at `client` through the proxy's socket.
fn relay_to_client(
    mut way: Relay,
    upstream: &UdpSocket,
    (replies, client): (&UdpSocket, SocketAddr),
) {
    let Ok(upstream) = upstream.try_clone().map(TimedSocket::new) else {
        return;
    };
    let faults = way.faults.clone();
    let mut injector = Injector::new(&faults);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    // The upstream refused (an ICMP "port unreachable" for what was sent): said once.
    let mut refused = false;
    loop {
        let tick = Instant::now() + TICK;
        match socket::recv_datagram(&upstream, &mut buf, Some(tick), &way.context.cancel) {
            DatagramResult::Datagram(length, _) => {
                if way.stopped()
                    || !way.relay(&mut injector, &buf[..length], |bytes| {
                        replies.send_to(bytes, client)
                    })
                {
                    break;
                }
            }
            DatagramResult::Timeout if !way.stopped() => finish(&way.record, &way.context),
            DatagramResult::Timeout | DatagramResult::Stopped => break,
            DatagramResult::Failed(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                if !refused {
                    refused = true;
                    let reason = format!("the upstream refused a datagram: {}", io_reason(&e));
                    note(
                        &way.record,
                        &way.context,
                        ServerAction::UpstreamFailed(reason),
                    );
                }
            }
            DatagramResult::Failed(e) => {
                note(
                    &way.record,
                    &way.context,
                    ServerAction::Failed(io_reason(&e)),
                );
                break;
            }
        }
    }
    finish(&way.record, &way.context);
}

/// One way of a session, with its faults.
struct Relay {
    way: Way,
    faults: Faults,
    /// Bytes received from the way's side so far.
    read_total: u64,
    /// Bytes relayed so far (what `stall.after` counts).
    relayed: u64,
    stall: Option<Stall>,
    /// Every client is done: the way's faults hold nothing back any more.
    unhindered: bool,
    record: Arc<Mutex<Relays>>,
    over: Arc<AtomicBool>,
    context: Context,
}

impl Relay {
    fn new(
        way: Way,
        faults: Faults,
        record: &Arc<Mutex<Relays>>,
        over: &Arc<AtomicBool>,
        context: &Context,
    ) -> Relay {
        Relay {
            way,
            stall: faults.stall,
            faults,
            read_total: 0,
            relayed: 0,
            unhindered: false,
            record: record.clone(),
            over: over.clone(),
            context: context.clone(),
        }
    }

    /// Whether the session or the run is over.
    fn stopped(&self) -> bool {
        self.over.load(Ordering::Acquire) || self.context.cancel.is_set()
    }

    /// Waits `duration` (`None`: for good) unless every client is done: then this way relays
    /// unhindered from now on, so that the run ends with the clients' steps. False if the session
    /// or the run is over.
    fn hold(&mut self, duration: Option<std::time::Duration>) -> bool {
        if self.unhindered {
            return true;
        }
        match wait_to_forward(&self.context, &self.over, duration, None) {
            Wait::Elapsed => true,
            Wait::Released => {
                self.unhindered = true;
                true
            }
            Wait::Over => false,
        }
    }

    /// Relays one datagram through the way's faults with `send`: a stall it reaches first, then
    /// its latency, then none, one or two copies. Recorded before it goes (a cause before its
    /// effects). False if the session or the run is over.
    fn relay(
        &mut self,
        injector: &mut Injector<'_>,
        datagram: &[u8],
        send: impl Fn(&[u8]) -> io::Result<usize>,
    ) -> bool {
        self.context.progressed();
        self.read_total += datagram.len() as u64;
        if let Some(stall) = self.stall
            && self.relayed + datagram.len() as u64 > stall.after
        {
            self.stall = None;
            let fault = AppliedFault::Stalled {
                after: stall.after,
                duration: stall.duration,
            };
            let action = ServerAction::ProxyFault {
                way: self.way,
                fault,
            };
            note(&self.record, &self.context, action);
            if !self.hold(stall.duration) {
                return false;
            }
        }
        let mut faults = Vec::new();
        let mut latency = None;
        if injector.active() {
            let mut rng = injector.next_rng(datagram);
            latency = injector.latency(&mut rng);
            if let Some(latency) = latency {
                faults.push(AppliedFault::Latency(latency));
            }
            if injector.drops(&mut rng) {
                faults.push(AppliedFault::Dropped);
            } else if injector.duplicates(&mut rng) {
                faults.push(AppliedFault::Duplicated);
            }
        }
        let copies = copies(&faults);
        if let Ok(mut record) = self.record.lock() {
            record.relayed(
                &self.context,
                self.way,
                datagram,
                (self.read_total, copies),
                faults,
            );
        }
        if let Some(latency) = latency
            && !self.hold(Some(latency))
        {
            return false;
        }
        for _ in 0..copies {
            if let Err(e) = send(datagram) {
                // A refusal toward the upstream shows on the way back (its ICMP error).
                if e.kind() != io::ErrorKind::ConnectionRefused {
                    note(
                        &self.record,
                        &self.context,
                        ServerAction::Failed(io_reason(&e)),
                    );
                }
                break;
            }
        }
        self.relayed += datagram.len() as u64 * copies;
        true
    }
}

/// Notes `action` in a session's record.
fn note(record: &Mutex<Relays>, context: &Context, action: ServerAction) {
    if let Ok(mut record) = record.lock() {
        record.action(context, action);
    }
}

/// Records what a session counted and did not record yet.
fn finish(record: &Mutex<Relays>, context: &Context) {
    if let Ok(mut record) = record.lock() {
        record.flush_counted(context);
    }
}

/// What a session records: each datagram as it goes, whole up to `RECORD_BUDGET` bytes and
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
        self.flush_counted(context);
        self.emit(context, action);
    }

    fn flush_counted(&mut self, context: &Context) {
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
        context.emit(
            Origin::Connection(self.id),
            EventKind::Served(ServerEvent {
                action,
                sent_total: self.sent_total,
                closed: false,
            }),
        );
    }
}
