//! `redact:`, the scenario's and a client's, as validation builds it: each name one a placeholder
//! can be written with (`[name]`), each regex compiled as every regex of a file is (within the
//! same size limit) and refused when it can match the empty string (it would put its placeholder
//! between every two bytes). What redaction does is `crate::redact`'s.

use regex_automata::util::syntax;

use crate::redact::Redaction;
use crate::scenario::positions::join;
use crate::scenario::raw::RawRedact;
use crate::template;

use super::checker::Checker;
use super::payloads::compile_regex;

impl Checker<'_> {
    /// The redactions written at `path`, in the order written; each wrong one is reported and
    /// left out.
    pub(super) fn redactions(&mut self, path: &str, raw: RawRedact) -> Vec<Redaction> {
        let mut redactions = Vec::with_capacity(raw.0.len());
        for (name, pattern) in raw.0 {
            let at = join(path, &name);
            if !template::is_name(&name) {
                self.at_key(&at, format!("`{name}` cannot be a redaction's name"))
                    .add_help("a name is a letter or `_`, then letters, digits or `_`: it is shown as `[name]`");
                continue;
            }
            match compile_regex(&pattern) {
                Err(message) => {
                    self.at_value(&at, format!("invalid regex: {message}"));
                }
                Ok(_) if matches_empty(&pattern) => {
                    self.at_value(&at, format!("`{name}` can match the empty string"))
                        .add_help(format!(
                            "a redaction must match at least one byte, or `[{name}]` would be \
                             shown between every two bytes: write `+` for `*`, or leave out a `?`"
                        ));
                }
                Ok(regex) => redactions.push(Redaction::new(&name, regex)),
            }
        }
        redactions
    }
}

/// Whether `pattern` (one that compiles) can match the empty string anywhere: its shortest match
/// is no byte long (`x*`, `^`, `\b`, `(a|)`).
fn matches_empty(pattern: &str) -> bool {
    // As `regex::bytes` reads it: a pattern may match bytes that are not UTF-8.
    let config = syntax::Config::new().utf8(false);
    syntax::parse_with(pattern, &config).is_ok_and(|hir| hir.properties().minimum_len() == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_that_can_match_nothing_is_found() {
        for pattern in ["x*", "^", "$", r"\b", "(a|)", "a?", "(?m)^", "[0-9]{0,4}"] {
            assert!(matches_empty(pattern), "{pattern}");
        }
        for pattern in [
            "x+",
            "sid=[0-9a-f]+",
            r"\d{4}-\d\d",
            r"(?-u:\xff)",
            r"\bword\b",
        ] {
            assert!(!matches_empty(pattern), "{pattern}");
        }
    }
}
