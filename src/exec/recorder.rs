//! Recording a server's actions on one connection without letting a load grow them: a run of
//! identical actions (a load loop's echo) is recorded in full `SHOWN_IN_FULL` times and then as
//! a count (`Repeated`), and
//! over TCP consecutive messages no rule matched are one `Unanswered` event that keeps only
//! their first `RECORDED_BYTES` (a bulk transfer is counted, not stored); past `RECORD_BUDGET`
//! bytes recorded on a connection, messages are only counted (`Unrecorded`). What is held back
//! is recorded as soon as something else happens, the connection ends, or it has been idle for
//! `IDLE_FLUSH`; the transcript adds up counts that an idle moment split. Answers and unanswered
//! messages come in as borrowed bytes, copied only when they are recorded.

use std::time::Duration;

use super::context::Context;
use crate::event::{
    AppliedFault, ConnectionId, RECORD_BUDGET, RECORDED_BYTES, ServerAction, keep_unanswered,
};
use crate::scenario::Answer;

/// A run of identical actions is recorded in full this many times, then counted: a few steps
/// that send the same thing read as they happened; a load loop is counted.
pub const SHOWN_IN_FULL: u64 = 4;

/// How long a connection may be idle before what is held back is recorded (so that the live
/// view and the end of a run are not held up by it).
pub const IDLE_FLUSH: Duration = Duration::from_millis(1);

/// Messages counted once the record is full.
#[derive(Default)]
struct Counted {
    messages: u64,
    received: u64,
    sent: u64,
    sent_total: u64,
}

/// An answered message, borrowed from the connection's buffers.
pub struct Answered<'a> {
    /// The message.
    pub message: &'a [u8],
    /// The real length of a UDP datagram longer than `read_size`.
    pub truncated: Option<usize>,
    /// The rule's answer.
    pub answer: &'a Answer,
    /// The reply's bytes (when the answer replies).
    pub reply: &'a [u8],
    /// Faults applied to the reply, in words.
    pub faults: Vec<AppliedFault>,
}

impl Answered<'_> {
    /// Whether `action` is this very answer.
    fn is(&self, action: &ServerAction) -> bool {
        let ServerAction::Answered {
            message,
            truncated,
            rule,
            delay,
            reply,
            close,
            lost,
            faults,
        } = action
        else {
            return false;
        };
        let answer = self.answer;
        message.as_slice() == self.message
            && *truncated == self.truncated
            && *rule == answer.rule
            && *delay == answer.delay
            && reply.as_deref() == answer.replies.then_some(self.reply)
            && *close == answer.close
            && *lost == answer.lost
            && *faults == self.faults
    }
}

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
    /// How many times in a row `last` has happened so far (recorded or held).
    streak: u64,
    /// Identical repeats of `last` not recorded yet: how many, how many were messages, and the
    /// byte count after the last of them.
    held: u64,
    held_messages: u64,
    held_sent_total: u64,
    unanswered: Option<Unanswered>,
    /// Bytes of messages and replies recorded so far.
    recorded: u64,
    /// Messages handled past `RECORD_BUDGET`, not recorded yet as a count.
    unrecorded: Option<Counted>,
}

impl ActionRecorder {
    /// A recorder for connection `id`; `merge_unanswered` for TCP.
    pub fn new(id: ConnectionId, merge_unanswered: bool) -> ActionRecorder {
        ActionRecorder {
            id,
            merge_unanswered,
            last: None,
            streak: 0,
            held: 0,
            held_messages: 0,
            held_sent_total: 0,
            unanswered: None,
            recorded: 0,
            unrecorded: None,
        }
    }

    /// Records an action that is not a message (accepted, greeting, close, failure, fault),
    /// after which the server had sent `sent_total` bytes and, if `closed`, closed its side.
    /// Messages go through `record_answered` and `record_unanswered`.
    pub fn record(
        &mut self,
        context: &Context,
        action: ServerAction,
        sent_total: u64,
        closed: bool,
    ) {
        debug_assert!(!is_message(&action), "a message recorded as a plain action");
        let same = !closed && self.unanswered.is_none() && self.last.as_ref() == Some(&action);
        if self.held_back(same, false, sent_total) {
            return;
        }
        self.record_new(context, action, sent_total, closed, same);
    }

    /// Records an answered message from borrowed parts: nothing is copied when it repeats the
    /// last action, or once the record is full (the data path of a load).
    pub fn record_answered(
        &mut self,
        context: &Context,
        answered: Answered<'_>,
        sent_total: u64,
        closed: bool,
    ) {
        let reply = answered.answer.replies.then_some(answered.reply);
        if !closed && self.recorded >= RECORD_BUDGET {
            let (received, sent) = (answered.message.len(), reply.map_or(0, <[u8]>::len));
            return self.count_unrecorded(context, received as u64, sent as u64, sent_total);
        }
        let same = !closed
            && self.unanswered.is_none()
            && self.last.as_ref().is_some_and(|last| answered.is(last));
        if self.held_back(same, true, sent_total) {
            return;
        }
        let action = ServerAction::Answered {
            message: answered.message.to_vec(),
            truncated: answered.truncated,
            rule: answered.answer.rule,
            delay: answered.answer.delay,
            reply: reply.map(<[u8]>::to_vec),
            close: answered.answer.close,
            lost: answered.answer.lost,
            faults: answered.faults,
        };
        self.record_new(context, action, sent_total, closed, same);
    }

    /// Records a message no rule matched, from a borrowed slice: over TCP it joins the
    /// unanswered messages before it, keeping only their first `RECORDED_BYTES`.
    pub fn record_unanswered(
        &mut self,
        context: &Context,
        message: &[u8],
        truncated: Option<usize>,
        sent_total: u64,
    ) {
        if self.recorded >= RECORD_BUDGET {
            return self.count_unrecorded(context, message.len() as u64, 0, sent_total);
        }
        if self.merge_unanswered {
            // Over a stream, the budget is charged by the bytes received, as they come, and cut
            // at the exact byte where it is full: where recv() and idle moments cut the stream
            // into messages and records then changes nothing of what is recorded.
            let in_budget = usize::try_from(RECORD_BUDGET - self.recorded).unwrap_or(usize::MAX);
            let (recorded, counted) = message.split_at(message.len().min(in_budget));
            self.flush_repeats(context);
            let merged = self.unanswered.get_or_insert_with(|| Unanswered {
                message: Vec::new(),
                unrecorded: 0,
                sent_total,
            });
            merged.unrecorded += keep_unanswered(&mut merged.message, recorded);
            merged.sent_total = sent_total;
            self.recorded += recorded.len() as u64;
            if !counted.is_empty() {
                self.count_unrecorded(context, counted.len() as u64, 0, sent_total);
            }
            return;
        }
        let same = self.unanswered.is_none()
            && matches!(
                &self.last,
                Some(ServerAction::Unanswered { message: last, truncated: cut, unrecorded: 0 })
                    if last.as_slice() == message && *cut == truncated
            );
        if self.held_back(same, true, sent_total) {
            return;
        }
        let action = ServerAction::Unanswered {
            message: message.to_vec(),
            truncated,
            unrecorded: 0,
        };
        self.record_new(context, action, sent_total, false, same);
    }

    /// Holds back an action that is the `same` as the last, once its run has been recorded in
    /// full `SHOWN_IN_FULL` times: true if it was held (counted), false if it is to be recorded.
    fn held_back(&mut self, same: bool, message: bool, sent_total: u64) -> bool {
        if !same || self.streak < SHOWN_IN_FULL {
            return false;
        }
        self.streak += 1;
        self.held += 1;
        if message {
            self.held_messages += 1;
        }
        self.held_sent_total = sent_total;
        true
    }

    /// One more message past the record's budget, counted.
    fn count_unrecorded(&mut self, context: &Context, received: u64, sent: u64, sent_total: u64) {
        self.flush_repeats(context);
        self.flush_unanswered(context);
        let counted = self.unrecorded.get_or_insert_with(Counted::default);
        counted.messages += 1;
        counted.received += received;
        counted.sent += sent;
        counted.sent_total = sent_total;
    }

    /// Records an action in full (the `same` as the last one, early in its run, or another):
    /// what is held back goes first.
    fn record_new(
        &mut self,
        context: &Context,
        action: ServerAction,
        sent_total: u64,
        closed: bool,
        same: bool,
    ) {
        self.flush(context);
        self.streak = if same { self.streak + 1 } else { 1 };
        // Only small actions are remembered to tell a repeat: a bulk reply is never copied.
        self.last = (payload_len(&action) <= RECORDED_BYTES).then(|| action.clone());
        self.emit(context, action, sent_total, closed);
    }

    /// True when something is held back (the connection should wake within `IDLE_FLUSH`).
    pub fn is_holding(&self) -> bool {
        self.held > 0 || self.unanswered.is_some() || self.unrecorded.is_some()
    }

    /// Records whatever is held back.
    pub fn flush(&mut self, context: &Context) {
        self.flush_repeats(context);
        self.flush_unanswered(context);
        if let Some(counted) = self.unrecorded.take() {
            let action = ServerAction::Unrecorded {
                messages: counted.messages,
                received: counted.received,
                sent: counted.sent,
            };
            self.emit(context, action, counted.sent_total, false);
        }
    }

    fn flush_unanswered(&mut self, context: &Context) {
        if let Some(merged) = self.unanswered.take() {
            let action = ServerAction::Unanswered {
                message: merged.message,
                truncated: None,
                unrecorded: merged.unrecorded,
            };
            // Its bytes were charged to the budget as they were merged.
            self.send_event(context, action, merged.sent_total, false);
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

    fn emit(&mut self, context: &Context, action: ServerAction, sent_total: u64, closed: bool) {
        self.recorded += payload_len(&action) as u64;
        self.send_event(context, action, sent_total, closed);
    }

    /// Records an action whose bytes are already charged to the budget (or carry none).
    fn send_event(&self, context: &Context, action: ServerAction, sent_total: u64, closed: bool) {
        context.served(self.id, action, sent_total, closed);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::EventKind;
    use crate::exec::cancel;
    use crate::exec::context::EventSink;
    use crate::exec::pool::Jobs;
    use crate::plan::TimeScale;

    fn context() -> (Context, Arc<EventSink>, cancel::StopHandle) {
        let (sink, _doorbell) = EventSink::new();
        let (stop, cancel) = cancel::pair();
        let context = Context {
            events: sink.clone(),
            cancel,
            started: std::time::Instant::now(),
            scale: TimeScale::default(),
            deadline: None,
            jobs: Jobs::default(),
            activity: Arc::default(),
            leaving: Arc::default(),
            rule_counts: Arc::default(),
            tls: Arc::default(),
        };
        (context, sink, stop)
    }

    fn recorded(sink: &EventSink) -> Vec<(ServerAction, u64)> {
        let mut out = Vec::new();
        while let Some(event) = sink.pop() {
            if let EventKind::Served(served) = event.kind {
                out.push((served.action, served.sent_total));
            }
        }
        out
    }

    fn echo(text: &str) -> ServerAction {
        ServerAction::Answered {
            message: text.as_bytes().to_vec(),
            truncated: None,
            rule: 0,
            delay: None,
            reply: Some(text.as_bytes().to_vec()),
            close: false,
            lost: false,
            faults: Vec::new(),
        }
    }

    /// A rule that echoes the message.
    const ECHOED: Answer = Answer {
        rule: 0,
        delay: None,
        replies: true,
        close: false,
        lost: false,
        unsendable: None,
    };

    /// `message` answered by `ECHOED`, as a server hands it to the recorder.
    fn answered(message: &'static [u8]) -> Answered<'static> {
        Answered {
            message,
            truncated: None,
            answer: &ECHOED,
            reply: message,
            faults: Vec::new(),
        }
    }

    fn id() -> ConnectionId {
        ConnectionId { server: 0, seq: 1 }
    }

    #[test]
    fn identical_actions_are_recorded_in_full_a_few_times_then_counted() {
        let (context, sink, _stop) = context();
        let mut recorder = ActionRecorder::new(id(), true);
        for n in 1..=8 {
            recorder.record_answered(&context, answered(b"ping"), n * 4, false);
        }
        assert!(recorder.is_holding());
        recorder.record_answered(&context, answered(b"other"), 37, false);
        recorder.record(&context, ServerAction::PeerClosed, 37, true);
        assert!(!recorder.is_holding());
        let repeated = ServerAction::Repeated {
            times: 4,
            messages: 4,
        };
        assert_eq!(
            recorded(&sink),
            vec![
                (echo("ping"), 4),
                (echo("ping"), 8),
                (echo("ping"), 12),
                (echo("ping"), 16),
                (repeated, 32),
                (echo("other"), 37),
                (ServerAction::PeerClosed, 37)
            ]
        );
    }

    #[test]
    fn unanswered_tcp_messages_are_merged_and_capped() {
        let (context, sink, _stop) = context();
        let mut recorder = ActionRecorder::new(id(), true);
        let chunk = vec![b'x'; 40 * 1024];
        for _ in 0..3 {
            recorder.record_unanswered(&context, &chunk, None, 0);
        }
        recorder.flush(&context);
        let events = recorded(&sink);
        assert_eq!(events.len(), 1);
        let ServerAction::Unanswered {
            message,
            unrecorded,
            ..
        } = &events[0].0
        else {
            panic!("{events:?}");
        };
        assert_eq!(message.len(), RECORDED_BYTES);
        assert_eq!(message.len() as u64 + unrecorded, 3 * 40 * 1024);
    }

    #[test]
    fn udp_messages_are_not_merged_but_repeats_are_counted() {
        let (context, sink, _stop) = context();
        let mut recorder = ActionRecorder::new(id(), false);
        let datagram = |text: &str| ServerAction::Unanswered {
            message: text.as_bytes().to_vec(),
            truncated: None,
            unrecorded: 0,
        };
        for text in ["a", "b", "b", "b", "b", "b"] {
            recorder.record_unanswered(&context, text.as_bytes(), None, 0);
        }
        recorder.flush(&context);
        let actions: Vec<ServerAction> = recorded(&sink).into_iter().map(|(a, _)| a).collect();
        assert_eq!(
            actions,
            vec![
                datagram("a"),
                datagram("b"),
                datagram("b"),
                datagram("b"),
                datagram("b"),
                ServerAction::Repeated {
                    times: 1,
                    messages: 1
                }
            ]
        );
    }

    #[test]
    fn borrowed_answers_repeat_and_past_the_budget_are_counted() {
        let (context, sink, _stop) = context();
        let mut recorder = ActionRecorder::new(id(), true);
        for n in 1..=5 {
            recorder.record_answered(&context, answered(b"ping"), n * 4, false);
        }
        // A bulk answer (message and reply: the budget) fills the record; what follows is
        // counted.
        let bulk = vec![b'x'; RECORD_BUDGET as usize / 2];
        let big = Answered {
            message: &bulk,
            truncated: None,
            answer: &ECHOED,
            reply: &bulk,
            faults: Vec::new(),
        };
        recorder.record_answered(&context, big, 20 + bulk.len() as u64, false);
        recorder.record_answered(&context, answered(b"pong"), 24, false);
        recorder.record_answered(&context, answered(b"pang"), 28, false);
        recorder.flush(&context);
        let actions: Vec<ServerAction> = recorded(&sink).into_iter().map(|(a, _)| a).collect();
        assert_eq!(actions.len(), 7, "{:?}", &actions[..1]);
        assert_eq!(actions[..4], vec![echo("ping"); 4]);
        assert_eq!(
            actions[4],
            ServerAction::Repeated {
                times: 1,
                messages: 1
            }
        );
        assert!(matches!(actions[5], ServerAction::Answered { .. }));
        assert_eq!(
            actions[6],
            ServerAction::Unrecorded {
                messages: 2,
                received: 8,
                sent: 8
            }
        );
    }
}
