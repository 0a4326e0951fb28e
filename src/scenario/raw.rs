//! The serde mirror of a scenario file: one type per YAML construct, `deny_unknown_fields`
//! everywhere. Types whose YAML is "a string or a map" get hand-written visitors (in `visitors`)
//! so that every mistake is reported by serde_yaml with its line and column. No cross-field logic
//! lives here; `validate` turns these into the checked model.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::tls::{CertificateFault, TlsErrorKind, TlsVersion};

/// A netlab scenario file: servers to start, clients that talk to them, and what must be said.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "netlab scenario", transform = super::schema::scenario_rules)]
pub struct RawScenario {
    /// Scenario name; defaults to the file stem.
    #[schemars(regex(pattern = super::schema::NAME_PATTERN))]
    pub name: Option<String>,
    /// Free text shown by `netlab run`.
    pub description: Option<String>,
    /// Bound on the whole scenario.
    pub timeout: Option<RawDuration>,
    /// Under `netlab test`, how many more times to run the scenario when it fails (a pass on a
    /// retry is reported FLAKY); `--retries` on the command line overrides it.
    #[schemars(range(max = 100))]
    pub retries: Option<u32>,
    /// Names usable as `{name}` in `connect`, payloads, matchers, hints and `exec:` arguments,
    /// with their defaults (`~`: must be given with `--var name=value` or `NETLAB_VAR_NAME`).
    #[serde(default)]
    pub vars: BTreeMap<String, Option<String>>,
    /// What to hide in the transcript: in the bytes it shows, what each regex matches is shown
    /// as `[name]` (a time, an id that changes from run to run).
    #[serde(default)]
    pub redact: RawRedact,
    /// Servers to start.
    #[serde(default)]
    pub servers: Vec<RawServer>,
    /// Clients to run.
    #[serde(default)]
    pub clients: Vec<RawClient>,
    /// For an exercise: the solutions `netlab lab` runs it against, each declared to pass or to
    /// fail (at a named step). Unused by every other command.
    #[serde(default)]
    pub solutions: Vec<RawSolution>,
}

/// A solution of an exercise, and how it must do.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSolution {
    /// The solution (a file or a directory), relative to the exercise.
    pub path: String,
    /// `pass` or `fail`.
    pub expect: SolutionExpect,
    /// For `fail`: where it must fail: `CLIENT.steps[N]` (a client's step, its path as the
    /// transcript names it), `SERVER` (the program under test failed), or `SERVER.expect_messages`
    /// / `SERVER.expect_connections` (a server's check).
    pub at: Option<String>,
}

/// How a solution of an exercise must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SolutionExpect {
    /// Every check passes.
    Pass,
    /// Some check fails.
    Fail,
}

/// Transport protocol of a server or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// A byte stream.
    Tcp,
    /// Datagrams.
    Udp,
}

impl Protocol {
    /// Its name as written in a scenario (`tcp`, `udp`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// How a TCP server serves several clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Concurrency {
    /// A thread per connection.
    #[default]
    Threaded,
    /// One connection at a time; the others wait in the listen backlog.
    Sequential,
}

/// How a stream is cut into messages, as written: `chunk`, `line`, `{ length: u16be, offset,
/// adjust, include_header }` or `{ delimiter: "…" }` (read by `visitors`, checked by `validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawFraming {
    /// One recv() result is one message.
    Chunk,
    /// One line (up to `\n`, without it and a `\r` before it) is one message.
    Line,
    /// HTTP/1.x requests, each read by its own framing.
    Http,
    /// A length prefix.
    Length {
        /// The length field's kind (`u8`, `u16be`, `u16le`, `u32be`, `u32le`, `u64be`, `u64le`,
        /// `varint`).
        length: String,
        /// Bytes before the length field.
        offset: Option<u64>,
        /// Added to the length to give the body's size.
        adjust: Option<i64>,
        /// The length counts the header too.
        include_header: Option<bool>,
    },
    /// These bytes end each message.
    Delimiter(RawDelimiter),
}

/// A delimiter as written: a string (its UTF-8 bytes), or `{ hex: "00" }` for any bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDelimiter(pub Vec<u8>);

/// A server entry, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::server_rules)]
pub struct RawServer {
    /// Unique name clients connect by.
    #[schemars(regex(pattern = super::schema::NAME_PATTERN))]
    pub name: String,
    /// `tcp` (default) or `udp`.
    pub protocol: Option<Protocol>,
    /// Address to bind: an IP address (`127.0.0.1`, `::1`, `0.0.0.0`, `::`).
    #[schemars(regex(pattern = super::schema::IP_PATTERN))]
    pub bind: Option<String>,
    /// Port to bind; 0 picks a free one.
    pub port: Option<u16>,
    /// listen() backlog.
    #[schemars(range(min = 1))]
    pub backlog: Option<u32>,
    /// Bytes asked of each recv() (`1024`, `64KiB`).
    pub read_size: Option<RawSize>,
    /// Threaded or sequential.
    pub concurrency: Option<Concurrency>,
    /// Message framing for rules.
    pub framing: Option<RawFraming>,
    /// Sent on accept.
    pub greeting: Option<RawPayload>,
    /// Pause before each reply.
    pub delay: Option<RawDuration>,
    /// Reply rules, first match wins.
    #[serde(default)]
    pub rules: Vec<RawRule>,
    /// A program to start instead of a netlab server (a program under test).
    pub exec: Option<Vec<String>>,
    /// UDP program: how long to give it before it counts as ready.
    pub ready_after: Option<RawDuration>,
    /// Program: how long it may take to become ready.
    pub ready_timeout: Option<RawDuration>,
    /// Program: show its stdout and stderr in the transcript.
    pub capture_output: Option<bool>,
    /// Program: advice shown when it never gets ready, or dies (for exercises).
    pub hint: Option<String>,
    /// How many connections (udp: senders) it must get, checked at the end of the run.
    pub expect_connections: Option<RawCount>,
    /// How many messages (udp: datagrams) its rules must see, checked at the end of the run.
    pub expect_messages: Option<RawCount>,
    /// Faults the server injects into its replies (a proxy: `to_upstream:`, `to_client:`).
    pub faults: Option<RawFaults>,
    /// Forward both ways to another server or address instead of answering by rules.
    pub proxy: Option<RawProxy>,
    /// Speak TLS: `{ self_signed: true }` or `{ cert: FILE, key: FILE }`, with `alpn`,
    /// `client_ca`, `client_auth`, `versions`.
    pub tls: Option<RawServerTls>,
}

/// A server's `tls:`, as written.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "dependencies" = { "cert": ["key"], "key": ["cert"], "client_auth": ["client_ca"] },
    "anyOf" = [
        { "required": ["self_signed"], "properties": { "self_signed": { "const": true } }, "not": { "required": ["cert"] } },
        { "required": ["cert"], "not": { "properties": { "self_signed": { "const": true } }, "required": ["self_signed"] } }
    ]
))]
pub struct RawServerTls {
    /// Present a certificate made for the run, signed by the run's CA (`{ca_file}`), for the
    /// bind address and `localhost`.
    pub self_signed: Option<bool>,
    /// Present this certificate chain (a PEM file, relative to the scenario).
    pub cert: Option<String>,
    /// Its private key (a PEM file).
    pub key: Option<String>,
    /// The application protocols offered (ALPN), preferred first: `[h2, http/1.1]`.
    #[schemars(inner(length(min = 1, max = 255)))]
    pub alpn: Option<Vec<String>>,
    /// Ask clients for a certificate signed by this CA: `run` (the run's CA) or a PEM file.
    pub client_ca: Option<String>,
    /// Whether a client without a certificate is refused (`required`, the default) or served
    /// (`optional`).
    pub client_auth: Option<RawClientAuth>,
    /// The TLS versions spoken: `[tls1.2, tls1.3]` (both by default).
    #[schemars(length(min = 1))]
    pub versions: Option<Vec<TlsVersion>>,
}

/// `client_auth:` of a server's `tls:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawClientAuth {
    /// A client without a certificate is refused.
    Required,
    /// A client without a certificate is served; one with a bad one is refused.
    Optional,
}

/// A client's `tls:`, as written: `true` (the defaults), `false` (plain text, even to a TLS
/// server), or the settings.
#[derive(Debug, Clone)]
pub enum RawClientTlsSetting {
    /// `false`: plain text.
    Off,
    /// `true` or a map.
    On(RawClientTls),
}

/// A client's `tls:` settings, as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "dependencies" = {
        "client_key": ["client_cert"],
        "insecure": { "not": { "required": ["ca"], "properties": { "insecure": { "const": true } } } }
    }
))]
pub struct RawClientTls {
    /// Trust the certificates of this PEM file (default: the run's CA).
    pub ca: Option<String>,
    /// The server name asked for and checked (default: the host connected to; `localhost` for
    /// a server of the scenario).
    pub sni: Option<String>,
    /// The application protocols offered (ALPN), preferred first.
    #[schemars(inner(length(min = 1, max = 255)))]
    pub alpn: Option<Vec<String>>,
    /// The certificate shown when a server asks: `run` (made for the run, signed by its CA),
    /// `other_ca` (signed by a CA nobody trusts), or a PEM file (with `client_key`).
    pub client_cert: Option<String>,
    /// The private key of `client_cert` (a PEM file).
    pub client_key: Option<String>,
    /// Do not check the server's certificate at all (the transcript says so).
    pub insecure: Option<bool>,
    /// The TLS versions spoken: `[tls1.2, tls1.3]` (both by default).
    #[schemars(length(min = 1))]
    pub versions: Option<Vec<TlsVersion>>,
}

/// A server's `proxy:`, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// A server of the scenario by name, or `host:port`.
    pub to: String,
}

/// `stall:` of a proxy's faults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStall {
    /// After this many bytes forwarded that way (default 0: from the start).
    pub after: Option<RawSize>,
    /// For this long (default: until the connection ends).
    #[serde(rename = "for")]
    pub duration: Option<RawDuration>,
}

/// A server's `faults:`, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    /// Extra pause before every write: `{ fixed: 100ms, jitter: 50ms }`.
    pub latency: Option<RawLatency>,
    /// Write replies in chunks: `{ bytes: 3, pause: 10ms }` (TCP).
    pub slice: Option<RawSlice>,
    /// At most this many bytes per second (TCP).
    pub bandwidth: Option<RawSize>,
    /// Close connections with a reset (RST) instead of a FIN (TCP).
    pub reset: Option<bool>,
    /// Close the connection once this many bytes are sent (TCP).
    pub close_after: Option<RawSize>,
    /// Probability that a reply is lost (UDP).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub drop: Option<f64>,
    /// Probability that a reply is sent twice (UDP).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub duplicate: Option<f64>,
    /// Seed of the jitter and the probabilities, so that runs repeat.
    pub seed: Option<u64>,
    /// A TLS server's certificate, made wrong on purpose: `expired`, `wrong_name`, `other_ca`.
    pub certificate: Option<CertificateFault>,
    /// A proxy's: stop forwarding this way for a while: `{ after: 10, for: 2s }`.
    pub stall: Option<RawStall>,
    /// A proxy's: faults on what goes from its client to the upstream.
    pub to_upstream: Option<Box<RawFaults>>,
    /// A proxy's: faults on what comes back from the upstream to its client.
    pub to_client: Option<Box<RawFaults>>,
}

/// `latency:` of `faults:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    /// Always added.
    pub fixed: Option<RawDuration>,
    /// Up to this much more, drawn from the seed.
    pub jitter: Option<RawDuration>,
}

/// `slice:` of `faults:`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlice {
    /// Bytes per write.
    pub bytes: RawSize,
    /// Pause between writes.
    pub pause: Option<RawDuration>,
}

/// One reply rule, as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// What the message must look like; absent matches anything.
    #[serde(rename = "match")]
    pub matcher: Option<RawMatcher>,
    /// What to send back.
    pub reply: Option<RawPayload>,
    /// This rule's own delay.
    pub delay: Option<RawDuration>,
    /// Close the connection after the reply.
    pub close: Option<bool>,
    /// The first N messages this rule matches (per client) are lost: no delay, no reply.
    pub lose_first: Option<u32>,
    /// Whose messages `lose_first` counts: each sender's apart (`sender`, the default), or all
    /// the server's together (`server`: a client that retries from a new socket is still
    /// answered once N are lost).
    pub lose_scope: Option<LoseScope>,
    /// Turn the connection to TLS after the reply (the server's `tls:` settings).
    pub starttls: Option<bool>,
}

/// A count a server checks at the end of the run: bounds, and how it is graded.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::count_rules)]
pub struct RawCount {
    /// At least this many.
    pub at_least: Option<u64>,
    /// At most this many.
    pub at_most: Option<u64>,
    /// Exactly this many (neither bound beside it).
    pub exactly: Option<u64>,
    /// Advice shown when the check fails.
    pub hint: Option<String>,
    /// What the check is worth (default 1).
    pub points: Option<RawPoints>,
}

/// Whose messages a rule's `lose_first` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoseScope {
    /// Each sender's (a TCP connection, a UDP source address) apart.
    #[default]
    Sender,
    /// Every message the server gets, from any sender.
    Server,
}

/// A client entry, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::client_rules)]
pub struct RawClient {
    /// Unique name.
    #[schemars(regex(pattern = super::schema::NAME_PATTERN))]
    pub name: Option<String>,
    /// A server's name or `host:port` (a template: `{target}`).
    #[schemars(regex(pattern = super::schema::CONNECT_PATTERN))]
    pub connect: String,
    /// Only for `connect` addresses.
    pub protocol: Option<Protocol>,
    /// Instances to run at once.
    #[schemars(range(min = 1, max = 10000))]
    pub count: Option<u32>,
    /// Wait before starting.
    pub start_after: Option<RawDuration>,
    /// Default per-step timeout.
    pub timeout: Option<RawDuration>,
    /// What to do, in order.
    #[serde(default)]
    pub steps: Vec<RawStep>,
    /// A program to run as this client instead of steps (a program under test).
    pub exec: Option<Vec<String>>,
    /// Program: what its whole stdout must look like.
    pub expect_stdout: Option<RawMatcher>,
    /// Program: the exit code it must end with (default 0).
    pub expect_exit: Option<i32>,
    /// Program: advice shown when one of its checks fails (step clients put `hint:` on steps).
    pub hint: Option<String>,
    /// What the whole client is worth: earned when every step of every instance passes (no
    /// `points` on its steps then).
    pub points: Option<RawPoints>,
    /// Most bytes a reading step may gather before it fails (a flooding peer).
    pub max_received: Option<RawSize>,
    /// How its `frame` steps write and read frames (default: its server's framing).
    pub framing: Option<RawFraming>,
    /// What to hide in this client's part of the transcript, after the scenario's `redact`.
    #[serde(default)]
    pub redact: RawRedact,
    /// Speak TLS: `true`, `false` (plain, even to a TLS server) or `{ ca, sni, alpn,
    /// client_cert, client_key, insecure, versions }`. A client of a TLS server speaks it by
    /// default.
    pub tls: Option<RawClientTlsSetting>,
}

/// `redact:` as written: a map of names to regexes, kept in the order written (the order they
/// apply in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRedact(pub Vec<(String, String)>);

/// A size in bytes: a number, or a string with a unit (`64KiB`, `16MiB`, `1GB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSize(pub u64);

/// A duration written humantime style (`250ms`, `1.5s`); a bare number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDuration(pub Duration);

/// A payload, as written: a string, or one of `hex`, `repeat` + `times`, `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawPayload {
    /// UTF-8 text (templated with `{data}` in replies).
    Text(String),
    /// Raw bytes given as hex.
    Hex(Vec<u8>),
    /// `text` repeated `times` times.
    Repeat {
        /// The unit to repeat.
        text: String,
        /// How many times.
        times: u64,
    },
    /// Bytes of a file, relative to the scenario file.
    File(String),
    /// This payload as one frame of the client's (or server's) framing: its length before it,
    /// or its delimiter after it.
    Frame(Box<RawPayload>),
    /// An HTTP/1.1 response with its length computed (a server's reply).
    Http(Box<RawHttpReply>),
}

/// A matcher, as written: a string (exact bytes) or a map with one of `equals`, `contains`,
/// `regex`, `hex`, `bytes`. Texts are templates (`{name}`), filled in and compiled by `validate`.
#[derive(Debug, Clone)]
pub enum RawMatcher {
    /// Exactly this text (a template).
    Equals(String),
    /// Exactly these bytes, written as hex.
    Hex(Vec<u8>),
    /// This text somewhere (a template).
    Contains(String),
    /// A regex over the bytes (a template; compiled once its names are filled in).
    Regex(String),
    /// Any N bytes.
    Bytes(usize),
    /// Exactly one frame of the client's framing, whose body matches this.
    Frame(Box<RawMatcher>),
    /// One HTTP/1.x message, read by its own framing, whose parts match these.
    Http(Box<RawHttp>),
}

/// `http:` as a matcher: one response (a client's `expect`) or request (a server's `match`),
/// read by its own framing (Content-Length, chunked, or the close).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// A response's status code.
    pub status: Option<RawStatus>,
    /// A request's method (`GET`).
    #[schemars(regex(pattern = super::schema::TOKEN_PATTERN))]
    pub method: Option<String>,
    /// A request's target, its query string included: a string is exact, or a matcher.
    #[schemars(transform = super::schema::request_target)]
    pub path: Option<RawMatcher>,
    /// Header fields by name (any case): each value matches its matcher.
    #[schemars(extend("propertyNames" = { "pattern": super::schema::TOKEN_PATTERN }))]
    pub headers: Option<BTreeMap<String, RawMatcher>>,
    /// The body, its chunked coding undone, as a whole.
    pub body: Option<RawMatcher>,
    /// The response answers a HEAD request: its head only, whatever its Content-Length says.
    pub no_body: Option<bool>,
}

/// `http:` as a server's reply: a response whose `Content-Length` netlab computes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttpReply {
    /// The status code (default 200).
    pub status: Option<RawStatus>,
    /// Header fields, in order of name, each value one line (a `Content-Length` or
    /// `Transfer-Encoding` here replaces the computed length). In a rule's reply a value keeps
    /// `{data}` and the regex groups, as a string body does.
    #[schemars(extend("propertyNames" = { "pattern": super::schema::TOKEN_PATTERN }))]
    pub headers: Option<BTreeMap<String, String>>,
    /// The body (a string keeps `{data}` and the regex groups).
    pub body: Option<RawPayload>,
}

/// What a step or a client is worth: a whole number, 0 or more (read by `visitors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPoints(pub u32);

/// An HTTP status code, from 100 to 599 (read by `visitors`, which refuses any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStatus(pub u16);

/// The only `shutdown` a client step can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownHow {
    /// Half-close: send FIN, keep reading.
    Write,
}

/// What one client step does, as written.
#[derive(Debug, Clone)]
pub enum RawAction {
    /// Write bytes.
    Send(RawPayload),
    /// Read until the matcher is satisfied.
    Expect(RawMatcher),
    /// The peer closes.
    ExpectClose(bool),
    /// The peer resets the connection.
    ExpectReset(bool),
    /// Read until the peer closes, match the whole.
    ReadToClose(RawMatcher),
    /// Nothing arrives for this long.
    ExpectNothing(RawDuration),
    /// Pause.
    Sleep(RawDuration),
    /// Half-close.
    Shutdown(ShutdownHow),
    /// Close now.
    Close(bool),
    /// Turn the connection to TLS.
    StartTls(bool),
    /// The TLS handshake fails, for this reason.
    ExpectTlsError(TlsErrorKind),
    /// Run some steps several times.
    Repeat(RawRepeat),
}

/// `repeat: { times: N, steps: [...] }`: a load loop.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    description = "Run `steps` `times` times in a row (a load loop); the transcript shows the first time in full, then a count."
)]
pub struct RawRepeat {
    /// How many times (at least 1).
    #[schemars(range(min = 1))]
    pub times: u64,
    /// The steps of one time through.
    #[schemars(length(min = 1))]
    pub steps: Vec<RawStep>,
}

/// Step keys, in the order the format documents them.
pub const STEP_KEYS: &[&str] = &[
    "send",
    "expect",
    "expect_close",
    "expect_reset",
    "read_to_close",
    "expect_nothing",
    "sleep",
    "shutdown",
    "close",
    "starttls",
    "expect_tls_error",
    "repeat",
    "timeout",
    "hint",
    "capture",
    "points",
    "hidden",
];

/// A client step: one action key, and for the reading steps an optional sibling `timeout`.
#[derive(Debug, Clone)]
pub struct RawStep {
    /// The action and its key name.
    pub action: RawAction,
    /// The action's key, as written (`expect`, `send`…).
    pub key: &'static str,
    /// Per-step timeout.
    pub timeout: Option<RawDuration>,
    /// Advice shown when the step fails (for exercises).
    pub hint: Option<String>,
    /// Values saved from what a reading step matched, by name (`capture:`).
    pub capture: Option<BTreeMap<String, RawCapture>>,
    /// What the step is worth when it passes (default: 1 for a step that checks the program,
    /// 0 for one that only acts).
    pub points: Option<u32>,
    /// The step's expected bytes are kept out of every output (a hidden check of an exam).
    pub hidden: Option<bool>,
}

/// One `capture:` entry: how a value is taken from the bytes a reading step matched. Exactly one
/// of `regex`, `from` (a byte range) or an integer kind (`u16be: OFFSET`…) is given.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    description = "How a value is taken from the bytes the step matched: `regex` (+ `group`), a byte range (`from`, `to`), or an integer at an offset (`u16be: 0`…), kept as its decimal text."
)]
pub struct RawCapture {
    /// The first match of this regex: its group `group`, else the group named like the
    /// capture, else group 1 if it has groups, else the whole match.
    pub regex: Option<String>,
    /// Which group of `regex`: a number (0: the whole match) or a group's name.
    pub group: Option<RawGroup>,
    /// A byte range: its first byte (0-based).
    pub from: Option<u64>,
    /// A byte range: past its last byte (default: the end of what matched).
    pub to: Option<u64>,
    /// An unsigned byte at this offset.
    pub u8: Option<u64>,
    /// A signed byte at this offset.
    pub i8: Option<u64>,
    /// A 16-bit unsigned integer, big-endian, at this offset.
    pub u16be: Option<u64>,
    /// Little-endian.
    pub u16le: Option<u64>,
    /// Signed, big-endian.
    pub i16be: Option<u64>,
    /// Signed, little-endian.
    pub i16le: Option<u64>,
    /// A 32-bit unsigned integer, big-endian, at this offset.
    pub u32be: Option<u64>,
    /// Little-endian.
    pub u32le: Option<u64>,
    /// Signed, big-endian.
    pub i32be: Option<u64>,
    /// Signed, little-endian.
    pub i32le: Option<u64>,
    /// A 64-bit unsigned integer, big-endian, at this offset.
    pub u64be: Option<u64>,
    /// Little-endian.
    pub u64le: Option<u64>,
    /// Signed, big-endian.
    pub i64be: Option<u64>,
    /// Signed, little-endian.
    pub i64le: Option<u64>,
    /// An unsigned LEB128 varint (protobuf's) at this offset.
    pub varint: Option<u64>,
}

/// A regex group: by number or by name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawGroup {
    /// Its number (0: the whole match).
    Number(u64),
    /// Its name (`(?P<name>…)`).
    Name(String),
}

impl RawCapture {
    /// The integer kinds given, with their offsets, in `capture::INT_KINDS` order.
    pub fn integers(&self) -> Vec<(&'static str, u64)> {
        [
            ("u8", self.u8),
            ("i8", self.i8),
            ("u16be", self.u16be),
            ("u16le", self.u16le),
            ("i16be", self.i16be),
            ("i16le", self.i16le),
            ("u32be", self.u32be),
            ("u32le", self.u32le),
            ("i32be", self.i32be),
            ("i32le", self.i32le),
            ("u64be", self.u64be),
            ("u64le", self.u64le),
            ("i64be", self.i64be),
            ("i64le", self.i64le),
            ("varint", self.varint),
        ]
        .into_iter()
        .filter_map(|(kind, offset)| offset.map(|o| (kind, o)))
        .collect()
    }
}

impl RawPayload {
    /// The payload inside any `frame:` wrappers.
    pub fn unframed(&self) -> &RawPayload {
        match self {
            RawPayload::Frame(inner) => inner.unframed(),
            other => other,
        }
    }
}
