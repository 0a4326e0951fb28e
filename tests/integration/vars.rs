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

/// `netlab check FILE` on `text` written to a temporary file: exit code and stderr.
fn check(name: &str, text: &str) -> (i32, String) {
    let file = temp_file(name, text);
    let (code, _, stderr) = text_of(&netlab().arg("check").arg(&file).output().unwrap());
    (code, collapsed(&stderr))
}

/// `text` with each run of one character longer than 20 written as `c…(N)`: the messages about
/// huge files stay readable, their labels and numbers kept.
fn collapsed(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        if run > 20 {
            out.push_str(&format!("{c}…({run})"));
        } else {
            out.extend(std::iter::repeat_n(c, run));
        }
    }
    out
}

use crate::support::text as text_of;

#[test]
fn a_later_instance_that_is_wrong_is_refused_with_its_instance() {
    // `^x{2,1}$` for instance 2: not a regex. It was dropped, and the step matched anything.
    let (code, stderr) = check(
        "later.yaml",
        "servers: [{name: echo, framing: line, rules: [{reply: \"{data}\"}]}]\nclients:\n  - {name: c, connect: echo, count: 3, steps: [{send: \"x\\n\"}, {expect: {regex: \"^x{{{instance},1}}$\"}}]}\n",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("invalid regex") && stderr.contains("with {instance} = 2"),
        "{stderr}"
    );
    // A datagram that only the tenth instance's number makes too long.
    let unit = "x".repeat(65_506);
    let (code, stderr) = check(
        "udp.yaml",
        &format!(
            "servers: [{{name: u, protocol: udp}}]\nclients:\n  - {{name: c, connect: u, count: 10, steps: [{{send: \"{{instance}}{unit}\"}}]}}\n"
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("with {instance} = 10"), "{stderr}");
}

#[test]
fn what_templates_build_counts_against_the_payload_caps() {
    let big = "b".repeat(1 << 20);
    // A text of one var 300 times: 300 MiB, over the cap of one payload.
    let (code, stderr) = check(
        "one.yaml",
        &format!(
            "vars: {{big: {big}}}\nservers: [{{name: s}}]\nclients: [{{connect: s, steps: [{{send: \"{}\"}}]}}]\n",
            "{big}".repeat(300)
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("filled in, this payload would be 314572800 bytes"),
        "{stderr}"
    );
    // `{client}` is as long as the client's name (1 MiB here), in every one of its 800 uses.
    let name = "n".repeat(1 << 20);
    let sends = (0..4)
        .map(|_| format!("{{send: \"{}\"}}", "{client}".repeat(200)))
        .collect::<Vec<_>>()
        .join(", ");
    let (code, stderr) = check(
        "client.yaml",
        &format!(
            "servers: [{{name: s}}]\nclients: [{{name: {name}, connect: s, steps: [{sends}]}}]\n"
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the payloads of this file take more than"),
        "{stderr}"
    );
    // Hints are built once per instance too.
    let (code, stderr) = check(
        "hints.yaml",
        &format!(
            "vars: {{big: {big}}}\nservers: [{{name: s}}]\nclients: [{{connect: s, count: 1000, steps: [{{send: x, hint: \"{{big}}{{instance}}\"}}]}}]\n"
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the payloads of this file take more than"),
        "{stderr}"
    );
    // A `repeat` whose unit is long as written but short filled in is built, and counted.
    let long_name = "v".repeat(70_000);
    let value = "y".repeat(60_000);
    let (code, stderr) = check(
        "stream.yaml",
        &format!(
            "vars:\n  ? {long_name}\n  : {value}\nservers: [{{name: sink, greeting: {{repeat: x, times: 268435456}}, rules: [{{reply: {{repeat: z, times: 268435000}}}}]}}]\nclients: [{{connect: sink, count: 2, steps: [{{send: {{repeat: \"{{{long_name}}}{{instance}}\", times: 1}}}}]}}]\n"
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the payloads of this file take more than"),
        "{stderr}"
    );
}

#[test]
fn regexes_compiled_per_instance_are_bounded() {
    let (code, stderr) = check(
        "regexes.yaml",
        "servers: [{name: s}]\nclients: [{name: c, connect: s, count: 300, steps: [{expect: {regex: \"{instance}\\\\w{15}\"}}]}]\n",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("would be compiled 299 times"), "{stderr}");
}

#[test]
fn a_value_of_many_unknown_names_is_one_problem_and_long_names_get_no_guess() {
    let (code, stderr) = check(
        "many.yaml",
        &format!(
            "servers: [{{name: s}}]\nclients: [{{connect: s, steps: [{{send: \"{}\"}}]}}]\n",
            "{nope}".repeat(4000)
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.matches("unknown name").count(),
        1,
        "{}",
        stderr.len()
    );
    let declared = "a".repeat(10_000);
    let used = format!("{}b", "a".repeat(9_999));
    let (code, stderr) = check(
        "long.yaml",
        &format!(
            "vars: {{{declared}: x}}\nservers: [{{name: s}}]\nclients: [{{connect: s, steps: [{}]}}]\n",
            (0..10)
                .map(|_| format!("{{send: \"{{{used}}}\"}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        !stderr.contains("did you mean"),
        "no guess for a name that long"
    );
}

#[test]
fn data_in_a_repeat_reply_is_refused_not_sent_as_text() {
    let (code, stderr) = check(
        "data.yaml",
        "servers:\n  - name: s\n    framing: line\n    rules: [{reply: {repeat: \"<{data}>\", times: 2}}]\n",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`{data}` is known in a server rule's `reply` only: its string"),
        "{stderr}"
    );
}

#[test]
fn check_accepts_what_only_an_unset_value_would_break_and_an_empty_value_is_one() {
    let text = "vars:\n  unit: ~\n  allowed: ~\nservers:\n  - name: s\n    framing: line\n    greeting: { repeat: \"{unit}\", times: 3 }\n    rules:\n      - match: { regex: \"^[{allowed}]+$\" }\n        reply: \"ok\\n\"\nclients:\n  - connect: s\n    steps:\n      - send: { repeat: \"{unit}\", times: 3 }\n";
    let (code, stderr) = check("unset.yaml", text);
    assert_eq!(code, 0, "{stderr}");
    // An empty value from the environment is a value, as `--var unit=` is.
    let file = temp_file(
        "empty.yaml",
        "vars:\n  suffix: ~\nservers: [{name: s, greeting: \"hi{suffix}\\n\"}]\nclients: [{connect: s, steps: [{expect: \"hi\\n\"}]}]\n",
    );
    let (code, stdout, stderr) = text_of(
        &netlab()
            .arg("run")
            .arg(&file)
            .env("NETLAB_VAR_SUFFIX", "")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
}
