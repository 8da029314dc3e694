//! The nft reader on real dumps, on constructs it must keep unknown, and on random input.

use proptest::prelude::*;

use super::*;
use crate::firewall::rules::{Field, Hook, Origin, Value, Values};

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
    let ms = best_of(|| crate::firewall::save::parse_save(&save, TableFamily::Ip6, Origin::Nft));
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

const TABLE_AND_CHAIN: &str = r#"{"table": {"family": "inet", "name": "t"}},
    {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter",
      "hook": "input", "prio": 0, "policy": "drop"}}"#;
const RULE: &str = r#"{"family": "inet", "table": "t", "chain": "c", "handle": 7,
      "expr": [{"accept": null}]}"#;

fn with_rule(item: &str) -> String {
    format!(r#"{{"nftables": [{TABLE_AND_CHAIN}, {item}]}}"#)
}

fn rules_in_c(ruleset: &Ruleset) -> usize {
    chain(table(ruleset, TableFamily::Inet, "t"), "c")
        .rules
        .len()
}

#[test]
fn an_item_read_alone_keeps_its_rule_beside_another_key() {
    let text = with_rule(&format!(r#"{{"counter": {{}}, "rule": {RULE}}}"#));
    assert_eq!(rules_in_c(&parse_nft_json(&text).unwrap()), 1);
}

/// Text serde_json will not read, inside one rule, fails the dump as it did when the whole
/// document was read at once, rather than losing the rule.
#[test]
fn what_serde_json_refuses_in_a_rule_is_a_syntax_error() {
    let deep = format!("{}{}", "[".repeat(140), "]".repeat(140));
    for odd in ["1e400", "\"\\ud800\"", deep.as_str()] {
        let rule = RULE.replace("\"handle\": 7", &format!("\"handle\": 7, \"x\": {odd}"));
        let parsed = parse_nft_json(&with_rule(&format!(r#"{{"rule": {rule}}}"#)));
        assert!(matches!(parsed, Err(NftJsonError::Syntax(_))), "{odd}");
    }
}

#[test]
fn odd_items_and_tops_read_as_before() {
    let tables = |text: &str| parse_nft_json(text).map(|r| r.tables.len()).ok();
    assert_eq!(tables("  \n{\"nftables\": []}\n  "), Some(0));
    for shape in ["{\"nftables\": {}}", "{\"nftables\": 5}", "null"] {
        assert!(
            matches!(parse_nft_json(shape), Err(NftJsonError::Shape)),
            "{shape}"
        );
    }
    assert!(matches!(
        parse_nft_json("{\"nftables\": []} x"),
        Err(NftJsonError::Syntax(_))
    ));
    let escaped = r#"{"nft\u0061bles": [{"t\u0061ble": {"family": "inet", "name": "t"}}]}"#;
    assert_eq!(tables(escaped), Some(1));
    let skipped = r#"{"nftables": [[1], "x", null, {"rule": 5}, {"rule": []}, {"table": 3}]}"#;
    assert_eq!(tables(skipped), Some(0));
    // Several keys: the first in sorted order is the declaration.
    let two = r#"{"nftables": [{"zzz": 1, "table": {"family": "inet", "name": "t"}}]}"#;
    assert_eq!(tables(two), Some(1));
}
