//! Which sockets the user asked for: value parsers for the command line and a pure `Filter`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
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
            if bare.is_empty() {
                return Err(format!("'{text}' is not a port number (1-65535)"));
            }
            let port = parse_port(bare)?;
            return Ok(PortRange {
                first: port,
                last: port,
            });
        };
        if first.is_empty() || last.is_empty() {
            return Err(format!(
                "range '{text}' needs a port on each side, e.g. 8000-8100"
            ));
        }
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
        // Sockets show `::ffff:1.2.3.4` as 1.2.3.4, so match it that way too.
        return Ok(IpNet::from(addr.to_canonical()));
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

    /// The conditions on the socket itself: ports, protocol, family, state, addresses.
    pub fn matches_socket(&self, entry: &SocketEntry) -> bool {
        let (local, remote) = match entry.inet() {
            Some(inet) => (Some(inet.local), inet.remote),
            None => (None, None),
        };
        let port_hit = |range: &PortRange| {
            [local, remote]
                .iter()
                .flatten()
                .any(|addr| range.contains(addr.port()))
        };
        let in_net = |net: &Option<IpNet>, addr: Option<SocketAddr>| {
            net.is_none_or(|net| addr.is_some_and(|addr| net.contains(&addr.ip())))
        };
        (self.ports.is_empty() || self.ports.iter().any(port_hit))
            && (!self.listening_only || entry.is_listening())
            && any_or_empty(&self.protos, entry.proto())
            && any_or_empty(&self.families, entry.family())
            && (self.states.is_empty() || entry.state().is_some_and(|s| self.states.contains(&s)))
            && in_net(&self.local, local)
            && in_net(&self.remote, remote)
    }

    /// The conditions on its owners: pid, process name, user.
    pub fn matches_owner(&self, entry: &SocketEntry) -> bool {
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

fn any_or_empty<T: PartialEq>(wanted: &[T], value: Option<T>) -> bool {
    wanted.is_empty() || value.is_some_and(|value| wanted.contains(&value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    #[test]
    fn port_ranges_parse() {
        let cases = [
            ("8080", Ok((8080, 8080))),
            (":8080", Ok((8080, 8080))),
            ("1", Ok((1, 1))),
            ("65535", Ok((65535, 65535))),
            ("8000-8100", Ok((8000, 8100))),
            (":8000-8100", Ok((8000, 8100))),
            ("22-22", Ok((22, 22))),
            ("0", Err("port '0' is out of range 1-65535")),
            ("70000", Err("port '70000' is out of range 1-65535")),
            ("80-20", Err("range '80-20' is backwards: write 20-80")),
            ("http", Err("'http' is not a port number (1-65535)")),
            ("", Err("'' is not a port number (1-65535)")),
            (
                "-5",
                Err("range '-5' needs a port on each side, e.g. 8000-8100"),
            ),
            (
                "80-",
                Err("range '80-' needs a port on each side, e.g. 8000-8100"),
            ),
            (":", Err("':' is not a port number (1-65535)")),
            ("1-99999", Err("port '99999' is out of range 1-65535")),
        ];
        for (text, want) in cases {
            let got = text.parse::<PortRange>().map(|r| (r.first, r.last));
            assert_eq!(got, want.map_err(String::from), "input {text:?}");
        }
    }

    #[test]
    fn addresses_and_cidrs_parse() {
        let cases = [
            ("127.0.0.1", Some("127.0.0.1/32")),
            ("::1", Some("::1/128")),
            ("[::1]", Some("::1/128")),
            ("10.0.0.0/8", Some("10.0.0.0/8")),
            ("10.1.2.3/8", Some("10.0.0.0/8")),
            ("fe80::/10", Some("fe80::/10")),
            ("::ffff:10.0.0.1", Some("10.0.0.1/32")),
            ("10.0.0/8", None),
            ("10.0.0.0/33", None),
            ("::1/129", None),
            ("localhost", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = parse_net(text).ok().map(|net| net.to_string());
            assert_eq!(got.as_deref(), want, "input {text:?}");
        }
        assert_eq!(
            parse_net("10.0.0.0/33").unwrap_err(),
            "'10.0.0.0/33' is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1)"
        );
    }

    #[test]
    fn states_parse_case_insensitively_with_aliases() {
        let cases = [
            ("listen", Some(TcpState::Listen)),
            ("LISTEN", Some(TcpState::Listen)),
            ("Time-Wait", Some(TcpState::TimeWait)),
            ("time_wait", Some(TcpState::TimeWait)),
            ("estab", Some(TcpState::Established)),
            ("syn-sent", Some(TcpState::SynSent)),
            ("fin-wait-1", Some(TcpState::FinWait1)),
            ("closed", Some(TcpState::Close)),
            ("listening", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_state(text).ok(), want, "input {text:?}");
        }
        assert!(
            parse_state("bogus")
                .unwrap_err()
                .starts_with("unknown state 'bogus'")
        );
    }

    #[test]
    fn every_state_name_parses_back() {
        for state in TcpState::ALL {
            assert_eq!(parse_state(state.name()), Ok(state));
        }
    }

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
            states: vec![TcpState::TimeWait, TcpState::Listen],
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

#[cfg(test)]
mod properties {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_valid_port_parses_to_itself(port in 1u16..=65535, colon in any::<bool>()) {
            let text = if colon { format!(":{port}") } else { port.to_string() };
            prop_assert_eq!(text.parse::<PortRange>(), Ok(PortRange { first: port, last: port }));
        }

        #[test]
        fn ranges_parse_forwards_and_name_the_text_backwards(a in 1u16..=65535, b in 1u16..=65535) {
            let text = format!("{a}-{b}");
            match text.parse::<PortRange>() {
                Ok(range) => prop_assert_eq!((range.first, range.last, a <= b), (a, b, true)),
                Err(message) => prop_assert!(a > b && message.contains(&text)),
            }
        }

        #[test]
        fn out_of_range_numbers_are_named(port in 65536u32..10_000_000) {
            let message = port.to_string().parse::<PortRange>().unwrap_err();
            let quoted = format!("'{port}'");
            prop_assert!(message.contains(&quoted), "{}", message);
        }

        #[test]
        fn port_parsing_never_panics(text in "\\PC*") {
            let _ = text.parse::<PortRange>();
        }

        #[test]
        fn addresses_and_prefixes_parse(v4 in any::<u32>(), v6 in any::<u128>(), len4 in 0u8..=32, len6 in 0u8..=128) {
            let (v4, v6) = (IpAddr::V4(Ipv4Addr::from(v4)), IpAddr::V6(Ipv6Addr::from(v6)));
            let cases = [
                (v4.to_string(), v4),
                (format!("[{v6}]"), v6),
                (format!("{v4}/{len4}"), v4),
                (format!("{v6}/{len6}"), v6),
            ];
            for (text, addr) in cases {
                let net = parse_net(&text);
                prop_assert!(net.as_ref().is_ok_and(|net| net.contains(&addr)), "{} -> {:?}", text, net);
            }
        }

        #[test]
        fn prefixes_too_long_are_rejected_by_name(v4 in any::<u32>(), len in 33u8..=255) {
            let text = format!("{}/{len}", Ipv4Addr::from(v4));
            let quoted = format!("'{text}'");
            prop_assert!(parse_net(&text).unwrap_err().contains(&quoted));
        }

        #[test]
        fn net_parsing_never_panics(text in "\\PC*") {
            let _ = parse_net(&text);
        }

        #[test]
        fn state_names_parse_in_any_case(index in 0..TcpState::ALL.len(), upper in prop::collection::vec(any::<bool>(), 12)) {
            let state = TcpState::ALL[index];
            let text: String = state.name().chars().zip(upper.iter().cycle())
                .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert_eq!(parse_state(&text), Ok(state));
        }

        #[test]
        fn state_parsing_never_panics_and_names_bad_text(text in "\\PC*") {
            if let Err(message) = parse_state(&text) {
                let quoted = format!("'{text}'");
                prop_assert!(message.contains(&quoted));
            }
        }
    }
}
