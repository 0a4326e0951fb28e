//! The in-process parts of netlab, with criterion: loading and checking a scenario, matching
//! received bytes, building and rendering a transcript from a run's events. (Whole runs against
//! real sockets are measured by `benches/compare`.)
//!
//! `cargo bench --bench inprocess`; under `cargo test` each benchmark runs once.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use netlab::exec::{self, RunOptions};
use netlab::plan::TimeScale;
use netlab::report::html::{self, Case};
use netlab::scenario::{Step, load_source};
use netlab::source::SourceFile;
use netlab::suite;
use netlab::transcript;

fn scenario_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn loading(c: &mut Criterion) {
    let text = scenario_text("tcp_hello.yaml");
    c.bench_function("load and check tcp_hello.yaml", |b| {
        b.iter(|| load_source(SourceFile::new("tcp_hello.yaml", black_box(text.as_str()))))
    });
}

/// A file of 4,000 steps: each step's line is looked up once (it took 9.5 s when every lookup
/// walked the text from its start).
fn loading_a_long_file(c: &mut Criterion) {
    let mut text = String::from(
        "servers:\n  - name: s\n    rules:\n      - reply: \"{data}\"\nclients:\n  - name: c\n    connect: s\n    steps:\n",
    );
    for i in 0..2000 {
        text.push_str(&format!(
            "      - send: \"m{i}\"\n      - expect: \"m{i}\"\n"
        ));
    }
    c.bench_function("load and check a file of 4,000 steps", |b| {
        b.iter(|| load_source(SourceFile::new("long.yaml", black_box(text.as_str()))))
    });
}

fn matching(c: &mut Criterion) {
    let text = "clients:\n  - connect: \"127.0.0.1:9\"\n    steps:\n      - expect: \"HTTP/1.1 200 OK\\r\\n\"\n      - expect: { regex: \"Content-Length: [0-9]+\\r\\n\" }\n      - expect: { contains: \"</html>\" }\n";
    let scenario = load_source(SourceFile::new("m.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
    let matchers: Vec<_> = scenario.clients[0]
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Expect { matcher, .. } => Some(matcher.clone()),
            _ => None,
        })
        .collect();
    let mut page =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n\r\n".to_vec();
    page.extend(std::iter::repeat_n(b'x', 1024));
    page.extend_from_slice(b"</html>");
    for (name, matcher) in ["equals", "regex", "contains"].iter().zip(&matchers) {
        c.bench_function(&format!("match {name} against a 1 KiB page"), |b| {
            b.iter(|| matcher.progress(black_box(&page), false))
        });
    }
}

fn transcripts(c: &mut Criterion) {
    let text = scenario_text("tcp_hello.yaml");
    let scenario = Arc::new(
        load_source(SourceFile::new("tcp_hello.yaml", text)).unwrap_or_else(|d| panic!("{d}")),
    );
    let options = RunOptions {
        time_scale: TimeScale::new(0.001).unwrap_or_default(),
        ..RunOptions::default()
    };
    let outcome =
        exec::run(&scenario, &options, &mut |_| {}).unwrap_or_else(|e| panic!("run: {e:#}"));
    c.bench_function("build the transcript of tcp_hello", |b| {
        b.iter(|| transcript::build(&scenario, black_box(&outcome.events), &outcome.verdict))
    });
    let built = transcript::build(&scenario, &outcome.events, &outcome.verdict);
    c.bench_function("render the transcript of tcp_hello", |b| {
        b.iter(|| black_box(&built).render(false))
    });
}

/// The HTML report of `scenarios/load.yaml` (issue 18: under 50 ms, under 300 KB): its
/// transcript built from the run's events, then the page with its diagram written to a file.
fn reports(c: &mut Criterion) {
    let text = scenario_text("load.yaml");
    let scenario =
        Arc::new(load_source(SourceFile::new("load.yaml", text)).unwrap_or_else(|d| panic!("{d}")));
    let outcome = exec::run(&scenario, &RunOptions::default(), &mut |_| {})
        .unwrap_or_else(|e| panic!("run: {e:#}"));
    c.bench_function("build the transcript of load.yaml", |b| {
        b.iter(|| transcript::build(&scenario, black_box(&outcome.events), &outcome.verdict))
    });
    let result = suite::run_case(&scenario, &RunOptions::default(), false);
    let out = std::env::temp_dir().join(format!("netlab-bench-{}.html", std::process::id()));
    let case = [Case {
        scenario: &scenario,
        result: &result,
    }];
    c.bench_function("write the HTML report of load.yaml", |b| {
        b.iter(|| std::fs::write(&out, html::page(black_box(&case))))
    });
    let size = std::fs::metadata(&out).map_or(0, |m| m.len());
    eprintln!("the HTML report of load.yaml: {size} bytes");
    let _ = std::fs::remove_file(&out);
}

criterion_group!(
    benches,
    loading,
    loading_a_long_file,
    matching,
    transcripts,
    reports
);
criterion_main!(benches);
