//! A byte stream's receive side for a client's steps: the bytes received and not consumed yet,
//! whether the peer closed, and the buffer each read goes through. An `expect` may span several
//! reads, and one read may feed the next step: the steps take bytes from here, never from the
//! socket directly.

use std::time::{Duration, Instant};

use super::super::cancel::Cancel;
use super::super::socket::ReadResult;
use crate::exec::transport::Transport;

/// Most bytes asked of each read.
const READ_SIZE: usize = 64 * 1024;

/// Bytes asked of the first read (most replies are small; bulk data grows the buffer).
const FIRST_READ_SIZE: usize = 4 * 1024;

/// After a mismatch, how long to keep reading so the failure shows the whole reply.
const MISMATCH_GRACE: Duration = Duration::from_millis(100);

/// Received bytes waiting for the steps.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    /// Received and not consumed yet.
    pub pending: Vec<u8>,
    /// The peer closed (or half-closed) its side: nothing more will come.
    pub eof: bool,
    /// What each read goes through (grows while reads fill it, up to `READ_SIZE`).
    scratch: Vec<u8>,
}

impl Inbox {
    /// Reads once more from `stream` into `pending`, until `deadline` at most.
    pub fn fill(
        &mut self,
        stream: &mut Transport,
        deadline: Instant,
        cancel: &Cancel,
    ) -> ReadResult {
        if self.scratch.is_empty() {
            self.scratch.resize(FIRST_READ_SIZE, 0);
        }
        let before = self.pending.len();
        let result = stream.read_some(&mut self.scratch, &mut self.pending, Some(deadline), cancel);
        if matches!(result, ReadResult::Eof) {
            self.eof = true;
        }
        let filled = self.pending.len() - before >= self.scratch.len();
        if filled && self.scratch.len() < READ_SIZE {
            self.scratch.resize(self.scratch.len() * 2, 0);
        }
        result
    }

    /// True once the unconsumed bytes exceed `cap` (the client's `max_received`).
    pub fn over(&self, cap: usize) -> bool {
        self.pending.len() > cap
    }

    /// Keeps reading briefly (until `want` bytes are pending, the peer closes, or `cap` is
    /// passed) so that a failure shows the whole of what the peer sent, not whatever the last
    /// read happened to hold.
    pub fn linger(&mut self, stream: &mut Transport, want: usize, cap: usize, cancel: &Cancel) {
        let until = Instant::now() + MISMATCH_GRACE;
        while self.pending.len() < want.max(1) && !self.eof && !self.over(cap) {
            if !matches!(self.fill(stream, until, cancel), ReadResult::Data) {
                break;
            }
        }
    }
}
