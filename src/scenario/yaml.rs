//! The one module that uses the YAML crate (serde_yaml), so that changing it (for a maintained
//! fork) touches this file alone: scenario text parsed into the raw serde mirror, with the crate's
//! error turned into a located diagnostic (its messages are read here too), and a value written
//! as YAML (the header of a snapshot file). The span-aware passes (`positions`, `aliases`) read
//! the text with yaml-rust2 instead, for the positions serde_yaml does not keep.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::source::{LineCol, SourceFile};

/// Parses the text of `source` into `T`, or says what is wrong and where (the first problem:
/// the parser stops there).
pub(super) fn parse<T: DeserializeOwned>(source: &SourceFile) -> Result<T, Vec<Diagnostic>> {
    serde_yaml::from_str(&source.text).map_err(|e| vec![from_serde(source, &e)])
}

/// `value` as YAML text, or why it cannot be written as YAML.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|error| error.to_string())
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
}
