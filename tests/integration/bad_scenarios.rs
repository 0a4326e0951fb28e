use crate::support::{run, stable_settings, text};

/// Each file in `tests/bad_scenarios/` holds one mistake. `netlab check` must refuse it with
/// exit code 2 and one clear message that names the file (with line and column wherever the
/// mistake has a place in the file) and the field; never a panic. The messages are snapshotted.
#[test]
fn every_broken_file_is_refused_with_a_located_message() {
    insta::glob!("../bad_scenarios", "*.yaml", |path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        let file = format!("tests/bad_scenarios/{name}");
        let (code, stdout, stderr) = text(&run(&["check", &file]));
        assert_eq!(code, 2, "{file}: exit code {code}\n{stderr}");
        assert!(stdout.is_empty(), "{file}: nothing on stdout, got {stdout}");
        assert!(!stderr.contains("panicked"), "{file} panicked:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{file}:\n{stderr}");
        assert!(
            stderr.contains(&format!("--> {file}")),
            "{file} not named:\n{stderr}"
        );
        let whole_file = ["empty_file.yaml", "no_servers_no_clients.yaml"];
        if !whole_file.contains(&name) {
            assert!(
                stderr.contains(&format!("--> {file}:")),
                "{file}: no line:col\n{stderr}"
            );
            assert!(stderr.contains("^"), "{file}: no caret\n{stderr}");
        }
        stable_settings().bind(|| insta::assert_snapshot!(stderr));
    });
}

/// `run` refuses a broken file the same way, before opening any socket.
#[test]
fn run_refuses_a_broken_file_before_running_anything() {
    let (code, stdout, stderr) = text(&run(&[
        "run",
        "scenarios/tcp_hello.yaml",
        "tests/bad_scenarios/unknown_server_in_connect.yaml",
    ]));
    assert_eq!(code, 2);
    assert!(
        stdout.is_empty(),
        "the valid file must not run either: {stdout}"
    );
    assert!(stderr.contains("did you mean `hello`?"), "{stderr}");
}

/// Every problem of a file is reported, not just the first.
#[test]
fn all_semantic_problems_are_reported_at_once() {
    let file = crate::support::temp_file(
        "many.yaml",
        "servers:\n  - name: hello\n    backlog: 0\nclients:\n  - connect: helo\n    count: 0\n",
    );
    let (code, _, stderr) = text(&run(&["check", file.to_str().unwrap()]));
    assert_eq!(code, 2);
    assert!(stderr.contains("3 problems found"), "{stderr}");
    assert!(stderr.contains(":3:14"), "{stderr}");
    assert!(stderr.contains(":5:14"), "{stderr}");
    assert!(stderr.contains(":6:12"), "{stderr}");
}
