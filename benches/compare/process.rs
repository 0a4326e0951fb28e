//! Starting processes for the comparison: netlab (built by cargo for this bench) and the
//! reference peers (this same executable, re-run with `--reference-server ROLE`); waiting for
//! them with their peak memory; the scenario files they run.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

pub use super::measured::{Finished, run_measured};
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

    /// Starts the reference TLS echo server, with the chain and key of `pki`.
    pub fn reference_tls(pki: &super::tls::Pki) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command.args(["--reference-server", "tls-echo"]);
        command.arg(&pki.cert_file).arg(&pki.key_file);
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
                // The address is the first word after it (a TLS server's line says more).
                if let Some((_, rest)) = line.split_once("listening on ")
                    && let Some(addr) = rest.split_whitespace().next()
                {
                    let _ = tx.send(addr.to_string());
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

/// Runs `netlab ARGS…` to completion, its output discarded (stderr kept if it fails), within
/// `limit` (killed beyond it).
pub fn run_netlab(args: &[&std::ffi::OsStr], limit: Duration) -> anyhow::Result<Finished> {
    let mut command = Command::new(netlab());
    command.args(args);
    run_measured(command, limit)
}
