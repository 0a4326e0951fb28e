//! Before anything runs: every server is bound (TCP listener with its backlog, UDP socket) or, for
//! a program under test, started and waited for until it is ready. Any refusal here is the
//! environment's (exit code 3) and stops the run before a client starts; programs already started
//! are stopped again when their handles drop.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};

use super::cancel::Cancel;
use super::ports::{self, Holder};
use super::program::{self, NotReady, Running};
use super::socket;
use super::tls::RunTls;
use crate::event::{InstanceId, ProgramFailure, ReadyBound};
use crate::plan::TimeScale;
use crate::scenario::{Protocol, Scenario, Server, ServerProgram, Target};

/// A server, ready to serve.
pub enum Bound {
    /// A listening TCP socket.
    Tcp(TcpListener),
    /// A bound UDP socket.
    Udp(UdpSocket),
    /// A program under test, started and ready.
    Program(Running),
    /// A program under test that started but failed before it was ready (its own failure: the
    /// run goes on to report it, without starting any client).
    ProgramFailed(ProgramFailure),
    /// Served from outside the run (`--target`): nothing started, its clients dial its address.
    Outside,
}

/// What bounds the start of programs under test.
pub struct Startup<'a> {
    /// Set by Ctrl-C.
    pub cancel: &'a Cancel,
    /// The run's time scale (`ready_timeout` and `ready_after` are scaled like any duration).
    pub scale: TimeScale,
    /// When the scenario's `timeout` ends (`None`: never, as under `netlab serve`): a program's
    /// start is part of the run it bounds.
    pub deadline: Option<Instant>,
    /// The scenario's `timeout` as declared (for messages).
    pub scenario_timeout: Duration,
    /// The run's TLS (the certificate files a program in a TLS server's place is given).
    pub tls: &'a RunTls,
}

/// Binds or starts every server of `scenario`, in order; each with the address clients dial
/// (`None` for a server outside the run: they dial its `outside` address). After a program under
/// test that failed to get ready, no further server is started (no client will run): the list
/// then ends with that failure.
pub fn bind_all(
    scenario: &Scenario,
    startup: &Startup<'_>,
) -> anyhow::Result<Vec<(Bound, Option<SocketAddr>)>> {
    let mut bound = Vec::new();
    for (index, server) in scenario.servers.iter().enumerate() {
        let (socket, addr) = match (&server.outside, &server.program) {
            (Some(_), _) => {
                bound.push((Bound::Outside, None));
                continue;
            }
            (None, Some(program)) => start_program((index, server), program, startup)?,
            (None, None) => bind(server, server.port)?,
        };
        let next = (socket, Some(addr));
        let failed = matches!(next.0, Bound::ProgramFailed(_));
        bound.push(next);
        if failed {
            break;
        }
    }
    Ok(bound)
}

/// A way in of its own to a server of netlab's, for one instance of a client that is a program
/// under test (see `exec::entrance`).
pub struct ProgramEntrance {
    /// The server's index.
    pub server: usize,
    /// The program's instance.
    pub owner: InstanceId,
    /// Its socket (`Bound::Tcp` or `Bound::Udp`), on a free port of the server's address.
    pub socket: Bound,
    /// Its address.
    pub addr: SocketAddr,
}

/// Binds a way in of its own, on a free port, for every instance of a client program of each
/// server of netlab's in `bound` (the result of `bind_all`).
pub fn bind_program_entrances(
    scenario: &Scenario,
    bound: &[(Bound, Option<SocketAddr>)],
) -> anyhow::Result<Vec<ProgramEntrance>> {
    let mut entrances = Vec::new();
    for (client_index, client) in scenario.clients.iter().enumerate() {
        let Target::Server(server) = client.target else {
            continue;
        };
        if !client.is_program()
            || !matches!(bound.get(server), Some((Bound::Tcp(_) | Bound::Udp(_), _)))
        {
            continue;
        }
        for instance in 1..=client.count {
            let (socket, addr) = bind(&scenario.servers[server], 0)?;
            entrances.push(ProgramEntrance {
                server,
                owner: InstanceId {
                    client: client_index,
                    instance,
                },
                socket,
                addr,
            });
        }
    }
    Ok(entrances)
}

/// Binds `server`'s socket on `port` of its address.
fn bind(server: &Server, port: u16) -> anyhow::Result<(Bound, SocketAddr)> {
    let wanted = SocketAddr::new(server.bind, port);
    let failed = || {
        format!(
            "server `{}`: cannot bind {} {wanted}",
            server.name,
            server.protocol.name()
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

/// Starts a program under test on its port (a free one, unless `port:` is given, which must be
/// free) and waits until it is ready: a socket on its port that belongs to it. The command that
/// cannot be executed and the fixed port another process holds are the environment's refusals
/// (`Err`); a program that exits or never gets ready has failed (`Bound::ProgramFailed`).
fn start_program(
    (index, server): (usize, &Server),
    program: &ServerProgram,
    startup: &Startup<'_>,
) -> anyhow::Result<(Bound, SocketAddr)> {
    let port = match server.port {
        0 => free_port(server)?,
        port => {
            ensure_free(server, port)?;
            port
        }
    };
    let addr = SocketAddr::new(server.bind, port);
    let dial = socket::loopback_of(addr);
    let files = startup.tls.program_files(Some(index));
    let mut running = program::start(
        &program.program,
        &dial.ip().to_string(),
        port,
        None,
        (startup.scale, &files),
    )
    .map_err(|reason| anyhow!("server `{}`: the program under test {reason}", server.name))?;
    // Its `ready_timeout`, or what is left of the scenario's, whichever ends first.
    let mut wait = startup.scale.timeout(program.ready_timeout);
    let mut within = ReadyBound::ReadyTimeout(program.ready_timeout);
    if let Some(deadline) = startup.deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < wait {
            wait = left;
            within = ReadyBound::ScenarioTimeout(startup.scenario_timeout);
        }
    }
    let ready = running.wait_ready(
        server.protocol,
        dial,
        startup.scale.pause(program.ready_after),
        (wait, within),
        startup.cancel,
    );
    match ready {
        Ok(()) => Ok((Bound::Program(running), dial)),
        Err(NotReady::Failed(kind)) => {
            // A fixed port taken meanwhile by someone else (another netlab, a stale server) is
            // the environment's doing, however the program reacted to it.
            if server.port != 0
                && let Holder::Other(who) = ports::holder(server.protocol, port, None)
            {
                drop(running.stop());
                anyhow::bail!(
                    "server `{}`: port {port} was taken by {who} while its program under test started",
                    server.name
                );
            }
            let command = running.command().to_string();
            let stderr_tail = running.stderr_tail();
            drop(running.stop());
            let failure = ProgramFailure {
                command,
                kind,
                stderr_tail,
            };
            Ok((Bound::ProgramFailed(failure), dial))
        }
        Err(NotReady::Stopped) => {
            drop(running.stop());
            anyhow::bail!(
                "server `{}`: interrupted while its program under test was starting",
                server.name
            )
        }
    }
}

/// Refuses a fixed `port:` that another process holds, naming that process where `/proc` shows
/// it: a program under test would fail to bind it, and a check of readiness could be answered by
/// the stale process instead.
fn ensure_free(server: &Server, port: u16) -> anyhow::Result<()> {
    let wanted = SocketAddr::new(server.bind, port);
    let taken = match server.protocol {
        Protocol::Tcp => socket::listen(wanted, 1).err(),
        Protocol::Udp => socket::bind_udp(wanted).err(),
    };
    let Some(error) = taken else {
        return Ok(());
    };
    let holder = match ports::holder(server.protocol, port, None) {
        Holder::Other(who) => format!(" (held by {who})"),
        _ => String::new(),
    };
    Err(anyhow!(
        "server `{}`: port {port} is not free for its program under test: cannot bind {} {wanted}: {}{holder}",
        server.name,
        server.protocol.name(),
        crate::diagnostic::io_reason(&error)
    ))
}

/// A port that was free a moment ago on the server's address (the program binds it next).
fn free_port(server: &Server) -> anyhow::Result<u16> {
    let any = SocketAddr::new(server.bind, 0);
    let failed = || {
        format!(
            "server `{}`: cannot find a free {} port",
            server.name,
            server.protocol.name()
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
