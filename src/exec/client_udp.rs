//! The UDP side of a client instance: a socket connected to its server (so that only the
//! server's datagrams arrive and an ICMP "port unreachable" is reported), `send` as one datagram,
//! `expect` as exactly one datagram, `expect_nothing` as no datagram for a while.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::client::{Instance, StepResult};
use super::ports;
use super::socket::{self, DatagramResult, TimedSocket};
use crate::diagnostic::io_reason;
use crate::event::{FailureKind, StepOutcome};
use crate::matcher::Matcher;
use crate::plan::deadline_after;
use crate::scenario::Payload;

/// The address a UDP client connects to: among loopback addresses of one name, the first a UDP
/// socket is bound on (`bound`), else the first.
fn udp_target(
    addrs: &[SocketAddr],
    bound: impl Fn(SocketAddr) -> Option<bool>,
) -> Option<SocketAddr> {
    let on_loopback = addrs.iter().all(|a| a.ip().is_loopback());
    let listened = addrs
        .iter()
        .find(|a| on_loopback && bound(**a) == Some(true));
    listened.or(addrs.first()).copied()
}

impl Instance<'_> {
    /// Binds a socket of the target's family on any port and connects it to the target: the first
    /// address, or, among loopback addresses of one name, the first a UDP socket is bound on.
    pub(super) fn connect_udp(&mut self, addrs: &[SocketAddr]) -> StepResult {
        let Some(target) = udp_target(addrs, ports::udp_bound_in_family) else {
            return self.fail(
                None,
                FailureKind::ConnectFailed("no address to connect to".into()),
                Vec::new(),
            );
        };
        let any: IpAddr = if target.is_ipv6() {
            Ipv6Addr::UNSPECIFIED.into()
        } else {
            Ipv4Addr::UNSPECIFIED.into()
        };
        let socket = match socket::bind_udp(SocketAddr::new(any, 0)) {
            Ok(socket) => socket,
            Err(e) => {
                return self.fail(None, FailureKind::ConnectFailed(io_reason(&e)), Vec::new());
            }
        };
        let local = socket.connect(target).and_then(|()| socket.local_addr());
        match local {
            Ok(local) => {
                self.datagrams = Some(TimedSocket::new(socket));
                self.report(
                    None,
                    StepOutcome::Connected {
                        local: socket::canonical(local),
                    },
                );
                Ok(())
            }
            Err(e) => self.fail(None, FailureKind::ConnectFailed(io_reason(&e)), Vec::new()),
        }
    }

    /// `send`: the bytes as one datagram.
    pub(super) fn send_datagram(&mut self, index: usize, payload: &Payload) -> StepResult {
        if self.quiet {
            self.unreported_datagrams += 1;
        } else {
            self.report(Some(index), StepOutcome::Sending(payload.clone()));
        }
        // `validate` streams only TCP payloads: a datagram's are in memory.
        let built;
        let bytes = match payload {
            Payload::Bytes(bytes) => bytes.as_slice(),
            Payload::Repeat { .. } => {
                built = payload.to_bytes();
                built.as_slice()
            }
        };
        let Some(socket) = self.datagrams.as_ref() else {
            return self.fail(Some(index), FailureKind::NotConnected, Vec::new());
        };
        match socket.send(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => self.fail(
                Some(index),
                FailureKind::Io(format!("only {n} of {} bytes were sent", bytes.len())),
                Vec::new(),
            ),
            Err(e) => self.fail(Some(index), FailureKind::Io(io_reason(&e)), Vec::new()),
        }
    }

    /// Receives one datagram before `deadline`.
    fn next_datagram(&mut self, deadline: Instant) -> Result<Vec<u8>, DatagramResult> {
        if self.scratch.len() < socket::MAX_DATAGRAM {
            self.scratch.resize(socket::MAX_DATAGRAM, 0);
        }
        let Some(socket) = self.datagrams.as_ref() else {
            return Err(DatagramResult::Failed(
                std::io::ErrorKind::NotConnected.into(),
            ));
        };
        match socket::recv_datagram(
            socket,
            &mut self.scratch,
            Some(deadline),
            &self.context.cancel,
        ) {
            DatagramResult::Datagram(n, _) => Ok(self.scratch[..n].to_vec()),
            other => Err(other),
        }
    }

    fn datagram_failure(
        &self,
        index: usize,
        result: DatagramResult,
        timeout: Duration,
    ) -> StepResult {
        let kind = match result {
            DatagramResult::Timeout => FailureKind::Timeout(timeout),
            DatagramResult::Stopped => FailureKind::Stopped,
            DatagramResult::Failed(_) if self.datagrams.is_none() => FailureKind::NotConnected,
            DatagramResult::Failed(e) => FailureKind::Io(io_reason(&e)),
            DatagramResult::Datagram(..) => FailureKind::UnexpectedData,
        };
        self.fail(Some(index), kind, Vec::new())
    }

    /// `expect`: exactly one datagram, matched as a whole.
    pub(super) fn expect_datagram(
        &mut self,
        index: usize,
        matcher: &Matcher,
        timeout: Duration,
    ) -> StepResult {
        match self.next_datagram(deadline_after(Instant::now(), timeout)) {
            Ok(datagram) if matcher.matches_whole(&datagram) => {
                self.consumed += datagram.len() as u64;
                if self.quiet {
                    return Ok(());
                }
                self.report(Some(index), StepOutcome::Matched(datagram));
                Ok(())
            }
            Ok(datagram) => self.fail(Some(index), FailureKind::Mismatch, datagram),
            Err(result) => self.datagram_failure(index, result, timeout),
        }
    }

    /// `expect_nothing`: no datagram for `quiet`.
    pub(super) fn quiet_datagrams(&mut self, index: usize, quiet: Duration) -> StepResult {
        match self.next_datagram(deadline_after(Instant::now(), quiet)) {
            Ok(datagram) => self.fail(Some(index), FailureKind::UnexpectedData, datagram),
            Err(DatagramResult::Timeout) => {
                self.report(Some(index), StepOutcome::Quiet);
                Ok(())
            }
            Err(result) => self.datagram_failure(index, result, quiet),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_udp_client_of_localhost_picks_the_family_a_server_is_bound_in() {
        // Before: always the first address (`::1`), and "connection refused" from a server on
        // 127.0.0.1.
        let v6: SocketAddr = "[::1]:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let v4: SocketAddr = "127.0.0.1:5000".parse().unwrap_or_else(|e| panic!("{e}"));
        let only_v4 = |a: SocketAddr| Some(a.is_ipv4());
        assert_eq!(udp_target(&[v6, v4], only_v4), Some(v4));
        assert_eq!(udp_target(&[v6, v4], |_| None), Some(v6));
        assert_eq!(udp_target(&[], only_v4), None);
    }
}
