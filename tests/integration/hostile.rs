//! Misbehaving peers, written here as small threads on loopback: netlab must give the right
//! verdict with a message that says what happened, within a bound set by the scenario's own
//! timeouts, whatever the peer does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::support::{netlab, temp_file, text};

/// Serves one connection with `behave` on a fresh loopback port; returns the port.
fn peer(behave: impl FnOnce(TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            behave(stream);
        }
    });
    port
}

/// Reads until the other side closes (or 30 s pass).
fn drain(mut stream: TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// Runs a one-client scenario against `port` with `steps`; returns exit code, stdout, seconds.
fn run_against(port: u16, steps: &str, extra: &str) -> (i32, String, f64) {
    let scenario = format!(
        "timeout: 10s\nclients:\n  - name: client\n    connect: \"127.0.0.1:{port}\"\n{extra}    steps:\n{steps}"
    );
    let file = temp_file("hostile.yaml", &scenario);
    let started = Instant::now();
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    (
        code,
        format!("{stdout}{stderr}"),
        started.elapsed().as_secs_f64(),
    )
}

#[test]
fn a_peer_that_never_answers_fails_the_step_at_its_timeout() {
    let port = peer(drain);
    let (code, out, took) = run_against(
        port,
        "      - send: \"hello?\"\n      - expect: \"hi\"\n        timeout: 300ms\n",
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ client  expect \"hi\": nothing matching within 300ms"),
        "{out}"
    );
    assert!(took < 5.0, "took {took}s");
}

#[test]
fn a_peer_that_trickles_is_cut_off_at_the_timeout_with_what_came() {
    let port = peer(|mut stream| {
        for _ in 0..30 {
            if stream.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let (code, out, took) = run_against(
        port,
        "      - expect: { contains: \"END\" }\n        timeout: 700ms\n",
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("nothing matching within 700ms"), "{out}");
    assert!(out.contains("received so far: \"aaa"), "{out}");
    assert!(took < 5.0, "took {took}s");
}

#[test]
fn a_peer_that_trickles_the_wrong_bytes_fails_at_the_first_one() {
    let port = peer(|mut stream| {
        for _ in 0..30 {
            if stream.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let (code, out, took) = run_against(
        port,
        "      - expect: \"Welcome!\"\n        timeout: 20s\n",
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ client  expect \"Welcome!\": received something else"),
        "{out}"
    );
    assert!(
        took < 5.0,
        "no need to wait for the 20s timeout: took {took}s"
    );
}

#[test]
fn a_flooding_peer_is_stopped_at_max_received() {
    let port = peer(|mut stream| {
        let chunk = vec![b'z'; 64 * 1024];
        let started = Instant::now();
        // Bounded: at most 2 GiB or 20 s, whichever comes first.
        for _ in 0..32_768 {
            if stream.write_all(&chunk).is_err() || started.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
    });
    let (code, out, took) = run_against(
        port,
        "      - expect: { contains: \"never\" }\n        timeout: 8s\n",
        "    max_received: 4MiB\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("more than 4194304 bytes arrived (max_received): stopped reading"),
        "{out}"
    );
    assert!(took < 8.0, "took {took}s");
}

#[test]
fn a_peer_that_half_closes_is_seen_closing() {
    let port = peer(|mut stream| {
        let _ = stream.write_all(b"bye");
        let _ = stream.shutdown(std::net::Shutdown::Write);
        drain(stream);
    });
    let (code, out, took) = run_against(
        port,
        "      - expect: \"bye\"\n      - expect: \"more\"\n",
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✓ client  expect \"bye\""), "{out}");
    assert!(
        out.contains("✗ client  expect \"more\": the peer closed the connection"),
        "{out}"
    );
    assert!(took < 5.0, "took {took}s");
}

#[test]
fn a_peer_that_resets_is_reported_as_a_reset() {
    let port = peer(|mut stream| {
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf);
        // SO_LINGER 0: close with RST.
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        drop(stream);
    });
    let (code, out, took) = run_against(
        port,
        "      - send: \"hello\"\n      - expect: \"hi\"\n",
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("✗ client  expect \"hi\": connection reset by peer"),
        "{out}"
    );
    assert!(took < 5.0, "took {took}s");
}

#[test]
fn the_scenario_timeout_bounds_the_whole_run() {
    let port = peer(drain);
    let scenario = format!(
        "timeout: 1s\nclients:\n  - connect: \"127.0.0.1:{port}\"\n    steps:\n      - expect: \"never\"\n        timeout: 1m\n"
    );
    let file = temp_file("bounded.yaml", &scenario);
    let started = Instant::now();
    let (code, stdout, _) = text(
        &netlab()
            .args(["run", "--transcript", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    let took = started.elapsed().as_secs_f64();
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("✗ client  expect \"never\": stopped: the scenario ended first"),
        "{stdout}"
    );
    assert!(stdout.contains("timed out after 1s"), "{stdout}");
    assert!(took < 2.5, "timeout 1s, took {took}s");
}

#[test]
fn an_unknown_host_is_the_environments_refusal() {
    let file = temp_file(
        "dns.yaml",
        "clients:\n  - connect: \"no-such-host.invalid:80\"\n    steps:\n      - send: \"hi\"\n",
    );
    let (code, _, stderr) = text(
        &netlab()
            .args(["run", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("a client could not connect"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}
