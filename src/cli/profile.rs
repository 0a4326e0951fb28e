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

use super::args::{TestArgs, Unreferenced, parse_slow_timeout};
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
    /// Relative to the same directory as `junit`.
    html: Option<PathBuf>,
    time_scale: Option<f64>,
    slow_timeout: Option<String>,
    unreferenced: Option<Unreferenced>,
}

impl Profile {
    /// `self`, with what `over` sets set over it; the stopping rules (`fail-fast`, `max-fail`)
    /// go together: a profile that says either replaces both.
    fn overridden_by(self, over: Profile) -> Profile {
        let stopping = over.fail_fast.is_some() || over.max_fail.is_some();
        Profile {
            jobs: over.jobs.or(self.jobs),
            retries: over.retries.or(self.retries),
            fail_fast: if stopping {
                over.fail_fast
            } else {
                self.fail_fast
            },
            max_fail: if stopping {
                over.max_fail
            } else {
                self.max_fail
            },
            junit: over.junit.or(self.junit),
            html: over.html.or(self.html),
            time_scale: over.time_scale.or(self.time_scale),
            slow_timeout: over.slow_timeout.or(self.slow_timeout),
            unreferenced: over.unreferenced.or(self.unreferenced),
        }
    }

    /// What is wrong with one of its values, if one is: the key and why.
    fn problem(&self) -> Option<(&'static str, String)> {
        if self.jobs == Some(0) {
            return Some(("jobs", "must be at least 1".into()));
        }
        if self.retries.is_some_and(|n| n > 100) {
            return Some(("retries", "is at most 100".into()));
        }
        if self.max_fail == Some(0) {
            return Some(("max-fail", "must be at least 1".into()));
        }
        if let Some(scale) = self.time_scale
            && let Err(why) = crate::plan::parse_time_scale(&scale.to_string())
        {
            return Some(("time-scale", why));
        }
        if let Some(slow) = &self.slow_timeout
            && let Err(why) = parse_slow_timeout(slow)
        {
            return Some(("slow-timeout", why));
        }
        None
    }
}

/// Why the profile cannot be used: the message to print (with the file's position when it is
/// the file that is wrong).
#[derive(Debug)]
pub struct ProfileError(pub String);

/// The variables of the flags of `netlab test` that override or exclude one another: clap would
/// make a variable clash with the command line, where it must lose to it; they are read here.
pub const GROUPED_ENVIRONMENT: &[(&str, &str)] = &[
    ("NETLAB_FAIL_FAST", "fail-fast"),
    ("NETLAB_MAX_FAIL", "max-fail"),
    ("NETLAB_NO_FAIL_FAST", "no-fail-fast"),
    ("NETLAB_QUIET", "quiet"),
    ("NETLAB_VERBOSE", "verbose"),
];

/// Sets in `args` what the grouped `NETLAB_*` variables, then the chosen profile, say and the
/// command line (and the variables clap reads) did not (`matches`: how `args` was parsed, to tell
/// a flag given from its default).
pub fn apply(args: &mut TestArgs, matches: &ArgMatches) -> Result<(), ProfileError> {
    let mut given: Vec<&str> = matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
        .collect();
    given.extend(apply_environment(args, &given, &|name| {
        std::env::var(name).ok()
    })?);
    let Some((file, root)) = find(&std::env::current_dir().unwrap_or_default()) else {
        return match args.profile.as_deref() {
            Some(name) if name != DEFAULT => Err(ProfileError(format!(
                "error: no profile file found for `--profile {name}`: looked for {} from here up to the repository's root",
                PLACES.join(" and ")
            ))),
            _ => Ok(()),
        };
    };
    let profiles = read(&file)?;
    // Every profile is checked, chosen or not, whatever the command line gives: a file is right
    // or wrong by itself.
    for (name, profile) in &profiles.profile {
        if let Some((key, why)) = profile.problem() {
            return Err(ProfileError(format!(
                "error: `{key}` of [profile.{name}] in `{}` {why}",
                file.display()
            )));
        }
    }
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
    set(args, &given, chosen, &root);
    Ok(())
}

/// Applies the grouped variables (`GROUPED_ENVIRONMENT`) read through `var` where the command line
/// gave none of their group; the ids of the flags they set.
fn apply_environment(
    args: &mut TestArgs,
    given: &[&str],
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<&'static str>, ProfileError> {
    let flag = |name: &str| -> Result<Option<bool>, ProfileError> {
        let Some(value) = var(name) else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(ProfileError(format!(
                "error: {name}=`{value}`: say true or false"
            ))),
        }
    };
    let mut set = Vec::new();
    let stopping_given = ["fail_fast", "no_fail_fast", "max_fail"]
        .iter()
        .any(|id| given.contains(id));
    if !stopping_given {
        let max_fail = match var("NETLAB_MAX_FAIL") {
            Some(text) => match text.parse::<u32>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(ProfileError(format!(
                        "error: NETLAB_MAX_FAIL=`{text}`: a number of failures, at least 1"
                    )));
                }
            },
            None => None,
        };
        if flag("NETLAB_FAIL_FAST")? == Some(true) {
            args.fail_fast = true;
            set.push("fail_fast");
        } else if let Some(most) = max_fail {
            args.max_fail = Some(most);
            set.push("max_fail");
        } else if flag("NETLAB_NO_FAIL_FAST")? == Some(true) {
            args.no_fail_fast = true;
            set.push("no_fail_fast");
        }
    }
    if !given.contains(&"quiet") && !given.contains(&"verbose") {
        if flag("NETLAB_QUIET")? == Some(true) {
            args.quiet = true;
            set.push("quiet");
        } else if flag("NETLAB_VERBOSE")? == Some(true) {
            args.verbose = true;
            set.push("verbose");
        }
    }
    Ok(set)
}

/// Sets each setting of `profile` that was not `given`.
fn set(args: &mut TestArgs, given: &[&str], profile: Profile, root: &Path) {
    let given = |id: &str| given.contains(&id);
    if let Some(jobs) = profile.jobs.filter(|_| !given("jobs")) {
        args.jobs = Some(jobs);
    }
    // A profile's retries are for the files that say nothing; `--retries` overrides the files.
    if !given("retries") {
        args.default_retries = profile.retries;
    }
    // One of the three stopping rules given on the command line replaces the profile's.
    if !(given("fail_fast") || given("no_fail_fast") || given("max_fail")) {
        match (profile.fail_fast, profile.max_fail) {
            (Some(true), _) => args.fail_fast = true,
            (_, Some(most)) => args.max_fail = Some(most),
            _ => {}
        }
    }
    if let Some(junit) = profile.junit.filter(|_| !given("junit")) {
        args.junit = Some(root.join(junit));
    }
    if let Some(html) = profile.html.filter(|_| !given("html")) {
        args.html = Some(root.join(html));
    }
    if let Some(scale) = profile.time_scale.filter(|_| !given("time_scale")) {
        // Checked with the file (`Profile::problem`).
        args.time_scale = crate::plan::parse_time_scale(&scale.to_string()).ok();
    }
    if let Some(slow) = profile.slow_timeout.filter(|_| !given("slow_timeout"))
        && let Ok(slow) = parse_slow_timeout(&slow)
    {
        args.slow_timeout = slow;
    }
    if let Some(unreferenced) = profile.unreferenced.filter(|_| !given("unreferenced")) {
        args.unreferenced = unreferenced;
    }
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
