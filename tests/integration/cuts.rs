//! The same verdict however the stream is cut (issue 13): a match is decided as if the whole
//! stream had arrived, whatever recv() or a `slice` fault made of it.

use super::support::{run, temp_file, text};

/// Runs `path` with `--transcript` `times` times: the exit codes and transcripts.
fn runs(path: &std::path::Path, times: usize) -> Vec<(i32, String)> {
    (0..times)
        .map(|_| {
            let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
            // The verdict line holds the time the run took: keep the transcript above it.
            let transcript = stdout
                .split("\nverdict:")
                .next()
                .unwrap_or_default()
                .to_string();
            (code, transcript)
        })
        .collect()
}

/// The transcript of a run of `path` at time scale `scale` (above its verdict line), which must
/// pass.
fn passing_transcript_at(path: &std::path::Path, scale: &str) -> String {
    let (code, stdout, _) = text(&run(&[
        "run",
        "--transcript",
        "--time-scale",
        scale,
        path.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stdout}");
    stdout
        .split("\nverdict:")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_regex_that_more_bytes_could_extend_gives_one_verdict() {
    // Before: 30 runs gave three different scores, as "OK" and "GO;" arrived together or not.
    let path = temp_file(
        "okgo.yaml",
        "
servers:
  - name: ok
    greeting: \"OK\"
    rules:
      - reply: \"GO;\"
clients:
  - name: client
    connect: ok
    count: 3
    steps:
      - send: \"x\"
      - expect: { regex: \"[A-Z]+\" }
      - expect: \";\"
",
    );
    let all = runs(&path, 12);
    // Whole, the stream is "OKGO;": `[A-Z]+` takes "OKGO", and ";" is what is left.
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        assert!(transcript.contains("got \"OKGO\""), "{transcript}");
    }
    assert!(
        all.iter().all(|(_, t)| *t == all[0].1),
        "transcripts differ"
    );
}

#[test]
fn a_slice_fault_does_not_change_what_a_regex_matches() {
    // Before: with replies written 2 bytes at a time, `\d+` matched "12" instead of "123".
    let path = temp_file(
        "sliced.yaml",
        "
servers:
  - name: digits
    faults:
      slice: { bytes: 2, pause: 20ms }
    rules:
      - reply: \"123;\"
clients:
  - name: client
    connect: digits
    steps:
      - send: \"n?\"
      - expect: { regex: \"\\\\d+\" }
      - expect: \";\"
",
    );
    for (code, transcript) in runs(&path, 3) {
        assert_eq!(code, 0, "{transcript}");
        assert!(transcript.contains("got \"123\""), "{transcript}");
    }
}

#[test]
fn a_regex_match_at_the_end_of_what_came_stands_at_the_deadline() {
    // The peer says "OK" and then nothing: `[A-Z]+` could still grow, so the step waits, and at
    // its deadline takes what matches what came.
    let path = temp_file(
        "deadline.yaml",
        "
servers:
  - name: ok
    greeting: \"OK\"
clients:
  - name: client
    connect: ok
    steps:
      - expect: { regex: \"[A-Z]+\" }
        timeout: 300ms
",
    );
    for (code, transcript) in runs(&path, 2) {
        assert_eq!(code, 0, "{transcript}");
        assert!(transcript.contains("got \"OK\""), "{transcript}");
    }
}

/// Whether this process may make mount and network namespaces (root, or a permissive kernel).
fn can_make_namespaces() -> bool {
    std::process::Command::new("unshare")
        .args(["-mn", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_silent_resolver_is_bounded_by_the_scenario() {
    // Before: a 1 s scenario took 10 s, and Ctrl-C 9 s to act, while getaddrinfo waited on a
    // nameserver that never answers. Here: a mount and network namespace of the test's own, whose
    // resolv.conf names a silent nameserver on its loopback.
    let test = "a_silent_resolver_is_bounded_by_the_scenario";
    if !can_make_namespaces() {
        eprintln!("skipped {test}: cannot make mount and network namespaces here (not root)");
        return;
    }
    if super::support::python3(test).is_none() {
        return;
    }
    let scenario = temp_file(
        "dns.yaml",
        "
timeout: 1s
clients:
  - name: client
    connect: \"netlab-test.invalid:80\"
    steps:
      - send: \"hi\"
",
    );
    let dir = scenario.parent().unwrap();
    std::fs::write(dir.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    let silent = "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
                  s.bind(('127.0.0.1', 53)); time.sleep(60)";
    let script = format!(
        "ip link set lo up && mount --bind {resolv} /etc/resolv.conf && \
         {{ python3 -c \"{silent}\" </dev/null >/dev/null 2>&1 & }} && nameserver=$! && \
         for i in $(seq 100); do grep -q ':0035 ' /proc/net/udp && break; sleep 0.05; done; \
         {netlab} run {scenario}; code=$?; kill $nameserver; exit $code",
        resolv = dir.join("resolv.conf").display(),
        netlab = env!("CARGO_BIN_EXE_netlab"),
        scenario = scenario.display(),
    );
    let started = std::time::Instant::now();
    let output = std::process::Command::new("unshare")
        .args(["-mn", "sh", "-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let (code, stdout, stderr) = text(&output);
    // Whichever bound ends it — the scenario's timeout (a failure, 1) or the connect's, which is
    // what was left of it (the environment's refusal, 3) — it ends then.
    assert!(
        (code == 1 && stdout.contains("timed out after 1s"))
            || (code == 3 && stdout.contains("no answer from the resolver")),
        "{code}: {stdout}\n{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_udp_reply_too_large_for_a_datagram_is_said_and_not_counted() {
    // Before: "connection failed: message too long", counted as sent, the line in the wrong place.
    let path = temp_file(
        "udp_big.yaml",
        "
servers:
  - name: doubler
    protocol: udp
    read_size: 64KiB
    rules:
      - reply: \"{data}{data}\"
clients:
  - name: client
    connect: doubler
    steps:
      - send: { repeat: \"x\", times: 40000 }
      - expect_nothing: 200ms
",
    );
    let (code, stdout, stderr) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("reply too large for one datagram (80000 bytes): not sent"),
        "{stdout}"
    );
}

#[test]
fn the_record_of_a_connection_is_cut_at_the_same_byte_every_time() {
    // Before: 4 runs, 3 transcripts: each idle moment made a new record charged to the 16 MiB
    // budget, so the budget was full at a different byte on every run.
    let path = temp_file(
        "sink.yaml",
        "
servers:
  - name: sink
    read_size: 64KiB
clients:
  - name: upload
    connect: sink
    timeout: 1m
    steps:
      - repeat:
          times: 270
          steps:
            - send: { repeat: \"x\", times: 65536 }
            - sleep: 2ms
      - shutdown: write
      - expect_close: true
",
    );
    let all = runs(&path, 4);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        // The budget is full at exactly 16 MiB of the stream, the rest counted.
        assert!(
            transcript.contains("(16777216 bytes, the first 65536 kept)")
                && transcript.contains("917504 more bytes in, 0 bytes out, not recorded"),
            "{transcript}"
        );
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

/// A Python client program saying `word` to `{host}:{port}` over `protocol`, then reading once.
fn program_saying(word: &str, protocol: &str) -> String {
    let code = match protocol {
        "udp" => format!(
            "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'{word}\\\\n', (sys.argv[1], int(sys.argv[2]))); s.recv(100)"
        ),
        _ => format!(
            "import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(b'{word}\\\\n'); s.recv(100)"
        ),
    };
    format!("[\"python3\", \"-c\", \"{code}\", \"{{host}}\", \"{{port}}\"]")
}

/// The section of a transcript under `heading`, up to the next blank line.
fn section<'t>(transcript: &'t str, heading: &str) -> &'t str {
    let start = transcript
        .find(heading)
        .unwrap_or_else(|| panic!("no section {heading:?} in:\n{transcript}"));
    let rest = &transcript[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

#[test]
fn connections_of_client_programs_are_shown_in_their_own_sections() {
    // Before: two client programs of one server (and a `count: 2` one) were "peers from outside
    // the scenario", in sections that swapped between runs as their connections were accepted in
    // one order or the other. Now each program is given a way into the server of its own, so its
    // connections are known to be its, over TCP and UDP, threaded or sequential.
    if super::support::python3("connections_of_client_programs_are_shown_in_their_own_sections")
        .is_none()
    {
        return;
    }
    let tcp = |concurrency: &str| format!("tcp\n    concurrency: {concurrency}\n    framing: line");
    for (name, protocol) in [
        ("threaded", tcp("threaded")),
        ("sequential", tcp("sequential")),
        ("udp", "udp".to_string()),
    ] {
        let path = temp_file(
            &format!("programs_{name}.yaml"),
            &format!(
                "
servers:
  - name: lines
    protocol: {protocol}
    rules:
      - reply: \"ok\\n\"
clients:
  - name: zebra
    connect: lines
    count: 2
    exec: {}
  - name: apple
    connect: lines
    exec: {}
",
                program_saying("zebra", name),
                program_saying("apple", name)
            ),
        );
        let all = runs(&path, 6);
        for (code, transcript) in &all {
            assert_eq!(*code, 0, "{transcript}");
            assert!(!transcript.contains("from outside"), "{transcript}");
            for (heading, word) in [
                ("zebra#1 → lines", "zebra"),
                ("zebra#2 → lines", "zebra"),
                ("apple → lines", "apple"),
            ] {
                let own = section(transcript, heading);
                assert!(
                    own.contains(&format!("received \"{word}"))
                        && own.matches("received").count() == 1,
                    "{name}: {own}"
                );
            }
        }
        assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
    }
}

#[test]
fn a_client_that_connects_by_address_to_a_fixed_port_of_the_scenario_sees_its_server_side() {
    // Before: two step clients connecting by address to a fixed-port server of the scenario got
    // two "peer from outside" sections, in accept order.
    let port = super::support::free_port();
    let path = temp_file(
        "by_address.yaml",
        &format!(
            "
servers:
  - name: lines
    port: {port}
    framing: line
    rules:
      - reply: \"ok\\n\"
clients:
  - name: zebra
    connect: \"127.0.0.1:{port}\"
    steps:
      - send: \"zebra\\n\"
      - expect: \"ok\\n\"
  - name: apple
    connect: \"127.0.0.1:{port}\"
    steps:
      - send: \"apple\\n\"
      - expect: \"ok\\n\"
"
        ),
    );
    let all = runs(&path, 6);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        assert!(!transcript.contains("from outside"), "{transcript}");
        let zebra = section(transcript, "zebra → 127.0.0.1");
        assert!(
            zebra.contains("received \"zebra\"") && zebra.contains("saw the client close"),
            "{zebra}"
        );
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

#[test]
fn programs_that_ignore_the_address_they_are_given_are_shown_in_an_order_timing_does_not_decide() {
    // Two programs that connect to a port written in their code come in as any outside peer:
    // their sections are ordered by what happened on them, not by accept order.
    if super::support::python3("programs_that_ignore_the_address_they_are_given").is_none() {
        return;
    }
    let port = super::support::free_port();
    let fixed =
        |word: &str| program_saying(word, "tcp").replace("int(sys.argv[2])", &port.to_string());
    let path = temp_file(
        "hard_coded_ports.yaml",
        &format!(
            "
servers:
  - name: lines
    port: {port}
    framing: line
    rules:
      - reply: \"ok\\n\"
clients:
  - name: zebra
    connect: lines
    exec: {}
  - name: apple
    connect: lines
    exec: {}
",
            fixed("zebra"),
            fixed("apple")
        ),
    );
    let all = runs(&path, 6);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        let first = transcript.find("received \"apple\"").expect("apple");
        let second = transcript.find("received \"zebra\"").expect("zebra");
        assert!(first < second, "{transcript}");
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

#[test]
fn sends_a_chunk_server_may_join_are_warned_of_at_load_and_after_the_run() {
    // Before: 30 runs gave 6 transcripts ("abc" in one message or three), silently.
    let path = temp_file(
        "chunks.yaml",
        "
servers:
  - name: echo
    rules:
      - reply: \"[{data}]\"
clients:
  - name: client
    connect: echo
    steps:
      - send: \"a\"
      - send: \"b\"
      - expect: { contains: \"]\" }
",
    );
    let (code, _, stderr) = text(&run(&["check", path.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: a second send before anything is read")
            && stderr.contains("chunks.yaml:11:15"),
        "{stderr}"
    );
    // After the run: said exactly when the server's messages did not line up with the sends.
    for _ in 0..5 {
        let (_, stdout, stderr) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
        let joined = stdout.contains("received \"ab\"");
        let said = stderr.contains("warning: client: 2 sends arrived as 1 message");
        assert_eq!(joined, said, "{stdout}\n{stderr}");
    }
    let (_, stdout, _) = text(&run(&["run", "--format", "json", path.to_str().unwrap()]));
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        json["warnings"][0]
            .as_str()
            .unwrap()
            .contains("chunks.yaml:11:15: a second send before anything is read"),
        "{json}"
    );
}

#[test]
fn client_programs_queued_on_a_sequential_server_are_all_served() {
    // Before: three programs that send a line and close at once, on a sequential server that
    // pauses 200ms per line: the run ended with one served and two "accepted" only, a different
    // one each run, as connections waiting for their turn were owed nothing.
    if super::support::python3("client_programs_queued_on_a_sequential_server_are_all_served")
        .is_none()
    {
        return;
    }
    let fire = "import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(b'hi\\\\n'); s.close()";
    let path = temp_file(
        "fire_sequential.yaml",
        &format!(
            "
servers:
  - name: s
    concurrency: sequential
    framing: line
    rules:
      - delay: 200ms
        reply: \"ok\\n\"
clients:
  - name: p
    connect: s
    count: 3
    exec: [\"python3\", \"-c\", \"{fire}\", \"{{host}}\", \"{{port}}\"]
"
        ),
    );
    let all = runs(&path, 4);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        assert_eq!(
            transcript.matches("received \"hi\"").count(),
            3,
            "{transcript}"
        );
        assert_eq!(
            transcript.matches("saw the client close").count(),
            3,
            "{transcript}"
        );
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

#[test]
fn a_program_s_several_connections_and_datagrams_are_shown_in_one_order() {
    // Before: a program opening three connections from three threads had them shown in accept
    // order (5 transcripts in 15 runs); three datagrams a UDP program sent without waiting were
    // not waited for (2 or 3 shown, and fewer the slower the server).
    if super::support::python3("a_program_s_several_connections_and_datagrams").is_none() {
        return;
    }
    let threads = "import socket,sys,threading\\n\
def go(w):\\n    s=socket.create_connection((sys.argv[1], int(sys.argv[2]))); s.sendall(w+b'\\\\n'); s.recv(10); s.close()\\n\
ts=[threading.Thread(target=go,args=(w,)) for w in (b'one',b'two',b'three')]\\n\
[t.start() for t in ts]; [t.join() for t in ts]\\n";
    let datagrams = "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); [s.sendto(b'p%d' % i, (sys.argv[1], int(sys.argv[2]))) for i in range(3)]";
    let path = temp_file(
        "several.yaml",
        &format!(
            "
servers:
  - name: s
    framing: line
    rules:
      - reply: \"ok\\n\"
  - name: u
    protocol: udp
    rules:
      - delay: 40ms
        reply: \"ok\"
clients:
  - name: threads
    connect: s
    exec: [\"python3\", \"-c\", \"{threads}\", \"{{host}}\", \"{{port}}\"]
  - name: datagrams
    connect: u
    exec: [\"python3\", \"-c\", \"{datagrams}\", \"{{host}}\", \"{{port}}\"]
"
        ),
    );
    let all = runs(&path, 6);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        let threads = section(transcript, "threads → s");
        assert_eq!(threads.matches("received").count(), 3, "{threads}");
        let datagrams = section(transcript, "datagrams → u");
        assert_eq!(datagrams.matches("received").count(), 3, "{datagrams}");
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

#[test]
fn a_server_s_long_pause_is_waited_for_at_every_time_scale() {
    // Before: the end of the run waited one unscaled second for the servers: a server pausing
    // 2s before its reply had not seen its client close at scale 1, and had at 0.1.
    let path = temp_file(
        "long_pause.yaml",
        "
servers:
  - name: s
    framing: line
    rules:
      - delay: 2s
        reply: \"ok\\n\"
clients:
  - name: c
    connect: s
    steps:
      - send: \"hi\\n\"
      - close: true
",
    );
    let whole = passing_transcript_at(&path, "1");
    assert!(whole.contains("saw the client close"), "{whole}");
    assert_eq!(whole, passing_transcript_at(&path, "0.1"));
}

#[test]
fn a_client_by_address_is_paired_with_the_server_listening_where_it_connected() {
    // Before: two servers on one port, one on 127.0.0.1 and one on ::1: a client of `[::1]:P`
    // was taken for the first one's, its side shown as a peer from outside, and the run waited a
    // second for an accept that never came.
    let port = super::support::free_port();
    let path = temp_file(
        "two_families.yaml",
        &format!(
            "
servers:
  - {{name: v4, port: {port}, framing: line, rules: [{{reply: \"four\\n\"}}]}}
  - {{name: v6, bind: \"::1\", port: {port}, framing: line, rules: [{{reply: \"six\\n\"}}]}}
clients:
  - name: a
    connect: \"[::1]:{port}\"
    steps: [{{send: \"hi\\n\"}}, {{expect: \"six\\n\"}}]
  - name: b
    connect: \"127.0.0.1:{port}\"
    steps: [{{send: \"hi\\n\"}}, {{expect: \"four\\n\"}}]
"
        ),
    );
    for (code, transcript) in runs(&path, 3) {
        assert_eq!(code, 0, "{transcript}");
        assert!(!transcript.contains("from outside"), "{transcript}");
        let a = section(&transcript, "a → [::1]");
        assert!(a.contains("v6  received \"hi\""), "{a}");
    }
}

#[test]
fn the_end_of_a_run_waits_for_what_servers_work_on_without_recording_it_yet() {
    // Before: twenty datagrams (or lines) a server answered after a pause were folded into one
    // record "the same again, N more times" held back until the end: no event came while the
    // server worked, the run ended on "silence", and N was 4 at scale 1 and 16 at 0.1.
    for (name, server, send) in [
        ("udp", "protocol: udp", "x"),
        ("tcp", "framing: line", "x\\n"),
    ] {
        let path = temp_file(
            &format!("folded_{name}.yaml"),
            &format!(
                "
servers:
  - name: s
    {server}
    rules:
      - reply: \"ok\"
        delay: 60ms
clients:
  - name: c
    connect: s
    steps:
      - repeat:
          times: 20
          steps:
            - send: \"{send}\"
"
            ),
        );
        let whole = passing_transcript_at(&path, "1");
        // Every one of the twenty messages is in the record: shown, or counted in a fold.
        let shown = whole.matches("received \"x\"").count();
        let folded: usize = whole
            .lines()
            .filter_map(|l| l.split("the same again, ").nth(1))
            .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(shown + folded, 20, "{name}: {whole}");
        assert_eq!(whole, passing_transcript_at(&path, "0.1"), "{name}");
    }
}

#[test]
fn a_client_that_leaves_with_bytes_unread_is_seen_closing_every_time() {
    // Before: a client that closed while its server was still replying (2 MB, or "ok" to a
    // client that never reads) made the kernel answer with a reset: the server's line said
    // "saw the client close" or "connection reset by peer" as timing had it.
    let path = temp_file(
        "leaving.yaml",
        "
servers:
  - name: big
    rules:
      - reply: { repeat: \"x\", times: 2000000 }
        close: true
  - name: small
    rules:
      - reply: \"ok\"
clients:
  - name: reads_a_little
    connect: big
    steps:
      - send: \"go\"
      - expect: { bytes: 5 }
  - name: never_reads
    connect: small
    steps:
      - send: \"x\"
",
    );
    let all = runs(&path, 10);
    for (code, transcript) in &all {
        assert_eq!(*code, 0, "{transcript}");
        assert!(!transcript.contains("reset"), "{transcript}");
        assert!(transcript.contains("saw the client close"), "{transcript}");
    }
    assert!(all.iter().all(|(_, t)| *t == all[0].1), "{:#?}", all);
}

#[test]
fn servers_still_at_work_at_the_deadline_time_the_run_out() {
    // Before: a run whose server still owed a reply when the scenario's timeout came passed.
    // A client still waiting for it fails; one that left (it closed: nobody will read the
    // reply) ends the server's work at once.
    let owed = |steps: &str| {
        temp_file(
            "owed.yaml",
            &format!(
                "
timeout: 1s
servers:
  - name: s
    faults:
      latency: {{ fixed: 1y }}
    rules:
      - reply: \"ok\"
clients:
  - name: c
    connect: s
    steps:
      - send: \"x\"
{steps}"
            ),
        )
    };
    let waiting = owed("      - expect: \"ok\"\n        timeout: 5s\n");
    let (code, stdout, _) = text(&run(&["run", "--transcript", waiting.to_str().unwrap()]));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("timed out after 1s"), "{stdout}");
    let left = owed("");
    let (code, stdout, _) = text(&run(&["run", "--transcript", left.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn max_received_does_not_depend_on_how_the_stream_was_cut() {
    // Before: 23 bytes in one write passed a `max_received: 10` expect of "END"; the same bytes
    // in pieces of 4 failed it ("more than 10 bytes arrived").
    for faults in ["", "    faults:\n      slice: { bytes: 4, pause: 5ms }\n"] {
        let path = temp_file(
            "capped.yaml",
            &format!(
                "
servers:
  - name: s
{faults}    rules:
      - reply: \"aaaaaaaaaaaaaaaaaaaaEND\"
clients:
  - name: c
    connect: s
    max_received: 10
    steps:
      - send: \"go\"
      - expect: {{ contains: \"END\" }}
"
            ),
        );
        let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
        assert_eq!(code, 1, "{faults}: {stdout}");
        assert!(stdout.contains("more than 10 bytes"), "{faults}: {stdout}");
    }
}

#[test]
fn a_client_of_0_0_0_0_is_paired_with_the_server_it_reached() {
    // Before: `connect: "0.0.0.0:P"` reaches the local host, but the client said it connected
    // to 0.0.0.0: its server side was shown as a peer from outside.
    let port = super::support::free_port();
    let path = temp_file(
        "any_address.yaml",
        &format!(
            "
servers:
  - name: t
    port: {port}
    rules:
      - reply: \"t:{{data}}\"
clients:
  - name: a
    connect: \"0.0.0.0:{port}\"
    steps: [{{send: \"a\"}}, {{expect: \"t:a\"}}]
"
        ),
    );
    let (code, stdout, _) = text(&run(&["run", "--transcript", path.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("from outside"), "{stdout}");
    assert!(
        section(&stdout, "a → 0.0.0.0").contains("t  received \"a\""),
        "{stdout}"
    );
}

#[test]
fn a_regex_over_megabytes_costs_their_arrival_not_a_search_per_read() {
    // Before: a regex searched everything pending again on every read, so 12 MB arriving in
    // reads of a few KiB took minutes of searching, and a step with time to spare failed.
    let path = temp_file(
        "big.yaml",
        "
timeout: 60s
servers:
  - name: s
    greeting: { file: big.bin }
clients:
  - name: c
    connect: s
    steps:
      - expect: { regex: \"^a+END\" }
        timeout: 10s
",
    );
    let mut bytes = vec![b'a'; 12_000_000];
    bytes.extend_from_slice(b"END");
    std::fs::write(path.with_file_name("big.bin"), bytes).unwrap();
    let (code, stdout, _) = text(&run(&["run", path.to_str().unwrap()]));
    assert_eq!(code, 0, "{stdout}");
}
