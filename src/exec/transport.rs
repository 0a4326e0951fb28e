//! The byte stream a netlab client or server talks over: a TCP connection, with TLS on it from
//! the start or from a `starttls` on. One type for both sides, so that a server's replies, its
//! faults (a slice is a TLS record) and a client's steps are written once, whatever the stream.
//!
//! TLS is a layer on the TCP connection, not another connection: the socket stays the same
//! (its addresses pair the two sides; a reset is still a reset), and `starttls` turns the layer
//! on in place.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::time::Instant;

use super::cancel::Cancel;
use super::socket::{self, ReadResult, TimedStream};
use super::tls::{HandshakeError, TlsSession};
use crate::event::TlsFailure;
use crate::scenario::TlsErrorKind;

/// What is on the TCP connection.
enum Layer {
    /// Plain text.
    Plain,
    /// TLS.
    Tls(Box<TlsSession>),
}

/// A connection's byte stream.
pub struct Transport {
    tcp: TimedStream,
    layer: Layer,
}

impl Transport {
    /// A plain-text stream over `tcp`.
    pub fn plain(tcp: TcpStream) -> Transport {
        Transport {
            tcp: TimedStream::new(tcp),
            layer: Layer::Plain,
        }
    }

    /// The TCP connection under it (its addresses, its options).
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Whether it speaks TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.layer, Layer::Tls(_))
    }

    /// The TLS session, once there is one.
    pub fn session(&self) -> Option<&TlsSession> {
        match &self.layer {
            Layer::Tls(session) => Some(session),
            Layer::Plain => None,
        }
    }

    /// Turns the stream to TLS: `session`'s handshake, within `deadline` (`None`: until the run
    /// stops), `leftover` being what was read past the plain text. The layer stays TLS even when
    /// the handshake fails: every later read or write then says the failure.
    pub fn start_tls(
        &mut self,
        mut session: TlsSession,
        leftover: &[u8],
        deadline: Option<Instant>,
        cancel: &Cancel,
    ) -> Result<(), HandshakeError> {
        let result = session.handshake(&mut self.tcp, leftover, deadline, cancel);
        // A handshake that did not end leaves nothing to read or write: every later call says
        // so rather than drive it further.
        match &result {
            Ok(()) => {}
            Err(HandshakeError::Tls(failure)) => session.fail(failure.clone()),
            Err(_) => session.fail(TlsFailure {
                kind: TlsErrorKind::HandshakeFailure,
                reason: "the handshake did not finish".into(),
            }),
        }
        self.layer = Layer::Tls(Box::new(session));
        result
    }

    /// Reads once (at most `scratch.len()` bytes of the socket) and appends what came to
    /// `into`, waiting until `deadline` at most (`None`: until the run stops).
    pub fn read_some(
        &mut self,
        scratch: &mut [u8],
        into: &mut Vec<u8>,
        deadline: Option<Instant>,
        cancel: &Cancel,
    ) -> ReadResult {
        match &mut self.layer {
            Layer::Plain => socket::read_some(&mut self.tcp, scratch, into, deadline, cancel),
            Layer::Tls(session) => {
                session.read_some(&mut self.tcp, scratch, into, deadline, cancel)
            }
        }
    }

    /// Writes all of `bytes`, waking every tick to honour the stop signal.
    pub fn write_all(&mut self, bytes: &[u8], cancel: &Cancel) -> io::Result<()> {
        match &mut self.layer {
            Layer::Plain => socket::write_all(&mut self.tcp, bytes, cancel),
            Layer::Tls(session) => session.write_all(&mut self.tcp, bytes, cancel),
        }
    }

    /// Closes the sending side: the peer reads the end of the stream (after `close_notify`).
    pub fn shutdown_write(&mut self, cancel: &Cancel) -> io::Result<()> {
        match &mut self.layer {
            Layer::Plain => self.tcp.shutdown(Shutdown::Write),
            Layer::Tls(session) => session.shutdown_write(&mut self.tcp, cancel),
        }
    }

    /// Closes the sending side, then reads and drops what the peer still sends until it closes
    /// (or the run stops), below TLS: a close with bytes unread would make the kernel answer
    /// them with a reset, and the peer fail on it rather than on what was said before.
    pub fn close_and_drain(&mut self, cancel: &Cancel) {
        let _ = self.tcp.shutdown(Shutdown::Write);
        let mut scratch = vec![0u8; 64 * 1024];
        let mut dropped = Vec::new();
        loop {
            dropped.clear();
            match socket::read_some(&mut self.tcp, &mut scratch, &mut dropped, None, cancel) {
                ReadResult::Data => {}
                _ => return,
            }
        }
    }
}
