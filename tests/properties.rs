//! Properties checked on many generated inputs (proptest): the pure parts of netlab must not
//! depend on how a stream is cut, and what netlab writes must read back as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test should fail loudly

use netlab::escape::hex;
use netlab::matcher::{Matcher, Progress};
use netlab::scenario::fill;
use netlab::scenario::payload::parse_template;
use netlab::scenario::visitors::parse_hex;
use proptest::prelude::*;

proptest! {
    /// An exact expect gives the same answer however the received bytes are cut: "need more"
    /// on every strict prefix, matched on the whole, whatever follows.
    #[test]
    fn exact_matching_does_not_depend_on_chunking(expected in prop::collection::vec(any::<u8>(), 1..64), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let matcher = Matcher::Equals { bytes: expected.clone(), hex: false };
        let mut stream = expected.clone();
        stream.extend_from_slice(&tail);
        for cut in 0..expected.len() {
            prop_assert_eq!(matcher.progress(&stream[..cut]), Progress::NeedMore);
        }
        for cut in expected.len()..=stream.len() {
            prop_assert_eq!(matcher.progress(&stream[..cut]), Progress::Matched(expected.len()));
        }
    }

    /// A wrong byte is caught at once, however early it comes.
    #[test]
    fn a_wrong_byte_is_hopeless_at_once(expected in prop::collection::vec(any::<u8>(), 1..64), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let at = at.index(expected.len());
        let mut received = expected[..=at].to_vec();
        received[at] ^= flip;
        let matcher = Matcher::Equals { bytes: expected, hex: false };
        prop_assert_eq!(matcher.progress(&received), Progress::Hopeless);
    }

    /// Hex as transcripts show it reads back as the same bytes.
    #[test]
    fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let shown = hex(&bytes);
        let digits = shown.trim_start_matches("hex \"").trim_end_matches('"');
        prop_assert_eq!(parse_hex(digits).unwrap(), bytes);
    }

    /// Any text, its braces doubled, is a reply template that renders as the text itself.
    #[test]
    fn escaped_text_is_its_own_reply(text in "\\PC*") {
        let escaped = text.replace('{', "{{").replace('}', "}}");
        let reply = parse_template(&escaped).unwrap();
        prop_assert_eq!(reply.render(b"ignored"), text.as_bytes().to_vec());
        prop_assert_eq!(fill(&escaped, &|_| None).unwrap(), text);
    }

    /// `{data}` is replaced by exactly the message received.
    #[test]
    fn data_is_the_message(prefix in "[a-z ]{0,8}", message in prop::collection::vec(any::<u8>(), 0..32)) {
        let reply = parse_template(&format!("{prefix}{{data}}!")).unwrap();
        let mut expected = prefix.into_bytes();
        expected.extend_from_slice(&message);
        expected.push(b'!');
        prop_assert_eq!(reply.render(&message), expected);
    }
}
