//! HTTP/1.x as a view of a byte stream: where one request or response ends (by Content-Length,
//! chunked transfer coding, or the close), what its head says, and its body decoded; and the
//! bytes of a response a server writes. Pure: bytes in, messages out. The heads are parsed by
//! `httparse` (hyper's parser); the framing rules (RFC 9112 section 6) are here, and so is the
//! chunked coding: httparse's chunk-size parser takes an empty line for a size and refuses
//! sizes written with leading zeros, and it has none for trailers.
//!
//! A message arrives in pieces: each look at the growing buffer resumes where the last stopped
//! (`framing::Scan`), so a peer that sends a megabyte a byte at a time costs a megabyte of
//! scanning, not a look at the whole buffer per byte.

use crate::framing::Scan;

/// The most header fields a message may have (httparse needs a fixed array).
pub const MOST_HEADERS: usize = 100;

/// The most bytes a head (from its first line to its empty line), or a chunked body's trailer
/// section, may take: past it the message is refused, as servers refuse one (431).
pub const MOST_HEAD: usize = 64 * 1024;

/// The most bytes a chunked body's chunk-size line may take before it is refused.
const MOST_CHUNK_LINE: usize = 1024;

/// A start this short is parsed before its head is whole, so that bytes that are not HTTP at
/// all fail at once rather than at the step's deadline.
const EARLY_LOOK: usize = 4096;

/// A request's or a response's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request's method (`GET`), empty in a response.
    pub method: String,
    /// The request's target (`/index.html`), empty in a response.
    pub path: String,
    /// The response's status code, 0 in a request.
    pub status: u16,
    /// The header fields, names as written, in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// The values of the header `name` (any case), in order.
    pub fn values<'h>(&'h self, name: &'h str) -> impl Iterator<Item = &'h [u8]> + 'h {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Not a whole message yet.
    NeedMore,
    /// A whole message: its head, its body (decoded from chunks), and where it ends.
    Whole {
        /// The head.
        head: Head,
        /// The body, its transfer coding undone.
        body: Vec<u8>,
        /// The bytes it took.
        end: usize,
    },
    /// Never a well-framed message: why.
    Bad(String),
}

/// Which message a buffer starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request (a request without a length has no body).
    Request,
    /// A response (one without a length ends at the close).
    Response,
    /// The response to a HEAD request: its head only, whatever its Content-Length says.
    ResponseToHead,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response | Kind::ResponseToHead => "response",
        }
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyLength {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What a look at a growing message found so far (kept in `Scan`).
#[derive(Debug, Clone, Default)]
pub struct HttpScan {
    /// Where the message starts, past the empty lines before it (RFC 9112 section 2.2).
    start: Option<usize>,
    /// Its head, once whole.
    parsed: Option<Parsed>,
}

/// A head found whole, and how far its body has been walked.
#[derive(Debug, Clone)]
struct Parsed {
    head: Head,
    head_len: usize,
    length: BodyLength,
    chunks: Walk,
}

/// How far a chunked body has been walked (offsets from the body's start).
#[derive(Debug, Clone, Default)]
struct Walk {
    /// Where the next chunk-size line starts; past the last chunk, the trailer line to read.
    at: usize,
    /// The last chunk (size 0) was read: what follows is the trailer section.
    last: bool,
    /// Where the trailer section starts.
    trailer: usize,
}

/// The response at the start of `buffer`; `closed`: the peer has closed, so a body delimited
/// by the close is whole, and one that announced more is cut short.
pub fn cut_response(buffer: &[u8], closed: bool) -> Cut {
    cut(buffer, closed, Kind::Response, &mut Scan::default())
}

/// The request at the start of `buffer`.
pub fn cut_request(buffer: &[u8], closed: bool) -> Cut {
    cut(buffer, closed, Kind::Request, &mut Scan::default())
}

/// The message of `kind` at the start of `buffer`, resuming what `scan` found in an earlier
/// look at the same start (a fresh `Scan` for a new one).
pub fn cut(buffer: &[u8], closed: bool, kind: Kind, scan: &mut Scan) -> Cut {
    if scan.http.parsed.is_none() {
        match read_head(buffer, closed, kind, scan) {
            Ok(Some(parsed)) => scan.http.parsed = Some(parsed),
            Ok(None) => return Cut::NeedMore,
            Err(why) => return Cut::Bad(why),
        }
    }
    match scan.http.parsed.as_mut() {
        Some(parsed) => parsed.finish(buffer, closed),
        None => Cut::NeedMore,
    }
}

/// The head at the start of `buffer`, once whole.
fn read_head(
    buffer: &[u8],
    closed: bool,
    kind: Kind,
    scan: &mut Scan,
) -> Result<Option<Parsed>, String> {
    let noun = kind.noun();
    let before = scan.searched.min(buffer.len());
    let start = match scan.http.start {
        Some(start) => start,
        None => {
            let first = buffer[before..]
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'));
            let Some(first) = first else {
                scan.searched = buffer.len();
                return if closed {
                    Err(format!("the connection closed before a {noun}"))
                } else if buffer.len() > MOST_HEAD {
                    Err(format!("{} empty lines and no {noun}", buffer.len()))
                } else {
                    Ok(None)
                };
            };
            scan.http.start = Some(before + first);
            before + first
        }
    };
    // An end straddling the last look's end starts at most two bytes before it.
    let mut from = before.saturating_sub(2).max(start);
    while let Some((lf, end)) = blank_line(buffer, from) {
        if end - start > MOST_HEAD {
            break;
        }
        match parse_head(&buffer[start..end], kind)? {
            Some((head, len)) => return Parsed::new(head, start + len, kind).map(Some),
            None => from = lf + 1,
        }
    }
    scan.searched = buffer.len();
    let taken = buffer.len() - start;
    if taken > MOST_HEAD {
        return Err(format!(
            "the {noun}'s head is over {MOST_HEAD} bytes (or never ends)"
        ));
    }
    // A short start that is not HTTP at all fails now, not at the deadline.
    if closed || taken <= EARLY_LOOK {
        parse_head(&buffer[start..], kind)?;
    }
    if closed {
        return Err(format!(
            "the connection closed in the middle of the {noun}'s head"
        ));
    }
    Ok(None)
}

/// The first empty line from `from`: where its `\n` before it is, and where the line after it
/// starts (`\n\n` or `\n\r\n`, as httparse ends a head).
fn blank_line(buffer: &[u8], from: usize) -> Option<(usize, usize)> {
    let rest = buffer.get(from..)?;
    memchr::memchr_iter(b'\n', rest)
        .map(|i| from + i)
        .find_map(|lf| match &buffer[lf + 1..] {
            [b'\n', ..] => Some((lf, lf + 2)),
            [b'\r', b'\n', ..] => Some((lf, lf + 3)),
            _ => None,
        })
}

/// The head of `kind` at the start of `bytes` and its length, if whole.
fn parse_head(bytes: &[u8], kind: Kind) -> Result<Option<(Head, usize)>, String> {
    let mut fields = [httparse::EMPTY_HEADER; MOST_HEADERS];
    let bad = |e: httparse::Error| {
        let more = if e == httparse::Error::TooManyHeaders {
            format!(" (netlab reads at most {MOST_HEADERS})")
        } else {
            String::new()
        };
        format!("not an HTTP/1.x {} head: {e}{more}", kind.noun())
    };
    if kind == Kind::Request {
        let mut request = httparse::Request::new(&mut fields);
        return match request.parse(bytes).map_err(bad)? {
            httparse::Status::Complete(len) => Ok(Some((
                Head {
                    method: request.method.unwrap_or_default().to_string(),
                    path: request.path.unwrap_or_default().to_string(),
                    status: 0,
                    headers: collect(request.headers),
                },
                len,
            ))),
            httparse::Status::Partial => Ok(None),
        };
    }
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(bytes).map_err(bad)? {
        httparse::Status::Complete(len) => Ok(Some((
            Head {
                method: String::new(),
                path: String::new(),
                status: response.code.unwrap_or(0),
                headers: collect(response.headers),
            },
            len,
        ))),
        httparse::Status::Partial => Ok(None),
    }
}

fn collect(fields: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    fields
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

impl Parsed {
    fn new(head: Head, head_len: usize, kind: Kind) -> Result<Parsed, String> {
        let status = head.status;
        let length = match kind {
            Kind::Request => body_length(&head, true)?,
            Kind::ResponseToHead => BodyLength::None,
            // 1xx, 204 and 304 have no body (RFC 9112 section 6.3).
            Kind::Response if (100..200).contains(&status) || status == 204 || status == 304 => {
                BodyLength::None
            }
            Kind::Response => body_length(&head, false)?,
        };
        Ok(Parsed {
            head,
            head_len,
            length,
            chunks: Walk::default(),
        })
    }

    /// The whole message at the start of `buffer`, if its body is whole.
    fn finish(&mut self, buffer: &[u8], closed: bool) -> Cut {
        let rest = buffer.get(self.head_len..).unwrap_or_default();
        let whole = |body: &[u8], end: usize| Cut::Whole {
            head: self.head.clone(),
            body: body.to_vec(),
            end,
        };
        match self.length {
            BodyLength::None => whole(&[], self.head_len),
            BodyLength::Length(n) if rest.len() >= n => whole(&rest[..n], self.head_len + n),
            BodyLength::Length(n) if closed => Cut::Bad(format!(
                "the Content-Length says {n} bytes, and the connection closed after {} bytes of body",
                rest.len()
            )),
            BodyLength::Length(_) => Cut::NeedMore,
            BodyLength::UntilClose if closed => whole(rest, buffer.len()),
            BodyLength::UntilClose => Cut::NeedMore,
            BodyLength::Chunked => match self.chunks.walk(rest) {
                Ok(Some(len)) => Cut::Whole {
                    head: self.head.clone(),
                    body: join_chunks(&rest[..len]),
                    end: self.head_len + len,
                },
                Ok(None) if closed => {
                    Cut::Bad("the connection closed in the middle of a chunked body".into())
                }
                Ok(None) => Cut::NeedMore,
                Err(why) => Cut::Bad(why),
            },
        }
    }
}

/// How the body of a message with `head` is delimited (RFC 9112 section 6.3).
fn body_length(head: &Head, request: bool) -> Result<BodyLength, String> {
    if let Some(codings) = head.values("transfer-encoding").last() {
        if head.values("content-length").next().is_some() {
            return Err(
                "both Transfer-Encoding and Content-Length: which one ends the body is ambiguous (RFC 9112 section 6.3)"
                    .into(),
            );
        }
        let text = String::from_utf8_lossy(codings);
        let last = text.rsplit(',').next().unwrap_or_default().trim();
        return if last.eq_ignore_ascii_case("chunked") {
            Ok(BodyLength::Chunked)
        } else if request {
            Err(format!(
                "Transfer-Encoding {} does not end in chunked: a request's body length cannot be known (RFC 9112 section 6.3)",
                crate::escape::show(codings)
            ))
        } else {
            Ok(BodyLength::UntilClose)
        };
    }
    Ok(match content_length(head)? {
        Some(length) => BodyLength::Length(length),
        None if request => BodyLength::None,
        None => BodyLength::UntilClose,
    })
}

/// The length a head's Content-Length fields give (`None`: it has none); refused when one is
/// not a number, or two differ.
pub fn content_length(head: &Head) -> Result<Option<usize>, String> {
    let mut lengths = head.values("content-length").map(|v| {
        std::str::from_utf8(v)
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<usize>().ok())
            .ok_or_else(|| format!("Content-Length {} is not a number", crate::escape::show(v)))
    });
    let Some(first) = lengths.next() else {
        return Ok(None);
    };
    let first = first?;
    for other in lengths {
        if other? != first {
            return Err("two different Content-Length headers".into());
        }
    }
    Ok(Some(first))
}

impl Walk {
    /// Walks the chunks of `rest` from where the last walk stopped: the chunked body's length
    /// (trailer section included) once it is whole.
    fn walk(&mut self, rest: &[u8]) -> Result<Option<usize>, String> {
        while !self.last {
            let Some((size, line)) = chunk_line(&rest[self.at.min(rest.len())..])? else {
                return Ok(None);
            };
            if size == 0 {
                self.at += line;
                self.trailer = self.at;
                self.last = true;
                break;
            }
            let end = usize::try_from(size)
                .ok()
                .and_then(|size| (self.at + line).checked_add(size))
                .and_then(|end| end.checked_add(2))
                .ok_or("a chunk larger than this machine can hold")?;
            if rest.len() < end {
                return Ok(None);
            }
            if &rest[end - 2..end] != b"\r\n" {
                return Err(format!("a chunk of {size} bytes is not followed by CRLF"));
            }
            self.at = end;
        }
        // The trailer section: field lines, then an empty line.
        while let Some(lf) = memchr::memchr(b'\n', rest.get(self.at..).unwrap_or_default()) {
            let line = &rest[self.at..self.at + lf + 1];
            let Some(content) = line.strip_suffix(b"\r\n") else {
                return Err("a trailer line that does not end in CRLF".into());
            };
            self.at += lf + 1;
            if content.is_empty() {
                return Ok(Some(self.at));
            }
            if !content.contains(&b':') {
                return Err(format!(
                    "a trailer line without a colon: {}",
                    crate::escape::show(content)
                ));
            }
            if self.at - self.trailer > MOST_HEAD {
                break;
            }
        }
        if rest.len() - self.trailer > MOST_HEAD {
            return Err(format!("a trailer section over {MOST_HEAD} bytes"));
        }
        Ok(None)
    }
}

/// A chunk-size line at the start of `rest`, once whole: the size and the line's length.
fn chunk_line(rest: &[u8]) -> Result<Option<(u64, usize)>, String> {
    let window = &rest[..rest.len().min(MOST_CHUNK_LINE)];
    let Some(lf) = memchr::memchr(b'\n', window) else {
        if rest.len() >= MOST_CHUNK_LINE {
            return Err("a chunk-size line without an end".into());
        }
        return Ok(None);
    };
    let Some(line) = window[..lf].strip_suffix(b"\r") else {
        return Err("a chunk-size line that does not end in CRLF".into());
    };
    // The size, then extensions after `;` (with optional white space before it).
    let size = line.split(|&b| b == b';').next().unwrap_or_default();
    let size = size.trim_ascii_end();
    if size.is_empty() {
        return Err("a chunk-size line without a size".into());
    }
    let mut value: u64 = 0;
    for &b in size {
        let digit = char::from(b).to_digit(16).ok_or_else(|| {
            format!(
                "a chunk size that is not hexadecimal: {}",
                crate::escape::show(size)
            )
        })?;
        value = value
            .checked_mul(16)
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or("a chunk size over 2^64")?;
    }
    Ok(Some((value, lf + 1)))
}

/// The data of a whole, well-formed chunked body, joined.
fn join_chunks(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some((size, line))) = chunk_line(rest) {
        let size = usize::try_from(size).unwrap_or(0);
        if size == 0 {
            break;
        }
        let data = rest.get(line..line + size).unwrap_or_default();
        body.extend_from_slice(data);
        rest = rest.get(line + size + 2..).unwrap_or_default();
    }
    body
}

/// Whether `message` is a HEAD request (its method, parsed).
pub fn is_head_request(message: &[u8]) -> bool {
    matches!(cut_request(message, true), Cut::Whole { head, .. } if head.method == "HEAD")
}

/// The reason phrase of a status code, as servers commonly write it.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Whether `value` cannot be written as a header field's value: a CR, LF or NUL in it would
/// end the field there, or be refused (RFC 9110 section 5.5).
pub fn breaks_a_field_value(value: &[u8]) -> bool {
    value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The head of a response a server writes: the status line, `headers` as given (none of whose
/// values [`breaks_a_field_value`]), and a `Content-Length` of `body_len` unless a header says
/// otherwise.
pub fn response_head(status: u16, headers: &[(String, Vec<u8>)], body_len: usize) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    let mut has_length = false;
    for (name, value) in headers {
        has_length |= name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    // A 1xx or 204 response has no Content-Length (RFC 9110 section 8.6).
    let bodiless = (100..200).contains(&status) || status == 204;
    if !has_length && !bodiless {
        out.extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(cut: Cut) -> (Head, Vec<u8>, usize) {
        match cut {
            Cut::Whole { head, body, end } => (head, body, end),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_response_ends_by_its_content_length_and_leaves_the_rest() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiNEXT";
        let (head, body, end) = whole(cut_response(bytes, false));
        assert_eq!(head.status, 200);
        assert_eq!(body, b"hi");
        assert_eq!(&bytes[end..], b"NEXT");
        // Cut anywhere before its end: not whole yet.
        for cut in 0..end {
            assert_eq!(cut_response(&bytes[..cut], false), Cut::NeedMore, "{cut}");
        }
    }

    #[test]
    fn a_content_length_the_close_cuts_short_is_bad() {
        let cut = cut_response(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nhello", true);
        assert!(
            matches!(&cut, Cut::Bad(why) if why.contains("says 10 bytes") && why.contains("after 5 bytes")),
            "{cut:?}"
        );
    }

    #[test]
    fn a_chunked_body_is_joined_and_a_close_delimited_one_waits_for_the_close() {
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3;x=y\r\n!!!\r\n0\r\nA: b\r\n\r\nrest";
        let (_, body, end) = whole(cut_response(bytes, false));
        assert_eq!(body, b"hi!!!");
        assert_eq!(&bytes[end..], b"rest");
        let plain = b"HTTP/1.0 200 OK\r\n\r\nall of it";
        assert_eq!(cut_response(plain, false), Cut::NeedMore);
        let (_, body, _) = whole(cut_response(plain, true));
        assert_eq!(body, b"all of it");
        assert!(matches!(
            cut_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                false
            ),
            Cut::Bad(_)
        ));
    }

    #[test]
    fn statuses_without_a_body_and_bad_heads() {
        let (_, body, end) = whole(cut_response(b"HTTP/1.1 204 No Content\r\n\r\nX", false));
        assert!(body.is_empty());
        assert_eq!(end, 27);
        assert!(matches!(
            cut_response(b"SSH-2.0-x\r\n\r\n", false),
            Cut::Bad(_)
        ));
        assert!(matches!(
            cut_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false),
            Cut::Bad(_)
        ));
    }

    #[test]
    fn a_request_ends_at_its_head_or_its_body() {
        let bytes =
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let (head, body, end) = whole(cut_request(bytes, false));
        assert_eq!((head.method.as_str(), head.path.as_str()), ("GET", "/a"));
        assert!(body.is_empty());
        let (head, body, _) = whole(cut_request(&bytes[end..], false));
        assert_eq!(head.method, "POST");
        assert_eq!(body, b"abc");
    }

    /// Each look at the buffer as it grows `piece` bytes at a time, resuming the last.
    fn cut_in_pieces(bytes: &[u8], piece: usize, kind: Kind) -> Cut {
        let mut scan = Scan::default();
        let mut len = 0;
        loop {
            len = (len + piece).min(bytes.len());
            let cut = cut(&bytes[..len], false, kind, &mut scan);
            if cut != Cut::NeedMore || len == bytes.len() {
                return cut;
            }
        }
    }

    #[test]
    fn a_message_cut_in_pieces_is_cut_as_when_it_came_whole() {
        let messages: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiNEXT",
            b"\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3;x=y\r\n!!!\r\n0\r\nA: b\r\n\r\nrest",
            b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nno colon\r\n\r\n",
        ];
        for bytes in messages {
            let whole = cut(bytes, false, Kind::Response, &mut Scan::default());
            for piece in 1..bytes.len() {
                assert_eq!(
                    cut_in_pieces(bytes, piece, Kind::Response),
                    whole,
                    "{} in pieces of {piece}",
                    crate::escape::show(bytes)
                );
            }
        }
        let request =
            b"\r\nPOST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n";
        let whole = cut_request(request, false);
        assert!(
            matches!(&whole, Cut::Whole { body, .. } if body == b"a"),
            "{whole:?}"
        );
        for piece in 1..request.len() {
            assert_eq!(cut_in_pieces(request, piece, Kind::Request), whole);
        }
    }

    #[test]
    fn a_head_that_never_ends_is_refused_at_its_cap_without_rescanning() {
        let mut scan = Scan::default();
        let mut bytes = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        let mut cut_at = None;
        for n in 0..MOST_HEAD + 10 {
            bytes.push(b'a');
            if let Cut::Bad(why) = cut(&bytes, false, Kind::Response, &mut scan) {
                assert!(why.contains("head is over"), "{why}");
                cut_at = Some(n);
                break;
            }
        }
        assert!(cut_at.is_some_and(|n| n > MOST_HEAD - 30));
    }

    #[test]
    fn malformed_chunked_bodies_are_bad() {
        let chunked = |body: &str| {
            let bytes = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
            cut_response(bytes.as_bytes(), true)
        };
        for (body, why) in [
            ("\r\nhi\r\n0\r\n\r\n", "without a size"),
            ("2\nhi\r\n0\r\n\r\n", "CRLF"),
            ("2\r\nhi\r\n0\r\nno colon\r\n\r\n", "without a colon"),
            ("g\r\n", "not hexadecimal"),
            ("1ffffffffffffffff\r\n", "over 2^64"),
        ] {
            let cut = chunked(body);
            assert!(
                matches!(&cut, Cut::Bad(reason) if reason.contains(why)),
                "{body:?}: {cut:?}"
            );
        }
        // Leading zeros are still hexadecimal.
        let cut = chunked("00000000000000000002\r\nhi\r\n0\r\n\r\n");
        assert!(
            matches!(&cut, Cut::Whole { body, .. } if body == b"hi"),
            "{cut:?}"
        );
    }

    #[test]
    fn ambiguous_lengths_are_bad_and_head_responses_have_no_body() {
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(cut_response(both, false), Cut::Bad(why) if why.contains("ambiguous")));
        let gzip_request = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert!(
            matches!(cut_request(gzip_request, false), Cut::Bad(why) if why.contains("does not end in chunked"))
        );
        // A response whose coding is not chunked ends at the close.
        let gzip = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz";
        assert_eq!(cut_response(gzip, false), Cut::NeedMore);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nNEXT";
        let cut = cut(head, false, Kind::ResponseToHead, &mut Scan::default());
        assert!(
            matches!(cut, Cut::Whole { end: 38, ref body, .. } if body.is_empty()),
            "{cut:?}"
        );
        // Methods are told apart by case.
        let (head, _, _) = whole(cut_request(b"get / HTTP/1.1\r\n\r\n", false));
        assert_eq!(head.method, "get");
    }

    #[test]
    fn a_response_head_carries_its_length() {
        let head = response_head(404, &[("Content-Type".into(), b"text/plain".to_vec())], 9);
        assert_eq!(
            head,
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\n"
                .to_vec()
        );
    }
}
