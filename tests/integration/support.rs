use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The project's root (where Cargo.toml is).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `netlab` binary, run from the project root, without colour or a time scale from outside.
pub fn netlab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netlab"));
    command
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("NETLAB_TIME_SCALE")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::null());
    command
}

/// Runs `netlab ARGS...` to completion.
pub fn run(args: &[&str]) -> Output {
    netlab().args(args).output().expect("netlab runs")
}

/// The exit code, stdout and stderr of a finished run, as text.
pub fn text(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `python3`, if this machine has it; otherwise prints why the caller skips (or, where
/// `NETLAB_REQUIRE_PYTHON` is set, as in CI, fails: CI must run these tests).
pub fn python3(test: &str) -> Option<&'static str> {
    if runs("python3") {
        Some("python3")
    } else {
        assert!(
            std::env::var_os("NETLAB_REQUIRE_PYTHON").is_none(),
            "{test}: python3 is not installed, and NETLAB_REQUIRE_PYTHON says it must run"
        );
        eprintln!("skipped {test}: python3 is not installed");
        None
    }
}

/// Whether `program` (probed with `probe`, e.g. `["version"]`) is installed; where it is not,
/// prints why the caller skips, or fails where `require` (an environment variable `.ci/run`
/// sets, as `NETLAB_REQUIRE_OPENSSL`) says CI must run the test.
pub fn installed(test: &str, program: &str, probe: &[&str], require: &str) -> bool {
    let found = Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os(require).is_none(),
            "{test}: {program} is not installed, and {require} says it must run"
        );
        eprintln!("skipped {test}: {program} is not installed");
    }
    found
}

/// A program of the tutorial in `../shared/tutorial/`, if this checkout has it beside it.
pub fn tutorial_program(test: &str, name: &str) -> Option<PathBuf> {
    let path = root().join("..").join("shared").join("tutorial").join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped {test}: {} is not here (only in the netlab workplace)",
            path.display()
        );
        None
    }
}

/// One of netlab's own test peers in `tests/peers/`.
pub fn own_peer(name: &str) -> PathBuf {
    root().join("tests").join("peers").join(name)
}

/// A port that was free a moment ago (for peers that cannot bind port 0 and report it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port that was free a moment ago.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed (by its own id) if the test ends early.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` with its stdout piped (stderr dropped) and waits, at most `timeout`, for a
/// line of its stdout that contains `ready`: the child (killed if the test ends early), the rest
/// of its stdout, and that line.
pub fn start_until(mut command: Command, ready: &str, timeout: Duration) -> (Guard, Lines, String) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = Guard(child);
    let lines = Lines::of(guard.0.stdout.take().unwrap());
    let line = lines.wait_for(ready, timeout);
    (guard, lines, line)
}

/// Lines of a child's pipe, readable with a timeout.
pub struct Lines(mpsc::Receiver<String>);

impl Lines {
    pub fn of(pipe: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after nobody listens: a child writing to a closed pipe would die.
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        Self(rx)
    }

    /// Waits (at most `timeout`) for a line containing `needle`; returns it.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.0.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line containing {needle:?} within {timeout:?}; saw {seen:?}"),
            }
        }
    }

    /// Everything that is left, once the child has exited.
    pub fn rest(self) -> String {
        let mut out = String::new();
        while let Ok(line) = self.0.recv_timeout(Duration::from_secs(5)) {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// Writes `text` to a fresh temporary directory as `name`; returns its path.
pub fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-test-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Writes `yaml` to a new temporary file `name` and runs `netlab COMMAND FILE` on it (`run`,
/// `check`…): its exit code, stdout and stderr.
pub fn netlab_on(command: &str, name: &str, yaml: &str) -> (i32, String, String) {
    let file = temp_file(name, yaml);
    text(&netlab().arg(command).arg(&file).output().unwrap())
}

/// insta settings that hide what varies between runs (the time a run took).
pub fn stable_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r" in \d+\.\d+s", " in [time]");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Sends SIGINT to a child (by its own id), as Ctrl-C would.
pub fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Runs `scenario` in this process, every delay × `scale`: whether it passed, and its
/// transcript as text.
pub fn run_in_process(scenario: netlab::scenario::Scenario, scale: f64) -> (bool, String) {
    let options = netlab::exec::RunOptions {
        time_scale: netlab::plan::TimeScale::new(scale).unwrap(),
        ..netlab::exec::RunOptions::default()
    };
    let result = netlab::suite::run_case(&std::sync::Arc::new(scenario), &options, false);
    assert!(result.verdict.is_ok(), "{:?}", result.verdict);
    (result.ok(), result.transcript)
}

/// `xmllint` and Jenkins' JUnit schema (junit-10.xsd, at `NETLAB_JUNIT_XSD`: `.ci/run` fetches
/// it), if this machine has both; otherwise prints why the caller skips (or, where
/// `NETLAB_REQUIRE_XMLLINT` is set, as in CI, fails: CI must run these tests).
pub fn junit_schema(test: &str) -> Option<PathBuf> {
    let xmllint = Command::new("xmllint")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let schema = std::env::var_os("NETLAB_JUNIT_XSD")
        .map(PathBuf::from)
        .filter(|path| path.is_file());
    let missing = match (&schema, xmllint) {
        (Some(schema), true) => return Some(schema.clone()),
        (None, true) => {
            "NETLAB_JUNIT_XSD does not name junit-10.xsd (`.ci/fetch-junit-xsd` fetches it)"
        }
        (_, false) => "xmllint is not installed (Debian: libxml2-utils)",
    };
    assert!(
        std::env::var_os("NETLAB_REQUIRE_XMLLINT").is_none(),
        "{test}: {missing}, and NETLAB_REQUIRE_XMLLINT says it must run"
    );
    eprintln!("skipped {test}: {missing}");
    None
}

/// Validates the XML file `report` against `schema` with xmllint: its complaints, if any.
pub fn xmllint_errors(schema: &Path, report: &Path) -> Option<String> {
    let output = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(schema)
        .arg(report)
        .output()
        .expect("xmllint runs");
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `netlab ARGS…` (grade, lab): its exit code, stdout and stderr.
pub fn netlab_with<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    text(&netlab().args(args).output().unwrap())
}

/// Whether `program --version` runs and succeeds on this machine.
pub fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `netlab ARGS FILE` (a `serve`) and waits for its line containing `ready`, which ends
/// with an address: the child, its other lines, and that address.
pub fn serving(args: &[&str], file: &Path, ready: &str) -> (Guard, Lines, std::net::SocketAddr) {
    let mut command = netlab();
    command.args(args).arg(file);
    let (child, lines, line) = start_until(command, ready, Duration::from_secs(20));
    let addr = line.rsplit(' ').next().unwrap().parse().unwrap();
    (child, lines, addr)
}

/// Sends "hi" to the echo server behind `addr` (`reply: "[{data}]"`) and checks the answer.
pub fn say_hi(addr: std::net::SocketAddr) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"hi").unwrap();
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"[hi]");
}
