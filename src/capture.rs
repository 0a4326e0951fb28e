//! Values carried from one message to the next: what a reading step saves (`capture:`), and the
//! texts of later steps that use them (`{token}` in a send or a matcher), filled when the step
//! runs. Pure: bytes in, bytes out; which name is known where is `validate`'s to decide.

use std::ops::Range;

use regex::bytes::Regex;

/// A value a reading step saves from the bytes it matched, for its instance's later steps.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Its name, as templates write it (`{token}`).
    pub name: String,
    /// Where the instance keeps it (`Client::captures` lists the names by slot).
    pub slot: usize,
    /// How the value is taken.
    pub from: CaptureFrom,
}

/// How a value is taken from the bytes a step matched.
#[derive(Debug, Clone)]
pub enum CaptureFrom {
    /// The text of a group of the first match of a regex (group 0: the whole match).
    Regex {
        /// The regex, compiled at load time.
        regex: Regex,
        /// The group's index (a named group was resolved at load time).
        group: usize,
    },
    /// The bytes from `start` to `end` (exclusive; `None`: to the end of what was matched).
    Bytes {
        /// The first byte.
        start: usize,
        /// Past the last byte.
        end: Option<usize>,
    },
    /// An integer decoded from the bytes at `offset`, kept as its decimal text.
    Integer {
        /// How it is written.
        kind: IntKind,
        /// Where it starts.
        offset: usize,
    },
}

/// How an integer is written in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    /// `width` bytes, unsigned or signed (two's complement), big- or little-endian.
    Fixed {
        /// 1, 2, 4 or 8 bytes.
        width: usize,
        /// Two's complement.
        signed: bool,
        /// Most significant byte first.
        big_endian: bool,
    },
    /// An unsigned LEB128 varint (protobuf's): 7 bits a byte, low bits first, at most 10 bytes.
    Varint,
}

/// The integer kinds a file may name, with their meaning.
pub const INT_KINDS: &[(&str, IntKind)] = &[
    ("u8", fixed(1, false, true)),
    ("i8", fixed(1, true, true)),
    ("u16be", fixed(2, false, true)),
    ("u16le", fixed(2, false, false)),
    ("i16be", fixed(2, true, true)),
    ("i16le", fixed(2, true, false)),
    ("u32be", fixed(4, false, true)),
    ("u32le", fixed(4, false, false)),
    ("i32be", fixed(4, true, true)),
    ("i32le", fixed(4, true, false)),
    ("u64be", fixed(8, false, true)),
    ("u64le", fixed(8, false, false)),
    ("i64be", fixed(8, true, true)),
    ("i64le", fixed(8, true, false)),
    ("varint", IntKind::Varint),
];

const fn fixed(width: usize, signed: bool, big_endian: bool) -> IntKind {
    IntKind::Fixed {
        width,
        signed,
        big_endian,
    }
}

/// The longest varint: ten bytes carry 64 bits.
const VARINT_MOST: usize = 10;

impl IntKind {
    /// Decodes the integer at the start of `bytes`: its decimal text and how many bytes it took,
    /// or why it cannot.
    pub fn decode(self, bytes: &[u8]) -> Result<(String, usize), String> {
        match self {
            IntKind::Fixed {
                width,
                signed,
                big_endian,
            } => {
                let Some(field) = bytes.get(..width) else {
                    return Err(format!(
                        "{width} bytes are needed and {} are there",
                        bytes.len()
                    ));
                };
                let mut value: u64 = 0;
                let ordered: Vec<u8> = if big_endian {
                    field.to_vec()
                } else {
                    field.iter().rev().copied().collect()
                };
                for byte in ordered {
                    value = (value << 8) | u64::from(byte);
                }
                let text = if signed {
                    // Sign-extend from `width` bytes.
                    let shift = 64 - 8 * width as u32;
                    (((value << shift) as i64) >> shift).to_string()
                } else {
                    value.to_string()
                };
                Ok((text, width))
            }
            IntKind::Varint => {
                let mut value: u64 = 0;
                for (i, &byte) in bytes.iter().take(VARINT_MOST).enumerate() {
                    let bits = u64::from(byte & 0x7f);
                    let shift = 7 * i as u32;
                    if shift == 63 && bits > 1 {
                        return Err("the varint is larger than 64 bits".into());
                    }
                    value |= bits << shift;
                    if byte & 0x80 == 0 {
                        return Ok((value.to_string(), i + 1));
                    }
                }
                if bytes.len() < VARINT_MOST {
                    Err(format!(
                        "the varint does not end within the {} bytes there",
                        bytes.len()
                    ))
                } else {
                    Err(format!(
                        "the varint does not end within {VARINT_MOST} bytes"
                    ))
                }
            }
        }
    }
}

impl Capture {
    /// The value this capture takes from `matched`, and where it sits in it; or why there is
    /// none (the step then fails: a later step would use a value that is not there).
    pub fn take(&self, matched: &[u8]) -> Result<(Range<usize>, Vec<u8>), String> {
        match &self.from {
            CaptureFrom::Regex { regex, group } => {
                let searched = &matched[..matched.len().min(CAPTURE_SEARCH)];
                let Some(found) = regex.captures(searched) else {
                    return Err(format!(
                        "`{}` found nothing in the bytes the step matched (their first 64 KiB)",
                        shortened(regex.as_str())
                    ));
                };
                let Some(group) = found.get(*group) else {
                    return Err(format!(
                        "group {group} of `{}` took no part in the match",
                        shortened(regex.as_str())
                    ));
                };
                Ok((group.range(), group.as_bytes().to_vec()))
            }
            CaptureFrom::Bytes { start, end } => {
                let end = end.unwrap_or(matched.len());
                if end > matched.len() || *start > end {
                    return Err(format!(
                        "bytes {start} to {end} were asked for and the step matched {}",
                        matched.len()
                    ));
                }
                Ok((*start..end, matched[*start..end].to_vec()))
            }
            CaptureFrom::Integer { kind, offset } => {
                let Some(rest) = matched.get(*offset..) else {
                    return Err(format!(
                        "offset {offset} is past the {} bytes the step matched",
                        matched.len()
                    ));
                };
                let (text, width) = kind
                    .decode(rest)
                    .map_err(|why| format!("at offset {offset}: {why}"))?;
                Ok((*offset..offset + width, text.into_bytes()))
            }
        }
    }
}

/// A regex's text for a message: its first 60 characters.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// How far into what its step matched a regex capture searches (and a server's named groups into
/// a message): finding groups costs time in proportion to the text times the regex, and a regex
/// cannot be stopped midway, so the text is bounded instead of the wait.
pub const CAPTURE_SEARCH: usize = 64 * 1024;

/// The most groups a regex that captures may have (a capture's, or a server regex with named
/// groups): each group is carried through the whole search.
pub const MOST_GROUPS: usize = 32;

/// The values an instance has captured so far, by slot (`None`: not yet).
pub type Values = [Option<Vec<u8>>];

/// A text that uses captured values: literal bytes and the values' places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// In order.
    pub pieces: Vec<FillPiece>,
    /// Sent as one frame (`send: { frame: … }`): the frame is made once the values are in.
    pub frame: Option<crate::framing::Frames>,
}

/// A piece of a [`Filled`] text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FillPiece {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The value captured in this slot, under this name.
    Value {
        /// The instance's slot.
        slot: usize,
        /// Its name (for the transcript, which shows `{name}`).
        name: String,
    },
}

impl Filled {
    /// The text with the captured values in their places; in a regex (`regex`), each value
    /// matches itself byte for byte.
    pub fn fill(&self, values: &Values, regex: bool) -> Vec<u8> {
        let mut out = Vec::new();
        // The regex's own text, without the values (its flags decide how a value is written).
        let pattern: String = if regex {
            (self.pieces.iter())
                .filter_map(|piece| match piece {
                    FillPiece::Bytes(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                    FillPiece::Value { .. } => None,
                })
                .collect()
        } else {
            String::new()
        };
        for (at, piece) in self.pieces.iter().enumerate() {
            match piece {
                FillPiece::Bytes(bytes) => out.extend_from_slice(bytes),
                FillPiece::Value { slot, .. } => {
                    let value = values.get(*slot).and_then(Option::as_deref).unwrap_or(&[]);
                    if regex {
                        let before = String::from_utf8_lossy(&out);
                        let after = match self.pieces.get(at + 1) {
                            Some(FillPiece::Bytes(next)) => String::from_utf8_lossy(next),
                            _ => "".into(),
                        };
                        let literal = crate::template::regex_literal(
                            &escape_bytes_for_regex(value),
                            value.len(),
                            &pattern,
                            (&before, &after),
                        );
                        out.extend_from_slice(literal.as_bytes());
                    } else {
                        out.extend_from_slice(value);
                    }
                }
            }
        }
        out
    }

    /// Whether it stays within the most bytes netlab builds once `values` are in (a value used
    /// many times could take gigabytes): why not, if it does not.
    pub fn within_cap(&self, values: &Values) -> Result<(), String> {
        let most = crate::scenario::payload::MAX_PAYLOAD;
        let filled = self
            .literal_len()
            .saturating_add(self.values_len(values) as u64);
        if filled > most {
            return Err(format!(
                "filled with the captured values, it would be {filled} bytes; the most netlab builds is {most}"
            ));
        }
        Ok(())
    }

    /// The bytes to send: the text filled in, as one frame if it is one.
    pub fn fill_payload(&self, values: &Values) -> Result<Vec<u8>, String> {
        self.within_cap(values)?;
        let body = self.fill(values, false);
        match &self.frame {
            Some(frames) => frames.encode(&body),
            None => Ok(body),
        }
    }

    /// How many bytes the values it uses take (each time it uses one).
    pub fn values_len(&self, values: &Values) -> usize {
        self.pieces
            .iter()
            .map(|piece| match piece {
                FillPiece::Bytes(_) => 0,
                FillPiece::Value { slot, .. } => values
                    .get(*slot)
                    .and_then(Option::as_ref)
                    .map_or(0, Vec::len),
            })
            .sum()
    }

    /// The text as the file wrote it, each value as `{name}` (what the transcript shows).
    pub fn template(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                // As the file writes it: a literal brace doubled, so that `{{t}}` and `{t}` differ.
                FillPiece::Bytes(bytes) => out.extend_from_slice(
                    crate::template::escape(&String::from_utf8_lossy(bytes)).as_bytes(),
                ),
                FillPiece::Value { name, .. } => {
                    out.push(b'{');
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'}');
                }
            }
        }
        out
    }

    /// The bytes written around the values.
    pub fn literal_len(&self) -> u64 {
        self.pieces
            .iter()
            .map(|piece| match piece {
                FillPiece::Bytes(bytes) => bytes.len() as u64,
                FillPiece::Value { .. } => 0,
            })
            .sum()
    }

    /// The values it uses (slot and name), in order, each once.
    pub fn values_used(&self) -> Vec<(usize, &str)> {
        let mut used: Vec<(usize, &str)> = Vec::new();
        for piece in &self.pieces {
            if let FillPiece::Value { slot, name } = piece
                && !used.iter().any(|(s, _)| s == slot)
            {
                used.push((*slot, name));
            }
        }
        used
    }
}

/// A regex that matches `bytes` exactly, whatever they are: printable ASCII escaped as the regex
/// crate escapes it, every other byte as `(?-u:\xNN)` (outside Unicode mode, `\xNN` is that byte,
/// not the character U+00NN).
pub fn escape_bytes_for_regex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_graphic() || byte == b' ' {
            out.push_str(&regex::escape(&char::from(byte).to_string()));
        } else {
            out.push_str(&format!("(?-u:\\x{byte:02x})"));
        }
    }
    out
}

/// `bytes` with each of `marks` (a range and a name, in any order) shown as `{name}`; a mark
/// that overlaps an earlier one is shown within it, as the union of the two under the earlier
/// name (a value differs from run to run: none of its bytes may show). For the transcript.
pub fn marked(bytes: &[u8], marks: &mut [(Range<usize>, &str)]) -> Vec<MarkedPiece> {
    marks.sort_by_key(|(range, _)| (range.start, std::cmp::Reverse(range.end)));
    // The marks, overlaps merged into the one that starts first.
    let mut merged: Vec<(Range<usize>, &str)> = Vec::new();
    for (range, name) in marks.iter() {
        if range.end > bytes.len() || range.start >= range.end {
            continue;
        }
        match merged.last_mut() {
            Some((last, _)) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push((range.clone(), name)),
        }
    }
    let mut out = Vec::new();
    let mut at = 0;
    for (range, name) in merged {
        if range.start > at {
            out.push(MarkedPiece::Bytes(bytes[at..range.start].to_vec()));
        }
        out.push(MarkedPiece::Name(name.to_string()));
        at = range.end;
    }
    if at < bytes.len() {
        out.push(MarkedPiece::Bytes(bytes[at..].to_vec()));
    }
    out
}

/// A piece of [`marked`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkedPiece {
    /// Bytes as received.
    Bytes(Vec<u8>),
    /// A captured value, shown as `{name}`.
    Name(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(kind: &str, bytes: &[u8]) -> Result<(String, usize), String> {
        let Some((_, kind)) = INT_KINDS.iter().find(|(name, _)| *name == kind) else {
            return Err(format!("no kind {kind}"));
        };
        kind.decode(bytes)
    }

    #[test]
    fn integers_decode_by_width_sign_and_order() {
        assert_eq!(int("u8", &[0xff]), Ok(("255".into(), 1)));
        assert_eq!(int("i8", &[0xff]), Ok(("-1".into(), 1)));
        assert_eq!(int("u16be", &[0x01, 0x02, 9]), Ok(("258".into(), 2)));
        assert_eq!(int("u16le", &[0x01, 0x02]), Ok(("513".into(), 2)));
        assert_eq!(int("i16be", &[0xff, 0xfe]), Ok(("-2".into(), 2)));
        assert_eq!(int("u32le", &[1, 0, 0, 0]), Ok(("1".into(), 4)));
        assert_eq!(int("u64be", &[0xff; 8]), Ok((u64::MAX.to_string(), 8)));
        assert_eq!(int("i64le", &[0xff; 8]), Ok(("-1".into(), 8)));
        assert!(int("u32be", &[1, 2]).is_err_and(|e| e.contains("4 bytes are needed")));
    }

    #[test]
    fn varints_decode_and_are_bounded() {
        assert_eq!(int("varint", &[0x96, 0x01]), Ok(("150".into(), 2)));
        assert_eq!(int("varint", &[0x00]), Ok(("0".into(), 1)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(int("varint", &max), Ok((u64::MAX.to_string(), 10)));
        assert!(int("varint", &[0xff; 10]).is_err());
        assert!(int("varint", &[0x80, 0x80]).is_err_and(|e| e.contains("does not end")));
        assert!(
            int(
                "varint",
                &[0xff; 9]
                    .iter()
                    .chain(&[0x02])
                    .copied()
                    .collect::<Vec<u8>>()
            )
            .is_err_and(|e| e.contains("64 bits"))
        );
    }

    #[test]
    fn regex_captures_take_their_group_and_its_place() {
        let capture = Capture {
            name: "token".into(),
            slot: 0,
            from: CaptureFrom::Regex {
                regex: Regex::new(r"TOKEN (\w+)").unwrap_or_else(|e| panic!("{e}")),
                group: 1,
            },
        };
        assert_eq!(
            capture.take(b"OK TOKEN abc123\r\n"),
            Ok((9..15, b"abc123".to_vec()))
        );
        assert!(
            capture
                .take(b"nothing")
                .is_err_and(|e| e.contains("found nothing"))
        );
    }

    #[test]
    fn byte_ranges_are_checked_against_what_matched() {
        let capture = |start, end| Capture {
            name: "id".into(),
            slot: 0,
            from: CaptureFrom::Bytes { start, end },
        };
        assert_eq!(
            capture(1, Some(3)).take(b"abcd"),
            Ok((1..3, b"bc".to_vec()))
        );
        assert_eq!(capture(2, None).take(b"abcd"), Ok((2..4, b"cd".to_vec())));
        assert!(capture(2, Some(9)).take(b"abcd").is_err());
        assert!(capture(9, None).take(b"abcd").is_err());
    }

    #[test]
    fn filled_texts_escape_values_in_regexes_byte_for_byte() {
        let filled = Filled {
            frame: None,
            pieces: vec![
                FillPiece::Bytes(b"^OK ".to_vec()),
                FillPiece::Value {
                    slot: 0,
                    name: "v".into(),
                },
                FillPiece::Bytes(b"$".to_vec()),
            ],
        };
        let values = [Some(b"a.b\xff".to_vec())];
        let pattern = String::from_utf8(filled.fill(&values, true)).unwrap_or_default();
        let regex = Regex::new(&pattern).unwrap_or_else(|e| panic!("{e}"));
        assert!(regex.is_match(b"OK a.b\xff"));
        assert!(!regex.is_match(b"OK axb\xff"));
        assert!(!regex.is_match("OK a.b\u{ff}".as_bytes()));
        assert_eq!(filled.fill(&values, false), b"^OK a.b\xff$".to_vec());
        assert_eq!(filled.template(), b"^OK {v}$".to_vec());
        assert_eq!(filled.literal_len(), 5);
    }

    #[test]
    fn marks_replace_ranges_and_overlaps_show_as_one() {
        let mut marks = [(4..7, "b"), (0..3, "a"), (5..6, "c")];
        assert_eq!(
            marked(b"abc def gh", &mut marks),
            vec![
                MarkedPiece::Name("a".into()),
                MarkedPiece::Bytes(b" ".to_vec()),
                MarkedPiece::Name("b".into()),
                MarkedPiece::Bytes(b" gh".to_vec()),
            ]
        );
        // A partial overlap: no byte of either value shows.
        let mut marks = [(6..14, "whole"), (6..8, "head"), (7..16, "tail")];
        assert_eq!(
            marked(b"TOKEN 0123456789ab\n", &mut marks),
            vec![
                MarkedPiece::Bytes(b"TOKEN ".to_vec()),
                MarkedPiece::Name("whole".into()),
                MarkedPiece::Bytes(b"ab\n".to_vec()),
            ]
        );
    }
}
