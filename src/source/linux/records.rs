//! The kernel's records as the model's entries: inet and Unix sockets, their states, devices
//! and peers, one entry per socket.

use super::*;

/// The kernel's `TCP_ESTABLISHED`; a connected UDP socket reports it too.
pub(super) const TCP_ESTABLISHED: u8 = 1;

/// A socket that changed state between two dump requests (bound, then established) comes back
/// from both: one socket, one entry, the later state winning. Sockets are told apart by
/// namespace and cookie; one without a cookie (the /proc/net fallback) is kept as it is.
pub(super) fn keep_last_of_each_socket(sockets: &mut Vec<SocketEntry>) {
    let key = |entry: &SocketEntry| entry.cookie.map(|cookie| (entry.netns.inode, cookie));
    // The usual case, nothing listed twice, costs a sorted list of keys (16 bytes a socket).
    let mut keys: Vec<(u64, u64)> = sockets.iter().filter_map(key).collect();
    keys.sort_unstable();
    let twice: HashSet<(u64, u64)> = keys
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if twice.is_empty() {
        return;
    }
    // Walking from the end, the first of each key met is the one to keep.
    let mut kept: HashSet<(u64, u64)> = HashSet::new();
    let mut keep: Vec<bool> = sockets
        .iter()
        .rev()
        .map(|entry| key(entry).is_none_or(|k| !twice.contains(&k) || kept.insert(k)))
        .collect();
    keep.reverse();
    let mut flags = keep.into_iter();
    sockets.retain(|_| flags.next().unwrap_or(true));
}

/// Gives each connected Unix socket its peer's name: a client's peer is the server's socket,
/// which carries the path it was accepted on, so the client shows what it talks to.
pub(super) fn name_unix_peers(entries: &mut [SocketEntry]) {
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

pub(super) fn unix_entry(socket: &unix::UnixDiag, netns: &Arc<Netns>) -> SocketEntry {
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
        peer_owners: Vec::new(),
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
pub(super) fn unix_name(name: Option<&[u8]>) -> UnixName {
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
pub(super) struct InterfaceNames(HashMap<u32, Arc<str>>);

impl InterfaceNames {
    /// The name of device `index` (`lo`), or its number if it has gone; `None` for 0.
    pub(super) fn get(&mut self, index: u32) -> Option<Arc<str>> {
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

/// Maps the kernel's `TCP_*` state number (include/net/tcp_states.h).
pub(super) fn tcp_state(state: u8) -> State {
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

pub(super) fn to_entry(
    socket: &DiagSocket,
    netns: &Arc<Netns>,
    names: &mut InterfaceNames,
) -> SocketEntry {
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
        v6only: socket.v6only,
        expires_ms: (socket.expires_ms != 0).then_some(socket.expires_ms),
        ..SocketEntry::new(endpoint, Arc::clone(netns))
    }
}
