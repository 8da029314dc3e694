//! A network namespace's packet-filter ruleset as its own programs print it, for
//! `--firewall`: the source reads, `firewall::` parses and decides.

use std::sync::Arc;

use ipnet::IpNet;

use crate::model::Netns;

/// One namespace's ruleset, and the addresses a packet from another host can arrive at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetRead {
    pub netns: Arc<Netns>,
    pub texts: Result<RulesetTexts, FirewallGap>,
    /// Each interface's name and addresses, in that namespace.
    pub interfaces: Vec<(String, Vec<IpNet>)>,
}

/// What each program printed; `None` where it is not installed (or, for the legacy ones, where
/// no legacy table exists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesetTexts {
    /// `nft -j list ruleset`.
    pub nft_json: Option<String>,
    /// `iptables-nft-save` and `ip6tables-nft-save`: iptables-nft's rules translated.
    pub nft_save_v4: Option<String>,
    pub nft_save_v6: Option<String>,
    /// `iptables-legacy-save` and `ip6tables-legacy-save`, when legacy tables exist.
    pub legacy_save_v4: Option<String>,
    pub legacy_save_v6: Option<String>,
    /// Legacy tables exist, for one family or both.
    pub legacy_present: bool,
    /// A program that ran and failed or timed out, and how: the ruleset may be incomplete.
    pub failures: Vec<String>,
}

/// Who holds a NAT rule's target address on one of its interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressHolder {
    /// A running container (`docker:web`, with who listens on the port when known) or a
    /// network namespace (`blue`, `net:[4026532981]`).
    Known(String),
    /// No running container and no network namespace has the address: a rule pointing there
    /// is stale.
    Nobody,
    /// This source cannot tell (the portable backend, a replay).
    Unknowable,
}

/// Why no ruleset could be read at all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirewallGap {
    /// The ruleset is readable with CAP_NET_ADMIN only.
    NeedsRoot,
    /// Neither nft nor iptables-nft-save is installed in the standard sbin directories.
    NoProgram,
    /// The platform has no reader (the firewall is read on Linux only).
    Unsupported,
    /// The programs ran and failed.
    Failed(String),
}

impl FirewallGap {
    /// The note's reason: `firewall not read: REASON`.
    pub fn reason(&self) -> String {
        match self {
            FirewallGap::NeedsRoot => "needs root (CAP_NET_ADMIN)".into(),
            FirewallGap::NoProgram => {
                "neither nft nor iptables-nft-save is in /usr/sbin, /sbin or /usr/local/sbin".into()
            }
            FirewallGap::Unsupported => {
                "this lister reads no ruleset (the native one on Linux does)".into()
            }
            FirewallGap::Failed(how) => how.clone(),
        }
    }
}
