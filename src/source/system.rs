//! The real source: the OS layer lists sockets with their owners' pids; sysinfo names the pids.

use std::collections::HashMap;
use std::sync::Arc;

use sysinfo::{Pid, Process, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::os::ContainerFiles;
use super::raw::{RawSnapshot, Unseen};
use super::{Backend, Problem, Query, Snapshot, SocketSource, SourceError, os};
use crate::model::{ProcessInfo, SocketEntry};

/// Lists this machine's sockets. Keeps sysinfo's process table and resolved user names between
/// snapshots, so asking again reuses them.
#[derive(Default)]
pub struct SystemSource {
    system: Option<System>,
    user_names: HashMap<u32, Option<String>>,
    /// For a watch: what each process held, so unchanged ones are not read again.
    owner_memory: Option<os::OwnerMemory>,
    backend: Backend,
}

impl std::fmt::Debug for SystemSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemSource").finish_non_exhaustive()
    }
}

impl SocketSource for SystemSource {
    fn sees_namespaces(&self) -> bool {
        os::SEES_NAMESPACES && self.backend == Backend::Native
    }

    fn address_holder(&mut self, to: std::net::SocketAddr, netns: u64) -> super::AddressHolder {
        match self.backend {
            Backend::Native => os::address_holder(to, netns),
            Backend::Portable => super::AddressHolder::Unknowable,
        }
    }

    fn snapshot(&mut self, query: &Query) -> Result<Snapshot, SourceError> {
        let RawSnapshot {
            mut sockets,
            owners,
            namespaces,
            mut problems,
            hidden_because,
            unseen,
            starts,
            rulesets,
        } = self.raw_snapshot(query)?;
        let pids = owners.iter().map(|&(_, pid)| pid);
        let mut processes = match self.describe(pids.clone(), query.owner_context) {
            Ok(processes) => processes,
            Err(error) => {
                problems.push(Problem::ProcessDetailsUnavailable { error });
                bare_pids(pids)
            }
        };
        let knows_starts = os::KNOWS_START_TIMES && self.backend == Backend::Native;
        keep_the_processes_seen(&mut processes, &starts, knows_starts, os::start_ticks);
        // A pid missing from `processes` exited after the fd scan: it no longer owns anything.
        for (index, pid) in owners {
            if let Some(process) = processes.get(&pid) {
                sockets[index as usize].processes.push(Arc::clone(process));
            }
        }
        name_socket_users(&mut sockets, &mut self.user_names);
        if let Some(reason) = hidden_because {
            sockets
                .iter_mut()
                .for_each(|entry| mark_partly_hidden(entry, &unseen));
            if sockets.iter().any(|s| s.owner_hidden) {
                problems.push(Problem::OwnersHidden { reason });
            }
        }
        Ok(Snapshot {
            sockets,
            namespaces,
            problems,
            taken_at: None,
            host: host_name(),
            rulesets,
        })
    }
}

/// The user a live socket belongs to, named where no holder is visible: unprivileged, another
/// user's listener still says whose it is (`ss -e` shows the same uid).
fn name_socket_users(sockets: &mut [SocketEntry], names: &mut HashMap<u32, Option<String>>) {
    let mut shared: HashMap<u32, Option<Arc<str>>> = HashMap::new();
    let ownerless = sockets
        .iter_mut()
        .filter(|entry| entry.processes.is_empty() && entry.inode != 0);
    for entry in ownerless {
        let Some(uid) = entry.uid else { continue };
        entry.user = shared
            .entry(uid)
            .or_insert_with(|| cached_user_name(names, uid).map(Arc::from))
            .clone();
    }
}

/// Drops the details of a pid whose process started at another time than the one whose fds were
/// read: that one exited and its pid was reused before its details were read, so the details
/// are a newcomer's. The start read after the details, equal to the one read with the fds,
/// proves the same process lived throughout. Keeps the scan's start time for `ports kill`.
fn keep_the_processes_seen(
    processes: &mut HashMap<u32, Arc<ProcessInfo>>,
    starts: &[(u32, u64)],
    knows_starts: bool,
    start_now: impl Fn(u32) -> Option<u64>,
) {
    processes.retain(|&pid, process| {
        let Ok(found) = starts.binary_search_by_key(&pid, |&(p, _)| p) else {
            // Where the OS gives start times, a holder without one exited before it was read.
            return !knows_starts;
        };
        let seen = starts[found].1;
        Arc::make_mut(process).start_ticks = Some(seen);
        start_now(pid) == Some(seen)
    });
}

/// A socket whose visible owners all run as users other than its creator, while that user's
/// processes could not be read, may have another owner we cannot see: nginx's root master
/// beside its `nobody` workers, seen as `nobody`. (A daemon that bound as root and dropped
/// its privileges looks the same from outside.)
fn mark_partly_hidden(entry: &mut SocketEntry, unseen: &Unseen) {
    let seen = |uid| entry.processes.iter().any(|p| p.uid == Some(uid));
    let creator_unseen = entry
        .uid
        .is_some_and(|uid| !seen(uid) && unseen.includes(uid));
    if !entry.processes.is_empty() && creator_unseen {
        entry.owner_hidden = true;
    }
}

/// The host name, as `hostname` prints it.
fn host_name() -> Option<String> {
    System::host_name().ok()
}

/// Owners known by pid only, for when sysinfo cannot start.
fn bare_pids(pids: impl Iterator<Item = u32>) -> HashMap<u32, Arc<ProcessInfo>> {
    pids.map(|pid| {
        let info = ProcessInfo {
            pid,
            ..ProcessInfo::default()
        };
        (pid, Arc::new(info))
    })
    .collect()
}

impl SystemSource {
    /// A source listing with `backend` (the portable one, on Linux, only when asked for).
    pub fn with_backend(backend: Backend) -> SystemSource {
        SystemSource {
            backend,
            ..SystemSource::default()
        }
    }

    /// The sockets and their owners' pids, from the backend in use.
    fn raw_snapshot(&mut self, query: &Query) -> Result<RawSnapshot, SourceError> {
        match self.backend {
            Backend::Native => os::sockets_with_owners(query, self.owner_memory.as_mut()),
            Backend::Portable => {
                let mut raw = super::portable::sockets_with_owners(query)?;
                raw.problems.push(Problem::PortableBackend);
                Ok(raw)
            }
        }
    }

    /// A source asked again and again (a watch): it remembers what each process held.
    pub fn remembering() -> SystemSource {
        SystemSource {
            owner_memory: Some(os::OwnerMemory::default()),
            ..SystemSource::default()
        }
    }

    /// Details of the given pids only: a full process refresh costs more. With `context`, also
    /// the parent, start time, executable, unit and container, which only `-w`, JSON and the
    /// card show.
    fn describe(
        &mut self,
        pids: impl Iterator<Item = u32>,
        context: bool,
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
        refresh(system, &pids);
        if context {
            let parents: Vec<Pid> = pids
                .iter()
                .filter_map(|&pid| system.process(pid)?.parent())
                .collect();
            refresh(system, &parents);
        }
        let mut files = ContainerFiles::here();
        let user_names = &mut self.user_names;
        let described = pids.iter().filter_map(|&pid| {
            let process = system.process(pid)?;
            let mut info = details(process, user_names);
            if context {
                add_context(&mut info, process, system, &mut files);
            }
            Some((pid.as_u32(), Arc::new(info)))
        });
        Ok(described.collect())
    }
}

/// Reads the fields shown for `pids`: user, command line and executable (the program name).
fn refresh(system: &mut System, pids: &[Pid]) {
    let fields = ProcessRefreshKind::nothing()
        .without_tasks()
        .with_user(UpdateKind::Always)
        .with_cmd(UpdateKind::Always)
        .with_exe(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(pids), true, fields);
}

/// What every view shows: pid, names, the effective user (as `ps` and `lsof` show it), the
/// command line.
fn details(process: &Process, user_names: &mut HashMap<u32, Option<String>>) -> ProcessInfo {
    let uid = process
        .effective_user_id()
        .or(process.user_id())
        .map(|uid| **uid);
    let name = process.name().to_string_lossy().into_owned();
    let argv0 = process.cmd().first().map(|arg| arg.to_string_lossy());
    let exe = process.exe().map(|exe| exe.to_string_lossy());
    ProcessInfo {
        pid: process.pid().as_u32(),
        program: program_name(&name, [argv0.as_deref(), exe.as_deref()]),
        name,
        user: uid.and_then(|uid| cached_user_name(user_names, uid)),
        uid,
        cmdline: join_lossy(process.cmd()),
        ..ProcessInfo::default()
    }
}

/// The kernel cuts `comm` at 15 bytes: a longer base name of argv[0] or the executable that
/// begins with it is the real name. Empty when `comm` is whole.
fn program_name(comm: &str, candidates: [Option<&str>; 2]) -> String {
    const COMM_MAX: usize = 15;
    if comm.len() < COMM_MAX {
        return String::new();
    }
    let base = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    let names = candidates.into_iter().flatten().map(base);
    names
        .into_iter()
        .find(|name| name.len() > comm.len() && name.starts_with(comm))
        .unwrap_or_default()
}

/// Where the process comes from and runs: executable, parent, start time, unit, container, and
/// for a container's port forwarder, where it forwards.
fn add_context(
    info: &mut ProcessInfo,
    process: &Process,
    system: &System,
    files: &mut ContainerFiles,
) {
    info.exe = process.exe().map(|exe| exe.to_string_lossy().into_owned());
    info.ppid = process.parent().map(Pid::as_u32);
    info.parent = process
        .parent()
        .and_then(|ppid| system.process(ppid))
        .map(|parent| {
            let name = parent.name().to_string_lossy().into_owned();
            let argv0 = parent
                .cmd()
                .first()
                .map(|arg| arg.to_string_lossy().into_owned());
            let program = program_name(&name, [argv0.as_deref(), None]);
            if program.is_empty() { name } else { program }
        });
    info.started = Some(process.start_time()).filter(|&started| started > 0);
    os::place(info, files);
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

    #[test]
    fn details_read_after_a_pid_was_reused_are_dropped() {
        let mut processes = bare_pids([10, 20, 30].into_iter());
        // 10 lived throughout; 20's pid went to a newcomer; 30 exited before its start was read.
        let starts = [(10, 500), (20, 600)];
        let now = |pid| match pid {
            10 => Some(500),
            20 => Some(900),
            _ => None,
        };
        keep_the_processes_seen(&mut processes, &starts, true, now);
        let mut kept: Vec<u32> = processes.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!(kept, [10]);
        assert_eq!(processes[&10].start_ticks, Some(500));
    }

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
            let processes = source.describe([me, me].into_iter(), true).unwrap();
            let info = &processes[&me];
            assert_eq!(info.pid, me);
            assert!(!info.name.is_empty());
            assert_eq!(info.uid, Some(current_uid()));
            assert_eq!(info.user.as_deref(), user_name(current_uid()).as_deref());
            assert!(info.cmdline.contains("ports"), "{}", info.cmdline);
            assert_eq!(processes.len(), 1, "only the pids asked for");
            assert_eq!(info.ppid, Some(std::os::unix::process::parent_id()));
            assert!(info.started.is_some() && info.exe.is_some(), "{info:?}");
        }
    }

    #[test]
    fn long_names_come_from_argv0_or_the_executable() {
        let comm = "my-long-server-";
        let argv0 = Some("/opt/bin/my-long-server-name");
        assert_eq!(program_name(comm, [argv0, None]), "my-long-server-name");
        assert_eq!(
            program_name(comm, [Some("python3"), Some("/tmp/my-long-server-name")]),
            "my-long-server-name"
        );
        assert_eq!(
            program_name("nginx", [Some("nginx: worker process"), None]),
            ""
        );
        assert_eq!(
            program_name(comm, [Some("other"), None]),
            "",
            "unrelated names are not taken"
        );
    }

    #[cfg(target_os = "linux")]
    fn current_uid() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}
