//! netstat2's records mapped to ours, for the portable backend (portable.rs).

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo};

use std::net::SocketAddr;
use std::sync::Arc;

use super::Query;
use super::raw::unmap;
use crate::model::{Endpoint, Family, InetSocket, Netns, Proto, SocketEntry, State};

/// The families and protocols `hint` leaves, as netstat2 flags.
pub fn flags(hint: &Query) -> (AddressFamilyFlags, ProtocolFlags) {
    let mut families = AddressFamilyFlags::empty();
    for family in all_if_empty(&hint.families, &[Family::Ipv4, Family::Ipv6]) {
        families |= match family {
            // IPv4-mapped peers of dual-stack sockets are listed as IPv6.
            Family::Ipv4 => AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
            Family::Ipv6 => AddressFamilyFlags::IPV6,
        };
    }
    let mut protos = ProtocolFlags::empty();
    for proto in all_if_empty(&hint.protos, &[Proto::Tcp, Proto::Udp]) {
        protos |= match proto {
            Proto::Tcp => ProtocolFlags::TCP,
            Proto::Udp => ProtocolFlags::UDP,
        };
    }
    (families, protos)
}

fn all_if_empty<'a, T>(wanted: &'a [T], all: &'a [T]) -> &'a [T] {
    if wanted.is_empty() { all } else { wanted }
}

/// Maps one record. netstat2 0.11 keeps no remote address for UDP.
pub fn to_entry(info: &SocketInfo, netns: &Arc<Netns>) -> SocketEntry {
    let inet = match &info.protocol_socket_info {
        ProtocolSocketInfo::Tcp(tcp) => {
            let state = tcp_state(tcp.state);
            let remote = SocketAddr::new(tcp.remote_addr, tcp.remote_port);
            InetSocket {
                proto: Proto::Tcp,
                local: unmap(SocketAddr::new(tcp.local_addr, tcp.local_port)),
                remote: (state != State::Listen).then_some(unmap(remote)),
                state: Some(state),
                interface: None,
            }
        }
        ProtocolSocketInfo::Udp(udp) => InetSocket {
            proto: Proto::Udp,
            local: unmap(SocketAddr::new(udp.local_addr, udp.local_port)),
            remote: None,
            state: Some(State::Unconn),
            interface: None,
        },
    };
    let mut entry = SocketEntry::new(Endpoint::Inet(inet), Arc::clone(netns));
    // On Linux netstat2 reads the inode and owning uid the kernel gives, as we do.
    #[cfg(target_os = "linux")]
    {
        entry.inode = u64::from(info.inode);
        entry.uid = Some(info.uid);
    }
    entry
}

fn tcp_state(state: netstat2::TcpState) -> State {
    use netstat2::TcpState as N;
    match state {
        N::Listen => State::Listen,
        N::SynSent => State::SynSent,
        N::SynReceived => State::SynRecv,
        N::Established => State::Established,
        N::FinWait1 => State::FinWait1,
        N::FinWait2 => State::FinWait2,
        N::CloseWait => State::CloseWait,
        N::Closing => State::Closing,
        N::LastAck => State::LastAck,
        N::TimeWait => State::TimeWait,
        N::Closed => State::Close,
        N::DeleteTcb | N::Unknown => State::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstat2::{TcpSocketInfo, UdpSocketInfo};

    fn map(info: &SocketInfo) -> InetSocket {
        let entry = to_entry(info, &Arc::new(Netns::host(0)));
        entry.inet().unwrap().clone()
    }

    fn info(protocol_socket_info: ProtocolSocketInfo) -> SocketInfo {
        SocketInfo {
            protocol_socket_info,
            associated_pids: vec![],
            #[cfg(target_os = "linux")]
            inode: 1,
            #[cfg(target_os = "linux")]
            uid: 0,
        }
    }

    #[test]
    fn tcp_listener_has_no_remote() {
        let entry = map(&info(ProtocolSocketInfo::Tcp(TcpSocketInfo {
            local_addr: "0.0.0.0".parse().unwrap(),
            local_port: 80,
            remote_addr: "0.0.0.0".parse().unwrap(),
            remote_port: 0,
            state: netstat2::TcpState::Listen,
        })));
        assert_eq!(entry.proto, Proto::Tcp);
        assert_eq!(entry.local, "0.0.0.0:80".parse().unwrap());
        assert_eq!(entry.remote, None);
        assert_eq!(entry.state, Some(State::Listen));
    }

    #[test]
    fn established_tcp_keeps_peer_and_unmaps_ipv4_in_ipv6() {
        let entry = map(&info(ProtocolSocketInfo::Tcp(TcpSocketInfo {
            local_addr: "::ffff:127.0.0.1".parse().unwrap(),
            local_port: 8080,
            remote_addr: "::ffff:127.0.0.1".parse().unwrap(),
            remote_port: 51000,
            state: netstat2::TcpState::Established,
        })));
        assert_eq!(entry.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(entry.remote, Some("127.0.0.1:51000".parse().unwrap()));
        assert!(entry.local.is_ipv4());
    }

    #[test]
    fn udp_is_unconnected() {
        let entry = map(&info(ProtocolSocketInfo::Udp(UdpSocketInfo {
            local_addr: "::1".parse().unwrap(),
            local_port: 53,
        })));
        assert_eq!(
            (entry.proto, entry.state),
            (Proto::Udp, Some(State::Unconn))
        );
        assert_eq!(entry.remote, None);
    }

    #[test]
    fn flags_follow_the_filter() {
        let all = flags(&Query::default());
        assert_eq!(all, (AddressFamilyFlags::all(), ProtocolFlags::all()));
        let udp6 = Query {
            protos: vec![Proto::Udp],
            families: vec![Family::Ipv6],
            ..Query::default()
        };
        assert_eq!(flags(&udp6), (AddressFamilyFlags::IPV6, ProtocolFlags::UDP));
        let tcp4 = Query {
            protos: vec![Proto::Tcp],
            families: vec![Family::Ipv4],
            ..Query::default()
        };
        assert_eq!(
            flags(&tcp4),
            (AddressFamilyFlags::all(), ProtocolFlags::TCP)
        );
    }
}
