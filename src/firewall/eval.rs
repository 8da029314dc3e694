//! Whether a new connection from another host reaches a listener: every address another host
//! can send to, every class of source address, walked through the ruleset (walk.rs), and the
//! answers combined into one `Reach`. Pure code: the host's addresses come in as values.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::model::{Proto, Reach};

use super::matches::{Oif, Packet};
use super::prepared::Prepared;
use super::rules::Ruleset;
use super::sources::{int, prefixes};
use super::walk::{Outcome, Verdict};

/// The namespace's own interfaces and addresses.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub interfaces: Vec<Interface>,
}

#[derive(Debug, Clone)]
pub struct Interface {
    pub name: String,
    /// The addresses with their subnets: the subnet says where a forward goes out.
    pub addrs: Vec<IpNet>,
}

impl Host {
    pub fn is_local(&self, addr: IpAddr) -> bool {
        self.addrs().any(|(_, net)| net.addr() == addr)
    }

    /// The subnet's broadcast address of an IPv4 interface, or the limited broadcast.
    pub fn is_broadcast(&self, addr: IpAddr) -> bool {
        let limited = addr == IpAddr::from([255, 255, 255, 255]);
        let subnet = |net: &IpNet| net.addr().is_ipv4() && net.prefix_len() < 31;
        limited
            || self
                .addrs()
                .any(|(_, net)| subnet(net) && net.broadcast() == addr)
    }

    /// The interface a packet to `addr` leaves by: the one whose subnet holds it.
    pub fn route(&self, addr: IpAddr) -> Option<&str> {
        self.addrs()
            .filter(|(_, net)| net.contains(&addr))
            .max_by_key(|(_, net)| net.prefix_len())
            .map(|(name, _)| name)
    }

    /// The interface's first address of the family: where a redirect sends the packet.
    pub fn primary(&self, name: &str, v6: bool) -> Option<IpAddr> {
        self.addrs()
            .find(|(n, net)| *n == name && net.addr().is_ipv6() == v6)
            .map(|(_, net)| net.addr())
    }

    fn addrs(&self) -> impl Iterator<Item = (&str, &IpNet)> {
        self.interfaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(move |net| (i.name.as_str(), net)))
    }

    /// The (interface, address) pairs another host can send to, of one family.
    fn remote_targets(&self, v6: bool) -> impl Iterator<Item = (&str, IpAddr)> {
        self.addrs()
            .map(|(name, net)| (name, net.addr()))
            .filter(move |(_, a)| a.is_ipv6() == v6 && !is_loopback(*a))
    }
}

/// A listener, asked about.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub proto: Proto,
    /// The bound address: unspecified means every address of its family.
    pub local: SocketAddr,
    /// An `[::]` listener that takes no IPv4 (IPV6_V6ONLY).
    pub v6only: bool,
}

/// A port published by DNAT or a redirect, for traffic from another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub proto: Proto,
    pub port: u16,
    /// The destination the rule is limited to, when it is.
    pub daddr: Option<IpNet>,
    pub to: SocketAddr,
    /// Whether the forward/input chains then let it through.
    pub reach: Reach,
}

/// `Evaluator::new(..).reach(probe)` for one question.
pub fn reach(ruleset: &Ruleset, host: &Host, probe: &Probe) -> Reach {
    Evaluator::new(ruleset, host).reach(probe)
}

/// `Evaluator::new(..).forwards()` for one question.
pub fn forwards(ruleset: &Ruleset, host: &Host) -> Vec<Forward> {
    Evaluator::new(ruleset, host).forwards()
}

/// A ruleset prepared once for many listeners.
pub struct Evaluator<'r> {
    pub(super) prep: Prepared<'r>,
}

impl<'r> Evaluator<'r> {
    pub fn new(ruleset: &'r Ruleset, host: &'r Host) -> Evaluator<'r> {
        Evaluator {
            prep: Prepared::new(ruleset, host),
        }
    }

    pub fn reach(&self, probe: &Probe) -> Reach {
        let bound = canonical(probe.local.ip());
        if is_loopback(bound) {
            return Reach::LocalOnly;
        }
        if let Some(what) = &self.prep.unsupported {
            return Reach::Unknown {
                construct: what.clone(),
            };
        }
        let targets = self.targets(bound, probe.v6only);
        if targets.is_empty() && !bound.is_unspecified() {
            return Reach::Unknown {
                construct: format!("{bound}, which no interface holds"),
            };
        }
        let port = probe.local.port();
        let answers = targets
            .into_iter()
            .map(|(iif, daddr)| self.at(probe.proto, iif, daddr, port, false).0);
        // No address another host can send to: only this host reaches it.
        answers.reduce(combine).unwrap_or(Reach::LocalOnly)
    }

    /// Where a packet to the bound address can arrive: each (interface, address).
    pub(super) fn targets(&self, bound: IpAddr, v6only: bool) -> Vec<(&'r str, IpAddr)> {
        let host = self.prep.host;
        if !bound.is_unspecified() {
            let on = |(_, a): &(&str, IpAddr)| *a == bound;
            return host.remote_targets(bound.is_ipv6()).filter(on).collect();
        }
        let mut targets: Vec<_> = host.remote_targets(bound.is_ipv6()).collect();
        if bound.is_ipv6() && !v6only {
            targets.extend(host.remote_targets(false));
        }
        targets
    }

    /// The answer for packets arriving on `iif` for `daddr:port`, every source class
    /// walked; with the destination a prerouting rewrite sent them to, if one did. `claim`:
    /// no socket holds the port, so only a rewritten connection gets anywhere.
    pub(super) fn at(
        &self,
        proto: Proto,
        iif: &'r str,
        daddr: IpAddr,
        port: u16,
        claim: bool,
    ) -> (Reach, Option<SocketAddr>) {
        let v6 = daddr.is_ipv6();
        let partition = &self.prep.sources[usize::from(v6)];
        let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
        for (i, class) in partition.classes.iter().enumerate() {
            let pkt = Packet {
                v6,
                proto: proto_number(proto),
                saddr: class.rep,
                daddr,
                dport: port,
                iif,
                oif: Oif::None,
                dnat: false,
                tracked: Some(true),
            };
            let outcome = self.prep.decide(&pkt);
            let alike = !outcome.saddr_tested;
            outcomes.push((i, outcome));
            if alike {
                // No saddr test on its way: every source goes the same way.
                break;
            }
        }
        let rewritten = outcomes.iter().find_map(|(_, o)| o.rewritten);
        (self.sum(&outcomes, port, v6, claim), rewritten)
    }

    /// One answer from each source class's outcome.
    fn sum(&self, outcomes: &[(usize, Outcome)], port: u16, v6: bool, claim: bool) -> Reach {
        let mut assumed: Vec<String> = Vec::new();
        for text in outcomes.iter().flat_map(|(_, o)| &o.assumed) {
            if !assumed.contains(text) {
                assumed.push(text.clone());
            }
        }
        let verdicts = || outcomes.iter().map(|(_, o)| &o.verdict);
        if let Some(Verdict::Unknown(what)) = verdicts().find(|v| matches!(v, Verdict::Unknown(_)))
        {
            return Reach::Unknown {
                construct: what.clone(),
            };
        }
        let elsewhere = |v: &Verdict| match v {
            Verdict::Forwarded(to) => Some(*to),
            Verdict::Delivered(to) if to.port() != port => Some(*to),
            _ => None,
        };
        let passes = |o: &Outcome| match o.verdict {
            Verdict::Forwarded(_) => true,
            Verdict::Delivered(_) => !claim || o.rewritten.is_some(),
            _ => false,
        };
        if outcomes.iter().all(|(_, o)| passes(o)) {
            return match verdicts().find_map(elsewhere) {
                Some(to) => Reach::Forwarded {
                    to,
                    target: None,
                    assumed,
                },
                None => Reach::Open { assumed },
            };
        }
        // Forwarded or delivered for some sources only: which, not where, is the answer.
        if outcomes.iter().any(|(_, o)| passes(o)) {
            let pass = self.passing(outcomes, passes, v6);
            return Reach::SomeSources { pass, assumed };
        }
        let refused = |v: &&Verdict| matches!(v, Verdict::Rejected(_) | Verdict::Dropped(_));
        match verdicts().find(refused) {
            Some(Verdict::Rejected(by)) => Reach::Rejected { by: by.clone() },
            Some(Verdict::Dropped(by)) => Reach::Dropped { by: by.clone() },
            _ => Reach::NotRead,
        }
    }

    /// The source prefixes whose outcome `passes`.
    fn passing(
        &self,
        outcomes: &[(usize, Outcome)],
        passes: impl Fn(&Outcome) -> bool,
        v6: bool,
    ) -> Vec<IpNet> {
        let classes = &self.prep.sources[usize::from(v6)].classes;
        let spans = outcomes
            .iter()
            .filter(|(_, o)| passes(o))
            .flat_map(|(i, _)| classes[*i].spans.iter().copied())
            .collect();
        prefixes(spans, v6)
    }
}

pub(super) fn proto_number(proto: Proto) -> u8 {
    match proto {
        Proto::Tcp => 6,
        Proto::Udp => 17,
    }
}

/// An IPv4-mapped IPv6 address is the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn is_loopback(addr: IpAddr) -> bool {
    canonical(addr).is_loopback()
}

/// The more reachable of two answers for one listener (docs/firewall.md): forwarded (the
/// connection lands elsewhere), then open, unknown (it might be open), some sources,
/// rejected, dropped. Two some-sources answers pass the union of their sources.
pub(super) fn combine(a: Reach, b: Reach) -> Reach {
    match (a, b) {
        (
            Reach::SomeSources { pass, assumed },
            Reach::SomeSources {
                pass: more,
                assumed: also,
            },
        ) => Reach::SomeSources {
            pass: union(pass, more),
            assumed: merged(assumed, also),
        },
        (Reach::Open { assumed }, Reach::Open { assumed: also }) => Reach::Open {
            assumed: merged(assumed, also),
        },
        (a, b) if rank(&b) > rank(&a) => b,
        (a, _) => a,
    }
}

fn rank(reach: &Reach) -> u8 {
    match reach {
        Reach::Forwarded { .. } => 7,
        Reach::Open { .. } => 6,
        Reach::Unknown { .. } => 5,
        Reach::SomeSources { .. } => 4,
        Reach::Rejected { .. } => 3,
        Reach::Dropped { .. } => 2,
        Reach::NotRead => 1,
        Reach::LocalOnly => 0,
    }
}

fn merged(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for text in b {
        if !a.contains(&text) {
            a.push(text);
        }
    }
    a
}

/// The fewest prefixes covering both lists, each family on its own.
fn union(a: Vec<IpNet>, b: Vec<IpNet>) -> Vec<IpNet> {
    let nets: Vec<IpNet> = a.into_iter().chain(b).collect();
    let mut out = Vec::new();
    for v6 in [false, true] {
        let spans: Vec<(u128, u128)> = nets
            .iter()
            .filter_map(|n| Some((int(n.network(), v6)?, int(n.broadcast(), v6)?)))
            .collect();
        if !spans.is_empty() {
            out.extend(prefixes(spans, v6));
        }
    }
    out
}
