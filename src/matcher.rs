//! Matchers: what `expect`, `read_to_close` and a server rule's `match` compare received bytes
//! with. Pure functions over byte slices, used by execution; the stream form answers "matched,
//! need more, or can no longer match" so that a TCP `expect` fails as soon as it is hopeless.

use regex::bytes::Regex;

/// A checked matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Exactly these bytes (`hex` tells how the file wrote them, for display).
    Equals {
        /// The bytes.
        bytes: Vec<u8>,
        /// Written as `{ hex: … }`.
        hex: bool,
    },
    /// These bytes somewhere.
    Contains(Vec<u8>),
    /// A regex over the bytes.
    Regex(Regex),
    /// Any N bytes.
    Bytes(usize),
}

/// How far a stream of received bytes is from satisfying a matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Satisfied by the first N bytes; they are consumed.
    Matched(usize),
    /// Not yet, but more bytes could satisfy it.
    NeedMore,
    /// The bytes received can no longer match, whatever follows.
    Hopeless,
}

impl Matcher {
    /// Checks the unconsumed start of a stream. `equals`, `hex` and `bytes` consume exactly their
    /// length; `contains` and `regex` consume up to the end of the first match.
    pub fn progress(&self, received: &[u8]) -> Progress {
        match self {
            Matcher::Equals { bytes, .. } => {
                let common = bytes.len().min(received.len());
                if bytes[..common] != received[..common] {
                    Progress::Hopeless
                } else if received.len() >= bytes.len() {
                    Progress::Matched(bytes.len())
                } else {
                    Progress::NeedMore
                }
            }
            Matcher::Contains(needle) => find(received, needle).map_or(Progress::NeedMore, |at| {
                Progress::Matched(at + needle.len())
            }),
            Matcher::Regex(regex) => regex
                .find(received)
                .map_or(Progress::NeedMore, |m| Progress::Matched(m.end())),
            Matcher::Bytes(n) => {
                if received.len() >= *n {
                    Progress::Matched(*n)
                } else {
                    Progress::NeedMore
                }
            }
        }
    }

    /// Checks a complete message (a server rule's input, or everything `read_to_close` got).
    pub fn matches_whole(&self, message: &[u8]) -> bool {
        match self {
            Matcher::Equals { bytes, .. } => bytes == message,
            Matcher::Contains(needle) => find(message, needle).is_some(),
            Matcher::Regex(regex) => regex.is_match(message),
            Matcher::Bytes(n) => message.len() == *n,
        }
    }

    /// The bytes this matcher expects exactly, if it is an exact matcher (for diffs).
    pub fn exact_bytes(&self) -> Option<&[u8]> {
        match self {
            Matcher::Equals { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// Where `needle` first occurs in `haystack` (vectorized substring search).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equals(text: &str) -> Matcher {
        Matcher::Equals {
            bytes: text.as_bytes().to_vec(),
            hex: false,
        }
    }

    #[test]
    fn equals_needs_more_then_matches_and_leaves_the_rest() {
        let m = equals("Welcome!");
        assert_eq!(m.progress(b"Wel"), Progress::NeedMore);
        assert_eq!(m.progress(b"Welcome!Hello"), Progress::Matched(8));
    }

    #[test]
    fn equals_gives_up_at_the_first_wrong_byte() {
        assert_eq!(equals("Welcome!").progress(b"Wx"), Progress::Hopeless);
    }

    #[test]
    fn contains_and_regex_consume_through_the_match() {
        assert_eq!(
            Matcher::Contains(b"lo".to_vec()).progress(b"hello!"),
            Progress::Matched(5)
        );
        let regex = Regex::new(r"\d+").map(Matcher::Regex);
        assert!(regex.is_ok_and(|m| m.progress(b"ab12;") == Progress::Matched(4)));
    }

    #[test]
    fn progress_is_the_same_however_the_stream_is_cut() {
        let m = equals("Hello, Michael!");
        let stream = b"Hello, Michael!";
        for cut in 0..stream.len() {
            let first = m.progress(&stream[..cut]);
            assert_eq!(first, Progress::NeedMore, "cut at {cut}");
        }
        assert_eq!(m.progress(stream), Progress::Matched(stream.len()));
    }

    #[test]
    fn whole_message_matching() {
        assert!(equals("exit").matches_whole(b"exit"));
        assert!(!equals("exit").matches_whole(b"exit\n"));
        assert!(Matcher::Bytes(3).matches_whole(b"abc"));
        assert!(Matcher::Contains(b"x".to_vec()).matches_whole(b"axb"));
    }
}
