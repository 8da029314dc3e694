//! What the host's packet filter does with a new connection from another host: the answer of
//! `--firewall`, decided by `firewall::` and shown by every presenter.

use std::net::SocketAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Reach {
    /// Bound to loopback only: no other host can reach it, whatever the rules say.
    LocalOnly,
    /// The ruleset could not be read (not root, no program to read it).
    NotRead,
    Open {
        /// What was assumed on the way (a rate limit taken not to trip).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        assumed: Vec<String>,
    },
    Dropped {
        by: Decider,
    },
    Rejected {
        by: Decider,
    },
    /// Open only from these source prefixes; dropped or rejected from the rest.
    SomeSources {
        pass: Vec<IpNet>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        assumed: Vec<String>,
    },
    /// Rewritten by DNAT or a redirect and let through: the connection lands at `to`.
    Forwarded {
        to: SocketAddr,
        /// The container or namespace holding `to`, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        assumed: Vec<String>,
    },
    /// A construct the evaluator does not decide, as written in the ruleset.
    Unknown {
        construct: String,
    },
}

/// The rule or policy that decided: enough to find it with `nft -a list chain` or
/// `iptables -L CHAIN --line-numbers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decider {
    /// `ip`, `ip6`, `inet`: the table's family.
    pub family: String,
    pub table: String,
    pub chain: String,
    pub rule: RuleRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleRef {
    /// nft's rule handle.
    Handle(u64),
    /// 1-based position in the chain (iptables, which has no handles).
    Position(usize),
    /// The base chain's policy.
    Policy,
}

/// A port claimed by a NAT rule alone (a Docker daemon stopped with `--live-restore`, a CNI
/// hostPort, a rule a removed container left behind): no socket exists on the host for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// Nothing the scan saw holds the rule's target: a leftover.
    pub stale: bool,
}
