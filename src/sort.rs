//! Orders socket rows by a `--sort` key, with a fixed tie-break so output is stable.

use std::net::IpAddr;

use clap::ValueEnum;

use crate::model::{ProcessInfo, Proto, SocketEntry};

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
}

/// Sorts `entries` by `key`, then by the tie-break, which is total, so an unstable sort gives
/// one order.
pub fn sort(entries: &mut [SocketEntry], key: SortKey, reverse: bool) {
    // Each row's key is computed once: a comparison then compares integers (and one string for
    // process and user), and the entries move once, at the end.
    entries.sort_by_cached_key(|entry| row_key(entry, key));
    if reverse {
        entries.reverse();
    }
}

/// The `--sort` value, then the tie-break.
type RowKey = (Primary, TieKey);

/// Numbers first, then a text (process and user names), then nothing: each key fills what it
/// needs, in the order of the values it stands for.
type Primary = (u8, u128, u32, Option<String>);

/// Protocol, local port, local address, peer, inode.
type TieKey = (Option<Proto>, u16, IpKey, Option<(IpKey, u16)>, u64);

/// IPv4 before IPv6, then by address, as `IpAddr` orders them.
type IpKey = (u8, u128);

fn row_key(entry: &SocketEntry, key: SortKey) -> RowKey {
    (primary(entry, key), tie_key(entry))
}

fn primary(entry: &SocketEntry, key: SortKey) -> Primary {
    let addr = |addr: Option<(IpKey, u16)>| {
        addr.map_or((0, 0, 0, None), |((v, ip), port)| {
            (v, ip, u32::from(port), None)
        })
    };
    match key {
        SortKey::Proto => {
            let family = rank(entry.family().map(|f| f as u8));
            (rank(entry.proto().map(|p| p as u8)), family.into(), 0, None)
        }
        SortKey::Local => addr(local(entry)),
        SortKey::Remote => addr(remote(entry)),
        SortKey::Port => (0, entry.local_port().map_or(0, u128::from), 0, None),
        SortKey::State => (rank(entry.state().map(|s| s as u8)), 0, 0, None),
        SortKey::Pid => owner_key(entry, |p| (0, p.pid, None)),
        SortKey::Process => owner_key(entry, |p| (0, 0, Some(p.name.to_lowercase()))),
        SortKey::User => owner_key(entry, |p| (0, 0, p.user.clone())),
    }
}

/// 0 for none, then 1 + the value's position in its declaration order (`as u8`).
fn rank(value: Option<u8>) -> u8 {
    value.map_or(0, |value| value + 1)
}

/// The first owner's field; sockets without a visible owner go last.
fn owner_key(
    entry: &SocketEntry,
    field: impl Fn(&ProcessInfo) -> (u128, u32, Option<String>),
) -> Primary {
    match entry.processes.first() {
        Some(process) => {
            let (number, small, text) = field(process);
            (0, number, small, text)
        }
        None => (1, 0, 0, None),
    }
}

fn local(entry: &SocketEntry) -> Option<(IpKey, u16)> {
    entry
        .inet()
        .map(|inet| (ip_key(inet.local.ip()), inet.local.port()))
}

fn remote(entry: &SocketEntry) -> Option<(IpKey, u16)> {
    let peer = entry.inet()?.remote?;
    Some((ip_key(peer.ip()), peer.port()))
}

fn ip_key(ip: IpAddr) -> IpKey {
    match ip {
        IpAddr::V4(v4) => (4, u128::from(v4.to_bits())),
        IpAddr::V6(v6) => (6, v6.to_bits()),
    }
}

fn tie_key(entry: &SocketEntry) -> TieKey {
    let (ip, port) = local(entry).unwrap_or_default();
    (entry.proto(), port, ip, remote(entry), entry.inode)
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
