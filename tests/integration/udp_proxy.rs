//! UDP proxies (`protocol: udp`, `proxy: { to: … }`): each sender's datagrams relayed whole,
//! both legs in the transcript and the same on every run whatever the faults and the time
//! scale; each way's faults on its own; the tutorial's UDP server and client on either side;
//! a stall for good that Ctrl-C ends; `netlab record --udp`, replayed with and without the
//! server.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::proxy::{same_every_run, transcript_run};
use crate::record::{exit_code, record};
use crate::support::{
    free_port, interrupt, netlab, own_peer, python3, start_until, temp_file, text,
};

const ECHO_AND_PROXY: &str = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"[{data}]\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_client: { latency: { fixed: 20ms, jitter: 20ms } }
clients:
  - name: c
    connect: p
    steps:
      - send: \"hello\"
      - expect: \"[hello]\"
      - send: \"again\"
      - expect: \"[again]\"
";

/// Each datagram through a udp proxy is in the transcript, both legs, in causal order: the
/// client's send, the proxy relaying it, the server answering, the proxy relaying the answer
/// (with the way's latency), the client reading it.
#[test]
fn both_legs_of_a_udp_session_are_in_the_transcript_in_causal_order() {
    let (code, stdout) = transcript_run("udp_legs.yaml", ECHO_AND_PROXY);
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().position(|l| *l == "c → p");
    let Some(start) = start else {
        panic!("no section `c → p`:\n{stdout}");
    };
    let shown: Vec<&str> = lines[start + 1..]
        .iter()
        .copied()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let expected = [
        "  ✓ c     connect p",
        "  ✓ c     send \"hello\"",
        "    p     a first datagram from this client",
        "    p     connecting to echo",
        "    echo  a first datagram from this client",
        "    p     relayed \"hello\" to echo",
        "    echo  received \"hello\" → rules[0], reply \"[hello]\"",
    ];
    assert_eq!(&shown[..expected.len()], expected, "{stdout}");
    let rest = &shown[expected.len()..];
    assert!(
        rest[0].starts_with("    p     relayed \"[hello]\" to the client, fault: latency "),
        "{stdout}"
    );
    assert_eq!(
        &rest[1..5],
        [
            "  ✓ c     expect \"[hello]\"",
            "  ✓ c     send \"again\"",
            "    p     relayed \"again\" to echo",
            "    echo  received \"again\" → rules[0], reply \"[again]\"",
        ],
        "{stdout}"
    );
    assert!(!stdout.contains("from outside"), "{stdout}");
}

/// Datagrams sent one after the other without waiting, through a proxy that loses and doubles
/// some each way with jitter, by two clients at once: the transcript is the same on every run
/// and at every time scale (which datagram the upstream read when is placed by its reads, not
/// by when the proxy's threads got to it).
#[test]
fn a_lossy_udp_session_reads_the_same_every_run() {
    let yaml = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"echo:{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_upstream: { drop: 0.3, duplicate: 0.3, latency: { fixed: 1ms, jitter: 5ms }, seed: 7 }
      to_client: { latency: { fixed: 5ms, jitter: 10ms }, duplicate: 0.5, drop: 0.2 }
clients:
  - name: c
    connect: p
    count: 3
    steps:
      - send: \"a\"
      - send: \"b\"
      - send: \"c\"
      - send: \"d\"
      - send: \"e\"
      - send: \"f\"
      - expect: { regex: \"echo:.\" }
      - sleep: 300ms
";
    let transcript = same_every_run(
        "udp_lossy.yaml",
        yaml,
        12,
        &["1", "0.3", "0.1", "1", "2", "0.05"],
    );
    // The faults did something each way (else the test would show nothing).
    for words in [
        "on its way to echo (drop)",
        "to echo twice (duplicate)",
        "to the client twice (duplicate)",
    ] {
        assert!(transcript.contains(words), "no `{words}` in:\n{transcript}");
    }
}

/// Each way's faults apply to that way alone: everything lost toward the upstream never
/// reaches it (the client's expect times out); everything doubled toward the client reaches
/// it twice, the upstream answering once.
#[test]
fn udp_faults_apply_to_their_own_way() {
    let lost = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_upstream: { drop: 1.0 }
clients:
  - name: c
    connect: p
    timeout: 300ms
    steps:
      - send: \"hello\"
      - expect: \"hello\"
";
    let (code, stdout) = transcript_run("udp_lost.yaml", lost);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("p  lost \"hello\" on its way to echo (drop)"),
        "{stdout}"
    );
    assert!(!stdout.contains("echo  received"), "{stdout}");
    let doubled = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_client: { duplicate: 1.0 }
clients:
  - name: c
    connect: p
    steps:
      - send: \"hello\"
      - expect: \"hello\"
      - expect: \"hello\"
";
    let (code, stdout) = transcript_run("udp_doubled.yaml", doubled);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.matches("received \"hello\"").count(), 1, "{stdout}");
    assert!(
        stdout.contains("relayed \"hello\" to the client twice (duplicate)"),
        "{stdout}"
    );
}

/// A stall for good holds a way until the run ends: Ctrl-C ends it at once (exit 130).
#[test]
fn a_udp_stall_for_good_ends_with_ctrl_c() {
    let yaml = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_client: { stall: { after: 0 } }
clients:
  - name: c
    connect: p
    timeout: 1m
    steps:
      - send: \"hello\"
      - expect: \"hello\"
";
    let file = temp_file("udp_stall.yaml", yaml);
    let mut command = netlab();
    command.args(["run", "-v"]).arg(&file);
    let (mut child, lines, _) = start_until(
        command,
        "stalled for good from the first byte",
        Duration::from_secs(20),
    );
    let asked = Instant::now();
    interrupt(&child.0);
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", lines.rest());
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "Ctrl-C took {:?}",
        asked.elapsed()
    );
}

/// The tutorial's UDP server (netlab's own copy, as a program under test) behind a proxy that
/// delays and doubles its answers, driven by netlab's client; and the tutorial's UDP client
/// (as a program) through a proxy in front of netlab's server: it copes with late answers.
#[test]
fn the_tutorial_s_udp_programs_through_a_proxy() {
    if python3("the_tutorial_s_udp_programs_through_a_proxy").is_none() {
        return;
    }
    let server = own_peer("udp_server.py");
    let yaml = format!(
        "
servers:
  - name: student
    protocol: udp
    exec: [python3, \"{}\", \"{{port}}\"]
    ready_timeout: 10s
  - name: p
    protocol: udp
    proxy: {{ to: student }}
    faults:
      to_client: {{ latency: {{ fixed: 30ms }}, duplicate: 1.0 }}
clients:
  - name: c
    connect: p
    steps:
      - send: \"Michael\"
      - expect: \"Hello, Michael!\"
      - expect: \"Hello, Michael!\"
      - send: \"Tracy\"
      - expect: \"Hello, Tracy!\"
",
        server.display()
    );
    let (code, stdout) = transcript_run("udp_student.yaml", &yaml);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(
            "relayed \"Hello, Michael!\" to the client twice (duplicate), fault: latency 30ms"
        ),
        "{stdout}"
    );
    let client = own_peer("udp_client.py");
    let yaml = format!(
        "
servers:
  - name: hello
    protocol: udp
    rules:
      - reply: \"Hello, {{data}}!\"
  - name: p
    protocol: udp
    proxy: {{ to: hello }}
    faults:
      to_client: {{ latency: {{ fixed: 50ms }} }}
clients:
  - name: student
    connect: p
    exec: [python3, \"{}\", \"{{port}}\", \"{{host}}\"]
    expect_stdout: \"Hello, Michael!\\nHello, Tracy!\\nHello, Sarah!\\n\"
",
        client.display()
    );
    let (code, stdout) = transcript_run("udp_student_client.yaml", &yaml);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("received \"Sarah\" → rules[0], reply \"Hello, Sarah!\""),
        "{stdout}"
    );
}

/// The tutorial's UDP client through `netlab record --udp --stub` to the tutorial's UDP server
/// (netlab's own copies): the scenario written replays against the real server and against
/// its stub alone, and the stub, served, answers the real client as the server did.
#[test]
fn a_recorded_udp_exchange_replays_with_and_without_the_server() {
    if python3("a_recorded_udp_exchange_replays_with_and_without_the_server").is_none() {
        return;
    }
    let port = free_port();
    let mut command = Command::new("python3");
    command.arg(own_peer("udp_server.py")).arg(port.to_string());
    let (server, _, _) = start_until(command, "listening", Duration::from_secs(20));
    let dir = temp_file("udp_record.keep", "")
        .parent()
        .unwrap()
        .to_path_buf();
    let file = dir.join("hello.yaml");
    let to = format!("127.0.0.1:{port}");
    let (mut recorder, lines, addr) = record(&[
        "--udp",
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--connections",
        "1",
        "--stub",
        "-o",
        file.to_str().unwrap(),
    ]);
    let tutorial_output = "Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n";
    let client = |port: u16| {
        let output = Command::new("python3")
            .arg(own_peer("udp_client.py"))
            .arg(port.to_string())
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(client(addr.port()), tutorial_output);
    assert_eq!(exit_code(&mut recorder), Some(0), "{}", lines.rest());
    let written = std::fs::read_to_string(&file).unwrap();
    for step in [
        "    protocol: udp\n    connect: \"{upstream}\"\n",
        "      - send: \"Michael\"\n      - expect: \"Hello, Michael!\"\n",
        "      - match: \"Sarah\"\n        reply: \"Hello, Sarah!\"\n",
    ] {
        assert!(written.contains(step), "no `{step}` in:\n{written}");
    }
    // Against the real server, then without it (the stub).
    let netlab_in = |args: &[&str]| text(&netlab().current_dir(&dir).args(args).output().unwrap());
    let (code, stdout, stderr) =
        netlab_in(&["run", "hello.yaml", "--var", &format!("upstream={to}")]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    drop(server);
    let (code, stdout, stderr) = netlab_in(&["test", "hello.yaml"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let mut command = netlab();
    command
        .current_dir(&dir)
        .args(["serve", "--quiet", "hello.yaml"]);
    let (_stub, _, line) = start_until(command, "stub listening on", Duration::from_secs(20));
    let stub: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(client(stub.port()), tutorial_output);
}

/// A client that sends and leaves without waiting for answers: the run settles only once the
/// upstream behind the proxy has read every datagram the proxy relayed (before, the run ended
/// as soon as the proxy had them: the upstream's reads were missing, 0 or 1 of 4, varying).
#[test]
fn a_run_waits_for_the_upstream_to_read_what_the_proxy_relayed() {
    let yaml = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
    faults:
      to_upstream: { latency: { fixed: 50ms }, duplicate: 0.5, drop: 0.2, seed: 4 }
clients:
  - name: c
    connect: p
    steps:
      - send: \"a\"
      - send: \"b\"
      - send: \"c\"
      - send: \"d\"
      - send: \"e\"
";
    let transcript = same_every_run("udp_settle.yaml", yaml, 6, &["1", "0.3", "2"]);
    // Every copy relayed is read, each once, and each answer relayed back.
    let copies = |to: &str| -> usize {
        transcript
            .lines()
            .filter(|line| line.contains("p     relayed") && line.contains(to))
            .map(|line| {
                if line.contains("twice (duplicate)") {
                    2
                } else {
                    1
                }
            })
            .sum()
    };
    let relayed = copies(" to echo");
    assert!(relayed > 5, "{transcript}");
    assert_eq!(
        transcript.matches("echo  received").count(),
        relayed,
        "{transcript}"
    );
    assert_eq!(copies(" to the client"), relayed, "{transcript}");
}

/// Datagrams sent back to back in a `repeat` by three clients at once, no fault anywhere: the
/// upstream folds its identical answers into counts where it happens to, but the transcript is
/// the same every run (before, the proxy's lines fell before or after a folded count by
/// timing: 1 run in 10 differed).
#[test]
fn pipelined_datagrams_read_the_same_every_run() {
    let yaml = "
servers:
  - name: echo
    protocol: udp
    rules:
      - reply: \"{data}\"
  - name: p
    protocol: udp
    proxy: { to: echo }
clients:
  - name: c
    connect: p
    count: 3
    steps:
      - repeat:
          times: 40
          steps:
            - send: \"x\"
      - send: \"y\"
";
    same_every_run("udp_pipelined.yaml", yaml, 12, &["1", "0.3", "2"]);
}

/// A chain of two udp proxies whose client sends and leaves: the answer comes back through
/// both, and the run waits for the last proxy's relay of it (before, the first proxy's relay
/// settled the run: the last line was there or not).
#[test]
fn a_chain_of_udp_proxies_relays_the_answer_back_all_the_way_every_run() {
    let yaml = "
servers:
  - name: echo
    protocol: udp
    delay: 30ms
    rules:
      - reply: \"{data}\"
  - name: p1
    protocol: udp
    proxy: { to: echo }
    faults:
      to_client: { latency: { fixed: 50ms } }
  - name: p2
    protocol: udp
    proxy: { to: p1 }
    faults:
      to_upstream: { latency: { fixed: 50ms } }
clients:
  - name: c
    connect: p2
    steps:
      - send: \"a\"
";
    let transcript = same_every_run("udp_chain.yaml", yaml, 6, &["1", "0.5", "2"]);
    assert!(
        transcript.contains("p2    relayed \"a\" to the client"),
        "{transcript}"
    );
}

/// A server behind a udp proxy that folds what it reads into counts (the same datagram again
/// and again): a run whose server answers nothing ends at once (it waited out a second, and
/// timed out under a short `timeout:`); one whose server doubles every answer waits for every
/// copy to be relayed back (it ended while some were still on their way: `expect_messages`
/// failed now and then, and the transcript varied).
#[test]
fn a_server_s_folded_reads_behind_a_udp_proxy_settle_the_run_exactly() {
    let sends = "      - send: \"x\"\n".repeat(6);
    let silent = format!(
        "
timeout: 800ms
servers:
  - {{ name: s, protocol: udp, rules: [ {{ reply: \"r\" }} ], faults: {{ drop: 1.0 }} }}
  - {{ name: p, protocol: udp, proxy: {{ to: s }} }}
clients:
  - connect: p
    steps:
{sends}"
    );
    same_every_run("udp_silent.yaml", &silent, 3, &["1"]);
    let sends = "      - send: \"x\"\n".repeat(60);
    let doubled = format!(
        "
servers:
  - name: s
    protocol: udp
    expect_messages: {{ exactly: 60 }}
    faults: {{ duplicate: 1.0 }}
    rules:
      - reply: \"r\"
  - name: p
    protocol: udp
    proxy: {{ to: s }}
    faults:
      to_upstream: {{ latency: {{ fixed: 30ms }} }}
clients:
  - connect: p
    steps:
{sends}"
    );
    let transcript = same_every_run("udp_doubled_answers.yaml", &doubled, 10, &["1", "0.5"]);
    assert_eq!(
        transcript.matches("relayed \"r\" to the client").count(),
        120
    );
}

/// A program client through a udp proxy that delays what it sends: the run waits for the
/// server to read what the proxy holds (it ended first, 6 runs in 10: `expect_messages`
/// failed with 0 datagrams).
#[test]
fn a_program_client_s_datagrams_through_a_udp_proxy_are_all_read() {
    if crate::support::python3("a_program_client_s_datagrams_through_a_udp_proxy_are_all_read")
        .is_none()
    {
        return;
    }
    let yaml = "
servers:
  - { name: s, protocol: udp, expect_messages: { exactly: 3 }, rules: [ { reply: \"re:{data}\" } ] }
  - { name: p, protocol: udp, proxy: { to: s }, faults: { to_upstream: { latency: { fixed: 50ms } } } }
clients:
  - name: prog
    connect: p
    exec: [python3, -c, \"import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); [s.sendto(x,(sys.argv[1],int(sys.argv[2]))) for x in (b'a',b'b',b'c')]\", \"{host}\", \"{port}\"]
";
    same_every_run("udp_program_client.yaml", yaml, 6, &["1", "0.5"]);
}

/// What a stall held back goes on in paced bursts: 600 datagrams released at once all reach
/// the server (before, the release overran the server's socket buffer: 256 arrived, 8 runs in
/// 10; a wait under a millisecond was waited as none, and the proxy spun).
#[test]
fn what_a_stall_held_back_reaches_the_server_whole() {
    let yaml = "
servers:
  - name: s
    protocol: udp
    expect_messages: { exactly: 600 }
  - name: p
    protocol: udp
    proxy: { to: s }
    faults:
      to_upstream: { stall: { after: 0, for: 200ms } }
clients:
  - connect: p
    steps:
      - repeat:
          times: 600
          steps:
            - send: \"x\"
      - sleep: 500ms
";
    same_every_run("udp_released.yaml", yaml, 3, &["1"]);
}

/// A flood into a way stalled for good: what does not fit in the session's queue is lost and
/// said in one line at the end (it was one event per datagram lost, unbounded).
#[test]
fn a_flood_into_a_stalled_way_is_said_lost_in_one_line() {
    let yaml = "
servers:
  - name: s
    protocol: udp
  - name: p
    protocol: udp
    proxy: { to: s }
    faults:
      to_upstream: { stall: { after: 0 } }
clients:
  - connect: p
    steps:
      - repeat:
          times: 1500
          steps:
            - send: \"x\"
      - sleep: 100ms
";
    let (code, stdout) = transcript_run("udp_flood_stalled.yaml", yaml);
    assert_eq!(code, 0, "{stdout}");
    let lost: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" lost: more than 1024"))
        .collect();
    assert_eq!(lost.len(), 1, "{stdout}");
    assert!(
        lost[0].contains("datagrams from the client lost"),
        "{stdout}"
    );
}
