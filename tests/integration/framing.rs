//! Frames end to end: a server cuts its input by a length prefix or a delimiter (the same
//! answers however the bytes are cut into writes), `frame:` writes the prefix and reads exactly
//! one frame, and what cannot be a frame fails cleanly.

use crate::support::netlab_on;

fn run(name: &str, yaml: &str) -> (i32, String, String) {
    netlab_on("run", name, yaml)
}

/// An echo of bodies in `framing`'s frames, and a client of it sending `body` as a frame and
/// reading it back: every variant of the length prefix, and a delimiter.
#[test]
fn every_kind_of_frame_round_trips_through_a_server() {
    for framing in [
        "{ length: u8 }",
        "{ length: u16be }",
        "{ length: u16le, include_header: true }",
        "{ length: u32be, offset: 3 }",
        "{ length: u32le, adjust: -1 }",
        "{ length: u64be }",
        "{ length: varint }",
        r#"{ delimiter: "\r\n\r\n" }"#,
        r#"{ delimiter: { hex: "ff 00" } }"#,
    ] {
        let yaml = format!(
            r#"
timeout: 5s
servers:
  - name: echo
    framing: {framing}
    rules:
      - match: {{ regex: "^ask (?P<what>\\w+)$" }}
        reply: {{ frame: "said {{what}}: {{data}}" }}
clients:
  - name: c
    connect: echo
    steps:
      - send: {{ frame: "ask one" }}
      - expect: {{ frame: "said one: ask one" }}
      - send: {{ frame: {{ repeat: "ask two", times: 1 }} }}
      - expect: {{ frame: {{ regex: "^said (\\w+)" }} }}
        capture:
          word: {{ regex: "said (\\w+)" }}
      - send: {{ frame: "ask {{word}}" }}
      - expect: {{ frame: "said two: ask two" }}
"#
        );
        let (code, stdout, stderr) = run("frames.yaml", &yaml);
        assert_eq!(code, 0, "{framing}\n{stdout}\n{stderr}");
    }
}

/// The server's answers do not depend on how the frames were cut into writes: one byte at a
/// time, or three frames in one write.
#[test]
fn a_server_cuts_the_same_frames_however_the_bytes_arrive() {
    let yaml = r#"
timeout: 5s
servers:
  - name: s
    framing: { length: u16be }
    rules:
      - reply: { frame: "got {data}" }
clients:
  - name: together
    connect: s
    steps:
      - send: { hex: "00 01 61 00 01 62 00 01 63" }
      - expect: { frame: "got a" }
      - expect: { frame: "got b" }
      - expect: { frame: "got c" }
  - name: byte_by_byte
    connect: s
    steps:
      - send: { hex: "00" }
      - sleep: 20ms
      - send: { hex: "01" }
      - sleep: 20ms
      - send: "a"
      - expect: { frame: "got a" }
"#;
    let (code, stdout, stderr) = run("cut.yaml", yaml);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Replies sliced to one byte per write are read as whole frames all the same.
    let sliced = yaml.replace(
        "    framing: { length: u16be }\n",
        "    framing: { length: u16be }\n    faults: { slice: { bytes: 1, pause: 1ms } }\n",
    );
    let (code, stdout, stderr) = run("sliced.yaml", &sliced);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn a_frame_that_cannot_be_ends_the_connection_and_one_over_the_cap_fails_the_step() {
    // A length that announces more than a server takes (16 MiB): the server drops the
    // connection at once, saying why, instead of waiting for bytes that never come.
    let (code, stdout, _) = run(
        "huge.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: { length: u32be }
    rules:
      - reply: "never"
clients:
  - name: c
    connect: s
    steps:
      - send: { hex: "7f ff ff ff 61" }
      - expect_close: true
        timeout: 2s
"#,
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("bad frame: a frame of"), "{stdout}");
    // A client's frame past its max_received fails the step, however long the peer goes on.
    let (code, stdout, _) = run(
        "flood.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    greeting: { hex: "00 00 10 00" }
    framing: { length: u32be }
clients:
  - name: c
    connect: s
    max_received: 64
    steps:
      - expect: { frame: "x" }
        timeout: 1s
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("the frame announces more than 64 bytes"),
        "{stdout}"
    );
    // A delimited frame announces nothing: its delimiter did not come within the cap.
    let (code, stdout, _) = run(
        "endless.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    greeting: { repeat: "a", times: 1000 }
    framing: { delimiter: "\n" }
clients:
  - name: c
    connect: s
    max_received: 64
    steps:
      - expect: { frame: "x" }
        timeout: 1s
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("no delimiter within 64 bytes (max_received)"),
        "{stdout}"
    );
}

#[test]
fn frame_mistakes_are_refused_where_they_are_written() {
    let cases = [
        (
            "no framing",
            r#"
clients:
  - connect: "127.0.0.1:9"
    steps:
      - send: { frame: "x" }
"#,
            "`frame` needs a framing",
        ),
        (
            "too long for its prefix",
            r#"
servers:
  - name: s
    framing: { length: u8 }
clients:
  - connect: s
    steps:
      - send: { frame: { repeat: "x", times: 300 } }
"#,
            "which a u8 field cannot hold",
        ),
        (
            "a signed length",
            r#"
servers:
  - name: s
    framing: { length: i16be }
"#,
            "`i16be` is not a length kind",
        ),
        (
            "a delimiter in the body",
            r#"
servers:
  - name: s
    framing: { delimiter: ";" }
clients:
  - connect: s
    steps:
      - send: { frame: "a;b" }
"#,
            "it would be read as a shorter frame",
        ),
        (
            "line framing on a client",
            r#"
clients:
  - connect: "127.0.0.1:9"
    framing: line
    steps:
      - send: "x"
"#,
            "a client's `framing` is a length prefix or a delimiter",
        ),
    ];
    for (what, yaml, message) in cases {
        let (code, _, stderr) = netlab_on("check", "mistake.yaml", yaml);
        assert_eq!(code, 2, "{what}: {stderr}");
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert!(stderr.contains("mistake.yaml:"), "{what}: {stderr}");
    }
}

/// A reply its frame cannot hold (`{data}` made the body longer than a u8 length can say) is
/// never sent unframed: the server drops the connection and says why.
#[test]
fn a_reply_too_long_for_its_length_field_is_not_sent() {
    let (code, stdout, _) = run(
        "too_long.yaml",
        r#"
timeout: 5s
servers:
  - name: s
    framing: { length: u8 }
    rules:
      - reply: { frame: "{data}{data}" }
clients:
  - name: c
    connect: s
    steps:
      - send: { frame: { repeat: "x", times: 200 } }
      - expect: { frame: { bytes: 400 } }
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("reply not sent"), "{stdout}");
    assert!(stdout.contains("cannot hold"), "{stdout}");
    assert!(!stdout.contains("received before the close"), "{stdout}");
}

/// A literal frame whose body ends with the start of its delimiter would be read back shorter:
/// refused where it is written.
#[test]
fn a_body_that_ends_with_the_delimiters_start_is_refused() {
    let (code, _, stderr) = netlab_on(
        "check",
        "overlap.yaml",
        r#"
servers:
  - name: s
    framing: { delimiter: "aa" }
    rules:
      - reply: { frame: "xa" }
"#,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ends with its start"), "{stderr}");
}

/// Frames no rule answers are shown one by one, as they were cut (not joined as recv() pieces
/// are).
#[test]
fn unanswered_frames_stay_apart() {
    let yaml = r#"
timeout: 5s
servers:
  - name: s
    framing: { length: u8 }
    rules:
      - match: "yes"
        reply: { frame: "ok" }
clients:
  - name: c
    connect: s
    steps:
      - send: { hex: "01 61 01 62 03 79 65 73" }
      - expect: { frame: "ok" }
"#;
    // The live view, and the transcript a snapshot keeps.
    for mode in [None, Some("--transcript")] {
        let path = crate::support::temp_file("server_frames.yaml", yaml);
        let mut command = crate::support::netlab();
        command.arg("run").args(mode).arg(&path);
        let (code, stdout, stderr) = crate::support::text(&command.output().unwrap());
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(
            stdout.contains(r#"received "a" → no rule matched"#)
                && stdout.contains(r#"received "b" → no rule matched"#),
            "{mode:?}: {stdout}"
        );
    }
}
