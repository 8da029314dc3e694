//! Value parsers for the command line: ports, ranges, services, addresses, states.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::model::{Family, Proto, State};
use crate::services::Services;

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

/// A port argument: a port, range or service name, optionally for one protocol (`53/udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub range: PortRange,
    pub proto: Option<Proto>,
}

impl PortSpec {
    pub fn matches(self, port: u16, proto: Option<Proto>) -> bool {
        self.range.contains(port) && self.proto.is_none_or(|wanted| proto == Some(wanted))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proto {
            Some(Proto::Tcp) => write!(f, "{}/tcp", self.range),
            Some(Proto::Udp) => write!(f, "{}/udp", self.range),
            None => write!(f, "{}", self.range),
        }
    }
}

impl FromStr for PortSpec {
    type Err = String;

    /// Accepts what `PortRange` does, service names from /etc/services (`http`, `:https`) and a
    /// protocol suffix on either (`53/udp`, `ssh/tcp`, `8000-8100/tcp`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("an empty port (a comma too many?)".into());
        }
        let split = text
            .rsplit_once('/')
            .map(|(body, proto)| (body, proto.to_ascii_lowercase()));
        let (body, proto) = match split.as_ref().map(|(body, proto)| (*body, proto.as_str())) {
            Some((body, "tcp")) => (body, Some(Proto::Tcp)),
            Some((body, "udp")) => (body, Some(Proto::Udp)),
            Some((_, other)) => {
                return Err(format!(
                    "'{text}': unknown protocol '{other}' (write /tcp or /udp)"
                ));
            }
            None => (text, None),
        };
        let bare = body.strip_prefix(':').unwrap_or(body);
        let range = if bare.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let port = Services::system().port(bare).ok_or_else(|| {
                format!("unknown service '{bare}': not a port number, nor a name in /etc/services")
            })?;
            PortRange {
                first: port,
                last: port,
            }
        } else {
            body.parse()?
        };
        Ok(PortSpec { range, proto })
    }
}

/// A positional argument: a port (`8080`, `53/udp`, `http`), or the start of a Unix socket's
/// path or abstract name (`/run/`, `@dbus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Port(PortSpec),
    Path(String),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with('/') || text.starts_with('@') {
            Ok(Target::Path(text.to_owned()))
        } else {
            text.parse().map(Target::Port)
        }
    }
}

/// What lsof's `-i [46][tcp|udp][:port]` asks for. Host parts (`@host`) have no equivalent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InetSpec {
    pub family: Option<Family>,
    pub proto: Option<Proto>,
    pub port: Option<PortSpec>,
}

/// Parses an lsof `-i` value: `4`, `6`, `tcp`, `udp`, `:80`, `tcp:http`, `6udp:53`, or nothing.
pub fn parse_lsof_inet(text: &str) -> Result<InetSpec, String> {
    if let Some((_, host)) = text.split_once('@') {
        let host = host.split(':').next().unwrap_or(host);
        return Err(format!(
            "'-i {text}': ports has no host filter; use --remote {host} (or --local)"
        ));
    }
    let (head, port) = match text.split_once(':') {
        Some((head, port)) => (head, Some(port.parse::<PortSpec>()?)),
        None => (text, None),
    };
    let (family, proto) = match head.split_at_checked(1) {
        Some(("4", rest)) => (Some(Family::Ipv4), rest),
        Some(("6", rest)) => (Some(Family::Ipv6), rest),
        _ => (None, head),
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "" => None,
        "tcp" => Some(Proto::Tcp),
        "udp" => Some(Proto::Udp),
        _ => {
            return Err(format!(
                "'-i {text}': expected [46][tcp|udp][:port], as lsof -i takes"
            ));
        }
    };
    Ok(InetSpec {
        family,
        proto,
        port: port.map(|spec| PortSpec {
            proto: spec.proto.or(proto),
            ..spec
        }),
    })
}

/// An address condition: a network, and the device a scoped address names (`fe80::1%lo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetMatch {
    pub net: IpNet,
    pub interface: Option<String>,
}

impl NetMatch {
    pub fn matches(&self, ip: IpAddr, interface: Option<&str>) -> bool {
        self.net.contains(&ip)
            && self
                .interface
                .as_deref()
                .is_none_or(|want| interface == Some(want))
    }
}

impl fmt::Display for NetMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.interface {
            Some(device) => write!(f, "{}%{device}", self.net),
            None => write!(f, "{}", self.net),
        }
    }
}

/// Parses `--local`/`--remote`: an address (`10.0.0.1`, `::1`, `[::1]`), a CIDR
/// (`10.0.0.0/8`), either with a device (`fe80::1%lo`, `0.0.0.0%eth0`).
pub fn parse_net(text: &str) -> Result<NetMatch, String> {
    let bare = text.trim();
    let unbracketed = bare
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(bare);
    let (address, interface) = match unbracketed.split_once('%') {
        Some((_, "")) => return Err(format!("'{text}' names no device after '%'")),
        Some((address, device)) => (address, Some(device.to_owned())),
        None => (unbracketed, None),
    };
    let bad =
        || format!("'{text}' is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1, fe80::1%eth0)");
    let net = match address.parse::<IpAddr>() {
        // Sockets show `::ffff:1.2.3.4` as 1.2.3.4, so match it that way too.
        Ok(addr) => IpNet::from(addr.to_canonical()),
        Err(_) => address
            .parse::<IpNet>()
            .map(|net| net.trunc())
            .map_err(|_| bad())?,
    };
    Ok(NetMatch { net, interface })
}

/// Parses one `--state` value, case-insensitively; `_` may stand for `-`.
pub fn parse_state(text: &str) -> Result<State, String> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    if matches!(wanted.as_str(), "close" | "closed") {
        return Err(format!(
            "'{text}': a closed TCP socket that still holds a port is listed as bound: use --state bound"
        ));
    }
    let alias = match wanted.as_str() {
        "estab" => "established",
        "syn-received" | "syn-rcvd" => "syn-recv",
        other => other,
    };
    State::ALL
        .into_iter()
        .find(|state| state.name() == alias)
        .ok_or_else(|| {
            let names: Vec<_> = State::ALL.iter().map(|s| s.name()).collect();
            format!(
                "unknown state '{text}' (expected one of: {})",
                names.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("fe80::1%lo", Some("fe80::1/128%lo")),
            ("[fe80::1%lo]", Some("fe80::1/128%lo")),
            ("0.0.0.0%eth0", Some("0.0.0.0/32%eth0")),
            ("fe80::1%", None),
        ];
        for (text, want) in cases {
            let got = parse_net(text).ok().map(|net| net.to_string());
            assert_eq!(got.as_deref(), want, "input {text:?}");
        }
        assert_eq!(
            parse_net("10.0.0.0/33").unwrap_err(),
            "'10.0.0.0/33' is not an IP address or CIDR (e.g. 10.0.0.0/8, ::1, fe80::1%eth0)"
        );
    }

    #[test]
    fn states_parse_case_insensitively_with_aliases() {
        let cases = [
            ("listen", Some(State::Listen)),
            ("LISTEN", Some(State::Listen)),
            ("Time-Wait", Some(State::TimeWait)),
            ("time_wait", Some(State::TimeWait)),
            ("estab", Some(State::Established)),
            ("syn-sent", Some(State::SynSent)),
            ("fin-wait-1", Some(State::FinWait1)),
            ("closed", None),
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
    fn port_specs_take_names_lists_and_protocols() {
        let spec = |text: &str| text.parse::<PortSpec>().map(|s| s.to_string());
        assert_eq!(spec("8080"), Ok("8080".into()));
        assert_eq!(spec(":8080/tcp"), Ok("8080/tcp".into()));
        assert_eq!(spec("53/udp"), Ok("53/udp".into()));
        assert_eq!(spec("8000-8100/tcp"), Ok("8000-8100/tcp".into()));
        assert_eq!(
            spec("70000/tcp"),
            Err("port '70000' is out of range 1-65535".into())
        );
        assert!(
            spec("80/sctp")
                .unwrap_err()
                .contains("unknown protocol 'sctp'")
        );
        let unknown = spec("no-such-service").unwrap_err();
        assert!(
            unknown.starts_with("unknown service 'no-such-service'"),
            "{unknown}"
        );
        // /etc/services or the built-in table: either knows ssh and https.
        assert_eq!(spec("ssh/tcp"), Ok("22/tcp".into()));
        assert_eq!(spec(":https"), Ok("443".into()));
    }

    #[test]
    fn lsof_inet_specs_map_to_filters() {
        let parse = |text: &str| parse_lsof_inet(text).map(|i| (i.family, i.proto, i.port));
        let port = |n: u16, proto| PortSpec {
            range: PortRange { first: n, last: n },
            proto,
        };
        assert_eq!(parse(""), Ok((None, None, None)));
        assert_eq!(parse("4"), Ok((Some(Family::Ipv4), None, None)));
        assert_eq!(parse(":80"), Ok((None, None, Some(port(80, None)))));
        assert_eq!(
            parse("6TCP:8080"),
            Ok((
                Some(Family::Ipv6),
                Some(Proto::Tcp),
                Some(port(8080, Some(Proto::Tcp)))
            ))
        );
        assert!(
            parse("@10.0.0.1:80")
                .unwrap_err()
                .contains("--remote 10.0.0.1")
        );
        assert!(parse("sctp").unwrap_err().contains("[46][tcp|udp][:port]"));
    }

    #[test]
    fn every_state_name_parses_back() {
        for state in State::ALL {
            assert_eq!(parse_state(state.name()), Ok(state));
        }
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
                prop_assert!(net.as_ref().is_ok_and(|net| net.net.contains(&addr)), "{} -> {:?}", text, net);
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
        fn state_names_parse_in_any_case(index in 0..State::ALL.len(), upper in prop::collection::vec(any::<bool>(), 12)) {
            let state = State::ALL[index];
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
