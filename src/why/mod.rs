//! `ports why [ADDR:]PORT[/tcp|/udp]`: would a new server's bind to that address and port
//! succeed now, as this user, and if not, which sockets are in the way and why. The sockets on
//! the port come from one narrow dump (with their owners), the limits from the namespace's
//! sysctls; the kernel's rules (rules.rs) decide, and where they turn on an option the kernel
//! does not report (SO_REUSEADDR, SO_REUSEPORT of the socket in the way), a probe bind, made
//! and closed at once, asks the kernel itself.

pub mod present;
pub mod rules;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context;

use crate::exit::ExitCode;
use crate::exposure;
use crate::model::{Proto, Reach, SocketEntry};
use crate::source::limits::{BindLimits, Probe};
use crate::source::{self, NetnsScope, Query, RulesetRead, SocketSource};
use present::Answer;
use rules::{Bind, NatClaim};

/// What to ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub target: Target,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub netns: NetnsScope,
    pub json: bool,
}

/// `[ADDR:]PORT[/tcp|/udp]`: no address means both wildcards, as a server that binds
/// `0.0.0.0` and `[::]` (the latter with IPV6_V6ONLY, as it must to bind both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: Option<IpAddr>,
    pub port: u16,
    pub proto: Proto,
}

impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Target, String> {
        let bad = |why: &str| format!("'{text}' {why}");
        let (rest, proto) = match text.rsplit_once('/') {
            Some((rest, "tcp")) => (rest, Proto::Tcp),
            Some((rest, "udp")) => (rest, Proto::Udp),
            Some(_) => return Err(bad("ends in neither /tcp nor /udp")),
            None => (text, Proto::Tcp),
        };
        let (address, port) = match rest.rsplit_once(':') {
            Some((address, port)) => (Some(address), port),
            None => (None, rest),
        };
        let address = match address {
            None => None,
            Some(a) => Some(parse_address(a).ok_or_else(|| bad("has no IPv4 or [IPv6] address"))?),
        };
        let port = port.parse::<u16>().ok().filter(|&p| p != 0);
        let port = port.ok_or_else(|| bad("needs a port from 1 to 65535"))?;
        Ok(Target {
            address,
            port,
            proto,
        })
    }
}

/// `127.0.0.1`, `[::1]`, `[::]`; an IPv4-mapped IPv6 address counts as the IPv4 one.
fn parse_address(text: &str) -> Option<IpAddr> {
    let ip = match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(v6) => IpAddr::V6(v6.parse::<Ipv6Addr>().ok()?),
        None => IpAddr::V4(text.parse::<Ipv4Addr>().ok()?),
    };
    Some(ip.to_canonical())
}

/// The binds asked about: the address given, or both wildcards.
pub fn binds(request: &Request, limits: &BindLimits) -> Vec<Bind> {
    let bind = |address: IpAddr, v6only: bool| Bind {
        proto: request.target.proto,
        address: SocketAddr::new(address, request.target.port),
        reuseaddr: request.reuseaddr,
        reuseport: request.reuseport,
        v6only: address.is_ipv6() && v6only,
    };
    match request.target.address {
        Some(address) => vec![bind(address, limits.bindv6only)],
        None => vec![
            bind(IpAddr::V4(Ipv4Addr::UNSPECIFIED), false),
            bind(IpAddr::V6(Ipv6Addr::UNSPECIFIED), true),
        ],
    }
}

/// The ports NAT rules forward with no socket (`--firewall`'s NAT rows), taken out of the
/// sockets: a bind on such a port succeeds, but its clients' packets go elsewhere.
fn nat_claims(sockets: &mut Vec<SocketEntry>) -> Vec<NatClaim> {
    let (claims, rest): (Vec<SocketEntry>, Vec<SocketEntry>) = std::mem::take(sockets)
        .into_iter()
        .partition(|s| s.claim.is_some());
    *sockets = rest;
    let claim = |entry: SocketEntry| {
        let Some(Reach::Forwarded { to, target, .. }) = &entry.firewall else {
            return None;
        };
        Some(NatClaim {
            proto: entry.proto()?,
            port: entry.local_port()?,
            ipv6: to.is_ipv6(),
            to: match target {
                Some(target) => format!("{to} ({target})"),
                None => to.to_string(),
            },
        })
    };
    claims.into_iter().filter_map(claim).collect()
}

/// Answers `request`: 0 when every bind would succeed, 1 when one would not.
pub fn run(
    request: &Request,
    source: &mut dyn SocketSource,
    out: &mut dyn Write,
) -> anyhow::Result<(ExitCode, Vec<String>)> {
    let (mut sockets, mut notes) = sockets_on_port(request, source)?;
    let limits = limits(&request.netns, &mut notes).map_err(anyhow::Error::msg)?;
    let nat = nat_claims(&mut sockets);
    let answers: Vec<Answer> = binds(request, &limits)
        .into_iter()
        .map(|bind| answer(bind, &sockets, &limits, &nat, &request.netns))
        .collect();
    notes.extend(range_notes(request.target.port, &limits));
    match request.json {
        true => present::json(&answers, &sockets, &notes, out)?,
        false => present::text(&answers, &sockets, &notes, out)?,
    }
    let fails = answers.iter().any(|a| a.errno().is_some());
    let code = if fails {
        ExitCode::NoMatch
    } else {
        ExitCode::Matched
    };
    Ok((code, Vec::new()))
}

/// The namespace's limits; where it cannot be entered (not root), this one's, and a note.
fn limits(netns: &NetnsScope, notes: &mut Vec<String>) -> Result<BindLimits, String> {
    source::bind_limits(netns).or_else(|why| {
        notes.push(format!(
            "{why}: its sysctls are assumed to be this namespace's"
        ));
        source::bind_limits(&NetnsScope::Own)
    })
}

/// The rules' judgement, and a probe's where they could not tell.
fn answer(
    bind: Bind,
    sockets: &[SocketEntry],
    limits: &BindLimits,
    nat: &[NatClaim],
    netns: &NetnsScope,
) -> Answer {
    let judgement = rules::judge(bind, sockets, limits, nat);
    // EADDRNOTAVAIL comes before every other rule: an address not surely local is asked.
    let ask_kernel = judgement.uncertain() || !surely_local(&bind, sockets);
    let probe = ask_kernel.then(|| {
        let probe = Probe {
            proto: bind.proto,
            address: bind.address,
            reuseaddr: bind.reuseaddr,
            reuseport: bind.reuseport,
            v6only: bind.v6only,
        };
        match source::probe_bind(netns, &probe) {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(errno_name(&error)),
            Err(why) => Some(format!("unknown ({why})")),
        }
    });
    Answer { judgement, probe }
}

/// Whether the bind's address is surely this namespace's: a wildcard, loopback, or one a socket
/// on the port is bound to. Any other must be assigned to a device (else EADDRNOTAVAIL, before
/// any other rule), which the socket dump does not tell: the probe asks.
fn surely_local(bind: &Bind, sockets: &[SocketEntry]) -> bool {
    let ip = bind.address.ip();
    let bound_here = sockets
        .iter()
        .any(|s| s.inet().is_some_and(|i| i.local.ip() == ip));
    ip.is_unspecified() || ip.is_loopback() || bound_here
}

fn errno_name(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(98) => "EADDRINUSE".into(),
        Some(13) => "EACCES".into(),
        Some(99) => "EADDRNOTAVAIL".into(),
        _ => error.to_string(),
    }
}

/// Every socket with the port as its local port, in the protocol asked, with owners; and what
/// could not be seen.
fn sockets_on_port(
    request: &Request,
    source: &mut dyn SocketSource,
) -> anyhow::Result<(Vec<SocketEntry>, Vec<String>)> {
    let target = &request.target;
    let query = Query {
        port: Some(target.port),
        protos: vec![target.proto],
        unix: false,
        owner_context: true,
        netns: request.netns.clone(),
        // NAT rules may claim the port; read where the ruleset is readable, unsaid where not.
        firewall: true,
        ..Query::default()
    };
    let snapshot = source.snapshot(&query).context("cannot list sockets")?;
    let mut sockets = snapshot.sockets;
    let readable: Vec<RulesetRead> = (snapshot.rulesets.into_iter())
        .filter(|read| read.texts.is_ok())
        .collect();
    exposure::decide(&mut sockets, &readable, source);
    sockets.retain(|s| s.proto() == Some(target.proto) && s.local_port() == Some(target.port));
    let hidden = sockets.iter().filter(|s| s.owner_hidden).count();
    let partly = sockets
        .iter()
        .filter(|s| s.owner_hidden && !s.processes.is_empty())
        .count();
    let notes = source::notes(&snapshot.problems, hidden, partly, 0);
    Ok((sockets, notes))
}

/// Where the port sits in the kernel's own use of ports.
fn range_notes(port: u16, limits: &BindLimits) -> Vec<String> {
    let reserved = limits
        .reserved
        .iter()
        .any(|&(low, high)| (low..=high).contains(&port));
    match limits.ephemeral {
        Some((low, high)) if (low..=high).contains(&port) && !reserved => vec![format!(
            "{port} is in the ephemeral range {low}-{high} (net.ipv4.ip_local_port_range): \
             a client's connection may take it at any moment; reserve it with \
             net.ipv4.ip_local_reserved_ports"
        )],
        Some((low, high)) if (low..=high).contains(&port) => vec![format!(
            "{port} is in the ephemeral range {low}-{high}, but reserved from it \
             (net.ipv4.ip_local_reserved_ports)"
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_as_typed() {
        let t: Target = "8080".parse().unwrap();
        assert_eq!((t.address, t.port, t.proto), (None, 8080, Proto::Tcp));
        let t: Target = "127.0.0.1:53/udp".parse().unwrap();
        assert_eq!(t.address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(t.proto, Proto::Udp);
        let t: Target = "[::]:443".parse().unwrap();
        assert_eq!(t.address, Some("::".parse().unwrap()));
        let t: Target = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(t.address, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_targets_are_named() {
        for bad in ["0", "70000", "x", "8080/sctp", "::1:80", "localhost:80", ""] {
            let error = bad.parse::<Target>().unwrap_err();
            assert!(error.starts_with(&format!("'{bad}'")), "{error}");
        }
    }

    #[test]
    fn no_address_asks_for_both_wildcards() {
        let request = Request {
            target: "8080".parse().unwrap(),
            reuseaddr: false,
            reuseport: false,
            netns: NetnsScope::Own,
            json: false,
        };
        let binds = binds(&request, &BindLimits::default());
        let addresses: Vec<String> = binds.iter().map(|b| b.address.to_string()).collect();
        assert_eq!(addresses, ["0.0.0.0:8080", "[::]:8080"]);
        assert!(binds[1].v6only && !binds[0].v6only);
    }

    #[test]
    fn only_an_address_the_dump_cannot_vouch_for_is_probed() {
        let bind = |address: &str| Bind {
            proto: Proto::Tcp,
            address: address.parse().unwrap(),
            reuseaddr: false,
            reuseport: false,
            v6only: false,
        };
        let sample = crate::source::FakeSource::sample().entries;
        for local in [
            "0.0.0.0:80",
            "[::]:80",
            "127.0.0.2:80",
            "[::1]:80",
            "127.0.0.53:9",
        ] {
            assert!(surely_local(&bind(local), &sample), "{local}");
        }
        assert!(!surely_local(&bind("192.0.2.1:80"), &sample));
    }

    #[test]
    fn the_ephemeral_range_is_said_unless_reserved() {
        let limits = BindLimits::default();
        assert_eq!(range_notes(8080, &limits), Vec::<String>::new());
        assert!(range_notes(40000, &limits)[0].contains("may take it"));
        let reserved = BindLimits {
            reserved: vec![(40000, 40010)],
            ..limits
        };
        assert!(range_notes(40000, &reserved)[0].contains("reserved"));
    }
}
