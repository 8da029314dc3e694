//! Which sockets the user asked for: value parsers for the command line and a pure `Filter`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::model::{Family, Proto, SocketEntry, TcpState};

/// An inclusive port range; a single port is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        Ok(_) => Err(format!("port '{text}' is out of range 1-65535")),
        Err(_) => Err(format!("'{text}' is not a port number (1-65535)")),
    }
}

impl FromStr for PortRange {
    type Err = String;

    /// Accepts `8080`, `:8080` and `8000-8100`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bare = text.strip_prefix(':').unwrap_or(text);
        let Some((first, last)) = bare.split_once('-') else {
            let port = parse_port(bare)?;
            return Ok(PortRange {
                first: port,
                last: port,
            });
        };
        let (first, last) = (parse_port(first)?, parse_port(last)?);
        if first > last {
            return Err(format!("range '{text}' is backwards: write {last}-{first}"));
        }
        Ok(PortRange { first, last })
    }
}

/// Parses `--local`/`--remote`: an address (`10.0.0.1`, `::1`, `[::1]`) or a CIDR (`10.0.0.0/8`).
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let bare = text.trim();
    let unbracketed = bare
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(bare);
    if let Ok(addr) = unbracketed.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    bare.parse::<IpNet>()
        .map(|net| net.trunc())
        .map_err(|_| format!("'{text}' is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)"))
}

/// Parses one `--state` value, case-insensitively; `_` may stand for `-`.
pub fn parse_state(text: &str) -> Result<TcpState, String> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    let alias = match wanted.as_str() {
        "estab" => "established",
        "syn-received" | "syn-rcvd" => "syn-recv",
        "closed" => "close",
        other => other,
    };
    TcpState::ALL
        .into_iter()
        .find(|state| state.name() == alias)
        .ok_or_else(|| {
            let names: Vec<_> = TcpState::ALL.iter().map(|s| s.name()).collect();
            format!(
                "unknown state '{text}' (expected one of: {})",
                names.join(", ")
            )
        })
}

/// A process owner to match: a uid or a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMatch {
    Uid(u32),
    Name(String),
}

impl UserMatch {
    pub fn parse(text: &str) -> UserMatch {
        match text.parse() {
            Ok(uid) => UserMatch::Uid(uid),
            Err(_) => UserMatch::Name(text.to_owned()),
        }
    }
}

/// Every condition a socket must meet; empty lists and `None` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// A local or remote port in any of these.
    pub ports: Vec<PortRange>,
    pub listening_only: bool,
    pub protos: Vec<Proto>,
    pub families: Vec<Family>,
    pub states: Vec<TcpState>,
    pub pids: Vec<u32>,
    /// Lowercase; matched as a substring of the process name.
    pub process: Option<String>,
    pub user: Option<UserMatch>,
    pub local: Option<IpNet>,
    pub remote: Option<IpNet>,
}

impl Filter {
    pub fn matches(&self, entry: &SocketEntry) -> bool {
        self.matches_socket(entry) && self.matches_owner(entry)
    }

    fn matches_socket(&self, entry: &SocketEntry) -> bool {
        let remote_port = entry.remote.map(|addr| addr.port());
        let port_hit = |range: &PortRange| {
            range.contains(entry.local.port()) || remote_port.is_some_and(|p| range.contains(p))
        };
        (self.ports.is_empty() || self.ports.iter().any(port_hit))
            && (!self.listening_only || entry.is_listening())
            && any_or_empty(&self.protos, &entry.proto)
            && any_or_empty(&self.families, &entry.family())
            && (self.states.is_empty() || entry.state.is_some_and(|s| self.states.contains(&s)))
            && self.local.is_none_or(|net| net.contains(&entry.local.ip()))
            && self
                .remote
                .is_none_or(|net| entry.remote.is_some_and(|addr| net.contains(&addr.ip())))
    }

    fn matches_owner(&self, entry: &SocketEntry) -> bool {
        let owners = &entry.processes;
        (self.pids.is_empty() || owners.iter().any(|p| self.pids.contains(&p.pid)))
            && self.process.as_ref().is_none_or(|needle| {
                owners
                    .iter()
                    .any(|p| p.name.to_lowercase().contains(needle))
            })
            && self.user.as_ref().is_none_or(|user| {
                owners.iter().any(|p| match user {
                    UserMatch::Uid(uid) => p.uid == Some(*uid),
                    UserMatch::Name(name) => p.user.as_deref() == Some(name),
                })
            })
    }
}

fn any_or_empty<T: PartialEq>(wanted: &[T], value: &T) -> bool {
    wanted.is_empty() || wanted.contains(value)
}
