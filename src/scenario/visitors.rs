//! The hand-written deserializers of the raw scenario types that YAML writes as "a string or a
//! map" (durations, payloads, matchers, steps). Each value is checked as it is read (a duration
//! parses, hex decodes, a regex compiles), so serde_yaml reports a mistake at its line and column.
//! Never `#[serde(untagged)]`: its errors say nothing useful.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::raw::{
    RawAction, RawClientTls, RawClientTlsSetting, RawDelimiter, RawDuration, RawFraming,
    RawMatcher, RawPayload, RawPoints, RawRedact, RawSize, RawStatus, RawStep, STEP_KEYS,
};

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as `250ms`, `1s` or `2m`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDuration, E> {
                parse_duration(text).map(RawDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawDuration, E> {
                Err(E::custom(format!(
                    "`{n}` has no unit: write `{n}s` or `{n}ms`"
                )))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawDuration, E> {
                Err(E::custom(format!(
                    "`{n}` is not a duration: write a unit, such as `1s`"
                )))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<RawDuration, E> {
                Err(E::custom(format!(
                    "`{n}` has no unit: write `{n}s` or `{n}ms`"
                )))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// The longest duration a file may give anywhere (a Julian year, as humantime's `1y`): every
/// timeout, delay, pause and wait of the format is read by [`parse_duration`], so none is longer.
/// Scaled by at most `--time-scale 1000`, it stays far below what an `Instant` can hold.
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

/// Parses `250ms`, `1s`, `1.5s`, `2m`, `1h`: humantime syntax, plus decimal fractions; at most
/// [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: write one such as `1s` or `250ms`".into());
    }
    if trimmed.parse::<f64>().is_ok() {
        return Err(format!(
            "`{trimmed}` has no unit: write `{trimmed}s` or `{trimmed}ms`"
        ));
    }
    let too_long = || format!("a duration is at most 1 year (got `{trimmed}`)");
    let duration = match decimal_seconds(trimmed) {
        Some(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| too_long())?,
        None => humantime::parse_duration(trimmed).map_err(|e| match e {
            // Without a fraction, an overflow is a number too large (with one, it may be a
            // fraction of a nanosecond: humantime's own message says so).
            humantime::DurationError::NumberOverflow if !trimmed.contains('.') => too_long(),
            other => format!(
                "`{trimmed}` is not a duration ({other}): write one such as `1s`, `1.5s` or `250ms`"
            ),
        })?,
    };
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

/// `1.5s`, `0.25m`: a decimal number followed by one unit (humantime takes integers only), in
/// seconds.
fn decimal_seconds(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    if !number.contains('.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(value / 1000.0),
        "s" | "sec" => Some(value),
        "m" | "min" => Some(value * 60.0),
        "h" => Some(value * 3600.0),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for RawRedact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RedactVisitor;
        impl<'de> Visitor<'de> for RedactVisitor {
            type Value = RawRedact;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of names to regexes, such as `session: \"sid=[0-9a-f]+\"`")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawRedact, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(RawRedact(entries))
            }
        }
        deserializer.deserialize_map(RedactVisitor)
    }
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes, or a string such as `64KiB` or `16MiB`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawSize, E> {
                Ok(RawSize(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawSize, E> {
                u64::try_from(n)
                    .map(RawSize)
                    .map_err(|_| E::custom(format!("`{n}` is not a size: it cannot be negative")))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawSize, E> {
                parse_size(text).map(RawSize).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Parses `1048576`, `64KiB`, `16MiB`, `1GiB`, `10KB`, `5MB`, `1GB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let bad =
        || format!("`{trimmed}` is not a size: write bytes, or a unit such as `64KiB` or `16MiB`");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    number.checked_mul(factor).ok_or_else(bad)
}

impl<'de> Deserialize<'de> for RawPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = RawPayload;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or a map with `hex`, `repeat` + `times` or `file`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawPayload, E> {
                Ok(RawPayload::Text(text.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPayload, A::Error> {
                const FIELDS: &[&str] = &["hex", "repeat", "times", "file", "frame", "http"];
                let (mut hex, mut repeat, mut times, mut file) = (None, None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "frame"
                            if (hex.is_none() && repeat.is_none())
                                && (times.is_none() && file.is_none()) =>
                        {
                            let inner = map.next_value::<RawPayload>()?;
                            if let Some(extra) = map.next_key::<String>()? {
                                return Err(de::Error::custom(format!(
                                    "`frame` wraps one payload: put `{extra}` inside it"
                                )));
                            }
                            return Ok(RawPayload::Frame(Box::new(inner)));
                        }
                        "frame" => {
                            return Err(de::Error::custom(
                                "`frame` wraps one payload: put the rest inside it",
                            ));
                        }
                        "http"
                            if (hex.is_none() && repeat.is_none())
                                && (times.is_none() && file.is_none()) =>
                        {
                            let reply = map.next_value()?;
                            if let Some(extra) = map.next_key::<String>()? {
                                return Err(de::Error::custom(format!(
                                    "`http` is the whole reply: put `{extra}` inside it"
                                )));
                            }
                            return Ok(RawPayload::Http(Box::new(reply)));
                        }
                        "hex" => {
                            hex = Some(
                                parse_hex(&map.next_value::<String>()?)
                                    .map_err(de::Error::custom)?,
                            )
                        }
                        "repeat" => repeat = Some(map.next_value::<String>()?),
                        "times" => times = Some(map.next_value::<u64>()?),
                        "file" => file = Some(map.next_value::<String>()?),
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    }
                }
                match (hex, repeat, times, file) {
                    (Some(bytes), None, None, None) => Ok(RawPayload::Hex(bytes)),
                    (None, Some(text), Some(times), None) => Ok(RawPayload::Repeat { text, times }),
                    (None, Some(_), None, None) => Err(de::Error::missing_field("times")),
                    (None, None, Some(_), None) => Err(de::Error::missing_field("repeat")),
                    (None, None, None, Some(path)) => Ok(RawPayload::File(path)),
                    (None, None, None, None) => Err(de::Error::custom(
                        "empty payload map: give `hex`, `repeat` + `times` or `file`",
                    )),
                    _ => Err(de::Error::custom(
                        "a payload takes one of `hex`, `repeat` + `times` or `file`, not several",
                    )),
                }
            }
        }
        deserializer.deserialize_any(PayloadVisitor)
    }
}

impl<'de> Deserialize<'de> for RawDelimiter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DelimiterVisitor;
        impl<'de> Visitor<'de> for DelimiterVisitor {
            type Value = RawDelimiter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string (`\"\\r\\n\"`) or `{ hex: \"00\" }`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawDelimiter, E> {
                Ok(RawDelimiter(text.as_bytes().to_vec()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDelimiter, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("a delimiter map takes `hex`"));
                };
                if key != "hex" {
                    return Err(de::Error::unknown_field(&key, &["hex"]));
                }
                let text = map.next_value::<String>()?;
                if let Some(other) = map.next_key::<String>()? {
                    return Err(de::Error::unknown_field(&other, &[]));
                }
                parse_hex(&text)
                    .map(RawDelimiter)
                    .map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(DelimiterVisitor)
    }
}

/// Decodes `"de ad be ef"` (whitespace ignored) into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if let Some(bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!("`{}` is not a hex digit", char::from(*bad)));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!(
            "odd number of hex digits ({}): each byte takes two",
            digits.len()
        ));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| (hex_value(pair[0]) << 4) | hex_value(pair[1]))
        .collect())
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

impl<'de> Deserialize<'de> for RawClientTlsSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SettingVisitor;
        impl<'de> Visitor<'de> for SettingVisitor {
            type Value = RawClientTlsSetting;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`true`, `false`, or a map of `ca`, `sni`, `alpn`, `client_cert`, `client_key`, `insecure`, `versions`")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<RawClientTlsSetting, E> {
                Ok(match on {
                    true => RawClientTlsSetting::On(RawClientTls::default()),
                    false => RawClientTlsSetting::Off,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawClientTlsSetting, A::Error> {
                let settings =
                    RawClientTls::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawClientTlsSetting::On(settings))
            }
        }
        deserializer.deserialize_any(SettingVisitor)
    }
}

impl<'de> Deserialize<'de> for RawMatcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MatcherVisitor;
        impl<'de> Visitor<'de> for MatcherVisitor {
            type Value = RawMatcher;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a string, or a map with one of `equals`, `contains`, `regex`, `hex`, `bytes`",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawMatcher, E> {
                Ok(RawMatcher::Equals(text.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMatcher, A::Error> {
                const FIELDS: &[&str] = &[
                    "equals", "contains", "regex", "hex", "bytes", "frame", "http",
                ];
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "empty matcher: give one of `equals`, `contains`, `regex`, `hex`, `bytes`",
                    ));
                };
                let matcher = match key.as_str() {
                    "equals" => RawMatcher::Equals(map.next_value::<String>()?),
                    "contains" => RawMatcher::Contains(map.next_value::<String>()?),
                    "regex" => RawMatcher::Regex(map.next_value::<String>()?),
                    "hex" => RawMatcher::Hex(
                        parse_hex(&map.next_value::<String>()?).map_err(de::Error::custom)?,
                    ),
                    "bytes" => RawMatcher::Bytes(map.next_value::<usize>()?),
                    "frame" => RawMatcher::Frame(Box::new(map.next_value::<RawMatcher>()?)),
                    "http" => RawMatcher::Http(Box::new(map.next_value()?)),
                    other => return Err(de::Error::unknown_field(other, FIELDS)),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a matcher takes one key, found `{key}` and `{extra}`"
                    )));
                }
                Ok(matcher)
            }
        }
        deserializer.deserialize_any(MatcherVisitor)
    }
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a step map such as `send: \"hi\"` or `expect: \"Welcome!\"`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawStep, E> {
                Err(E::custom(format!(
                    "a step is a map such as `{text}: …`, not the bare string `{text}`"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStep, A::Error> {
                let mut found: Option<(&'static str, RawAction)> = None;
                let mut timeout = None;
                let mut hint = None;
                let mut capture = None;
                let mut points = None;
                let mut hidden = None;
                while let Some(key) = map.next_key::<String>()? {
                    let Some(&name) = STEP_KEYS.iter().find(|k| **k == key) else {
                        return Err(de::Error::unknown_field(&key, STEP_KEYS));
                    };
                    if name == "timeout" {
                        timeout = Some(map.next_value::<RawDuration>()?);
                        continue;
                    }
                    if name == "hint" {
                        hint = Some(map.next_value::<String>()?);
                        continue;
                    }
                    if name == "capture" {
                        capture = Some(map.next_value()?);
                        continue;
                    }
                    if name == "points" {
                        points = Some(map.next_value::<RawPoints>()?.0);
                        continue;
                    }
                    if name == "hidden" {
                        hidden = Some(map.next_value::<bool>()?);
                        continue;
                    }
                    if let Some((first, _)) = &found {
                        return Err(de::Error::custom(format!(
                            "a step does one thing: found both `{first}` and `{name}` (make them two steps)"
                        )));
                    }
                    let action = match name {
                        "send" => RawAction::Send(map.next_value()?),
                        "expect" => RawAction::Expect(map.next_value()?),
                        "expect_close" => RawAction::ExpectClose(map.next_value()?),
                        "expect_reset" => RawAction::ExpectReset(map.next_value()?),
                        "read_to_close" => RawAction::ReadToClose(map.next_value()?),
                        "expect_nothing" => RawAction::ExpectNothing(map.next_value()?),
                        "sleep" => RawAction::Sleep(map.next_value()?),
                        "shutdown" => RawAction::Shutdown(map.next_value()?),
                        "starttls" => RawAction::StartTls(map.next_value()?),
                        "expect_tls_error" => RawAction::ExpectTlsError(map.next_value()?),
                        "repeat" => RawAction::Repeat(map.next_value()?),
                        _ => RawAction::Close(map.next_value()?),
                    };
                    found = Some((name, action));
                }
                let Some((key, action)) = found else {
                    return Err(de::Error::custom(
                        "a step needs one action: `send`, `expect`, `expect_close`, `read_to_close`, `expect_nothing`, `sleep`, `shutdown`, `close`, `starttls`, `expect_tls_error` or `repeat`",
                    ));
                };
                Ok(RawStep {
                    action,
                    key,
                    timeout,
                    hint,
                    capture,
                    points,
                    hidden,
                })
            }
        }
        deserializer.deserialize_any(StepVisitor)
    }
}

impl<'de> Deserialize<'de> for RawFraming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FramingVisitor;
        impl<'de> Visitor<'de> for FramingVisitor {
            type Value = RawFraming;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`chunk`, `line`, `{ length: u16be }` or `{ delimiter: \"…\" }`")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawFraming, E> {
                match text {
                    "chunk" => Ok(RawFraming::Chunk),
                    "line" => Ok(RawFraming::Line),
                    "http" => Ok(RawFraming::Http),
                    other => Err(E::unknown_variant(other, &["chunk", "line", "http"])),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFraming, A::Error> {
                const FIELDS: &[&str] =
                    &["length", "offset", "adjust", "include_header", "delimiter"];
                let (mut length, mut offset, mut adjust, mut include_header, mut delimiter) =
                    (None, None, None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "length" => length = Some(map.next_value::<String>()?),
                        "offset" => {
                            let n = map.next_value_seed(WholeNumber(OFFSET_TAKES))?;
                            offset = Some(u64::try_from(n).map_err(|_| {
                                let why = if n < 0 { "negative" } else { "too large" };
                                de::Error::custom(format!(
                                    "`{n}` cannot be an offset ({why}): {OFFSET_TAKES}"
                                ))
                            })?);
                        }
                        "adjust" => {
                            let n = map.next_value_seed(WholeNumber(ADJUST_TAKES))?;
                            adjust = Some(i64::try_from(n).map_err(|_| {
                                de::Error::custom(format!("`{n}` is too large for `adjust`: it is a whole number of bytes added to the length's value"))
                            })?);
                        }
                        "include_header" => include_header = Some(map.next_value::<bool>()?),
                        "delimiter" => delimiter = Some(map.next_value::<RawDelimiter>()?),
                        other => return Err(de::Error::unknown_field(other, FIELDS)),
                    }
                }
                match (length, delimiter) {
                    (Some(length), None) => Ok(RawFraming::Length {
                        length,
                        offset,
                        adjust,
                        include_header,
                    }),
                    (None, Some(delimiter))
                        if offset.is_none() && adjust.is_none() && include_header.is_none() =>
                    {
                        Ok(RawFraming::Delimiter(delimiter))
                    }
                    (None, Some(_)) => Err(de::Error::custom(
                        "`offset`, `adjust` and `include_header` go with `length`, not `delimiter`",
                    )),
                    (Some(_), Some(_)) => Err(de::Error::custom(
                        "a framing takes `length` or `delimiter`, not both",
                    )),
                    (None, None) => Err(de::Error::custom(
                        "a framing map takes `length` (with `offset`, `adjust`, `include_header`) or `delimiter`",
                    )),
                }
            }
        }
        deserializer.deserialize_any(FramingVisitor)
    }
}

/// What a framing's `offset` takes, said with every mistake in it.
const OFFSET_TAKES: &str =
    "`offset` is how many bytes come before the length field, such as `offset: 2`";

/// What a framing's `adjust` takes, said with every mistake in it.
const ADJUST_TAKES: &str = "`adjust` is a whole number of bytes added to the length's value to give the body's size (negative to take some away), such as `adjust: -2`";

/// What `points` takes, said with every mistake in it.
const POINTS_TAKE: &str = "`points` is what a step (or a client) is worth when it passes: a whole number, 0 or more, such as `points: 2`";

impl<'de> Deserialize<'de> for RawPoints {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = WholeNumber(POINTS_TAKE).deserialize(deserializer)?;
        u32::try_from(n).map(RawPoints).map_err(|_| {
            let why = if n < 0 { "negative" } else { "too large" };
            de::Error::custom(format!("`{n}` cannot be points ({why}): {POINTS_TAKE}"))
        })
    }
}

/// A whole number for a field whose message (`self.0`: what the field takes) is given with any
/// value that is not one; the field's own bounds are the caller's.
struct WholeNumber(&'static str);

impl<'de> DeserializeSeed<'de> for WholeNumber {
    type Value = i128;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<i128, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for WholeNumber {
    type Value = i128;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<i128, E> {
        Ok(n.into())
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<i128, E> {
        Ok(n.into())
    }
    fn visit_u128<E: de::Error>(self, n: u128) -> Result<i128, E> {
        i128::try_from(n).map_err(|_| E::custom(format!("`{n}` is too large: {}", self.0)))
    }
    fn visit_i128<E: de::Error>(self, n: i128) -> Result<i128, E> {
        Ok(n)
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<i128, E> {
        Err(E::custom(format!(
            "`{n}` is not a whole number: {}",
            self.0
        )))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<i128, E> {
        Err(E::custom(format!("`{text}` is not a number: {}", self.0)))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<i128, E> {
        Err(E::custom(format!("`{b}` is not a number: {}", self.0)))
    }
}

/// The status codes HTTP defines (RFC 9110 section 15: "all valid status codes are within the
/// range of 100 to 599, inclusive"): the only ones a file may expect or reply with.
pub const STATUS_CODES: RangeInclusive<u16> = 100..=599;

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = RawStatus;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a status code from {} to {}, such as `200` or `404`",
                    STATUS_CODES.start(),
                    STATUS_CODES.end()
                )
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawStatus, E> {
                u16::try_from(n)
                    .ok()
                    .filter(|n| STATUS_CODES.contains(n))
                    .map(RawStatus)
                    .ok_or_else(|| out_of_range(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawStatus, E> {
                u64::try_from(n).map_or_else(|_| Err(out_of_range(n)), |n| self.visit_u64(n))
            }
            fn visit_u128<E: de::Error>(self, n: u128) -> Result<RawStatus, E> {
                Err(out_of_range(n))
            }
            fn visit_i128<E: de::Error>(self, n: i128) -> Result<RawStatus, E> {
                Err(out_of_range(n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<RawStatus, E> {
                Err(E::custom(format!(
                    "`{n}` is not a status code: write a whole number from {} to {}, such as `200`",
                    STATUS_CODES.start(),
                    STATUS_CODES.end()
                )))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RawStatus, E> {
                if text.trim().parse::<u16>().is_ok() {
                    return Err(E::custom(format!(
                        "`\"{text}\"` is text, not a status code: write it without quotes, `status: {}`",
                        text.trim()
                    )));
                }
                Err(E::custom(format!(
                    "`{text}` is not a status code: write a number from {} to {}, such as `200` or `404`",
                    STATUS_CODES.start(),
                    STATUS_CODES.end()
                )))
            }
        }
        fn out_of_range<E: de::Error>(n: impl fmt::Display) -> E {
            E::custom(format!(
                "a status code is from {} to {} (RFC 9110), not {n}",
                STATUS_CODES.start(),
                STATUS_CODES.end()
            ))
        }
        deserializer.deserialize_any(StatusVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err_and(|e| e.contains("no unit")));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("").is_err());
    }

    /// A huge duration panicked later (`Instant` overflow, `Duration::mul_f64`): every duration
    /// the format takes is at most a year, however it is written.
    #[test]
    fn durations_are_at_most_a_year() {
        assert_eq!(parse_duration("1y"), Ok(MAX_DURATION));
        assert_eq!(
            parse_duration("365d"),
            Ok(Duration::from_secs(365 * 86_400))
        );
        for huge in [
            "1y 1s",
            "500000000000y",
            "99999999999999999999999y",
            "9000000.5h",
        ] {
            assert!(
                parse_duration(huge).is_err_and(|e| e.contains("at most 1 year")),
                "{huge}"
            );
        }
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("10KB"), Ok(10_000));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("1TiB").is_err());
    }

    #[test]
    fn hex_ignores_spaces_and_checks_digits() {
        assert_eq!(parse_hex("de ad BE ef"), Ok(vec![0xde, 0xad, 0xbe, 0xef]));
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
