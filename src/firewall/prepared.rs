//! The ruleset prepared once for every packet's walk: each hook's base chains in priority
//! order, chains and sets by name, where each jump leads, the source classes, long chains'
//! rules by destination port, address sets as spans. And the two-way walk: a construct the
//! walk cannot decide is answered both ways, and named only when the two ways end differently.

use std::collections::HashMap;

use super::eval::Host;
use super::matches::{Packet, Tri};
use super::rules::{
    Action, Chain, Field, Hook, Match, Rule, Ruleset, Set, Table, TableFamily, Value, Values,
};
use super::sources::{AddressSet, Partition, sees};
use super::walk::{Outcome, Verdict, walk};

pub(super) const PREROUTING: usize = 0;
pub(super) const INPUT: usize = 1;
pub(super) const FORWARD: usize = 2;
/// More forks than this on one packet and the answer is `unknown`.
const MAX_FORKS: usize = 6;
/// Chains this long get a port index; a shorter one is read rule by rule.
const INDEXED_FROM: usize = 16;
/// A port test naming more ports than this is read by every packet rather than indexed.
const MAX_INDEXED_PORTS: usize = 64;

/// The ruleset with what every packet's walk looks up, built once.
pub(super) struct Prepared<'r> {
    pub ruleset: &'r Ruleset,
    pub host: &'r Host,
    /// `[v4, v6][prerouting, input, forward]`: (table, chain) base chains by priority.
    order: [[Vec<(usize, usize)>; 3]; 2],
    pub chains: Vec<HashMap<&'r str, usize>>,
    /// `[table][chain][rule]`: where a rule's jump or goto leads, looked up once.
    jumps: Vec<Vec<Vec<Option<usize>>>>,
    pub sets: Vec<HashMap<&'r str, usize>>,
    /// Base chains in hooks the evaluator does not follow (netdev, bridge, ingress).
    pub unsupported: Option<String>,
    pub sources: [Partition; 2],
    /// `[table][chain]`: a long chain's rules by the destination port they require.
    ports: Vec<Vec<Option<PortIndex>>>,
    /// `[table][set]`: the sets of addresses of one family, for lookups by binary search.
    address_sets: Vec<Vec<Option<AddressSet>>>,
}

/// A chain's rules by the destination port their plain `dport` test requires, so that a
/// packet skips the rules that test fails for it: big.nft's 5,000 `tcp dport N` rules are
/// one rule read, not 5,000. Skipping is exact: such a rule fails plainly, and a rule that
/// fails plainly reads no source, assumption or undecided construct.
struct PortIndex {
    /// Whether each rule is in `by_port`; a packet reads the others as they come.
    keyed: Vec<bool>,
    /// Rules without such a test: read by every packet.
    others: Vec<usize>,
    by_port: HashMap<u16, Vec<usize>>,
}

impl<'r> Prepared<'r> {
    pub fn new(ruleset: &'r Ruleset, host: &'r Host) -> Prepared<'r> {
        let index = |names: Vec<&'r str>| -> HashMap<&'r str, usize> {
            names.into_iter().enumerate().map(|(i, n)| (n, i)).collect()
        };
        let tables = &ruleset.tables;
        let chains: Vec<_> = tables
            .iter()
            .map(|t| index(t.chains.iter().map(|c| c.name.as_str()).collect()))
            .collect();
        Prepared {
            ruleset,
            host,
            order: [hooks(ruleset, false), hooks(ruleset, true)],
            jumps: jumps(ruleset, &chains),
            chains,
            sets: tables
                .iter()
                .map(|t| index(t.sets.iter().map(|s| s.name.as_str()).collect()))
                .collect(),
            unsupported: unsupported(ruleset),
            sources: [Partition::of(ruleset, false), Partition::of(ruleset, true)],
            ports: port_indexes(ruleset),
            address_sets: address_sets(ruleset),
        }
    }

    /// An saddr or daddr test of set `s` of table `t` when it is a set of addresses; `None`
    /// for any other test, which `matches::test` decides value by value.
    pub fn address_test(
        &self,
        t: usize,
        s: usize,
        field: Field,
        negated: bool,
        pkt: &Packet,
    ) -> Option<Tri> {
        let addr = match field {
            Field::Saddr => pkt.saddr,
            Field::Daddr => pkt.daddr,
            _ => return None,
        };
        let set = self.address_sets[t][s].as_ref()?;
        // An address test of the other family never matches, negated or not (nft's nfproto).
        Some(Tri::of(set.v6 == pkt.v6 && set.holds(addr) != negated))
    }

    /// The first rule of chain `c` from `i` on that a packet to `dport` may match; past the
    /// end when none.
    pub fn next_rule(&self, t: usize, c: usize, i: usize, dport: u16) -> usize {
        let Some(index) = &self.ports[t][c] else {
            return i;
        };
        if !index.keyed.get(i).copied().unwrap_or(false) {
            return i;
        }
        let from = |rules: &[usize]| rules.get(rules.partition_point(|&r| r < i)).copied();
        let keyed = index.by_port.get(&dport).and_then(|rules| from(rules));
        from(&index.others)
            .into_iter()
            .chain(keyed)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// The base chains of a hook (`PREROUTING`, `INPUT`, `FORWARD`), (table, chain) in order.
    pub fn hook(&self, v6: bool, hook: usize) -> &[(usize, usize)] {
        &self.order[usize::from(v6)][hook]
    }

    /// The chain a jump or goto of rule `i` of chain `c` names.
    pub fn target(&self, t: usize, c: usize, i: usize, name: &str) -> Option<usize> {
        match self.jumps[t][c][i] {
            Some(target) => Some(target),
            // A verdict map's entry.
            None => self.chains[t].get(name).copied(),
        }
    }

    /// The packet's outcome; an undecided construct is tried both ways, and is the answer
    /// only when the two ways end differently.
    pub fn decide(&self, pkt: &Packet) -> Outcome {
        self.decide_with(pkt, &mut Vec::new())
    }

    fn decide_with(&self, pkt: &Packet, oracle: &mut Vec<(String, bool)>) -> Outcome {
        let (need, saddr_tested) = match walk(self, pkt, oracle) {
            Ok(outcome) => return outcome,
            Err(need) => need,
        };
        if oracle.len() >= MAX_FORKS {
            return unknown(need, saddr_tested);
        }
        let mut way = |holds: bool| {
            oracle.push((need.clone(), holds));
            let outcome = self.decide_with(pkt, oracle);
            oracle.pop();
            outcome
        };
        let (yes, no) = (way(true), way(false));
        if yes.verdict != no.verdict || yes.rewritten != no.rewritten {
            return unknown(need, saddr_tested || yes.saddr_tested || no.saddr_tested);
        }
        let mut outcome = yes;
        outcome.saddr_tested |= no.saddr_tested;
        for text in no.assumed {
            if !outcome.assumed.contains(&text) {
                outcome.assumed.push(text);
            }
        }
        outcome
    }
}

fn jumps(ruleset: &Ruleset, chains: &[HashMap<&str, usize>]) -> Vec<Vec<Vec<Option<usize>>>> {
    let target = |t: usize, rule: &Rule| match &rule.action {
        Action::Jump(name) | Action::Goto(name) => chains[t].get(name.as_str()).copied(),
        _ => None,
    };
    let rules = |t: usize, chain: &Chain| chain.rules.iter().map(|r| target(t, r)).collect();
    let table = |(t, table): (usize, &Table)| table.chains.iter().map(|c| rules(t, c)).collect();
    ruleset.tables.iter().enumerate().map(table).collect()
}

fn address_sets(ruleset: &Ruleset) -> Vec<Vec<Option<AddressSet>>> {
    let set = |set: &Set| {
        set.unknown
            .is_none()
            .then(|| AddressSet::of(&set.values))
            .flatten()
    };
    let table = |table: &Table| table.sets.iter().map(set).collect();
    ruleset.tables.iter().map(table).collect()
}

fn port_indexes(ruleset: &Ruleset) -> Vec<Vec<Option<PortIndex>>> {
    let chain = |chain: &Chain| (chain.rules.len() >= INDEXED_FROM).then(|| port_index(chain));
    let table = |table: &Table| table.chains.iter().map(chain).collect();
    ruleset.tables.iter().map(table).collect()
}

fn port_index(chain: &Chain) -> PortIndex {
    let mut index = PortIndex {
        keyed: Vec::with_capacity(chain.rules.len()),
        others: Vec::new(),
        by_port: HashMap::new(),
    };
    for (i, rule) in chain.rules.iter().enumerate() {
        let ports = required_ports(rule);
        index.keyed.push(ports.is_some());
        match ports {
            Some(ports) => ports
                .into_iter()
                .for_each(|port| index.by_port.entry(port).or_default().push(i)),
            None => index.others.push(i),
        }
    }
    index
}

/// The ports a rule's plain `dport` test (a list of ports and short ranges) lets through.
fn required_ports(rule: &Rule) -> Option<Vec<u16>> {
    rule.matches.iter().find_map(|m| match m {
        Match::Test {
            field: Field::Dport,
            negated: false,
            values: Values::List(values),
        } => listed_ports(values),
        _ => None,
    })
}

fn listed_ports(values: &[Value]) -> Option<Vec<u16>> {
    let mut ports = Vec::new();
    for value in values {
        match *value {
            Value::Port(port) => ports.push(port),
            Value::PortRange(lo, hi) if usize::from(hi.saturating_sub(lo)) < MAX_INDEXED_PORTS => {
                ports.extend(lo..=hi)
            }
            _ => return None,
        }
    }
    (ports.len() <= MAX_INDEXED_PORTS).then_some(ports)
}

fn unknown(what: String, saddr_tested: bool) -> Outcome {
    Outcome {
        verdict: Verdict::Unknown(what),
        assumed: Vec::new(),
        saddr_tested,
        rewritten: None,
    }
}

/// Each hook's base chains of the family's tables, by ascending priority.
fn hooks(ruleset: &Ruleset, v6: bool) -> [Vec<(usize, usize)>; 3] {
    let mut order: [Vec<(i32, usize, usize)>; 3] = Default::default();
    for (t, table) in ruleset.tables.iter().enumerate() {
        if !sees(table.family, v6) {
            continue;
        }
        for (c, chain) in table.chains.iter().enumerate() {
            let Some(base) = &chain.base else { continue };
            let slot = match base.hook {
                Hook::Prerouting => PREROUTING,
                Hook::Input => INPUT,
                Hook::Forward => FORWARD,
                _ => continue,
            };
            order[slot].push((base.priority, t, c));
        }
    }
    order.map(|mut chains| {
        chains.sort_by_key(|&(priority, _, _)| priority);
        chains.into_iter().map(|(_, t, c)| (t, c)).collect()
    })
}

fn unsupported(ruleset: &Ruleset) -> Option<String> {
    let mut found = Vec::new();
    for table in &ruleset.tables {
        for chain in &table.chains {
            let Some(base) = &chain.base else { continue };
            let odd_family = matches!(table.family, TableFamily::Netdev | TableFamily::Bridge);
            let odd_hook = matches!(base.hook, Hook::Ingress | Hook::Other(_));
            if (odd_family || odd_hook) && table.family != TableFamily::Arp {
                found.push(format!(
                    "{} {} chain {} ({:?} hook)",
                    table.family.name(),
                    table.name,
                    chain.name,
                    base.hook
                ));
            }
        }
    }
    (!found.is_empty()).then(|| found.join(", "))
}
