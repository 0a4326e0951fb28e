//! `netlab record`: a proxy between a real client and a real server that writes what went through
//! it as a runnable scenario (`recording`), then replays that scenario once and keeps its
//! transcript as its snapshot. The proxy is a scenario of one proxy server, run by `exec` as any
//! other, until Ctrl-C or `--connections N`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anstream::ColorChoice;
use crossbeam::channel::bounded;
use regex::Regex;

use super::args::RecordArgs;
use super::interrupt::{Interrupt, receiver, unless_interrupted};
use super::output::{Output, run_error_text};
use crate::event::{EventKind, Origin, ServerAction};
use crate::exec::{self, RunOptions};
use crate::exit::{Bug, Exit};
use crate::outcome::Verdict;
use crate::recording::{self, Recorded, quoted};
use crate::report::LiveView;
use crate::scenario::load_source;
use crate::snapshot;
use crate::source::SourceFile;

/// Runs `netlab record`; returns the exit code.
pub fn record(args: &RecordArgs, choice: ColorChoice) -> Exit {
    let mut output = Output::new(choice);
    let checked = match check(args) {
        Ok(checked) => checked,
        Err(message) => {
            output.warn(&format!("error: {message}"));
            return Exit::Input;
        }
    };
    let proxy = match proxy_scenario(checked.listen, &args.to, args.udp) {
        Ok(proxy) => Arc::new(proxy),
        Err(bug) => {
            output.bug(&bug);
            return Exit::Bug;
        }
    };
    let interrupt = Interrupt::install();
    // Stops the proxy: Ctrl-C, or the `--connections`th connection over.
    let (stop, stopped) = bounded::<()>(1);
    if let Some(ctrl_c) = receiver(interrupt.as_ref()) {
        let stop = stop.clone();
        // Waits for the signal for as long as the process lives (netlab exits after a run).
        let _ = std::thread::Builder::new()
            .name("record-stop".into())
            .spawn(move || {
                let _ = ctrl_c.recv();
                let _ = stop.try_send(());
            });
    }
    let until = match args.connections {
        Some(n) if args.udp => format!("{n} sender{} went quiet", if n == 1 { "" } else { "s" }),
        Some(n) => format!("{n} connection{}", if n == 1 { "" } else { "s" }),
        None => "Ctrl-C".to_string(),
    };
    // Over udp, nothing ends a sender's exchange: `--connections N` stops once N were heard
    // and nothing went either way for `QUIET`.
    let quiet = match (args.udp, args.connections) {
        (true, Some(n)) => Some(QuietWatch::start(n, stop.clone())),
        _ => None,
    };
    output.say(&format!(
        "── recording {} → {} until {until}",
        checked.listen, args.to
    ));
    let options = RunOptions {
        time_scale: Default::default(),
        interrupt: Some(stopped),
        forever: true,
        // Only what the proxy forwarded is kept (below), not every event of the run.
        discard_events: true,
    };
    let mut served = Vec::new();
    let mut live = LiveView::new(&proxy);
    // The connections over before the recording stopped, in the order they ended.
    let mut finished = Vec::new();
    let mut asked_to_stop = false;
    let result = exec::run(&proxy, &options, &mut |event| {
        if let (Origin::Server(_), EventKind::Listening { addr, .. }) = (&event.origin, &event.kind)
        {
            output.say(&format!("listening on {addr}"));
            return;
        }
        for line in live.lines(event, true) {
            output.say(&line);
        }
        if let EventKind::Served(served_event) = &event.kind {
            served.push(event.clone());
            if let Some(quiet) = &quiet {
                let first = matches!(served_event.action, ServerAction::Accepted { .. });
                quiet.heard(first);
            }
            // A udp sender's exchange is whole from its first datagram on (none ends it).
            if let (true, Origin::Connection(id), ServerAction::Accepted { .. }) =
                (args.udp, &event.origin, &served_event.action)
                && args.connections.is_none_or(|n| (finished.len() as u64) < n)
            {
                finished.push(*id);
            }
        }
        // What ends once the recording is stopping was cut short by it.
        let stopping = asked_to_stop || interrupt.as_ref().is_some_and(Interrupt::fired);
        if let (Origin::Connection(id), EventKind::ConnectionEnded) = (&event.origin, &event.kind)
            && !stopping
        {
            finished.push(*id);
            if args.connections.is_some_and(|n| finished.len() as u64 >= n) {
                asked_to_stop = true;
                let _ = stop.try_send(());
            }
        }
    });
    for line in live.finish(true) {
        output.say(&line);
    }
    drop(quiet);
    if let Err(error) = result {
        output.warn(&run_error_text(&args.output, &error));
        return Exit::of_error(&error);
    }
    // With `--connections N`, the first N over; at Ctrl-C, every one, those still open said so.
    let every = recording::exchanges(0, &served);
    let seen = every.len();
    let exchanges: Vec<recording::Exchange> = every
        .into_iter()
        .filter(|(id, _)| args.connections.is_none() || finished.contains(id))
        .map(|(id, mut exchange)| {
            exchange.unfinished = !finished.contains(&id);
            exchange
        })
        .collect();
    if let Some(n) = args.connections
        && seen > exchanges.len()
    {
        let left = seen - exchanges.len();
        let (which, over) = match args.udp {
            true => ("sender", "the first {n} were heard"),
            false => ("connection", "{n} were over"),
        };
        output.warn(&format!(
            "note: {left} {which}{} still open when {} {} not written",
            if left == 1 { "" } else { "s" },
            over.replace("{n}", &n.to_string()),
            if left == 1 { "was" } else { "were" },
        ));
    }
    if exchanges.is_empty() {
        output.warn("error: no connection came: nothing to write");
        return unless_interrupted(Exit::Failed, interrupt.as_ref());
    }
    if exchanges.iter().any(recording::Exchange::speaks_tls) {
        output.warn("error: the client spoke TLS: what went through is encrypted, and differs every run, so no scenario can replay it; nothing written");
        output.warn("  = help: record where the conversation is plain text: the client told not to use TLS (and `--to` the server's plain port), or between a TLS terminator and the server");
        return unless_interrupted(Exit::Failed, interrupt.as_ref());
    }
    if exchanges.iter().any(recording::Exchange::cut) {
        output.warn(&format!(
            "warning: a connection moved more than netlab keeps of one ({} MiB, {} runs): the scenario sends and expects only what was kept (see the comments in it), and will not replay as it was",
            crate::event::RECORD_BUDGET >> 20,
            crate::event::PROXY_RECORDED_RUNS
        ));
    }
    let name = scenario_name(&args.output);
    let recorded = Recorded {
        name: &name,
        listen: &checked.listen.to_string(),
        upstream: &args.to,
        redact: &checked.redact,
        stub: args.stub,
        udp: args.udp,
    };
    let text = recording::scenario_text(&recorded, &exchanges);
    // Ctrl-C is how a recording ends: what follows (the replay) answers to a Ctrl-C of its own.
    keep(&text, &args.output, &mut output)
}

/// How long every sender must have been quiet before `record --udp --connections N` stops.
const QUIET: Duration = Duration::from_secs(1);

/// Watches a udp recording for `--connections N`: once N senders were heard and nothing went
/// either way for `QUIET`, stops it. Its thread ends then, or when the watch is dropped.
struct QuietWatch {
    /// Senders heard so far, and when anything last went through.
    state: Arc<Mutex<(u64, Instant)>>,
    over: Arc<AtomicBool>,
}

impl QuietWatch {
    fn start(senders: u64, stop: crossbeam::channel::Sender<()>) -> QuietWatch {
        let state = Arc::new(Mutex::new((0, Instant::now())));
        let over = Arc::new(AtomicBool::new(false));
        let (watched, ended) = (state.clone(), over.clone());
        let _ = std::thread::Builder::new()
            .name("record-quiet".into())
            .spawn(move || {
                while !ended.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(50));
                    let quiet = watched
                        .lock()
                        .is_ok_and(|state| state.0 >= senders && state.1.elapsed() >= QUIET);
                    if quiet {
                        let _ = stop.try_send(());
                        return;
                    }
                }
            });
        QuietWatch { state, over }
    }

    /// Something went through (`first`: a sender's first datagram).
    fn heard(&self, first: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.0 += u64::from(first);
            state.1 = Instant::now();
        }
    }
}

impl Drop for QuietWatch {
    fn drop(&mut self) {
        self.over.store(true, Ordering::Release);
    }
}

/// The scenario's name, from its file's: what a name may not hold (a space, a brace) becomes
/// `_` (a name uses letters, digits, `_`, `-` and `.`).
fn scenario_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(
            |c| match c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                true => c,
                false => '_',
            },
        )
        .collect();
    if name.is_empty() {
        "recorded".to_string()
    } else {
        name
    }
}

/// What the arguments say, checked before anything listens.
struct Checked {
    listen: SocketAddr,
    redact: Vec<Regex>,
}

fn check(args: &RecordArgs) -> Result<Checked, String> {
    let listen = args.listen.parse::<SocketAddr>().map_err(|_| {
        format!(
            "--listen `{}` is not an address: write IP:PORT (`127.0.0.1:9000`, `[::1]:0` for any free port)",
            args.listen
        )
    })?;
    let port_ok = args
        .to
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        return Err(format!(
            "--to `{}` is not HOST:PORT (`127.0.0.1:8000`, `localhost:6379`)",
            args.to
        ));
    }
    if let Some((host, port)) = args.to.rsplit_once(':')
        && port.parse::<u16>().is_ok_and(|p| p == listen.port())
        && (host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip == listen.ip() || ip.is_loopback() || ip.is_unspecified())
            || host.eq_ignore_ascii_case("localhost"))
    {
        return Err(format!(
            "--to `{}` is where the recorder itself listens (--listen `{listen}`): give the real server's address",
            args.to
        ));
    }
    if let Some((host, port)) = args.to.rsplit_once(':')
        && host.contains(':')
        && !host.starts_with('[')
    {
        return Err(format!(
            "--to `{}`: an IPv6 address goes in brackets: `[{host}]:{port}`",
            args.to
        ));
    }
    if let Some((host, _)) = args.to.rsplit_once(':')
        && !is_a_host(host)
    {
        return Err(format!(
            "--to `{}`: `{host}` is neither an IP address nor a host name",
            args.to
        ));
    }
    if args.connections == Some(0) {
        return Err("--connections is at least 1".to_string());
    }
    let redact = args
        .redact
        .iter()
        .map(|text| match Regex::new(text) {
            Ok(regex) if regex.is_match("") => Err(format!(
                "--redact `{text}` matches the empty string: it would hide nothing, everywhere"
            )),
            Ok(regex) => Ok(regex),
            Err(e) => Err(format!("--redact `{text}` is not a regex: {e}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let folder = match args.output.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "-o `{}`: the folder `{}` does not exist",
            args.output.display(),
            folder.display()
        ));
    }
    for path in [args.output.clone(), snapshot::path_for(&args.output)] {
        if path.exists() && !args.force {
            return Err(format!(
                "`{}` exists already (--force replaces it)",
                path.display()
            ));
        }
    }
    if args.output.is_dir() {
        return Err(format!("-o `{}` is a folder", args.output.display()));
    }
    // Where the recording will go must take a file: found out now, not once it is recorded.
    if !args.output.exists() {
        match std::fs::File::create_new(&args.output) {
            Ok(_) => {
                let _ = std::fs::remove_file(&args.output);
            }
            Err(e) => {
                return Err(format!(
                    "-o `{}`: cannot write there: {}",
                    args.output.display(),
                    crate::diagnostic::io_reason(&e)
                ));
            }
        }
    }
    Ok(Checked { listen, redact })
}

/// Whether `host` is an IP address (`[::1]` too) or a host name (letters, digits, `-`, `_`
/// and dots).
fn is_a_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    if let Some(bare) = bare {
        return bare.parse::<std::net::Ipv6Addr>().is_ok();
    }
    host.parse::<std::net::IpAddr>().is_ok()
        || host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// The scenario of the recording proxy: one proxy server at `listen`, forwarding to `to`.
fn proxy_scenario(
    listen: SocketAddr,
    to: &str,
    udp: bool,
) -> Result<crate::scenario::Scenario, Bug> {
    let text = format!(
        "name: record\nservers:\n  - name: recorder\n    protocol: {}\n    bind: {}\n    port: {}\n    proxy: {{ to: {} }}\n",
        if udp { "udp" } else { "tcp" },
        quoted(&listen.ip().to_string()),
        listen.port(),
        quoted(&crate::template::escape(to)),
    );
    load_source(SourceFile::new("(netlab record)", text.as_str()))
        .map_err(|problems| Bug(format!("the recording proxy does not load: {problems}")))
}

/// Checks that `text` loads, writes it to `path`, replays it once and writes its transcript as
/// its snapshot.
fn keep(text: &str, path: &Path, output: &mut Output) -> Exit {
    let source = SourceFile::new(path.to_string_lossy().as_ref(), text);
    let scenario = match load_source(source) {
        Ok(scenario) => scenario,
        Err(problems) => {
            output.bug(&Bug(format!(
                "the recorded scenario does not load: {problems}\n{text}"
            )));
            return Exit::Bug;
        }
    };
    if let Err(e) = std::fs::write(path, text) {
        output.warn(&format!(
            "error: cannot write `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        ));
        return Exit::Environment;
    }
    output.say(&format!("wrote {}", path.display()));
    let interrupt = Interrupt::install();
    let options = RunOptions {
        time_scale: Default::default(),
        interrupt: receiver(interrupt.as_ref()),
        forever: false,
        discard_events: false,
    };
    let scenario = Arc::new(scenario);
    let result = crate::suite::run_case(&scenario, &options, false);
    if interrupt.as_ref().is_some_and(Interrupt::fired) {
        output.warn("the replay was interrupted: no snapshot written");
        return unless_interrupted(Exit::Failed, interrupt.as_ref());
    }
    if !matches!(result.verdict, Ok(Verdict::Passed)) {
        output.warn(&format!(
            "the recording does not replay as it was recorded: no snapshot written\n\n{}",
            result.transcript
        ));
        return Exit::Failed;
    }
    let snap = snapshot::path_for(path);
    let written = snapshot::render_file(path, &scenario.name, &result.transcript)
        .map_err(|bug| bug.0)
        .and_then(|contents| {
            snapshot::write(&snap, &contents).map_err(|e| crate::diagnostic::io_reason(&e))
        });
    match written {
        Ok(()) => {
            output.say(&format!(
                "replayed it: passed; wrote {}: try `netlab test {}`",
                snap.display(),
                path.display()
            ));
            Exit::Passed
        }
        Err(reason) => {
            output.warn(&format!(
                "error: cannot write `{}`: {reason}",
                snap.display()
            ));
            Exit::Environment
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_a_host;

    #[test]
    fn a_host_is_an_address_or_a_name() {
        for host in [
            "127.0.0.1",
            "::1",
            "[::1]",
            "localhost",
            "db-1.internal",
            "my_host",
        ] {
            assert!(is_a_host(host), "{host}");
        }
        for host in ["\"x", "a{b}", "a b", "a/b", "", "a..b", "[127.0.0.1]"] {
            assert!(!is_a_host(host), "{host}");
        }
    }
}
