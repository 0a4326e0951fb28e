//! How a byte stream is cut into messages, and how a message is written as one: by recv()
//! (`chunk`), by line, by a length prefix (`framing: { length: u16be }`), or by a delimiter
//! (`framing: { delimiter: "\r\n\r\n" }`). Pure: bytes in, frames out. The server cuts what it
//! reads with it, a client's `send: { frame }` writes a frame and `expect: { frame }` reads one.
//!
//! Hand-written: the crates that frame streams (tokio-util's codecs, asynchronous-codec) work on
//! async streams and buffers of their own; netlab's reads are blocking with a deadline, and a
//! frame here is a range of the bytes already read.

use std::ops::Range;

use crate::capture::IntKind;

/// How a server cuts what it reads into messages (and a client writes and reads frames).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Framing {
    /// One recv() result is one message.
    #[default]
    Chunk,
    /// One line (up to `\n`, without it and a `\r` before it) is one message.
    Line,
    /// Frames: a length prefix or a delimiter.
    Frames(Frames),
}

impl Framing {
    /// The frames of this framing, if it has them.
    pub fn frames(&self) -> Option<&Frames> {
        match self {
            Framing::Frames(frames) => Some(frames),
            Framing::Chunk | Framing::Line => None,
        }
    }
}

/// Frames of a stream: each is a header and a body, or a body and a delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frames {
    /// A length before each body.
    Length(LengthPrefix),
    /// These bytes after each body.
    Delimiter(Vec<u8>),
    /// HTTP/1.x requests, each by its own framing (its head, then a Content-Length or chunked
    /// body); the whole request is the message.
    HttpRequests,
}

/// A length prefix, as Netty's `LengthFieldBasedFrameDecoder` and Wireshark describe one: `offset`
/// bytes, then the length field, then the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPrefix {
    /// How the length is written (an unsigned kind, or a varint).
    pub kind: IntKind,
    /// Bytes before the length field (written as zeros by `frame:`).
    pub offset: usize,
    /// Added to the length's value to give the body's size (netlab reads and writes no
    /// trailer: this only maps the value to the size).
    pub adjust: i64,
    /// The length counts the header (the `offset` bytes and the length field) too.
    pub include_header: bool,
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    /// Not a whole frame yet.
    NeedMore,
    /// A whole frame: its body's place, and its length with the header (or delimiter).
    Frame {
        /// Where the body is.
        body: Range<usize>,
        /// Where the next frame starts.
        end: usize,
    },
    /// A frame, or what may become one, over the cap: why.
    TooLarge(String),
    /// Never a frame: why (a length that cannot be, bytes that are not a request).
    Bad(String),
}

/// What an earlier look at the start of the same growing buffer found, so that the next look
/// resumes there instead of starting over: a peer that sends a megabyte a byte at a time then
/// costs a megabyte of scanning, not a look at the whole buffer per byte. A fresh one
/// (`default`) for each new start; the buffer may only grow at its end between looks.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// How many bytes from the start were searched for an end and held none.
    pub(crate) searched: usize,
    /// What an HTTP message's look found.
    pub(crate) http: crate::http::HttpScan,
}

impl Scan {
    /// Where `needle` first occurs in `buffer`, searching only what the last search did not
    /// (less the needle's length, for one that straddles the old end).
    pub fn find(&mut self, buffer: &[u8], needle: &[u8]) -> Option<usize> {
        let from = (self.searched.saturating_sub(needle.len().saturating_sub(1))).min(buffer.len());
        let found = memchr::memmem::find(&buffer[from..], needle).map(|at| from + at);
        if found.is_none() {
            self.searched = buffer.len();
        }
        found
    }
}

impl Frames {
    /// The first frame at the start of `buffer`; a frame longer than `most` bytes is
    /// `TooLarge` as soon as its header says so.
    pub fn cut(&self, buffer: &[u8], most: usize) -> Cut {
        self.cut_resuming(buffer, most, &mut Scan::default())
    }

    /// `cut`, resuming what `scan` found in an earlier look at the same start.
    pub fn cut_resuming(&self, buffer: &[u8], most: usize, scan: &mut Scan) -> Cut {
        use crate::http::{self, Kind};
        match self {
            Frames::Length(prefix) => prefix.cut(buffer, most),
            Frames::HttpRequests => match http::cut(buffer, false, Kind::Request, scan) {
                http::Cut::Whole { end, .. } if end > most => Cut::TooLarge(over(end, most)),
                http::Cut::Whole { end, .. } => Cut::Frame { body: 0..end, end },
                http::Cut::NeedMore if buffer.len() > most => Cut::TooLarge(format!(
                    "no whole request within {most} bytes (the most a message may take)"
                )),
                http::Cut::NeedMore => Cut::NeedMore,
                http::Cut::Bad(why) => Cut::Bad(why),
            },
            Frames::Delimiter(delimiter) => match scan.find(buffer, delimiter) {
                Some(at) if at + delimiter.len() > most => {
                    Cut::TooLarge(over(at + delimiter.len(), most))
                }
                Some(at) => Cut::Frame {
                    body: 0..at,
                    end: at + delimiter.len(),
                },
                None if buffer.len() > most => Cut::TooLarge(format!(
                    "no delimiter within {most} bytes (the most a frame may take)"
                )),
                None => Cut::NeedMore,
            },
        }
    }

    /// `body` as one frame: a header before it, or the delimiter after it.
    pub fn encode(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Frames::Length(prefix) => prefix.encode(body),
            Frames::HttpRequests => {
                Err("an HTTP message is written with `http:`, not `frame:`".into())
            }
            Frames::Delimiter(delimiter) => {
                let mut out = Vec::with_capacity(body.len() + delimiter.len());
                out.extend_from_slice(body);
                out.extend_from_slice(delimiter);
                // The reader cuts at the first delimiter: one inside the body, or one that
                // starts in the body's last bytes ("xa" + "aa"), would cut the frame short.
                if memchr::memmem::find(&out, delimiter) != Some(body.len()) {
                    return Err(format!(
                        "the payload holds the delimiter {} (or ends with its start): it would be read as a shorter frame",
                        crate::escape::show(delimiter)
                    ));
                }
                Ok(out)
            }
        }
    }

    /// How many bytes a frame whose body has `len` bytes took on the wire, where the body alone
    /// tells (`None` for a varint, which a peer may write longer than it needs).
    pub fn wire_len(&self, len: usize) -> Option<usize> {
        match self {
            Frames::Length(prefix) => match prefix.kind {
                IntKind::Fixed { width, .. } => {
                    Some(len.saturating_add(prefix.offset).saturating_add(width))
                }
                IntKind::Varint => None,
            },
            // The message is the whole request.
            Frames::HttpRequests => Some(len),
            Frames::Delimiter(delimiter) => Some(len.saturating_add(delimiter.len())),
        }
    }

    /// The frame's words in the transcript (`u16be length`, `delimiter "\r\n"`).
    pub fn describe(&self) -> String {
        match self {
            Frames::Length(prefix) => format!("{} length", prefix.kind_name()),
            Frames::HttpRequests => "HTTP request".into(),
            Frames::Delimiter(delimiter) => {
                format!("delimiter {}", crate::escape::show(delimiter))
            }
        }
    }
}

fn over(size: usize, most: usize) -> String {
    format!("a frame of {size} bytes, over the {most} a frame may take")
}

impl LengthPrefix {
    /// The kind's name as a file writes it.
    pub fn kind_name(&self) -> &'static str {
        crate::capture::INT_KINDS
            .iter()
            .find(|(_, kind)| *kind == self.kind)
            .map_or("length", |(name, _)| name)
    }

    fn cut(&self, buffer: &[u8], most: usize) -> Cut {
        let Some(field) = buffer.get(self.offset..) else {
            return Cut::NeedMore;
        };
        let (value, width) = match self.kind.decode(field) {
            Ok((text, width)) => (text.parse::<u64>().unwrap_or(u64::MAX), width),
            // A varint that does not end within its ten bytes is never a frame.
            Err(why) if field.len() >= 10 => return Cut::Bad(why),
            Err(_) => return Cut::NeedMore,
        };
        let header = self.offset + width;
        let counted = if self.include_header {
            header as i128
        } else {
            0
        };
        let body = i128::from(value) + i128::from(self.adjust) - counted;
        if body < 0 {
            return Cut::Bad(format!(
                "the length field says {value}, which leaves {body} bytes for the body"
            ));
        }
        let end = header as i128 + body;
        if end > most as i128 {
            return Cut::TooLarge(over(usize::try_from(end).unwrap_or(usize::MAX), most));
        }
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        if buffer.len() < end {
            return Cut::NeedMore;
        }
        Cut::Frame {
            body: header..end,
            end,
        }
    }

    /// The value written for a body of `len` bytes in a length field `width` bytes wide.
    fn value_for(&self, len: usize, width: usize) -> i128 {
        let counted = if self.include_header {
            (self.offset + width) as i128
        } else {
            0
        };
        len as i128 - i128::from(self.adjust) + counted
    }

    /// How wide the length field of a body of `len` bytes is, as netlab writes it (a varint's
    /// width depends on its value, which may count the width).
    fn width_for(&self, len: usize) -> usize {
        match self.kind {
            IntKind::Fixed { width, .. } => width,
            IntKind::Varint => (1..=10)
                .find(|&w| u64::try_from(self.value_for(len, w)).is_ok_and(|v| varint_len(v) == w))
                .unwrap_or(1),
        }
    }

    fn encode(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let width = self.width_for(body.len());
        let value = self.value_for(body.len(), width);
        let too_large = || {
            format!(
                "a body of {} bytes needs a length of {value}, which a {} field cannot hold",
                body.len(),
                self.kind_name()
            )
        };
        let value = u64::try_from(value).map_err(|_| too_large())?;
        let mut out = vec![0u8; self.offset];
        match self.kind {
            IntKind::Fixed {
                width, big_endian, ..
            } => {
                if width < 8 && value >> (8 * width) != 0 {
                    return Err(too_large());
                }
                let bytes = value.to_be_bytes();
                let field = &bytes[8 - width..];
                if big_endian {
                    out.extend_from_slice(field);
                } else {
                    out.extend(field.iter().rev());
                }
            }
            IntKind::Varint => {
                let mut rest = value;
                loop {
                    let low = (rest & 0x7f) as u8;
                    rest >>= 7;
                    if rest == 0 {
                        out.push(low);
                        break;
                    }
                    out.push(low | 0x80);
                }
            }
        }
        out.extend_from_slice(body);
        Ok(out)
    }
}

/// How many bytes the varint of `n` takes.
fn varint_len(n: u64) -> usize {
    let bits = 64 - n.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_frames_wire_length_is_what_encode_writes() {
        for kind in ["u8", "u16be", "u32le"] {
            for include_header in [false, true] {
                let frames = prefix(kind, 2, 0, include_header);
                for len in [0, 1, 127, 128, 200, 16_383, 16_384] {
                    let body = vec![b'x'; len];
                    if let Ok(encoded) = frames.encode(&body) {
                        assert_eq!(frames.wire_len(len), Some(encoded.len()), "{kind} {len}");
                    }
                }
            }
        }
        // A varint may be written longer than it needs: its body does not tell.
        assert_eq!(prefix("varint", 0, 0, false).wire_len(5), None);
        let lines = Frames::Delimiter(b"\r\n".to_vec());
        assert_eq!(lines.wire_len(5), Some(7));
    }

    use super::*;
    use crate::capture::INT_KINDS;

    fn prefix(kind: &str, offset: usize, adjust: i64, include_header: bool) -> Frames {
        let kind = INT_KINDS
            .iter()
            .find(|(name, _)| *name == kind)
            .map(|(_, k)| *k)
            .unwrap_or(IntKind::Varint);
        Frames::Length(LengthPrefix {
            kind,
            offset,
            adjust,
            include_header,
        })
    }

    #[test]
    fn a_length_prefix_round_trips_in_each_variant() {
        for frames in [
            prefix("u8", 0, 0, false),
            prefix("u16be", 0, 0, false),
            prefix("u16le", 2, 0, false),
            prefix("u32be", 0, -2, false),
            prefix("u32le", 1, 0, true),
            prefix("varint", 0, 0, false),
        ] {
            let frame = frames.encode(b"hello").unwrap_or_default();
            let mut stream = frame.clone();
            stream.extend_from_slice(b"next");
            match frames.cut(&stream, 1 << 20) {
                Cut::Frame { body, end } => {
                    assert_eq!(&stream[body], b"hello", "{frames:?}");
                    assert_eq!(end, frame.len(), "{frames:?}");
                }
                other => panic!("{frames:?}: {other:?}"),
            }
            // Cut anywhere before its end, it is not a frame yet.
            for cut in 0..frame.len() {
                assert_eq!(
                    frames.cut(&frame[..cut], 1 << 20),
                    Cut::NeedMore,
                    "{frames:?} {cut}"
                );
            }
        }
    }

    #[test]
    fn lengths_are_written_as_the_header_says() {
        assert_eq!(
            prefix("u16be", 0, 0, false).encode(b"hi"),
            Ok(vec![0, 2, b'h', b'i'])
        );
        assert_eq!(
            prefix("u16le", 0, 0, true).encode(b"hi"),
            Ok(vec![4, 0, b'h', b'i'])
        );
        assert_eq!(
            prefix("u8", 1, 0, false).encode(b"hi"),
            Ok(vec![0, 2, b'h', b'i'])
        );
        assert_eq!(
            prefix("varint", 0, 0, false)
                .encode(&[7; 300])
                .map(|f| f[..2].to_vec()),
            Ok(vec![0xac, 0x02])
        );
        assert!(
            prefix("u8", 0, 0, false)
                .encode(&[0; 256])
                .is_err_and(|e| e.contains("cannot hold"))
        );
    }

    #[test]
    fn impossible_and_oversized_frames_are_bad_at_once() {
        // A length that counts the header but is shorter than it.
        assert!(matches!(
            prefix("u16be", 0, 0, true).cut(&[0, 1], 100),
            Cut::Bad(_)
        ));
        // Announced over the cap: too large before the body arrives.
        assert!(matches!(
            prefix("u32be", 0, 0, false).cut(&[0, 0, 1, 0], 100),
            Cut::TooLarge(_)
        ));
        assert!(matches!(
            prefix("varint", 0, 0, false).cut(&[0xff; 10], 100),
            Cut::Bad(_)
        ));
        let delimited = Frames::Delimiter(b"\r\n".to_vec());
        assert!(matches!(delimited.cut(&[b'x'; 101], 100), Cut::TooLarge(_)));
    }

    #[test]
    fn a_delimiter_ends_each_frame_and_may_not_be_in_a_body() {
        let frames = Frames::Delimiter(b"\r\n\r\n".to_vec());
        assert_eq!(
            frames.cut(b"GET /\r\n\r\nmore", 100),
            Cut::Frame { body: 0..5, end: 9 }
        );
        assert_eq!(frames.cut(b"GET /\r\n\r", 100), Cut::NeedMore);
        assert_eq!(frames.encode(b"a"), Ok(b"a\r\n\r\n".to_vec()));
        assert!(frames.encode(b"a\r\n\r\nb").is_err());
        // A body that ends with the delimiter's start would be cut short too.
        assert!(frames.encode(b"a\r\n").is_err());
        let doubled = Frames::Delimiter(b"aa".to_vec());
        assert!(doubled.encode(b"xa").is_err());
        assert_eq!(doubled.encode(b"xb"), Ok(b"xbaa".to_vec()));
    }

    #[test]
    fn a_look_that_resumes_finds_what_a_fresh_one_finds_however_the_bytes_came() {
        let stream = b"one\r\n\r\ntwo\r\n\r\n";
        let frames = Frames::Delimiter(b"\r\n\r\n".to_vec());
        for piece in 1..stream.len() {
            let mut scan = Scan::default();
            let mut cut = Cut::NeedMore;
            let mut len = 0;
            while cut == Cut::NeedMore && len < stream.len() {
                len = (len + piece).min(stream.len());
                cut = frames.cut_resuming(&stream[..len], 100, &mut scan);
            }
            assert_eq!(cut, Cut::Frame { body: 0..3, end: 7 }, "pieces of {piece}");
        }
        // A byte at a time over a large frame: each look searches only the new byte.
        let mut scan = Scan::default();
        let mut buffer = Vec::new();
        for _ in 0..100_000 {
            buffer.push(b'x');
            assert_eq!(
                frames.cut_resuming(&buffer, 1 << 20, &mut scan),
                Cut::NeedMore
            );
        }
        assert_eq!(scan.searched, buffer.len());
    }
}
