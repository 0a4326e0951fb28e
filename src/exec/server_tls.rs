//! A netlab server's connection turned to TLS (on accept, or after a `starttls` rule): the
//! handshake with the server's configuration, and what each way of failing makes of the
//! connection. `tcp_server.rs` records what this returns.

use super::context::Context;
use super::tls::{HandshakeError, TlsSession, failure_of};
use super::transport::Transport;
use crate::diagnostic::io_reason;
use crate::event::{Handshake, ServerAction};

/// Runs server `server`'s handshake on `stream` (`leftover`: what was read past the plain
/// text), and has `record` record what it came to — before anything that follows from it (a
/// drain) — as its action: `Secured`, or the action that ended the connection. False when the
/// connection ends (nothing is recorded when the run is stopping).
pub fn secure(
    context: &Context,
    server: usize,
    (stream, leftover): (&mut Transport, &[u8]),
    record: impl FnOnce(ServerAction),
) -> bool {
    match handshake(context, server, stream, leftover) {
        Ok(handshake) => {
            record(ServerAction::Secured(handshake));
            true
        }
        Err(Some(ended)) => {
            let refused = matches!(ended, ServerAction::TlsFailed(_));
            record(ended);
            if refused {
                // The alert is sent; what the client still sends (it may have written before
                // reading the alert, as a TLS 1.3 client may) is read and dropped until it
                // closes, so that the kernel does not answer it with a reset: the client reads
                // the alert, not "broken pipe", however much it wrote.
                stream.close_and_drain(&context.cancel);
            }
            false
        }
        Err(None) => false,
    }
}

/// The handshake: what it settled, or the action that ends the connection (`None`: the run
/// is stopping, nothing to record).
fn handshake(
    context: &Context,
    server: usize,
    stream: &mut Transport,
    leftover: &[u8],
) -> Result<Handshake, Option<ServerAction>> {
    let Some(config) = context.tls.server(server) else {
        return Err(Some(ServerAction::Failed(
            "this server has no TLS configuration: a bug in netlab".into(),
        )));
    };
    let session = match rustls::ServerConnection::new(config.clone()) {
        Ok(connection) => TlsSession::new(connection),
        Err(e) => return Err(Some(ServerAction::TlsFailed(failure_of(&e)))),
    };
    let cancel = &context.cancel;
    match stream.start_tls(session, leftover, None, cancel) {
        Ok(()) => match stream.session() {
            Some(session) => Ok(session.settled(None)),
            None => Err(Some(ServerAction::Failed(
                "no TLS session after the handshake: a bug in netlab".into(),
            ))),
        },
        Err(HandshakeError::Tls(failure)) => Err(Some(ServerAction::TlsFailed(failure))),
        Err(HandshakeError::PeerLeft) => Err(Some(ServerAction::TlsAbandoned)),
        Err(HandshakeError::Io(_)) if cancel.is_set() => Err(None),
        Err(HandshakeError::Io(e)) => {
            let _ = stream.tcp().shutdown(std::net::Shutdown::Both);
            Err(Some(ServerAction::Failed(io_reason(&e))))
        }
        Err(HandshakeError::Timeout | HandshakeError::Stopped) => Err(None),
    }
}
