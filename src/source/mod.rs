//! Where sockets come from: a `Query` in, a `Snapshot` out. The real system source, the OS
//! layers it drives, and a fake that also replays `--json` dumps.

#[cfg(target_os = "linux")]
mod cgroup;
#[cfg(target_os = "linux")]
mod containers;
mod fake;
pub mod limits;
mod netstat2_map;
mod portable;
mod query;
mod raw;
mod ruleset;
mod system;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as os;

use std::sync::Arc;

use crate::model::{Netns, SocketEntry};

pub use fake::{FakeSource, REPLAY_LIMIT, SAMPLE_TIME};
pub use query::{NetnsScope, Query, Snapshot};
pub use ruleset::{AddressHolder, FirewallGap, RulesetRead, RulesetTexts};

/// The namespace's bind limits for the user asking (`ports why`).
pub fn bind_limits(scope: &NetnsScope) -> Result<limits::BindLimits, String> {
    os::bind_limits(scope)
}

/// A real bind, closed at once, in the namespace asked about: the kernel's own verdict.
pub fn probe_bind(
    scope: &NetnsScope,
    probe: &limits::Probe,
) -> Result<std::io::Result<()>, String> {
    os::probe_bind(scope, probe)
}
pub use system::{SystemSource, uid_of};

/// Which lister a `SystemSource` uses: the native one (Linux: our own netlink dump and /proc
/// scan), or netstat2's portable one (the only one on macOS and Windows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    #[default]
    Native,
    Portable,
}

/// A process's start time now, in the OS's clock ticks; `None` when it is gone (or the OS
/// cannot tell).
pub fn process_start(pid: u32) -> Option<u64> {
    os::start_ticks(pid)
}

/// Sends `signal` to `pid` only if it is still the process that started at `start` (see
/// `ports kill`); the error is the errno.
pub fn signal_if_same(pid: u32, start: u64, signal: i32) -> Result<(), i32> {
    os::signal_if_same(pid, start, signal)
}

/// Why sockets could not be listed at all. Partial visibility is not an error: it is a
/// [`Problem`] in the snapshot, and the listing goes on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The OS refused, and only more privilege would help.
    #[error("{0} (try again with sudo)")]
    NeedsPrivilege(String),
    /// This platform cannot answer the query.
    #[error("not supported here: {0}")]
    Unsupported(String),
    /// Every way of listing failed; the message names each cause.
    #[error("{0}")]
    Backend(String),
}

/// Something that lists sockets with their owners. It may keep what it learned between calls
/// (process details, user names), so a repeated scan costs less.
pub trait SocketSource {
    /// Lists what `query` asks for. A source may return more than asked (the caller filters
    /// again) but never less.
    fn snapshot(&mut self, query: &Query) -> Result<Snapshot, SourceError>;

    /// Whether it can see network namespaces besides its own (`-N` finds more than one).
    fn sees_namespaces(&self) -> bool {
        false
    }

    /// Who holds `to`'s address (and, for a container, listens on its port): where a NAT rule
    /// of network namespace `netns` (its inode) sends a connection. Asked only for rules'
    /// targets.
    fn address_holder(&mut self, _to: std::net::SocketAddr, _netns: u64) -> AddressHolder {
        AddressHolder::Unknowable
    }
}

/// The network namespaces besides `searched` (by label, sorted) that hold a socket `keep`
/// wants, asked for with `query` over every namespace: where to look when the searched ones
/// have nothing. Only a hint, so a failure, or a source that sees no other namespace, finds
/// none.
pub fn namespaces_elsewhere(
    source: &mut dyn SocketSource,
    query: &Query,
    searched: &[Arc<Netns>],
    keep: impl Fn(&SocketEntry) -> bool,
) -> Vec<String> {
    if !source.sees_namespaces() {
        return Vec::new();
    }
    let everywhere = Query {
        netns: NetnsScope::All,
        ..query.clone()
    };
    let Ok(snapshot) = source.snapshot(&everywhere) else {
        return Vec::new();
    };
    namespaces_holding(&snapshot.sockets, searched, keep)
}

/// The namespaces besides `searched` (by label, sorted) where `sockets` has one `keep` wants.
pub fn namespaces_holding(
    sockets: &[SocketEntry],
    searched: &[Arc<Netns>],
    keep: impl Fn(&SocketEntry) -> bool,
) -> Vec<String> {
    let searched = |netns: &Netns| searched.iter().any(|ns| ns.inode == netns.inode);
    let mut names: Vec<String> = sockets
        .iter()
        .filter(|entry| !searched(&entry.netns) && keep(entry))
        .map(|entry| entry.netns.label().into_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What a snapshot could not see, or how it had to look. Each is said once on stderr.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// Some live sockets' owners could not be found; those sockets have `owner_hidden`.
    OwnersHidden { reason: HiddenReason },
    /// Netlink SOCK_DIAG was refused, so the sockets came from /proc/net: the same sockets,
    /// without the kernel's filtering.
    NetlinkRefused { error: String },
    /// Process details (names, users, command lines) could not be read; owners show pids only.
    ProcessDetailsUnavailable { error: String },
    /// A network namespace could not be entered, nor read through a process in it.
    NamespaceUnreadable { netns: String, error: String },
    /// The portable backend was asked for where a native one exists: it lists fewer facts.
    PortableBackend,
    /// Namespaces that could not be entered were read from /proc/PID/net instead; `reason` is
    /// why the first could not be (setns refused without root, netlink refused by a filter).
    NamespacesFromProc {
        netns: Vec<String>,
        #[serde(default)]
        reason: String,
    },
    /// `--firewall`: a namespace's ruleset could not be read, so its listeners show `?`.
    /// `netns` is empty for the one `ports` runs in.
    FirewallUnread { netns: String, reason: String },
    /// `--firewall`: the ruleset was read, with something to know (no nft, legacy tables,
    /// rules not understood).
    FirewallCaveat { netns: String, detail: String },
}

/// Why owners could not be seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HiddenReason {
    /// Not root: other users' processes (or ones we may not inspect) are unreadable or hidden.
    NotRoot,
    /// Even as root, the kernel refused the open files of `processes` processes (another user
    /// namespace, an LSM).
    RefusedToRoot { processes: usize },
    /// /proc is missing, or shows no processes (a tmpfs over it, a sandbox).
    ProcUnavailable { detail: String },
}

impl Problem {
    /// One line for stderr. `hidden` counts the shown sockets with an owner that could not be
    /// seen; `partly` of them show some owners, and may have more. `unshown` counts sockets the
    /// owner conditions left out whose owner could not be seen: it may be the one asked for.
    pub fn note(&self, hidden: usize, partly: usize, unshown: usize) -> Option<String> {
        match self {
            Problem::OwnersHidden { .. } if hidden + unshown == 0 => None,
            Problem::OwnersHidden { reason } => {
                Some(hidden_owners_note(hidden, partly, unshown, reason))
            }
            Problem::PortableBackend => Some(
                "listed by the portable backend (netstat2): its own network namespace only, no \
                 Unix sockets, no TCP socket bound without listening, no UDP peer, queue, \
                 device or socket cookie, and owners unchecked against a reused pid"
                    .into(),
            ),
            Problem::NetlinkRefused { error } => Some(format!(
                "netlink SOCK_DIAG was refused ({error}): listed from /proc/net, which shows no \
                 TCP socket bound without listening and no device a socket is bound to"
            )),
            Problem::ProcessDetailsUnavailable { error } => Some(format!(
                "process details could not be read ({error}): owners show their pid only"
            )),
            Problem::NamespaceUnreadable { netns, error } => Some(format!(
                "network namespace {netns} could not be read ({error})"
            )),
            Problem::FirewallUnread { netns, reason } => {
                Some(format!("firewall not read{}: {reason}", in_netns(netns)))
            }
            Problem::FirewallCaveat { netns, detail } => {
                Some(format!("firewall{}: {detail}", in_netns(netns)))
            }
            Problem::NamespacesFromProc { netns, reason } => Some(format!(
                "{} could not be entered ({reason}), so {} read from /proc/PID/net, which \
                 shows no TCP socket bound without listening",
                names_in_brief(netns),
                if netns.len() == 1 {
                    "it was"
                } else {
                    "they were"
                }
            )),
        }
    }
}

/// Every problem's note, once: the namespaces that could not be read in one line whatever
/// their number (200 unreadable namespaces are one thing to know, not 200).
pub fn notes(problems: &[Problem], hidden: usize, partly: usize, unshown: usize) -> Vec<String> {
    let unreadable = |p: &&Problem| matches!(p, Problem::NamespaceUnreadable { .. });
    let (unreadable, others): (Vec<&Problem>, Vec<&Problem>) =
        problems.iter().partition(unreadable);
    let mut notes: Vec<String> = others
        .iter()
        .filter_map(|p| p.note(hidden, partly, unshown))
        .collect();
    notes.extend(unreadable_note(&unreadable));
    notes
}

/// The namespaces that could not be read, in one line: the one's own note, or how many with
/// the first one's cause and three names; "root can enter them" only when root would help.
fn unreadable_note(unreadable: &[&Problem]) -> Option<String> {
    let names: Vec<String> = unreadable
        .iter()
        .filter_map(|p| match p {
            Problem::NamespaceUnreadable { netns, .. } => Some(netns.clone()),
            _ => None,
        })
        .collect();
    let Some(Problem::NamespaceUnreadable { netns, error }) = unreadable.first() else {
        return None;
    };
    let needs_root = error.starts_with("entering it") && !os::runs_as_root();
    let how = if needs_root {
        "; root can enter them"
    } else {
        ""
    };
    let said = match names.len() {
        1 => unreadable[0].note(0, 0, 0)?,
        n => format!(
            "{n} network namespaces could not be read ({netns}: {error}): {}",
            names_in_brief(&names)
        ),
    };
    Some(format!("{said}{how}"))
}

/// ` in network namespace NAME`, or nothing for our own.
fn in_netns(netns: &str) -> String {
    match netns {
        "" => String::new(),
        name => format!(" in network namespace {name}"),
    }
}

/// Up to three names, then how many more.
pub fn names_in_brief(names: &[String]) -> String {
    let (shown, more) = names.split_at(names.len().min(3));
    match more.len() {
        0 => shown.join(", "),
        n => format!("{} and {n} more", shown.join(", ")),
    }
}

fn hidden_owners_note(
    hidden: usize,
    partly: usize,
    unshown: usize,
    reason: &HiddenReason,
) -> String {
    let mut sockets = shown_hidden_text(hidden, partly);
    if unshown > 0 {
        let may = match unshown {
            1 => "1 socket not shown has an owner that could not be seen".to_owned(),
            n => format!("{n} sockets not shown have owners that could not be seen"),
        };
        let joined = if sockets.is_empty() { "" } else { "; " };
        sockets = format!("{sockets}{joined}{may}, which may be what was asked for");
    }
    let why = match reason {
        HiddenReason::NotRoot => os::NOT_ROOT_HINT.to_owned(),
        HiddenReason::RefusedToRoot { processes } => format!(
            "the kernel refuses even root the open files of {processes} process{} \
             (another user namespace or a security module); ss -p cannot see them either",
            if *processes == 1 { "" } else { "es" }
        ),
        HiddenReason::ProcUnavailable { detail } => format!("{detail}, so no owner can be read"),
    };
    format!("{sockets}: {why}")
}

/// The shown sockets' part of the note: wholly hidden owners, then possibly more owners.
fn shown_hidden_text(hidden: usize, partly: usize) -> String {
    let whole = hidden - partly;
    let whole_text = match whole {
        1 => "1 socket's owner is hidden".to_owned(),
        n => format!("{n} sockets' owners are hidden"),
    };
    let partly_text = match partly {
        1 => "1 socket may have owners besides those shown".to_owned(),
        n => format!("{n} sockets may have owners besides those shown"),
    };
    match (whole, partly) {
        (0, 0) => String::new(),
        (_, 0) => whole_text,
        (0, _) => partly_text,
        _ => format!("{whole_text}, and {partly_text}"),
    }
}
