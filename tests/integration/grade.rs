//! `netlab grade`: a class of submissions graded end to end into a gradebook (CSV, JSON) and
//! Gradescope's results.json.

use std::path::{Path, PathBuf};

use crate::support::{netlab, netlab_with, python3, root, temp_file, text};

fn solution(path: &str) -> PathBuf {
    root().join("tests/solutions").join(path)
}

/// A class of ten: four good servers, two with a wrong greeting, two silent ones, one that
/// never answers and one that crashes; each in its own folder as `server.py`.
fn class(dir: &Path) -> Vec<PathBuf> {
    let kinds = [
        "hello_server/good.py",
        "hello_server/good.py",
        "hello_server/good.py",
        "hello_server/good.py",
        "hello_server/wrong_greeting.py",
        "hello_server/wrong_greeting.py",
        "any/silent_server.py",
        "any/silent_server.py",
        "hello_server/never_answers.py",
        "hello_server/crashes.py",
    ];
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let student = dir.join(format!("student{i:02}"));
            std::fs::create_dir_all(&student).unwrap();
            std::fs::copy(solution(kind), student.join("server.py")).unwrap();
            student
        })
        .collect()
}

#[test]
fn a_class_of_ten_is_graded_into_a_gradebook_and_gradescope_results() {
    if python3("a_class_of_ten_is_graded_into_a_gradebook_and_gradescope_results").is_none() {
        return;
    }
    let dir = temp_file("class.txt", "").parent().unwrap().to_path_buf();
    let students = class(&dir);
    let out = dir.join("book");
    let output = netlab()
        .arg("grade")
        .arg(root().join("scenarios/exercises/hello_server.yaml"))
        .args(&students)
        .args(["--var", "solution={}/server.py", "--format", "gradescope"])
        .args(["--time-scale", "0.2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("graded 10 submissions"), "{stdout}");
    // The CSV: a header and one row per student, in the order given.
    let mut csv = csv_rows(&out.join("gradebook.csv"));
    let header = csv.remove(0);
    assert_eq!(
        header[0..4],
        ["submission", "points", "max_points", "verdict"]
    );
    assert_eq!(csv.len(), 10);
    let points: Vec<&str> = csv.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        points,
        ["5", "5", "5", "5", "0", "0", "0", "0", "1", "0"],
        "{csv:?}"
    );
    assert!(csv.iter().all(|r| r[2] == "5"), "{csv:?}");
    // The crash: its exit code and traceback; a failure's hint.
    let crashed = &csv[9];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(crashed[column("exit_code")], "1");
    assert!(
        crashed[column("stderr_tail")]
            .contains("AttributeError: 'socket' object has no attribute 'listne'"),
        "{crashed:?}"
    );
    assert!(
        csv[4][column("hint")].contains("send the greeting"),
        "{:?}",
        csv[4]
    );
    assert!(
        csv[4][column("first_failure")].contains("received \"Hello!\""),
        "{:?}",
        csv[4]
    );
    // The JSON gradebook says the same.
    let book: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("gradebook.json")).unwrap())
            .unwrap();
    assert_eq!(book.as_array().map(Vec::len), Some(10));
    assert_eq!(book[8]["points"], 1);
    assert_eq!(book[9]["exit_code"], 1);
    // Gradescope: one results.json per student, of the documented shape, scores adding up.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/gradescope_results.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (i, student) in students.iter().enumerate() {
        let name = student.file_name().unwrap().to_string_lossy();
        let path = out.join(format!("{}-{name}", i + 1)).join("results.json");
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&results)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        let tests = results["tests"].as_array().unwrap();
        let sum: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
        let max: u64 = tests.iter().map(|t| t["max_score"].as_u64().unwrap()).sum();
        assert_eq!(results["score"].as_u64(), Some(sum), "{results}");
        assert_eq!(max, 5, "{results}");
    }
}

#[test]
fn a_missing_submission_is_refused_before_anything_runs() {
    let out = temp_file("none.txt", "").parent().unwrap().join("book");
    let exercise = root().join("scenarios/exercises/hello_server.yaml");
    let (code, _, stderr) = netlab_with([
        "grade".as_ref(),
        exercise.as_os_str(),
        "/nonexistent/student".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no such submission: `/nonexistent/student`"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// The rows of a CSV file (quoted fields with commas, quotes and line breaks kept whole).
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

/// `netlab lab` checks the shipped lab: every exercise's reference solution passes and each
/// broken one fails where its `solutions:` says; a solution declared wrongly is caught.
#[test]
fn the_shipped_lab_checks_itself() {
    if python3("the_shipped_lab_checks_itself").is_none() {
        return;
    }
    let exercises: Vec<PathBuf> = [
        "hello_server",
        "concurrent_server",
        "udp_client_with_retries",
        "http_server",
        "client_over_a_slow_network",
        "tls_hello_server",
    ]
    .iter()
    .map(|e| root().join(format!("scenarios/exercises/{e}.yaml")))
    .collect();
    let output = netlab()
        .arg("lab")
        .args(&exercises)
        .args(["--time-scale", "0.5"])
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("every solution did as declared (18 runs)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("crashes.py: failed at student as declared"),
        "{stdout}"
    );
    // A good solution declared to fail, and a broken one declared to fail elsewhere.
    let good = solution("hello_server/good.py");
    let wrong = solution("hello_server/wrong_greeting.py");
    let output = netlab()
        .arg("lab")
        .arg(&exercises[0])
        .arg("--expect")
        .arg(format!("{}=fail", good.display()))
        .arg("--expect")
        .arg(format!("{}=fail:client.steps[2]", wrong.display()))
        .args(["--time-scale", "0.5"])
        .output()
        .unwrap();
    let (code, stdout, _) = text(&output);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("declared to fail, passed (5/5 points)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("declared to fail at client.steps[2], failed at client.steps[0] instead"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 of 7 solutions did not do as declared"),
        "{stdout}"
    );
}

/// An interrupted grading says which submissions it did not grade (cut short, or never
/// started), rather than give them the points of a run that did not end by itself.
#[test]
fn an_interrupted_class_is_not_graded_as_failed() {
    if python3("an_interrupted_class_is_not_graded_as_failed").is_none() {
        return;
    }
    let dir = temp_file("slow.txt", "").parent().unwrap().to_path_buf();
    let students: Vec<PathBuf> = (0..3)
        .map(|i| {
            let student = dir.join(format!("s{i}"));
            std::fs::create_dir_all(&student).unwrap();
            std::fs::copy(
                solution("hello_server/never_answers.py"),
                student.join("server.py"),
            )
            .unwrap();
            student
        })
        .collect();
    let out = dir.join("book");
    let child = netlab()
        .arg("grade")
        .arg(root().join("scenarios/exercises/hello_server.yaml"))
        .args(&students)
        .args(["--var", "solution={}/server.py", "-j", "1", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    crate::support::interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let (code, stdout, _) = text(&output);
    assert_eq!(code, 130, "{stdout}");
    let book: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("gradebook.json")).unwrap())
            .unwrap();
    let verdicts: Vec<&str> = book
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(verdicts, ["not_graded"; 3], "{book}");
    assert!(stdout.contains("3 not graded: interrupted"), "{stdout}");
}

/// A `--var` path that no submission has is the teacher's typo, refused before anything runs
/// (it graded the whole class 0); a student's stderr never becomes a spreadsheet formula.
#[test]
fn a_mapping_no_submission_has_is_refused_and_cells_are_inert() {
    if python3("a_mapping_no_submission_has_is_refused_and_cells_are_inert").is_none() {
        return;
    }
    let dir = temp_file("typo.txt", "").parent().unwrap().to_path_buf();
    let student = dir.join("mallory");
    std::fs::create_dir_all(&student).unwrap();
    std::fs::write(
        student.join("server.py"),
        "import sys\nsys.stderr.write('=HYPERLINK(\"http://x\")\\n')\nsys.exit(1)\n",
    )
    .unwrap();
    let exercise = root().join("scenarios/exercises/hello_server.yaml");
    let out = dir.join("book");
    let (code, _, stderr) = netlab_with([
        "grade".as_ref(),
        exercise.as_os_str(),
        student.as_os_str(),
        "--var".as_ref(),
        "solution={}/serve.py".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("names a path that none of the 1 submissions has"),
        "{stderr}"
    );
    // A `solution` with no `{}` would be replaced by each submission without a word.
    let (code, _, stderr) = netlab_with([
        "grade".as_ref(),
        exercise.as_os_str(),
        student.as_os_str(),
        "--var".as_ref(),
        "solution=server.py".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("has no `{}`"), "{stderr}");
    let (code, stdout, stderr) = netlab_with([
        "grade".as_ref(),
        exercise.as_os_str(),
        student.as_os_str(),
        "--var".as_ref(),
        "solution={}/server.py".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
}
