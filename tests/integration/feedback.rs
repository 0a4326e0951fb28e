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

/// Points: a checking step is worth 1 by default and an action 0; `points:` on a step
/// overrides; a `count:` client earns a step's points once, when it passed in every instance;
/// a client worth points as a whole earns them all or none.
#[test]
fn points_are_earned_by_checks_once_per_client() {
    let (code, stdout) = run_json(
        "points.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    rules:
      - match: "hi"
        reply: "hello"
      - match: { regex: "^key-[12]$" }
        reply: "ok"
      - reply: "?"
clients:
  - name: plain
    connect: s
    steps:
      - send: "hi"              # 0
      - expect: "hello"         # 1
      - sleep: 10ms             # 0
      - send: "x"
      - expect: "?"
        points: 3               # 3
  - name: many
    connect: s
    count: 3
    steps:
      - send: "key-{instance}"
      - expect: "ok"            # 1, earned only if all three pass: instance 3 gets "?"
  - name: whole
    connect: s
    points: 4
    steps:
      - send: "hi"
      - expect: "hello"
      - send: "hi"
      - expect: "hello"
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["max_points"], 1 + 3 + 1 + 4, "{stdout}");
    assert_eq!(line["points"], 1 + 3 + 4, "{stdout}");
}

/// A client worth points as a whole cannot also share them out among its steps.
#[test]
fn points_on_a_client_and_its_steps_are_refused() {
    let path = temp_file(
        "both.yaml",
        r#"
clients:
  - connect: "127.0.0.1:9"
    points: 2
    steps:
      - send: "x"
      - expect: "y"
        points: 1
"#,
    );
    let (code, _, stderr) = text(&netlab().arg("check").arg(&path).output().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the client is worth 2 points as a whole"),
        "{stderr}"
    );
    assert!(stderr.contains("both.yaml:8:9"), "{stderr}");
}

/// A hidden check keeps the bytes it sends and expects out of every output a student sees —
/// the live view, the transcript, the JSON report, JUnit and the snapshot written — passed or
/// failed; its hint still shows.
#[test]
fn hidden_checks_show_none_of_their_bytes_anywhere() {
    if crate::support::python3("hidden_checks_show_none_of_their_bytes_anywhere").is_none() {
        return;
    }
    // The wrong greeting's server greets "Hello!" and answers "Hello, <name>!".
    let server = crate::support::root().join("tests/solutions/hello_server/wrong_greeting.py");
    let yaml = format!(
        r#"
name: hidden
timeout: 10s
servers:
  - name: student
    exec: ["python3", "{server}", "{{port}}"]
clients:
  - name: c
    connect: student
    steps:
      - expect: "Hello!"
      - send: "Zanzibar"
        hidden: true
      - expect: "Hello, Zanzibar!"
        hidden: true
      - send: "Quixotic"
        hidden: true
      - expect: "Hello, Quixotic?"
        hidden: true
        hint: mind the punctuation
  # A value a hidden step captured shows nowhere either: the step that uses it is hidden too.
  - name: d
    connect: student
    steps:
      - expect: "Hello!"
      - send: "Zanzibar"
        hidden: true
      - expect: {{ regex: "Hello, \\w+!" }}
        hidden: true
        capture:
          word: {{ regex: "Hello, (\\w+)" }}
      - send: "X"
      - expect: "Hello, {{word}}?"
"#,
        server = server.display()
    );
    let path = temp_file("hidden.yaml", &yaml);
    let dir = path.parent().unwrap().to_path_buf();
    let junit = dir.join("junit.xml");
    let outputs = [
        vec!["run".to_string()],
        vec!["run".into(), "--transcript".into()],
        vec!["run".into(), "--format".into(), "json".into()],
        vec!["test".into(), "--junit".into(), junit.display().to_string()],
    ];
    let mut seen = String::new();
    for args in outputs {
        let output = netlab()
            .args(&args)
            .arg(&path)
            .env_remove("CI")
            .output()
            .unwrap();
        let (code, stdout, stderr) = text(&output);
        assert_eq!(code, 1, "{args:?}: {stdout}\n{stderr}");
        seen.push_str(&stdout);
        seen.push_str(&stderr);
    }
    seen.push_str(&std::fs::read_to_string(&junit).unwrap());
    // The gradebook and Gradescope's results of `netlab grade`.
    let book = dir.join("book");
    let output = netlab()
        .arg("grade")
        .arg(&path)
        .arg(&server)
        .args(["--format", "gradescope", "--out"])
        .arg(&book)
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    seen.push_str(&stdout);
    for written in ["gradebook.csv", "gradebook.json", "results.json"] {
        seen.push_str(&std::fs::read_to_string(book.join(written)).unwrap());
    }
    for written in std::fs::read_dir(dir.join("snapshots"))
        .into_iter()
        .flatten()
    {
        seen.push_str(&std::fs::read_to_string(written.unwrap().path()).unwrap_or_default());
    }
    for secret in ["Zanzibar", "Quixotic"] {
        assert!(!seen.contains(secret), "{secret} shown:\n{seen}");
    }
    assert!(seen.contains("expect (hidden)"), "{seen}");
    assert!(seen.contains("what was expected is hidden"), "{seen}");
    assert!(seen.contains("mind the punctuation"), "{seen}");
}

/// `lose_scope: server` counts `lose_first` over every sender: a client that retries from a
/// new socket is answered once the first is lost (per sender, each new socket loses its first).
#[test]
fn lose_first_counted_for_the_whole_server_answers_a_retry_from_a_new_socket() {
    for (scope, second_gets) in [("server", "pong"), ("sender", "nothing")] {
        let second = if second_gets == "pong" {
            "      - expect: \"pong\"\n"
        } else {
            "      - expect_nothing: 300ms\n"
        };
        let (code, stdout) = run_json(
            "lossy.yaml",
            &format!(
                r#"
timeout: 5s
servers:
  - name: lossy
    protocol: udp
    rules:
      - match: "ping"
        lose_first: 1
        lose_scope: {scope}
        reply: "pong"
clients:
  - name: first_try
    connect: lossy
    steps:
      - send: "ping"
      - expect_nothing: 300ms
  - name: retry
    connect: lossy
    start_after: 150ms
    steps:
      - send: "ping"
{second}"#
            ),
        );
        assert_eq!(code, 0, "{scope}: {stdout}");
    }
    // Over the server, which of two racing clients loses its message is timing's: said at load.
    let path = temp_file(
        "race.yaml",
        r#"
servers:
  - name: lossy
    protocol: udp
    rules:
      - lose_first: 1
        lose_scope: server
        reply: "pong"
clients:
  - connect: lossy
    count: 2
    steps:
      - send: "ping"
      - expect: "pong"
"#,
    );
    let (code, _, stderr) = text(&netlab().arg("check").arg(&path).output().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("which of them loses its message is decided by which arrives first"),
        "{stderr}"
    );
}

/// A netlab server checks how many connections and messages it got at the end of the run,
/// graded like a step (1 point by default): a client that opens too many connections fails
/// the server's check, with its hint, though every step of its own passed.
#[test]
fn a_servers_counts_are_checked_at_the_end_and_graded() {
    let scenario = |tries: usize| {
        let mut clients = String::new();
        for i in 0..tries {
            clients.push_str(&format!(
                "  - name: try{i}\n    connect: s\n    steps:\n      - send: \"hi\\n\"\n      - expect: \"hello\\n\"\n"
            ));
        }
        format!(
            r#"
timeout: 5s
servers:
  - name: s
    framing: line
    expect_connections: {{ at_most: 2, hint: "reuse one connection", points: 1 }}
    expect_messages: {{ exactly: {tries}, points: 2 }}
    rules:
      - reply: "hello\n"
clients:
{clients}"#
        )
    };
    let (code, stdout) = run_json("counts.yaml", &scenario(2));
    assert_eq!(code, 0, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["points"], 2 + 1 + 2, "{stdout}");
    assert_eq!(line["max_points"], 2 + 1 + 2, "{stdout}");
    let path = temp_file("counts.yaml", &scenario(3));
    let (code, stdout, _) = text(&netlab().arg("run").arg(&path).output().unwrap());
    assert_eq!(code, 1, "{stdout}");
    let line_of = |text: &str| {
        stdout
            .lines()
            .find(|l| l.contains(text))
            .unwrap_or_default()
    };
    assert!(
        line_of("expect_connections at most 2: 3 connections").contains("✗ s"),
        "{stdout}"
    );
    assert!(stdout.contains("hint: reuse one connection"), "{stdout}");
    assert!(
        line_of("expect_messages exactly 3: 3 messages").contains("✓ s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("score 5/6 points: a server's check failed"),
        "{stdout}"
    );
}

/// A repeat, and a step inside one, earn their points only when they passed every time
/// through: an inner repeat that passed its first time but failed a later one earned them
/// (`score 5/5` on a failed run).
#[test]
fn a_repeat_earns_its_points_only_when_every_time_through_passed() {
    let (code, stdout) = run_json(
        "nested.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: line
    faults: { close_after: 6 }
    rules:
      - reply: "ok\n"
clients:
  - name: c
    connect: s
    steps:
      - repeat:
          times: 2
          steps:
            - repeat:
                times: 2
                steps:
                  - send: "a\n"
                  - expect: "ok\n"
                    points: 2
              points: 5
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["points"], 0, "{stdout}");
    assert_eq!(line["max_points"], 7, "{stdout}");
    let results = line["step_results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["result"] != "passed"), "{stdout}");
}

/// A server's count is not checked when a program under test failed: an `at_most` held over a
/// program that never started, and earned its points.
#[test]
fn a_program_that_never_starts_earns_no_server_check() {
    let (code, stdout) = run_json(
        "never.yaml",
        r#"
timeout: 5s
servers:
  - name: student
    exec: ["sh", "-c", "exit 1"]
  - name: counter
    framing: line
    expect_messages: { at_most: 3, points: 4 }
    rules:
      - reply: "ok\n"
clients:
  - connect: student
    steps:
      - send: "x\n"
      - expect: "y\n"
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["points"], 0, "{stdout}");
    assert_eq!(line["max_points"], 5, "{stdout}");
}

/// A `frame:` matcher that uses a value a hidden step captured is hidden too (it showed the
/// frame, value and all, in hex), and a passing one shows no bytes that hold the value.
#[test]
fn a_frame_that_uses_a_hidden_value_is_hidden() {
    let path = temp_file(
        "hidden_frame.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: { length: u16be }
    rules:
      - reply: { frame: "{data}" }
clients:
  - name: c
    connect: s
    steps:
      - send: { frame: "tok S3CRET" }
        hidden: true
      - expect: { frame: { regex: "^tok \\w+$" } }
        hidden: true
        capture:
          tok: { regex: "tok (\\w+)" }
      - send: { frame: "{tok}" }
      - expect: { frame: "{tok}" }
"#,
    );
    let (code, stdout, _) = text(&netlab().arg("run").arg(&path).output().unwrap());
    assert_eq!(code, 0, "{stdout}");
    let client_lines: Vec<&str> = stdout.lines().filter(|l| l.contains(" c ")).collect();
    assert_eq!(
        client_lines
            .iter()
            .filter(|l| l.contains("(hidden)"))
            .count(),
        4,
        "{stdout}"
    );
    assert!(
        client_lines
            .iter()
            .all(|l| !l.contains("53 33 43") && !l.contains("S3CRET")),
        "{stdout}"
    );
}

/// A line server counts every line its rules saw, answered or not: lines no rule answered were
/// joined into one record and counted once.
#[test]
fn unanswered_lines_are_counted_one_by_one() {
    let (code, stdout) = run_json(
        "lines.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: line
    expect_messages: { exactly: 4 }
    rules:
      - match: "last"
        reply: "ok\n"
clients:
  - name: c
    connect: s
    steps:
      - send: "one\ntwo\nthree\nlast\n"
      - expect: "ok\n"
"#,
    );
    assert_eq!(code, 0, "{stdout}");
}
