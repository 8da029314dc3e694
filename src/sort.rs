//! Orders socket rows by a `--sort` key, with a fixed tie-break so output is stable.

use std::cmp::Ordering;
use std::net::{IpAddr, SocketAddr};

use clap::ValueEnum;

use crate::model::{ProcessInfo, SocketEntry, UnixName};

/// Sort keys for `--sort`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    #[default]
    Proto,
    Local,
    Remote,
    Port,
    State,
    Pid,
    Process,
    User,
    // Busiest first: in a watch with --tcp-info, by the current rates; in a listing, by the
    // bytes moved so far (received and acknowledged); sockets without counters last. (A plain
    // comment: a doc comment would make clap list every key with a description in --help.)
    Rate,
}

/// Sorts `entries` by `key`, then by the tie-break, which is total, so an unstable sort gives
/// one order.
pub fn sort(entries: &mut [SocketEntry], key: SortKey, reverse: bool) {
    // Indices are sorted, not entries: a swap moves 16 bytes, not 150. For the default key a
    // packed prefix of the full order decides most comparisons with one integer compare.
    let mut order: Vec<(u128, u32)> = (0..entries.len() as u32)
        .map(|i| (prefix(&entries[i as usize], key), i))
        .collect();
    order.sort_unstable_by(|&(pa, a), &(pb, b)| {
        let (a, b) = (&entries[a as usize], &entries[b as usize]);
        let order = pa
            .cmp(&pb)
            .then_with(|| by_key(a, b, key))
            .then_with(|| tie_break(a, b));
        if reverse { order.reverse() } else { order }
    });
    apply_order(entries, order.into_iter().map(|(_, i)| i).collect());
}

/// The order `sort` puts two entries in, for lists sorted one insertion at a time.
pub fn compare(a: &SocketEntry, b: &SocketEntry, key: SortKey, reverse: bool) -> Ordering {
    let order = prefix(a, key)
        .cmp(&prefix(b, key))
        .then_with(|| by_key(a, b, key))
        .then_with(|| tie_break(a, b));
    if reverse { order.reverse() } else { order }
}

/// A prefix of the `--sort proto` order packed in 128 bits: protocol, family, local port, the
/// first 32 bits of the local address, then the peer (present, family, first 32 address bits,
/// port). Fields after a cut IPv6 address stay 0, so the prefix never contradicts the full
/// order; equal prefixes fall through to it. Other keys use 0.
fn prefix(entry: &SocketEntry, key: SortKey) -> u128 {
    let Some(inet) = entry.inet().filter(|_| key == SortKey::Proto) else {
        return 0;
    };
    let top32 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => u128::from(v4.to_bits()),
        IpAddr::V6(v6) => v6.to_bits() >> 96,
    };
    let local = inet.local;
    let mut packed = (inet.proto as u128) << 100 | u128::from(local.is_ipv6()) << 98;
    packed |= u128::from(local.port()) << 82 | top32(local.ip()) << 50;
    if let (false, Some(peer)) = (local.is_ipv6(), inet.remote) {
        packed |= 1 << 49 | u128::from(peer.is_ipv6()) << 48 | top32(peer.ip()) << 16;
        if peer.is_ipv4() {
            packed |= u128::from(peer.port());
        }
    }
    packed
}

/// Moves `items[order[i]]` to position `i`, in place, following each cycle of the permutation.
fn apply_order<T>(items: &mut [T], mut order: Vec<u32>) {
    for start in 0..items.len() {
        let mut at = start;
        while order[at] as usize != start {
            let next = order[at] as usize;
            items.swap(at, next);
            order[at] = at as u32;
            at = next;
        }
        order[at] = at as u32;
    }
}

fn by_key(a: &SocketEntry, b: &SocketEntry, key: SortKey) -> Ordering {
    match key {
        SortKey::Proto => (a.proto(), a.family()).cmp(&(b.proto(), b.family())),
        SortKey::Local => local(a).cmp(&local(b)),
        SortKey::Remote => remote(a).cmp(&remote(b)),
        SortKey::Port => a.local_port().cmp(&b.local_port()),
        SortKey::State => a.state().cmp(&b.state()),
        SortKey::Pid => owner_key(a, |p| p.pid).cmp(&owner_key(b, |p| p.pid)),
        SortKey::Process => {
            owner_key(a, |p| lowercase(p.program())).cmp(&owner_key(b, |p| lowercase(p.program())))
        }
        SortKey::User => {
            owner_key(a, |p| p.user.as_deref()).cmp(&owner_key(b, |p| p.user.as_deref()))
        }
        // Reversed: the most bytes first.
        SortKey::Rate => bytes_moved(b).cmp(&bytes_moved(a)),
    }
}

/// Bytes received and acknowledged so far; `None` (after every figure) without counters.
fn bytes_moved(entry: &SocketEntry) -> Option<u64> {
    let counters = entry.tcp_info.as_ref()?.counters.as_ref()?;
    let received = counters.bytes_received.unwrap_or(0);
    Some(received.saturating_add(counters.bytes_acked.unwrap_or(0)))
}

/// `(false, value)` for the first owner, `(true, None)` when there is none, so those sort last.
fn owner_key<'a, T: Ord>(
    entry: &'a SocketEntry,
    field: impl Fn(&'a ProcessInfo) -> T,
) -> (bool, Option<T>) {
    match entry.processes.first() {
        Some(process) => (false, Some(field(process))),
        None => (true, None),
    }
}

/// Compares case-insensitively without allocating a lowercase copy per comparison.
fn lowercase(text: &str) -> Lowercase<'_> {
    Lowercase(text)
}

#[derive(PartialEq, Eq)]
struct Lowercase<'a>(&'a str);

impl Ord for Lowercase<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .chars()
            .flat_map(char::to_lowercase)
            .cmp(other.0.chars().flat_map(char::to_lowercase))
    }
}

impl PartialOrd for Lowercase<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Address then port, the way people read them.
fn local(entry: &SocketEntry) -> Option<(IpAddr, u16)> {
    entry
        .inet()
        .map(|inet| (inet.local.ip(), inet.local.port()))
}

fn remote(entry: &SocketEntry) -> Option<SocketAddr> {
    entry.inet().and_then(|inet| inet.remote)
}

fn tie_break(a: &SocketEntry, b: &SocketEntry) -> Ordering {
    fn unix_name(e: &SocketEntry) -> Option<&UnixName> {
        e.unix().map(|unix| &unix.name)
    }
    let key = |e: &SocketEntry| (e.proto(), e.local_port(), local(e), remote(e));
    key(a)
        .cmp(&key(b))
        .then_with(|| unix_name(a).cmp(&unix_name(b)))
        .then_with(|| a.inode.cmp(&b.inode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    fn sorted(key: SortKey, reverse: bool) -> Vec<SocketEntry> {
        let mut entries = FakeSource::sample().entries;
        sort(&mut entries, key, reverse);
        entries
    }

    fn local_ports(entries: &[SocketEntry]) -> Vec<u16> {
        entries.iter().filter_map(SocketEntry::local_port).collect()
    }

    #[test]
    fn port_orders_by_local_port() {
        let ports = local_ports(&sorted(SortKey::Port, false));
        assert!(ports.windows(2).all(|w| w[0] <= w[1]), "{ports:?}");
    }

    #[test]
    fn rate_puts_the_most_bytes_first_and_sockets_without_counters_last() {
        let mut entries = FakeSource::sample().entries;
        for (at, bytes) in [(3, 10u64), (4, 5_000)] {
            entries[at].tcp_info = Some(Box::new(crate::model::TcpInfo {
                counters: Some(crate::model::TcpCounters {
                    bytes_received: Some(bytes),
                    bytes_acked: Some(bytes),
                    ..Default::default()
                }),
                ..Default::default()
            }));
        }
        let (busy, quiet) = (entries[4].inode, entries[3].inode);
        sort(&mut entries, SortKey::Rate, false);
        assert_eq!([entries[0].inode, entries[1].inode], [busy, quiet]);
    }

    #[test]
    fn reverse_reverses() {
        let mut forward = sorted(SortKey::Port, false);
        forward.reverse();
        assert_eq!(
            local_ports(&forward),
            local_ports(&sorted(SortKey::Port, true))
        );
    }

    #[test]
    fn pid_puts_ownerless_sockets_last() {
        let entries = sorted(SortKey::Pid, false);
        let pids: Vec<_> = entries
            .iter()
            .map(|e| e.processes.first().map(|p| p.pid))
            .collect();
        let first_none = pids.iter().position(Option::is_none).unwrap();
        assert!(pids[first_none..].iter().all(Option::is_none), "{pids:?}");
        assert!(
            pids[..first_none].windows(2).all(|w| w[0] <= w[1]),
            "{pids:?}"
        );
    }

    #[test]
    fn proto_puts_tcp_before_udp_and_ipv4_before_ipv6() {
        let entries = sorted(SortKey::Proto, false);
        let keys: Vec<_> = entries.iter().map(|e| (e.proto(), e.family())).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
    }

    #[test]
    fn process_sorts_names_case_insensitively() {
        let mut entries = FakeSource::sample().entries;
        // "Zebra" must sort after "nginx" although 'Z' < 'n' in ASCII.
        let mut zebra = (*entries[2].processes[0]).clone();
        zebra.name = "Zebra".into();
        entries[2].processes = vec![std::sync::Arc::new(zebra)];
        sort(&mut entries, SortKey::Process, false);
        let names: Vec<_> = entries
            .iter()
            .filter_map(|e| e.processes.first())
            .map(|p| p.name.to_lowercase())
            .collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    }
}

#[cfg(test)]
mod properties {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::model::{Endpoint, InetSocket, Netns, Proto, State};

    /// Addresses from a small pool, so ties and shared /32 prefixes are common.
    fn addr(v6: bool, pick: u8, port: u16) -> SocketAddr {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                u16::from(pick % 4),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, pick % 4))
        };
        SocketAddr::new(ip, port % 4)
    }

    /// tcp?, IPv6?, local address pick, local port, peer (IPv6?, pick, port), inode.
    type Row = (bool, bool, u8, u16, Option<(bool, u8, u16)>, u8);

    fn entry((tcp, v6, local, port, peer, inode): Row) -> SocketEntry {
        let inet = InetSocket {
            proto: if tcp { Proto::Tcp } else { Proto::Udp },
            local: addr(v6, local, port),
            remote: peer.map(|(v6, pick, port)| addr(v6, pick, port)),
            state: tcp.then_some(State::Established),
            interface: None,
        };
        SocketEntry {
            inode: u64::from(inode),
            ..SocketEntry::new(Endpoint::Inet(inet), Arc::new(Netns::host(1)))
        }
    }

    proptest! {
        #[test]
        fn the_packed_prefix_never_changes_the_order(
            rows in prop::collection::vec(
                (any::<bool>(), any::<bool>(), any::<u8>(), any::<u16>(),
                 prop::option::of((any::<bool>(), any::<u8>(), any::<u16>())), any::<u8>()),
                0..40),
            reverse in any::<bool>(),
        ) {
            let mut entries: Vec<SocketEntry> = rows.into_iter().map(entry).collect();
            let mut want = entries.clone();
            want.sort_by(|a, b| {
                let order = by_key(a, b, SortKey::Proto).then_with(|| tie_break(a, b));
                if reverse { order.reverse() } else { order }
            });
            sort(&mut entries, SortKey::Proto, reverse);
            let keys = |list: &[SocketEntry]| list.iter().map(|e| (e.inet().cloned(), e.inode)).collect::<Vec<_>>();
            prop_assert_eq!(keys(&entries), keys(&want));
        }
    }
}
