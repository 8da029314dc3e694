//! One test of one packet: yes, no, or a construct the evaluator cannot decide (`Maybe`,
//! named so the walk can try both ways and see whether it matters).

use std::net::IpAddr;

use super::eval::Host;
use super::rules::{Field, Set, Value};
use super::sources::int;

/// The packet as a rule sees it at some point of its way.
#[derive(Debug, Clone)]
pub(super) struct Packet<'h> {
    pub v6: bool,
    pub proto: u8,
    pub saddr: IpAddr,
    pub daddr: IpAddr,
    pub dport: u16,
    pub iif: &'h str,
    pub oif: Oif<'h>,
    /// Destination rewritten in prerouting: `ct status dnat` holds.
    pub dnat: bool,
    /// Whether conntrack has looked at the packet: not in a prerouting chain before its hook
    /// (priority -200); `None` at -200 itself, where the order is the kernel's.
    pub tracked: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Oif<'h> {
    /// Not routed out (prerouting, input): an empty name, as the kernel compares it.
    None,
    Known(&'h str),
    /// Forwarded, but no interface's subnet holds the destination.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tri {
    Yes,
    No,
    Maybe(String),
}

impl Tri {
    pub(super) fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
}

/// Whether `field` of the packet is one of `values` (`negated`: is none of them).
pub(super) fn test(
    pkt: &Packet,
    host: &Host,
    field: Field,
    negated: bool,
    values: &[Value],
) -> Tri {
    if field == Field::CtStatus && pkt.tracked == Some(false) {
        // No conntrack entry yet: the kernel's ct expression breaks, negated or not.
        return Tri::No;
    }
    if wrong_family(pkt, field, values) {
        // `ip saddr` on an IPv6 packet in an inet table: the implicit nfproto test fails.
        return Tri::No;
    }
    let mut answer = Tri::No;
    for value in values {
        match one(pkt, host, field, value) {
            Tri::Yes => {
                answer = Tri::Yes;
                break;
            }
            Tri::Maybe(what) => answer = Tri::Maybe(what),
            Tri::No => {}
        }
    }
    match answer {
        Tri::Yes => Tri::of(!negated),
        Tri::No => Tri::of(negated),
        Tri::Maybe(what) => maybe(what, negated),
    }
}

/// The test nearly every rule starts with (a protocol or a destination port, as plain
/// numbers), decided without building a `Tri`: whether a value holds, `None` when some value
/// is not plain, for `test` to decide.
pub(super) fn quick(pkt: &Packet, field: Field, values: &[Value]) -> Option<bool> {
    let mut holds = false;
    for value in values {
        holds |= match (field, value) {
            (Field::L4Proto, Value::Proto(p)) => *p == pkt.proto,
            (Field::Dport, Value::Port(p)) => *p == pkt.dport,
            (Field::Dport, Value::PortRange(lo, hi)) => (*lo..=*hi).contains(&pkt.dport),
            _ => return None,
        };
    }
    Some(holds)
}

/// An undecided test, named so that its negation is another question (the walk assumes
/// each name holds or not, alike wherever it appears).
pub(super) fn maybe(what: String, negated: bool) -> Tri {
    Tri::Maybe(if negated { format!("not {what}") } else { what })
}

/// A named set's values, or why they cannot be matched.
pub(super) fn set_values<'s>(set: Option<&'s Set>, name: &str) -> Result<&'s [Value], String> {
    match set {
        None => Err(format!("@{name} (no such set)")),
        Some(Set {
            unknown: Some(why), ..
        }) => Err(format!("@{name} ({why})")),
        Some(set) => Ok(&set.values),
    }
}

fn wrong_family(pkt: &Packet, field: Field, values: &[Value]) -> bool {
    if !matches!(field, Field::Saddr | Field::Daddr) {
        return false;
    }
    let family = |v: &Value| match v {
        Value::Net(net) => Some(net.addr().is_ipv6()),
        Value::AddrRange(lo, _) => Some(lo.is_ipv6()),
        _ => None,
    };
    let mut families = values.iter().filter_map(family);
    match families.next() {
        Some(v6) => v6 != pkt.v6 && families.all(|f| f == v6),
        None => false,
    }
}

fn one(pkt: &Packet, host: &Host, field: Field, value: &Value) -> Tri {
    match field {
        Field::L4Proto => l4proto(pkt.proto, value),
        Field::Nfproto => nfproto(pkt.v6, value),
        Field::Saddr => Tri::of(addr_in(pkt.saddr, pkt.v6, value)),
        Field::Daddr => Tri::of(addr_in(pkt.daddr, pkt.v6, value)),
        // The client's port is not known: only a test every port passes is decided.
        Field::Sport => match value {
            Value::PortRange(0, u16::MAX) => Tri::Yes,
            _ => Tri::Maybe(format!("sport {}", describe(value))),
        },
        Field::Dport => port(pkt.dport, value),
        Field::Iif | Field::Iifname => ifname(pkt.iif, value),
        Field::Oif | Field::Oifname => match pkt.oif {
            Oif::None => ifname("", value),
            Oif::Known(name) => ifname(name, value),
            Oif::Unknown => Tri::Maybe(format!("oifname {} (no route known)", describe(value))),
        },
        Field::CtState => ct_state(pkt, value),
        Field::CtStatus => word(value, |w| match w {
            "dnat" => Some(pkt.dnat),
            "expected" | "seen-reply" | "assured" | "confirmed" | "snat" | "dying" => Some(false),
            _ => None,
        }),
        Field::FibDaddrType => word(value, |w| fib_type(pkt, host, w)),
    }
}

/// A new connection is `new` once conntrack has seen it, `invalid` before.
fn ct_state(pkt: &Packet, value: &Value) -> Tri {
    let Some(tracked) = pkt.tracked else {
        return Tri::Maybe("ct state at conntrack's own priority (-200)".to_string());
    };
    let seen = if tracked { "new" } else { "invalid" };
    word(value, |w| match w {
        "new" | "established" | "related" | "invalid" | "untracked" => Some(w == seen),
        _ => None,
    })
}

fn l4proto(proto: u8, value: &Value) -> Tri {
    let number = match value {
        Value::Proto(p) => Some(*p),
        Value::Name(name) => proto_number(name),
        _ => None,
    };
    number.map_or_else(
        || Tri::Maybe(format!("l4proto {}", describe(value))),
        |n| Tri::of(n == proto),
    )
}

fn proto_number(name: &str) -> Option<u8> {
    match name {
        "tcp" => Some(6),
        "udp" => Some(17),
        "icmp" => Some(1),
        "icmpv6" | "ipv6-icmp" => Some(58),
        "sctp" => Some(132),
        "udplite" => Some(136),
        "dccp" => Some(33),
        "esp" => Some(50),
        "ah" => Some(51),
        "gre" => Some(47),
        "igmp" => Some(2),
        _ => name.parse().ok(),
    }
}

fn nfproto(v6: bool, value: &Value) -> Tri {
    match value {
        Value::Name(name) if name == "ipv4" => Tri::of(!v6),
        Value::Name(name) if name == "ipv6" => Tri::of(v6),
        Value::Proto(2) => Tri::of(!v6),
        Value::Proto(10) => Tri::of(v6),
        _ => Tri::Maybe(format!("nfproto {}", describe(value))),
    }
}

fn addr_in(addr: IpAddr, v6: bool, value: &Value) -> bool {
    let Some(n) = int(addr, v6) else {
        return false;
    };
    let within = |lo: IpAddr, hi: IpAddr| match (int(lo, v6), int(hi, v6)) {
        (Some(lo), Some(hi)) => lo <= n && n <= hi,
        _ => false,
    };
    match value {
        Value::Net(net) => within(net.network(), net.broadcast()),
        Value::AddrRange(lo, hi) => within(*lo, *hi),
        _ => false,
    }
}

fn port(dport: u16, value: &Value) -> Tri {
    match value {
        Value::Port(p) => Tri::of(*p == dport),
        Value::PortRange(lo, hi) => Tri::of(*lo <= dport && dport <= *hi),
        _ => Tri::Maybe(format!("dport {}", describe(value))),
    }
}

/// An interface name; `eth*` (nft) and `eth+` (iptables) are prefixes.
fn ifname(name: &str, value: &Value) -> Tri {
    let Value::Name(pattern) = value else {
        return Tri::Maybe(format!("interface {}", describe(value)));
    };
    let prefix = pattern
        .strip_suffix('*')
        .or_else(|| pattern.strip_suffix('+'));
    Tri::of(match prefix {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    })
}

fn word(value: &Value, meaning: impl Fn(&str) -> Option<bool>) -> Tri {
    let known = match value {
        Value::Name(name) => meaning(name.as_str()),
        _ => None,
    };
    known.map_or_else(|| Tri::Maybe(describe(value)), Tri::of)
}

fn fib_type(pkt: &Packet, host: &Host, kind: &str) -> Option<bool> {
    let local = host.is_local(pkt.daddr);
    let multicast = pkt.daddr.is_multicast();
    let broadcast = host.is_broadcast(pkt.daddr);
    match kind {
        "local" => Some(local),
        "multicast" => Some(multicast),
        "broadcast" => Some(broadcast),
        "unicast" => Some(!local && !multicast && !broadcast),
        "anycast" | "blackhole" | "unreachable" | "prohibit" | "throw" | "nat" | "xresolve"
        | "unspec" => Some(false),
        _ => None,
    }
}

/// A value as nft writes it, for the name of what could not be decided.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Net(net) => net.to_string(),
        Value::AddrRange(lo, hi) => format!("{lo}-{hi}"),
        Value::Port(p) => p.to_string(),
        Value::PortRange(lo, hi) => format!("{lo}-{hi}"),
        Value::Proto(p) => p.to_string(),
        Value::Name(name) => name.clone(),
    }
}
