//! `netlab.toml` profiles for `netlab test`: found from a subdirectory, a named profile over
//! `[profile.default]`, and the command line and `NETLAB_*` variables over both.

use std::path::{Path, PathBuf};

use crate::support::{netlab, text};

/// A repository with a failing scenario and `profiles` as `at` (`netlab.toml`,
/// `.config/netlab.toml`).
fn repository(at: &str, profiles: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "netlab-profiles-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::create_dir_all(dir.join("scenarios/deep")).unwrap();
    std::fs::write(
        dir.join("scenarios/wrong.yaml"),
        "servers:\n  - name: s\n    greeting: \"hi\\n\"\nclients:\n  - connect: s\n    steps:\n      - expect: \"ho\\n\"\n",
    )
    .unwrap();
    let file = dir.join(at);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, profiles).unwrap();
    dir
}

/// How many attempts `netlab test` made of the failing scenario, run from `cwd`.
fn attempts(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, u64, String) {
    let mut command = netlab();
    command
        .current_dir(cwd)
        .args(["test", "--format", "json"])
        .args(args)
        .env_remove("NETLAB_RETRIES")
        .env_remove("NETLAB_PROFILE")
        .env("CI", "true");
    for (name, value) in env {
        command.env(name, value);
    }
    let (code, stdout, stderr) = text(&command.output().unwrap());
    let attempts = stdout
        .lines()
        .next()
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .and_then(|v| v["attempts"].as_u64())
        .unwrap_or(0);
    (code, attempts, stderr)
}

#[test]
fn a_profile_is_found_from_below_and_the_command_line_and_environment_win() {
    let repo = repository(
        "netlab.toml",
        "[profile.default]\nretries = 1\n\n[profile.ci]\nretries = 2\njunit = \"target/netlab/junit.xml\"\nhtml = \"target/netlab/report\"\n",
    );
    let deep = repo.join("scenarios/deep");
    let suite = repo.join("scenarios");
    let suite = suite.to_str().unwrap();
    assert_eq!(attempts(&deep, &[suite], &[]).1, 2, "[profile.default]");
    let (code, n, stderr) = attempts(&deep, &[suite, "--profile", "ci"], &[]);
    assert_eq!((code, n), (1, 3), "{stderr}");
    // Its JUnit path is the repository's, wherever netlab runs from.
    assert!(repo.join("target/netlab/junit.xml").is_file());
    assert!(repo.join("target/netlab/report/index.html").is_file());
    assert_eq!(
        attempts(&deep, &[suite], &[("NETLAB_PROFILE", "ci")]).1,
        3,
        "NETLAB_PROFILE"
    );
    assert_eq!(
        attempts(
            &deep,
            &[suite, "--profile", "ci"],
            &[("NETLAB_RETRIES", "0")]
        )
        .1,
        1,
        "the environment over the profile"
    );
    assert_eq!(
        attempts(
            &deep,
            &[suite, "--profile", "ci", "--retries", "1"],
            &[("NETLAB_RETRIES", "0")]
        )
        .1,
        2,
        "the command line over the environment"
    );
}

#[test]
fn a_profile_in_dot_config_sets_fail_fast_and_the_command_line_undoes_it() {
    let repo = repository(".config/netlab.toml", "[profile.ci]\nfail-fast = true\n");
    std::fs::copy(
        repo.join("scenarios/wrong.yaml"),
        repo.join("scenarios/wrong2.yaml"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let (code, stdout, stderr) = text(
            &netlab()
                .current_dir(&repo)
                .args(["test", "scenarios", "-j", "1", "--profile", "ci"])
                .args(args)
                .env_remove("NETLAB_PROFILE")
                .env("CI", "true")
                .output()
                .unwrap(),
        );
        assert_eq!(code, 1, "{stdout}{stderr}");
        stdout
    };
    assert!(run(&[]).contains("SKIP"), "fail-fast from the profile");
    assert!(!run(&["--no-fail-fast"]).contains("SKIP"));
}

#[test]
fn a_wrong_profile_file_or_name_is_refused_before_anything_runs() {
    let repo = repository("netlab.toml", "[profile.ci]\nretry = 2\n");
    let (code, _, stderr) = attempts(&repo, &["scenarios", "--profile", "ci"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown field `retry`") && stderr.contains("netlab.toml:2:1"),
        "{stderr}"
    );
    std::fs::write(repo.join("netlab.toml"), "[profile.ci]\nretries = 2\n").unwrap();
    let (code, _, stderr) = attempts(&repo, &["scenarios", "--profile", "nightly"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no profile `nightly`") && stderr.contains("`ci`"),
        "{stderr}"
    );
    std::fs::remove_file(repo.join("netlab.toml")).unwrap();
    let (code, _, stderr) = attempts(&repo, &["scenarios", "--profile", "ci"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no profile file found"), "{stderr}");
}

/// `netlab test` in `cwd` with `args` and `env` (CI set): exit code, stdout, stderr.
fn test_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = netlab();
    command
        .current_dir(cwd)
        .arg("test")
        .args(args)
        .env("CI", "true")
        .env_remove("NETLAB_PROFILE");
    for (name, value) in env {
        command.env(name, value);
    }
    text(&command.output().unwrap())
}

/// Four failing scenarios in `repo`/scenarios, run one at a time.
fn four_failing(repo: &Path) {
    for name in ["wrong2", "wrong3", "wrong4"] {
        std::fs::copy(
            repo.join("scenarios/wrong.yaml"),
            repo.join(format!("scenarios/{name}.yaml")),
        )
        .unwrap();
    }
}

#[test]
fn a_variable_loses_to_the_command_line_instead_of_clashing_with_it() {
    let repo = repository("netlab.toml", "");
    four_failing(&repo);
    let (code, stdout, stderr) = test_in(
        &repo,
        &["scenarios", "-j", "1", "--max-fail", "2"],
        &[("NETLAB_FAIL_FAST", "true")],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(
        stdout.matches("SKIP").count(),
        2,
        "--max-fail 2 wins:\n{stdout}"
    );
    let (code, _, stderr) = test_in(&repo, &["scenarios", "-v"], &[("NETLAB_QUIET", "false")]);
    assert_eq!(code, 1, "{stderr}");
    // A variable alone applies; `1` is true.
    let (_, stdout, _) = test_in(
        &repo,
        &["scenarios", "-j", "1"],
        &[("NETLAB_FAIL_FAST", "1")],
    );
    assert_eq!(stdout.matches("SKIP").count(), 3, "{stdout}");
    let (code, _, stderr) = test_in(&repo, &["scenarios"], &[("NETLAB_FAIL_FAST", "maybe")]);
    assert_eq!(code, 2, "{stderr}");
    // `--list` and `--color` have theirs too.
    let (code, stdout, _) = test_in(&repo, &["scenarios"], &[("NETLAB_LIST", "true")]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("wrong2\t"), "{stdout}");
}

#[test]
fn a_chosen_profiles_stopping_rule_replaces_the_defaults_and_files_keep_their_retries() {
    let repo = repository(
        "netlab.toml",
        "[profile.default]\nfail-fast = true\nretries = 0\n\n[profile.ci]\nmax-fail = 2\n",
    );
    four_failing(&repo);
    let (_, stdout, _) = test_in(&repo, &["scenarios", "-j", "1", "--profile", "ci"], &[]);
    assert_eq!(stdout.matches("SKIP").count(), 2, "max-fail 2:\n{stdout}");
    // A file's own `retries:` beats a profile's.
    std::fs::write(
        repo.join("scenarios/wrong.yaml"),
        format!(
            "retries: 2\n{}",
            std::fs::read_to_string(repo.join("scenarios/wrong.yaml")).unwrap()
        ),
    )
    .unwrap();
    let (_, stdout, _) = test_in(&repo, &["scenarios/wrong.yaml", "--format", "json"], &[]);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["attempts"], 3, "{line}");
}

#[test]
fn every_profile_is_checked_whatever_is_chosen_or_given() {
    let repo = repository("netlab.toml", "[profile.other]\njobs = 0\n");
    let (code, _, stderr) = test_in(&repo, &["scenarios", "-j", "2"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`jobs` of [profile.other]"), "{stderr}");
    std::fs::write(
        repo.join("netlab.toml"),
        "[profile.x]\nslow-timeout = \"bogus\"\n",
    )
    .unwrap();
    let (code, _, stderr) = test_in(&repo, &["scenarios"], &[]);
    assert_eq!(code, 2, "{stderr}");
    // `--profile default` is the default: no file needed.
    std::fs::remove_file(repo.join("netlab.toml")).unwrap();
    let (code, _, stderr) = test_in(&repo, &["scenarios", "--profile", "default"], &[]);
    assert_eq!(code, 1, "{stderr}");
}
