//! Profiles for `netlab test`, as cargo-nextest has them: a `netlab.toml` (at the repository's
//! root, or in its `.config/`) with `[profile.default]` and named profiles (`[profile.ci]`),
//! chosen by `--profile NAME` or `NETLAB_PROFILE`. What a setting takes, first found wins: the
//! command line, its `NETLAB_*` variable, the chosen profile, `[profile.default]`, netlab's
//! default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use super::args::{SlowTimeout, TestArgs, Unreferenced, parse_slow_timeout};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::SourceFile;

/// Where a profile file is looked for, in each directory from the current one up to the
/// repository's root (the first with a `.git`) or the filesystem's.
const PLACES: &[&str] = &["netlab.toml", ".config/netlab.toml"];

/// The profile every other one starts from.
const DEFAULT: &str = "default";

/// A profile file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    /// The profiles by name.
    #[serde(default)]
    profile: BTreeMap<String, Profile>,
}

/// The settings of one profile; each is the flag of the same name.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Profile {
    jobs: Option<u16>,
    retries: Option<u32>,
    fail_fast: Option<bool>,
    max_fail: Option<u32>,
    /// Relative to the directory the profile file is for (the repository's root).
    junit: Option<PathBuf>,
    time_scale: Option<f64>,
    slow_timeout: Option<String>,
    unreferenced: Option<Unreferenced>,
}

impl Profile {
    /// `self`, with what `over` sets set over it.
    fn overridden_by(self, over: Profile) -> Profile {
        Profile {
            jobs: over.jobs.or(self.jobs),
            retries: over.retries.or(self.retries),
            fail_fast: over.fail_fast.or(self.fail_fast),
            max_fail: over.max_fail.or(self.max_fail),
            junit: over.junit.or(self.junit),
            time_scale: over.time_scale.or(self.time_scale),
            slow_timeout: over.slow_timeout.or(self.slow_timeout),
            unreferenced: over.unreferenced.or(self.unreferenced),
        }
    }
}

/// Why the profile cannot be used: the message to print (with the file's position when it is
/// the file that is wrong).
#[derive(Debug)]
pub struct ProfileError(pub String);

/// Sets in `args` what the chosen profile says and neither the command line nor the
/// environment did (`matches`: how `args` was parsed, to tell a flag given from its default).
pub fn apply(args: &mut TestArgs, matches: &ArgMatches) -> Result<(), ProfileError> {
    let Some((file, root)) = find(&std::env::current_dir().unwrap_or_default()) else {
        return match &args.profile {
            Some(name) => Err(ProfileError(format!(
                "error: no profile file found for `--profile {name}`: looked for {} from here up to the repository's root",
                PLACES.join(" and ")
            ))),
            None => Ok(()),
        };
    };
    let profiles = read(&file)?;
    let name = args.profile.clone().unwrap_or_else(|| DEFAULT.to_string());
    if name != DEFAULT && !profiles.profile.contains_key(&name) {
        let known: Vec<String> = profiles.profile.keys().map(|k| format!("`{k}`")).collect();
        return Err(ProfileError(format!(
            "error: no profile `{name}` in `{}` (it has {})",
            file.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let mut profiles = profiles.profile;
    let base = profiles.remove(DEFAULT).unwrap_or_default();
    let chosen = match profiles.remove(&name) {
        Some(named) => base.overridden_by(named),
        None => base,
    };
    set(args, matches, chosen, &root, &file)
}

/// Sets each setting of `profile` that `matches` says was not given.
fn set(
    args: &mut TestArgs,
    matches: &ArgMatches,
    profile: Profile,
    root: &Path,
    file: &Path,
) -> Result<(), ProfileError> {
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let refuse = |key: &str, why: String| {
        ProfileError(format!("error: `{key}` in `{}`: {why}", file.display()))
    };
    if let Some(jobs) = profile.jobs.filter(|_| !given("jobs")) {
        if jobs == 0 {
            return Err(refuse("jobs", "must be at least 1".into()));
        }
        args.jobs = Some(jobs);
    }
    if let Some(retries) = profile.retries.filter(|_| !given("retries")) {
        if retries > 100 {
            return Err(refuse("retries", "is at most 100".into()));
        }
        args.retries = Some(retries);
    }
    // One of the three stopping rules given on the command line replaces the profile's.
    if !(given("fail_fast") || given("no_fail_fast") || given("max_fail")) {
        match (profile.fail_fast, profile.max_fail) {
            (_, Some(0)) => return Err(refuse("max-fail", "must be at least 1".into())),
            (Some(true), _) => args.fail_fast = true,
            (_, Some(most)) => args.max_fail = Some(most),
            _ => {}
        }
    }
    if let Some(junit) = profile.junit.filter(|_| !given("junit")) {
        args.junit = Some(root.join(junit));
    }
    if let Some(scale) = profile.time_scale.filter(|_| !given("time_scale")) {
        let scale = crate::plan::parse_time_scale(&scale.to_string())
            .map_err(|why| refuse("time-scale", why))?;
        args.time_scale = Some(scale);
    }
    if let Some(slow) = profile.slow_timeout.filter(|_| !given("slow_timeout")) {
        let slow: SlowTimeout =
            parse_slow_timeout(&slow).map_err(|why| refuse("slow-timeout", why))?;
        args.slow_timeout = slow;
    }
    if let Some(unreferenced) = profile.unreferenced.filter(|_| !given("unreferenced")) {
        args.unreferenced = unreferenced;
    }
    Ok(())
}

/// The profile file that applies here, and the directory it is for; `None` when there is none.
fn find(start: &Path) -> Option<(PathBuf, PathBuf)> {
    for dir in start.ancestors() {
        for place in PLACES {
            let file = dir.join(place);
            if file.is_file() {
                return Some((file, dir.to_path_buf()));
            }
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// The profiles of `file`, or what is wrong with it, at its line and column.
fn read(file: &Path) -> Result<ProfileFile, ProfileError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ProfileError(format!(
            "error: cannot read `{}`: {}",
            file.display(),
            crate::diagnostic::io_reason(&e)
        ))
    })?;
    toml::from_str(&text).map_err(|error| {
        let source = SourceFile::new(file, text.clone());
        let message = error.message().to_string();
        let diagnostic = Diagnostic::new(message, "", error.span());
        ProfileError(
            Diagnostics {
                source,
                items: vec![diagnostic],
            }
            .to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_profile_starts_from_the_default_one() {
        let file: ProfileFile = toml::from_str(
            "[profile.default]\nretries = 1\njobs = 2\n[profile.ci]\nretries = 3\nfail-fast = true\n",
        )
        .unwrap_or_default();
        let mut profiles = file.profile;
        let base = profiles.remove("default").unwrap_or_default();
        let ci = base.overridden_by(profiles.remove("ci").unwrap_or_default());
        assert_eq!(
            (ci.retries, ci.jobs, ci.fail_fast),
            (Some(3), Some(2), Some(true))
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let read: Result<ProfileFile, _> = toml::from_str("[profile.ci]\nretry = 3\n");
        assert!(read.is_err_and(|e| e.message().contains("unknown field `retry`")));
    }
}
