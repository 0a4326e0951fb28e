//! Proxy servers (`proxy: { to: … }`): both legs of every connection in the transcript, faults
//! on each way, a proxy in front of a real Redis, an upstream that is not there, and a stall
//! that Ctrl-C ends.

use std::time::{Duration, Instant};

use crate::support::{
    free_port, interrupt, netlab, netlab_on, say_hi, serving, start_until, temp_file, text,
};
use crate::third_party::start_redis;

/// The lines of a transcript without the verdict line's timing.
pub fn transcript_of(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("PASS") && !l.starts_with("FAIL"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript of `yaml` run `runs` times (each passing), at each of `scales` in turn:
/// asserted the same every time; returned.
pub fn same_every_run(name: &str, yaml: &str, runs: usize, scales: &[&str]) -> String {
    let file = temp_file(name, yaml);
    let mut seen = Vec::new();
    for run in 0..runs {
        let scale = scales[run % scales.len()];
        let (code, stdout, stderr) = text(
            &netlab()
                .args(["run", "--transcript", "--time-scale", scale])
                .arg(&file)
                .output()
                .unwrap(),
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        seen.push(transcript_of(&stdout));
    }
    let first = seen[0].clone();
    seen.dedup();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    first
}

const ECHO_AND_PROXY: &str = "
servers:
  - name: echo
    framing: line
    rules:
      - reply: \"[{data}]\\n\"
  - name: p
    proxy: { to: echo }
    faults:
      to_client: { slice: { bytes: 1, pause: 1ms }, latency: { fixed: 20ms, jitter: 20ms } }
      to_upstream: { slice: { bytes: 3, pause: 1ms } }
clients:
  - name: c
    connect: p
    steps:
      - send: \"hello\\n\"
      - expect: \"[hello]\\n\"
      - send: \"again\\n\"
      - expect: \"[again]\\n\"
";

/// Each line of a conversation through a proxy is in the transcript, both legs, in causal
/// order: what the client sent, the proxy forwarding it, the server answering, the proxy
/// forwarding the answer (with the way's faults), the client reading it, and the closes.
#[test]
fn both_legs_of_a_connection_are_in_the_transcript_in_causal_order() {
    let (code, stdout) = transcript_run("legs.yaml", ECHO_AND_PROXY);
    assert_eq!(code, 0, "{stdout}");
    let expected = [
        "  ✓ c     connect p",
        "  ✓ c     send \"hello\\n\"",
        "    p     accepted the connection",
        "    p     connecting to echo",
        "    echo  accepted the connection",
        "    p     forwarded \"hello\\n\" to echo, fault: written 3 bytes at a time, 1ms apart (slice)",
        "    echo  received \"hello\" → rules[0], reply \"[hello]\\n\"",
        "    p     forwarded \"[hello]\\n\" to the client, fault: latency 20ms + up to 20ms (jitter), fault: written 1 byte at a time, 1ms apart (slice)",
        "  ✓ c     expect \"[hello]\\n\"",
        "  ✓ c     send \"again\\n\"",
        "    p     forwarded \"again\\n\" to echo, fault: written 3 bytes at a time, 1ms apart (slice)",
        "    echo  received \"again\" → rules[0], reply \"[again]\\n\"",
        "    p     forwarded \"[again]\\n\" to the client, fault: latency 20ms + up to 20ms (jitter), fault: written 1 byte at a time, 1ms apart (slice)",
        "  ✓ c     expect \"[again]\\n\"",
        "    p     the client closed → closed its side toward echo",
        "    echo  saw the client close → closed its side",
        "    p     echo closed → closed its side toward the client",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().position(|l| *l == "c → p");
    let Some(start) = start else {
        panic!("no section `c → p`:\n{stdout}");
    };
    assert_eq!(
        &lines[start + 1..start + 1 + expected.len()],
        expected,
        "{stdout}"
    );
    // The upstream's connection is the client's, not a peer from outside.
    assert!(!stdout.contains("from outside"), "{stdout}");
}

/// However the bytes were cut on the way (1-byte slices toward the client, 3-byte ones toward
/// the server, jitter) and at whatever time scale, the transcript is the same.
#[test]
fn a_proxied_conversation_s_transcript_is_the_same_every_run() {
    same_every_run(
        "again.yaml",
        ECHO_AND_PROXY,
        5,
        &["1", "0.3", "0.1", "1", "0.05"],
    );
}

/// Faults on one way only: a cut toward the server ends the connection before the request is
/// whole (the client sees the close, not an answer); one toward the client cuts what it reads
/// after the request went through whole.
#[test]
fn faults_apply_to_their_own_way() {
    let yaml = "
servers:
  - name: echo
    greeting: \"Welcome!\"
    rules:
      - reply: \"[{data}]\"
  - name: up
    proxy: { to: echo }
    faults:
      to_upstream: { close_after: 4 }
  - name: down
    proxy: { to: echo }
    faults:
      to_client: { close_after: 12 }
clients:
  - name: sender
    connect: up
    steps:
      - expect: \"Welcome!\"
      - send: \"abcdefgh\"
      - expect_close: true
  - name: reader
    connect: down
    steps:
      - expect: \"Welcome!\"
      - send: \"abcd\"
      - expect: \"[abc\"
      - expect_close: true
";
    let (code, stdout, stderr) = netlab_on("run", "ways.yaml", yaml);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let file = temp_file("ways.yaml", yaml);
    let (_, transcript, _) = text(
        &netlab()
            .args(["run", "--transcript"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    for line in [
        "up      forwarded \"abcd\" to echo",
        "up      fault toward echo: connection cut after 4 bytes (close_after)",
        "down    forwarded \"abcd\" to echo",
        "down    forwarded \"[abc\" to the client",
        "down    fault toward the client: connection cut after 12 bytes (close_after)",
    ] {
        assert!(transcript.contains(line), "no `{line}` in:\n{transcript}");
    }
    // What came after the cut was never forwarded.
    assert!(
        !transcript
            .lines()
            .any(|l| l.contains("forwarded") && l.contains("efgh")),
        "{transcript}"
    );
}

/// A proxy whose upstream refuses the connection closes the client's and says why; the client
/// that expected a close passes, one that expected an answer fails on the close.
#[test]
fn an_upstream_that_is_not_there_closes_the_client_s_connection() {
    let port = free_port();
    let yaml = format!(
        "
servers:
  - name: p
    proxy: {{ to: \"127.0.0.1:{port}\" }}
clients:
  - name: c
    connect: p
    steps:
      - send: \"hello\"
      - expect: \"hello\"
"
    );
    let (code, stdout) = transcript_run("nowhere.yaml", &yaml);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "p  could not connect to 127.0.0.1:{port}: connection refused → closed the client's connection"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("✗ c  expect \"hello\""), "{stdout}");
}

/// A stall for good holds a way until the run ends: Ctrl-C ends it at once (exit 130), and the
/// transcript says where it stalled.
#[test]
fn a_stall_for_good_ends_with_ctrl_c() {
    let yaml = "
servers:
  - name: echo
    rules:
      - reply: \"{data}\"
  - name: p
    proxy: { to: echo }
    faults:
      to_client: { stall: { after: 2 } }
clients:
  - name: c
    connect: p
    timeout: 1m
    steps:
      - send: \"hello\"
      - expect: \"hello\"
";
    let file = temp_file("stall.yaml", yaml);
    let mut command = netlab();
    command.args(["run", "-v"]).arg(&file);
    let (mut child, lines, _) = start_until(
        command,
        "stalled for good after 2 bytes",
        Duration::from_secs(20),
    );
    let asked = Instant::now();
    interrupt(&child.0);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "Ctrl-C took {:?}",
        asked.elapsed()
    );
    let rest = lines.rest();
    assert!(rest.contains("forwarded \"he\" to the client"), "{rest}");
    assert!(
        rest.contains("fault toward the client: stalled for good after 2 bytes (stall)"),
        "{rest}"
    );
}

/// A proxy in front of the real Redis the tests start, driven by netlab's own client, its
/// replies cut into 1-byte writes: RESP still reads whole, and the transcript shows both legs.
#[test]
fn a_proxy_in_front_of_a_real_redis() {
    let Some((_redis, port)) = start_redis("a_proxy_in_front_of_a_real_redis") else {
        return;
    };
    let yaml = format!(
        "
servers:
  - name: slow_redis
    proxy: {{ to: \"127.0.0.1:{port}\" }}
    faults:
      to_client: {{ slice: {{ bytes: 1, pause: 1ms }}, latency: {{ fixed: 10ms }} }}
clients:
  - name: client
    connect: slow_redis
    steps:
      - send: \"PING\\r\\n\"
      - expect: \"+PONG\\r\\n\"
      - send: \"SET greeting Welcome!\\r\\n\"
      - expect: \"+OK\\r\\n\"
      - send: \"GET greeting\\r\\n\"
      - expect: \"$8\\r\\nWelcome!\\r\\n\"
      - send: \"QUIT\\r\\n\"
      - expect: \"+OK\\r\\n\"
      - expect_close: true
"
    );
    let (code, stdout) = transcript_run("redis_proxy.yaml", &yaml);
    assert_eq!(code, 0, "{stdout}");
    for line in [
        &format!("slow_redis  connecting to 127.0.0.1:{port}"),
        &format!("slow_redis  forwarded \"GET greeting\\r\\n\" to 127.0.0.1:{port}"),
        "slow_redis  forwarded \"$8\\r\\nWelcome!\\r\\n\" to the client, fault: latency 10ms, fault: written 1 byte at a time, 1ms apart (slice)",
        "✓ client      expect \"$8\\r\\nWelcome!\\r\\n\"",
        &format!("slow_redis  127.0.0.1:{port} closed → closed its side toward the client"),
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
}

/// The run's exit code and transcript (stdout) of `yaml`, written as `name`.
pub fn transcript_run(name: &str, yaml: &str) -> (i32, String) {
    let file = temp_file(name, yaml);
    let (code, stdout, _) = text(
        &netlab()
            .args(["run", "--transcript"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    (code, stdout)
}

/// A client whose steps all passed, behind a proxy still holding something back (a stall for
/// good toward the upstream, a 5 s latency toward the client, a throttled upload), passes: once
/// it leaves, the proxy forwards the rest at once and passes its close on, as a netlab server
/// ends its work. Before, each run timed out (a wrong verdict).
#[test]
fn a_client_that_leaves_ends_what_the_proxy_holds_back() {
    for (name, faults, steps) in [
        (
            "stalled",
            "to_upstream: { stall: {} }",
            "      - send: \"hello\\n\"\n      - expect_nothing: 100ms\n",
        ),
        (
            "late",
            "to_client: { latency: { fixed: 5s } }",
            "      - send: \"hello\\n\"\n",
        ),
        (
            "throttled",
            "to_upstream: { bandwidth: 1000 }",
            "      - send: { repeat: \"x\", times: 10000 }\n",
        ),
    ] {
        let yaml = format!(
            "timeout: 3s
servers:
  - name: echo
    framing: line
    rules:
      - reply: \"[{{data}}]\\n\"
  - name: p
    proxy: {{ to: echo }}
    faults:
      {faults}
clients:
  - name: c
    connect: p
    steps:
{steps}"
        );
        let (code, out) = transcript_run(&format!("{name}.yaml"), &yaml);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.contains("verdict: passed"), "{name}: {out}");
    }
}

/// A greeting and the client's first request cross in the proxy (the client does not wait for
/// the greeting), three clients at once: the transcript is the same on every run. Before, the
/// greeting and the answer were one line on some runs and two on others.
#[test]
fn a_greeting_and_a_request_that_cross_read_the_same_every_run() {
    let yaml = "
servers:
  - name: echo
    framing: line
    greeting: \"hi\\n\"
    rules:
      - reply: \"[{data}]\\n\"
  - name: p
    proxy: { to: echo }
clients:
  - name: a
    connect: p
    count: 3
    steps:
      - send: \"a\\n\"
      - expect: \"hi\\n[a]\\n\"
";
    let first = same_every_run("cross.yaml", yaml, 12, &["1"]);
    assert!(
        first.contains(
            "    echo  greeting \"hi\\n\"\n    p     forwarded \"hi\\n\" to the client\n    p     forwarded \"a\\n\" to echo\n    echo  received \"a\" → rules[0], reply \"[a]\\n\"\n    p     forwarded \"[a]\\n\" to the client\n"
        ),
        "{first}"
    );
}

/// A `repeat` through a proxy counts each server's lines on their own: 10 round trips show
/// "9 more times" for each of the three lines. Before, the upstream's counts were added to the
/// proxy's ("15 more times").
#[test]
fn a_folded_repeat_counts_each_server_s_lines_apart() {
    let yaml = "
servers:
  - name: echo
    framing: line
    rules:
      - reply: \"pong\\n\"
  - name: p
    proxy: { to: echo }
clients:
  - name: c
    connect: p
    steps:
      - repeat:
          times: 10
          steps:
            - send: \"ping\\n\"
            - expect: \"pong\\n\"
";
    let (code, out) = transcript_run("repeat.yaml", yaml);
    assert_eq!(code, 0, "{out}");
    for line in [
        "    p     9 more times: forwarded \"ping\\n\" to echo\n",
        "    echo  9 more times: received \"ping\" → rules[0], reply \"pong\\n\"\n",
        "    p     9 more times: forwarded \"pong\\n\" to the client\n",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
}

/// Traffic both ways at once (a 200 kB upload while the upstream sends a 200 kB greeting):
/// the same transcript on every run. Before, the runs came out as 2 to 5 lines.
#[test]
fn both_ways_at_once_read_the_same_every_run() {
    let yaml = "
servers:
  - name: src
    greeting: { repeat: \"0123456789\", times: 20000 }
  - name: p
    proxy: { to: src }
clients:
  - name: c
    connect: p
    steps:
      - send: { repeat: \"x\", times: 200000 }
      - expect: { bytes: 200000 }
";
    same_every_run("both.yaml", yaml, 8, &["1"]);
}

/// A reset from the upstream is shown after the upstream's own reset line, not before it.
#[test]
fn an_upstream_s_reset_is_passed_on_after_it_happened() {
    let yaml = "
servers:
  - name: echo
    framing: line
    faults: { reset: true }
    rules:
      - match: \"bye\"
        reply: \"Bye!\\n\"
        close: true
  - name: p
    proxy: { to: echo }
clients:
  - name: c
    connect: p
    steps:
      - send: \"bye\\n\"
      - expect: \"Bye!\\n\"
      - expect_reset: true
";
    let (code, out) = transcript_run("reset.yaml", yaml);
    assert_eq!(code, 0, "{out}");
    let ours = out.find("echo  fault: closed with a reset (RST)");
    let passed_on = out.find("p     echo reset the connection → reset the one to the client");
    assert!(
        matches!((ours, passed_on), (Some(a), Some(b)) if a < b),
        "{out}"
    );
}

/// Steps marked `hidden` show none of their bytes, and neither does the proxy in front of the
/// program they check: what it forwarded shows by its size.
#[test]
fn a_proxy_hides_what_hidden_steps_send_and_expect() {
    let yaml = "
servers:
  - name: echo
    rules:
      - reply: \"[{data}]\"
  - name: p
    proxy: { to: echo }
clients:
  - name: c
    connect: p
    steps:
      - send: \"secret-input\"
        hidden: true
      - expect: \"[secret-input]\"
        hidden: true
";
    let (code, out) = transcript_run("hidden.yaml", yaml);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("p     forwarded 12 bytes (hidden) to echo"),
        "{out}"
    );
    let proxy_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("    p ")).collect();
    assert!(
        proxy_lines.iter().all(|l| !l.contains("secret")),
        "{proxy_lines:#?}"
    );
}

/// Ctrl-C while the proxy waits for an upstream that never answers its connect (a listener
/// whose backlog is full drops the SYN) ends the run at once. Before, it waited out the connect
/// (5 s, and 30 s at `--time-scale 6`).
#[test]
fn ctrl_c_ends_a_connect_the_upstream_never_answers() {
    // A listener that never accepts, its backlog filled: the next connect hangs.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let stream =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        if stream
            .connect_timeout(&addr.into(), Duration::from_millis(200))
            .is_err()
        {
            break;
        }
        queued.push(stream);
    }
    let yaml = format!(
        "
servers:
  - name: p
    proxy: {{ to: \"{addr}\" }}
clients:
  - name: c
    connect: p
    timeout: 1m
    steps:
      - send: \"hello\"
      - expect: \"hello\"
"
    );
    let file = temp_file("blackhole.yaml", &yaml);
    let mut command = netlab();
    command.args(["run", "--time-scale", "6"]).arg(&file);
    let (mut child, _lines, _) = start_until(
        command,
        &format!("connecting to {addr}"),
        Duration::from_secs(20),
    );
    let asked = Instant::now();
    interrupt(&child.0);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "Ctrl-C took {:?}",
        asked.elapsed()
    );
    drop(queued);
}

/// Under `netlab serve`, the upstream's side of a connection through a proxy is printed as it
/// happens, as the proxy's peer's. Before, it was held back until Ctrl-C and shown as an
/// unknown peer.
#[test]
fn serve_prints_both_legs_of_a_proxied_connection_as_they_happen() {
    let yaml = "
servers:
  - name: echo
    rules:
      - reply: \"[{data}]\"
  - name: p
    proxy: { to: echo }
";
    let file = temp_file("serve_proxy.yaml", yaml);
    let (child, lines, addr) = serving(&["serve"], &file, "p listening on");
    say_hi(addr);
    let seen = lines.wait_for("through p)  received \"hi\"", Duration::from_secs(10));
    assert!(seen.contains("echo (peer 127.0.0.1:"), "{seen}");
    interrupt(&child.0);
}

/// `netlab serve --server p` serves the proxy and what it forwards to, renumbered: before, the
/// proxy kept the index of its upstream in the whole list and forwarded to the wrong server or
/// none.
#[test]
fn serving_one_proxy_serves_its_upstream_too() {
    let yaml = "
servers:
  - name: other
    rules:
      - reply: \"other\"
  - name: echo
    rules:
      - reply: \"[{data}]\"
  - name: p
    proxy: { to: echo }
";
    let file = temp_file("serve_one.yaml", yaml);
    let (child, _lines, addr) = serving(&["serve", "-q", "--server", "p"], &file, "p listening on");
    say_hi(addr);
    interrupt(&child.0);
}

/// A client that sends and closes at once, six at a time, through a proxy without faults: its
/// close is shown where the upstream sees it, on every run. Before, it moved before or after
/// the upstream's last answer (5 runs in 20).
#[test]
fn a_close_right_after_a_send_reads_the_same_every_run() {
    let yaml = "
servers:
  - name: echo
    framing: line
    rules:
      - reply: \"[{data}]\\n\"
  - name: p
    proxy: { to: echo }
clients:
  - name: c
    connect: p
    count: 6
    steps:
      - send: \"a\\n\"
      - expect: \"[a]\\n\"
      - send: \"b\\n\"
";
    same_every_run("close_after_send.yaml", yaml, 15, &["1"]);
}

/// A program client whose bytes a proxy throttles passes once it exits: when every client is
/// done, a proxy forwards what it holds at once. Before, the run timed out with every check met.
#[test]
fn a_program_client_s_throttled_bytes_do_not_outlast_it() {
    if crate::support::python3("a_program_client_s_throttled_bytes_do_not_outlast_it").is_none() {
        return;
    }
    let client = temp_file(
        "bulk_client.py",
        "import socket, sys\ns = socket.create_connection((sys.argv[1], int(sys.argv[2])))\ns.sendall(b'x' * 200000 + b'\\n')\ns.close()\n",
    );
    let yaml = format!(
        "
timeout: 10s
servers:
  - name: sink
    framing: line
  - name: p
    proxy: {{ to: sink }}
    faults:
      to_upstream: {{ bandwidth: 1000 }}
clients:
  - name: prog
    connect: p
    exec: [\"python3\", \"{}\", \"{{host}}\", \"{{port}}\"]
    expect_exit: 0
",
        client.display()
    );
    let (code, out) = transcript_run("program_bulk.yaml", &yaml);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verdict: passed"), "{out}");
}
