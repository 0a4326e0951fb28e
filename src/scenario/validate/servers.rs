//! A server as written → a checked server: its address, the sizes of its socket, the fields
//! that apply to tcp only, its reply rules, and (through `programs` and `faults`) what it runs
//! and what goes wrong on purpose.

use std::net::IpAddr;

use super::checker::{Checker, Side};
use super::fields::Unit;
use super::templates::Scope;
use crate::capture::INT_KINDS;
use crate::framing::{Frames, Framing, LengthPrefix};
use crate::http::breaks_a_field_value;
use crate::matcher::Matcher;
use crate::scenario::model::{
    Counted, MAX_DATAGRAM_PAYLOAD, Proxy, Reply, ReplyHead, ReplyPart, Rule, Server, ServerCheck,
    Target,
};
use crate::scenario::positions::join;
use crate::scenario::raw::{
    Protocol, RawCount, RawFraming, RawHttpReply, RawMatcher, RawPayload, RawRule, RawServer,
    RawSize,
};
use crate::scenario::schema::LENGTH_KINDS;
use crate::template::{Piece, Syntax};

/// Default listen() backlog (what std uses).
pub const DEFAULT_BACKLOG: i32 = 128;
/// Default bytes per recv(), as in the tutorial.
pub const DEFAULT_READ_SIZE: usize = 1024;
/// Default bytes per recv() of a proxy.
pub const PROXY_READ_SIZE: usize = 64 * 1024;
const MAX_READ_SIZE: u64 = 16 * 1024 * 1024;

impl Checker<'_> {
    /// The checked server written at `path`.
    pub(super) fn server(&mut self, path: &str, mut raw: RawServer) -> Server {
        self.side = Side::Server;
        self.check_name(&join(path, "name"), &raw.name);
        self.values_needed = self.needed_vars.of_server(&raw.name);
        let protocol = raw.protocol.unwrap_or(Protocol::Tcp);
        let certificate_fault = raw.faults.as_mut().and_then(|f| f.certificate.take());
        let is_proxy = raw.proxy.is_some();
        let proxy = raw.proxy.take().map(|written| {
            self.refuse_proxy_fields(path, &raw);
            if protocol == Protocol::Udp {
                self.refuse_fields(
                    path,
                    &[(raw.read_size.is_some(), "read_size")],
                    "does not apply to a udp proxy: it relays each datagram whole",
                    None,
                );
            }
            let (to_upstream, to_client) =
                self.proxy_faults(path, raw.faults.take(), protocol == Protocol::Udp);
            // The name is looked up once every server is known (`resolve_proxies`).
            Proxy {
                to: Target::Address(written.to),
                to_upstream,
                to_client,
            }
        });
        self.server_has_tls = raw.tls.is_some();
        let program = self.server_program(path, &mut raw, protocol == Protocol::Udp);
        let faults = self.faults(
            path,
            raw.faults.take(),
            protocol == Protocol::Udp,
            program.is_some(),
        );
        let bind = match raw.bind.as_deref() {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(text) => match text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                Ok(ip) => ip,
                Err(_) => {
                    let hint = if text == "localhost" {
                        "write `127.0.0.1` or `::1`: `localhost` may resolve to either"
                    } else {
                        "write an IP address such as `127.0.0.1`, `::1`, `0.0.0.0` or `::` (the port goes in `port:`)"
                    };
                    self.at_value(
                        &join(path, "bind"),
                        format!("`{text}` is not an IP address"),
                    )
                    .add_help(hint);
                    IpAddr::from([127, 0, 0, 1])
                }
            },
        };
        let backlog = raw.backlog.map_or(DEFAULT_BACKLOG, |n| {
            let backlog_path = join(path, "backlog");
            let n = self.within_one_to(
                &backlog_path,
                "the backlog",
                n.into(),
                u64::MAX,
                Unit::Plain,
            );
            i32::try_from(n).unwrap_or(i32::MAX)
        });
        // A proxy reads what comes in large pieces, as a forwarding program would.
        let default_read_size = match proxy {
            Some(_) => PROXY_READ_SIZE,
            None => DEFAULT_READ_SIZE,
        };
        let read_size = raw.read_size.map_or(default_read_size, |RawSize(n)| {
            let read_size_path = join(path, "read_size");
            let n = self.within_one_to(
                &read_size_path,
                "`read_size`",
                n,
                MAX_READ_SIZE,
                Unit::Bytes,
            );
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        if protocol == Protocol::Udp && program.is_none() {
            self.refuse_fields(
                path,
                &[
                    (raw.backlog.is_some(), "backlog"),
                    (raw.concurrency.is_some(), "concurrency"),
                    (raw.greeting.is_some(), "greeting"),
                    (raw.framing.is_some(), "framing"),
                ],
                "applies to tcp servers only",
                None,
            );
            for (i, rule) in raw.rules.iter().enumerate() {
                if rule.close == Some(true) {
                    self.at_key(
                        &format!("{path}.rules[{i}].close"),
                        "`close` applies to tcp servers only: a udp server has no connection to close",
                    );
                }
            }
        }
        // A tcp server whose rules match HTTP requests reads them by HTTP's framing (over udp,
        // each datagram is one request).
        let http_rule =
            (raw.rules.iter()).position(|r| matches!(r.matcher, Some(RawMatcher::Http(_))));
        let framing = match raw.framing.take() {
            Some(written) => {
                let at = join(path, "framing");
                let framing = self.framing(&at, written);
                if let Some(i) = http_rule
                    && protocol == Protocol::Tcp
                    && framing != Framing::Frames(Frames::HttpRequests)
                {
                    self.at_value(
                        &at,
                        format!("`rules[{i}]` matches `http`, which reads whole HTTP requests: this framing would cut them otherwise"),
                    )
                    .add_help("remove `framing:` (a server whose rules match `http` reads HTTP requests), or write `framing: http`");
                }
                framing
            }
            None if http_rule.is_some() && protocol == Protocol::Tcp => {
                Framing::Frames(Frames::HttpRequests)
            }
            None => Framing::Chunk,
        };
        self.frames = framing.frames().cloned();
        let greeting = raw.greeting.map(|g| {
            let at = join(path, "greeting");
            let g = self.fill_payload(&at, g, Scope::Shared);
            self.payload(&at, g).into()
        });
        // Every rule's matcher first: the named groups of any rule's regex may be used in any
        // rule's reply (each the last value matched on the connection).
        let matchers: Vec<Option<Matcher>> = raw
            .rules
            .iter_mut()
            .enumerate()
            .map(|(i, r)| {
                r.matcher.take().map(|m| {
                    let at = format!("{path}.rules[{i}].match");
                    let m = self.fill_matcher(&at, m, Scope::Shared);
                    self.matcher(&at, m)
                })
            })
            .collect();
        let groups = named_groups(&matchers);
        for (i, matcher) in matchers.iter().enumerate() {
            let mut own = Vec::new();
            if let Some(matcher) = matcher {
                matcher.named_groups(&mut own);
            }
            if let Some(Matcher::Regex(regex)) = matcher
                && !own.is_empty()
                && regex.regex().captures_len() - 1 > crate::capture::MOST_GROUPS
            {
                self.at_value(
                    &format!("{path}.rules[{i}].match"),
                    format!(
                        "a regex with named groups has at most {} groups; this one has {}",
                        crate::capture::MOST_GROUPS,
                        regex.regex().captures_len() - 1
                    ),
                )
                .add_help("make the groups you do not use `(?:…)`");
            }
            own.retain(|g| self.vars.declared.contains(g));
            for group in own {
                self.at_value(
                    &format!("{path}.rules[{i}].match"),
                    format!("the group `{group}` is named like a var of the scenario: `{{{group}}}` could not mean both"),
                )
                .add_help("rename the group or the var");
            }
        }
        self.server_groups.clone_from(&groups);
        let rules: Vec<Rule> = raw
            .rules
            .into_iter()
            .zip(matchers)
            .enumerate()
            .map(|(i, (r, matcher))| self.rule(&format!("{path}.rules[{i}]"), r, matcher))
            .collect();
        self.server_groups.clear();
        self.frames = None;
        if protocol == Protocol::Udp {
            for (i, rule) in rules.iter().enumerate() {
                // A reply is at least its literal text; `{data}` adds what came (checked then).
                let least = rule.reply.as_ref().map_or(0, Reply::literal_len);
                if least > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&format!("{path}.rules[{i}].reply"), least);
                }
            }
        }
        let tls = self.server_tls(
            path,
            raw.tls.take(),
            certificate_fault,
            (protocol == Protocol::Udp, is_proxy),
            &rules,
        );
        let checks = if program.is_none() {
            let written = [
                (Counted::Connections, raw.expect_connections),
                (Counted::Messages, raw.expect_messages),
            ];
            self.server_checks(path, written, protocol, &framing)
        } else {
            Vec::new()
        };
        Server {
            name: raw.name,
            protocol,
            bind,
            port: raw.port.unwrap_or(0),
            backlog,
            read_size,
            concurrency: raw.concurrency.unwrap_or_default(),
            framing,
            greeting,
            delay: raw.delay.map(|d| d.0),
            rules,
            groups,
            faults,
            outside: None,
            program,
            checks,
            proxy,
            tls,
        }
    }

    /// Refuses what a proxy (`raw`, at `path`) cannot have: it forwards what comes, so it has no
    /// rules, greeting, delay or framing, and runs no program.
    fn refuse_proxy_fields(&mut self, path: &str, raw: &RawServer) {
        self.refuse_fields(
            path,
            &[
                (!raw.rules.is_empty(), "rules"),
                (raw.greeting.is_some(), "greeting"),
                (raw.delay.is_some(), "delay"),
                (raw.framing.is_some(), "framing"),
                (raw.exec.is_some(), "exec"),
                (raw.expect_messages.is_some(), "expect_messages"),
            ],
            "does not apply to a proxy: it forwards what comes, both ways, as it comes",
            Some("put the rules on the server the proxy forwards to (`proxy: { to: NAME }`), and slow the way with `faults: { to_client: … }`"),
        );
    }

    /// Resolves each proxy's `to:` (written at `servers[i].proxy.to`) to a server of `servers`
    /// or an address, and refuses a proxy that reaches itself, or one of another protocol.
    pub(super) fn resolve_proxies(&mut self, servers: &mut [Server]) {
        for index in 0..servers.len() {
            let Some(Proxy {
                to: Target::Address(written),
                ..
            }) = &servers[index].proxy
            else {
                continue;
            };
            let written = written.clone();
            let at = format!("servers[{index}].proxy.to");
            let Some(mut to) = self.target(&at, "proxy.to", &written, servers) else {
                continue;
            };
            // An address where a server of the scenario listens (its fixed port) is that server:
            // a proxy forwarding to its own address is a circle like any other.
            if let Some(server) = listening_at(servers, servers[index].protocol, &written) {
                to = Target::Server(server);
            }
            if let Target::Server(upstream) = to {
                let (own, theirs) = (servers[index].protocol, servers[upstream].protocol);
                if own != theirs {
                    self.at_value(
                        &at,
                        format!(
                            "`{written}` is a {} server and this proxy is {}: a proxy forwards to a server of its own protocol",
                            theirs.name(),
                            own.name()
                        ),
                    );
                }
            }
            if let Some(proxy) = &mut servers[index].proxy {
                proxy.to = to;
            }
        }
        for index in 0..servers.len() {
            // Following `to` from a proxy comes back to it: every connection would open another.
            let mut seen = vec![index];
            let mut next = index;
            while let Some(Proxy {
                to: Target::Server(upstream),
                ..
            }) = &servers[next].proxy
            {
                if *upstream == index {
                    let names: Vec<&str> = seen.iter().map(|i| servers[*i].name.as_str()).collect();
                    self.at_value(
                        &format!("servers[{index}].proxy.to"),
                        format!(
                            "the proxies forward in a circle ({} → {}): each connection would open another",
                            names.join(" → "),
                            servers[index].name
                        ),
                    )
                    .add_help("end the chain at a server that answers (rules, or `exec:`) or at `host:port`");
                    break;
                }
                if seen.contains(upstream) {
                    break;
                }
                seen.push(*upstream);
                next = *upstream;
            }
        }
    }

    /// The counts the server written at `path` checks at the end of the run.
    fn server_checks(
        &mut self,
        path: &str,
        written: [(Counted, Option<RawCount>); 2],
        protocol: Protocol,
        framing: &Framing,
    ) -> Vec<ServerCheck> {
        let mut checks = Vec::new();
        for (counted, count) in written {
            let Some(count) = count else { continue };
            let at = join(path, counted.key());
            // Where recv() cuts a stream decides how many messages a chunk-framed server sees.
            if counted == Counted::Messages
                && protocol == Protocol::Tcp
                && *framing == Framing::Chunk
            {
                self.at_key(
                    &at,
                    "a tcp server that reads by `chunk` sees as many messages as recv() calls, which timing decides: the count would not be the same from run to run",
                )
                .add_help("give the server `framing: line` (or a length, a delimiter, http), or count `expect_connections`");
            }
            let (at_least, at_most) = match (count.exactly, count.at_least, count.at_most) {
                (Some(n), None, None) => (Some(n), Some(n)),
                (Some(_), _, _) => {
                    self.at_key(
                        &join(&at, "exactly"),
                        "`exactly` stands alone: no `at_least` or `at_most` beside it",
                    );
                    (None, None)
                }
                (None, None, None) => {
                    self.at_key(&at, "a count needs `at_least`, `at_most` or `exactly`");
                    (None, None)
                }
                (None, least, most) => {
                    if let (Some(l), Some(m)) = (least, most)
                        && l > m
                    {
                        self.at_value(
                            &join(&at, "at_least"),
                            format!("at least {l} and at most {m}: no count is both"),
                        );
                    }
                    (least, most)
                }
            };
            let hint = count
                .hint
                .map(|h| self.fill_built(&join(&at, "hint"), &h, Syntax::Text, Scope::Shared));
            checks.push(ServerCheck {
                counted,
                at_least,
                at_most,
                hint,
                // A count a silent program meets (none at least) checks nothing by itself.
                points: count
                    .points
                    .map_or(u32::from(at_least.is_some_and(|n| n > 0)), |p| p.0),
            });
        }
        checks
    }

    fn rule(&mut self, path: &str, raw: RawRule, matcher: Option<Matcher>) -> Rule {
        let reply = raw.reply.map(|payload| {
            let reply_path = join(path, "reply");
            match payload {
                RawPayload::Text(text) => {
                    let pieces = self.pieces(&reply_path, &text, Syntax::Text, Scope::Reply);
                    Reply::from_pieces(pieces, &self.server_groups)
                }
                // A text in a frame keeps `{data}` and the groups: the frame is made when the
                // rule answers.
                RawPayload::Frame(inner) if matches!(*inner, RawPayload::Text(_)) => {
                    let at = join(&reply_path, "frame");
                    let frame = self.frames_for(&reply_path);
                    let RawPayload::Text(text) = *inner else {
                        return Reply::from_pieces(Vec::new(), &[]);
                    };
                    let pieces = self.pieces(&at, &text, Syntax::Text, Scope::Reply);
                    let mut reply = Reply::from_pieces(pieces, &self.server_groups);
                    // A reply of literal text is framed now: one that cannot be is refused
                    // here (one with `{data}` or a group is refused when it answers).
                    if let Some(frames) = &frame
                        && let Some(body) = reply.literal_only()
                        && let Err(why) = frames.encode(&body)
                    {
                        self.at_value(&at, why);
                    }
                    reply.frame = frame;
                    reply
                }
                // A response whose header values and string body keep `{data}` and the groups:
                // they are filled in, and the length counted, when the rule answers.
                RawPayload::Http(http) => self.http_reply(&join(&reply_path, "http"), *http),
                // Built once: `{data}` and the groups have no place in it.
                other => {
                    let other = self.fill_payload(&reply_path, other, Scope::Shared);
                    Reply {
                        parts: vec![ReplyPart::Literal(self.payload(&reply_path, other))],
                        frame: None,
                        http: None,
                    }
                }
            }
        });
        let close = raw.close.unwrap_or(false);
        let starttls = raw.starttls.unwrap_or(false);
        if close && starttls {
            self.at_key(
                &join(path, "starttls"),
                "`starttls` turns the connection to TLS, and `close` ends it: choose one",
            );
        }
        Rule {
            matcher,
            reply,
            delay: raw.delay.map(|d| d.0),
            close,
            starttls,
            lose_first: raw.lose_first.unwrap_or(0),
            lose_scope: raw.lose_scope.unwrap_or_default(),
        }
    }
}

impl Checker<'_> {
    /// The `http` reply written at `path`: its header values and a string body are templates of
    /// the reply (`{data}`, the groups), any other body is built now.
    fn http_reply(&mut self, path: &str, mut http: RawHttpReply) -> Reply {
        let status = self.http_status(path, &http);
        let headers = (http.headers.take().into_iter().flatten())
            .map(|(name, value)| {
                let at = join(&join(path, "headers"), &name);
                let pieces = self.pieces(&at, &value, Syntax::Text, Scope::Reply);
                let filled = pieces.iter().any(|piece| {
                    matches!(piece, Piece::Text(text) if breaks_a_field_value(text.as_bytes()))
                });
                if breaks_a_field_value(value.as_bytes()) {
                    self.header_value(&at, &value);
                } else if filled {
                    self.at_value(&at, "a var's value makes this header value more than one line (it holds a CR, LF or NUL)")
                        .add_help("give the var a value without line breaks");
                }
                (name, ReplyPart::of_pieces(pieces, &self.server_groups))
            })
            .collect();
        let body_at = join(path, "body");
        let mut reply = match http.body {
            Some(RawPayload::Text(text)) => {
                let pieces = self.pieces(&body_at, &text, Syntax::Text, Scope::Reply);
                Reply::from_pieces(pieces, &self.server_groups)
            }
            Some(body) => {
                let body = self.fill_payload(&body_at, body, Scope::Shared);
                Reply {
                    parts: vec![ReplyPart::Literal(self.payload(&body_at, body))],
                    frame: None,
                    http: None,
                }
            }
            None => Reply::from_pieces(Vec::new(), &[]),
        };
        reply.http = Some(ReplyHead { status, headers });
        reply
    }
}

/// The server of `servers` (of `protocol`) that listens at `address`, written `IP:PORT` or
/// `localhost:PORT`, by its fixed port.
fn listening_at(servers: &[Server], protocol: Protocol, address: &str) -> Option<usize> {
    let (host, port) = address.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = host.trim_matches(['[', ']']);
    let ip = host.parse::<IpAddr>().ok();
    let localhost = host.eq_ignore_ascii_case("localhost");
    servers.iter().position(|s| {
        s.port == port
            && s.protocol == protocol
            && match ip {
                Some(ip) => {
                    s.bind == ip || (s.bind.is_unspecified() && s.bind.is_ipv4() == ip.is_ipv4())
                }
                None => localhost && (s.bind.is_loopback() || s.bind.is_unspecified()),
            }
    })
}

/// The named groups of the regexes among `matchers`, each once, in order.
fn named_groups(matchers: &[Option<Matcher>]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for matcher in matchers.iter().flatten() {
        matcher.named_groups(&mut groups);
    }
    groups
}

impl Checker<'_> {
    /// The framing written at `path`.
    pub(super) fn framing(&mut self, path: &str, raw: RawFraming) -> Framing {
        match raw {
            RawFraming::Chunk => Framing::Chunk,
            RawFraming::Line => Framing::Line,
            RawFraming::Http => Framing::Frames(Frames::HttpRequests),
            RawFraming::Delimiter(delimiter) => {
                if delimiter.0.is_empty() {
                    self.at_value(
                        &join(path, "delimiter"),
                        "a delimiter needs at least one byte",
                    );
                }
                Framing::Frames(Frames::Delimiter(delimiter.0))
            }
            RawFraming::Length {
                length,
                offset,
                adjust,
                include_header,
            } => {
                let kind = INT_KINDS
                    .iter()
                    .find(|(name, _)| *name == length && LENGTH_KINDS.contains(name))
                    .map(|(_, kind)| *kind);
                let Some(kind) = kind else {
                    self.at_value(
                        &join(path, "length"),
                        format!(
                            "`{length}` is not a length kind: one of {}",
                            LENGTH_KINDS.join(", ")
                        ),
                    );
                    return Framing::Chunk;
                };
                let offset = offset.unwrap_or(0);
                if offset > MAX_FRAME_OFFSET {
                    self.at_value(
                        &join(path, "offset"),
                        format!("an offset of at most {MAX_FRAME_OFFSET} bytes"),
                    );
                }
                Framing::Frames(Frames::Length(LengthPrefix {
                    kind,
                    offset: usize::try_from(offset.min(MAX_FRAME_OFFSET)).unwrap_or(0),
                    adjust: adjust.unwrap_or(0),
                    include_header: include_header.unwrap_or(false),
                }))
            }
        }
    }
}

/// The most bytes a length prefix may have before its length field (a header of a real protocol
/// is tens of bytes; `frame:` writes these as zeros).
const MAX_FRAME_OFFSET: u64 = 1024;
