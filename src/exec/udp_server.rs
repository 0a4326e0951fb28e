//! UDP servers: one thread per server, as the tutorial's `recvfrom`/`sendto` loop. Each datagram
//! is one message (cut to `read_size`, and said so, when it is longer), answered by the rules and
//! replied to its sender. Each sender is a "connection" of its own in the events, so that the
//! transcript can show a client's exchange with the server side by side, as for TCP.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};

use super::context::Context;
use super::faults::Injector;
use super::socket::{self, DatagramResult, MAX_DATAGRAM};
use crate::diagnostic::io_reason;
use crate::event::{ConnectionId, EventKind, Origin, ServerAction, ServerEvent};
use crate::scenario::Server;

/// What the server knows of one sender.
struct Peer<'a> {
    id: ConnectionId,
    sent: u64,
    /// Datagrams each rule matched from this sender (for `lose_first`).
    matched: Vec<u32>,
    /// The server's faults, as they apply to this sender.
    injector: Injector<'a>,
}

/// Serves datagrams on `socket` until the run stops.
pub fn serve_udp(index: usize, server: &Server, socket: UdpSocket, context: Context) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut peers: HashMap<SocketAddr, Peer> = HashMap::new();
    loop {
        let (length, from) = match socket::recv_datagram(&socket, &mut buf, None, &context.cancel) {
            DatagramResult::Datagram(length, from) => (length, from),
            DatagramResult::Stopped => return,
            DatagramResult::Timeout => continue,
            DatagramResult::Failed(e) => {
                // An ICMP error for an earlier reply can surface here: note it, keep serving.
                context.emit(
                    Origin::Server(index),
                    EventKind::AcceptFailed {
                        reason: io_reason(&e),
                    },
                );
                if !context.cancel.sleep(socket::TICK) {
                    return;
                }
                continue;
            }
        };
        let next = peers.len() as u64 + 1;
        let peer = peers.entry(from).or_insert_with(|| {
            let id = ConnectionId {
                server: index,
                seq: next,
            };
            emit(&context, id, 0, ServerAction::Accepted { peer: from });
            Peer {
                id,
                sent: 0,
                matched: Vec::new(),
                injector: Injector::new(&server.faults),
            }
        });
        let truncated = (length > server.read_size).then_some(length);
        let message = buf[..length.min(server.read_size)].to_vec();
        let message_copy = if peer.injector.active() {
            message.clone()
        } else {
            Vec::new()
        };
        let Some(answer) = server.answer(&message, &mut peer.matched) else {
            emit(
                &context,
                peer.id,
                peer.sent,
                ServerAction::Unanswered { message, truncated },
            );
            continue;
        };
        // Faults are decided before the event, so that it says what happens to the reply.
        let mut latency = None;
        let mut copies = 1;
        let mut faults = Vec::new();
        if answer.reply.is_some() && peer.injector.active() {
            let mut rng = peer.injector.next_rng(&message_copy);
            latency = peer.injector.latency(&mut rng);
            if let Some(latency) = latency {
                faults.push(format!("latency {}", humantime::format_duration(latency)));
            }
            if peer.injector.drops(&mut rng) {
                copies = 0;
                faults.push("reply lost (drop)".to_string());
            } else if peer.injector.duplicates(&mut rng) {
                copies = 2;
                faults.push("reply sent twice (duplicate)".to_string());
            }
        }
        let reply_len = answer.reply.as_ref().map_or(0, |r| r.len() as u64);
        peer.sent += reply_len * copies;
        let action = ServerAction::Answered {
            message,
            truncated,
            rule: answer.rule,
            delay: answer.delay,
            reply: answer.reply.clone(),
            close: false,
            lost: answer.lost,
            faults,
        };
        emit(&context, peer.id, peer.sent, action);
        let pause = answer.delay.unwrap_or_default() + latency.unwrap_or_default();
        if !pause.is_zero() && !context.cancel.sleep(context.scale.pause(pause)) {
            return;
        }
        if let Some(reply) = &answer.reply {
            for _ in 0..copies {
                if let Err(e) = socket.send_to(reply, from) {
                    emit(
                        &context,
                        peer.id,
                        peer.sent,
                        ServerAction::Failed(io_reason(&e)),
                    );
                    break;
                }
            }
        }
    }
}

fn emit(context: &Context, id: ConnectionId, sent_total: u64, action: ServerAction) {
    context.emit(
        Origin::Connection(id),
        EventKind::Served(ServerEvent {
            action,
            sent_total,
            closed: false,
        }),
    );
}
