//! The entry point and the walk over a whole file: its name, timeout and vars, each server and
//! each client (checked in `servers` and `clients`), then what spans them: unique names, vars
//! left without a value, and, for a valid file, its warnings.

use std::time::Duration;

use super::checker::Checker;
use super::clients::client_name;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::scenario::model::{Client, Scenario, Server, Solution, SolutionExpect};
use crate::scenario::positions::{Positions, join};
use crate::scenario::raw::{RawScenario, RawSolution};
use crate::scenario::vars::{NeededVars, VarValues};
use crate::source::SourceFile;

/// Default bound on a whole scenario.
/// Most `retries:` a scenario may ask for.
pub const MAX_RETRIES: u32 = 100;

pub const DEFAULT_SCENARIO_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks `raw` (parsed from `source`) and builds the scenario, or returns every problem found;
/// `vars` are values from the command line, `needed_vars` says whose vars must have one.
pub fn validate(
    raw: RawScenario,
    source: &SourceFile,
    positions: &Positions,
    vars: &VarValues,
    needed_vars: &NeededVars,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut checker = Checker::new(source, positions, needed_vars);
    match checker.scenario(raw, vars) {
        Some(mut scenario) if checker.is_clean() => {
            checker.warn_of_sends_a_chunk_server_may_join(&scenario);
            checker.warn_of_losses_shared_by_racing_clients(&scenario);
            scenario.warnings = checker.take_warnings();
            Ok(scenario)
        }
        _ => Err(checker.into_problems()),
    }
}

impl Checker<'_> {
    /// The scenario checked and built, with `given` values for its vars; `None` when a client
    /// cannot be built (its server is unknown: reported).
    fn scenario(&mut self, raw: RawScenario, given: &VarValues) -> Option<Scenario> {
        // The vars first: the payloads' sizes depend on their values.
        self.vars(&raw.vars, given);
        self.build_payloads = self.payloads_fit(&raw);
        let name = match raw.name {
            Some(name) => {
                self.check_name("name", &name);
                name
            }
            None => self.source.path.file_stem().map_or_else(
                || "scenario".to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        };
        let timeout = self.positive("timeout", raw.timeout, DEFAULT_SCENARIO_TIMEOUT);
        let redact = self.redactions("redact", raw.redact);
        if let Some(retries) = raw.retries
            && retries > MAX_RETRIES
        {
            self.at_value(
                "retries",
                format!("retries is at most {MAX_RETRIES} (a scenario that fails that often is not flaky)"),
            );
        }
        if raw.servers.is_empty() && raw.clients.is_empty() {
            self.report(
                Diagnostic::new("a scenario needs at least one server or client", "", None)
                    .with_help("add a `servers:` or `clients:` list"),
            );
        }
        let mut servers: Vec<Server> = raw
            .servers
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.server(&format!("servers[{i}]"), s))
            .collect();
        self.resolve_proxies(&mut servers);
        self.check_unique("servers", servers.iter().map(|s| s.name.as_str()), "server");
        let total = raw.clients.len();
        let client_names: Vec<String> = (raw.clients.iter().enumerate())
            .map(|(i, c)| client_name(c.name.as_ref(), i, total))
            .collect();
        let clients: Vec<Option<Client>> = (raw.clients.into_iter().zip(&client_names))
            .enumerate()
            .map(|(i, (c, name))| self.client(&format!("clients[{i}]"), name.clone(), c, &servers))
            .collect();
        self.report_unset_vars();
        self.check_unique("clients", client_names.iter().map(String::as_str), "client");
        let clients: Vec<Client> = clients.into_iter().collect::<Option<_>>()?;
        let mut scenario = Scenario {
            name,
            description: raw.description,
            path: self.source.path.clone(),
            timeout,
            retries: raw.retries.map(|n| n.min(MAX_RETRIES)),
            servers,
            clients,
            redact,
            warnings: None,
            solutions: Vec::new(),
        };
        scenario.solutions = self.solutions(raw.solutions, &scenario);
        Some(scenario)
    }

    /// The solutions an exercise declares, each `at` a place where `scenario` can fail.
    fn solutions(&mut self, raw: Vec<RawSolution>, scenario: &Scenario) -> Vec<Solution> {
        let places = scenario.failure_places();
        let mut solutions = Vec::with_capacity(raw.len());
        for (i, written) in raw.into_iter().enumerate() {
            let path = format!("solutions[{i}]");
            if let Some(at) = &written.at {
                if written.expect == SolutionExpect::Pass {
                    self.at_key(
                        &join(&path, "at"),
                        "a solution that must pass fails nowhere",
                    )
                    .add_help("write `expect: fail` beside `at`, or drop `at`");
                } else if !places.contains(at) {
                    let message = format!("the scenario has no step or check `{at}`");
                    let diagnostic = self.at_value(&join(&path, "at"), message);
                    match did_you_mean(at, places.iter().map(String::as_str)) {
                        Some(near) => diagnostic.add_help(format!("did you mean `{near}`?")),
                        None => diagnostic.add_help(
                            "name a client's step as `CLIENT.steps[N]`, a program under test by its server's name, or a server's check as `SERVER.expect_messages`",
                        ),
                    };
                }
            }
            solutions.push(Solution {
                path: self.source.base_dir().join(&written.path),
                expect: written.expect,
                at: written.at,
            });
        }
        solutions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of an unknown server in a file without servers panicked (index out of bounds)
    /// in the warnings pass instead of being refused.
    #[test]
    fn an_unknown_server_in_a_file_without_servers_is_refused_not_a_panic() {
        let text = "clients:\n  - connect: nowhere\n    steps:\n      - send: a\n";
        let Err(problems) = crate::scenario::load_source(SourceFile::new("x.yaml", text)) else {
            panic!("a client of an unknown server was accepted");
        };
        let messages: Vec<&str> = problems.items.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["unknown server `nowhere` in `connect`"]);
    }
}
