//! Which sockets the user asked for: a pure `Filter`, and the value parsers that build it.

mod parse;

use std::net::SocketAddr;

pub use parse::{
    InetSpec, NetMatch, PortRange, PortSpec, Target, parse_lsof_inet, parse_net, parse_state,
};

use crate::model::{Endpoint, Exposure, Family, Proto, Reach, SocketEntry, State};

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
    pub ports: Vec<PortSpec>,
    /// Unix sockets whose name (`/path` or `@abstract`) starts with any of these.
    pub paths: Vec<String>,
    /// Unix sockets are wanted (`-x`, or a path asked for).
    pub unix: bool,
    pub listening_only: bool,
    pub protos: Vec<Proto>,
    pub families: Vec<Family>,
    pub states: Vec<State>,
    pub pids: Vec<u32>,
    /// Lowercase; matched as a substring of the process's `comm` or uncut program name.
    pub process: Option<String>,
    pub user: Option<UserMatch>,
    pub local: Option<NetMatch>,
    pub remote: Option<NetMatch>,
    /// Listeners and bound sockets reachable from outside the machine only.
    pub exposed: bool,
}

impl Filter {
    pub fn matches(&self, entry: &SocketEntry) -> bool {
        self.matches_socket(entry) && self.matches_owner(entry)
    }

    /// The conditions on the socket itself: ports, protocol, family, state, addresses.
    pub fn matches_socket(&self, entry: &SocketEntry) -> bool {
        let (local, remote) = match entry.inet() {
            Some(inet) => (Some(inet.local), inet.remote),
            None => (None, None),
        };
        let port_hit = |spec: &PortSpec| {
            [local, remote]
                .iter()
                .flatten()
                .any(|addr| spec.matches(addr.port(), entry.proto()))
        };
        let interface = entry.inet().and_then(|inet| inet.interface.as_deref());
        let in_net = |net: &Option<NetMatch>, addr: Option<SocketAddr>| {
            net.as_ref()
                .is_none_or(|net| addr.is_some_and(|addr| net.matches(addr.ip(), interface)))
        };
        // Like a port, a path matches either end: the socket's own name, or its peer's.
        let path_hit = |path: &String| {
            entry.unix().is_some_and(|unix| {
                let names = [Some(&unix.name), unix.peer_name.as_ref()];
                let text = names.into_iter().flatten().map(ToString::to_string);
                text.into_iter().any(|name| name.starts_with(path.as_str()))
            })
        };
        let any_target = self.ports.is_empty() && self.paths.is_empty();
        self.wants_kind(entry)
            && (any_target || self.ports.iter().any(port_hit) || self.paths.iter().any(path_hit))
            && (!self.listening_only || entry.is_listening())
            && (!self.exposed || is_exposed(entry))
            && (self.states.is_empty() || entry.state().is_some_and(|s| self.states.contains(&s)))
            && in_net(&self.local, local)
            && in_net(&self.remote, remote)
    }

    /// Whether any condition is on owners (`--pid`, `-c`, `--user`).
    pub fn has_owner_conditions(&self) -> bool {
        !self.pids.is_empty() || self.process.is_some() || self.user.is_some()
    }

    /// The conditions on its owners: pid, process name, user.
    pub fn matches_owner(&self, entry: &SocketEntry) -> bool {
        let owners = &entry.processes;
        (self.pids.is_empty() || owners.iter().any(|p| self.pids.contains(&p.pid)))
            && self.process.as_ref().is_none_or(|needle| {
                owners.iter().any(|p| {
                    [&p.name, &p.program]
                        .iter()
                        .any(|n| n.to_lowercase().contains(needle))
                })
            })
            && self.user.as_ref().is_none_or(|user| {
                owners.iter().any(|p| match user {
                    UserMatch::Uid(uid) => p.uid == Some(*uid),
                    UserMatch::Name(name) => p.user.as_deref() == Some(name),
                })
            })
    }
}

/// A listener (or bound UDP socket) on anything but loopback. A TCP socket bound without
/// listening holds its port but refuses every connection: not exposed. Where the firewall was
/// read, one it drops or rejects is not exposed either; one it cannot decide stays.
fn is_exposed(entry: &SocketEntry) -> bool {
    let accepts = entry.is_listening() && entry.state() != Some(State::Bound);
    accepts
        && entry.exposure().is_some_and(|e| e != Exposure::Loopback)
        && entry.firewall.as_ref().is_none_or(Reach::may_reach)
}

fn any_or_empty<T: PartialEq>(wanted: &[T], value: Option<T>) -> bool {
    wanted.is_empty() || value.is_some_and(|value| wanted.contains(&value))
}

impl Filter {
    /// TCP and UDP sockets are wanted: unless only Unix ones were asked for.
    pub fn wants_inet(&self) -> bool {
        !self.unix || !self.protos.is_empty() || !self.families.is_empty() || !self.ports.is_empty()
    }

    /// The kind conditions: Unix sockets when asked for; TCP and UDP by protocol and family.
    fn wants_kind(&self, entry: &SocketEntry) -> bool {
        match entry.endpoint {
            Endpoint::Inet(_) => {
                self.wants_inet()
                    && any_or_empty(&self.protos, entry.proto())
                    && any_or_empty(&self.families, entry.family())
            }
            Endpoint::Unix(_) => self.unix,
        }
    }

    /// The conditions other than ports, as the command line spells them (`-l -t`), for messages.
    pub fn describe_others(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut flag = |on: bool, text: &str| on.then(|| parts.push(text.into()));
        flag(self.listening_only, "-l");
        flag(self.exposed, "--exposed");
        flag(self.unix && self.paths.is_empty(), "-x");
        flag(self.protos.contains(&Proto::Tcp), "-t");
        flag(self.protos.contains(&Proto::Udp), "-u");
        flag(self.families.contains(&Family::Ipv4), "-4");
        flag(self.families.contains(&Family::Ipv6), "-6");
        let list = |items: Vec<String>| items.join(",");
        if !self.states.is_empty() {
            parts.push(format!(
                "--state {}",
                list(self.states.iter().map(|s| s.name().into()).collect())
            ));
        }
        if !self.pids.is_empty() {
            parts.push(format!(
                "--pid {}",
                list(self.pids.iter().map(u32::to_string).collect())
            ));
        }
        let named = [
            ("-c", self.process.clone()),
            ("--user", self.user.as_ref().map(UserMatch::to_string)),
        ];
        let nets = [("--local", &self.local), ("--remote", &self.remote)];
        parts.extend(
            named
                .into_iter()
                .filter_map(|(flag, v)| Some(format!("{flag} {}", v?))),
        );
        parts.extend(
            nets.into_iter()
                .filter_map(|(flag, v)| Some(format!("{flag} {}", v.as_ref()?))),
        );
        parts.join(" ")
    }

    /// This filter without its port conditions' companions: only the ports.
    pub fn ports_only(&self) -> Filter {
        Filter {
            ports: self.ports.clone(),
            paths: self.paths.clone(),
            unix: !self.paths.is_empty(),
            ..Filter::default()
        }
    }
}

impl std::fmt::Display for UserMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserMatch::Uid(uid) => write!(f, "{uid}"),
            UserMatch::Name(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    /// Local ports of the sample sockets that `filter` keeps, in sample order.
    fn kept(filter: Filter) -> Vec<String> {
        FakeSource::sample()
            .entries
            .iter()
            .filter(|e| filter.matches(e))
            .map(|e| {
                let inet = e.inet().unwrap();
                format!("{:?}:{}", inet.proto, inet.local)
            })
            .collect()
    }

    #[test]
    fn empty_filter_keeps_everything() {
        assert_eq!(
            kept(Filter::default()).len(),
            FakeSource::sample().entries.len()
        );
    }

    #[test]
    fn port_matches_local_or_remote() {
        let filter = Filter {
            ports: vec!["8080".parse().unwrap()],
            ..Filter::default()
        };
        assert_eq!(
            kept(filter),
            [
                "Tcp:0.0.0.0:8080",
                "Tcp:[::]:8080",
                "Tcp:127.0.0.1:8080",
                "Tcp:127.0.0.1:51234",
                "Tcp:127.0.0.1:51200",
            ]
        );
    }

    #[test]
    fn port_range_and_several_ports() {
        let filter = Filter {
            ports: vec!["5000-5500".parse().unwrap(), "53".parse().unwrap()],
            ..Filter::default()
        };
        assert_eq!(
            kept(filter),
            ["Tcp:127.0.0.1:5432", "Udp:127.0.0.53:53", "Udp:[::1]:9999"]
        );
    }

    #[test]
    fn listening_keeps_listeners_and_unconnected_udp() {
        let filter = Filter {
            listening_only: true,
            ..Filter::default()
        };
        assert_eq!(
            kept(filter),
            [
                "Tcp:0.0.0.0:8080",
                "Tcp:[::]:8080",
                "Tcp:127.0.0.1:5432",
                "Udp:127.0.0.53:53"
            ]
        );
    }

    #[test]
    fn protocol_and_family() {
        let udp6 = Filter {
            protos: vec![Proto::Udp],
            families: vec![Family::Ipv6],
            ..Filter::default()
        };
        assert_eq!(kept(udp6), ["Udp:[::1]:9999"]);
        let tcp6 = Filter {
            protos: vec![Proto::Tcp],
            families: vec![Family::Ipv6],
            ..Filter::default()
        };
        assert_eq!(kept(tcp6), ["Tcp:[::]:8080", "Tcp:[2001:db8::10]:22"]);
    }

    #[test]
    fn states_exclude_udp() {
        let filter = Filter {
            states: vec![State::TimeWait, State::Listen],
            ..Filter::default()
        };
        assert_eq!(
            kept(filter),
            [
                "Tcp:0.0.0.0:8080",
                "Tcp:[::]:8080",
                "Tcp:127.0.0.1:5432",
                "Tcp:127.0.0.1:51200"
            ]
        );
    }

    #[test]
    fn pid_matches_any_owner_of_a_shared_socket() {
        let filter = Filter {
            pids: vec![1200],
            ..Filter::default()
        };
        assert_eq!(kept(filter), ["Tcp:0.0.0.0:8080", "Tcp:[::]:8080"]);
    }

    #[test]
    fn process_name_is_a_case_insensitive_substring() {
        let filter = Filter {
            process: Some("gres".into()),
            ..Filter::default()
        };
        assert_eq!(kept(filter), ["Tcp:127.0.0.1:5432"]);
        let filter = Filter {
            process: Some("nomatch".into()),
            ..Filter::default()
        };
        assert!(kept(filter).is_empty());
    }

    #[test]
    fn process_names_in_capitals_match_a_lowercase_needle() {
        let mut entry = FakeSource::sample().entries.remove(2);
        let mut process = (*entry.processes[0]).clone();
        process.name = "PostgreSQL".into();
        entry.processes = vec![std::sync::Arc::new(process)];
        // Settings lowercases the needle once; the name is lowercased per match.
        let filter = Filter {
            process: Some("gresql".into()),
            ..Filter::default()
        };
        assert!(filter.matches(&entry));
    }

    #[test]
    fn user_by_name_or_uid() {
        let by_name = Filter {
            user: Some(UserMatch::parse("www-data")),
            ..Filter::default()
        };
        let by_uid = Filter {
            user: Some(UserMatch::parse("33")),
            ..Filter::default()
        };
        let want = ["Tcp:0.0.0.0:8080", "Tcp:[::]:8080", "Tcp:127.0.0.1:8080"];
        assert_eq!(kept(by_name), want);
        assert_eq!(kept(by_uid), want);
    }

    #[test]
    fn local_and_remote_cidrs() {
        let local = Filter {
            local: Some(parse_net("127.0.0.0/8").unwrap()),
            ..Filter::default()
        };
        assert_eq!(kept(local).len(), 5);
        let remote = Filter {
            remote: Some(parse_net("2001:db8::/32").unwrap()),
            ..Filter::default()
        };
        assert_eq!(kept(remote), ["Tcp:[2001:db8::10]:22"]);
        // A socket with no peer never matches a remote condition.
        let any = Filter {
            remote: Some(parse_net("0.0.0.0/0").unwrap()),
            ..Filter::default()
        };
        assert_eq!(kept(any).len(), 3);
    }
}
