//! The JSON form of a socket (docs/json.md), both ways: flat fields that scripts read without
//! matching on a kind, and from which `--replay` rebuilds the model.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    Claim, Endpoint, Exposure, Family, InetSocket, KernelHolder, Netns, ProcessInfo, Proto, Queues,
    Reach, SocketEntry, State, TcpInfo, UnixName, UnixSocket, UnixType,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Tcp,
    Udp,
    Unix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireFamily {
    Ipv4,
    Ipv6,
    Unix,
}

/// One socket as JSON. Field order is the documented order; new fields go last.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    proto: Kind,
    family: WireFamily,
    local_addr: Option<IpAddr>,
    local_port: Option<u16>,
    remote_addr: Option<IpAddr>,
    remote_port: Option<u16>,
    state: Option<State>,
    processes: Cow<'a, [Arc<ProcessInfo>]>,
    owner_hidden: bool,
    inode: u64,
    #[serde(default)]
    cookie: Option<u64>,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    recv_queue: Option<u32>,
    #[serde(default)]
    send_queue: Option<u32>,
    netns: Cow<'a, Netns>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unix_type: Option<UnixType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "abstract")]
    abstract_name: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_inode: Option<u64>,
    /// The peer's name as ss writes it: a path, or `@` and an abstract name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interface: Option<Cow<'a, str>>,
    /// Derived from the address and device: written, and ignored when read back.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    exposure: Option<Exposure>,
    /// The user name of `uid`, where no holder is visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firewall: Option<Cow<'a, Reach>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<Claim>,
    /// The kernel holds it (a tunnel device's port): no process does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel: Option<Cow<'a, KernelHolder>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v6only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_ms: Option<u32>,
    /// TCP internals, with `--tcp-info` or `-w`: raw counters, units in their names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tcp_info: Option<Cow<'a, TcpInfo>>,
}

impl Serialize for SocketEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SocketEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        SocketEntry::try_from(wire).map_err(serde::de::Error::custom)
    }
}

impl<'a> From<&'a SocketEntry> for Wire<'a> {
    fn from(entry: &'a SocketEntry) -> Self {
        let mut wire = Wire {
            proto: Kind::Unix,
            family: WireFamily::Unix,
            local_addr: None,
            local_port: None,
            remote_addr: None,
            remote_port: None,
            state: entry.state(),
            processes: Cow::Borrowed(&entry.processes),
            owner_hidden: entry.owner_hidden,
            inode: entry.inode,
            cookie: entry.cookie,
            uid: entry.uid,
            recv_queue: entry.queues.map(|q| q.recv),
            send_queue: entry.queues.map(|q| q.send),
            netns: Cow::Borrowed(&entry.netns),
            unix_type: None,
            path: None,
            abstract_name: None,
            peer_inode: None,
            peer: None,
            service: entry.service.as_deref().map(Cow::Borrowed),
            interface: None,
            exposure: entry.exposure(),
            user: entry.user.as_deref().map(Cow::Borrowed),
            firewall: entry.firewall.as_ref().map(Cow::Borrowed),
            claim: entry.claim,
            kernel: entry.kernel.as_ref().map(Cow::Borrowed),
            v6only: entry.v6only,
            expires_ms: entry.expires_ms,
            tcp_info: entry.tcp_info.as_deref().map(Cow::Borrowed),
        };
        match &entry.endpoint {
            Endpoint::Inet(inet) => wire.set_inet(inet),
            Endpoint::Unix(unix) => wire.set_unix(unix),
        }
        wire
    }
}

impl<'a> Wire<'a> {
    fn set_inet(&mut self, inet: &'a InetSocket) {
        self.interface = inet.interface.as_deref().map(Cow::Borrowed);
        self.proto = match inet.proto {
            Proto::Tcp => Kind::Tcp,
            Proto::Udp => Kind::Udp,
        };
        self.family = match inet.local {
            SocketAddr::V4(_) => WireFamily::Ipv4,
            SocketAddr::V6(_) => WireFamily::Ipv6,
        };
        self.local_addr = Some(inet.local.ip());
        self.local_port = Some(inet.local.port());
        self.remote_addr = inet.remote.map(|addr| addr.ip());
        self.remote_port = inet.remote.map(|addr| addr.port());
    }

    fn set_unix(&mut self, unix: &'a UnixSocket) {
        self.unix_type = Some(unix.kind);
        self.peer_inode = unix.peer;
        self.peer = unix.peer_name.as_ref().map(|name| match name {
            UnixName::Path(path) => Cow::Borrowed(path.as_str()),
            UnixName::Abstract(name) => Cow::Owned(format!("@{name}")),
            UnixName::Unnamed => Cow::Borrowed(""),
        });
        match &unix.name {
            UnixName::Path(path) => self.path = Some(Cow::Borrowed(path)),
            UnixName::Abstract(name) => self.abstract_name = Some(Cow::Borrowed(name)),
            UnixName::Unnamed => {}
        }
    }
}

impl TryFrom<Wire<'_>> for SocketEntry {
    type Error = String;

    fn try_from(wire: Wire<'_>) -> Result<Self, String> {
        let endpoint = match wire.proto {
            Kind::Tcp => inet(&wire, Proto::Tcp)?,
            Kind::Udp => inet(&wire, Proto::Udp)?,
            Kind::Unix => unix(&wire)?,
        };
        let queues = match (wire.recv_queue, wire.send_queue) {
            (Some(recv), Some(send)) => Some(Queues { recv, send }),
            _ => None,
        };
        Ok(SocketEntry {
            endpoint,
            netns: Arc::new(wire.netns.into_owned()),
            inode: wire.inode,
            cookie: wire.cookie,
            uid: wire.uid,
            queues,
            processes: wire.processes.into_owned(),
            owner_hidden: wire.owner_hidden,
            service: wire.service.map(Arc::from),
            user: wire.user.map(Arc::from),
            firewall: wire.firewall.map(Cow::into_owned),
            claim: wire.claim,
            kernel: wire.kernel.map(Cow::into_owned),
            v6only: wire.v6only,
            expires_ms: wire.expires_ms,
            tcp_info: wire.tcp_info.map(|info| Box::new(info.into_owned())),
        })
    }
}

fn inet(wire: &Wire<'_>, proto: Proto) -> Result<Endpoint, String> {
    let (Some(ip), Some(port)) = (wire.local_addr, wire.local_port) else {
        return Err("a tcp or udp socket needs local_addr and local_port".into());
    };
    let remote = match (wire.remote_addr, wire.remote_port) {
        (Some(ip), Some(port)) => Some(SocketAddr::new(ip, port)),
        _ => None,
    };
    let family = match ip {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    if matches!((family, wire.family), (Family::Ipv4, WireFamily::Ipv6)) {
        return Err(format!("family ipv6 does not fit local_addr {ip}"));
    }
    Ok(Endpoint::Inet(InetSocket {
        interface: wire.interface.as_deref().map(Arc::from),
        proto,
        local: SocketAddr::new(ip, port),
        remote,
        // Version 1 dumps had no UDP state: a peer means connected.
        state: match (proto, wire.state) {
            (Proto::Udp, None) if remote.is_some() => Some(State::Established),
            (Proto::Udp, None) => Some(State::Unconn),
            (_, state) => state,
        },
    }))
}

fn unix(wire: &Wire<'_>) -> Result<Endpoint, String> {
    let name = match (&wire.path, &wire.abstract_name) {
        (Some(path), _) => UnixName::Path(path.to_string()),
        (None, Some(name)) => UnixName::Abstract(name.to_string()),
        (None, None) => UnixName::Unnamed,
    };
    Ok(Endpoint::Unix(UnixSocket {
        kind: wire.unix_type.ok_or("a unix socket needs unix_type")?,
        name,
        peer: wire.peer_inode,
        peer_name: wire
            .peer
            .as_deref()
            .map(|peer| match peer.strip_prefix('@') {
                Some(name) => UnixName::Abstract(name.to_owned()),
                None => UnixName::Path(peer.to_owned()),
            }),
        peer_owners: Vec::new(),
        state: wire.state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener() -> SocketEntry {
        let owner = ProcessInfo {
            pid: 7,
            name: "a\"b\\c".into(),
            user: None,
            uid: Some(0),
            cmdline: "a \u{1b}[31m".into(),
            ..ProcessInfo::default()
        };
        SocketEntry {
            inode: 991,
            cookie: Some(1 << 40),
            uid: Some(33),
            queues: Some(Queues { recv: 1, send: 128 }),
            processes: vec![Arc::new(owner)],
            v6only: Some(true),
            ..SocketEntry::new(
                Endpoint::Inet(InetSocket {
                    proto: Proto::Tcp,
                    local: "[::]:8080".parse().unwrap(),
                    remote: None,
                    state: Some(State::Listen),
                    interface: Some("lo".into()),
                }),
                Arc::new(Netns::host(4026531833)),
            )
        }
    }

    fn unix_pair_end() -> SocketEntry {
        let endpoint = Endpoint::Unix(UnixSocket {
            kind: UnixType::Seqpacket,
            name: UnixName::Abstract("bus".into()),
            peer: Some(12),
            peer_name: Some(UnixName::Path("/run/bus".into())),
            peer_owners: Vec::new(),
            state: Some(State::Established),
        });
        let netns = Netns {
            inode: 5,
            name: Some("blue".into()),
            kind: super::super::NetnsKind::Named,
        };
        SocketEntry::new(endpoint, Arc::new(netns))
    }

    #[test]
    fn entries_survive_a_round_trip() {
        for entry in [listener(), unix_pair_end()] {
            let json = serde_json::to_string(&entry).unwrap();
            let back: SocketEntry = serde_json::from_str(&json).unwrap();
            assert_eq!(back, entry, "{json}");
        }
    }

    #[test]
    fn a_kernel_holder_is_an_object_and_comes_back() {
        let mut entry = listener();
        entry.processes.clear();
        entry.kernel = Some(KernelHolder {
            kind: "vxlan".into(),
            device: "vx0".into(),
            detail: "VXLAN id 42".into(),
        });
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["kernel"]["device"], "vx0");
        assert_eq!(json["kernel"]["kind"], "vxlan");
        assert_eq!(json["v6only"], true);
        let back: SocketEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn inet_sockets_keep_their_documented_flat_fields() {
        let json = serde_json::to_value(listener()).unwrap();
        assert_eq!(json["proto"], "tcp");
        assert_eq!(json["family"], "ipv6");
        assert_eq!(json["local_addr"], "::");
        assert_eq!(json["local_port"], 8080);
        assert_eq!(json["remote_port"], serde_json::Value::Null);
        assert_eq!(json["netns"]["kind"], "host");
        assert!(json.get("unix_type").is_none());
    }

    #[test]
    fn tcp_info_survives_a_round_trip_with_or_without_counters() {
        let timer = super::super::Timer {
            kind: super::super::TimerKind::TimeWait,
            expires_ms: 59_000,
            retransmits: 0,
        };
        let counters = super::super::TcpCounters {
            rtt_us: 120,
            bytes_received: Some(8 << 20),
            ..Default::default()
        };
        for counters in [Some(counters), None] {
            let mut entry = listener();
            entry.tcp_info = Some(Box::new(TcpInfo {
                counters: counters.clone(),
                timer: Some(timer),
                memory: None,
            }));
            let json = serde_json::to_value(&entry).unwrap();
            assert_eq!(json["tcp_info"]["timer"]["kind"], "time-wait");
            let received = json["tcp_info"].get("bytes_received").cloned();
            assert_eq!(received, counters.as_ref().map(|_| (8 << 20).into()));
            let back: SocketEntry = serde_json::from_value(json).unwrap();
            assert_eq!(back, entry);
        }
    }

    #[test]
    fn inconsistent_input_is_named() {
        let bad = r#"{"proto":"tcp","family":"ipv4","local_addr":null,"local_port":null,
            "remote_addr":null,"remote_port":null,"state":null,"processes":[],
            "owner_hidden":false,"inode":0,"netns":{"inode":1,"kind":"host"}}"#;
        let error = serde_json::from_str::<SocketEntry>(bad).unwrap_err();
        assert!(error.to_string().contains("needs local_addr"), "{error}");
    }
}
