//! TCP servers: an acceptor thread per server and the handling of one connection (greeting,
//! messages cut by the framing, rules, delays, replies, close). Threaded servers handle each
//! connection in its own thread; sequential ones handle it inline, so the next client really
//! waits in the backlog as it would with a single-threaded server.

use crate::framing::{Cut, Scan};
use crate::scenario::Conversation;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::Dial;
use super::context::{Context, Link, Waited};
use super::entrance::Entrance;
use super::faults::{Injector, Written};
use super::proxy;
use super::recorder::{ActionRecorder, Answered, IDLE_FLUSH};
use super::server_tls;
use super::socket::{self, ReadResult};
use super::transport::Transport;
use crate::diagnostic::io_reason;
use crate::event::{
    AppliedFault, ConnectionId, EventKind, HelloCheck, InstanceId, Origin, ServerAction,
    tls_client_hello,
};
use crate::scenario::{Concurrency, Framing, Scenario, Server};

/// The longest line `framing: line` waits for; beyond it, what came is one message.
const MAX_LINE: usize = 16 << 20;

/// Accepts connections on `listener`, one of the server's ways in, until the run stops; a
/// proxy forwards each to `upstream`.
pub fn accept_loop(
    index: usize,
    scenario: Arc<Scenario>,
    listener: TcpListener,
    (entrance, upstream): (Entrance, Option<Dial>),
    context: Context,
) {
    let server = &scenario.servers[index];
    loop {
        let accepted = listener.accept();
        if context.cancel.is_set() {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                let id = ConnectionId {
                    server: index,
                    seq: entrance.next_seq(),
                };
                let via = entrance.owner;
                if let Some(upstream) = &upstream {
                    let serve = {
                        let (shared, own, upstream) =
                            (scenario.clone(), context.clone(), upstream.clone());
                        move || {
                            let server = &shared.servers[index];
                            proxy::serve(server, id, (peer, via), stream, &upstream, &own);
                        }
                    };
                    match server.concurrency {
                        Concurrency::Sequential => {
                            let _turn = entrance.one_at_a_time();
                            serve();
                        }
                        Concurrency::Threaded => {
                            if let Err(e) = context.jobs.spawn(serve) {
                                no_thread(&context, index, &e);
                            }
                        }
                    }
                    continue;
                }
                match server.concurrency {
                    Concurrency::Sequential => {
                        // Accepted now (the run knows it is owed), served in its turn.
                        let mut connection = Connection::new(server, id, &context);
                        connection.accepted(peer, via);
                        let _turn = entrance.one_at_a_time();
                        connection.serve(stream)
                    }
                    Concurrency::Threaded => {
                        let shared = scenario.clone();
                        let own = context.clone();
                        let spawned = context.jobs.spawn(move || {
                            let mut connection = Connection::new(&shared.servers[index], id, &own);
                            connection.accepted(peer, via);
                            connection.serve(stream)
                        });
                        if let Err(e) = spawned {
                            no_thread(&context, index, &e);
                        }
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                ) => {}
            // Out of file descriptors and the like.
            Err(e) => {
                if !context.server_failed(index, &e) {
                    return;
                }
            }
        }
    }
}

/// Records that server `index` accepted a connection it could not start a thread for.
fn no_thread(context: &Context, index: usize, error: &io::Error) {
    context.emit(
        Origin::Server(index),
        EventKind::AcceptFailed {
            reason: format!("cannot start a thread for a connection: {error}"),
        },
    );
}

/// The server's side of one connection.
struct Connection<'a> {
    id: ConnectionId,
    server: &'a Server,
    context: Context,
    sent: u64,
    /// What the server remembers of this connection (`lose_first` counts, named groups).
    conversation: Conversation,
    /// The server's faults, as they apply to this connection.
    injector: Injector<'a>,
    /// Where its actions are recorded.
    recorder: ActionRecorder,
    /// The reply being sent, rendered into a buffer kept from one message to the next.
    reply: Vec<u8>,
    /// The connection's two ends, the client's first (once accepted).
    link: Option<Link>,
    /// A `starttls` rule answered: the connection turns to TLS before the next message.
    upgrading: bool,
}

impl<'a> Connection<'a> {
    fn new(server: &'a Server, id: ConnectionId, context: &Context) -> Connection<'a> {
        Connection {
            id,
            server,
            context: context.clone(),
            sent: 0,
            conversation: Conversation::default(),
            injector: Injector::new(&server.faults),
            // Where recv() cut the stream depends on timing, so unanswered pieces are joined;
            // lines and frames are cut by their own framing, so each is the message it is.
            recorder: ActionRecorder::new(id, server.framing == Framing::Chunk),
            reply: Vec::new(),
            link: None,
            upgrading: false,
        }
    }

    fn emit(&mut self, action: ServerAction, closed: bool) {
        self.recorder
            .record(&self.context, action, self.sent, closed);
    }

    /// Records that the connection was accepted from `peer` (through a program's own way in:
    /// `via`).
    fn accepted(&mut self, peer: SocketAddr, via: Option<InstanceId>) {
        let peer = socket::canonical(peer);
        self.emit(ServerAction::Accepted { peer, via }, false);
    }

    fn serve(mut self, stream: TcpStream) {
        self.link = match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => Some((socket::canonical(peer), socket::canonical(local))),
            _ => None,
        };
        let mut stream = Transport::plain(stream);
        let secured_at_once = self
            .server
            .tls
            .as_ref()
            .is_some_and(crate::scenario::ServerTls::at_connect);
        if !secured_at_once || self.secure(&mut stream, &[]) {
            self.converse(&mut stream);
        }
        self.recorder.flush(&self.context);
        // Closed here at the latest (dropped): the run owes this connection nothing more.
        drop(stream);
        self.context
            .emit(Origin::Connection(self.id), EventKind::ConnectionEnded);
    }

    /// Turns the connection to TLS (`leftover`: what was read past the plain text) and records
    /// the handshake; false when it failed (recorded: the connection ends).
    fn secure(&mut self, stream: &mut Transport, leftover: &[u8]) -> bool {
        let context = self.context.clone();
        server_tls::secure(&context, self.id.server, (stream, leftover), |action| {
            let ended = !matches!(action, ServerAction::Secured(_));
            self.emit(action, ended);
        })
    }

    fn converse(&mut self, stream: &mut Transport) {
        let _ = stream.tcp().set_nodelay(true);
        if let Some(greeting) = &self.server.greeting {
            self.sent += greeting.len() as u64;
            let (latency, faults, cut) = self.plan(greeting.len(), greeting);
            self.emit(
                ServerAction::Greeting {
                    bytes: greeting.clone(),
                    faults,
                },
                cut,
            );
            match self.send(stream, greeting, latency) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => return self.fail(stream, &e),
            }
        }
        let mut scratch = vec![0u8; self.server.read_size];
        let mut pending = Vec::new();
        // What the looks at the frame at the start of `pending` found so far.
        let mut scan = Scan::default();
        // Whether a message's first bytes are looked at for a TLS hello, and whether those of
        // the one being read may still be one.
        let (mut watching, mut telling) = (true, false);
        loop {
            let before = if telling { 0 } else { pending.len() };
            // While something is held back, wake soon to record it if the peer goes quiet.
            let flush_at = self
                .recorder
                .is_holding()
                .then(|| Instant::now() + IDLE_FLUSH);
            let read = stream.read_some(&mut scratch, &mut pending, flush_at, &self.context.cancel);
            // A TLS client's hello where a message starts on a connection in plain text: its
            // bytes differ every run, and no rule can answer them; said as what it is, and the
            // connection ends (the client's handshake then fails on the close). Bytes that could
            // begin one wait for the rest before anything answers them, so the same happens
            // however the hello was cut.
            if matches!(read, ReadResult::Data) && watching && before == 0 && !stream.is_tls() {
                match tls_client_hello(&pending) {
                    HelloCheck::Hello => {
                        self.emit(ServerAction::TlsHelloToPlain, true);
                        stream.close_and_drain(&self.context.cancel.clone());
                        return;
                    }
                    HelloCheck::TooFewToTell => {
                        telling = true;
                        continue;
                    }
                    // A server that may turn to TLS (a `starttls` rule) looks at every message
                    // while in plain text; any other, at the connection's first.
                    HelloCheck::NotAHello => watching = self.server.tls.is_some(),
                }
            }
            if !matches!(read, ReadResult::Timeout) {
                telling = false;
            }
            match read {
                ReadResult::Data if self.server.framing.frames().is_some() => {
                    self.context.progressed();
                    match self.answer_frames(stream, &mut pending, &mut scan) {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => return self.fail(stream, &e),
                    }
                    if !self.upgrade_if_asked(stream, &mut pending) {
                        return;
                    }
                }
                ReadResult::Data => {
                    self.context.progressed();
                    let whole = self.server.framing == Framing::Chunk
                        // A peer that never ends its line: take what came as one message.
                        || pending.len() > MAX_LINE;
                    // Messages are answered where they lie in `pending`, which is reused.
                    let mut start = 0;
                    let mut scan = before;
                    loop {
                        let line = if whole {
                            (start < pending.len()).then_some((start..pending.len(), pending.len()))
                        } else {
                            next_line(&pending, start, scan)
                        };
                        let Some((message, next)) = line else {
                            break;
                        };
                        match self.answer(stream, &pending[message]) {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(e) => return self.fail(stream, &e),
                        }
                        start = next;
                        scan = next;
                        if self.upgrading {
                            break;
                        }
                    }
                    pending.drain(..start);
                    if !self.upgrade_if_asked(stream, &mut pending) {
                        return;
                    }
                }
                ReadResult::Eof => {
                    if !pending.is_empty() && self.server.framing.frames().is_some() {
                        // Part of a frame, never finished: no rule sees it.
                        let kept = pending.len().min(crate::event::RECORDED_BYTES);
                        let action = ServerAction::UnfinishedFrame {
                            bytes: pending[..kept].to_vec(),
                            len: pending.len() as u64,
                        };
                        self.emit(action, false);
                    } else if !pending.is_empty() {
                        match self.answer(stream, &pending) {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(e) => return self.fail(stream, &e),
                        }
                    }
                    self.emit(ServerAction::PeerClosed, true);
                    self.close(stream);
                    return;
                }
                ReadResult::Timeout if flush_at.is_some() => self.recorder.flush(&self.context),
                ReadResult::Timeout | ReadResult::Stopped => return,
                ReadResult::Failed(e) => return self.fail(stream, &e),
            }
        }
    }

    /// Answers every whole frame at the start of `pending`, and drops them from it; a frame that
    /// can never be (a length that cannot be, over `MAX_LINE`) ends the connection as a failed
    /// read does. `scan`: what earlier looks at the frame `pending` starts with found. Ok(false):
    /// the connection is closed.
    fn answer_frames(
        &mut self,
        stream: &mut Transport,
        pending: &mut Vec<u8>,
        scan: &mut Scan,
    ) -> io::Result<bool> {
        let Some(frames) = self.server.framing.frames() else {
            return Ok(true);
        };
        let frames = frames.clone();
        let mut start = 0;
        let result = loop {
            match frames.cut_resuming(&pending[start..], MAX_LINE, scan) {
                Cut::NeedMore => break Ok(true),
                Cut::Bad(why) | Cut::TooLarge(why) => {
                    break Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad frame: {why}"),
                    ));
                }
                Cut::Frame { body, end } => {
                    let body = start + body.start..start + body.end;
                    *scan = Scan::default();
                    match self.answer(stream, &pending[body]) {
                        Ok(true) if self.upgrading => {
                            start += end;
                            break Ok(true);
                        }
                        Ok(true) => start += end,
                        other => break other,
                    }
                }
            }
        };
        pending.drain(..start);
        result
    }

    /// Applies the first matching rule to `message`. Ok(false): the connection is closed.
    fn answer(&mut self, stream: &mut Transport, message: &[u8]) -> io::Result<bool> {
        self.context.progressed();
        // The reply is rendered into a buffer the connection keeps.
        let mut reply = std::mem::take(&mut self.reply);
        let result = self.answer_with(stream, message, &mut reply);
        self.reply = reply;
        result
    }

    fn answer_with(
        &mut self,
        stream: &mut Transport,
        message: &[u8],
        reply: &mut Vec<u8>,
    ) -> io::Result<bool> {
        let counts = self.context.rule_counts.get(self.id.server);
        let counts = counts.map_or(&[][..], Vec::as_slice);
        let Some(answer) = self
            .server
            .answer(message, &mut self.conversation, counts, reply)
        else {
            self.recorder
                .record_unanswered(&self.context, message, None, self.sent);
            return Ok(true);
        };
        if answer.replies {
            self.sent += reply.len() as u64;
        }
        let (latency, faults, cut) = if answer.replies {
            self.plan(reply.len(), message)
        } else {
            (None, Vec::new(), false)
        };
        let answered = Answered {
            message,
            truncated: None,
            answer: &answer,
            reply,
            faults,
        };
        self.recorder
            .record_answered(&self.context, answered, self.sent, answer.close || cut);
        if let Some(why) = &answer.unsendable {
            // Never written raw (a header value with a line break would forge the rest of the
            // response, a body too long for its frame would read as another frame): the
            // connection ends, and says why.
            return Err(io::Error::new(io::ErrorKind::InvalidData, why.to_string()));
        }
        if let Some(delay) = answer.delay {
            match self
                .context
                .wait_for(self.context.scale.pause(delay), self.link)
            {
                Waited::Elapsed => {}
                // The client left: no reply; the next read sees its end.
                Waited::Left => return Ok(true),
                Waited::Stopped => return Ok(false),
            }
        }
        if answer.replies && !self.send(stream, reply, latency)? {
            return Ok(false);
        }
        if answer.close {
            self.close(stream);
            return Ok(false);
        }
        if !answer.lost
            && self
                .server
                .rules
                .get(answer.rule)
                .is_some_and(|r| r.starttls)
        {
            self.upgrading = true;
        }
        Ok(true)
    }

    /// After a `starttls` rule answered: turns the connection to TLS, what was read past the
    /// message going to the handshake (a client that sent its hello at once). False when the
    /// connection ends (the handshake failed, or it was TLS already: recorded).
    fn upgrade_if_asked(&mut self, stream: &mut Transport, pending: &mut Vec<u8>) -> bool {
        if !std::mem::take(&mut self.upgrading) {
            return true;
        }
        if stream.is_tls() {
            let why = "a `starttls` rule matched on a connection that already speaks TLS";
            self.emit(ServerAction::Failed(why.to_string()), true);
            let _ = stream.tcp().shutdown(Shutdown::Both);
            return false;
        }
        let leftover = std::mem::take(pending);
        self.secure(stream, &leftover)
    }

    /// What the faults will do to a write of `len` bytes answering `message`: its extra latency,
    /// the faults in words, and whether the connection will be cut.
    fn plan(&mut self, len: usize, message: &[u8]) -> (Option<Duration>, Vec<AppliedFault>, bool) {
        if !self.injector.active() {
            return (None, Vec::new(), false);
        }
        let mut rng = self.injector.next_rng(message);
        let latency = self.injector.latency(&mut rng);
        let mut faults: Vec<AppliedFault> =
            latency.map(AppliedFault::Latency).into_iter().collect();
        faults.extend(self.injector.write_faults(len));
        let cut = faults
            .iter()
            .any(|f| matches!(f, AppliedFault::CloseAfter(_)));
        (latency, faults, cut)
    }

    /// Writes a reply (or the greeting) after `latency`, through the write faults. Ok(false): the
    /// connection was cut (`close_after`) or the run stopped.
    fn send(
        &mut self,
        stream: &mut Transport,
        bytes: &[u8],
        latency: Option<Duration>,
    ) -> io::Result<bool> {
        if let Some(latency) = latency {
            match self
                .context
                .wait_for(self.context.scale.pause(latency), self.link)
            {
                Waited::Elapsed => {}
                Waited::Left => return Ok(true),
                Waited::Stopped => return Ok(false),
            }
        }
        match self
            .injector
            .write(stream, bytes, self.link, &self.context)?
        {
            // A client that left reads until the server closes: what is left of the reply is
            // not written, and the next read sees its end.
            // Not recorded: whether the client left before or after the last byte went out
            // is timing's, and either way the next read sees its end.
            Written::Whole | Written::Abandoned => Ok(true),
            Written::Cut => {
                self.close(stream);
                Ok(false)
            }
        }
    }

    /// Closes the server's side: a FIN, or a reset under the `reset` fault.
    fn close(&mut self, stream: &mut Transport) {
        self.injector.close(stream, &self.context.cancel);
        if self.injector.resets() {
            self.emit(ServerAction::Fault(AppliedFault::Reset), true);
        }
    }

    fn fail(&mut self, stream: &Transport, error: &io::Error) {
        if self.context.cancel.is_set() {
            return;
        }
        let action = match super::tls::failure_in(error) {
            Some(failure) => ServerAction::TlsFailed(failure.clone()),
            None => ServerAction::Failed(io_reason(error)),
        };
        self.emit(action, true);
        let _ = stream.tcp().shutdown(Shutdown::Both);
    }
}

/// The next complete line of `pending` from `start` (looking for its `\n` from `scan`, where
/// unread bytes begin): its range without the `\n` and a `\r` before it, and where the line
/// after it starts.
fn next_line(pending: &[u8], start: usize, scan: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let end = scan.max(start) + memchr::memchr(b'\n', pending.get(scan.max(start)..)?)?;
    let content = if end > start && pending[end - 1] == b'\r' {
        end - 1
    } else {
        end
    };
    Some((start..content, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_the_rest_kept() {
        let pending = b"one\r\ntwo\nthr";
        let (first, next) = next_line(pending, 0, 0).unwrap_or((0..0, 0));
        assert_eq!(&pending[first], b"one");
        let (second, next) = next_line(pending, next, next).unwrap_or((0..0, 0));
        assert_eq!(&pending[second], b"two");
        assert_eq!(next, 9);
        assert!(
            next_line(pending, next, next).is_none(),
            "`thr` has no newline yet"
        );
        // A line whose start was read earlier: the newline is looked for in the new bytes only.
        let more = b"thr\n";
        let (line, _) = next_line(more, 0, 3).unwrap_or((0..0, 0));
        assert_eq!(&more[line], b"thr");
    }
}
