//! What a name may be: letters, digits, `_`, `-` and `.`, and one per server or client.

use std::collections::HashMap;

use super::checker::Checker;

impl Checker<'_> {
    /// Checks the name written at `path`.
    pub(super) fn check_name(&mut self, path: &str, name: &str) {
        if name.is_empty() {
            self.at_value(path, "a name cannot be empty");
        } else if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            self.at_value(path, format!("`{bad}` is not allowed in a name"))
                .add_help("names use letters, digits, `_`, `-` and `.`");
        }
    }

    /// Reports each name of the `list` (of `what`s) that an earlier one already has.
    pub(super) fn check_unique<'n>(
        &mut self,
        list: &str,
        names: impl Iterator<Item = &'n str>,
        what: &str,
    ) {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, name) in names.enumerate() {
            if let Some(earlier) = first.get(name) {
                let path = format!("{list}[{i}].name");
                let message = format!("two {what}s are named `{name}`");
                let label = format!("{list}[{earlier}] already has this name");
                if self.positions.get(&path).is_some() {
                    self.at_value(&path, message).add_label(label);
                } else {
                    self.at_value(&format!("{list}[{i}]"), message)
                        .add_label(label)
                        .add_help(format!("give each {what} a `name:`"));
                }
            } else {
                first.insert(name, i);
            }
        }
    }
}
