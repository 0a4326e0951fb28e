//! Proxy servers (`proxy: { to: … }`): both legs of every connection in the transcript, faults
//! on each way, a proxy in front of a real Redis, an upstream that is not there, and a stall
//! that Ctrl-C ends.

use std::time::{Duration, Instant};

use crate::support::{free_port, interrupt, netlab, netlab_on, start_until, temp_file, text};
use crate::third_party::start_redis;

/// The lines of a transcript without the verdict line's timing.
fn transcript_of(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("PASS") && !l.starts_with("FAIL"))
        .collect::<Vec<_>>()
        .join("\n")
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
    let file = temp_file("legs.yaml", ECHO_AND_PROXY);
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
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
    let file = temp_file("again.yaml", ECHO_AND_PROXY);
    let mut seen = Vec::new();
    for scale in ["1", "0.3", "0.1", "1", "0.05"] {
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
    seen.dedup();
    assert_eq!(seen.len(), 1, "{seen:#?}");
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
    let file = temp_file("nowhere.yaml", &yaml);
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
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
    let file = temp_file("redis_proxy.yaml", &yaml);
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript"])
            .arg(&file)
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
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
