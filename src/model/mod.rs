//! Plain socket records: what the platform layer finds and everything else reads.
//!
//! Imports nothing of ours. Serde goes both ways through `wire.rs`, so a `--json` dump can be
//! read back (`--replay`).

mod kernel;
mod labels;
mod reach;
mod tcp_info;
mod wire;

pub use kernel::KernelHolder;
pub use reach::{Claim, Decider, Reach, RuleRef};
pub use tcp_info::{
    LIMITED_SHARE, Limit, SocketMemory, TcpCounters, TcpInfo, Throughput, Timer, TimerKind,
};

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Internet transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Address family of an internet socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// Socket state: TCP's, in the order of a connection's life, plus `Bound` (a TCP socket bound
/// to a port, neither listening nor connected) and `Unconn` (a UDP socket with no peer, as ss
/// calls it; a connected one is `Established`). Unix sockets use it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Listen,
    Bound,
    Unconn,
    SynSent,
    SynRecv,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    Close,
    Unknown,
}

impl State {
    /// Every state `--state` takes, for parsing and help text. `Close` is not one: a closed TCP
    /// socket the kernel still lists holds a port, and is shown as `Bound`.
    pub const ALL: [State; 13] = [
        State::Listen,
        State::Bound,
        State::Unconn,
        State::SynSent,
        State::SynRecv,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
        State::Unknown,
    ];

    /// The lowercase name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            State::Listen => "listen",
            State::Bound => "bound",
            State::Unconn => "unconn",
            State::SynSent => "syn-sent",
            State::SynRecv => "syn-recv",
            State::Established => "established",
            State::FinWait1 => "fin-wait-1",
            State::FinWait2 => "fin-wait-2",
            State::CloseWait => "close-wait",
            State::Closing => "closing",
            State::LastAck => "last-ack",
            State::TimeWait => "time-wait",
            State::Close => "close",
            State::Unknown => "unknown",
        }
    }
}

/// A TCP or UDP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetSocket {
    pub proto: Proto,
    pub local: SocketAddr,
    /// The peer; `None` for listeners and unconnected UDP sockets.
    pub remote: Option<SocketAddr>,
    /// `Unconn` or `Established` for UDP; `None` where unknown.
    pub state: Option<State>,
    /// The device the socket is bound to (SO_BINDTODEVICE), or a link-local address's scope:
    /// `lo` in `[fe80::1%lo]:7040`. It then reaches that device only.
    pub interface: Option<Arc<str>>,
}

/// Type of a Unix domain socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnixType {
    Stream,
    Dgram,
    Seqpacket,
}

/// Where a Unix domain socket is bound.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnixName {
    /// A file system path.
    Path(String),
    /// A name in the abstract namespace (shown as `@name`), without the leading NUL.
    Abstract(String),
    /// Not bound: most connected ends.
    Unnamed,
}

impl std::fmt::Display for UnixName {
    /// As ss writes it: the path, `@` and the abstract name, or `-` when unbound.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnixName::Path(path) => f.write_str(path),
            UnixName::Abstract(name) => write!(f, "@{name}"),
            UnixName::Unnamed => f.write_str("-"),
        }
    }
}

/// A Unix domain socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    pub kind: UnixType,
    pub name: UnixName,
    /// Inode of the connected peer, where the kernel says.
    pub peer: Option<u64>,
    /// The peer's name, when the peer is bound (a client's peer is the server's socket, which
    /// carries the path it was accepted on).
    pub peer_name: Option<UnixName>,
    /// Who holds the peer, found by its inode in the same snapshot; the table's REMOTE names
    /// them under `-w`. Not in JSON: `peer_inode` finds the peer there.
    pub peer_owners: Vec<Arc<ProcessInfo>>,
    pub state: Option<State>,
}

/// What a socket is: its addresses and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Inet(InetSocket),
    Unix(UnixSocket),
}

/// How a network namespace came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetnsKind {
    /// The namespace of pid 1: the host's.
    Host,
    /// Named under /run/netns (`ip netns`).
    Named,
    /// Held by a container.
    Container,
    /// Held by some process, or pinned without one.
    Other,
}

/// A network namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Netns {
    /// The nsfs inode (`readlink /proc/PID/ns/net` shows `net:[INODE]`); 0 where unknown.
    pub inode: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: NetnsKind,
}

impl Netns {
    pub fn host(inode: u64) -> Netns {
        Netns {
            inode,
            name: None,
            kind: NetnsKind::Host,
        }
    }

    /// How it is shown: its name (`blue`, `web`), `host`, or `net:[INODE]`.
    pub fn label(&self) -> Cow<'_, str> {
        match (&self.name, self.kind) {
            (Some(name), _) => Cow::Borrowed(name),
            (None, NetnsKind::Host) => Cow::Borrowed("host"),
            (None, _) => Cow::Owned(format!("net:[{}]", self.inode)),
        }
    }
}

/// Receive and send queue sizes, as the kernel reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queues {
    /// Listeners: connections waiting for `accept`. Others: unread bytes.
    pub recv: u32,
    /// Listeners: the backlog. Others: unacknowledged (TCP) or unsent bytes.
    pub send: u32,
}

/// Who can reach a socket's local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exposure {
    /// 127.0.0.0/8, ::1, or bound to the `lo` device: this machine only.
    Loopback,
    /// A wildcard address (0.0.0.0, ::) on every interface.
    All,
    /// A wildcard bound to one device (SO_BINDTODEVICE): `0.0.0.0%eth0` reaches eth0 only.
    Interface,
    /// One specific, non-loopback address.
    Address,
}

/// A socket's identity across scans: it does not change with the socket's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketKey {
    pub netns: u64,
    /// The kernel's socket cookie, 0 where it gives none.
    pub cookie: u64,
    /// 0 for sockets no file refers to (TIME-WAIT).
    pub inode: u64,
}

/// A container runtime, as its cgroup path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Docker,
    Podman,
    Containerd,
    Crio,
    /// A Kubernetes pod container under the cgroupfs driver (the runtime is not in the path).
    Kubernetes,
    Lxc,
    Nspawn,
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Container {
    pub runtime: Runtime,
    /// The full id (64 hex digits for Docker, Podman, containerd, CRI-O); empty for LXC and
    /// nspawn, which go by name.
    pub id: String,
    /// Its name, where a local file gives it (`web`, `pod/namespace/container`).
    pub name: Option<String>,
}

/// Where a container's port forwarder (docker-proxy) sends what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// The container behind it, when its address is found in the runtime's files.
    pub container: Option<String>,
    /// The address and port inside the container.
    pub to: SocketAddr,
    /// The process inside the container that listens on that port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<Listener>,
}

/// A process, by pid and name, as a forward's far end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub pid: u32,
    pub name: String,
}

/// A process that holds a socket open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// Short name (the kernel's `comm`, at most 15 bytes on Linux), lossily UTF-8.
    pub name: String,
    /// User name of the effective uid, when the uid maps to one.
    pub user: Option<String>,
    /// The effective uid (the one permissions use, as `ps` and `lsof` show it).
    pub uid: Option<u32>,
    /// Full command line, arguments joined by spaces; empty when unreadable.
    pub cmdline: String,
    /// The program's name uncut: `comm` when whole, else the executable's or argv[0]'s base
    /// name that `comm` begins.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub program: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// The parent's program name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// When the process started, in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    /// The systemd unit it runs in (`nginx.service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// For a container's port forwarder: where it forwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwards: Option<Forward>,
    /// When the process started, in the kernel's clock ticks since boot, read when its sockets
    /// were: it tells this process from a later one given the same pid (`ports kill` signals
    /// only the process it saw). Not in JSON: it means nothing off this boot of this machine.
    #[serde(skip)]
    pub start_ticks: Option<u64>,
}

impl ProcessInfo {
    /// The name to show: the uncut program name, or `comm` when none was found.
    pub fn program(&self) -> &str {
        if self.program.is_empty() {
            &self.name
        } else {
            &self.program
        }
    }
}

/// One socket and every process holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEntry {
    pub endpoint: Endpoint,
    pub netns: Arc<Netns>,
    /// 0 for sockets no file refers to (TIME-WAIT, orphans, pending connections).
    pub inode: u64,
    /// The kernel's socket cookie, where it gives one.
    pub cookie: Option<u64>,
    /// The socket's owning uid (who created it), as the kernel records it.
    pub uid: Option<u32>,
    pub queues: Option<Queues>,
    /// Owners, sorted by pid; empty when none is visible (or none exists, as in TIME-WAIT).
    pub processes: Vec<Arc<ProcessInfo>>,
    /// The socket has an owner that we could not see.
    pub owner_hidden: bool,
    /// The service name of its well-known port (`http`), when the run looks names up.
    pub service: Option<Arc<str>>,
    /// The name of the user `uid` is, when no holder is visible: who the socket belongs to
    /// (as `ss -e` and `netstat -e` say) when its process cannot be seen.
    pub user: Option<Arc<str>>,
    /// What the host's firewall does with a new connection from another host (`--firewall`).
    pub firewall: Option<Reach>,
    /// A port a NAT rule claims with no socket behind it: `firewall` says where it goes.
    pub claim: Option<Claim>,
    /// The kernel opened it (a VXLAN device's port): it has no process, and none is hidden.
    pub kernel: Option<KernelHolder>,
    /// An IPv6 socket's IPV6_V6ONLY, as the kernel reports it: without it, `[::]` also holds
    /// the IPv4 port. `None` for IPv4 sockets and where the kernel does not say.
    pub v6only: Option<bool>,
    /// Time left on the socket's timer, in milliseconds (TIME-WAIT's time to go).
    pub expires_ms: Option<u32>,
    /// TCP internals, when asked for (`--tcp-info`, `-w`); boxed, so the plain listing's
    /// entries stay small.
    pub tcp_info: Option<Box<TcpInfo>>,
}

impl SocketEntry {
    /// A socket with no owners and no kernel details, in `netns`.
    pub fn new(endpoint: Endpoint, netns: Arc<Netns>) -> SocketEntry {
        SocketEntry {
            endpoint,
            netns,
            inode: 0,
            cookie: None,
            uid: None,
            queues: None,
            processes: Vec::new(),
            owner_hidden: false,
            service: None,
            user: None,
            firewall: None,
            claim: None,
            kernel: None,
            v6only: None,
            expires_ms: None,
            tcp_info: None,
        }
    }

    pub fn inet(&self) -> Option<&InetSocket> {
        match &self.endpoint {
            Endpoint::Inet(inet) => Some(inet),
            Endpoint::Unix(_) => None,
        }
    }

    pub fn unix(&self) -> Option<&UnixSocket> {
        match &self.endpoint {
            Endpoint::Unix(unix) => Some(unix),
            Endpoint::Inet(_) => None,
        }
    }

    pub fn proto(&self) -> Option<Proto> {
        self.inet().map(|inet| inet.proto)
    }

    pub fn family(&self) -> Option<Family> {
        self.inet().map(|inet| match inet.local {
            SocketAddr::V4(_) => Family::Ipv4,
            SocketAddr::V6(_) => Family::Ipv6,
        })
    }

    pub fn local_port(&self) -> Option<u16> {
        self.inet().map(|inet| inet.local.port())
    }

    pub fn remote_port(&self) -> Option<u16> {
        self.inet()?.remote.map(|addr| addr.port())
    }

    pub fn state(&self) -> Option<State> {
        match &self.endpoint {
            Endpoint::Inet(inet) => inet.state,
            Endpoint::Unix(unix) => unix.state,
        }
    }

    /// Holds its port for a server (or a NAT rule claims it): a TCP listener or a TCP socket bound without listening
    /// (`bind()` to the port fails either way), a UDP socket bound but not connected, or a
    /// Unix listener.
    pub fn is_listening(&self) -> bool {
        if self.claim.is_some() {
            return true;
        }
        match &self.endpoint {
            Endpoint::Inet(inet) => match inet.proto {
                Proto::Tcp => matches!(inet.state, Some(State::Listen | State::Bound)),
                Proto::Udp => inet.remote.is_none(),
            },
            Endpoint::Unix(unix) => unix.state == Some(State::Listen),
        }
    }

    /// Who can reach the local address; `None` for Unix sockets.
    pub fn exposure(&self) -> Option<Exposure> {
        let inet = self.inet()?;
        let ip = inet.local.ip().to_canonical();
        let device = inet.interface.as_deref();
        Some(
            match (
                ip.is_loopback() || device == Some("lo"),
                ip.is_unspecified(),
                device,
            ) {
                (true, _, _) => Exposure::Loopback,
                (false, true, None) => Exposure::All,
                (false, true, Some(_)) => Exposure::Interface,
                (false, false, _) => Exposure::Address,
            },
        )
    }

    /// Identity across scans: namespace, cookie and inode, none of which a state change moves.
    pub fn key(&self) -> SocketKey {
        SocketKey {
            netns: self.netns.inode,
            cookie: self.cookie.unwrap_or(0),
            inode: self.inode,
        }
    }
}
