//! `netlab record`: a live exchange between real programs, written as a scenario that replays it
//! against the real server, and with `--stub` without it (and its stub against the real client).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    Guard, free_port, interrupt, netlab, own_peer, python3, say_hi, serving, start_until,
    temp_file, text,
};

/// Starts `netlab record ARGS`, waits until it listens: the child, its stdout and its address.
pub fn record(args: &[&str]) -> (Guard, crate::support::Lines, SocketAddr) {
    let mut command = netlab();
    command.arg("record").args(args);
    let (child, lines, line) = start_until(command, "listening on", Duration::from_secs(20));
    let addr = line.rsplit(' ').next().unwrap().parse().unwrap();
    (child, lines, addr)
}

/// Waits (at most 30 s) for a child to exit: its exit code.
pub fn exit_code(child: &mut Guard) -> Option<i32> {
    for _ in 0..300 {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("netlab record did not stop within 30 s");
}

/// The tutorial's hello server (netlab's own copy) on a free port, quick to answer.
fn hello_server() -> (Guard, u16) {
    let port = free_port();
    let mut command = Command::new("python3");
    command
        .arg(own_peer("hello_server.py"))
        .arg(port.to_string())
        .env("HELLO_DELAY", "0.05");
    let (server, _, _) = start_until(command, "listening", Duration::from_secs(20));
    (server, port)
}

/// Runs the tutorial's hello client against `port`: what it printed.
fn hello_client(port: u16) -> String {
    let output = Command::new("python3")
        .arg(own_peer("hello_client.py"))
        .arg(port.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

const TUTORIAL_OUTPUT: &str = "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n";

fn a_new_dir(name: &str) -> PathBuf {
    temp_file(name, "").parent().unwrap().to_path_buf()
}

fn netlab_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    text(&netlab().current_dir(dir).args(args).output().unwrap())
}

/// The tutorial's client talks to its server through `netlab record`; the scenario it writes
/// replays against the real server and passes, with the transcript it stored.
#[test]
fn a_recorded_exchange_replays_against_the_real_server() {
    if python3("a_recorded_exchange_replays_against_the_real_server").is_none() {
        return;
    }
    let (_server, port) = hello_server();
    let dir = a_new_dir("record.keep");
    let file = dir.join("hello.yaml");
    let to = format!("127.0.0.1:{port}");
    let (mut recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--connections",
        "1",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(hello_client(addr.port()), TUTORIAL_OUTPUT);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    let written = std::fs::read_to_string(&file).unwrap();
    for step in [
        "      - expect: \"Welcome!\"\n",
        "      - send: \"Michael\"\n      - expect: \"Hello, Michael!\"\n",
        "      - send: \"exit\"\n",
    ] {
        assert!(written.contains(step), "no `{step}` in:\n{written}");
    }
    assert!(dir.join("snapshots/hello.snap").exists());
    // Again, later, against the same real server: same transcript.
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "hello.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// With `--stub`, the scenario replays with neither real program, and its stub, served alone,
/// gives the real client what the real server gave it.
#[test]
fn a_recorded_stub_replays_without_the_server_and_answers_the_real_client() {
    let test = "a_recorded_stub_replays_without_the_server_and_answers_the_real_client";
    if python3(test).is_none() {
        return;
    }
    let (server, port) = hello_server();
    let dir = a_new_dir("stub.keep");
    let to = format!("127.0.0.1:{port}");
    let (mut recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--connections",
        "1",
        "--stub",
        "-o",
        dir.join("hello.yaml").to_str().unwrap(),
    ]);
    assert_eq!(hello_client(addr.port()), TUTORIAL_OUTPUT);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    drop(server);
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "hello.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The stub alone, for the real client.
    let mut command = netlab();
    command
        .current_dir(&dir)
        .args(["serve", "--quiet", "hello.yaml"]);
    let (_stub, _, line) = start_until(command, "stub listening on", Duration::from_secs(20));
    let stub: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(hello_client(stub.port()), TUTORIAL_OUTPUT);
}

/// An echo server of netlab's own, served for a test (no python needed).
fn echo_server() -> (Guard, SocketAddr) {
    let file = temp_file(
        "echo.yaml",
        "servers:\n  - name: echo\n    rules:\n      - reply: \"[{data}]\"\n",
    );
    let (child, _, addr) = serving(&["serve", "--quiet"], &file, "echo listening on");
    (child, addr)
}

/// A scenario or a snapshot already there is not replaced without `--force`: refused before
/// anything listens (exit 2), the file unchanged.
#[test]
fn a_recording_never_overwrites_without_force() {
    let file = temp_file("kept.yaml", "# mine\n");
    let (code, _, stderr) = text(
        &netlab()
            .args(["record", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9"])
            .arg("-o")
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("exists already (--force replaces it)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    // Its snapshot counts too.
    let other = file.with_file_name("other.yaml");
    std::fs::create_dir_all(file.with_file_name("snapshots")).unwrap();
    std::fs::write(file.with_file_name("snapshots/other.snap"), "mine").unwrap();
    let (code, _, stderr) = text(
        &netlab()
            .args(["record", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9"])
            .arg("-o")
            .arg(&other)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("other.snap` exists already"), "{stderr}");
    // With --force, both are replaced.
    let (_echo, echo) = echo_server();
    let (mut recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &echo.to_string(),
        "--connections",
        "1",
        "--force",
        "-o",
        file.to_str().unwrap(),
    ]);
    say_hi(addr);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("send: \"hi\"")
    );
}

/// Arguments that cannot work are refused before anything listens, saying which.
#[test]
fn bad_record_arguments_are_refused() {
    for (args, says) in [
        (
            vec!["--listen", "localhost", "--to", "127.0.0.1:80"],
            "--listen `localhost` is not an address",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--to", "nowhere"],
            "--to `nowhere` is not HOST:PORT",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--to", "h:0"],
            "--to `h:0` is not HOST:PORT",
        ),
        // What a host name cannot hold (the recorder's scenario would not load: exit 101).
        (
            vec!["--listen", "127.0.0.1:0", "--to", "\"x:9"],
            "is neither an IP address nor a host name",
        ),
        (
            vec!["--udp", "--listen", "127.0.0.1:0", "--to", "a{b}:9"],
            "is neither an IP address nor a host name",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--to", "::1:80"],
            "an IPv6 address goes in brackets: `[::1]:80`",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--to", "h:1", "--redact", "("],
            "--redact `(` is not a regex",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--to", "h:1", "--redact", "x*"],
            "matches the empty string",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--to",
                "h:1",
                "--connections",
                "0",
            ],
            "--connections is at least 1",
        ),
    ] {
        let out = temp_file("never.yaml", "").with_file_name("never-written.yaml");
        let (code, _, stderr) = text(
            &netlab()
                .arg("record")
                .args(&args)
                .arg("-o")
                .arg(&out)
                .output()
                .unwrap(),
        );
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.exists());
    } // A folder that is not there: said before anything listens, not after the recording.
    let (code, _, stderr) = text(
        &netlab()
            .args(["record", "--listen", "127.0.0.1:0", "--to", "h:1"])
            .args(["-o", "/nonexistent-netlab-folder/x.yaml"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the folder `/nonexistent-netlab-folder` does not exist"),
        "{stderr}"
    );
}

/// Ctrl-C ends a recording: what came so far is written (two connections here), replays, and
/// netlab exits 0 (Ctrl-C is how a recording ends: `record && test` must work).
#[test]
fn ctrl_c_ends_a_recording_and_keeps_what_came() {
    let (_echo, echo) = echo_server();
    let dir = a_new_dir("ctrl_c.keep");
    let file = dir.join("two.yaml");
    let (recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &echo.to_string(),
        "-o",
        file.to_str().unwrap(),
    ]);
    say_hi(addr);
    say_hi(addr);
    // Both connections are over before Ctrl-C (the live view says so).
    lines.wait_for("closed its side toward the client", Duration::from_secs(10));
    lines.wait_for("closed its side toward the client", Duration::from_secs(10));
    let mut recorder = recorder;
    interrupt(&recorder.0);
    let code = exit_code(&mut recorder);
    assert_eq!(code, Some(0));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("  - name: connection_2\n"), "{written}");
    assert!(!written.contains("connection_3"), "{written}");
}

/// What changes from run to run (a time, a session id) is written as a regex and hidden in the
/// transcript: the recording replays later against the same server, with other values.
#[test]
fn redacted_parts_replay_with_other_values() {
    if python3("redacted_parts_replay_with_other_values").is_none() {
        return;
    }
    let port = free_port();
    let mut command = Command::new("python3");
    command
        .arg(own_peer("clock_server.py"))
        .arg(port.to_string());
    let (_clock, _, _) = start_until(command, "started at", Duration::from_secs(20));
    let dir = a_new_dir("clock.keep");
    let file = dir.join("clock.yaml");
    let to = format!("127.0.0.1:{port}");
    let (mut recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--connections",
        "1",
        "--redact",
        r"\d{4}-\d\d-\d\dT[0-9:.]+Z",
        "--redact",
        "sid=[0-9a-f]+",
        "-o",
        file.to_str().unwrap(),
    ]);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let mut read_line = |stream: &mut TcpStream, seen: &mut Vec<u8>| {
        while !seen.ends_with(b"\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0);
            seen.extend_from_slice(&buf[..n]);
        }
    };
    read_line(&mut stream, &mut seen);
    stream.write_all(b"ping\n").unwrap();
    seen.clear();
    read_line(&mut stream, &mut seen);
    drop(stream);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("expect: { regex: \"^HELLO (?:"),
        "{written}"
    );
    let snap = std::fs::read_to_string(dir.join("snapshots/clock.snap")).unwrap();
    assert!(snap.contains("[redacted_1]"), "{snap}");
    std::thread::sleep(Duration::from_millis(20));
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "clock.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// A recording writes a scenario that loads and replays whatever the file is called (a space, a
/// brace), whatever the `--redact` regex (a named group that matches twice in one message), and
/// with `--stub`, for a request longer than a default read. Before: exit 101 for the first two,
/// a stub that never matched for the third.
#[test]
fn a_recording_replays_whatever_its_name_redactions_and_request_sizes() {
    let (_echo, echo) = echo_server();
    let dir = a_new_dir("odd.keep");
    let file = dir.join("my session {1}.yaml");
    let (mut recorder, lines, addr) = record(&[
        "--listen",
        "127.0.0.1:0",
        "--to",
        &echo.to_string(),
        "--connections",
        "1",
        "--stub",
        "--redact",
        "sid=(?P<sid>[0-9a-f]+)",
        "-o",
        file.to_str().unwrap(),
    ]);
    let request = format!("sid=ab12 sid=cd34 {}", "z".repeat(2000));
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = vec![0u8; request.len() + 2];
    stream.read_exact(&mut reply).unwrap();
    drop(stream);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("name: \"my_session__1_\""), "{written}");
    let (code, stdout, stderr) = netlab_in(&dir, &["test", "my session {1}.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// `--to` the recorder's own `--listen` address, however spelt, is refused before anything
/// listens. Before: exit 101 (the same spelling), or a storm of connections (`localhost`).
#[test]
fn a_recorder_pointed_at_itself_is_refused() {
    let port = free_port().to_string();
    for to in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let out = temp_file("self.yaml", "").with_file_name("self-written.yaml");
        let (code, _, stderr) = text(
            &netlab()
                .args([
                    "record",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--to",
                    &to,
                ])
                .arg("-o")
                .arg(&out)
                .output()
                .unwrap(),
        );
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(
            stderr.contains("is where the recorder itself listens"),
            "{stderr}"
        );
    }
}
