//! The threads of every run: a cached pool. A scenario starts a thread per server, per client
//! instance and per connection; starting and joining a thread costs tens of microseconds, more
//! than a whole loopback exchange, so finished threads wait a while for the next job instead of
//! exiting. A job goes to an idle thread if there is one, else to a new thread: there is no
//! limit and no queue (a job that blocks on a socket must never keep another from starting).
//! Idle threads exit after `IDLE_EXIT`.
//!
//! A run waits for its own jobs with a `Jobs` group, and learns whether one of them panicked.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use crossbeam::sync::WaitGroup;

/// How long an idle thread waits for a job before it exits.
pub const IDLE_EXIT: Duration = Duration::from_secs(2);

/// The stack of a pool thread: connections and clients hold their buffers on the heap, so a
/// small stack is plenty, and thousands of them stay cheap.
pub const THREAD_STACK: usize = 256 * 1024;

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    jobs: Sender<Job>,
    waiting: Receiver<Job>,
    /// Threads waiting for a job that no `spawn` has claimed yet.
    idle: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, waiting) = unbounded();
        Pool {
            jobs,
            waiting,
            idle: AtomicUsize::new(0),
        }
    })
}

/// Runs `job` on an idle pool thread, or on a new one.
fn spawn(job: Job) -> io::Result<()> {
    let pool = pool();
    let claimed = pool
        .idle
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok();
    if claimed {
        // A claimed thread stays until it has received a job (see `worker`).
        return pool
            .jobs
            .send(job)
            .map_err(|_| io::Error::other("the thread pool is gone"));
    }
    std::thread::Builder::new()
        .name("netlab".into())
        .stack_size(THREAD_STACK)
        .spawn(move || worker(pool, job))
        .map(drop)
}

fn worker(pool: &'static Pool, first: Job) {
    first();
    loop {
        pool.idle.fetch_add(1, Ordering::AcqRel);
        let job = match pool.waiting.recv_timeout(IDLE_EXIT) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // Leave, unless a `spawn` claimed this idle slot meanwhile: then a job is on
                // its way, and some waiting thread must take it.
                let left = pool
                    .idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                if left {
                    return;
                }
                match pool.waiting.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        job();
    }
}

/// The jobs of one run: start them, then wait for all of them.
#[derive(Clone)]
pub struct Jobs {
    group: WaitGroup,
    panicked: Arc<AtomicBool>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            group: WaitGroup::new(),
            panicked: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Jobs {
    /// Starts `job` on a pool thread; it counts as running until it returns.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let member = self.group.clone();
        let panicked = self.panicked.clone();
        spawn(Box::new(move || {
            if catch_unwind(AssertUnwindSafe(job)).is_err() {
                panicked.store(true, Ordering::Release);
            }
            drop(member);
        }))
    }

    /// Waits until every job started through this group (or a clone of it) has returned and
    /// every clone is dropped; true if one of them panicked.
    pub fn wait(self) -> bool {
        let panicked = self.panicked.clone();
        self.group.wait();
        panicked.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_and_is_waited_for() {
        let jobs = Jobs::default();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let count = count.clone();
            let started = jobs.spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                count.fetch_add(1, Ordering::SeqCst);
            });
            assert!(started.is_ok());
        }
        assert!(!jobs.wait());
        assert_eq!(count.load(Ordering::SeqCst), 50);
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_pool_goes_on() {
        let jobs = Jobs::default();
        assert!(jobs.spawn(|| panic!("a bug")).is_ok());
        assert!(jobs.wait());
        let again = Jobs::default();
        let (tx, rx) = std::sync::mpsc::channel();
        assert!(
            again
                .spawn(move || {
                    let _ = tx.send(7);
                })
                .is_ok()
        );
        assert!(!again.wait());
        assert_eq!(rx.recv().ok(), Some(7));
    }

    #[test]
    fn blocked_jobs_never_keep_another_from_starting() {
        // Every job waits for all of them to have started: with any limit this deadlocks.
        let jobs = Jobs::default();
        let all = 40;
        let barrier = Arc::new(std::sync::Barrier::new(all));
        for _ in 0..all {
            let barrier = barrier.clone();
            let started = jobs.spawn(move || {
                barrier.wait();
            });
            assert!(started.is_ok());
        }
        assert!(!jobs.wait());
    }
}
