//! Who holds a port: the sockets bound on a local port and the processes that own them, read from
//! Linux's `/proc` (no crate reads the socket tables and maps their inodes to processes; `ss -p`
//! does the same walk). Used before and while a program under test starts: a fixed port must be
//! free, and a program is ready only when a socket on its port belongs to it (or to a process it
//! started), never when a stale process happens to answer there.

use std::path::Path;

use super::descendants;
use crate::scenario::Protocol;

/// Who holds a local port, as far as `/proc` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A process of the program under test (it, or a process it started).
    Group,
    /// Another process: its pid and command line, as shown in messages.
    Other(String),
    /// No socket is bound (TCP: listening) on the port.
    Nobody,
    /// `/proc` cannot tell (not Linux, or not readable).
    Unknown,
}

/// Who holds `port` for `protocol` (a listening TCP socket, a bound UDP socket), preferring a
/// process of the program `ours` started (its process group, or a process that carries its mark:
/// see `descendants`) when several do.
pub fn holder(protocol: Protocol, port: u16, ours: Option<(u32, &str)>) -> Holder {
    let Some(inodes) = bound_inodes(protocol, port) else {
        return Holder::Unknown;
    };
    if inodes.is_empty() {
        return Holder::Nobody;
    }
    let owners = owners(&inodes);
    if let Some((group, mark)) = ours
        && owners
            .iter()
            .any(|pid| process_group(*pid) == Some(group) || descendants::is_marked(*pid, mark))
    {
        return Holder::Group;
    }
    match owners.first() {
        Some(pid) => Holder::Other(describe_process(*pid)),
        // The socket's owner cannot be seen (another user's process, not root).
        None => Holder::Other("a process netlab cannot see".into()),
    }
}

/// Whether a UDP socket is bound on `addr`'s port in `addr`'s family (IPv4 or IPv6), on this
/// machine; `None` if `/proc` cannot tell. A UDP "connect" succeeds to any address, so this is how
/// a client picks, among the addresses of a name on loopback (`localhost`: `::1`, `127.0.0.1`),
/// the one a server listens on, as a TCP connect does by trying them.
pub fn udp_bound_in_family(addr: std::net::SocketAddr) -> Option<bool> {
    let file = if addr.is_ipv6() {
        "/proc/net/udp6"
    } else {
        "/proc/net/udp"
    };
    let table = std::fs::read_to_string(file).ok()?;
    Some(
        table
            .lines()
            .skip(1)
            .any(|line| bound_entry(line, addr.port(), false).is_some()),
    )
}

/// The inodes of the sockets bound on `port` (TCP: in the LISTEN state), from
/// `/proc/net/{tcp,tcp6,udp,udp6}`; `None` if none of those files can be read.
fn bound_inodes(protocol: Protocol, port: u16) -> Option<Vec<u64>> {
    let (files, listen_only) = match protocol {
        Protocol::Tcp => (["/proc/net/tcp", "/proc/net/tcp6"], true),
        Protocol::Udp => (["/proc/net/udp", "/proc/net/udp6"], false),
    };
    let mut readable = false;
    let mut inodes = Vec::new();
    for file in files {
        let Ok(table) = std::fs::read_to_string(file) else {
            continue;
        };
        readable = true;
        inodes.extend(
            table
                .lines()
                .skip(1)
                .filter_map(|line| bound_entry(line, port, listen_only)),
        );
    }
    readable.then_some(inodes)
}

/// The inode of one line of a `/proc/net` socket table, if it is bound on `port` (and, when
/// `listen_only`, listening). Columns: `sl local_address rem_address st … uid timeout inode`.
fn bound_entry(line: &str, port: u16, listen_only: bool) -> Option<u64> {
    /// The LISTEN state in the `st` column.
    const LISTEN: &str = "0A";
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = fields.get(1)?;
    let (_, hex_port) = local.rsplit_once(':')?;
    if u16::from_str_radix(hex_port, 16).ok()? != port {
        return None;
    }
    if listen_only && *fields.get(3)? != LISTEN {
        return None;
    }
    fields.get(9)?.parse().ok().filter(|inode| *inode != 0)
}

/// The pids whose open descriptors include one of the sockets `inodes`.
fn owners(inodes: &[u64]) -> Vec<u32> {
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = processes
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(fds) = std::fs::read_dir(Path::new("/proc").join(pid.to_string()).join("fd"))
            else {
                return false;
            };
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
            })
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// The process group of `pid`.
fn process_group(pid: u32) -> Option<u32> {
    descendants::stat_field(pid, 2)
}

/// `pid 1234 (python3 server.py 8080)`.
pub fn describe_process(pid: u32) -> String {
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    if command.is_empty() {
        format!("pid {pid}")
    } else {
        format!("pid {pid} ({command})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_line_gives_its_inode() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        assert_eq!(bound_entry(line, 8080, true), Some(4242));
        assert_eq!(bound_entry(line, 8081, true), None);
        let established = line.replace(" 0A ", " 01 ");
        assert_eq!(bound_entry(&established, 8080, true), None);
        assert_eq!(bound_entry(&established, 8080, false), Some(4242));
    }

    #[test]
    fn a_listener_of_this_process_is_found_and_named() {
        let Ok(listener) = std::net::TcpListener::bind("127.0.0.1:0") else {
            panic!("cannot listen on loopback");
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            panic!("no local address");
        };
        match holder(Protocol::Tcp, port, None) {
            Holder::Unknown => eprintln!("skipped: /proc cannot tell who holds a port here"),
            Holder::Other(who) => assert!(
                who.starts_with(&format!("pid {}", std::process::id())),
                "{who}"
            ),
            other => panic!("{other:?}"),
        }
        drop(listener);
        assert!(matches!(
            holder(Protocol::Tcp, port, None),
            Holder::Nobody | Holder::Unknown
        ));
    }
}
