//! Whether to colour, decided once for the whole command (its output and clap's `--help`): the
//! `--color` flag, then the conventions of the environment — NO_COLOR (no-color.org),
//! CLICOLOR_FORCE and FORCE_COLOR (forced on), TERM=dumb (no colour and no spinner) — then
//! whether the stream is a terminal (anstream's `Auto`).

use std::ffi::OsString;

use anstream::ColorChoice;

use super::args::Color;

/// The colour choice for `flag` in an environment read through `var`.
pub(super) fn choice(flag: Color, var: &dyn Fn(&str) -> Option<OsString>) -> ColorChoice {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    // CLICOLOR_FORCE as bixense.com/clicolors says: set and not 0; FORCE_COLOR as Node's.
    let forced = var("CLICOLOR_FORCE").is_some_and(|v| !matches!(v.to_str(), Some("" | "0")))
        || var("FORCE_COLOR").is_some_and(|v| !matches!(v.to_str(), Some("" | "0" | "false")));
    match flag {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if set("NO_COLOR") => ColorChoice::Never,
        Color::Auto if forced => ColorChoice::Always,
        Color::Auto if dumb_terminal(var) => ColorChoice::Never,
        Color::Auto => ColorChoice::Auto,
    }
}

/// Whether the terminal says it can do nothing but print (`TERM=dumb`): no colour, no spinner.
pub(super) fn dumb_terminal(var: &dyn Fn(&str) -> Option<OsString>) -> bool {
    var("TERM").is_some_and(|t| t == "dumb")
}

/// The `--color` flag as written in `args` (before clap parses them, so that `--help` follows
/// it too): the last one wins, as clap would have it; else `NETLAB_COLOR` read through `var`.
pub(super) fn flag_in(args: &[OsString], var: &dyn Fn(&str) -> Option<OsString>) -> Color {
    let from_environment = var("NETLAB_COLOR").and_then(|v| match v.to_str() {
        Some("always") => Some(Color::Always),
        Some("never") => Some(Color::Never),
        _ => None,
    });
    let mut flag = from_environment.unwrap_or(Color::Auto);
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let value = match word.strip_prefix("--color") {
            Some("") => words.next().map(|w| w.to_string()),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        };
        flag = match value.as_deref() {
            Some("always") => Color::Always,
            Some("never") => Color::Never,
            Some("auto") => Color::Auto,
            _ => flag,
        };
    }
    flag
}

/// The same choice for clap's own output (`--help`, usage errors).
pub(super) fn for_clap(choice: ColorChoice) -> clap::ColorChoice {
    match choice {
        ColorChoice::Always | ColorChoice::AlwaysAnsi => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
        ColorChoice::Auto => clap::ColorChoice::Auto,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn the_flag_wins_then_no_color_then_forcing_then_a_dumb_terminal() {
        let auto = Color::Auto;
        assert_eq!(choice(auto, &env(&[])), ColorChoice::Auto);
        assert_eq!(choice(auto, &env(&[("TERM", "dumb")])), ColorChoice::Never);
        assert_eq!(
            choice(auto, &env(&[("FORCE_COLOR", "1")])),
            ColorChoice::Always
        );
        assert_eq!(
            choice(auto, &env(&[("FORCE_COLOR", "0")])),
            ColorChoice::Auto
        );
        assert_eq!(
            choice(auto, &env(&[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")])),
            ColorChoice::Always
        );
        assert_eq!(
            choice(auto, &env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")])),
            ColorChoice::Never
        );
        assert_eq!(
            choice(Color::Always, &env(&[("NO_COLOR", "1")])),
            ColorChoice::Always
        );
        assert_eq!(
            choice(auto, &env(&[("CLICOLOR_FORCE", "0")])),
            ColorChoice::Auto
        );
        let words = [OsString::from("netlab")];
        assert_eq!(
            flag_in(&words, &env(&[("NETLAB_COLOR", "never")])),
            Color::Never
        );
    }

    fn flag_in_args(args: &[OsString]) -> Color {
        flag_in(args, &|_| None)
    }

    #[test]
    fn the_last_color_flag_is_found_before_parsing() {
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            flag_in_args(&args(&["netlab", "--color", "never", "--help"])),
            Color::Never
        );
        assert_eq!(
            flag_in_args(&args(&["netlab", "test", "--color=always"])),
            Color::Always
        );
        assert_eq!(
            flag_in_args(&args(&["netlab", "--color=always", "--color", "never"])),
            Color::Never
        );
        assert_eq!(
            flag_in_args(&args(&["netlab", "--", "--color=never"])),
            Color::Auto
        );
    }
}
