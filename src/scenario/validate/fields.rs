//! Checks of shapes that recur across fields, each written once: a count that must be from one
//! to a most, and fields written where they do not apply.

use super::checker::Checker;
use crate::scenario::positions::join;

/// What a counted field counts, as its messages name it after a number.
#[derive(Debug, Clone, Copy)]
pub(super) enum Unit {
    /// A plain number: nothing after it.
    Plain,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
}

impl Unit {
    /// What follows the number `n` in a message (` byte`, ` bytes per second`…).
    fn after(self, n: u64) -> &'static str {
        match (self, n == 1) {
            (Unit::Plain, _) => "",
            (Unit::Bytes, true) => " byte",
            (Unit::Bytes, false) => " bytes",
            (Unit::BytesPerSecond, true) => " byte per second",
            (Unit::BytesPerSecond, false) => " bytes per second",
        }
    }
}

impl Checker<'_> {
    /// `value`, written at `path`, when it is from 1 to `most` (`u64::MAX`: no bound above);
    /// otherwise reports it, naming the field `field` (`` `count` ``, "the backlog"), and gives
    /// back the bound it crossed.
    pub(super) fn within_one_to(
        &mut self,
        path: &str,
        field: &str,
        value: u64,
        most: u64,
        unit: Unit,
    ) -> u64 {
        if value == 0 {
            self.at_value(path, format!("{field} must be at least 1{}", unit.after(1)));
            1
        } else if value > most {
            self.at_value(
                path,
                format!("{field} is at most {most}{}", unit.after(most)),
            );
            most
        } else {
            value
        }
    }

    /// Reports, at its key under `path`, each field of `fields` that is present (`(present,
    /// key)`, in the order given), as "`key` `reason`", with `help` when there is one.
    pub(super) fn refuse_fields(
        &mut self,
        path: &str,
        fields: &[(bool, &str)],
        reason: &str,
        help: Option<&str>,
    ) {
        for &(present, key) in fields {
            if present {
                let problem = self.at_key(&join(path, key), format!("`{key}` {reason}"));
                if let Some(help) = help {
                    problem.add_help(help);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Unit;

    #[test]
    fn units_follow_their_number() {
        assert_eq!(Unit::Plain.after(1), "");
        assert_eq!(Unit::Bytes.after(1), " byte");
        assert_eq!(Unit::Bytes.after(16), " bytes");
        assert_eq!(Unit::BytesPerSecond.after(1), " byte per second");
    }
}
