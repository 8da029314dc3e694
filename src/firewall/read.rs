//! One ruleset from every dump there is: nft's JSON for the tables it can say, the
//! iptables-nft-save text for those it shows only as opaque `xt` expressions, and the legacy
//! tables nft cannot see at all. The notes say which came from where and what was not
//! understood. Running the programs is the caller's part; this only reads their text.

use std::fmt;

use super::nft::{self, NftJsonError};
use super::rules::{
    Action, Field, Match, Origin, Rule, Ruleset, Table, TableFamily, Value, Values,
};
use super::save::parse_save;

/// What the dumping programs printed; None where a program is missing or failed.
#[derive(Debug, Clone, Default)]
pub struct Dumps {
    /// `nft -j list ruleset`
    pub nft_json: Option<String>,
    /// `iptables-nft-save`
    pub nft_save_v4: Option<String>,
    /// `ip6tables-nft-save`
    pub nft_save_v6: Option<String>,
    /// `iptables-legacy-save`, when the kernel has legacy tables
    pub legacy_save_v4: Option<String>,
    /// `ip6tables-legacy-save`
    pub legacy_save_v6: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Read {
    pub ruleset: Ruleset,
    pub notes: Vec<Note>,
}

/// What a reader of the answer should know about where the ruleset came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Tables (`ip filter`) read from iptables-nft-save since nft shows them as `xt`.
    ReadFromSave(Vec<String>),
    /// Tables holding `xt` with no iptables-nft-save text to read them from.
    XtUnread(Vec<String>),
    /// nft's JSON could not be read; the iptables-nft-save texts were used.
    NftUnreadable(String),
    /// No nft JSON: only what iptables-nft-save prints was read.
    IptablesOnly,
    LegacyTables(Vec<String>),
    /// How many constructs were not understood, and their names, each once.
    NotUnderstood {
        count: usize,
        names: Vec<String>,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::ReadFromSave(tables) => write!(
                f,
                "{} read from iptables-nft-save: nft shows their iptables rules as xt expressions",
                tables.join(", ")
            ),
            Note::XtUnread(tables) => write!(
                f,
                "{} hold iptables rules nft cannot show and iptables-nft-save did not print",
                tables.join(", ")
            ),
            Note::NftUnreadable(why) => write!(f, "{why}; read iptables-nft-save instead"),
            Note::IptablesOnly => write!(f, "no nft: only iptables tables read"),
            Note::LegacyTables(tables) => {
                write!(f, "legacy iptables tables present: {}", tables.join(", "))
            }
            Note::NotUnderstood { count, names } => {
                write!(f, "{count} rule parts not understood: {}", names.join(", "))
            }
        }
    }
}

pub fn read(dumps: &Dumps) -> Read {
    let mut notes = Vec::new();
    let mut ruleset = match dumps.nft_json.as_deref().map(nft::parse_nft_json) {
        Some(Ok(ruleset)) => with_saves(ruleset, dumps, &mut notes),
        Some(Err(error)) => saves_only(dumps, Some(error), &mut notes),
        None => saves_only(dumps, None, &mut notes),
    };
    add_legacy(&mut ruleset, dumps, &mut notes);
    notes.extend(not_understood(&ruleset));
    Read { ruleset, notes }
}

/// nft's tables, with each iptables table holding `xt` swapped for its save text's.
fn with_saves(nft: Ruleset, dumps: &Dumps, notes: &mut Vec<Note>) -> Ruleset {
    let (v4, v6) = nft_saves(dumps);
    let mut swaps = Swaps::default();
    let tables = nft
        .tables
        .into_iter()
        .map(|t| swaps.table(t, &v4, &v6))
        .collect();
    push_if_any(notes, swaps.read_again, Note::ReadFromSave);
    push_if_any(notes, swaps.unread, Note::XtUnread);
    Ruleset { tables }
}

/// The tables read again from a save text, and those no save text held.
#[derive(Default)]
struct Swaps {
    read_again: Vec<String>,
    unread: Vec<String>,
}

impl Swaps {
    fn table(&mut self, table: Table, v4: &Option<Ruleset>, v6: &Option<Ruleset>) -> Table {
        if !is_iptables_table(&table) {
            return table;
        }
        let saved = if table.family == TableFamily::Ip {
            v4
        } else {
            v6
        };
        let found = saved
            .iter()
            .flat_map(|s| &s.tables)
            .find(|t| t.name == table.name);
        match found {
            Some(found) => {
                self.read_again.push(label(&table));
                found.clone()
            }
            None => {
                self.unread.push(label(&table));
                table
            }
        }
    }
}

const IPTABLES_TABLES: &[&str] = &["filter", "nat", "mangle", "raw", "security"];

fn is_iptables_table(table: &Table) -> bool {
    matches!(table.family, TableFamily::Ip | TableFamily::Ip6)
        && IPTABLES_TABLES.contains(&table.name.as_str())
        && nft::holds_xt(table)
}

fn saves_only(dumps: &Dumps, error: Option<NftJsonError>, notes: &mut Vec<Note>) -> Ruleset {
    notes.push(match error {
        Some(error) => Note::NftUnreadable(error.to_string()),
        None => Note::IptablesOnly,
    });
    let (v4, v6) = nft_saves(dumps);
    let tables = v4.into_iter().chain(v6).flat_map(|r| r.tables).collect();
    Ruleset { tables }
}

fn add_legacy(ruleset: &mut Ruleset, dumps: &Dumps, notes: &mut Vec<Note>) {
    let v4 = save(
        dumps.legacy_save_v4.as_deref(),
        TableFamily::Ip,
        Origin::IptablesLegacy,
    );
    let v6 = save(
        dumps.legacy_save_v6.as_deref(),
        TableFamily::Ip6,
        Origin::IptablesLegacy,
    );
    let legacy: Vec<Table> = v4.into_iter().chain(v6).flat_map(|r| r.tables).collect();
    push_if_any(
        notes,
        legacy.iter().map(label).collect(),
        Note::LegacyTables,
    );
    ruleset.tables.extend(legacy);
}

/// iptables-nft-save's and ip6tables-nft-save's texts, read.
fn nft_saves(dumps: &Dumps) -> (Option<Ruleset>, Option<Ruleset>) {
    let v4 = dumps.nft_save_v4.as_deref();
    let v6 = dumps.nft_save_v6.as_deref();
    (
        save(v4, TableFamily::Ip, Origin::IptablesNft),
        save(v6, TableFamily::Ip6, Origin::IptablesNft),
    )
}

fn save(text: Option<&str>, family: TableFamily, origin: Origin) -> Option<Ruleset> {
    text.map(|text| parse_save(text, family, origin))
}

fn push_if_any(notes: &mut Vec<Note>, tables: Vec<String>, note: fn(Vec<String>) -> Note) {
    if !tables.is_empty() {
        notes.push(note(tables));
    }
}

/// `ip6 filter`, as nft names a table.
pub fn label(table: &Table) -> String {
    format!("{} {}", table.family.name(), table.name)
}

/// Every construct not understood where it could decide a TCP or UDP verdict, counted, and
/// named once each.
fn not_understood(ruleset: &Ruleset) -> Option<Note> {
    let mut names: Vec<String> = Vec::new();
    let mut count = 0;
    for what in unknowns(ruleset) {
        count += 1;
        if !names.iter().any(|n| n == what) {
            names.push(what.to_string());
        }
    }
    (count > 0).then_some(Note::NotUnderstood { count, names })
}

/// The `Unknown` texts of a ruleset: in rules that can match TCP or UDP, and in sets.
pub fn unknowns(ruleset: &Ruleset) -> impl Iterator<Item = &str> {
    ruleset.tables.iter().flat_map(|table| {
        let sets = table.sets.iter().filter_map(|s| s.unknown.as_deref());
        let rules = table.chains.iter().flat_map(|c| &c.rules);
        let in_rules = rules.filter(|r| tcp_or_udp(r)).flat_map(rule_unknowns);
        sets.chain(in_rules)
    })
}

fn rule_unknowns(rule: &Rule) -> impl Iterator<Item = &str> {
    let matches = rule.matches.iter().filter_map(|m| match m {
        Match::Unknown(what) => Some(what.as_str()),
        _ => None,
    });
    matches.chain(action_unknowns(&rule.action))
}

fn action_unknowns(action: &Action) -> Vec<&str> {
    match action {
        Action::Unknown(what) => vec![what.as_str()],
        Action::Vmap { entries, .. } => entries
            .iter()
            .flat_map(|(_, a)| action_unknowns(a))
            .collect(),
        _ => vec![],
    }
}

/// False for a rule that only matches another protocol (ICMP's type tests and hop limits):
/// what it does not understand cannot decide a TCP or UDP verdict.
fn tcp_or_udp(rule: &Rule) -> bool {
    rule.matches.iter().all(|m| match m {
        Match::Test {
            field: Field::L4Proto,
            negated: false,
            values: Values::List(values),
        } => values.iter().any(|v| matches!(v, Value::Proto(6 | 17))),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Option<String> {
        let path = format!(
            "{}/tests/fixtures/firewall/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        Some(std::fs::read_to_string(path).unwrap())
    }

    fn ufw() -> Dumps {
        Dumps {
            nft_json: fixture("ufw.json"),
            nft_save_v4: fixture("ufw.v4.save"),
            nft_save_v6: fixture("ufw.v6.save"),
            ..Dumps::default()
        }
    }

    fn docker() -> Dumps {
        Dumps {
            nft_json: fixture("docker.json"),
            nft_save_v4: fixture("docker.iptables-save"),
            ..Dumps::default()
        }
    }

    fn table<'a>(read: &'a Read, label_: &str) -> &'a Table {
        read.ruleset
            .tables
            .iter()
            .find(|t| label(t) == label_)
            .unwrap()
    }

    fn assumed(ruleset: &Ruleset) -> Vec<&Match> {
        let rules = ruleset
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules);
        let assumed = rules.flat_map(|r| &r.matches);
        assumed
            .filter(|m| matches!(m, Match::AssumedToPass(_) | Match::AssumedToFail(_)))
            .collect()
    }

    #[test]
    fn ufw_is_read_again_from_its_saves_and_understood() {
        let read = read(&ufw());
        let swapped = vec!["ip filter".to_string(), "ip6 filter".to_string()];
        assert_eq!(read.notes, [Note::ReadFromSave(swapped)]);
        assert_eq!(unknowns(&read.ruleset).count(), 0);
        assert_eq!(table(&read, "ip filter").origin, Origin::IptablesNft);
        assert!(!nft::holds_xt(table(&read, "ip6 filter")));
        // Left unknown only where it cannot decide a TCP or UDP verdict: in ICMPv6 rules.
        let rules = read
            .ruleset
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .flat_map(|c| &c.rules);
        let unknown = rules.flat_map(|r| &r.matches).filter_map(|m| match m {
            Match::Unknown(what) => Some(what.as_str()),
            _ => None,
        });
        assert!(
            unknown
                .collect::<Vec<_>>()
                .iter()
                .all(|w| w.starts_with("hl --hl-eq"))
        );
        assert!(assumed(&read.ruleset).iter().all(|m| {
            let (Match::AssumedToPass(what) | Match::AssumedToFail(what)) = m else {
                return false;
            };
            ["limit ", "recent ", "rt "]
                .iter()
                .any(|p| what.starts_with(p))
        }));
    }

    #[test]
    fn ufw_without_its_saves_keeps_xt_unknown_and_says_so() {
        let dumps = Dumps {
            nft_save_v6: None,
            ..ufw()
        };
        let read = read(&dumps);
        assert_eq!(
            read.notes[1],
            Note::XtUnread(vec!["ip6 filter".to_string()])
        );
        let Note::NotUnderstood { count, names } = &read.notes[2] else {
            panic!("{:?}", read.notes)
        };
        assert!(*count > names.len());
        assert!(names.contains(&"xt match conntrack".to_string()));
        assert!(!names.contains(&"xt match icmp6".to_string()));
        assert_eq!(table(&read, "ip6 filter").origin, Origin::Nft);
    }

    #[test]
    fn firewalld_needs_nothing_else() {
        let read = read(&Dumps {
            nft_json: fixture("fwd.json"),
            ..Dumps::default()
        });
        assert_eq!(read.notes, []);
        assert_eq!(read.ruleset.tables.len(), 1);
    }

    #[test]
    fn docker_nat_comes_from_the_save_with_its_dnat() {
        let read = read(&docker());
        assert_eq!(unknowns(&read.ruleset).count(), 0);
        let nat = table(&read, "ip nat");
        assert_eq!(nat.origin, Origin::IptablesNft);
        let docker = nat.chains.iter().find(|c| c.name == "DOCKER").unwrap();
        let dnat = docker.rules.iter().find(|r| {
            r.matches.contains(&Match::Test {
                field: Field::Dport,
                negated: false,
                values: Values::List(vec![Value::Port(18090)]),
            })
        });
        let to = Action::Dnat {
            addr: Some("172.17.0.2".parse().unwrap()),
            port: Some(8080),
        };
        assert_eq!(dnat.unwrap().action, to);
        assert_eq!(table(&read, "inet fwtest").origin, Origin::Nft);
        assert_eq!(read.ruleset.tables.len(), 4);
    }

    #[test]
    fn without_nft_the_saves_are_read_and_legacy_is_added() {
        let dumps = Dumps {
            nft_json: None,
            legacy_save_v4: Some(
                "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DROP\nCOMMIT\n".into(),
            ),
            ..ufw()
        };
        let read = read(&dumps);
        let legacy = Note::LegacyTables(vec!["ip raw".to_string()]);
        assert_eq!(read.notes, [Note::IptablesOnly, legacy]);
        assert_eq!(table(&read, "ip raw").origin, Origin::IptablesLegacy);
        assert_eq!(
            table(&read, "ip raw").chains[0]
                .base
                .as_ref()
                .unwrap()
                .priority,
            -300
        );
        assert_eq!(read.ruleset.tables.len(), 3);
    }

    #[test]
    fn iptables_constructs_read_and_named() {
        let read = read(&Dumps {
            nft_json: fixture("odd-iptables.json"),
            nft_save_v4: fixture("odd.v4.save"),
            nft_save_v6: fixture("odd.v6.save"),
            ..Dumps::default()
        });
        let Note::NotUnderstood { count, names } = &read.notes[1] else {
            panic!("{:?}", read.notes)
        };
        assert_eq!(*count, 7);
        let short: Vec<&str> = names.iter().filter_map(|n| n.split(' ').next()).collect();
        let expected = ["recent", "connlimit", "mark", "addrtype", "-j", "-j", "-j"];
        assert_eq!(short, expected);
        assert!(names.contains(&"-j CT --notrack".to_string()));
        let input = &table(&read, "ip filter").chains[0];
        assert!(matches!(&input.rules[0].matches[2], Match::AssumedToPass(w) if w.contains("SYN")));
        assert!(matches!(
            &input.rules[1].matches[1],
            Match::AssumedToFail(_)
        ));
        assert!(
            matches!(&input.rules[13].matches[0], Match::AssumedToFail(w) if w.starts_with("-f"))
        );
        let v6 = Action::Dnat {
            addr: Some("fd00::5".parse().unwrap()),
            port: Some(80),
        };
        assert_eq!(table(&read, "ip6 nat").chains[0].rules[0].action, v6);
    }

    #[test]
    fn unreadable_json_falls_back_to_the_saves() {
        let dumps = Dumps {
            nft_json: Some("{\"nftables\": [".into()),
            ..docker()
        };
        let read = read(&dumps);
        assert!(matches!(&read.notes[0], Note::NftUnreadable(_)));
        assert!(
            read.notes[0]
                .to_string()
                .starts_with("nft's JSON output could not be read")
        );
        assert_eq!(read.ruleset.tables.len(), 2);
    }
}
