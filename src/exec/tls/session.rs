//! A TLS session over a bounded socket: rustls's `Connection` driven by hand (`read_tls`,
//! `process_new_packets`, `write_tls`) rather than through `rustls::Stream`, so that every wait
//! is a `socket::read_some` or `socket::write_all` — bounded by its deadline, woken by the stop
//! signal — and a failure is a typed `TlsFailure`, never an `io::Error` whose words are parsed.
//!
//! What a read gives does not depend on how the bytes were cut: ciphertext is fed whole, the
//! plaintext it holds drained after each record, and plaintext that came before a failure is
//! delivered before the failure is.

use std::io::{self, Read, Write};
use std::time::Instant;

use rustls::Connection;

use super::failure::{failure_of, plain_text_reason};

use super::config::ClientSide;
use crate::event::{Handshake, TlsFailure, opens_a_tls_record};
use crate::exec::cancel::Cancel;
use crate::exec::socket::{self, ReadResult, TimedStream};
use crate::scenario::{TlsErrorKind, TlsVersion};

/// How much ciphertext a handshake reads at a time (a whole record and its header).
const RECORD: usize = 16 * 1024 + 256;

/// Why a handshake did not finish.
#[derive(Debug)]
pub enum HandshakeError {
    /// TLS said no (an alert, a certificate refused, a peer that does not speak TLS).
    Tls(TlsFailure),
    /// The deadline passed first.
    Timeout,
    /// The run is stopping.
    Stopped,
    /// The peer closed or reset the connection before the handshake ended, with no alert
    /// (which of the two it was, and whether a write or a read saw it first, is timing's).
    PeerLeft,
    /// The socket failed otherwise.
    Io(io::Error),
}

/// Whether `error` is the peer going away (a reset, a broken pipe), as opposed to a failure of
/// this side's socket.
fn peer_went_away(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// A socket error of a handshake, as what it means.
fn handshake_io(error: io::Error) -> HandshakeError {
    match peer_went_away(&error) {
        true => HandshakeError::PeerLeft,
        false => HandshakeError::Io(error),
    }
}

/// One TLS connection's state, beside the socket it runs over.
pub struct TlsSession {
    conn: Connection,
    /// Ciphertext to write, kept from one write to the next.
    outgoing: Vec<u8>,
    /// Ciphertext read, kept from one read to the next.
    incoming: Vec<u8>,
    /// Plain text that came and was not read yet (with the handshake, or past a read's size).
    plain: Vec<u8>,
    /// The failure every later read or write says.
    failed: Option<TlsFailure>,
    /// The peer closed (`close_notify`, or the end of the stream).
    closed: bool,
    /// The peer said `close_notify`.
    notified: bool,
    /// The stream ended in the middle of a record: what it held is lost.
    cut_short: bool,
    /// Where the ciphertext read so far stands among its records.
    records: RecordCut,
}

/// Where a stream of TLS records stands: inside a record's header or body, or between records.
/// rustls keeps a record cut short by the end of the stream to itself; this says so.
#[derive(Debug, Default)]
struct RecordCut {
    /// The bytes of a header read so far (a header is 5 bytes).
    header: Vec<u8>,
    /// The bytes of the current record's body still to come.
    left: usize,
}

impl RecordCut {
    /// Follows `bytes` of the stream.
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.left > 0 {
                let taken = self.left.min(bytes.len());
                self.left -= taken;
                bytes = &bytes[taken..];
                continue;
            }
            let taken = (5 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
            if let [_, _, _, high, low] = self.header[..] {
                self.left = usize::from(u16::from_be_bytes([high, low]));
                self.header.clear();
            }
        }
    }

    /// Whether the stream stands inside a record.
    fn inside(&self) -> bool {
        self.left > 0 || !self.header.is_empty()
    }
}

/// What a read says of a stream that ended inside a record.
const CUT_SHORT: &str = "the peer closed in the middle of a TLS record: what it held is lost";

impl TlsSession {
    /// A session about to start its handshake.
    pub fn new(conn: impl Into<Connection>) -> TlsSession {
        TlsSession {
            conn: conn.into(),
            outgoing: Vec::new(),
            incoming: Vec::new(),
            plain: Vec::new(),
            failed: None,
            closed: false,
            notified: false,
            cut_short: false,
            records: RecordCut::default(),
        }
    }

    /// Makes every later read and write say `failure`.
    pub fn fail(&mut self, failure: TlsFailure) {
        self.failed = Some(failure);
    }

    /// Runs the handshake over `tcp`, until `deadline` at most (`None`: until the run stops),
    /// `leftover` being bytes already read from it (after a `starttls`).
    pub fn handshake(
        &mut self,
        tcp: &mut TimedStream,
        leftover: &[u8],
        deadline: Option<Instant>,
        cancel: &Cancel,
    ) -> Result<(), HandshakeError> {
        let mut early = std::mem::take(&mut self.plain);
        let mut scratch = vec![0u8; RECORD];
        let mut heard_yet = !leftover.is_empty();
        if !leftover.is_empty() {
            self.take_in(tcp, leftover, &mut early, &mut scratch, cancel)
                .map_err(|failure| match opens_a_tls_record(leftover) {
                    true => HandshakeError::Tls(failure),
                    false => HandshakeError::Tls(TlsFailure {
                        kind: TlsErrorKind::HandshakeFailure,
                        reason: plain_text_reason(leftover),
                    }),
                })?;
        }
        loop {
            self.flush(tcp, cancel).map_err(|e| match cancel.is_set() {
                true => HandshakeError::Stopped,
                false => handshake_io(e),
            })?;
            if !self.conn.is_handshaking() {
                break;
            }
            let mut incoming = std::mem::take(&mut self.incoming);
            incoming.clear();
            let read = socket::read_some(tcp, &mut scratch, &mut incoming, deadline, cancel);
            let heard = std::mem::replace(&mut heard_yet, true);
            let taken = match read {
                // rustls refuses what is not TLS (and says so to the peer with an alert); the
                // words say what the peer's first byte was, the same however its bytes were cut
                // (only the first: a later read may begin mid-record).
                ReadResult::Data => self
                    .take_in(tcp, &incoming, &mut early, &mut scratch, cancel)
                    .map_err(|failure| match heard || opens_a_tls_record(&incoming) {
                        true => failure,
                        false => TlsFailure {
                            kind: TlsErrorKind::HandshakeFailure,
                            reason: plain_text_reason(&incoming),
                        },
                    }),
                ReadResult::Eof => return Err(HandshakeError::PeerLeft),
                ReadResult::Timeout => return Err(HandshakeError::Timeout),
                ReadResult::Stopped => return Err(HandshakeError::Stopped),
                ReadResult::Failed(e) => return Err(handshake_io(e)),
            };
            self.incoming = incoming;
            taken.map_err(HandshakeError::Tls)?;
        }
        self.plain = early;
        Ok(())
    }

    /// What the handshake settled, as this side sees it: a server's, from what it got; a
    /// client's (`client`: its side's settings), from what it asked and holds.
    pub fn settled(&self, client: Option<&ClientSide>) -> Handshake {
        let version = match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
            _ => TlsVersion::Tls13,
        };
        let cipher_suite = self
            .conn
            .negotiated_cipher_suite()
            .map_or_else(String::new, |suite| format!("{:?}", suite.suite()));
        let alpn = self.conn.alpn_protocol().map(<[u8]>::to_vec);
        let (sni, client_certificate, peer_verified) = match (&self.conn, client) {
            (_, Some(side)) => (side.sni(), side.has_certificate, side.verifies),
            (Connection::Server(server), None) => {
                let shown = server.peer_certificates().is_some();
                (server.server_name().map(str::to_string), shown, shown)
            }
            (Connection::Client(_), None) => (None, false, false),
        };
        Handshake {
            version,
            cipher_suite,
            alpn,
            sni,
            client_certificate,
            peer_verified,
        }
    }

    /// Reads once: appends the plain text that came to `into` — at most `scratch.len()` bytes,
    /// as a read of a plain socket would (a server's `read_size`: what a record held past it is
    /// kept for the next read) — waiting until `deadline` at most.
    pub fn read_some(
        &mut self,
        tcp: &mut TimedStream,
        scratch: &mut [u8],
        into: &mut Vec<u8>,
        deadline: Option<Instant>,
        cancel: &Cancel,
    ) -> ReadResult {
        loop {
            // What came before a failure or a close is given first.
            if !self.plain.is_empty() {
                let given = scratch.len().max(1).min(self.plain.len());
                into.extend(self.plain.drain(..given));
                return ReadResult::Data;
            }
            if let Some(failure) = &self.failed {
                return ReadResult::Failed(io::Error::other(failure.clone()));
            }
            if self.cut_short {
                return ReadResult::Failed(io::Error::new(io::ErrorKind::UnexpectedEof, CUT_SHORT));
            }
            if self.closed {
                return ReadResult::Eof;
            }
            let mut incoming = std::mem::take(&mut self.incoming);
            let mut plain = std::mem::take(&mut self.plain);
            incoming.clear();
            let read = socket::read_some(tcp, scratch, &mut incoming, deadline, cancel);
            let taken = match read {
                ReadResult::Data => self.take_in(tcp, &incoming, &mut plain, scratch, cancel),
                ReadResult::Eof => {
                    // The end of the stream, told to rustls: a `close_notify` before it is a
                    // clean close, none an unclean one; both end the stream here.
                    let _ = self.conn.read_tls(&mut io::empty());
                    let taken = self.process(tcp, &mut plain, scratch, cancel);
                    self.closed = true;
                    // Without a `close_notify`, a record the end cut is lost, not a close.
                    self.cut_short = !self.notified && self.records.inside();
                    taken
                }
                other => {
                    (self.incoming, self.plain) = (incoming, plain);
                    return other;
                }
            };
            (self.incoming, self.plain) = (incoming, plain);
            if let Err(failure) = taken {
                self.failed = Some(failure);
            }
            // What the peer's records asked of this side (a key update), sent now: a peer
            // waiting for it must not wait for this side's next write.
            if self.failed.is_none()
                && self.conn.wants_write()
                && let Err(e) = self.flush(tcp, cancel)
            {
                return ReadResult::Failed(e);
            }
        }
    }

    /// Writes all of `bytes`, encrypted.
    pub fn write_all(
        &mut self,
        tcp: &mut TimedStream,
        bytes: &[u8],
        cancel: &Cancel,
    ) -> io::Result<()> {
        if let Some(failure) = &self.failed {
            return Err(io::Error::other(failure.clone()));
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let taken = self.conn.writer().write(rest)?;
            rest = &rest[taken..];
            if taken == 0 && !self.conn.wants_write() {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.flush(tcp, cancel)?;
        }
        Ok(())
    }

    /// Says `close_notify` and closes the sending side (a failed session only closes it).
    pub fn shutdown_write(&mut self, tcp: &mut TimedStream, cancel: &Cancel) -> io::Result<()> {
        // A session that failed (or whose handshake never ended) has nothing to close.
        if self.failed.is_some() {
            return tcp.shutdown(std::net::Shutdown::Write);
        }
        self.conn.send_close_notify();
        let flushed = self.flush(tcp, cancel);
        let shut = tcp.shutdown(std::net::Shutdown::Write);
        flushed.and(shut)
    }

    /// Writes what rustls has to send.
    fn flush(&mut self, tcp: &mut TimedStream, cancel: &Cancel) -> io::Result<()> {
        while self.conn.wants_write() {
            self.outgoing.clear();
            self.conn.write_tls(&mut self.outgoing)?;
            socket::write_all(tcp, &self.outgoing, cancel)?;
        }
        Ok(())
    }

    /// Feeds `raw` ciphertext to rustls, appending the plaintext it holds to `into`.
    fn take_in(
        &mut self,
        tcp: &mut TimedStream,
        mut raw: &[u8],
        into: &mut Vec<u8>,
        scratch: &mut [u8],
        cancel: &Cancel,
    ) -> Result<(), TlsFailure> {
        if !self.notified {
            self.records.feed(raw);
        }
        while !raw.is_empty() {
            match self.conn.read_tls(&mut raw) {
                // rustls takes nothing more (after a `close_notify`): what follows is not read.
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(TlsFailure {
                        kind: TlsErrorKind::HandshakeFailure,
                        reason: e.to_string(),
                    });
                }
            }
            self.process(tcp, into, scratch, cancel)?;
        }
        Ok(())
    }

    /// Processes the records rustls holds and drains their plaintext into `into`; on a failure,
    /// sends the alert rustls made for it (if the socket takes it).
    fn process(
        &mut self,
        tcp: &mut TimedStream,
        into: &mut Vec<u8>,
        scratch: &mut [u8],
        cancel: &Cancel,
    ) -> Result<(), TlsFailure> {
        let processed = self.conn.process_new_packets();
        loop {
            match self.conn.reader().read(scratch) {
                Ok(0) => {
                    self.closed = true;
                    self.notified = true;
                    break;
                }
                Ok(n) => into.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        match processed {
            Ok(_) => Ok(()),
            Err(error) => {
                let _ = self.flush(tcp, cancel);
                Err(failure_of(&error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that ends inside a record is said to, however its bytes were cut; one that
    /// ends between records is not.
    #[test]
    fn a_record_cut_short_is_told_from_a_whole_one() {
        let record = [23u8, 3, 3, 0, 4, 1, 2, 3, 4];
        for cut in 0..=record.len() {
            let mut records = RecordCut::default();
            for piece in record[..cut].chunks(2) {
                records.feed(piece);
            }
            let whole = cut == 0 || cut == record.len();
            assert_eq!(records.inside(), !whole, "cut after {cut} bytes");
        }
    }
}
