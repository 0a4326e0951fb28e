//! The first place two texts differ, line by line: what a one-line failure message shows (a
//! JUnit `message`, a CI annotation) where the whole diff does not fit.

/// The first line expected and the line received in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The first line expected that did not come (`(nothing)` when lines were only added).
    pub expected: String,
    /// What came in its place (`(nothing)` when lines were only removed).
    pub received: String,
}

/// What stands for a missing line.
const NOTHING: &str = "(nothing)";

impl Difference {
    /// `expected X, received Y`.
    pub fn message(&self) -> String {
        format!("expected {}, received {}", self.expected, self.received)
    }
}

/// The first difference between the lines `expected` and `received`; `None` when they are equal.
pub fn first_difference(expected: &[&str], received: &[&str]) -> Option<Difference> {
    let diff = similar::TextDiff::from_slices(expected, received);
    let line = |lines: &[&str], range: std::ops::Range<usize>| {
        lines[range]
            .first()
            .map_or(NOTHING.to_string(), |l| l.trim_end().to_string())
    };
    diff.ops().iter().find_map(|op| match *op {
        similar::DiffOp::Equal { .. } => None,
        similar::DiffOp::Delete {
            old_index, old_len, ..
        } => Some(Difference {
            expected: line(expected, old_index..old_index + old_len),
            received: NOTHING.to_string(),
        }),
        similar::DiffOp::Insert {
            new_index, new_len, ..
        } => Some(Difference {
            expected: NOTHING.to_string(),
            received: line(received, new_index..new_index + new_len),
        }),
        similar::DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => Some(Difference {
            expected: line(expected, old_index..old_index + old_len),
            received: line(received, new_index..new_index + new_len),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_changed_line_is_found_whatever_the_change() {
        let same = first_difference(&["a", "b"], &["a", "b"]);
        assert_eq!(same, None);
        let changed = first_difference(&["a", "b", "c"], &["a", "x", "c"]);
        assert_eq!(
            changed.map(|d| d.message()),
            Some("expected b, received x".into())
        );
        let removed = first_difference(&["a", "b"], &["a"]);
        assert_eq!(
            removed.map(|d| d.message()),
            Some("expected b, received (nothing)".into())
        );
        let added = first_difference(&["a"], &["a", "z  "]);
        assert_eq!(
            added.map(|d| d.message()),
            Some("expected (nothing), received z".into())
        );
    }
}
