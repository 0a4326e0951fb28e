//! Feedback a student can act on: the failure reported is the one that came first in time, a
//! step that waits for a close says the connection was not closed, a program's own line has
//! no verdict of its own (its exit code and output are judged on the lines after it).

use crate::support::{netlab, temp_file, text};

fn run_json(name: &str, yaml: &str) -> (i32, String) {
    let path = temp_file(name, yaml);
    let output = netlab()
        .args(["run", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let (code, stdout, _) = text(&output);
    (code, stdout)
}

#[test]
fn the_failure_reported_is_the_first_in_time_not_in_file_order() {
    // `slow` is first in the file and fails after 1s; `quick` fails at once.
    let (code, stdout) = run_json(
        "order.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    rules:
      - match: "quick"
        reply: "wrong"
clients:
  - name: slow
    connect: s
    steps:
      - send: "slow"
      - expect: "never sent"
        timeout: 1s
  - name: quick
    connect: s
    steps:
      - send: "quick"
      - expect: "right"
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let failure = line["failure"].as_str().unwrap_or_default();
    assert!(failure.starts_with("quick: "), "{failure}");
}

#[test]
fn a_step_that_waits_for_a_close_says_the_connection_was_not_closed() {
    let path = temp_file(
        "open.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    rules:
      - reply: "ok"
clients:
  - name: c
    connect: s
    steps:
      - send: "x"
      - expect: "ok"
      - expect_close: true
        timeout: 200ms
  - name: r
    connect: s
    steps:
      - send: "x"
      - read_to_close: "ok"
        timeout: 200ms
"#,
    );
    let (code, stdout, _) = text(&netlab().arg("run").arg(&path).output().unwrap());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("expect_close: the connection was not closed within 200ms"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"read_to_close "ok": the connection was not closed within 200ms"#),
        "{stdout}"
    );
    assert!(!stdout.contains("nothing matching"), "{stdout}");
}

#[test]
fn a_programs_line_has_no_verdict_of_its_own() {
    let path = temp_file(
        "program.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    rules:
      - reply: "hi"
clients:
  - name: prog
    connect: s
    exec: ["sh", "-c", "echo hello; exit 3"]
"#,
    );
    let (code, stdout, _) = text(&netlab().arg("run").arg(&path).output().unwrap());
    assert_eq!(code, 1, "{stdout}");
    let exec = stdout
        .lines()
        .find(|l| l.contains("exec sh"))
        .unwrap_or_default();
    assert!(exec.contains("· prog") && !exec.contains('✓'), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("✗ prog") && l.contains("expect_exit 0: exit code 3")),
        "{stdout}"
    );
}
