//! The command line's shape: clap types and their help text (exit codes: `crate::exit`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::{TimeScale, parse_time_scale};

use crate::exit::EXIT_CODES;

/// Stage a network conversation from a file: start the servers and clients a scenario
/// describes, on real sockets, and show what crossed every connection.
#[derive(Debug, Parser)]
#[command(name = "netlab", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// When to colour the output (`auto` follows the terminal, NO_COLOR, FORCE_COLOR, TERM)
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto, env = "NETLAB_COLOR")]
    pub color: Color,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--var NAME=VALUE`, on the commands that load scenarios.
#[derive(Debug, Clone, Args)]
pub struct VarArgs {
    /// Give a scenario var a value, for `{NAME}` in the file (also `NETLAB_VAR_NAME=VALUE`; in
    /// `exec:`, an existing relative path is made absolute, since programs run in their
    /// scenario's directory)
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Parses `--var NAME=VALUE`.
fn parse_var(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("`{text}` is not NAME=VALUE"));
    };
    if name.is_empty() {
        return Err(format!("`{text}` has no name before `=`"));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios, printing what happens as it happens, then a verdict per scenario.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Run scenarios as regression tests: in parallel, each transcript compared with its
    /// stored snapshot (`snapshots/<name>.snap` beside the scenario, insta's format).
    #[command(after_help = EXIT_CODES)]
    Test(TestArgs),
    /// Start a scenario's servers (not its clients) and keep them up until Ctrl-C, printing
    /// where each listens and every connection as it happens, to talk to with `nc` or any program.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
    /// Load and validate scenarios without opening any socket.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Walk the pending snapshots (`*.snap.new`, as `netlab test` and insta write them): show
    /// each diff, then accept, reject or skip it. Under CI it shows them and changes nothing.
    #[command(after_help = REVIEW_EXIT_CODES)]
    Review(ReviewArgs),
    /// Grade a class: run an exercise against every submission, in parallel, and write a
    /// gradebook (CSV and JSON; Gradescope's results.json with `--format gradescope`).
    #[command(after_help = GRADE_HELP)]
    Grade(GradeArgs),
    /// Check a lab itself: run each exercise against the solutions it declares (`solutions:`,
    /// `--expect`); a reference must pass, a broken one fail where its author meant.
    #[command(after_help = EXIT_CODES)]
    Lab(LabArgs),
    /// Write a commented starter scenario that passes as written.
    New(NewArgs),
    /// Stand between a real client and a real server as a proxy, and write what went through it
    /// as a scenario that replays it (with `--stub`, a server that answers as the real one did),
    /// then replay it once and keep its transcript as its snapshot.
    #[command(after_help = EXIT_CODES)]
    Record(RecordArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or write one per command into a folder.
    Man {
        /// Write netlab.1 and a page per command (netlab-run.1, netlab-test.1…) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format (for editors: yaml-language-server).
    Schema,
}

/// Arguments of `netlab review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Folders to search for `*.snap.new` at every depth, or pending snapshot files
    /// [default: scenarios]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Accept every pending snapshot without asking
    #[arg(long, conflicts_with = "reject_all")]
    pub accept_all: bool,
    /// Reject (remove) every pending snapshot without asking
    #[arg(long)]
    pub reject_all: bool,
}

/// The exit codes of `netlab review`.
const REVIEW_EXIT_CODES: &str = "Exit codes:
  0    reviewed: every pending snapshot was accepted, rejected or skipped (or there was none)
  1    under CI: snapshots are pending (they were shown; nothing was changed)
  2    the input is wrong (usage; --accept-all or --reject-all under CI)
  3    a snapshot could not be read, written or removed";

/// `--target NAME=HOST:PORT`: a server of the scenario served from outside the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideServer {
    /// The server's name in the scenario.
    pub server: String,
    /// Where its clients connect instead (`host:port`, `[v6]:port`).
    pub address: String,
}

impl std::str::FromStr for OutsideServer {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("`{text}` is not NAME=HOST:PORT (e.g. `echo=127.0.0.1:7000`)");
        let (server, address) = text.split_once('=').ok_or_else(wrong)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(wrong)?;
        if server.is_empty() || host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(wrong());
        }
        Ok(OutsideServer {
            server: server.to_string(),
            address: address.to_string(),
        })
    }
}

/// Arguments of `netlab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files to run, one after the other.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Do not start server NAME: its clients connect to HOST:PORT (a service already running,
    /// a program started by hand); give it once per server
    #[arg(long = "target", value_name = "NAME=HOST:PORT")]
    pub targets: Vec<OutsideServer>,
    /// Multiply every declared delay, sleep and timeout by FACTOR (0.01 runs 100× faster);
    /// transcripts keep the declared values.
    #[arg(long, value_name = "FACTOR", env = "NETLAB_TIME_SCALE", value_parser = parse_time_scale)]
    pub time_scale: Option<TimeScale>,
    /// Print the deterministic transcript after each run instead of the live view.
    #[arg(long, conflicts_with_all = ["quiet", "verbose"])]
    pub transcript: bool,
    /// Print only the verdict line of each scenario.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print the live view, then the deterministic transcript too.
    #[arg(short, long)]
    pub verbose: bool,
    /// What to print on stdout: people's text, or one JSON object per scenario (the schema of
    /// `netlab test --format json`, docs/json-report.md, without a snapshot).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also write an HTML report to FILE: each scenario's sequence diagram, first failure and
    /// transcript, in one self-contained page
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the sequence diagram of the scenario to FILE as SVG (one scenario only)
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Values for the scenarios' vars.
    #[command(flatten)]
    pub var: VarArgs,
}

/// How `netlab grade` maps a submission to the exercise's vars, and what it writes.
const GRADE_HELP: &str = "\
Each SUBMISSION (a file or a directory) fills the exercise's vars: `{}` in a --var value is the
submission's path (`--var solution={}/server.py` for a directory holding server.py); without one,
the submission is the value of `solution`. The gradebook (gradebook.csv, gradebook.json) goes in
--out. Failing submissions are grades, not errors: the exit code is 0 once the gradebook is
written (2: the exercise or a submission path is wrong; 3: the gradebook cannot be written).";

/// What `netlab grade` writes beside the gradebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GradeFormat {
    /// gradebook.csv and gradebook.json (always written).
    Gradebook,
    /// Gradescope's autograder results.json, one per submission.
    Gradescope,
}

/// Arguments of `netlab grade`.
#[derive(Debug, Args)]
pub struct GradeArgs {
    /// The exercise: a scenario file.
    #[arg(value_name = "EXERCISE")]
    pub exercise: PathBuf,
    /// The submissions, one per student: files or directories.
    #[arg(required = true, value_name = "SUBMISSION")]
    pub submissions: Vec<PathBuf>,
    /// Where the gradebook goes (created if needed).
    #[arg(long, value_name = "DIR", default_value = "gradebook")]
    pub out: PathBuf,
    /// What to write besides gradebook.csv and gradebook.json (repeatable).
    #[arg(long, value_enum)]
    pub format: Vec<GradeFormat>,
    /// How the submissions run.
    #[command(flatten)]
    pub class: ClassArgs,
    /// Values for the exercise's vars; `{}` in a value is the submission's path.
    #[command(flatten)]
    pub var: VarArgs,
}

/// How `netlab grade` and `netlab lab` run many programs against an exercise.
#[derive(Debug, Args)]
pub struct ClassArgs {
    /// Programs run at once [default: one per CPU]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// Multiply every declared delay, sleep and timeout by FACTOR.
    #[arg(long, value_name = "FACTOR", env = "NETLAB_TIME_SCALE", value_parser = parse_time_scale)]
    pub time_scale: Option<TimeScale>,
}

/// A solution given on the command line, and how it must do.
#[derive(Debug, Clone)]
pub struct ExpectedSolution {
    /// The solution.
    pub path: PathBuf,
    /// Pass or fail.
    pub expect: crate::scenario::SolutionExpect,
    /// Where it must fail.
    pub at: Option<String>,
}

/// Arguments of `netlab lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The exercises: scenario files (their `solutions:` are run).
    #[arg(required = true, value_name = "EXERCISE")]
    pub exercises: Vec<PathBuf>,
    /// One more solution and how it must do: PATH=pass, PATH=fail, or PATH=fail:AT (AT:
    /// CLIENT.steps[N], a program's SERVER, SERVER.expect_messages); repeatable
    #[arg(long, value_name = "PATH=pass|fail[:AT]", value_parser = super::lab::parse_expected)]
    pub expect: Vec<ExpectedSolution>,
    /// How the solutions run.
    #[command(flatten)]
    pub class: ClassArgs,
    /// Values for the exercises' vars; `{}` in a value is the solution's path.
    #[command(flatten)]
    pub var: VarArgs,
}

/// Arguments of `netlab test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files, directories whose `*.yaml` files to take (not subdirectories), or patterns
    /// such as 'scenarios/**/*.yaml' (quoted: `**` takes every depth) [default: scenarios]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Do not start server NAME in the scenarios that have one: their clients connect to
    /// HOST:PORT; give it once per server
    #[arg(
        long = "target",
        value_name = "NAME=HOST:PORT",
        env = "NETLAB_TARGET",
        value_delimiter = ','
    )]
    pub targets: Vec<OutsideServer>,
    /// Run N scenarios at once [default: 4 per CPU: scenarios mostly wait on sockets and delays]
    #[arg(short = 'j', long, value_name = "N", env = "NETLAB_JOBS", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Only the scenarios whose name contains TEXT (give it several times for any of several)
    #[arg(
        long,
        value_name = "TEXT",
        env = "NETLAB_FILTER",
        value_delimiter = ','
    )]
    pub filter: Vec<String>,
    /// Run one shard of the suite: count:K/N (every N-th from the K-th) or hash:K/N (by name),
    /// as cargo-nextest; `--list` shows the shard
    #[arg(long, value_name = "KIND:K/N", env = "NETLAB_PARTITION")]
    pub partition: Option<crate::suite::Partition>,
    /// Run a failing scenario up to N more times; one that passes on a retry is FLAKY (overrides
    /// the files' `retries:`)
    #[arg(long, value_name = "N", env = "NETLAB_RETRIES", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: Option<u32>,
    /// Retries for the scenarios whose file says nothing (a profile's `retries`).
    #[arg(skip)]
    pub default_retries: Option<u32>,
    /// Start no more scenarios after the first failure (those not started are SKIPPED)
    #[arg(long, overrides_with_all = ["no_fail_fast", "max_fail"])]
    pub fail_fast: bool,
    /// Run every scenario, however many fail (the default)
    #[arg(long, overrides_with_all = ["fail_fast", "max_fail"])]
    pub no_fail_fast: bool,
    /// Start no more scenarios once N have failed
    #[arg(long, value_name = "N", overrides_with_all = ["fail_fast", "no_fail_fast"], value_parser = clap::value_parser!(u32).range(1..))]
    pub max_fail: Option<u32>,
    /// What to do with snapshots no scenario of the run writes (left by a renamed or removed
    /// scenario) in the folders given: warn, reject (fail the run), delete (not under CI),
    /// ignore
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = Unreferenced::Warn, env = "NETLAB_UNREFERENCED")]
    pub unreferenced: Unreferenced,
    /// Print a SLOW line for a scenario each time it has run this long more (`60s`; `0s`: never)
    #[arg(long, value_name = "DURATION", env = "NETLAB_SLOW_TIMEOUT", default_value = "60s", value_parser = parse_slow_timeout)]
    pub slow_timeout: SlowTimeout,
    /// List the scenarios that would run, and run nothing
    #[arg(long, env = "NETLAB_LIST")]
    pub list: bool,
    /// Write new and changed snapshots (never when the CI environment variable is set)
    #[arg(long, env = "NETLAB_UPDATE")]
    pub update: bool,
    /// Multiply every declared delay, sleep and timeout by FACTOR; snapshots do not change
    #[arg(long, value_name = "FACTOR", env = "NETLAB_TIME_SCALE", value_parser = parse_time_scale)]
    pub time_scale: Option<TimeScale>,
    /// Also write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE", env = "NETLAB_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Also write an HTML report to DIR: index.html with a row per scenario, and a page per
    /// scenario with its sequence diagram
    #[arg(long, value_name = "DIR", env = "NETLAB_HTML")]
    pub html: Option<PathBuf>,
    /// Print only what failed and the summary line.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print the transcript of every scenario.
    #[arg(short, long)]
    pub verbose: bool,
    /// What to print on stdout
    #[arg(long, value_enum, default_value_t = Format::Human, env = "NETLAB_FORMAT")]
    pub format: Format,
    /// Take the settings of this profile of netlab.toml (or .config/netlab.toml) where the
    /// command line and NETLAB_* variables say nothing [default: default]
    #[arg(long, value_name = "NAME", env = "NETLAB_PROFILE")]
    pub profile: Option<String>,
    /// Values for the scenarios' vars.
    #[command(flatten)]
    pub var: VarArgs,
}

impl TestArgs {
    /// After how many failures no more scenarios start (`None`: never).
    pub fn max_fail(&self) -> Option<usize> {
        match (self.fail_fast, self.no_fail_fast, self.max_fail) {
            (true, _, _) => Some(1),
            (_, true, _) => None,
            (_, _, most) => most.map(|n| n as usize),
        }
    }
}

/// `--slow-timeout`: after how long a running scenario is said to be slow (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowTimeout(pub Option<std::time::Duration>);

/// A duration as scenario files write it (`60s`, `1m30s`); `0s` turns SLOW lines off.
pub(super) fn parse_slow_timeout(text: &str) -> Result<SlowTimeout, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("`{text}` is not a duration such as `60s`: {e}"))?;
    Ok(SlowTimeout((!duration.is_zero()).then_some(duration)))
}

/// `--unreferenced`: what to do with snapshots no scenario writes (cargo-insta's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unreferenced {
    /// Say nothing.
    Ignore,
    /// Name them.
    Warn,
    /// Name them and fail the run.
    Reject,
    /// Remove them (only named under CI, where nothing is written).
    Delete,
}

/// Output format of `netlab test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines and diffs for people.
    Human,
    /// One JSON object per scenario per line (schema in docs/json-report.md).
    Json,
}

/// Arguments of `netlab serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario whose servers to start.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only this server (give it several times for several) [default: all of them]
    #[arg(long = "server", value_name = "NAME")]
    pub servers: Vec<String>,
    /// Print only where each server listens, not every connection and message (for load)
    #[arg(long, short)]
    pub quiet: bool,
    /// Multiply every declared delay by FACTOR
    #[arg(long, value_name = "FACTOR", env = "NETLAB_TIME_SCALE", value_parser = parse_time_scale)]
    pub time_scale: Option<TimeScale>,
    /// Values for the scenarios' vars.
    #[command(flatten)]
    pub var: VarArgs,
}

/// Arguments of `netlab record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to listen for the client: IP:PORT (port 0: any free port, printed)
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The real server to forward to
    #[arg(long, value_name = "HOST:PORT")]
    pub to: String,
    /// The scenario to write; its snapshot goes to snapshots/ beside it
    #[arg(long, short, value_name = "FILE", default_value = "recorded.yaml")]
    pub output: PathBuf,
    /// What changes from run to run (a time, an id): written as this regex, hidden in the
    /// transcript; give it once per regex
    #[arg(long, value_name = "REGEX")]
    pub redact: Vec<String>,
    /// Also write a stand-in server whose rules answer as the real one did (greeting, request →
    /// reply), which the recorded clients connect to
    #[arg(long)]
    pub stub: bool,
    /// Stop once this many connections are over (with --udp: this many senders were heard and
    /// all went quiet for a second) [default: at Ctrl-C]
    #[arg(long, value_name = "N")]
    pub connections: Option<u64>,
    /// Record datagrams: listen on UDP and relay to a UDP server (each sender becomes a client)
    #[arg(long)]
    pub udp: bool,
    /// Replace the scenario and its snapshot if they exist
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `netlab new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The scenario's name; the file is NAME.yaml unless --output says otherwise.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Where to write it [default: NAME.yaml in the current directory]
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the file if it exists
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `netlab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files, directories whose `*.yaml` files to take (not subdirectories), or patterns
    /// such as 'scenarios/**/*.yaml', as `netlab test` takes them [default: scenarios]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Values for the scenarios' vars.
    #[command(flatten)]
    pub var: VarArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
