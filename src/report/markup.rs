//! Text put into HTML and SVG (XML) markup: the one place that escapes it.

/// `text` escaped for XML and HTML, in element content and in quoted attributes alike.
///
/// Hand-written rather than taken from quick-xml's `escape`: XML 1.0 also refuses some
/// characters outright (controls other than tab, CR and LF; U+FFFE, U+FFFF), which no escaping
/// makes legal, and one bad character makes a browser refuse the whole SVG. Labels are escaped
/// by the transcript already, but names and hints come from the file as written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            // Bidirectional controls would reorder what follows them (a label read backwards).
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// The first `most` characters of `text`, and `…` when there were more.
pub fn shorten(text: &str, most: usize) -> String {
    match text.char_indices().nth(most) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// [`shorten`], cut after a whole word (hex: a whole byte) where it can be.
pub fn shorten_words(text: &str, most: usize) -> String {
    let Some((at, _)) = text.char_indices().nth(most) else {
        return text.to_string();
    };
    let end = text[..at].rfind(' ').filter(|end| *end > 0).unwrap_or(at);
    format!("{}…", &text[..end])
}

/// `text` cut to at most `most` bytes, at the end of a line where one ends in its last quarter,
/// then a line saying how much more there was and where to see it (`whole`).
pub fn at_most(text: &str, most: usize, whole: &str) -> String {
    if text.len() <= most {
        return text.to_string();
    }
    let mut end = most;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(line) = text[..end].rfind('\n').filter(|at| *at >= most / 4 * 3) {
        end = line + 1;
    }
    format!(
        "{}\n… {} more bytes ({whole})",
        text[..end].trim_end_matches('\n'),
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_illegal_characters_are_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\u{ffff}"), "a\\u{1}b\\u{ffff}");
        assert_eq!(escape("tab\there"), "tab\there");
        assert_eq!(escape("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn long_text_is_cut_at_a_line_and_says_how_much_more() {
        let text = "line one\nline two\nline three\n";
        assert_eq!(at_most(text, 100, "x"), text);
        assert_eq!(
            at_most(text, 20, "x"),
            "line one\nline two\n… 11 more bytes (x)"
        );
        assert_eq!(at_most("ééééé", 3, "x"), "é\n… 8 more bytes (x)");
    }

    #[test]
    fn shortening_counts_characters_not_bytes() {
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("short", 5), "short");
        assert_eq!(shorten_words("hex \"57 65 6c 63\"", 12), "hex \"57 65…");
    }
}
