//! HTTP/1.x as a view of a byte stream: where one request or response ends (by Content-Length,
//! chunked transfer coding, or the close), what its head says, and its body decoded; and the
//! bytes of a response a server writes. Pure: bytes in, messages out. The heads are parsed by
//! `httparse` (hyper's parser); the framing rules (RFC 9112 section 6) are here.

/// The most header fields a message may have (httparse needs a fixed array).
const MOST_HEADERS: usize = 100;

/// The most bytes a chunked body's chunk-size line may take before it is refused.
const MOST_CHUNK_LINE: usize = 1024;

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

/// How a message's body is delimited.
enum BodyLength {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// The response at the start of `buffer`; `closed`: the peer has closed, so a body delimited
/// by the close is whole, and one that announced more is cut short.
pub fn cut_response(buffer: &[u8], closed: bool) -> Cut {
    let mut fields = [httparse::EMPTY_HEADER; MOST_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let head_len = match response.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if closed => {
            return Cut::Bad("the connection closed in the middle of the response's head".into());
        }
        Ok(httparse::Status::Partial) => return Cut::NeedMore,
        Err(e) => return Cut::Bad(format!("not an HTTP/1.x response head: {e}")),
    };
    let status = response.code.unwrap_or(0);
    let head = Head {
        method: String::new(),
        path: String::new(),
        status,
        headers: collect(response.headers),
    };
    // 1xx, 204 and 304 have no body (RFC 9112 6.3).
    let length = if (100..200).contains(&status) || status == 204 || status == 304 {
        Ok(BodyLength::None)
    } else {
        body_length(&head, BodyLength::UntilClose)
    };
    finish(buffer, head, head_len, length, closed)
}

/// The request at the start of `buffer` (a request without a length has no body).
pub fn cut_request(buffer: &[u8], closed: bool) -> Cut {
    let mut fields = [httparse::EMPTY_HEADER; MOST_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    let head_len = match request.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if closed => {
            return Cut::Bad("the connection closed in the middle of the request's head".into());
        }
        Ok(httparse::Status::Partial) => return Cut::NeedMore,
        Err(e) => return Cut::Bad(format!("not an HTTP/1.x request head: {e}")),
    };
    let head = Head {
        method: request.method.unwrap_or_default().to_string(),
        path: request.path.unwrap_or_default().to_string(),
        status: 0,
        headers: collect(request.headers),
    };
    let length = body_length(&head, BodyLength::None);
    finish(buffer, head, head_len, length, closed)
}

fn collect(fields: &[httparse::Header<'_>]) -> Vec<(String, Vec<u8>)> {
    fields
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

/// How the body of a message with `head` is delimited (`otherwise` when it says nothing).
fn body_length(head: &Head, otherwise: BodyLength) -> Result<BodyLength, String> {
    let chunked = head.values("transfer-encoding").any(|v| {
        String::from_utf8_lossy(v)
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    });
    if chunked {
        return Ok(BodyLength::Chunked);
    }
    let mut lengths = head.values("content-length").map(|v| {
        std::str::from_utf8(v)
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<usize>().ok())
            .ok_or_else(|| format!("Content-Length {} is not a number", crate::escape::show(v)))
    });
    let Some(first) = lengths.next() else {
        return Ok(otherwise);
    };
    let first = first?;
    for other in lengths {
        if other? != first {
            return Err("two different Content-Length headers".into());
        }
    }
    Ok(BodyLength::Length(first))
}

fn finish(
    buffer: &[u8],
    head: Head,
    head_len: usize,
    length: Result<BodyLength, String>,
    closed: bool,
) -> Cut {
    let rest = &buffer[head_len..];
    match length {
        Err(why) => Cut::Bad(why),
        Ok(BodyLength::None) => Cut::Whole {
            head,
            body: Vec::new(),
            end: head_len,
        },
        Ok(BodyLength::Length(n)) if rest.len() >= n => Cut::Whole {
            head,
            body: rest[..n].to_vec(),
            end: head_len + n,
        },
        Ok(BodyLength::Length(n)) if closed => Cut::Bad(format!(
            "the Content-Length says {n} bytes, and the connection closed after {} bytes of body",
            rest.len()
        )),
        Ok(BodyLength::Length(_)) => Cut::NeedMore,
        Ok(BodyLength::UntilClose) if closed => Cut::Whole {
            head,
            body: rest.to_vec(),
            end: buffer.len(),
        },
        Ok(BodyLength::UntilClose) => Cut::NeedMore,
        Ok(BodyLength::Chunked) => match dechunk(rest) {
            Dechunked::Whole { body, len } => Cut::Whole {
                head,
                body,
                end: head_len + len,
            },
            Dechunked::NeedMore if closed => {
                Cut::Bad("the connection closed in the middle of a chunked body".into())
            }
            Dechunked::NeedMore => Cut::NeedMore,
            Dechunked::Bad(why) => Cut::Bad(why),
        },
    }
}

enum Dechunked {
    NeedMore,
    Whole { body: Vec<u8>, len: usize },
    Bad(String),
}

/// A chunked body at the start of `rest`: the chunks joined, and the bytes it took (trailer
/// fields included).
fn dechunk(rest: &[u8]) -> Dechunked {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let (size, line_len) = match httparse::parse_chunk_size(&rest[at..]) {
            Ok(httparse::Status::Complete((line_len, size))) => (size, line_len),
            Ok(httparse::Status::Partial) if rest.len() - at > MOST_CHUNK_LINE => {
                return Dechunked::Bad("a chunk-size line without an end".into());
            }
            Ok(httparse::Status::Partial) => return Dechunked::NeedMore,
            Err(_) => return Dechunked::Bad("a chunk size that is not hexadecimal".into()),
        };
        at += line_len;
        if size == 0 {
            // Trailer fields, then an empty line.
            return match find_blank_line(&rest[at..]) {
                Some(len) => Dechunked::Whole {
                    body,
                    len: at + len,
                },
                None => Dechunked::NeedMore,
            };
        }
        let Ok(size) = usize::try_from(size) else {
            return Dechunked::Bad("a chunk larger than this machine can hold".into());
        };
        let Some(end) = at.checked_add(size) else {
            return Dechunked::Bad("a chunk larger than this machine can hold".into());
        };
        if rest.len() < end + 2 {
            return Dechunked::NeedMore;
        }
        body.extend_from_slice(&rest[at..end]);
        if &rest[end..end + 2] != b"\r\n" {
            return Dechunked::Bad(format!("a chunk of {size} bytes is not followed by CRLF"));
        }
        at = end + 2;
    }
}

/// The length of the trailer section at the start of `rest`, up to and with its empty line.
fn find_blank_line(rest: &[u8]) -> Option<usize> {
    if rest.starts_with(b"\r\n") {
        return Some(2);
    }
    memchr::memmem::find(rest, b"\r\n\r\n").map(|at| at + 4)
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
    if !has_length {
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
