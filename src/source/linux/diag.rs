//! TCP and UDP socket dumps over netlink `NETLINK_SOCK_DIAG`, the interface `ss` uses.
//!
//! One request per (family, protocol) pair. The kernel filters by TCP state (and, optionally,
//! by port) before answering, so narrow queries such as "listening sockets only" stay cheap
//! however many connections the host has.

use std::io;
use std::net::SocketAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseBuffer, InetResponseHeader, RESPONSE_LEN, SocketId,
};
use netlink_packet_sock_diag::{SOCK_DIAG_BY_FAMILY, SockDiagMessage};
use netlink_packet_utils::Parseable;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_SOCK_DIAG};

pub use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::StateFlags;

/// A mask of kernel `TCP_*` states, bit n for state n, as `inet_diag_req_v2` takes it. Ours,
/// because the crate's `StateFlags` has no bit for `TCP_BOUND_INACTIVE` (13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct States(pub u32);

impl States {
    pub const fn of(states: &[u8]) -> States {
        let mut mask = 0;
        let mut i = 0;
        while i < states.len() {
            mask |= 1 << states[i];
            i += 1;
        }
        States(mask)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for States {
    type Output = States;
    fn bitor(self, other: States) -> States {
        States(self.0 | other.0)
    }
}

impl std::ops::BitAnd for States {
    type Output = States;
    fn bitand(self, other: States) -> States {
        States(self.0 & other.0)
    }
}

impl FromIterator<States> for States {
    fn from_iter<I: IntoIterator<Item = States>>(iter: I) -> States {
        iter.into_iter().fold(States(0), |a, b| a | b)
    }
}

/// Offset of `idiag_states` in the request: the netlink header, then family, protocol, ext, pad.
const STATES_OFFSET: usize = 16 + 4;

/// Offset of `idiag_ext` in the request: which attributes each socket's record carries.
const EXT_OFFSET: usize = 16 + 2;

/// Receive buffer for one datagram of the dump. The kernel sizes dump datagrams after the
/// largest read it has seen, capped at 32 KiB, so a bigger buffer buys nothing and a
/// smaller one (netstat2 uses 8 KiB) only costs more system calls.
const RECV_BUF_LEN: usize = 32 * 1024;

/// Length of the `INET_DIAG_REQ_BYTECODE` attribute built by [`port_filter`].
const PORT_FILTER_LEN: u16 = 24;

/// One socket as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagSocket {
    /// `AF_INET` or `AF_INET6`. Dual-stack IPv6 sockets talking IPv4 report IPv4-mapped
    /// addresses (`::ffff:a.b.c.d`) under `AF_INET6`.
    pub family: u8,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub protocol: u8,
    /// Kernel `TCP_*` state number. UDP uses it too: `TCP_ESTABLISHED` (1) when connected,
    /// `TCP_CLOSE` (7) otherwise.
    pub state: u8,
    pub local: SocketAddr,
    /// The peer; unspecified (`0.0.0.0:0` or `[::]:0`) for listeners and unconnected UDP.
    pub remote: SocketAddr,
    /// Socket inode; 0 for sockets no file refers to (TIME-WAIT, orphaned, pending).
    pub inode: u32,
    /// The kernel's socket cookie: unique while the machine runs, whatever the state.
    pub cookie: u64,
    /// Index of the device the socket is bound to (SO_BINDTODEVICE, or a link-local
    /// address's scope); 0 for none.
    pub interface: u32,
    pub uid: u32,
    /// Listeners: connections waiting for `accept`. Others: unread bytes.
    pub recv_queue: u32,
    /// Listeners: the backlog. Others: unacknowledged (TCP) or unsent (UDP) bytes.
    pub send_queue: u32,
    /// TCP internals, when the dump asked for them.
    pub tcp_info: Option<Box<crate::model::TcpInfo>>,
    /// An `AF_INET6` socket's IPV6_V6ONLY (`INET_DIAG_SKV6ONLY`, sent in every dump).
    pub v6only: Option<bool>,
    /// Milliseconds left on the socket's timer (`idiag_expires`): TIME-WAIT's time to go.
    pub expires_ms: u32,
}

/// Hands `sink` the `family` (`AF_INET`/`AF_INET6`) sockets of `protocol`
/// (`IPPROTO_TCP`/`IPPROTO_UDP`) whose state is in `states` and, if `port` is given, whose local
/// or remote port is `port`. Both filters run in the kernel. With `tcp_info`, TCP sockets come
/// with their internals (`INET_DIAG_INFO`, `INET_DIAG_SKMEMINFO`, the timer): asked for only
/// then, since they cost the kernel a tenth more. Sockets go to the sink as they
/// are decoded, so no list of raw records is kept beside the caller's.
///
/// # Errors
///
/// The kernel's error (for example `EPERM` under a restrictive LSM), or
/// `ErrorKind::InvalidData` if the reply cannot be decoded.
pub fn dump(
    family: u8,
    protocol: u8,
    states: States,
    port: Option<u16>,
    tcp_info: bool,
    sink: &mut dyn FnMut(DiagSocket),
) -> io::Result<()> {
    let tcp_info = tcp_info && protocol == IPPROTO_TCP;
    let mut request = request(family, protocol, states, port);
    if tcp_info {
        request[EXT_OFFSET] = (ExtensionFlags::INFO | ExtensionFlags::SKMEMINFO).bits();
    }
    exchange(&request, &mut |payload| {
        let mut socket = parse_socket(payload, protocol)?;
        if tcp_info {
            socket.tcp_info = super::tcp_info::parse(payload);
        }
        sink(socket);
        Ok(())
    })
}

/// Sends a SOCK_DIAG dump request (inet or unix) and hands `on_record` the payload of each
/// socket record in the reply, until the kernel says the dump is done.
pub fn exchange(
    request: &[u8],
    on_record: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.connect(&NetlinkAddr::new(0, 0))?;
    socket.send(request, 0)?;

    let mut buf = vec![0; RECV_BUF_LEN];
    loop {
        // With MSG_TRUNC, recv returns the datagram's full length even if it did not fit.
        // (netlink-sys reads into a `bytes::BufMut`, which `&mut [u8]` is.)
        let len = match socket.recv(&mut &mut buf[..], libc::MSG_TRUNC) {
            Ok(len) if len > buf.len() => {
                return Err(invalid_data(format!("{len}-byte datagram truncated")));
            }
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(len) => len,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if parse_datagram(&buf[..len], on_record)? {
            return Ok(());
        }
    }
}

/// Serializes the `inet_diag_req_v2` dump request, with the port filter appended if asked.
fn request(family: u8, protocol: u8, states: States, port: Option<u16>) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let request = InetRequest {
        family,
        protocol,
        extensions: ExtensionFlags::empty(),
        states: StateFlags::from_bits_truncate(states.0),
        // Ignored by dumps; all zeros for either family.
        socket_id: SocketId::new_v4(),
    };
    let mut message = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
    message.finalize();
    let mut buf = vec![0; message.buffer_len()];
    message.serialize(&mut buf);
    // The bits StateFlags cannot hold (TCP_BOUND_INACTIVE) are written over its field.
    buf[STATES_OFFSET..STATES_OFFSET + 4].copy_from_slice(&states.0.to_ne_bytes());

    // The crate's InetRequest carries no attributes, so the filter is appended by hand.
    if let Some(port) = port {
        buf.extend_from_slice(&port_filter(port));
        let len = message.header.length + u32::from(PORT_FILTER_LEN);
        NetlinkBuffer::new(&mut buf).set_length(len);
    }
    buf
}

/// An `INET_DIAG_REQ_BYTECODE` attribute keeping sockets with `sport == port || dport == port`.
///
/// The program is a list of `struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }`: after each
/// test the kernel skips `yes` bytes if it held and `no` bytes if not, and keeps the socket if
/// it lands exactly on the end. A port test takes its operand from the `no` field of a second
/// op. The kernel rejects programs whose ops are not all reachable through `yes` jumps, hence
/// the `JMP` (which always takes `no`) in the middle.
fn port_filter(port: u16) -> [u8; PORT_FILTER_LEN as usize] {
    const INET_DIAG_REQ_BYTECODE: u16 = 1;
    const INET_DIAG_BC_JMP: u8 = 1;
    const INET_DIAG_BC_S_EQ: u8 = 11;
    const INET_DIAG_BC_D_EQ: u8 = 12;
    let ops = [
        (INET_DIAG_BC_S_EQ, 8, 12), // sport matches: to the JMP; else to the D_EQ
        (0, 0, port),
        (INET_DIAG_BC_JMP, 4, 12),  // to the end: keep
        (INET_DIAG_BC_D_EQ, 8, 12), // dport matches: to the end, keep; else past it, drop
        (0, 0, port),
    ];

    let mut attr = [0; PORT_FILTER_LEN as usize];
    attr[..2].copy_from_slice(&PORT_FILTER_LEN.to_ne_bytes());
    attr[2..4].copy_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
    for (op, (code, yes, no)) in attr[4..].chunks_exact_mut(4).zip(ops) {
        op[0] = code;
        op[1] = yes;
        op[2..].copy_from_slice(&no.to_ne_bytes());
    }
    attr
}

/// Hands the socket records in one datagram of the reply to `on_record`. Returns whether the
/// dump is complete.
fn parse_datagram(
    mut datagram: &[u8],
    on_record: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<bool> {
    while !datagram.is_empty() {
        // Checks that the header fits and that its length is sane and within the datagram.
        let message = NetlinkBuffer::new_checked(datagram).map_err(invalid_data)?;
        let len = message.length() as usize;
        if message.message_type() == SOCK_DIAG_BY_FAMILY {
            on_record(message.payload())?;
        } else if end_of_dump(&datagram[..len])? {
            return Ok(true);
        }
        // Messages are padded to 4 bytes; the last one's padding may be missing.
        datagram = datagram.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(false)
}

/// Decodes one `inet_diag_msg`, and of its attributes only `INET_DIAG_SKV6ONLY`.
fn parse_socket(payload: &[u8], protocol: u8) -> io::Result<DiagSocket> {
    let buf = InetResponseBuffer::new_checked(payload).map_err(invalid_data)?;
    let header = InetResponseHeader::parse(&buf).map_err(invalid_data)?;
    let attributes = payload.get(RESPONSE_LEN..).unwrap_or_default();
    let id = header.socket_id;
    Ok(DiagSocket {
        family: header.family,
        protocol,
        state: header.state,
        local: SocketAddr::new(id.source_address, id.source_port),
        remote: SocketAddr::new(id.destination_address, id.destination_port),
        inode: header.inode,
        cookie: u64::from_ne_bytes(id.cookie),
        interface: id.interface_id,
        uid: header.uid,
        recv_queue: header.recv_queue,
        send_queue: header.send_queue,
        tcp_info: None,
        v6only: v6only(attributes),
        expires_ms: buf.expires(),
    })
}

/// `INET_DIAG_SKV6ONLY` (a u8) among a record's attributes.
fn v6only(mut attributes: &[u8]) -> Option<bool> {
    const INET_DIAG_SKV6ONLY: u16 = 11;
    while attributes.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]);
        if kind == INET_DIAG_SKV6ONLY {
            return attributes.get(4).map(|&flag| flag != 0);
        }
        attributes = attributes.get(len.max(4).next_multiple_of(4)..)?;
    }
    None
}

/// Handles a control message: `Ok(true)` at the end of the dump, the kernel's error if it
/// reports one, `Ok(false)` for messages to skip.
fn end_of_dump(message: &[u8]) -> io::Result<bool> {
    let message = NetlinkMessage::<SockDiagMessage>::deserialize(message).map_err(invalid_data)?;
    match message.payload {
        // A dump that fails part-way puts the negative errno in NLMSG_DONE.
        NetlinkPayload::Done(done) if done.code < 0 => {
            Err(io::Error::from_raw_os_error(-done.code))
        }
        NetlinkPayload::Error(error) if error.code.is_some() => Err(error.to_io()),
        // NLMSG_DONE, or an ACK (error code 0), which would also end the exchange.
        NetlinkPayload::Done(_) | NetlinkPayload::Error(_) => Ok(true),
        NetlinkPayload::Overrun(_) => Err(invalid_data("netlink overrun")),
        _ => Ok(false),
    }
}

pub fn invalid_data(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_sock_diag::constants::TCP_LISTEN;

    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;

    /// A netlink message: 16-byte header, then `payload`.
    fn message(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(16 + payload.len()).expect("small message");
        let mut buf = [
            &len.to_ne_bytes()[..],
            &kind.to_ne_bytes(),
            &[0; 10],
            payload,
        ]
        .concat();
        buf.resize(buf.len().next_multiple_of(4), 0);
        buf
    }

    fn listener_msg() -> Vec<u8> {
        let mut diag_msg = [0; 72];
        diag_msg[..2].copy_from_slice(&[AF_INET, TCP_LISTEN]);
        diag_msg[4..6].copy_from_slice(&8080u16.to_be_bytes());
        diag_msg[8..12].copy_from_slice(&[127, 0, 0, 1]);
        diag_msg[68..].copy_from_slice(&42u32.to_ne_bytes());
        message(SOCK_DIAG_BY_FAMILY, &diag_msg)
    }

    #[test]
    fn parses_sockets_until_done() {
        let datagram = [listener_msg(), message(NLMSG_DONE, &0i32.to_ne_bytes())].concat();
        let mut sockets = Vec::new();
        let mut sink = |payload: &[u8]| {
            sockets.push(parse_socket(payload, IPPROTO_TCP)?);
            Ok(())
        };
        assert!(parse_datagram(&datagram, &mut sink).expect("valid"));
        let [socket] = &sockets[..] else {
            panic!("{sockets:?}")
        };
        assert_eq!((socket.state, socket.inode), (TCP_LISTEN, 42));
        assert_eq!(socket.local, "127.0.0.1:8080".parse().expect("address"));
    }

    #[test]
    fn rejects_truncated_messages() {
        let datagram = listener_msg();
        let error = parse_datagram(&datagram[..60], &mut |p| {
            parse_socket(p, IPPROTO_TCP).map(drop)
        })
        .expect_err("truncated");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn reports_kernel_errors() {
        let nack = message(
            NLMSG_ERROR,
            &[&(-libc::EPERM).to_ne_bytes()[..], &[0; 16]].concat(),
        );
        let done = message(NLMSG_DONE, &(-libc::EPERM).to_ne_bytes());
        for datagram in [nack, done] {
            let error = parse_datagram(&datagram, &mut |_| Ok(())).expect_err("EPERM");
            assert_eq!(error.raw_os_error(), Some(libc::EPERM));
        }
    }

    #[test]
    fn finds_a_listener_by_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let local = listener.local_addr().expect("address");
        let mut found = Vec::new();
        let sink = &mut |s: DiagSocket| found.push((s.local, s.state));
        dump(
            AF_INET,
            IPPROTO_TCP,
            States::of(&[10]),
            Some(local.port()),
            false,
            sink,
        )
        .expect("dump");
        assert_eq!(found, [(local, TCP_LISTEN)]);
    }

    #[test]
    fn reads_v6only_from_the_attributes() {
        let mut record = listener_msg();
        // nla_len 5, INET_DIAG_SKV6ONLY, the flag, padding.
        record.extend_from_slice(&[5, 0, 11, 0, 1, 0, 0, 0]);
        let len = u32::try_from(record.len()).unwrap();
        record[..4].copy_from_slice(&len.to_ne_bytes());
        let socket = parse_socket(&record[16..], IPPROTO_TCP).unwrap();
        assert_eq!(socket.v6only, Some(true));
        let plain = parse_socket(&listener_msg()[16..], IPPROTO_TCP).unwrap();
        assert_eq!(plain.v6only, None);
    }

    #[test]
    fn an_ipv6_listener_says_whether_it_is_v6only() {
        let listener = std::net::TcpListener::bind("[::1]:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let mut found = Vec::new();
        let sink = &mut |s: DiagSocket| found.push(s.v6only);
        dump(
            AF_INET6,
            IPPROTO_TCP,
            States::of(&[10]),
            Some(port),
            false,
            sink,
        )
        .expect("dump");
        // A socket bound to one IPv6 address the kernel makes v6-only itself (inet6_bind).
        assert_eq!(found, [Some(true)]);
    }

    #[test]
    fn appends_the_port_filter() {
        let request = request(AF_INET, IPPROTO_TCP, States(0x2fff), Some(0x1234));
        let u16_at = |i: usize| u16::from_ne_bytes([request[i], request[i + 1]]);
        assert_eq!(request.len(), 16 + 56 + 24);
        assert_eq!(request[..4], 96u32.to_ne_bytes());
        assert_eq!(request[20..24], 0x2fffu32.to_ne_bytes(), "bit 13 survives");
        assert_eq!((u16_at(72), u16_at(74)), (24, 1)); // nla_len, INET_DIAG_REQ_BYTECODE
        assert_eq!((request[76], request[77], u16_at(78)), (11, 8, 12)); // S_EQ, yes, no
        assert_eq!(u16_at(82), 0x1234); // its operand
    }
}
