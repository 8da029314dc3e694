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

use std::collections::HashMap;

use ipnet::IpNet;
use serde_json::Value as Json;

use super::rules::{
    Action, BaseChain, Chain, ChainKind, Field, Match, Policy, Rule, Ruleset, Set, Table,
    TableFamily, Value, Values,
};
use super::words;

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
    let json: Json = serde_json::from_str(text)?;
    let items = json
        .get("nftables")
        .and_then(Json::as_array)
        .ok_or(NftJsonError::Shape)?;
    let mut builder = Builder::default();
    // Declarations first, so a rule finds a verdict map listed after it.
    items.iter().for_each(|item| builder.declare(item));
    for rule in items.iter().filter_map(|item| item.get("rule")) {
        builder.rule(rule);
    }
    Ok(Ruleset {
        tables: builder.tables,
    })
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
    fn declare(&mut self, item: &Json) {
        let Some((key, body)) = item.as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        match key.as_str() {
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

/// What kind of value a field compares with, which decides how a JSON value is read.
#[derive(Clone, Copy)]
enum Kind {
    Addr,
    Port,
    Proto,
    Name,
}

fn kind(field: Field) -> Kind {
    match field {
        Field::Saddr | Field::Daddr => Kind::Addr,
        Field::Sport | Field::Dport => Kind::Port,
        Field::L4Proto => Kind::Proto,
        _ => Kind::Name,
    }
}

fn set_kind(set_type: &str) -> Option<Kind> {
    Some(match set_type {
        "ipv4_addr" | "ipv6_addr" => Kind::Addr,
        "inet_service" => Kind::Port,
        "inet_proto" => Kind::Proto,
        "ifname" | "iface_index" | "ct_state" | "ct_status" | "nf_proto" | "fib_addrtype" => {
            Kind::Name
        }
        _ => return None,
    })
}

fn read_set(name: &str, body: &Json) -> Set {
    let mut set = Set {
        name: name.to_string(),
        values: Vec::new(),
        unknown: None,
    };
    let kind = match body.get("type") {
        Some(Json::String(set_type)) => set_kind(set_type).ok_or(format!("set of {set_type}")),
        Some(Json::Array(types)) => Err(format!("concatenation {}", describe_all(types, " . "))),
        _ => Err("set without a type".to_string()),
    };
    let elements = body.get("elem").and_then(Json::as_array);
    match kind {
        Ok(kind) => read_elements(&mut set, kind, elements.map_or(&[][..], Vec::as_slice)),
        Err(why) => set.unknown = Some(why),
    }
    set
}

fn read_elements(set: &mut Set, kind: Kind, elements: &[Json]) {
    for element in elements {
        match value(kind, element) {
            Some(value) => set.values.push(value),
            None => {
                set.unknown = Some(format!("set element {}", short(describe(element))));
                return;
            }
        }
    }
}

/// One value of a kind: a scalar, a prefix, a range, or any of them in an `elem` wrapper.
fn value(kind: Kind, json: &Json) -> Option<Value> {
    if let Some(inner) = json.get("elem").and_then(|e| e.get("val")) {
        return value(kind, inner);
    }
    if let Some([low, high]) = json
        .get("range")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
    {
        return range(kind, low, high);
    }
    match kind {
        Kind::Addr => addr(json).map(Value::Net),
        Kind::Port => port(json),
        Kind::Proto => proto(json).map(Value::Proto),
        Kind::Name => name(json).map(Value::Name),
    }
}

fn range(kind: Kind, low: &Json, high: &Json) -> Option<Value> {
    match kind {
        Kind::Addr => Some(Value::AddrRange(
            low.as_str()?.parse().ok()?,
            high.as_str()?.parse().ok()?,
        )),
        Kind::Port => Some(Value::PortRange(
            u16::try_from(low.as_u64()?).ok()?,
            u16::try_from(high.as_u64()?).ok()?,
        )),
        _ => None,
    }
}

fn addr(json: &Json) -> Option<IpNet> {
    if let Some(prefix) = json.get("prefix") {
        let addr = prefix.get("addr")?.as_str()?.parse().ok()?;
        let len = u8::try_from(prefix.get("len")?.as_u64()?).ok()?;
        return IpNet::new(addr, len).ok();
    }
    words::net(json.as_str()?)
}

fn port(json: &Json) -> Option<Value> {
    match json {
        Json::Number(n) => u16::try_from(n.as_u64()?).ok().map(Value::Port),
        Json::String(s) => words::port_range(s),
        _ => None,
    }
}

fn proto(json: &Json) -> Option<u8> {
    match json {
        Json::Number(n) => u8::try_from(n.as_u64()?).ok(),
        Json::String(s) => words::proto_number(s),
        _ => None,
    }
}

fn name(json: &Json) -> Option<String> {
    match json {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What one statement of a rule is to the reader.
enum Statement {
    Matches(Vec<Match>),
    /// Read past: a counter, a log, a mark set.
    Ignored,
    /// Decides the rule; matches a verdict map's key implies come with it.
    Action(Vec<Match>, Action),
}

/// Where a rule is read: its table's family (for implied tests) and verdict maps.
struct Context<'a> {
    family: TableFamily,
    table: usize,
    maps: &'a HashMap<(usize, String), Vec<Json>>,
}

impl Context<'_> {
    /// A rule's matches and its action: the first statement that decides; what follows
    /// it is never reached.
    fn statements(&self, exprs: &[Json]) -> (Vec<Match>, Action) {
        let mut matches = Vec::new();
        for expr in exprs {
            match self.statement(expr) {
                Statement::Matches(found) => matches.extend(found),
                Statement::Ignored => {}
                Statement::Action(implied, action) => {
                    matches.extend(implied);
                    return (matches, action);
                }
            }
        }
        (matches, Action::Continue)
    }

    fn statement(&self, expr: &Json) -> Statement {
        let Some((key, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
            return decided(Action::Unknown(describe(expr)));
        };
        match key.as_str() {
            "match" => Statement::Matches(self.test(body)),
            "limit" => Statement::Matches(vec![limit(body)]),
            "quota" | "ct count" => Statement::Matches(vec![Match::Unknown(key.to_string())]),
            "xt" => xt(body),
            "vmap" => self.vmap(body),
            "counter" | "log" | "mangle" => Statement::Ignored,
            _ => decided(action(key, body)),
        }
    }

    /// `{op, left, right}` as tests: the implied ones (a protocol, a family), then its own.
    fn test(&self, body: &Json) -> Vec<Match> {
        let (left, right) = (&body["left"], &body["right"]);
        let op = text(body, "op").unwrap_or("==");
        match self.left(left) {
            Left::Field(field, mut implied) => {
                implied.push(compare(field, op, left, right));
                implied
            }
            Left::Protocol(number) => vec![proto_test(number)],
            Left::ReversePath => vec![reverse_path(op, right)],
            Left::TcpFlags(mask) => vec![proto_test(6), tcp_flags(mask, op, left, right)],
            Left::FragmentOffset => vec![fragment(op, right, left)],
            Left::Unknown(what) => vec![Match::Unknown(what)],
        }
    }

    fn left(&self, expr: &Json) -> Left {
        let Some((key, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
            return Left::Unknown(describe(expr));
        };
        let field = match key.as_str() {
            "payload" => return self.payload(body, expr),
            // Early JSON wrote `{"meta": "iifname"}`.
            "meta" => meta_field(text(body, "key").or(body.as_str()).unwrap_or("")),
            "ct" if body.get("dir").is_none() => ct_field(text(body, "key").unwrap_or("")),
            "fib" => return fib(body, expr),
            "concat" => return Left::Unknown(format!("concatenation {}", describe(expr))),
            "&" => return masked(body, expr),
            _ => None,
        };
        field.map_or_else(|| Left::Unknown(describe(expr)), |f| Left::Field(f, vec![]))
    }

    fn payload(&self, body: &Json, expr: &Json) -> Left {
        let protocol = text(body, "protocol").unwrap_or("");
        let field = text(body, "field").unwrap_or("");
        match (protocol, field) {
            ("ip" | "ip6", "saddr") => Left::Field(Field::Saddr, self.family_test(protocol)),
            ("ip" | "ip6", "daddr") => Left::Field(Field::Daddr, self.family_test(protocol)),
            ("ip", "protocol") | ("ip6", "nexthdr") => {
                Left::Field(Field::L4Proto, self.family_test(protocol))
            }
            ("th", "sport") => Left::Field(Field::Sport, vec![]),
            ("th", "dport") => Left::Field(Field::Dport, vec![]),
            (_, "sport" | "dport") => transport(protocol, field, expr),
            ("tcp", "flags") => Left::TcpFlags(u8::MAX),
            ("icmp", _) => Left::Protocol(1),
            ("icmpv6", _) => Left::Protocol(58),
            _ => Left::Unknown(describe(expr)),
        }
    }

    /// nft's implied `meta nfproto` for an address test, where the table holds both families.
    fn family_test(&self, protocol: &str) -> Vec<Match> {
        if matches!(self.family, TableFamily::Ip | TableFamily::Ip6) {
            return vec![];
        }
        let nfproto = if protocol == "ip" { "ipv4" } else { "ipv6" };
        vec![Match::Test {
            field: Field::Nfproto,
            negated: false,
            values: Values::List(vec![Value::Name(nfproto.to_string())]),
        }]
    }

    fn vmap(&self, body: &Json) -> Statement {
        let key = &body["key"];
        let Left::Field(field, implied) = self.left(key) else {
            return decided(Action::Unknown(format!("vmap on {}", describe(key))));
        };
        let data = &body["data"];
        let elements = match data {
            Json::String(name) => self.map_elements(name),
            _ => data.get("set").and_then(Json::as_array).map(Vec::as_slice),
        };
        let entries = elements.and_then(|elements| vmap_entries(field, elements));
        match entries {
            Some(entries) => Statement::Action(implied, Action::Vmap { field, entries }),
            None => decided(Action::Unknown(format!("vmap {}", short(describe(data))))),
        }
    }

    fn map_elements(&self, name: &str) -> Option<&[Json]> {
        let name = name.strip_prefix('@')?.to_string();
        self.maps.get(&(self.table, name)).map(Vec::as_slice)
    }
}

enum Left {
    Field(Field, Vec<Match>),
    /// An ICMP header field: to a TCP or UDP packet, only its protocol matters.
    Protocol(u8),
    /// `fib saddr . iif oif`: the reverse-path check.
    ReversePath,
    /// `tcp flags`, under a mask.
    TcpFlags(u8),
    /// `ip frag-off & 0x1fff`: nonzero in a later fragment.
    FragmentOffset,
    Unknown(String),
}

fn decided(action: Action) -> Statement {
    Statement::Action(Vec::new(), action)
}

fn transport(protocol: &str, field: &str, expr: &Json) -> Left {
    let Some(number) = words::proto_number(protocol).filter(|_| protocol != "ip") else {
        return Left::Unknown(describe(expr));
    };
    let field = if field == "sport" {
        Field::Sport
    } else {
        Field::Dport
    };
    Left::Field(field, vec![proto_test(number)])
}

fn proto_test(number: u8) -> Match {
    Match::Test {
        field: Field::L4Proto,
        negated: false,
        values: Values::List(vec![Value::Proto(number)]),
    }
}

fn meta_field(key: &str) -> Option<Field> {
    Some(match key {
        "l4proto" => Field::L4Proto,
        "nfproto" => Field::Nfproto,
        "iif" => Field::Iif,
        "iifname" => Field::Iifname,
        "oif" => Field::Oif,
        "oifname" => Field::Oifname,
        _ => return None,
    })
}

fn ct_field(key: &str) -> Option<Field> {
    match key {
        "state" => Some(Field::CtState),
        "status" => Some(Field::CtStatus),
        _ => None,
    }
}

fn fib(body: &Json, expr: &Json) -> Left {
    let flags: Vec<&str> = body
        .get("flags")
        .and_then(Json::as_array)
        .map(|flags| flags.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    match text(body, "result") {
        Some("type") if flags == ["daddr"] => Left::Field(Field::FibDaddrType, vec![]),
        Some("oif") if flags.contains(&"saddr") && flags.contains(&"iif") => Left::ReversePath,
        _ => Left::Unknown(describe(expr)),
    }
}

/// `tcp flags & (syn | ack) == syn`, `tcp flags syn`, on a new connection's SYN.
fn tcp_flags(mask: u8, op: &str, left: &Json, right: &Json) -> Match {
    let what = format!(
        "{} {op} {} (a new connection's SYN)",
        describe(left),
        describe(right)
    );
    let flags = words::SYN_ALONE & mask;
    let holds = match (op, flag_bits(right)) {
        ("==", Some(bits)) => flags == bits,
        ("!=", Some(bits)) => flags != bits,
        ("in", Some(bits)) => flags & bits != 0,
        _ => return Match::Unknown(what),
    };
    if holds {
        Match::AssumedToPass(what)
    } else {
        Match::AssumedToFail(what)
    }
}

/// Flags as a name, a list of names or a number.
fn flag_bits(json: &Json) -> Option<u8> {
    match json {
        Json::String(name) => words::tcp_flag(name),
        Json::Array(names) => names.iter().map(flag_bits).sum(),
        _ => u8::try_from(json.as_u64()?).ok(),
    }
}

/// `x & mask` where we know x: TCP flags under a mask, or the fragment offset.
fn masked(body: &Json, expr: &Json) -> Left {
    let Some([inner, mask]) = body.as_array().map(Vec::as_slice) else {
        return Left::Unknown(describe(expr));
    };
    let payload = |protocol: &str, field: &str| {
        let body = inner.get("payload");
        let words = body.map(|b| (text(b, "protocol"), text(b, "field")));
        words == Some((Some(protocol), Some(field)))
    };
    match (flag_bits(mask), mask.as_u64()) {
        (Some(bits), _) if payload("tcp", "flags") => Left::TcpFlags(bits),
        (_, Some(0x1fff)) if payload("ip", "frag-off") => Left::FragmentOffset,
        _ => Left::Unknown(describe(expr)),
    }
}

/// A later fragment (offset not 0) is not the first packet of a connection.
fn fragment(op: &str, right: &Json, left: &Json) -> Match {
    let what = format!(
        "{} {op} {} (a later fragment)",
        describe(left),
        describe(right)
    );
    match (op, right.as_u64()) {
        ("!=", Some(0)) => Match::AssumedToFail(what),
        ("==", Some(0)) => Match::AssumedToPass(what),
        _ => Match::Unknown(what),
    }
}

/// `fib saddr . iif oif missing` fails the reverse-path check; a host we answer passes it.
fn reverse_path(op: &str, right: &Json) -> Match {
    let missing = matches!(right, Json::Bool(false)) || right.as_u64() == Some(0);
    let what = "fib saddr . iif oif (reverse path check, passed by a host we answer)";
    if missing == (op != "!=") {
        Match::AssumedToFail(what.to_string())
    } else {
        Match::AssumedToPass(what.to_string())
    }
}

/// One field compared with the right-hand side; a value not understood leaves the test
/// unknown.
fn compare(field: Field, op: &str, left: &Json, right: &Json) -> Match {
    let values = match op {
        "==" | "in" | "!=" => values(field, right),
        "<" | "<=" | ">" | ">=" => port_bound(field, op, right),
        _ => None,
    };
    match values {
        Some(values) => Match::Test {
            field,
            negated: op == "!=",
            values,
        },
        None => Match::Unknown(format!(
            "{} {op} {}",
            describe(left),
            short(describe(right))
        )),
    }
}

fn values(field: Field, right: &Json) -> Option<Values> {
    if let Some(name) = right.as_str().and_then(|s| s.strip_prefix('@')) {
        return Some(Values::Set(name.to_string()));
    }
    let elements = match right {
        Json::Array(list) => list.as_slice(),
        _ => match right.get("set").and_then(Json::as_array) {
            Some(list) => list.as_slice(),
            None => std::slice::from_ref(right),
        },
    };
    let kind = kind(field);
    let list: Option<Vec<Value>> = elements.iter().map(|e| value(kind, e)).collect();
    list.map(Values::List)
}

/// `tcp dport < 1024` as the range it means.
fn port_bound(field: Field, op: &str, right: &Json) -> Option<Values> {
    if !matches!(field, Field::Sport | Field::Dport) {
        return None;
    }
    let bound = u16::try_from(right.as_u64()?).ok()?;
    let (low, high) = match op {
        "<" => (0, bound.checked_sub(1)?),
        "<=" => (0, bound),
        ">" => (bound.checked_add(1)?, u16::MAX),
        _ => (bound, u16::MAX),
    };
    Some(Values::List(vec![Value::PortRange(low, high)]))
}

fn limit(body: &Json) -> Match {
    let rate = body.get("rate").map_or_else(String::new, Json::to_string);
    let per = text(body, "per").unwrap_or("second");
    if body.get("inv").and_then(Json::as_bool) == Some(true) {
        Match::AssumedToFail(format!("limit rate over {rate}/{per}"))
    } else {
        Match::AssumedToPass(format!("limit rate {rate}/{per}"))
    }
}

fn xt(body: &Json) -> Statement {
    let kind = text(body, "type").unwrap_or("?");
    let what = format!("{XT}{kind} {}", text(body, "name").unwrap_or("?"));
    if kind == "match" {
        Statement::Matches(vec![Match::Unknown(what)])
    } else {
        decided(Action::Unknown(what))
    }
}

/// A statement that decides: a verdict, a NAT, or one not understood.
fn action(key: &str, body: &Json) -> Action {
    match key {
        "accept" => Action::Accept,
        "drop" => Action::Drop,
        "reject" => Action::Reject,
        "return" => Action::Return,
        "continue" | "masquerade" | "snat" => Action::Continue,
        "jump" | "goto" => jump(key, body),
        "dnat" => dnat(body),
        "redirect" => redirect(body),
        _ => Action::Unknown(key.to_string()),
    }
}

fn jump(key: &str, body: &Json) -> Action {
    match (key, text(body, "target")) {
        ("jump", Some(target)) => Action::Jump(target.to_string()),
        ("goto", Some(target)) => Action::Goto(target.to_string()),
        _ => Action::Unknown(key.to_string()),
    }
}

fn dnat(body: &Json) -> Action {
    let addr = match body.get("addr") {
        None => Ok(None),
        Some(addr) => addr
            .as_str()
            .and_then(|a| a.parse().ok())
            .map(Some)
            .ok_or(addr),
    };
    match (addr, nat_port(body)) {
        (Ok(addr), Ok(port)) => Action::Dnat { addr, port },
        (Err(addr), _) => Action::Unknown(format!("dnat to {}", short(describe(addr)))),
        (_, Err(())) => Action::Unknown("dnat to a port range or map".to_string()),
    }
}

fn redirect(body: &Json) -> Action {
    match nat_port(body) {
        Ok(port) => Action::Redirect { port },
        Err(()) => Action::Unknown("redirect to a port range or map".to_string()),
    }
}

fn nat_port(body: &Json) -> Result<Option<u16>, ()> {
    match body.get("port") {
        None | Some(Json::Null) => Ok(None),
        Some(port) => port
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .map(Some)
            .ok_or(()),
    }
}

/// A verdict map's `[key, verdict]` pairs; None if a key cannot be read.
fn vmap_entries(field: Field, elements: &[Json]) -> Option<Vec<(Value, Action)>> {
    let kind = kind(field);
    let entry = |element: &Json| {
        let [key, verdict] = element.as_array()?.as_slice() else {
            return None;
        };
        Some((value(kind, key)?, map_verdict(verdict)))
    };
    elements.iter().map(entry).collect()
}

fn map_verdict(verdict: &Json) -> Action {
    match verdict.as_object().and_then(|o| o.iter().next()) {
        Some((key, body)) if key != "dnat" && key != "redirect" => action(key, body),
        _ => Action::Unknown(format!("verdict {}", short(describe(verdict)))),
    }
}

/// A short readable rendering of an expression, for an `Unknown`.
fn describe(expr: &Json) -> String {
    match expr {
        Json::String(s) => s.clone(),
        Json::Array(list) => describe_all(list, ", "),
        Json::Object(object) => match object.iter().next() {
            Some((key, body)) => describe_object(key, body),
            None => "{}".to_string(),
        },
        other => other.to_string(),
    }
}

/// At most 40 characters of a value: a name in a note, not the whole set.
fn short(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(40) {
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

fn describe_all(list: &[Json], separator: &str) -> String {
    let parts: Vec<String> = list.iter().map(describe).collect();
    parts.join(separator)
}

fn describe_object(key: &str, body: &Json) -> String {
    let word = |k: &str| text(body, k).unwrap_or("").to_string();
    match key {
        "payload" if body.get("protocol").is_some() => {
            format!("{} {}", word("protocol"), word("field"))
        }
        "meta" | "ct" | "socket" | "rt" | "osf" => format!("{key} {}", word("key")),
        "fib" => {
            let flags = body["flags"].as_array().map(|l| describe_all(l, " . "));
            format!("fib {} {}", flags.unwrap_or_default(), word("result"))
        }
        "concat" => body
            .as_array()
            .map_or_else(String::new, |l| describe_all(l, " . ")),
        "set" => format!("{{ {} }}", describe(body)),
        "prefix" => format!("{}/{}", word("addr"), body["len"]),
        "range" => body
            .as_array()
            .map_or_else(String::new, |l| describe_all(l, "-")),
        "&" | "|" | "^" | "<<" | ">>" => match body.as_array().map(Vec::as_slice) {
            Some([left, ..]) => format!("{} {key} ...", describe(left)),
            _ => key.to_string(),
        },
        _ => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::firewall::rules::{Hook, Origin};

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/firewall/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    }

    fn table<'a>(ruleset: &'a Ruleset, family: TableFamily, name: &str) -> &'a Table {
        let found = ruleset
            .tables
            .iter()
            .find(|t| t.family == family && t.name == name);
        found.unwrap_or_else(|| panic!("no table {name}"))
    }

    fn chain<'a>(table: &'a Table, name: &str) -> &'a Chain {
        let found = table.chains.iter().find(|c| c.name == name);
        found.unwrap_or_else(|| panic!("no chain {name}"))
    }

    fn list(field: Field, values: Vec<Value>) -> Match {
        Match::Test {
            field,
            negated: false,
            values: Values::List(values),
        }
    }

    /// Every `Unknown` in a ruleset, in ICMP rules too.
    fn unknowns(ruleset: &Ruleset) -> Vec<String> {
        let mut found = Vec::new();
        for table in &ruleset.tables {
            found.extend(table.sets.iter().filter_map(|s| s.unknown.clone()));
            for rule in table.chains.iter().flat_map(|c| &c.rules) {
                for m in &rule.matches {
                    if let Match::Unknown(what) = m {
                        found.push(what.clone());
                    }
                }
                if let Action::Unknown(what) = &rule.action {
                    found.push(what.clone());
                }
            }
        }
        found
    }

    fn rule_json(exprs: &str) -> String {
        format!(
            r#"{{"nftables": [{{"table": {{"family": "inet", "name": "t"}}}},
            {{"chain": {{"family": "inet", "table": "t", "name": "c", "type": "filter",
              "hook": "input", "prio": 0, "policy": "drop"}}}},
            {{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": 7, "expr": {exprs}}}}},
            {{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": 8,
              "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp",
              "field": "dport"}}}}, "right": 22}}}}, {{"accept": null}}]}}}}]}}"#
        )
    }

    #[test]
    fn firewalld_is_all_understood() {
        let ruleset = parse_nft_json(&fixture("fwd.json")).unwrap();
        assert_eq!(unknowns(&ruleset), Vec::<String>::new());
        let firewalld = table(&ruleset, TableFamily::Inet, "firewalld");
        let input = chain(firewalld, "filter_INPUT").base.clone().unwrap();
        assert_eq!(
            (input.hook, input.priority, input.policy),
            (Hook::Input, 10, Policy::Accept)
        );
        let allow = chain(firewalld, "filter_IN_public_allow");
        let mysql = &allow.rules[4];
        assert_eq!(mysql.position, 5);
        let saddr = Values::List(vec![Value::Net("192.168.1.0/24".parse().unwrap())]);
        assert_eq!(
            mysql.matches[..2],
            [
                list(Field::Nfproto, vec![Value::Name("ipv4".into())]),
                Match::Test {
                    field: Field::Saddr,
                    negated: false,
                    values: saddr
                }
            ]
        );
        assert_eq!(
            mysql.matches[3],
            list(Field::Dport, vec![Value::Port(3306)])
        );
        assert_eq!(mysql.action, Action::Accept);
    }

    #[test]
    fn firewalld_redirect_reject_and_reverse_path() {
        let ruleset = parse_nft_json(&fixture("fwd.json")).unwrap();
        let firewalld = table(&ruleset, TableFamily::Inet, "firewalld");
        let forward = &chain(firewalld, "nat_PRE_public_allow").rules[0];
        assert!(
            forward
                .matches
                .contains(&list(Field::Dport, vec![Value::Port(8443)]))
        );
        assert_eq!(forward.action, Action::Redirect { port: Some(443) });
        let input = chain(firewalld, "filter_INPUT");
        assert_eq!(input.rules.last().unwrap().action, Action::Reject);
        assert!(input.rules[0].matches.contains(&list(
            Field::CtState,
            vec![
                Value::Name("established".into()),
                Value::Name("related".into())
            ]
        )));
        let prerouting = chain(firewalld, "filter_PREROUTING");
        assert!(matches!(
            prerouting.rules[1].matches[1],
            Match::AssumedToFail(_)
        ));
        assert_eq!(prerouting.rules[1].action, Action::Drop);
    }

    #[test]
    fn docker_native_table_with_set_and_range() {
        let ruleset = parse_nft_json(&fixture("docker.json")).unwrap();
        let fwtest = table(&ruleset, TableFamily::Inet, "fwtest");
        let set = &fwtest.sets[0];
        assert_eq!(set.name, "allowed_tcp");
        assert_eq!(set.values, [Value::Port(18080), Value::Port(18084)]);
        let input = chain(fwtest, "input");
        assert_eq!(
            input.rules[3].matches[1],
            Match::Test {
                field: Field::Dport,
                negated: false,
                values: Values::Set("allowed_tcp".into())
            }
        );
        let range = &input.rules[7];
        assert_eq!(range.handle, Some(11));
        assert_eq!(
            range.matches[1],
            list(Field::Dport, vec![Value::PortRange(18085, 18086)])
        );
        assert_eq!(
            input.rules[0].matches[0],
            Match::Test {
                field: Field::Iifname,
                negated: true,
                values: Values::List(vec![Value::Name("fwt-h".into())])
            }
        );
        assert_eq!(input.rules[10].action, Action::Jump("more".into()));
        assert_eq!(input.base.as_ref().unwrap().policy, Policy::Accept);
        let nat = table(&ruleset, TableFamily::Ip, "nat");
        assert!(holds_xt(nat) && !holds_xt(fwtest));
        assert!(unknowns(&ruleset).contains(&"xt target DNAT".to_string()));
    }

    #[test]
    fn unknown_constructs_stay_unknown_and_the_rest_parses() {
        let ruleset = parse_nft_json(&fixture("odd.json")).unwrap();
        let odd = table(&ruleset, TableFamily::Inet, "odd");
        let input = chain(odd, "input");
        assert_eq!(input.rules.len(), 24);
        assert_eq!(input.rules[0].matches, [Match::Unknown("osf name".into())]);
        let concat = Match::Unknown("concatenation ip saddr . tcp dport".into());
        assert_eq!(input.rules[1].matches, [concat]);
        assert_eq!(input.rules[7].matches, [Match::Unknown("ct mark".into())]);
        let pairs = odd.sets.iter().find(|s| s.name == "pairs").unwrap();
        assert!(pairs.unknown.as_ref().unwrap().starts_with("concatenation"));
        assert_eq!(input.rules[23].action, Action::Return);
    }

    #[test]
    fn verdict_maps_named_and_anonymous() {
        let ruleset = parse_nft_json(&fixture("odd.json")).unwrap();
        let input = chain(table(&ruleset, TableFamily::Inet, "odd"), "input");
        let Action::Vmap { field, entries } = &input.rules[3].action else {
            panic!("{:?}", input.rules[3].action)
        };
        assert_eq!(*field, Field::Dport);
        assert_eq!(
            entries[2],
            (Value::PortRange(1000, 2000), Action::Jump("more".into()))
        );
        assert_eq!(
            input.rules[3].matches,
            [list(Field::L4Proto, vec![Value::Proto(6)])]
        );
        let Action::Vmap { entries, .. } = &input.rules[4].action else {
            panic!("{:?}", input.rules[4].action)
        };
        assert_eq!(entries[1], (Value::PortRange(54, 60), Action::Drop));
    }

    #[test]
    fn limits_nat_and_sets_of_addresses() {
        let ruleset = parse_nft_json(&fixture("odd.json")).unwrap();
        let odd = table(&ruleset, TableFamily::Inet, "odd");
        let input = chain(odd, "input");
        assert!(matches!(input.rules[5].matches[0], Match::AssumedToFail(_)));
        assert!(matches!(input.rules[6].matches[0], Match::AssumedToPass(_)));
        let nets = &odd.sets[0].values;
        assert_eq!(nets[1], Value::Net("172.16.0.1/32".parse().unwrap()));
        let range = Value::AddrRange(
            "192.168.1.1".parse().unwrap(),
            "192.168.1.9".parse().unwrap(),
        );
        assert_eq!(nets[2], range);
        let nat = chain(odd, "nat");
        let to = |addr: &str, port| Action::Dnat {
            addr: Some(addr.parse().unwrap()),
            port,
        };
        assert_eq!(nat.rules[0].action, to("10.0.0.2", Some(8080)));
        assert_eq!(nat.rules[1].action, to("10.0.0.3", None));
        assert_eq!(nat.rules[2].action, Action::Redirect { port: None });
        assert!(matches!(nat.rules[4].action, Action::Unknown(_)));
        assert_eq!(chain(odd, "post").rules[0].action, Action::Continue);
        let families: Vec<TableFamily> = ruleset.tables.iter().map(|t| t.family).collect();
        assert_eq!(
            families[1..],
            [TableFamily::Netdev, TableFamily::Bridge, TableFamily::Arp]
        );
    }

    #[test]
    fn tcp_flags_and_fragments_for_a_new_connections_syn() {
        let ruleset = parse_nft_json(&fixture("odd.json")).unwrap();
        let rules = &chain(table(&ruleset, TableFamily::Inet, "odd"), "synflags").rules;
        let tcp = list(Field::L4Proto, vec![Value::Proto(6)]);
        assert_eq!(rules[0].matches[0], tcp);
        assert!(matches!(rules[0].matches[1], Match::AssumedToFail(_)));
        assert!(matches!(rules[1].matches[1], Match::AssumedToPass(_)));
        assert!(matches!(rules[2].matches[1], Match::AssumedToPass(_)));
        assert!(matches!(rules[3].matches[1], Match::AssumedToFail(_)));
        assert!(matches!(&rules[4].matches[0], Match::AssumedToFail(w) if w.contains("frag-off")));
        assert_eq!(rules[5].action, Action::Unknown("notrack".into()));
    }

    #[test]
    fn queue_and_xt_are_unknown_and_the_next_rule_still_reads() {
        let exprs = r#"[{"counter": null}, {"queue": {"num": 3}}]"#;
        let ruleset = parse_nft_json(&rule_json(exprs)).unwrap();
        let rules = &ruleset.tables[0].chains[0].rules;
        assert_eq!(rules[0].action, Action::Unknown("queue".into()));
        assert_eq!(rules[1].action, Action::Accept);
        assert_eq!(rules[1].position, 2);
        let exprs = r#"[{"xt": {"type": "match", "name": "addrtype"}}, {"xt": {"type": "target", "name": "DNAT"}}]"#;
        let ruleset = parse_nft_json(&rule_json(exprs)).unwrap();
        let rule = &ruleset.tables[0].chains[0].rules[0];
        assert_eq!(rule.matches, [Match::Unknown("xt match addrtype".into())]);
        assert_eq!(rule.action, Action::Unknown("xt target DNAT".into()));
    }

    #[test]
    fn a_value_not_understood_leaves_its_test_unknown() {
        let exprs = r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "tcp",
            "field": "dport"}}, "right": "ssh"}}, {"match": {"left": {"payload": {"protocol":
            "udp", "field": "dport"}}, "op": "<", "right": 1024}}, {"drop": null}]"#;
        let ruleset = parse_nft_json(&rule_json(exprs)).unwrap();
        let rule = &ruleset.tables[0].chains[0].rules[0];
        assert_eq!(rule.matches[1], Match::Unknown("tcp dport == ssh".into()));
        assert_eq!(
            rule.matches[3],
            list(Field::Dport, vec![Value::PortRange(0, 1023)])
        );
        assert_eq!(rule.action, Action::Drop);
    }

    #[test]
    fn only_bad_json_or_a_bad_top_is_an_error() {
        assert!(matches!(
            parse_nft_json("{\"nftables\": ["),
            Err(NftJsonError::Syntax(_))
        ));
        assert!(matches!(parse_nft_json("[1, 2]"), Err(NftJsonError::Shape)));
        assert!(matches!(
            parse_nft_json("{\"nft\": []}"),
            Err(NftJsonError::Shape)
        ));
        let odd = r#"{"nftables": [42, {"rule": {}}, {"table": {"family": "decnet"}}, {}]}"#;
        assert!(parse_nft_json(odd).unwrap().tables.is_empty());
    }

    /// How long reading takes, best of several runs: `cargo test --release --lib parse_cost --
    /// --ignored --nocapture`, with PORTS_BIG_JSON naming a dump of big.nft (loaded with
    /// `nft -f` in a scratch namespace, then `nft -j list ruleset`).
    #[test]
    #[ignore = "a measurement, not a check: run it in a release build"]
    fn parse_cost() {
        let mut dumps: Vec<(String, String)> = ["ufw.json", "fwd.json", "docker.json"]
            .iter()
            .map(|name| (name.to_string(), fixture(name)))
            .collect();
        if let Ok(path) = std::env::var("PORTS_BIG_JSON") {
            dumps.push((path.clone(), std::fs::read_to_string(path).unwrap()));
        }
        for (name, text) in dumps {
            let ms = best_of(|| parse_nft_json(&text).unwrap().tables.len());
            println!("parse_nft_json {name}: {} bytes, {ms:.2} ms", text.len());
        }
        let save = fixture("ufw.v6.save");
        let ms =
            best_of(|| crate::firewall::save::parse_save(&save, TableFamily::Ip6, Origin::Nft));
        println!("parse_save ufw.v6.save: {} bytes, {ms:.2} ms", save.len());
        let dumps = crate::firewall::read::Dumps {
            nft_json: Some(fixture("ufw.json")),
            nft_save_v4: Some(fixture("ufw.v4.save")),
            nft_save_v6: Some(save),
            ..Default::default()
        };
        let ms = best_of(|| crate::firewall::read::read(&dumps).notes.len());
        println!("read ufw (JSON and both saves): {ms:.2} ms");
    }

    /// The fastest of ten runs, in milliseconds.
    fn best_of<T>(mut run: impl FnMut() -> T) -> f64 {
        let once = |_| {
            let start = std::time::Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        };
        let best = (0..10).map(once).min().unwrap_or_default();
        best.as_secs_f64() * 1e3
    }

    fn any_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::from),
            "[a-z@0-9.:/ -]{0,12}".prop_map(Json::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                prop::collection::vec(("[a-z]{1,8}", inner), 0..4)
                    .prop_map(|pairs| Json::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn random_text_never_panics(text in ".{0,200}") {
            let _ = parse_nft_json(&text);
        }

        #[test]
        fn random_expressions_never_panic(a in any_json(), b in any_json(), c in any_json()) {
            let exprs = serde_json::json!([a, {"match": {"op": "==", "left": b, "right": c}},
                {"vmap": {"key": a, "data": c}}, {"dnat": b}]);
            let _ = parse_nft_json(&rule_json(&exprs.to_string()));
            let set = serde_json::json!({"nftables": [{"set": {"family": "ip", "table": "t",
                "name": "s", "type": a, "elem": b}}, {"chain": {"family": "ip", "table": "t",
                "name": "c", "hook": "input", "prio": c}}]});
            let _ = parse_nft_json(&set.to_string());
        }
    }
}
