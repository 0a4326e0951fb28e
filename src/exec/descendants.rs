//! Every process a program under test started, however it detached itself: each program is
//! started with a mark in its environment (`NETLAB_MARK`), which its children inherit through
//! `fork`, `setsid` and daemonizing alike; at the end, every process that carries the mark is
//! killed. (A process group is not enough: `setsid` leaves it. A cgroup would be, but needs
//! privileges a test runner does not have.) Read from Linux's `/proc`; elsewhere nothing is found.

use std::sync::atomic::{AtomicU64, Ordering};

/// The name of the variable that marks a program's processes.
pub const MARK_VARIABLE: &str = "NETLAB_MARK";

/// A mark no other program of this or another netlab has.
pub fn new_mark() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        fastrand::u64(..)
    )
}

/// Whether process `pid` carries `mark` in its environment.
pub fn is_marked(pid: u32, mark: &str) -> bool {
    let Ok(environment) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{MARK_VARIABLE}={mark}");
    environment
        .split(|b| *b == 0)
        .any(|entry| entry == wanted.as_bytes())
}

/// The processes that carry `mark`.
pub fn marked(mark: &str) -> Vec<u32> {
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id() && is_marked(*pid, mark))
        .collect()
}

/// Kills every process that carries `mark` (SIGKILL: they had their SIGTERM with their group).
pub fn kill_marked(mark: &str) {
    #[cfg(unix)]
    for pid in marked(mark) {
        let Ok(pid) = i32::try_from(pid) else {
            continue;
        };
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_grandchild_is_found_by_its_mark_and_killed() {
        if !std::path::Path::new("/proc/self/environ").exists() {
            eprintln!("skipped: no /proc here");
            return;
        }
        let mark = new_mark();
        // The shell starts a sleeper in a new session (as a daemon would), then exits.
        let status = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 30 </dev/null >/dev/null 2>&1 &"])
            .env(MARK_VARIABLE, &mark)
            .status();
        assert!(status.is_ok_and(|s| s.success()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while marked(&mark).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(marked(&mark).len(), 1);
        kill_marked(&mark);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !marked(&mark).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(marked(&mark).is_empty());
    }
}
