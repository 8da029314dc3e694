//! Reads `iptables-save`/`ip6tables-save` text (the nft backend's and legacy's are the same
//! format) into our representation: `*table` sections, `:CHAIN POLICY` declarations (a
//! built-in chain becomes a base chain at the priority nft gives that table's hook) and
//! `-A CHAIN` rules, numbered by position as iptables names them.
//!
//! Every line that is not understood keeps its rule: an unknown option or module becomes a
//! `Match::Unknown` with its text (`set --match-set blocked src`, `owner --uid-owner 0`), an
//! unknown target an `Action::Unknown`. It does not guess: ipset contents, `recent` lists
//! without a hit count, addrtype limited to an interface, marks, `CT --notrack` are unknown.
//! It assumes, and says: a rate limit (`limit`, `hashlimit`, `recent --hitcount`) does not
//! trip for one new connection, a host we answer passes a reverse-path check (`rpfilter`),
//! and a new connection's first packet is a SYN (`--syn`, `--tcp-flags`), not a later
//! fragment (`-f`), without a routing header (`-m rt`).

use std::collections::HashSet;
use std::net::IpAddr;

use super::rules::{
    Action, BaseChain, Chain, ChainKind, Field, Hook, Match, Origin, Policy, Rule, Ruleset, Table,
    TableFamily, Value, Values,
};
use super::words;

pub fn parse_save(text: &str, family: TableFamily, origin: Origin) -> Ruleset {
    let mut tables: Vec<Table> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('*') {
            tables.push(empty_table(name, family, origin));
        } else if let Some(table) = tables.last_mut() {
            table_line(table, line);
        }
    }
    Ruleset { tables }
}

fn empty_table(name: &str, family: TableFamily, origin: Origin) -> Table {
    Table {
        family,
        name: name.trim().to_string(),
        origin,
        chains: Vec::new(),
        sets: Vec::new(),
    }
}

/// A declaration or a rule; comments, `COMMIT` and lines of no known form are read past.
fn table_line(table: &mut Table, line: &str) {
    if let Some(declaration) = line.strip_prefix(':') {
        declare(table, declaration);
        return;
    }
    let tokens = tokens(line);
    // `iptables-save -c` puts the counters first: `[0:0] -A INPUT ...`.
    let skip = usize::from(tokens.first().is_some_and(|t| t.text.starts_with('[')));
    if let [append, chain, rest @ ..] = &tokens[skip..]
        && append.text == "-A"
        && !append.quoted
    {
        append_rule(table, &chain.text, rest);
    }
}

fn declare(table: &mut Table, declaration: &str) {
    let mut words = declaration.split_whitespace();
    let (Some(name), policy) = (words.next(), words.next()) else {
        return;
    };
    let base = match policy {
        Some("ACCEPT") => Some(base_chain(&table.name, name, Policy::Accept)),
        Some("DROP") => Some(base_chain(&table.name, name, Policy::Drop)),
        _ => None,
    };
    let index = chain_index(table, name);
    table.chains[index].base = base;
}

fn base_chain(table: &str, chain: &str, policy: Policy) -> BaseChain {
    let hook = words::hook(chain);
    let kind = match (table, &hook) {
        ("nat", _) => ChainKind::Nat,
        ("mangle", Hook::Output) => ChainKind::Route,
        _ => ChainKind::Filter,
    };
    BaseChain {
        priority: priority(table, &hook),
        hook,
        kind,
        policy,
    }
}

/// The priority iptables-nft gives a built-in chain: nft's standard one for its table.
fn priority(table: &str, hook: &Hook) -> i32 {
    match (table, hook) {
        ("raw", _) => -300,
        ("mangle", _) => -150,
        ("nat", Hook::Input | Hook::Postrouting) => 100,
        ("nat", _) => -100,
        ("security", _) => 50,
        _ => 0,
    }
}

fn chain_index(table: &mut Table, name: &str) -> usize {
    if let Some(index) = table.chains.iter().position(|c| c.name == name) {
        return index;
    }
    table.chains.push(Chain {
        name: name.to_string(),
        base: None,
        rules: Vec::new(),
    });
    table.chains.len() - 1
}

fn append_rule(table: &mut Table, chain: &str, tokens: &[Token]) {
    let chains: HashSet<&str> = table.chains.iter().map(|c| c.name.as_str()).collect();
    let (matches, action) = read_rule(&options(tokens), &chains);
    let index = chain_index(table, chain);
    let rules = &mut table.chains[index].rules;
    rules.push(Rule {
        position: rules.len() + 1,
        handle: None,
        matches,
        action,
    });
}

/// One word of a line; a quoted one is never an option.
struct Token {
    text: String,
    quoted: bool,
}

/// Words split at blanks, with `"..."` (and `\"` inside) as iptables-save quotes them.
fn tokens(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let (mut quoting, mut chars) = (false, line.chars());
    while let Some(c) = chars.next() {
        if c.is_whitespace() && !quoting {
            tokens.extend(current.take());
            continue;
        }
        let token = current.get_or_insert_with(|| Token {
            text: String::new(),
            quoted: false,
        });
        match c {
            '"' => (quoting, token.quoted) = (!quoting, true),
            '\\' if quoting => token.text.extend(chars.next()),
            _ => token.text.push(c),
        }
    }
    tokens.extend(current);
    tokens
}

/// An option with its `!` and its values: `! --ctstate NEW,ESTABLISHED`.
struct Opt {
    negated: bool,
    name: String,
    values: Vec<String>,
}

impl Opt {
    fn value(&self) -> &str {
        self.values.first().map_or("", String::as_str)
    }

    /// As written, for an `Unknown`.
    fn render(&self) -> String {
        let bang = if self.negated { "! " } else { "" };
        let mut text = format!("{bang}{}", self.name);
        for value in &self.values {
            text.push(' ');
            text.push_str(value);
        }
        text
    }
}

fn options(tokens: &[Token]) -> Vec<Opt> {
    let mut opts: Vec<Opt> = Vec::new();
    let mut negated = false;
    for token in tokens {
        let is_option = !token.quoted && token.text.starts_with('-') && token.text.len() > 1;
        if !token.quoted && token.text == "!" {
            negated = true;
        } else if let (false, Some(last)) = (is_option || negated, opts.last_mut()) {
            last.values.push(token.text.clone());
        } else {
            opts.push(Opt {
                negated: std::mem::take(&mut negated),
                name: long_name(&token.text).to_string(),
                values: Vec::new(),
            });
        }
    }
    opts
}

/// The short form of the core options iptables also accepts spelt out.
fn long_name(name: &str) -> &str {
    match name {
        "--protocol" => "-p",
        "--source" | "--src" => "-s",
        "--destination" | "--dst" => "-d",
        "--in-interface" => "-i",
        "--out-interface" => "-o",
        "--match" => "-m",
        "--jump" => "-j",
        "--goto" => "-g",
        "--fragment" => "-f",
        other => other,
    }
}

/// A module, target or core option with the `--` options that follow it.
struct Group<'a> {
    head: &'a Opt,
    opts: &'a [Opt],
}

impl Group<'_> {
    fn render(&self) -> String {
        let mut text = self.head.render();
        for opt in self.opts {
            text.push(' ');
            text.push_str(&opt.render());
        }
        text
    }
}

fn groups(opts: &[Opt]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut start = 0;
    for (index, opt) in opts.iter().enumerate() {
        if index > start && !opt.name.starts_with("--") {
            groups.push(Group {
                head: &opts[start],
                opts: &opts[start + 1..index],
            });
            start = index;
        }
    }
    if let Some(head) = opts.get(start) {
        groups.push(Group {
            head,
            opts: &opts[start + 1..],
        });
    }
    groups
}

/// The matches in order, and the action: the first `-j`/`-g`, or none (the next rule).
fn read_rule(opts: &[Opt], chains: &HashSet<&str>) -> (Vec<Match>, Action) {
    let mut matches = Vec::new();
    let mut action = None;
    for group in groups(opts) {
        match group.head.name.as_str() {
            "-j" => action = action.or_else(|| Some(target(&group, chains))),
            "-g" => action = action.or_else(|| Some(Action::Goto(group.head.value().into()))),
            _ => matches.extend(group_matches(&group)),
        }
    }
    (matches, action.unwrap_or(Action::Continue))
}

fn group_matches(group: &Group) -> Vec<Match> {
    let head = group.head;
    let mut matches = match head.name.as_str() {
        "-m" => return module(head.value(), group),
        "-p" => protocol(head),
        "-s" => addresses(Field::Saddr, head),
        "-d" => addresses(Field::Daddr, head),
        "-i" => vec![interface(Field::Iifname, head)],
        "-o" => vec![interface(Field::Oifname, head)],
        // A new connection's first packet is no later fragment.
        "-f" => vec![assumed(head.negated, "-f (a later fragment)")],
        "-4" | "-6" => vec![],
        _ => return vec![Match::Unknown(group.render())],
    };
    // `-p tcp --dport 22` without `-m tcp`: the protocol names the module.
    if !group.opts.is_empty() {
        let implied = Group {
            head,
            opts: group.opts,
        };
        matches.extend(module(head.value(), &implied));
    }
    matches
}

fn test(field: Field, negated: bool, values: Vec<Value>) -> Match {
    Match::Test {
        field,
        negated,
        values: Values::List(values),
    }
}

/// `AssumedToPass` if the construct holds for the connection we model, else `AssumedToFail`.
fn assumed(holds: bool, what: &str) -> Match {
    match holds {
        true => Match::AssumedToPass(what.to_string()),
        false => Match::AssumedToFail(what.to_string()),
    }
}

fn protocol(opt: &Opt) -> Vec<Match> {
    match (opt.value(), words::proto_number(opt.value())) {
        ("all" | "0", _) => vec![],
        (_, Some(number)) => vec![test(
            Field::L4Proto,
            opt.negated,
            vec![Value::Proto(number)],
        )],
        _ => vec![Match::Unknown(opt.render())],
    }
}

fn addresses(field: Field, opt: &Opt) -> Vec<Match> {
    let nets: Option<Vec<Value>> = opt
        .value()
        .split(',')
        .map(|a| words::net(a).map(Value::Net))
        .collect();
    match nets {
        Some(nets) => vec![test(field, opt.negated, nets)],
        None => vec![Match::Unknown(opt.render())],
    }
}

/// iptables' `eth+` is our `eth*`.
fn interface(field: Field, opt: &Opt) -> Match {
    let name = match opt.value().strip_suffix('+') {
        Some(stem) => format!("{stem}*"),
        None => opt.value().to_string(),
    };
    test(field, opt.negated, vec![Value::Name(name)])
}

fn module(name: &str, group: &Group) -> Vec<Match> {
    let each = |read: fn(&Opt) -> Option<Match>| -> Vec<Match> {
        let unknown = |opt: &Opt| Match::Unknown(format!("{name} {}", opt.render()));
        group
            .opts
            .iter()
            .map(|o| read(o).unwrap_or_else(|| unknown(o)))
            .collect()
    };
    let whole = || format!("{name} {}", render_all(group.opts));
    match name {
        "tcp" | "udp" | "sctp" | "dccp" | "udplite" => each(transport_opt),
        "multiport" => each(multiport_opt),
        "conntrack" | "state" => each(conntrack_opt),
        "addrtype" => each(addrtype_opt),
        "iprange" => each(iprange_opt),
        // iptables takes an ICMP type only after `-p icmp`, which says all it does to TCP or UDP.
        "comment" | "icmp" | "icmp6" => vec![],
        "limit" => vec![Match::AssumedToPass(whole())],
        "hashlimit" => vec![hashlimit(group.opts, whole())],
        "recent" => vec![recent(group.opts, whole())],
        "rpfilter" => vec![rpfilter(group.opts)],
        "rt" => vec![Match::AssumedToFail(format!(
            "{} (a routing header)",
            whole()
        ))],
        _ => vec![Match::Unknown(whole().trim_end().to_string())],
    }
}

fn render_all(opts: &[Opt]) -> String {
    let parts: Vec<String> = opts.iter().map(Opt::render).collect();
    parts.join(" ")
}

fn list(opt: &Opt, read: impl Fn(&str) -> Option<Value>) -> Option<Vec<Value>> {
    opt.value().split(',').map(read).collect()
}

fn transport_opt(opt: &Opt) -> Option<Match> {
    let field = match opt.name.as_str() {
        "--dport" | "--destination-port" => Field::Dport,
        "--sport" | "--source-port" => Field::Sport,
        "--syn" => return Some(assumed(!opt.negated, "tcp --syn (a new connection's SYN)")),
        "--tcp-flags" => return tcp_flags(opt),
        _ => return None,
    };
    Some(test(
        field,
        opt.negated,
        vec![words::port_range(opt.value())?],
    ))
}

/// `--tcp-flags MASK COMP` for a new connection's SYN: its flags under the mask are COMP.
fn tcp_flags(opt: &Opt) -> Option<Match> {
    let [mask, comp] = opt.values.as_slice() else {
        return None;
    };
    let bits = |list: &str| list.split(',').map(words::tcp_flag).sum::<Option<u8>>();
    let holds = words::SYN_ALONE & bits(mask)? == bits(comp)?;
    let what = format!("tcp {} (a new connection's SYN)", opt.render());
    Some(assumed(holds != opt.negated, &what))
}

fn multiport_opt(opt: &Opt) -> Option<Match> {
    let field = match opt.name.as_str() {
        "--dports" | "--destination-ports" => Field::Dport,
        "--sports" | "--source-ports" => Field::Sport,
        _ => return None,
    };
    Some(test(field, opt.negated, list(opt, words::port_range)?))
}

fn conntrack_opt(opt: &Opt) -> Option<Match> {
    let field = match opt.name.as_str() {
        "--ctstate" | "--state" => Field::CtState,
        "--ctstatus" => Field::CtStatus,
        _ => return None,
    };
    Some(test(field, opt.negated, list(opt, lower_name)?))
}

fn addrtype_opt(opt: &Opt) -> Option<Match> {
    if opt.name == "--src-type" && opt.value() == "LOCAL" {
        return Some(local_source(opt));
    }
    let types = list(opt, lower_name).filter(|_| opt.name == "--dst-type")?;
    Some(test(Field::FibDaddrType, opt.negated, types))
}

/// A packet from another host never comes from one of this host's addresses (the kernel drops
/// it as martian unless `accept_local` is set): Docker's hairpin MASQUERADE
/// (`--userland-proxy=false`) never matches it.
fn local_source(opt: &Opt) -> Match {
    let what = format!("addrtype {}", opt.render());
    match opt.negated {
        true => Match::AssumedToPass(what),
        false => Match::AssumedToFail(what),
    }
}

fn lower_name(word: &str) -> Option<Value> {
    Some(Value::Name(word.to_ascii_lowercase()))
}

fn iprange_opt(opt: &Opt) -> Option<Match> {
    let field = match opt.name.as_str() {
        "--src-range" => Field::Saddr,
        "--dst-range" => Field::Daddr,
        _ => return None,
    };
    Some(test(
        field,
        opt.negated,
        vec![words::addr_range(opt.value())?],
    ))
}

/// `--hashlimit-upto` holds under the rate, `--hashlimit-above` only over it.
fn hashlimit(opts: &[Opt], what: String) -> Match {
    let has = |name: &str| opts.iter().any(|o| o.name == name);
    if has("--hashlimit-above") {
        Match::AssumedToFail(what)
    } else if has("--hashlimit-upto") || has("--hashlimit") {
        Match::AssumedToPass(what)
    } else {
        Match::Unknown(what)
    }
}

/// `--set` holds; `--update`/`--rcheck` with a hit count trips only over it. Without a
/// count they ask whether the source was seen (port knocking): not guessed.
fn recent(opts: &[Opt], what: String) -> Match {
    let find = |name: &str| opts.iter().find(|o| o.name == name);
    let counted = find("--hitcount").is_some();
    match (find("--set"), find("--update").or_else(|| find("--rcheck"))) {
        (Some(set), None) => assumed(!set.negated, &what),
        (None, Some(check)) if counted => assumed(check.negated, &what),
        _ => Match::Unknown(what),
    }
}

fn rpfilter(opts: &[Opt]) -> Match {
    let inverted = opts.iter().any(|o| o.name == "--invert");
    let what = "rpfilter (reverse path check, passed by a host we answer)";
    assumed(!inverted, what)
}

/// No verdict of their own: the next rule is read.
const GOES_ON: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CT",
    "NOTRACK",
    "MASQUERADE",
    "SNAT",
    "TCPMSS",
    "CHECKSUM",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "AUDIT",
    "SECMARK",
    "CONNSECMARK",
];

fn target(group: &Group, chains: &HashSet<&str>) -> Action {
    let name = group.head.value();
    let option = |wanted: &str| group.opts.iter().find(|o| o.name == wanted);
    match name {
        "ACCEPT" => Action::Accept,
        "DROP" => Action::Drop,
        "REJECT" => Action::Reject,
        "RETURN" => Action::Return,
        "DNAT" => option("--to-destination")
            .and_then(|o| dnat(o.value()))
            .unwrap_or_else(|| Action::Unknown(group.render())),
        "REDIRECT" => redirect(option("--to-ports").map(Opt::value))
            .unwrap_or_else(|| Action::Unknown(group.render())),
        // An untracked packet is in no `ct state new`: what follows is not guessed.
        "NOTRACK" => Action::Unknown(group.render()),
        "CT" if option("--notrack").is_some() => Action::Unknown(group.render()),
        _ if GOES_ON.contains(&name) => Action::Continue,
        _ if chains.contains(name) => Action::Jump(name.to_string()),
        _ => Action::Unknown(group.render()),
    }
}

/// `A`, `A:P`, `[A6]:P`, `A6`, or `:P`; ranges are not guessed at.
fn dnat(to: &str) -> Option<Action> {
    let (addr, port) = match to.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?,
        None if to.matches(':').count() == 1 => to.split_once(':')?,
        None => (to, ""),
    };
    let addr = match addr {
        "" => None,
        addr => Some(addr.parse::<IpAddr>().ok()?),
    };
    let port = match port.trim_start_matches(':') {
        "" => None,
        port => Some(port.parse().ok()?),
    };
    Some(Action::Dnat { addr, port })
}

fn redirect(ports: Option<&str>) -> Option<Action> {
    let port = match ports {
        None => None,
        Some(port) => Some(port.parse().ok()?),
    };
    Some(Action::Redirect { port })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/firewall/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    }

    fn chain<'a>(ruleset: &'a Ruleset, table: &str, name: &str) -> &'a Chain {
        let table = ruleset.tables.iter().find(|t| t.name == table).unwrap();
        table.chains.iter().find(|c| c.name == name).unwrap()
    }

    fn test_of(field: Field, negated: bool, values: Vec<Value>) -> Match {
        test(field, negated, values)
    }

    fn one_rule(line: &str) -> Rule {
        let text = format!("*filter\n:INPUT DROP [0:0]\n:mine - [0:0]\n{line}\nCOMMIT\n");
        let ruleset = parse_save(&text, TableFamily::Ip, Origin::IptablesLegacy);
        chain(&ruleset, "filter", "INPUT").rules[0].clone()
    }

    #[test]
    fn ufw_user_rules_and_policies() {
        let ruleset = parse_save(
            &fixture("ufw.v4.save"),
            TableFamily::Ip,
            Origin::IptablesNft,
        );
        let input = chain(&ruleset, "filter", "INPUT").base.clone().unwrap();
        assert_eq!(
            (input.hook, input.priority, input.policy),
            (Hook::Input, 0, Policy::Drop)
        );
        let user = &chain(&ruleset, "filter", "ufw-user-input").rules;
        let tcp = test_of(Field::L4Proto, false, vec![Value::Proto(6)]);
        let postgres = test_of(Field::Dport, false, vec![Value::Port(5432)]);
        assert_eq!(user[1].matches, [tcp.clone(), postgres]);
        assert_eq!((user[1].position, &user[1].action), (2, &Action::Drop));
        let lan = Value::Net("192.168.1.0/24".parse().unwrap());
        assert_eq!(user[3].matches[0], test_of(Field::Saddr, false, vec![lan]));
        assert_eq!(user[3].action, Action::Accept);
        assert!(matches!(user[4].matches[3], Match::AssumedToPass(_)));
        assert!(matches!(user[5].matches[3], Match::AssumedToFail(_)));
        assert_eq!(user[5].action, Action::Jump("ufw-user-limit".into()));
        let range = vec![Value::PortRange(60000, 61000)];
        assert_eq!(user[7].matches[1], test_of(Field::Dport, false, range));
    }

    #[test]
    fn ufw_logging_limit_with_a_quoted_prefix() {
        let ruleset = parse_save(
            &fixture("ufw.v4.save"),
            TableFamily::Ip,
            Origin::IptablesNft,
        );
        let deny = &chain(&ruleset, "filter", "ufw-logging-deny").rules;
        let invalid = test_of(Field::CtState, false, vec![Value::Name("invalid".into())]);
        assert_eq!(deny[0].matches[0], invalid);
        assert_eq!(deny[0].action, Action::Return);
        assert_eq!(deny[1].action, Action::Continue);
        let not_local = &chain(&ruleset, "filter", "ufw-not-local").rules;
        let local = test_of(
            Field::FibDaddrType,
            false,
            vec![Value::Name("local".into())],
        );
        assert_eq!(not_local[0].matches, [local]);
    }

    #[test]
    fn docker_nat_dnat_and_forward() {
        let text = fixture("docker.iptables-save");
        let ruleset = parse_save(&text, TableFamily::Ip, Origin::IptablesNft);
        let prerouting = chain(&ruleset, "nat", "PREROUTING");
        let base = prerouting.base.clone().unwrap();
        assert_eq!((base.kind, base.priority), (ChainKind::Nat, -100));
        assert_eq!(prerouting.rules[0].action, Action::Jump("DOCKER".into()));
        let docker = &chain(&ruleset, "nat", "DOCKER").rules[1];
        let not_bridge = test_of(Field::Iifname, true, vec![Value::Name("docker0".into())]);
        assert_eq!(docker.matches[0], not_bridge);
        assert_eq!(
            docker.matches[2],
            test_of(Field::Dport, false, vec![Value::Port(18090)])
        );
        let to = Action::Dnat {
            addr: Some("172.17.0.2".parse().unwrap()),
            port: Some(8080),
        };
        assert_eq!(docker.action, to);
        assert_eq!(
            chain(&ruleset, "nat", "POSTROUTING").rules[0].action,
            Action::Continue
        );
        let postrouting = chain(&ruleset, "nat", "POSTROUTING").base.clone().unwrap();
        assert_eq!(postrouting.priority, 100);
    }

    #[test]
    fn options_and_targets() {
        let rule = one_rule(
            r#"-A INPUT ! -s 10.0.0.0/8 -i eth+ -m comment --comment "x -j DROP \"y\"" -g mine"#,
        );
        let outside = test_of(
            Field::Saddr,
            true,
            vec![Value::Net("10.0.0.0/8".parse().unwrap())],
        );
        let eth = test_of(Field::Iifname, false, vec![Value::Name("eth*".into())]);
        assert_eq!(rule.matches, [outside, eth]);
        assert_eq!(rule.action, Action::Goto("mine".into()));
        let rule = one_rule("-A INPUT -p udp -m multiport --dports 53,1000:1010 -j mine");
        let ports = vec![Value::Port(53), Value::PortRange(1000, 1010)];
        assert_eq!(rule.matches[1], test_of(Field::Dport, false, ports));
        assert_eq!(rule.action, Action::Jump("mine".into()));
        let rule = one_rule("-A INPUT -p tcp --dport 80 -j REDIRECT --to-ports 8080");
        assert_eq!(rule.matches.len(), 2);
        assert_eq!(rule.action, Action::Redirect { port: Some(8080) });
        let rule = one_rule("-A INPUT -p tcp -j REJECT --reject-with tcp-reset");
        assert_eq!(rule.action, Action::Reject);
        assert_eq!(one_rule("-A INPUT -s 1.2.3.4").action, Action::Continue);
        assert_eq!(
            one_rule("-A INPUT -j MARK --set-mark 1").action,
            Action::Continue
        );
    }

    #[test]
    fn what_is_not_understood_keeps_its_rule() {
        let rule = one_rule("-A INPUT -m set --match-set blocked src -j DROP");
        assert_eq!(
            rule.matches,
            [Match::Unknown("set --match-set blocked src".into())]
        );
        assert_eq!(rule.action, Action::Drop);
        let rule = one_rule("-A INPUT -p tcp --dport notaport -m owner --uid-owner 0 -j ACCEPT");
        assert_eq!(
            rule.matches[1],
            Match::Unknown("tcp --dport notaport".into())
        );
        assert_eq!(
            rule.matches[2],
            Match::Unknown("owner --uid-owner 0".into())
        );
        let rule = one_rule("-A INPUT -j NFQUEUE --queue-num 1");
        assert_eq!(
            rule.action,
            Action::Unknown("-j NFQUEUE --queue-num 1".into())
        );
        let rule = one_rule("-A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT");
        assert_eq!(
            rule.matches[1],
            Match::Unknown("addrtype --limit-iface-in".into())
        );
        // Docker's hairpin MASQUERADE has it in nat POSTROUTING.
        let rule = one_rule("-A INPUT -m addrtype --src-type LOCAL -j ACCEPT");
        let local = Match::AssumedToFail("addrtype --src-type LOCAL".into());
        assert_eq!(rule.matches[0], local);
        let rule = one_rule("-A INPUT -m addrtype ! --src-type LOCAL -j ACCEPT");
        assert!(matches!(rule.matches[0], Match::AssumedToPass(_)));
        let rule = one_rule("-A INPUT -m addrtype --src-type UNICAST -j ACCEPT");
        assert!(matches!(rule.matches[0], Match::Unknown(_)));
        let rule = one_rule("-A INPUT garbage -j NOSUCHCHAIN");
        assert_eq!(rule.matches, [Match::Unknown("garbage".into())]);
        assert!(matches!(rule.action, Action::Unknown(_)));
        let rule = one_rule("-A INPUT -m recent --rcheck --name knock -j ACCEPT");
        assert!(matches!(rule.matches[0], Match::Unknown(_)));
        let rule = one_rule("-A INPUT -j DNAT --to-destination 10.0.0.1-10.0.0.9");
        assert!(matches!(rule.action, Action::Unknown(_)));
    }

    #[test]
    fn dnat_forms() {
        let v6 = Action::Dnat {
            addr: Some("fd00::2".parse().unwrap()),
            port: Some(80),
        };
        assert_eq!(dnat("[fd00::2]:80"), Some(v6));
        assert!(matches!(
            dnat("fd00::2"),
            Some(Action::Dnat { port: None, .. })
        ));
        assert_eq!(
            dnat(":80"),
            Some(Action::Dnat {
                addr: None,
                port: Some(80)
            })
        );
        assert_eq!(dnat("1.2.3.4:80-90"), None);
    }

    proptest! {
        #[test]
        fn random_text_never_panics(text in "(\\PC{0,40}\n){0,6}") {
            let _ = parse_save(&text, TableFamily::Ip6, Origin::IptablesNft);
        }

        #[test]
        fn random_rules_never_panic(words in prop::collection::vec(
            prop_oneof!["-[a-z]", "--[a-z-]{1,8}", "!", "\"[ a-z]{0,5}\"?", "[A-Za-z0-9.:/,+\\[\\]-]{0,10}"],
            0..12,
        )) {
            let text = format!("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING {}\n", words.join(" "));
            let _ = parse_save(&text, TableFamily::Ip, Origin::IptablesNft);
        }
    }
}
