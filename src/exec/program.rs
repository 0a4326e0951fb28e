//! Programs under test: start a command (in its scenario's directory) with its stdout and stderr
//! captured into bounded buffers by one thread each, wait until it is ready (a socket on its port
//! that belongs to it) or has failed, notice when it exits by itself, and stop it (SIGTERM to its
//! whole process group, then SIGKILL after a grace period) whatever happened, so that no process
//! outlives the run.

use std::collections::VecDeque;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, bounded};

use super::cancel::Cancel;
use super::descendants;
use super::ports::{self, Holder};
use crate::diagnostic::io_reason;
use crate::event::{PROGRAM_OUTPUT_HEAD, ProgramFailureKind, ProgramStatus, ReadyBound};
use crate::plan::{TimeScale, deadline_after};
use crate::scenario::{Program, Protocol, TlsFiles};

/// How long a program gets between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// How long to keep collecting output once the program is gone (a grandchild may hold the pipe).
const OUTPUT_GRACE: Duration = Duration::from_millis(300);
/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(20);
/// Lines of stderr quoted when a program fails.
pub const STDERR_LINES: usize = 15;
/// The first bytes of each output kept whole (the contract's bound, which transcripts state).
const KEPT_HEAD: usize = PROGRAM_OUTPUT_HEAD;
/// The last bytes of each output kept past the head (what a failure quotes).
const KEPT_TAIL: usize = 1024 * 1024;

/// What a program wrote on one pipe, in bounded memory: its first `KEPT_HEAD` bytes, then its
/// last `KEPT_TAIL` bytes and how many were dropped between.
#[derive(Debug, Default)]
struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    dropped: u64,
}

impl Captured {
    fn push(&mut self, mut bytes: &[u8]) {
        let room = KEPT_HEAD.saturating_sub(self.head.len());
        let (into_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(into_head);
        bytes = rest;
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(KEPT_TAIL);
        self.tail.drain(..over);
        self.dropped += over as u64;
    }

    /// Everything kept, with a marker where bytes were dropped.
    fn bytes(&self) -> Vec<u8> {
        let mut all = self.head.clone();
        if self.dropped > 0 {
            all.extend_from_slice(format!("\n[… {} bytes not kept …]\n", self.dropped).as_bytes());
        }
        all.extend(self.tail.iter());
        all
    }
}

/// A pipe's buffer, shared between its reader thread and the program's owner.
type SharedOutput = Arc<Mutex<Captured>>;

fn lock(output: &SharedOutput) -> MutexGuard<'_, Captured> {
    // A reader thread cannot panic while holding the lock; if one did, the bytes are still fine.
    output
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A program that netlab started and must stop.
pub struct Running {
    child: Child,
    /// The command line as started, placeholders filled in (for messages).
    command: String,
    stdout: SharedOutput,
    stderr: SharedOutput,
    /// Closed once both reader threads have seen the end of their pipe.
    output_done: Receiver<()>,
    /// The mark in the environment of every process it starts (see `descendants`).
    mark: String,
    /// The exit status, once seen.
    status: Option<ProgramStatus>,
    /// Set by `terminate`: how it had ended by itself before it was asked to stop, if it had.
    exited_early: Option<Option<ProgramStatus>>,
    stopped: bool,
}

/// What a program did, once it is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// How it ended, if it exited by itself before netlab stopped it.
    pub exited_early: Option<ProgramStatus>,
    /// What it wrote to stdout (whole, unless `stdout_dropped`).
    pub stdout: Vec<u8>,
    /// Bytes of its stdout not kept (past the first `KEPT_HEAD` and before the last `KEPT_TAIL`):
    /// when not zero, `stdout` cannot be judged.
    pub stdout_dropped: u64,
    /// What it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// Why a program did not become ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// The program's failure.
    Failed(ProgramFailureKind),
    /// The run was stopped meanwhile.
    Stopped,
}

/// A command line for messages: arguments joined by spaces, quoted where they hold spaces.
pub fn shown_command(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                format!("'{}'", arg.replace('\'', "'\\''"))
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts `program` for a peer at `host`:`port` (`{host}`, `{port}`, `NETLAB_HOST`, `NETLAB_PORT`)
/// in the scenario's directory (a client program as `instance`: its label and index, for
/// `{client}` and `{instance}`), given the run's TLS files (`{ca_file}`, `NETLAB_CA_FILE`…),
/// with the run's time scale in `NETLAB_TIME_SCALE` (so that its own
/// timers can follow: a student's one-second retry at `--time-scale 0.5`). An error (the command cannot be executed, the directory cannot
/// be entered) is the environment's, and its message names the command as it was filled in.
pub fn start(
    program: &Program,
    host: &str,
    port: u16,
    instance: Option<(&str, u32)>,
    (scale, files): (TimeScale, &TlsFiles),
) -> Result<Running, String> {
    let argv = program.command_line(host, port, instance, files)?;
    let command = shown_command(&argv);
    let Some((executable, args)) = argv.split_first() else {
        return Err("the command is empty".into());
    };
    // spawn() reports a missing directory as a missing program: look first, to say which.
    if let Err(e) = std::fs::read_dir(&program.dir) {
        return Err(format!(
            "cannot start `{command}` in `{}`: {}",
            program.dir.display(),
            io_reason(&e)
        ));
    }
    let mut builder = Command::new(executable);
    builder
        .args(args)
        .current_dir(&program.dir)
        .env("NETLAB_PORT", port.to_string())
        .env("NETLAB_HOST", host)
        .env("NETLAB_TIME_SCALE", scale.factor().to_string())
        .envs(
            [
                ("NETLAB_CA_FILE", &files.ca),
                ("NETLAB_CERT_FILE", &files.cert),
                ("NETLAB_KEY_FILE", &files.key),
            ]
            .into_iter()
            .filter_map(|(name, file)| Some((name, file.as_ref()?))),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mark = descendants::new_mark();
    builder.env(descendants::MARK_VARIABLE, &mark);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut builder, 0);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the child between fork and exec, and only calls prctl(2), which
    // is async-signal-safe and touches no memory of the parent's.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut builder, || {
            // Should netlab die without stopping it (SIGKILL), the program dies too.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = builder
        .spawn()
        .map_err(|e| not_started(&command, executable, &program.dir, &e))?;
    let stdout = SharedOutput::default();
    let stderr = SharedOutput::default();
    let (done_tx, output_done) = bounded::<()>(0);
    let pipes = [
        (
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
            stdout.clone(),
        ),
        (
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
            stderr.clone(),
        ),
    ];
    for (reader, into) in pipes {
        let Some(mut reader) = reader else { continue };
        // Each reader holds a sender: the channel closes when both have seen the pipe's end.
        let done = done_tx.clone();
        let _ = std::thread::Builder::new()
            .name(format!("{executable} output"))
            .spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    lock(&into).push(&buf[..n]);
                }
                drop(done);
            });
    }
    Ok(Running {
        child,
        command,
        stdout,
        stderr,
        output_done,
        mark,
        status: None,
        exited_early: None,
        stopped: false,
    })
}

/// The message for a program that could not be started at all.
fn not_started(command: &str, executable: &str, dir: &Path, error: &std::io::Error) -> String {
    let mut message = format!("cannot start `{command}`: {}", io_reason(error));
    if error.kind() == std::io::ErrorKind::NotFound && !executable.contains('/') {
        message.push_str(&format!(" (`{executable}` is not on the PATH)"));
    } else if error.kind() == std::io::ErrorKind::NotFound && dir.join(executable).is_file() {
        // execve says ENOENT for a script whose interpreter is missing.
        message.push_str(&format!(
            " (`{executable}` exists: is the interpreter on its `#!` line installed?)"
        ));
    } else if error.kind() == std::io::ErrorKind::NotFound {
        message.push_str(&format!(
            " (`{executable}` is looked for from `{}`)",
            dir.display()
        ));
    }
    message
}

impl Running {
    /// The command line as started.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The exit status, if the program has exited.
    pub fn exited(&mut self) -> Option<ProgramStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten().map(status_of);
        }
        self.status
    }

    /// Waits until the program is ready: a socket of `protocol` bound on `dial`'s port (TCP:
    /// listening) belongs to it or to a process it started. Where `/proc` cannot tell, a TCP
    /// program is ready when a connection succeeds, a UDP one when it still runs after
    /// `ready_after`. Fails if it exits first, or is not ready within `wait` (the first of the
    /// pair; the second is the declared bound that gave it, for the message).
    pub fn wait_ready(
        &mut self,
        protocol: Protocol,
        dial: SocketAddr,
        ready_after: Duration,
        (wait, within): (Duration, ReadyBound),
        cancel: &Cancel,
    ) -> Result<(), NotReady> {
        let started = Instant::now();
        let deadline = deadline_after(started, wait);
        let group = self.child.id();
        let mut holder = None;
        loop {
            if let Some(status) = self.exited() {
                return Err(NotReady::Failed(ProgramFailureKind::ExitedBeforeReady(
                    status,
                )));
            }
            match ports::holder(protocol, dial.port(), Some((group, &self.mark))) {
                Holder::Group => return Ok(()),
                Holder::Other(who) => holder = Some(who),
                Holder::Nobody => holder = None,
                Holder::Unknown => {
                    let ready = match protocol {
                        Protocol::Tcp => TcpStream::connect_timeout(&dial, POLL * 5).is_ok(),
                        Protocol::Udp => started.elapsed() >= ready_after,
                    };
                    if ready {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(NotReady::Failed(ProgramFailureKind::NotReady {
                    within,
                    port: dial.port(),
                    holder,
                }));
            }
            if !cancel.sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))) {
                return Err(NotReady::Stopped);
            }
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

    /// The last lines of its stderr so far; once it has exited, after its output ended (or a
    /// short grace: a grandchild may hold the pipe open).
    pub fn stderr_tail(&mut self) -> String {
        if self.exited().is_some() {
            let _ = self
                .output_done
                .recv_deadline(Instant::now() + OUTPUT_GRACE);
        }
        tail(&lock(&self.stderr).bytes(), STDERR_LINES)
    }

    /// Stops the program (if it still runs) and collects what it wrote.
    pub fn stop(mut self) -> Finished {
        self.terminate();
        self.finish(deadline_after(Instant::now(), STOP_GRACE))
    }

    /// Asks the program to stop (SIGTERM to its group) unless it has exited already; returns
    /// how it ended if it had exited by itself. Several programs are all asked at once, then
    /// `finish`ed with one shared grace: none can exit unseen while another is being stopped.
    pub fn terminate(&mut self) -> Option<ProgramStatus> {
        let exited_early = self.exited();
        if exited_early.is_none() {
            signal_group(&mut self.child, false);
        }
        self.exited_early = Some(exited_early);
        exited_early
    }

    /// Waits until the program has exited or `grace_until` passes (then SIGKILL), ends every
    /// process it started, and collects what it wrote.
    pub fn finish(mut self, grace_until: Instant) -> Finished {
        let exited_early = match self.exited_early {
            Some(early) => early,
            None => self.terminate(),
        };
        while self.exited().is_none() && Instant::now() < grace_until {
            std::thread::sleep(POLL.min(grace_until.saturating_duration_since(Instant::now())));
        }
        if self.exited().is_none() {
            signal_group(&mut self.child, true);
            let _ = self.child.wait();
        }
        // The group may hold grandchildren still, and detached descendants carry the mark.
        signal_group(&mut self.child, true);
        descendants::kill_all_marked(&self.mark);
        self.stopped = true;
        let _ = self
            .output_done
            .recv_deadline(Instant::now() + OUTPUT_GRACE);
        let (stdout, stdout_dropped) = {
            let captured = lock(&self.stdout);
            (captured.bytes(), captured.dropped)
        };
        let stderr = lock(&self.stderr).bytes();
        Finished {
            exited_early,
            stdout,
            stdout_dropped,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.stopped {
            signal_group(&mut self.child, true);
            descendants::kill_all_marked(&self.mark);
            let _ = self.child.wait();
        }
    }
}

/// The typed status of an exit.
fn status_of(status: ExitStatus) -> ProgramStatus {
    if let Some(code) = status.code() {
        return ProgramStatus::Exited(code);
    }
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return ProgramStatus::Signalled(signal);
    }
    ProgramStatus::Exited(-1)
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

/// Most bytes of output a message quotes (its last ones).
const TAIL_BYTES: usize = 4096;

/// The last `lines` lines of some output, and at most its last `TAIL_BYTES` bytes, as text (for
/// messages: a program may write one line of megabytes).
pub fn tail(output: &[u8], lines: usize) -> String {
    let mut output = &output[output.len().saturating_sub(TAIL_BYTES)..];
    // Not from the middle of a UTF-8 character (at most 3 continuation bytes).
    for _ in 0..3 {
        match output.split_first() {
            Some((byte, rest)) if byte & 0b1100_0000 == 0b1000_0000 => output = rest,
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(output);
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_output_keeps_its_head_and_tail_in_bounded_memory() {
        let mut captured = Captured::default();
        for _ in 0..((KEPT_HEAD + KEPT_TAIL) / 4096 + 100) {
            captured.push(&[b'a'; 4096]);
        }
        captured.push(b"the end");
        assert_eq!(captured.head.len(), KEPT_HEAD);
        assert_eq!(captured.tail.len(), KEPT_TAIL);
        assert!(captured.dropped > 0);
        assert!(captured.bytes().ends_with(b"the end"));
    }

    #[test]
    fn a_tail_is_bounded_in_bytes_too() {
        let long_line = vec![b'x'; 1 << 20];
        assert!(tail(&long_line, 15).len() <= TAIL_BYTES);
    }

    #[test]
    fn a_tail_does_not_start_inside_a_character() {
        // "é" is two bytes: cut so that the tail would start on its second.
        let mut output = "é".repeat(TAIL_BYTES).into_bytes();
        output.push(b'!');
        assert!(!tail(&output, 15).contains('\u{FFFD}'));
    }

    #[test]
    fn commands_are_shown_with_their_spaces_quoted() {
        let argv = ["python3", "my server.py", "8080"].map(String::from);
        assert_eq!(shown_command(&argv), "python3 'my server.py' 8080");
    }
}
