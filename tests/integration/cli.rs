use std::net::TcpListener;

use crate::support::{free_port, netlab, run, temp_file, text};

#[test]
fn help_is_available_for_every_command() {
    for args in [&["--help"][..], &["run", "--help"], &["check", "--help"]] {
        let (code, stdout, _) = text(&run(args));
        assert_eq!(code, 0, "{args:?}");
        assert!(stdout.contains("Usage: netlab"), "{args:?}: {stdout}");
        assert!(stdout.contains("Exit codes:"), "{args:?}: {stdout}");
    }
}

#[test]
fn usage_mistakes_exit_with_2() {
    assert_eq!(text(&run(&["frobnicate"])).0, 2);
    assert_eq!(text(&run(&["run"])).0, 2);
    assert_eq!(
        text(&run(&[
            "run",
            "--time-scale",
            "0",
            "scenarios/tcp_hello.yaml"
        ]))
        .0,
        2
    );
    let (code, _, stderr) = text(&run(&["check", "no/such/file.yaml"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read `no/such/file.yaml`: no such file or directory"),
        "{stderr}"
    );
}

#[test]
fn check_opens_no_socket_and_says_ok() {
    let (code, stdout, _) = text(&run(&[
        "check",
        "scenarios/tcp_hello.yaml",
        "scenarios/tcp_sequential.yaml",
    ]));
    assert_eq!(code, 0);
    assert!(stdout.contains("ok tcp_hello"), "{stdout}");
    assert!(stdout.contains("ok tcp_sequential"), "{stdout}");
}

/// A port already taken is the environment's refusal: exit code 3, with the reason.
#[test]
fn port_in_use_exits_with_3() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let file = temp_file(
        "busy.yaml",
        &format!("servers:\n  - name: busy\n    port: {port}\nclients:\n  - connect: busy\n"),
    );
    let (code, _, stderr) = text(&run(&["run", file.to_str().unwrap()]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("server `busy`: cannot bind tcp 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("ddress already in use"), "{stderr}");
}

/// A failing step makes exit code 1 and shows expected against received, as a diff.
#[test]
fn a_failing_expect_shows_a_diff_and_exits_with_1() {
    let file = temp_file(
        "wrong.yaml",
        "servers:\n  - name: hello\n    greeting: \"Welcome!\"\n    rules:\n      - reply: \"Hello, {data}!\"\nclients:\n  - connect: hello\n    steps:\n      - expect: \"Welcome!\"\n      - send: \"Michael\"\n      - expect: \"Hello, Micheal!\"\n      - send: \"never sent\"\n",
    );
    let (code, stdout, _) = text(&run(&["run", "--transcript", file.to_str().unwrap()]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ client  expect \"Hello, Micheal!\": received something else"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- expected \"Hello, Micheal!\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ received \"Hello, Michael!\""),
        "{stdout}"
    );
    assert!(stdout.contains("FAILED at steps[2]"), "{stdout}");
    assert!(
        !stdout.contains("never sent"),
        "steps after a failure must not run: {stdout}"
    );
}

/// The scenario's own timeout stops a run that would otherwise wait for far longer.
#[test]
fn the_scenario_timeout_stops_a_hung_run() {
    let file = temp_file(
        "slow.yaml",
        "timeout: 300ms\nservers:\n  - name: mute\nclients:\n  - connect: mute\n    steps:\n      - expect: \"anything\"\n        timeout: 1m\n",
    );
    let started = std::time::Instant::now();
    let (code, stdout, _) = text(&run(&["run", "--transcript", file.to_str().unwrap()]));
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("stopped: the scenario ended first"),
        "{stdout}"
    );
    assert!(stdout.contains("timed out after 300ms"), "{stdout}");
    // Not a timing assertion on netlab's speed: only that the 1m step did not run to its end.
    assert!(started.elapsed() < std::time::Duration::from_secs(50));
}

#[test]
fn colour_follows_no_color_and_the_flag() {
    let (_, plain, _) = text(&run(&[
        "check",
        "--color",
        "auto",
        "tests/bad_scenarios/backlog_zero.yaml",
    ]));
    assert!(!plain.contains('\u{1b}'));
    let output = netlab()
        .args([
            "--color",
            "always",
            "check",
            "tests/bad_scenarios/backlog_zero.yaml",
        ])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains('\u{1b}'),
        "--color always must colour"
    );
    let output = netlab()
        .args(["run", "--time-scale", "0.01", "scenarios/tcp_hello.yaml"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains('\u{1b}'),
        "NO_COLOR must not colour"
    );
}

/// FORCE_COLOR forces colour (like CLICOLOR_FORCE) where NO_COLOR does not forbid it, TERM=dumb
/// turns it off, and `--color never` holds for `--help` too.
#[test]
fn colour_follows_force_color_a_dumb_terminal_and_the_flag_in_help() {
    let coloured = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = netlab();
        command
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("TERM")
            .env_remove("FORCE_COLOR");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let all = [output.stdout, output.stderr].concat();
        String::from_utf8_lossy(&all).contains('\u{1b}')
    };
    let broken = ["check", "tests/bad_scenarios/backlog_zero.yaml"];
    assert!(coloured(&broken, &[("FORCE_COLOR", "1")]));
    assert!(!coloured(&broken, &[("FORCE_COLOR", "0")]));
    assert!(!coloured(
        &broken,
        &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]
    ));
    assert!(coloured(&["--help"], &[("FORCE_COLOR", "1")]));
    assert!(!coloured(
        &["--color", "never", "--help"],
        &[("FORCE_COLOR", "1")]
    ));
    assert!(!coloured(
        &["test", "--color=never", "--help"],
        &[("CLICOLOR_FORCE", "1")]
    ));
    assert!(!coloured(&["--help"], &[("TERM", "dumb")]));
}

/// `run -q` prints the verdict line alone: not where the servers listen.
#[test]
fn run_quiet_prints_only_the_verdict_line() {
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "-q",
        "--time-scale",
        "0.01",
        "scenarios/tcp_hello.yaml",
    ]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("PASS tcp_hello"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// NETLAB_TIME_SCALE is the option's environment form.
#[test]
fn time_scale_can_come_from_the_environment() {
    let output = netlab()
        .args(["run", "scenarios/tcp_hello.yaml"])
        .env("NETLAB_TIME_SCALE", "0.01")
        .output()
        .unwrap();
    let (code, stdout, _) = text(&output);
    assert_eq!(code, 0, "{stdout}");
    // The live view shows real elapsed times: at 0.01 the four 1s delays take well under 4s.
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.contains("expect_close"))
        .unwrap();
    let seconds: f64 = last.split('s').next().unwrap().trim().parse().unwrap();
    assert!(seconds < 3.0, "{last}");
    let bad = netlab()
        .args(["run", "scenarios/tcp_hello.yaml"])
        .env("NETLAB_TIME_SCALE", "fast")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A server bound to `::` serves IPv4 clients too where the OS allows dual stack
/// (`net.ipv6.bindv6only` = 0, the Linux default); a client naming the server dials `::1`.
#[test]
fn dual_stack_server_serves_ipv4_and_ipv6_clients() {
    let v6_only = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").unwrap_or_default();
    if v6_only.trim() != "0" {
        eprintln!("skipped dual_stack_server_serves_ipv4_and_ipv6_clients: no dual stack here");
        return;
    }
    let port = free_port();
    let file = temp_file(
        "dual.yaml",
        &format!(
            "servers:\n  - name: dual\n    bind: \"::\"\n    port: {port}\n    greeting: \"hi\"\nclients:\n  - name: by_name\n    connect: dual\n    steps:\n      - expect: \"hi\"\n  - name: over_ipv4\n    connect: \"127.0.0.1:{port}\"\n    steps:\n      - expect: \"hi\"\n  - name: over_ipv6\n    connect: \"[::1]:{port}\"\n    steps:\n      - expect: \"hi\"\n"
        ),
    );
    let (code, stdout, stderr) = text(&run(&["run", "--transcript", file.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("✓ ").count(), 6, "{stdout}");
}

/// An address this machine does not have: the environment's refusal, named plainly.
#[test]
fn an_address_not_available_exits_with_3() {
    let file = temp_file(
        "away.yaml",
        "servers:\n  - name: away\n    bind: 192.0.2.1\nclients:\n  - connect: away\n",
    );
    let (code, _, stderr) = text(&run(&["run", file.to_str().unwrap()]));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("server `away`: cannot bind tcp 192.0.2.1:0"),
        "{stderr}"
    );
    assert!(stderr.contains("ssign requested address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

/// A privileged port as an ordinary user: permission denied, exit 3 (skipped as root, which may).
#[test]
fn a_privileged_port_without_privilege_exits_with_3() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if root {
        eprintln!("skipped a_privileged_port_without_privilege_exits_with_3: running as root");
        return;
    }
    let file = temp_file(
        "low.yaml",
        "servers:\n  - name: low\n    port: 80\nclients:\n  - connect: low\n",
    );
    let (code, _, stderr) = text(&run(&["run", file.to_str().unwrap()]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("ermission denied"), "{stderr}");
}

/// A completion script for every shell clap_complete knows, naming the subcommands.
#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, stdout, stderr) = text(&run(&["completions", shell]));
        assert_eq!(code, 0, "{shell}: {stderr}");
        for command in ["run", "test", "serve", "check"] {
            assert!(
                stdout.contains(command),
                "{shell} completions lack `{command}`"
            );
        }
    }
    assert_eq!(text(&run(&["completions", "tcsh"])).0, 2);
}

/// The man page is roff with the commands, the environment and the exit codes; `--dir` writes a
/// page per command, each with its own.
#[test]
fn the_man_pages_are_roff_with_environment_and_exit_status() {
    let (code, stdout, _) = text(&run(&["man"]));
    assert_eq!(code, 0);
    assert!(stdout.contains(".TH netlab 1"), "{stdout}");
    assert!(
        stdout.contains(".SH ENVIRONMENT") && stdout.contains("NO_COLOR"),
        "{stdout}"
    );
    assert!(stdout.contains(".SH \"EXIT STATUS\""), "{stdout}");
    assert!(stdout.contains("netlab\\-run"), "{stdout}");
    let dir = std::env::temp_dir().join(format!("netlab-man-{}", std::process::id()));
    let (code, _, stderr) = text(&run(&["man", "--dir", dir.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    for command in [
        "run", "test", "serve", "check", "review", "new", "man", "schema",
    ] {
        let page = std::fs::read_to_string(dir.join(format!("netlab-{command}.1")))
            .unwrap_or_else(|e| panic!("netlab-{command}.1: {e}"));
        assert!(page.contains(".SH ENVIRONMENT"), "{command}");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{command}");
    }
    let test = std::fs::read_to_string(dir.join("netlab-test.1")).unwrap();
    for variable in [
        "NETLAB_RETRIES",
        "NETLAB_PROFILE",
        "NETLAB_VAR_<NAME>",
        "GITHUB_STEP_SUMMARY",
        "CI",
    ] {
        assert!(test.contains(variable), "{variable} missing:\n{test}");
    }
    let review = std::fs::read_to_string(dir.join("netlab-review.1")).unwrap();
    assert!(
        review.contains("under CI: snapshots are pending"),
        "{review}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netlab new` writes a starter scenario that passes as written, and will not overwrite.
#[test]
fn a_new_scenario_passes_as_written() {
    let dir = std::env::temp_dir().join(format!("netlab-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("starter.yaml");
    let (code, stdout, _) = text(&run(&[
        "new",
        "starter",
        "--output",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = text(&run(&[
        "run",
        "--time-scale",
        "0.1",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("PASS starter"), "{stdout}");
    let (code, _, stderr) = text(&run(&[
        "new",
        "starter",
        "--output",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("exists already"), "{stderr}");
    // Its modeline names a schema that is there: written beside it when none is near.
    let schema_of = |file: &std::path::Path| {
        let text = std::fs::read_to_string(file).unwrap();
        let first = text.lines().next().unwrap();
        let reference = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("no modeline: {first}"));
        file.parent().unwrap().join(reference)
    };
    let beside = schema_of(&file);
    assert!(beside.is_file(), "{}", beside.display());
    // (Unless a folder above this temporary one keeps a schema, which is then the one named.)
    if beside == dir.join("netlab.schema.json") {
        assert_eq!(
            std::fs::read_to_string(&beside).unwrap(),
            text(&run(&["schema"])).1
        );
    }
    // In a repository that keeps one in `schema/`, that one, by a relative path.
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("schema")).unwrap();
    std::fs::create_dir_all(repo.join("scenarios/deep")).unwrap();
    std::fs::write(repo.join("schema/netlab.schema.json"), "{}").unwrap();
    let deep = repo.join("scenarios/deep/x.yaml");
    let _ = std::fs::remove_file(&deep);
    let (code, _, stderr) = text(&run(&["new", "x", "--output", deep.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    let found = schema_of(&deep);
    assert!(found.is_file(), "{}", found.display());
    assert!(
        found.ends_with("../../schema/netlab.schema.json"),
        "{}",
        found.display()
    );
    assert!(!repo.join("scenarios/deep/netlab.schema.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-q` prints only the verdict, `-v` the live view and the transcript, `--format json` one
/// object per scenario and nothing else; errors stay on stderr.
#[test]
fn run_output_levels_and_json() {
    let file = "scenarios/udp_hello.yaml";
    let (code, quiet, _) = text(&run(&["run", "-q", file]));
    assert_eq!(code, 0);
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
    assert!(quiet.starts_with("PASS udp_hello"), "{quiet}");
    let (_, verbose, _) = text(&run(&["run", "-v", file]));
    assert!(
        verbose.contains("listening on") && verbose.contains("verdict: passed"),
        "{verbose}"
    );
    let (code, json, stderr) = text(&run(&[
        "run",
        "--format",
        "json",
        file,
        "scenarios/binary_length_prefixed.yaml",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{json}");
    assert_eq!(lines[0]["name"], "udp_hello");
    assert_eq!(lines[0]["verdict"], "passed");
    assert!(lines[0]["snapshot"].is_null());
    assert_eq!(lines[1]["steps"]["passed"], 7);
    assert_eq!(text(&run(&["run", "-q", "-v", file])).0, 2);
}

/// A duration of almost a year, slowed down a thousand times, panicked on overflow (exit code
/// 101); the longest durations the format takes now run as far as they get.
#[test]
fn the_longest_timeouts_at_the_slowest_time_scale_do_not_panic() {
    let file = temp_file(
        "long.yaml",
        "timeout: 365d\nservers:\n  - name: hello\n    greeting: \"Welcome!\"\n\
         clients:\n  - connect: hello\n    timeout: 365d\n    steps:\n\
         \x20     - expect: \"Welcome!\"\n        timeout: 365d\n",
    );
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "--time-scale",
        "1000",
        file.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// An echo server of the test's own, outside any scenario: answers each line with itself.
fn outside_echo() -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serving = std::thread::spawn(move || {
        // One connection per run of the scenario below (two runs).
        for stream in listener.incoming().take(2) {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            let mut lines = std::io::BufReader::new(stream);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                let _ = writer.write_all(line.as_bytes());
                line.clear();
            }
        }
    });
    (port, serving)
}

#[test]
fn target_points_a_server_outside_the_run() {
    // The scenario's server is a program that fails if it is started: with --target, it is not,
    // and the client talks to the test's own echo server instead.
    let scenario = temp_file(
        "student.yaml",
        "servers:\n  - name: student\n    exec: [\"false\"]\nclients:\n  - name: c\n    connect: student\n    steps:\n      - send: \"hi\\n\"\n      - expect: \"hi\\n\"\n      - close: true\n",
    );
    let file = scenario.to_str().unwrap();
    let (port, serving) = outside_echo();
    let target = format!("student=127.0.0.1:{port}");
    let (code, stdout, stderr) = text(&run(&["run", "--target", &target, file]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    // `netlab test` over a directory: the scenarios that have the server are pointed at it.
    let other = scenario.parent().unwrap().join("other.yaml");
    std::fs::write(
        &other,
        "servers:\n  - name: s\nclients:\n  - name: c\n    connect: s\n",
    )
    .unwrap();
    let dir = scenario.parent().unwrap().to_str().unwrap();
    let (_, stdout, stderr) = text(&run(&[
        "test", "--format", "json", "--target", &target, dir,
    ]));
    // (No snapshot is stored: whether the runs passed is what matters here, under CI as outside.)
    for line in stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["scenario"], "passed", "{stdout}\n{stderr}");
    }
    assert_eq!(stdout.lines().count(), 2, "{stdout}\n{stderr}");
    serving.join().unwrap();
    // Nobody there: the environment's refusal (3), not the scenario's failure.
    let (code, stdout, _) = text(&run(&["run", "--target", &target, file]));
    assert_eq!(code, 3, "{stdout}");
    // A name no scenario has is refused before anything runs: a misspelt target must not start
    // the real server.
    let (code, _, stderr) = text(&run(&["run", "--target", "studnt=127.0.0.1:9", file]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`studnt`") && stderr.contains("student"),
        "{stderr}"
    );
    let (code, _, stderr) = text(&run(&["run", "--target", "student", file]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("NAME=HOST:PORT"), "{stderr}");
}

#[test]
fn an_empty_netlab_variable_is_unset() {
    // Before: a CI job that left `NETLAB_PARTITION=` empty (no shards) was refused: "invalid
    // value '' for '--partition'".
    let output = crate::support::netlab()
        .args(["test", "--list", "scenarios"])
        .env("NETLAB_PARTITION", "")
        .env("NETLAB_RETRIES", "")
        .env("NETLAB_TIME_SCALE", "")
        .env("NETLAB_SLOW_TIMEOUT", "")
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("tcp_hello"), "{stdout}");
}

/// `--var` belongs to the commands that load scenarios: elsewhere it is a usage error.
#[test]
fn var_is_refused_where_nothing_uses_it() {
    let (code, _, stderr) = text(&run(&["new", "--var", "a=b", "x.yaml"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unexpected argument '--var'"), "{stderr}");
    let (code, _, stderr) = text(&run(&["schema", "--var", "a=b"]));
    assert_eq!(code, 2, "{stderr}");
}

/// `netlab check` takes folders and patterns as `netlab test` does.
#[test]
fn check_takes_folders_and_patterns_like_test() {
    let (code, stdout, stderr) = text(&run(&["check", "scenarios"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("ok tcp_hello (scenarios/tcp_hello.yaml)")
            && !stdout.contains("exercises/"),
        "{stdout}"
    );
    let (code, stdout, stderr) = text(&run(&["check", "scenarios/**/*.yaml"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("scenarios/exercises/"), "{stdout}");
    let (code, _, stderr) = text(&run(&["check", "tests/bad_scenarios"]));
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = text(&run(&["check", "tests/fixtures/nothing-here-*.yaml"]));
    assert_eq!(code, 4, "{stderr}");
}

/// `run -q` says the verdict alone: no warning about the file or the run, no second error line.
#[test]
fn run_quiet_says_no_warning() {
    let file = crate::support::temp_file(
        "joined.yaml",
        "servers: [{name: s, rules: [{reply: \"{data}\"}]}]\nclients:\n  - connect: s\n    steps:\n      - send: a\n      - send: b\n      - expect: {contains: b}\n",
    );
    let (code, stdout, stderr) = text(&run(&["run", "-q", file.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    // Without -q the warning is there.
    let (_, _, stderr) = text(&run(&["run", file.to_str().unwrap()]));
    assert!(stderr.contains("warning"), "{stderr}");
}
