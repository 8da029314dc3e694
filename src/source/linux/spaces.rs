//! Network namespaces: which to list, and listing the others on two threads, each entered
//! with setns (or read from /proc/PID/net where that is refused).

use super::*;

/// The namespace `ports` runs in (dumped on this thread, as before namespaces existed), unless
/// `--netns` names another; and the others to enter.
pub(super) fn namespaces(
    query: &Query,
) -> Result<(Option<Arc<Netns>>, Vec<netns::Namespace>), SourceError> {
    let own_inode = own_netns_inode();
    let own = || Arc::new(Netns::host(own_inode));
    match &query.netns {
        NetnsScope::Own => Ok((Some(own()), Vec::new())),
        NetnsScope::All => {
            let others = netns::discover()
                .into_iter()
                .filter(|ns| ns.netns.inode != own_inode);
            Ok((Some(own()), others.collect()))
        }
        NetnsScope::One(selector) => {
            let found = netns::find(selector).map_err(SourceError::Backend)?;
            if found.netns.inode == own_inode {
                Ok((Some(Arc::clone(&found.netns)), Vec::new()))
            } else {
                Ok((None, vec![found]))
            }
        }
    }
}

/// `--netns NAME` that could not be read lists nothing at all: an error, not a note.
pub(super) fn the_one_namespace_unreadable(
    query: &Query,
    problems: &[Problem],
) -> Option<SourceError> {
    if !matches!(query.netns, NetnsScope::One(_)) {
        return None;
    }
    let unreadable = problems
        .iter()
        .find(|problem| matches!(problem, Problem::NamespaceUnreadable { .. }))?;
    unreadable.note(0, 0, 0).map(SourceError::Backend)
}

/// Sockets found, and what could not be seen on the way.
pub(super) type Dumped = (Vec<SocketEntry>, Vec<Problem>);

/// Our own namespace's sockets and problems, then the others', and what they could not see.
pub(super) fn merge(
    own: Option<Result<Dumped, SourceError>>,
    others: Dumped,
) -> Result<Dumped, SourceError> {
    let (mut sockets, mut problems) = own.transpose()?.unwrap_or_default();
    sockets.extend(others.0);
    problems.extend(others.1);
    Ok((sockets, problems))
}

/// Lists other namespaces on two threads: each enters one (setns, then its own netlink socket
/// belongs there) or, refused, reads /proc/PID/net of a process in it.
pub(super) fn dump_namespaces(
    query: &Query,
    namespaces: &[netns::Namespace],
) -> (Vec<SocketEntry>, Vec<Problem>) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..SCAN_THREADS.min(namespaces.len()) {
            scope.spawn(|| {
                while let Some(ns) =
                    namespaces.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    let result = dump_namespace(query, ns);
                    if let Ok(mut all) = results.lock() {
                        all.push((ns, result));
                    }
                }
            });
        }
    });
    let (mut sockets, mut from_proc, mut problems) = (Vec::new(), Vec::new(), Vec::new());
    for (ns, result) in results.into_inner().unwrap_or_default() {
        let name = ns.netns.label().into_owned();
        match result {
            Ok((entries, not_entered)) => {
                sockets.extend(entries);
                from_proc.extend(not_entered.map(|why| (name, why)));
            }
            Err(error) => problems.push(Problem::NamespaceUnreadable { netns: name, error }),
        }
    }
    if !from_proc.is_empty() {
        from_proc.sort();
        let reason = from_proc[0].1.clone();
        let netns = from_proc.into_iter().map(|(name, _)| name).collect();
        problems.push(Problem::NamespacesFromProc { netns, reason });
    }
    (sockets, problems)
}

/// One namespace's sockets, and why it could not be entered when it was read from
/// /proc/PID/net instead.
pub(super) fn dump_namespace(
    query: &Query,
    ns: &netns::Namespace,
) -> Result<(Vec<SocketEntry>, Option<String>), String> {
    let query = &without_bound_unless_asked(query);
    let mut entries = Vec::new();
    let entered = netns::enter(ns)
        .map_err(|error| format!("entering it: {error}"))
        .and_then(|()| {
            dump_netlink(query, &ns.netns, &mut entries)
                .map_err(|error| format!("netlink SOCK_DIAG: {error}"))
        });
    let Err(error) = entered else {
        name_unix_peers(&mut entries);
        return Ok((entries, None));
    };
    entries.clear();
    let Some(pid) = ns.pid else {
        return Err(error);
    };
    read_proc_net(&format!("/proc/{pid}/net"), query, &ns.netns, &mut entries)
        .map_err(|procfs| format!("{error}; /proc/{pid}/net: {procfs}"))?;
    Ok((entries, Some(error)))
}

/// The inode of the network namespace we run in; 0 where /proc cannot tell.
pub(super) fn own_netns_inode() -> u64 {
    rustix::fs::stat("/proc/self/ns/net").map_or(0, |stat| stat.st_ino)
}
