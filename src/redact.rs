//! `redact:` at display time: what a scenario hides of the bytes its transcript shows (a time, an
//! id that changes from run to run), each match shown as `[name]`, so that a transcript and its
//! snapshot stay the same from run to run. Display only: matching, verdicts and what is sent never
//! see it.
//!
//! The rules, in one place:
//! - the scenario's patterns apply first, in the order written, then the client's;
//! - each pattern applies to what the earlier ones left: a placeholder is never matched again, and
//!   no match spans one (to a later pattern, a placeholder is the edge of the text, for `^`, `$`
//!   and `\b` too);
//! - redaction works on the bytes, before they are escaped for display: a placeholder is never
//!   escaped (nor turned into hex), and a match cannot straddle an escape sequence;
//! - a pattern never matches the empty string (validation refuses one that could; an empty match
//!   is skipped here all the same).

use std::borrow::Cow;

use regex::bytes::Regex;

use crate::escape::{self, Part};

/// One entry of `redact:`: what `regex` matches is shown as `[name]`.
#[derive(Debug, Clone)]
pub struct Redaction {
    /// `[name]`.
    placeholder: String,
    regex: Regex,
}

impl Redaction {
    /// The redaction named `name` (checked by validation: a template name) of what `regex`
    /// matches (checked: it cannot match the empty string).
    pub fn new(name: &str, regex: Regex) -> Self {
        Redaction {
            placeholder: format!("[{name}]"),
            regex,
        }
    }

    /// What stands for a match: `[name]`.
    pub fn placeholder(&self) -> &str {
        &self.placeholder
    }
}

/// The redactions that apply to one line of a transcript: the scenario's, then (on a client's
/// section) the client's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Redactions<'a> {
    scenario: &'a [Redaction],
    client: &'a [Redaction],
}

impl<'a> Redactions<'a> {
    /// The scenario's redactions, then the client's.
    pub fn new(scenario: &'a [Redaction], client: &'a [Redaction]) -> Self {
        Redactions { scenario, client }
    }

    /// True when nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.scenario.is_empty() && self.client.is_empty()
    }

    /// `bytes` cut into what is shown and the placeholders of what is hidden, in order.
    pub fn parts<'b>(&self, bytes: &'b [u8]) -> Vec<Part<'b>>
    where
        'a: 'b,
    {
        let mut parts = vec![Part::Bytes(bytes)];
        for redaction in self.scenario.iter().chain(self.client) {
            let mut next = Vec::with_capacity(parts.len());
            for part in parts {
                let Part::Bytes(bytes) = part else {
                    next.push(part);
                    continue;
                };
                let mut at = 0;
                for found in redaction.regex.find_iter(bytes) {
                    if found.is_empty() {
                        continue;
                    }
                    if found.start() > at {
                        next.push(Part::Bytes(&bytes[at..found.start()]));
                    }
                    next.push(Part::Placeholder(&redaction.placeholder));
                    at = found.end();
                }
                if at < bytes.len() {
                    next.push(Part::Bytes(&bytes[at..]));
                }
            }
            parts = next;
        }
        parts
    }

    /// `bytes` shown as escaped text (or hex), what is hidden as its placeholder.
    pub fn show(&self, bytes: &[u8]) -> String {
        if self.is_empty() {
            return escape::show(bytes);
        }
        escape::show_parts(&self.parts(bytes))
    }

    /// `bytes` shown as hex whatever they are (`hex "de ad [id]"`), what is hidden as its
    /// placeholder.
    pub fn hex(&self, bytes: &[u8]) -> String {
        if self.is_empty() {
            return escape::hex(bytes);
        }
        escape::hex_parts(&self.parts(bytes))
    }

    /// The start of `bytes` shown (for a line that says how much more there was): its first
    /// `limit` bytes once redacted, a placeholder kept whole.
    pub fn show_head(&self, bytes: &[u8], limit: usize) -> String {
        if self.is_empty() {
            return escape::show(&bytes[..bytes.len().min(limit)]);
        }
        escape::show_parts(&escape::head(&self.parts(bytes), limit))
    }

    /// `bytes` split after each `\n`, each line shown as by [`Redactions::show`] (for a diff):
    /// the whole is redacted first, so a match may span lines (its placeholder is on the line
    /// where it starts).
    pub fn show_lines(&self, bytes: &[u8]) -> Vec<String> {
        if self.is_empty() {
            return bytes
                .split_inclusive(|b| *b == b'\n')
                .map(escape::show)
                .collect();
        }
        let mut lines = Vec::new();
        let mut line: Vec<Part> = Vec::new();
        for part in self.parts(bytes) {
            let Part::Bytes(bytes) = part else {
                line.push(part);
                continue;
            };
            for piece in bytes.split_inclusive(|b| *b == b'\n') {
                line.push(Part::Bytes(piece));
                if piece.ends_with(b"\n") {
                    lines.push(escape::show_parts(&std::mem::take(&mut line)));
                }
            }
        }
        if !line.is_empty() {
            lines.push(escape::show_parts(&line));
        }
        lines
    }

    /// `bytes` with what is hidden replaced by its placeholder, for text shown without the
    /// escapes of [`Redactions::show`] (a program's output, line by line).
    pub fn bytes<'b>(&self, bytes: &'b [u8]) -> Cow<'b, [u8]>
    where
        'a: 'b,
    {
        if self.is_empty() {
            return Cow::Borrowed(bytes);
        }
        match self.parts(bytes).as_slice() {
            [Part::Bytes(whole)] => Cow::Borrowed(whole),
            parts => Cow::Owned(escape::joined(parts)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redaction(name: &str, pattern: &str) -> Redaction {
        let Ok(regex) = Regex::new(pattern) else {
            panic!("`{pattern}` compiles");
        };
        Redaction::new(name, regex)
    }

    const TIMESTAMP: &str = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?";

    #[test]
    fn a_match_is_shown_as_its_placeholder() {
        let scenario = [redaction("timestamp", TIMESTAMP)];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(
            redact.show(b"at 2024-05-01T10:11:12.345Z: ok\r\n"),
            r#""at [timestamp]: ok\r\n""#
        );
        assert_eq!(
            redact.show(b"2024-05-01T10:11:12Z and 2025-01-02T03:04:05Z"),
            r#""[timestamp] and [timestamp]""#
        );
        // Nothing matched: shown as without `redact:`.
        assert_eq!(redact.show(b"hello\n"), escape::show(b"hello\n"));
    }

    #[test]
    fn the_scenarios_patterns_apply_first_and_overlaps_go_to_the_first() {
        let scenario = [redaction("first", "ab")];
        let client = [redaction("second", "bc"), redaction("third", r"\]c")];
        let redact = Redactions::new(&scenario, &client);
        // `ab` is hidden before `bc` is looked for: the `b` is gone, and `]c` (the end of the
        // placeholder, then `c`) is never matched across the placeholder.
        assert_eq!(redact.show(b"abc bc"), r#""[first]c [second]""#);
        // The client's alone.
        let client_only = Redactions::new(&[], &client);
        assert_eq!(client_only.show(b"abc"), r#""a[second]""#);
        // Within one pattern, matches do not overlap: the leftmost wins.
        let one = [redaction("x", "aa")];
        assert_eq!(Redactions::new(&one, &[]).show(b"aaa"), r#""[x]a""#);
    }

    #[test]
    fn a_placeholder_is_the_edge_of_the_text_for_later_patterns() {
        let scenario = [redaction("id", "id=[0-9]+"), redaction("start", "^x")];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(redact.show(b"xa id=12x"), r#""[start]a [id][start]""#);
    }

    #[test]
    fn the_placeholder_is_never_escaped_and_matches_cannot_straddle_an_escape() {
        // `\r\n` is escaped for display, but the pattern sees the bytes: the match takes the CR
        // and no escape is left half shown.
        let scenario = [redaction("end", "\r\n"), redaction("quote", "\"[a-z]+\"")];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(redact.show(b"a \"q\"\r\nb\\"), r#""a [quote][end]b\\""#);
        // A pattern written for the escaped text (`\\r`, a backslash and an `r`) does not match
        // the byte CR.
        let escaped = [redaction("no", r"\\r")];
        assert_eq!(Redactions::new(&escaped, &[]).show(b"a\r"), r#""a\r""#);
    }

    #[test]
    fn non_utf8_bytes_are_redacted_and_the_rest_shown_as_before() {
        // Binary data stays hex, the placeholder a word in it.
        let scenario = [redaction("session", r"(?-u:\xde\xad)")];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(
            redact.show(&[0x00, 0xde, 0xad, 0x01, 0x02]),
            r#"hex "00 [session] 01 02""#
        );
        // Text whose last character is cut: its bytes are escaped, the placeholder is not.
        let ids = [redaction("id", "id=[0-9]+")];
        assert_eq!(
            Redactions::new(&ids, &[]).show(b"id=42 ok \xe2\x82"),
            r#""[id] ok \xe2\x82""#
        );
        // Random bytes hidden: what is left decides whether it is text, so one run's noise
        // cannot turn the line into hex.
        let noise = [redaction("nonce", r"(?s-u:nonce=.{4})")];
        assert_eq!(
            Redactions::new(&noise, &[]).show(b"nonce=\x00\x9f\xfe\x01 ok\n"),
            r#""[nonce] ok\n""#
        );
    }

    #[test]
    fn long_data_is_cut_outside_placeholders_and_counted_once_redacted() {
        let scenario = [redaction("long", "y+")];
        let redact = Redactions::new(&scenario, &[]);
        let mut data = vec![b'x'; 127];
        data.extend(vec![b'y'; 10]);
        data.extend(vec![b'z'; 600]);
        let shown = redact.show(&data);
        let expected = format!("\"{}[long]\"… (733 bytes once redacted)", "x".repeat(127));
        assert_eq!(shown, expected);
        // With nothing hidden, the count is the bytes'.
        assert!(redact.show(&[b'z'; 600]).ends_with("… (600 bytes)"));
    }

    #[test]
    fn a_head_is_taken_after_the_redaction() {
        let scenario = [redaction("id", "id=[0-9]+")];
        let redact = Redactions::new(&scenario, &[]);
        // The match straddles the cut: its placeholder is shown whole, no digit of it.
        assert_eq!(redact.show_head(b"ab id=123456 cd", 5), r#""ab [id]""#);
        assert_eq!(Redactions::default().show_head(b"ab id=1", 5), r#""ab id""#);
    }

    #[test]
    fn lines_are_cut_after_the_redaction() {
        let scenario = [redaction("pair", "(?s)a\nb")];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(
            redact.show_lines(b"1\na\nb\n2"),
            [r#""1\n""#, r#""[pair]\n""#, r#""2""#]
        );
        // Without redactions: a line after each `\n`, as before.
        let none = Redactions::default();
        assert_eq!(none.show_lines(b"1\n2\n"), [r#""1\n""#, r#""2\n""#]);
    }

    #[test]
    fn bytes_get_the_placeholder_text_for_unescaped_output() {
        let scenario = [redaction("timestamp", TIMESTAMP)];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(
            redact.bytes(b"started 2024-05-01T10:11:12Z\n").as_ref(),
            b"started [timestamp]\n"
        );
        assert!(matches!(redact.bytes(b"nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn an_empty_match_is_skipped() {
        // Validation refuses such a pattern; were one to get through, nothing is inserted.
        let scenario = [redaction("digits", "[0-9]*")];
        let redact = Redactions::new(&scenario, &[]);
        assert_eq!(redact.show(b"ab12c"), r#""ab[digits]c""#);
    }
}
