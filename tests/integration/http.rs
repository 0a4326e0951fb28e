//! The HTTP view end to end: against a real HTTP server (Python's http.server), a Content-Length
//! that the close cuts short, chunked bodies, and requests matched and answered by a netlab
//! server.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, netlab_on, python3, temp_file};

/// Python's http.server serving `dir` on a free port; killed when dropped.
struct PythonServer(Child, u16);

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_http_server(dir: &std::path::Path) -> PythonServer {
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = PythonServer(child, port);
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "http.server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

#[test]
fn the_http_view_reads_a_real_servers_responses() {
    let test = "the_http_view_reads_a_real_servers_responses";
    if python3(test).is_none() {
        return;
    }
    let page = temp_file(
        "index.html",
        "<html><body><h1>from python</h1></body></html>\n",
    );
    let server = python_http_server(page.parent().unwrap());
    let (code, stdout, stderr) = netlab_on(
        "run",
        "real.yaml",
        &format!(
            r#"
timeout: 10s
redact:
  date: "Date: [^\r]+"
  server: "Server: [^\r]+"
  modified: "Last-Modified: [^\r]+"
clients:
  - name: page
    connect: "127.0.0.1:{port}"
    steps:
      - send: "GET /index.html HTTP/1.0\r\n\r\n"
      - expect:
          http:
            status: 200
            headers:
              content-type: {{ contains: "text/html" }}
              content-length: "47"
            body: {{ contains: "<h1>from python</h1>" }}
  - name: missing
    connect: "127.0.0.1:{port}"
    steps:
      - send: "GET /nope HTTP/1.0\r\n\r\n"
      - expect: {{ http: {{ status: 404 }} }}
  - name: wrong
    connect: "127.0.0.1:{port}"
    steps:
      - send: "GET /index.html HTTP/1.0\r\n\r\n"
      - expect: {{ http: {{ status: 200, body: {{ contains: "not there" }} }} }}
        timeout: 2s
"#,
            port = server.1
        ),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("✓ page"), "{stdout}");
    assert!(
        stdout.contains("the body (47 bytes) does not match"),
        "{stdout}"
    );
    // Only `wrong` failed.
    assert!(stdout.contains("score 5/6"), "{stdout}");
}

#[test]
fn a_content_length_the_close_cuts_short_fails_with_a_clear_message() {
    let (code, stdout, _) = netlab_on(
        "run",
        "liar.yaml",
        r#"
timeout: 5s
servers:
  - name: liar
    rules:
      - reply: "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nshort"
        close: true
  - name: chunked
    rules:
      - reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
clients:
  - name: lied_to
    connect: liar
    steps:
      - send: "GET / HTTP/1.0\r\n\r\n"
      - expect: { http: { status: 200 } }
  - name: chunks
    connect: chunked
    steps:
      - send: "GET / HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200, body: "hello world" } }
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "the Content-Length says 100 bytes, and the connection closed after 5 bytes of body"
        ),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|line| line.contains("✓ chunks")
            && line.contains(r#"expect http response (status 200, body "hello world")"#)),
        "{stdout}"
    );
}

#[test]
fn a_netlab_server_matches_requests_and_computes_lengths() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "web.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { http: { method: GET, path: { regex: "^/hello/(?P<who>\\w+)$" } } }
        reply: { http: { headers: { Content-Type: text/plain }, body: "hello {who}" } }
      - match: { http: { method: POST, headers: { content-type: { contains: json } } } }
        reply: { http: { status: 201, body: "stored" } }
      - reply: { http: { status: 404 } }
clients:
  - name: keep_alive
    connect: web
    steps:
      # Two requests in one write, a body in pieces: each is read by its own framing.
      - send: "GET /hello/ann HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/bob HTTP/1.1\r\nHost: x\r\n\r\n"
      - expect: { http: { status: 200, body: "hello ann" } }
      - expect: { http: { status: 200, headers: { content-length: "9" }, body: "hello bob" } }
      - send: "POST /items HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"a\":"
      - sleep: 50ms
      - send: "true}"
      - expect: { http: { status: 201, body: "stored" } }
      - send: "DELETE / HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 404, body: "" } }
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn http_mistakes_are_refused_where_they_are_written() {
    let cases = [
        (
            r#"
clients:
  - connect: "127.0.0.1:9"
    steps:
      - send: "x"
      - expect: { http: { method: GET } }
"#,
            "`method` does not apply here: a client reads responses",
        ),
        (
            r#"
servers:
  - name: s
    rules:
      - match: { http: { status: 200 } }
"#,
            "`status` does not apply here: a server reads requests",
        ),
        (
            r#"
servers:
  - name: s
    rules:
      - reply: { http: { headers: { "bad name": x } } }
"#,
            "`bad name` is not a header name",
        ),
    ];
    for (yaml, message) in cases {
        let (code, _, stderr) = netlab_on("check", "mistake.yaml", yaml);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}

/// A response short of its Content-Length when the step's time runs out is a timeout (the
/// server may yet send the rest), not "the connection closed": it did not.
#[test]
fn a_body_short_of_its_length_at_the_deadline_is_a_timeout() {
    let (code, stdout, _) = netlab_on(
        "run",
        "slow.yaml",
        r#"
timeout: 5s
servers:
  - name: slow
    rules:
      - reply: "HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nshort"
clients:
  - name: c
    connect: slow
    steps:
      - send: "GET / HTTP/1.0\r\n\r\n"
      - expect: { http: { status: 200 } }
        timeout: 300ms
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("nothing matching within 300ms"), "{stdout}");
    assert!(!stdout.contains("connection closed"), "{stdout}");
}

/// HEAD: a netlab server answers with the head alone (the Content-Length the body would have),
/// and a client reads such a response with `no_body: true`; the next response on the same
/// connection is read whole, so no body bytes were sent after the head. Methods are
/// case-sensitive.
#[test]
fn a_head_request_gets_a_head_and_methods_are_case_sensitive() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "head.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { http: { method: GET, path: { regex: "^/hello/(?P<who>\\w+)$" } } }
        reply: { http: { body: "hello {who}" } }
      - match: { http: { method: HEAD } }
        reply: { http: { body: "hello ann" } }
      - reply: { http: { status: 404, body: "no" } }
clients:
  - name: c
    connect: web
    steps:
      - send: "HEAD /hello/ann HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200, no_body: true, headers: { content-length: "9" } } }
      - send: "get /hello/ann HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 404, body: "no" } }
      - send: "GET /hello/bob HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200, body: "hello bob" } }
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// Requests whose length is ambiguous or unknowable end the connection (as a server answers
/// 400 and closes), rather than being read as bodiless.
#[test]
fn a_request_with_an_ambiguous_length_ends_the_connection() {
    for request in [
        r"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        r"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        r"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\nx\r\n0\r\n\r\n",
    ] {
        let yaml = format!(
            r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: {{ http: {{ method: POST }} }}
        reply: {{ http: {{ body: "read it" }} }}
clients:
  - name: c
    connect: web
    steps:
      - send: "{request}"
      - expect_close: true
"#
        );
        let (code, stdout, stderr) = netlab_on("run", "ambiguous.yaml", &yaml);
        assert_eq!(code, 0, "{request}\n{stdout}\n{stderr}");
        assert!(stdout.contains("bad frame"), "{request}\n{stdout}");
    }
}

/// A reply that would break HTTP's framing is refused where it is written: a body on a status
/// that has none, a Transfer-Encoding over a body netlab writes as it is.
#[test]
fn replies_that_would_break_framing_are_refused() {
    for (reply, message) in [
        (
            r#"{ http: { status: 204, body: "x" } }"#,
            "a 204 response has no body",
        ),
        (
            r#"{ http: { status: 304, body: "x" } }"#,
            "a 304 response has no body",
        ),
        (
            r#"{ http: { headers: { Transfer-Encoding: chunked }, body: "x" } }"#,
            "a Transfer-Encoding would make the client read it as chunks",
        ),
    ] {
        let yaml = format!("servers:\n  - name: s\n    rules:\n      - reply: {reply}\n");
        let (code, _, stderr) = netlab_on("check", "reply.yaml", &yaml);
        assert_eq!(code, 2, "{reply}: {stderr}");
        assert!(stderr.contains(message), "{reply}: {stderr}");
    }
}
