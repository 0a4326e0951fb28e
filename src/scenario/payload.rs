//! Payloads and replies: turns what a file wrote (`"text"`, `{ hex }`, `{ repeat, times }`,
//! `{ file }`) into bytes. Used by `validate`.

use std::path::Path;

use super::raw::RawPayload;
use crate::diagnostic::io_reason;

/// A TCP `send` of a `repeat` longer than this is streamed, never built in memory.
pub const STREAM_ABOVE: u64 = 64 * 1024;

/// Largest payload netlab builds in memory from `repeat` or `file`.
pub const MAX_PAYLOAD: u64 = 256 * 1024 * 1024;

/// Most bytes netlab builds in memory for the payloads of one file: every greeting, reply, send
/// and expected bytes, aliases and `repeat`s expanded (a streamed `send` is not built and does
/// not count). `budget` checks it before any payload is built.
pub const MAX_FILE_PAYLOADS: u64 = 2 * MAX_PAYLOAD;

/// Why a payload cannot be built, and which of its keys is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadProblem {
    /// The key of the payload map the problem is about (`times`, `file`…); empty for the
    /// payload itself.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
    /// A hint, if one helps.
    pub help: Option<&'static str>,
}

/// True when a TCP `send` of `raw` is streamed from its unit rather than built in memory: a
/// `repeat` longer than [`STREAM_ABOVE`].
pub fn streams(raw: &RawPayload) -> bool {
    matches!(raw, RawPayload::Repeat { text, times }
        if !text.is_empty() && (text.len() as u64).saturating_mul(*times) > STREAM_ABOVE)
}

/// How many bytes [`resolve`] would build for `raw`, without building them (a file's size as
/// its metadata says; 0 if it cannot be read, which `resolve` reports).
pub fn size(raw: &RawPayload, base_dir: &Path) -> u64 {
    match raw {
        RawPayload::Text(text) => text.len() as u64,
        RawPayload::Hex(bytes) => bytes.len() as u64,
        RawPayload::Repeat { text, times } => (text.len() as u64).saturating_mul(*times),
        RawPayload::File(file) => std::fs::metadata(base_dir.join(file)).map_or(0, |m| m.len()),
        // A header of at most ten bytes (a varint), or a delimiter the file wrote.
        RawPayload::Frame(inner) => size(inner, base_dir).saturating_add(10),
        // The head: a status line, the headers written, a Content-Length.
        RawPayload::Http(reply) => {
            let headers: u64 = (reply.headers.iter().flatten())
                .map(|(name, value)| (name.len() + value.len() + 4) as u64)
                .sum();
            let body = reply.body.as_ref().map_or(0, |b| size(b, base_dir));
            body.saturating_add(headers).saturating_add(64)
        }
    }
}

/// The bytes of a payload; `file:` paths are relative to `base_dir`.
pub fn resolve(raw: RawPayload, base_dir: &Path) -> Result<Vec<u8>, PayloadProblem> {
    match raw {
        // Its templates filled in, a text can be longer than the file.
        RawPayload::Text(text) if text.len() as u64 > MAX_PAYLOAD => Err(PayloadProblem {
            field: "",
            message: format!(
                "filled in, this payload would be {} bytes; the most netlab builds is {MAX_PAYLOAD}",
                text.len()
            ),
            help: None,
        }),
        RawPayload::Text(text) => Ok(text.into_bytes()),
        RawPayload::Hex(bytes) => Ok(bytes),
        RawPayload::Repeat { text, times } => {
            let total = (text.len() as u64).saturating_mul(times);
            if text.is_empty() {
                Err(PayloadProblem {
                    field: "repeat",
                    message: "`repeat` needs at least one character".into(),
                    help: None,
                })
            } else if total > MAX_PAYLOAD {
                Err(PayloadProblem {
                    field: "times",
                    message: format!(
                        "this payload would be {total} bytes; the most netlab builds is {MAX_PAYLOAD}"
                    ),
                    help: None,
                })
            } else {
                Ok(text
                    .repeat(usize::try_from(times).unwrap_or(0))
                    .into_bytes())
            }
        }
        // `Checker::payload` makes frames and responses, where their context is known.
        RawPayload::Frame(_) | RawPayload::Http(_) => Err(PayloadProblem {
            field: "frame",
            message: "a frame is made where the framing is known: this is a bug in netlab".into(),
            help: None,
        }),
        RawPayload::File(file) => {
            let full = base_dir.join(&file);
            read_limited(&full).map_err(|reason| PayloadProblem {
                field: "file",
                message: format!("cannot read `{}`: {reason}", full.display()),
                help: Some("`file:` paths are relative to the scenario file"),
            })
        }
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_PAYLOAD {
        return Err(format!(
            "{} bytes is more than the {MAX_PAYLOAD} netlab loads",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| io_reason(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_builds_bulk_data_and_refuses_huge_payloads() {
        let raw = RawPayload::Repeat {
            text: "ab".into(),
            times: 3,
        };
        assert_eq!(resolve(raw, Path::new(".")), Ok(b"ababab".to_vec()));
        let huge = RawPayload::Repeat {
            text: "x".into(),
            times: MAX_PAYLOAD + 1,
        };
        assert!(resolve(huge, Path::new(".")).is_err_and(|p| p.field == "times"));
    }
}
