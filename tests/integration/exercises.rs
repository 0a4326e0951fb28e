//! The shipped exercises graded against the tutorial's server and netlab's own reference and
//! broken solutions in `tests/solutions/`. Every solution writes its process id to
//! NETLAB_TEST_PIDS, so that the test can check that none is left running.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{netlab, python3, root, temp_file, text, tutorial_program};

/// Runs an exercise with `solution`; returns the exit code, stdout and stderr, after checking
/// that every process the solution started is gone.
fn grade(exercise: &str, solution: &Path, extra: &[&str]) -> (i32, String, String) {
    let pids = temp_file("pids", "");
    let output: Output = netlab()
        .args([
            "run",
            "--transcript",
            &format!("scenarios/exercises/{exercise}.yaml"),
        ])
        .arg("--var")
        .arg(format!("solution={}", solution.display()))
        .args(extra)
        .env("NETLAB_TEST_PIDS", &pids)
        .env("TUTORIAL_DELAY", "0.1")
        // The concurrency exercise needs answers as slow as the tutorial's: a second each.
        .env(
            "HELLO_DELAY",
            if exercise == "concurrent_server" {
                "1"
            } else {
                "0.2"
            },
        )
        .output()
        .unwrap();
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} of {} is still running",
            solution.display()
        );
    }
    text(&output)
}

fn solution(path: &str) -> PathBuf {
    root().join("tests/solutions").join(path)
}

#[test]
fn the_tutorials_server_passes_the_hello_exercise() {
    let test = "the_tutorials_server_passes_the_hello_exercise";
    let (Some(_), Some(server)) = (python3(test), tutorial_program(test, "tcp_server.py")) else {
        return;
    };
    let (code, stdout, stderr) = grade("hello_server", &server, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("score 5/5 points"), "{stdout}");
}

#[test]
fn reference_solutions_pass_their_exercises() {
    if python3("reference_solutions_pass_their_exercises").is_none() {
        return;
    }
    for (exercise, path) in [
        ("hello_server", "hello_server/good.py"),
        ("concurrent_server", "hello_server/good.py"),
        ("udp_client_with_retries", "udp_client/good.py"),
        ("http_server", "http_server/good.py"),
        ("tls_hello_server", "tls_hello_server/good.py"),
    ] {
        let (code, stdout, stderr) = grade(exercise, &solution(path), &[]);
        assert_eq!(code, 0, "{exercise} with {path}:\n{stdout}\n{stderr}");
    }
}

#[test]
fn a_wrong_greeting_is_shown_against_the_expected_one() {
    if python3("a_wrong_greeting_is_shown_against_the_expected_one").is_none() {
        return;
    }
    let (code, stdout, _) = grade(
        "hello_server",
        &solution("hello_server/wrong_greeting.py"),
        &[],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ client  expect \"Welcome!\": received something else"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- expected \"Welcome!\"") && stdout.contains("+ received \"Hello!\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: send the greeting \"Welcome!\""),
        "{stdout}"
    );
    assert!(stdout.contains("score 0/5 points"), "{stdout}");
}

#[test]
fn a_server_that_never_answers_times_out_with_a_hint() {
    if python3("a_server_that_never_answers_times_out_with_a_hint").is_none() {
        return;
    }
    let (code, stdout, _) = grade(
        "hello_server",
        &solution("hello_server/never_answers.py"),
        &["--time-scale", "0.2"],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ client  expect \"Hello, Michael!\": nothing matching within 5s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: answer each message <name>"),
        "{stdout}"
    );
    assert!(stdout.contains("score 1/5 points"), "{stdout}");
}

#[test]
fn a_server_that_crashes_on_start_shows_its_error() {
    if python3("a_server_that_crashes_on_start_shows_its_error").is_none() {
        return;
    }
    // The student's program failed, not the environment: exit 1, not 3 (it was 3 before).
    let (code, stdout, stderr) = grade("hello_server", &solution("hello_server/crashes.py"), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout
            .contains("✗ student  the program under test exited (exit code 1) before it was ready"),
        "{stdout}"
    );
    // The command as it was started: placeholders filled in.
    let crashes = solution("hello_server/crashes.py");
    assert!(
        stdout.contains(&format!("command: python3 {} ", crashes.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("AttributeError: 'socket' object has no attribute 'listne'"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL exercise_hello_server")
            && stdout.contains(
                ": the program under test of `student` exited (exit code 1) before it was ready"
            ),
        "{stdout}"
    );
    // The most points are known from the file, also when the program never started.
    assert!(stdout.contains("score 0/5 points"), "{stdout}");
    // The exercise's hint for a program that never gets ready.
    assert!(
        stdout.contains("hint: your program must start without errors"),
        "{stdout}"
    );
}

#[test]
fn a_server_without_threads_keeps_the_second_client_waiting() {
    if python3("a_server_without_threads_keeps_the_second_client_waiting").is_none() {
        return;
    }
    let (code, stdout, _) = grade(
        "concurrent_server",
        &solution("concurrent_server/no_threads.py"),
        &[],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ second  expect \"Welcome!\": nothing matching within 700ms"),
        "{stdout}"
    );
    assert!(
        stdout.contains("serve each connection in its own thread"),
        "{stdout}"
    );
}

#[test]
fn a_udp_client_without_retries_fails_on_the_lost_datagram() {
    if python3("a_udp_client_without_retries_fails_on_the_lost_datagram").is_none() {
        return;
    }
    let (code, stdout, _) = grade(
        "udp_client_with_retries",
        &solution("udp_client/no_retry.py"),
        &[],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("received \"ping\" → rules[0], lost (lose_first)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✗ student  expect_exit 0: exit code 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("stderr: TimeoutError") || stdout.contains("stderr: socket.timeout"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: the first datagram is lost on purpose"),
        "{stdout}"
    );
    // The server counted one datagram: no retry.
    assert!(
        stdout.contains("✗ lossy  expect_messages at least 2, at most 5: 1 datagram"),
        "{stdout}"
    );
    assert!(stdout.contains("score 0/3 points"), "{stdout}");
}

/// Running an exercise without its solution is one mistake, said once: `solution` has no value
/// (it also gave a false "unknown placeholder" on `{solution}`).
#[test]
fn an_exercise_without_a_solution_says_how_to_give_one() {
    let (code, _, stderr) = text(
        &netlab()
            .args(["run", "scenarios/exercises/hello_server.yaml"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("`solution` has no value"), "{stderr}");
    assert!(stderr.contains("--var solution=VALUE"), "{stderr}");
    assert!(
        stderr.contains("--> scenarios/exercises/hello_server.yaml:15:3"),
        "{stderr}"
    );
    assert!(stderr.contains("field: vars.solution"), "{stderr}");
    assert!(stderr.contains("1 problem found"), "{stderr}");
    assert!(!stderr.contains("placeholder"), "{stderr}");
}

/// A teacher checks an exercise before any solution exists: unset vars are not a mistake to
/// `check`, which runs nothing.
#[test]
fn check_accepts_an_exercise_whose_vars_are_unset() {
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["check", "scenarios/exercises/hello_server.yaml"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok exercise_hello_server"), "{stdout}");
}

#[test]
fn the_json_report_has_per_step_results() {
    if python3("the_json_report_has_per_step_results").is_none() {
        return;
    }
    let output = netlab()
        .args([
            "test",
            "scenarios/exercises",
            "--filter",
            "hello_server",
            "--format",
            "json",
            "--time-scale",
            "0.2",
        ])
        .arg("--var")
        .arg(format!(
            "solution={}",
            solution("hello_server/wrong_greeting.py").display()
        ))
        .env("CI", "true")
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let steps = line["step_results"].as_array().unwrap();
    assert_eq!(steps.len(), 9);
    assert_eq!(steps[0]["result"], "failed");
    assert_eq!(steps[0]["action"], "expect \"Welcome!\"");
    assert!(
        steps[0]["detail"]
            .as_str()
            .unwrap()
            .contains("+ received \"Hello!\"")
    );
    assert_eq!(steps[1]["result"], "not_run");
    assert_eq!(line["steps"]["not_run"], 8);
}

/// A program that ignores SIGTERM is killed after the grace period; its output, asked for with
/// `capture_output`, is in the transcript.
#[test]
fn a_program_that_ignores_sigterm_is_killed_and_its_output_kept() {
    if python3("a_program_that_ignores_sigterm_is_killed_and_its_output_kept").is_none() {
        return;
    }
    let pids = temp_file("pids", "");
    let output = netlab()
        .args([
            "run",
            "--transcript",
            "tests/fixtures/stubborn_program.yaml",
        ])
        .env("NETLAB_TEST_PIDS", &pids)
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let pid = std::fs::read_to_string(&pids).unwrap();
    assert!(!pid.trim().is_empty());
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the program is still running"
    );
    assert!(stdout.contains("stubborn  stdout: serving"), "{stdout}");
    assert!(
        stdout.contains("stubborn  stdout: ignoring SIGTERM"),
        "{stdout}"
    );
}

#[test]
fn a_content_length_that_promises_more_than_the_body_fails_where_it_is_read() {
    if python3("a_content_length_that_promises_more_than_the_body_fails_where_it_is_read").is_none()
    {
        return;
    }
    let (code, stdout, _) = grade(
        "http_server",
        &solution("http_server/length_counts_the_blank_line.py"),
        &[],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "the Content-Length says 50 bytes, and the connection closed after 48 bytes of body"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: answer \"HTTP/1.0 200 OK\""),
        "{stdout}"
    );
    assert!(stdout.contains("score 0/4 points"), "{stdout}");
}

/// A server that accepts and never answers earns nothing on any server exercise: connecting,
/// sending and waiting are not what is graded. (It scored 8/14 and 11/39 when every step
/// counted.) The most points are the file's, whatever the program did.
#[test]
fn a_silent_server_scores_zero_on_every_server_exercise() {
    if python3("a_silent_server_scores_zero_on_every_server_exercise").is_none() {
        return;
    }
    for (exercise, max) in [
        ("hello_server", 5),
        ("concurrent_server", 6),
        ("http_server", 4),
    ] {
        let (code, stdout, _) = grade(
            exercise,
            &solution("any/silent_server.py"),
            &["--time-scale", "0.2"],
        );
        assert_eq!(code, 1, "{exercise}: {stdout}");
        assert!(
            stdout.contains(&format!("score 0/{max} points")),
            "{exercise}: {stdout}"
        );
    }
}

/// A TLS exercise's server that forgot to wrap its socket is told so at its client's connect:
/// it answered in plain text, named by its first byte.
#[test]
fn a_tls_server_that_answers_in_plain_text_is_told_so() {
    if python3("a_tls_server_that_answers_in_plain_text_is_told_so").is_none() {
        return;
    }
    let (code, stdout, stderr) = grade("tls_hello_server", &solution("hello_server/good.py"), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("TLS failed: handshake_failure (the peer does not speak TLS: its first byte, 'W' (0x57), cannot begin a TLS record (plain text?))"),
        "{stdout}"
    );
}
