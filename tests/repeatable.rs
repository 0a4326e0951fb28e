//! Repeatability under load (issue 13): every shipped scenario, many times at a hundred times
//! its speed while every CPU is kept busy, gives one transcript. Alone in its own test binary, so
//! that its CPU hog slows no other test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test should fail loudly

/// The integration tests' helpers (running a scenario in this process among them).
#[path = "integration/support.rs"]
#[allow(dead_code)]
mod support;

use support::run_in_process;

/// Keeps `threads` threads busy until dropped: a machine under load.
struct CpuHog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    fn start(threads: usize) -> CpuHog {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        CpuHog { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[test]
fn every_shipped_scenario_gives_one_transcript_at_speed_under_a_cpu_hog() {
    // 30 runs of each at `--time-scale 0.01` while a CPU hog (a busy thread, as `yes >/dev/null`
    // would be) runs. NETLAB_REPEAT_RUNS sets another count (more, for a longer run on one's own
    // machine), NETLAB_HOG_THREADS another hog.
    let times: usize = std::env::var("NETLAB_REPEAT_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let hog_threads: usize = std::env::var("NETLAB_HOG_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let _hog = CpuHog::start(hog_threads);
    let mut files: Vec<_> =
        std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
    files.sort();
    for file in files {
        let scenario = netlab::scenario::load_file(&file).unwrap();
        let scale = scale_for(&scenario.name);
        let (passed, first) = run_in_process(scenario.clone(), scale);
        assert!(passed, "{}: {first}", file.display());
        for run in 1..times {
            let (passed, transcript) = run_in_process(scenario.clone(), scale);
            assert!(passed, "{} run {run}: {transcript}", file.display());
            assert_eq!(transcript, first, "{} run {run}", file.display());
        }
    }
}

/// The time scale each shipped scenario runs at: 0.01, but `load` moves 16 MiB, which a debug
/// build beside a CPU hog cannot do within a hundredth of its timeout (what is tested is that the
/// transcript is the same every time, not the build's speed).
fn scale_for(name: &str) -> f64 {
    if name == "load" { 0.1 } else { 0.01 }
}
