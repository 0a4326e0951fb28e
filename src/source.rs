//! Scenario source text and positions in it: the first stage of the pipeline keeps the text so that
//! every later error can point back into the file the user wrote.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The byte order mark some editors put before UTF-8 text: not part of the scenario.
const BOM: char = '\u{feff}';

/// The text of one scenario file, with the path it was read from. Lines end as YAML allows:
/// `\n`, `\r\n` or a lone `\r`.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (shown in messages).
    pub path: PathBuf,
    /// The whole file, without a leading byte order mark.
    pub text: String,
    /// Where each line starts, found once, the first time a position is asked for: every
    /// step's line is, and walking the text each time made loading a long file quadratic.
    line_starts: OnceLock<Vec<usize>>,
}

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl SourceFile {
    /// Wraps text that was read from `path`, dropping a byte order mark before it (so that
    /// offsets, lines and columns are those of the text an editor shows).
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let mut text = text.into();
        if text.starts_with(BOM) {
            text.drain(..BOM.len_utf8());
        }
        Self {
            path: path.into(),
            text,
            line_starts: OnceLock::new(),
        }
    }

    /// The path as shown in messages (forward slashes are kept as given).
    pub fn display_path(&self) -> String {
        self.path.display().to_string()
    }

    /// The directory relative paths in the file (such as `file:` payloads) are resolved against:
    /// the file's directory, `.` for a bare `x.yaml` (whose parent is the empty path).
    pub fn base_dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."))
    }

    /// Line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, index: usize) -> LineCol {
        let index = self.floor_char_boundary(index);
        let starts = self.line_starts();
        // The last line starting at or before `index` (the first starts at 0).
        let line = starts.partition_point(|&start| start <= index).max(1);
        let start = starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text[start..index].chars().count() + 1;
        LineCol { line, column }
    }

    /// Byte offset of a 1-based line and column (clamped to the line, or to the text).
    pub fn offset_of(&self, at: LineCol) -> usize {
        let Some(&start) = at
            .line
            .checked_sub(1)
            .and_then(|skip| self.line_starts().get(skip))
        else {
            return self.text.len();
        };
        let skip: usize = line_at(&self.text[start..])
            .chars()
            .take(at.column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        start + skip
    }

    /// The byte offset where each line starts: 0, and after every `\n`, `\r\n` or lone `\r`.
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let breaks = self.text.char_indices().filter_map(|(i, c)| {
                let ends_line = c == '\n' || (c == '\r' && !self.text[i + 1..].starts_with('\n'));
                ends_line.then_some(i + 1)
            });
            std::iter::once(0).chain(breaks).collect()
        })
    }

    /// The span of the YAML token that starts at `index`: a quoted string up to its closing
    /// quote, otherwise up to the end of the line (without a trailing comment or spaces).
    /// Always at least one character wide, so that a caret can be drawn.
    pub fn token_span(&self, index: usize) -> Range<usize> {
        let start = self.floor_char_boundary(index);
        let line = line_at(&self.text[start..]);
        let len = match line.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_len(line, quote),
            Some(_) => {
                let mut end = line.len();
                if let Some(hash) = line.find(" #") {
                    end = hash;
                }
                line[..end].trim_end().len()
            }
            None => 0,
        };
        let end = if len == 0 {
            self.next_char_end(start)
        } else {
            start + len
        };
        start..end
    }

    /// The span of a mapping key starting at `index`: up to its `:` (or the end of the line); a
    /// quoted key, up to its closing quote (it may hold a `:`). A flow mapping's `{` before the
    /// key is skipped.
    pub fn key_span(&self, index: usize) -> Range<usize> {
        let mut start = self.floor_char_boundary(index);
        if self.text[start..].starts_with('{') {
            let after = &self.text[start + 1..];
            start += 1 + (after.len() - after.trim_start_matches([' ', '\t']).len());
        }
        let line = line_at(&self.text[start..]);
        let len = match line.chars().next() {
            Some(quote @ ('"' | '\'')) => quoted_len(line, quote),
            _ => line.find(':').unwrap_or(line.len()),
        };
        if len == 0 {
            start..self.next_char_end(start)
        } else {
            start..start + line[..len].trim_end().len()
        }
    }

    fn next_char_end(&self, start: usize) -> usize {
        self.text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8())
    }

    fn floor_char_boundary(&self, index: usize) -> usize {
        let mut index = index.min(self.text.len());
        while !self.text.is_char_boundary(index) {
            index -= 1;
        }
        index
    }
}

/// The start of `rest` up to the end of its line (whatever the line break).
fn line_at(rest: &str) -> &str {
    rest.split(['\r', '\n']).next().unwrap_or("")
}

/// Length of a quoted scalar starting at the opening quote, closing quote included; the rest of
/// the line if the quote is not closed on it.
fn quoted_len(line: &str, quote: char) -> usize {
    let mut escaped = false;
    for (i, c) in line.char_indices().skip(1) {
        if quote == '"' && c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        if c == quote && !escaped {
            return i + c.len_utf8();
        }
        escaped = false;
    }
    line.trim_end().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("t.yaml", text)
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let f = file("a: 1\nbé: x\n");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        let x = f.text.find('x').unwrap_or(0);
        assert_eq!(f.line_col(x), LineCol { line: 2, column: 5 });
        assert_eq!(f.offset_of(LineCol { line: 2, column: 5 }), x);
    }

    /// An old Mac file (lone `\r`) was one long line: an error on line 5 was shown at 1:54.
    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        for newline in ["\n", "\r\n", "\r"] {
            let f = file(&["a: 1", "b: 2", "bé: x y"].join(newline));
            let x = f.text.find('x').unwrap_or(0);
            let at = LineCol { line: 3, column: 5 };
            assert_eq!(f.line_col(x), at, "{newline:?}");
            assert_eq!(f.offset_of(at), x, "{newline:?}");
            assert_eq!(&f.text[f.token_span(x)], "x y", "{newline:?}");
            let b = f.text.find('b').unwrap_or(0);
            assert_eq!(&f.text[f.key_span(b)], "b", "{newline:?}");
            assert_eq!(f.line_col(b + 1), LineCol { line: 2, column: 2 });
        }
    }

    /// A UTF-8 byte order mark made the file "more than one document", and moved positions.
    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let f = file("\u{feff}a: 1\nb: 2\n");
        assert_eq!(f.text, "a: 1\nb: 2\n");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
    }

    #[test]
    fn token_span_of_plain_scalar_stops_before_comment() {
        let f = file("connect: helo   # typo\n");
        let span = f.token_span(9);
        assert_eq!(&f.text[span], "helo");
    }

    #[test]
    fn token_span_of_quoted_scalar_includes_quotes_and_escapes() {
        let f = file("send: \"a\\\"b\" x\n");
        let span = f.token_span(6);
        assert_eq!(&f.text[span], "\"a\\\"b\"");
    }

    #[test]
    fn key_span_stops_at_the_colon() {
        let f = file("    greting: \"Welcome!\"\n");
        assert_eq!(&f.text[f.key_span(4)], "greting");
        let flow = file("expect: { starts_with: \"Hel\" }\n");
        assert_eq!(&flow.text[flow.key_span(8)], "starts_with");
        // A quoted key may hold a colon: it ends at its closing quote.
        let quoted = file("headers: { \"a:b\": x }\n");
        assert_eq!(&quoted.text[quoted.key_span(9)], "\"a:b\"");
    }

    #[test]
    fn token_span_at_end_of_line_is_one_char() {
        let f = file("a:\n");
        assert_eq!(f.token_span(2), 2..3);
        assert_eq!(f.token_span(99), 3..3);
    }
}
