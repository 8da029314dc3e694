//! One rule's statements as matches and an action: the tests nft's expressions make (with the
//! protocol and family they imply), the verdicts, NAT and verdict maps, and every statement
//! not understood as `Unknown`.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::value::{compare, describe, kind, short, value};
use super::{XT, text};
use crate::firewall::rules::{Action, Field, Match, TableFamily, Value, Values};
use crate::firewall::words;

/// What one statement of a rule is to the reader.
enum Statement {
    Matches(Vec<Match>),
    /// Read past: a counter, a log, a mark set.
    Ignored,
    /// Decides the rule; matches a verdict map's key implies come with it.
    Action(Vec<Match>, Action),
}

/// Where a rule is read: its table's family (for implied tests) and verdict maps.
pub(super) struct Context<'a> {
    pub family: TableFamily,
    pub table: usize,
    pub maps: &'a HashMap<(usize, String), Vec<Json>>,
}

impl Context<'_> {
    /// A rule's matches and its action: the first statement that decides; what follows
    /// it is never reached.
    pub(super) fn statements(&self, exprs: &[Json]) -> (Vec<Match>, Action) {
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
