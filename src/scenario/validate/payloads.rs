//! What a file sends and matches, as validation builds it: payloads read (files, hex…) unless
//! the file's payloads are over the per-file cap, a large tcp `repeat` left to stream, the
//! udp ones no datagram can carry refused, and matchers in their checked form.

use crate::matcher::{Matcher, StreamRegex};
use crate::scenario::model::{MAX_DATAGRAM_PAYLOAD, Payload};
use crate::scenario::payload;
use crate::scenario::positions::join;
use crate::scenario::raw::{Protocol, RawMatcher, RawPayload};

use super::checker::Checker;

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
        match payload::resolve(raw, self.source.base_dir()) {
            Ok(bytes) => bytes,
            Err(problem) => {
                let diagnostic = self.at_value(&join(path, problem.field), problem.message);
                if let Some(help) = problem.help {
                    diagnostic.add_help(help);
                }
                Vec::new()
            }
        }
    }
}

/// The checked form of a matcher as written.
pub(super) fn matcher(raw: RawMatcher) -> Matcher {
    match raw {
        RawMatcher::Equals(bytes) => Matcher::Equals { bytes, hex: false },
        RawMatcher::Hex(bytes) => Matcher::Equals { bytes, hex: true },
        RawMatcher::Contains(bytes) => Matcher::Contains(bytes),
        RawMatcher::Regex(regex) => Matcher::Regex(StreamRegex::new(regex)),
        RawMatcher::Bytes(n) => Matcher::Bytes(n),
    }
}
