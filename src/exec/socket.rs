//! Socket plumbing shared by servers and clients: binding a TCP listener with a real backlog and a
//! UDP socket (socket2, with explicit IPv6 options), and reads and writes that wake regularly to
//! honour deadlines and the stop signal.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
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

/// Binds a UDP socket on `addr`, with room for a burst (`roomy`).
pub fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    set_v6_only(&socket, addr);
    roomy(&socket);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// What a UDP socket of netlab's asks the kernel to hold of what was not read yet.
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// Gives a UDP socket room for a burst of datagrams (a proxy's release of what a stall held
/// back, a load loop): past its receive buffer, the kernel drops what comes, unsaid, and a
/// verdict would depend on how quickly the reader was scheduled. Above the system's cap
/// (`net.core.rmem_max`, some 200 KB by default) only with the right (`SO_RCVBUFFORCE`:
/// root, as in CI); else as much as the cap allows. Best effort: a socket keeps the default
/// where neither works.
pub fn roomy(socket: &Socket) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let size = libc::c_int::try_from(UDP_RECEIVE_BUFFER).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt on a socket `socket` owns, with a c_int value of the right size.
        let forced = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(socket),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const size).cast(),
                libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4),
            )
        };
        if forced == 0 {
            return;
        }
    }
    let _ = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER);
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

/// Wakes a thread blocked in `recv_from` on `socket`: the coordinator calls this once the stop
/// signal is set. The thread also wakes by itself within a tick; this only spares it the wait.
///
/// It sends `socket` an empty datagram from a throwaway socket: the receiver gets a datagram,
/// sees the stop signal (`recv_datagram` looks at it after every receive) and returns. Shutting
/// the socket down, as for a listener, is not an option: on an unconnected UDP socket `recvfrom`
/// then returns zero bytes *and no sender address* (addrlen 0), which std's `recv_from` still
/// converts to an address: "invalid argument", or, as reported, an assertion on the address
/// length that panics the thread. And every later receive gives the same at once. If the datagram cannot be sent (or is dropped
/// because the receive queue is full, which means the receiver is not blocked), the tick wakes it.
pub fn wake_receiver(socket: &UdpSocket) {
    let Ok(addr) = socket.local_addr() else {
        return;
    };
    let any: IpAddr = match addr {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    if let Ok(doorbell) = UdpSocket::bind(SocketAddr::new(any, 0)) {
        let _ = doorbell.send_to(&[], loopback_of(addr));
    }
}

/// Whether something waits on `socket` at this moment, without waiting for it: a connection in a
/// listener's backlog, a datagram in a UDP socket's queue. Written with `poll(2)` (zero timeout)
/// because neither std nor socket2 can ask it without taking what waits.
pub fn has_input(socket: &impl std::os::fd::AsRawFd) -> bool {
    let mut entry = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid `pollfd` for a descriptor `socket` owns for the whole call.
    let ready = unsafe { libc::poll(&raw mut entry, 1, 0) };
    ready > 0 && entry.revents & libc::POLLIN != 0
}

/// Whether `socket` can be written to (a connect in progress has ended, one way or the other),
/// waiting at most `wait`. Written with `poll(2)`: std and socket2 wait for a connect only
/// without a way to stop waiting (`connect_timeout`).
pub fn writable_within(socket: &impl std::os::fd::AsRawFd, wait: Duration) -> bool {
    let mut entry = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid `pollfd` for a descriptor `socket` owns for the whole call.
    let ready = unsafe { libc::poll(&raw mut entry, 1, ms) };
    ready > 0 && entry.revents != 0
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
            (!left.is_zero()).then(|| whole_millis(left.min(TICK)))
        }
        None => Some(TICK),
    }
}

/// `wait` rounded up to a whole millisecond (at least one): a deadline a little nearer each
/// call (a server's short idle flush, read after read) is then the same timeout every time, set
/// once, not a `setsockopt` per read. (The kernel counts `SO_RCVTIMEO` in its timer ticks, 4 ms
/// at `HZ=250`: a read's wait ends up to a tick past what was asked, rounded or not; a step
/// that judges silence, `expect_nothing`, looks at the clock when the read returns.)
fn whole_millis(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    Duration::from_millis(millis.max(1))
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
        match receive(&socket.socket, buf) {
            // `wake_receiver`'s empty datagram, or any datagram once the run stops.
            Ok(_) if cancel.is_set() => return DatagramResult::Stopped,
            Ok((n, Some(peer))) => return DatagramResult::Datagram(n, canonical(peer)),
            // No sender: the OS says so only of a socket shut down for reading, which will never
            // receive again (and would answer this at once, every time): nothing is left to serve.
            Ok((_, None)) => return DatagramResult::Stopped,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) if cancel.is_set() => return DatagramResult::Stopped,
            Err(e) => return DatagramResult::Failed(e),
        }
    }
}

/// One `recvfrom` into `buf`: the datagram's length and its sender, `None` when the OS gave no
/// usable address. Through socket2 rather than std, whose `recv_from` does not expect the OS to
/// return no address (see `wake_receiver`) and cannot say so without failing or panicking.
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, Option<SocketAddr>)> {
    // SAFETY: `&mut [u8]` as `&mut [MaybeUninit<u8>]` would let the callee write uninitialised
    // bytes into initialised memory; socket2 promises not to (`Socket::recv` and `recv_from`:
    // the buffer only goes to the `recvfrom` system call, which writes bytes it received), so
    // `buf` stays initialised, as its documentation says of calling it with a `&mut [u8]`.
    let uninit = unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [MaybeUninit<u8>]) };
    let (n, from) = SockRef::from(socket).recv_from(uninit)?;
    // socket2 zeroes the address before the call: no address is `len() == 0` and no family.
    let peer = (from.len() > 0).then(|| from.as_socket()).flatten();
    // Callers slice `buf` with the length: keep it within `buf`, whatever the OS says.
    Ok((n.min(buf.len()), peer))
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

    fn udp_on_loopback() -> UdpSocket {
        let Ok(socket) = bind_udp(SocketAddr::from(([127, 0, 0, 1], 0))) else {
            panic!("cannot bind udp on loopback");
        };
        socket
    }

    /// The wake-up gives a receive blocked without any timeout a real datagram, with a sender,
    /// at once. (Shutting the socket down, the first wake-up, returned it with no sender: std
    /// then failed or panicked, depending on its version.)
    #[test]
    fn wake_receiver_returns_a_blocked_receive_with_a_datagram() {
        let socket = udp_on_loopback();
        let Ok(waker) = socket.try_clone() else {
            panic!("cannot clone the socket");
        };
        let receiver = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let received = receive(&socket, &mut buf).map(|(n, peer)| (n, peer.is_some()));
            received.ok()
        });
        // Give it time to block (the wake-up works as well if it has not yet).
        std::thread::sleep(Duration::from_millis(50));
        let woken = Instant::now();
        wake_receiver(&waker);
        let Ok(received) = receiver.join() else {
            panic!("the receiving thread panicked");
        };
        assert_eq!(received, Some((0, true)), "an empty datagram from a sender");
        assert!(woken.elapsed() < Duration::from_secs(5), "woken late");
    }

    /// A stopping run's blocked `recv_datagram` returns `Stopped` as soon as it is woken, well
    /// before the tick would have woken it.
    #[test]
    fn a_woken_receive_stops_before_its_tick() {
        let socket = TimedSocket::new(udp_on_loopback());
        let Ok(waker) = socket.try_clone() else {
            panic!("cannot clone the socket");
        };
        // A long tick of its own, so that only the wake-up can return it soon.
        let _ = socket.set_read_timeout(Some(Duration::from_secs(30)));
        socket.read_timeout.0.set(Some(TICK));
        let (mut stop, cancel) = super::super::cancel::pair();
        let receiver = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let started = Instant::now();
            let result = recv_datagram(&socket, &mut buf, None, &cancel);
            (matches!(result, DatagramResult::Stopped), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        stop.stop();
        wake_receiver(&waker);
        let Ok((stopped, took)) = receiver.join() else {
            panic!("the receiving thread panicked");
        };
        assert!(stopped);
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }

    /// The OS edge case itself: on a socket shut down for reading, `recvfrom` gives zero bytes
    /// and no sender. That is the socket's end, not a failure (and never a panic).
    #[test]
    fn a_receive_with_no_sender_is_a_stop() {
        let socket = TimedSocket::new(udp_on_loopback());
        // Linux wakes the receivers (and answers every later receive) even though an unconnected
        // socket says "not connected" to `shutdown`.
        let _ = SockRef::from(&*socket).shutdown(Shutdown::Read);
        let (_stop, cancel) = super::super::cancel::pair();
        let mut buf = [0u8; 64];
        let deadline = Instant::now() + Duration::from_secs(5);
        let result = recv_datagram(&socket, &mut buf, Some(deadline), &cancel);
        assert!(
            matches!(result, DatagramResult::Stopped),
            "not a stop: {result:?}"
        );
    }

    /// Waits a little shorter each call are one timeout: no `setsockopt` per read.
    #[test]
    fn waits_are_whole_milliseconds() {
        assert_eq!(
            whole_millis(Duration::from_micros(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            whole_millis(Duration::from_micros(999)),
            Duration::from_millis(1)
        );
        assert_eq!(
            whole_millis(Duration::from_micros(1001)),
            Duration::from_millis(2)
        );
        assert_eq!(whole_millis(TICK), TICK);
    }

    #[test]
    fn mapped_v4_addresses_are_made_plain() {
        let mapped = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().into(), 80);
        assert_eq!(canonical(mapped).to_string(), "127.0.0.1:80");
    }
}
