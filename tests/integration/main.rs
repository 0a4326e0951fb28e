//! netlab's end-to-end tests: the real `netlab` binary against real sockets on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test should fail loudly

/// Running the binary, peers, free ports, skipping when a tool is missing.
mod support;

/// Every shipped scenario passes, with its transcript snapshotted.
mod scenarios;

/// Broken scenario files: each gives exit code 2 and a message pointing at the mistake.
mod bad_scenarios;

/// The command line: help, exit codes, colour, time scale.
mod cli;

/// `netlab test`: snapshots, updates, the CI rule, JUnit and JSON reports, filters.
mod suite;

/// netlab against the tutorial's real programs, both ways.
mod interop;

/// netlab against a real third-party server (Redis), started by the test.
mod third_party;

/// TLS: every handshake failure a step can expect, mutual TLS, STARTTLS, and interop with
/// OpenSSL, Python's ssl and curl.
mod tls;

/// Lab exercises graded against reference and broken solutions.
mod exercises;
/// Feedback a student can act on: which failure, in which words.
mod feedback;
/// A class graded into a gradebook.
mod grade;

/// `netlab serve`: a scenario's servers for outside programs.
mod serve;

/// Misbehaving peers: never answers, trickles, floods, half-closes, resets.
mod hostile;

/// Many clients at once, and a server that cannot keep up.
mod soak;

/// Load steps: `repeat`, streamed sends and counted receives, and what the transcript makes of
/// them.
mod load;

/// The JSON Schema: in sync with the code, accepting every shipped scenario.
mod schema;

/// Every example in docs/ loads and passes.
mod docs;

/// netlab's own threads when a run stops: none panics, whatever is in flight.
mod stopping;

/// Verdicts to trust with real programs: directories, baselines, crashes, ports, exit codes,
/// signals.
mod trust;

/// The same verdict however the stream is cut.
mod cuts;

/// `{name}` templates: vars, `--var`, `NETLAB_VAR_*`, `{client}` and `{instance}`.
mod vars;

/// `netlab.toml` profiles and their precedence.
mod profiles;

/// Captures: values carried from one message to the next, filled in later steps.
mod captures;

/// `redact:`: what changes from run to run hidden from transcripts, snapshots and reports.
mod redact;

/// Framing by length and by delimiter: servers cut frames, clients write and read them.
mod framing;

/// The HTTP view: responses read by their own framing, requests matched, replies with a length.
mod http;

/// Proxy servers: both legs in the transcript, faults on each way.
mod proxy;

/// UDP proxies: a session per sender, datagrams relayed whole through each way's faults.
mod udp_proxy;

/// `netlab record`: a live exchange written as a scenario, replayed with and without the server.
mod record;

/// The sequence diagram and the HTML report (and the report in a real browser).
mod diagram;
