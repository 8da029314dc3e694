//! `--firewall` against nmap on generated rulesets: a seeded generator writes nft rulesets
//! (policies, jumps, gotos, returns, sets, ranges, saddr/daddr, iifname, ct state, fib, reject
//! variants, prerouting redirects, verdict maps, an inet and an ip table at different
//! priorities), each is loaded into the Lab's server namespace in turn, and `ports -l
//! --firewall --json` must agree with nmap for every listener and NAT row. Zero wrong definite
//! answers, at most 2% unknown. `PORTS_FW_SEED=N` runs seed N alone, to reproduce a failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::firewall::{Lab, predicted_open};

/// Seeds run by default: `1..=SEEDS`.
const SEEDS: u64 = 50;
const TCP_LISTENERS: [u16; 12] = [
    18100, 18101, 18102, 18103, 18104, 18105, 18106, 18107, 18108, 18109, 18110, 18111,
];
const UDP_LISTENERS: [u16; 4] = [18150, 18151, 18152, 18153];
/// Ports only a prerouting rewrite may publish: 18120 redirects to a listener, 18121 to a
/// port nothing listens on, 18122 DNATs to the server's own address; 18160 is UDP's.
const TCP_NAT: [u16; 3] = [18120, 18121, 18122];
const UDP_NAT: [u16; 1] = [18160];
/// Where 18121 is redirected: nothing listens there.
const NOWHERE: u16 = 18129;
/// Nothing listens where this port goes, rewritten or not: nmap can only find it closed or
/// filtered, whatever the firewall lets through.
const DEAD_END: &str = "tcp/18121";

/// splitmix64: small, deterministic, good enough to pick rules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Some of `items`, in order, at least one.
    fn some<'a>(&mut self, items: &[&'a str]) -> Vec<&'a str> {
        let mut chosen: Vec<&str> = items.iter().copied().filter(|_| self.chance(35)).collect();
        if chosen.is_empty() {
            chosen.push(self.pick(items));
        }
        chosen
    }
}

/// Disjoint port elements, so any subset is a valid interval set.
const PORT_ELEMENTS: [&str; 11] = [
    "18100",
    "18102",
    "18104-18106",
    "18107",
    "18109-18111",
    "18120-18121",
    "18122",
    "18129",
    "18150",
    "18152-18153",
    "18160",
];
/// Source prefixes holding the client (10.213.0.2): at most one per set, they overlap.
const CLIENT_NETS: [&str; 5] = [
    "10.213.0.2",
    "10.213.0.0/30",
    "10.213.0.0/24",
    "10.213.0.2-10.213.0.3",
    "10.0.0.0/8",
];
/// Source prefixes without the client, disjoint from each other and from CLIENT_NETS.
const OTHER_NETS: [&str; 3] = ["192.168.7.0/24", "172.16.0.0/12", "203.0.113.0/24"];

/// Which table a rule is written for: what it may say differs.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// The inet table's input chain or a chain it jumps to.
    Inet,
    /// The ip table's input chain.
    Ip,
    /// A filter chain in prerouting: no reject, no jumps.
    Pre,
}

/// One generated ruleset, as `nft -f` reads it.
struct Gen {
    rng: Rng,
    /// Regular chains of the inet table: chain `c{i}` jumps only to a later one.
    chains: usize,
    /// A port the ip table drops and the inet table accepts, whichever runs first.
    contested: Option<u16>,
}

impl Gen {
    fn ruleset(seed: u64) -> String {
        let mut g = Gen {
            rng: Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed),
            chains: 0,
            contested: None,
        };
        g.chains = 1 + g.rng.below(3);
        let with_ip = g.rng.chance(80);
        if with_ip && g.rng.chance(60) {
            g.contested = Some(TCP_LISTENERS[g.rng.below(TCP_LISTENERS.len())]);
        }
        let mut priorities = [-10, 0, 10];
        let first = g.rng.below(3);
        priorities.swap(0, first);
        let mut text = g.inet_table(priorities[0]);
        if with_ip {
            let priority = priorities[1 + g.rng.below(2)];
            text.push_str(&g.ip_table(priority));
        }
        text
    }

    fn inet_table(&mut self, priority: i32) -> String {
        let mut t = String::from("table inet g {\n");
        let ports = self.rng.some(&PORT_ELEMENTS).join(", ");
        let _ = writeln!(
            t,
            "\tset tports {{ type inet_service; flags interval; elements = {{ {ports} }}; }}"
        );
        let nets = self.nets();
        let _ = writeln!(
            t,
            "\tset nets {{ type ipv4_addr; flags interval; elements = {{ {nets} }}; }}"
        );
        for i in (1..=self.chains).rev() {
            let count = 1 + self.rng.below(4);
            let rules = (0..count).map(|_| self.rule(Place::Inet, i)).collect();
            t.push_str(&chain(&format!("c{i}"), None, rules));
        }
        let vm = self.vmap_elements(Some(0));
        let _ = writeln!(
            t,
            "\tmap vm {{ type inet_service : verdict; flags interval; elements = {{ {vm} }}; }}"
        );
        if self.rng.chance(40) {
            let count = 1 + self.rng.below(3);
            let rules = (0..count).map(|_| self.rule(Place::Pre, 0)).collect();
            let hook = "type filter hook prerouting priority raw; policy accept;";
            t.push_str(&chain("pre", Some(hook.into()), rules));
        }
        if self.rng.chance(70) {
            t.push_str(&chain("nat", Some(nat_hook()), self.redirects()));
        }
        let policy = self.rng.pick(&["accept", "accept", "drop"]);
        let hook = format!("type filter hook input priority {priority}; policy {policy};");
        let count = 4 + self.rng.below(8);
        let mut rules: Vec<String> = (0..count).map(|_| self.rule(Place::Inet, 0)).collect();
        if let Some(port) = self.contested {
            rules.insert(0, format!("tcp dport {port} accept"));
        }
        t.push_str(&chain("input", Some(hook), rules));
        t.push_str("}\n");
        t
    }

    fn ip_table(&mut self, priority: i32) -> String {
        let policy = self.rng.pick(&["accept", "accept", "accept", "drop"]);
        let hook = format!("type filter hook input priority {priority}; policy {policy};");
        let count = 1 + self.rng.below(4);
        let mut rules: Vec<String> = (0..count).map(|_| self.rule(Place::Ip, 0)).collect();
        if let Some(port) = self.contested {
            rules.insert(0, format!("tcp dport {port} drop"));
        }
        format!("table ip g4 {{\n{}}}\n", chain("input", Some(hook), rules))
    }

    fn nets(&mut self) -> String {
        let mut nets: Vec<&str> = OTHER_NETS
            .iter()
            .copied()
            .filter(|_| self.rng.chance(50))
            .collect();
        if nets.is_empty() || self.rng.chance(50) {
            nets.push(self.rng.pick(&CLIENT_NETS));
        }
        nets.join(", ")
    }

    /// Verdict map elements keyed by distinct ports; jumps go to chains after `from`.
    /// Verdict map elements keyed by distinct ports; jumps (when `from` is given) go to the
    /// chains after it.
    fn vmap_elements(&mut self, from: Option<usize>) -> String {
        let keys = self.rng.some(&PORT_ELEMENTS);
        let verdicts: Vec<String> = keys
            .iter()
            .map(|key| format!("{key} : {}", self.verdict(from)))
            .collect();
        verdicts.join(", ")
    }

    fn verdict(&mut self, from: Option<usize>) -> String {
        match (self.rng.below(4), from) {
            (0, Some(from)) if from < self.chains => {
                format!("jump c{}", from + 1 + self.rng.below(self.chains - from))
            }
            (0 | 1, _) => "accept".into(),
            _ => "drop".into(),
        }
    }

    /// The nat chain's rewrites: each port of TCP_NAT and UDP_NAT, sometimes only for some
    /// sources or interfaces, sometimes a listener's own port.
    fn redirects(&mut self) -> Vec<String> {
        let mut rules = Vec::new();
        let mut add = |g: &mut Gen, body: String| {
            let guard = if g.rng.chance(30) {
                format!("{} ", g.condition(Place::Pre))
            } else {
                String::new()
            };
            if g.rng.chance(85) {
                rules.push(format!("{guard}{body}"));
            }
        };
        add(self, "tcp dport 18120 redirect to :18101".into());
        add(self, format!("tcp dport 18121 redirect to :{NOWHERE}"));
        add(self, "tcp dport 18122 dnat ip to 10.213.0.1:18102".into());
        add(self, "udp dport 18160 redirect to :18150".into());
        if self.rng.chance(30) {
            add(self, "tcp dport 18111 redirect to :18103".into());
        }
        rules
    }

    /// One rule: a protocol part, up to two more conditions, an action.
    fn rule(&mut self, place: Place, chain: usize) -> String {
        let proto = self.rng.pick(&["tcp", "tcp", "udp", "th", "meta", "none"]);
        let mut words: Vec<String> = Vec::new();
        let vmap = proto != "none" && proto != "meta" && place != Place::Pre && self.rng.chance(12);
        match proto {
            "tcp" | "udp" if !vmap => words.push(format!("{proto} dport {}", self.ports(place))),
            "th" if !vmap => words.push(format!(
                "meta l4proto {{ tcp, udp }} th dport {}",
                self.ports(place)
            )),
            "meta" => words.push(format!("meta l4proto {}", self.rng.pick(&["tcp", "udp"]))),
            _ => {}
        }
        for _ in 0..self.rng.below(3) {
            words.push(self.condition(place));
        }
        if vmap {
            let key = match proto {
                "th" => "meta l4proto { tcp, udp } th dport",
                "udp" => "udp dport",
                _ => "tcp dport",
            };
            // The named map is declared after the regular chains: only `input` names it.
            let named = place == Place::Inet && chain == 0 && self.rng.chance(50);
            let map = if !named {
                let from = (place == Place::Inet).then_some(chain);
                format!("{{ {} }}", self.vmap_elements(from))
            } else {
                "@vm".into()
            };
            words.push(format!("{key} vmap {map}"));
        } else {
            words.push(self.action(place, chain, proto));
        }
        words.join(" ")
    }

    fn ports(&mut self, place: Place) -> String {
        let one = |g: &mut Gen| {
            let listeners: Vec<u16> = TCP_LISTENERS
                .iter()
                .chain(&UDP_LISTENERS)
                .copied()
                .collect();
            listeners[g.rng.below(listeners.len())].to_string()
        };
        match self.rng.below(6) {
            0 => format!("{{ {} }}", self.rng.some(&PORT_ELEMENTS).join(", ")),
            1 if place != Place::Ip => "@tports".into(),
            2 => self
                .rng
                .pick(&["18100-18105", "18104-18111", "18150-18151", "18120-18129"])
                .into(),
            3 => format!("!= {}", one(self)),
            _ => one(self),
        }
    }

    fn condition(&mut self, place: Place) -> String {
        let choices: &[&str] = match self.rng.below(6) {
            0 => &[
                "ip saddr 10.213.0.2",
                "ip saddr 10.213.0.0/30",
                "ip saddr 10.0.0.0/8",
                "ip saddr 192.168.7.0/24",
                "ip saddr != 10.213.0.0/24",
                "ip saddr != 192.168.7.0/24",
                "ip saddr 10.213.0.2-10.213.0.3",
                "ip saddr { 10.213.0.0/30, 192.168.7.0/24 }",
                "ip saddr { 172.16.0.0/12, 203.0.113.0/24 }",
            ],
            1 if place != Place::Ip => &["ip saddr @nets", "ip saddr != @nets"],
            1 => &["ip saddr 10.213.0.0/29"],
            2 => &[
                "ip daddr 10.213.0.1",
                "ip daddr 10.213.0.0/30",
                "ip daddr 192.0.2.1",
                "ip daddr != 10.213.0.1",
            ],
            3 => &[
                "iifname \"fwt-h\"",
                "iifname \"fwt*\"",
                "iifname \"eth*\"",
                "iifname != \"fwt-h\"",
                "iifname != \"lo\"",
                "iifname { \"lo\", \"fwt-h\" }",
                "iif \"lo\"",
            ],
            4 => &[
                "ct state new",
                "ct state established,related",
                "ct state invalid",
                "ct state != established",
                "ct state { new, established }",
                "ct status dnat",
                "ct status != dnat",
            ],
            _ => &[
                "fib daddr type local",
                "fib daddr type != local",
                "fib daddr type broadcast",
                "fib daddr type { broadcast, multicast }",
                "fib daddr type unicast",
            ],
        };
        self.rng.pick(choices).to_string()
    }

    fn action(&mut self, place: Place, chain: usize, proto: &str) -> String {
        let jumps = place == Place::Inet && chain < self.chains;
        let target = |g: &mut Gen| chain + 1 + g.rng.below(g.chains - chain);
        loop {
            let action = match self.rng.below(12) {
                0..=2 => "accept".to_string(),
                3..=4 => "drop".to_string(),
                5 if place != Place::Pre => self.reject(place, proto),
                6 => "counter".to_string(),
                7 => "log prefix \"g \"".to_string(),
                8 | 9 if jumps => format!("jump c{}", target(self)),
                10 if jumps => format!("goto c{}", target(self)),
                11 if place == Place::Inet && chain > 0 => "return".to_string(),
                _ => continue,
            };
            return action;
        }
    }

    fn reject(&mut self, place: Place, proto: &str) -> String {
        let mut variants = vec!["reject", "reject with icmp type admin-prohibited"];
        if place == Place::Inet {
            variants.push("reject with icmpx type admin-prohibited");
        }
        if proto == "tcp" {
            variants.push("reject with tcp reset");
        }
        self.rng.pick(&variants).to_string()
    }
}

fn nat_hook() -> String {
    "type nat hook prerouting priority dstnat; policy accept;".into()
}

fn chain(name: &str, hook: Option<String>, rules: Vec<String>) -> String {
    let mut text = format!("\tchain {name} {{\n");
    if let Some(hook) = hook {
        let _ = writeln!(text, "\t\t{hook}");
    }
    for rule in rules {
        let _ = writeln!(text, "\t\t{rule}");
    }
    text.push_str("\t}\n");
    text
}

/// What one ruleset's comparison found.
#[derive(Default)]
struct Tally {
    ports: usize,
    unknown: Vec<String>,
    wrong: Vec<String>,
}

/// The IPv4 rows of `ports`' answer, as `tcp/22` -> the firewall object.
fn v4_verdicts(sockets: &[Value]) -> BTreeMap<String, Value> {
    sockets
        .iter()
        .filter(|s| s["family"] == "ipv4" && !s["firewall"].is_null())
        .filter(|s| s["firewall"]["verdict"] != "local_only")
        .map(|s| {
            let key = format!("{}/{}", s["proto"].as_str().unwrap_or("?"), s["local_port"]);
            (key, s["firewall"].clone())
        })
        .collect()
}

/// Whether `ports`' row for a port agrees with nmap's state: `Ok(true)` yes, `Ok(false)`
/// unknown, `Err` the disagreement, as a line.
fn judge(key: &str, state: &str, verdict: Option<&Value>) -> Result<bool, String> {
    let Some(verdict) = verdict else {
        // No row for a NAT port: ports says nothing reaches it.
        let listener = TCP_LISTENERS.iter().map(|p| format!("tcp/{p}"));
        let mut listener = listener.chain(UDP_LISTENERS.iter().map(|p| format!("udp/{p}")));
        if listener.any(|l| l == key) {
            return Err(format!("  {key}: a listener missing from ports' answer\n"));
        }
        if state == "open" {
            return Err(format!("  {key}: no row, nmap said open\n"));
        }
        return Ok(true);
    };
    if verdict["verdict"] == "unknown" {
        return Ok(false);
    }
    let open = predicted_open(verdict) && key != DEAD_END;
    if open == (state == "open") {
        Ok(true)
    } else {
        Err(format!(
            "  {key}: ports said {verdict}, nmap said {state}\n"
        ))
    }
}

/// Loads one seed's ruleset and compares every scanned port.
fn run_seed(lab: &Lab, seed: u64, tally: &mut Tally) {
    let text = Gen::ruleset(seed);
    // One transaction: the last seed's ruleset goes as this one comes.
    lab.load(&["nft", "-f"], &format!("flush ruleset\n{text}"));
    let (sockets, _) = lab.ports_json(&["-l", "--firewall"]);
    let verdicts = v4_verdicts(&sockets);
    let tcp: Vec<u16> = TCP_LISTENERS.iter().chain(&TCP_NAT).copied().collect();
    let udp: Vec<u16> = UDP_LISTENERS.iter().chain(&UDP_NAT).copied().collect();
    let scanned = lab.scan(&tcp, &udp);
    assert_eq!(scanned.len(), tcp.len() + udp.len(), "nmap: {scanned:?}");
    let mut said = String::new();
    for (key, state) in &scanned {
        tally.ports += 1;
        match judge(key, state, verdicts.get(key)) {
            Ok(true) => {}
            Ok(false) => tally
                .unknown
                .push(format!("seed {seed}: {key}: {}", verdicts[key])),
            Err(wrong) => said.push_str(&wrong),
        }
    }
    if !said.is_empty() {
        tally.wrong.push(format!(
            "seed {seed} (PORTS_FW_SEED={seed}):\n{said}--- ruleset\n{text}"
        ));
    }
}

#[test]
#[ignore = "slow: 50 nmap scans in namespaces (the slow suite)"]
fn generated_rulesets_agree_with_nmap() {
    let seeds: Vec<u64> = match std::env::var("PORTS_FW_SEED") {
        Ok(seed) => vec![seed.parse().expect("PORTS_FW_SEED is a number")],
        Err(_) => (1..=SEEDS).collect(),
    };
    let mut lab = Lab::new("g");
    let mut specs: Vec<String> = TCP_LISTENERS.iter().map(|p| format!("tcp:{p}")).collect();
    specs.extend(UDP_LISTENERS.iter().map(|p| format!("udp:{p}")));
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    lab.listen(&specs);
    let mut tally = Tally::default();
    for &seed in &seeds {
        run_seed(&lab, seed, &mut tally);
    }
    let unknown = tally.unknown.len();
    eprintln!(
        "{} rulesets, {} ports, {unknown} unknown, {} rulesets with wrong answers",
        seeds.len(),
        tally.ports,
        tally.wrong.len()
    );
    assert!(tally.wrong.is_empty(), "{}", tally.wrong.join("\n"));
    assert!(
        unknown * 50 <= tally.ports,
        "{unknown} unknown of {} ports:\n{}",
        tally.ports,
        tally.unknown.join("\n")
    );
}
