//! A server's ways in. Each server of netlab's has its own address, and one more for each
//! instance of a client that is a program under test: that program is told the address of its
//! own, so every connection (or UDP sender) that comes through it is known to be that program's,
//! whatever order the kernel accepts them in. A program that ignores the address it is given
//! (a port written in its code) comes in by the main one, as any peer from outside would.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event::InstanceId;

/// What the ways into one server share.
#[derive(Default)]
pub struct Shared {
    /// Connections (or UDP senders) numbered so far, through any way in.
    numbered: AtomicU64,
    /// Held while a sequential server serves a connection: one at a time, whichever way it came.
    serving: Mutex<()>,
}

/// One way into a server.
#[derive(Clone)]
pub struct Entrance {
    /// The program instance it was made for; `None` for the server's own address.
    pub owner: Option<InstanceId>,
    /// Shared with the server's other ways in.
    pub shared: Arc<Shared>,
}

impl Entrance {
    /// The number of the next connection (or sender), from 1, unique within the server.
    pub fn next_seq(&self) -> u64 {
        self.shared.numbered.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// For a sequential server: the turn to serve one connection.
    pub fn one_at_a_time(&self) -> MutexGuard<'_, ()> {
        // A connection thread that panicked poisons nothing this guards (it holds no data).
        self.shared
            .serving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
