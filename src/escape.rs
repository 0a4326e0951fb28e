//! Bytes as readable text for transcripts and diffs: escaped, quoted text for printable data
//! (`"Hello\r\n"`), hex for binary data, with very long data shortened deterministically.

use std::fmt::Write;

/// Data longer than this is shortened in transcripts (its length is always shown).
pub const SHOW_LIMIT: usize = 512;

/// Renders bytes as a quoted escaped string, or as `hex "de ad"` when they are not text.
pub fn show(bytes: &[u8]) -> String {
    let (head, cut) = if bytes.len() > SHOW_LIMIT {
        (&bytes[..SHOW_LIMIT / 4], true)
    } else {
        (bytes, false)
    };
    let mut out = if is_text(bytes) {
        quoted(head)
    } else {
        hex(head)
    };
    if cut {
        let _ = write!(out, "… ({} bytes)", bytes.len());
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
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
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
    out.push('"');
    out
}

/// `hex "de ad be ef"`.
pub fn hex(bytes: &[u8]) -> String {
    let digits: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hex \"{}\"", digits.join(" "))
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
