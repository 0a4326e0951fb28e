//! The reference peers: the plainest std::net programs that do the same job as a netlab server or
//! client (a thread-per-connection echo server, a UDP echo, a sink, a keep-alive HTTP responder,
//! and the clients that drive them). netlab is measured against these, in the same run.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Every blocking call of a reference peer gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What a reference server does with each connection or datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// TCP: echo every read back, one thread per connection.
    TcpEcho,
    /// TCP: read and discard until EOF, one thread per connection.
    TcpSink,
    /// TCP: answer every HTTP/1.1 request with a fixed 200 response (keep-alive).
    Http,
    /// UDP: echo every datagram to its sender.
    UdpEcho,
}

impl Role {
    /// The name used on the command line (`--reference-server NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Role::TcpEcho => "tcp-echo",
            Role::TcpSink => "tcp-sink",
            Role::Http => "http",
            Role::UdpEcho => "udp-echo",
        }
    }

    /// The role of a command-line name.
    pub fn from_name(name: &str) -> Option<Role> {
        [Role::TcpEcho, Role::TcpSink, Role::Http, Role::UdpEcho]
            .into_iter()
            .find(|role| role.name() == name)
    }
}

/// Serves `role` on a free loopback port: prints `listening on ADDR` and serves until stdin
/// closes (the harness that started this process holds the other end).
pub fn serve(role: Role) -> io::Result<()> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    if role == Role::UdpEcho {
        let socket = UdpSocket::bind(any)?;
        announce(socket.local_addr()?);
        std::thread::spawn(move || udp_echo(&socket));
    } else {
        let listener = TcpListener::bind(any)?;
        announce(listener.local_addr()?);
        std::thread::spawn(move || accept_loop(&listener, role));
    }
    // Serve until the harness closes our stdin (or dies).
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    Ok(())
}

fn announce(addr: SocketAddr) {
    println!("listening on {addr}");
    let _ = io::stdout().flush();
}

fn accept_loop(listener: &TcpListener, role: Role) {
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let _ = match role {
                Role::TcpSink => sink(stream),
                Role::Http => http(stream),
                _ => echo(stream),
            };
        });
    }
}

fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

fn sink(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    while stream.read(&mut buf)? > 0 {}
    Ok(())
}

fn http(mut stream: TcpStream) -> io::Result<()> {
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            stream.write_all(RESPONSE)?;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

fn udp_echo(socket: &UdpSocket) {
    let mut buf = [0u8; 65_536];
    while let Ok((n, peer)) = socket.recv_from(&mut buf) {
        let _ = socket.send_to(&buf[..n], peer);
    }
}

/// One TCP connection, `count` round trips of `size` bytes; returns the time they took and the
/// latency of each.
pub fn tcp_round_trips(addr: SocketAddr, count: usize, size: usize) -> io::Result<Vec<Duration>> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    let message = vec![b'x'; size];
    let mut reply = vec![0u8; size];
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        stream.write_all(&message)?;
        stream.read_exact(&mut reply)?;
        latencies.push(start.elapsed());
    }
    stream.shutdown(Shutdown::Write)?;
    Ok(latencies)
}

/// `count` sequential short connections: connect, send 8 bytes, read the 8-byte reply, close.
pub fn tcp_connections(addr: SocketAddr, count: usize) -> io::Result<Duration> {
    let start = Instant::now();
    let mut reply = [0u8; 8];
    for _ in 0..count {
        let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.write_all(b"12345678")?;
        stream.read_exact(&mut reply)?;
    }
    Ok(start.elapsed())
}

/// One UDP socket, `count` round trips of `size`-byte datagrams.
pub fn udp_round_trips(addr: SocketAddr, count: usize, size: usize) -> io::Result<Duration> {
    let socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.connect(addr)?;
    socket.set_read_timeout(Some(PATIENCE))?;
    let message = vec![b'x'; size];
    let mut reply = [0u8; 2048];
    let start = Instant::now();
    for _ in 0..count {
        socket.send(&message)?;
        let n = socket.recv(&mut reply)?;
        if n != size {
            return Err(io::Error::other(format!(
                "{n}-byte reply to a {size}-byte datagram"
            )));
        }
    }
    Ok(start.elapsed())
}

/// Sends `total` bytes on one TCP connection and waits for the peer to close; returns the time.
pub fn tcp_bulk_send(addr: SocketAddr, total: u64) -> io::Result<Duration> {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_write_timeout(Some(PATIENCE))?;
    stream.set_read_timeout(Some(PATIENCE))?;
    let chunk = vec![b'x'; 64 * 1024];
    let start = Instant::now();
    let mut left = total;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    stream.shutdown(Shutdown::Write)?;
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    Ok(start.elapsed())
}
