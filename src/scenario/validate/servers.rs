//! A server as written → a checked server: its address, the sizes of its socket, the fields
//! that apply to tcp only, its reply rules, and (through `programs` and `faults`) what it runs
//! and what goes wrong on purpose.

use std::net::IpAddr;

use super::checker::Checker;
use super::fields::Unit;
use super::templates::Scope;
use crate::scenario::model::{MAX_DATAGRAM_PAYLOAD, Reply, ReplyPart, Rule, Server};
use crate::scenario::positions::join;
use crate::scenario::raw::{Protocol, RawPayload, RawRule, RawServer, RawSize};
use crate::template::Syntax;

/// Default listen() backlog (what std uses).
pub const DEFAULT_BACKLOG: i32 = 128;
/// Default bytes per recv(), as in the tutorial.
pub const DEFAULT_READ_SIZE: usize = 1024;
const MAX_READ_SIZE: u64 = 16 * 1024 * 1024;

impl Checker<'_> {
    /// The checked server written at `path`.
    pub(super) fn server(&mut self, path: &str, mut raw: RawServer) -> Server {
        self.check_name(&join(path, "name"), &raw.name);
        self.values_needed = self.needed_vars.of_server(&raw.name);
        let protocol = raw.protocol.unwrap_or(Protocol::Tcp);
        let program = self.server_program(path, &mut raw, protocol == Protocol::Udp);
        let faults = self.faults(
            path,
            raw.faults.take(),
            protocol == Protocol::Udp,
            program.is_some(),
        );
        let bind = match raw.bind.as_deref() {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(text) => match text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
            {
                Ok(ip) => ip,
                Err(_) => {
                    let hint = if text == "localhost" {
                        "write `127.0.0.1` or `::1`: `localhost` may resolve to either"
                    } else {
                        "write an IP address such as `127.0.0.1`, `::1`, `0.0.0.0` or `::` (the port goes in `port:`)"
                    };
                    self.at_value(
                        &join(path, "bind"),
                        format!("`{text}` is not an IP address"),
                    )
                    .add_help(hint);
                    IpAddr::from([127, 0, 0, 1])
                }
            },
        };
        let backlog = raw.backlog.map_or(DEFAULT_BACKLOG, |n| {
            let backlog_path = join(path, "backlog");
            let n = self.within_one_to(
                &backlog_path,
                "the backlog",
                n.into(),
                u64::MAX,
                Unit::Plain,
            );
            i32::try_from(n).unwrap_or(i32::MAX)
        });
        let read_size = raw.read_size.map_or(DEFAULT_READ_SIZE, |RawSize(n)| {
            let read_size_path = join(path, "read_size");
            let n = self.within_one_to(
                &read_size_path,
                "`read_size`",
                n,
                MAX_READ_SIZE,
                Unit::Bytes,
            );
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        if protocol == Protocol::Udp && program.is_none() {
            self.refuse_fields(
                path,
                &[
                    (raw.backlog.is_some(), "backlog"),
                    (raw.concurrency.is_some(), "concurrency"),
                    (raw.greeting.is_some(), "greeting"),
                    (raw.framing.is_some(), "framing"),
                ],
                "applies to tcp servers only",
                None,
            );
            for (i, rule) in raw.rules.iter().enumerate() {
                if rule.close == Some(true) {
                    self.at_key(
                        &format!("{path}.rules[{i}].close"),
                        "`close` applies to tcp servers only: a udp server has no connection to close",
                    );
                }
            }
        }
        let greeting = raw.greeting.map(|g| {
            let at = join(path, "greeting");
            let g = self.fill_payload(&at, g, Scope::Shared);
            self.payload(&at, g).into()
        });
        let rules: Vec<Rule> = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.rule(&format!("{path}.rules[{i}]"), r))
            .collect();
        if protocol == Protocol::Udp {
            for (i, rule) in rules.iter().enumerate() {
                // A reply is at least its literal text; `{data}` adds what came (checked then).
                let least = rule.reply.as_ref().map_or(0, Reply::literal_len);
                if least > MAX_DATAGRAM_PAYLOAD {
                    self.too_large_for_a_datagram(&format!("{path}.rules[{i}].reply"), least);
                }
            }
        }
        Server {
            name: raw.name,
            protocol,
            bind,
            port: raw.port.unwrap_or(0),
            backlog,
            read_size,
            concurrency: raw.concurrency.unwrap_or_default(),
            framing: raw.framing.unwrap_or_default(),
            greeting,
            delay: raw.delay.map(|d| d.0),
            rules,
            faults,
            outside: None,
            program,
        }
    }

    fn rule(&mut self, path: &str, raw: RawRule) -> Rule {
        let reply = raw.reply.map(|payload| {
            let reply_path = join(path, "reply");
            match payload {
                RawPayload::Text(text) => {
                    let pieces = self.pieces(&reply_path, &text, Syntax::Text, Scope::Reply);
                    Reply::from_pieces(pieces)
                }
                other => {
                    let other = self.fill_payload(&reply_path, other, Scope::Reply);
                    Reply {
                        parts: vec![ReplyPart::Literal(self.payload(&reply_path, other))],
                    }
                }
            }
        });
        let matcher = raw.matcher.map(|m| {
            let at = join(path, "match");
            let m = self.fill_matcher(&at, m, Scope::Shared);
            self.matcher(&at, m)
        });
        Rule {
            matcher,
            reply,
            delay: raw.delay.map(|d| d.0),
            close: raw.close.unwrap_or(false),
            lose_first: raw.lose_first.unwrap_or(0),
        }
    }
}
