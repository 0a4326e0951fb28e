use std::path::{Path, PathBuf};

use crate::support::{junit_schema, netlab, root, text, xmllint_errors};

/// A fresh directory holding a copy of shipped scenarios (and their snapshots).
fn suite_copy(names: &[&str]) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("netlab-suite-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    for name in names {
        let from = root().join("scenarios");
        std::fs::copy(
            from.join(format!("{name}.yaml")),
            dir.join(format!("{name}.yaml")),
        )
        .unwrap();
        std::fs::copy(
            from.join("snapshots").join(format!("{name}.snap")),
            dir.join("snapshots").join(format!("{name}.snap")),
        )
        .unwrap();
    }
    dir
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `netlab test ARGS` with CI unset (so that snapshots may be written) unless `ci`.
fn netlab_test(args: &[&str], ci: bool) -> (i32, String, String) {
    let mut command = netlab();
    command.arg("test").args(args);
    if !args.contains(&"--time-scale") {
        command.args(["--time-scale", "0.01"]);
    }
    if ci {
        command.env("CI", "true");
    } else {
        command.env_remove("CI").env_remove("TF_BUILD");
    }
    text(&command.output().unwrap())
}

/// Makes the tutorial's server say "Hi" instead of "Hello", and its client expect that: the
/// scenario still passes, but its transcript is no longer the stored one.
fn edit_reply(dir: &Path) {
    let file = dir.join("tcp_hello.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text
        .replace("reply: \"Hello, {data}!\"", "reply: \"Hi, {data}!\"")
        .replace("expect: \"Hello, ", "expect: \"Hi, ");
    assert_ne!(text, edited);
    std::fs::write(file, edited).unwrap();
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_shipped_suite_passes() {
    // tcp_sequential is about who waits for whom: it keeps wider margins at a tenth of its time.
    let (code, stdout, stderr) = netlab_test(&["scenarios", "--time-scale", "0.1"], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let count = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(
        stdout.contains(&format!("{count} passed, 0 failed")),
        "{stdout}"
    );
}

#[test]
fn an_edited_reply_fails_with_a_diff_then_update_fixes_it() {
    let dir = suite_copy(&["tcp_hello"]);
    edit_reply(&dir);
    let d = dir.to_str().unwrap();
    let snap = dir.join("snapshots/tcp_hello.snap");
    let before = read(snap.clone());

    let (code, stdout, _) = netlab_test(&[d], false);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("FAIL tcp_hello"), "{stdout}");
    assert!(
        stdout.contains("the transcript differs from its snapshot"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-  ✓ client  expect \"Hello, Michael!\""),
        "the diff names the step: {stdout}"
    );
    assert!(
        stdout.contains("+  ✓ client  expect \"Hi, Michael!\""),
        "{stdout}"
    );
    assert!(stdout.contains("reply \"Hi, Michael!\""), "{stdout}");
    assert_eq!(
        read(snap.clone()),
        before,
        "without --update the snapshot stays"
    );
    assert!(
        read(dir.join("snapshots/tcp_hello.snap.new")).contains("Hi, Sarah!"),
        "a .snap.new is left for review"
    );

    let (code, stdout, _) = netlab_test(&[d, "--update"], false);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(&format!("updated {}", snap.display())),
        "{stdout}"
    );
    assert!(read(snap.clone()).contains("reply \"Hi, Michael!\""));
    assert!(!dir.join("snapshots/tcp_hello.snap.new").exists());

    let (code, stdout, _) = netlab_test(&[d], false);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn under_ci_nothing_is_ever_written() {
    let dir = suite_copy(&["tcp_hello", "udp_hello"]);
    edit_reply(&dir);
    std::fs::remove_file(dir.join("snapshots/udp_hello.snap")).unwrap();
    let snap = dir.join("snapshots/tcp_hello.snap");
    let before = read(snap.clone());
    let (code, stdout, _) = netlab_test(&[dir.to_str().unwrap(), "--update"], true);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("CI is set: no snapshot written"),
        "{stdout}"
    );
    assert_eq!(read(snap), before);
    let files: Vec<_> = std::fs::read_dir(dir.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        files,
        vec![std::ffi::OsString::from("tcp_hello.snap")],
        "nothing new under CI"
    );
}

#[test]
fn a_missing_snapshot_fails() {
    let dir = suite_copy(&["udp_hello"]);
    std::fs::remove_file(dir.join("snapshots/udp_hello.snap")).unwrap();
    let (code, stdout, _) = netlab_test(&[dir.to_str().unwrap()], false);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL udp_hello") && stdout.contains("no snapshot stored yet"),
        "{stdout}"
    );
    assert!(dir.join("snapshots/udp_hello.snap.new").exists());
    let (code, stdout, _) = netlab_test(&[dir.to_str().unwrap(), "--update"], false);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("created"), "{stdout}");
}

#[test]
fn junit_report_parses_with_the_right_counts() {
    let dir = suite_copy(&["tcp_hello", "udp_hello", "binary_length_prefixed"]);
    edit_reply(&dir);
    let report = dir.join("report.xml");
    let (code, stdout, _) = netlab_test(
        &[dir.to_str().unwrap(), "--junit", report.to_str().unwrap()],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    let xml = read(report);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute("name"), Some("tcp_hello"));
    let failure = failed[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("snapshot_differs"));
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .starts_with("the transcript differs from its snapshot: expected ")
    );
    assert!(
        failure
            .text()
            .unwrap_or("")
            .contains("+  ✓ client  expect \"Hi, Michael!\"")
    );
}

#[test]
fn json_lines_parse_one_per_scenario() {
    let dir = suite_copy(&["tcp_hello", "udp_hello"]);
    edit_reply(&dir);
    let (code, stdout, _) = netlab_test(&[dir.to_str().unwrap(), "--format", "json"], true);
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["schema_version"], 1);
    assert_eq!(lines[0]["name"], "tcp_hello");
    assert_eq!(lines[0]["verdict"], "snapshot_differs");
    assert_eq!(lines[0]["scenario"], "passed");
    assert_eq!(lines[0]["steps"]["passed"], 9);
    assert!(
        lines[0]["failure"]
            .as_str()
            .unwrap()
            .contains("Hi, Michael!")
    );
    assert_eq!(lines[1]["name"], "udp_hello");
    assert_eq!(lines[1]["verdict"], "passed");
    assert!(lines[1]["failure"].is_null());
    assert!(lines[1]["duration_ms"].is_u64());
}

#[test]
fn filter_and_list_select_scenarios() {
    let (code, stdout, _) = netlab_test(&["scenarios", "--filter", "tcp_hello", "--list"], true);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "tcp_hello\tscenarios/tcp_hello.yaml\ntcp_hello_ipv6\tscenarios/tcp_hello_ipv6.yaml\n"
    );
    let (code, _, stderr) = netlab_test(&["scenarios", "--filter", "no_such_thing"], true);
    assert_eq!(code, 4, "{stderr}");
    let empty = std::env::temp_dir().join(format!("netlab-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, stderr) = netlab_test(&[empty.to_str().unwrap()], true);
    assert_eq!(code, 4, "{stderr}");
    let (code, _, _) = netlab_test(&["tests/bad_scenarios/backlog_zero.yaml"], true);
    assert_eq!(code, 2);
    let (code, _, _) = netlab_test(&["no/such/dir"], true);
    assert_eq!(code, 2);
}

#[test]
fn quiet_and_verbose_suites() {
    let (code, quiet, _) = netlab_test(&["scenarios", "--filter", "udp", "-q"], true);
    assert_eq!(code, 0);
    assert!(!quiet.contains("PASS"), "{quiet}");
    assert!(quiet.contains("2 passed, 0 failed"), "{quiet}");
    let (_, verbose, _) = netlab_test(&["scenarios", "--filter", "udp_hello", "-v"], true);
    assert!(
        verbose.contains("scenario udp_hello") && verbose.contains("verdict: passed"),
        "{verbose}"
    );
}

#[test]
fn the_shards_of_a_partition_run_every_scenario_exactly_once() {
    let scenarios = root().join("scenarios");
    let dir = scenarios.to_str().unwrap();
    let listed = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--list", dir];
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = netlab_test(&args, true);
        assert_eq!(code, 0, "{stderr}");
        stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect()
    };
    let mut everything = listed(&[]);
    everything.sort();
    assert!(everything.len() >= 6, "{everything:?}");
    for kind in ["count", "hash"] {
        for total in 1..=4 {
            let mut union = Vec::new();
            for shard in 1..=total {
                let partition = format!("{kind}:{shard}/{total}");
                let this = listed(&["--partition", &partition]);
                if kind == "count" {
                    // By position: shards differ in size by one at most.
                    let expected = everything.len().div_ceil(total).max(this.len());
                    assert!(this.len() + 1 >= expected, "{partition}: {this:?}");
                }
                union.extend(this);
            }
            union.sort();
            assert_eq!(union, everything, "{kind} over {total} shards");
        }
    }
    // A shard runs what it lists, and only that (its JSON lines name them).
    let shard = listed(&["--partition", "count:2/3"]);
    let (code, stdout, stderr) =
        netlab_test(&[dir, "--partition", "count:2/3", "--format", "json"], true);
    // Which ran is what matters here, not their verdicts (load.yaml at the helper's 0.01 time
    // scale may miss its deadline in a debug build on a busy machine).
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    let mut ran: Vec<String> = stdout
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["name"].as_str().unwrap().to_string()
        })
        .collect();
    ran.sort();
    let mut shard_sorted = shard.clone();
    shard_sorted.sort();
    assert_eq!(ran, shard_sorted);
    // A partition that is not one is refused, saying how to write one.
    let (code, _, stderr) = netlab_test(&["--list", dir, "--partition", "count:4/3"], true);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("count:K/N or hash:K/N"), "{stderr}");
}

/// A scenario whose client program fails the first time it runs in `dir` and passes after.
fn flaky_scenario(dir: &std::path::Path, retries: &str) -> PathBuf {
    let path = dir.join("flaky.yaml");
    std::fs::write(
        &path,
        format!(
            "{retries}servers:\n  - name: s\nclients:\n  - name: p\n    connect: s\n    exec: [\"sh\", \"-c\", \"if [ -e ran_once ]; then exit 0; else touch ran_once; exit 1; fi\"]\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn junit_is_valid_for_jenkins_with_every_kind_of_case_and_says_what_differs() {
    let Some(schema) = junit_schema("junit_is_valid_for_jenkins") else {
        return;
    };
    // A pass, a snapshot that differs, a step that fails, a flaky one, in a folder with a dot.
    let dir = suite_copy(&["tcp_hello", "udp_hello"]);
    let dotted = dir.join("v1.2");
    std::fs::create_dir_all(&dotted).unwrap();
    edit_reply(&dir);
    std::fs::write(
        dotted.join("wrong.yaml"),
        "servers:\n  - name: s\n    greeting: \"hi\\n\"\nclients:\n  - connect: s\n    steps:\n      - expect: \"ho\\n\"\n",
    )
    .unwrap();
    let flaky = flaky_scenario(&dir, "retries: 1\n");
    let (code, stdout, _) = netlab_test(&[flaky.to_str().unwrap(), "--update"], false);
    assert_eq!(code, 0, "{stdout}");
    std::fs::remove_file(dir.join("ran_once")).unwrap();
    let report = dir.join("report.xml");
    let pattern = format!("{}/**/*.yaml", dir.display());
    let (code, stdout, _) = netlab_test(&[&pattern, "--junit", report.to_str().unwrap()], true);
    assert_eq!(code, 1, "{stdout}");
    if let Some(errors) = xmllint_errors(&schema, &report) {
        panic!("{errors}\n{}", read(&report));
    }
    let xml = read(&report);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 4, "{xml}");
    let case_of = |name: &str| {
        document
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no case {name}: {xml}"))
    };
    let failure_message = |name: &str| {
        case_of(name)
            .children()
            .find(|n| n.has_tag_name("failure"))
            .and_then(|n| n.attribute("message"))
            .unwrap_or_else(|| panic!("no failure for {name}: {xml}"))
            .to_string()
    };
    // The first line that differs, not a diff header.
    let differs = failure_message("tcp_hello");
    assert!(
        differs.starts_with("the transcript differs from its snapshot: expected ")
            && differs.contains("Hello")
            && differs.contains("Hi"),
        "{differs}"
    );
    let wrong = failure_message("wrong");
    assert!(
        wrong.contains(r#"(expected "ho\n", received "hi\n")"#),
        "{wrong}"
    );
    // Class names Jenkins does not split: no dot, no extension; the file on the suite.
    let classname = case_of("wrong").attribute("classname").unwrap();
    assert!(
        classname.ends_with("/v1_2/wrong") && !classname.contains('.'),
        "{classname}"
    );
    let wrong_suite = case_of("wrong").parent().unwrap();
    assert!(
        wrong_suite
            .attribute("file")
            .is_some_and(|f| f.ends_with("v1.2/wrong.yaml")),
        "{xml}"
    );
    assert!(
        case_of("flaky")
            .children()
            .any(|n| n.has_tag_name("flakyFailure")),
        "{xml}"
    );
    // Skipped cases (after the first failure, one at a time) are valid too.
    let (code, stdout, _) = netlab_test(
        &[
            &pattern,
            "--junit",
            report.to_str().unwrap(),
            "--max-fail",
            "1",
            "-j",
            "1",
        ],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    let xml = read(&report);
    assert!(xml.contains("<skipped"), "{xml}");
    if let Some(errors) = xmllint_errors(&schema, &report) {
        panic!("{errors}\n{xml}");
    }
}

#[test]
fn a_scenario_that_passes_on_a_retry_is_flaky_in_text_json_and_junit() {
    let dir =
        std::env::temp_dir().join(format!("netlab-flaky-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = flaky_scenario(&dir, "retries: 2\n");
    let file = path.to_str().unwrap();
    // The snapshot of a pass (the second run passes: the marker is there).
    let (code, stdout, _) = netlab_test(&[file, "--update"], false);
    assert_eq!(code, 0, "{stdout}");
    std::fs::remove_file(dir.join("ran_once")).unwrap();
    let report = dir.join("junit.xml");
    let (code, stdout, stderr) = netlab_test(&[file, "--junit", report.to_str().unwrap()], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("FLAKY flaky") && stdout.contains("passed on attempt 2 of 3"),
        "{stdout}"
    );
    assert!(stdout.contains("(1 flaky: passed on a retry)"), "{stdout}");
    let xml = read(report);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let flaky: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("flakyFailure"))
        .collect();
    assert_eq!(flaky.len(), 1, "{xml}");
    assert!(
        !document.descendants().any(|n| n.has_tag_name("failure")),
        "{xml}"
    );
    // JSON says how many attempts it took and why the first failed.
    std::fs::remove_file(dir.join("ran_once")).unwrap();
    let (code, stdout, _) = netlab_test(&[file, "--format", "json"], true);
    assert_eq!(code, 0, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["attempts"], 2);
    assert_eq!(line["flaky"], true);
    assert!(
        line["earlier_failures"][0]
            .as_str()
            .unwrap()
            .contains("exit code 1"),
        "{line}"
    );
    // Under -q, which scenario was flaky is still said.
    std::fs::remove_file(dir.join("ran_once")).unwrap();
    let (code, stdout, _) = netlab_test(&[file, "-q"], true);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("FLAKY flaky"), "{stdout}");
    // `--retries 0` overrides the file: the first failure stands.
    std::fs::remove_file(dir.join("ran_once")).unwrap();
    let (code, stdout, _) = netlab_test(&[file, "--retries", "0"], true);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn a_scenario_that_fails_every_retry_fails_with_each_attempt_in_junit() {
    let dir =
        std::env::temp_dir().join(format!("netlab-rerun-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("always.yaml");
    std::fs::write(
        &path,
        "servers:\n  - name: s\nclients:\n  - name: p\n    connect: s\n    exec: [\"sh\", \"-c\", \"exit 3\"]\n",
    )
    .unwrap();
    let report = dir.join("junit.xml");
    let (code, stdout, _) = netlab_test(
        &[
            path.to_str().unwrap(),
            "--retries",
            "2",
            "--junit",
            report.to_str().unwrap(),
        ],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    let xml = read(report);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let count = |tag: &str| {
        document
            .descendants()
            .filter(|n| n.has_tag_name(tag))
            .count()
    };
    assert_eq!((count("failure"), count("rerunFailure")), (1, 2), "{xml}");
}

#[test]
fn fail_fast_and_max_fail_stop_starting_scenarios_and_say_which_were_skipped() {
    let dir = std::env::temp_dir().join(format!(
        "netlab-failfast-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a1", "a2", "a3", "a4"] {
        std::fs::write(
            dir.join(format!("{name}.yaml")),
            "servers:\n  - name: s\nclients:\n  - name: p\n    connect: s\n    exec: [\"sh\", \"-c\", \"exit 3\"]\n",
        )
        .unwrap();
    }
    let suite = dir.to_str().unwrap();
    let verdicts = |extra: &[&str]| -> (i32, Vec<String>) {
        let mut args = vec![suite, "-j", "1", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, stdout, _) = netlab_test(&args, true);
        let words = stdout
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["verdict"].as_str().unwrap().to_string()
            })
            .collect();
        (code, words)
    };
    let (code, words) = verdicts(&["--fail-fast"]);
    assert_eq!(code, 1);
    assert_eq!(words, ["failed", "skipped", "skipped", "skipped"]);
    let (code, words) = verdicts(&["--max-fail", "2"]);
    assert_eq!(code, 1);
    assert_eq!(words, ["failed", "failed", "skipped", "skipped"]);
    // The last of the three flags given wins, as with nextest.
    let (_, words) = verdicts(&["--fail-fast", "--no-fail-fast"]);
    assert_eq!(words, ["failed"; 4]);
    // The text says how many were skipped and why; JUnit marks them skipped.
    let report = dir.join("junit.xml");
    let (code, stdout, _) = netlab_test(
        &[
            suite,
            "-j",
            "1",
            "--fail-fast",
            "--junit",
            report.to_str().unwrap(),
        ],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout.matches("SKIP a").count(), 3, "{stdout}");
    assert!(
        stdout.contains("0 passed, 1 failed, 3 skipped (enough had failed)"),
        "{stdout}"
    );
    let xml = read(report);
    assert_eq!(xml.matches("<skipped").count(), 3, "{xml}");
}

#[test]
fn patterns_find_scenarios_at_any_depth() {
    let dir = suite_copy(&["tcp_hello"]);
    let deeper = dir.join("more").join("udp");
    std::fs::create_dir_all(&deeper).unwrap();
    std::fs::copy(
        root().join("scenarios").join("udp_hello.yaml"),
        deeper.join("udp_hello.yaml"),
    )
    .unwrap();
    let pattern = format!("{}/**/*.yaml", dir.display());
    let (code, stdout, stderr) = netlab_test(&["--list", &pattern], true);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["tcp_hello", "udp_hello"], "{stdout}");
    // A directory argument takes its own files only, as before.
    let (_, stdout, _) = netlab_test(&["--list", dir.to_str().unwrap()], true);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let (code, _, stderr) = netlab_test(&["--list", &format!("{}/[", dir.display())], true);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a pattern"), "{stderr}");
}

#[test]
fn unreferenced_snapshots_are_named_rejected_or_deleted() {
    let dir = suite_copy(&["tcp_hello"]);
    let orphan = dir.join("snapshots").join("renamed_away.snap");
    std::fs::write(&orphan, "---\nsource: gone.yaml\n---\nscenario gone\n").unwrap();
    let suite = dir.to_str().unwrap();
    // By default: named, and the run still passes.
    let (code, stdout, stderr) = netlab_test(&[suite], true);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("unreferenced snapshot") && stderr.contains("renamed_away.snap"),
        "{stderr}"
    );
    // A scenario file of the folder that does not run (filtered out) still owns its snapshot; a
    // file named alone is not a folder's suite: nothing is looked for.
    std::fs::copy(
        root().join("scenarios").join("udp_hello.yaml"),
        dir.join("udp_hello.yaml"),
    )
    .unwrap();
    std::fs::write(dir.join("snapshots").join("udp_hello.snap"), "kept").unwrap();
    let (_, _, stderr) = netlab_test(&[suite, "--filter", "tcp"], true);
    assert!(!stderr.contains("udp_hello.snap"), "{stderr}");
    let tcp = dir.join("tcp_hello.yaml");
    let (_, _, stderr) = netlab_test(&[tcp.to_str().unwrap()], true);
    assert!(!stderr.contains("unreferenced"), "{stderr}");
    // The same folder named two ways runs each scenario once.
    let (_, stdout, _) = netlab_test(&["--list", suite, &format!("{suite}/./")], true);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    // reject fails the run; delete removes it, but never under CI.
    let (code, _, stderr) = netlab_test(
        &[suite, "--filter", "tcp", "--unreferenced", "reject"],
        true,
    );
    assert_eq!(code, 1, "{stderr}");
    let (_, _, _) = netlab_test(
        &[suite, "--filter", "tcp", "--unreferenced", "delete"],
        true,
    );
    assert!(orphan.exists(), "deleted under CI");
    let (code, _, stderr) = netlab_test(
        &[suite, "--filter", "tcp", "--unreferenced", "delete"],
        false,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!orphan.exists(), "{stderr}");
    assert!(dir.join("snapshots").join("tcp_hello.snap").exists());
    assert!(dir.join("snapshots").join("udp_hello.snap").exists());
}

#[test]
fn update_with_fail_fast_stores_every_new_snapshot() {
    // Before: a missing snapshot counted as a failure before --update stored it: the rest of the
    // suite was skipped and the run exited 0 with one snapshot written of three.
    let dir = std::env::temp_dir().join(format!("netlab-upd-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a", "b", "c"] {
        std::fs::write(
            dir.join(format!("{name}.yaml")),
            "servers:\n  - name: s\n    greeting: \"hi\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - expect: \"hi\"\n",
        )
        .unwrap();
    }
    let suite = dir.to_str().unwrap();
    let (code, stdout, _) = netlab_test(&[suite, "--update", "--fail-fast", "-j", "1"], false);
    assert_eq!(code, 0, "{stdout}");
    for name in ["a", "b", "c"] {
        assert!(
            dir.join("snapshots").join(format!("{name}.snap")).exists(),
            "{stdout}"
        );
    }
    // And a changed snapshot under --update is stored, not retried as if it were flaky.
    std::fs::write(
        dir.join("snapshots").join("a.snap"),
        "---\nsource: a.yaml\n---\nold\n",
    )
    .unwrap();
    let (code, stdout, _) = netlab_test(
        &[suite, "--update", "--retries", "2", "--format", "json"],
        false,
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("\"flaky\":true"), "{stdout}");
}

#[test]
fn a_slow_scenario_is_said_slow_each_period_it_runs_on() {
    let dir = std::env::temp_dir().join(format!("netlab-slow-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slow.yaml");
    std::fs::write(
        &path,
        "servers:\n  - name: s\nclients:\n  - name: c\n    connect: s\n    steps:\n      - sleep: 1200ms\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    let args = |slow: &'static str| vec![file, "--time-scale", "1", "--slow-timeout", slow];
    let (_, stdout, _) = netlab_test(&args("500ms"), true);
    assert!(stdout.contains("SLOW [> 500ms] slow"), "{stdout}");
    assert!(stdout.contains("SLOW [> 1s] slow"), "{stdout}");
    assert!(!stdout.contains("SLOW [> 1s 500ms]"), "{stdout}");
    let (_, stdout, _) = netlab_test(&args("0s"), true);
    assert!(!stdout.contains("SLOW"), "{stdout}");
    let (code, _, stderr) = netlab_test(&args("soon"), true);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn under_github_actions_a_failure_is_annotated_at_its_step_and_summarised() {
    let dir = suite_copy(&["udp_hello"]);
    let wrong = dir.join("wrong.yaml");
    std::fs::write(
        &wrong,
        "# line 1\nservers:\n  - name: s\n    greeting: \"hi\\n\"\nclients:\n  - connect: s\n    steps:\n      - expect: \"hi\\n\"\n      - send: \"x\"\n      - expect: \"ho, 100%\"\n",
    )
    .unwrap();
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = netlab()
        .args(["test", "--time-scale", "0.01"])
        .arg(&dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("CI", "true")
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout}");
    let expected_start = format!(
        "::error file={},line=10,title=wrong%3A client%3A expect \"ho%2C 100%25\"%3A",
        wrong.display()
    );
    assert!(
        annotations[0].starts_with(&expected_start),
        "{}\nnot {expected_start}",
        annotations[0]
    );
    // Appended, not overwritten.
    let summary = read(&summary);
    assert!(
        summary.starts_with("earlier step\n### netlab test: 1 passed, 1 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("| wrong | `") && summary.contains("| failed |"),
        "{summary}"
    );
    // Beside JSON lines, the annotations go to stderr.
    let output = netlab()
        .args(["test", "--time-scale", "0.01", "--format", "json"])
        .arg(&dir)
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        .output()
        .unwrap();
    let (_, stdout, stderr) = text(&output);
    assert!(stdout.lines().all(|l| l.starts_with('{')), "{stdout}");
    assert!(stderr.contains("::error file="), "{stderr}");
}

/// Runs `netlab review ARGS` with `answers` on stdin, in or out of CI.
fn review(args: &[&str], answers: &str, ci: bool) -> (i32, String, String) {
    use std::io::Write;
    let mut command = netlab();
    command
        .arg("review")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if ci {
        command.env("CI", "true");
    } else {
        command.env_remove("CI").env_remove("TF_BUILD");
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    text(&child.wait_with_output().unwrap())
}

#[test]
fn review_shows_each_pending_snapshot_and_accepts_rejects_or_skips_it() {
    let dir = suite_copy(&["tcp_hello", "udp_hello"]);
    edit_reply(&dir);
    let fresh = dir.join("fresh.yaml");
    std::fs::copy(dir.join("udp_hello.yaml"), &fresh).unwrap();
    let (code, stdout, _) = netlab_test(&[dir.to_str().unwrap()], false);
    assert_eq!(code, 1, "{stdout}");
    let snaps = dir.join("snapshots");
    let pending = |name: &str| snaps.join(format!("{name}.snap.new"));
    assert!(pending("tcp_hello").is_file() && pending("fresh").is_file());
    let stored_hello = read(snaps.join("tcp_hello.snap"));
    let folder = dir.to_str().unwrap();

    // Under CI: shown, unchanged, and the command fails; nothing may be accepted.
    let (code, stdout, _) = review(&[folder], "a\na\n", true);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("   +  ✓ client  expect \"Hi, Michael!\"")
            && stdout.contains("   -  ✓ client  expect \"Hello, Michael!\""),
        "{stdout}"
    );
    assert!(pending("tcp_hello").is_file() && pending("fresh").is_file());
    let (code, _, stderr) = review(&[folder, "--accept-all"], "", true);
    assert_eq!(code, 2, "{stderr}");

    // Answers in sorted order: fresh (new: shown whole) is rejected, tcp_hello accepted.
    let (code, stdout, _) = review(&[folder], "what\nr\na\n", false);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("new snapshot (nothing stored yet)"),
        "{stdout}"
    );
    assert!(stdout.contains("`what`: answer a, r, s or q"), "{stdout}");
    assert!(
        stdout.contains("accepted 1, rejected 1, skipped 0"),
        "{stdout}"
    );
    assert!(!pending("fresh").exists() && !snaps.join("fresh.snap").exists());
    assert!(!pending("tcp_hello").exists());
    assert_ne!(read(snaps.join("tcp_hello.snap")), stored_hello);
    // The accepted snapshot is the one the edited scenario now gives.
    std::fs::remove_file(&fresh).unwrap();
    let (code, stdout, _) = netlab_test(&[folder], true);
    assert_eq!(code, 0, "{stdout}");

    // The end of the input skips the rest; --accept-all takes them all.
    std::fs::copy(dir.join("udp_hello.yaml"), &fresh).unwrap();
    let (code, _, _) = netlab_test(&[folder], false);
    assert_eq!(code, 1);
    let (code, stdout, _) = review(&[folder], "", false);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("skipped 1") && pending("fresh").is_file(),
        "{stdout}"
    );
    let (code, stdout, _) = review(&[folder, "--accept-all"], "", false);
    assert_eq!(code, 0, "{stdout}");
    assert!(snaps.join("fresh.snap").is_file() && !pending("fresh").exists());
    let (code, stdout, _) = review(&[folder], "", false);
    assert_eq!(code, 0);
    assert!(stdout.contains("no pending snapshot"), "{stdout}");
}

#[test]
fn junit_holds_no_character_xml_forbids() {
    let Some(schema) = junit_schema("junit_holds_no_character_xml_forbids") else {
        return;
    };
    let dir = suite_copy(&[]);
    // U+FFFE in what the server says, and (YAML escapes) in a hint and the expected text.
    std::fs::write(
        dir.join("odd.yaml"),
        "servers:\n  - name: s\n    rules: [{reply: {hex: \"6f 6b ef bf be\"}}]\nclients:\n  - connect: s\n    steps:\n      - send: hi\n      - expect: \"o\\uFFFE\"\n        hint: \"\\uFFFF\"\n",
    )
    .unwrap();
    let report = dir.join("report.xml");
    let (code, stdout, _) = netlab_test(
        &[dir.to_str().unwrap(), "--junit", report.to_str().unwrap()],
        true,
    );
    assert_eq!(code, 1, "{stdout}");
    if let Some(errors) = xmllint_errors(&schema, &report) {
        panic!("{errors}");
    }
}

#[test]
fn patterns_and_review_do_not_follow_links_to_folders_round() {
    let dir = suite_copy(&["udp_hello"]);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
        std::os::unix::fs::symlink("..", dir.join("snapshots/up")).unwrap();
    }
    let pattern = format!("{}/**/*.yaml", dir.display());
    let started = std::time::Instant::now();
    let (code, stdout, _) = netlab_test(&[&pattern, "--list"], true);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!("{}/udp_hello.yaml", dir.display())),
        "{stdout}"
    );
    // Not a timing assertion on speed: a walk round the loop never ended.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    std::fs::write(
        dir.join("snapshots/udp_hello.snap.new"),
        read(dir.join("snapshots/udp_hello.snap")),
    )
    .unwrap();
    let folder = dir.to_str().unwrap();
    let given_twice = dir.join("snapshots/udp_hello.snap.new");
    let (code, stdout, stderr) = review(&[folder, given_twice.to_str().unwrap()], "a\n", false);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("── 1/1 "), "reviewed once:\n{stdout}");
    assert!(
        stdout.contains("accepted 1, rejected 0, skipped 0"),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn accepting_a_linked_snapshot_writes_through_the_link() {
    let dir = suite_copy(&["udp_hello"]);
    let shared = dir.join("shared.snap");
    std::fs::rename(dir.join("snapshots/udp_hello.snap"), &shared).unwrap();
    std::os::unix::fs::symlink(&shared, dir.join("snapshots/udp_hello.snap")).unwrap();
    let new = format!("{}changed\n", read(&shared));
    std::fs::write(dir.join("snapshots/udp_hello.snap.new"), &new).unwrap();
    let (code, stdout, _) = review(&[dir.to_str().unwrap(), "--accept-all"], "", false);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(read(&shared), new);
    assert!(
        std::fs::symlink_metadata(dir.join("snapshots/udp_hello.snap"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn under_github_actions_a_flaky_pass_is_told_by_its_failure_relative_to_the_workspace() {
    let dir = std::env::temp_dir().join(format!(
        "netlab-ghflaky-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(dir.join("s")).unwrap();
    let path = flaky_scenario(&dir.join("s"), "retries: 2\n");
    let (code, stdout, _) = netlab_test(&[path.to_str().unwrap(), "--update"], false);
    assert_eq!(code, 0, "{stdout}");
    std::fs::remove_file(dir.join("s/ran_once")).unwrap();
    let output = netlab()
        .current_dir(dir.join("s"))
        .args(["test", "flaky.yaml"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", &dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        .output()
        .unwrap();
    let (code, stdout, _) = text(&output);
    assert_eq!(code, 0, "{stdout}");
    let warning = stdout
        .lines()
        .find(|l| l.starts_with("::warning"))
        .unwrap_or_else(|| panic!("{stdout}"));
    // The exec line of the file, from the repository's root, with what failed first.
    assert!(
        warning.starts_with("::warning file=s/flaky.yaml,line=7,")
            && warning.contains("exit code 1"),
        "{warning}"
    );
}
