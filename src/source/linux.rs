//! Linux: netstat2's netlink dump without its pid map, and our own parallel /proc fd scan.
//!
//! netstat2's `iterate_sockets_info` scans /proc serially and panics when /proc is unreadable
//! (../shared/PLATFORM.md); scanning ourselves, beside the dump, is faster and fails softly.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::thread;

use netstat2::{AddressFamilyFlags, ProtocolFlags};

use super::SourceError;
use super::system::RawSocket;

pub(super) fn dump_with_owners(
    families: AddressFamilyFlags,
    protos: ProtocolFlags,
) -> Result<Vec<RawSocket>, SourceError> {
    let (dump, owners) = thread::scope(|scope| {
        let owners = scope.spawn(scan_owners);
        let dump = dump(families, protos);
        (dump, owners.join())
    });
    let owners = owners.map_err(|_| SourceError::Backend("the /proc scan panicked".into()))?;
    let owners = owners.unwrap_or_else(|_| OwnerMap::unreadable());
    let sockets = dump?
        .into_iter()
        .map(|info| {
            let pids = owners.pids(info.inode);
            // inode 0 means no file: TIME-WAIT and other sockets no process holds.
            let owner_hidden = pids.is_empty() && info.inode != 0 && owners.some_unreadable;
            RawSocket {
                info,
                pids,
                owner_hidden,
            }
        })
        .collect();
    Ok(sockets)
}

fn dump(
    families: AddressFamilyFlags,
    protos: ProtocolFlags,
) -> Result<Vec<netstat2::SocketInfo>, SourceError> {
    let sockets = netstat2::iterate_sockets_info_without_pids(families, protos)
        .map_err(netlink_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(netlink_error)?;
    Ok(sockets)
}

fn netlink_error(error: netstat2::error::Error) -> SourceError {
    match error {
        netstat2::error::Error::OsError(io) if io.kind() == io::ErrorKind::PermissionDenied => {
            SourceError::PermissionDenied(format!("netlink SOCK_DIAG: {io}"))
        }
        other => SourceError::Backend(format!("netlink SOCK_DIAG dump failed: {other}")),
    }
}

/// Which processes hold which socket inodes.
#[derive(Debug, Default)]
struct OwnerMap {
    pids_by_inode: HashMap<u32, Vec<u32>>,
    /// Some process's fds could not be read (another user's, without root).
    some_unreadable: bool,
}

impl OwnerMap {
    fn unreadable() -> OwnerMap {
        OwnerMap {
            some_unreadable: true,
            ..OwnerMap::default()
        }
    }

    fn pids(&self, inode: u32) -> Vec<u32> {
        self.pids_by_inode.get(&inode).cloned().unwrap_or_default()
    }

    fn merge(&mut self, other: OwnerMap) {
        for (inode, pids) in other.pids_by_inode {
            self.pids_by_inode.entry(inode).or_default().extend(pids);
        }
        self.some_unreadable |= other.some_unreadable;
    }
}

const SCAN_THREADS: usize = 2;

/// Reads every /proc/PID/fd link, split over threads.
fn scan_owners() -> io::Result<OwnerMap> {
    let pids: Vec<u32> = fs::read_dir("/proc")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let mut owners = thread::scope(|scope| {
        let workers: Vec<_> = (0..SCAN_THREADS)
            .map(|nth| {
                let share = pids.iter().copied().skip(nth).step_by(SCAN_THREADS);
                scope.spawn(move || scan_pids(share))
            })
            .collect();
        let mut owners = OwnerMap::default();
        for worker in workers {
            owners.merge(worker.join().unwrap_or_else(|_| OwnerMap::unreadable()));
        }
        owners
    });
    for pids in owners.pids_by_inode.values_mut() {
        pids.sort_unstable();
        pids.dedup();
    }
    Ok(owners)
}

fn scan_pids(pids: impl Iterator<Item = u32>) -> OwnerMap {
    let mut owners = OwnerMap::default();
    for pid in pids {
        let fds = match fs::read_dir(format!("/proc/{pid}/fd")) {
            Ok(fds) => fds,
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                owners.some_unreadable = true;
                continue;
            }
            Err(_) => continue, // exited since /proc was listed
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(inode) = target.to_str().and_then(socket_inode) {
                owners.pids_by_inode.entry(inode).or_default().push(pid);
            }
        }
    }
    owners
}

/// Parses an fd link target such as `socket:[12345]`.
fn socket_inode(target: &str) -> Option<u32> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The user name of `uid` through NSS (`/etc/passwd`, LDAP, ...), as `ps` and `ss` resolve it.
pub(super) fn user_name(uid: u32) -> Option<String> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok()??;
    Some(user.name)
}

pub(super) fn hidden_owners_hint(hidden: usize) -> String {
    let sockets = if hidden == 1 {
        "socket's owner is"
    } else {
        "sockets' owners are"
    };
    format!("{hidden} {sockets} hidden: they belong to other users; run with sudo to see them")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_socket_links_only() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("socket:[12"), None);
    }

    #[test]
    fn finds_our_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = dump_with_owners(AddressFamilyFlags::IPV4, ProtocolFlags::TCP).unwrap();
        let ours = sockets
            .iter()
            .find(|s| s.info.local_port() == port)
            .unwrap();
        assert!(ours.pids.contains(&std::process::id()));
    }

    #[test]
    fn names_users_with_false_shells() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        // uid 1 is `daemon` on Debian and most Linux distributions.
        assert_eq!(user_name(1).as_deref(), Some("daemon"));
        assert_eq!(user_name(4_000_000_000), None);
    }

    #[test]
    fn merge_joins_pid_lists() {
        let mut a = OwnerMap::default();
        a.pids_by_inode.insert(7, vec![1]);
        let mut b = OwnerMap::default();
        b.pids_by_inode.insert(7, vec![2]);
        b.some_unreadable = true;
        a.merge(b);
        assert_eq!(a.pids_by_inode[&7], vec![1, 2]);
        assert!(a.some_unreadable);
    }
}
