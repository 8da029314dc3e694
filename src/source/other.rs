//! macOS and Windows: netstat2 lists sockets and their owners' pids. Built only there: untested
//! here (docs/platforms.md).

use std::sync::Arc;

use super::netstat2_map::{flags, to_entry};
use super::raw::RawSnapshot;
use super::{Query, SourceError};
use crate::model::Netns;

#[cfg(windows)]
pub(super) const NOT_ROOT_HINT: &str =
    "they belong to other users; run from an Administrator prompt to see them";
#[cfg(not(windows))]
pub(super) const NOT_ROOT_HINT: &str = "they belong to other users; run with sudo to see them";

/// Only asked about namespaces, which netstat2's platforms do not list.
pub(super) fn runs_as_root() -> bool {
    false
}

/// netstat2 gives pids without start times.
pub(super) const KNOWS_START_TIMES: bool = false;

/// netstat2 knows nothing of network namespaces.
pub(super) const SEES_NAMESPACES: bool = false;

/// netstat2 gives no start times: owners are not checked against a reused pid.
pub(super) fn start_ticks(_pid: u32) -> Option<u64> {
    None
}

/// Signals need a process's start time to prove it is the one seen: not here yet.
pub(super) fn signal_if_same(_pid: u32, _start: u64, _signal: i32) -> Result<(), i32> {
    Err(38) // ENOSYS
}

/// netstat2 lists owners with the sockets: nothing to remember between snapshots.
#[derive(Debug, Default)]
pub(super) struct OwnerMemory;

/// netstat2 says nothing of namespaces or hidden owners: one host namespace, inode unknown.
pub(super) fn sockets_with_owners(
    query: &Query,
    _memory: Option<&mut OwnerMemory>,
) -> Result<RawSnapshot, SourceError> {
    let (families, protos) = flags(query);
    let netns = Arc::new(Netns::host(0));
    let sockets = netstat2::iterate_sockets_info(families, protos)
        .map_err(|error| SourceError::Backend(format!("listing sockets failed: {error}")))?;
    let (mut entries, mut owners) = (Vec::new(), Vec::new());
    for (info, index) in sockets.zip(0..) {
        let info = info.map_err(|e| SourceError::Backend(e.to_string()))?;
        let mut pids = info.associated_pids.clone();
        pids.sort_unstable();
        pids.dedup();
        owners.extend(pids.into_iter().map(|pid| (index, pid)));
        entries.push(to_entry(&info, &netns));
    }
    Ok(RawSnapshot {
        sockets: entries,
        owners,
        namespaces: vec![netns],
        problems: Vec::new(),
        hidden_because: None,
        unseen: Default::default(),
        starts: Vec::new(),
    })
}
