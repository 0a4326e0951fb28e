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
