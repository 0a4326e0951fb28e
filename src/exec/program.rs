//! Programs under test: start a command with its stdout and stderr captured (one thread each,
//! sending what they read over a channel), wait until it is ready or has exited, and stop it
//! (SIGTERM to its whole process group, then SIGKILL after a grace period) whatever happened, so
//! that no process outlives the run.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, unbounded};

use super::cancel::Cancel;
use crate::diagnostic::io_reason;
use crate::scenario::Program;

/// How long a program gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// How long to keep collecting output once the program is gone (a grandchild may hold the pipe).
const OUTPUT_GRACE: Duration = Duration::from_millis(300);
/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(20);

/// Which pipe a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pipe {
    Stdout,
    Stderr,
}

/// A program that netlab started and must stop.
pub struct Running {
    child: Child,
    output: Receiver<(Pipe, Vec<u8>)>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The exit status, once seen.
    status: Option<ExitStatus>,
    stopped: bool,
}

/// What a program did, once it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Its exit code, if it exited by itself (`None`: stopped by netlab or killed by a signal).
    pub code: Option<i32>,
    /// `exited with status 1`, `stopped by netlab at the end of the run`…
    pub status: String,
    /// Whether it exited by itself before netlab stopped it.
    pub exited_early: bool,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// Starts `program` for a peer at `host`:`port` (`{host}`, `{port}`, `NETLAB_HOST`, `NETLAB_PORT`).
pub fn start(program: &Program, host: &str, port: u16) -> Result<Running, String> {
    let argv = program.command_line(host, port)?;
    let Some((command, args)) = argv.split_first() else {
        return Err("the command is empty".into());
    };
    let mut builder = Command::new(command);
    builder
        .args(args)
        .current_dir(&program.dir)
        .env("NETLAB_PORT", port.to_string())
        .env("NETLAB_HOST", host)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut builder, 0);
    let mut child = builder
        .spawn()
        .map_err(|e| format!("cannot start `{command}`: {}", io_reason(&e)))?;
    let (tx, rx) = unbounded();
    for (pipe, reader) in [
        (
            Pipe::Stdout,
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        ),
        (
            Pipe::Stderr,
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        ),
    ] {
        let Some(mut reader) = reader else { continue };
        let tx = tx.clone();
        let _ = std::thread::Builder::new()
            .name(format!("{command} output"))
            .spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 || tx.send((pipe, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            });
    }
    Ok(Running {
        child,
        output: rx,
        stdout: Vec::new(),
        stderr: Vec::new(),
        status: None,
        stopped: false,
    })
}

impl Running {
    /// The exit status, if the program has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until a TCP connection to `addr` succeeds (the probe is closed at once), the
    /// program exits, or `timeout` passes.
    pub fn wait_accepting(
        &mut self,
        addr: SocketAddr,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "exited ({}) before accepting connections",
                    describe(status)
                ));
            }
            if TcpStream::connect_timeout(&addr, POLL * 5).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "did not accept connections on {addr} within {}",
                    humantime::format_duration(timeout)
                ));
            }
            if !cancel.sleep(POLL) {
                return Err("stopped before it was ready".into());
            }
        }
    }

    /// Waits `pause` (a UDP program's `ready_after`); fails if the program exits meanwhile.
    pub fn wait_running(&mut self, pause: Duration, cancel: &Cancel) -> Result<(), String> {
        let deadline = Instant::now() + pause;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Err(format!("exited ({}) before it was ready", describe(status)));
            }
            if !cancel.sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))) {
                return Err("stopped before it was ready".into());
            }
        }
        match self.exited() {
            Some(status) => Err(format!("exited ({}) before it was ready", describe(status))),
            None => Ok(()),
        }
    }

    /// Waits until the program exits by itself; `false` if `deadline` passed or the run stopped.
    pub fn wait_exit(&mut self, deadline: Instant, cancel: &Cancel) -> bool {
        loop {
            if self.exited().is_some() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !cancel.sleep(POLL.min(left)) {
                return false;
            }
        }
    }

    /// Stops the program (if it still runs) and collects all it wrote.
    pub fn stop(mut self) -> Finished {
        let exited_early = self.exited().is_some();
        if !exited_early {
            signal_group(&mut self.child, false);
            let deadline = Instant::now() + STOP_GRACE;
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            if self.exited().is_none() {
                signal_group(&mut self.child, true);
                self.status = self.child.wait().ok();
            }
        }
        // The group may hold grandchildren still; end them too.
        signal_group(&mut self.child, true);
        self.stopped = true;
        let until = Instant::now() + OUTPUT_GRACE;
        while let Ok((pipe, chunk)) = self.output.recv_deadline(until) {
            match pipe {
                Pipe::Stdout => self.stdout.extend_from_slice(&chunk),
                Pipe::Stderr => self.stderr.extend_from_slice(&chunk),
            }
        }
        let code = if exited_early {
            self.status.and_then(|s| s.code())
        } else {
            None
        };
        let status = match (exited_early, self.status) {
            (true, Some(status)) => describe(status),
            _ => "stopped by netlab at the end of the run".to_string(),
        };
        Finished {
            code,
            status,
            exited_early,
            stdout: std::mem::take(&mut self.stdout),
            stderr: std::mem::take(&mut self.stderr),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.stopped {
            signal_group(&mut self.child, true);
            let _ = self.child.wait();
        }
    }
}

/// `exit code 1`, `killed by signal 9`.
fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit code {code}");
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    status.to_string()
}

/// Sends SIGTERM (or SIGKILL when `kill`) to the program's process group.
fn signal_group(child: &mut Child, kill: bool) {
    #[cfg(unix)]
    {
        let Ok(pid) = i32::try_from(child.id()) else {
            return;
        };
        let signal = if kill { libc::SIGKILL } else { libc::SIGTERM };
        // SAFETY: kill(2) with a negative pid signals the process group the child leads (it was
        // started with process_group(0)); it has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
    #[cfg(not(unix))]
    if kill {
        let _ = child.kill();
    }
}

/// The last `lines` lines of some output, as text (for messages).
pub fn tail(output: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(output);
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
