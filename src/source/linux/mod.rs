//! Linux: sockets from netlink SOCK_DIAG (or /proc/net where it is refused), owners from
//! /proc/PID/fd, read at the same time.
//!
//! We ask the kernel ourselves instead of through netstat2 (docs/platforms.md): netstat2 drops a
//! connected UDP socket's peer, cannot filter by state or port in the kernel, turns a netlink
//! error into an empty list, and panics when /proc is unreadable.

mod bind;
mod diag;
mod fds;
mod firewall;
mod kernel;
mod masks;
mod netns;
mod owners;
mod process;
mod procnet;
mod records;
mod spaces;
mod tcp_info;
mod unix;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use diag::{AF_INET, AF_INET6, DiagSocket, IPPROTO_TCP, IPPROTO_UDP, States};
use fds::OwnerMap;
use masks::*;
pub(super) use owners::OwnerMemory;
use owners::*;
use records::*;
use spaces::*;

use super::raw::{RawSnapshot, Unseen, unmap};
use super::{HiddenReason, NetnsScope, Problem, Query, SourceError};
use super::{cgroup, containers};
use crate::model::{
    Endpoint, Family, InetSocket, Listener, Netns, Proto, Queues, SocketEntry, State, UnixName,
    UnixSocket, UnixType,
};

/// Threads reading /proc while the dump runs: this machine class has two cores.
/// Threads reading /proc while the dump runs: this machine class has two cores.
const SCAN_THREADS: usize = 2;

const TCP_LISTEN: u8 = 10;

/// The end of the owners-hidden note for an unprivileged run.
pub(super) const NOT_ROOT_HINT: &str = "they belong to other users, or to processes this user \
     may not inspect; run with sudo to see them";

pub(super) fn runs_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Holders are read with their start times (fds.rs).
pub(super) const KNOWS_START_TIMES: bool = true;

/// Every network namespace can be listed (entered with setns, or read through /proc/PID/net).
pub(super) const SEES_NAMESPACES: bool = true;

pub(super) fn sockets_with_owners(
    query: &Query,
    mut memory: Option<&mut OwnerMemory>,
) -> Result<RawSnapshot, SourceError> {
    let (own, others) = namespaces(query)?;
    let (dumped, owners, rulesets) = thread::scope(|scope| {
        // One fd scan serves every namespace: socket inodes are unique across them.
        let memory = memory.as_deref_mut();
        let owners = scope.spawn(|| scan_owners(query, memory));
        let rulesets = query
            .firewall
            .then(|| scope.spawn(|| firewall::read_all(own.as_ref(), &others)));
        let others_dumped = scope.spawn(|| dump_namespaces(query, &others));
        let own_dumped = own.as_ref().map(|own| dump(query, own));
        let others_dumped = others_dumped.join().unwrap_or_default();
        let rulesets = rulesets.map(|read| read.join().unwrap_or_default());
        (merge(own_dumped, others_dumped), owners.join(), rulesets)
    });
    let owners = owners.map_err(|_| SourceError::Backend("the /proc scan panicked".into()))?;
    let (mut sockets, problems) = dumped?;
    keep_last_of_each_socket(&mut sockets);
    if let Some(error) = the_one_namespace_unreadable(query, &problems) {
        return Err(error);
    }
    let owners = match memory {
        Some(memory) => check_remembered(&sockets, owners, memory),
        None => owners,
    };
    // Owners sought among some processes only: the others' sockets are not hidden, just not
    // looked at.
    let hidden_because = match query.owners_among {
        Some(_) => None,
        None => hidden_because(&owners),
    };
    let unseen = unseen(&owners, hidden_because.as_ref());
    let mut owners = owners.unwrap_or_default();
    if matches!(hidden_because, Some(HiddenReason::RefusedToRoot { .. })) {
        look_again_for_owners(&sockets, &mut owners);
    }
    let mut pairs = Vec::with_capacity(sockets.len());
    let mut ownerless = Vec::new();
    for (entry, index) in sockets.iter_mut().zip(0..) {
        let before = pairs.len();
        pairs.extend(owners.pids(entry.inode as u32).map(|pid| (index, pid)));
        let may_hide = hidden_because
            .as_ref()
            .is_some_and(|_| unseen.includes_creator(entry));
        mark_hidden(entry, pairs.len() > before, may_hide);
        if pairs.len() == before && entry.inode != 0 && kernel::may_be_held(entry) {
            ownerless.push(index as usize);
        }
    }
    // Owners not looked for (a wait's dump) leave every socket ownerless: no one to name.
    if !ownerless.is_empty() && query.owners_among.is_none() {
        kernel::name_holders(&mut sockets, &ownerless, own.as_ref(), &others);
    }
    let netns = own
        .into_iter()
        .chain(others.into_iter().map(|ns| ns.netns))
        .collect();
    Ok(RawSnapshot {
        sockets,
        owners: pairs,
        namespaces: netns,
        problems,
        hidden_because,
        unseen,
        starts: std::mem::take(&mut owners.starts),
        rulesets: rulesets.unwrap_or_default(),
    })
}

/// The process listening on TCP `to` (or its port on every address) in `member`'s network
/// namespace: a port forwarder's far end. Read from /proc/PID/net (no setns), its holder found
/// among that namespace's processes.
pub(super) fn listener_in(member: u32, to: SocketAddr) -> Option<Listener> {
    let base = format!("/proc/{member}/net");
    let tables = [AF_INET, AF_INET6].map(|family| procnet::read(&base, family, IPPROTO_TCP));
    let listening = tables.into_iter().flatten().flatten().find(|socket| {
        let ip = unmap(socket.local).ip();
        let reachable = ip.is_unspecified() || ip == to.ip();
        socket.state == TCP_LISTEN && socket.local.port() == to.port() && reachable
    })?;
    let pid = netns::members(member)
        .into_iter()
        .find(|&pid| fds::holds(pid, listening.inode))?;
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(Listener {
        pid,
        name: name.trim_end().to_owned(),
    })
}

pub(super) use super::containers::ContainerFiles;
pub(super) use bind::{bind_limits, probe_bind};
pub(super) use firewall::address_holder;
pub(super) use process::{signal_if_same, start_ticks};

/// Where a process runs (a unit or a container, from its cgroup) and, for Docker's forwarder,
/// where it forwards and who listens there.
pub(super) fn place(info: &mut crate::model::ProcessInfo, files: &mut ContainerFiles) {
    let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", info.pid)).unwrap_or_default();
    let placement = cgroup::path_of(&cgroup)
        .map(cgroup::placement)
        .unwrap_or_default();
    info.unit = placement.unit;
    info.container = placement.container.map(|mut container| {
        files.name(&mut container);
        container
    });
    if info.program() == "docker-proxy" && containers::is_dockers_forwarder(info.pid) {
        info.forwards = containers::forward(&info.cmdline, info.ppid, files, listener_in);
    }
}

/// Dumps over netlink, or reads /proc/net where netlink is refused (docs/reliability.md), and
/// says so. Each socket becomes an entry as it is decoded.
fn dump(query: &Query, netns: &Arc<Netns>) -> Result<Dumped, SourceError> {
    let mut entries = Vec::new();
    let netlink = dump_netlink(query, netns, &mut entries);
    let Err(netlink_error) = netlink else {
        name_unix_peers(&mut entries);
        return Ok((entries, Vec::new()));
    };
    // /proc/net cannot filter: the caller's filter drops the extra sockets later.
    entries.clear();
    read_proc_net("/proc/net", query, netns, &mut entries).map_err(|procnet_error| {
        SourceError::Backend(format!(
            "netlink SOCK_DIAG failed ({netlink_error}), and so did /proc/net ({procnet_error})"
        ))
    })?;
    let error = netlink_error.to_string();
    Ok((entries, vec![Problem::NetlinkRefused { error }]))
}

fn dump_netlink(
    query: &Query,
    netns: &Arc<Netns>,
    entries: &mut Vec<SocketEntry>,
) -> std::io::Result<()> {
    let inet = |r: &Request, sink: &mut dyn FnMut(DiagSocket)| {
        diag::dump(r.family, r.protocol, r.states, r.port, r.tcp_info, sink)
    };
    let unix = |sink: &mut dyn FnMut(unix::UnixDiag)| unix::dump(unix_states(query).0, sink);
    collect(query, netns, entries, inet, unix)
}

fn read_proc_net(
    base: &str,
    query: &Query,
    netns: &Arc<Netns>,
    entries: &mut Vec<SocketEntry>,
) -> std::io::Result<()> {
    let inet = |r: &Request, sink: &mut dyn FnMut(DiagSocket)| {
        procnet::read(base, r.family, r.protocol).map(|sockets| sockets.into_iter().for_each(sink))
    };
    let unix = |sink: &mut dyn FnMut(unix::UnixDiag)| {
        unix::read_proc(base).map(|s| s.into_iter().for_each(sink))
    };
    collect(query, netns, entries, inet, unix)
}

/// Every socket `query` asks for, from one reader (netlink or /proc/net), made entries as they
/// are read: the dump requests in turn, then the Unix sockets when asked for.
fn collect(
    query: &Query,
    netns: &Arc<Netns>,
    entries: &mut Vec<SocketEntry>,
    inet: impl Fn(&Request, &mut dyn FnMut(DiagSocket)) -> std::io::Result<()>,
    unix: impl Fn(&mut dyn FnMut(unix::UnixDiag)) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut names = InterfaceNames::default();
    for request in &requests(query) {
        inet(request, &mut |mut s| {
            let tcp_info = s.tcp_info.take();
            entries.push(SocketEntry {
                tcp_info,
                ..to_entry(&s, netns, &mut names)
            })
        })?;
    }
    if query.unix {
        unix(&mut |socket| entries.push(unix_entry(&socket, netns)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(protocol: u8, state: u8, local: &str, remote: &str) -> DiagSocket {
        DiagSocket {
            family: AF_INET,
            protocol,
            state,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            inode: 77,
            cookie: 9,
            interface: 0,
            uid: 0,
            recv_queue: 0,
            send_queue: 0,
            tcp_info: None,
            v6only: None,
            expires_ms: 0,
        }
    }

    fn entry(socket: &DiagSocket) -> SocketEntry {
        to_entry(
            socket,
            &Arc::new(Netns::host(4026531833)),
            &mut InterfaceNames::default(),
        )
    }

    fn inet(socket: &DiagSocket) -> InetSocket {
        entry(socket).inet().unwrap().clone()
    }

    #[test]
    fn a_socket_listed_twice_keeps_its_later_state() {
        let bound = entry(&diag(IPPROTO_TCP, 7, "127.0.0.1:5000", "0.0.0.0:0"));
        let connected = entry(&diag(IPPROTO_TCP, 1, "127.0.0.1:5000", "127.0.0.1:80"));
        let mut other = bound.clone();
        other.cookie = Some(10);
        let mut sockets = vec![bound, other.clone(), connected];
        keep_last_of_each_socket(&mut sockets);
        let states: Vec<_> = sockets.iter().map(|e| (e.cookie, e.state())).collect();
        assert_eq!(
            states,
            [
                (Some(10), other.state()),
                (Some(9), Some(State::Established))
            ]
        );
    }

    #[test]
    fn connected_udp_keeps_its_peer() {
        let connected = inet(&diag(IPPROTO_UDP, 1, "127.0.0.1:5000", "127.0.0.1:53"));
        assert_eq!(connected.remote, Some("127.0.0.1:53".parse().unwrap()));
        assert_eq!(connected.state, Some(State::Established));
        let bound = inet(&diag(IPPROTO_UDP, 7, "0.0.0.0:53", "0.0.0.0:0"));
        assert_eq!((bound.remote, bound.state), (None, Some(State::Unconn)));
    }

    #[test]
    fn tcp_listeners_have_no_peer_and_mapped_addresses_unmap() {
        let listener = inet(&diag(IPPROTO_TCP, 10, "0.0.0.0:80", "0.0.0.0:0"));
        assert_eq!(
            (listener.state, listener.remote),
            (Some(State::Listen), None)
        );
        let mapped = inet(&diag(
            IPPROTO_TCP,
            1,
            "[::ffff:127.0.0.1]:80",
            "[::ffff:10.1.2.3]:5555",
        ));
        assert_eq!(mapped.local, "127.0.0.1:80".parse().unwrap());
        assert_eq!(mapped.remote, Some("10.1.2.3:5555".parse().unwrap()));
        assert_eq!(mapped.state, Some(State::Established));
    }

    #[test]
    fn kernel_details_reach_the_model() {
        let mut socket = diag(IPPROTO_TCP, 10, "0.0.0.0:80", "0.0.0.0:0");
        (socket.uid, socket.recv_queue, socket.send_queue) = (33, 2, 511);
        socket.interface = 1;
        let entry = entry(&socket);
        assert_eq!(entry.inet().unwrap().interface.as_deref(), Some("lo"));
        assert_eq!(
            (entry.inode, entry.cookie, entry.uid),
            (77, Some(9), Some(33))
        );
        assert_eq!(entry.queues, Some(Queues { recv: 2, send: 511 }));
        assert_eq!(entry.key().netns, 4026531833);
    }

    #[test]
    fn only_live_sockets_without_a_visible_owner_are_hidden() {
        let hidden = |socket: &DiagSocket, found, may_hide| {
            let mut entry = entry(socket);
            mark_hidden(&mut entry, found, may_hide);
            entry.owner_hidden
        };
        let live = diag(IPPROTO_TCP, 10, "0.0.0.0:80", "0.0.0.0:0");
        assert!(hidden(&live, false, true));
        assert!(!hidden(&live, false, false));
        assert!(!hidden(&live, true, true));
        let time_wait = DiagSocket {
            inode: 0,
            ..diag(IPPROTO_TCP, 6, "127.0.0.1:5000", "127.0.0.1:80")
        };
        assert!(!hidden(&time_wait, false, true));
    }

    #[test]
    fn devices_are_named_and_a_vanished_one_keeps_its_number() {
        let mut names = InterfaceNames::default();
        assert_eq!(names.get(0), None);
        assert_eq!(names.get(1).as_deref(), Some("lo"));
        assert_eq!(names.get(999_999).as_deref(), Some("999999"));
    }

    #[test]
    fn an_empty_proc_or_a_refusal_to_root_hides_owners() {
        let empty = OwnerMap::default();
        let reason = hidden_because(&Ok(empty));
        assert!(matches!(reason, Some(HiddenReason::ProcUnavailable { .. })));
        let missing = hidden_because(&Err(rustix::io::Errno::NOENT));
        assert!(matches!(
            missing,
            Some(HiddenReason::ProcUnavailable { .. })
        ));
    }

    #[test]
    fn every_state_maps_back_to_its_flag() {
        for number in [1, 2, 4, 5, 6, 8, 9, 10, 11] {
            let state = tcp_state(number);
            assert_eq!(
                state_flag(Proto::Tcp, state).0,
                1 << number,
                "state {number}"
            );
        }
        // The dump returns a bound-only socket (asked for as 13) in TCP_CLOSE (7).
        assert_eq!(tcp_state(7), State::Bound);
        assert_eq!(state_flag(Proto::Tcp, State::Bound).0, 1 << 13);
        assert_eq!(tcp_state(12), State::SynRecv);
        assert_eq!(tcp_state(99), State::Unknown);
    }

    #[test]
    fn listening_asks_the_kernel_for_listeners_and_unconnected_udp() {
        let hint = Query {
            listening_only: true,
            ..Query::default()
        };
        let masks: Vec<_> = requests(&hint)
            .iter()
            .map(|r| (r.protocol, r.states))
            .collect();
        let tcp = (IPPROTO_TCP, LISTEN | BOUND_INACTIVE);
        let udp = (IPPROTO_UDP, CLOSE);
        assert_eq!(masks, [tcp, udp, tcp, udp]);
    }

    #[test]
    fn states_pick_each_protocols_mask_and_one_port_goes_to_the_kernel() {
        let hint = Query {
            states: vec![State::Established, State::TimeWait],
            port: Some(8080),
            families: vec![Family::Ipv6],
            ..Query::default()
        };
        let request = |protocol, states| Request {
            family: AF_INET6,
            protocol,
            states,
            port: Some(8080),
            tcp_info: false,
        };
        // A connected UDP socket is established too; UDP has no TIME-WAIT.
        let want = [
            request(IPPROTO_TCP, ESTABLISHED | States::of(&[6])),
            request(IPPROTO_UDP, ESTABLISHED),
        ];
        assert_eq!(requests(&hint), want);
        let time_wait = Query {
            states: vec![State::TimeWait],
            ..Query::default()
        };
        assert!(
            requests(&time_wait)
                .iter()
                .all(|r| r.protocol == IPPROTO_TCP)
        );
    }

    #[test]
    fn contradictions_are_not_sent() {
        let nothing = Query {
            listening_only: true,
            states: vec![State::TimeWait],
            ..Query::default()
        };
        assert_eq!(requests(&nothing), []);
    }

    #[test]
    fn finds_our_own_socket_and_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hint = Query {
            port: Some(port),
            ..Query::default()
        };
        let snapshot = sockets_with_owners(&hint, None).unwrap();
        let index = snapshot
            .sockets
            .iter()
            .position(|s| s.local_port() == Some(port))
            .unwrap();
        let pids: Vec<u32> = snapshot
            .owners
            .iter()
            .filter(|o| o.0 as usize == index)
            .map(|o| o.1)
            .collect();
        assert_eq!(pids, [std::process::id()]);
        assert_eq!(snapshot.sockets[index].netns.inode, own_netns_inode());
        assert_ne!(own_netns_inode(), 0);
    }

    #[test]
    fn tcp_internals_come_only_when_asked_for() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let internals = |tcp_info| {
            let query = Query {
                port: Some(port),
                owners_among: Some(Vec::new()),
                tcp_info,
                ..Query::default()
            };
            let snapshot = sockets_with_owners(&query, None).unwrap();
            let connections = snapshot.sockets.into_iter().filter(|s| !s.is_listening());
            let info = connections.map(|s| s.tcp_info.and_then(|info| info.counters));
            info.collect::<Vec<_>>()
        };
        assert!(internals(false).iter().all(Option::is_none));
        let asked = internals(true);
        assert_eq!(asked.len(), 2, "both ends: {asked:?}");
        assert!(
            asked
                .iter()
                .all(|c| c.as_ref().is_some_and(|c| c.rtt_us > 0))
        );
        let plain = requests(&Query::default());
        assert!(plain.iter().all(|request| !request.tcp_info));
    }

    #[test]
    fn owners_are_sought_among_the_pids_asked_only() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let owners_of_ours = |among: Vec<u32>| {
            let query = Query {
                port: Some(port),
                owners_among: Some(among),
                ..Query::default()
            };
            let snapshot = sockets_with_owners(&query, None).unwrap();
            let ours = snapshot
                .sockets
                .iter()
                .position(|s| s.local_port() == Some(port));
            let index = ours.unwrap() as u32;
            let hidden = snapshot.sockets[index as usize].owner_hidden;
            let pids = snapshot.owners.iter().filter(|o| o.0 == index).map(|o| o.1);
            (pids.collect::<Vec<u32>>(), hidden, snapshot.hidden_because)
        };
        let me = std::process::id();
        assert_eq!(owners_of_ours(vec![me]), (vec![me], false, None));
        assert_eq!(
            owners_of_ours(vec![1]),
            (vec![], false, None),
            "not looked at, not hidden"
        );
        assert_eq!(owners_of_ours(vec![]), (vec![], false, None));
    }
}
