//! Every process a program under test started, however it detached itself: each program is
//! started with a mark in its environment (`NETLAB_MARK`), which its children inherit through
//! `fork`, `setsid` and daemonizing alike; at the end, every process that carries the mark is
//! killed. (A process group is not enough: `setsid` leaves it. A cgroup would be, but needs
//! privileges a test runner does not have.) Read from Linux's `/proc`; elsewhere nothing is found.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// How long `kill_all_marked` keeps at it (a process may fork faster than one pass kills).
const KILL_PASSES_FOR: Duration = Duration::from_millis(500);

/// Kills every process that carries `mark` (SIGKILL: they had their SIGTERM with their group),
/// pass after pass until none is left or `KILL_PASSES_FOR` has passed.
pub fn kill_all_marked(mark: &str) {
    let until = Instant::now() + KILL_PASSES_FOR;
    // A process being forked is not in /proc yet: one empty pass right after a kill could miss
    // the child its parent was creating. Two in a row, a few milliseconds apart, do not.
    let mut empty_passes = 0;
    loop {
        let found = marked(mark);
        if found.is_empty() {
            empty_passes += 1;
            if empty_passes == 2 || Instant::now() >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        empty_passes = 0;
        for pid in found {
            kill(pid);
        }
        if Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// SIGKILL to one process.
fn kill(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Makes netlab the reaper of every process its programs orphan (PR_SET_CHILD_SUBREAPER), so
/// that one that left its group and cleared its environment (and so its mark) is still found, as
/// netlab's child, by `end_adopted` when the command ends.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER takes integers only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
}

/// Kills every process netlab adopted (see `adopt_orphans`) and reaps them: called when a
/// command ends, once every program it started has been stopped.
pub fn end_adopted() {
    let me = std::process::id();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return;
    };
    let adopted: Vec<u32> = processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(me))
        .collect();
    for pid in &adopted {
        kill(*pid);
    }
    #[cfg(unix)]
    for pid in adopted {
        let Ok(pid) = i32::try_from(pid) else {
            continue;
        };
        // SAFETY: waitpid(2) on a child of ours, with a valid pointer to a local.
        unsafe {
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
    }
}

/// The parent of `pid` (field 4 of `/proc/PID/stat`).
fn parent_of(pid: u32) -> Option<u32> {
    stat_field(pid, 1)
}

/// A numeric field of `/proc/PID/stat`, counted from the one after the command (which is in
/// parentheses and may hold spaces): 0 is the state, 1 the parent, 2 the process group.
pub fn stat_field(pid: u32, after_command: usize) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(after_command)?.parse().ok()
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
        // Wait for the sleeper itself (the shell's child is `sh`, then `setsid`, which may fork,
        // before it is `sleep`): what is marked on the way changes from one moment to the next.
        let sleeping = || {
            marked(&mark).into_iter().any(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "sleep")
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !sleeping() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(sleeping(), "the detached sleeper never showed up");
        kill_all_marked(&mark);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !marked(&mark).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let survivors: Vec<String> = marked(&mark)
            .into_iter()
            .map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                format!("{pid}: {stat}")
            })
            .collect();
        assert!(
            survivors.is_empty(),
            "still marked after SIGKILL: {survivors:?}"
        );
    }
}
