use super::support::{netlab, run, start_until, temp_file, text};

/// Runs a scenario written here with `netlab run --transcript`; exit code and transcript.
fn transcript_of(name: &str, scenario: &str) -> (i32, String) {
    let path = temp_file(name, scenario);
    let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
    (code, stdout)
}

/// Fails unless `text` contains `needle`, showing `text`.
fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "no {needle:?} in:\n{text}");
}

/// A client `two` of `ECHO` that sends "a" and "b" `times` times over, then closes.
fn two_messages(times: u32) -> String {
    format!(
        "{ECHO}clients:
  - name: two
    connect: echo
    steps:
      - repeat:
          times: {times}
          steps:
            - send: \"a\"
            - expect: \"a\"
            - send: \"b\"
            - expect: \"B\"
      - close: true
"
    )
}

/// A UDP echo server.
const UDP_ECHO: &str = "
servers:
  - name: echo
    protocol: udp
    bind: 127.0.0.1
    rules:
      - reply: \"{data}\"
";

/// A line server that answers \"ok\" and closes on \"3\".
const TIRED: &str = "
servers:
  - name: tired
    bind: 127.0.0.1
    framing: line
    rules:
      - match: \"3\"
        close: true
      - reply: \"ok\\n\"
";

/// An upload of `bytes` (streamed) to a server that reads 64 KiB at a time and answers nothing.
fn upload(bytes: u64) -> String {
    format!(
        "
timeout: 2m
servers:
  - name: sink
    bind: 127.0.0.1
    read_size: 64KiB
clients:
  - name: upload
    connect: sink
    timeout: 1m
    steps:
      - send: {{ repeat: \"x\", times: {bytes} }}
      - shutdown: write
      - expect_close: true
"
    )
}

const ECHO: &str = "
servers:
  - name: echo
    bind: 127.0.0.1
    rules:
      - match: \"b\"
        reply: \"B\"
      - reply: \"{data}\"
";

#[test]
fn a_repeat_shows_its_first_time_in_full_then_counts() {
    let (code, transcript) = transcript_of(
        "repeat.yaml",
        &format!(
            "{ECHO}clients:
  - name: load
    connect: echo
    steps:
      - repeat:
          times: 500
          steps:
            - send: \"ping\"
            - expect: \"ping\"
      - close: true
"
        ),
    );
    assert_eq!(code, 0, "{transcript}");
    // The first time through, step by step; the other 499 as one line per side.
    assert_eq!(
        transcript.matches("send \"ping\"").count(),
        1,
        "{transcript}"
    );
    assert_has(
        &transcript,
        "echo  499 more times: received \"ping\" → rules[1], reply \"ping\"",
    );
    assert_has(
        &transcript,
        "repeat 500 times (the next 2 steps): every step passed all 500 times",
    );
    assert!(transcript.contains("score") || transcript.contains("passed"));
}

#[test]
fn a_repeat_of_several_messages_counts_each_of_them() {
    let (code, transcript) = transcript_of("repeat_two.yaml", &two_messages(50));
    assert_eq!(code, 0, "{transcript}");
    assert_has(
        &transcript,
        "49 more times: received \"a\" → rules[1], reply \"a\"",
    );
    assert_has(
        &transcript,
        "49 more times: received \"b\" → rules[0], reply \"B\"",
    );
}

#[test]
fn repeated_runs_give_the_same_transcript() {
    // Idle moments split the server's counts differently on each run: the text must not show it.
    let scenario = format!(
        "{ECHO}clients:
  - name: load
    connect: echo
    count: 3
    steps:
      - repeat:
          times: 200
          steps:
            - send: \"ping\"
            - expect: \"ping\"
            - sleep: 1ms
"
    );
    let path = temp_file("stable.yaml", &scenario);
    let transcript = || {
        let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
        assert_eq!(code, 0, "{stdout}");
        // Up to the verdict: the last line says how long the run took.
        stdout.split("verdict:").next().unwrap().to_string()
    };
    let first = transcript();
    for _ in 0..3 {
        assert_eq!(transcript(), first);
    }
}

#[test]
fn nested_repeats_run_every_time_and_a_late_failure_says_which_time() {
    let (code, transcript) = transcript_of(
        "nested.yaml",
        "
servers:
  - name: counter
    bind: 127.0.0.1
    rules:
      - match: \"7\"
        reply: \"seven!\"
      - reply: \"{data}\"
clients:
  - name: nested
    connect: counter
    steps:
      - repeat:
          times: 3
          steps:
            - repeat:
                times: 4
                steps:
                  - send: \"1\"
                  - expect: \"1\"
      - repeat:
          times: 10
          steps:
            - send: \"7\"
            - expect: \"7\"
",
    );
    assert_eq!(code, 1, "{transcript}");
    // Nested: 3 × 4 = 12 round trips of "1" (the first shown, 3 more by the inner repeat's
    // end, 8 more by the outer's), then the failure on the first "7".
    assert_has(&transcript, "3 more times: received \"1\"");
    assert_has(&transcript, "8 more times: received \"1\"");
    assert_has(&transcript, "FAILED at steps[1].repeat.steps[1]");
}

#[test]
fn a_failure_in_a_later_time_through_is_shown_with_its_number() {
    let (code, transcript) = transcript_of(
        "late.yaml",
        "
servers:
  - name: tired
    bind: 127.0.0.1
    rules:
      - reply: \"ok\"
clients:
  - name: late
    connect: tired
    steps:
      - repeat:
          times: 5
          steps:
            - send: \"x\"
            - expect: \"ok\"
            - expect_nothing: 20ms
      - close: true
",
    );
    assert_eq!(code, 0, "{transcript}");
    // And one whose server closes on the third message: the failure names time 3.
    let (code, transcript) = transcript_of(
        "late_close.yaml",
        &format!(
            "{TIRED}clients:
  - name: late
    connect: tired
    steps:
      - send: \"1\\n\"
      - expect: \"ok\\n\"
      - repeat:
          times: 5
          steps:
            - send: \"3\\n\"
            - expect: \"ok\\n\"
"
        ),
    );
    assert_eq!(code, 1, "{transcript}");
    assert!(
        transcript.contains("expect \"ok\\n\": the peer closed the connection")
            || transcript.contains("expect \"ok\\n\""),
        "{transcript}"
    );
    assert_has(&transcript, "FAILED at steps[2].repeat.steps[1]");
}

#[test]
fn a_udp_repeat_is_counted_on_both_sides() {
    let (code, transcript) = transcript_of(
        "udp_repeat.yaml",
        &format!(
            "{UDP_ECHO}clients:
  - name: load
    connect: echo
    steps:
      - repeat:
          times: 300
          steps:
            - send: \"ping\"
            - expect: \"ping\"
"
        ),
    );
    assert_eq!(code, 0, "{transcript}");
    assert_has(
        &transcript,
        "299 more times: received \"ping\" → rules[0], reply \"ping\"",
    );
}

/// The bench's process measurement (wall time, peak memory from wait4): the tests read the
/// memory only.
#[path = "../../benches/compare/measured.rs"]
#[allow(dead_code)]
mod measured;

/// `netlab run -q FILE` to its end: the exit code and the peak resident memory, in bytes.
fn run_measuring_memory(path: &std::path::Path) -> (i32, u64) {
    measure_netlab(&["run".as_ref(), "-q".as_ref(), path.as_os_str()])
}

/// Starts the measured process from a small Python process, which forks it and reads its
/// rusage: measured from this test process (large, after many in-process runs), the peak would
/// include this process's own memory (Linux carries it into `ru_maxrss` across the exec).
const LAUNCHER: &str = "import os,sys\npid=os.fork()\nif pid==0:\n  os.execv(sys.argv[1], sys.argv[1:])\n_,status,usage=os.wait4(pid,0)\nsys.stderr.write('\\nmaxrss_kib=%d\\n' % usage.ru_maxrss)\nsys.exit(os.waitstatus_to_exitcode(status) & 255)";

/// The peak resident memory of a run that holds next to nothing (the tutorial's hello, fast):
/// what netlab's own code and libraries take, which a debug build makes large and which grows
/// with the binary. Bounds on what a load adds are written on top of it.
fn baseline_rss() -> u64 {
    static BASELINE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BASELINE.get_or_init(|| {
        let (code, peak) = measure_netlab(&[
            "run".as_ref(),
            "-q".as_ref(),
            "--time-scale".as_ref(),
            "0.01".as_ref(),
            "scenarios/tcp_hello.yaml".as_ref(),
        ]);
        assert_eq!(code, 0);
        peak
    })
}

/// `netlab ARGS` to its end: its exit code and peak resident memory, in bytes.
fn measure_netlab(args: &[&std::ffi::OsStr]) -> (i32, u64) {
    if super::support::python3("measure_netlab").is_none() {
        let mut command = netlab();
        command.args(args);
        let finished =
            measured::run_measured(command, std::time::Duration::from_secs(120)).unwrap();
        return (finished.code, finished.peak_rss);
    }
    let program = netlab().get_program().to_owned();
    let output = std::process::Command::new("python3")
        .current_dir(super::support::root())
        .env("NO_COLOR", "1")
        .env_remove("NETLAB_TIME_SCALE")
        .args(["-c", LAUNCHER])
        .arg(&program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kib: u64 = stderr
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("maxrss_kib="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no measurement: {stderr}"));
    (output.status.code().unwrap_or(-1), kib * 1024)
}

#[test]
fn a_bulk_send_and_receive_stream_without_holding_the_data() {
    // 256 MiB each way through one process: if either side kept the bytes, the peak would be
    // far above the bound.
    let path = temp_file(
        "bulk.yaml",
        "
timeout: 2m
servers:
  - name: sink
    bind: 127.0.0.1
    read_size: 64KiB
  - name: source
    bind: 127.0.0.1
    greeting: { repeat: \"0123456789abcdef\", times: 16777216 }
clients:
  - name: upload
    connect: sink
    timeout: 1m
    steps:
      - send: { repeat: \"x\", times: 268435456 }
      - shutdown: write
      - expect_close: true
  - name: download
    connect: source
    timeout: 1m
    steps:
      - expect: { bytes: 268435456 }
      - close: true
",
    );
    let (code, peak) = run_measuring_memory(&path);
    assert_eq!(code, 0);
    // The greeting itself is one 256 MiB payload in memory: the rest must stay small.
    assert!(
        peak < baseline_rss() + 256 * 1024 * 1024 + 52 * 1024 * 1024,
        "peak RSS {peak} bytes"
    );
    let (code, transcript) = transcript_of("bulk_small.yaml", &upload(1_000_000));
    assert_eq!(code, 0, "{transcript}");
    assert_has(
        &transcript,
        "send \"x\" × 1000000 (1000000 bytes, streamed)",
    );
    assert_has(
        &transcript,
        "(1000000 bytes, the first 65536 kept) → no rule matched, no reply",
    );
}

#[test]
fn a_large_send_is_streamed_with_little_memory() {
    let path = temp_file("upload.yaml", &upload(512 << 20));
    let (code, peak) = run_measuring_memory(&path);
    assert_eq!(code, 0);
    assert!(
        peak < baseline_rss() + 36 * 1024 * 1024,
        "peak RSS {peak} bytes for a 512 MiB send"
    );
}

#[test]
fn serve_quiet_prints_only_where_it_listens() {
    let path = temp_file("quiet.yaml", ECHO);
    let mut command = netlab();
    command.args(["serve", "-q", path.to_str().unwrap()]);
    let (mut child, lines, line) =
        start_until(command, "listening on", std::time::Duration::from_secs(10));
    let addr: std::net::SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stream.write_all(b"hello").unwrap();
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"hello");
    drop(stream);
    super::support::interrupt(&child.0);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rest = lines.rest();
    assert!(
        !rest.contains("hello"),
        "serve -q printed a message: {rest}"
    );
}

#[test]
fn a_server_flooded_with_ever_different_messages_stops_recording_them() {
    // 128 MiB in 1 KiB recv()s of a 10-byte pattern: consecutive messages differ, so none is a
    // repeat, and each is answered. Past the record's budget they are counted, not kept.
    let scenario = "
timeout: 2m
servers:
  - name: dots
    bind: 127.0.0.1
    rules:
      - reply: \".\"
clients:
  - name: flood
    connect: dots
    timeout: 1m
    steps:
      - send: { repeat: \"0123456789\", times: 13421773 }
      - shutdown: write
      - read_to_close: { regex: \"^\\\\.+$\" }
";
    let path = temp_file("flood.yaml", scenario);
    let (code, peak) = run_measuring_memory(&path);
    assert_eq!(code, 0);
    assert!(
        peak < baseline_rss() + 52 * 1024 * 1024,
        "peak RSS {peak} bytes"
    );
    let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
    assert_eq!(code, 0);
    assert!(
        stdout.contains("bytes out, not recorded: this connection's record reached its 16 MiB"),
        "{}",
        &stdout[stdout.len().saturating_sub(2000)..]
    );
}

#[test]
fn a_repeat_whose_step_failed_is_graded_failed() {
    let path = temp_file(
        "graded.yaml",
        &format!(
            "{TIRED}clients:
  - name: late
    connect: tired
    steps:
      - repeat:
          times: 4
          steps:
            - send: \"1\\n\"
            - expect: \"ok\\n\"
      - repeat:
          times: 4
          steps:
            - send: \"3\\n\"
            - expect: \"ok\\n\"
      - close: true
"
        ),
    );
    let (code, stdout, _) = text(&run(&["run", "--format", "json", path.to_str().unwrap()]));
    assert_eq!(code, 1, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results: Vec<(&str, &str)> = report["step_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        vec![
            ("repeat 4 times (the next 2 steps)", "passed"),
            ("send \"1\\n\"", "passed"),
            ("expect \"ok\\n\"", "passed"),
            ("repeat 4 times (the next 2 steps)", "failed"),
            // It did not pass every time through: not every time ran.
            ("send \"3\\n\"", "not_run"),
            ("expect \"ok\\n\"", "failed"),
            ("close", "not_run"),
        ]
    );
}

#[test]
fn nested_udp_repeats_are_counted_to_the_last_datagram() {
    let (code, transcript) = transcript_of(
        "udp_nested.yaml",
        &format!(
            "{UDP_ECHO}clients:
  - name: load
    connect: echo
    steps:
      - repeat:
          times: 3
          steps:
            - repeat:
                times: 50
                steps:
                  - send: \"ping\"
                  - expect: \"ping\"
"
        ),
    );
    assert_eq!(code, 0, "{transcript}");
    // 150 datagrams: the first shown, 49 more by the inner repeat's end, 100 by the outer's.
    assert_has(&transcript, "49 more times: received \"ping\"");
    assert_has(&transcript, "100 more times: received \"ping\"");
}

#[test]
fn the_same_message_in_a_few_plain_steps_is_shown_in_full_each_time() {
    // The server records identical answers in a row as a count; outside a `repeat`, a few of
    // them are written out again, so a short exchange reads as it happened.
    let (code, transcript) = transcript_of(
        "pings.yaml",
        "
servers:
  - name: echo
    bind: 127.0.0.1
    rules:
      - reply: \"{data}\"
clients:
  - connect: echo
    steps:
      - send: \"ping\"
      - expect: \"ping\"
      - send: \"ping\"
      - expect: \"ping\"
      - send: \"ping\"
      - expect: \"ping\"
      - repeat:
          times: 2
          steps:
            - send: \"ping\"
            - expect: \"ping\"
",
    );
    assert_eq!(code, 0, "{transcript}");
    let full = "    echo    received \"ping\" → rules[0], reply \"ping\"";
    assert_eq!(
        transcript.lines().filter(|l| *l == full).count(),
        4,
        "{transcript}"
    );
    assert_has(
        &transcript,
        "echo    once more: received \"ping\" → rules[0], reply \"ping\"",
    );
    assert!(!transcript.contains("the same again"), "{transcript}");
}

#[test]
fn the_live_view_folds_a_load_loop_of_several_messages() {
    let path = temp_file("cycle.yaml", &two_messages(300));
    let (code, stdout, _) = text(&run(&["run", path.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}");
    let shown = stdout.matches("received \"a\"").count();
    assert!(shown < 10, "{shown} lines of \"a\" printed:\n{stdout}");
    assert_has(&stdout, "more lines repeating the 2 above");
    // Every one of the 600 server lines is shown or counted.
    let hidden: usize = stdout
        .lines()
        .find_map(|l| l.split("… ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap();
    let printed = shown + stdout.matches("received \"b\"").count();
    assert_eq!(printed + hidden, 600, "{stdout}");
}

/// Four aliases of one 256 MiB `repeat`, each within the old per-payload cap, made `netlab check`
/// build over 1 GB: the per-file cap is checked before any payload is built.
#[test]
fn check_refuses_payloads_over_the_file_cap_without_building_them() {
    let (code, peak_rss) = measure_netlab(&[
        "check".as_ref(),
        "tests/bad_scenarios/payloads_over_the_file_cap.yaml".as_ref(),
    ]);
    assert_eq!(code, 2);
    assert!(
        peak_rss < baseline_rss() + 52 * 1024 * 1024,
        "peak RSS {} bytes",
        peak_rss
    );
}

#[test]
fn a_program_that_floods_its_output_is_read_in_bounded_memory() {
    // Before: a program's stdout and stderr were kept whole: 200 MB printed, 400 MB resident.
    let path = temp_file(
        "chatty.yaml",
        "
servers:
  - name: echo
clients:
  - name: chatty
    connect: echo
    timeout: 1m
    exec: [\"sh\", \"-c\", \"yes | head -c 300000000; yes | head -c 100000000 >&2\"]
",
    );
    let (code, peak) = run_measuring_memory(&path);
    assert_eq!(code, 0);
    assert!(
        peak < baseline_rss() + 84 * 1024 * 1024,
        "peak RSS {peak} bytes for 400 MB of output"
    );
}

/// Each instance of a `count:` client program held its own copy of every var: a 1 MiB var and
/// `count: 1000` took a gigabyte to check. They share one.
#[test]
fn the_vars_of_many_program_instances_are_held_once() {
    let big = "v".repeat(1 << 20);
    let path = temp_file(
        "shared_vars.yaml",
        &format!(
            "vars: {{big: {big}}}\nservers: [{{name: s}}]\nclients: [{{name: p, connect: s, count: 1000, exec: [\"true\", \"{{instance}}\"]}}]\n"
        ),
    );
    let (code, peak) = measure_netlab(&["check".as_ref(), path.as_os_str()]);
    assert_eq!(code, 0);
    assert!(
        peak < baseline_rss() + 64 * 1024 * 1024,
        "peak RSS {peak} bytes"
    );
}
