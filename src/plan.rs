//! Planning: the pure step between the checked scenario and execution. It fixes the real
//! durations (every declared delay, sleep and timeout multiplied by the time scale) so that
//! execution never does arithmetic on what the user wrote, and transcripts keep the declared values.

use std::time::{Duration, Instant};

use crate::scenario::{Client, Scenario, Step};

/// Shortest real timeout: a zero socket timeout means "block forever" to some APIs.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// The time scale of a run: 1.0 runs a scenario as written, 0.01 a hundred times faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    /// Checks a factor: finite and greater than zero.
    pub fn new(factor: f64) -> Result<Self, String> {
        if factor.is_finite() && factor > 0.0 && factor <= 1000.0 {
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

    /// A declared pause (delay, sleep, start_after) as it really runs.
    pub fn pause(self, declared: Duration) -> Duration {
        declared.mul_f64(self.0)
    }

    /// A declared timeout as it really runs (never below one millisecond).
    pub fn timeout(self, declared: Duration) -> Duration {
        declared.mul_f64(self.0).max(MIN_TIMEOUT)
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
    let declared = match step {
        Step::Expect { timeout, .. }
        | Step::ExpectClose { timeout }
        | Step::ExpectReset { timeout }
        | Step::ReadToClose { timeout, .. } => timeout.unwrap_or(client.timeout),
        _ => client.timeout,
    };
    scale.timeout(declared)
}

/// The real bound on the whole scenario.
pub fn scenario_deadline(scale: TimeScale, scenario: &Scenario) -> Duration {
    scale.timeout(scenario.timeout)
}

/// The instant `wait` after `from`, or, should that not fit in an `Instant`, a moment far
/// enough away to mean "never" (a year, then a second, then `from` itself): never a panic.
pub fn deadline_after(from: Instant, wait: Duration) -> Instant {
    from.checked_add(wait)
        .or_else(|| from.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .or_else(|| from.checked_add(Duration::from_secs(1)))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn rejects_nonsense_factors() {
        assert!(parse_time_scale("0").is_err());
        assert!(parse_time_scale("-1").is_err());
        assert!(parse_time_scale("fast").is_err());
        assert!(parse_time_scale("NaN").is_err());
        assert!(parse_time_scale("0.5").is_ok());
    }
}
