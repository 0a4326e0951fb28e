//! Loading: file → text → raw scenario → checked scenario. The text is parsed through `yaml`,
//! the one module that uses the YAML crate (serde_yaml).

use std::io;
use std::path::Path;

use super::aliases::{AliasLimit, AliasOverflow};
use super::model::Scenario;
use super::positions::Positions;
use super::raw::RawScenario;
use super::validate::validate;
use super::vars::{NeededVars, VarValues};
use super::yaml;
use crate::diagnostic::{Diagnostic, Diagnostics, io_reason};
use crate::source::SourceFile;

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
    let raw: RawScenario = yaml::parse(source)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
