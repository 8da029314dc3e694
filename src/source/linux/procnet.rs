//! The fallback when netlink SOCK_DIAG is refused (a seccomp filter, an LSM, a kernel without
//! `inet_diag`): the text tables in /proc/net. They hold the same sockets, but cost more on
//! large hosts and cannot be narrowed by the kernel.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::diag::{AF_INET, AF_INET6, DiagSocket, IPPROTO_TCP, IPPROTO_UDP};

/// Reads the table of one family and protocol under `base` (`/proc/net`, or `/proc/PID/net` for
/// another network namespace: no setns needed).
pub fn read(base: &str, family: u8, protocol: u8) -> io::Result<Vec<DiagSocket>> {
    let file = match (family, protocol) {
        (AF_INET, IPPROTO_TCP) => "tcp",
        (AF_INET6, IPPROTO_TCP) => "tcp6",
        (AF_INET, IPPROTO_UDP) => "udp",
        (AF_INET6, IPPROTO_UDP) => "udp6",
        _ => return Err(io::ErrorKind::Unsupported.into()),
    };
    let path = format!("{base}/{file}");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| io::Error::new(error.kind(), format!("{path}: {error}")))?;
    parse(&text, family, protocol)
        .map_err(|line| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: {line:?}")))
}

/// Parses a whole table; the error is the first line that does not parse.
fn parse(text: &str, family: u8, protocol: u8) -> Result<Vec<DiagSocket>, &str> {
    let rows = text.lines().skip(1).filter(|line| !line.trim().is_empty());
    rows.map(|line| parse_row(line, family, protocol).ok_or(line))
        .collect()
}

/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`, numbers in hex but the last three.
fn parse_row(line: &str, family: u8, protocol: u8) -> Option<DiagSocket> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = parse_address(fields.next()?)?;
    let remote = parse_address(fields.next()?)?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    let (send_queue, recv_queue) = fields.next()?.split_once(':')?;
    let uid = fields.nth(2)?.parse().ok()?;
    let inode: u64 = fields.nth(1)?.parse().ok()?;
    Some(DiagSocket {
        family,
        protocol,
        state,
        local,
        remote,
        // As wide as SOCK_DIAG reports it, so both sources key owners alike.
        inode: inode as u32,
        // /proc/net has no cookie; the inode and namespace still identify the socket.
        cookie: 0,
        // Nor the bound device.
        interface: 0,
        uid,
        recv_queue: u32::from_str_radix(recv_queue, 16).ok()?,
        send_queue: u32::from_str_radix(send_queue, 16).ok()?,
        // Nor TCP internals: `-` where they are asked for.
        tcp_info: None,
        // Nor IPV6_V6ONLY and the timer.
        v6only: None,
        expires_ms: 0,
    })
}

/// `0100007F:1F90` is 127.0.0.1:8080: the kernel prints each 32-bit word of the address as it
/// sits in memory, read as a host-order integer; `to_ne_bytes` undoes that on any byte order.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in address.as_bytes().chunks(8) {
        let word = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes.extend(word.to_ne_bytes());
    }
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from Linux 6.18 (x86_64, little-endian).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1538 00000000:0000 0A 00000000:00000003 00:00000000 00000000   101        0 20846 1 00000000b0cc5fb7 100 0 0 10 0
   1: 0100007F:B7EE 0100007F:14E9 01 0000001A:00000000 00:00000000 00000000     0        0 21273 2 000000002298f0ff 20 4 30 10 -1
   2: 0100007F:A6AE 0100007F:0050 06 00000000:00000000 03:00000F2A 00000000     0        0 0 3 0000000000000000
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20795 1 00000000dec70355 100 0 0 10 0
   1: 00000000000000000000000001000000:9C41 0000000000000000FFFF00000100007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 4294967297 1 0000000000000000 20 4 30 10 -1
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  657: 0100007F:B7EE 0100007F:14E9 01 00000000:00000000 00:00000000 00000000     0        0 21273 2 000000002298f0ff 0
  700: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 18012 2 0000000000000000 0
";

    #[test]
    fn parses_tcp_listeners_connections_and_time_wait() {
        let sockets = parse(TCP, AF_INET, IPPROTO_TCP).unwrap();
        assert_eq!(sockets.len(), 3);
        let listener = &sockets[0];
        assert_eq!(listener.local, "127.0.0.1:5432".parse().unwrap());
        assert_eq!(
            (listener.state, listener.uid, listener.inode),
            (10, 101, 20846)
        );
        assert_eq!(listener.recv_queue, 3);
        let connection = &sockets[1];
        assert_eq!(connection.remote, "127.0.0.1:5353".parse().unwrap());
        assert_eq!((connection.state, connection.send_queue), (1, 26));
        assert_eq!((sockets[2].state, sockets[2].inode), (6, 0));
    }

    #[test]
    fn parses_ipv6_and_mapped_ipv4() {
        let sockets = parse(TCP6, AF_INET6, IPPROTO_TCP).unwrap();
        assert_eq!(sockets[0].local, "[::]:80".parse().unwrap());
        assert_eq!(sockets[1].local, "[::1]:40001".parse().unwrap());
        assert_eq!(sockets[1].remote, "[::ffff:127.0.0.1]:22".parse().unwrap());
        assert_eq!(sockets[1].uid, 1000);
        assert_eq!(
            sockets[1].inode, 1,
            "inodes wrap to 32 bits, as SOCK_DIAG reports them"
        );
    }

    #[test]
    fn parses_connected_and_bound_udp() {
        let sockets = parse(UDP, AF_INET, IPPROTO_UDP).unwrap();
        assert_eq!((sockets[0].state, sockets[0].remote.port()), (1, 5353));
        assert_eq!(sockets[1].local, "127.0.0.53:53".parse().unwrap());
        assert_eq!(sockets[1].state, 7);
    }

    #[test]
    fn names_the_line_it_cannot_read() {
        let broken = "header\n   0: 0100007F:XYZ 00000000:0000 0A 0:0 0:0 0 0 0 1\n";
        assert_eq!(
            parse(broken, AF_INET, IPPROTO_TCP).unwrap_err(),
            broken.lines().nth(1).unwrap()
        );
        assert!(
            parse("header only\n", AF_INET, IPPROTO_TCP)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn reads_this_machines_tables() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = read("/proc/net", AF_INET, IPPROTO_TCP).unwrap();
        assert!(
            sockets
                .iter()
                .any(|s| s.local.port() == port && s.state == 10)
        );
    }
}
