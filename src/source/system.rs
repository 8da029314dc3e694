//! The real source: the OS layer lists sockets with their owners' pids; sysinfo names the pids.

use std::collections::HashMap;
use std::sync::Arc;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::raw::RawSnapshot;
use super::{Problem, Query, Snapshot, SocketSource, SourceError, os};
use crate::model::ProcessInfo;

/// Lists this machine's sockets. Keeps sysinfo's process table and resolved user names between
/// snapshots, so asking again reuses them.
#[derive(Default)]
pub struct SystemSource {
    system: Option<System>,
    user_names: HashMap<u32, Option<String>>,
}

impl std::fmt::Debug for SystemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSource").finish_non_exhaustive()
    }
}

impl SocketSource for SystemSource {
    fn snapshot(&mut self, query: &Query) -> Result<Snapshot, SourceError> {
        let RawSnapshot {
            mut sockets,
            owners,
            netns,
            mut problems,
        } = os::sockets_with_owners(query)?;
        let pids = owners.iter().map(|&(_, pid)| pid);
        let processes = match self.describe(pids.clone()) {
            Ok(processes) => processes,
            Err(error) => {
                problems.push(Problem::ProcessDetailsUnavailable { error });
                bare_pids(pids)
            }
        };
        // A pid missing from `processes` exited after the fd scan: it no longer owns anything.
        for (index, pid) in owners {
            if let Some(process) = processes.get(&pid) {
                sockets[index as usize].processes.push(Arc::clone(process));
            }
        }
        Ok(Snapshot {
            sockets,
            namespaces: vec![netns],
            problems,
        })
    }
}

/// Owners known by pid only, for when sysinfo cannot start.
fn bare_pids(pids: impl Iterator<Item = u32>) -> HashMap<u32, Arc<ProcessInfo>> {
    pids.map(|pid| {
        let info = ProcessInfo {
            pid,
            name: String::new(),
            user: None,
            uid: None,
            cmdline: String::new(),
        };
        (pid, Arc::new(info))
    })
    .collect()
}

impl SystemSource {
    /// Names, users and command lines of the given pids only: a full process refresh costs more.
    fn describe(
        &mut self,
        pids: impl Iterator<Item = u32>,
    ) -> Result<HashMap<u32, Arc<ProcessInfo>>, String> {
        let mut pids: Vec<Pid> = pids.map(Pid::from_u32).collect();
        pids.sort_unstable();
        pids.dedup();
        if pids.is_empty() {
            return Ok(HashMap::new());
        }
        let system = match &mut self.system {
            Some(system) => system,
            empty => empty.insert(System::new().map_err(|e| e.to_string())?),
        };
        let fields = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_user(UpdateKind::Always)
            .with_cmd(UpdateKind::Always);
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, fields);
        let user_names = &mut self.user_names;
        let described = pids.iter().filter_map(|&pid| {
            let process = system.process(pid)?;
            let uid = process.user_id().map(|uid| **uid);
            let user = uid.and_then(|uid| cached_user_name(user_names, uid));
            let info = ProcessInfo {
                pid: pid.as_u32(),
                name: process.name().to_string_lossy().into_owned(),
                user,
                uid,
                cmdline: join_lossy(process.cmd()),
            };
            Some((pid.as_u32(), Arc::new(info)))
        });
        Ok(described.collect())
    }
}

/// User names come from NSS: sysinfo's list skips accounts whose shell is `/bin/false` (most
/// daemons) and ignores NSS. Cached: a uid's name does not change between snapshots.
fn cached_user_name(cache: &mut HashMap<u32, Option<String>>, uid: u32) -> Option<String> {
    cache.entry(uid).or_insert_with(|| user_name(uid)).clone()
}

/// The user name of `uid` through NSS (`/etc/passwd`, LDAP, ...), as `ps` and `ss` resolve it.
#[cfg(unix)]
fn user_name(uid: u32) -> Option<String> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
    Some(user.name)
}

/// Windows has SIDs, not uids; sysinfo reports no uid there, so this is never asked.
#[cfg(not(unix))]
fn user_name(_uid: u32) -> Option<String> {
    None
}

/// The uid of user `name` through NSS, as `id -u NAME` finds it.
#[cfg(unix)]
pub fn uid_of(name: &str) -> Option<u32> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some(user.uid.as_raw())
}

/// No uids on Windows: a name matches nothing there.
#[cfg(not(unix))]
pub fn uid_of(_name: &str) -> Option<u32> {
    None
}

fn join_lossy(args: &[std::ffi::OsString]) -> String {
    let parts: Vec<_> = args.iter().map(|arg| arg.to_string_lossy()).collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_users_through_nss() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(user_name(4_000_000_000), None);
        assert_eq!(uid_of("root"), Some(0));
        assert_eq!(uid_of("no-such-user-here"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn describes_the_current_process_again_and_again() {
        let me = std::process::id();
        let mut source = SystemSource::default();
        for _ in 0..2 {
            let processes = source.describe([me, me].into_iter()).unwrap();
            let info = &processes[&me];
            assert_eq!(info.pid, me);
            assert!(!info.name.is_empty());
            assert_eq!(info.uid, Some(current_uid()));
            assert_eq!(info.user.as_deref(), user_name(current_uid()).as_deref());
            assert!(info.cmdline.contains("ports"), "{}", info.cmdline);
            assert_eq!(processes.len(), 1, "only the pids asked for");
        }
    }

    #[cfg(target_os = "linux")]
    fn current_uid() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
