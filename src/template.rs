//! The one template syntax of a scenario: `{name}` in `exec` arguments, `connect`, payloads,
//! matchers, replies and hints. Pure text in, pieces out; what a name means (a var, `{data}`,
//! `{instance}`…) is for the caller to say.
//!
//! The grammar, chosen so that the JSON, regexes and shell text people already write need no
//! escaping:
//! - `{name}`, where `name` is a letter or `_` followed by letters, digits and `_`, is a
//!   placeholder;
//! - `{{` writes a `{`, and a `}}` that closes such an escape writes a `}`: `{{name}}` is the text
//!   `{name}` (and `{{"a":1}}`, the form an older reply needed for JSON, still gives `{"a":1}`);
//! - every other brace is itself: `{"a": 1}`, `x{2,3}`, a lone `}`;
//! - in a regex, a brace that is part of an escape (`\{`, `\p{L}`, `\x{41}`) is the regex's own.
//!
//! Hand-written: the crates that render templates (tinytemplate, handlebars, minijinja) each bring
//! a grammar of their own (`{{ }}`, filters, escaping rules) that would make every JSON payload a
//! syntax error; this one is a few dozen lines and keeps positions for messages.

/// How a template's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Plain text (payloads, `connect`, hints, `exec` arguments).
    Text,
    /// A regex: braces after an escape are the regex's, and values are inserted escaped.
    Regex,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text as it is (escapes already undone).
    Text(String),
    /// A placeholder: the name between the braces.
    Name(String),
}

/// The pieces of `text`, in order; adjacent text is one piece.
pub fn pieces(text: &str, syntax: Syntax) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    // How many `{{` escapes are open: a `}}` closes one.
    let mut open_escapes = 0usize;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        if rest.starts_with('{') && syntax == Syntax::Regex && after_an_escape(bytes, at) {
            literal.push('{');
            at += 1;
        } else if rest.starts_with("{{") {
            literal.push('{');
            open_escapes += 1;
            at += 2;
        } else if rest.starts_with("}}") && open_escapes > 0 {
            literal.push('}');
            open_escapes -= 1;
            at += 2;
        } else if rest.starts_with('{')
            && let Some(len) = placeholder_len(&rest[1..])
        {
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Name(rest[1..1 + len].to_string()));
            at += len + 2;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            literal.push(c);
            at += c.len_utf8().max(1);
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    pieces
}

/// The names `text` uses, in order (with repeats).
pub fn names(text: &str, syntax: Syntax) -> Vec<String> {
    pieces(text, syntax)
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Name(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect()
}

/// The template that renders as `text` itself, whatever braces it holds (in [`Syntax::Text`]).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The escapes the reader will have open: a `}}` then closes one and stands for one `}`.
    let mut open_escapes = 0usize;
    for c in text.chars() {
        match c {
            '{' => {
                out.push_str("{{");
                open_escapes += 1;
            }
            '}' if open_escapes > 0 => {
                out.push_str("}}");
                open_escapes -= 1;
            }
            other => out.push(other),
        }
    }
    out
}

/// `text` with each placeholder replaced by `value(name)` (escaped for a regex), or the first
/// name `value` does not know.
pub fn render(
    text: &str,
    syntax: Syntax,
    value: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text, syntax) {
        match piece {
            Piece::Text(literal) => out.push_str(&literal),
            Piece::Name(name) => match value(&name) {
                Some(v) if syntax == Syntax::Regex => {
                    let literal =
                        regex_literal(&regex::escape(&v), v.chars().count(), text, ("", ""));
                    out.push_str(&literal);
                }
                Some(v) => out.push_str(&v),
                None => return Err(name),
            },
        }
    }
    Ok(out)
}

/// Whether `text` is a name as a placeholder writes it (`{text}`): a letter or `_`, then letters,
/// digits and `_`.
pub fn is_name(text: &str) -> bool {
    !text.is_empty() && placeholder_len(&format!("{text}}}")) == Some(text.len())
}

/// Regex text (`escaped`, already escaped) that matches a value exactly where it stands in
/// `pattern`, between `before` and `after`: grouped as `(?-ix:…)` where the pattern sets flags
/// (`(?i)` or `(?x)` would change what it matches) or a quantifier follows a value of several
/// characters (it would apply to the last one only); bare elsewhere, and always inside a
/// repetition's braces (`.{{{n}}}`), where a group cannot go.
pub fn regex_literal(
    escaped: &str,
    value_chars: usize,
    pattern: &str,
    (before, after): (&str, &str),
) -> String {
    let quantified = value_chars > 1 && after.starts_with(['?', '*', '+', '{']);
    if in_repetition_braces(before, after) || !(sets_flags(pattern) || quantified) {
        escaped.to_string()
    } else {
        format!("(?-ix:{escaped})")
    }
}

/// Whether a regex's text sets flags inline (`(?i)`, `(?x:…)`).
fn sets_flags(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(at, _)| {
        pattern[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .any(|c| c != '-' && c != 'P')
    })
}

/// Whether a value between `before` and `after` is a count of a repetition (`x{N}`, `x{2,N}`).
fn in_repetition_braces(before: &str, after: &str) -> bool {
    let opens =
        before.ends_with('{') || (before.ends_with(',') && before.rfind('{') > before.rfind('}'));
    opens && (after.starts_with('}') || after.starts_with(','))
}

/// The length of the name of a placeholder at the start of `after_brace` (the text after a
/// `{`), if one is there: a name, then `}`.
fn placeholder_len(after_brace: &str) -> Option<usize> {
    let len = after_brace
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(after_brace.len(), |(i, _)| i);
    (len > 0 && after_brace[len..].starts_with('}')).then_some(len)
}

/// True when the `{` at `at` is part of a regex escape: `\{`, or one of those that take braces
/// (`\p{L}`, `\P{L}`, `\x{41}`, `\u{41}`, `\U{41}`). After another escape (`\s{v}`, `\d{n}`)
/// a name is a placeholder, as anywhere.
fn after_an_escape(bytes: &[u8], at: usize) -> bool {
    let before = &bytes[..at];
    match before {
        [.., b'\\'] => !escaped_backslash(&before[..before.len() - 1]),
        [.., b'\\', b'p' | b'P' | b'x' | b'u' | b'U'] => {
            !escaped_backslash(&before[..before.len() - 2])
        }
        _ => false,
    }
}

/// True when the text before a backslash ends in an odd number of backslashes (so that one is
/// itself escaped: `\\{x}` is a backslash, then a placeholder).
fn escaped_backslash(before: &[u8]) -> bool {
    before.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Piece {
        Piece::Text(s.to_string())
    }

    fn name(s: &str) -> Piece {
        Piece::Name(s.to_string())
    }

    #[test]
    fn placeholders_are_names_between_braces() {
        assert_eq!(
            pieces("GET {path} as {user_1}", Syntax::Text),
            [text("GET "), name("path"), text(" as "), name("user_1")]
        );
        assert_eq!(pieces("{a}{b}", Syntax::Text), [name("a"), name("b")]);
    }

    #[test]
    fn json_and_quantifiers_need_no_escaping() {
        for as_is in [
            r#"{"a": 1}"#,
            r#"{"a":{"b":1}}"#,
            "x{2,3}",
            "[a-z]{2}",
            "a}b",
            "{ spaced }",
            "{1x}",
            "{unclosed",
            "}",
            "",
        ] {
            assert_eq!(
                render(as_is, Syntax::Text, &|_| None),
                Ok(as_is.to_string()),
                "{as_is}"
            );
        }
    }

    #[test]
    fn doubled_braces_write_braces() {
        assert_eq!(
            render("{{name}}", Syntax::Text, &|_| None),
            Ok("{name}".into())
        );
        assert_eq!(
            render(r#"{{"a":{{"b":1}}}}"#, Syntax::Text, &|_| None),
            Ok(r#"{"a":{"b":1}}"#.into())
        );
        // A `}}` that closes no `{{` is two braces.
        assert_eq!(render("a}}b", Syntax::Text, &|_| None), Ok("a}}b".into()));
        assert_eq!(
            render("{{{x}}}", Syntax::Text, &|n| Some(n.to_uppercase())),
            Ok("{X}".into())
        );
    }

    #[test]
    fn values_fill_placeholders_and_unknown_names_are_given_back() {
        let value = |n: &str| (n == "who").then(|| "Bob".to_string());
        assert_eq!(
            render("Hello, {who}!", Syntax::Text, &value),
            Ok("Hello, Bob!".into())
        );
        assert_eq!(render("{whom}", Syntax::Text, &value), Err("whom".into()));
    }

    #[test]
    fn regex_escapes_keep_their_braces_and_values_are_escaped() {
        let value = |n: &str| (n == "key").then(|| "a.b".to_string());
        assert_eq!(
            render(r"\p{L}+ \x{41} \{key} {key}", Syntax::Regex, &value),
            Ok(r"\p{L}+ \x{41} \{key} a\.b".into())
        );
        // An escaped backslash does not escape the brace after it.
        assert_eq!(
            render(r"\\{key}", Syntax::Regex, &value),
            Ok(r"\\a\.b".into())
        );
        // After an escape that takes no braces, a name is a placeholder.
        assert_eq!(
            render(r"\s{key}\d{key}", Syntax::Regex, &value),
            Ok(r"\sa\.b\da\.b".into())
        );
        // In text, `\p{key}` is a backslash, a p and a placeholder.
        assert_eq!(
            render(r"\p{key}", Syntax::Text, &value),
            Ok(r"\pa.b".into())
        );
    }

    #[test]
    fn escaped_text_renders_as_itself() {
        for text in [
            "{}}",
            "}{",
            "{a}",
            "{{x}}}",
            r#"{"a":{"b":1}}"#,
            "}}}{{{",
            "",
        ] {
            assert_eq!(
                render(&escape(text), Syntax::Text, &|_| None),
                Ok(text.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_name_is_a_letter_or_underscore_then_letters_digits_underscores() {
        for name in ["a", "_", "timestamp", "sid_2", "_x9"] {
            assert!(is_name(name), "{name}");
        }
        for name in ["", "2x", "api-key", "a b", "a}", "é", "a.b"] {
            assert!(!is_name(name), "{name}");
        }
    }

    #[test]
    fn names_lists_the_placeholders() {
        assert_eq!(names("{a} {{b}} {c}", Syntax::Text), ["a", "c"]);
    }

    #[test]
    fn a_regex_value_is_grouped_only_where_flags_or_a_quantifier_would_change_it() {
        assert_eq!(regex_literal("ab", 2, "^x{v}$", ("^x", "$")), "ab");
        assert_eq!(
            regex_literal("ab", 2, "(?i)^{v}", ("(?i)^", "")),
            "(?-ix:ab)"
        );
        assert_eq!(
            regex_literal("ab", 2, "(?x:{v})", ("(?x:", ")")),
            "(?-ix:ab)"
        );
        assert_eq!(regex_literal("ab", 2, "^{v}?", ("^", "?")), "(?-ix:ab)");
        assert_eq!(regex_literal("a", 1, "^{v}?", ("^", "?")), "a");
        // A count in a repetition's braces stays bare, flags or not.
        assert_eq!(
            regex_literal("16", 2, "(?s).{{{n}}}", ("(?s).{", "}")),
            "16"
        );
        assert_eq!(regex_literal("3", 1, ".{2,{n}}", (".{2,", "}")), "3");
        // A named group is not a flag.
        assert_eq!(regex_literal("ab", 2, "(?P<x>{v})", ("(?P<x>", ")")), "ab");
    }
}
