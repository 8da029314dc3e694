//! Who holds each socket: the /proc fd scan (all of it, some pids only, or what changed for a
//! watch), looking again before blaming a refusal, and whether a socket without a visible
//! holder is hidden or simply has none.

use super::*;

/// Before a socket without an owner is blamed on a process the kernel would not show us, the
/// processes of its creator's user are read again: one opened after its process was read
/// (churn) is found then. Only when some process was refused, so a run that sees everything
/// pays nothing.
pub(super) fn look_again_for_owners(sockets: &[SocketEntry], owners: &mut OwnerMap) {
    let unowned = sockets
        .iter()
        .filter(|entry| entry.inode != 0 && owners.pids(entry.inode as u32).next().is_none());
    let uids: HashSet<u32> = unowned.filter_map(|entry| entry.uid).collect();
    if uids.is_empty() {
        return;
    }
    if let Ok(found) = fds::scan_changed(SCAN_THREADS, &uids, owners) {
        owners.absorb(found);
    }
}

/// What each process held at the last snapshot, and which sockets had no owner then.
#[derive(Debug, Default)]
pub(crate) struct OwnerMemory {
    fds: fds::FdMemory,
    unowned: HashSet<u32>,
}

pub(super) fn scan_owners(
    query: &Query,
    memory: Option<&mut OwnerMemory>,
) -> rustix::io::Result<OwnerMap> {
    match (&query.owners_among, memory) {
        (Some(pids), _) => Ok(fds::scan_pids(SCAN_THREADS, pids)),
        (None, Some(memory)) => fds::scan_remembering(SCAN_THREADS, &mut memory.fds),
        (None, None) => fds::scan(SCAN_THREADS),
    }
}

/// A scan that reused what processes held is trusted while every socket without an owner is
/// one that had none before; a new one may belong to a process that closed one socket and opened
/// another (its fd count unchanged), so then every process is read again.
pub(super) fn check_remembered(
    sockets: &[SocketEntry],
    owners: rustix::io::Result<OwnerMap>,
    memory: &mut OwnerMemory,
) -> rustix::io::Result<OwnerMap> {
    let unowned = |owners: &OwnerMap| -> HashSet<u32> {
        let inodes = sockets.iter().map(|s| s.inode as u32).filter(|&i| i != 0);
        inodes
            .filter(|&i| owners.pids(i).next().is_none())
            .collect()
    };
    let Ok(map) = &owners else { return owners };
    let now = unowned(map);
    let owners = if memory.fds.reused == 0 || now.is_subset(&memory.unowned) {
        owners
    } else {
        memory.fds.forget();
        fds::scan_remembering(SCAN_THREADS, &mut memory.fds)
    };
    memory.unowned = owners.as_ref().map(unowned).unwrap_or_default();
    owners
}

/// Why a live socket with no owner found may have one we cannot see; `None` when every
/// process's fds were read, so such a socket truly has no owner.
pub(super) fn hidden_because(owners: &rustix::io::Result<OwnerMap>) -> Option<HiddenReason> {
    let detail = match owners {
        Err(error) => format!("/proc cannot be read ({error})"),
        Ok(map) if !map.saw_self => "/proc shows no processes (not mounted, or covered)".into(),
        Ok(_) if !rustix::process::geteuid().is_root() => return Some(HiddenReason::NotRoot),
        Ok(map) if map.refused > 0 => {
            return Some(HiddenReason::RefusedToRoot {
                processes: map.refused,
            });
        }
        Ok(_) => return None,
    };
    Some(HiddenReason::ProcUnavailable { detail })
}

/// Whose processes could not be read, for owners that may be partly hidden.
pub(super) fn unseen(
    owners: &rustix::io::Result<OwnerMap>,
    reason: Option<&HiddenReason>,
) -> Unseen {
    match (reason, owners) {
        (None, _) => Unseen::Nobody,
        (Some(HiddenReason::NotRoot), _) => Unseen::AllBut(rustix::process::geteuid().as_raw()),
        (Some(HiddenReason::RefusedToRoot { .. }), Ok(map)) => {
            Unseen::Users(map.refused_uids.clone())
        }
        _ => Unseen::Everyone,
    }
}

/// A live socket (inode != 0) with no owner found is hidden when `owners_may_hide`: some
/// process's fds could not be read. Inode 0 means no file refers to it (TIME-WAIT): no owner.
pub(super) fn mark_hidden(entry: &mut SocketEntry, owner_found: bool, owners_may_hide: bool) {
    entry.owner_hidden = !owner_found && entry.inode != 0 && owners_may_hide;
}
