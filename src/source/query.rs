//! What a caller asks a source for, and what it gets back.

use std::sync::Arc;

use super::Problem;
use crate::model::{Family, Netns, Proto, SocketEntry, State};

/// Which sockets to list. Built from the command line's filter, but owned by the source layer
/// so the platform code never sees the CLI. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// TCP and UDP sockets (narrowed by `protos`).
    pub inet: bool,
    /// Unix domain sockets.
    pub unix: bool,
    pub protos: Vec<Proto>,
    pub families: Vec<Family>,
    /// TCP states; UDP sockets have none, so a non-empty list excludes them.
    pub states: Vec<State>,
    /// One port, local or remote, that the kernel can filter on.
    pub port: Option<u16>,
    /// TCP listeners and unconnected UDP sockets only.
    pub listening_only: bool,
    /// Read where owners come from and run (parent, start, unit, container), for `-w`, JSON
    /// and the card; the plain table needs names only.
    pub owner_context: bool,
    /// Which network namespaces to list.
    pub netns: NetnsScope,
    /// Owners looked for only among these processes (their fds alone are read, not every
    /// process's): the card's other ports. Other sockets come back without owners, and are not
    /// counted as hidden.
    pub owners_among: Option<Vec<u32>>,
    /// Read each listed namespace's packet-filter ruleset too (`--firewall`).
    pub firewall: bool,
    /// TCP internals (RTT, bytes, idle time, timer) for `--tcp-info` and `-w`: the kernel
    /// fills them only when asked, so the plain listing does not pay for them.
    pub tcp_info: bool,
}

/// Which network namespaces a query covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetnsScope {
    /// The one `ports` runs in.
    #[default]
    Own,
    /// Every one on the machine (`-N`).
    All,
    /// One, by name, container, pid or path (`--netns`).
    One(String),
}

impl Default for Query {
    /// Every TCP and UDP socket, as plain `ports` lists them.
    fn default() -> Query {
        Query {
            inet: true,
            unix: false,
            protos: Vec::new(),
            families: Vec::new(),
            states: Vec::new(),
            port: None,
            listening_only: false,
            owner_context: false,
            netns: NetnsScope::Own,
            owners_among: None,
            firewall: false,
            tcp_info: false,
        }
    }
}

/// The sockets found, the namespaces they came from, and what could not be seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub sockets: Vec<SocketEntry>,
    pub namespaces: Vec<Arc<Netns>>,
    pub problems: Vec<super::Problem>,
    /// When it was taken, where the source says (a replayed or sample snapshot); else now.
    pub taken_at: Option<std::time::SystemTime>,
    /// The machine's host name, where the source knows it.
    pub host: Option<String>,
    /// Each listed namespace's ruleset, when the query asked for them.
    pub rulesets: Vec<super::RulesetRead>,
}

impl Snapshot {
    /// The first problem of the owners-hidden kind, if any.
    pub fn hidden_owners(&self) -> Option<&Problem> {
        self.problems
            .iter()
            .find(|p| matches!(p, Problem::OwnersHidden { .. }))
    }
}
