//! What every thread of a run carries: where to record events, the stop signal, the clock and
//! the time scale.
//!
//! Recording an event is a push on a lock-free queue and nothing more: the threads that move
//! data never wake the coordinator for it (a wake-up per message would cost a context switch on
//! every round trip). Only events that can end the run or the settling (`wakes_coordinator`)
//! wake it; the coordinator also drains the queue on a short tick for the live view.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering, fence};

use crossbeam::channel::{Receiver, Sender};
use crossbeam::queue::SegQueue;

use super::cancel::Cancel;
use super::pool::Jobs;
use crate::event::{Event, EventKind, Origin};
use crate::plan::TimeScale;

/// Where the events of a run go: a queue, and a doorbell for the ones that matter at once.
pub struct EventSink {
    queue: SegQueue<Event>,
    doorbell: Sender<()>,
    /// Every event rings the doorbell while this is set (the coordinator is settling the run).
    eager: AtomicBool,
}

impl EventSink {
    /// A new sink and the receiving side of its doorbell.
    pub fn new() -> (Arc<EventSink>, Receiver<()>) {
        let (doorbell, rings) = crossbeam::channel::bounded(1);
        let sink = EventSink {
            queue: SegQueue::new(),
            doorbell,
            eager: AtomicBool::new(false),
        };
        (Arc::new(sink), rings)
    }

    /// Records `event`; rings the doorbell if the coordinator needs it now.
    pub fn push(&self, event: Event) {
        let urgent = wakes_coordinator(&event.kind);
        self.queue.push(event);
        // Push, then look at `eager` (`make_eager` does the opposite): either this sees it set,
        // or the coordinator's drain after setting it sees the event. Never neither.
        fence(Ordering::SeqCst);
        if urgent || self.eager.load(Ordering::Relaxed) {
            // Full means a ring is already pending, which is as good.
            let _ = self.doorbell.try_send(());
        }
    }

    /// From now on, every event rings the doorbell.
    pub fn make_eager(&self) {
        self.eager.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Whether the coordinator is settling the run: every client is done.
    pub fn settling(&self) -> bool {
        self.eager.load(Ordering::Relaxed)
    }

    /// Takes the next recorded event, if any.
    pub fn pop(&self) -> Option<Event> {
        self.queue.pop()
    }
}

/// Events the coordinator must see at once: the end of a client instance (the end of the run
/// is decided on them). Once it settles the run (`make_eager`), it wants every event at once.
fn wakes_coordinator(kind: &EventKind) -> bool {
    matches!(kind, EventKind::InstanceDone { .. })
}

/// A connection by its two ends: the client's address, the server's (canonical, see
/// `socket::canonical`).
pub type Link = (std::net::SocketAddr, std::net::SocketAddr);

/// How often a server waiting before a write looks whether its client left.
const LEAVE_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// How a server's wait before a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The whole time passed.
    Elapsed,
    /// The run is stopping.
    Stopped,
    /// The client is closing for good: nothing more is written to it.
    Left,
}

/// What every thread of a run needs to report and to stop.
#[derive(Clone)]
pub struct Context {
    /// Where events go.
    pub events: Arc<EventSink>,
    /// The stop signal.
    pub cancel: Cancel,
    /// When the run started.
    pub started: std::time::Instant,
    /// The time scale.
    pub scale: TimeScale,
    /// When the scenario's `timeout` ends the run (`None` when serving until interrupted).
    pub deadline: Option<std::time::Instant>,
    /// The run's threads: a job started here is waited for before the run returns (and so is
    /// every holder of a clone of this context).
    pub jobs: Jobs,
    /// Counts what the servers do (a read, a datagram, a piece of a reply written), recorded or
    /// not: while it moves, the servers are still at work (see `settle`).
    pub activity: Arc<std::sync::atomic::AtomicU64>,
    /// The connections (client address, server address) whose client is closing for good, for
    /// as long as it reads until the server closes: a netlab server writing to one stops (see
    /// `StreamLink::close`).
    pub leaving: Arc<std::sync::Mutex<std::collections::HashSet<Link>>>,
    /// How many messages each rule of each server matched in the run, from any sender, by
    /// server then rule (for `lose_scope: server`).
    pub rule_counts: Arc<Vec<Vec<std::sync::atomic::AtomicU32>>>,
    /// The run's TLS: each server's and client's configuration, the files programs are given.
    pub tls: Arc<super::tls::RunTls>,
}

impl Context {
    /// `wanted`, cut to what is left before the scenario's deadline (at least a millisecond).
    pub fn bounded(&self, wanted: std::time::Duration) -> std::time::Duration {
        match self.deadline {
            Some(deadline) => wanted
                .min(deadline.saturating_duration_since(std::time::Instant::now()))
                .max(std::time::Duration::from_millis(1)),
            None => wanted,
        }
    }

    /// Records that server `server` could not accept or receive (out of descriptors, an ICMP
    /// error…) and backs off a tick instead of spinning; false if the run stops meanwhile.
    pub fn server_failed(&self, server: usize, error: &std::io::Error) -> bool {
        self.emit(
            Origin::Server(server),
            EventKind::AcceptFailed {
                reason: crate::diagnostic::io_reason(error),
            },
        );
        self.cancel.sleep(super::socket::TICK)
    }

    /// Takes note that the client of `link` is closing for good (`true`: it reads until the
    /// server closes, and the server stops writing to it), or is done (`false`).
    pub fn leaving(&self, link: Link, leaving: bool) {
        if let Ok(mut set) = self.leaving.lock() {
            if leaving {
                set.insert(link);
            } else {
                set.remove(&link);
            }
        }
    }

    /// Whether the client of `link` is closing for good.
    pub fn has_left(&self, link: Link) -> bool {
        self.leaving.lock().is_ok_and(|set| set.contains(&link))
    }

    /// Waits `duration` for a server writing to the client at `peer`: cut short by the stop
    /// signal, or when that client is closing for good (`leave`), looked at every
    /// `LEAVE_TICK`.
    pub fn wait_for(&self, duration: std::time::Duration, peer: Option<Link>) -> Waited {
        let Some(peer) = peer else {
            return match self.cancel.sleep(duration) {
                true => Waited::Elapsed,
                false => Waited::Stopped,
            };
        };
        let until = std::time::Instant::now() + duration;
        loop {
            if self.has_left(peer) {
                return Waited::Left;
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Waited::Elapsed;
            }
            if !self.cancel.sleep(left.min(LEAVE_TICK)) {
                return Waited::Stopped;
            }
        }
    }

    /// Takes note that a server did something (one relaxed increment: the data path's cost).
    pub fn progressed(&self) {
        self.activity
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Records what connection `id`'s server did (`sent_total`: bytes sent to its client so far;
    /// `closed`: its client's side is closed).
    pub fn served(
        &self,
        id: crate::event::ConnectionId,
        action: crate::event::ServerAction,
        sent_total: u64,
        closed: bool,
    ) {
        self.emit(
            Origin::Connection(id),
            EventKind::Served(crate::event::ServerEvent {
                action,
                sent_total,
                closed,
            }),
        );
    }

    /// Records an event stamped with the elapsed time.
    pub fn emit(&self, origin: Origin, kind: EventKind) {
        self.events.push(Event {
            elapsed: self.started.elapsed(),
            origin,
            kind,
        });
    }
}
