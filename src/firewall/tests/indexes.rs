//! The shortcuts of a prepared ruleset change no answer: a long chain's port index (rules
//! whose port test fails are skipped) and address sets looked up by binary search answer as
//! a short chain read rule by rule with the set's values written out.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::build::{Build, R, dport, dports, input, jump, not, r, tcp, tcp_on, tcp_port};
use crate::firewall::eval::{Evaluator, Host, Probe};
use crate::firewall::rules::{Action, Field, Match, Policy, Ruleset, Value, Values};

/// A rule as drawn: its port test, whether it tests the source set, and its action.
type Spec = (u8, u16, u8, bool, u8);

/// The source set: a few 10.x prefixes, or IPv6 ones (which no IPv4 packet is in, negated
/// or not).
fn set_values(v6: bool, seeds: &[u32]) -> Vec<Value> {
    let net = |&bits: &u32| match v6 {
        false => IpNet::V4(
            Ipv4Net::new(
                (0x0a00_0000 | (bits & 0xffff00)).into(),
                16 + (bits % 9) as u8,
            )
            .unwrap()
            .trunc(),
        ),
        true => IpNet::V6(
            Ipv6Net::new(
                std::net::Ipv6Addr::new(0xfd00, bits as u16, 0, 0, 0, 0, 0, 0),
                32,
            )
            .unwrap(),
        ),
    };
    seeds.iter().map(net).map(Value::Net).collect()
}

/// The rule; `written_out` tests the source against the set's values rather than `@s`.
fn rule(spec: Spec, set: &[Value], written_out: bool, in_sub: bool) -> R {
    let (test, port, source, negated, action) = spec;
    let mut matches = vec![tcp()];
    match test % 5 {
        0 => matches.push(dport(port)),
        1 => matches.push(dports(port, port + 3)),
        // Too many ports to index: read by every packet.
        2 => matches.push(dports(port, port + 100)),
        3 => matches.push(not(dport(port))),
        _ => {}
    }
    if source % 3 == 0 {
        let values = match written_out {
            true => Values::List(set.to_vec()),
            false => Values::Set("s".to_string()),
        };
        matches.push(Match::Test {
            field: Field::Saddr,
            negated,
            values,
        });
    }
    let action = match action % 6 {
        0 => Action::Accept,
        1 => Action::Drop,
        2 => Action::Reject,
        3 if !in_sub => jump("sub"),
        4 => Action::Continue,
        _ => Action::Return,
    };
    r(matches, action)
}

/// The ruleset; the indexed one has its chains padded past the index's threshold with rules
/// that change nothing, and tests the source through the set.
fn ruleset(main: &[Spec], sub: &[Spec], set: &[Value], indexed: bool) -> Ruleset {
    let pad = |rules: &mut Vec<R>| {
        while indexed && rules.len() < 20 {
            rules.push(r(vec![], Action::Continue));
        }
    };
    let mut rules: Vec<R> = main
        .iter()
        .map(|&s| rule(s, set, !indexed, false))
        .collect();
    let mut sub: Vec<R> = sub.iter().map(|&s| rule(s, set, !indexed, true)).collect();
    pad(&mut rules);
    pad(&mut sub);
    let table = input(Policy::Drop, rules)
        .chain("sub", sub)
        .set("s", set.to_vec());
    Ruleset {
        tables: vec![table],
    }
}

/// The test host, with an IPv6 address besides, so that `[::]` is asked about both families.
fn host_with_v6() -> Host {
    let mut host = super::build::host();
    host.interfaces[1]
        .addrs
        .push(super::build::net("fd12::1/64"));
    host
}

fn probes() -> Vec<Probe> {
    let mut probes: Vec<Probe> = (18..=32).map(tcp_port).collect();
    probes.extend([tcp_port(120), tcp_on("[::]:20"), tcp_on("[::]:25")]);
    probes
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<u8>(),
        18u16..30,
        any::<u8>(),
        any::<bool>(),
        any::<u8>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn the_port_index_and_address_sets_change_no_answer(
        main in prop::collection::vec(spec(), 1..15),
        sub in prop::collection::vec(spec(), 0..8),
        seeds in prop::collection::vec(any::<u32>(), 1..4),
        v6 in any::<bool>(),
    ) {
        let set = set_values(v6, &seeds);
        let host = host_with_v6();
        let (plain, indexed) = (ruleset(&main, &sub, &set, false), ruleset(&main, &sub, &set, true));
        let (plain, indexed) = (Evaluator::new(&plain, &host), Evaluator::new(&indexed, &host));
        for probe in probes() {
            prop_assert_eq!(indexed.reach(&probe), plain.reach(&probe), "{:?}", probe);
        }
    }
}

/// A jump loop whose chain holds 19 rules every packet to 22 fails plainly, indexed (`dport 9`)
/// or not (`dport != 22`): the loop guard trips in the same chain either way.
fn looped(indexed: bool) -> Ruleset {
    let fails = || match indexed {
        true => r(vec![tcp(), dport(9)], Action::Drop),
        false => r(vec![tcp(), not(dport(22))], Action::Drop),
    };
    let mut a: Vec<R> = (0..19).map(|_| fails()).collect();
    a.push(r(vec![], jump("b")));
    let table = input(Policy::Drop, vec![r(vec![], jump("a"))])
        .chain("a", a)
        .chain("b", vec![r(vec![], jump("a"))]);
    Ruleset {
        tables: vec![table],
    }
}

#[test]
fn skipped_rules_count_towards_the_loop_guard() {
    let host = super::build::host();
    let (plain, indexed) = (looped(false), looped(true));
    let (plain, indexed) = (
        Evaluator::new(&plain, &host),
        Evaluator::new(&indexed, &host),
    );
    let answer = indexed.reach(&tcp_port(22));
    assert_eq!(answer, plain.reach(&tcp_port(22)));
    let construct = "a loop through chain a".to_string();
    assert_eq!(answer, crate::model::Reach::Unknown { construct });
}

/// A set holding an inverted range (nft refuses one; hand-made JSON may not) beside a /31
/// that holds the host's 10.213.0.1 answers as the values written out do.
#[test]
fn an_inverted_range_does_not_hide_its_neighbours() {
    let values = vec![
        Value::AddrRange("10.213.0.5".parse().unwrap(), "10.213.0.0".parse().unwrap()),
        Value::Net("10.213.0.0/31".parse().unwrap()),
    ];
    let rule = |values| {
        let daddr = Match::Test {
            field: Field::Daddr,
            negated: false,
            values,
        };
        r(vec![daddr], Action::Accept)
    };
    let by_set = input(Policy::Drop, vec![rule(Values::Set("s".into()))]).set("s", values.clone());
    let by_list = input(Policy::Drop, vec![rule(Values::List(values))]);
    let host = super::build::host();
    let probe = tcp_on("10.213.0.1:22");
    let by_set = Ruleset {
        tables: vec![by_set],
    };
    let by_list = Ruleset {
        tables: vec![by_list],
    };
    let answer = Evaluator::new(&by_set, &host).reach(&probe);
    assert_eq!(answer, Evaluator::new(&by_list, &host).reach(&probe));
    assert_eq!(
        answer,
        crate::model::Reach::Open {
            assumed: Vec::new()
        }
    );
}
