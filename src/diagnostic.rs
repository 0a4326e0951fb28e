//! "Your file is wrong": the one error type for scenario input, with the file, the span, the
//! field path and a hint, rendered like a compiler error. Produced by `scenario::load`, printed by
//! the CLI, never by the stages in between.

use std::fmt;
use std::ops::Range;

use annotate_snippets::{Level, Renderer, Snippet};

use crate::source::SourceFile;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong: a lowercase fragment, names in backticks.
    pub message: String,
    /// The field path, as in `clients[0].steps[2].expect`; empty for the whole file.
    pub field: String,
    /// Byte span in the source the problem is about, if known.
    pub span: Option<Range<usize>>,
    /// A short note drawn under the span (for example "did you mean `hello`?").
    pub label: Option<String>,
    /// A longer hint shown after the snippet.
    pub help: Option<String>,
    /// An error stops the file from running; a warning is said, and the file runs.
    pub severity: Severity,
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// The file is wrong: nothing runs.
    #[default]
    Error,
    /// The file runs, but probably not as its author meant.
    Warning,
}

impl Diagnostic {
    /// A problem at `span` about the field `field`.
    pub fn new(
        message: impl Into<String>,
        field: impl Into<String>,
        span: Option<Range<usize>>,
    ) -> Self {
        Self {
            message: message.into(),
            field: field.into(),
            span,
            label: None,
            help: None,
            severity: Severity::Error,
        }
    }

    /// Adds a note under the span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a hint after the snippet.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the note under the span of a diagnostic already recorded.
    pub fn add_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the hint of a diagnostic already recorded.
    pub fn add_help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file; loading fails with this when the list is not empty.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The file the problems are in.
    pub source: SourceFile,
    /// The problems, in file order.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Renders every problem, with ANSI colours when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let mut out = self.render_items(styled, "\n\n");
        let count = self.items.len();
        out.push_str(&format!(
            "error: {}: {count} problem{} found, nothing ran\n",
            self.source.display_path(),
            if count == 1 { "" } else { "s" }
        ));
        out
    }

    /// Renders warnings (the file still runs): no "nothing ran" line.
    pub fn render_warnings(&self, styled: bool) -> String {
        self.render_items(styled, "\n")
    }

    /// Every item, each followed by `separator`.
    fn render_items(&self, styled: bool, separator: &str) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let path = self.source.display_path();
        let shown = SourceFile::new(self.source.path.clone(), printable(&self.source.text));
        let mut out = String::new();
        for item in &self.items {
            out.push_str(render_one(&renderer, &shown, &path, item).trim_end());
            out.push_str(separator);
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

fn render_one(renderer: &Renderer, source: &SourceFile, path: &str, item: &Diagnostic) -> String {
    let field_note = (!item.field.is_empty()).then(|| format!("field: {}", item.field));
    let Some(span) = &item.span else {
        return render_without_span(path, item, field_note.as_deref());
    };
    let label = item.label.as_deref().unwrap_or("");
    let plain = || render_without_span(path, item, field_note.as_deref());
    let level = match item.severity {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
    };
    let mut message = level.title(&item.message).snippet(
        Snippet::source(&source.text)
            .origin(path)
            .fold(true)
            .annotation(level.span(span.clone()).label(label)),
    );
    if let Some(note) = &field_note {
        message = message.footer(Level::Note.title(note));
    }
    if let Some(help) = &item.help {
        message = message.footer(Level::Help.title(help));
    }
    // The snippet renderer has panicked on odd input before (see `printable`): should it again,
    // the problem is still reported, without its snippet.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        renderer.render(message).to_string()
    }))
    .unwrap_or_else(|_| plain())
}

/// The text with tabs as spaces, line ends as `\n` and every other control character as `?`,
/// byte for byte, so that spans still fit: the fuzzer found annotate-snippets 0.11 overflowing or
/// slicing out of bounds on form feeds, NULs, C1 controls and runs of tabs; and it knows `\n` as
/// the only line end, showing a `\r` as it is.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Tabs made the renderer miscount columns (found by the fuzzer): one space each.
            '\t' => out.push(' '),
            // `\r\n`: the `\n` ends the line, the `\r` becomes an invisible space.
            '\r' if chars.peek() == Some(&'\n') => out.push(' '),
            // An old Mac line end.
            '\r' => out.push('\n'),
            // As many `?` as the character has bytes (U+0080 has two), so spans stay put.
            c if c.is_control() && c != '\n' => out.extend(std::iter::repeat_n('?', c.len_utf8())),
            c => out.push(c),
        }
    }
    out
}

/// A problem about the whole file: no snippet, just where and what.
fn render_without_span(path: &str, item: &Diagnostic, field_note: Option<&str>) -> String {
    let word = match item.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{word}: {}\n --> {path}\n", item.message);
    if let Some(note) = field_note {
        out.push_str(&format!("  = note: {note}\n"));
    }
    if let Some(help) = &item.help {
        out.push_str(&format!("  = help: {help}\n"));
    }
    out
}

/// An OS error as a short lowercase phrase (`connection refused`), without the errno suffix.
pub fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.len() / 4) && *distance < candidate.len()
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_a_typo() {
        assert_eq!(did_you_mean("helo", ["hello", "world"]), Some("hello"));
        assert_eq!(did_you_mean("stesp", ["name", "steps"]), Some("steps"));
        assert_eq!(did_you_mean("zzzzzz", ["hello", "world"]), None);
    }

    /// Found by `cargo fuzz run load`: form feeds and NULs around a diagnostic's span made
    /// annotate-snippets overflow.
    #[test]
    fn control_characters_do_not_break_rendering() {
        let text =
            String::from_utf8_lossy(include_bytes!("../tests/fixtures/fuzz_crash_margin.yaml"))
                .into_owned();
        if let Err(diagnostics) = crate::scenario::load_source(SourceFile::new("crash.yaml", text))
        {
            let rendered = diagnostics.render(false);
            assert!(rendered.contains("crash.yaml"), "{rendered}");
        }
        // Found next: a two-byte control character (U+0080) must not shift the spans.
        let c1 = include_bytes!("../tests/fixtures/fuzz_crash_c1_control.yaml");
        let text = String::from_utf8_lossy(c1).into_owned();
        if let Err(diagnostics) = crate::scenario::load_source(SourceFile::new("c1.yaml", text)) {
            let _ = diagnostics.render(false);
        }
        let tabs = include_bytes!("../tests/fixtures/fuzz_crash_tabs.yaml");
        let text = String::from_utf8_lossy(tabs).into_owned();
        if let Err(diagnostics) = crate::scenario::load_source(SourceFile::new("tabs.yaml", text)) {
            let _ = diagnostics.render(false);
        }
        let text = "servers:\n  - name: a\x0c\x00b\u{85}\u{9f}\n";
        if let Err(diagnostics) = crate::scenario::load_source(SourceFile::new("c.yaml", text)) {
            let _ = diagnostics.render(true);
        }
    }

    /// A `\r` line end was drawn raw in the snippet (and, alone, made the file one line).
    #[test]
    fn snippets_show_no_carriage_return() {
        for newline in ["\r\n", "\r"] {
            let text = ["clients:", "  - connect: helo", ""].join(newline);
            let start = text.find("helo").unwrap_or(0);
            let diagnostics = Diagnostics {
                source: SourceFile::new("x.yaml", text),
                items: vec![Diagnostic::new("unknown", "", Some(start..start + 4))],
            };
            let rendered = diagnostics.render(false);
            assert!(rendered.contains("--> x.yaml:2:14"), "{rendered}");
            assert!(rendered.contains("2 |   - connect: helo"), "{rendered}");
            assert!(!rendered.contains('\r'), "{newline:?}: {rendered:?}");
        }
    }

    #[test]
    fn render_points_at_line_and_column() {
        let source = SourceFile::new("x.yaml", "clients:\n  - connect: helo\n");
        let start = source.text.find("helo").unwrap_or(0);
        let diagnostics = Diagnostics {
            source,
            items: vec![
                Diagnostic::new(
                    "unknown server `helo`",
                    "clients[0].connect",
                    Some(start..start + 4),
                )
                .with_label("did you mean `hello`?"),
            ],
        };
        let text = diagnostics.render(false);
        assert!(text.contains("--> x.yaml:2:14"), "{text}");
        assert!(text.contains("^^^^ did you mean `hello`?"), "{text}");
        assert!(text.contains("field: clients[0].connect"), "{text}");
    }
}
