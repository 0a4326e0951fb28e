//! UDP servers: one thread per server, as the tutorial's `recvfrom`/`sendto` loop. Each datagram
//! is one message (cut to `read_size`, and said so, when it is longer), answered by the rules and
//! replied to its sender. Each sender is a "connection" of its own in the events, so that the
//! transcript can show a client's exchange with the server side by side, as for TCP.

use crate::scenario::Conversation;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use super::context::Context;
use super::entrance::Entrance;
use super::faults::Injector;
use super::recorder::{ActionRecorder, Answered, IDLE_FLUSH};
use super::socket::{self, DatagramResult, MAX_DATAGRAM, TimedSocket};
use crate::diagnostic::io_reason;
use crate::event::{ConnectionId, ServerAction, copies, latency_of};
use crate::scenario::MAX_DATAGRAM_PAYLOAD;
use crate::scenario::{Answer, Server};

/// Most senders a UDP server keeps state for: past it, the one heard from least recently is
/// forgotten (its record flushed first), so that a long `netlab serve` that hears from ever new
/// senders stays in bounded memory. No scenario's own clients come near it.
const MAX_PEERS: usize = 4096;

/// What the server knows of one sender.
struct Peer<'a> {
    sent: u64,
    /// When it was last heard from (a count of datagrams, for forgetting the oldest).
    last_heard: u64,
    /// Where its actions are recorded.
    recorder: ActionRecorder,
    /// What the server remembers of this sender (`lose_first` counts, named groups).
    conversation: Conversation,
    /// The server's faults, as they apply to this sender.
    injector: Injector<'a>,
}

/// Serves datagrams on `socket`, one of the server's ways in, until the run stops.
pub fn serve_udp(
    index: usize,
    server: &Server,
    socket: UdpSocket,
    entrance: Entrance,
    context: Context,
) {
    let socket = TimedSocket::new(socket);
    let mut peers: HashMap<SocketAddr, Peer> = HashMap::new();
    serve(index, server, &socket, &entrance, &context, &mut peers);
    for peer in peers.values_mut() {
        peer.recorder.flush(&context);
    }
}

/// Forgets the sender heard from least recently, recording what it held back first.
fn forget_the_oldest(peers: &mut HashMap<SocketAddr, Peer<'_>>, context: &Context) {
    let oldest = peers
        .iter()
        .min_by_key(|(_, peer)| peer.last_heard)
        .map(|(addr, _)| *addr);
    if let Some(mut peer) = oldest.and_then(|addr| peers.remove(&addr)) {
        peer.recorder.flush(context);
    }
}

fn serve<'a>(
    index: usize,
    server: &'a Server,
    socket: &TimedSocket,
    entrance: &Entrance,
    context: &Context,
    peers: &mut HashMap<SocketAddr, Peer<'a>>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    // The reply being sent, rendered into a buffer kept from one datagram to the next.
    let mut reply = Vec::new();
    // Whether a datagram came since every sender's record was last flushed: some sender may hold
    // actions back, so wake soon to record them if all goes quiet. (Asking every sender on every
    // datagram would cost as much as there are senders.)
    let mut holding = false;
    // Datagrams received (senders are numbered by the entrance: never reused).
    let mut heard: u64 = 0;
    loop {
        let flush_at = holding.then(|| Instant::now() + IDLE_FLUSH);
        let (length, from) =
            match socket::recv_datagram(socket, &mut buf, flush_at, &context.cancel) {
                DatagramResult::Datagram(length, from) => (length, from),
                DatagramResult::Stopped => return,
                DatagramResult::Timeout => {
                    for peer in peers.values_mut() {
                        peer.recorder.flush(context);
                    }
                    holding = false;
                    continue;
                }
                DatagramResult::Failed(e) => {
                    // An ICMP error for an earlier reply can surface here: note it, keep serving.
                    if !context.server_failed(index, &e) {
                        return;
                    }
                    continue;
                }
            };
        holding = true;
        heard += 1;
        context.progressed();
        if !peers.contains_key(&from) && peers.len() >= MAX_PEERS {
            forget_the_oldest(peers, context);
        }
        let peer = peers.entry(from).or_insert_with(|| {
            let id = ConnectionId {
                server: index,
                seq: entrance.next_seq(),
            };
            let mut recorder = ActionRecorder::new(id, false);
            let accepted = ServerAction::Accepted {
                peer: from,
                via: entrance.owner,
            };
            recorder.record(context, accepted, 0, false);
            Peer {
                recorder,
                sent: 0,
                last_heard: 0,
                conversation: Conversation::default(),
                injector: Injector::new(&server.faults),
            }
        });
        peer.last_heard = heard;
        let truncated = (length > server.read_size).then_some(length);
        let message = &buf[..length.min(server.read_size)];
        let counts = context
            .rule_counts
            .get(index)
            .map_or(&[][..], Vec::as_slice);
        let Some(answer) = server.answer(message, &mut peer.conversation, counts, &mut reply)
        else {
            peer.recorder
                .record_unanswered(context, message, truncated, peer.sent);
            continue;
        };
        // A UDP rule never closes (`validate` refuses it).
        let answer = Answer {
            close: false,
            ..answer
        };
        // Faults are decided before the event, so that it says what happens to the reply.
        let faults = match answer.replies {
            true => peer.injector.datagram_faults(message),
            false => Vec::new(),
        };
        let latency = latency_of(&faults);
        let mut copies = copies(&faults);
        // A reply no datagram can carry (`{data}` made it so) is not sent, nor counted as sent.
        let too_large = answer.replies && reply.len() as u64 > MAX_DATAGRAM_PAYLOAD;
        if too_large {
            copies = 0;
        }
        if answer.replies {
            peer.sent += reply.len() as u64 * copies;
        }
        let answered = Answered {
            message,
            truncated,
            answer: &answer,
            reply: &reply,
            faults,
        };
        peer.recorder
            .record_answered(context, answered, peer.sent, false);
        // The rule's delay, then the fault's latency, as over TCP: one after the other rather
        // than their sum, which overflows (and panics) for durations each within bounds.
        for pause in [answer.delay, latency].into_iter().flatten() {
            if !context.cancel.sleep(context.scale.pause(pause)) {
                return;
            }
        }
        if too_large {
            let action = ServerAction::Failed(format!(
                "reply too large for one datagram ({} bytes): not sent",
                reply.len()
            ));
            peer.recorder.record(context, action, peer.sent, false);
        }
        if let Some(why) = &answer.unsendable {
            let action = ServerAction::Failed(why.to_string());
            peer.recorder.record(context, action, peer.sent, false);
        }
        if answer.replies {
            for _ in 0..copies {
                if let Err(e) = socket.send_to(&reply, from) {
                    let action = ServerAction::Failed(io_reason(&e));
                    peer.recorder.record(context, action, peer.sent, false);
                    break;
                }
            }
        }
    }
}
