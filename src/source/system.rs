//! The real source: the OS layer lists sockets with their owners' pids; sysinfo names the pids.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::{SocketSource, SourceError, os};
use crate::filter::Filter;
use crate::model::{ProcessInfo, SocketEntry};

/// Lists this machine's sockets.
#[derive(Debug, Default)]
pub struct SystemSource;

impl SocketSource for SystemSource {
    fn sockets(&self, hint: &Filter) -> Result<Vec<SocketEntry>, SourceError> {
        let raw = os::sockets_with_owners(hint)?;
        let processes = describe_processes(raw.iter().flat_map(|s| s.pids.iter().copied()));
        Ok(raw.into_iter().map(|s| s.into_entry(&processes)).collect())
    }
}

/// A socket as the OS layer found it: the entry without process details, and its owners' pids.
pub(super) struct RawSocket {
    /// `processes` is empty here; `owner_hidden` is set when an owner could not be read.
    pub entry: SocketEntry,
    pub pids: Vec<u32>,
}

impl RawSocket {
    fn into_entry(self, processes: &HashMap<u32, Arc<ProcessInfo>>) -> SocketEntry {
        let mut entry = self.entry;
        // A pid missing here exited after the fd scan: it no longer owns anything.
        entry.processes = self
            .pids
            .iter()
            .filter_map(|pid| processes.get(pid).cloned())
            .collect();
        entry.owner_hidden &= entry.processes.is_empty();
        entry
    }
}

/// Shows IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they carry, like ss.
pub(super) fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

/// Names, users and command lines of the given pids only: a full process refresh costs more.
/// User names come from `user_name`: sysinfo's list skips accounts whose shell is `/bin/false`
/// (most daemons) and ignores NSS.
fn describe_processes(pids: impl Iterator<Item = u32>) -> HashMap<u32, Arc<ProcessInfo>> {
    let mut pids: Vec<Pid> = pids.map(Pid::from_u32).collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() {
        return HashMap::new();
    }
    let Ok(mut system) = System::new() else {
        return HashMap::new();
    };
    let fields = ProcessRefreshKind::nothing()
        .without_tasks()
        .with_user(UpdateKind::Always)
        .with_cmd(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, fields);
    let mut user_names = HashMap::new();
    let mut user_name = |uid: u32| {
        user_names
            .entry(uid)
            .or_insert_with(|| user_name(uid))
            .clone()
    };
    system
        .processes()
        .iter()
        .map(|(pid, process)| {
            let uid = process.user_id().map(|uid| **uid);
            let info = ProcessInfo {
                pid: pid.as_u32(),
                name: process.name().to_string_lossy().into_owned(),
                user: uid.and_then(&mut user_name),
                uid,
                cmdline: join_lossy(process.cmd()),
            };
            (pid.as_u32(), Arc::new(info))
        })
        .collect()
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

fn join_lossy(args: &[std::ffi::OsString]) -> String {
    let parts: Vec<_> = args.iter().map(|arg| arg.to_string_lossy()).collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmaps_ipv4_in_ipv6_only() {
        assert_eq!(
            unmap("[::ffff:127.0.0.1]:80".parse().unwrap()),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            unmap("[::1]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            unmap("10.0.0.1:80".parse().unwrap()),
            "10.0.0.1:80".parse().unwrap()
        );
    }

    #[cfg(unix)]
    #[test]
    fn names_users_through_nss() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(user_name(4_000_000_000), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn describes_the_current_process() {
        let me = std::process::id();
        let processes = describe_processes([me, me].into_iter());
        let info = &processes[&me];
        assert_eq!(info.pid, me);
        assert!(!info.name.is_empty());
        assert_eq!(info.uid, Some(current_uid()));
        assert!(info.cmdline.contains("ports"), "{}", info.cmdline);
    }

    #[cfg(target_os = "linux")]
    fn current_uid() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
