//! A tiny builder for hand-made rulesets: `table(Inet, "t").base(..).chain(..)`. Each rule's
//! handle is ten times its position, so a test can name it.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::firewall::eval::{Host, Interface, Probe};
use crate::firewall::rules::{
    Action, BaseChain, Chain, ChainKind, Field, Hook, Match, Origin, Policy, Rule, Ruleset, Set,
    Table, TableFamily, Value, Values,
};
use crate::model::{Decider, Proto, RuleRef};

pub fn table(family: TableFamily, name: &str) -> Table {
    Table {
        family,
        name: name.to_string(),
        origin: Origin::Nft,
        chains: Vec::new(),
        sets: Vec::new(),
    }
}

pub trait Build {
    fn base(self, name: &str, hook: Hook, priority: i32, policy: Policy, rules: Vec<R>) -> Self;
    fn nat(self, name: &str, priority: i32, rules: Vec<R>) -> Self;
    fn chain(self, name: &str, rules: Vec<R>) -> Self;
    fn set(self, name: &str, values: Vec<Value>) -> Self;
}

/// A rule before it has a place: its matches and action.
pub struct R(pub Vec<Match>, pub Action);

impl Build for Table {
    fn base(self, name: &str, hook: Hook, priority: i32, policy: Policy, rules: Vec<R>) -> Self {
        let base = BaseChain {
            hook,
            kind: ChainKind::Filter,
            priority,
            policy,
        };
        with_chain(self, name, Some(base), rules)
    }

    fn nat(self, name: &str, priority: i32, rules: Vec<R>) -> Self {
        let base = BaseChain {
            hook: Hook::Prerouting,
            kind: ChainKind::Nat,
            priority,
            policy: Policy::Accept,
        };
        with_chain(self, name, Some(base), rules)
    }

    fn chain(self, name: &str, rules: Vec<R>) -> Self {
        with_chain(self, name, None, rules)
    }

    fn set(mut self, name: &str, values: Vec<Value>) -> Self {
        self.sets.push(Set {
            name: name.to_string(),
            values,
            unknown: None,
        });
        self
    }
}

fn with_chain(mut table: Table, name: &str, base: Option<BaseChain>, rules: Vec<R>) -> Table {
    let rules = rules
        .into_iter()
        .enumerate()
        .map(|(i, R(matches, action))| Rule {
            position: i + 1,
            handle: Some(10 * (i as u64 + 1)),
            matches,
            action,
        })
        .collect();
    table.chains.push(Chain {
        name: name.to_string(),
        base,
        rules,
    });
    table
}

pub fn ruleset(tables: Vec<Table>) -> Ruleset {
    Ruleset { tables }
}

pub fn input(policy: Policy, rules: Vec<R>) -> Table {
    table(TableFamily::Inet, "t").base("input", Hook::Input, 0, policy, rules)
}

pub fn r(matches: Vec<Match>, action: Action) -> R {
    R(matches, action)
}

fn test(field: Field, values: Vec<Value>) -> Match {
    Match::Test {
        field,
        negated: false,
        values: Values::List(values),
    }
}

pub fn not(m: Match) -> Match {
    match m {
        Match::Test { field, values, .. } => Match::Test {
            field,
            negated: true,
            values,
        },
        other => other,
    }
}

pub fn tcp() -> Match {
    test(Field::L4Proto, vec![Value::Proto(6)])
}

pub fn udp() -> Match {
    test(Field::L4Proto, vec![Value::Proto(17)])
}

pub fn dport(port: u16) -> Match {
    test(Field::Dport, vec![Value::Port(port)])
}

pub fn dports(lo: u16, hi: u16) -> Match {
    test(Field::Dport, vec![Value::PortRange(lo, hi)])
}

pub fn sport(port: u16) -> Match {
    test(Field::Sport, vec![Value::Port(port)])
}

pub fn dport_in(set: &str) -> Match {
    Match::Test {
        field: Field::Dport,
        negated: false,
        values: Values::Set(set.to_string()),
    }
}

pub fn saddr(nets: &[&str]) -> Match {
    test(
        Field::Saddr,
        nets.iter().map(|n| Value::Net(net(n))).collect(),
    )
}

pub fn saddr_range(lo: &str, hi: &str) -> Match {
    test(Field::Saddr, vec![Value::AddrRange(ip(lo), ip(hi))])
}

pub fn daddr(n: &str) -> Match {
    test(Field::Daddr, vec![Value::Net(net(n))])
}

pub fn word(field: Field, words: &[&str]) -> Match {
    test(
        field,
        words.iter().map(|w| Value::Name(w.to_string())).collect(),
    )
}

pub fn iifname(name: &str) -> Match {
    word(Field::Iifname, &[name])
}

pub fn oifname(name: &str) -> Match {
    word(Field::Oifname, &[name])
}

pub fn ct_state(states: &[&str]) -> Match {
    word(Field::CtState, states)
}

pub fn fib_local() -> Match {
    word(Field::FibDaddrType, &["local"])
}

pub fn unknown(text: &str) -> Match {
    Match::Unknown(text.to_string())
}

pub fn dnat(to: &str) -> Action {
    let to: SocketAddr = to.parse().unwrap();
    Action::Dnat {
        addr: Some(to.ip()),
        port: Some(to.port()),
    }
}

pub fn redirect(port: u16) -> Action {
    Action::Redirect { port: Some(port) }
}

pub fn jump(chain: &str) -> Action {
    Action::Jump(chain.to_string())
}

pub fn goto(chain: &str) -> Action {
    Action::Goto(chain.to_string())
}

pub fn net(text: &str) -> IpNet {
    text.parse()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .unwrap()
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The fixtures' host: a veth `fwt-h` 10.213.0.1/30, `docker0` 172.17.0.1/16 and `lo`.
pub fn host() -> Host {
    let iface = |name: &str, addrs: &[&str]| Interface {
        name: name.to_string(),
        addrs: addrs.iter().map(|a| net(a)).collect(),
    };
    Host {
        interfaces: vec![
            iface("lo", &["127.0.0.1/8", "::1/128"]),
            iface("fwt-h", &["10.213.0.1/30"]),
            iface("docker0", &["172.17.0.1/16"]),
        ],
    }
}

pub fn tcp_on(local: &str) -> Probe {
    Probe {
        proto: Proto::Tcp,
        local: local.parse().unwrap(),
        v6only: false,
    }
}

pub fn tcp_port(port: u16) -> Probe {
    tcp_on(&format!("0.0.0.0:{port}"))
}

pub fn udp_port(port: u16) -> Probe {
    Probe {
        proto: Proto::Udp,
        ..tcp_port(port)
    }
}

pub fn by(family: &str, table: &str, chain: &str, rule: RuleRef) -> Decider {
    Decider {
        family: family.to_string(),
        table: table.to_string(),
        chain: chain.to_string(),
        rule,
    }
}
