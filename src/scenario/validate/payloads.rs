//! What a file sends and matches, as validation builds it: payloads read (files, hex…) unless
//! the file's payloads are over the per-file cap, a large tcp `repeat` left to stream, the
//! udp ones no datagram can carry refused, and matchers in their checked form.

use regex::bytes::{Regex, RegexBuilder};

use crate::framing::Frames;
use crate::matcher::{HttpMatch, Matcher, REGEX_SIZE_LIMIT, StreamRegex};
use crate::scenario::model::{MAX_DATAGRAM_PAYLOAD, Payload};
use crate::scenario::payload;
use crate::scenario::positions::join;
use crate::scenario::raw::{Protocol, RawHttp, RawHttpReply, RawMatcher, RawPayload, RawStatus};

use super::checker::{Checker, Side};

impl Checker<'_> {
    /// A `send` payload: a large `repeat` over TCP is streamed rather than built in memory.
    pub(super) fn send_payload(
        &mut self,
        path: &str,
        raw: RawPayload,
        protocol: Protocol,
    ) -> Payload {
        if let RawPayload::Repeat { text, times } = &raw
            && protocol == Protocol::Tcp
            && payload::streams(&raw)
        {
            return Payload::Repeat {
                unit: text.as_bytes().to_vec(),
                times: *times,
            };
        }
        Payload::Bytes(self.payload(path, raw))
    }

    /// A UDP payload that no datagram can carry.
    pub(super) fn too_large_for_a_datagram(&mut self, path: &str, len: u64) {
        self.at_value(
            path,
            format!("a udp datagram carries at most {MAX_DATAGRAM_PAYLOAD} bytes; this is {len}"),
        )
        .add_help("split it into several sends, or use tcp for a stream of bytes");
    }

    /// The bytes of the payload written at `path` (none once the file is over its cap).
    pub(super) fn payload(&mut self, path: &str, raw: RawPayload) -> Vec<u8> {
        if !self.build_payloads {
            return Vec::new();
        }
        if let RawPayload::Frame(inner) = raw {
            let body = self.payload(&join(path, "frame"), *inner);
            return self.framed(path, &body);
        }
        if let RawPayload::Http(reply) = raw {
            // Its templates are filled in already (`fill_payload`): each value is literal.
            let at = join(path, "http");
            let status = self.http_status(&at, &reply);
            let headers: Vec<(String, Vec<u8>)> = (reply.headers.into_iter().flatten())
                .map(|(name, value)| {
                    self.header_value(&join(&join(&at, "headers"), &name), &value);
                    (name, value.into_bytes())
                })
                .collect();
            let body = reply
                .body
                .map_or_else(Vec::new, |body| self.payload(&join(&at, "body"), body));
            let mut response = crate::http::response_head(status, &headers, body.len());
            response.extend_from_slice(&body);
            return response;
        }
        match payload::resolve(raw, self.source.base_dir()) {
            Ok(bytes) => bytes,
            Err(problem) => {
                let at = match problem.field {
                    "" => path.to_string(),
                    field => join(path, field),
                };
                let diagnostic = self.at_value(&at, problem.message);
                if let Some(help) = problem.help {
                    diagnostic.add_help(help);
                }
                Vec::new()
            }
        }
    }
}

/// The methods of RFC 9110 and RFC 5789 (PATCH), as they are written.
const STANDARD_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

impl Checker<'_> {
    /// The `http` matcher at `path`: a request's parts on a server, a response's on a client.
    fn http_matcher(&mut self, path: &str, raw: RawHttp) -> Matcher {
        let request = self.side == Side::Server;
        let misplaced: &[(bool, &str)] = if request {
            &[
                (raw.status.is_some(), "status"),
                (raw.no_body.is_some(), "no_body"),
            ]
        } else {
            &[
                (raw.method.is_some(), "method"),
                (raw.path.is_some(), "path"),
            ]
        };
        for (given, field) in misplaced {
            if *given {
                let whose = if request {
                    format!("a server reads requests: `{field}` is a response's")
                } else {
                    format!("a client reads responses: `{field}` is a request's")
                };
                self.at_key(
                    &join(path, field),
                    format!("`{field}` does not apply here: {whose}"),
                );
            }
        }
        let headers = (raw.headers.into_iter().flatten())
            .map(|(name, m)| {
                let at = join(&join(path, "headers"), &name);
                self.header_name(&at, &name);
                let matcher = self.matcher(&at, m);
                (name, matcher)
            })
            .collect();
        if let Some(method) = &raw.method
            && !is_token(method)
        {
            let message = if method.is_empty() {
                "an empty method matches no request".to_string()
            } else {
                format!("`{method}` is not a method: a method is one token, with no spaces")
            };
            self.at_value(&join(path, "method"), message)
                .add_help(format!("write one such as `GET` or `POST` ({TOKEN_CHARS})"));
        }
        // Methods are case-sensitive (RFC 9110 section 9.1): `get` is not GET.
        if let Some(method) = &raw.method
            && is_token(method)
            && method.bytes().any(|b| b.is_ascii_lowercase())
            && STANDARD_METHODS.contains(&method.to_ascii_uppercase().as_str())
        {
            self.warn_at_value(
                &join(path, "method"),
                format!(
                    "methods are case-sensitive: `{method}` does not match a `{}` request",
                    method.to_ascii_uppercase()
                ),
            )
            .add_help(format!("write `{}`", method.to_ascii_uppercase()));
        }
        if let Some(RawMatcher::Equals(target) | RawMatcher::Contains(target)) = &raw.path {
            self.request_target(&join(path, "path"), target, raw.path.as_ref());
        }
        let no_body = raw.no_body == Some(true);
        if no_body && raw.body.is_some() {
            self.at_key(
                &join(path, "body"),
                "a response to a HEAD request (`no_body: true`) has no body to match",
            );
        }
        Matcher::Http(Box::new(HttpMatch {
            request,
            status: raw.status.map(|RawStatus(code)| code),
            method: raw.method,
            path: raw.path.map(|m| self.matcher(&join(path, "path"), m)),
            headers,
            body: raw.body.map(|m| self.matcher(&join(path, "body"), m)),
            no_body,
        }))
    }

    /// The status of the `http` reply at `path`, its header names checked (their values are the
    /// caller's: literal, or templates a rule fills in).
    pub(super) fn http_status(&mut self, path: &str, reply: &RawHttpReply) -> u16 {
        for name in reply.headers.iter().flatten().map(|(name, _)| name) {
            self.header_name(&join(&join(path, "headers"), name), name);
        }
        let status = reply.status.map_or(200, |RawStatus(code)| code);
        // 1xx, 204 and 304 responses end at their head (RFC 9112 section 6.3): a body after
        // it would be read as the start of the next response.
        let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
        if bodiless
            && reply
                .body
                .as_ref()
                .is_some_and(|b| !matches!(b, RawPayload::Text(t) if t.is_empty()))
        {
            self.at_key(
                &join(path, "body"),
                format!(
                    "a {status} response has no body: a client would read it as the next response"
                ),
            );
        }
        for name in reply.headers.iter().flatten().map(|(name, _)| name) {
            if name.eq_ignore_ascii_case("transfer-encoding") {
                self.at_key(&join(&join(path, "headers"), name), "netlab writes the body as it is, after a Content-Length: a Transfer-Encoding would make the client read it as chunks")
                    .add_help("write a chunked response as a plain `reply:` text");
            }
        }
        status
    }

    /// Reports the header value at `path` if its literal text `text` could not be written as one
    /// (a line break would end the field there).
    pub(super) fn header_value(&mut self, path: &str, text: &str) {
        if crate::http::breaks_a_field_value(text.as_bytes()) {
            self.at_value(path, "a header value is one line: no CR, LF or NUL")
                .add_help("write each header field once, as its own entry of `headers:`");
        }
    }

    /// Reports the header name `name`, written at `path`, unless it is a token.
    fn header_name(&mut self, path: &str, name: &str) {
        if !is_token(name) {
            let message = if name.is_empty() {
                "a header name cannot be empty".to_string()
            } else {
                format!("`{name}` is not a header name")
            };
            self.at_key(path, message)
                .add_help(format!(
                    "a header name is one token, with no spaces or colon, such as `Content-Type` ({TOKEN_CHARS})"
                ));
        }
    }

    /// Reports a literal request target (`path` of a request's `http` matcher, `matcher`) that
    /// no request can have: empty, or with a space or a control character.
    fn request_target(&mut self, path: &str, target: &str, matcher: Option<&RawMatcher>) {
        let exact = matches!(matcher, Some(RawMatcher::Equals(_)));
        let at = match matcher {
            Some(RawMatcher::Contains(_)) => join(path, "contains"),
            _ => path.to_string(),
        };
        if exact && target.is_empty() {
            self.at_value(&at, "an empty path matches no request")
                .add_help("a request's target is at least `/` (or `*`), its query string included: `/search?q=x`");
        } else if target
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            self.at_value(
                &at,
                "a request's target has no spaces, line breaks or other control characters: this path matches no request",
            )
            .add_help("write a space as `%20`, as a client sends it, or match the path with `regex:`");
        }
    }
}

/// What a token of HTTP (a method, a header name) is made of, as messages say it.
const TOKEN_CHARS: &str = "letters, digits and the marks !#$%&'*+-.^_`|~";

/// Whether `text` is a token of HTTP (RFC 9110 section 5.6.2): one or more tchars.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `pattern` compiled as every regex of a file is, within `REGEX_SIZE_LIMIT` (a huge one,
/// `x{100000}`, spends seconds in each search); the compiler's message on one line when it
/// does not compile.
pub(super) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| one_line(&e.to_string()))
}

impl Checker<'_> {
    /// The checked form of the matcher at `path`, its templates filled in: a regex that does
    /// not compile is reported (and matches nothing).
    pub(super) fn matcher(&mut self, path: &str, raw: RawMatcher) -> Matcher {
        match raw {
            RawMatcher::Equals(text) => Matcher::Equals {
                bytes: text.into_bytes(),
                hex: false,
            },
            RawMatcher::Hex(bytes) => Matcher::Equals { bytes, hex: true },
            RawMatcher::Contains(text) => Matcher::Contains(text.into_bytes()),
            // Over the file's cap nothing is filled in, nor compiled: the file is refused.
            RawMatcher::Regex(_) if !self.build_payloads => Matcher::Bytes(0),
            RawMatcher::Regex(pattern) => {
                // A bound on the compiled regex: a huge one spends seconds in each search, past
                // any step's timeout.
                match compile_regex(&pattern) {
                    Ok(regex) => Matcher::Regex(StreamRegex::new(regex)),
                    Err(message) => {
                        let at = join(path, "regex");
                        let at = match self.positions.value_offset(&at) {
                            Some(_) => at,
                            None => path.to_string(),
                        };
                        self.at_value(&at, format!("invalid regex: {message}"));
                        // Nothing built from a wrong value runs.
                        Matcher::Bytes(0)
                    }
                }
            }
            RawMatcher::Bytes(n) => Matcher::Bytes(n),
            RawMatcher::Http(http) => self.http_matcher(&join(path, "http"), *http),
            RawMatcher::Frame(_) if self.side == Side::Server => {
                // The server's framing has cut the message already: its body is what `match`
                // sees, and a `frame` in it would look for a frame inside that body.
                let help = if self.frames.is_some() {
                    "match the frame's body itself: write the matcher inside `frame` in its place"
                } else {
                    "give the server `framing: { length: u16be }` (or `{ delimiter: … }`), then match each frame's body itself"
                };
                self.at_key(
                    &join(path, "frame"),
                    "a server's `match` sees one message, already cut by the server's `framing`: `frame` does not apply here",
                )
                .add_help(help);
                Matcher::Bytes(0)
            }
            RawMatcher::Frame(inner) => {
                let body = self.matcher(&join(path, "frame"), *inner);
                match self.frames_for(path) {
                    Some(frames) => Matcher::Frame {
                        frames,
                        body: Box::new(body),
                    },
                    None => Matcher::Bytes(0),
                }
            }
        }
    }
}

impl Checker<'_> {
    /// The frames a `frame:` at `path` is made with (the client's or the server's framing);
    /// reported when there are none.
    pub(super) fn frames_for(&mut self, path: &str) -> Option<Frames> {
        let at = join(path, "frame");
        match (&self.frames, self.side) {
            (Some(Frames::HttpRequests), side) => {
                self.at_key(
                    &at,
                    "`frame` needs a length prefix or a delimiter: this server reads HTTP requests (`framing: http`)",
                )
                .add_help(match side {
                    Side::Server => "reply with `http: { status, headers, body }`",
                    Side::Client => "send the request as text, and read the response with `expect: { http: … }`",
                });
                None
            }
            (Some(frames), _) => Some(frames.clone()),
            (None, Side::Server) => {
                self.at_key(&at, "`frame` needs a framing: this server has none")
                    .add_help("give the server `framing: { length: u16be }` (or `{ delimiter: … }`; tcp servers only)");
                None
            }
            (None, Side::Client) => {
                self.at_key(&at, "`frame` needs a framing: none is known here")
                    .add_help("give the client `framing: { length: u16be }` (or `{ delimiter: … }`), or connect it to a server that has one");
                None
            }
        }
    }

    /// `body` as one frame of the framing known at `path` (reported when it cannot be one).
    pub(super) fn framed(&mut self, path: &str, body: &[u8]) -> Vec<u8> {
        let Some(frames) = self.frames_for(path) else {
            return Vec::new();
        };
        match frames.encode(body) {
            Ok(frame) => frame,
            Err(why) => {
                self.at_value(&join(path, "frame"), why);
                Vec::new()
            }
        }
    }
}

/// Regex errors span several lines with a caret of their own; keep the last, meaningful line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or(message)
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_fit_on_one_line() {
        let message = one_line("regex parse error:\n    (\n    ^\nerror: unclosed group");
        assert_eq!(message, "unclosed group");
    }
}
