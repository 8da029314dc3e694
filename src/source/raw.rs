//! What an OS layer hands the system source: sockets without process details, and their
//! owners' pids. Shared by every OS layer, importing none of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::{HiddenReason, Problem};
use crate::model::{Netns, SocketEntry};

/// Everything one OS-level scan found: the sockets without process details (`owner_hidden`
/// set where an owner could not be read), and who holds them.
pub struct RawSnapshot {
    pub sockets: Vec<SocketEntry>,
    /// `(index into sockets, pid)`, each socket's pids ascending. One flat list rather than a
    /// list per socket: at 100,000 sockets that is 0.8 MB instead of 5.
    pub owners: Vec<(u32, u32)>,
    /// The namespaces listed, the first the one `ports` runs in (or the only one).
    pub namespaces: Vec<Arc<Netns>>,
    pub problems: Vec<Problem>,
    /// Why an owner may be missing, when some process could not be read; `None` when every
    /// process was. The caller states it as a problem if any socket turns out hidden.
    pub hidden_because: Option<HiddenReason>,
    /// Whose processes could not be read.
    pub unseen: Unseen,
    /// `(pid, start time in clock ticks)` of each owner, read with its fds (sorted by pid); empty
    /// where the OS layer cannot tell.
    pub starts: Vec<(u32, u64)>,
    /// Each listed namespace's ruleset, when the query asked for them.
    pub rulesets: Vec<super::RulesetRead>,
}

/// Whose processes a scan could not read, so may hold a socket unseen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Unseen {
    /// Every process was read.
    #[default]
    Nobody,
    /// Not root: any user's but this one's.
    AllBut(u32),
    /// Refused even to root: processes running as these users.
    Users(Vec<u32>),
    /// /proc could not be read at all.
    Everyone,
}

impl Unseen {
    /// Whether a process that could not be read may hold `entry`: one of its creator's user,
    /// or any when root created it (a daemon binds as root, then drops to another user) or
    /// the creator is unknown.
    pub fn includes_creator(&self, entry: &SocketEntry) -> bool {
        match entry.uid {
            Some(uid) if uid != 0 => self.includes(uid),
            _ => *self != Unseen::Nobody,
        }
    }

    pub fn includes(&self, uid: u32) -> bool {
        match self {
            Unseen::Nobody => false,
            Unseen::AllBut(me) => uid != *me,
            Unseen::Users(uids) => uids.contains(&uid),
            Unseen::Everyone => true,
        }
    }
}

/// Shows IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they carry, like ss.
pub fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_process_of_the_creators_user_could_be_a_hidden_holder() {
        let mut socket = crate::source::FakeSource::sample().entries[0].clone();
        // Root refused only pid 1 (uid 0): a listener created by uid 33 is not its.
        let refused = Unseen::Users(vec![0]);
        socket.uid = Some(33);
        assert!(!refused.includes_creator(&socket));
        socket.uid = Some(0);
        assert!(refused.includes_creator(&socket));
        // Refused a process of uid 33: root's listener may be its (bound, then dropped).
        assert!(Unseen::Users(vec![33]).includes_creator(&socket));
        socket.uid = None;
        assert!(
            refused.includes_creator(&socket),
            "unknown creator: could be"
        );
        assert!(!Unseen::Nobody.includes_creator(&socket));
    }

    #[test]
    fn unmaps_ipv4_in_ipv6_only() {
        let cases = [
            ("[::ffff:127.0.0.1]:80", "127.0.0.1:80"),
            ("[::1]:80", "[::1]:80"),
            ("10.0.0.1:80", "10.0.0.1:80"),
        ];
        for (given, want) in cases {
            assert_eq!(unmap(given.parse().unwrap()), want.parse().unwrap());
        }
    }
}
