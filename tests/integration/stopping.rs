//! netlab's own threads when a run stops: every thread ends by itself, none panics, whatever is
//! in flight at that moment. Run in this process through the library, many times over, since a
//! stop races whatever the threads are doing.

use std::sync::Arc;

use netlab::event::EventKind;
use netlab::exec::{RunOptions, run};
use netlab::scenario::load_source;
use netlab::source::SourceFile;

/// A UDP server whose rule answers "PING", and clients that send "PING!" without waiting for
/// the answer, then end: when the run stops, datagrams are still queued for the server, and the
/// server is handling one or blocked in its receive.
const PINGS_LEFT_IN_FLIGHT: &str = r#"
timeout: 2s
servers:
  - name: pong
    protocol: udp
    rules:
      - match: { contains: "PING" }
        reply: "PONG"
clients:
  - connect: pong
    count: 3
    steps:
      - repeat:
          times: 40
          steps:
            - send: "PING!"
"#;

/// The same server, and clients that keep sending (and reading the answers) when the scenario's
/// timeout stops the run.
const PINGS_CUT_BY_THE_TIMEOUT: &str = r#"
timeout: 20ms
servers:
  - name: pong
    protocol: udp
    rules:
      - match: { contains: "PING" }
        reply: "PONG"
clients:
  - connect: pong
    count: 2
    steps:
      - repeat:
          times: 1000000
          steps:
            - send: "PING!"
            - send: "PING!"
            - expect: "PONG"
"#;

/// The bug: the coordinator woke a UDP server blocked in `recv_from` by shutting its socket
/// down; `recvfrom` then returned with no sender address, std's `recv_from` asserted on it, and
/// about every other run ended in "a netlab thread panicked".
#[test]
fn a_udp_server_stopped_with_datagrams_in_flight_never_panics() {
    let mut failures = Vec::new();
    for (name, text) in [
        ("left_in_flight.yaml", PINGS_LEFT_IN_FLIGHT),
        ("cut_by_the_timeout.yaml", PINGS_CUT_BY_THE_TIMEOUT),
    ] {
        let scenario = Arc::new(load_source(SourceFile::new(name, text)).unwrap());
        for round in 0..200 {
            match run(&scenario, &RunOptions::default(), &mut |_| {}) {
                Err(e) => failures.push(format!("{name} round {round}: {e:#}")),
                Ok(outcome) => {
                    // Nor is the wake-up taken for a failure of the server.
                    for event in &outcome.events {
                        if let EventKind::AcceptFailed { reason } = &event.kind {
                            failures.push(format!("{name} round {round}: {reason}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures in 2 × 200 runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A UDP rule's `delay` and its server's `latency` fault, each as long as a duration may be (a
/// year): the server added them before pausing (with durations then unbounded, the addition
/// panicked the thread). It pauses for one, then the other (as a TCP server does), and the stop
/// cuts the pause short.
#[test]
fn a_udp_delay_and_latency_too_long_to_add_never_panic() {
    let text = r#"
timeout: 2s
servers:
  - name: pong
    protocol: udp
    faults:
      latency: { fixed: 1y }
    rules:
      - delay: 1y
        reply: "PONG"
clients:
  - connect: pong
    steps:
      - send: "PING"
      - expect_nothing: 20ms
"#;
    let scenario = Arc::new(load_source(SourceFile::new("long_pauses.yaml", text)).unwrap());
    let outcome = run(&scenario, &RunOptions::default(), &mut |_| {});
    assert!(outcome.is_ok_and(|o| o.verdict.passed()));
}

/// A client that leaves while a netlab server is still at work on its reply (a long reply
/// written a byte at a time, a rule's delay, latency, a slow bandwidth) ends the run with its
/// own verdict: the server stops writing to it, instead of keeping the run going until the
/// scenario's timeout turns a pass (or a step's failure) into "timed out".
#[test]
fn a_client_that_leaves_does_not_wait_for_the_servers_reply_to_end() {
    let sliced = r#"faults: { slice: { bytes: 1, pause: 1ms } }
    rules:
      - reply: { repeat: "e", times: 100000 }"#;
    let delayed = r#"rules:
      - match: "go"
        reply: "eeee"
      - reply: "never"
        delay: 60s"#;
    let late = r#"faults: { latency: { fixed: 60s } }
    rules:
      - reply: "never""#;
    let throttled = r#"faults: { bandwidth: 1000 }
    rules:
      - reply: { repeat: "e", times: 10000000 }"#;
    let read_then_leave = |expect: &str| {
        format!(
            "      - send: \"go\"\n      - expect: \"{expect}\"\n        timeout: 5s\n      - send: \"more\"\n"
        )
    };
    let cases = [
        (sliced, read_then_leave("eeee"), "PASS"),
        (sliced, read_then_leave("nope"), "a client step failed"),
        (delayed, read_then_leave("eeee"), "PASS"),
        (late, "      - send: \"go\"\n".to_string(), "PASS"),
        (throttled, read_then_leave("eeee"), "PASS"),
        (throttled, read_then_leave("nope"), "a client step failed"),
    ];
    for (server, steps, verdict) in cases {
        let yaml = format!(
            "timeout: 20s\nservers:\n  - name: s\n    {server}\nclients:\n  - connect: s\n    steps:\n{steps}"
        );
        let file = crate::support::temp_file("leaving.yaml", &yaml);
        let output = crate::support::netlab()
            .arg("run")
            .arg(&file)
            .output()
            .unwrap();
        let (_, stdout, stderr) = crate::support::text(&output);
        assert!(stdout.contains(verdict), "{yaml}\n{stdout}\n{stderr}");
        assert!(!stdout.contains("timed out"), "{yaml}\n{stdout}");
    }
}
