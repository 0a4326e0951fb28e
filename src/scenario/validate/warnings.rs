//! What runs, but probably not as meant: looked for in a valid scenario, shown before it runs.

use super::checker::Checker;
use crate::scenario::model::{Framing, LoseScope, Protocol, Scenario, Step, Target};

impl Checker<'_> {
    /// A server that takes one recv() result as one message (`framing: chunk`) and answers by
    /// rules, and a client that sends to it twice with nothing read between: the two sends may
    /// arrive as one message, or one as two, as timing decides, and the rules see that.
    pub(super) fn warn_of_sends_a_chunk_server_may_join(&mut self, scenario: &Scenario) {
        for (index, client) in scenario.clients.iter().enumerate() {
            let Target::Server(server) = client.target else {
                continue;
            };
            let server = &scenario.servers[server];
            let joins = server.protocol == Protocol::Tcp
                && server.framing == Framing::Chunk
                && server.program.is_none()
                && !server.rules.is_empty();
            if !joins {
                continue;
            }
            let mut sent_since_a_read = false;
            for (step, path) in client.steps.iter().zip(&client.paths) {
                match step {
                    Step::Send(_) if sent_since_a_read => {
                        let path = format!("clients[{index}].{path}.send");
                        self.warn_at_value(
                            &path,
                            format!(
                                "a second send before anything is read: `{}` may receive both \
                                 as one message, or either in pieces, as timing decides",
                                server.name
                            ),
                        )
                        .add_help(
                            "give the server `framing: line` (and end each send with \\n), or \
                             `expect` its reply before sending again",
                        );
                    }
                    Step::Send(_) => sent_since_a_read = true,
                    // Its hello is a write: behind an unread send, the server may read the two
                    // as one message (its `starttls` rule then does not match them).
                    Step::StartTls if sent_since_a_read => {
                        let path = format!("clients[{index}].{path}.starttls");
                        self.warn_at_value(
                            &path,
                            format!(
                                "a TLS hello right behind a send nothing answered yet: `{}` may \
                                 receive the command and the hello as one message, as timing decides",
                                server.name
                            ),
                        )
                        .add_help(
                            "`expect` the server's answer to the command before `starttls`, or \
                             give the server `framing: line`",
                        );
                        sent_since_a_read = false;
                    }
                    Step::StartTls
                    | Step::ExpectTlsError { .. }
                    | Step::Expect { .. }
                    | Step::ExpectNothing(_)
                    | Step::ExpectClose { .. }
                    | Step::ExpectReset { .. }
                    | Step::ReadToClose { .. } => sent_since_a_read = false,
                    _ => {}
                }
            }
        }
    }

    /// A rule whose `lose_first` counts over the whole server (`lose_scope: server`) on a
    /// server that several client instances talk to: which one's message is lost is decided by
    /// which arrives first, timing's to decide.
    pub(super) fn warn_of_losses_shared_by_racing_clients(&mut self, scenario: &Scenario) {
        for (index, server) in scenario.servers.iter().enumerate() {
            let instances: u32 = (scenario.clients.iter())
                .filter(|c| c.target == Target::Server(index))
                .map(|c| c.count)
                .sum();
            if instances < 2 {
                continue;
            }
            for (rule_index, rule) in server.rules.iter().enumerate() {
                if rule.lose_first == 0 || rule.lose_scope != LoseScope::Server {
                    continue;
                }
                let path = format!("servers[{index}].rules[{rule_index}].lose_scope");
                self.warn_at_value(
                    &path,
                    format!(
                        "{instances} client instances talk to `{}`: which of them loses its \
                         message is decided by which arrives first, so their results may differ \
                         from run to run",
                        server.name
                    ),
                )
                .add_help("give each client a server of its own, or count losses per sender");
            }
        }
    }
}
