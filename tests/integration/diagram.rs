//! The sequence diagram and the HTML report: the SVG of the hello scenarios as snapshots (their
//! layout is the same on every run; only the measured times vary), the README's diagram kept
//! current, the bounds of a load run's report, and every shipped scenario's page opened in a
//! real browser (headless Chromium): no console error, a screenshot that is not blank, lanes and
//! arrows in the transcript's order.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::support::{netlab_with, root, runs, stable_settings, temp_file};

/// The scenarios whose diagrams are snapshots (and tcp_hello's is the README's).
const DRAWN: [&str; 3] = ["tcp_hello", "tcp_sequential", "udp_hello"];

/// `netlab run --svg` of a shipped scenario: the SVG as written.
fn diagram_of(name: &str) -> String {
    let out = temp_file(&format!("{name}.svg"), "");
    let scenario = root().join("scenarios").join(format!("{name}.yaml"));
    let (code, stdout, stderr) = netlab_with([
        "run",
        "-q",
        "--svg",
        out.to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{name}: {stdout}{stderr}");
    std::fs::read_to_string(&out).unwrap()
}

/// The SVG with each measured time (the only part that differs from run to run) replaced.
fn without_measured_times(svg: &str) -> String {
    let measured = regex::Regex::new(r#"(<text class="measured"[^>]*>)[^<]*(</text>)"#).unwrap();
    measured.replace_all(svg, "${1}[measured]${2}").into_owned()
}

/// The diagrams of the three scenarios, drawn at once (each takes a few seconds of declared
/// time).
fn hello_diagrams() -> Vec<(&'static str, String)> {
    let threads: Vec<_> = DRAWN
        .iter()
        .map(|name| std::thread::spawn(move || (*name, diagram_of(name))))
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn the_hello_diagrams_are_the_same_on_every_run_and_the_readme_shows_the_current_one() {
    let diagrams = hello_diagrams();
    for (name, svg) in &diagrams {
        let stable = without_measured_times(svg);
        stable_settings().bind(|| insta::assert_snapshot!(format!("diagram_{name}"), stable));
    }
    readme_diagram_is_current(&diagrams[0].1);
}

/// docs/tcp_hello.svg, which the README shows, is the diagram of a run of tcp_hello (without
/// its measured times): generated here, never drawn by hand. When it is out of date, this test
/// writes the new one and fails, so that the change is reviewed (`git diff`) and committed.
fn readme_diagram_is_current(svg: &str) {
    let measured = regex::Regex::new(r#"<text class="measured"[^>]*>[^<]*</text>\n?"#).unwrap();
    let drawn = measured.replace_all(svg, "").into_owned();
    let path = root().join("docs").join("tcp_hello.svg");
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if stored != drawn {
        std::fs::write(&path, &drawn).unwrap();
        panic!(
            "{} was out of date: rewritten from this run; review it (git diff) and commit it",
            path.display()
        );
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("docs/tcp_hello.svg"), "the README shows it");
}

#[test]
fn sequential_clients_wait_in_the_backlog_and_threaded_ones_do_not() {
    let svg = diagram_of("tcp_sequential");
    // One waiting bar: sequential_second's, connected but not taken while sequential_first
    // talks.
    assert_eq!(svg.matches("class=\"waiting\"").count(), 1, "{svg}");
    let name = regex::Regex::new(r#"<text class="name"[^>]*>([^<]*)<"#).unwrap();
    let lanes: Vec<&str> = name
        .captures_iter(&svg)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(
        lanes,
        [
            "threaded_first",
            "threaded_second",
            "threaded",
            "sequential_first",
            "sequential_second",
            "sequential"
        ]
    );
    // Its greeting comes after sequential_first's close, as declared: 2s.
    let rows: Vec<&str> = svg.lines().filter(|l| l.contains("data-row=")).collect();
    let close_of_first = rows
        .iter()
        .position(|l| l.contains("arrow fin") && l.contains("data-to=\"3\""))
        .unwrap();
    let greeting_of_second = rows
        .iter()
        .position(|l| l.contains("greeting") && l.contains("data-to=\"4\""))
        .unwrap();
    assert!(close_of_first < greeting_of_second, "{svg}");
}

#[test]
fn a_failing_step_is_highlighted_with_what_came_and_its_hint() {
    let yaml = "name: wrong_greeting\nservers:\n  - name: s\n    greeting: \"Bye\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - expect: \"Hello\"\n        timeout: 200ms\n        hint: the server must greet first\n";
    let file = temp_file("wrong_greeting.yaml", yaml);
    let out = file.with_extension("svg");
    let html = file.with_extension("html");
    let (code, _, _) = netlab_with([
        "run",
        "-q",
        "--svg",
        out.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("class=\"band\""), "{svg}");
    assert!(svg.contains("hint: the server must greet first"), "{svg}");
    assert!(svg.contains("received something else"), "{svg}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("First failure"), "{page}");
    assert!(page.contains("class=\"status failed\""), "{page}");
}

/// `netlab run -q --html` of `yaml` (written as `name`.yaml): its exit code, the page and
/// stderr.
fn page_of(name: &str, yaml: &str) -> (i32, String, String) {
    let file = temp_file(&format!("{name}.yaml"), yaml);
    let html = file.with_extension("html");
    let (code, stdout, stderr) = netlab_with([
        "run",
        "-q",
        "--html",
        html.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    (code, page, format!("{stdout}{stderr}"))
}

#[test]
fn bytes_names_and_hints_cannot_break_out_of_the_markup() {
    let yaml = "name: hostile\ndescription: \"<script>alert(1)</script>\"\nservers:\n  - name: s\n    rules:\n      - reply: \"</text><script>alert(2)</script>\\u0001\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: \"<b>&amp;\\\"'\"\n      - expect: \"nope\"\n        timeout: 200ms\n        hint: \"</svg><img src=x onerror=alert(3)>\"\n";
    let (code, page, output) = page_of("hostile", yaml);
    assert_eq!(code, 1, "{output}");
    for bad in ["<script>alert", "<img", "</text><script", "<b>"] {
        assert!(!page.contains(bad), "{bad} in the page");
    }
    // One script: the page's own.
    assert_eq!(page.matches("<script>").count(), 1);
}

#[test]
fn svg_refuses_several_scenarios_and_an_unwritable_path() {
    let a = root().join("scenarios/tcp_hello.yaml");
    let b = root().join("scenarios/udp_hello.yaml");
    let (code, _, stderr) = netlab_with([
        "run",
        "--svg",
        temp_file("never.svg", "").to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--svg draws the diagram of one scenario"),
        "{stderr}"
    );
    let blocker = temp_file("file", "");
    let (code, _, stderr) = netlab_with([
        "run",
        "--html",
        blocker.join("report.html").to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot write the HTML report"), "{stderr}");
}

/// Headless Chromium, if this machine has it; otherwise prints why the caller skips (or, where
/// `NETLAB_REQUIRE_CHROMIUM` is set, as in CI, fails: CI must run these tests).
fn chromium(test: &str) -> Option<&'static str> {
    if let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|browser| runs(browser))
    {
        return Some(browser);
    }
    assert!(
        std::env::var_os("NETLAB_REQUIRE_CHROMIUM").is_none(),
        "{test}: Chromium is not installed (Debian: chromium), and NETLAB_REQUIRE_CHROMIUM says \
         it must run"
    );
    eprintln!("skipped {test}: Chromium is not installed (Debian: chromium)");
    None
}

/// Runs headless `browser` on `page` with `args`: its stdout and stderr. Bounded: a browser
/// that has not finished in a minute is ended (by its id) and the test fails.
fn headless(browser: &str, page: &Path, args: &[&str]) -> (String, String) {
    use std::io::Read;
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{browser} on {} took more than a minute", page.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (stdout.join().unwrap(), stderr.join().unwrap())
}

/// Where the screenshots go (named in the issue's closing note): kept after the test.
fn screenshots() -> PathBuf {
    let dir = root().join("target").join("diagram-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether a PNG screenshot shows something: enough pixels unlike its first (the background).
fn not_blank(png: &Path) -> bool {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let bytes = &buffer[..info.buffer_size()];
    let pixel = info.color_type.samples();
    let background = &bytes[..pixel];
    let unlike = bytes
        .chunks(pixel)
        .filter(|p| p.iter().zip(background).any(|(a, b)| a.abs_diff(*b) > 40))
        .count();
    unlike * 1000 > bytes.len() / pixel
}

#[test]
fn every_shipped_scenario_report_opens_in_a_browser_in_the_transcripts_order() {
    let test = "every_shipped_scenario_report_opens_in_a_browser_in_the_transcripts_order";
    let Some(browser) = chromium(test) else {
        return;
    };
    let dir = temp_file("keep", "").with_file_name("report");
    let scenarios = root().join("scenarios");
    let (code, stdout, stderr) = netlab_with([
        "test",
        "-q",
        "--html",
        dir.to_str().unwrap(),
        scenarios.to_str().unwrap(),
        "--unreferenced=ignore",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.sort();
    assert!(pages.len() > 10, "{pages:?}");
    let shots = screenshots();
    let checks: Vec<_> = pages
        .chunks(pages.len().div_ceil(2))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let shots = shots.clone();
            std::thread::spawn(move || {
                for page in chunk {
                    check_page(browser, &page, &shots);
                }
            })
        })
        .collect();
    for check in checks {
        check.join().unwrap();
    }
    // The text/hex toggle works (`#hex` opens a page with it pressed).
    let page = dir.join("binary_length_prefixed.html");
    let (dom, _) = headless(
        browser,
        Path::new(&format!("{}#hex", page.display())),
        &["--virtual-time-budget=2000", "--dump-dom"],
    );
    assert!(
        dom.contains("data-view=\"hex\" aria-pressed=\"true\""),
        "{dom}"
    );
    let label =
        regex::Regex::new(r#"data-hex="([^"]*)" data-full-hex="[^"]*"[^>]*>([^<]*)<"#).unwrap();
    let shown: Vec<_> = label.captures_iter(&dom).collect();
    assert!(!shown.is_empty());
    // The DOM is serialized with attributes and text escaped differently.
    let plain = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    for captures in shown {
        assert_eq!(
            plain(&captures[1]),
            plain(&captures[2]),
            "the label shows its hex"
        );
    }
    let load = dir.join("load.html");
    let size = std::fs::metadata(&load).unwrap().len();
    assert!(size < 300 * 1024, "load.yaml's report is {size} bytes");
}

/// Opens one page: no console message, the script ran, a screenshot with something on it, and
/// (a scenario's page) lanes in order and each conversation's rows in its transcript's order.
fn check_page(browser: &str, page: &Path, shots: &Path) {
    let name = page.file_stem().unwrap().to_string_lossy().into_owned();
    let (dom, log) = headless(browser, page, &["--virtual-time-budget=2000", "--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "{name}: {console:?}");
    assert!(
        dom.contains("data-rendered-ms="),
        "{name}: the script ran to its end"
    );
    if let Some(ms) = dom
        .split("data-rendered-ms=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
    {
        eprintln!("{name}: rendered in {ms} ms (Chromium's performance.now() after load)");
    }
    let shot = shots.join(format!("{name}.png"));
    let (_, log) = headless(
        browser,
        page,
        &[
            "--window-size=1600,1400",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(shot.is_file(), "{name}: no screenshot: {log}");
    assert!(not_blank(&shot), "{name}: the screenshot is blank");
    if name == "index" {
        return;
    }
    // Lanes numbered left to right, once each.
    let lane = regex::Regex::new(r#"<g class="head [a-z]+" data-lane="(\d+)""#).unwrap();
    let lanes: Vec<usize> = lane
        .captures_iter(&dom)
        .map(|c| c[1].parse().unwrap())
        .collect();
    assert!(!lanes.is_empty(), "{name}: no lane");
    assert_eq!(lanes, (0..lanes.len()).collect::<Vec<_>>(), "{name}");
    // Rows top to bottom, in causal order: each side of a conversation keeps its lines in the
    // transcript's order, and a client's line comes after every server line the transcript
    // shows before it (what it depended on). A server's line may come earlier than the
    // transcript shows it: at the client line that caused it.
    let row = regex::Regex::new(
        r#"data-row="(\d+)" data-section="(\d+)" data-entry="(\d+)" data-side="(client|server)""#,
    )
    .unwrap();
    let mut drawn: std::collections::HashMap<(usize, bool), Vec<usize>> = Default::default();
    let mut rows = 0;
    for (position, captures) in row.captures_iter(&dom).enumerate() {
        let r: usize = captures[1].parse().unwrap();
        let section: usize = captures[2].parse().unwrap();
        let entry: usize = captures[3].parse().unwrap();
        let server = &captures[4] == "server";
        assert_eq!(r, position, "{name}: rows drawn top to bottom");
        let own = drawn.entry((section, server)).or_default();
        assert!(
            own.last().is_none_or(|last| *last <= entry),
            "{name}: section {section} line {entry} drawn after line {:?}",
            own.last()
        );
        own.push(entry);
        if !server {
            let servers_drawn: std::collections::BTreeSet<usize> = drawn
                .get(&(section, true))
                .into_iter()
                .flatten()
                .copied()
                .filter(|e| *e < entry)
                .collect();
            assert!(
                servers_drawn == server_lines_before(&dom, section, entry),
                "{name}: section {section} line {entry} drawn before a server line it followed"
            );
        }
        rows += 1;
    }
    assert!(rows > 0, "{name}: no row");
}

/// The server lines of `section` the transcript shows before line `entry`.
fn server_lines_before(
    dom: &str,
    section: usize,
    entry: usize,
) -> std::collections::BTreeSet<usize> {
    let row = regex::Regex::new(&format!(
        r#"data-section="{section}" data-entry="(\d+)" data-side="server""#
    ))
    .unwrap();
    row.captures_iter(dom)
        .map(|c| c[1].parse().unwrap())
        .filter(|e| *e < entry)
        .collect()
}

/// The rows of a scenario's diagram, each as its classes and title (top to bottom).
fn rows_of(name: &str, yaml: &str) -> Vec<String> {
    let file = temp_file(&format!("{name}.yaml"), yaml);
    let out = file.with_extension("svg");
    let (code, stdout, stderr) = netlab_with([
        "run",
        "-q",
        "--svg",
        out.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(code <= 1, "{stdout}{stderr}");
    let svg = std::fs::read_to_string(&out).unwrap();
    let row = regex::Regex::new(r#"<g class="row ([^"]*)"[^>]*><title>([^<]*)</title>"#).unwrap();
    row.captures_iter(&svg)
        .map(|c| format!("{} | {}", &c[1], &c[2]))
        .collect()
}

#[test]
fn a_reset_is_one_rst_arrow_drawn_before_the_check_that_saw_it() {
    let rows = rows_of(
        "reset",
        "servers:\n  - name: resetter\n    faults: { reset: true }\n    rules:\n      - match: \"bye\"\n        close: true\nclients:\n  - name: c\n    connect: resetter\n    steps:\n      - send: \"bye\"\n      - expect_reset: true\n",
    );
    assert!(!rows.iter().any(|r| r.contains("arrow fin")), "{rows:#?}");
    let reset = rows.iter().position(|r| r.starts_with("arrow reset"));
    let check = rows.iter().position(|r| r.contains("expect_reset"));
    assert!(reset.is_some() && reset < check, "{rows:#?}");
}

#[test]
fn a_sequential_servers_queue_is_drawn_the_same_whichever_client_the_kernel_handed_over_first() {
    // Three instances connect at once: which one the server takes first is the kernel's
    // choice, different from run to run; the diagram queues them as declared.
    let yaml = "servers:\n  - name: seq\n    concurrency: sequential\n    framing: line\n    greeting: \"hi\\n\"\n    delay: 30ms\n    rules:\n      - reply: \"ok {data}\\n\"\nclients:\n  - name: q\n    connect: seq\n    count: 3\n    steps:\n      - expect: \"hi\\n\"\n      - send: \"x{instance}\\n\"\n      - expect: \"ok x{instance}\\n\"\n";
    let drawn: std::collections::BTreeSet<String> =
        (0..6).map(|_| rows_of("queue", yaml).join("\n")).collect();
    assert_eq!(drawn.len(), 1, "{drawn:#?}");
}

#[test]
fn report_paths_are_checked_before_the_run_and_no_diagram_is_left_of_a_run_that_did_not_happen() {
    let hello = root().join("scenarios/tcp_hello.yaml");
    let same = temp_file("same.html", "");
    let both = |html: &Path, svg: &Path| {
        netlab_with([
            "run",
            "-q",
            "--html",
            html.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
            hello.to_str().unwrap(),
        ])
    };
    let (code, _, stderr) = both(&same, &same);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("name the same file"), "{stderr}");
    // Spelled otherwise, the same file still.
    let spelled = same.parent().unwrap().join(".").join("same.html");
    let (code, _, stderr) = both(&same, &spelled);
    assert_eq!(code, 2, "{stderr}");
    // A program that cannot be started: the environment refused the run (exit 3), and the
    // diagram asked for is not left behind, empty or from an earlier run.
    let file = temp_file(
        "refused.yaml",
        "servers:\n  - name: s\n    exec: [\"/nonexistent/program\", \"{port}\"]\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: \"x\"\n",
    );
    let svg = file.with_extension("svg");
    std::fs::write(&svg, "<svg>an earlier run's</svg>").unwrap();
    let (code, _, stderr) = netlab_with([
        "run",
        "-q",
        "--svg",
        svg.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(code != 0, "{stderr}");
    assert!(!svg.exists(), "{stderr}");
    // A folder where the index goes: found before anything runs.
    let dir = temp_file("keep", "").with_file_name("report");
    std::fs::create_dir_all(dir.join("index.html")).unwrap();
    let started = std::time::Instant::now();
    let (code, _, stderr) = netlab_with([
        "test",
        "-q",
        "--html",
        dir.to_str().unwrap(),
        hello.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot write the HTML report"), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "tcp_hello (4s) did not run"
    );
}

#[test]
fn a_page_stays_small_whatever_the_hints_and_transcript_hold() {
    let hint = "h".repeat(100_000);
    let mut yaml = String::from("servers:\n  - name: s\n    greeting: \"no\"\nclients:\n");
    for i in 0..5 {
        yaml.push_str(&format!(
            "  - name: c{i}\n    connect: s\n    steps:\n      - expect: \"yes\"\n        timeout: 100ms\n        hint: \"{hint}\"\n"
        ));
    }
    let (code, page, output) = page_of("hints", &yaml);
    assert_eq!(code, 1, "{output}");
    assert!(page.len() < 300 * 1024, "{} bytes", page.len());
}

#[test]
fn a_framed_message_is_drawn_after_the_send_that_completed_it() {
    // Each second message is completed by the second send, 20ms later: its reply cannot be
    // drawn before that send (a frame's header or delimiter counts on the wire).
    for (name, framing, first, second, expected) in [
        (
            "length",
            "{ length: u16be }",
            "{ hex: \"00 01 61 00 02 62\" }",
            "{ hex: \"62 00 01 63\" }",
            "<a><bb><c>",
        ),
        ("line", "line", "\"a\\n\"", "\"b\\n\"", "<a><b>"),
        (
            "delimiter",
            "{ delimiter: \";\" }",
            "\"a;b\"",
            "\"b;\"",
            "<a><bb>",
        ),
    ] {
        let yaml = format!(
            "servers:\n  - name: s\n    framing: {framing}\n    rules:\n      - reply: \"<{{data}}>\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: {first}\n      - sleep: 20ms\n      - send: {second}\n      - expect: \"{expected}\"\n"
        );
        let rows = rows_of(name, &yaml);
        let second_send = rows.iter().rposition(|r| r.contains("c  send")).unwrap();
        let last_reply = rows.iter().rposition(|r| r.contains("received")).unwrap();
        assert!(second_send < last_reply, "{name}: {rows:#?}");
    }
}

#[test]
fn many_conversations_of_long_messages_still_make_a_small_page() {
    // 40 clients, each 5 round trips of 600-byte distinct lines: each conversation is short, so
    // none is folded, but the diagram as a whole is bounded.
    let mut yaml = String::from(
        "servers:\n  - name: srv\n    framing: line\n    rules:\n      - reply: \"r {data}\\n\"\nclients:\n",
    );
    for c in 0..40 {
        yaml.push_str(&format!("  - name: cli{c}\n    connect: srv\n    steps:\n"));
        for m in 0..5 {
            let line = format!("{c}-{m}-{}", "x".repeat(600));
            yaml.push_str(&format!(
                "      - send: \"{line}\\n\"\n      - expect: \"r {line}\\n\"\n"
            ));
        }
    }
    let (code, page, output) = page_of("many", &yaml);
    assert_eq!(code, 0, "{output}");
    assert!(page.len() < 300 * 1024, "{} bytes", page.len());
    assert!(page.contains("more rows"), "the rows not drawn are said");
}

#[test]
fn what_a_program_under_test_sent_instead_is_drawn() {
    // A server program that greets wrongly: the failed expect draws what came.
    let Some(python) = super::support::python3("what_a_program_under_test_sent_instead_is_drawn")
    else {
        return;
    };
    let yaml = format!(
        "servers:\n  - name: student\n    exec: [\"{python}\", \"-c\", \"import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); c,_=s.accept(); c.sendall(b'Bye'); c.recv(10)\", \"{{port}}\"]\nclients:\n  - name: c\n    connect: student\n    steps:\n      - expect: \"Welcome\"\n        timeout: 500ms\n"
    );
    let rows = rows_of("wrong_greeting", &yaml);
    let arrow = rows
        .iter()
        .position(|r| r.starts_with("arrow data failed"))
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert!(rows[arrow].contains("expect"), "{rows:#?}");
}

#[test]
fn values_captured_in_a_run_show_by_name_as_in_the_transcript() {
    // Against a real service the token differs every run: the labels of the sends that carry
    // it show it by name, as the transcript does, so the diagram is the same on every run.
    let svg = diagram_of("login_token");
    let labels: Vec<&str> = svg
        .split("<g class=\"label\"><title>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .collect();
    assert!(
        labels.contains(&"&quot;GET inbox {token}\\n&quot;"),
        "{labels:#?}"
    );
    assert!(
        !labels.iter().any(|l| l.starts_with("&quot;GET inbox 5f2c")),
        "{labels:#?}"
    );
}

#[test]
fn a_client_that_closes_when_its_steps_end_is_drawn_closing() {
    // No `close` step: the client's socket closes when its steps end, and the server closes
    // its side after it. Both closes are drawn, the client's first.
    let rows = rows_of(
        "implicit_close",
        "servers:\n  - name: s\n    rules:\n      - reply: \"ok\"\nclients:\n  - name: c\n    connect: s\n    steps:\n      - send: \"hi\"\n      - expect: \"ok\"\n",
    );
    let closes: Vec<&String> = rows.iter().filter(|r| r.starts_with("arrow fin")).collect();
    assert_eq!(closes.len(), 2, "{rows:#?}");
}
