//! macOS and Windows: netstat2 finds owners itself. Built only there: untested here (docs/platforms.md).

use netstat2::{AddressFamilyFlags, ProtocolFlags};

use super::SourceError;
use super::system::RawSocket;

pub(super) fn dump_with_owners(
    families: AddressFamilyFlags,
    protos: ProtocolFlags,
) -> Result<Vec<RawSocket>, SourceError> {
    let sockets = netstat2::iterate_sockets_info(families, protos)
        .map_err(|error| SourceError::Backend(format!("listing sockets failed: {error}")))?;
    sockets
        .map(|info| {
            let mut info = info.map_err(|e| SourceError::Backend(e.to_string()))?;
            let mut pids = std::mem::take(&mut info.associated_pids);
            pids.sort_unstable();
            pids.dedup();
            Ok(RawSocket {
                info,
                pids,
                owner_hidden: false,
            })
        })
        .collect()
}

#[cfg(unix)]
pub(super) fn user_name(uid: u32) -> Option<String> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
    Some(user.name)
}

/// Windows has SIDs, not uids; sysinfo reports no uid there, so this is never asked.
#[cfg(not(unix))]
pub(super) fn user_name(_uid: u32) -> Option<String> {
    None
}

pub(super) fn hidden_owners_hint(hidden: usize) -> String {
    #[cfg(windows)]
    let how = "run from an Administrator prompt to see them";
    #[cfg(not(windows))]
    let how = "run with sudo to see them";
    format!("{hidden} sockets' owners are hidden; {how}")
}
