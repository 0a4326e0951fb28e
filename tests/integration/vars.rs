//! `{name}` templates end to end: vars from the file, `--var` and `NETLAB_VAR_*` in `connect`,
//! payloads, matchers and hints; `{client}` and `{instance}` per instance; braces that stay braces.

use crate::support::{netlab, temp_file, text};

/// A greeting and an expect that both use the var `who`.
const GREETER: &str = r#"
vars:
  who: world
servers:
  - name: greeter
    greeting: "hello {who}\n"
clients:
  - connect: greeter
    steps:
      - expect: "hello {who}\n"
      - expect_close: true
        timeout: 300ms
        hint: "the greeter for {who} should close"
"#;

fn run_greeter(env: Option<&str>, cli: Option<&str>) -> (i32, String, String) {
    let file = temp_file("greeter.yaml", GREETER);
    let mut command = netlab();
    command.args(["run"]).arg(&file);
    if let Some(value) = env {
        command.env("NETLAB_VAR_WHO", value);
    }
    if let Some(value) = cli {
        command.args(["--var", &format!("who={value}")]);
    }
    text(&command.output().unwrap())
}

#[test]
fn a_var_takes_the_command_line_then_the_environment_then_its_default() {
    let (code, stdout, _) = run_greeter(None, None);
    assert!(stdout.contains("hello world"), "{stdout}");
    // The server never closes: the hint fails, with the var filled in.
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("hint: the greeter for world should close"),
        "{stdout}"
    );
    let (_, stdout, _) = run_greeter(Some("env"), None);
    assert!(stdout.contains("hello env"), "{stdout}");
    let (_, stdout, _) = run_greeter(Some("env"), Some("cli"));
    assert!(stdout.contains("hello cli"), "{stdout}");
    assert!(!stdout.contains("hello env"), "{stdout}");
}

#[test]
fn connect_takes_a_var_naming_a_server_or_an_address() {
    let file = temp_file(
        "connect.yaml",
        r#"
vars:
  target: b
servers:
  - name: a
    greeting: "I am a\n"
  - name: b
    greeting: "I am b\n"
clients:
  - connect: "{target}"
    steps:
      - expect: { regex: "I am \\w\n" }
"#,
    );
    let (code, stdout, stderr) = text(&netlab().args(["run"]).arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("I am b"), "{stdout}");

    // An address from the environment: a listener of the test's own.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(b"I am z\n").unwrap();
    });
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run"])
            .arg(&file)
            .env("NETLAB_VAR_TARGET", &address)
            .output()
            .unwrap(),
    );
    server.join().unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("I am z"), "{stdout}");
}

#[test]
fn each_instance_fills_in_its_own_name_and_index() {
    let file = temp_file(
        "instances.yaml",
        r#"
servers:
  - name: kv
    framing: line
    rules:
      - match: { regex: "^SET k\\d+$" }
        reply: "OK {data}\n"
clients:
  - name: writer
    connect: kv
    count: 3
    steps:
      - send: "SET k{instance}\n"
      - expect: "OK SET k{instance}\n"
        hint: "{client} sent k{instance}"
"#,
    );
    let (code, stdout, stderr) = text(&netlab().args(["run"]).arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}{stderr}");
    for i in 1..=3 {
        let expect = format!("expect \"OK SET k{i}\\n\"");
        assert!(
            stdout
                .lines()
                .any(|line| line.contains(&format!("✓ writer#{i} ")) && line.contains(&expect)),
            "instance {i}:\n{stdout}"
        );
    }
}

#[test]
fn a_client_program_is_told_its_instance() {
    let file = temp_file(
        "program.yaml",
        r#"
servers:
  - name: quiet
clients:
  - name: p
    connect: quiet
    count: 2
    exec: ["sh", "-c", "echo {client} {instance} {port}"]
    expect_stdout: { regex: "^{client} {instance} \\d+\n$" }
"#,
    );
    let (code, stdout, stderr) = text(&netlab().args(["run"]).arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_value_in_a_regex_matches_as_text_and_json_needs_no_escaping() {
    let file = temp_file(
        "literal.yaml",
        r#"
vars:
  version: "1.2"
servers:
  - name: api
    greeting: "v1x2 v1.2 {\"a\":{\"b\":[1,2]}}\n"
clients:
  - connect: api
    steps:
      # `.` in the value is a dot, not "any character": v1x2 does not match.
      - expect: { regex: "^v{version}|^v1x2 v{version}" }
      - expect: { contains: "{\"a\":{\"b\":[1,2]}}" }
"#,
    );
    let (code, stdout, stderr) = text(&netlab().args(["run"]).arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains(r#"got "v1x2 v1.2""#), "{stdout}");
}

#[test]
fn a_var_without_a_value_is_refused_where_it_is_needed_only() {
    let file = temp_file(
        "unset.yaml",
        "vars:\n  target: ~\nclients:\n  - connect: \"{target}\"\n    steps:\n      - send: \"ping\\n\"\n",
    );
    let (code, stdout, stderr) = text(&netlab().arg("run").arg(&file).output().unwrap());
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("`target` has no value"), "{stderr}");
    assert!(stderr.contains("NETLAB_VAR_TARGET=VALUE"), "{stderr}");
    assert!(stderr.contains("unset.yaml:2:3"), "{stderr}");
    assert!(!stderr.contains("unknown server"), "{stderr}");
    // `check` checks an exercise before its values exist.
    let (code, stdout, stderr) = text(&netlab().arg("check").arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}{stderr}");
}
