//! Linux: sockets from netlink SOCK_DIAG (or /proc/net where it is refused), owners from
//! /proc/PID/fd, read at the same time.
//!
//! We ask the kernel ourselves instead of through netstat2 (docs/platforms.md): netstat2 drops a
//! connected UDP socket's peer, cannot filter by state or port in the kernel, turns a netlink
//! error into an empty list, and panics when /proc is unreadable.

mod diag;
mod fds;
mod netns;
mod process;
mod procnet;
mod unix;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;

use diag::{AF_INET, AF_INET6, DiagSocket, IPPROTO_TCP, IPPROTO_UDP, States};
use fds::OwnerMap;

use super::raw::{RawSnapshot, Unseen, unmap};
use super::{HiddenReason, NetnsScope, Problem, Query, SourceError};
use crate::model::{
    Endpoint, Family, InetSocket, Listener, Netns, Proto, Queues, SocketEntry, State, UnixName,
    UnixSocket, UnixType,
};

/// Threads reading /proc while the dump runs: this machine class has two cores.
const SCAN_THREADS: usize = 2;

/// The kernel's `TCP_ESTABLISHED`; a connected UDP socket reports it too.
const TCP_ESTABLISHED: u8 = 1;
const TCP_LISTEN: u8 = 10;

/// The kernel's `TCP_*` states (include/net/tcp_states.h).
const LISTEN: States = States::of(&[10]);
const CLOSE: States = States::of(&[7]);
const ESTABLISHED: States = States::of(&[1]);
/// Every state but `TCP_BOUND_INACTIVE`, 1 through 12 (12 is `TCP_NEW_SYN_RECV`).
const ALL_TCP: States = States::of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/// Asks for TCP sockets bound to a port but neither listening nor connected
/// (`TCPF_BOUND_INACTIVE`, what `ss -B` asks for). They come back in state `TCP_CLOSE`.
/// Kernels without it ignore the bit, and such sockets are then not listed (docs/platforms.md).
const BOUND_INACTIVE: States = States::of(&[13]);

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
    let (dumped, owners) = thread::scope(|scope| {
        // One fd scan serves every namespace: socket inodes are unique across them.
        let memory = memory.as_deref_mut();
        let owners = scope.spawn(|| scan_owners(query, memory));
        let others_dumped = scope.spawn(|| dump_namespaces(query, &others));
        let own_dumped = own.as_ref().map(|own| dump(query, own));
        let others_dumped = others_dumped.join().unwrap_or_default();
        (merge(own_dumped, others_dumped), owners.join())
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
    for (entry, index) in sockets.iter_mut().zip(0..) {
        let before = pairs.len();
        pairs.extend(owners.pids(entry.inode as u32).map(|pid| (index, pid)));
        let may_hide = hidden_because
            .as_ref()
            .is_some_and(|_| unseen.includes_creator(entry));
        mark_hidden(entry, pairs.len() > before, may_hide);
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
    })
}

/// A socket that changed state between two dump requests (bound, then established) comes back
/// from both: one socket, one entry, the later state winning. Sockets are told apart by
/// namespace and cookie; one without a cookie (the /proc/net fallback) is kept as it is.
fn keep_last_of_each_socket(sockets: &mut Vec<SocketEntry>) {
    let mut last: HashMap<(u64, u64), usize> = HashMap::new();
    for (index, entry) in sockets.iter().enumerate() {
        if let Some(cookie) = entry.cookie {
            last.insert((entry.netns.inode, cookie), index);
        }
    }
    if last.len() == sockets.iter().filter(|e| e.cookie.is_some()).count() {
        return; // nothing listed twice: the usual case costs one pass
    }
    let mut index = 0;
    sockets.retain(|entry| {
        index += 1;
        entry
            .cookie
            .is_none_or(|cookie| last[&(entry.netns.inode, cookie)] == index - 1)
    });
}

/// Before a socket without an owner is blamed on a process the kernel would not show us, the
/// processes of its creator's user are read again: one opened after its process was read
/// (churn) is found then. Only when some process was refused, so a run that sees everything
/// pays nothing.
fn look_again_for_owners(sockets: &[SocketEntry], owners: &mut OwnerMap) {
    let unowned = sockets
        .iter()
        .filter(|entry| entry.inode != 0 && owners.pids(entry.inode as u32).next().is_none());
    let uids: HashSet<u32> = unowned.filter_map(|entry| entry.uid).collect();
    if uids.is_empty() {
        return;
    }
    if let Ok(found) = fds::scan_users(SCAN_THREADS, &uids) {
        owners.absorb(found);
    }
}

/// What each process held at the last snapshot, and which sockets had no owner then.
#[derive(Debug, Default)]
pub(super) struct OwnerMemory {
    fds: fds::FdMemory,
    unowned: HashSet<u32>,
}

fn scan_owners(query: &Query, memory: Option<&mut OwnerMemory>) -> rustix::io::Result<OwnerMap> {
    match (&query.owners_among, memory) {
        (Some(pids), _) => Ok(fds::scan_pids(SCAN_THREADS, pids)),
        (None, Some(memory)) => fds::scan_remembering(SCAN_THREADS, &mut memory.fds),
        (None, None) => fds::scan(SCAN_THREADS),
    }
}

/// A scan that reused what processes held is trusted while every socket without an owner is
/// one that had none before; a new one may belong to a process that closed one socket and opened
/// another (its fd count unchanged), so then every process is read again.
fn check_remembered(
    sockets: &[SocketEntry],
    owners: rustix::io::Result<OwnerMap>,
    memory: &mut OwnerMemory,
) -> rustix::io::Result<OwnerMap> {
    let unowned = |owners: &OwnerMap| -> HashSet<u32> {
        let inodes = sockets.iter().map(|s| s.inode as u32).filter(|&i| i != 0);
        inodes
            .filter(|&i| owners.pids(i).next().is_none())
            .collect()
    };
    let Ok(map) = &owners else { return owners };
    let now = unowned(map);
    let owners = if memory.fds.reused == 0 || now.is_subset(&memory.unowned) {
        owners
    } else {
        memory.fds.forget();
        fds::scan_remembering(SCAN_THREADS, &mut memory.fds)
    };
    memory.unowned = owners.as_ref().map(unowned).unwrap_or_default();
    owners
}

/// The namespace `ports` runs in (dumped on this thread, as before namespaces existed), unless
/// `--netns` names another; and the others to enter.
fn namespaces(query: &Query) -> Result<(Option<Arc<Netns>>, Vec<netns::Namespace>), SourceError> {
    let own_inode = own_netns_inode();
    let own = || Arc::new(Netns::host(own_inode));
    match &query.netns {
        NetnsScope::Own => Ok((Some(own()), Vec::new())),
        NetnsScope::All => {
            let others = netns::discover()
                .into_iter()
                .filter(|ns| ns.netns.inode != own_inode);
            Ok((Some(own()), others.collect()))
        }
        NetnsScope::One(selector) => {
            let found = netns::find(selector).map_err(SourceError::Backend)?;
            if found.netns.inode == own_inode {
                Ok((Some(Arc::clone(&found.netns)), Vec::new()))
            } else {
                Ok((None, vec![found]))
            }
        }
    }
}

/// `--netns NAME` that could not be read lists nothing at all: an error, not a note.
fn the_one_namespace_unreadable(query: &Query, problems: &[Problem]) -> Option<SourceError> {
    if !matches!(query.netns, NetnsScope::One(_)) {
        return None;
    }
    let unreadable = problems
        .iter()
        .find(|problem| matches!(problem, Problem::NamespaceUnreadable { .. }))?;
    unreadable.note(0, 0, 0).map(SourceError::Backend)
}

/// Sockets found, and what could not be seen on the way.
type Dumped = (Vec<SocketEntry>, Vec<Problem>);

/// Our own namespace's sockets and problems, then the others', and what they could not see.
fn merge(own: Option<Result<Dumped, SourceError>>, others: Dumped) -> Result<Dumped, SourceError> {
    let (mut sockets, mut problems) = own.transpose()?.unwrap_or_default();
    sockets.extend(others.0);
    problems.extend(others.1);
    Ok((sockets, problems))
}

/// Lists other namespaces on two threads: each enters one (setns, then its own netlink socket
/// belongs there) or, refused, reads /proc/PID/net of a process in it.
fn dump_namespaces(
    query: &Query,
    namespaces: &[netns::Namespace],
) -> (Vec<SocketEntry>, Vec<Problem>) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..SCAN_THREADS.min(namespaces.len()) {
            scope.spawn(|| {
                while let Some(ns) =
                    namespaces.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let result = dump_namespace(query, ns);
                    if let Ok(mut all) = results.lock() {
                        all.push((ns, result));
                    }
                }
            });
        }
    });
    let (mut sockets, mut from_proc, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for (ns, result) in results.into_inner().unwrap_or_default() {
        let name = ns.netns.label().into_owned();
        match result {
            Ok((entries, not_entered)) => {
                sockets.extend(entries);
                from_proc.extend(not_entered.map(|why| (name, why)));
            }
            Err(error) => problems.push(Problem::NamespaceUnreadable { netns: name, error }),
        }
    }
    if !from_proc.is_empty() {
        from_proc.sort();
        let reason = from_proc[0].1.clone();
        let netns = from_proc.into_iter().map(|(name, _)| name).collect();
        problems.push(Problem::NamespacesFromProc { netns, reason });
    }
    (sockets, problems)
}

/// One namespace's sockets, and why it could not be entered when it was read from
/// /proc/PID/net instead.
fn dump_namespace(
    query: &Query,
    ns: &netns::Namespace,
) -> Result<(Vec<SocketEntry>, Option<String>), String> {
    let query = &without_bound_unless_asked(query);
    let mut entries = Vec::new();
    let entered = netns::enter(ns)
        .map_err(|error| format!("entering it: {error}"))
        .and_then(|()| {
            dump_netlink(query, &ns.netns, &mut entries)
                .map_err(|error| format!("netlink SOCK_DIAG: {error}"))
        });
    let Err(error) = entered else {
        name_unix_peers(&mut entries);
        return Ok((entries, None));
    };
    entries.clear();
    let Some(pid) = ns.pid else {
        return Err(error);
    };
    read_proc_net(&format!("/proc/{pid}/net"), query, &ns.netns, &mut entries)
        .map_err(|procfs| format!("{error}; /proc/{pid}/net: {procfs}"))?;
    Ok((entries, Some(error)))
}

/// Asking for TCP sockets bound without listening walks the machine-wide bind table, once per
/// namespace: at 50 namespaces that doubles the cost of `-N`. So in other namespaces they are
/// asked for only when they are the question: `-l`, `--state bound`, or a port.
fn without_bound_unless_asked(query: &Query) -> Query {
    let asked =
        query.listening_only || query.port.is_some() || query.states.contains(&State::Bound);
    if asked || !query.states.is_empty() {
        return query.clone();
    }
    let states = State::ALL
        .into_iter()
        .filter(|&s| s != State::Bound && s != State::Unknown);
    Query {
        states: states.collect(),
        ..query.clone()
    }
}

/// Why a live socket with no owner found may have one we cannot see; `None` when every
/// process's fds were read, so such a socket truly has no owner.
fn hidden_because(owners: &rustix::io::Result<OwnerMap>) -> Option<HiddenReason> {
    let detail = match owners {
        Err(error) => format!("/proc cannot be read ({error})"),
        Ok(map) if !map.saw_self => "/proc shows no processes (not mounted, or covered)".into(),
        Ok(_) if !rustix::process::geteuid().is_root() => return Some(HiddenReason::NotRoot),
        Ok(map) if map.refused > 0 => {
            return Some(HiddenReason::RefusedToRoot {
                processes: map.refused,
            });
        }
        Ok(_) => return None,
    };
    Some(HiddenReason::ProcUnavailable { detail })
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

pub(super) use process::{signal_if_same, start_ticks};

/// Whose processes could not be read, for owners that may be partly hidden.
fn unseen(owners: &rustix::io::Result<OwnerMap>, reason: Option<&HiddenReason>) -> Unseen {
    match (reason, owners) {
        (None, _) => Unseen::Nobody,
        (Some(HiddenReason::NotRoot), _) => Unseen::AllBut(rustix::process::geteuid().as_raw()),
        (Some(HiddenReason::RefusedToRoot { .. }), Ok(map)) => {
            Unseen::Users(map.refused_uids.clone())
        }
        _ => Unseen::Everyone,
    }
}

/// The inode of the network namespace we run in; 0 where /proc cannot tell.
fn own_netns_inode() -> u64 {
    rustix::fs::stat("/proc/self/ns/net").map_or(0, |stat| stat.st_ino)
}

/// One dump request per family and protocol the query leaves, narrowed in the kernel.
#[derive(Debug, PartialEq)]
struct Request {
    family: u8,
    protocol: u8,
    states: States,
    port: Option<u16>,
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
        diag::dump(r.family, r.protocol, r.states, r.port, sink)
    };
    let unix = |sink: &mut dyn FnMut(unix::UnixDiag)| unix::dump(unix_states(query).0, sink);
    collect(query, netns, entries, inet, unix)
}

/// The kernel states of the Unix sockets to dump: listeners for `-l`, the `--state` list.
fn unix_states(query: &Query) -> States {
    let listen = LISTEN;
    let all = States::of(&[1, 2, 7, 10]);
    let wanted = if query.states.is_empty() {
        all
    } else {
        query
            .states
            .iter()
            .map(|&state| state_flag(Proto::Tcp, state) | state_flag(Proto::Udp, state))
            .collect()
    };
    if query.listening_only {
        wanted & listen
    } else {
        wanted
    }
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
        inet(request, &mut |s| {
            entries.push(to_entry(&s, netns, &mut names))
        })?;
    }
    if query.unix {
        unix(&mut |socket| entries.push(unix_entry(&socket, netns)))?;
    }
    Ok(())
}

/// Gives each connected Unix socket its peer's name: a client's peer is the server's socket,
/// which carries the path it was accepted on, so the client shows what it talks to.
fn name_unix_peers(entries: &mut [SocketEntry]) {
    let names: HashMap<u64, UnixName> = entries
        .iter()
        .filter_map(|e| Some((e.inode, e.unix()?.name.clone())))
        .filter(|(_, name)| *name != UnixName::Unnamed)
        .collect();
    for entry in entries {
        if let Endpoint::Unix(unix) = &mut entry.endpoint {
            unix.peer_name = unix.peer.and_then(|peer| names.get(&peer).cloned());
        }
    }
}

fn unix_entry(socket: &unix::UnixDiag, netns: &Arc<Netns>) -> SocketEntry {
    let kind = match socket.kind {
        2 => UnixType::Dgram,
        5 => UnixType::Seqpacket,
        _ => UnixType::Stream,
    };
    let state = match socket.state {
        10 => State::Listen,
        1 => State::Established,
        2 => State::SynSent,
        7 => State::Unconn,
        _ => State::Unknown,
    };
    let endpoint = Endpoint::Unix(UnixSocket {
        kind,
        name: unix_name(socket.name.as_deref()),
        peer: socket.peer.filter(|&peer| peer != 0).map(u64::from),
        peer_name: None,
        state: Some(state),
    });
    SocketEntry {
        inode: u64::from(socket.inode),
        cookie: (socket.cookie != 0).then_some(socket.cookie),
        uid: socket.uid,
        queues: socket.queues.map(|(recv, send)| Queues { recv, send }),
        ..SocketEntry::new(endpoint, Arc::clone(netns))
    }
}

/// A path, or (after a leading NUL) an abstract name; the kernel may pad a path with NULs.
fn unix_name(name: Option<&[u8]>) -> UnixName {
    match name {
        None | Some([]) => UnixName::Unnamed,
        Some([0, rest @ ..]) => UnixName::Abstract(String::from_utf8_lossy(rest).into_owned()),
        Some(path) => {
            let path = path.split(|&b| b == 0).next().unwrap_or(path);
            UnixName::Path(String::from_utf8_lossy(path).into_owned())
        }
    }
}

/// Device names by index, looked up once per snapshot.
#[derive(Default)]
struct InterfaceNames(HashMap<u32, Arc<str>>);

impl InterfaceNames {
    /// The name of device `index` (`lo`), or its number if it has gone; `None` for 0.
    fn get(&mut self, index: u32) -> Option<Arc<str>> {
        if index == 0 {
            return None;
        }
        let name = self.0.entry(index).or_insert_with(|| {
            let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
            // SAFETY: `buf` holds IF_NAMESIZE bytes, as if_indextoname requires; on success it
            // wrote a NUL-terminated name there, which we copy before `buf` goes.
            let found = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
            if found.is_null() {
                return index.to_string().into();
            }
            // SAFETY: if_indextoname returned non-null, so `buf` holds a C string.
            let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
            name.to_string_lossy().into()
        });
        Some(Arc::clone(name))
    }
}

fn requests(query: &Query) -> Vec<Request> {
    if !query.inet {
        return Vec::new();
    }
    let families = [(Family::Ipv4, AF_INET), (Family::Ipv6, AF_INET6)];
    let protos = [(Proto::Tcp, IPPROTO_TCP), (Proto::Udp, IPPROTO_UDP)];
    let mut requests = Vec::new();
    for (family, family_number) in families {
        for (proto, protocol) in protos {
            // IPv4 peers of dual-stack IPv6 sockets (`::ffff:a.b.c.d`) come in the AF_INET6 dump
            // and count as IPv4, so `-4` needs that dump too.
            let family_wanted = query.families.is_empty()
                || query.families.contains(&family)
                || (family == Family::Ipv6 && query.families.contains(&Family::Ipv4));
            let wanted =
                family_wanted && (query.protos.is_empty() || query.protos.contains(&proto));
            if let Some(states) = wanted.then(|| state_mask(proto, query)).flatten() {
                requests.push(Request {
                    family: family_number,
                    protocol,
                    states,
                    port: query.port,
                });
            }
        }
    }
    requests
}

/// The kernel states to dump; `None` when the filter can match no socket of `proto`.
fn state_mask(proto: Proto, query: &Query) -> Option<States> {
    let mut mask = if query.states.is_empty() || query.states.contains(&State::Unknown) {
        all_states(proto)
    } else {
        query
            .states
            .iter()
            .map(|&state| state_flag(proto, state))
            .collect()
    };
    if query.listening_only {
        mask = mask
            & match proto {
                Proto::Tcp => LISTEN | BOUND_INACTIVE,
                // An unconnected UDP socket is in state CLOSE.
                Proto::Udp => CLOSE,
            };
    }
    (!mask.is_empty()).then_some(mask)
}

fn all_states(proto: Proto) -> States {
    match proto {
        Proto::Tcp => ALL_TCP | BOUND_INACTIVE,
        Proto::Udp => ESTABLISHED | CLOSE,
    }
}

/// The kernel flag that selects `state` for `proto`; empty when `proto` has no such state.
fn state_flag(proto: Proto, state: State) -> States {
    let number = match (proto, state) {
        (Proto::Udp, State::Established) => 1,
        (Proto::Udp, State::Unconn) => 7,
        (Proto::Udp, _) | (Proto::Tcp, State::Unconn) => return States(0),
        (Proto::Tcp, State::Unknown) => return all_states(Proto::Tcp),
        (Proto::Tcp, State::Bound) => 13,
        (Proto::Tcp, State::Established) => 1,
        (Proto::Tcp, State::SynSent) => 2,
        (Proto::Tcp, State::SynRecv) => return States::of(&[3, 12]),
        (Proto::Tcp, State::FinWait1) => 4,
        (Proto::Tcp, State::FinWait2) => 5,
        (Proto::Tcp, State::TimeWait) => 6,
        (Proto::Tcp, State::Close) => 7,
        (Proto::Tcp, State::CloseWait) => 8,
        (Proto::Tcp, State::LastAck) => 9,
        (Proto::Tcp, State::Listen) => 10,
        (Proto::Tcp, State::Closing) => 11,
    };
    States::of(&[number])
}

/// Maps the kernel's `TCP_*` state number (include/net/tcp_states.h).
fn tcp_state(state: u8) -> State {
    match state {
        1 => State::Established,
        2 => State::SynSent,
        3 | 12 => State::SynRecv, // 12 is TCP_NEW_SYN_RECV, a pending connection
        4 => State::FinWait1,
        5 => State::FinWait2,
        6 => State::TimeWait,
        // A socket in TCP_CLOSE that the dump returns holds a port: it is bound, no more.
        7 => State::Bound,
        8 => State::CloseWait,
        9 => State::LastAck,
        10 => State::Listen,
        11 => State::Closing,
        _ => State::Unknown,
    }
}

/// A live socket (inode != 0) with no owner found is hidden when `owners_may_hide`: some
/// process's fds could not be read. Inode 0 means no file refers to it (TIME-WAIT): no owner.
fn mark_hidden(entry: &mut SocketEntry, owner_found: bool, owners_may_hide: bool) {
    entry.owner_hidden = !owner_found && entry.inode != 0 && owners_may_hide;
}

fn to_entry(socket: &DiagSocket, netns: &Arc<Netns>, names: &mut InterfaceNames) -> SocketEntry {
    let (proto, state, has_peer) = if socket.protocol == IPPROTO_UDP {
        let connected = socket.state == TCP_ESTABLISHED;
        let state = if connected {
            State::Established
        } else {
            State::Unconn
        };
        (Proto::Udp, Some(state), connected)
    } else {
        let state = tcp_state(socket.state);
        // Listeners and bound sockets have no peer: the kernel reports 0.0.0.0:0.
        (
            Proto::Tcp,
            Some(state),
            !matches!(state, State::Listen | State::Bound),
        )
    };
    let endpoint = Endpoint::Inet(InetSocket {
        proto,
        local: unmap(socket.local),
        remote: has_peer.then(|| unmap(socket.remote)),
        state,
        interface: names.get(socket.interface),
    });
    SocketEntry {
        inode: u64::from(socket.inode),
        cookie: (socket.cookie != 0).then_some(socket.cookie),
        uid: Some(socket.uid),
        queues: Some(Queues {
            recv: socket.recv_queue,
            send: socket.send_queue,
        }),
        ..SocketEntry::new(endpoint, Arc::clone(netns))
    }
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
