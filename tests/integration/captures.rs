//! Captures end to end: a value saved from what a step matched and used by later steps, checked
//! at load time, and the same transcript on every run although the values differ.

use std::path::Path;

use crate::support::{netlab, netlab_on, own_peer, python3, temp_file, text};

/// A login against `token_server.py`, which gives a new random token (and the time) on every
/// login: the token is captured and sent back; a length-prefixed answer is captured by its
/// length and read exactly.
fn login_scenario() -> String {
    format!(
        r#"
timeout: 10s
servers:
  - name: auth
    exec: ["python3", "{}", "{{port}}"]
clients:
  - name: client
    connect: auth
    steps:
      - send: "LOGIN alice\n"
      - expect: {{ regex: "TOKEN \\w+ at [0-9.]+\n" }}
        capture:
          token: {{ regex: "TOKEN (\\w+)" }}
          stamp: {{ regex: "at (?P<stamp>[0-9.]+)" }}
      - send: "GET {{token}}\n"
      - expect: "DATA ok\n"
      - send: "GET x{{token}}\n"
      - expect: "DENIED\n"
      # Steps that use the value: what they matched holds it, and is not shown.
      - send: "ECHO A {{token}} B\n"
      - expect: "ECHO A {{token}} B\n"
      - send: "ECHO {{token}}{{token}}\n"
      - expect: {{ contains: "{{token}}{{token}}" }}
      - expect: {{ regex: "^\n" }}
      - send: "ECHO C {{token}}\n"
      - expect: {{ regex: "^ECHO C {{token}}\n" }}
      - send: "SIZE\n"
      - expect: {{ bytes: 2 }}
        capture:
          size: {{ u16be: 0 }}
      - expect: {{ regex: "(?s-u)^.{{{{{{size}}}}}}" }}
        capture:
          payload: {{ from: 0 }}
"#,
        own_peer("token_server.py").display()
    )
}

fn test_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    text(
        &netlab()
            .current_dir(dir)
            .args(["test"])
            .args(args)
            .env("CI", "true")
            .output()
            .unwrap(),
    )
}

#[test]
fn a_captured_token_is_sent_back_and_the_snapshot_holds_on_every_run() {
    let Some(_) = python3("a_captured_token_is_sent_back_and_the_snapshot_holds_on_every_run")
    else {
        return;
    };
    let file = temp_file("login.yaml", &login_scenario());
    let dir = file.parent().unwrap();
    let (code, stdout, stderr) = text(
        &netlab()
            .current_dir(dir)
            .args(["test", "--update", "login.yaml"])
            .env_remove("CI")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let snapshot = std::fs::read_to_string(dir.join("snapshots").join("login.snap")).unwrap();
    assert!(
        snapshot.contains(r#"got "TOKEN {token} at {stamp}\n""#),
        "{snapshot}"
    );
    assert!(snapshot.contains(r#"send "GET {token}\n""#), "{snapshot}");
    // A step that uses a value shows what it asked, not what it got (which holds the value).
    assert!(
        snapshot.contains(r#"expect regex "(?s-u)^.{{{size}}": matched"#),
        "{snapshot}"
    );
    assert!(
        snapshot.contains(r#"expect contains "{token}{token}": matched"#),
        "{snapshot}"
    );
    // A new token, a new time and new random bytes each run: the same transcript.
    for _ in 0..3 {
        let (code, stdout, stderr) = test_in(dir, &["login.yaml"]);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
}

/// A server whose answer is fixed, for the failures.
const FIXED: &str = r#"
timeout: 5s
servers:
  - name: s
    framing: line
    rules:
      - match: { equals: "hi" }
        reply: "TOKEN abc\n"
      - reply: "NO {data}\n"
clients:
  - name: c
    connect: s
    steps:
      - send: "hi\n"
      - expect: { regex: "TOKEN \\w+\n" }
        capture:
          token: { regex: "TOKEN (\\w+)" }
      - send: "{token}\n"
      - expect: "OK {token}\n"
        timeout: 1s
"#;

#[test]
fn a_failure_shows_the_values_the_step_used_and_a_pass_only_their_names() {
    let (code, stdout, _) = netlab_on("run", "fixed.yaml", FIXED);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(r#"got "TOKEN {token}\n""#), "{stdout}");
    assert!(stdout.contains(r#"send "{token}\n""#), "{stdout}");
    assert!(stdout.contains(r#"- expected "OK abc\n""#), "{stdout}");
    assert!(stdout.contains(r#"+ received "NO abc\n""#), "{stdout}");
    assert!(stdout.contains(r#"{token} was "abc""#), "{stdout}");
}

#[test]
fn a_value_that_cannot_be_captured_fails_its_step() {
    let (code, stdout, _) = netlab_on(
        "run",
        "short.yaml",
        &FIXED.replace(r#"token: { regex: "TOKEN (\\w+)" }"#, "token: { u32be: 8 }"),
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("capture `token`: at offset 8: 4 bytes are needed and 2 are there"),
        "{stdout}"
    );
}

#[test]
fn each_instance_keeps_its_own_values_and_a_repeat_captures_each_time() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "instances.yaml",
        r#"
timeout: 5s
servers:
  - name: echo
    framing: line
    rules:
      - reply: "{data}\n"
clients:
  - name: c
    connect: echo
    count: 3
    steps:
      - repeat:
          times: 3
          steps:
            - send: "key-{instance}\n"
            - expect: { regex: "key-\\d\n" }
              capture: { key: { regex: "key-\\d" } }
            - send: "again {key}\n"
            - expect: "again key-{instance}\n"
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(r#"got "{key}\n""#), "{stdout}");
}

#[test]
fn mistakes_with_captures_are_refused_where_they_are_written() {
    let (code, _, stderr) = netlab_on(
        "check",
        "mistakes.yaml",
        r#"
servers:
  - name: s
    rules:
      - reply: "x"
clients:
  - name: c
    connect: s
    steps:
      - send: "{token}"
      - expect: { bytes: 1 }
        capture:
          token: { from: 0 }
          width: { u24be: 0 }
"#,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown field `u24be`"), "{stderr}");
    let (code, _, stderr) = netlab_on(
        "check",
        "early.yaml",
        r#"
servers:
  - name: s
    rules:
      - reply: "x"
clients:
  - name: c
    connect: s
    steps:
      - send: "{token}"
      - expect: { bytes: 1 }
        capture:
          token: { from: 0 }
"#,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`{token}` is used before a step captures it"),
        "{stderr}"
    );
    assert!(stderr.contains("early.yaml:10:15"), "{stderr}");
}

#[test]
fn a_servers_named_groups_fill_its_replies_for_the_rest_of_the_connection() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "kv.yaml",
        r#"
timeout: 5s
servers:
  - name: kv
    framing: line
    rules:
      - match: { regex: "^SET (?P<key>\\w+) (?P<value>\\w+)$" }
        reply: "OK {key}={value}\n"
      - match: { regex: "^GET (?P<key>\\w+)$" }
        reply: "{key} is {value}\n"
      - reply: "? {data} (last key {key})\n"
clients:
  - name: first
    connect: kv
    steps:
      - send: "HUH\n"
      - expect: "? HUH (last key )\n"
      - send: "SET a 1\n"
      - expect: "OK a=1\n"
      - send: "GET b\n"
      - expect: "b is 1\n"
  - name: another_connection
    connect: kv
    steps:
      - send: "GET z\n"
      - expect: "z is \n"
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // A name that is no group of the server's regexes is refused at its place.
    let (code, _, stderr) = netlab_on(
        "check",
        "unknown.yaml",
        r#"
servers:
  - name: kv
    rules:
      - match: { regex: "^GET (?P<key>\\w+)$" }
        reply: "{kee}\n"
"#,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown name `{kee}`"), "{stderr}");
    assert!(stderr.contains("unknown.yaml:6:16"), "{stderr}");
}

/// A server that gives the token `Ab c`, and echoes what it is sent.
const AB_C: &str = r#"
timeout: 5s
servers:
  - name: s
    framing: line
    rules:
      - match: { equals: "HI" }
        reply: "TOKEN Ab c\n"
      - reply: "{data}\n"
clients:
  - name: c
    connect: s
    steps:
      - send: "HI\n"
      - expect: { regex: "TOKEN [^\n]+\n" }
        capture:
          t: { regex: "TOKEN ([^\n]+)" }
"#;

#[test]
fn a_value_in_a_regex_matches_itself_whatever_the_flags_around_it() {
    // Each pair: what is sent back, and a regex that must NOT match it (the value is `Ab c`).
    for (echoed, regex) in [
        ("SAME ab C", r"(?i)^SAME {t}\n"),
        ("SAME Abc", r"(?x)^SAME\x20{t}\n"),
        ("SAME XAb Y", r"^SAME X{t}?Y\n"),
    ] {
        let yaml = format!(
            "{AB_C}      - send: \"{echoed}\\n\"\n      - expect: {{ regex: '{regex}' }}\n        timeout: 300ms\n"
        );
        let (code, stdout, _) = netlab_on("run", "flags.yaml", &yaml);
        assert_eq!(code, 1, "{regex} matched {echoed:?}:\n{stdout}");
    }
    // And the value matches itself under the same flags, and a count in braces still counts.
    let yaml = format!(
        "{AB_C}      - send: \"SAME Ab c\\n\"\n      - expect: {{ regex: '(?ix)^same\\x20{{t}}\\n' }}\n"
    );
    let (code, stdout, _) = netlab_on("run", "flags_ok.yaml", &yaml);
    assert_eq!(code, 0, "{stdout}");
    // A var in a regex is a literal the same way.
    let (code, stdout, _) = netlab_on(
        "run",
        "var_flags.yaml",
        r#"
vars:
  who: "Ab c"
servers:
  - name: s
    greeting: "Abc\n"
clients:
  - connect: s
    steps:
      - expect: { regex: '(?x)^{who}\n' }
        timeout: 300ms
"#,
    );
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn a_payload_filled_with_values_is_held_to_the_payload_cap() {
    let uses = "{t}".repeat(300);
    let (code, stdout, _) = netlab_on(
        "run",
        "blow.yaml",
        &format!(
            r#"
timeout: 10s
servers:
  - name: s
    greeting: {{ repeat: "x", times: 1048576 }}
clients:
  - name: c
    connect: s
    steps:
      - expect: {{ bytes: 1048576 }}
        capture:
          t: {{ from: 0 }}
      - send: "{uses}"
"#
        ),
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the most netlab builds is"), "{stdout}");
}

#[test]
fn a_servers_optional_group_that_took_no_part_is_empty_again() {
    let (code, stdout, _) = netlab_on(
        "run",
        "optional.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: line
    rules:
      - match: { regex: "^OPT(?: (?P<opt>\\w+))?$" }
        reply: "O[{opt}]\n"
clients:
  - connect: s
    steps:
      - send: "OPT x\n"
      - expect: "O[x]\n"
      - send: "OPT\n"
      - expect: "O[]\n"
"#,
    );
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn more_capture_mistakes_are_refused_at_load_time() {
    let many_groups = (0..40)
        .map(|i| format!("(x{i})"))
        .collect::<Vec<_>>()
        .join("|");
    let cases = [
        (
            r#"
vars:
  user: VAR
servers:
  - name: s
    rules:
      - match: { regex: "^U (?P<user>\\w+)$" }
        reply: "U[{user}]"
"#
            .to_string(),
            "the group `user` is named like a var",
        ),
        (
            r#"
servers:
  - name: s
    greeting: "T x\n"
clients:
  - name: c
    connect: s
    count: 2
    steps:
      - expect: { regex: "T \\w+\n" }
        capture: { t: { regex: "T (\\w+)" } }
      - send: "{instance} {t}"
  - name: p
    connect: s
    exec: ["true"]
    expect_stdout: "{t}"
"#
            .to_string(),
            "unknown name `{t}`",
        ),
        (
            r#"
servers:
  - name: s
    greeting: "T x\n"
clients:
  - connect: s
    steps:
      - expect: { regex: "T \\w+\n" }
        capture: { t: { regex: "T (\\w+)" } }
      - expect_nothing: 10ms
        hint: "the token was {t}"
"#
            .to_string(),
            "a hint is written before the run",
        ),
        (
            r#"
servers:
  - name: s
    greeting: "T"
clients:
  - connect: s
    steps:
      - expect: { bytes: 17825792 }
        capture: { first: { u8: 0 } }
"#
            .to_string(),
            "more than the client's max_received",
        ),
        (
            format!(
                r#"
servers:
  - name: s
    greeting: "T"
clients:
  - connect: s
    steps:
      - expect: {{ bytes: 1 }}
        capture: {{ t: {{ regex: "{many_groups}", group: 1 }} }}
"#
            ),
            "a regex that captures has at most 32 groups",
        ),
    ];
    for (yaml, message) in cases {
        let (code, _, stderr) = netlab_on("check", "more.yaml", &yaml);
        assert_eq!(code, 2, "{message}: {stderr}");
        assert!(stderr.contains(message), "{message}: {stderr}");
    }
}

/// A value captured from binary bytes is named in the hex the transcript shows, like a
/// redaction's placeholder: `hex "ff {n} ff"`, never the hex of the letters `{n}`.
#[test]
fn a_value_captured_from_binary_is_named_in_its_hex() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "binary.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    rules:
      - reply: { hex: "ff 00 00 01 02 ff" }
clients:
  - name: c
    connect: s
    steps:
      - send: "x"
      - expect: { bytes: 6 }
        capture:
          n: { u32be: 1 }
      - send: "{n}"
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(r#"got hex "ff {n} ff""#), "{stdout}");
    assert!(stdout.contains(r#"received "258""#), "{stdout}");
}

/// On an `http` step, captures look in the body with its chunked coding undone: a token that
/// the server's chunks cut in two is taken whole (it was taken from the raw bytes, chunk-size
/// line and all), and one in a Content-Length body is named in the transcript.
#[test]
fn captures_on_an_http_step_read_the_decoded_body() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "http_capture.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { contains: "GET /chunked" }
        reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\ntoken=t0\r\n3\r\nk3n\r\n0\r\n\r\n"
      - match: { contains: "GET /plain" }
        reply: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\ntoken=abcde"
      - reply: "{data}"
clients:
  - name: c
    connect: web
    steps:
      - send: "GET /chunked HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200, body: { regex: "^token=\\w+$" } } }
        capture:
          chunked: { regex: "token=(\\w+)" }
      - send: "GET /plain HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200 } }
        capture:
          plain: { from: 6 }
      - send: "{chunked} {plain}"
      - expect: "t0k3n abcde"
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(r#"body regex "^token=\w+$"): matched"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"got "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\ntoken={plain}""#),
        "{stdout}"
    );
}
