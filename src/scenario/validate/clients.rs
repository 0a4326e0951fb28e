//! A client as written → a checked client: its name, where it connects (a server of the file
//! or an address) and so its protocol, how many run, its timeouts and limits, and its steps or
//! its program (checked in `steps` and `programs`).

use std::net::SocketAddr;
use std::time::Duration;

use super::checker::Checker;
use super::fields::Unit;
use super::programs::Vars;
use super::steps::FlatSteps;
use crate::diagnostic::did_you_mean;
use crate::scenario::model::{Client, Server, Target};
use crate::scenario::positions::join;
use crate::scenario::raw::{Protocol, RawClient, RawSize};

/// Default timeout of connect and of the reading steps.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default cap on the bytes one reading step gathers.
pub const DEFAULT_MAX_RECEIVED: usize = 16 << 20;
const MAX_COUNT: u32 = 10_000;

impl Checker<'_> {
    /// The checked client written at `path`, named `name`; `None` when its `connect` names no
    /// server of the file (that is reported; the rest of it is checked all the same).
    pub(super) fn client(
        &mut self,
        path: &str,
        name: String,
        mut raw: RawClient,
        servers: &[Server],
        vars: &Vars,
    ) -> Option<Client> {
        let program_steps = self.client_program(path, &mut raw, vars);
        if raw.name.is_some() {
            self.check_name(&join(path, "name"), &name);
        }
        let target = self.target(&join(path, "connect"), &raw.connect, servers);
        let server_protocol = match &target {
            Some(Target::Address(_)) => None,
            named => {
                self.refuse_fields(
                    path,
                    &[(raw.protocol.is_some(), "protocol")],
                    "is only for clients that `connect` to an address",
                    Some("a client of a named server uses that server's protocol"),
                );
                // A name that is no server's is checked as if it were the first server's.
                let server = match named {
                    Some(Target::Server(i)) => servers.get(*i),
                    _ => servers.first(),
                };
                Some(server.map_or(Protocol::Tcp, |s| s.protocol))
            }
        };
        let protocol = client_protocol(server_protocol, raw.protocol);
        let count = raw.count.map_or(1, |n| {
            let count_path = join(path, "count");
            let n = self.within_one_to(
                &count_path,
                "`count`",
                n.into(),
                MAX_COUNT.into(),
                Unit::Plain,
            );
            u32::try_from(n).unwrap_or(MAX_COUNT)
        });
        let timeout = self.positive(&join(path, "timeout"), raw.timeout, DEFAULT_STEP_TIMEOUT);
        let (steps, paths, hints) = match program_steps {
            Some(steps) => {
                let hints = vec![raw.hint.clone(); steps.len()];
                let paths = (0..steps.len()).map(|i| format!("exec ({i})")).collect();
                (steps, paths, hints)
            }
            None => {
                if raw.hint.is_some() {
                    self.at_key(
                        &join(path, "hint"),
                        "a client's `hint` is for a program under test (`exec:`)",
                    )
                    .add_help("put `hint:` beside the step it explains");
                }
                let mut flat = FlatSteps::default();
                self.steps(path, "steps", raw.steps, protocol, &mut flat);
                (flat.steps, flat.paths, flat.hints)
            }
        };
        let max_received = raw.max_received.map_or(DEFAULT_MAX_RECEIVED, |RawSize(n)| {
            let max_path = join(path, "max_received");
            let n = self.within_one_to(&max_path, "`max_received`", n, u64::MAX, Unit::Bytes);
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        Some(Client {
            name,
            target: target?,
            protocol,
            count,
            start_after: raw.start_after.map_or(Duration::ZERO, |d| d.0),
            timeout,
            steps,
            paths,
            hints,
            max_received,
        })
    }

    /// Where the `connect` value `connect` (at `path`) leads: a server of the file, or an
    /// address; `None`, reported, when it is neither.
    fn target(&mut self, path: &str, connect: &str, servers: &[Server]) -> Option<Target> {
        if let Some(i) = servers.iter().position(|s| s.name == connect) {
            return Some(Target::Server(i));
        }
        match address_shape(connect) {
            AddressShape::Valid => return Some(Target::Address(connect.to_string())),
            AddressShape::BadPort => {
                self.at_value(
                    path,
                    format!("cannot connect to `{connect}`: the port must be 1 to 65535"),
                );
                return Some(Target::Address(connect.to_string()));
            }
            AddressShape::NotAnAddress => {}
        }
        let guess = did_you_mean(connect, servers.iter().map(|s| s.name.as_str()));
        let known: Vec<String> = servers.iter().map(|s| format!("`{}`", s.name)).collect();
        let diagnostic = self.at_value(path, format!("unknown server `{connect}` in `connect`"));
        if let Some(guess) = guess {
            diagnostic.label = Some(format!("did you mean `{guess}`?"));
        }
        diagnostic.help = Some(if known.is_empty() {
            "no server is declared: `connect` takes a server's name or `host:port`".to_string()
        } else {
            format!(
                "`connect` takes a server's name ({}) or `host:port`",
                known.join(", ")
            )
        });
        None
    }
}

/// The name of the `index`th of `total` clients: the one written, else `client` for the only
/// one, else `client1`, `client2`…
pub(super) fn client_name(written: Option<&String>, index: usize, total: usize) -> String {
    match written {
        Some(name) => name.clone(),
        None if total == 1 => "client".to_string(),
        None => format!("client{}", index + 1),
    }
}

/// The protocol of a client: its server's (`server`), else for an address the one it wrote,
/// else tcp.
pub(super) fn client_protocol(server: Option<Protocol>, written: Option<Protocol>) -> Protocol {
    server.or(written).unwrap_or(Protocol::Tcp)
}

/// What a `connect` value that is not a server name looks like.
#[derive(Debug, PartialEq, Eq)]
enum AddressShape {
    /// `host:port` or `[v6]:port` with a usable port.
    Valid,
    /// Looks like an address but cannot be dialled (port 0 or out of range).
    BadPort,
    /// Not an address: a (misspelt?) server name.
    NotAnAddress,
}

fn address_shape(text: &str) -> AddressShape {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return if addr.port() == 0 {
            AddressShape::BadPort
        } else {
            AddressShape::Valid
        };
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return AddressShape::NotAnAddress;
    };
    let host_ok = !host.is_empty()
        && !host.contains(':')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']'));
    if !host_ok || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
        return AddressShape::NotAnAddress;
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => AddressShape::Valid,
        _ => AddressShape::BadPort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_told_from_names() {
        assert_eq!(address_shape("127.0.0.1:9999"), AddressShape::Valid);
        assert_eq!(address_shape("[::1]:80"), AddressShape::Valid);
        assert_eq!(address_shape("localhost:8080"), AddressShape::Valid);
        assert_eq!(address_shape("hello"), AddressShape::NotAnAddress);
        assert_eq!(address_shape("host:port"), AddressShape::NotAnAddress);
        assert_eq!(address_shape("127.0.0.1:0"), AddressShape::BadPort);
        assert_eq!(address_shape("localhost:70000"), AddressShape::BadPort);
    }
}
