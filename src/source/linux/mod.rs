//! Linux: sockets from netlink SOCK_DIAG (or /proc/net where it is refused), owners from
//! /proc/PID/fd, read at the same time.
//!
//! We ask the kernel ourselves instead of through netstat2 (docs/platforms.md): netstat2 drops a
//! connected UDP socket's peer, cannot filter by state or port in the kernel, turns a netlink
//! error into an empty list, and panics when /proc is unreadable.

mod diag;
mod fds;
mod procnet;

use std::thread;

use diag::{AF_INET, AF_INET6, DiagSocket, IPPROTO_TCP, IPPROTO_UDP, StateFlags};
use fds::OwnerMap;

use super::SourceError;
use super::system::{RawSocket, unmap};
use crate::filter::Filter;
use crate::model::{Family, Proto, SocketEntry, TcpState};

/// Threads reading /proc while the dump runs: this machine class has two cores.
const SCAN_THREADS: usize = 2;

/// The kernel's `TCP_ESTABLISHED`; a connected UDP socket reports it too.
const TCP_ESTABLISHED: u8 = 1;

pub(super) fn sockets_with_owners(hint: &Filter) -> Result<Vec<RawSocket>, SourceError> {
    let (dumped, owners) = thread::scope(|scope| {
        let owners = scope.spawn(|| fds::scan(SCAN_THREADS));
        (dump(hint), owners.join())
    });
    let owners = owners.map_err(|_| SourceError::Backend("the /proc scan panicked".into()))?;
    // Without /proc (hidepid, a sandbox) sockets are still listed, their owners marked hidden.
    let owners = owners.unwrap_or_else(|_| OwnerMap::unreadable());
    // Without root, other users' processes are unreadable, or invisible under hidepid=2.
    let all_visible = rustix::process::geteuid().is_root() && !owners.some_unreadable;
    let sockets = dumped?;
    Ok(sockets
        .iter()
        .map(|socket| raw_socket(socket, &owners, all_visible))
        .collect())
}

/// One dump request per family and protocol the filter leaves, narrowed in the kernel.
#[derive(Debug, PartialEq)]
struct Request {
    family: u8,
    protocol: u8,
    states: StateFlags,
    port: Option<u16>,
}

/// Dumps over netlink, or reads /proc/net where netlink is refused (docs/reliability.md).
fn dump(hint: &Filter) -> Result<Vec<DiagSocket>, SourceError> {
    let requests = requests(hint);
    let netlink = |r: &Request| diag::dump(r.family, r.protocol, r.states, r.port);
    // /proc/net cannot filter: `Filter` drops the extra sockets later.
    let procnet = |r: &Request| procnet::read(r.family, r.protocol);
    read_all(&requests, netlink).or_else(|netlink_error| {
        read_all(&requests, procnet).map_err(|procnet_error| {
            SourceError::Backend(format!(
                "netlink SOCK_DIAG failed ({netlink_error}), and so did /proc/net ({procnet_error})"
            ))
        })
    })
}

/// Reads every request with `read` and joins the sockets; the first error stops it.
fn read_all(
    requests: &[Request],
    read: impl Fn(&Request) -> std::io::Result<Vec<DiagSocket>>,
) -> std::io::Result<Vec<DiagSocket>> {
    let mut sockets = Vec::new();
    for request in requests {
        sockets.extend(read(request)?);
    }
    Ok(sockets)
}

fn requests(hint: &Filter) -> Vec<Request> {
    // One exact port is filtered in the kernel; ranges and lists are left to `Filter`.
    let port = match hint.ports.as_slice() {
        [range] if range.first == range.last => Some(range.first),
        _ => None,
    };
    let families = [(Family::Ipv4, AF_INET), (Family::Ipv6, AF_INET6)];
    let protos = [(Proto::Tcp, IPPROTO_TCP), (Proto::Udp, IPPROTO_UDP)];
    let mut requests = Vec::new();
    for (family, family_number) in families {
        for (proto, protocol) in protos {
            // IPv4 peers of dual-stack IPv6 sockets (`::ffff:a.b.c.d`) come in the AF_INET6 dump
            // and count as IPv4, so `-4` needs that dump too.
            let family_wanted = hint.families.is_empty()
                || hint.families.contains(&family)
                || (family == Family::Ipv6 && hint.families.contains(&Family::Ipv4));
            let wanted = family_wanted && (hint.protos.is_empty() || hint.protos.contains(&proto));
            if let Some(states) = wanted.then(|| state_mask(proto, hint)).flatten() {
                requests.push(Request {
                    family: family_number,
                    protocol,
                    states,
                    port,
                });
            }
        }
    }
    requests
}

/// The kernel states to dump; `None` when the filter can match no socket of `proto`.
fn state_mask(proto: Proto, hint: &Filter) -> Option<StateFlags> {
    let mask = match proto {
        Proto::Tcp => {
            let mut mask = if hint.states.is_empty() || hint.states.contains(&TcpState::Unknown) {
                StateFlags::all()
            } else {
                hint.states.iter().map(|&state| state_flag(state)).collect()
            };
            if hint.listening_only {
                mask &= StateFlags::LISTEN;
            }
            mask
        }
        // `--state` names TCP states only. An unconnected UDP socket is in state CLOSE.
        Proto::Udp if !hint.states.is_empty() => StateFlags::empty(),
        Proto::Udp if hint.listening_only => StateFlags::CLOSE,
        Proto::Udp => StateFlags::all(),
    };
    (!mask.is_empty()).then_some(mask)
}

fn state_flag(state: TcpState) -> StateFlags {
    match state {
        TcpState::Listen => StateFlags::LISTEN,
        TcpState::SynSent => StateFlags::SYN_SENT,
        TcpState::SynRecv => StateFlags::SYN_RECV,
        TcpState::Established => StateFlags::ESTABLISHED,
        TcpState::FinWait1 => StateFlags::FIN_WAIT1,
        TcpState::FinWait2 => StateFlags::FIN_WAIT2,
        TcpState::CloseWait => StateFlags::CLOSE_WAIT,
        TcpState::Closing => StateFlags::CLOSING,
        TcpState::LastAck => StateFlags::LAST_ACK,
        TcpState::TimeWait => StateFlags::TIME_WAIT,
        TcpState::Close => StateFlags::CLOSE,
        TcpState::Unknown => StateFlags::all(),
    }
}

/// Maps the kernel's `TCP_*` state number (include/net/tcp_states.h).
fn tcp_state(state: u8) -> TcpState {
    match state {
        1 => TcpState::Established,
        2 => TcpState::SynSent,
        3 | 12 => TcpState::SynRecv, // 12 is TCP_NEW_SYN_RECV, a pending connection
        4 => TcpState::FinWait1,
        5 => TcpState::FinWait2,
        6 => TcpState::TimeWait,
        7 => TcpState::Close,
        8 => TcpState::CloseWait,
        9 => TcpState::LastAck,
        10 => TcpState::Listen,
        11 => TcpState::Closing,
        _ => TcpState::Unknown,
    }
}

fn raw_socket(socket: &DiagSocket, owners: &OwnerMap, all_visible: bool) -> RawSocket {
    let pids: Vec<u32> = owners.pids(socket.inode).collect();
    RawSocket {
        entry: SocketEntry {
            // inode 0: no file refers to the socket (TIME-WAIT, orphans), so nobody owns it.
            owner_hidden: pids.is_empty() && socket.inode != 0 && !all_visible,
            ..to_entry(socket)
        },
        pids,
    }
}

fn to_entry(socket: &DiagSocket) -> SocketEntry {
    let (proto, state, has_peer) = if socket.protocol == IPPROTO_UDP {
        (Proto::Udp, None, socket.state == TCP_ESTABLISHED)
    } else {
        let state = tcp_state(socket.state);
        (Proto::Tcp, Some(state), state != TcpState::Listen)
    };
    SocketEntry {
        proto,
        local: unmap(socket.local),
        remote: has_peer.then(|| unmap(socket.remote)),
        state,
        processes: Vec::new(),
        owner_hidden: false,
    }
}

pub(super) fn hidden_owners_hint(hidden: usize) -> String {
    let sockets = if hidden == 1 {
        "socket's owner is"
    } else {
        "sockets' owners are"
    };
    format!("{hidden} {sockets} hidden: they belong to other users; run with sudo to see them")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::PortRange;

    fn diag(protocol: u8, state: u8, local: &str, remote: &str) -> DiagSocket {
        DiagSocket {
            family: AF_INET,
            protocol,
            state,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            inode: 77,
            uid: 0,
            recv_queue: 0,
            send_queue: 0,
        }
    }

    #[test]
    fn connected_udp_keeps_its_peer() {
        let connected = to_entry(&diag(IPPROTO_UDP, 1, "127.0.0.1:5000", "127.0.0.1:53"));
        assert_eq!(connected.remote, Some("127.0.0.1:53".parse().unwrap()));
        assert_eq!(connected.state, None);
        assert!(!connected.is_listening());
        let bound = to_entry(&diag(IPPROTO_UDP, 7, "0.0.0.0:53", "0.0.0.0:0"));
        assert_eq!(bound.remote, None);
        assert!(bound.is_listening());
    }

    #[test]
    fn tcp_listeners_have_no_peer_and_mapped_addresses_unmap() {
        let listener = to_entry(&diag(IPPROTO_TCP, 10, "0.0.0.0:80", "0.0.0.0:0"));
        assert_eq!(
            (listener.state, listener.remote),
            (Some(TcpState::Listen), None)
        );
        let mapped = to_entry(&diag(
            IPPROTO_TCP,
            1,
            "[::ffff:127.0.0.1]:80",
            "[::ffff:10.1.2.3]:5555",
        ));
        assert_eq!(mapped.local, "127.0.0.1:80".parse().unwrap());
        assert_eq!(mapped.remote, Some("10.1.2.3:5555".parse().unwrap()));
        assert_eq!(mapped.state, Some(TcpState::Established));
    }

    #[test]
    fn every_state_maps_back_to_its_flag() {
        for number in 1..=11 {
            let state = tcp_state(number);
            assert_eq!(state_flag(state).bits(), 1 << number, "state {number}");
        }
        assert_eq!(tcp_state(12), TcpState::SynRecv);
        assert_eq!(tcp_state(99), TcpState::Unknown);
    }

    #[test]
    fn listening_asks_the_kernel_for_listeners_and_unconnected_udp() {
        let hint = Filter {
            listening_only: true,
            ..Filter::default()
        };
        let masks: Vec<_> = requests(&hint)
            .iter()
            .map(|r| (r.protocol, r.states))
            .collect();
        let tcp = (IPPROTO_TCP, StateFlags::LISTEN);
        let udp = (IPPROTO_UDP, StateFlags::CLOSE);
        assert_eq!(masks, [tcp, udp, tcp, udp]);
    }

    #[test]
    fn tcp_states_skip_udp_and_one_port_goes_to_the_kernel() {
        let hint = Filter {
            states: vec![TcpState::Established, TcpState::TimeWait],
            ports: vec![PortRange {
                first: 8080,
                last: 8080,
            }],
            families: vec![Family::Ipv6],
            ..Filter::default()
        };
        let want = Request {
            family: AF_INET6,
            protocol: IPPROTO_TCP,
            states: StateFlags::ESTABLISHED | StateFlags::TIME_WAIT,
            port: Some(8080),
        };
        assert_eq!(requests(&hint), [want]);
    }

    #[test]
    fn ranges_and_contradictions_are_not_sent() {
        let range = Filter {
            ports: vec![PortRange {
                first: 1,
                last: 1024,
            }],
            ..Filter::default()
        };
        assert!(requests(&range).iter().all(|r| r.port.is_none()));
        let nothing = Filter {
            listening_only: true,
            states: vec![TcpState::TimeWait],
            ..Filter::default()
        };
        assert_eq!(requests(&nothing), []);
    }

    #[test]
    fn finds_our_own_socket_and_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hint = Filter {
            ports: vec![PortRange {
                first: port,
                last: port,
            }],
            ..Filter::default()
        };
        let sockets = sockets_with_owners(&hint).unwrap();
        let ours = sockets
            .iter()
            .find(|s| s.entry.local.port() == port)
            .unwrap();
        assert_eq!(ours.pids, [std::process::id()]);
    }
}
