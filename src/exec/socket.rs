//! Socket plumbing shared by servers and clients: binding a TCP listener with a real backlog and a
//! UDP socket (socket2, with explicit IPv6 options), and reads and writes that wake regularly to
//! honour deadlines and the stop signal.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::cancel::Cancel;

/// How often a blocked read or write wakes to check its deadline and the stop signal.
pub const TICK: Duration = Duration::from_millis(25);

/// The largest UDP payload; a datagram buffer of this size never truncates.
pub const MAX_DATAGRAM: usize = 65_536;

/// Binds a TCP listener on `addr` with `backlog`, as std would but with the backlog honoured.
pub fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    set_v6_only(&socket, addr);
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Binds a UDP socket on `addr`.
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    set_v6_only(&socket, addr);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// `::` serves IPv4 too (dual stack) where the OS allows it; any other IPv6 address only IPv6.
/// The OS default varies (`bindv6only`), so it is always set explicitly.
fn set_v6_only(socket: &Socket, addr: SocketAddr) {
    if addr.is_ipv6() {
        let _ = socket.set_only_v6(!addr.ip().is_unspecified());
    }
}

/// Wakes a thread blocked in `accept` on `listener` (the coordinator calls this on stop).
pub fn wake_acceptor(listener: &TcpListener) {
    let _ = SockRef::from(listener).shutdown(Shutdown::Both);
    #[cfg(not(target_os = "linux"))]
    if let Ok(addr) = listener.local_addr() {
        let _ = TcpStream::connect_timeout(&loopback_of(addr), TICK);
    }
}

/// Wakes a thread blocked in `recv_from` on `socket` (the coordinator calls this on stop); the
/// thread also wakes by itself within a tick.
pub fn wake_receiver(socket: &UdpSocket) {
    let _ = SockRef::from(socket).shutdown(Shutdown::Both);
}

/// The address to dial to reach a listener bound to `addr` (unspecified → loopback).
pub fn loopback_of(addr: SocketAddr) -> SocketAddr {
    let mut dial = addr;
    if addr.ip().is_unspecified() {
        dial.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    dial
}

/// Maps `::ffff:a.b.c.d` to `a.b.c.d`, so that both sides name a peer the same way.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// A socket timeout as last set, so that it is set again only when it changes (one
/// `setsockopt` per change, not per call).
#[derive(Debug, Default)]
struct LastTimeout(std::cell::Cell<Option<Duration>>);

impl LastTimeout {
    /// Sets `wait` with `set`, unless it is already the timeout.
    fn apply(
        &self,
        wait: Duration,
        set: impl FnOnce(Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.0.get() != Some(wait) {
            set(Some(wait))?;
            self.0.set(Some(wait));
        }
        Ok(())
    }
}

/// A TCP stream that remembers the timeouts last set on it, so that a bounded read or write
/// calls `setsockopt` only when its timeout changes, not once per call (the data path of a
/// connection is then one syscall per read or write, as in a plain program).
#[derive(Debug)]
pub struct TimedStream {
    stream: TcpStream,
    read_timeout: LastTimeout,
    write_timeout: LastTimeout,
}

impl TimedStream {
    /// Wraps `stream`; the first read or write sets its timeout.
    pub fn new(stream: TcpStream) -> TimedStream {
        TimedStream {
            stream,
            read_timeout: LastTimeout::default(),
            write_timeout: LastTimeout::default(),
        }
    }
}

impl std::ops::Deref for TimedStream {
    type Target = TcpStream;
    fn deref(&self) -> &TcpStream {
        &self.stream
    }
}

/// A UDP socket that remembers the read timeout last set on it (see `TimedStream`).
#[derive(Debug)]
pub struct TimedSocket {
    socket: UdpSocket,
    read_timeout: LastTimeout,
}

impl TimedSocket {
    /// Wraps `socket`; the first receive sets its timeout.
    pub fn new(socket: UdpSocket) -> TimedSocket {
        TimedSocket {
            socket,
            read_timeout: LastTimeout::default(),
        }
    }
}

impl std::ops::Deref for TimedSocket {
    type Target = UdpSocket;
    fn deref(&self) -> &UdpSocket {
        &self.socket
    }
}

/// What one bounded read gave.
#[derive(Debug)]
pub enum ReadResult {
    /// Some bytes were appended.
    Data,
    /// The peer closed (or half-closed) its side.
    Eof,
    /// The deadline passed with nothing read.
    Timeout,
    /// The run is stopping.
    Stopped,
    /// The socket failed.
    Failed(io::Error),
}

/// Reads once (at most `scratch.len()` bytes) and appends to `into`, waiting at most until
/// `deadline` (forever if `None`, but always waking for the stop signal).
pub fn read_some(
    stream: &mut TimedStream,
    scratch: &mut [u8],
    into: &mut Vec<u8>,
    deadline: Option<Instant>,
    cancel: &Cancel,
) -> ReadResult {
    loop {
        if cancel.is_set() {
            return ReadResult::Stopped;
        }
        let Some(wait) = next_wait(deadline) else {
            return ReadResult::Timeout;
        };
        let timeout = &stream.read_timeout;
        if let Err(e) = timeout.apply(wait, |t| stream.stream.set_read_timeout(t)) {
            return ReadResult::Failed(e);
        }
        match stream.stream.read(scratch) {
            Ok(0) => return ReadResult::Eof,
            Ok(n) => {
                into.extend_from_slice(&scratch[..n]);
                return ReadResult::Data;
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return ReadResult::Failed(e),
        }
    }
}

/// How long the next blocking call may wait: a tick, or less when `deadline` is nearer; `None`
/// once the deadline has passed.
fn next_wait(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        Some(deadline) => {
            let left = deadline.saturating_duration_since(Instant::now());
            (!left.is_zero()).then(|| left.min(TICK))
        }
        None => Some(TICK),
    }
}

/// What one bounded datagram receive gave.
#[derive(Debug)]
pub enum DatagramResult {
    /// A datagram of this many bytes (the whole datagram, up to `MAX_DATAGRAM`) from this peer.
    Datagram(usize, SocketAddr),
    /// The deadline passed with nothing received.
    Timeout,
    /// The run is stopping.
    Stopped,
    /// The socket failed (on a connected socket, an ICMP "port unreachable" shows here).
    Failed(io::Error),
}

/// Receives one datagram into `buf`, waiting at most until `deadline` (forever if `None`, but
/// always waking for the stop signal).
pub fn recv_datagram(
    socket: &TimedSocket,
    buf: &mut [u8],
    deadline: Option<Instant>,
    cancel: &Cancel,
) -> DatagramResult {
    loop {
        if cancel.is_set() {
            return DatagramResult::Stopped;
        }
        let Some(wait) = next_wait(deadline) else {
            return DatagramResult::Timeout;
        };
        let timeout = &socket.read_timeout;
        if let Err(e) = timeout.apply(wait, |t| socket.socket.set_read_timeout(t)) {
            return DatagramResult::Failed(e);
        }
        match socket.recv_from(buf) {
            Ok(_) if cancel.is_set() => return DatagramResult::Stopped,
            Ok((n, peer)) => return DatagramResult::Datagram(n, canonical(peer)),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            // `wake_receiver` shuts the socket down to wake this call: that is the stop.
            Err(_) if cancel.is_set() => return DatagramResult::Stopped,
            Err(e) => return DatagramResult::Failed(e),
        }
    }
}

/// Writes all of `bytes`, waking every tick to honour the stop signal.
pub fn write_all(stream: &mut TimedStream, bytes: &[u8], cancel: &Cancel) -> io::Result<()> {
    let timeout = &stream.write_timeout;
    timeout.apply(TICK, |t| stream.stream.set_write_timeout(t))?;
    let mut written = 0;
    while written < bytes.len() {
        match stream.stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if cancel.is_set() {
                    return Err(io::Error::other("stopped while writing"));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A read or write timeout: `WouldBlock` on Unix, `TimedOut` elsewhere.
pub fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backlog given is the one the kernel uses (`ss` shows it as Send-Q of a listener).
    #[test]
    fn listen_honours_the_backlog() {
        let Ok(listener) = listen(SocketAddr::from(([127, 0, 0, 1], 0)), 7) else {
            panic!("cannot listen on loopback");
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let filter = format!("sport = :{port}");
        let Ok(output) = std::process::Command::new("ss")
            .args(["-Hltn", &filter])
            .output()
        else {
            eprintln!("skipped listen_honours_the_backlog: `ss` (iproute2) is not installed");
            return;
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let send_q: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(send_q.get(2), Some(&"7"), "ss said: {text}");
    }

    #[test]
    fn mapped_v4_addresses_are_made_plain() {
        let mapped = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), 80);
        assert_eq!(canonical(mapped).to_string(), "127.0.0.1:80");
    }
}
