//! Before anything runs: every server is bound (TCP listener with its backlog, UDP socket) or, for
//! a program under test, started and waited for until it is ready. Any refusal here is the
//! environment's (exit code 3) and stops the run before a client starts; programs already started
//! are stopped again when their handles drop.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use anyhow::{Context as _, anyhow};

use super::cancel::Cancel;
use super::program::{self, Running};
use super::socket;
use crate::scenario::{Protocol, Scenario, Server, ServerProgram};

/// Lines of a failed program's stderr quoted in the error.
const STDERR_LINES: usize = 15;

/// A server, ready to serve.
pub enum Bound {
    /// A listening TCP socket.
    Tcp(TcpListener),
    /// A bound UDP socket.
    Udp(UdpSocket),
    /// A program under test, started and ready.
    Program(Running),
}

/// Binds or starts every server of `scenario`, in order; each with the address clients dial.
pub fn bind_all(scenario: &Scenario, cancel: &Cancel) -> anyhow::Result<Vec<(Bound, SocketAddr)>> {
    scenario
        .servers
        .iter()
        .map(|server| match &server.program {
            Some(program) => start_program(server, program, cancel),
            None => bind(server),
        })
        .collect()
}

fn bind(server: &Server) -> anyhow::Result<(Bound, SocketAddr)> {
    let wanted = SocketAddr::new(server.bind, server.port);
    let failed = || {
        format!(
            "server `{}`: cannot bind {} {wanted}",
            server.name,
            protocol_name(server.protocol)
        )
    };
    Ok(match server.protocol {
        Protocol::Tcp => {
            let listener = socket::listen(wanted, server.backlog).with_context(failed)?;
            let addr = listener.local_addr().with_context(failed)?;
            (Bound::Tcp(listener), addr)
        }
        Protocol::Udp => {
            let socket = socket::bind_udp(wanted).with_context(failed)?;
            let addr = socket.local_addr().with_context(failed)?;
            (Bound::Udp(socket), addr)
        }
    })
}

/// Starts a program under test on its port (a free one, unless `port:` is given) and waits
/// until it is ready: accepting connections (TCP), or still running after `ready_after` (UDP).
fn start_program(
    server: &Server,
    program: &ServerProgram,
    cancel: &Cancel,
) -> anyhow::Result<(Bound, SocketAddr)> {
    let port = match server.port {
        0 => free_port(server)?,
        port => port,
    };
    let addr = SocketAddr::new(server.bind, port);
    let dial = socket::loopback_of(addr);
    let shown = program.program.shown();
    let mut running =
        program::start(&program.program, &dial.ip().to_string(), port).map_err(|reason| {
            anyhow!(
                "server `{}`: the program under test `{shown}` would not start: {reason}",
                server.name
            )
        })?;
    let ready = match server.protocol {
        Protocol::Tcp => running.wait_accepting(dial, program.ready_timeout, cancel),
        Protocol::Udp => running.wait_running(program.ready_after, cancel),
    };
    if let Err(reason) = ready {
        let finished = running.stop();
        let mut message = format!(
            "server `{}`: the program under test `{shown}` {reason}",
            server.name
        );
        let stderr = program::tail(&finished.stderr, STDERR_LINES);
        if !stderr.is_empty() {
            message.push_str("\nits stderr ends with:");
            for line in stderr.lines() {
                message.push_str("\n  | ");
                message.push_str(line);
            }
        }
        return Err(anyhow!(message));
    }
    Ok((Bound::Program(running), dial))
}

/// A port that was free a moment ago on the server's address (the program binds it next).
fn free_port(server: &Server) -> anyhow::Result<u16> {
    let any = SocketAddr::new(server.bind, 0);
    let failed = || {
        format!(
            "server `{}`: cannot find a free {} port",
            server.name,
            protocol_name(server.protocol)
        )
    };
    let port = match server.protocol {
        Protocol::Tcp => TcpListener::bind(any).and_then(|l| l.local_addr()),
        Protocol::Udp => UdpSocket::bind(any).and_then(|s| s.local_addr()),
    }
    .with_context(failed)?
    .port();
    Ok(port)
}

fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    }
}
