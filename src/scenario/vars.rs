//! What loading is given for a scenario's `vars` from outside the file: their values
//! (`--var name=value`) and which programs must have a value for every var they use. Plain data,
//! handed by `load` to `validate`, which checks the file's vars against them.

use std::collections::BTreeMap;

/// Values for `vars` given on the command line (`--var name=value`).
pub type VarValues = BTreeMap<String, String>;

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
