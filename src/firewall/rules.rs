//! The ruleset as the evaluator reads it: tables of chains of rules, each rule a list of
//! matches and one action. Readers (nft's JSON, iptables-save text) build it; whatever a
//! reader does not understand is kept as `Unknown` with its text, never a failed parse, so
//! evaluation can name what it could not decide.

use std::net::IpAddr;

use ipnet::IpNet;

/// Where a table was read from: it decides what a verdict names (a handle or a position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Nft,
    IptablesNft,
    IptablesLegacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFamily {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl TableFamily {
    /// The family as nft writes it: `ip6`.
    pub fn name(self) -> &'static str {
        match self {
            TableFamily::Ip => "ip",
            TableFamily::Ip6 => "ip6",
            TableFamily::Inet => "inet",
            TableFamily::Arp => "arp",
            TableFamily::Bridge => "bridge",
            TableFamily::Netdev => "netdev",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub family: TableFamily,
    pub name: String,
    pub origin: Origin,
    pub chains: Vec<Chain>,
    pub sets: Vec<Set>,
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    /// Present for a base chain (one attached to a hook).
    pub base: Option<BaseChain>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseChain {
    pub hook: Hook,
    pub kind: ChainKind,
    /// nft's numeric priority: raw -300, mangle -150, dstnat -100, filter 0, srcnat 100.
    pub priority: i32,
    pub policy: Policy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    Ingress,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    Filter,
    Nat,
    Route,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based position in its chain, which is how iptables names a rule.
    pub position: usize,
    /// nft's handle, where the rule came from nft.
    pub handle: Option<u64>,
    /// All must hold for the action to run.
    pub matches: Vec<Match>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    Test {
        field: Field,
        negated: bool,
        values: Values,
    },
    /// Assumed to hold for one new connection (rate limits, `recent`); the answer says so.
    AssumedToPass(String),
    /// Assumed not to hold for one new connection from another host: a rate limit's "over"
    /// side (`limit rate over`, `recent --update --hitcount`), a failed reverse-path check, an
    /// IPv6 routing header. The answer says so, as for `AssumedToPass`.
    AssumedToFail(String),
    /// A construct not evaluated (queue, socket, osf, ct mark, ipset...), as written.
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    L4Proto,
    Nfproto,
    Saddr,
    Daddr,
    Sport,
    Dport,
    Iif,
    Iifname,
    Oif,
    Oifname,
    CtState,
    CtStatus,
    FibDaddrType,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    List(Vec<Value>),
    /// A named set (`@allowed_tcp`), looked up in the rule's table.
    Set(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Net(IpNet),
    AddrRange(IpAddr, IpAddr),
    Port(u16),
    PortRange(u16, u16),
    /// An IP protocol number: 6 tcp, 17 udp.
    Proto(u8),
    /// A word: an interface name (`eth*` a wildcard), a ct state or status, a fib type,
    /// an nfproto (`ipv4`).
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
    /// No verdict (counter, log, a mark set): the next rule is read.
    Continue,
    Dnat {
        addr: Option<IpAddr>,
        port: Option<u16>,
    },
    Redirect {
        port: Option<u16>,
    },
    /// A verdict map: the first entry whose value holds decides; none holds, next rule.
    Vmap {
        field: Field,
        entries: Vec<(Value, Action)>,
    },
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Set {
    pub name: String,
    pub values: Vec<Value>,
    /// Why the set cannot be matched against (a concatenated type, say), when it cannot.
    pub unknown: Option<String>,
}
