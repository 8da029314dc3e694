//! Ports published by DNAT or a redirect: every rewriting rule names the ports it publishes
//! (its dport test); each is then walked like a listener's port from every address another
//! host can send to, and kept where prerouting really rewrites it.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::Proto;

use super::eval::{Evaluator, Forward, combine};
use super::rules::{Action, Field, Match, Rule, Table, Value, Values};
use super::sources::sees;

/// A port range wider than this in a rewriting rule is not walked port by port.
const MAX_RANGE: u32 = 64;

/// A port a rewriting rule may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    proto: Proto,
    port: u16,
    daddr: Option<IpNet>,
    v6: bool,
}

impl Evaluator<'_> {
    pub fn forwards(&self) -> Vec<Forward> {
        let mut found: Vec<Forward> = Vec::new();
        for candidate in self.candidates() {
            // A rule limited to a destination no address here is in (a Kubernetes service's
            // cluster IP) publishes nothing to other hosts: not walked.
            let reachable = |a: &IpAddr| candidate.daddr.is_none_or(|net| net.contains(a));
            for (iif, daddr) in self.prep_targets(candidate.v6) {
                if !reachable(&daddr) {
                    continue;
                }
                let (proto, port) = (candidate.proto, candidate.port);
                let (reach, rewritten) = self.at(proto, iif, daddr, port, true);
                let Some(to) = rewritten else { continue };
                let same = |f: &&mut Forward| {
                    (f.proto, f.port, f.to) == (candidate.proto, candidate.port, to)
                };
                match found.iter_mut().find(same) {
                    Some(known) => known.reach = combine(known.reach.clone(), reach),
                    None => found.push(Forward {
                        proto: candidate.proto,
                        port: candidate.port,
                        daddr: candidate.daddr,
                        to,
                        reach,
                    }),
                }
            }
        }
        found
    }

    fn prep_targets(&self, v6: bool) -> Vec<(&str, IpAddr)> {
        let unspecified = if v6 {
            IpAddr::from([0u16; 8])
        } else {
            IpAddr::from([0u8; 4])
        };
        self.targets(unspecified, true)
    }

    fn candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        for table in &self.prep.ruleset.tables {
            for rule in table.chains.iter().flat_map(|c| &c.rules) {
                if matches!(rule.action, Action::Dnat { .. } | Action::Redirect { .. }) {
                    for candidate in candidates_of(table, rule) {
                        if !out.contains(&candidate) {
                            out.push(candidate);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The (protocol, port, family) triples a rewriting rule can match.
fn candidates_of(table: &Table, rule: &Rule) -> Vec<Candidate> {
    let mut protos = vec![Proto::Tcp, Proto::Udp];
    let mut ports = Vec::new();
    let mut daddr = None;
    for m in &rule.matches {
        let Match::Test {
            field,
            negated: false,
            values,
        } = m
        else {
            continue;
        };
        let values = values_of(table, values);
        match field {
            Field::L4Proto => protos.retain(|p| values.iter().any(|v| is_proto(v, *p))),
            Field::Dport => ports = values.iter().flat_map(ports_of).collect(),
            Field::Daddr => daddr = single_net(values),
            _ => {}
        }
    }
    let families = [false, true]
        .into_iter()
        .filter(|&v6| sees(table.family, v6));
    let mut out = Vec::new();
    for v6 in families {
        if daddr.is_some_and(|net: IpNet| net.addr().is_ipv6() != v6) {
            continue;
        }
        for &proto in &protos {
            for &port in &ports {
                out.push(Candidate {
                    proto,
                    port,
                    daddr,
                    v6,
                });
            }
        }
    }
    out
}

fn values_of<'t>(table: &'t Table, values: &'t Values) -> &'t [Value] {
    match values {
        Values::List(list) => list,
        Values::Set(name) => table
            .sets
            .iter()
            .find(|s| &s.name == name)
            .map_or(&[][..], |s| s.values.as_slice()),
    }
}

fn is_proto(value: &Value, proto: Proto) -> bool {
    let number = super::eval::proto_number(proto);
    match value {
        Value::Proto(p) => *p == number,
        Value::Name(name) => matches!(
            (name.as_str(), proto),
            ("tcp", Proto::Tcp) | ("udp", Proto::Udp)
        ),
        _ => false,
    }
}

fn ports_of(value: &Value) -> Vec<u16> {
    match value {
        Value::Port(p) => vec![*p],
        Value::PortRange(lo, hi) if u32::from(*hi) - u32::from(*lo) < MAX_RANGE => {
            (*lo..=*hi).collect()
        }
        Value::PortRange(lo, _) => vec![*lo],
        _ => Vec::new(),
    }
}

fn single_net(values: &[Value]) -> Option<IpNet> {
    match values {
        [Value::Net(net)] => Some(*net),
        _ => None,
    }
}
