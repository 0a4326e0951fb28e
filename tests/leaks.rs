//! Runs scenarios many times in this one process through the library API and checks that they
//! leave nothing behind (open descriptors, threads, bound ports) and always give the same
//! transcript. This file is its own test binary, with one test, so that nothing else opens
//! descriptors or threads while it counts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test should fail loudly

use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use netlab::exec::{RunOptions, end_idle_threads, run};
use netlab::plan::TimeScale;
use netlab::scenario::{Protocol, Scenario, load_file, load_source};
use netlab::source::SourceFile;
use netlab::transcript;

fn open_descriptors() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.count())
}

fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Reads a count once the OS has caught up: an exited thread can stay listed in /proc for a
/// moment. Waits (bounded) until the count is at most `ceiling`.
fn settled(read: fn() -> Option<usize>, ceiling: Option<usize>) -> Option<usize> {
    let mut value = read();
    for _ in 0..600 {
        if value <= ceiling {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        value = read();
    }
    value
}

/// Ends netlab's idle pool threads (kept for the next job, not leaked); fails if one is still
/// running a job when every run has returned.
fn end_pool_threads() {
    assert!(
        end_idle_threads(Duration::from_secs(10)),
        "a pool thread was still running a job after its run returned"
    );
}

fn run_once(scenario: &Arc<Scenario>, scale: f64) -> (String, bool) {
    let options = RunOptions {
        time_scale: TimeScale::new(scale).unwrap(),
        ..RunOptions::default()
    };
    let outcome = run(scenario, &options, &mut |_| {}).unwrap();
    // Every listener was closed: its exact address can be bound again at once.
    for (addr, server) in outcome.addresses.iter().zip(&scenario.servers) {
        let Some(addr) = addr else { continue };
        let bound = match server.protocol {
            Protocol::Tcp => TcpListener::bind(addr).map(drop),
            Protocol::Udp => UdpSocket::bind(addr).map(drop),
        };
        bound
            .unwrap_or_else(|e| panic!("{}: {addr} still bound after the run: {e}", scenario.name));
    }
    let text = transcript::build(scenario, &outcome.events, &outcome.verdict).render(false);
    (text, outcome.verdict.passed())
}

/// 50 runs of the tutorial's hello, 10 of every_step, 20 of every shipped scenario, 1,000 quick
/// ones, plus failing and timed-out runs: identical
/// transcripts, and the descriptor and thread counts back where they started.
#[test]
fn runs_are_deterministic_and_leave_nothing_behind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hello = Arc::new(load_file(&root.join("scenarios/tcp_hello.yaml")).unwrap());
    let sequential = Arc::new(load_file(&root.join("scenarios/tcp_sequential.yaml")).unwrap());
    let failing = Arc::new(load_source(SourceFile::new(
        "failing.yaml",
        "servers:\n  - name: s\n    greeting: \"hi\"\nclients:\n  - connect: s\n    count: 3\n    steps:\n      - expect: \"bye\"\n",
    )).unwrap());
    let hung = Arc::new(load_source(SourceFile::new(
        "hung.yaml",
        "timeout: 200ms\nservers:\n  - name: s\n    concurrency: sequential\nclients:\n  - connect: s\n    count: 4\n    steps:\n      - expect: \"never\"\n        timeout: 1m\n",
    )).unwrap());

    // Warm up once so that lazily created process-wide state is not counted as a leak.
    let (first, passed) = run_once(&hello, 0.01);
    assert!(passed, "{first}");
    // End the warm-up's threads before taking the baseline: netlab's pool keeps a finished
    // thread for a while in case another job comes.
    end_pool_threads();
    let descriptors = open_descriptors();
    let thread_count = threads();

    for round in 0..50 {
        let (text, passed) = run_once(&hello, 0.01);
        assert!(passed, "round {round}:\n{text}");
        assert_eq!(text, first, "round {round} gave another transcript");
    }
    let every_step = Arc::new(load_file(&root.join("tests/fixtures/every_step.yaml")).unwrap());
    let (every_step_first, passed) = run_once(&every_step, 1.0);
    assert!(passed, "{every_step_first}");
    for round in 0..10 {
        let (text, _) = run_once(&every_step, 1.0);
        assert_eq!(
            text, every_step_first,
            "every_step round {round} gave another transcript"
        );
    }
    // Every shipped scenario, 20 times: the same transcript each time. tcp_sequential is about who
    // waits for whom, so it keeps wider margins; the others run a hundred times faster.
    let mut shipped: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 6, "{shipped:?}");
    for path in &shipped {
        let scenario = Arc::new(load_file(path).unwrap());
        // tcp_sequential is about who waits for whom and load moves 16 MiB in a debug build:
        // they keep wider margins.
        let scale = if ["tcp_sequential", "load"].contains(&scenario.name.as_str()) {
            0.1
        } else {
            0.01
        };
        let (reference, passed) = run_once(&scenario, scale);
        assert!(passed, "{}:\n{reference}", path.display());
        for round in 1..20 {
            let (text, _) = run_once(&scenario, scale);
            assert_eq!(
                text,
                reference,
                "{} round {round} gave another transcript",
                path.display()
            );
        }
    }
    let (sequential_first, _) = run_once(&sequential, 0.1);
    let (sequential_again, passed) = run_once(&sequential, 0.1);
    assert!(passed, "{sequential_again}");
    assert_eq!(sequential_first, sequential_again);
    for _ in 0..5 {
        let (text, passed) = run_once(&failing, 0.1);
        assert!(!passed);
        assert_eq!(text.matches("FAILED at steps[0]").count(), 3, "{text}");
    }
    let (text, passed) = run_once(&hung, 1.0);
    assert!(!passed);
    assert!(text.contains("timed out after 200ms"), "{text}");

    // 1,000 quick runs (a TCP and a UDP exchange, no delays) in this one process.
    let quick = Arc::new(load_source(SourceFile::new(
        "quick.yaml",
        "servers:\n  - name: t\n    greeting: \"hi\"\n    rules:\n      - reply: \"{data}!\"\n  - name: u\n    protocol: udp\n    rules:\n      - reply: \"{data}?\"\nclients:\n  - connect: t\n    steps:\n      - expect: \"hi\"\n      - send: \"a\"\n      - expect: \"a!\"\n  - connect: u\n    steps:\n      - send: \"b\"\n      - expect: \"b?\"\n",
    )).unwrap());
    let (quick_first, passed) = run_once(&quick, 1.0);
    assert!(passed, "{quick_first}");
    for round in 1..1000 {
        let (text, _) = run_once(&quick, 1.0);
        assert_eq!(
            text, quick_first,
            "quick round {round} gave another transcript"
        );
    }

    end_pool_threads();
    assert_eq!(
        settled(open_descriptors, descriptors),
        descriptors,
        "open descriptors changed"
    );
    assert_eq!(
        settled(threads, thread_count),
        thread_count,
        "thread count changed; threads now: {:?}",
        thread_names()
    );
}

/// The names of this process's threads (for a failure's message).
fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .map(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}
