//! macOS and Windows: netstat2 lists sockets and their owners' pids. Built only there: untested
//! here (docs/platforms.md).

use super::SourceError;
use super::netstat2_map::{flags, to_entry};
use super::system::RawSocket;
use crate::filter::Filter;

pub(super) fn sockets_with_owners(hint: &Filter) -> Result<Vec<RawSocket>, SourceError> {
    let (families, protos) = flags(hint);
    let sockets = netstat2::iterate_sockets_info(families, protos)
        .map_err(|error| SourceError::Backend(format!("listing sockets failed: {error}")))?;
    sockets
        .map(|info| {
            let info = info.map_err(|e| SourceError::Backend(e.to_string()))?;
            let mut pids = info.associated_pids.clone();
            pids.sort_unstable();
            pids.dedup();
            Ok(RawSocket {
                entry: to_entry(&info),
                pids,
            })
        })
        .collect()
}

pub(super) fn hidden_owners_hint(hidden: usize) -> String {
    #[cfg(windows)]
    let how = "run from an Administrator prompt to see them";
    #[cfg(not(windows))]
    let how = "run with sudo to see them";
    format!("{hidden} sockets' owners are hidden; {how}")
}
