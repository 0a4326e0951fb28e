//! Fault injection on netlab servers (toxiproxy-style): extra latency with seeded jitter, replies
//! written in slices or throttled, connections cut after N bytes or reset, UDP replies dropped or
//! duplicated. Randomness is drawn from the scenario's seed, the message and its place on the
//! connection, so a run repeats exactly and its transcript is stable.

use std::io;
use std::time::Duration;

use super::cancel::Cancel;
use super::context::{Context, Link, Waited};
use super::transport::Transport;
use crate::event::AppliedFault;
use crate::scenario::Faults;

/// The faults of one connection (or one UDP peer), with what they need to remember.
pub struct Injector<'a> {
    faults: &'a Faults,
    /// Messages answered so far (mixed into the randomness).
    messages: u64,
    /// Bytes written so far (for `close_after`).
    pub written: u64,
}

/// How a faulty write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Every byte went out.
    Whole,
    /// `close_after` cut the reply: the connection must close now.
    Cut,
    /// The client is closing for good (`Context::leave`): the rest was not written.
    Abandoned,
}

/// The most bytes written at a time without a fault: between two pieces, a server looks
/// whether its client left.
const PIECE: usize = 1 << 20;

impl<'a> Injector<'a> {
    /// The injector of a new connection.
    pub fn new(faults: &'a Faults) -> Self {
        Self {
            faults,
            messages: 0,
            written: 0,
        }
    }

    /// Whether any fault is set.
    pub fn active(&self) -> bool {
        !self.faults.is_none()
    }

    /// The randomness for the next reply: from the seed, the message, and its place.
    pub fn next_rng(&mut self, message: &[u8]) -> fastrand::Rng {
        self.messages += 1;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in message {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        fastrand::Rng::with_seed(
            self.faults.seed ^ hash ^ self.messages.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
    }

    /// The extra latency before a write (whole milliseconds, so that it reads well), if any.
    pub fn latency(&self, rng: &mut fastrand::Rng) -> Option<Duration> {
        let jitter_ms = u64::try_from(self.faults.jitter.as_millis()).unwrap_or(u64::MAX);
        let extra = if jitter_ms > 0 {
            rng.u64(0..=jitter_ms)
        } else {
            0
        };
        let total = self.faults.latency + Duration::from_millis(extra);
        (!total.is_zero()).then_some(total)
    }

    /// Whether a UDP reply is lost.
    fn drops(&self, rng: &mut fastrand::Rng) -> bool {
        self.faults.drop > 0.0 && rng.f64() < self.faults.drop
    }

    /// Whether a UDP reply is sent twice.
    fn duplicates(&self, rng: &mut fastrand::Rng) -> bool {
        self.faults.duplicate > 0.0 && rng.f64() < self.faults.duplicate
    }

    /// What the faults do to one datagram (a udp server's reply, one a udp proxy relays),
    /// drawn from the seed, the datagram and its place: its latency, then lost or sent twice.
    /// Nothing when no fault is set.
    pub fn datagram_faults(&mut self, datagram: &[u8]) -> Vec<AppliedFault> {
        let mut faults = Vec::new();
        if !self.active() {
            return faults;
        }
        let mut rng = self.next_rng(datagram);
        if let Some(latency) = self.latency(&mut rng) {
            faults.push(AppliedFault::Latency(latency));
        }
        if self.drops(&mut rng) {
            faults.push(AppliedFault::Dropped);
        } else if self.duplicates(&mut rng) {
            faults.push(AppliedFault::Duplicated);
        }
        faults
    }

    /// What the write faults will do to a reply of `len` bytes (for the transcript).
    pub fn write_faults(&self, len: usize) -> Vec<AppliedFault> {
        let mut applied = Vec::new();
        if let Some(slice) = self.faults.slice
            && len > slice
        {
            applied.push(AppliedFault::Slice {
                bytes: slice,
                pause: self.faults.slice_pause,
            });
        }
        if let Some(rate) = self.faults.bandwidth {
            applied.push(AppliedFault::Bandwidth(rate));
        }
        if let Some(limit) = self.faults.close_after
            && self.cuts(len)
        {
            applied.push(AppliedFault::CloseAfter(limit));
        }
        applied
    }

    /// Whether a write of `len` bytes reaches `close_after`: the connection is cut after it.
    pub fn cuts(&self, len: usize) -> bool {
        self.faults
            .close_after
            .is_some_and(|limit| self.written.saturating_add(len as u64) >= limit)
    }

    /// How many bytes of a write of `len` go out before `close_after` cuts the connection.
    pub fn room(&self, len: usize) -> usize {
        match self.faults.close_after {
            Some(limit) => usize::try_from(limit.saturating_sub(self.written))
                .unwrap_or(usize::MAX)
                .min(len),
            None => len,
        }
    }

    /// Writes `bytes` through the write faults (slice, bandwidth, close_after).
    pub fn write(
        &mut self,
        stream: &mut Transport,
        bytes: &[u8],
        peer: Option<Link>,
        context: &Context,
    ) -> io::Result<Written> {
        let (cancel, scale) = (&context.cancel, context.scale);
        let (bytes, cut) = match self.cuts(bytes.len()) {
            true => (&bytes[..self.room(bytes.len())], true),
            false => (bytes, false),
        };
        let pacing = crate::plan::pacing(
            self.faults
                .slice
                .map(|bytes| (bytes, self.faults.slice_pause)),
            self.faults.bandwidth,
        );
        let (piece, pause) = pacing.unwrap_or((bytes.len().clamp(1, PIECE), Duration::ZERO));
        for (i, chunk) in bytes.chunks(piece).enumerate() {
            if i > 0 && peer.is_some_and(|peer| context.has_left(peer)) {
                return Ok(Written::Abandoned);
            }
            if i > 0 {
                match context.wait_for(scale.pause(pause), peer) {
                    Waited::Elapsed => {}
                    Waited::Left => return Ok(Written::Abandoned),
                    Waited::Stopped => return Err(io::Error::other("stopped while writing")),
                }
            }
            stream.write_all(chunk, cancel)?;
            self.written += chunk.len() as u64;
            context.progressed();
        }
        Ok(if cut { Written::Cut } else { Written::Whole })
    }

    /// Closes the connection: with a reset (SO_LINGER 0) under the `reset` fault (no TLS
    /// `close_notify` then: a reset says nothing).
    pub fn close(&self, stream: &mut Transport, cancel: &Cancel) {
        if self.faults.reset {
            let _ = socket2::SockRef::from(stream.tcp()).set_linger(Some(Duration::ZERO));
        } else {
            let _ = stream.shutdown_write(cancel);
        }
    }

    /// Whether closes are resets.
    pub fn resets(&self) -> bool {
        self.faults.reset
    }
}
