//! The real source: netstat2 lists sockets, the OS layer maps them to pids, sysinfo names the pids.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::{SocketSource, SourceError, os};
use crate::filter::Filter;
use crate::model::{Family, ProcessInfo, Proto, SocketEntry, TcpState};

/// Lists this machine's sockets.
#[derive(Debug, Default)]
pub struct SystemSource;

impl SocketSource for SystemSource {
    fn sockets(&self, hint: &Filter) -> Result<Vec<SocketEntry>, SourceError> {
        let (families, protos) = dump_flags(hint);
        let raw = os::dump_with_owners(families, protos)?;
        let pids: Vec<u32> = raw.iter().flat_map(|s| s.pids.iter().copied()).collect();
        let processes = describe_processes(&pids);
        Ok(raw.into_iter().map(|s| s.into_entry(&processes)).collect())
    }
}

/// A socket as the OS layer found it: netstat2's record plus its owners' pids.
pub(super) struct RawSocket {
    pub info: SocketInfo,
    pub pids: Vec<u32>,
    /// An owner exists but its process could not be read.
    pub owner_hidden: bool,
}

impl RawSocket {
    fn into_entry(self, processes: &HashMap<u32, Arc<ProcessInfo>>) -> SocketEntry {
        let mut entry = to_entry(&self.info);
        // A pid missing here exited after the fd scan: it no longer owns anything.
        entry.processes = self
            .pids
            .iter()
            .filter_map(|pid| processes.get(pid).cloned())
            .collect();
        entry.owner_hidden = self.owner_hidden && entry.processes.is_empty();
        entry
    }
}

fn dump_flags(hint: &Filter) -> (AddressFamilyFlags, ProtocolFlags) {
    let mut families = AddressFamilyFlags::empty();
    for family in all_if_empty(&hint.families, &[Family::Ipv4, Family::Ipv6]) {
        families |= match family {
            Family::Ipv4 => AddressFamilyFlags::IPV4,
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

/// Maps netstat2's record to ours. netstat2 0.11 keeps no remote address for UDP.
pub(super) fn to_entry(info: &SocketInfo) -> SocketEntry {
    let (proto, local, remote, state) = match &info.protocol_socket_info {
        ProtocolSocketInfo::Tcp(tcp) => {
            let state = tcp_state(tcp.state);
            let remote = (state != TcpState::Listen)
                .then(|| SocketAddr::new(tcp.remote_addr, tcp.remote_port));
            let local = SocketAddr::new(tcp.local_addr, tcp.local_port);
            (Proto::Tcp, local, remote, Some(state))
        }
        ProtocolSocketInfo::Udp(udp) => {
            let local = SocketAddr::new(udp.local_addr, udp.local_port);
            (Proto::Udp, local, None, None)
        }
    };
    SocketEntry {
        proto,
        local: unmap(local),
        remote: remote.map(unmap),
        state,
        processes: Vec::new(),
        owner_hidden: false,
    }
}

/// Shows IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they carry, like ss.
fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

fn tcp_state(state: netstat2::TcpState) -> TcpState {
    use netstat2::TcpState as N;
    match state {
        N::Listen => TcpState::Listen,
        N::SynSent => TcpState::SynSent,
        N::SynReceived => TcpState::SynRecv,
        N::Established => TcpState::Established,
        N::FinWait1 => TcpState::FinWait1,
        N::FinWait2 => TcpState::FinWait2,
        N::CloseWait => TcpState::CloseWait,
        N::Closing => TcpState::Closing,
        N::LastAck => TcpState::LastAck,
        N::TimeWait => TcpState::TimeWait,
        N::Closed => TcpState::Close,
        N::DeleteTcb | N::Unknown => TcpState::Unknown,
    }
}

/// Names, users and command lines of the given pids only: a full process refresh costs more.
/// User names come from the OS layer: sysinfo's list skips accounts whose shell is `/bin/false`
/// (most daemons) and ignores NSS.
fn describe_processes(pids: &[u32]) -> HashMap<u32, Arc<ProcessInfo>> {
    let Ok(mut system) = System::new() else {
        return HashMap::new();
    };
    let pids: Vec<Pid> = pids.iter().map(|&pid| Pid::from_u32(pid)).collect();
    let fields = ProcessRefreshKind::nothing()
        .without_tasks()
        .with_user(UpdateKind::Always)
        .with_cmd(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, fields);
    let mut user_names = HashMap::new();
    let mut user_name = |uid: u32| {
        user_names
            .entry(uid)
            .or_insert_with(|| os::user_name(uid))
            .clone()
    };
    system
        .processes()
        .iter()
        .map(|(pid, process)| {
            let uid = process.user_id().map(|uid| **uid);
            let info = ProcessInfo {
                pid: pid.as_u32(),
                name: process.name().to_string_lossy().into_owned(),
                user: uid.and_then(&mut user_name),
                uid,
                cmdline: join_lossy(process.cmd()),
            };
            (pid.as_u32(), Arc::new(info))
        })
        .collect()
}

fn join_lossy(args: &[std::ffi::OsString]) -> String {
    let parts: Vec<_> = args.iter().map(|arg| arg.to_string_lossy()).collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstat2::{TcpSocketInfo, UdpSocketInfo};

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
        let entry = to_entry(&info(ProtocolSocketInfo::Tcp(TcpSocketInfo {
            local_addr: "0.0.0.0".parse().unwrap(),
            local_port: 80,
            remote_addr: "0.0.0.0".parse().unwrap(),
            remote_port: 0,
            state: netstat2::TcpState::Listen,
        })));
        assert_eq!(entry.proto, Proto::Tcp);
        assert_eq!(entry.local, "0.0.0.0:80".parse().unwrap());
        assert_eq!(entry.remote, None);
        assert_eq!(entry.state, Some(TcpState::Listen));
    }

    #[test]
    fn established_tcp_keeps_peer_and_unmaps_ipv4_in_ipv6() {
        let entry = to_entry(&info(ProtocolSocketInfo::Tcp(TcpSocketInfo {
            local_addr: "::ffff:127.0.0.1".parse().unwrap(),
            local_port: 8080,
            remote_addr: "::ffff:127.0.0.1".parse().unwrap(),
            remote_port: 51000,
            state: netstat2::TcpState::Established,
        })));
        assert_eq!(entry.local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(entry.remote, Some("127.0.0.1:51000".parse().unwrap()));
        assert_eq!(entry.family(), Family::Ipv4);
        assert_eq!(entry.state, Some(TcpState::Established));
    }

    #[test]
    fn udp_has_no_state() {
        let entry = to_entry(&info(ProtocolSocketInfo::Udp(UdpSocketInfo {
            local_addr: "::1".parse().unwrap(),
            local_port: 53,
        })));
        assert_eq!(entry.proto, Proto::Udp);
        assert_eq!(entry.state, None);
        assert_eq!(entry.family(), Family::Ipv6);
        assert!(entry.is_listening());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn describes_the_current_process() {
        let me = std::process::id();
        let processes = describe_processes(&[me]);
        let info = &processes[&me];
        assert_eq!(info.pid, me);
        assert!(!info.name.is_empty());
        assert_eq!(info.uid, Some(current_uid()));
        assert!(info.cmdline.contains("ports"), "{}", info.cmdline);
    }

    #[cfg(target_os = "linux")]
    fn current_uid() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
