//! Plain socket records: what the platform layer finds and everything else reads.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// TCP connection state, in the order of a connection's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpState {
    Listen,
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

impl TcpState {
    /// Every state, for parsing and help text.
    pub const ALL: [TcpState; 12] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::Closing,
        TcpState::LastAck,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::Unknown,
    ];

    /// The lowercase name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Listen => "listen",
            TcpState::SynSent => "syn-sent",
            TcpState::SynRecv => "syn-recv",
            TcpState::Established => "established",
            TcpState::FinWait1 => "fin-wait-1",
            TcpState::FinWait2 => "fin-wait-2",
            TcpState::CloseWait => "close-wait",
            TcpState::Closing => "closing",
            TcpState::LastAck => "last-ack",
            TcpState::TimeWait => "time-wait",
            TcpState::Close => "close",
            TcpState::Unknown => "unknown",
        }
    }
}

/// A process that holds a socket open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// Short name (the kernel's `comm`, at most 15 bytes on Linux), lossily UTF-8.
    pub name: String,
    /// User name, when the uid maps to one.
    pub user: Option<String>,
    pub uid: Option<u32>,
    /// Full command line, arguments joined by spaces; empty when unreadable.
    pub cmdline: String,
}

/// One socket and every process holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEntry {
    pub proto: Proto,
    pub local: SocketAddr,
    /// The peer; `None` for listeners and unconnected UDP sockets.
    pub remote: Option<SocketAddr>,
    /// TCP state; `None` for UDP.
    pub state: Option<TcpState>,
    /// Owners, sorted by pid; empty when none is visible (or none exists, as in TIME-WAIT).
    pub processes: Vec<Arc<ProcessInfo>>,
    /// The socket has an owner that we lacked the permission to see.
    pub owner_hidden: bool,
}

impl SocketEntry {
    pub fn family(&self) -> Family {
        if self.local.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }

    /// A TCP listener, or a UDP socket bound but not connected.
    pub fn is_listening(&self) -> bool {
        match self.proto {
            Proto::Tcp => self.state == Some(TcpState::Listen),
            Proto::Udp => self.remote.is_none(),
        }
    }
}
