//! A client's TLS steps on a byte stream: the handshake at connect (for a client that speaks TLS
//! from the start), `starttls`, and `expect_tls_error`, with what a failed handshake makes of
//! the step. The stream's other steps are in `stream.rs`.

use std::time::{Duration, Instant};

use super::super::socket::ReadResult;
use super::super::tls::{HandshakeError, TlsSession, failure_in, failure_of};
use super::super::transport::Transport;
use super::report::{Proceed, Reporter};
use super::stream::StreamLink;
use crate::diagnostic::io_reason;
use crate::event::{FailureKind, Handshake, StepOutcome, TlsFailure};
use crate::plan::deadline_after;
use crate::scenario::{Step, TlsErrorKind};

impl StreamLink {
    /// `starttls`: turns the connection to TLS, what came past the plain text going to the
    /// handshake. A handshake that fails is the step's failure, unless the next step expects it
    /// (`expect_tls_error`), which then judges it.
    pub(super) fn start_tls(&mut self, r: &Reporter<'_>, index: usize) -> Proceed {
        if self.stream.is_tls() {
            let why = "the connection already speaks TLS".to_string();
            return r.fail(Some(index), FailureKind::Io(why), Vec::new());
        }
        let leftover = std::mem::take(&mut self.inbox.pending);
        let timeout = handshake_timeout(r, index + 1);
        let deadline = deadline_after(Instant::now(), timeout);
        match secure(&mut self.stream, r, &leftover, deadline) {
            Ok(handshake) => {
                r.report(Some(index), StepOutcome::Secured(handshake));
                Ok(())
            }
            Err(failure) => self.handshake_failed(r, Some(index), failure, timeout),
        }
    }

    /// The handshake of a client that speaks TLS from the start, right after its connect
    /// (within its `timeout`, or that of an `expect_tls_error` right after).
    pub fn secure_at_connect(&mut self, r: &Reporter<'_>) -> Proceed {
        let timeout = handshake_timeout(r, 0);
        let deadline = deadline_after(Instant::now(), timeout);
        match secure(&mut self.stream, r, &[], deadline) {
            Ok(handshake) => {
                r.report(None, StepOutcome::Secured(handshake));
                Ok(())
            }
            Err(failure) => self.handshake_failed(r, None, failure, timeout),
        }
    }

    /// What a failed handshake (at connect: `at` is `None`) makes of the step.
    pub fn handshake_failed(
        &mut self,
        r: &Reporter<'_>,
        at: Option<usize>,
        failure: HandshakeError,
        timeout: Duration,
    ) -> Proceed {
        let next = at.map_or(0, |i| i + 1);
        let expected = matches!(
            r.client.steps_of(r.id.instance).get(next),
            Some(Step::ExpectTlsError { .. })
        );
        let kind = match failure {
            // The next step reads the failure again, and judges it.
            HandshakeError::Tls(tls) if expected => {
                r.report(at, StepOutcome::TlsRefused(tls));
                return Ok(());
            }
            HandshakeError::Tls(tls) => FailureKind::Tls(tls),
            HandshakeError::Timeout => FailureKind::HandshakeTimeout(timeout),
            HandshakeError::Stopped => FailureKind::Stopped,
            HandshakeError::PeerLeft => FailureKind::TlsAbandoned,
            HandshakeError::Io(e) => FailureKind::Io(io_reason(&e)),
        };
        r.fail(at, kind, Vec::new())
    }

    /// `expect_tls_error`: TLS fails, as `kind` says: the handshake, or an alert right after it
    /// (a server that refuses a client's certificate says so once the client has finished).
    pub(super) fn expect_tls_error(
        &mut self,
        r: &Reporter<'_>,
        index: usize,
        kind: TlsErrorKind,
        timeout: Duration,
    ) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        loop {
            if !self.inbox.pending.is_empty() {
                let received = std::mem::take(&mut self.inbox.pending);
                return r.fail(Some(index), FailureKind::TlsSucceeded, received);
            }
            if self.inbox.eof {
                return self.read_failure(r, index, ReadResult::Eof, timeout);
            }
            match self.fill(deadline, &r.context.cancel) {
                ReadResult::Data | ReadResult::Eof => {}
                ReadResult::Failed(e) => match failure_in(&e) {
                    Some(failure) if failure.kind == kind => {
                        r.report(Some(index), StepOutcome::TlsRefused(failure.clone()));
                        return Ok(());
                    }
                    Some(failure) => {
                        return r.fail(Some(index), FailureKind::Tls(failure.clone()), Vec::new());
                    }
                    None => return self.read_failure(r, index, ReadResult::Failed(e), timeout),
                },
                ReadResult::Timeout => {
                    return r.fail(Some(index), FailureKind::TlsSucceeded, Vec::new());
                }
                other => return self.read_failure(r, index, other, timeout),
            }
        }
    }
}

/// How long a handshake before step `next` may take, scaled (`Client::handshake_timeout`).
fn handshake_timeout(r: &Reporter<'_>, next: usize) -> Duration {
    let steps = r.client.steps_of(r.id.instance);
    let declared = r.client.handshake_timeout(steps, next);
    r.context.bounded(r.context.scale.timeout(declared))
}

/// Turns `stream` to TLS as the instance's client says (`leftover`: bytes read past the plain
/// text), within `deadline`: what the handshake settled, or why it failed.
pub(super) fn secure(
    stream: &mut Transport,
    r: &Reporter<'_>,
    leftover: &[u8],
    deadline: Instant,
) -> Result<Handshake, HandshakeError> {
    let Some(side) = r.context.tls.client(r.id.client) else {
        return Err(HandshakeError::Tls(TlsFailure {
            kind: TlsErrorKind::HandshakeFailure,
            reason: "this client has no TLS settings: a bug in netlab".into(),
        }));
    };
    let connection = rustls::ClientConnection::new(side.config.clone(), side.name.clone())
        .map_err(|e| HandshakeError::Tls(failure_of(&e)))?;
    stream.start_tls(
        TlsSession::new(connection),
        leftover,
        Some(deadline),
        &r.context.cancel,
    )?;
    Ok(match stream.session() {
        Some(session) => session.settled(Some(side)),
        None => return Err(HandshakeError::Stopped),
    })
}
