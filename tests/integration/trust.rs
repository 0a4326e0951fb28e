//! Verdicts that can be trusted with real programs (issue 12): programs run in their scenario's
//! directory however it is named; only a passed run becomes a baseline; a program under test that
//! crashes, exits or never gets ready is its own failure (exit 1), with what it said; a fixed port
//! held by another process is refused before anything starts; exit codes by severity; signals.
//! Each test failed on the main of 2026-12-01, as its comment says.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::support::{free_port, netlab, own_peer, python3, root, text};

/// A fresh directory for a test's files, removed when the test is over.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "netlab-trust-{}-{name}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// Writes `text` as `name` in `dir` and runs it (by its absolute path), outside CI.
fn run_scenario(dir: &Path, name: &str, text: impl AsRef<str>) -> (i32, String, String) {
    std::fs::write(dir.join(name), text.as_ref()).unwrap();
    netlab_in(dir, &["run", &absolute(dir, name)])
}

/// No process is left whose working directory is `dir` (programs under test run there), where
/// `/proc` can tell.
fn assert_nothing_left_in(dir: &Path) {
    if Path::new("/proc/self/environ").exists() {
        let left = processes_in(dir);
        assert!(left.is_empty(), "left running: {left:?}");
    }
}

/// The absolute path of `name` in `dir` (so that a test does not depend on how a bare file name
/// is resolved, which another test covers).
fn absolute(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// The `netlab` binary as a user outside CI runs it: snapshots may be written (under CI, as
/// these tests themselves run there, nothing ever is, and the tests of what is stored would
/// prove nothing).
fn netlab_outside_ci() -> Command {
    let mut command = netlab();
    command.env_remove("CI").env_remove("TF_BUILD");
    command
}

/// Runs `netlab ARGS` in `dir`, outside CI.
fn netlab_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    text(
        &netlab_outside_ci()
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A client that connects to `server` and says "hi" (a YAML `clients:` block).
fn client_saying_hi_to(server: &str) -> String {
    format!("clients:\n  - name: client\n    connect: {server}\n    steps:\n      - send: \"hi\"\n")
}

/// A scenario whose client program succeeds only in the scenario's own directory.
const NEEDS_ITS_DIRECTORY: &str = "
servers:
  - name: echo
clients:
  - name: checker
    connect: echo
    exec: [\"sh\", \"-c\", \"test -f marker.txt\"]
";

#[test]
fn a_scenario_named_by_a_bare_file_name_runs_its_programs_in_its_directory() {
    // Before: `netlab run x.yaml` started the program in the directory "" (exit 3 or FAIL).
    let dir = temp_dir("bare");
    std::fs::write(dir.join("marker.txt"), "").unwrap();
    std::fs::write(dir.join("prog.yaml"), NEEDS_ITS_DIRECTORY).unwrap();
    let (code, stdout, stderr) = netlab_in(&dir, &["run", "prog.yaml"]);
    assert_eq!(code, 0, "bare name: {stdout}\n{stderr}");
    let (code, stdout, stderr) = netlab_in(&dir, &["run", "./prog.yaml"]);
    assert_eq!(code, 0, "./: {stdout}\n{stderr}");
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "--update", "prog.yaml"]);
    assert_eq!(code, 0, "test, bare name: {stdout}\n{stderr}");
    // From the parent, by a relative path, and through a symbolic link to the directory.
    let parent = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_str().unwrap();
    let relative = format!("{name}/prog.yaml");
    let (code, stdout, stderr) = netlab_in(parent, &["run", &relative]);
    assert_eq!(code, 0, "relative: {stdout}\n{stderr}");
    let link = parent.join(format!("{name}-link"));
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let through_link = link.join("prog.yaml");
    let (code, stdout, stderr) = netlab_in(parent, &["run", through_link.to_str().unwrap()]);
    assert_eq!(code, 0, "through a link: {stdout}\n{stderr}");
    let _ = std::fs::remove_file(&link);
}

#[test]
fn a_client_program_that_cannot_be_executed_is_the_environments_refusal() {
    // Before: exit 1, as if the program had failed.
    let dir = temp_dir("noexec");
    std::fs::write(
        dir.join("noexec.yaml"),
        "
servers:
  - name: echo
clients:
  - name: ghost
    connect: echo
    exec: [\"./no-such-program\", \"{port}\"]
",
    )
    .unwrap();
    let (code, stdout, stderr) = netlab_in(&dir, &["run", "noexec.yaml"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    // The message shows the command with its placeholders filled in, and where it was looked for.
    assert!(
        stderr.contains("cannot start `./no-such-program ") && !stderr.contains("{port}"),
        "{stderr}"
    );
}

/// A scenario with a netlab server answering "hi" with "hello", and a client expecting `reply`.
fn greeter(reply: &str) -> String {
    format!(
        "
servers:
  - name: greeter
    rules:
      - reply: \"hello\"
clients:
  - name: client
    connect: greeter
    steps:
      - send: \"hi\"
      - expect: \"{reply}\"
"
    )
}

#[test]
fn update_never_stores_a_failed_refused_or_timed_out_run() {
    // Before: `--update` stored "connection refused … FAILED" as the baseline.
    let dir = temp_dir("update");
    let snap = dir.join("snapshots").join("greet.snap");
    std::fs::write(dir.join("greet.yaml"), greeter("hello")).unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "--update", "greet.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    let good = std::fs::read_to_string(&snap).unwrap();

    // The run fails: the snapshot stays as it was, and the output says why.
    std::fs::write(dir.join("greet.yaml"), greeter("goodbye")).unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "--update", "greet.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("not stored: ") && stdout.contains("the run failed"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), good);
    // Without --update, no `.snap.new` for review either.
    let (code, stdout, _) = netlab_in(&dir, &["test", "greet.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!dir.join("snapshots").join("greet.snap.new").exists());

    // The run times out.
    let slow = format!("timeout: 300ms\n{}", greeter("hello")).replace(
        "      - reply: \"hello\"",
        "      - reply: \"hello\"\n        delay: 5s",
    );
    std::fs::write(dir.join("greet.yaml"), slow).unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "--update", "greet.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the run timed out"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), good);

    // The service is down (the environment refused): exit 3, nothing stored.
    let down = format!(
        "
clients:
  - name: client
    connect: \"127.0.0.1:{}\"
    steps:
      - send: \"ping\"
",
        free_port()
    );
    std::fs::write(dir.join("down.yaml"), down).unwrap();
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "--update", "down.yaml"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stdout.contains("not stored: "), "{stdout}");
    assert!(!dir.join("snapshots").join("down.snap").exists());
    assert!(!dir.join("snapshots").join("down.snap.new").exists());
}

/// A scenario grading `kv_crashes.py`: `first` gets a value, `breaker` asks for an unknown key
/// (the program crashes), `later` comes after the crash.
fn crashing_kv() -> String {
    format!(
        "
servers:
  - name: kv
    exec: [\"python3\", \"{}\", \"{{port}}\"]
clients:
  - name: first
    connect: kv
    steps:
      - send: \"GET a\\n\"
      - expect: \"1\\n\"
  - name: breaker
    connect: kv
    start_after: 200ms
    steps:
      - send: \"GET nope\\n\"
      - expect: \"0\\n\"
        hint: \"unknown keys answer 0\"
  - name: later
    connect: kv
    start_after: 1500ms
    steps:
      - send: \"GET b\\n\"
      - expect: \"2\\n\"
        hint: \"GET answers the value\"
",
        own_peer("kv_crashes.py").display()
    )
}

#[test]
fn a_program_under_test_that_crashes_is_its_failure_with_status_and_stderr() {
    // Before: exit 3 "a client could not connect", JSON verdict "error", the traceback only at
    // the end, stamped at the end; every later client showed its own hint.
    let Some(_) =
        python3("a_program_under_test_that_crashes_is_its_failure_with_status_and_stderr")
    else {
        return;
    };
    let dir = temp_dir("crash");
    std::fs::write(dir.join("kv.yaml"), crashing_kv()).unwrap();
    let (code, stdout, stderr) = netlab_in(&dir, &["run", &absolute(&dir, "kv.yaml")]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    // The live view says it when it happens (the crash is at about 0.2s; the run lasts 1.5s+).
    let crash_line = stdout
        .lines()
        .find(|l| l.contains("the program under test exited during the run (exit code 1)"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let seconds: f64 = crash_line
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(seconds < 1.4, "seen at {seconds}s: {stdout}");
    assert!(stdout.contains("KeyError: 'nope'"), "{stdout}");
    // The client after the crash blames the program, not itself.
    assert!(
        stdout.contains(
            "because the program under test had failed: exited during the run (exit code 1)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("hint: GET answers the value"), "{stdout}");
    assert!(
        stdout.contains("FAIL kv (")
            && stdout
                .contains(": the program under test of `kv` exited during the run (exit code 1)"),
        "{stdout}"
    );

    let (code, stdout, stderr) = netlab_in(
        &dir,
        &["run", "--format", "json", &absolute(&dir, "kv.yaml")],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["verdict"], "failed", "{json}");
    assert_eq!(json["scenario"], "failed", "{json}");
    assert_eq!(json["program"]["server"], "kv", "{json}");
    assert_eq!(json["program"]["exit_code"], 1, "{json}");
    assert!(json["program"]["signal"].is_null(), "{json}");
    let command = json["program"]["command"].as_str().unwrap();
    assert!(
        command.starts_with("python3 ") && !command.contains("{port}"),
        "{command}"
    );
    assert!(
        json["program"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("KeyError"),
        "{json}"
    );
}

#[test]
fn a_program_that_exits_or_never_listens_has_failed_and_nothing_else_runs() {
    // Before: exit 3, as if the environment had refused.
    let dir = temp_dir("notready");
    let quits = "
servers:
  - name: quits
    exec: [\"sh\", \"-c\", \"echo cannot bind >&2; exit 4\"]
";
    let (code, stdout, stderr) = run_scenario(
        &dir,
        "quits.yaml",
        quits.to_string() + &client_saying_hi_to("quits"),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the program under test exited (exit code 4) before it was ready"),
        "{stdout}"
    );
    assert!(stdout.contains("stderr: cannot bind"), "{stdout}");
    let sleeps = "
servers:
  - name: sleeper
    exec: [\"sleep\", \"30\"]
    ready_timeout: 300ms
";
    let (code, stdout, stderr) = run_scenario(
        &dir,
        "sleeps.yaml",
        sleeps.to_string() + &client_saying_hi_to("sleeper"),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("was not listening on port") && stdout.contains("within 300ms"),
        "{stdout}"
    );
}

#[test]
fn a_fixed_port_held_by_another_process_is_refused_before_the_program_starts() {
    // Before: the program under test failed to bind, the readiness check connected to the stale
    // listener, and the run said PASS.
    let stale = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stale.local_addr().unwrap().port();
    let dir = temp_dir("stale");
    let started = dir.join("started");
    let stale_yaml = format!(
        "
servers:
  - name: student
    port: {port}
    exec: [\"sh\", \"-c\", \"touch started; exit 1\"]
{}",
        client_saying_hi_to("student")
    );
    std::fs::write(dir.join("stale.yaml"), stale_yaml).unwrap();
    let (code, stdout, stderr) = netlab_in(&dir, &["run", &absolute(&dir, "stale.yaml")]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("port {port} is not free")),
        "{stderr}"
    );
    // The process that holds it is named (this test's own), where /proc shows it.
    if Path::new("/proc/net/tcp").exists() {
        assert!(
            stderr.contains(&format!("held by pid {}", std::process::id())),
            "{stderr}"
        );
    }
    assert!(!started.exists(), "the program was started");
    drop(stale);
}

#[test]
fn serve_without_a_server_is_a_mistake_in_the_input() {
    // Before: exit 4 (the code of `netlab test` for a filter that matched nothing).
    let dir = temp_dir("serve");
    std::fs::write(
        dir.join("clients.yaml"),
        "
clients:
  - name: client
    connect: \"127.0.0.1:9\"
    steps:
      - send: \"hi\"
",
    )
    .unwrap();
    let (code, _, stderr) = netlab_in(&dir, &["serve", "clients.yaml"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn the_json_report_has_no_snapshot_when_nothing_ran() {
    // Before: `"snapshot": "differs"` beside `"scenario": null`.
    let dir = temp_dir("json");
    std::fs::write(
        dir.join("down.yaml"),
        format!(
            "
clients:
  - name: client
    connect: \"127.0.0.1:{}\"
    steps:
      - send: \"ping\"
",
            free_port()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    std::fs::write(dir.join("snapshots").join("down.snap"), "---\n---\nold\n").unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "--format", "json", "down.yaml"]);
    assert_eq!(code, 3, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(json["scenario"].is_null(), "{json}");
    assert!(json["snapshot"].is_null(), "{json}");
    assert_eq!(json["verdict"], "error", "{json}");
}

#[test]
fn a_junit_report_in_a_new_directory_is_written_and_a_bad_path_refused_first() {
    // Before: `--junit nodir/junit.xml` ran everything, then exited 3.
    let dir = temp_dir("junit");
    std::fs::write(dir.join("greet.yaml"), greeter("hello")).unwrap();
    let (code, stdout, stderr) = netlab_in(
        &dir,
        &[
            "test",
            "--update",
            "--junit",
            "reports/ci/junit.xml",
            "greet.yaml",
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let xml = std::fs::read_to_string(dir.join("reports/ci/junit.xml")).unwrap();
    assert!(xml.contains("<testcase name=\"greet\""), "{xml}");
    // A path that cannot be written is refused before anything runs.
    std::fs::write(dir.join("a-file"), "").unwrap();
    let (code, stdout, stderr) =
        netlab_in(&dir, &["test", "--junit", "a-file/junit.xml", "greet.yaml"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stderr.contains("cannot write the JUnit report"), "{stderr}");
    assert!(!stdout.contains("PASS"), "it ran: {stdout}");
}

/// Sends `signal` to a child by its id.
fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_sigint_and_sighup_exit_143_130_and_129_after_cleanup() {
    // Before: 1 for SIGTERM and SIGINT (and `netlab serve` 0); SIGHUP killed netlab without any
    // cleanup, leaving its programs under test running.
    for (name, number, code) in [("-TERM", 15, 143), ("-INT", 2, 130), ("-HUP", 1, 129)] {
        for command in ["run", "test", "serve"] {
            let dir = temp_dir("signal");
            std::fs::write(
                dir.join("slow.yaml"),
                "
servers:
  - name: slow
    rules:
      - reply: \"late\"
        delay: 20s
clients:
  - name: client
    connect: slow
    steps:
      - send: \"hi\"
      - expect: \"late\"
        timeout: 30s
",
            )
            .unwrap();
            let mut child = netlab_outside_ci()
                .current_dir(&dir)
                .args([command, "slow.yaml"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(400));
            signal(&child, name);
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(code), "{command} after signal {number}");
            let snapshots = dir.join("snapshots");
            assert!(
                !snapshots.exists() || std::fs::read_dir(&snapshots).unwrap().next().is_none(),
                "{command} wrote a snapshot after signal {number}"
            );
        }
    }
}

/// The shipped scenarios and the fixtures, each directory copied whole (payload files and the
/// peers programs use are relative to it) into a fresh place; `PORT` in the fixtures that need a
/// server from outside becomes a port nobody listens on.
fn copies_of_every_scenario_directory() -> (TempDir, Vec<PathBuf>) {
    let base = temp_dir("sigint-suite");
    let closed_port = free_port().to_string();
    let mut copies = Vec::new();
    for (source, name) in [
        ("scenarios", "scenarios"),
        ("tests/fixtures", "fixtures"),
        ("tests/peers", "peers"),
    ] {
        let copy = base.join(name);
        std::fs::create_dir_all(&copy).unwrap();
        for entry in std::fs::read_dir(root().join(source)).unwrap().flatten() {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let bytes = match String::from_utf8(bytes) {
                Ok(text) if path.extension().is_some_and(|e| e == "yaml") => {
                    let address = format!("127.0.0.1:{closed_port}");
                    text.replace("127.0.0.1:PORT", &address)
                        .replace("HOST:PORT", &address)
                        .into_bytes()
                }
                Ok(text) => text.into_bytes(),
                Err(e) => e.into_bytes(),
            };
            let copied = copy.join(entry.file_name());
            std::fs::write(&copied, bytes).unwrap();
            // Fixtures of broken files (fuzz crashes) are not scenarios to run.
            if name != "peers" && netlab_in(&copy, &["check", copied.to_str().unwrap()]).0 != 0 {
                std::fs::remove_file(&copied).unwrap();
            }
        }
        if name != "peers" {
            copies.push(copy);
        }
    }
    (base, copies)
}

/// Every file under `dir`, with its contents.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            files.push((
                entry.path(),
                std::fs::read(entry.path()).unwrap_or_default(),
            ));
        }
    }
    files.sort();
    files
}

/// The processes whose working directory is `dir` (programs under test run there).
fn processes_in(dir: &Path) -> Vec<String> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    processes
        .flatten()
        .filter(|p| {
            p.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
                && std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd == dir)
        })
        .map(|p| p.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits (up to 10 s) until process `pid` catches SIGINT (its `SigCgt` mask in /proc).
fn handles_sigint(pid: u32) {
    for _ in 0..1000 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok());
        // SIGINT is signal 2: bit 1 of the mask.
        if caught.is_some_and(|mask| mask & 0b10 != 0) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("process {pid} never caught SIGINT");
}

#[test]
fn sigint_at_a_random_moment_of_any_scenario_exits_130_and_leaves_nothing_behind() {
    // Before: exit 1, `.snap.new` files written for the interrupted runs.
    let (_base, copies) = copies_of_every_scenario_directory();
    let mut rng = fastrand::Rng::with_seed(12);
    for round in 0..20 {
        let dir = &copies[round % copies.len()];
        let snapshots_before = files_under(&dir.join("snapshots"));
        let mut child = netlab_outside_ci()
            .current_dir(dir)
            .args(["test", "-j", "2", "."])
            .env("NETLAB_TEST_SHARED_NOTHING", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From when netlab handles SIGINT (before, the signal ends any process, netlab or not).
        handles_sigint(child.id());
        let moment = Duration::from_millis(rng.u64(20..1500));
        std::thread::sleep(moment);
        signal(&child, "-INT");
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(130),
            "round {round} in {}: SIGINT after {moment:?}",
            dir.display()
        );
        assert_eq!(
            files_under(&dir.join("snapshots")),
            snapshots_before,
            "round {round}: the snapshots directory changed"
        );
        let left = processes_in(dir);
        assert!(left.is_empty(), "round {round}: processes left: {left:?}");
    }
}

#[test]
fn a_server_program_that_exits_cleanly_mid_run_is_its_failure_every_time() {
    // Before: an exit with status 0 was a failure only if netlab happened to see it while a
    // client still talked; otherwise the client's hint was blamed.
    if python3("a_server_program_that_exits_cleanly_mid_run_is_its_failure_every_time").is_none() {
        return;
    }
    let dir = temp_dir("quits-mid-run");
    let scenario = format!(
        "
servers:
  - name: kv
    exec: [\"python3\", \"{}\", \"{{port}}\"]
clients:
  - name: quitter
    connect: kv
    steps:
      - send: \"QUIT\\n\"
      - expect: \"bye\"
        hint: \"QUIT answers bye\"
",
        own_peer("kv_crashes.py").display()
    );
    std::fs::write(dir.join("quit.yaml"), scenario).unwrap();
    for _ in 0..3 {
        let (code, stdout, stderr) = netlab_in(
            &dir,
            &["run", "--format", "json", &absolute(&dir, "quit.yaml")],
        );
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(json["program"]["exit_code"], 0, "{json}");
        let failure = json["failure"].as_str().unwrap();
        assert!(
            failure.contains("exited during the run (exit code 0)"),
            "{failure}"
        );
    }
}

#[test]
fn a_daemon_started_by_a_program_under_test_does_not_outlive_the_run() {
    // Before: a program that detached a process (setsid) left it running after the run.
    let dir = temp_dir("daemon");
    let (code, stdout, stderr) = run_scenario(
        &dir,
        "daemon.yaml",
        "
servers:
  - name: detaches
    exec: [\"sh\", \"-c\", \"setsid sleep 60 </dev/null >/dev/null 2>&1 & exit 0\"]
"
        .to_string()
            + &client_saying_hi_to("detaches"),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_nothing_left_in(&dir);
}

#[test]
fn a_stdout_too_large_to_keep_is_not_judged() {
    // Before: `expect_stdout` was matched against what was kept of it, netlab's own marker of the
    // bytes it dropped included: `contains: "bytes not kept"` passed.
    let dir = temp_dir("stdout");
    let (code, stdout, stderr) = run_scenario(
        &dir,
        "big.yaml",
        "
servers:
  - name: echo
clients:
  - name: chatty
    connect: echo
    exec: [\"sh\", \"-c\", \"head -c 18000000 /dev/zero | tr '\\\\0' x; echo\"]
    expect_stdout: { contains: \"bytes not kept\" }
",
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("is more than netlab keeps to judge (16 MiB)"),
        "{stdout}"
    );
}

#[test]
fn the_scenario_timeout_bounds_the_start_of_a_program() {
    // Before: a program that never listened held the run for its whole `ready_timeout` (30s
    // here), whatever the scenario's `timeout` and the time scale said.
    let dir = temp_dir("slow-start");
    std::fs::write(
        dir.join("slow.yaml"),
        "
timeout: 1s
servers:
  - name: sleeper
    exec: [\"sleep\", \"60\"]
    ready_timeout: 30s
"
        .to_string()
            + &client_saying_hi_to("sleeper"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = netlab_in(&dir, &["run", &absolute(&dir, "slow.yaml")]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("within 1s"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_interrupted_suite_reports_every_scenario_and_an_interrupted_start_as_such() {
    // Before: a Ctrl-C while a program started was "error" (`scenario: null`), and the scenarios
    // not yet started had no line at all.
    let dir = temp_dir("interrupted-json");
    let never_ready = "
servers:
  - name: sleeper
    exec: [\"sleep\", \"60\"]
    ready_timeout: 30s
"
    .to_string()
        + &client_saying_hi_to("sleeper");
    for name in ["a.yaml", "b.yaml", "c.yaml"] {
        std::fs::write(dir.join(name), &never_ready).unwrap();
    }
    let child = netlab_outside_ci()
        .current_dir(&*dir)
        .args(["test", "-j", "1", "--format", "json", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    signal(&child, "-INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in &lines {
        assert_eq!(line["scenario"], "interrupted", "{line}");
    }
    // The one that had started failed; those the interruption kept from starting are skipped,
    // as those `--max-fail` keeps from starting (they were counted as failures in JUnit).
    let verdicts: Vec<&str> = lines.iter().filter_map(|l| l["verdict"].as_str()).collect();
    assert_eq!(
        verdicts.iter().filter(|v| **v == "failed").count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        verdicts.iter().filter(|v| **v == "skipped").count(),
        2,
        "{stdout}"
    );
}

#[test]
fn serve_ends_when_its_only_program_has_exited() {
    // Before: `netlab serve` went on serving nothing until Ctrl-C.
    if python3("serve_ends_when_its_only_program_has_exited").is_none() {
        return;
    }
    let dir = temp_dir("serve-exit");
    std::fs::write(
        dir.join("gone.yaml"),
        "
servers:
  - name: short
    exec: [\"python3\", \"-c\", \"import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(0.5); sys.exit(3)\", \"{port}\"]
",
    )
    .unwrap();
    let mut child = netlab_outside_ci()
        .current_dir(&*dir)
        .args(["serve", "gone.yaml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve still runs after its program exited");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("exited during the run (exit code 3)"),
        "{stdout}"
    );
}

#[test]
fn a_failed_run_removes_a_stale_pending_snapshot() {
    // Before: a `.snap.new` of an earlier passing run stayed, for `cargo insta review` to accept
    // a transcript that was no longer this scenario's.
    let dir = temp_dir("stale-pending");
    let pending = dir.join("snapshots").join("greet.snap.new");
    std::fs::write(dir.join("greet.yaml"), greeter("hello")).unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "greet.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(pending.exists(), "{stdout}");
    std::fs::write(dir.join("greet.yaml"), greeter("goodbye")).unwrap();
    let (code, stdout, _) = netlab_in(&dir, &["test", "greet.yaml"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!pending.exists(), "{stdout}");
}

#[test]
fn a_report_that_cannot_be_written_is_not_a_pass() {
    // Before: `--format json > /dev/full` exited 0 with no report.
    if !Path::new("/dev/full").exists() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = netlab_outside_ci()
        .args(["run", "--format", "json", "scenarios/udp_hello.yaml"])
        .stdout(full)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
fn a_process_that_left_its_group_and_cleared_its_environment_is_ended_too() {
    // Before: `env -i setsid …` carried neither the program's group nor its mark, and outlived
    // the run (netlab now adopts orphans, and ends them with the command).
    let dir = temp_dir("escapes");
    let (code, stdout, stderr) = run_scenario(
        &dir,
        "escapes.yaml",
        "
servers:
  - name: escapes
    exec: [\"sh\", \"-c\", \"env -i setsid sleep 300 </dev/null >/dev/null 2>&1 & exec sleep 60\"]
    ready_timeout: 500ms
"
        .to_string()
            + &client_saying_hi_to("escapes"),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_nothing_left_in(&dir);
}

#[test]
fn scenarios_of_a_suite_that_share_a_fixed_port_take_turns() {
    // Before: run at once, the second could not bind the port (exit 3), or a program under test
    // on it was blamed for the clash.
    let port = free_port();
    let dir = temp_dir("shared-port");
    for name in ["one", "two", "three"] {
        std::fs::write(
            dir.join(format!("{name}.yaml")),
            format!(
                "
servers:
  - name: fixed
    port: {port}
    rules:
      - reply: \"{name}\"
        delay: 200ms
clients:
  - name: client
    connect: fixed
    steps:
      - send: \"hi\"
      - expect: \"{name}\"
"
            ),
        )
        .unwrap();
    }
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "-j", "3", "--update", "."]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn programs_that_ignore_sigterm_are_stopped_together_not_one_after_the_other() {
    // Before: each had its own second of grace in turn: six took six seconds to stop.
    if python3("programs_that_ignore_sigterm_are_stopped_together_not_one_after_the_other")
        .is_none()
    {
        return;
    }
    let server = |ignore_sigterm: bool| {
        let ignore = if ignore_sigterm {
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        } else {
            ""
        };
        format!(
            "import signal,socket,sys,time; {ignore}\
             s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(60)"
        )
    };
    let dir = temp_dir("stubborn-six");
    // Six servers that stop at SIGTERM, then six that ignore it: the difference is the time
    // spent stopping them (starting six Pythons costs the same in both, however loaded the
    // machine is).
    let mut took = Vec::new();
    for ignore_sigterm in [false, true] {
        let mut yaml = String::from("servers:\n");
        for i in 0..6 {
            yaml.push_str(&format!(
                "  - name: s{i}\n    exec: [\"python3\", \"-c\", \"{}\", \"{{port}}\"]\n",
                server(ignore_sigterm)
            ));
        }
        std::fs::write(dir.join("six.yaml"), yaml + &client_saying_hi_to("s0")).unwrap();
        let started = std::time::Instant::now();
        let (code, stdout, stderr) = netlab_in(&dir, &["run", &absolute(&dir, "six.yaml")]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        took.push(started.elapsed());
    }
    // One grace for all of them (1s), not one each (6s).
    assert!(
        took[1].saturating_sub(took[0]) < Duration::from_secs(3),
        "obedient: {:?}, stubborn: {:?}",
        took[0],
        took[1]
    );
}

#[test]
fn programs_are_told_the_time_scale() {
    // Before: NETLAB_TIME_SCALE was not in their environment, so a student's own timers could not
    // follow `--time-scale`.
    let dir = temp_dir("scale");
    std::fs::write(
        dir.join("scale.yaml"),
        "
servers:
  - name: echo
clients:
  - name: timer
    connect: echo
    exec: [\"sh\", \"-c\", \"test \\\"$NETLAB_TIME_SCALE\\\" = 0.5\"]
",
    )
    .unwrap();
    let (code, stdout, stderr) = netlab_in(
        &dir,
        &["run", "--time-scale", "0.5", &absolute(&dir, "scale.yaml")],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn a_regex_on_a_programs_stdout_shows_the_assertion_not_the_text() {
    // Before: the matched stdout went into the transcript, and with it a time that changes run to
    // run (`rtt=300.4 ms`): a snapshot failed 3 runs in 5.
    let dir = temp_dir("stdout-regex");
    std::fs::write(
        dir.join("rtt.yaml"),
        "
servers:
  - name: echo
clients:
  - name: pinger
    connect: echo
    exec: [\"sh\", \"-c\", \"echo PONG rtt=$$.4 ms\"]
    expect_stdout: { regex: \"^PONG rtt=[0-9.]+ ms\" }
",
    )
    .unwrap();
    let (code, stdout, stderr) =
        netlab_in(&dir, &["run", "--transcript", &absolute(&dir, "rtt.yaml")]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(": matched"), "{stdout}");
    assert!(!stdout.contains("got \"PONG"), "{stdout}");
}

#[test]
fn a_server_that_serves_one_client_and_exits_is_graded_as_it_served() {
    // Before: the readiness probe was the one client it served; the real client got a reset.
    // And an exit with status 0 was judged by when netlab happened to see it.
    if python3("a_server_that_serves_one_client_and_exits_is_graded_as_it_served").is_none() {
        return;
    }
    let once = "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); \
                s.listen(); c,_=s.accept(); c.sendall(b'Welcome!'); c.close()";
    let dir = temp_dir("once");
    std::fs::write(
        dir.join("once.yaml"),
        format!(
            "
servers:
  - name: once
    exec: [\"python3\", \"-c\", \"{once}\", \"{{port}}\"]
clients:
  - name: client
    connect: once
    steps:
      - expect: \"Welcome!\"
      - expect_close: true
"
        ),
    )
    .unwrap();
    for _ in 0..5 {
        let (code, stdout, stderr) = netlab_in(&dir, &["run", &absolute(&dir, "once.yaml")]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
}
