//! Properties checked on many generated inputs (proptest): the pure parts of netlab must not
//! depend on how a stream is cut, and what netlab writes must read back as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test should fail loudly

use netlab::escape::hex;
use netlab::matcher::{Matcher, Progress, StreamRegex};
use netlab::scenario::Reply;
use netlab::scenario::parse_hex;
use netlab::template::{self, Syntax};
use proptest::prelude::*;

/// The matchers whose stream answers must not depend on how the stream is cut: exact ones and
/// regexes whose matches more bytes can extend (`[A-Z]+`, `\\d+`, greedy `a.*b`) or not.
fn cut_sensitive_matchers() -> Vec<Matcher> {
    let mut matchers = vec![
        Matcher::Equals {
            bytes: b"OK".to_vec(),
            hex: false,
        },
        Matcher::Contains(b"GO".to_vec()),
        Matcher::Bytes(3),
    ];
    for pattern in [
        r"[A-Z]+", r"\d+", r"a.*b", r"a.*?b", r"OK|OKGO", r"\d+;", r"^O", r"K$", r"\bGO\b",
    ] {
        matchers.push(Matcher::Regex(StreamRegex::new(
            regex::bytes::Regex::new(pattern).unwrap(),
        )));
    }
    matchers
}

/// What a reading step decides when the stream arrives in these pieces: a final answer as soon
/// as one is given, else (the peer closed) what the whole matches.
fn decided(matcher: &Matcher, pieces: &[&[u8]]) -> Progress {
    let mut received = Vec::new();
    for piece in pieces {
        received.extend_from_slice(piece);
        match matcher.progress(&received, false) {
            Progress::NeedMore => continue,
            answer => return answer,
        }
    }
    matcher.progress(&received, true)
}

proptest! {
    /// Every matcher decides the same, and consumes the same length, however recv() cut the
    /// stream: as if the whole stream had arrived at once.
    #[test]
    fn matching_is_decided_as_if_the_whole_stream_had_arrived(
        stream in prop::collection::vec(prop::sample::select(b"aAbOKG0123; x".to_vec()), 0..24),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        at.push(0);
        at.push(stream.len());
        at.sort_unstable();
        at.dedup();
        let pieces: Vec<&[u8]> = at.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
        for matcher in cut_sensitive_matchers() {
            let whole = decided(&matcher, &[&stream]);
            prop_assert_eq!(decided(&matcher, &pieces), whole, "{:?} on {:?} cut at {:?}", matcher, String::from_utf8_lossy(&stream), at);
        }
    }

    /// An exact expect gives the same answer however the received bytes are cut: "need more"
    /// on every strict prefix, matched on the whole, whatever follows.
    #[test]
    fn exact_matching_does_not_depend_on_chunking(expected in prop::collection::vec(any::<u8>(), 1..64), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let matcher = Matcher::Equals { bytes: expected.clone(), hex: false };
        let mut stream = expected.clone();
        stream.extend_from_slice(&tail);
        for cut in 0..expected.len() {
            prop_assert_eq!(matcher.progress(&stream[..cut], false), Progress::NeedMore);
        }
        for cut in expected.len()..=stream.len() {
            prop_assert_eq!(matcher.progress(&stream[..cut], false), Progress::Matched(expected.len()));
        }
    }

    /// A wrong byte is caught at once, however early it comes.
    #[test]
    fn a_wrong_byte_is_hopeless_at_once(expected in prop::collection::vec(any::<u8>(), 1..64), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let at = at.index(expected.len());
        let mut received = expected[..=at].to_vec();
        received[at] ^= flip;
        let matcher = Matcher::Equals { bytes: expected, hex: false };
        prop_assert_eq!(matcher.progress(&received, false), Progress::Hopeless);
    }

    /// Hex as transcripts show it reads back as the same bytes.
    #[test]
    fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let shown = hex(&bytes);
        let digits = shown.trim_start_matches("hex \"").trim_end_matches('"');
        prop_assert_eq!(parse_hex(digits).unwrap(), bytes);
    }

    /// Any text, escaped, is a template that renders as the text itself (a reply too).
    #[test]
    fn escaped_text_is_its_own_template(text in "[{}a-z\"]{0,24}|\\PC*") {
        let escaped = template::escape(&text);
        let reply = Reply::from_pieces(template::pieces(&escaped, Syntax::Text), &[]);
        prop_assert_eq!(reply.render(b"ignored", &[]), Ok(text.as_bytes().to_vec()));
        prop_assert_eq!(template::render(&escaped, Syntax::Text, &|_| None).unwrap(), text);
    }

    /// `{data}` is replaced by exactly the message received.
    #[test]
    fn data_is_the_message(prefix in "[a-z ]{0,8}", message in prop::collection::vec(any::<u8>(), 0..32)) {
        let reply = Reply::from_pieces(template::pieces(&format!("{prefix}{{data}}!"), Syntax::Text), &[]);
        let mut expected = prefix.into_bytes();
        expected.extend_from_slice(&message);
        expected.push(b'!');
        prop_assert_eq!(reply.render(&message, &[]), Ok(expected));
    }
}
