use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    Guard, Lines, free_port, interrupt, netlab, own_peer, python3, root, temp_file, text,
    tutorial_program,
};

const WAIT: Duration = Duration::from_secs(20);

/// The tutorial client's output, from a server that behaves like the tutorial's.
const TUTORIAL_OUTPUT: &str = "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n";

/// A netlab client scenario passes against a real hello server written in Python.
fn netlab_client_passes_against(server: &Path, ready_line: &str, delay_env: &str) {
    let port = free_port();
    let child = Command::new("python3")
        .arg(server)
        .arg(port.to_string())
        .env(delay_env, "0.05")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let lines = Lines::of(guard.0.stdout.take().unwrap());
    lines.wait_for(ready_line, WAIT);
    let template =
        std::fs::read_to_string(root().join("tests/fixtures/hello_client_of_outside_server.yaml"))
            .unwrap();
    let file = temp_file("client.yaml", &template.replace("PORT", &port.to_string()));
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("client → 127.0.0.1:{port}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ client  expect \"Hello, Sarah!\""),
        "{stdout}"
    );
    assert!(stdout.contains("✓ client  expect_close"), "{stdout}");
}

#[test]
fn netlab_client_passes_against_the_tutorials_tcp_server() {
    let test = "netlab_client_passes_against_the_tutorials_tcp_server";
    let (Some(_), Some(server)) = (python3(test), tutorial_program(test, "tcp_server.py")) else {
        return;
    };
    netlab_client_passes_against(&server, "Waiting for connection", "TUTORIAL_DELAY");
}

#[test]
fn netlab_client_passes_against_our_own_hello_server() {
    if python3("netlab_client_passes_against_our_own_hello_server").is_none() {
        return;
    }
    netlab_client_passes_against(&own_peer("hello_server.py"), "listening", "HELLO_DELAY");
}

/// A real hello client gets the tutorial's output from a netlab server kept up by a
/// server-only scenario; Ctrl-C then ends the run, which passes.
fn client_gets_tutorial_output_from_netlab(client: &Path) {
    let child = netlab()
        .args([
            "run",
            "--transcript",
            "--time-scale",
            "0.05",
            "tests/fixtures/hello_server_only.yaml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let errors = Lines::of(guard.0.stderr.take().unwrap());
    let line = errors.wait_for("hello listening on", WAIT);
    let port = line.rsplit(':').next().unwrap().trim().to_string();
    let output = Command::new("python3")
        .arg(client)
        .arg(&port)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, TUTORIAL_OUTPUT);
    interrupt(&guard.0);
    let out = Lines::of(guard.0.stdout.take().unwrap());
    let status = guard.0.wait().unwrap();
    let transcript = out.rest();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(
        transcript.contains("hello ← a peer from outside the scenario"),
        "{transcript}"
    );
    assert!(
        transcript.contains("received \"Sarah\" → rules[1], after 1s, reply \"Hello, Sarah!\""),
        "{transcript}"
    );
}

#[test]
fn tutorials_tcp_client_gets_its_output_from_a_netlab_server() {
    let test = "tutorials_tcp_client_gets_its_output_from_a_netlab_server";
    let (Some(_), Some(client)) = (python3(test), tutorial_program(test, "tcp_client.py")) else {
        return;
    };
    client_gets_tutorial_output_from_netlab(&client);
}

#[test]
fn our_own_hello_client_gets_its_output_from_a_netlab_server() {
    if python3("our_own_hello_client_gets_its_output_from_a_netlab_server").is_none() {
        return;
    }
    client_gets_tutorial_output_from_netlab(&own_peer("hello_client.py"));
}
