//! The cases of the comparison, one per target of docs/performance.md. Each runs netlab and the
//! reference in the same invocation and reports both figures and their ratio.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use super::Size;
use super::process::{Scratch, Server, run_measured, run_netlab};
use super::reference::{self, Role};
use super::stats::{median, percentile, rate, show_mib, show_ms, show_rate};

/// One line of the result table.
struct Row {
    what: String,
    netlab: String,
    reference: String,
    ratio: String,
    target: String,
    /// Whether the target holds (`None`: not judged, e.g. in a smoke run).
    met: Option<bool>,
}

/// Picks a count by run size.
fn by_size(size: Size, smoke: usize, quick: usize, full: usize) -> usize {
    match size {
        Size::Smoke => smoke,
        Size::Quick => quick,
        Size::Full => full,
    }
}

/// How many times each measurement is repeated (the median is kept).
fn repetitions(size: Size) -> usize {
    by_size(size, 1, 3, 5)
}

/// Runs every case (or those whose name contains `only`), prints the table; false if a case
/// could not run.
pub fn run_all(size: Size, only: Option<&str>) -> anyhow::Result<bool> {
    type Case = fn(Size, &Scratch) -> anyhow::Result<Vec<Row>>;
    let cases: [(&str, Case); 12] = [
        ("tcp-server", tcp_server),
        ("tcp-client", tcp_client),
        ("tcp-connections", tcp_connections),
        ("proxy", proxy),
        ("tls", tls),
        ("udp-server", udp_server),
        ("udp-client", udp_client),
        ("clients-1000", many_clients),
        ("bulk-send", bulk_send),
        ("check", check),
        ("three-steps", three_steps),
        ("suite", suite),
    ];
    let delay_case: (&str, Case) = ("delay", delay);
    let scratch = Scratch::new()?;
    let mut rows = Vec::new();
    let mut ok = true;
    for (name, case) in cases.into_iter().chain([delay_case]) {
        if only.is_some_and(|only| !name.contains(only)) {
            continue;
        }
        eprintln!("compare: {name}…");
        let started = Instant::now();
        match case(size, &scratch) {
            Ok(mut more) => rows.append(&mut more),
            Err(e) => {
                eprintln!("compare: {name} failed: {e:#}");
                ok = false;
            }
        }
        eprintln!(
            "compare: {name} took {:.1}s",
            started.elapsed().as_secs_f64()
        );
        set_affinity(false);
    }
    print_table(size, &rows);
    Ok(ok)
}

fn print_table(size: Size, rows: &[Row]) {
    println!();
    if size == Size::Smoke {
        println!("(smoke run: a few hundred operations per case, figures not meaningful)");
    }
    println!("| what | netlab | reference | ratio | target | met |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        println!(
            "| {} | {} | {} | {} | {} | {met} |",
            row.what, row.netlab, row.reference, row.ratio, row.target
        );
    }
}

/// Pins this thread (and so every process it starts from now on) to one CPU, or gives it back
/// the CPUs it had at the start.
fn set_affinity(pinned: bool) {
    // The CPUs allowed at the start, read once (after pinning, the count would be 1).
    static ORIGINAL: std::sync::OnceLock<Option<libc::cpu_set_t>> = std::sync::OnceLock::new();
    let size = std::mem::size_of::<libc::cpu_set_t>();
    let original = ORIGINAL.get_or_init(|| {
        // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity fills it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, size, &mut set) == 0).then_some(set)
        }
    });
    let Some(original) = original else {
        eprintln!("compare: cannot read the CPU affinity; running unpinned");
        return;
    };
    // SAFETY: valid cpu_set_t values and their size, for the calling thread.
    unsafe {
        let set = if pinned {
            // The first CPU this process may use (CPU 0 unless a cpuset says otherwise).
            let first = (0..libc::CPU_SETSIZE as usize)
                .find(|cpu| libc::CPU_ISSET(*cpu, original))
                .unwrap_or(0);
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(first, &mut one);
            one
        } else {
            *original
        };
        libc::sched_setaffinity(0, size, &set);
    }
}

/// The CPUs this thread (and what it starts) may run on, as the kernel says.
fn allowed_cpus() -> String {
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_string())
        })
        .unwrap_or_else(|| "(unknown)".into())
}

/// Runs `measure` for `pinned` and unpinned, as the targets ask.
fn pinned_and_unpinned(
    size: Size,
    mut measure: impl FnMut(bool) -> anyhow::Result<Row>,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for pinned in [true, false] {
        if size == Size::Smoke && !pinned {
            break;
        }
        set_affinity(pinned);
        eprintln!("compare: running on CPUs {}", allowed_cpus());
        let mut row = measure(pinned)?;
        row.what = format!(
            "{} ({})",
            row.what,
            if pinned { "pinned" } else { "unpinned" }
        );
        rows.push(row);
    }
    set_affinity(false);
    Ok(rows)
}

/// A row comparing two rates, higher is better, judged against `at_least` (a ratio).
fn rate_row(what: &str, size: Size, netlab: f64, reference: f64, at_least: f64) -> Row {
    let ratio = netlab / reference.max(1e-9);
    Row {
        what: what.into(),
        netlab: show_rate(netlab),
        reference: show_rate(reference),
        ratio: format!("{:.0}%", ratio * 100.0),
        target: format!("≥ {:.0}%", at_least * 100.0),
        met: (size != Size::Smoke).then_some(ratio >= at_least),
    }
}

const ECHO_TCP: &str = "
servers:
  - name: echo
    bind: 127.0.0.1
    port: 0
    backlog: 1024
    rules:
      - reply: \"{data}\"
";

const ECHO_UDP: &str = "
servers:
  - name: echo
    protocol: udp
    bind: 127.0.0.1
    port: 0
    rules:
      - reply: \"{data}\"
";

/// 16 bytes, the message size of every round-trip target.
const MESSAGE: &str = "0123456789abcdef";

/// The middle of `values` (sorted in place).
fn middle(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A server case: the reference server of `role` and `netlab serve` of `scenario`, each driven
/// by `measure` (a rate, from a server's address), in turn so that both see the same machine;
/// pinned and unpinned, medians of the repetitions.
fn servers_side_by_side(
    size: Size,
    role: Role,
    scenario: &Path,
    row: (&str, f64),
    measure: impl Fn(SocketAddr) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Row>> {
    let (what, at_least) = row;
    pinned_and_unpinned(size, |_| {
        let reference = Server::reference(role)?;
        let netlab = Server::netlab(scenario)?;
        let mut reference_rates = Vec::new();
        let mut netlab_rates = Vec::new();
        for _ in 0..repetitions(size) {
            reference_rates.push(measure(reference.addr)?);
            netlab_rates.push(measure(netlab.addr)?);
        }
        Ok(rate_row(
            what,
            size,
            middle(&mut netlab_rates),
            middle(&mut reference_rates),
            at_least,
        ))
    })
}

/// A client case: against a reference server of `role`, the reference client (`measure`, a
/// rate) and a netlab `repeat` client of `count` round trips over `protocol`.
fn clients_side_by_side(
    size: Size,
    scratch: &Scratch,
    (role, protocol): (Role, &str),
    count: usize,
    row: (&str, f64),
    measure: impl Fn(SocketAddr) -> anyhow::Result<f64>,
) -> anyhow::Result<Vec<Row>> {
    let (what, at_least) = row;
    pinned_and_unpinned(size, |_| {
        let server = Server::reference(role)?;
        let reps = repetitions(size);
        let mut reference_rates = Vec::new();
        for _ in 0..reps {
            reference_rates.push(measure(server.addr)?);
        }
        let netlab = netlab_client_rate(scratch, protocol, server.addr, count, reps)?;
        Ok(rate_row(
            what,
            size,
            netlab,
            middle(&mut reference_rates),
            at_least,
        ))
    })
}

/// Round trips per second of one TCP connection.
fn tcp_rate(addr: SocketAddr, count: usize) -> anyhow::Result<f64> {
    let latencies = reference::tcp_round_trips(addr, count, MESSAGE.len())?;
    Ok(rate(count, latencies.iter().sum()))
}

/// Round trips per second of one UDP socket.
fn udp_rate(addr: SocketAddr, count: usize) -> anyhow::Result<f64> {
    Ok(rate(
        count,
        reference::udp_round_trips(addr, count, MESSAGE.len())?,
    ))
}

fn tcp_server(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 40_000);
    let file = scratch.write("echo_tcp.yaml", ECHO_TCP)?;
    let row = ("TCP echo server, one connection, 16 B round trips", 0.90);
    servers_side_by_side(size, Role::TcpEcho, &file, row, |addr| {
        tcp_rate(addr, count)
    })
}

/// A client scenario: `times` × (send 16 B, expect them back) to `addr`.
fn repeat_client(protocol: &str, addr: SocketAddr, times: usize) -> String {
    format!(
        "
timeout: 5m
clients:
  - name: load
    connect: \"{addr}\"
    protocol: {protocol}
    steps:
      - repeat:
          times: {times}
          steps:
            - send: \"{MESSAGE}\"
            - expect: \"{MESSAGE}\"
"
    )
}

/// netlab's client round trips per second: a run of `count` round trips minus a run of one
/// (the process start and the connect), both medians of `reps`.
fn netlab_client_rate(
    scratch: &Scratch,
    protocol: &str,
    addr: SocketAddr,
    count: usize,
    reps: usize,
) -> anyhow::Result<f64> {
    let long = scratch.write(
        &format!("{protocol}_client_long.yaml"),
        &repeat_client(protocol, addr, count),
    )?;
    let short = scratch.write(
        &format!("{protocol}_client_short.yaml"),
        &repeat_client(protocol, addr, 1),
    )?;
    let mut longs = Vec::new();
    let mut shorts = Vec::new();
    for _ in 0..reps {
        longs.push(run_ok(&["run", "-q"], &long, Duration::from_secs(300))?.wall);
        shorts.push(run_ok(&["run", "-q"], &short, Duration::from_secs(60))?.wall);
    }
    let took = median(&longs).saturating_sub(median(&shorts));
    Ok(rate(count - 1, took))
}

/// Runs `netlab ARGS FILE` and insists on exit code 0.
fn run_ok(args: &[&str], file: &Path, limit: Duration) -> anyhow::Result<super::process::Finished> {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.push(file.as_os_str());
    let finished = run_netlab(&all, limit)?;
    ensure!(
        finished.code == 0,
        "netlab {} {} exited with {}",
        args.join(" "),
        file.display(),
        finished.code
    );
    Ok(finished)
}

fn tcp_client(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 10_000);
    let row = (
        "TCP client, `repeat` send/expect 16 B, reference echo server",
        0.85,
    );
    clients_side_by_side(size, scratch, (Role::TcpEcho, "tcp"), count, row, |addr| {
        tcp_rate(addr, count)
    })
}

fn tcp_connections(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 200, 2_000, 5_000);
    let file = scratch.write("echo_tcp.yaml", ECHO_TCP)?;
    let row = ("TCP server, sequential short connections", 0.80);
    servers_side_by_side(size, Role::TcpEcho, &file, row, |addr| {
        Ok(rate(count, reference::tcp_connections(addr, count)?))
    })
}

/// A netlab proxy (no fault) in front of `upstream`.
fn proxy_scenario(upstream: SocketAddr) -> String {
    format!(
        "
servers:
  - name: hop
    bind: 127.0.0.1
    port: 0
    backlog: 1024
    proxy: {{ to: \"{upstream}\" }}
"
    )
}

/// socat as a forwarding hop (`TCP-LISTEN:…,fork TCP:…`), on a free port; ended when dropped.
struct Socat {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Socat {
    /// Starts socat in front of `upstream`; `None` (said) where socat is not installed, unless
    /// NETLAB_REQUIRE_SOCAT is set (CI), where that is an error.
    fn start(upstream: SocketAddr) -> anyhow::Result<Option<Socat>> {
        let port = free_port()?;
        let spawned = std::process::Command::new("socat")
            .arg(format!(
                "TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,backlog=1024"
            ))
            .arg(format!("TCP:{upstream},nodelay"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ensure!(
                    std::env::var_os("NETLAB_REQUIRE_SOCAT").is_none(),
                    "socat is required here (NETLAB_REQUIRE_SOCAT is set) but not installed"
                );
                eprintln!(
                    "compare: socat is not installed (apt-get install socat): its rows are skipped"
                );
                return Ok(None);
            }
            Err(e) => return Err(e).context("cannot start socat"),
        };
        let socat = Socat {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        // Ready once it accepts (within 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(socat.addr).is_err() {
            ensure!(Instant::now() < deadline, "socat did not listen within 5 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Some(socat))
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        // Our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A forwarding hop in front of the reference echo server: 16 B round trips through netlab's
/// proxy against socat's and against a direct connection, and new connections per second
/// through each hop.
fn proxy(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 20_000);
    let connections = by_size(size, 100, 1_000, 2_000);
    let mut rows = Vec::new();
    let mut socat_missing = false;
    for pinned in [true, false] {
        if size == Size::Smoke && !pinned {
            break;
        }
        set_affinity(pinned);
        eprintln!("compare: running on CPUs {}", allowed_cpus());
        let upstream = Server::reference(Role::TcpEcho)?;
        let file = scratch.write("proxy.yaml", &proxy_scenario(upstream.addr))?;
        let hop = Server::netlab(&file)?;
        let socat = Socat::start(upstream.addr)?;
        socat_missing = socat.is_none();
        let (mut direct, mut netlab, mut other) = (Vec::new(), Vec::new(), Vec::new());
        let (mut netlab_connections, mut other_connections) = (Vec::new(), Vec::new());
        for _ in 0..repetitions(size) {
            direct.push(tcp_rate(upstream.addr, count)?);
            netlab.push(tcp_rate(hop.addr, count)?);
            netlab_connections.push(rate(
                connections,
                reference::tcp_connections(hop.addr, connections)?,
            ));
            if let Some(socat) = &socat {
                other.push(tcp_rate(socat.addr, count)?);
                other_connections.push(rate(
                    connections,
                    reference::tcp_connections(socat.addr, connections)?,
                ));
            }
        }
        let how = if pinned { "pinned" } else { "unpinned" };
        let netlab = middle(&mut netlab);
        let mut row = rate_row(
            "proxy hop, 16 B round trips: netlab vs a direct connection",
            size,
            netlab,
            middle(&mut direct),
            0.45,
        );
        row.what = format!("{} ({how})", row.what);
        rows.push(row);
        if socat.is_some() {
            let mut row = rate_row(
                "proxy hop, 16 B round trips: netlab vs socat",
                size,
                netlab,
                middle(&mut other),
                1.3,
            );
            row.what = format!("{} ({how})", row.what);
            rows.push(row);
            let mut row = rate_row(
                "proxy hop, new connections (8 B exchange each): netlab vs socat",
                size,
                middle(&mut netlab_connections),
                middle(&mut other_connections),
                5.0,
            );
            row.what = format!("{} ({how})", row.what);
            rows.push(row);
        }
    }
    set_affinity(false);
    if socat_missing {
        eprintln!("compare: proxy rows against socat skipped: socat is not installed");
    }
    Ok(rows)
}

/// A TLS echo server as netlab serves it (its certificate from files).
fn tls_echo_scenario(pki: &super::tls::Pki) -> String {
    format!(
        "
servers:
  - name: echo
    bind: 127.0.0.1
    port: 0
    backlog: 1024
    tls: {{ cert: \"{}\", key: \"{}\" }}
    rules:
      - reply: \"{{data}}\"
",
        pki.cert_file.display(),
        pki.key_file.display()
    )
}

/// TLS: 16 B echo round trips on one connection, netlab's TLS server against the reference
/// std + rustls server (≥ 90%); and new connections per second (a full handshake and an 8-byte
/// line each) against `openssl s_server`, reported beside it (no target). Both driven by the
/// same rustls client, pinned and unpinned.
fn tls(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 40_000);
    let connections = by_size(size, 50, 500, 2_000);
    let pki = super::tls::Pki::new(&scratch.0.join("tls"))?;
    let client = pki.client()?;
    let file = scratch.write("echo_tls.yaml", &tls_echo_scenario(&pki))?;
    let mut rows = Vec::new();
    for pinned in [true, false] {
        if size == Size::Smoke && !pinned {
            break;
        }
        set_affinity(pinned);
        eprintln!("compare: running on CPUs {}", allowed_cpus());
        let how = if pinned { "pinned" } else { "unpinned" };
        let reference = Server::reference_tls(&pki)?;
        let netlab = Server::netlab(&file)?;
        let openssl = super::tls::OpensslServer::start(&pki, free_port()?)?;
        let (mut theirs, mut ours) = (Vec::new(), Vec::new());
        let (mut netlab_handshakes, mut openssl_handshakes) = (Vec::new(), Vec::new());
        for _ in 0..repetitions(size) {
            theirs.push(super::tls::round_trips(
                reference.addr,
                &client,
                count,
                MESSAGE.len(),
            )?);
            ours.push(super::tls::round_trips(
                netlab.addr,
                &client,
                count,
                MESSAGE.len(),
            )?);
            netlab_handshakes.push(super::tls::handshakes(netlab.addr, &client, connections)?);
            if let Some(openssl) = &openssl {
                openssl_handshakes.push(super::tls::handshakes(
                    openssl.addr,
                    &client,
                    connections,
                )?);
            }
        }
        let mut row = rate_row(
            "TLS echo server, one connection, 16 B round trips: netlab vs std + rustls",
            size,
            middle(&mut ours),
            middle(&mut theirs),
            0.90,
        );
        row.what = format!("{} ({how})", row.what);
        rows.push(row);
        if openssl.is_some() {
            let (ours, theirs) = (
                middle(&mut netlab_handshakes),
                middle(&mut openssl_handshakes),
            );
            rows.push(Row {
                what: format!(
                    "TLS new connections (handshake + 8 B line each): netlab vs openssl s_server ({how})"
                ),
                netlab: show_rate(ours),
                reference: show_rate(theirs),
                ratio: format!("{:.0}%", ours / theirs.max(1e-9) * 100.0),
                target: "reported".into(),
                met: None,
            });
        }
    }
    set_affinity(false);
    Ok(rows)
}

fn udp_server(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 40_000);
    let file = scratch.write("echo_udp.yaml", ECHO_UDP)?;
    let row = ("UDP echo server, 16 B round trips", 0.85);
    servers_side_by_side(size, Role::UdpEcho, &file, row, |addr| {
        udp_rate(addr, count)
    })
}

fn udp_client(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 300, 10_000, 10_000);
    let row = (
        "UDP client, `repeat` send/expect 16 B, reference echo server",
        0.85,
    );
    clients_side_by_side(size, scratch, (Role::UdpEcho, "udp"), count, row, |addr| {
        udp_rate(addr, count)
    })
}

fn many_clients(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let count = by_size(size, 50, 1000, 1000);
    let text = format!(
        "
timeout: 2m
servers:
  - name: echo
    bind: 127.0.0.1
    port: 0
    backlog: 1024
    rules:
      - reply: \"{{data}}\"
clients:
  - name: many
    connect: echo
    count: {count}
    timeout: 60s
    steps:
      - send: \"{MESSAGE}\"
      - expect: \"{MESSAGE}\"
      - close: true
"
    );
    let file = scratch.write("many_clients.yaml", &text)?;
    let mut runs = Vec::new();
    for _ in 0..repetitions(size) {
        runs.push(run_ok(&["run", "-q"], &file, Duration::from_secs(180))?);
    }
    let peak = runs.iter().map(|r| r.peak_rss).max().unwrap_or(0);
    let wall = median(&runs.iter().map(|r| r.wall).collect::<Vec<_>>());
    Ok(vec![Row {
        what: format!(
            "`count: {count}` clients × connect/send/expect/close, threaded netlab server"
        ),
        netlab: format!(
            "all passed; {} wall; peak RSS {}",
            show_ms(wall),
            show_mib(peak)
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: "all pass; RSS ≤ 64 MiB".into(),
        met: (size != Size::Smoke).then_some(peak <= 64 << 20),
    }])
}

fn bulk_send(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let total: u64 = by_size(size, 4 << 20, 256 << 20, 1 << 30) as u64;
    let reps = repetitions(size);
    let gbit = |took: Duration| total as f64 * 8.0 / took.as_secs_f64().max(1e-9) / 1e9;
    // netlab: whole processes, the server reading 64 KiB at a time (as a bulk receiver would),
    // then with the default read_size (1024, the tutorial's recv(1024)).
    let mut figures = Vec::new();
    for read_size in ["64KiB", "1024"] {
        let text = format!(
            "
timeout: 5m
servers:
  - name: sink
    bind: 127.0.0.1
    port: 0
    read_size: {read_size}
clients:
  - name: bulk
    connect: sink
    timeout: 60s
    steps:
      - send: {{ repeat: \"x\", times: {total} }}
      - shutdown: write
      - expect_close: true
"
        );
        let file = scratch.write(&format!("bulk_{read_size}.yaml"), &text)?;
        let mut runs = Vec::new();
        for _ in 0..reps {
            runs.push(run_ok(&["run", "-q"], &file, Duration::from_secs(300))?);
        }
        let peak = runs.iter().map(|r| r.peak_rss).max().unwrap_or(0);
        let wall = median(&runs.iter().map(|r| r.wall).collect::<Vec<_>>());
        figures.push((read_size, gbit(wall), peak));
    }
    let sink = Server::reference(Role::TcpSink)?;
    let mut reference = Vec::new();
    for _ in 0..reps {
        reference.push(reference::tcp_bulk_send(sink.addr, total)?);
    }
    let reference = gbit(median(&reference));
    let mut iperf = Vec::new();
    for _ in 0..reps {
        if let Some(figure) = iperf3(total)? {
            iperf.push(figure);
        }
    }
    let (versus, baseline) = if iperf.is_empty() {
        eprintln!(
            "compare: iperf3 is not installed; the bulk send is compared with the reference sender"
        );
        ("reference sender (no iperf3 here)", reference)
    } else {
        ("iperf3", middle(&mut iperf))
    };
    Ok(figures
        .into_iter()
        .map(|(read_size, netlab, peak)| {
            let ratio = netlab / baseline.max(1e-9);
            let judged = read_size == "64KiB" && size != Size::Smoke;
            Row {
                what: format!(
                    "one-way {} `send` to a netlab server with `read_size: {read_size}` (whole process)",
                    show_mib(total)
                ),
                netlab: format!("{netlab:.1} Gbit/s; peak RSS {}", show_mib(peak)),
                reference: format!(
                    "{versus}: {baseline:.1} Gbit/s; reference sender {reference:.1} Gbit/s"
                ),
                ratio: format!("{:.0}%", ratio * 100.0),
                target: if read_size == "64KiB" {
                    "≥ 50% of iperf3; RSS ≤ 32 MiB".into()
                } else {
                    "(the default read_size: one recv() per KiB)".into()
                },
                met: judged.then_some(ratio >= 0.5 && peak <= 32 << 20),
            }
        })
        .collect())
}

/// iperf3's single-stream figure for `total` bytes on loopback, in Gbit/s (`None` when iperf3 is
/// not installed).
fn iperf3(total: u64) -> anyhow::Result<Option<f64>> {
    if std::process::Command::new("iperf3")
        .arg("--version")
        .output()
        .is_err()
    {
        return Ok(None);
    }
    let port = free_port()?;
    let mut server = std::process::Command::new("iperf3")
        .args(["-s", "-1", "-B", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(300));
    let output = std::process::Command::new("iperf3")
        .args([
            "-c",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-n",
            &total.to_string(),
            "-J",
        ])
        .output();
    let _ = server.kill();
    let _ = server.wait();
    let output = output?;
    let text = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&text).context("iperf3 -J output")?;
    let bits = json["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .context("iperf3 gave no end.sum_received.bits_per_second")?;
    Ok(Some(bits / 1e9))
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Median whole-process wall times of `command` and of the do-nothing process over `runs`
/// each, one after the other in turn, so that both see the machine in the same state.
fn medians_beside_noop(
    runs: usize,
    command: impl Fn() -> std::process::Command,
) -> anyhow::Result<(Duration, Duration)> {
    let mut walls = Vec::new();
    let mut noops = Vec::new();
    for _ in 0..runs {
        let finished = run_measured(command(), Duration::from_secs(30))?;
        ensure!(
            finished.code == 0,
            "{:?} exited with {}",
            command(),
            finished.code
        );
        walls.push(finished.wall);
        let noop = run_measured(noop_process()?, Duration::from_secs(30))?;
        ensure!(
            noop.code == 0,
            "the do-nothing process exited with {}",
            noop.code
        );
        noops.push(noop.wall);
    }
    Ok((median(&walls), median(&noops)))
}

/// A Rust process that exits at once (this executable with `--noop`): the floor of any
/// whole-process figure.
fn noop_process() -> anyhow::Result<std::process::Command> {
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.arg("--noop");
    Ok(command)
}

fn whole_process_row(
    what: &str,
    size: Size,
    netlab: Duration,
    noop: Duration,
    at_most: Duration,
) -> Row {
    Row {
        what: what.into(),
        netlab: format!("{} median", show_ms(netlab)),
        reference: format!("{} (a Rust process that exits at once)", show_ms(noop)),
        ratio: format!(
            "{:.1}×",
            netlab.as_secs_f64() / noop.as_secs_f64().max(1e-9)
        ),
        target: format!("≤ {}", show_ms(at_most)),
        met: (size != Size::Smoke).then_some(netlab <= at_most),
    }
}

fn check(size: Size, _scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let runs = by_size(size, 5, 30, 100);
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tcp_hello.yaml");
    let (netlab, noop) = medians_beside_noop(runs, || {
        let mut command = std::process::Command::new(super::process::netlab());
        command.arg("check").arg(&file);
        command
    })?;
    Ok(vec![whole_process_row(
        "`netlab check scenarios/tcp_hello.yaml`, whole process",
        size,
        netlab,
        noop,
        Duration::from_millis(2),
    )])
}

const THREE_STEPS: &str = "
timeout: 10s
servers:
  - name: echo
    bind: 127.0.0.1
    port: 0
    rules:
      - reply: \"{data}\"
clients:
  - name: client
    connect: echo
    steps:
      - send: \"ping\"
      - expect: \"ping\"
      - close: true
";

fn three_steps(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let runs = by_size(size, 5, 30, 100);
    let file = scratch.write("three_steps.yaml", THREE_STEPS)?;
    let (netlab, noop) = medians_beside_noop(runs, || {
        let mut command = std::process::Command::new(super::process::netlab());
        command.args(["run", "-q"]).arg(&file);
        command
    })?;
    Ok(vec![whole_process_row(
        "3-step scenario with its own server (`netlab run -q`), whole process",
        size,
        netlab,
        noop,
        Duration::from_millis(3),
    )])
}

fn suite(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let files = by_size(size, 5, 200, 200);
    let dir = scratch.0.join("suite");
    for i in 0..files {
        scratch.write(
            &format!("suite/case_{i:03}.yaml"),
            &THREE_STEPS.replace("ping", &format!("ping {i}")),
        )?;
    }
    // Store the snapshots first (netlab writes none where CI is set, as insta does).
    let mut store = std::process::Command::new(super::process::netlab());
    store
        .args(["test", "--update", "-q"])
        .arg(&dir)
        .env_remove("CI")
        .env_remove("TF_BUILD");
    let update = run_measured(store, Duration::from_secs(120))?;
    ensure!(
        update.code == 0,
        "netlab test --update exited with {}",
        update.code
    );
    let mut walls = Vec::new();
    for _ in 0..repetitions(size) {
        let mut command = std::process::Command::new(super::process::netlab());
        command
            .args(["test", "-j", "2", "-q"])
            .arg(&dir)
            .env("CI", "true");
        let finished = run_measured(command, Duration::from_secs(120))?;
        ensure!(
            finished.code == 0,
            "netlab test -j 2 exited with {}",
            finished.code
        );
        walls.push(finished.wall);
    }
    let netlab = median(&walls) / u32::try_from(files)?;
    let hurl = hurl_per_file(size, scratch, files)?;
    let (reference, met) = match hurl {
        Some(hurl) => (
            format!("Hurl: {} per file", show_ms(hurl)),
            (size != Size::Smoke).then_some(netlab * 2 <= hurl),
        ),
        None => {
            eprintln!(
                "compare: hurl is not installed (NETLAB_BENCH_HURL or PATH); its figure is left out"
            );
            (
                "Hurl not installed here (0.31 ms per file in the issue)".into(),
                None,
            )
        }
    };
    Ok(vec![Row {
        what: format!("`netlab test -j 2` of {files} scenarios with their own server, snapshots"),
        netlab: format!(
            "{} per file ({} in all)",
            show_ms(netlab),
            show_ms(median(&walls))
        ),
        ratio: match hurl {
            Some(hurl) => format!("{:.2}×", netlab.as_secs_f64() / hurl.as_secs_f64()),
            None => "–".into(),
        },
        reference,
        target: "at most half of `hurl --test --jobs 2` per file".into(),
        met,
    }])
}

/// Hurl's time per file over `files` one-request files against a reference HTTP server, if Hurl
/// is installed.
fn hurl_per_file(size: Size, scratch: &Scratch, files: usize) -> anyhow::Result<Option<Duration>> {
    let hurl = std::env::var_os("NETLAB_BENCH_HURL").unwrap_or_else(|| "hurl".into());
    if std::process::Command::new(&hurl)
        .arg("--version")
        .output()
        .is_err()
    {
        return Ok(None);
    }
    let server = Server::reference(Role::Http)?;
    let mut paths = Vec::new();
    for i in 0..files {
        paths.push(scratch.write(
            &format!("hurl/case_{i:03}.hurl"),
            &format!("GET http://{}/case/{i}\nHTTP 200\n", server.addr),
        )?);
    }
    let mut walls = Vec::new();
    for _ in 0..repetitions(size) {
        let mut command = std::process::Command::new(&hurl);
        command.args(["--test", "--jobs", "2"]).args(&paths);
        let finished = run_measured(command, Duration::from_secs(120))?;
        ensure!(
            finished.code == 0,
            "hurl --test exited with {}",
            finished.code
        );
        walls.push(finished.wall);
    }
    Ok(Some(median(&walls) / u32::try_from(files)?))
}

fn delay(size: Size, scratch: &Scratch) -> anyhow::Result<Vec<Row>> {
    let (connections, each) = match size {
        Size::Smoke => (2, 3),
        _ => (10, 20),
    };
    let declared = Duration::from_millis(100);
    let file = scratch.write(
        "delay.yaml",
        &ECHO_TCP.replace("      - reply:", "      - delay: 100ms\n        reply:"),
    )?;
    let server = Server::netlab(&file)?;
    let addr = server.addr;
    let workers: Vec<_> = (0..connections)
        .map(|_| std::thread::spawn(move || reference::tcp_round_trips(addr, each, MESSAGE.len())))
        .collect();
    let mut errors = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(latencies)) => {
                for latency in latencies {
                    errors.push(latency.abs_diff(declared));
                }
            }
            Ok(Err(e)) => bail!("a delayed round trip failed: {e}"),
            Err(_) => bail!("a client thread panicked"),
        }
    }
    let p99 = percentile(&errors, 99.0);
    Ok(vec![Row {
        what: format!(
            "declared `delay: 100ms`, {} replies on {connections} connections",
            errors.len()
        ),
        netlab: format!(
            "off by {} p50, {} p99, {} max",
            show_ms(median(&errors)),
            show_ms(p99),
            show_ms(percentile(&errors, 100.0))
        ),
        reference: "–".into(),
        ratio: "–".into(),
        target: "±2 ms at p99".into(),
        met: (size != Size::Smoke).then_some(p99 <= Duration::from_millis(2)),
    }])
}
