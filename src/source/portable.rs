//! The portable backend: netstat2 lists sockets and their owners' pids. It is the only one on
//! macOS and Windows; on Linux, `--backend portable` runs it beside the native one, so this
//! path is compiled and its answers compared with the kernel's on every CI run
//! (docs/platforms.md says what remains unverified elsewhere).

use std::sync::Arc;

use super::netstat2_map::{flags, to_entry};
use super::raw::RawSnapshot;
use super::{Query, SourceError};
use crate::model::Netns;

/// netstat2 says nothing of namespaces or hidden owners: one host namespace, inode unknown.
pub(super) fn sockets_with_owners(query: &Query) -> Result<RawSnapshot, SourceError> {
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
        rulesets: Vec::new(),
    })
}
