//! What a transcript line draws in a sequence diagram, typed: the diagram (`report/diagram`)
//! decides on these values, never on a line's words. Each line's drawing is made where its words
//! are (`describe.rs`), from the same event, with the same redaction and hiding.

use std::time::Duration;

use crate::escape::{self, Part};
use crate::event::AppliedFault;
use crate::redact::Redactions;

/// Most bytes of a message kept for its hex view (its text view is the transcript's, which is
/// shortened past `escape::SHOW_LIMIT`).
pub const HEX_LIMIT: usize = 256;

/// A section's lines drawn from its start; past them, only its last `DRAWN_TAIL` lines are,
/// and those between are folded into one row of the diagram (their words are in the
/// transcript). With the transcript's own folding of repeats, this bounds a diagram, and the
/// memory a long conversation's drawing takes (a flood of ever-different messages).
pub const DRAWN_HEAD: usize = 60;

/// See `DRAWN_HEAD`.
pub const DRAWN_TAIL: usize = 12;

/// The lines of a section of `len` lines that are folded (see `DRAWN_HEAD`), failures apart.
fn folded(len: usize) -> std::ops::Range<usize> {
    if len <= DRAWN_HEAD + DRAWN_TAIL {
        0..0
    } else {
        DRAWN_HEAD..len - DRAWN_TAIL
    }
}

/// Lines drawn before a failure in a folded part of a section (what led to it).
const BEFORE_A_FAILURE: usize = 3;

/// Whether line `index` of a section is drawn (see `DRAWN_HEAD`): a failure always is, with
/// the few lines before it.
pub fn is_drawn(entries: &[super::Entry], index: usize) -> bool {
    !folded(entries.len()).contains(&index)
        || entries
            .iter()
            .skip(index)
            .take(BEFORE_A_FAILURE + 1)
            .any(|entry| entry.mark == super::Mark::Failed)
}

/// Drops the arrows of a section's lines that will not be drawn however many lines follow
/// (keeping what places the others in time: each line's tie and pause), from line `from` on;
/// returns where to go on from. Called as lines are added, so that a long section never holds
/// the arrows of more than its drawn lines. (The lines folded now have `DRAWN_TAIL` lines
/// after them, more than `BEFORE_A_FAILURE`: whether one is drawn is known.)
pub fn drop_undrawn(entries: &mut [super::Entry], from: usize) -> usize {
    let sure = folded(entries.len());
    let end = sure.end.max(from);
    for index in sure.start.max(from)..end {
        if !is_drawn(entries, index) {
            entries[index].drawing.arrows = Vec::new();
        }
    }
    end
}

/// What one line draws, besides its words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drawing {
    /// The arrows, in order (a reply then the close that follows it); none: the line is a note
    /// on its actor's lane.
    pub arrows: Vec<Arrow>,
    /// The time the line takes as declared (a sleep, an `expect_nothing`, a rule's delay, a
    /// fault's latency, a slice's pauses): what the diagram's declared time axis adds up.
    pub pause: Duration,
    /// When it happened, measured from the start of the run (a client's lines); never part of
    /// the transcript's text.
    pub at: Option<Duration>,
    /// How many more times it happened, folded into this line (a load loop); 0: once.
    pub more: u64,
    /// How it is tied to the other side's lines, for placing it in time.
    pub tie: Tie,
}

/// How a line is tied to the other side's lines: a diagram places a server's line at the
/// client's line that caused it (a reply to a lost datagram happened when it came, not when
/// the transcript shows it: before the next client step that depended on the server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tie {
    /// Nothing: it follows its own side's line before it.
    #[default]
    None,
    /// A client opened a TCP connection.
    Opened,
    /// A server took a TCP connection (where a sequential server makes a client wait).
    Accepted,
    /// A client sent this many bytes (one datagram over UDP).
    Sent(u64),
    /// A server received a message that took this many bytes on the wire (one datagram over
    /// UDP); `None` when its bytes do not tell (a line without its `\n` or `\r\n`, a varint
    /// frame), and from there its section's messages are not matched to sends.
    Received(Option<u64>),
    /// A client closed or half-closed its side.
    Closed,
    /// A server saw its client close.
    SawClose,
    /// A client's `repeat` went through its later times (their sends are not shown one by one).
    Repeated,
}

/// Which way bytes went, between a section's client (or outside peer) and its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// From the client to the server.
    Server,
    /// From the server to the client.
    Client,
}

/// What an arrow stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrowKind {
    /// A TCP connection opened.
    Connect,
    /// Bytes: a message, a greeting, a reply, or a UDP datagram (`Arrow::datagram`).
    Data,
    /// A close (FIN).
    Fin,
    /// A half-close (`shutdown: write`): no more bytes this way.
    HalfClose,
    /// A reset (RST).
    Reset,
}

/// One arrow between a client and its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// Which way.
    pub toward: Toward,
    /// What it stands for.
    pub kind: ArrowKind,
    /// A UDP datagram (drawn dashed).
    pub datagram: bool,
    /// The bytes it carried, as shown (for `Data`).
    pub label: Option<Label>,
    /// The server's rule that sent it.
    pub rule: Option<usize>,
    /// The declared delay before it was sent (as written, unscaled).
    pub delay: Option<Duration>,
    /// The faults that shaped it.
    pub faults: Vec<AppliedFault>,
    /// It never arrived (a datagram dropped, a message lost to `lose_first`): drawn ending in ✗.
    pub lost: bool,
}

impl Arrow {
    /// An arrow of `kind` with nothing else to say.
    pub const fn plain(toward: Toward, kind: ArrowKind) -> Self {
        Arrow {
            toward,
            kind,
            datagram: false,
            label: None,
            rule: None,
            delay: None,
            faults: Vec::new(),
            lost: false,
        }
    }

    /// Bytes sent `toward`, as a datagram when `datagram`.
    pub fn data(toward: Toward, label: Label, datagram: bool) -> Self {
        Arrow {
            datagram,
            label: Some(label),
            ..Arrow::plain(toward, ArrowKind::Data)
        }
    }
}

/// Bytes as a diagram shows them: the transcript's escaped text, and hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// As the transcript shows them (escaped, redacted, shortened past `SHOW_LIMIT`).
    pub text: String,
    /// Their first `HEX_LIMIT` bytes in hex (redacted), `…` and the length when there were more.
    pub hex: String,
}

impl Label {
    /// The label of `bytes`, redacted with `redact`.
    pub fn of(redact: Redactions, bytes: &[u8]) -> Self {
        let parts = redact.parts(bytes);
        Label::of_parts(&parts, bytes.len())
    }

    /// The label of bytes already cut into parts (`len` bytes in all).
    fn of_parts(parts: &[Part], len: usize) -> Self {
        let mut hex = escape::hex_parts(&escape::head(parts, HEX_LIMIT));
        if len > HEX_LIMIT {
            hex.push_str(&format!("… ({len} bytes)"));
        }
        Label {
            text: escape::show_parts(parts),
            hex,
        }
    }

    /// A label of words, not bytes (`"x" × 1000`, a template as written): the same in both views.
    pub fn words(text: String) -> Self {
        Label {
            hex: text.clone(),
            text,
        }
    }

    /// What a hidden step's bytes show: nothing of them.
    pub fn hidden() -> Self {
        Label::words("(hidden)".to_string())
    }
}
