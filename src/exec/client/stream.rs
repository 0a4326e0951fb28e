//! The steps of a client on a byte stream (TCP, with or without TLS: a `Transport`), with the
//! bytes received kept in an `Inbox`. A send reports before writing; a reading step takes what
//! it matched from the inbox and leaves the rest for the next step. The TLS steps are in
//! `tls_steps.rs`.

use std::io;
use std::time::{Duration, Instant};

use super::super::cancel::Cancel;
use super::super::context::{Context, Link};
use super::super::socket::{self, ReadResult};
use super::super::tls::failure_in;
use super::super::transport::Transport;
use super::UNFILLED;
use super::inbox::Inbox;
use super::report::{Proceed, Reporter};
use crate::diagnostic::io_reason;
use crate::event::{FailureKind, StepOutcome};
use crate::framing::Scan;
use crate::matcher::{Matcher, Progress};
use crate::plan::deadline_after;
use crate::scenario::{Payload, Step};

/// An `expect: { bytes: N }` longer than this counts the bytes instead of keeping them.
const COUNT_ABOVE: usize = 64 * 1024;

/// How long a client's close waits for a peer that is not netlab's to finish what it was sending
/// (see `StreamLink::close`).
const CLOSE_LINGER: Duration = Duration::from_millis(200);

/// How a client's close waits for its peer (see `StreamLink::close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// Until the peer closes too, within the scenario's deadline: a netlab server always does,
    /// once it has answered what came before the client's close (its side is recorded: it must
    /// not depend on when the client left).
    UntilThePeerCloses,
    /// `CLOSE_LINGER` at most: a peer that is not netlab's may never close.
    Briefly,
}

/// Below this many pending bytes, a matcher that searches all of them looks on every read.
const SEARCHED_FREELY: usize = 64 * 1024;

/// How long the peer sends nothing before such a matcher looks at what came, however little.
const PEER_PAUSE: Duration = Duration::from_millis(2);

/// About how many bytes of a streamed payload are written at a time.
const STREAM_BUFFER: usize = 64 * 1024;

/// A client's connection over a byte stream, and what it received.
pub(in crate::exec) struct StreamLink {
    /// The stream (its TLS steps are in `tls_steps.rs`).
    pub(super) stream: Transport,
    /// What came and was not taken yet.
    pub(super) inbox: Inbox,
}

/// Writes a payload: its bytes, or a repeated unit streamed a buffer at a time.
fn write_payload(stream: &mut Transport, payload: &Payload, cancel: &Cancel) -> io::Result<()> {
    match payload {
        Payload::Bytes(bytes) => stream.write_all(bytes, cancel),
        // `Instance::step` fills it first.
        Payload::Captured(_) => Err(io::Error::other(UNFILLED)),
        Payload::Repeat { unit, times } => {
            // A buffer of whole units, about 64 KiB, written over and over.
            let per_buffer = (STREAM_BUFFER / unit.len()).max(1) as u64;
            let buffer = unit.repeat(usize::try_from(per_buffer.min(*times)).unwrap_or(1));
            let mut left = *times;
            while left > 0 {
                let units = left.min(per_buffer);
                let bytes = &buffer[..unit.len() * units as usize];
                stream.write_all(bytes, cancel)?;
                left -= units;
            }
            Ok(())
        }
    }
}

impl StreamLink {
    /// A link over `stream`, nothing received yet.
    pub fn new(stream: Transport) -> StreamLink {
        StreamLink {
            stream,
            inbox: Inbox::default(),
        }
    }

    /// Closes the connection without refusing what the peer is still sending: the sending side
    /// first (the peer reads the end of the stream), then what comes is read and dropped until
    /// the peer closes too (as `closing` says how long). A plain close with bytes unread would
    /// make the kernel answer them with a reset, and whether the peer's write or read then
    /// failed would depend on timing: the same scenario would record "saw the client close" or
    /// "connection reset" from one run to the next.
    pub fn close(mut self, closing: Closing, context: &Context) {
        let cancel = &context.cancel;
        if self.inbox.eof {
            // The peer closed first: this side closes too (over TLS, a `close_notify` back,
            // which a peer that closed properly waits for).
            let _ = self.stream.shutdown_write(cancel);
            return;
        }
        let _ = self.stream.shutdown_write(cancel);
        let until = match (closing, context.deadline) {
            (Closing::UntilThePeerCloses, Some(deadline)) => deadline,
            _ => Instant::now() + CLOSE_LINGER,
        };
        // A netlab server still writing to this socket (a long reply, a slow one under a
        // fault) stops and closes, rather than keep the run going until its deadline.
        let link = (closing == Closing::UntilThePeerCloses)
            .then(|| link_of(self.stream.tcp()))
            .flatten();
        if let Some(link) = link {
            context.leaving(link, true);
        }
        // Through the inbox's own buffer: what comes now is read and dropped.
        loop {
            self.inbox.pending.clear();
            if !matches!(self.fill(until, cancel), ReadResult::Data) {
                break;
            }
        }
        if let Some(link) = link {
            context.leaving(link, false);
        }
    }

    /// Runs step `index` (one of the steps on a connection; the instance runs the others).
    pub fn step(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        step: &Step,
        timeout: Duration,
    ) -> Proceed {
        let at = Some(index);
        match step {
            Step::Send(payload) => {
                if !r.passes_unreported {
                    r.report(at, StepOutcome::Sending(payload.clone()));
                }
                match write_payload(&mut self.stream, payload, &r.context.cancel) {
                    Ok(()) => Ok(()),
                    Err(e) => r.fail(at, FailureKind::Io(io_reason(&e)), Vec::new()),
                }
            }
            // Counted without being kept, unless a value is captured from them.
            Step::Expect {
                matcher: Matcher::Bytes(count),
                capture,
                ..
            } if *count > COUNT_ABOVE && capture.is_empty() => {
                self.count_bytes(r, index, *count as u64, timeout)
            }
            Step::Expect { matcher, .. } => self.expect_bytes(r, index, matcher, timeout),
            Step::ExpectClose { .. } => self.expect_close(r, index, timeout),
            Step::ExpectReset { .. } => self.expect_reset(r, index, timeout),
            Step::ReadToClose { matcher, .. } => self.read_to_close(r, index, matcher, timeout),
            Step::ExpectNothing(quiet) => {
                let quiet = r.context.scale.pause(*quiet);
                self.expect_nothing(r, index, quiet)
            }
            Step::StartTls => self.start_tls(r, index),
            Step::ExpectTlsError { kind, .. } => self.expect_tls_error(r, index, *kind, timeout),
            Step::ShutdownWrite => match self.stream.shutdown_write(&r.context.cancel) {
                Ok(()) => {
                    r.report(at, StepOutcome::HalfClosed);
                    Ok(())
                }
                Err(e) => r.fail(at, FailureKind::Io(io_reason(&e)), Vec::new()),
            },
            // Not a step on a connection: `Instance::step` runs it.
            _ => Ok(()),
        }
    }

    /// Reads once more into the inbox, until `deadline` at most.
    pub(super) fn fill(&mut self, deadline: Instant, cancel: &Cancel) -> ReadResult {
        self.inbox.fill(&mut self.stream, deadline, cancel)
    }

    /// Keeps reading briefly so that a failure shows the whole reply (see `Inbox::linger`).
    fn linger(&mut self, r: &Reporter<'_>, want: usize) {
        let cap = r.client.max_received;
        self.inbox
            .linger(&mut self.stream, want, cap, &r.context.cancel);
    }

    /// Fails a reading step according to what the last read gave, with what is pending.
    pub(super) fn read_failure(
        &mut self,
        r: &Reporter<'_>,
        index: usize,
        result: ReadResult,
        timeout: Duration,
    ) -> Proceed {
        let kind = match result {
            ReadResult::Timeout => FailureKind::Timeout(timeout),
            ReadResult::Stopped => FailureKind::Stopped,
            ReadResult::Failed(e) => match failure_in(&e) {
                Some(tls) => FailureKind::Tls(tls.clone()),
                None => FailureKind::Io(io_reason(&e)),
            },
            ReadResult::Eof => FailureKind::PeerClosed,
            ReadResult::Data => FailureKind::UnexpectedData,
        };
        let received = std::mem::take(&mut self.inbox.pending);
        r.fail(Some(index), kind, received)
    }

    /// Fails a reading step that gathered more than `max_received`.
    fn too_much(&mut self, r: &Reporter<'_>, index: usize) -> Proceed {
        let received = std::mem::take(&mut self.inbox.pending);
        let cap = r.client.max_received;
        r.fail(Some(index), FailureKind::TooMuchData(cap), received)
    }

    /// `expect: { bytes: N }` for a large N: takes N bytes as they come, keeping none of them.
    fn count_bytes(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        count: u64,
        timeout: Duration,
    ) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        let mut left = count;
        loop {
            let take = left.min(self.inbox.pending.len() as u64);
            self.inbox.pending.drain(..take as usize);
            left -= take;
            r.consumed += take;
            if left == 0 {
                r.report(Some(index), StepOutcome::Counted(count));
                return Ok(());
            }
            if self.inbox.eof {
                return self.read_failure(r, index, ReadResult::Eof, timeout);
            }
            match self.fill(deadline, &r.context.cancel) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(r, index, other, timeout),
            }
        }
    }

    /// `expect`: the matcher decides on the bytes as if the whole stream had arrived (see
    /// `Matcher::progress`); at the deadline, what came is judged as it is.
    fn expect_bytes(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        matcher: &Matcher,
        timeout: Duration,
    ) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        let cap = r.client.max_received;
        // Whether no more bytes will come: the peer closed, or the deadline passed.
        let mut complete = false;
        // What the looks so far found (`pending` only grows until the step ends): one for the
        // matcher, one for the cap's look at a frame's header.
        let (mut scan, mut cap_scan) = (Scan::default(), Scan::default());
        // For a matcher that searches all of `pending` on each look (a regex): how much was
        // pending at the last look, and whether the peer paused since.
        let (mut looked, mut paused) = (0, false);
        loop {
            complete |= self.inbox.eof;
            // Past the cap, what came is judged as it is: a match fits in the cap or the step
            // fails, however the stream was cut (the same bytes in one read or in many).
            let over_cap = self.inbox.over(cap);
            // Such a matcher looks again only once what is pending grew by a quarter, or the
            // peer paused: a stream that arrives in many small reads costs a few searches of
            // it, not one per read (megabytes in 1 KiB reads took longer than any timeout).
            // Looking later changes no verdict: a regex's answer before the end is one more
            // bytes cannot change.
            let pending = self.inbox.pending.len();
            if matcher.searches_again()
                && !(complete || over_cap || paused)
                && pending > SEARCHED_FREELY
                && pending < looked + looked / 4
            {
                let pause_ends = (Instant::now() + PEER_PAUSE).min(deadline);
                match self.fill(pause_ends, &r.context.cancel) {
                    ReadResult::Data | ReadResult::Eof => {}
                    ReadResult::Timeout if Instant::now() >= deadline => complete = true,
                    ReadResult::Timeout => paused = true,
                    other => return self.read_failure(r, index, other, timeout),
                }
                continue;
            }
            (looked, paused) = (pending, false);
            if matcher.announces_over(&self.inbox.pending, cap, &mut cap_scan) {
                let received = std::mem::take(&mut self.inbox.pending);
                return r.fail(Some(index), FailureKind::FrameTooLarge(cap), received);
            }
            // What the matcher may take as all there is: for an HTTP message, only the close
            // ends a body that ends at the close (at the deadline it is cut short, not whole).
            let judged_whole = if matcher.completed_by_the_close() {
                self.inbox.eof
            } else {
                complete || over_cap
            };
            match matcher.progress_resuming(&self.inbox.pending, judged_whole, &mut scan) {
                Progress::Matched(n) if n > cap => return self.too_much(r, index),
                Progress::Matched(n) => {
                    r.capture(index, &self.inbox.pending[..n])?;
                    if r.passes_unreported {
                        // A load loop's later times through: nothing to show, nothing to copy.
                        self.inbox.pending.drain(..n);
                        r.consumed += n as u64;
                    } else {
                        let matched: Vec<u8> = self.inbox.pending.drain(..n).collect();
                        r.matched(index, matched);
                    }
                    return Ok(());
                }
                Progress::Hopeless => {
                    let want = matcher.exact_bytes().map_or(0, <[u8]>::len);
                    self.linger(r, want);
                    let received = std::mem::take(&mut self.inbox.pending);
                    return r.fail(Some(index), FailureKind::Mismatch, received);
                }
                Progress::NeedMore if self.inbox.eof => {
                    return self.read_failure(r, index, ReadResult::Eof, timeout);
                }
                Progress::NeedMore if complete => {
                    return self.read_failure(r, index, ReadResult::Timeout, timeout);
                }
                Progress::NeedMore if over_cap => return self.too_much(r, index),
                Progress::NeedMore => match self.fill(deadline, &r.context.cancel) {
                    ReadResult::Data | ReadResult::Eof => {}
                    // At the deadline, what came is judged as it is (a match that more bytes
                    // could have extended stands).
                    ReadResult::Timeout => complete = true,
                    other => return self.read_failure(r, index, other, timeout),
                },
            }
        }
    }

    /// `expect_close`: the peer closes, with nothing before it.
    fn expect_close(&mut self, r: &Reporter<'_>, index: usize, timeout: Duration) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            if !self.inbox.pending.is_empty() {
                self.linger(r, usize::MAX);
                return self.read_failure(r, index, ReadResult::Data, timeout);
            }
            if self.inbox.eof {
                r.report(Some(index), StepOutcome::PeerClosed);
                return Ok(());
            }
            match self.fill(deadline, &r.context.cancel) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(r, index, other, timeout),
            }
        }
    }

    /// `expect_reset`: the peer resets the connection; bytes before the reset are a failure.
    fn expect_reset(&mut self, r: &Reporter<'_>, index: usize, timeout: Duration) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            if !self.inbox.pending.is_empty() {
                return self.read_failure(r, index, ReadResult::Data, timeout);
            }
            match self.fill(deadline, &r.context.cancel) {
                ReadResult::Data => {}
                ReadResult::Failed(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    r.report(Some(index), StepOutcome::Reset);
                    return Ok(());
                }
                ReadResult::Eof => {
                    return r.fail(Some(index), FailureKind::ClosedNotReset, Vec::new());
                }
                other => return self.read_failure(r, index, other, timeout),
            }
        }
    }

    /// `read_to_close`: everything until the peer closes, matched as a whole.
    fn read_to_close(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        matcher: &Matcher,
        timeout: Duration,
    ) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        let cap = r.client.max_received;
        while !self.inbox.eof {
            if self.inbox.over(cap) {
                return self.too_much(r, index);
            }
            match self.fill(deadline, &r.context.cancel) {
                ReadResult::Data | ReadResult::Eof => {}
                other => return self.read_failure(r, index, other, timeout),
            }
        }
        let everything = std::mem::take(&mut self.inbox.pending);
        if matcher.matches_whole(&everything) {
            r.capture(index, &everything)?;
            r.matched(index, everything);
            Ok(())
        } else {
            r.fail(Some(index), FailureKind::Mismatch, everything)
        }
    }

    /// `expect_nothing`: no byte, and no close, for `quiet`.
    fn expect_nothing(&mut self, r: &Reporter<'_>, index: usize, quiet: Duration) -> Proceed {
        let deadline = deadline_after(Instant::now(), quiet);
        loop {
            if !self.inbox.pending.is_empty() {
                self.linger(r, usize::MAX);
                return self.read_failure(r, index, ReadResult::Data, quiet);
            }
            if self.inbox.eof {
                return self.read_failure(r, index, ReadResult::Eof, quiet);
            }
            match self.fill(deadline, &r.context.cancel) {
                // After the quiet time (a read's timeout is counted in the kernel's ticks, and
                // may end a few milliseconds late): the quiet held; what came is the next step's.
                ReadResult::Data | ReadResult::Eof if Instant::now() >= deadline => {
                    r.report(Some(index), StepOutcome::Quiet);
                    return Ok(());
                }
                ReadResult::Data | ReadResult::Eof => {}
                ReadResult::Timeout => {
                    r.report(Some(index), StepOutcome::Quiet);
                    return Ok(());
                }
                other => return self.read_failure(r, index, other, quiet),
            }
        }
    }
}

/// The two ends of a TCP connection, this one's first.
fn link_of(tcp: &std::net::TcpStream) -> Option<Link> {
    let local = tcp.local_addr().ok()?;
    let peer = tcp.peer_addr().ok()?;
    Some((socket::canonical(local), socket::canonical(peer)))
}
