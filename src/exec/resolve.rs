//! Name resolution for `connect: "host:port"`, bounded by the connect's timeout (itself within the
//! scenario's) and stopped by the run's stop signal. getaddrinfo(3) has no timeout and cannot be
//! interrupted, so it runs on a thread of its own that the client stops waiting for; the thread
//! ends when the resolver gives up (no crate resolves with the system's configuration — nsswitch,
//! /etc/hosts, resolv.conf — and a timeout both).

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crossbeam::channel::{bounded, select};

use super::cancel::Cancel;
use crate::diagnostic::io_reason;

/// What a bounded resolution gave.
#[derive(Debug)]
pub enum Resolved {
    /// The addresses of the name, in the resolver's order.
    Addresses(Vec<SocketAddr>),
    /// The resolver said no (an unknown host…), in words.
    Failed(String),
    /// No answer within the timeout.
    TimedOut,
    /// The run stopped meanwhile.
    Stopped,
}

/// Resolves `name` (`host:port`) within `timeout`, unless `cancel` fires first.
pub fn resolve(name: &str, timeout: Duration, cancel: &Cancel) -> Resolved {
    let (tx, rx) = bounded(1);
    let owned = name.to_string();
    let spawned = std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let answer = owned
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
                .map_err(|e| io_reason(&e));
            let _ = tx.send(answer);
        });
    if let Err(e) = spawned {
        return Resolved::Failed(format!(
            "cannot start a thread to resolve: {}",
            io_reason(&e)
        ));
    }
    select! {
        recv(rx) -> answer => match answer {
            Ok(Ok(addresses)) => Resolved::Addresses(addresses),
            Ok(Err(reason)) => Resolved::Failed(reason),
            Err(_) => Resolved::Failed("the resolver thread ended without an answer".into()),
        },
        recv(cancel.receiver()) -> _ => Resolved::Stopped,
        default(timeout) => Resolved::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_resolves_at_once() {
        let (_stop, cancel) = super::super::cancel::pair();
        assert!(matches!(
            resolve("127.0.0.1:80", Duration::from_secs(5), &cancel),
            Resolved::Addresses(a) if a.len() == 1
        ));
    }

    #[test]
    fn a_stopped_run_stops_waiting_for_the_resolver() {
        let (mut stop, cancel) = super::super::cancel::pair();
        stop.stop();
        // Whatever the resolver does, the answer is not waited for.
        let answer = resolve("netlab-test.invalid:80", Duration::from_secs(30), &cancel);
        assert!(
            matches!(answer, Resolved::Stopped | Resolved::Failed(_)),
            "{answer:?}"
        );
    }
}
