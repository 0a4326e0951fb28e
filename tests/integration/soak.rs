use std::time::Instant;

use crate::support::{run, text};

/// 200 clients at once against a threaded server all pass.
#[test]
fn two_hundred_concurrent_clients_all_pass() {
    let started = Instant::now();
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "--transcript",
        "tests/fixtures/crowd_200.yaml",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("\n  passed\n").count(), 200, "{stdout}");
    assert!(started.elapsed().as_secs() < 60);
}

/// A sequential server with backlog 1 and 20 clients: each client is served or says plainly why
/// not (its connect timed out or was refused); none is left unexplained.
#[test]
fn a_narrow_backlog_serves_all_or_says_who_could_not_connect() {
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "--transcript",
        "tests/fixtures/backlog_1_sequential.yaml",
    ]));
    assert!(matches!(code, 0 | 1 | 3), "{stdout}\n{stderr}");
    let sections: Vec<&str> = stdout
        .split("\n\n")
        .filter(|s| s.starts_with("crowd#"))
        .collect();
    assert_eq!(sections.len(), 20, "{stdout}");
    for section in sections {
        let last = section.lines().last().unwrap_or("").trim();
        let explained = last == "passed"
            || (last == "FAILED to connect"
                && (section.contains("timed out") || section.contains("refused")))
            || (last.starts_with("FAILED at") && section.contains("nothing matching within"));
        assert!(explained, "an unexplained end:\n{section}");
    }
}
