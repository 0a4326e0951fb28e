//! Each test runs against the tutorial's own program in `../shared/tutorial/` when this checkout
//! has it (otherwise it says it skipped that one) and always against netlab's own copy of such a
//! peer in `tests/peers/`, so that a user's clone tests interop too.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{
    Guard, Lines, free_port, free_udp_port, interrupt, netlab, own_peer, python3, root,
    start_until, temp_file, text, tutorial_program,
};

const WAIT: Duration = Duration::from_secs(20);

/// The tutorial client's output, from a server that behaves like the tutorial's.
const TCP_OUTPUT: &str = "Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n";
const UDP_OUTPUT: &str = "Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n";

/// A Python peer program and the line it prints once it is ready.
struct Peer {
    path: PathBuf,
    ready: &'static str,
}

/// The tutorial's `tutorial` program (if here) and netlab's own `own` peer (always), if python3 is.
fn peers(test: &str, tutorial: (&str, &'static str), own: (&str, &'static str)) -> Vec<Peer> {
    if python3(test).is_none() {
        return Vec::new();
    }
    let mut peers = Vec::new();
    if let Some(path) = tutorial_program(test, tutorial.0) {
        peers.push(Peer {
            path,
            ready: tutorial.1,
        });
    }
    peers.push(Peer {
        path: own_peer(own.0),
        ready: own.1,
    });
    peers
}

/// Starts a Python server on `host:port` and waits until it says it is ready.
fn start_server(peer: &Peer, port: u16, host: &str) -> Guard {
    let mut command = Command::new("python3");
    command
        .arg(&peer.path)
        .arg(port.to_string())
        .arg(host)
        .env("TUTORIAL_DELAY", "0.05")
        .env("HELLO_DELAY", "0.05");
    start_until(command, peer.ready, WAIT).0
}

/// Runs a client fixture with `HOST` and `PORT` filled in; returns its transcript.
fn run_client_fixture(fixture: &str, host: &str, port: u16) -> String {
    let template = std::fs::read_to_string(root().join("tests/fixtures").join(fixture)).unwrap();
    let scenario = template
        .replace("HOST", host)
        .replace("PORT", &port.to_string());
    let file = temp_file(fixture, &scenario);
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(
        code, 0,
        "{fixture} against {host}:{port}:\n{stdout}\n{stderr}"
    );
    stdout
}

/// Starts `netlab run` of a server-only fixture; returns it and the port of `server`.
fn start_netlab_server(fixture: &str, server: &str) -> (Guard, String) {
    let child = netlab()
        .args([
            "run",
            "--transcript",
            "--time-scale",
            "0.05",
            &format!("tests/fixtures/{fixture}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let errors = Lines::of(guard.0.stderr.take().unwrap());
    let line = errors.wait_for(&format!("{server} listening on"), WAIT);
    let port = line.rsplit(':').next().unwrap().trim().to_string();
    (guard, port)
}

/// Stops a netlab run as Ctrl-C would: its servers passed, and it exits 130 as an interrupted
/// command does. Returns its transcript.
fn stop_netlab(mut guard: Guard) -> String {
    interrupt(&guard.0);
    let out = Lines::of(guard.0.stdout.take().unwrap());
    let status = guard.0.wait().unwrap();
    let transcript = out.rest();
    assert_eq!(status.code(), Some(130), "{transcript}");
    assert!(transcript.contains("PASS "), "{transcript}");
    transcript
}

/// Runs a Python client program with `args`; returns its stdout.
fn run_python_client(peer: &Peer, args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(&peer.path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{}: {stderr}", peer.path.display());
    stdout
}

#[test]
fn netlab_tcp_client_passes_against_the_tutorials_server_over_ipv4_and_ipv6() {
    let test = "netlab_tcp_client_passes_against_the_tutorials_server_over_ipv4_and_ipv6";
    for peer in peers(
        test,
        ("tcp_server.py", "Waiting for connection"),
        ("hello_server.py", "listening"),
    ) {
        for (host, dial) in [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")] {
            let port = free_port();
            let _server = start_server(&peer, port, host);
            let transcript = run_client_fixture("hello_client_of_outside_server.yaml", dial, port);
            assert!(
                transcript.contains(&format!("client → {dial}:{port}")),
                "{transcript}"
            );
            assert!(
                transcript.contains("✓ client  expect \"Hello, Sarah!\""),
                "{transcript}"
            );
            assert!(
                transcript.contains("✓ client  expect_close"),
                "{transcript}"
            );
        }
    }
}

#[test]
fn the_tutorials_tcp_client_gets_its_output_from_a_netlab_server() {
    let test = "the_tutorials_tcp_client_gets_its_output_from_a_netlab_server";
    for peer in peers(test, ("tcp_client.py", ""), ("hello_client.py", "")) {
        let (server, port) = start_netlab_server("hello_server_only.yaml", "hello");
        assert_eq!(run_python_client(&peer, &[&port]), TCP_OUTPUT);
        let transcript = stop_netlab(server);
        assert!(
            transcript.contains("hello ← a peer from outside the scenario"),
            "{transcript}"
        );
        assert!(
            transcript.contains("received \"Sarah\" → rules[1], after 1s, reply \"Hello, Sarah!\""),
            "{transcript}"
        );
    }
}

#[test]
fn netlab_udp_client_passes_against_the_tutorials_udp_server() {
    let test = "netlab_udp_client_passes_against_the_tutorials_udp_server";
    for peer in peers(
        test,
        ("udp_server.py", "Bind UDP on"),
        ("udp_server.py", "listening"),
    ) {
        let port = free_udp_port();
        let _server = start_server(&peer, port, "127.0.0.1");
        let transcript = run_client_fixture("udp_client_of_outside_server.yaml", "127.0.0.1", port);
        assert!(
            transcript.contains("✓ client  expect \"Hello, Sarah!\""),
            "{transcript}"
        );
    }
}

#[test]
fn the_tutorials_udp_client_gets_its_output_from_a_netlab_server() {
    let test = "the_tutorials_udp_client_gets_its_output_from_a_netlab_server";
    for peer in peers(test, ("udp_client.py", ""), ("udp_client.py", "")) {
        let (server, port) = start_netlab_server("udp_server_only.yaml", "hello");
        assert_eq!(run_python_client(&peer, &[&port]), UDP_OUTPUT);
        let transcript = stop_netlab(server);
        assert!(
            transcript.contains("received \"Tracy\" → rules[0], reply \"Hello, Tracy!\""),
            "{transcript}"
        );
    }
}

#[test]
fn the_tutorials_http_client_gets_a_page_from_a_netlab_server() {
    let test = "the_tutorials_http_client_gets_a_page_from_a_netlab_server";
    for peer in peers(test, ("http_client.py", ""), ("http_client.py", "")) {
        let (server, port) = start_netlab_server("http_server_only.yaml", "web");
        let page = temp_file("page.html", "");
        let header = run_python_client(&peer, &[&port, "127.0.0.1", page.to_str().unwrap()]);
        assert_eq!(
            header,
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 103\n"
        );
        let body = std::fs::read_to_string(&page).unwrap();
        assert_eq!(body.len(), 103);
        assert!(body.contains("<h1>Hello from netlab</h1>"), "{body}");
        stop_netlab(server);
    }
}
