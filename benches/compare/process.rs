//! Starting processes for the comparison: netlab (built by cargo for this bench) and the
//! reference peers (this same executable, re-run with `--reference-server ROLE`); waiting for
//! them with their peak memory; the scenario files they run.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::reference::Role;

/// A scratch directory for scenario files, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new empty directory under the system's temporary directory.
    pub fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("netlab-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    /// Writes `text` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> std::io::Result<PathBuf> {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The netlab binary cargo built for this bench (release under `cargo bench`).
pub fn netlab() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netlab"))
}

/// A server process that printed `listening on ADDR`; stopped when dropped.
pub struct Server {
    child: Child,
    /// Its stdin: a reference server serves until it closes.
    stdin: Option<ChildStdin>,
    /// The address it listens on.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts a reference server of `role`.
    pub fn reference(role: Role) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command.args(["--reference-server", role.name()]);
        Server::start(command)
    }

    /// Starts `netlab serve -q` on `scenario`.
    pub fn netlab(scenario: &Path) -> anyhow::Result<Server> {
        let mut command = Command::new(netlab());
        command.arg("serve").arg("-q").arg(scenario);
        Server::start(command)
    }

    fn start(mut command: Command) -> anyhow::Result<Server> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            anyhow::bail!("no stdout");
        };
        // The first `listening on ADDR` line gives the address (netlab prints it in its live
        // line; the reference alone on its line). Read on a thread so a silent child cannot hang us.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, addr)) = line.split_once("listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = rx.recv_timeout(Duration::from_secs(10))?;
        server.addr = addr.parse()?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stdin = None;
        // netlab serves until interrupted: SIGINT, as Ctrl-C would; only our own child, by id.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on a child of ours that has not been reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// Runs `netlab ARGS…` to completion, its output discarded (stderr kept if it fails), within
/// `limit` (killed beyond it).
pub fn run_netlab(args: &[&std::ffi::OsStr], limit: Duration) -> anyhow::Result<Finished> {
    let mut command = Command::new(netlab());
    command.args(args);
    run_measured(command, limit)
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
