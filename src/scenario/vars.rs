//! What loading is given for a scenario's `vars` from outside the file: their values
//! (`--var name=value`, `NETLAB_VAR_<NAME>`) and which parts must have a value for every var they
//! use. Plain data, handed by `load` to `validate`, which checks the file's vars against them.

use std::collections::BTreeMap;

/// The prefix of the environment variables that give vars a value (`NETLAB_VAR_TARGET`).
pub const ENVIRONMENT_PREFIX: &str = "NETLAB_VAR_";

/// Values for `vars` given from outside the file. A value given for a var a file does not
/// declare is not used (a suite's files declare different vars).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarValues {
    /// `--var name=value`, the last one of a name winning.
    pub command_line: BTreeMap<String, String>,
    /// `NETLAB_VAR_<NAME>=value`, by what follows the prefix, as written.
    pub environment: BTreeMap<String, String>,
}

impl VarValues {
    /// No value given.
    pub fn new() -> Self {
        VarValues::default()
    }

    /// These values, as if from `--var`, with the `NETLAB_VAR_*` ones of `environment`.
    pub fn with_environment(
        mut self,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.environment = environment
            .into_iter()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix(ENVIRONMENT_PREFIX)?;
                (!name.is_empty()).then(|| (name.to_string(), value))
            })
            .collect();
        self
    }

    /// The value given for the var `name`: `--var name=…`, else `NETLAB_VAR_name`, else
    /// `NETLAB_VAR_NAME` (the name in capitals, as environment variables are written).
    pub fn value_of(&self, name: &str) -> Option<&str> {
        self.command_line
            .get(name)
            .or_else(|| self.environment.get(name))
            .or_else(|| self.environment.get(&name.to_uppercase()))
            .map(String::as_str)
    }
}

/// A value given from outside the file, as a program is given it: a relative path that exists
/// from here is made absolute, since the program runs in its scenario's directory.
pub fn for_a_program(value: &str) -> String {
    let path = std::path::Path::new(value);
    match std::env::current_dir() {
        Ok(dir) if path.is_relative() && !value.is_empty() && path.exists() => {
            dir.join(path).display().to_string()
        }
        _ => value.to_string(),
    }
}

impl FromIterator<(String, String)> for VarValues {
    /// Values as from `--var`.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(values: I) -> Self {
        VarValues {
            command_line: values.into_iter().collect(),
            environment: BTreeMap::new(),
        }
    }
}

/// Which programs must have a value for every var they use (from its default or `--var`); a
/// var used only by other programs may stay unset, since they do not start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NeededVars {
    /// Every program's (`run`, `test`: everything starts).
    #[default]
    All,
    /// No program's (`check`: a teacher checks an exercise before any solution exists).
    None,
    /// The programs of these servers only (`serve --server NAME`: no client starts); an empty
    /// list means every server, as `serve` without `--server`.
    OfServers(Vec<String>),
}

impl NeededVars {
    /// Whether the program of the server `name` must have a value for each var it uses.
    pub(super) fn of_server(&self, name: &str) -> bool {
        match self {
            NeededVars::All => true,
            NeededVars::None => false,
            NeededVars::OfServers(names) => names.is_empty() || names.iter().any(|n| n == name),
        }
    }

    /// Whether client programs must have a value for each var they use.
    pub(super) fn of_clients(&self) -> bool {
        *self == NeededVars::All
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_over_the_environment_and_capitals_are_found() {
        let given: VarValues = [("a".to_string(), "from --var".to_string())]
            .into_iter()
            .collect();
        let given = given.with_environment([
            ("NETLAB_VAR_a".to_string(), "env a".to_string()),
            ("NETLAB_VAR_TARGET".to_string(), "env TARGET".to_string()),
            ("NETLAB_VAR_".to_string(), "nameless".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        assert_eq!(given.value_of("a"), Some("from --var"));
        assert_eq!(given.value_of("target"), Some("env TARGET"));
        assert_eq!(given.value_of("TARGET"), Some("env TARGET"));
        assert_eq!(given.value_of("PATH"), None);
        assert_eq!(given.value_of(""), None);
    }
}
