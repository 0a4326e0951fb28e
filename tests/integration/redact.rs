//! `redact:` end to end: a program whose answers and output hold a time and a session id that
//! change from run to run keeps one snapshot; what is hidden reaches the JSON and JUnit reports,
//! and a client's patterns stay in its own section.

use std::path::{Path, PathBuf};

use crate::support::{netlab, own_peer, python3, temp_file, text};

/// The clock server under test, with its client; `redacted` adds the scenario's `timestamp`
/// and the client's `session`.
fn clock_scenario(redacted: bool) -> String {
    let scenario_redact = if redacted {
        "redact:\n  timestamp: \"\\\\d{4}-\\\\d\\\\d-\\\\d\\\\dT\\\\d\\\\d:\\\\d\\\\d:\\\\d\\\\d(\\\\.\\\\d+)?Z?\"\n"
    } else {
        ""
    };
    let client_redact = if redacted {
        "    redact:\n      session: \"sid=[0-9a-f]+\"\n"
    } else {
        ""
    };
    format!(
        "name: clock
{scenario_redact}servers:
  - name: clock
    exec: [\"python3\", \"{peer}\", \"{{port}}\"]
    capture_output: true
clients:
  - name: visitor
    connect: clock
{client_redact}    steps:
      - expect: {{ regex: \"^HELLO \\\\S+ sid=[0-9a-f]+\\\\n\" }}
      - send: \"ping\\n\"
      - expect: {{ regex: \"^ECHO ping at \\\\S+\\\\n\" }}
      - close: true
",
        peer = own_peer("clock_server.py").display()
    )
}

/// `netlab test ARGS` from the project root; under CI (nothing written) when `ci`.
fn netlab_test(args: &[&str], ci: bool) -> (i32, String, String) {
    let mut command = netlab();
    command.arg("test").args(args);
    if ci {
        command.env("CI", "true");
    } else {
        command.env_remove("CI").env_remove("TF_BUILD");
    }
    text(&command.output().unwrap())
}

fn snapshot_of(file: &Path) -> PathBuf {
    file.parent().unwrap().join("snapshots").join("clock.snap")
}

#[test]
fn a_programs_times_and_ids_redacted_keep_its_snapshot_from_run_to_run() {
    let Some(_) = python3("a_programs_times_and_ids_redacted_keep_its_snapshot_from_run_to_run")
    else {
        return;
    };
    // Redacted: the first run writes the snapshot, the second matches it.
    let file = temp_file("clock.yaml", &clock_scenario(true));
    let path = file.to_str().unwrap();
    let (code, stdout, stderr) = netlab_test(&[path, "--update"], false);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let snapshot = std::fs::read_to_string(snapshot_of(&file)).unwrap();
    for line in [
        "expect regex \"^HELLO \\S+ sid=[0-9a-f]+\\n\": got \"HELLO [timestamp] [session]\\n\"",
        "expect regex \"^ECHO ping at \\S+\\n\": got \"ECHO ping at [timestamp]\\n\"",
        "clock  stdout: started at [timestamp]",
    ] {
        assert!(snapshot.contains(line), "no `{line}` in:\n{snapshot}");
    }
    let report = file.with_file_name("junit.xml");
    let (code, stdout, stderr) = netlab_test(&[path, "--junit", report.to_str().unwrap()], true);
    assert_eq!(code, 0, "the second run differs:\n{stdout}\n{stderr}");
    // The JUnit system-out is the same transcript.
    let junit = std::fs::read_to_string(&report).unwrap();
    let document = roxmltree::Document::parse(&junit).unwrap();
    let system_out = document
        .descendants()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        system_out.contains("got \"HELLO [timestamp] [session]\\n\""),
        "{junit}"
    );

    // Not redacted: the second run's transcript is not the first's.
    let file = temp_file("clock.yaml", &clock_scenario(false));
    let path = file.to_str().unwrap();
    let (code, stdout, stderr) = netlab_test(&[path, "--update"], false);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let snapshot = std::fs::read_to_string(snapshot_of(&file)).unwrap();
    assert!(!snapshot.contains("[timestamp]"), "{snapshot}");
    let (code, stdout, _) = netlab_test(&[path], true);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("the transcript differs from its snapshot"),
        "{stdout}"
    );
}

/// A netlab server whose reply holds a time and a session id, and two clients: only `mine`
/// hides the session; both hide the time. `mine`'s last step fails.
const STAMPED: &str = r#"name: stamped
redact:
  timestamp: "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"
servers:
  - name: api
    framing: line
    rules:
      - reply: "{data} at 2025-06-01T10:00:00Z sid=00ff\n"
clients:
  - name: mine
    connect: api
    redact:
      session: "sid=[0-9a-f]+"
    steps:
      - send: "GET\n"
      - expect: "GOT at 2024-01-01T00:00:00Z sid=00ff\n"
  - name: other
    connect: api
    steps:
      - send: "PUT\n"
      - expect: { contains: "sid=00ff\n" }
"#;

#[test]
fn redaction_reaches_the_one_line_failure_and_stays_in_its_clients_section() {
    let file = temp_file("stamped.yaml", STAMPED);
    let path = file.to_str().unwrap();
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript", path])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    // The client's pattern: in its section, on its steps and its server's lines.
    for line in [
        "api   received \"GET\" → rules[0], reply \"GET at [timestamp] [session]\\n\"",
        "✗ mine  expect \"GOT at [timestamp] [session]\\n\": received something else",
        "- expected \"GOT at [timestamp] [session]\\n\"",
        "+ received \"GET at [timestamp] [session]\\n\"",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
    // Not in the other client's: the scenario's alone.
    assert!(
        stdout.contains("reply \"PUT at [timestamp] sid=00ff\\n\""),
        "{stdout}"
    );
    assert!(
        !stdout.contains("2024-01-01") && !stdout.contains("2025-06-01"),
        "{stdout}"
    );

    // The live view of `netlab run` shows the same text, each server line as its client's.
    let (code, stdout, _) = text(&netlab().args(["run", path]).output().unwrap());
    assert_eq!(code, 1, "{stdout}");
    let shown = |actor: &str, text: &str| {
        stdout
            .lines()
            .any(|line| line.contains(actor) && line.contains(text))
    };
    assert!(
        shown("api (mine)", "reply \"GET at [timestamp] [session]\\n\""),
        "{stdout}"
    );
    assert!(
        shown("api (other)", "reply \"PUT at [timestamp] sid=00ff\\n\""),
        "{stdout}"
    );

    // The one-line failure (a CI annotation, a JUnit message) and the JSON report.
    let (code, stdout, _) = text(
        &netlab()
            .args(["run", "--format", "json", path])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let failure = line["failure"].as_str().unwrap();
    assert!(
        failure.starts_with(
            "mine: expect \"GOT at [timestamp] [session]\\n\": received something else"
        ),
        "{failure}"
    );
    let report = file.with_file_name("junit.xml");
    let (code, stdout, stderr) = netlab_test(&[path, "--junit", report.to_str().unwrap()], true);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let junit = std::fs::read_to_string(&report).unwrap();
    let document = roxmltree::Document::parse(&junit).unwrap();
    let message = document
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.attribute("message"))
        .unwrap();
    assert_eq!(
        message,
        "mine: expect \"GOT at [timestamp] [session]\\n\": received something else \
         (expected \"GOT at [timestamp] [session]\\n\", received \"GET at [timestamp] [session]\\n\")"
    );
}

/// What a redaction hides stays hidden in the words that explain a failure: an HTTP header's
/// value quoted by the http view, and a server's reason for dropping a connection.
#[test]
fn redaction_reaches_the_reasons_that_quote_received_bytes() {
    let yaml = r#"
timeout: 5s
redact:
  session: "sid=[0-9a-z]+"
servers:
  - name: web
    rules:
      - reply: "HTTP/1.1 200 OK\r\nSet-Cookie: sid=secret42\r\nContent-Length: 2\r\n\r\nhi"
  - name: framed
    framing: { length: u8 }
    rules:
      - reply: { frame: "{data}{data}" }
clients:
  - name: c
    connect: web
    steps:
      - send: "GET / HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200, headers: { set-cookie: "sid=other" } } }
  - name: f
    connect: framed
    steps:
      - send: { frame: { repeat: "sid=secret43 ", times: 15 } }
      - expect: { frame: { bytes: 390 } }
"#;
    for format in ["human", "json"] {
        let path = temp_file("leak.yaml", yaml);
        let output = netlab()
            .args(["run", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        let (code, stdout, _) = text(&output);
        assert_eq!(code, 1, "{stdout}");
        assert!(stdout.contains("set-cookie"), "{format}: {stdout}");
        assert!(stdout.contains("[session]"), "{format}: {stdout}");
        assert!(!stdout.contains("secret"), "{format}: {stdout}");
    }
}
