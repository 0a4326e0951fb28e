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
    }

    #[test]
    fn shortening_counts_characters_not_bytes() {
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("short", 5), "short");
    }
}
