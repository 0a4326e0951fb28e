//! Small statistics for the comparison: medians and percentiles of durations, rates.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `values`, nearest rank; zero for none.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values`.
pub fn median(values: &[Duration]) -> Duration {
    percentile(values, 50.0)
}

/// `count` operations in `took`, per second.
pub fn rate(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}

/// A rate for people: `69.6k/s`.
pub fn show_rate(per_second: f64) -> String {
    if per_second >= 1000.0 {
        format!("{:.1}k/s", per_second / 1000.0)
    } else {
        format!("{per_second:.0}/s")
    }
}

/// A duration for people, in milliseconds with two decimals.
pub fn show_ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Bytes for people, in MiB.
pub fn show_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
