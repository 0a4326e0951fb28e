//! Loading: file → text → raw scenario → checked scenario. The only user of serde_yaml, so that
//! swapping the YAML crate (for a maintained fork) touches this file alone.

use std::io;
use std::path::Path;

use super::aliases::{AliasLimit, AliasOverflow};
use super::model::Scenario;
use super::positions::Positions;
use super::raw::RawScenario;
use super::validate::validate;
use super::vars::{NeededVars, VarValues};
use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean, io_reason};
use crate::source::{LineCol, SourceFile};

/// Why a scenario could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Unreadable {
        /// The path given.
        path: String,
        /// What the OS said.
        error: io::Error,
    },
    /// The file was read but is wrong; every problem found is listed.
    Invalid(Box<Diagnostics>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable { path, error } => {
                write!(f, "error: cannot read `{path}`: {}", io_reason(error))
            }
            LoadError::Invalid(diagnostics) => write!(f, "{diagnostics}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads, parses and validates the scenario at `path`.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    load_file_with(path, &VarValues::new())
}

/// Like [`load_file`], with values for the scenario's `vars` from the command line; every
/// program's vars need a value.
pub fn load_file_with(path: &Path, vars: &VarValues) -> Result<Scenario, LoadError> {
    load_file_needing(path, vars, &NeededVars::All)
}

/// Like [`load_file_with`], with `needed` saying whose vars need a value.
pub fn load_file_needing(
    path: &Path,
    vars: &VarValues,
    needed: &NeededVars,
) -> Result<Scenario, LoadError> {
    let text = std::fs::read(path).map_err(|error| LoadError::Unreadable {
        path: path.display().to_string(),
        error,
    })?;
    let text = String::from_utf8(text).map_err(|e| LoadError::Unreadable {
        path: path.display().to_string(),
        error: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ),
    })?;
    load_source_needing(SourceFile::new(path, text), vars, needed)
        .map_err(|d| LoadError::Invalid(Box::new(d)))
}

/// Parses and validates scenario text that was read from `source.path`.
pub fn load_source(source: SourceFile) -> Result<Scenario, Diagnostics> {
    load_source_with(source, &VarValues::new())
}

/// Like [`load_source`], with values for the scenario's `vars`; every program's vars need a value.
pub fn load_source_with(source: SourceFile, vars: &VarValues) -> Result<Scenario, Diagnostics> {
    load_source_needing(source, vars, &NeededVars::All)
}

/// Like [`load_source_with`], with `needed` saying whose vars need a value.
pub fn load_source_needing(
    source: SourceFile,
    vars: &VarValues,
    needed: &NeededVars,
) -> Result<Scenario, Diagnostics> {
    match parse_and_validate(&source, vars, needed) {
        Ok(scenario) => Ok(scenario),
        Err(items) => Err(Diagnostics { source, items }),
    }
}

fn parse_and_validate(
    source: &SourceFile,
    vars: &VarValues,
    needed: &NeededVars,
) -> Result<Scenario, Vec<Diagnostic>> {
    if is_blank(&source.text) {
        return Err(vec![Diagnostic::new(
            "the file is empty: a scenario needs at least one server or client",
            "",
            None,
        )]);
    }
    let positions = Positions::index(&source.text);
    if !positions.duplicates.is_empty() {
        return Err(positions
            .duplicates
            .iter()
            .map(|(path, at)| {
                let key = path.rsplit('.').next().unwrap_or(path);
                Diagnostic::new(
                    format!("duplicate key `{key}`"),
                    path.clone(),
                    Some(source.token_span(*at)),
                )
                .with_label("given a second time here")
            })
            .collect());
    }
    if let Some(overflow) = positions.alias_overflow {
        return Err(vec![alias_overflow(source, &positions, overflow)]);
    }
    let raw: RawScenario =
        serde_yaml::from_str(&source.text).map_err(|e| vec![from_serde(source, &e)])?;
    validate(raw, source, &positions, vars, needed)
}

/// The diagnostic of an alias bomb, at the alias that crossed the limit.
fn alias_overflow(
    source: &SourceFile,
    positions: &Positions,
    overflow: AliasOverflow,
) -> Diagnostic {
    let message = match overflow.limit {
        AliasLimit::Expansions(most) => format!(
            "aliases repeat too much: expanded, this file would follow more than {most} aliases (100 per YAML node)"
        ),
        AliasLimit::Bytes(most) => {
            format!("aliases repeat too much text: expanded, they add more than {most} bytes")
        }
    };
    let field = positions.path_at(overflow.offset).unwrap_or("");
    // `*name` alone, not the rest of a flow sequence.
    let span = source.token_span(overflow.offset);
    let end = source.text[span.clone()]
        .find([' ', ',', ']', '}'])
        .map_or(span.end, |len| span.start + len.max(1));
    Diagnostic::new(message, field, Some(span.start..end))
        .with_label("expanding this alias crosses the limit")
        .with_help(
            "write the repeated part once; for bulk data, use a payload's `repeat` + `times`",
        )
}

/// True when the text holds nothing but comments and whitespace.
fn is_blank(text: &str) -> bool {
    text.split(['\r', '\n'])
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---")
}

/// Turns a serde_yaml error into a diagnostic: its message without the position suffix, the
/// field path it names, a span at its location, and a "did you mean" for misspelt keys.
fn from_serde(source: &SourceFile, error: &serde_yaml::Error) -> Diagnostic {
    let full = error.to_string();
    let location = error.location();
    let text = match &location {
        Some(l) => full
            .strip_suffix(&format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or(&full),
        None => &full,
    };
    let (mut field, message) = split_path(text);
    // Scanner errors carry their real positions in the text only ("... at line 3 column 15")
    // and a location of 1:1; prefer the text's.
    let span = match (last_position(message), location) {
        (Some(at), _) => Some(source.token_span(source.offset_of(at))),
        // serde_yaml points an unknown field at its key: underline the key alone.
        (None, Some(l)) if message.starts_with("unknown field") => Some(source.key_span(l.index())),
        (None, Some(l)) => Some(source.token_span(l.index())),
        (None, None) => None,
    };
    let names = backticked(message);
    let mut diagnostic;
    if message.starts_with("unknown field") || message.starts_with("unknown variant") {
        let unknown = names.first().copied().unwrap_or("");
        if message.starts_with("unknown field") {
            field = crate::scenario::positions::join(&field, unknown);
        }
        diagnostic = Diagnostic::new(message, field, span);
        if let Some(guess) = did_you_mean(unknown, names.iter().skip(1).copied()) {
            diagnostic = diagnostic.with_label(format!("did you mean `{guess}`?"));
        }
    } else {
        diagnostic = Diagnostic::new(message, field, span);
    }
    if message.contains("expected a boolean")
        && (message.contains("\"yes\"") || message.contains("\"no\""))
    {
        diagnostic = diagnostic.with_help("YAML 1.2 booleans are `true` and `false`");
    }
    diagnostic
}

/// Splits serde_yaml's `clients[0].steps[1]: message` into its path and message.
fn split_path(text: &str) -> (String, &str) {
    if let Some((path, message)) = text.split_once(": ") {
        let is_path = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
        if is_path {
            return (path.to_string(), message);
        }
    }
    (String::new(), text)
}

/// The `line L column C` a scanner message is about: where the problem is, except for an
/// unexpected end of the file, where the construct left open (the last position named) is.
fn last_position(message: &str) -> Option<LineCol> {
    let words: Vec<&str> = message.split([' ', ',']).collect();
    let mut windows: Box<dyn Iterator<Item = &[&str]>> = if message.contains("end of stream") {
        Box::new(words.windows(4).rev())
    } else {
        Box::new(words.windows(4))
    };
    windows.find_map(|w| match w {
        ["line", line, "column", column] => Some(LineCol {
            line: line.parse().ok()?,
            column: column.parse().ok()?,
        }),
        _ => None,
    })
}

/// The `names` in backticks in a message, in order.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_serde_paths_from_messages() {
        assert_eq!(
            split_path("clients[0].steps[1]: unknown field `x`"),
            ("clients[0].steps[1]".to_string(), "unknown field `x`")
        );
        assert_eq!(
            split_path("invalid type: string \"a\""),
            (String::new(), "invalid type: string \"a\"")
        );
    }

    #[test]
    fn finds_the_last_position_in_a_scanner_message() {
        let message = "found unexpected end of stream at line 6 column 1, while scanning a quoted scalar at line 3 column 15";
        assert_eq!(
            last_position(message),
            Some(LineCol {
                line: 3,
                column: 15
            })
        );
        assert_eq!(last_position("no position"), None);
        let tab = "found a tab character at line 3 column 1, while scanning a plain scalar at line 2 column 11";
        assert_eq!(last_position(tab), Some(LineCol { line: 3, column: 1 }));
    }

    #[test]
    fn finds_backticked_names() {
        assert_eq!(
            backticked("unknown field `stesp`, expected `name` or `steps`"),
            vec!["stesp", "name", "steps"]
        );
    }

    /// Every prefix of a real scenario (a file cut off anywhere) loads or is refused: no panic.
    #[test]
    fn truncated_files_never_panic() {
        for text in [
            include_str!("../../scenarios/tcp_hello.yaml"),
            include_str!("../../scenarios/tcp_sequential.yaml"),
        ] {
            for (cut, _) in text.char_indices() {
                let _ = load_source(SourceFile::new("cut.yaml", &text[..cut]));
            }
        }
    }

    /// Odd bytes dropped into a real scenario are refused cleanly.
    #[test]
    fn corrupted_files_never_panic() {
        let text = include_str!("../../scenarios/tcp_hello.yaml");
        for (at, _) in text.char_indices().step_by(7) {
            for junk in [
                "\t",
                ":",
                "- ",
                "{",
                "\"",
                "&a",
                "*a",
                "!!binary ",
                "\u{feff}",
                "é",
            ] {
                let corrupted = format!("{}{junk}{}", &text[..at], &text[at..]);
                let _ = load_source(SourceFile::new("junk.yaml", corrupted));
            }
        }
    }

    /// A byte order mark before a valid scenario made it "more than one document".
    #[test]
    fn a_byte_order_mark_before_a_valid_file_is_accepted() {
        let text = "\u{feff}name: bom\nservers:\n  - name: hello\n";
        assert!(load_source(SourceFile::new("bom.yaml", text)).is_ok());
    }

    #[test]
    fn blank_files_are_detected() {
        assert!(is_blank("# nothing\n\n---\n"));
        assert!(!is_blank("servers: []\n"));
        assert!(!is_blank("# old Mac line ends\rservers: []\r"));
    }
}
