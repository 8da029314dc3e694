//! The source address is not one value: the ruleset's saddr tests cut the address space into
//! regions that every rule sees alike. One representative per distinct region is evaluated,
//! and the passing regions are written back as the fewest prefixes that cover them exactly.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::rules::{Action, Field, Match, Ruleset, Table, TableFamily, Value, Values};

/// Addresses of one family as integers: an inclusive span `lo..=hi`.
type Span = (u128, u128);

/// Sources every saddr test treats alike, and one of them to evaluate.
#[derive(Debug, Clone)]
pub(super) struct Class {
    pub rep: IpAddr,
    pub spans: Vec<Span>,
}

/// The classes of one family; the first is the one outside every tested prefix when there is one.
#[derive(Debug, Clone)]
pub(super) struct Partition {
    pub classes: Vec<Class>,
}

impl Partition {
    pub fn of(ruleset: &Ruleset, v6: bool) -> Partition {
        let tests = saddr_tests(ruleset, v6);
        let max = if v6 { u128::MAX } else { u128::from(u32::MAX) };
        let cuts = cuts(&tests, max);
        // Which tests begin and end holding at each cut: one sweep, not every test at every cut
        // (fail2ban without ipset writes one saddr rule per banned address).
        let at = |n: u128| cuts.partition_point(|&c| c < n);
        let (mut starts, mut ends) = (vec![Vec::new(); cuts.len()], vec![Vec::new(); cuts.len()]);
        for (t, spans) in tests.iter().enumerate() {
            for &(lo, hi) in spans {
                starts[at(lo)].push(t);
                if hi < max {
                    ends[at(hi + 1)].push(t);
                }
            }
        }
        let mut active: BTreeSet<usize> = BTreeSet::new();
        let mut index: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut classes: Vec<(bool, Class)> = Vec::new();
        for (i, &lo) in cuts.iter().enumerate() {
            ends[i].iter().for_each(|t| _ = active.remove(t));
            active.extend(&starts[i]);
            let hi = cuts.get(i + 1).map_or(max, |next| next - 1);
            let key: Vec<usize> = active.iter().copied().collect();
            match index.get(&key) {
                Some(&c) => classes[c].1.spans.push((lo, hi)),
                None => {
                    classes.push((!key.is_empty(), new_class(v6, lo, hi)));
                    index.insert(key, classes.len() - 1);
                }
            }
        }
        // The region outside every test goes first: its verdict is the one shown when none pass.
        classes.sort_by_key(|(inside, _)| *inside);
        let classes = classes.into_iter().map(|(_, class)| class).collect();
        Partition { classes }
    }
}

/// Where some test begins or stops holding, sorted, from 0.
fn cuts(tests: &[Vec<Span>], max: u128) -> Vec<u128> {
    let mut cuts = vec![0u128];
    for span in tests.iter().flatten() {
        cuts.push(span.0);
        if span.1 < max {
            cuts.push(span.1 + 1);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

fn new_class(v6: bool, lo: u128, hi: u128) -> Class {
    Class {
        rep: addr(v6, lo),
        spans: vec![(lo, hi)],
    }
}

/// Every distinct saddr test of this family, each as its sorted spans.
fn saddr_tests(ruleset: &Ruleset, v6: bool) -> Vec<Vec<Span>> {
    let mut tests: Vec<Vec<Span>> = Vec::new();
    // A set is read once however many rules name it (big rulesets name one set thousands of times).
    let mut sets_read: HashSet<(usize, &str)> = HashSet::new();
    let tables = ruleset.tables.iter().enumerate();
    for (t, table) in tables.filter(|(_, t)| sees(t.family, v6)) {
        for rule in table.chains.iter().flat_map(|c| &c.rules) {
            // Each key of a verdict map on the source is a test of its own.
            if let Action::Vmap {
                field: Field::Saddr,
                entries,
            } = &rule.action
            {
                for (key, _) in entries {
                    add(&mut tests, span_of(key, v6).into_iter().collect());
                }
            }
            for m in &rule.matches {
                let Match::Test {
                    field: Field::Saddr,
                    values,
                    ..
                } = m
                else {
                    continue;
                };
                if let Values::Set(name) = values
                    && !sets_read.insert((t, name.as_str()))
                {
                    continue;
                }
                add(&mut tests, spans_of(table, values, v6));
            }
        }
    }
    tests
}

fn add(tests: &mut Vec<Vec<Span>>, spans: Vec<Span>) {
    let spans = merged(spans);
    if !spans.is_empty() && !tests.contains(&spans) {
        tests.push(spans);
    }
}

pub(super) fn sees(family: TableFamily, v6: bool) -> bool {
    matches!(
        (family, v6),
        (TableFamily::Inet, _) | (TableFamily::Ip, false) | (TableFamily::Ip6, true)
    )
}

fn spans_of(table: &Table, values: &Values, v6: bool) -> Vec<Span> {
    let list = match values {
        Values::List(list) => list.as_slice(),
        Values::Set(name) => table
            .sets
            .iter()
            .find(|s| &s.name == name)
            .map_or(&[][..], |s| s.values.as_slice()),
    };
    list.iter().filter_map(|v| span_of(v, v6)).collect()
}

fn span_of(value: &Value, v6: bool) -> Option<Span> {
    match value {
        Value::Net(net) => Some((int(net.network(), v6)?, int(net.broadcast(), v6)?)),
        Value::AddrRange(lo, hi) => Some((int(*lo, v6)?, int(*hi, v6)?)),
        _ => None,
    }
}

/// A set of addresses of one family as merged spans, looked up by binary search (a set of
/// 2,000 prefixes is read by every walk that reaches a rule naming it).
#[derive(Debug, Clone)]
pub(super) struct AddressSet {
    pub v6: bool,
    spans: Vec<Span>,
}

impl AddressSet {
    /// `None` unless every value is a prefix or ordered range of the first one's family.
    pub fn of(values: &[Value]) -> Option<AddressSet> {
        let v6 = match values.first()? {
            Value::Net(net) => net.addr().is_ipv6(),
            Value::AddrRange(lo, _) => lo.is_ipv6(),
            _ => return None,
        };
        let spans: Option<Vec<Span>> = values.iter().map(|v| span_of(v, v6)).collect();
        let spans = spans?;
        // An inverted range (nft refuses one; hand-made JSON may hold it) would unsort the
        // merged spans: such a set is read value by value.
        if spans.iter().any(|(lo, hi)| lo > hi) {
            return None;
        }
        Some(AddressSet {
            v6,
            spans: merged(spans),
        })
    }

    pub fn holds(&self, addr: IpAddr) -> bool {
        let Some(n) = int(addr, self.v6) else {
            return false;
        };
        let i = self.spans.partition_point(|&(_, hi)| hi < n);
        self.spans.get(i).is_some_and(|&(lo, _)| lo <= n)
    }
}

/// The address as an integer when it is of the family.
pub(super) fn int(addr: IpAddr, v6: bool) -> Option<u128> {
    match (addr, v6) {
        (IpAddr::V4(a), false) => Some(u128::from(u32::from(a))),
        (IpAddr::V6(a), true) => Some(u128::from(a)),
        _ => None,
    }
}

fn addr(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        // Spans of v4 never pass u32::MAX.
        IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)))
    }
}

/// The same addresses as sorted, disjoint, non-adjacent spans.
fn merged(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::new();
    for (lo, hi) in spans {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1).is_none_or(|next| next >= lo) => {
                last.1 = last.1.max(hi)
            }
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The fewest prefixes covering exactly these spans.
pub(super) fn prefixes(spans: Vec<Span>, v6: bool) -> Vec<IpNet> {
    let bits = if v6 { 128 } else { 32 };
    let mut nets = Vec::new();
    for (lo, hi) in merged(spans) {
        cover(lo, hi, bits, v6, &mut nets);
    }
    nets
}

/// The largest aligned blocks from `lo` up to `hi`, in order.
fn cover(mut lo: u128, hi: u128, bits: u32, v6: bool, nets: &mut Vec<IpNet>) {
    loop {
        let mut size = lo.trailing_zeros().min(bits);
        while size > 0 && block_end(lo, size).is_none_or(|end| end > hi) {
            size -= 1;
        }
        let len = u8::try_from(bits - size).unwrap_or(0);
        if let Ok(net) = IpNet::new(addr(v6, lo), len) {
            nets.push(net);
        }
        match block_end(lo, size).and_then(|end| end.checked_add(1)) {
            Some(next) if next <= hi => lo = next,
            _ => return,
        }
    }
}

/// The last address of the block of 2^size addresses starting at `lo`.
fn block_end(lo: u128, size: u32) -> Option<u128> {
    let span = if size >= 128 {
        u128::MAX
    } else {
        (1u128 << size) - 1
    };
    lo.checked_add(span)
}
