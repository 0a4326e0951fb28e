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
    assert!(stdout.contains("score 2/3 points"), "{stdout}");
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

/// The http view reads what `read_to_close` got and a program's whole stdout as one response
/// (a program such as `curl -si` prints one), and says what was wrong with it.
#[test]
fn read_to_close_and_a_programs_stdout_take_the_http_view() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "whole.yaml",
        r#"
timeout: 10s
servers:
  - name: web
    rules:
      - reply: { http: { status: 200, body: "hi" } }
        close: true
clients:
  - name: to_the_close
    connect: web
    steps:
      - send: "GET / HTTP/1.0\r\n\r\n"
      - read_to_close: { http: { status: 200, body: "hi" } }
  - name: printed
    connect: web
    exec: ["printf", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"]
    expect_stdout: { http: { status: 200, headers: { content-length: "2" }, body: "hi" } }
  - name: printed_wrong
    connect: web
    exec: ["printf", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"]
    expect_stdout: { http: { status: 404 } }
"#,
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let line = |mark: &str, client: &str, step: &str| {
        stdout
            .lines()
            .any(|line| line.contains(&format!("{mark} {client} ")) && line.contains(step))
    };
    assert!(
        line(
            "✓",
            "to_the_close",
            r#"read_to_close http response (status 200, body "hi")"#
        ),
        "{stdout}"
    );
    assert!(
        line(
            "✓",
            "printed",
            r#"expect_stdout http response (status 200, content-length "2", body "hi")"#
        ),
        "{stdout}"
    );
    assert!(
        line(
            "✗",
            "printed_wrong",
            "expect_stdout http response (status 404)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("the status is 200, not 404"), "{stdout}");
}

/// A reply's header values are templates as its body is: a named group of the request's path,
/// and `{data}` (here a line), are filled in where the client reads them.
#[test]
fn reply_header_values_are_filled_from_the_request() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "headers.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { http: { path: { regex: "^/users/(?P<id>\\d+)$" } } }
        reply: { http: { headers: { Location: "/people/{id}" }, body: "user {id}" } }
  - name: lines
    framing: line
    rules:
      - reply: { http: { headers: { X-Echo: "{data}" }, body: { hex: "6f 6b" } } }
clients:
  - name: browser
    connect: web
    steps:
      - send: "GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n"
      - expect: { http: { status: 200, headers: { location: "/people/42" }, body: "user 42" } }
  - name: liner
    connect: lines
    steps:
      - send: "ping\n"
      - expect: { http: { headers: { x-echo: "ping" }, body: "ok" } }
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            r#"reply "HTTP/1.1 200 OK\r\nLocation: /people/42\r\nContent-Length: 7\r\n\r\nuser 42""#
        ),
        "{stdout}"
    );
}

/// A header value filled with a line break is never written: it would end the field there and
/// forge the rest of the response. The server sends nothing and ends the connection, saying why.
#[test]
fn a_header_value_filled_with_a_line_break_is_not_sent() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "injected.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { http: { method: POST, body: { regex: "(?s)^(?P<note>.*)$" } } }
        reply: { http: { status: 201, headers: { X-Note: "{note}" } } }
clients:
  - name: honest
    connect: web
    steps:
      - send: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
      - expect: { http: { status: 201, headers: { x-note: hello } } }
  - name: forger
    connect: web
    steps:
      - send: "POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\nx\r\nSet-Cookie: a"
      - expect_close: true
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "connection failed: reply not sent: the `X-Note` header's value, filled in, holds a CR, LF or NUL"
        ),
        "{stdout}"
    );
    // The forger's request is answered by the rule, with no reply.
    assert!(
        stdout.contains(r#"received "POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\nx\r\nSet-Cookie: a" → rules[0], no reply"#),
        "{stdout}"
    );
}

/// Over udp each datagram is one message: an `http` rule matches it as one whole request, and an
/// `http` reply is one datagram (HTTP over UDP, as SSDP's M-SEARCH is).
#[test]
fn a_udp_server_matches_and_answers_http_datagrams() {
    let (code, stdout, stderr) = netlab_on(
        "run",
        "ssdp.yaml",
        r#"
timeout: 5s
servers:
  - name: ssdp
    protocol: udp
    rules:
      - match: { http: { method: M-SEARCH, path: "*", headers: { st: { regex: "^(?P<st>\\S+)$" } } } }
        reply: { http: { headers: { ST: "{st}", Location: "http://192.0.2.1/desc.xml" } } }
clients:
  - name: finder
    connect: ssdp
    steps:
      - send: "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\nST: ssdp:all\r\n\r\n"
      - expect: { http: { status: 200, headers: { st: "ssdp:all" } } }
      - send: "GET / HTTP/1.1\r\n\r\n"
      - expect_nothing: 100ms
"#,
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
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

/// `read_to_close` with the http view takes everything until the close as one response: bytes
/// after its end fail the step, and the failure says so.
#[test]
fn bytes_after_the_response_fail_read_to_close_and_say_so() {
    let (code, stdout, _) = netlab_on(
        "run",
        "after.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - reply: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA"
        close: true
clients:
  - name: c
    connect: web
    steps:
      - send: "GET / HTTP/1.0\r\n\r\n"
      - read_to_close: { http: { status: 200, body: "hi" } }
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("5 more bytes came after the response's end"),
        "{stdout}"
    );
}

/// A standard method written in lower case loads (a method is any token) but is warned of: it
/// matches no request a client sends as `GET`.
#[test]
fn a_lower_case_method_is_warned_of() {
    let (code, _, stderr) = netlab_on(
        "check",
        "lower.yaml",
        r#"
servers:
  - name: s
    rules:
      - match: { http: { method: get } }
        reply: { http: { body: "x" } }
"#,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("methods are case-sensitive: `get` does not match a `GET` request"),
        "{stderr}"
    );
}

/// A response to HEAD read without `no_body: true` waits for a body that never comes; the
/// timeout says why, and what to write.
#[test]
fn a_head_response_read_as_a_whole_one_says_what_to_write() {
    let (code, stdout, _) = netlab_on(
        "run",
        "head_wait.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - match: { http: { method: HEAD } }
        reply: { http: { body: "hello ann" } }
clients:
  - name: c
    connect: web
    steps:
      - send: "HEAD / HTTP/1.1\r\n\r\n"
      - expect: { http: { status: 200 } }
        timeout: 300ms
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("the head says 9 bytes of body, and none came")
            && stdout.contains("write `no_body: true`"),
        "{stdout}"
    );
}

/// A response whose body ends at the close is not whole at the step's deadline: the server
/// never closed (it matched, as if the close had come).
#[test]
fn a_body_that_ends_at_the_close_is_not_whole_at_the_deadline() {
    let (code, stdout, _) = netlab_on(
        "run",
        "open.yaml",
        r#"
timeout: 5s
servers:
  - name: web
    rules:
      - reply: "HTTP/1.0 200 OK\r\n\r\npart of it"
clients:
  - name: c
    connect: web
    steps:
      - send: "GET / HTTP/1.0\r\n\r\n"
      - expect: { http: { status: 200 } }
        timeout: 300ms
"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("nothing matching within 300ms"), "{stdout}");
}
