//! Reads `nft -j list ruleset` (libnftables-json(5)) into our representation, walking the
//! JSON by hand rather than through the `nftables` crate, which refuses a whole ruleset over
//! one construct it lacks. Only text that is not JSON, or JSON without the top-level
//! `nftables` list, is an error; every expression, statement or set element not understood
//! is kept as `Unknown` with a short rendering (`xt match addrtype`, `queue`, `ct mark`).
//!
//! What it refuses to guess: iptables-nft's `xt` expressions (read.rs reads those tables
//! again from iptables-nft-save), concatenations, marks, raw payloads, maps other than
//! verdict maps, NAT to a map or a range, `notrack`. What it assumes, and says: a rate limit
//! does not trip for one new connection, a host that can be answered passes a reverse-path
//! check, and the packet is a SYN (TCP flags SYN alone), not a later fragment.
//! A transport header test (`tcp dport 22`) carries its protocol as a test of its own
//! (`meta l4proto tcp`), and in an inet table an address test its family, as nft's implicit
//! dependencies do; an ICMP header test becomes its protocol test, all it says to a TCP or
//! UDP packet.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::rules::{
    Action, BaseChain, Chain, ChainKind, Match, Policy, Rule, Ruleset, Table, TableFamily,
};
use super::words;
use rule::Context;
use value::read_set;

mod rule;
#[cfg(test)]
mod tests;
mod value;

/// What an `Unknown` made from an iptables-nft compatibility expression starts with.
pub const XT: &str = "xt ";

#[derive(Debug, thiserror::Error)]
pub enum NftJsonError {
    #[error("nft's JSON output could not be read: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("nft's JSON output has no top-level \"nftables\" list")]
    Shape,
}

pub fn parse_nft_json(text: &str) -> Result<Ruleset, NftJsonError> {
    let items = items(text)?;
    let mut builder = Builder::default();
    // Declarations first, so a rule finds a verdict map listed after it. Each body becomes a
    // JSON tree only while it is read: 5,000 rules never make one tree of the whole dump,
    // whose building and dropping was most of the parse (docs/firewall.md, Reading).
    let declarations = items.iter().filter_map(|item| item.iter().next());
    for (key, body) in declarations.filter(|(key, _)| *key != "rule") {
        builder.declare(key, &serde_json::from_str(body.get())?);
    }
    for body in items.iter().filter_map(|item| item.get("rule")) {
        builder.rule(&serde_json::from_str(body.get())?);
    }
    Ok(Ruleset {
        tables: builder.tables,
    })
}

/// An item of the `nftables` list, its bodies unparsed: `{"rule": {...}}`. Its first key in
/// sorted order is what it declares, as serde_json's `Map` has it.
type Item<'a> = BTreeMap<String, &'a RawValue>;

/// The `nftables` list's objects; an item that is not an object is skipped, as an unknown
/// kind is. Text serde_json would not read (a number out of range, a lone surrogate) is a
/// syntax error wherever it is, as when the whole document was read at once.
fn items(text: &str) -> Result<Vec<Item<'_>>, NftJsonError> {
    let whole: &RawValue = serde_json::from_str(text)?;
    let shape = |_| NftJsonError::Shape;
    let top: HashMap<String, &RawValue> = match serde_json::from_str(whole.get()) {
        Ok(top) => top,
        Err(e) if whole.get().starts_with('{') => return Err(e.into()),
        Err(_) => return Err(NftJsonError::Shape),
    };
    let list = top.get("nftables").ok_or(NftJsonError::Shape)?;
    let list: Vec<&RawValue> = serde_json::from_str(list.get()).map_err(shape)?;
    let objects = list.into_iter().filter(|raw| raw.get().starts_with('{'));
    Ok(objects
        .map(|raw| serde_json::from_str(raw.get()))
        .collect::<Result<_, _>>()?)
}

/// Whether a table holds an iptables-nft compatibility expression.
pub fn holds_xt(table: &Table) -> bool {
    let xt = |text: &String| text.starts_with(XT);
    table
        .chains
        .iter()
        .flat_map(|chain| &chain.rules)
        .any(|rule| {
            let in_matches = rule
                .matches
                .iter()
                .any(|m| matches!(m, Match::Unknown(t) if xt(t)));
            in_matches || matches!(&rule.action, Action::Unknown(t) if xt(t))
        })
}

#[derive(Default)]
struct Builder {
    tables: Vec<Table>,
    table_index: HashMap<(String, String), usize>,
    chain_index: HashMap<(usize, String), usize>,
    /// Verdict maps' elements, read when a rule names the map (`vmap @ports`).
    verdict_maps: HashMap<(usize, String), Vec<Json>>,
}

impl Builder {
    fn declare(&mut self, key: &str, body: &Json) {
        match key {
            "table" => {
                self.table(body, "name");
            }
            "chain" => self.chain(body),
            "set" => self.set(body),
            "map" => self.map(body),
            _ => {}
        }
    }

    /// The table an object names under `key`, added when first named; None without a known
    /// family or a name.
    fn table(&mut self, body: &Json, key: &str) -> Option<usize> {
        let family_word = text(body, "family")?;
        let family = family(family_word)?;
        let name = text(body, key)?;
        let id = (family_word.to_string(), name.to_string());
        if let Some(&index) = self.table_index.get(&id) {
            return Some(index);
        }
        self.tables.push(Table {
            family,
            name: name.to_string(),
            origin: super::rules::Origin::Nft,
            chains: Vec::new(),
            sets: Vec::new(),
        });
        self.table_index.insert(id, self.tables.len() - 1);
        Some(self.tables.len() - 1)
    }

    fn chain(&mut self, body: &Json) {
        let (Some(table), Some(name)) = (self.table(body, "table"), text(body, "name")) else {
            return;
        };
        let index = self.chain_at(table, name);
        self.tables[table].chains[index].base = base_chain(body);
    }

    /// The chain's index in its table, added (without a hook) when first named.
    fn chain_at(&mut self, table: usize, name: &str) -> usize {
        let chains = &mut self.tables[table].chains;
        *self
            .chain_index
            .entry((table, name.to_string()))
            .or_insert_with(|| {
                chains.push(Chain {
                    name: name.to_string(),
                    base: None,
                    rules: Vec::new(),
                });
                chains.len() - 1
            })
    }

    fn set(&mut self, body: &Json) {
        let (Some(table), Some(name)) = (self.table(body, "table"), text(body, "name")) else {
            return;
        };
        let set = read_set(name, body);
        self.tables[table].sets.push(set);
    }

    fn map(&mut self, body: &Json) {
        let (Some(table), Some(name)) = (self.table(body, "table"), text(body, "name")) else {
            return;
        };
        if text(body, "map") == Some("verdict") {
            let elements = body.get("elem").and_then(Json::as_array).cloned();
            let key = (table, name.to_string());
            self.verdict_maps.insert(key, elements.unwrap_or_default());
        }
    }

    fn rule(&mut self, body: &Json) {
        let (Some(table), Some(chain)) = (self.table(body, "table"), text(body, "chain")) else {
            return;
        };
        let chain = self.chain_at(table, chain);
        let exprs = body.get("expr").and_then(Json::as_array);
        let context = Context {
            family: self.tables[table].family,
            table,
            maps: &self.verdict_maps,
        };
        let (matches, action) = context.statements(exprs.map_or(&[][..], Vec::as_slice));
        let rules = &mut self.tables[table].chains[chain].rules;
        rules.push(Rule {
            position: rules.len() + 1,
            handle: body.get("handle").and_then(Json::as_u64),
            matches,
            action,
        });
    }
}

fn text<'a>(body: &'a Json, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Json::as_str)
}

fn family(word: &str) -> Option<TableFamily> {
    Some(match word {
        "ip" => TableFamily::Ip,
        "ip6" => TableFamily::Ip6,
        "inet" => TableFamily::Inet,
        "arp" => TableFamily::Arp,
        "bridge" => TableFamily::Bridge,
        "netdev" => TableFamily::Netdev,
        _ => return None,
    })
}

/// A base chain's hook, type, priority and policy; None for a chain without a hook.
fn base_chain(body: &Json) -> Option<BaseChain> {
    let hook = words::hook(text(body, "hook")?);
    let kind = match text(body, "type") {
        Some("nat") => ChainKind::Nat,
        Some("route") => ChainKind::Route,
        _ => ChainKind::Filter,
    };
    let policy = match text(body, "policy") {
        Some("drop") => Policy::Drop,
        _ => Policy::Accept,
    };
    let priority = body.get("prio").map_or(0, priority);
    Some(BaseChain {
        hook,
        kind,
        priority,
        policy,
    })
}

/// A priority as a number, or as a standard name with an offset (`dstnat + 10`).
fn priority(prio: &Json) -> i32 {
    if let Some(number) = prio.as_i64() {
        return i32::try_from(number).unwrap_or(0);
    }
    let words: Vec<&str> = prio.as_str().unwrap_or("").split_whitespace().collect();
    let base = match words.first().copied() {
        Some("raw") => -300,
        Some("mangle") => -150,
        Some("dstnat") => -100,
        Some("security") => 50,
        Some("srcnat") => 100,
        _ => 0,
    };
    let offset: i32 = words.get(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    match words.get(1).copied() {
        Some("-") => base - offset,
        _ => base + offset,
    }
}
