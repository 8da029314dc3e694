//! Unix domain sockets over netlink `unix_diag` (what `ss -x` uses), and /proc/net/unix where
//! netlink is refused.

use std::io;

use super::diag::{exchange, invalid_data};

const AF_UNIX: u8 = 1;
/// `UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID`.
const SHOW: u32 = 0x01 | 0x04 | 0x10 | 0x40;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_UID: u16 = 7;
/// Length of `struct unix_diag_msg`, before the attributes.
const MSG_LEN: usize = 16;

/// One Unix socket as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixDiag {
    /// `SOCK_STREAM` (1), `SOCK_DGRAM` (2) or `SOCK_SEQPACKET` (5).
    pub kind: u8,
    /// `TCP_LISTEN`, `TCP_ESTABLISHED`, `TCP_CLOSE` (not connected) or `TCP_SYN_SENT`.
    pub state: u8,
    pub inode: u32,
    pub cookie: u64,
    /// The bound name as the kernel keeps it: a path, or a NUL and an abstract name.
    pub name: Option<Vec<u8>>,
    pub peer: Option<u32>,
    /// Listeners: pending connections and the backlog; others: queued bytes in and out.
    pub queues: Option<(u32, u32)>,
    pub uid: Option<u32>,
}

/// Hands `sink` the Unix sockets of this network namespace whose state is in `states` (bit n
/// for kernel state n, as for inet sockets), filtered in the kernel.
pub fn dump(states: u32, sink: &mut dyn FnMut(UnixDiag)) -> io::Result<()> {
    exchange(&request(states), &mut |payload| {
        sink(parse(payload)?);
        Ok(())
    })
}

/// A netlink header and a `struct unix_diag_req` asking for `states` and the attributes shown.
fn request(states: u32) -> Vec<u8> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST_DUMP: u16 = 0x1 | 0x300;
    let mut buf = Vec::with_capacity(40);
    buf.extend_from_slice(&40u32.to_ne_bytes());
    buf.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    buf.extend_from_slice(&NLM_F_REQUEST_DUMP.to_ne_bytes());
    buf.extend_from_slice(&[0; 8]); // sequence number, port id
    buf.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    buf.extend_from_slice(&states.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // any inode
    buf.extend_from_slice(&SHOW.to_ne_bytes());
    buf.extend_from_slice(&[0xff; 8]); // no cookie
    buf
}

/// Decodes one `struct unix_diag_msg` and the attributes asked for.
fn parse(payload: &[u8]) -> io::Result<UnixDiag> {
    let header = payload
        .get(..MSG_LEN)
        .ok_or_else(|| invalid_data("short unix_diag_msg"))?;
    let u32_at = |bytes: &[u8], at: usize| {
        let word = bytes.get(at..at + 4).and_then(|b| b.try_into().ok());
        word.map(u32::from_ne_bytes)
            .ok_or_else(|| invalid_data("short attribute"))
    };
    let mut socket = UnixDiag {
        kind: header[1],
        state: header[2],
        inode: u32_at(header, 4)?,
        cookie: u64::from(u32_at(header, 8)?) | u64::from(u32_at(header, 12)?) << 32,
        ..UnixDiag::default()
    };
    let mut attributes = &payload[MSG_LEN..];
    while attributes.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]);
        let value = attributes
            .get(4..len)
            .ok_or_else(|| invalid_data("attribute past the message"))?;
        match kind {
            UNIX_DIAG_NAME => socket.name = Some(trim_path(value).to_vec()),
            UNIX_DIAG_PEER => socket.peer = Some(u32_at(value, 0)?),
            UNIX_DIAG_RQLEN => socket.queues = Some((u32_at(value, 0)?, u32_at(value, 4)?)),
            UNIX_DIAG_UID => socket.uid = Some(u32_at(value, 0)?),
            _ => {}
        }
        attributes = attributes
            .get(len.next_multiple_of(4)..)
            .unwrap_or_default();
    }
    Ok(socket)
}

/// A path ends at its NUL; an abstract name (a leading NUL) is all of its bytes.
fn trim_path(name: &[u8]) -> &[u8] {
    match name {
        [0, ..] => name,
        path => path.split(|&b| b == 0).next().unwrap_or(path),
    }
}

/// Reads /proc/net/unix: `Num RefCount Protocol Flags Type St Inode Path`. It has no peer,
/// queues or uid; a listener has `__SO_ACCEPTCON` (0x10000) in its flags. Paths are bytes:
/// decoded lossily, and a line that a newline in some path split off is skipped.
pub fn read_proc(base: &str) -> io::Result<Vec<UnixDiag>> {
    let path = format!("{base}/unix");
    let bytes = std::fs::read(&path)
        .map_err(|error| io::Error::new(error.kind(), format!("{path}: {error}")))?;
    Ok(parse_proc(&String::from_utf8_lossy(&bytes)))
}

fn parse_proc(text: &str) -> Vec<UnixDiag> {
    let rows = text.lines().skip(1).filter(|line| !line.trim().is_empty());
    rows.filter_map(parse_proc_row).collect()
}

fn parse_proc_row(line: &str) -> Option<UnixDiag> {
    let mut fields = line.split_whitespace();
    let flags = u32::from_str_radix(fields.nth(3)?, 16).ok()?;
    let kind = u8::from_str_radix(fields.next()?, 16).ok()?;
    let connection = u8::from_str_radix(fields.next()?, 16).ok()?;
    let inode = fields.next()?.parse::<u64>().ok()? as u32;
    // The path may hold spaces: it is the rest of the line after seven fields (the inode is
    // padded, `%5lu`). `@` starts an abstract name.
    let mut rest = line;
    for _ in 0..7 {
        rest = rest.trim_start();
        rest = &rest[rest.find(' ').unwrap_or(rest.len())..];
    }
    let name = Some(rest.strip_prefix(' ').unwrap_or(rest)).filter(|name| !name.is_empty());
    let state = match (flags & 0x10000 != 0, connection) {
        (true, _) => 10,
        (_, 3) => 1,
        (_, 2) => 2,
        _ => 7,
    };
    Some(UnixDiag {
        kind,
        state,
        inode,
        name: name.map(|name| match name.strip_prefix('@') {
            Some(abstract_name) => [&[0u8][..], abstract_name.as_bytes()].concat(),
            None => name.as_bytes().to_vec(),
        }),
        ..UnixDiag::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + value.len()).unwrap();
        let mut buf = [&len.to_ne_bytes()[..], &kind.to_ne_bytes(), value].concat();
        buf.resize(buf.len().next_multiple_of(4), 0);
        buf
    }

    #[test]
    fn parses_a_listener_with_its_attributes() {
        let mut payload = vec![AF_UNIX, 1, 10, 0];
        payload.extend(4242u32.to_ne_bytes());
        payload.extend([7, 0, 0, 0, 1, 0, 0, 0]);
        payload.extend(attribute(UNIX_DIAG_NAME, b"/run/x.sock\0"));
        payload.extend(attribute(
            UNIX_DIAG_RQLEN,
            &[&3u32.to_ne_bytes()[..], &128u32.to_ne_bytes()].concat(),
        ));
        payload.extend(attribute(UNIX_DIAG_UID, &1000u32.to_ne_bytes()));
        payload.extend(attribute(UNIX_DIAG_PEER, &0u32.to_ne_bytes()));
        let socket = parse(&payload).unwrap();
        assert_eq!((socket.kind, socket.state, socket.inode), (1, 10, 4242));
        assert_eq!(socket.cookie, 7 | 1 << 32);
        assert_eq!(socket.name.as_deref(), Some(&b"/run/x.sock"[..]));
        assert_eq!(
            (socket.queues, socket.uid, socket.peer),
            (Some((3, 128)), Some(1000), Some(0))
        );
    }

    #[test]
    fn rejects_truncated_records() {
        assert!(parse(&[AF_UNIX, 1, 10]).is_err());
        let mut payload = vec![0; MSG_LEN];
        payload.extend([40, 0, 0, 0, b'x']);
        assert!(parse(&payload).is_err());
    }

    // Captured from Linux 6.18.
    const PROC: &str = "Num       RefCount Protocol Flags    Type St Inode Path
ffff8880053e5400: 00000002 00000000 00010000 0001 01 20716 /run/docker.sock
ffff8880053e5800: 00000003 00000000 00000000 0001 03 20777 
ffff8880053e6000: 00000002 00000000 00000000 0002 01 20800 @dbus abstract
ffff8880053e6400: 00000002 00000000 00000000 0005 01 20801 /tmp/with space.sock
ffff8880053e6800: 00000002 00000000 00010000 0001 01  1056 /run/dbus/system_bus_socket
ffff8880053e6c00: 00000002 00000000 00010000 0001 01 20900 /tmp/a
second line of a path with a newline
";

    #[test]
    fn parses_proc_net_unix() {
        let sockets = parse_proc(PROC);
        assert_eq!(
            sockets[4].name.as_deref(),
            Some(&b"/run/dbus/system_bus_socket"[..]),
            "a padded inode"
        );
        let summary: Vec<_> = sockets.iter().map(|s| (s.kind, s.state, s.inode)).collect();
        assert_eq!(
            summary,
            [
                (1, 10, 20716),
                (1, 1, 20777),
                (2, 7, 20800),
                (5, 7, 20801),
                (1, 10, 1056),
                (1, 10, 20900)
            ]
        );
        assert_eq!(sockets[0].name.as_deref(), Some(&b"/run/docker.sock"[..]));
        assert_eq!(sockets[1].name, None);
        assert_eq!(sockets[2].name.as_deref(), Some(&b"\0dbus abstract"[..]));
        assert_eq!(
            sockets[3].name.as_deref(),
            Some(&b"/tmp/with space.sock"[..])
        );
    }

    #[test]
    fn finds_our_own_listener() {
        let path = std::env::temp_dir().join(format!("ports-unix-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let mut found = Vec::new();
        dump(u32::MAX, &mut |s| found.push(s)).unwrap();
        let ours = found
            .iter()
            .find(|s| s.name.as_deref() == Some(path.as_os_str().as_encoded_bytes()));
        assert_eq!(ours.map(|s| (s.kind, s.state)), Some((1, 10)));
        drop(listener);
        std::fs::remove_file(&path).unwrap();
    }
}
