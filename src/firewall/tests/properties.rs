//! The source classes checked against single sources: for random rulesets of nested source
//! prefixes, jumps and returns, the one answer agrees with a walk from each source on its own.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

use super::build::{Build, R, dport, input, jump, not, r, tcp, tcp_port};
use crate::firewall::eval::{Evaluator, Host, Interface};
use crate::firewall::matches::{Oif, Packet};
use crate::firewall::rules::{Action, Field, Match, Policy, Ruleset, Value, Values};
use crate::firewall::walk::Verdict;
use crate::model::Reach;

fn prefix(bits: u32, len: u8) -> IpNet {
    let net = Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 | (bits & 0x00ff_ffff)), len).unwrap();
    IpNet::V4(net.trunc())
}

fn saddr_of(net: IpNet, negated: bool) -> Match {
    Match::Test {
        field: Field::Saddr,
        negated,
        values: Values::List(vec![Value::Net(net)]),
    }
}

/// A rule: maybe a source test, maybe a port test, and an action.
fn rule(spec: (Option<(u32, u8, bool)>, u8, u8), in_sub: bool) -> R {
    let (source, port, action) = spec;
    let mut matches = vec![tcp()];
    if let Some((bits, len, negated)) = source {
        matches.push(saddr_of(
            prefix(bits, [8, 12, 16, 24, 32][usize::from(len % 5)]),
            negated,
        ));
    }
    match port % 3 {
        0 => matches.push(dport(22)),
        1 => matches.push(not(dport(22))),
        _ => {}
    }
    let action = match action % 5 {
        0 => Action::Accept,
        1 => Action::Drop,
        2 => Action::Reject,
        3 if !in_sub => jump("sub"),
        _ => Action::Return,
    };
    r(matches, action)
}

fn nets(rules: &Ruleset) -> Vec<IpNet> {
    let tests = rules
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules);
    let found = tests.flat_map(|r| &r.matches).filter_map(|m| match m {
        Match::Test {
            field: Field::Saddr,
            values: Values::List(values),
            ..
        } => match values.first() {
            Some(Value::Net(net)) => Some(*net),
            _ => None,
        },
        _ => None,
    });
    found.collect()
}

/// Each prefix's edges and the addresses just outside them.
fn edges(nets: &[IpNet]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for net in nets {
        let (lo, hi) = (
            u32::from_be_bytes(octets(net.network())),
            u32::from_be_bytes(octets(net.broadcast())),
        );
        for n in [lo.wrapping_sub(1), lo, hi, hi.wrapping_add(1)] {
            out.push(IpAddr::V4(Ipv4Addr::from(n)));
        }
    }
    out
}

fn octets(addr: IpAddr) -> [u8; 4] {
    match addr {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

fn one_interface() -> Host {
    Host {
        interfaces: vec![Interface {
            name: "fwt-h".to_string(),
            addrs: vec!["10.213.0.1/30".parse().unwrap()],
        }],
    }
}

type Spec = (Option<(u32, u8, bool)>, u8, u8);

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    let source = prop::option::of((0u32..0x0010_0000, any::<u8>(), any::<bool>()));
    prop::collection::vec((source, any::<u8>(), any::<u8>()), 0..8)
}

proptest! {
    #[test]
    fn some_sources_is_exactly_the_sources_that_pass(
        main in specs(),
        sub in specs(),
        drop_policy in any::<bool>(),
        random in prop::collection::vec(0u32..0x0100_0000, 20),
    ) {
        let policy = if drop_policy { Policy::Drop } else { Policy::Accept };
        let main = main.into_iter().map(|s| rule(s, false)).collect();
        let sub = sub.into_iter().map(|s| rule(s, true)).collect();
        let rules = Ruleset { tables: vec![input(policy, main).chain("sub", sub)] };
        let host = one_interface();
        let evaluator = Evaluator::new(&rules, &host);
        let answer = evaluator.reach(&tcp_port(22));
        let mut sources = edges(&nets(&rules));
        sources.extend(random.iter().map(|n| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))));
        sources.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        for saddr in sources {
            let pkt = Packet {
                v6: false,
                proto: 6,
                saddr,
                daddr: "10.213.0.1".parse().unwrap(),
                dport: 22,
                iif: "fwt-h",
                oif: Oif::None,
                dnat: false,
                tracked: Some(true),
            };
            let passes = matches!(evaluator.prep.decide(&pkt).verdict, Verdict::Delivered(_));
            let said = match &answer {
                Reach::Open { .. } => true,
                Reach::Dropped { .. } | Reach::Rejected { .. } => false,
                Reach::SomeSources { pass, .. } => pass.iter().any(|n| n.contains(&saddr)),
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            };
            prop_assert_eq!(passes, said, "{} in {:?}", saddr, answer);
        }
    }
}
