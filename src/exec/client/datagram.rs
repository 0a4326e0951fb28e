//! The UDP side of a client instance: a socket connected to its server (so that only the
//! server's datagrams arrive and an ICMP "port unreachable" is reported), `send` as one datagram,
//! `expect` as exactly one datagram, `expect_nothing` as no datagram for a while.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::super::cancel::Cancel;
use super::super::ports;
use super::super::socket::{self, DatagramResult, TimedSocket};
use super::UNFILLED;
use super::report::{Proceed, Reporter};
use crate::diagnostic::io_reason;
use crate::event::{FailureKind, StepOutcome};
use crate::matcher::Matcher;
use crate::plan::deadline_after;
use crate::scenario::{Payload, Step};

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

/// Binds a socket of the target's family on any port and connects it to the target: the first
/// address, or, among loopback addresses of one name, the first a UDP socket is bound on. The link
/// and its local and remote addresses, or why there is none.
pub(super) fn connect(
    addrs: &[SocketAddr],
) -> Result<(DatagramLink, (SocketAddr, SocketAddr)), FailureKind> {
    let Some(target) = udp_target(addrs, ports::udp_bound_in_family) else {
        return Err(FailureKind::ConnectFailed(
            "no address to connect to".into(),
        ));
    };
    let any: IpAddr = if target.is_ipv6() {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let failed = |e: std::io::Error| FailureKind::ConnectFailed(io_reason(&e));
    let socket = socket::bind_udp(SocketAddr::new(any, 0)).map_err(failed)?;
    let local = socket
        .connect(target)
        .and_then(|()| socket.local_addr())
        .map_err(failed)?;
    let link = DatagramLink {
        socket: TimedSocket::new(socket),
        scratch: Vec::new(),
        held: None,
    };
    // Where the datagrams really go (`0.0.0.0:P` reaches the local host).
    let remote = link.socket.peer_addr().unwrap_or(target);
    Ok((link, (socket::canonical(local), socket::canonical(remote))))
}

/// A client's connected UDP socket.
pub(in crate::exec) struct DatagramLink {
    socket: TimedSocket,
    /// What each datagram is received into.
    scratch: Vec<u8>,
    /// A datagram that came after an `expect_nothing`'s quiet time (its receive woke late: the
    /// kernel's timer ticks), for the next step.
    held: Option<Vec<u8>>,
}

impl DatagramLink {
    /// Runs step `index` (one of the steps on a connection; the instance runs the others).
    pub fn step(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        step: &Step,
        timeout: Duration,
    ) -> Proceed {
        match step {
            Step::Send(payload) => self.send(r, index, payload),
            Step::Expect { matcher, .. } => self.expect(r, index, matcher, timeout),
            Step::ExpectNothing(quiet) => {
                let quiet = r.context.scale.pause(*quiet);
                self.expect_nothing(r, index, quiet)
            }
            // Refused at load time for UDP: a datagram socket has no stream to close or read.
            Step::ExpectClose { .. }
            | Step::ExpectReset { .. }
            | Step::ReadToClose { .. }
            | Step::ShutdownWrite => r.fail(Some(index), FailureKind::NotConnected, Vec::new()),
            // Not a step on a connection: `Instance::step` runs it.
            _ => Ok(()),
        }
    }

    /// `send`: the bytes as one datagram.
    fn send(&mut self, r: &mut Reporter<'_>, index: usize, payload: &Payload) -> Proceed {
        if r.passes_unreported {
            r.unreported_datagrams += 1;
        } else {
            r.report(Some(index), StepOutcome::Sending(payload.clone()));
        }
        // `validate` streams only TCP payloads: a datagram's are in memory.
        let built;
        let bytes = match payload {
            Payload::Bytes(bytes) => bytes.as_slice(),
            Payload::Repeat { .. } => {
                built = payload.to_bytes();
                built.as_slice()
            }
            Payload::Captured(_) => {
                return r.fail(Some(index), FailureKind::Io(UNFILLED.into()), Vec::new());
            }
        };
        match self.socket.send(bytes) {
            Ok(n) if n == bytes.len() => Ok(()),
            Ok(n) => r.fail(
                Some(index),
                FailureKind::Io(format!("only {n} of {} bytes were sent", bytes.len())),
                Vec::new(),
            ),
            Err(e) => r.fail(Some(index), FailureKind::Io(io_reason(&e)), Vec::new()),
        }
    }

    /// Receives one datagram before `deadline`.
    fn next_datagram(
        &mut self,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Vec<u8>, DatagramResult> {
        if let Some(datagram) = self.held.take() {
            return Ok(datagram);
        }
        if self.scratch.len() < socket::MAX_DATAGRAM {
            self.scratch.resize(socket::MAX_DATAGRAM, 0);
        }
        match socket::recv_datagram(&self.socket, &mut self.scratch, Some(deadline), cancel) {
            DatagramResult::Datagram(n, _) => Ok(self.scratch[..n].to_vec()),
            other => Err(other),
        }
    }

    /// `expect`: exactly one datagram, matched as a whole.
    fn expect(
        &mut self,
        r: &mut Reporter<'_>,
        index: usize,
        matcher: &Matcher,
        timeout: Duration,
    ) -> Proceed {
        let deadline = deadline_after(Instant::now(), timeout);
        match self.next_datagram(deadline, &r.context.cancel) {
            Ok(datagram) if matcher.matches_whole(&datagram) => {
                r.capture(index, &datagram)?;
                r.matched(index, datagram);
                Ok(())
            }
            Ok(datagram) => r.fail(Some(index), FailureKind::Mismatch, datagram),
            Err(result) => failure(r, index, result, timeout),
        }
    }

    /// `expect_nothing`: no datagram for `quiet`.
    fn expect_nothing(&mut self, r: &Reporter<'_>, index: usize, quiet: Duration) -> Proceed {
        let deadline = deadline_after(Instant::now(), quiet);
        let received = self.next_datagram(deadline, &r.context.cancel);
        match received {
            // After the quiet time (the receive's timeout is counted in the kernel's ticks, and
            // may end a few milliseconds late): the quiet held; the datagram is the next step's.
            Ok(datagram) if Instant::now() >= deadline => {
                self.held = Some(datagram);
                r.report(Some(index), StepOutcome::Quiet);
                Ok(())
            }
            Ok(datagram) => r.fail(Some(index), FailureKind::UnexpectedData, datagram),
            Err(DatagramResult::Timeout) => {
                r.report(Some(index), StepOutcome::Quiet);
                Ok(())
            }
            Err(result) => failure(r, index, result, quiet),
        }
    }
}

/// Fails a reading step according to what the receive gave.
fn failure(r: &Reporter<'_>, index: usize, result: DatagramResult, timeout: Duration) -> Proceed {
    let kind = match result {
        DatagramResult::Timeout => FailureKind::Timeout(timeout),
        DatagramResult::Stopped => FailureKind::Stopped,
        DatagramResult::Failed(e) => FailureKind::Io(io_reason(&e)),
        DatagramResult::Datagram(..) => FailureKind::UnexpectedData,
    };
    r.fail(Some(index), kind, Vec::new())
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
