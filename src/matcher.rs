//! Matchers: what `expect`, `read_to_close` and a server rule's `match` compare received bytes
//! with. Pure functions over byte slices, used by execution; the stream form answers "matched,
//! need more, or can no longer match" so that a TCP `expect` fails as soon as it is hopeless.
//!
//! The stream form decides as if the whole stream had arrived, whatever cut it into recv()
//! results: a result is given before the stream is complete only when no byte that could still
//! come would change it. `equals`, `hex`, `bytes` and `contains` are final as soon as they match;
//! a regex match is final only once its automaton cannot extend or change it (`[A-Z]+` after
//! "OK" could still become "OKGO"), else the step waits for more bytes, the peer's close, or its
//! deadline, and then takes what matches what came.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use regex::bytes::Regex;

use std::borrow::Cow;

use crate::framing::{Cut, Scan};
use crate::http;
use regex_automata::Input;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::util::syntax;

/// A checked matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Exactly these bytes (`hex` tells how the file wrote them, for display).
    Equals {
        /// The bytes.
        bytes: Vec<u8>,
        /// Written as `{ hex: … }`.
        hex: bool,
    },
    /// These bytes somewhere.
    Contains(Vec<u8>),
    /// A regex over the bytes.
    Regex(StreamRegex),
    /// Any N bytes.
    Bytes(usize),
    /// Exactly one frame, whose body matches `body` as a whole.
    Frame {
        /// How frames are cut.
        frames: crate::framing::Frames,
        /// What the body must be.
        body: Box<Matcher>,
    },
    /// One HTTP/1.x message, read by its own framing, whose parts match.
    Http(Box<HttpMatch>),
    /// A matcher whose text uses values captured by earlier steps (`{token}`): built when its
    /// step runs (`Matcher::filled`); never matched as it is.
    Captured {
        /// Which matcher the text makes.
        kind: CapturedKind,
        /// The text, values in their places.
        template: crate::capture::Filled,
    },
}

/// How far a stream of received bytes is from satisfying a matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Satisfied by the first N bytes; they are consumed.
    Matched(usize),
    /// Not yet, but more bytes could satisfy it.
    NeedMore,
    /// The bytes received can no longer match, whatever follows.
    Hopeless,
}

/// A regex, with the lazy DFA that tells whether a match found in part of a stream is final.
#[derive(Debug, Clone)]
pub struct StreamRegex {
    regex: Regex,
    /// `None` if the DFA could not be built (then a match is final only once the stream is).
    dfa: Option<Arc<DFA>>,
}

impl StreamRegex {
    /// Wraps a compiled regex.
    pub fn new(regex: Regex) -> Self {
        let dfa = DFA::builder()
            .configure(DFA::config().unicode_word_boundary(true))
            .syntax(syntax::Config::new().utf8(false))
            .thompson(regex_automata::nfa::thompson::Config::new().utf8(false))
            .build(regex.as_str())
            .ok()
            .map(Arc::new);
        StreamRegex { regex, dfa }
    }

    /// The regex.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    fn progress(&self, received: &[u8], complete: bool) -> Progress {
        let found = self.regex.find(received).map(|m| m.end());
        if complete {
            return found.map_or(Progress::NeedMore, Progress::Matched);
        }
        match finality(self.dfa.as_deref(), received, found) {
            Final::Yes => found.map_or(Progress::Hopeless, Progress::Matched),
            Final::No => Progress::NeedMore,
        }
    }
}

/// Whether a regex's result on `received` is final.
enum Final {
    /// No byte that could follow would change it.
    Yes,
    /// Some could (or it cannot be told: waiting is never wrong).
    No,
}

/// The states one byte of class `byte` leads to from `state`, for a lookahead. For a byte the DFA
/// gives up on (non-ASCII, in a regex with a Unicode `\b`, which the lazy DFA decides as ASCII),
/// those an ASCII word byte and a non-word one lead to: what a `\b` can tell of any character.
fn next_states(
    dfa: &DFA,
    cache: &mut Cache,
    state: LazyStateID,
    byte: u8,
) -> Result<Vec<LazyStateID>, ()> {
    let next = dfa.next_state(cache, state, byte).map_err(|_| ())?;
    if !next.is_quit() {
        return Ok(vec![next]);
    }
    [b'a', b' ']
        .into_iter()
        .map(|stand_in| dfa.next_state(cache, state, stand_in).map_err(|_| ()))
        .collect()
}

/// Most DFA states looked at to tell whether a match could still be extended; past it, the
/// answer is "it could" (the step then waits, which is never wrong).
const FINALITY_STATES: usize = 4096;

/// Whether the leftmost-first match `found` (its end) of the regex `dfa` on `received` could
/// change with more bytes. The DFA is run over `received`: a dead state means nothing can change;
/// otherwise the states it can still reach tell whether a match could end later than `found`,
/// or whether a match ending exactly at the end of what came depends on what comes next (`$`,
/// `\b`, a longer alternative).
fn finality(dfa: Option<&DFA>, received: &[u8], found: Option<usize>) -> Final {
    let Some(dfa) = dfa else {
        return Final::No;
    };
    // Nothing matched yet: more bytes could still make a match (and a scan here, on every
    // recv() of a long stream, would make waiting for a match quadratic).
    let Some(end) = found else {
        return Final::No;
    };
    let mut cache = dfa.create_cache();
    let Ok(mut state) = dfa.start_state_forward(&mut cache, &Input::new(received)) else {
        return Final::No;
    };
    for &byte in received {
        state = match dfa.next_state(&mut cache, state, byte) {
            Ok(next) => next,
            Err(_) => return Final::No,
        };
        if state.is_dead() {
            return Final::Yes;
        }
        if state.is_quit() {
            return Final::No;
        }
    }
    let clears = cache.clear_count();
    let verdict = if end == received.len() {
        // The match ends where the bytes end: final only if every next byte confirms it there
        // (a match state, delayed by one byte) and nothing after it could match again.
        confirmed_at_end(dfa, &mut cache, state)
    } else {
        // A match ended before the end: final only if no later match end can be reached.
        if can_reach_a_match(dfa, &mut cache, vec![state]) {
            Final::No
        } else {
            Final::Yes
        }
    };
    // The lazy DFA may have thrown its states away meanwhile: then the ids above are stale.
    if cache.clear_count() != clears {
        return Final::No;
    }
    verdict
}

/// For a match ending at the end of the bytes (state `state` after them): every next byte must
/// lead to a match state (the match stands whatever comes), and none of those may lead on to
/// another match.
fn confirmed_at_end(dfa: &DFA, cache: &mut Cache, state: LazyStateID) -> Final {
    let mut matches = Vec::new();
    for unit in dfa.byte_classes().representatives(..) {
        let Some(class_byte) = unit.as_u8() else {
            continue;
        };
        let Ok(nexts) = next_states(dfa, cache, state, class_byte) else {
            return Final::No;
        };
        for next in nexts {
            if !next.is_match() {
                return Final::No;
            }
            matches.push(next);
        }
    }
    if can_reach_a_match(dfa, cache, matches) {
        Final::No
    } else {
        Final::Yes
    }
}

/// Whether a match could end later than what `starts` already stand for: the DFA marks a match
/// one byte late (a state reached after byte `i` is a match state when a match ended before that
/// byte), so from a start state only the end of input counts (a match ending right there), and
/// from every state reached by one byte or more, a match state or the end of input.
fn can_reach_a_match(dfa: &DFA, cache: &mut Cache, starts: Vec<LazyStateID>) -> bool {
    let mut seen: HashSet<LazyStateID> = HashSet::new();
    let mut queue: VecDeque<(LazyStateID, bool)> = starts.into_iter().map(|s| (s, true)).collect();
    while let Some((state, is_start)) = queue.pop_front() {
        if !is_start && state.is_match() {
            return true;
        }
        match dfa.next_eoi_state(cache, state) {
            Ok(eoi) if eoi.is_match() => return true,
            Ok(_) => {}
            Err(_) => return true,
        }
        if !seen.insert(state) {
            continue;
        }
        if seen.len() > FINALITY_STATES {
            return true;
        }
        for unit in dfa.byte_classes().representatives(..) {
            let Some(class_byte) = unit.as_u8() else {
                continue;
            };
            let Ok(nexts) = next_states(dfa, cache, state, class_byte) else {
                return true;
            };
            for next in nexts {
                if next.is_quit() {
                    return true;
                }
                if !next.is_dead() {
                    queue.push_back((next, false));
                }
            }
        }
    }
    false
}

/// What an `http` matcher asks of one message.
#[derive(Debug, Clone)]
pub struct HttpMatch {
    /// A request (a server's `match`), else a response (a client's `expect`).
    pub request: bool,
    /// The response's status code.
    pub status: Option<u16>,
    /// The request's method.
    pub method: Option<String>,
    /// The request's target.
    pub path: Option<Matcher>,
    /// Header fields by name (any case): some value of each matches.
    pub headers: Vec<(String, Matcher)>,
    /// The whole body, its chunked coding undone.
    pub body: Option<Matcher>,
    /// The response answers a HEAD request: a head only, whatever its Content-Length says.
    pub no_body: bool,
}

impl HttpMatch {
    /// The message at the start of `received` (`closed`: no more bytes will come).
    fn cut(&self, received: &[u8], closed: bool) -> http::Cut {
        self.cut_resuming(received, closed, &mut Scan::default())
    }

    /// `cut`, resuming what `scan` found in an earlier look at the same start.
    fn cut_resuming(&self, received: &[u8], closed: bool, scan: &mut Scan) -> http::Cut {
        let kind = if self.request {
            http::Kind::Request
        } else if self.no_body {
            http::Kind::ResponseToHead
        } else {
            http::Kind::Response
        };
        http::cut(received, closed, kind, scan)
    }

    /// Why `head` and `body` are not what this asks, if they are not.
    fn unmet(&self, head: &http::Head, body: &[u8]) -> Option<String> {
        if let Some(status) = self.status
            && head.status != status
        {
            return Some(format!("the status is {}, not {status}", head.status));
        }
        if let Some(method) = &self.method
            // Methods are case-sensitive (RFC 9110 section 9.1).
            && head.method != *method
        {
            return Some(format!("the method is {}, not {method}", head.method));
        }
        if let Some(path) = &self.path
            && !path.matches_whole(head.path.as_bytes())
        {
            return Some(format!(
                "the path {} does not match",
                crate::escape::show(head.path.as_bytes())
            ));
        }
        for (name, matcher) in &self.headers {
            let mut values = head.values(name).peekable();
            if values.peek().is_none() {
                return Some(format!("there is no `{name}` header"));
            }
            if !values.any(|value| matcher.matches_whole(value)) {
                let value = head.values(name).next().unwrap_or_default();
                return Some(format!(
                    "the `{name}` header is {}, which does not match",
                    crate::escape::show(value)
                ));
            }
        }
        if let Some(matcher) = &self.body
            && !matcher.matches_whole(body)
        {
            return Some(format!("the body ({} bytes) does not match", body.len()));
        }
        None
    }

    /// When what came is a whole response head that announces a body, and no body came: the
    /// words that say so (a response to HEAD has no body; `no_body: true` reads one).
    pub fn awaited_body(&self, received: &[u8]) -> Option<String> {
        if self.request || self.no_body {
            return None;
        }
        let head_only = http::cut(
            received,
            false,
            http::Kind::ResponseToHead,
            &mut Scan::default(),
        );
        let http::Cut::Whole { head, end, .. } = head_only else {
            return None;
        };
        let length = http::content_length(&head).ok()??;
        (end == received.len() && length > 0).then(|| {
            format!(
                "the head says {length} bytes of body, and none came: a response to a HEAD request has none (write `no_body: true`)"
            )
        })
    }

    /// Why what was received is not a message this accepts (`closed`: no more will come;
    /// `whole`: it must be all of `received`, as for `read_to_close`); `None` when it is, or
    /// may yet be.
    pub fn explain(&self, received: &[u8], closed: bool, whole: bool) -> Option<String> {
        match self.cut(received, closed) {
            http::Cut::NeedMore => None,
            http::Cut::Bad(why) => Some(why),
            http::Cut::Whole { head, body, end } => self.unmet(&head, &body).or_else(|| {
                (whole && end < received.len()).then(|| {
                    format!(
                        "{} more bytes came after the response's end",
                        received.len() - end
                    )
                })
            }),
        }
    }
}

/// The matchers a text with captured values can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapturedKind {
    /// `equals` (a plain string).
    Equals,
    /// `contains`.
    Contains,
    /// `regex`: each value matches itself byte for byte.
    Regex,
}

/// Most memory a compiled regex may take (the regex crate's default is 10 MiB), at load time and
/// when a captured value is filled in: past it, one search can take longer than a step may wait.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Matcher {
    /// This matcher with `values` filled in (`None`: it uses none); a regex that no longer
    /// compiles (over the size limit with a long value) says why.
    pub fn filled(&self, values: &crate::capture::Values) -> Result<Option<Matcher>, String> {
        let (kind, template) = match self {
            Matcher::Captured { kind, template } => (kind, template),
            Matcher::Frame { frames, body } => {
                return Ok(body.filled(values)?.map(|body| Matcher::Frame {
                    frames: frames.clone(),
                    body: Box::new(body),
                }));
            }
            _ => return Ok(None),
        };
        let regex = *kind == CapturedKind::Regex;
        template.within_cap(values)?;
        // An escaped byte takes up to 11 characters: a value this long could not compile within
        // the size limit anyway, and escaping it would take that much memory first.
        if regex && template.values_len(values) > REGEX_SIZE_LIMIT / 4 {
            return Err(format!(
                "the captured values are too long to match in a regex (over {} bytes): match them with `equals` or `contains`",
                REGEX_SIZE_LIMIT / 4
            ));
        }
        let bytes = template.fill(values, regex);
        Ok(Some(match kind {
            CapturedKind::Equals => Matcher::Equals { bytes, hex: false },
            CapturedKind::Contains => Matcher::Contains(bytes),
            CapturedKind::Regex => {
                let pattern = String::from_utf8_lossy(&bytes);
                let regex = regex::bytes::RegexBuilder::new(&pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("the regex filled with captured values: {e}"))?;
                Matcher::Regex(StreamRegex::new(regex))
            }
        }))
    }

    /// Whether `received` starts a frame announced longer than `cap` bytes (a frame matcher's
    /// step fails at once rather than wait for bytes it could not take).
    pub fn announces_over(&self, received: &[u8], cap: usize, scan: &mut Scan) -> bool {
        matches!(self, Matcher::Frame { frames, .. }
            if matches!(frames.cut_resuming(received, cap, scan), Cut::TooLarge(_)))
    }

    /// The text with captured values it is made of, if it uses any (inside a `frame` too).
    pub fn captured_template(&self) -> Option<&crate::capture::Filled> {
        match self {
            Matcher::Captured { template, .. } => Some(template),
            Matcher::Frame { body, .. } => body.captured_template(),
            _ => None,
        }
    }

    /// Whether only the peer's close completes what it reads (an HTTP message whose body ends at
    /// the close): the deadline does not, nor the cap.
    pub fn completed_by_the_close(&self) -> bool {
        matches!(self, Matcher::Http(_))
    }

    /// Whether each look searches all the bytes again (a regex: its match may start anywhere,
    /// and no state carries from one look to the next), rather than only the new ones.
    pub fn searches_again(&self) -> bool {
        matches!(self, Matcher::Regex(_))
    }

    /// Whether what it matches is exactly what it says (`equals`, `hex`; a frame of one; one
    /// that uses captured values as `equals`): the transcript then shows the step, not the bytes.
    pub fn is_exact(&self) -> bool {
        match self {
            Matcher::Equals { .. } => true,
            Matcher::Frame { body, .. } => body.is_exact(),
            Matcher::Captured { kind, .. } => *kind == CapturedKind::Equals,
            Matcher::Contains(_) | Matcher::Regex(_) | Matcher::Bytes(_) | Matcher::Http(_) => {
                false
            }
        }
    }

    /// The names of the named groups of its regexes (inside `frame` and `http` too), added to
    /// `names` once each.
    pub fn named_groups(&self, names: &mut Vec<String>) {
        let mut add = |regex: &Regex| {
            for name in regex.capture_names().flatten() {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        };
        match self {
            Matcher::Regex(regex) => add(regex.regex()),
            Matcher::Frame { body, .. } => body.named_groups(names),
            Matcher::Http(http) => {
                for part in (http.path.iter())
                    .chain(http.headers.iter().map(|(_, m)| m))
                    .chain(http.body.iter())
                {
                    part.named_groups(names);
                }
            }
            Matcher::Equals { .. }
            | Matcher::Contains(_)
            | Matcher::Bytes(_)
            | Matcher::Captured { .. } => {}
        }
    }

    /// Keeps in `values` (by slot of `names`) the named groups its regexes matched in `message`
    /// (a request's path, header values and body for `http`; a frame's body).
    pub fn remember_groups(
        &self,
        message: &[u8],
        names: &[String],
        values: &mut [Option<Vec<u8>>],
    ) {
        match self {
            Matcher::Regex(regex) => {
                let searched = &message[..message.len().min(crate::capture::CAPTURE_SEARCH)];
                let Some(found) = regex.regex().captures(searched) else {
                    return;
                };
                let own: Vec<&str> = regex.regex().capture_names().flatten().collect();
                for (slot, name) in names.iter().enumerate() {
                    // A group of this regex that took no part in the match is empty now.
                    if own.contains(&name.as_str())
                        && let Some(value) = values.get_mut(slot)
                    {
                        *value = found.name(name).map(|g| g.as_bytes().to_vec());
                    }
                }
            }
            Matcher::Frame { frames, body } => {
                if let Cut::Frame { body: at, .. } = frames.cut(message, usize::MAX) {
                    body.remember_groups(&message[at], names, values);
                }
            }
            Matcher::Http(http) => {
                let http::Cut::Whole { head, body, .. } = http.cut(message, true) else {
                    return;
                };
                if let Some(path) = &http.path {
                    path.remember_groups(head.path.as_bytes(), names, values);
                }
                for (name, matcher) in &http.headers {
                    if let Some(value) = head.values(name).find(|v| matcher.matches_whole(v)) {
                        matcher.remember_groups(value, names, values);
                    }
                }
                if let Some(matcher) = &http.body {
                    matcher.remember_groups(&body, names, values);
                }
            }
            Matcher::Equals { .. }
            | Matcher::Contains(_)
            | Matcher::Bytes(_)
            | Matcher::Captured { .. } => {}
        }
    }

    /// Where captures look in the bytes this matcher matched: a frame's body, an HTTP
    /// message's body with its chunked coding undone, else all of them; and where that part
    /// starts in them (`None`: decoded, it is not a range of them).
    pub fn captured_part<'b>(&self, matched: &'b [u8]) -> (Option<usize>, Cow<'b, [u8]>) {
        match self {
            Matcher::Frame { frames, .. } => {
                if let Cut::Frame { body, .. } = frames.cut(matched, usize::MAX) {
                    return (Some(body.start), Cow::Borrowed(&matched[body]));
                }
            }
            Matcher::Http(http) => {
                if let http::Cut::Whole { body, end, .. } = http.cut(matched, true) {
                    // A body by Content-Length (or the close) lies as it is before the end.
                    let start = end.saturating_sub(body.len());
                    if matched.get(start..end) == Some(&body[..]) {
                        return (Some(start), Cow::Borrowed(&matched[start..end]));
                    }
                    return (None, Cow::Owned(body));
                }
            }
            _ => {}
        }
        (Some(0), Cow::Borrowed(matched))
    }

    /// Checks the unconsumed start of a stream. `equals`, `hex` and `bytes` consume exactly their
    /// length; `contains` and `regex` consume up to the end of the first match. `complete`: no
    /// more bytes will come (the peer closed, or the step's deadline passed), so what matches now
    /// is the answer; otherwise an answer is given only when more bytes could not change it.
    /// (`NeedMore` when `complete` says that more bytes would have been needed: the caller tells
    /// a close or a timeout from a mismatch by it.)
    pub fn progress(&self, received: &[u8], complete: bool) -> Progress {
        self.progress_resuming(received, complete, &mut Scan::default())
    }

    /// `progress`, resuming what `scan` found in an earlier look at the same start (a fresh
    /// `Scan` for each step): the matchers that search for an end search only new bytes.
    pub fn progress_resuming(&self, received: &[u8], complete: bool, scan: &mut Scan) -> Progress {
        match self {
            Matcher::Equals { bytes, .. } => {
                let common = bytes.len().min(received.len());
                if bytes[..common] != received[..common] {
                    Progress::Hopeless
                } else if received.len() >= bytes.len() {
                    Progress::Matched(bytes.len())
                } else {
                    Progress::NeedMore
                }
            }
            Matcher::Contains(needle) => scan
                .find(received, needle)
                .map_or(Progress::NeedMore, |at| {
                    Progress::Matched(at + needle.len())
                }),
            Matcher::Regex(regex) => regex.progress(received, complete),
            Matcher::Bytes(n) => {
                if received.len() >= *n {
                    Progress::Matched(*n)
                } else {
                    Progress::NeedMore
                }
            }
            Matcher::Http(http) => match http.cut_resuming(received, complete, scan) {
                http::Cut::NeedMore => Progress::NeedMore,
                http::Cut::Bad(_) => Progress::Hopeless,
                http::Cut::Whole { head, body, end } => match http.unmet(&head, &body) {
                    None => Progress::Matched(end),
                    Some(_) => Progress::Hopeless,
                },
            },
            Matcher::Frame { frames, body } => {
                match frames.cut_resuming(received, usize::MAX, scan) {
                    Cut::NeedMore => Progress::NeedMore,
                    Cut::Frame { body: at, end } => {
                        if body.matches_whole(&received[at]) {
                            Progress::Matched(end)
                        } else {
                            Progress::Hopeless
                        }
                    }
                    Cut::Bad(_) | Cut::TooLarge(_) => Progress::Hopeless,
                }
            }
            // Filled before its step runs (`Matcher::filled`).
            Matcher::Captured { .. } => Progress::Hopeless,
        }
    }

    /// Checks a complete message (a server rule's input, or everything `read_to_close` got).
    pub fn matches_whole(&self, message: &[u8]) -> bool {
        match self {
            Matcher::Equals { bytes, .. } => bytes == message,
            Matcher::Contains(needle) => find(message, needle).is_some(),
            Matcher::Regex(regex) => regex.regex.is_match(message),
            Matcher::Bytes(n) => message.len() == *n,
            Matcher::Http(http) => match http.cut(message, true) {
                http::Cut::Whole { head, body, end } => {
                    end == message.len() && http.unmet(&head, &body).is_none()
                }
                http::Cut::NeedMore | http::Cut::Bad(_) => false,
            },
            Matcher::Frame { frames, body } => match frames.cut(message, usize::MAX) {
                Cut::Frame { body: at, end } => {
                    end == message.len() && body.matches_whole(&message[at])
                }
                Cut::NeedMore | Cut::Bad(_) | Cut::TooLarge(_) => false,
            },
            Matcher::Captured { .. } => false,
        }
    }

    /// The bytes this matcher expects exactly, if it is an exact matcher (for diffs).
    pub fn exact_bytes(&self) -> Option<&[u8]> {
        match self {
            Matcher::Equals { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
}

/// Where `needle` first occurs in `haystack` (vectorized substring search).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equals(text: &str) -> Matcher {
        Matcher::Equals {
            bytes: text.as_bytes().to_vec(),
            hex: false,
        }
    }

    #[test]
    fn equals_needs_more_then_matches_and_leaves_the_rest() {
        let m = equals("Welcome!");
        assert_eq!(m.progress(b"Wel", false), Progress::NeedMore);
        assert_eq!(m.progress(b"Welcome!Hello", false), Progress::Matched(8));
    }

    #[test]
    fn equals_gives_up_at_the_first_wrong_byte() {
        assert_eq!(
            equals("Welcome!").progress(b"Wx", false),
            Progress::Hopeless
        );
    }

    #[test]
    fn contains_and_regex_consume_through_the_match() {
        assert_eq!(
            Matcher::Contains(b"lo".to_vec()).progress(b"hello!", false),
            Progress::Matched(5)
        );
        let regex = Regex::new(r"\d+").map(|r| Matcher::Regex(StreamRegex::new(r)));
        assert!(regex.is_ok_and(|m| m.progress(b"ab12;", false) == Progress::Matched(4)));
    }

    #[test]
    fn progress_is_the_same_however_the_stream_is_cut() {
        let m = equals("Hello, Michael!");
        let stream = b"Hello, Michael!";
        for cut in 0..stream.len() {
            let first = m.progress(&stream[..cut], false);
            assert_eq!(first, Progress::NeedMore, "cut at {cut}");
        }
        assert_eq!(m.progress(stream, false), Progress::Matched(stream.len()));
    }

    fn regex(pattern: &str) -> Matcher {
        match Regex::new(pattern) {
            Ok(r) => Matcher::Regex(StreamRegex::new(r)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_regex_match_that_more_bytes_could_extend_waits() {
        // "OK" could still become "OKGO": not final until something else comes.
        assert_eq!(regex("[A-Z]+").progress(b"OK", false), Progress::NeedMore);
        assert_eq!(
            regex("[A-Z]+").progress(b"OK;", false),
            Progress::Matched(2)
        );
        assert_eq!(regex("[A-Z]+").progress(b"OK", true), Progress::Matched(2));
        assert_eq!(regex(r"\d+").progress(b"12", false), Progress::NeedMore);
        assert_eq!(regex("a.*b").progress(b"xab", false), Progress::NeedMore);
        assert_eq!(regex("a.*b").progress(b"xab", true), Progress::Matched(3));
        assert_eq!(regex("a.*b").progress(b"xa", true), Progress::NeedMore);
    }

    #[test]
    fn a_regex_match_nothing_could_change_is_final_at_once() {
        assert_eq!(
            regex(r"\(\d+\)").progress(b"ok (200)", false),
            Progress::Matched(8)
        );
        assert_eq!(
            regex("^GET").progress(b"GET /", false),
            Progress::Matched(3)
        );
        assert_eq!(regex("ab|a").progress(b"xab", false), Progress::Matched(3));
        // `$` at the end of what came is not the end of the stream.
        assert_eq!(regex(r"\d+$").progress(b"12", false), Progress::NeedMore);
        // An anchored regex that cannot match is judged once the stream is complete.
        assert_eq!(regex("^GET").progress(b"POST", true), Progress::NeedMore);
    }

    #[test]
    fn whole_message_matching() {
        assert!(equals("exit").matches_whole(b"exit"));
        assert!(!equals("exit").matches_whole(b"exit\n"));
        assert!(Matcher::Bytes(3).matches_whole(b"abc"));
        assert!(Matcher::Contains(b"x".to_vec()).matches_whole(b"axb"));
    }
}
