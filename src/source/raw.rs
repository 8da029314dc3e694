//! What an OS layer hands the system source: sockets without process details, and their
//! owners' pids. Shared by every OS layer, importing none of them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::Problem;
use crate::model::{Netns, SocketEntry};

/// A socket as the OS layer found it: the entry without process details, and its owners' pids.
pub struct RawSocket {
    /// `processes` is empty here; `owner_hidden` is set when an owner could not be read.
    pub entry: SocketEntry,
    pub pids: Vec<u32>,
}

/// Everything one OS-level scan found.
pub struct RawSnapshot {
    pub sockets: Vec<RawSocket>,
    pub netns: Arc<Netns>,
    pub problems: Vec<Problem>,
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
