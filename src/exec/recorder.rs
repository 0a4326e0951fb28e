//! Recording a server's actions on one connection without letting a load grow them: a run of
//! identical actions (a load loop's echo) is recorded once and then as a count (`Repeated`), and
//! over TCP consecutive messages no rule matched are one `Unanswered` event that keeps only
//! their first `RECORDED_BYTES` (a bulk transfer is counted, not stored). What is held back is
//! recorded as soon as something else happens, the connection ends, or it has been idle for
//! `IDLE_FLUSH`; the transcript adds up counts that an idle moment split.

use std::time::Duration;

use super::context::Context;
use crate::event::{ConnectionId, EventKind, Origin, ServerAction, ServerEvent};

/// Most bytes of consecutive unanswered TCP messages kept in the event.
pub const RECORDED_BYTES: usize = 64 * 1024;

/// How long a connection may be idle before what is held back is recorded (so that the live
/// view and the end of a run are not held up by it).
pub const IDLE_FLUSH: Duration = Duration::from_millis(1);

/// Unanswered TCP messages in a row, merged.
struct Unanswered {
    message: Vec<u8>,
    unrecorded: u64,
    sent_total: u64,
}

/// The recorder of one server connection (or, for UDP, one sender).
pub struct ActionRecorder {
    id: ConnectionId,
    /// Merge consecutive unanswered messages (TCP: a stream's cuts mean nothing).
    merge_unanswered: bool,
    /// The last action recorded in full, to tell a repeat.
    last: Option<ServerAction>,
    /// Identical repeats of `last` not recorded yet: how many, how many were messages, and the
    /// byte count after the last of them.
    held: u64,
    held_messages: u64,
    held_sent_total: u64,
    unanswered: Option<Unanswered>,
}

impl ActionRecorder {
    /// A recorder for connection `id`; `merge_unanswered` for TCP.
    pub fn new(id: ConnectionId, merge_unanswered: bool) -> ActionRecorder {
        ActionRecorder {
            id,
            merge_unanswered,
            last: None,
            held: 0,
            held_messages: 0,
            held_sent_total: 0,
            unanswered: None,
        }
    }

    /// Records `action`, after which the server had sent `sent_total` bytes and, if `closed`,
    /// closed its side.
    pub fn record(
        &mut self,
        context: &Context,
        action: ServerAction,
        sent_total: u64,
        closed: bool,
    ) {
        if self.merge_unanswered
            && !closed
            && let ServerAction::Unanswered { message, .. } = &action
        {
            self.flush_repeats(context);
            let merged = self.unanswered.get_or_insert_with(|| Unanswered {
                message: Vec::new(),
                unrecorded: 0,
                sent_total,
            });
            let room = RECORDED_BYTES.saturating_sub(merged.message.len());
            let kept = message.len().min(room);
            merged.message.extend_from_slice(&message[..kept]);
            merged.unrecorded += (message.len() - kept) as u64;
            merged.sent_total = sent_total;
            return;
        }
        if !closed && self.unanswered.is_none() && self.last.as_ref() == Some(&action) {
            self.held += 1;
            if is_message(&action) {
                self.held_messages += 1;
            }
            self.held_sent_total = sent_total;
            return;
        }
        self.flush(context);
        // Only small actions are remembered to tell a repeat: a bulk reply is never copied.
        self.last = (payload_len(&action) <= RECORDED_BYTES).then(|| action.clone());
        self.emit(context, action, sent_total, closed);
    }

    /// True when something is held back (the connection should wake within `IDLE_FLUSH`).
    pub fn is_holding(&self) -> bool {
        self.held > 0 || self.unanswered.is_some()
    }

    /// Records whatever is held back.
    pub fn flush(&mut self, context: &Context) {
        self.flush_repeats(context);
        if let Some(merged) = self.unanswered.take() {
            let action = ServerAction::Unanswered {
                message: merged.message,
                truncated: None,
                unrecorded: merged.unrecorded,
            };
            self.emit(context, action, merged.sent_total, false);
            // A later unanswered message is not a repeat of this merged one.
            self.last = None;
        }
    }

    fn flush_repeats(&mut self, context: &Context) {
        if self.held > 0 {
            let action = ServerAction::Repeated {
                times: self.held,
                messages: self.held_messages,
            };
            self.emit(context, action, self.held_sent_total, false);
            self.held = 0;
            self.held_messages = 0;
        }
    }

    fn emit(&self, context: &Context, action: ServerAction, sent_total: u64, closed: bool) {
        context.emit(
            Origin::Connection(self.id),
            EventKind::Served(ServerEvent {
                action,
                sent_total,
                closed,
            }),
        );
    }
}

/// The bytes an action carries.
fn payload_len(action: &ServerAction) -> usize {
    match action {
        ServerAction::Answered { message, reply, .. } => {
            message.len() + reply.as_ref().map_or(0, Vec::len)
        }
        ServerAction::Unanswered { message, .. } => message.len(),
        _ => 0,
    }
}

/// Whether an action is the handling of a received message.
fn is_message(action: &ServerAction) -> bool {
    matches!(
        action,
        ServerAction::Answered { .. } | ServerAction::Unanswered { .. }
    )
}
