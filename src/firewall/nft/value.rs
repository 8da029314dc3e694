//! Values as nft's JSON writes them (numbers, names, prefixes, ranges, `elem` wrappers, sets),
//! read by the kind of field they are compared with; and the short rendering an `Unknown`
//! carries.

use ipnet::IpNet;
use serde_json::Value as Json;

use super::text;
use crate::firewall::rules::{Field, Match, Set, Value, Values};
use crate::firewall::words;

/// What kind of value a field compares with, which decides how a JSON value is read.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Addr,
    Port,
    Proto,
    Name,
}

pub(super) fn kind(field: Field) -> Kind {
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

pub(super) fn read_set(name: &str, body: &Json) -> Set {
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
pub(super) fn value(kind: Kind, json: &Json) -> Option<Value> {
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

/// One field compared with the right-hand side; a value not understood leaves the test
/// unknown.
pub(super) fn compare(field: Field, op: &str, left: &Json, right: &Json) -> Match {
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

/// A short readable rendering of an expression, for an `Unknown`.
pub(super) fn describe(expr: &Json) -> String {
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
pub(super) fn short(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(40) {
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

pub(super) fn describe_all(list: &[Json], separator: &str) -> String {
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
