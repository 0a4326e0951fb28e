use netlab::scenario::load_file;

use crate::support::{run, run_in_process, stable_settings, text};

/// Every scenario shipped in `scenarios/` passes, and its transcript is the one stored in
/// `scenarios/snapshots/<name>.snap`: the same files `netlab test` reads and writes, so that a
/// changed transcript can be reviewed with `cargo insta review` or `netlab test --update`. Run at
/// a tenth of declared time: the transcript keeps the declared delays, so it must not change.
#[test]
fn shipped_scenarios_pass_with_their_transcript() {
    insta::glob!("../../scenarios", "*.yaml", |path| {
        let (passed, transcript) = run_in_process(load_file(path).unwrap(), 0.1);
        assert!(passed, "{}:\n{transcript}", path.display());
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../../scenarios/snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.remove_snapshot_suffix();
        settings.set_omit_expression(true);
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        settings.bind(|| insta::assert_snapshot!(stem, transcript));
    });
}

/// The time scale changes how long a run takes, never its transcript.
#[test]
fn transcript_does_not_depend_on_the_time_scale() {
    let file = "scenarios/tcp_hello.yaml";
    let (_, fast, _) = text(&run(&["run", "--transcript", "--time-scale", "0.01", file]));
    let (_, slower, _) = text(&run(&["run", "--transcript", "--time-scale", "0.05", file]));
    let cut = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("PASS"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(cut(&fast), cut(&slower));
}

/// Every step, matcher, payload form and server option, in one passing scenario.
#[test]
fn every_step_matcher_and_payload_works() {
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "--transcript",
        "tests/fixtures/every_step.yaml",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    stable_settings().bind(|| insta::assert_snapshot!(stdout));
}

/// Every way a step can fail, each shown with what was expected and what came instead.
#[test]
fn every_failure_is_shown_with_what_came_instead() {
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "--transcript",
        "tests/fixtures/every_failure.yaml",
    ]));
    // One client finds nobody listening: that is the environment's refusal (3).
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("a client could not connect: connection refused"),
        "{stderr}"
    );
    stable_settings().bind(|| insta::assert_snapshot!(stdout));
}

/// The tutorial's point about threads, in the transcript: the sequential server's second client
/// hears nothing until the first has gone, the threaded server's is greeted at once.
#[test]
fn sequential_server_makes_the_second_client_wait() {
    let (code, stdout, _) = text(&run(&[
        "run",
        "--transcript",
        "--time-scale",
        "0.1",
        "scenarios/tcp_sequential.yaml",
    ]));
    assert_eq!(code, 0, "{stdout}");
    let section = |heading: &str| -> Vec<String> {
        stdout
            .split("\n\n")
            .find(|s| s.starts_with(heading))
            .unwrap_or_else(|| panic!("no section {heading} in\n{stdout}"))
            .lines()
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .collect()
    };
    let position =
        |lines: &[String], needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    let waiting = section("sequential_second → sequential");
    assert!(
        position(&waiting, "expect_nothing 500ms") < position(&waiting, "accepted the connection")
    );
    let greeted = section("threaded_second → threaded");
    assert_eq!(
        position(&greeted, "accepted the connection"),
        position(&greeted, "connect threaded") + 1
    );
}
