use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{interrupt, netlab, start_until, temp_file};

/// `netlab serve` keeps a scenario's servers up for outside programs, prints each connection as
/// it happens, and stops cleanly on Ctrl-C.
#[test]
fn serve_answers_a_real_client_and_stops_on_sigint() {
    let mut command = netlab();
    command.args(["serve", "scenarios/tcp_hello.yaml", "--time-scale", "0.01"]);
    let (mut guard, lines, listening) =
        start_until(command, "hello listening on", Duration::from_secs(20));
    let address = listening.rsplit(' ').next().unwrap().to_string();

    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"Welcome!");
    stream.write_all(b"Ada").unwrap();
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"Hello, Ada!");
    drop(stream);
    lines.wait_for(
        "received \"Ada\" → rules[1], after 1s, reply \"Hello, Ada!\"",
        Duration::from_secs(10),
    );

    interrupt(&guard.0);
    let status = guard.0.wait().unwrap();
    // Stopped by SIGINT, after it stopped its servers: 128 + 2.
    assert_eq!(status.code(), Some(130));
    assert!(lines.rest().contains("stopped"));
}

#[test]
fn serve_refuses_an_unknown_server() {
    let output = netlab()
        .args(["serve", "scenarios/tcp_hello.yaml", "--server", "helo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no server is named `helo` (did you mean `hello`?)")
    );
}

/// `serve` starts servers only: a var that only a client's program uses may stay unset (it was
/// required, so an exercise's server could not be served without a client solution).
#[test]
fn serve_needs_only_the_vars_of_the_servers_it_starts() {
    let file = temp_file(
        "exercise.yaml",
        "vars:\n  solution: ~\nservers:\n  - name: hello\n    greeting: \"Welcome!\"\n\
         clients:\n  - connect: hello\n    exec: [\"python3\", \"{solution}\", \"{port}\"]\n",
    );
    for selection in [&[][..], &["--server", "hello"]] {
        let mut command = netlab();
        command.arg("serve").arg(&file).args(selection);
        let (guard, lines, _) = start_until(command, "hello listening on", Duration::from_secs(20));
        interrupt(&guard.0);
        let mut guard = guard;
        let status = guard.0.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{selection:?}");
        assert!(lines.rest().contains("stopped"));
    }
}

/// A process's resident memory now and at its peak (VmRSS, VmHWM), in KiB, from /proc.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Sends one datagram from each of `count` new senders (addresses 127.0.x.y), to `to`.
fn datagrams_from_new_senders(to: std::net::SocketAddr, count: u32, first: u32) {
    for n in first..first + count {
        let ip = std::net::Ipv4Addr::new(127, 1 + (n >> 16) as u8, (n >> 8) as u8, n as u8);
        let Ok(socket) = std::net::UdpSocket::bind((ip, 0)) else {
            continue;
        };
        let _ = socket.send_to(b"hi", to);
    }
}

#[test]
fn serve_forgets_old_udp_senders_and_stays_in_bounded_memory() {
    // Before: a UDP server kept every sender forever (40,000 senders: +34 MB).
    if memory_kib(std::process::id()).is_none() {
        eprintln!("skipped serve_forgets_old_udp_senders: no /proc here");
        return;
    }
    let mut command = netlab();
    command.args(["serve", "-q", "tests/fixtures/udp_server_only.yaml"]);
    let (mut guard, _lines, listening) =
        start_until(command, "hello listening on", Duration::from_secs(20));
    let to: std::net::SocketAddr = listening.rsplit(' ').next().unwrap().parse().unwrap();
    let pid = guard.0.id();
    // Past the senders it remembers, then as many again: memory must stop growing.
    datagrams_from_new_senders(to, 8000, 0);
    std::thread::sleep(Duration::from_millis(500));
    let (after_first, _) = memory_kib(pid).unwrap();
    datagrams_from_new_senders(to, 24000, 8000);
    std::thread::sleep(Duration::from_millis(500));
    let (_, peak) = memory_kib(pid).unwrap();
    interrupt(&guard.0);
    let status = guard.0.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        peak < after_first + 8 * 1024,
        "peak {peak} KiB, after 8,000 senders {after_first} KiB"
    );
}
