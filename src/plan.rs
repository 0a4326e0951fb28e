//! Planning: the pure step between the checked scenario and execution. It fixes the real
//! durations (every declared delay, sleep and timeout multiplied by the time scale) so that
//! execution never does arithmetic on what the user wrote, and transcripts keep the declared values.

use std::time::{Duration, Instant};

use crate::scenario::visitors::MAX_DURATION;
use crate::scenario::{Client, Scenario, Step};

/// Shortest real timeout: a zero socket timeout means "block forever" to some APIs.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Largest time scale (`--time-scale`).
const MAX_FACTOR: f64 = 1000.0;

/// Longest real duration: the longest declared one (a year) at the largest time
/// scale. Validation keeps every declared duration within a year, so this is never reached; scaling
/// saturates here anyway, so that no arithmetic on a duration can panic.
pub const MAX_REAL_DURATION: Duration =
    Duration::from_secs(MAX_DURATION.as_secs() * MAX_FACTOR as u64);

/// How a write is paced by the `slice` and `bandwidth` faults: the bytes of each piece and the
/// declared pause between pieces (`None`: written at once). A throttled write goes out in pieces
/// of about a tenth of a second. One rule, for the writer (`exec/faults.rs`) and for the time a
/// diagram declares a write takes.
pub fn pacing(
    slice: Option<(usize, Duration)>,
    bandwidth: Option<u64>,
) -> Option<(usize, Duration)> {
    let piece = match (slice, bandwidth) {
        (Some((bytes, _)), _) => bytes.max(1),
        (None, Some(rate)) => usize::try_from(rate / 10).unwrap_or(usize::MAX).max(1),
        (None, None) => return None,
    };
    let mut pause = slice.map_or(Duration::ZERO, |(_, pause)| pause);
    if let Some(rate) = bandwidth.filter(|rate| *rate > 0) {
        pause = pause.max(Duration::from_secs_f64(piece as f64 / rate as f64));
    }
    Some((piece, pause))
}

/// The declared time a write of `len` bytes paced by `pacing` takes: a pause between pieces.
pub fn paced_time(pacing: Option<(usize, Duration)>, len: usize) -> Duration {
    match pacing {
        Some((piece, pause)) => {
            let pauses = len.div_ceil(piece).saturating_sub(1);
            pause.saturating_mul(u32::try_from(pauses).unwrap_or(u32::MAX))
        }
        None => Duration::ZERO,
    }
}

/// The time a run of `steps` (a client's flat list, or a repeat's body) spends in the pauses
/// it declares itself (`sleep`, `expect_nothing`; a nested repeat's times over), as written: a
/// diagram's declared time for a `repeat`'s later times through.
pub fn declared_pause(steps: &[Step]) -> Duration {
    let mut total = Duration::ZERO;
    let mut i = 0;
    while let Some(step) = steps.get(i) {
        match step {
            Step::Sleep(d) | Step::ExpectNothing(d) => total = total.saturating_add(*d),
            Step::Repeat { times, body } => {
                let end = steps.len().min(i.saturating_add(1).saturating_add(*body));
                let once = declared_pause(steps.get(i + 1..end).unwrap_or_default());
                let times = u32::try_from(*times).unwrap_or(u32::MAX);
                total = total.saturating_add(once.saturating_mul(times));
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    total
}

/// The time scale of a run: 1.0 runs a scenario as written, 0.01 a hundred times faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    /// Checks a factor: finite and greater than zero.
    pub fn new(factor: f64) -> Result<Self, String> {
        if factor.is_finite() && factor > 0.0 && factor <= MAX_FACTOR {
            Ok(Self(factor))
        } else {
            Err(format!(
                "time scale must be a number above 0 and at most 1000, not `{factor}`"
            ))
        }
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// A declared pause (delay, sleep, start_after) as it really runs, at most
    /// [`MAX_REAL_DURATION`].
    pub fn pause(self, declared: Duration) -> Duration {
        // `Duration::mul_f64` panics when the product does not fit; this saturates instead.
        Duration::try_from_secs_f64(declared.as_secs_f64() * self.0)
            .map_or(MAX_REAL_DURATION, |real| real.min(MAX_REAL_DURATION))
    }

    /// A declared timeout as it really runs (never below one millisecond, at most
    /// [`MAX_REAL_DURATION`]).
    pub fn timeout(self, declared: Duration) -> Duration {
        self.pause(declared).max(MIN_TIMEOUT)
    }
}

impl Default for TimeScale {
    fn default() -> Self {
        Self(1.0)
    }
}

/// Parses a time scale given on the command line or in `NETLAB_TIME_SCALE`.
pub fn parse_time_scale(text: &str) -> Result<TimeScale, String> {
    let factor: f64 = text.trim().parse().map_err(|_| {
        format!("`{text}` is not a number (try 0.01 to run a hundred times faster)")
    })?;
    TimeScale::new(factor)
}

/// The real timeout of step `step` of `client`: its own, else the client's default, scaled.
pub fn step_timeout(scale: TimeScale, client: &Client, step: &Step) -> Duration {
    scale.timeout(step.own_timeout().unwrap_or(client.timeout))
}

/// The real bound on the whole scenario.
pub fn scenario_deadline(scale: TimeScale, scenario: &Scenario) -> Duration {
    scale.timeout(scenario.timeout)
}

/// The instant `wait` after `start`, as `start + wait` would give, but never a panic: if that
/// instant cannot be represented, the latest one that can on the way to it (a far deadline).
pub fn deadline_after(start: Instant, wait: Duration) -> Instant {
    let mut wait = wait;
    loop {
        if let Some(at) = start.checked_add(wait) {
            return at;
        }
        // Halving reaches zero, which always fits.
        wait /= 2;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_repeat_declares_its_pauses_times_over() {
        let ms = Duration::from_millis;
        let steps = [
            Step::Sleep(ms(10)),
            Step::Repeat { times: 3, body: 3 },
            Step::ExpectNothing(ms(5)),
            Step::Repeat { times: 2, body: 1 },
            Step::Sleep(ms(1)),
            Step::Close,
        ];
        // 10 + 3 × (5 + 2 × 1)
        assert_eq!(declared_pause(&steps), ms(31));
        // A body longer than the list is cut to it.
        assert_eq!(
            declared_pause(&[Step::Repeat { times: 2, body: 9 }, Step::Sleep(ms(1))]),
            ms(2)
        );
    }

    #[test]
    fn a_paced_write_takes_a_pause_between_its_pieces() {
        let ms = Duration::from_millis;
        // 2000 bytes at 10000 B/s: pieces of 1000 bytes, one pause of 100ms between them.
        let throttled = pacing(None, Some(10_000));
        assert_eq!(throttled, Some((1000, ms(100))));
        assert_eq!(paced_time(throttled, 2000), ms(100));
        // "Hello, Grace!" (13 bytes) 3 at a time, 10ms apart: 5 pieces, 4 pauses.
        assert_eq!(paced_time(pacing(Some((3, ms(10))), None), 13), ms(40));
        // A slice slower than the bandwidth allows is slowed to it.
        assert_eq!(pacing(Some((100, ms(1))), Some(1000)), Some((100, ms(100))));
        assert_eq!(paced_time(pacing(None, None), 1 << 20), Duration::ZERO);
    }

    use super::*;

    #[test]
    fn scales_pauses_and_keeps_timeouts_positive() {
        let scale = TimeScale::new(0.01).unwrap_or_default();
        assert_eq!(
            scale.pause(Duration::from_secs(1)),
            Duration::from_millis(10)
        );
        assert_eq!(scale.timeout(Duration::from_micros(10)), MIN_TIMEOUT);
    }

    /// `timeout: 10000000000y` with `--time-scale 1000` panicked in `Duration::mul_f64`.
    #[test]
    fn scaling_saturates_instead_of_panicking() {
        let slowest = TimeScale::new(MAX_FACTOR).unwrap_or_default();
        assert_eq!(slowest.pause(MAX_DURATION), MAX_REAL_DURATION);
        assert_eq!(slowest.pause(Duration::MAX), MAX_REAL_DURATION);
        assert_eq!(slowest.timeout(Duration::MAX), MAX_REAL_DURATION);
        let fastest = TimeScale::new(f64::MIN_POSITIVE).unwrap_or_default();
        assert_eq!(fastest.timeout(Duration::MAX), MIN_TIMEOUT);
        assert_eq!(TimeScale::default().pause(Duration::MAX), MAX_REAL_DURATION);
    }

    /// `Instant + Duration` panicked for a huge scenario timeout.
    #[test]
    fn a_deadline_never_overflows() {
        let now = Instant::now();
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(5));
    }

    #[test]
    fn rejects_nonsense_factors() {
        assert!(parse_time_scale("0").is_err());
        assert!(parse_time_scale("-1").is_err());
        assert!(parse_time_scale("fast").is_err());
        assert!(parse_time_scale("NaN").is_err());
        assert!(parse_time_scale("0.5").is_ok());
    }
}
