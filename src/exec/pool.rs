//! The threads of every run: a cached pool. A scenario starts a thread per server, per client
//! instance and per connection; starting and joining a thread costs tens of microseconds, more
//! than a whole loopback exchange, so finished threads wait a while for the next job instead of
//! exiting. A job goes to an idle thread if there is one, else to a new thread: there is no
//! limit and no queue (a job that blocks on a socket must never keep another from starting).
//! Idle threads exit after `IDLE_EXIT`, or at once when `end_idle_threads` asks them to.
//!
//! Invariant: `idle` counts the threads waiting for an order that no one has claimed yet. Whoever
//! takes one off it (a `spawn`, `end_idle_threads`) sends exactly one order; a thread that takes
//! itself off after `IDLE_EXIT` leaves instead. So every order sent finds a thread to take it.
//!
//! A run waits for its own jobs with a `Jobs` group, and learns whether one of them panicked.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use crossbeam::sync::WaitGroup;

/// How long an idle thread waits for a job before it exits.
pub const IDLE_EXIT: Duration = Duration::from_secs(2);

/// The stack of a pool thread: connections and clients hold their buffers on the heap, so a
/// small stack is plenty, and thousands of them stay cheap.
pub const THREAD_STACK: usize = 256 * 1024;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// What an idle thread is sent.
enum Order {
    /// Run this job, then wait for the next order.
    Run(Job),
    /// Exit now (`end_idle_threads`).
    Leave,
}

struct Pool {
    orders: Sender<Order>,
    waiting: Receiver<Order>,
    /// Threads waiting for an order that no one has claimed yet.
    idle: AtomicUsize,
    /// Pool threads alive, running a job or idle.
    live: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (orders, waiting) = unbounded();
        Pool {
            orders,
            waiting,
            idle: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
        }
    })
}

impl Pool {
    /// Takes one idle thread off `idle`, if there is one: the caller must then send it exactly
    /// one order.
    fn claim_idle(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Runs `job` on an idle pool thread, or on a new one.
fn spawn(job: Job) -> io::Result<()> {
    let pool = pool();
    if pool.claim_idle() {
        // A claimed thread stays until it has received an order (see `worker`).
        return pool
            .orders
            .send(Order::Run(job))
            .map_err(|_| io::Error::other("the thread pool is gone"));
    }
    pool.live.fetch_add(1, Ordering::AcqRel);
    let started = std::thread::Builder::new()
        .name("netlab".into())
        .stack_size(THREAD_STACK)
        .spawn(move || worker(pool, job));
    if started.is_err() {
        pool.live.fetch_sub(1, Ordering::AcqRel);
    }
    started.map(drop)
}

/// Counts a pool thread out of `live` when it ends, however it ends.
struct Alive(&'static AtomicUsize);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn worker(pool: &'static Pool, first: Job) {
    let _alive = Alive(&pool.live);
    first();
    loop {
        pool.idle.fetch_add(1, Ordering::AcqRel);
        let order = match pool.waiting.recv_timeout(IDLE_EXIT) {
            Ok(order) => order,
            Err(RecvTimeoutError::Timeout) => {
                // Leave, unless someone claimed this idle slot meanwhile: then an order is on
                // its way, and some waiting thread must take it.
                if pool.claim_idle() {
                    return;
                }
                match pool.waiting.recv() {
                    Ok(order) => order,
                    Err(_) => return,
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match order {
            Order::Run(job) => job(),
            Order::Leave => return,
        }
    }
}

/// Ends every pool thread as soon as it is idle, and waits (up to `within`, checking every
/// millisecond) until none is left; false if some were still running a job then. For a process
/// that counts its threads, such as the leak test: a thread kept for the next job is not a leak,
/// and need not be waited for `IDLE_EXIT`. A job started meanwhile gets a thread as ever.
pub fn end_idle_threads(within: Duration) -> bool {
    let pool = pool();
    let deadline = Instant::now() + within;
    loop {
        while pool.claim_idle() {
            // Cannot fail: the pool holds both ends of the channel, for the life of the process.
            let _ = pool.orders.send(Order::Leave);
        }
        if pool.live.load(Ordering::Acquire) == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
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

    /// Sends on its channel when the thread holding it ends (a thread-local's destructor).
    struct SaysWhenItEnds(std::sync::mpsc::Sender<()>);

    impl Drop for SaysWhenItEnds {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    thread_local! {
        static ENDING: std::cell::RefCell<Option<SaysWhenItEnds>> =
            const { std::cell::RefCell::new(None) };
    }

    #[test]
    fn an_idle_thread_ends_when_told_without_waiting_for_idle_exit() {
        let (ended, ends) = std::sync::mpsc::channel();
        let jobs = Jobs::default();
        let started = jobs.spawn(move || {
            ENDING.with(|ending| *ending.borrow_mut() = Some(SaysWhenItEnds(ended)));
        });
        assert!(started.is_ok());
        assert!(!jobs.wait());
        // Other tests may keep pool threads busy meanwhile: not all need to end, only this one.
        let _ = end_idle_threads(IDLE_EXIT / 4);
        assert!(
            ends.recv_timeout(IDLE_EXIT / 2).is_ok(),
            "the idle thread was still there"
        );
        // The pool goes on: the next job gets a thread.
        let again = Jobs::default();
        assert!(again.spawn(|| {}).is_ok());
        assert!(!again.wait());
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
