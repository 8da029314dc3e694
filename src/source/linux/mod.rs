//! Linux: netstat2's netlink dump without its pid map, beside our own parallel /proc fd scan.
//!
//! netstat2's `iterate_sockets_info` scans /proc serially and panics when /proc is unreadable
//! (../shared/PLATFORM.md); scanning ourselves, beside the dump, is faster and fails softly.

mod fds;

use std::io;
use std::thread;

use netstat2::{AddressFamilyFlags, ProtocolFlags};

use super::SourceError;
use super::system::RawSocket;
use fds::OwnerMap;

/// Threads reading /proc while the dump runs: this machine class has two cores.
const SCAN_THREADS: usize = 2;

pub(super) fn dump_with_owners(
    families: AddressFamilyFlags,
    protos: ProtocolFlags,
) -> Result<Vec<RawSocket>, SourceError> {
    let (dump, owners) = thread::scope(|scope| {
        let owners = scope.spawn(|| fds::scan(SCAN_THREADS));
        let dump = dump(families, protos);
        (dump, owners.join())
    });
    let owners = owners.map_err(|_| SourceError::Backend("the /proc scan panicked".into()))?;
    // Without /proc (hidepid, a sandbox) sockets are still listed, their owners marked hidden.
    let owners = owners.unwrap_or_else(|_| OwnerMap::unreadable());
    let sockets = dump?
        .into_iter()
        .map(|info| {
            let pids: Vec<u32> = owners.pids(info.inode).collect();
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
}
