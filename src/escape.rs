//! Bytes as readable text for transcripts and diffs: escaped, quoted text for printable data
//! (`"Hello\r\n"`), hex for binary data, with very long data shortened deterministically.

use std::borrow::Cow;
use std::fmt::Write;

/// Data longer than this is shortened in transcripts (its length is always shown).
pub const SHOW_LIMIT: usize = 512;

/// Renders bytes as a quoted escaped string, or as `hex "de ad"` when they are not text.
pub fn show(bytes: &[u8]) -> String {
    show_parts(&[Part::Bytes(bytes)])
}

/// A piece of data to show: bytes, or a placeholder standing for bytes hidden from display
/// (`redact:`), which is shown as it is, never escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Bytes, escaped when shown.
    Bytes(&'a [u8]),
    /// A placeholder's text (`[timestamp]`), shown as it is.
    Placeholder(&'a str),
}

impl Part<'_> {
    fn len(&self) -> usize {
        match self {
            Part::Bytes(bytes) => bytes.len(),
            Part::Placeholder(text) => text.len(),
        }
    }
}

/// [`show`] for data made of parts: the bytes escaped, each placeholder as it is (also in hex,
/// between the bytes' pairs of digits). A placeholder counts as its text: for whether the data
/// is text, for where long data is cut (never inside a placeholder), and in the length said then
/// (`… (600 bytes once redacted)`).
pub fn show_parts(parts: &[Part]) -> String {
    let len: usize = parts.iter().map(Part::len).sum();
    let redacted = parts.iter().any(|p| matches!(p, Part::Placeholder(_)));
    let text = match parts {
        [Part::Bytes(bytes)] => is_text(bytes),
        _ => is_text(&joined(parts)),
    };
    let head: Cow<[Part]> = if len > SHOW_LIMIT {
        Cow::Owned(head(parts, SHOW_LIMIT / 4))
    } else {
        Cow::Borrowed(parts)
    };
    let mut out = if text {
        quoted_parts(&head)
    } else {
        hex_parts(&head)
    };
    if len > SHOW_LIMIT {
        let once = if redacted { " once redacted" } else { "" };
        let _ = write!(out, "… ({len} bytes{once})");
    }
    out
}

/// The parts as one byte string, each placeholder as its text.
pub fn joined(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(Part::len).sum());
    for part in parts {
        match part {
            Part::Bytes(bytes) => out.extend_from_slice(bytes),
            Part::Placeholder(text) => out.extend_from_slice(text.as_bytes()),
        }
    }
    out
}

/// The first `limit` bytes of the parts; a placeholder that starts before the limit is kept
/// whole.
pub fn head<'a>(parts: &[Part<'a>], limit: usize) -> Vec<Part<'a>> {
    let mut left = limit;
    let mut out = Vec::new();
    for part in parts {
        if left == 0 {
            break;
        }
        match *part {
            Part::Bytes(bytes) => {
                let taken = &bytes[..bytes.len().min(left)];
                left -= taken.len();
                out.push(Part::Bytes(taken));
            }
            Part::Placeholder(text) => {
                left = left.saturating_sub(text.len());
                out.push(Part::Placeholder(text));
            }
        }
    }
    out
}

/// True when the bytes read well as text: valid UTF-8 (allowing a character cut at the end) with
/// few control characters besides tab, CR and LF.
pub fn is_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    };
    if !valid {
        return false;
    }
    let controls = bytes
        .iter()
        .filter(|b| b.is_ascii_control() && !matches!(b, b'\r' | b'\n' | b'\t'))
        .count();
    controls * 10 <= bytes.len()
}

/// `"…"` with `\r`, `\n`, `\t`, `\\`, `\"` and `\xNN` escapes.
pub fn quoted(bytes: &[u8]) -> String {
    quoted_parts(&[Part::Bytes(bytes)])
}

/// [`quoted`] for parts: each placeholder written as it is.
fn quoted_parts(parts: &[Part]) -> String {
    let mut out = String::with_capacity(parts.iter().map(Part::len).sum::<usize>() + 2);
    out.push('"');
    for part in parts {
        match part {
            Part::Bytes(bytes) => escape_into(&mut out, bytes),
            Part::Placeholder(text) => out.push_str(text),
        }
    }
    out.push('"');
    out
}

/// Writes `bytes` escaped, as between the quotes of [`quoted`].
fn escape_into(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// `hex "de ad be ef"`.
pub fn hex(bytes: &[u8]) -> String {
    hex_parts(&[Part::Bytes(bytes)])
}

/// [`hex`] for parts: each placeholder a word between the pairs of digits
/// (`hex "de ad [session] ef"`).
pub fn hex_parts(parts: &[Part]) -> String {
    let mut words: Vec<String> = Vec::new();
    for part in parts {
        match part {
            Part::Bytes(bytes) => words.extend(bytes.iter().map(|b| format!("{b:02x}"))),
            Part::Placeholder(text) => words.push((*text).to_string()),
        }
    }
    format!("hex \"{}\"", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_quoted_with_escapes() {
        assert_eq!(show(b"Hello\r\n"), r#""Hello\r\n""#);
        assert_eq!(show(b"a\"b\\"), r#""a\"b\\""#);
        assert_eq!(show("héllo".as_bytes()), "\"héllo\"");
        assert_eq!(show(b"x\x00yzabcdefghij"), r#""x\x00yzabcdefghij""#);
    }

    #[test]
    fn binary_is_hex() {
        assert_eq!(show(&[0xde, 0xad, 0xbe, 0xef]), r#"hex "de ad be ef""#);
        assert_eq!(show(&[0, 1, 2]), r#"hex "00 01 02""#);
    }

    #[test]
    fn long_data_is_shortened_with_its_length() {
        let data = vec![b'x'; 1000];
        let shown = show(&data);
        assert!(shown.ends_with("… (1000 bytes)"), "{shown}");
        assert!(shown.len() < 200);
    }

    #[test]
    fn empty_is_an_empty_string() {
        assert_eq!(show(b""), "\"\"");
    }
}
