//! Running a process to its end and measuring it: wall time and peak resident memory (from
//! `wait4`), with a watchdog that kills it past a limit. Shared by the comparison bench and
//! the end-to-end tests that bound netlab's memory (`tests/integration/load.rs` includes it).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How a finished process went.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// Its exit code (-1 if killed by a signal).
    pub code: i32,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// Peak resident memory, in bytes (from wait4's rusage).
    pub peak_rss: u64,
}

/// Runs `command` to completion and measures it; kills it if it outlives `limit`.
pub fn run_measured(mut command: Command, limit: Duration) -> anyhow::Result<Finished> {
    let start = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = i32::try_from(child.id())?;
    // A watchdog kills the child past the limit. The child is reaped only after the watchdog is
    // joined, so its pid cannot have been reused when the watchdog signals it.
    let (done, stop_watchdog) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if stop_watchdog.recv_timeout(limit).is_err() {
            // SAFETY: kill(2) on our own child, not reaped yet (see above).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            return true;
        }
        false
    });
    // SAFETY: an all-zero siginfo_t is a valid value to be written over.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child; WNOWAIT leaves it unreaped (a zombie keeps its pid).
    let waited = unsafe {
        libc::waitid(
            libc::P_PID,
            u32::try_from(pid)?,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    let wall = start.elapsed();
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be written over.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own exited child, with valid pointers.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != 0 || reaped != pid {
        anyhow::bail!(
            "waiting for {command:?} failed: {}",
            std::io::Error::last_os_error()
        );
    }
    if killed {
        anyhow::bail!("{command:?} took longer than {limit:?} and was killed");
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Finished {
        code,
        wall,
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    })
}
