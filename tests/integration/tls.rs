//! TLS end to end: every `expect_tls_error` kind produced by a server made wrong on purpose and
//! caught by a client, mutual TLS, STARTTLS both ways, faults and Ctrl-C over TLS, and interop
//! both ways with third-party TLS (OpenSSL's `s_server`/`s_client`, Python's `ssl`, curl).

use std::time::{Duration, Instant};

use crate::support::{
    installed, interrupt, netlab, own_peer, python3, run, stable_settings, start_until, temp_file,
    text,
};

/// `openssl`, where installed (`.ci/run` installs it and sets `NETLAB_REQUIRE_OPENSSL`).
fn openssl(test: &str) -> bool {
    installed(test, "openssl", &["version"], "NETLAB_REQUIRE_OPENSSL")
}

/// Runs `yaml` (written to a file named `name`) `runs` times, at each of `scales` in turn: its
/// exit code and transcript, asserted the same every time, passing or not.
fn same_every_time(name: &str, yaml: &str, runs: usize, scales: &[&str]) -> (i32, String) {
    let file = temp_file(name, yaml);
    let mut seen = Vec::new();
    for run in 0..runs {
        let scale = scales[run % scales.len()];
        let output = netlab()
            .args(["run", "--transcript", "--time-scale", scale])
            .arg(&file)
            .output()
            .unwrap();
        let (code, stdout, _) = text(&output);
        seen.push((code, crate::proxy::transcript_of(&stdout)));
    }
    let first = seen[0].clone();
    seen.dedup();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    first
}

/// Runs `yaml` (written to a file named `name`): the exit code, the transcript (stdout), and
/// what went to stderr.
fn transcript(name: &str, yaml: &str) -> (i32, String, String) {
    let file = temp_file(name, yaml);
    let output = netlab()
        .args(["run", "--transcript"])
        .arg(&file)
        .output()
        .unwrap();
    text(&output)
}

/// Every kind a step can expect, each from its own server, the same every run (a tenth of the
/// declared time, or the declared time); mutual TLS accepted and refused; `insecure` said.
#[test]
fn every_tls_error_kind_is_produced_and_caught() {
    let mut seen = Vec::new();
    for scale in ["0.1", "1", "0.1"] {
        let (code, stdout, stderr) = text(&run(&[
            "run",
            "--transcript",
            "--time-scale",
            scale,
            "tests/fixtures/tls_errors.yaml",
        ]));
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        seen.push(crate::proxy::transcript_of(&stdout));
    }
    let first = seen[0].clone();
    seen.dedup();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    stable_settings().bind(|| insta::assert_snapshot!(first));
}

/// A wrong kind fails and says what came; a handshake that succeeds fails the step.
#[test]
fn expect_tls_error_fails_on_another_kind_and_on_success() {
    let (code, out, err) = transcript(
        "tls_wrong_kind.yaml",
        "
servers:
  - name: expired
    tls: { self_signed: true }
    faults: { certificate: expired }
  - name: good
    tls: { self_signed: true }
    greeting: \"hi\\n\"
clients:
  - name: wrong_kind
    connect: expired
    steps:
      - expect_tls_error: unknown_ca
  - name: succeeds
    connect: good
    steps:
      - expect_tls_error: unknown_ca
        timeout: 200ms
",
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("expect_tls_error unknown_ca: TLS failed otherwise: certificate_expired (invalid peer certificate: Expired)"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("the handshake succeeded, and no TLS error came"),
        "{out}\n{err}"
    );
    assert!(out.contains("received: \"hi\\n\""), "{out}\n{err}");
}

/// A handshake that fails where no step expects it is the connect's failure, with the reason.
#[test]
fn an_unexpected_handshake_failure_fails_the_connect() {
    let (code, out, err) = transcript(
        "tls_unexpected.yaml",
        "
servers:
  - name: other
    tls: { self_signed: true }
    faults: { certificate: other_ca }
    greeting: \"hi\\n\"
clients:
  - name: trusting
    connect: other
    steps:
      - expect: \"hi\\n\"
",
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("✗ trusting  connect other: TLS failed: unknown_ca (invalid peer certificate: UnknownIssuer)"),
        "{out}\n{err}"
    );
}

/// SMTP-style STARTTLS between netlab's client and server: plain text, then the upgrade on
/// both sides, then the conversation over TLS; the server's `starttls` rule and the client's
/// step, each with its handshake line.
#[test]
fn starttls_turns_a_plain_conversation_to_tls() {
    let (code, out, err) = transcript(
        "tls_starttls.yaml",
        "
servers:
  - name: mail
    framing: line
    tls: { self_signed: true }
    greeting: \"220 ready\\r\\n\"
    rules:
      - match: STARTTLS
        reply: \"220 go ahead\\r\\n\"
        starttls: true
      - match: { regex: \"^EHLO\" }
        reply: \"250 hello, {data}\\r\\n\"
clients:
  - name: sender
    connect: mail
    steps:
      - expect: \"220 ready\\r\\n\"
      - send: \"STARTTLS\\r\\n\"
      - expect: \"220 go ahead\\r\\n\"
      - starttls: true
      - send: \"EHLO me\\r\\n\"
      - expect: \"250 hello, EHLO me\\r\\n\"
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    stable_settings().bind(|| insta::assert_snapshot!(crate::proxy::transcript_of(&out)));
}

/// A STARTTLS client whose hello comes in the same write as its command (or right behind it):
/// the server hands what it read past the command to the handshake, however the bytes were
/// cut, every run.
#[test]
fn a_hello_sent_with_the_starttls_command_is_not_lost() {
    let python = match python3("a_hello_sent_with_the_starttls_command_is_not_lost") {
        Some(python) => python,
        None => return,
    };
    let yaml = format!(
        "
servers:
  - name: mail
    framing: line
    tls: {{ self_signed: true }}
    rules:
      - match: STARTTLS
        starttls: true
      - reply: \"got {{data}}\\n\"
clients:
  - name: eager
    connect: mail
    exec: [{python}, -c, \"{script}\", \"{{port}}\", \"{{ca_file}}\"]
    expect_stdout: \"got hello\\n\"
",
        script = "import socket,ssl,sys; c=ssl.create_default_context(cafile=sys.argv[2]); s=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); o=ssl.MemoryBIO(); i=ssl.MemoryBIO(); t=c.wrap_bio(i,o,server_hostname='localhost')\\ntry: t.do_handshake()\\nexcept ssl.SSLWantReadError: pass\\ns.sendall(b'STARTTLS\\\\n'+o.read())\\nwhile True:\\n  try: t.do_handshake(); break\\n  except ssl.SSLWantReadError:\\n    s.sendall(o.read()); d=s.recv(65536)\\n    if not d: sys.exit(3)\\n    i.write(d)\\ns.sendall(o.read()); t.write(b'hello\\\\n'); s.sendall(o.read())\\nb=b''\\nwhile not b.endswith(b'\\\\n'):\\n  try: b+=t.read()\\n  except ssl.SSLWantReadError:\\n    d=s.recv(65536)\\n    if not d: break\\n    i.write(d)\\nprint(b.decode(),end='')"
    );
    for _ in 0..3 {
        let (code, out, err) = transcript("tls_eager.yaml", &yaml);
        assert_eq!(code, 0, "{out}\n{err}");
    }
}

/// The server's write faults apply to what it writes over TLS (a slice is a record), and a
/// reset is still a reset.
#[test]
fn faults_apply_over_tls() {
    let (code, out, err) = transcript(
        "tls_faults.yaml",
        "
servers:
  - name: sliced
    tls: { self_signed: true }
    faults: { slice: { bytes: 2, pause: 1ms } }
    greeting: \"Welcome!\"
  - name: resetting
    tls: { self_signed: true }
    faults: { reset: true }
    rules:
      - close: true
clients:
  - name: patient
    connect: sliced
    steps:
      - expect: \"Welcome!\"
  - name: reset
    connect: resetting
    steps:
      - send: \"bye\"
      - expect_reset: true
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("2 bytes at a time, 1ms apart (slice)"),
        "{out}\n{err}"
    );
}

/// A client that speaks plain text to a TLS server: the server says why the handshake failed
/// (the connection ends), and the run does not hang.
#[test]
fn a_plain_client_to_a_tls_server_is_a_handshake_failure() {
    let (code, out, err) = transcript(
        "tls_plain_client.yaml",
        "
servers:
  - name: secure
    tls: { self_signed: true }
clients:
  - name: plain
    connect: secure
    tls: false
    steps:
      - send: \"hello\\n\"
      - read_to_close: { bytes: 7 }
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("secure  TLS failed: handshake_failure"),
        "{out}\n{err}"
    );
}

/// Ctrl-C reaches a client waiting in its handshake (a proxy holds its hello) and a
/// server waiting in its own (a client that never says hello): the run ends at once (130).
#[test]
fn ctrl_c_ends_handshakes_that_wait() {
    let file = temp_file(
        "tls_waiting.yaml",
        "
timeout: 60s
servers:
  - name: secure
    tls: { self_signed: true }
  - name: silent
    proxy: { to: secure }
    faults:
      to_upstream: { stall: { after: 0 } }
clients:
  - name: hello_unanswered
    connect: silent
    timeout: 50s
    tls: true
    steps:
      - expect: anything
  - name: says_nothing
    connect: secure
    tls: false
    steps:
      - sleep: 50s
",
    );
    let mut command = netlab();
    command.arg("run").arg(&file);
    let (mut guard, _lines, _) = start_until(command, "listening", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    interrupt(&guard.0);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}

/// Python's `ssl` server (a student's TLS server, given the run's certificate and key as
/// `{cert_file}`/`{key_file}`), checked by a netlab client that trusts the run's CA.
#[test]
fn a_python_tls_server_is_graded_by_a_netlab_client() {
    let Some(python) = python3("a_python_tls_server_is_graded_by_a_netlab_client") else {
        return;
    };
    let server = own_peer("tls_hello_server.py");
    let (code, out, err) = transcript(
        "tls_python_server.yaml",
        &format!(
            "
servers:
  - name: student
    tls: {{ self_signed: true }}
    exec: [{python}, {server}, \"{{port}}\", \"{{cert_file}}\", \"{{key_file}}\"]
clients:
  - name: client
    connect: student
    steps:
      - expect: \"Welcome!\"
      - send: \"Michael\"
      - expect: \"Hello, Michael!\"
      - send: \"exit\"
      - expect_close: true
",
            server = server.display()
        ),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("server certificate verified"), "{out}\n{err}");
}

/// Python's `ssl` client (a student's TLS client, given the run's CA as `{ca_file}`) against a
/// netlab TLS server; and the same client refusing a certificate for another name.
#[test]
fn a_python_tls_client_is_graded_against_a_netlab_server() {
    let Some(python) = python3("a_python_tls_client_is_graded_against_a_netlab_server") else {
        return;
    };
    let client = own_peer("tls_hello_client.py");
    let yaml = |fault: &str| {
        format!(
            "
servers:
  - name: hello
    tls: {{ self_signed: true }}
    faults: {{ {fault} }}
    greeting: \"Welcome!\"
    rules:
      - match: exit
        close: true
      - reply: \"Hello, {{data}}!\"
clients:
  - name: student
    connect: hello
    exec: [{python}, {client}, \"{{port}}\", \"{{ca_file}}\", \"{{host}}\"]
    expect_stdout: \"TLSv1.3\\nWelcome!\\nHello, Michael!\\nHello, Tracy!\\nHello, Sarah!\\n\"
",
            client = client.display()
        )
    };
    let (code, out, err) = transcript("tls_python_client.yaml", &yaml("seed: 1"));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = transcript("tls_python_refuses.yaml", &yaml("certificate: wrong_name"));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("TLS failed: bad_certificate"), "{out}\n{err}");
}

/// OpenSSL's `s_server` (with the run's certificate) answers a netlab client; OpenSSL's
/// `s_client` (trusting the run's CA by `{ca_file}`) talks to a netlab server, and refuses one
/// whose certificate is for another name.
#[test]
fn openssl_interoperates_both_ways() {
    if !openssl("openssl_interoperates_both_ways") {
        return;
    }
    let (code, out, err) = transcript(
        "tls_s_server.yaml",
        "
servers:
  - name: openssl
    tls: { self_signed: true }
    exec: [openssl, s_server, -accept, \"{port}\", -cert, \"{cert_file}\", -key, \"{key_file}\", -rev, -quiet]
clients:
  - name: client
    connect: openssl
    steps:
      - send: \"hello\\n\"
      - expect: \"olleh\\n\"
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let s_client = |fault: &str| {
        format!(
            "
servers:
  - name: hello
    tls: {{ self_signed: true, alpn: [hello/1] }}
    faults: {{ {fault} }}
    greeting: \"Welcome!\"
    rules:
      - reply: \"Hello, {{data}}!\"
        close: true
clients:
  - name: openssl
    connect: hello
    exec: [sh, -c, \"printf Michael | openssl s_client -connect {{host}}:{{port}} -servername localhost -alpn hello/1 -CAfile {{ca_file}} -verify_return_error -verify_hostname localhost -quiet\"]
    expect_stdout: \"Welcome!Hello, Michael!\"
"
        )
    };
    let (code, out, err) = transcript("tls_s_client.yaml", &s_client("seed: 1"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("hello    tls TLS 1.3, TLS13_AES_256_GCM_SHA384, alpn hello/1, sni localhost, no client certificate"),
        "{out}\n{err}"
    );
    let (code, out, err) = transcript(
        "tls_s_client_refuses.yaml",
        &s_client("certificate: wrong_name"),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("hello    TLS failed:"), "{out}\n{err}");
}

/// OpenSSL's `s_client -starttls smtp` upgrades a plain SMTP conversation with a netlab server
/// whose rule says `starttls`.
#[test]
fn openssl_starttls_smtp_against_a_netlab_server() {
    if !openssl("openssl_starttls_smtp_against_a_netlab_server") {
        return;
    }
    let (code, out, err) = transcript(
        "tls_smtp.yaml",
        "
servers:
  - name: mail
    framing: line
    tls: { self_signed: true }
    greeting: \"220 mail ESMTP\\r\\n\"
    rules:
      - match: { regex: \"^EHLO\" }
        reply: \"250-mail\\r\\n250 STARTTLS\\r\\n\"
      - match: STARTTLS
        reply: \"220 go ahead\\r\\n\"
        starttls: true
      - match: QUIT
        reply: \"221 bye\\r\\n\"
        close: true
clients:
  - name: openssl
    connect: mail
    exec: [sh, -c, \"printf 'QUIT\\\\r\\\\n' | openssl s_client -starttls smtp -connect {host}:{port} -CAfile {ca_file} -verify_return_error -quiet\"]
    expect_stdout: { contains: \"221 bye\" }
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("mail     tls TLS 1.3"), "{out}\n{err}");
}

/// curl fetches from a netlab `http` server over TLS, trusting the run's CA.
#[test]
fn curl_gets_from_a_netlab_https_server() {
    if !installed(
        "curl_gets_from_a_netlab_https_server",
        "curl",
        &["--version"],
        "NETLAB_REQUIRE_CURL",
    ) {
        return;
    }
    let (code, out, err) = transcript(
        "tls_curl.yaml",
        "
servers:
  - name: web
    tls: { self_signed: true, alpn: [http/1.1] }
    rules:
      - match: { http: { method: GET, path: /hello } }
        reply: { http: { status: 200, body: \"hi there\\n\" } }
clients:
  - name: curl
    connect: web
    exec: [curl, -sS, --cacert, \"{ca_file}\", \"https://localhost:{port}/hello\"]
    expect_stdout: \"hi there\\n\"
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("alpn http/1.1, sni localhost"), "{out}\n{err}");
}

/// A proxy in front of a TLS server relays the handshake and the records (its faults on them):
/// the client speaks TLS with the server through it. The records differ every run, so the
/// proxy's lines say which way it relayed, not the bytes; the transcript is the same every run
/// and at every time scale.
#[test]
fn a_proxy_relays_tls_and_its_transcript_is_the_same_every_run() {
    let transcript = crate::proxy::same_every_run(
        "tls_through_a_proxy.yaml",
        "
servers:
  - name: hello
    tls: { self_signed: true }
    greeting: \"Welcome!\"
    rules:
      - match: exit
        close: true
      - reply: \"Hello, {data}!\"
  - name: slow
    proxy: { to: hello }
    faults:
      to_client: { slice: { bytes: 100, pause: 1ms }, latency: { fixed: 5ms, jitter: 5ms } }
clients:
  - name: client
    connect: slow
    count: 2
    steps:
      - expect: \"Welcome!\"
      - send: \"Michael\"
      - expect: \"Hello, Michael!\"
      - send: exit
      - expect_close: true
",
        8,
        &["0.1", "1", "0.5"],
    );
    stable_settings().bind(|| insta::assert_snapshot!(transcript));
}

/// `netlab serve` of a TLS server says where the run's CA is, so that a client from outside the
/// run can check the server; the CA's directory is gone once serving stops.
#[test]
fn serve_says_where_the_ca_is_and_an_outside_client_trusts_it() {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};

    let (mut guard, addr, ca) = serve_tls(std::path::Path::new("scenarios/tls_hello.yaml"));
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let ca = std::path::PathBuf::from(ca);
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::CertificateDer::pem_file_iter(&ca).unwrap() {
        roots.add(certificate.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(connection, socket);
    let mut greeting = [0u8; 8];
    tls.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"Welcome!");
    tls.write_all(b"exit").unwrap();
    interrupt(&guard.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while guard.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = ca.parent().unwrap();
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

/// A TLS file that is a FIFO (or a device) is refused at load, located, at once: opening it
/// would block for ever, deaf to Ctrl-C.
#[test]
fn a_fifo_as_a_certificate_is_refused_without_blocking() {
    let file = temp_file(
        "tls_fifo.yaml",
        "
servers:
  - name: secure
    tls:
      cert: fifo.pem
      key: fifo.pem
",
    );
    let fifo = file.with_file_name("fifo.pem");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut child = netlab()
        .arg("check")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("netlab check blocked on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`fifo.pem` is not a regular file"),
        "{stderr}"
    );
    assert!(stderr.contains("tls_fifo.yaml:5:13"), "{stderr}");
}

/// Servers named like the run's own files (`ca`, `client`) do not overwrite them: the CA file a
/// program is given holds the CA alone, and every program gets its files.
#[test]
fn servers_named_like_the_runs_files_do_not_overwrite_them() {
    let (code, out, err) = transcript(
        "tls_file_names.yaml",
        "
servers:
  - name: ca
    tls: { self_signed: true }
    greeting: \"hi\\n\"
  - name: client
    tls: { self_signed: true }
    greeting: \"hi\\n\"
clients:
  - name: counts
    connect: ca
    exec: [sh, -c, 'grep -c BEGIN \"$0\"', \"{ca_file}\"]
    expect_stdout: \"1\\n\"
  - connect: client
    steps:
      - expect: \"hi\\n\"
",
    );
    assert_eq!(code, 0, "{out}\n{err}");
}

/// A TLS client of a plain server: the server shows that a TLS hello came, not its bytes (they
/// differ every run), and the client's failure names the server's first byte; the same every
/// run.
#[test]
fn a_tls_client_of_a_plain_server_reads_the_same_every_run() {
    let transcript = crate::proxy::same_every_run(
        "tls_to_plain.yaml",
        "
servers:
  - name: plain
    greeting: \"220 hello\\r\\n\"
clients:
  - name: secure
    connect: plain
    steps:
      - expect_tls_error: handshake_failure
",
        6,
        &["0.1", "1"],
    );
    assert!(
        transcript.contains("plain   received a TLS client's hello (not shown: it differs every run), and speaks plain text → closed the connection"),
        "{transcript}"
    );
    assert!(
        transcript.contains("its first byte, '2' (0x32)"),
        "{transcript}"
    );
}

/// A handshake that never finishes (a proxy holds the hello for good) fails in the time
/// of the `expect_tls_error` that waits for it, and says it was the handshake.
#[test]
fn a_handshake_that_never_finishes_is_said_so_in_its_steps_time() {
    let (code, out, err) = transcript(
        "tls_never_answered.yaml",
        "
servers:
  - name: secure
    tls: { self_signed: true }
  - name: deaf
    proxy: { to: secure }
    faults:
      to_upstream: { stall: { after: 0 } }
clients:
  - name: waits
    connect: deaf
    tls: true
    steps:
      - expect_tls_error: handshake_failure
        timeout: 300ms
",
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("connect deaf: the TLS handshake did not finish within 300ms"),
        "{out}\n{err}"
    );
}

/// A server that says `close_notify` and then sends more, in one write: the client reads what
/// came before, sees the close, and ignores the rest (it spun for ever, deaf to Ctrl-C, when a
/// read held more than rustls takes at once).
#[test]
fn bytes_after_close_notify_are_ignored() {
    let Some(python) = python3("bytes_after_close_notify_are_ignored") else {
        return;
    };
    let peer = own_peer("tls_misbehaving_server.py");
    let (code, out, err) = transcript(
        "tls_after_close_notify.yaml",
        &format!(
            "
timeout: 20s
servers:
  - name: odd
    tls: {{ self_signed: true }}
    exec: [{python}, {peer}, \"{{port}}\", \"{{cert_file}}\", \"{{key_file}}\", junk_after_close_notify]
clients:
  - connect: odd
    timeout: 10s
    steps:
      - expect: {{ bytes: 5000 }}
      - expect_close: true
",
            peer = peer.display()
        ),
    );
    assert_eq!(code, 0, "{out}\n{err}");
}

/// A stream that ends inside a record (no `close_notify`, the record's last byte missing) is
/// not a clean close: what the record held is lost, and the step says so.
#[test]
fn a_record_cut_short_by_the_close_fails_the_read() {
    let Some(python) = python3("a_record_cut_short_by_the_close_fails_the_read") else {
        return;
    };
    let peer = own_peer("tls_misbehaving_server.py");
    let (code, out, err) = transcript(
        "tls_cut_short.yaml",
        &format!(
            "
servers:
  - name: odd
    tls: {{ self_signed: true }}
    exec: [{python}, {peer}, \"{{port}}\", \"{{cert_file}}\", \"{{key_file}}\", truncated_record]
clients:
  - connect: odd
    steps:
      - read_to_close: \"\"
",
            peer = peer.display()
        ),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("the peer closed in the middle of a TLS record: what it held is lost"),
        "{out}\n{err}"
    );
}

/// A TLS 1.3 client refused for want of a certificate, which wrote a lot before reading: it
/// reads the server's alert every time, not "broken pipe" (the server reads and drops what it
/// sends until it closes, so the kernel never answers it with a reset).
#[test]
fn a_refused_client_reads_the_alert_however_much_it_sent() {
    for _ in 0..4 {
        let (code, out, err) = transcript(
            "tls_refused_big_send.yaml",
            "
servers:
  - name: mtls
    tls: { self_signed: true, client_ca: run }
    rules:
      - reply: got
clients:
  - name: no_cert
    connect: mtls
    steps:
      - send: { repeat: x, times: 2000000 }
      - expect_tls_error: certificate_required
",
        );
        assert_eq!(code, 0, "{out}\n{err}");
    }
}

/// A peer that goes away in the middle of the handshake (closing, or resetting): the server says
/// one thing, whichever it was and whichever of its reads or writes saw it.
#[test]
fn a_peer_that_leaves_mid_handshake_is_said_one_way() {
    let Some(python) = python3("a_peer_that_leaves_mid_handshake_is_said_one_way") else {
        return;
    };
    for how in ["close", "reset"] {
        let script = format!(
            "import socket,struct,sys\\ns=socket.create_connection(('127.0.0.1',int(sys.argv[1])))\\ns.sendall(bytes([22,3,1,0,80])+bytes(10))\\n{}s.close()",
            if how == "reset" {
                "s.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0))\\n"
            } else {
                ""
            }
        );
        let (code, out, err) = transcript(
            "tls_left.yaml",
            &format!(
                "
servers:
  - name: secure
    tls: {{ self_signed: true }}
clients:
  - name: leaves
    connect: secure
    exec: [{python}, -c, \"{script}\", \"{{port}}\"]
"
            ),
        );
        assert_eq!(code, 0, "{how}: {out}\n{err}");
        assert!(
            out.contains("secure  the peer left during the TLS handshake (it closed or reset the connection, with no TLS alert)"),
            "{how}: {out}\n{err}"
        );
    }
}

/// A `starttls` right behind a command nothing answered, to a chunk-framed server: warned of at
/// load (the server may read the command and the hello as one message), at the `starttls`.
#[test]
fn a_hello_behind_an_unanswered_command_is_warned_of() {
    let file = temp_file(
        "tls_hasty.yaml",
        "
servers:
  - name: mail
    tls: { self_signed: true }
    rules:
      - match: STARTTLS
        starttls: true
clients:
  - connect: mail
    steps:
      - send: STARTTLS
      - starttls: true
      - send: hello
",
    );
    let (code, stdout, stderr) = text(&netlab().arg("check").arg(&file).output().unwrap());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("a TLS hello right behind a send nothing answered yet")
            && stderr.contains("clients[0].steps[1].starttls"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
}

/// A client speaking TLS through a proxy to a server outside the run (OpenSSL's): the proxy's
/// lines do not show the records, and the transcript is the same every run.
#[test]
fn tls_through_a_proxy_to_an_outside_server_reads_the_same_every_run() {
    if !openssl("tls_through_a_proxy_to_an_outside_server_reads_the_same_every_run") {
        return;
    }
    let port = crate::support::free_port();
    let pki = temp_file("outside.yaml", "");
    let dir = pki.parent().unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(dir.join("outside.key"))
        .arg("-out")
        .arg(dir.join("outside.pem"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let child = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-rev", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("outside.pem"))
        .arg("-key")
        .arg(dir.join("outside.key"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = crate::support::Guard(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let transcript = crate::proxy::same_every_run(
        "tls_outside_proxy.yaml",
        &format!(
            "
servers:
  - name: p
    proxy: {{ to: \"127.0.0.1:{port}\" }}
    faults:
      to_client: {{ slice: {{ bytes: 50, pause: 1ms }} }}
clients:
  - name: c
    connect: p
    tls: {{ insecure: true }}
    steps:
      - send: \"hello\\n\"
      - expect: \"olleh\\n\"
"
        ),
        4,
        &["1", "0.5"],
    );
    assert!(
        transcript.contains("relayed bytes to the client (a TLS conversation: not shown)"),
        "{transcript}"
    );
    assert!(!transcript.contains("hex"), "{transcript}");
}

/// `netlab serve -q` of `file` (a scenario with one TLS server of the run): the child, and the
/// address and CA file its listening line gives.
fn serve_tls(file: &std::path::Path) -> (crate::support::Guard, String, String) {
    let mut command = netlab();
    command.args(["serve", "-q"]).arg(file);
    let (server, _lines, line) = start_until(command, "listening on", Duration::from_secs(10));
    let (_, rest) = line.split_once("listening on ").unwrap();
    let upstream = rest.split_whitespace().next().unwrap().to_string();
    let (_, ca) = line.split_once("(TLS: its CA is ").unwrap();
    (server, upstream, ca.trim_end_matches(')').to_string())
}

/// Records, with `netlab record --connections 1`, a client of `server` (served by `netlab
/// serve`) that takes `steps` (trusting the run's CA): asserts the client passed, the recorder
/// exited 1 saying the client spoke TLS, and that nothing was written.
fn record_refuses(server: &std::path::Path, steps: &str) {
    let (_server, upstream, ca) = serve_tls(server);
    let out = temp_file("recorded.yaml", "");
    std::fs::remove_file(&out).unwrap();
    let said = temp_file("recorder.err", "");
    let child = netlab()
        .args(["record", "--listen", "127.0.0.1:0", "--to", &upstream])
        .args(["--connections", "1", "-o", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&said).unwrap())
        .spawn()
        .unwrap();
    let mut recorder = crate::support::Guard(child);
    let lines = crate::support::Lines::of(recorder.0.stdout.take().unwrap());
    let line = lines.wait_for("listening on", Duration::from_secs(20));
    let addr: std::net::SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    let (code, stdout, stderr) = transcript(
        "through_the_recorder.yaml",
        &format!(
            "
clients:
  - connect: \"{addr}\"
    tls: {{ ca: \"{ca}\", sni: localhost }}
    steps:
{steps}"
        ),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(crate::record::exit_code(&mut recorder), Some(1));
    let said = std::fs::read_to_string(&said).unwrap();
    assert!(said.contains("the client spoke TLS"), "{said}");
    assert!(!out.exists(), "a scenario was written");
}

/// `netlab record` of a client that speaks TLS: what went through is encrypted and differs
/// every run, so no scenario is written (exit 1), and the recorder says why.
#[test]
fn record_refuses_a_conversation_in_tls() {
    record_refuses(
        std::path::Path::new("scenarios/tls_hello.yaml"),
        "      - expect: \"Welcome!\"
      - send: exit
      - expect_close: true
",
    );
}

/// `netlab record` refuses a STARTTLS conversation too (the hello after the plain command).
#[test]
fn record_refuses_starttls() {
    let server = temp_file(
        "starttls_server.yaml",
        "
servers:
  - name: mail
    framing: line
    tls: { self_signed: true }
    greeting: \"220 ready\\r\\n\"
    rules:
      - match: STARTTLS
        reply: \"220 go ahead\\r\\n\"
        starttls: true
      - reply: \"250 ok\\r\\n\"
",
    );
    record_refuses(
        &server,
        "      - expect: \"220 ready\\r\\n\"
      - send: \"STARTTLS\\r\\n\"
      - expect: \"220 go ahead\\r\\n\"
      - starttls: true
      - send: \"EHLO me\\r\\n\"
      - expect: \"250 ok\\r\\n\"
",
    );
}

/// A server's `read_size` is what one read gives over TLS as over TCP: a record that holds more
/// is read in pieces of that size (the read_size lesson holds with TLS on).
#[test]
fn read_size_cuts_the_plain_text_as_over_tcp() {
    let yaml = |tls: &str| {
        format!(
            "
servers:
  - name: small
    read_size: 4
    {tls}
    rules:
      - reply: \"[{{data}}]\"
clients:
  - connect: small
    steps:
      - send: hello
      - expect: \"[hell][o]\"
"
        )
    };
    for tls in ["", "tls: { self_signed: true }"] {
        let (code, out, err) = transcript("tls_read_size.yaml", &yaml(tls));
        assert_eq!(code, 0, "{tls}: {out}\n{err}");
    }
}

/// A TLS hello to a plain server is told whatever the cut (here the server reads 4 bytes at a
/// time), and at a later message of a server that may turn to TLS (a hello without STARTTLS
/// first); a binary frame that only starts like a record is answered as the frame it is.
#[test]
fn a_hello_to_plain_text_is_told_however_it_is_cut_and_a_lookalike_is_not() {
    let (code, cut) = same_every_time(
        "tls_cut_hello_alone.yaml",
        "
servers:
  - name: plain
    read_size: 4
    framing: line
clients:
  - connect: plain
    tls: true
    steps:
      - expect: never
",
        6,
        &["0.1", "1"],
    );
    assert_eq!(code, 1, "{cut}");
    let (code, out, err) = transcript(
        "tls_cut_hello.yaml",
        "
servers:
  - name: plain
    read_size: 4
    framing: line
  - name: mail
    framing: line
    tls: { self_signed: true }
    rules:
      - match: STARTTLS
        reply: \"220 go ahead\\r\\n\"
        starttls: true
      - reply: \"250 hello\\r\\n\"
  - name: binary
    framing: { length: u8, offset: 4 }
    rules:
      - reply: { frame: ok }
clients:
  - name: cut
    connect: plain
    tls: true
    steps:
      - expect: never
  - name: hasty
    connect: mail
    steps:
      - send: \"EHLO me\\r\\n\"
      - expect: \"250 hello\\r\\n\"
      - starttls: true
  - name: lookalike
    connect: binary
    steps:
      - send: { hex: \"16 03 01 00 01 01\" }
      - expect: { frame: ok }
",
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let told = "received a TLS client's hello (not shown: it differs every run), and speaks plain text → closed the connection";
    assert_eq!(out.matches(told).count(), 2, "{out}\n{err}");
    assert!(
        out.contains("lookalike → binary") && out.contains("✓ lookalike  expect"),
        "{out}"
    );
}

/// The run's keys are Ed25519 (signatures of one size) and its serial numbers of one length:
/// a handshake is as long every run, so a proxy's cut after N bytes falls at the same place of
/// it every time (with ECDSA it failed the handshake 19 runs in 20, the next step the 20th).
#[test]
fn a_proxy_cut_in_the_handshake_falls_at_the_same_place_every_run() {
    for after in [1100, 1150] {
        let (_, transcript) = same_every_time(
            "tls_cut_by_a_proxy.yaml",
            &format!(
                "
servers:
  - name: echo
    tls: {{ self_signed: true }}
    greeting: \"hi\\n\"
  - name: p
    proxy: {{ to: echo }}
    faults:
      to_client: {{ close_after: {after} }}
clients:
  - connect: p
    timeout: 1s
    steps:
      - expect: \"hi\\n\"
"
            ),
            8,
            &["0.1", "1"],
        );
        assert!(!transcript.is_empty());
    }
}

/// A netlab client answers a server's `close_notify` with its own (Python's `unwrap()` waits
/// for it, and says "EOF occurred in violation of protocol" without it).
#[test]
fn a_client_answers_close_notify_with_its_own() {
    let Some(python) = python3("a_client_answers_close_notify_with_its_own") else {
        return;
    };
    let script = "import socket,ssl,sys\\nc=ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])\\nl=socket.create_server(('127.0.0.1', int(sys.argv[1])))\\ns,_=l.accept(); t=c.wrap_socket(s, server_side=True); t.sendall(b'bye\\\\n')\\ntry:\\n  t.unwrap(); print('unwrapped', flush=True)\\nexcept Exception as e:\\n  print('unwrap failed:', e, flush=True)\\nimport time; time.sleep(30)";
    let (code, out, err) = transcript(
        "tls_unwrap.yaml",
        &format!(
            "
servers:
  - name: polite
    tls: {{ self_signed: true }}
    capture_output: true
    exec: [{python}, -c, \"{script}\", \"{{port}}\", \"{{cert_file}}\", \"{{key_file}}\"]
clients:
  - connect: polite
    steps:
      - expect: \"bye\\n\"
      - expect_close: true
"
        ),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("unwrapped"), "{out}\n{err}");
}
