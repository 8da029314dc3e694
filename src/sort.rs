//! Orders socket rows by a `--sort` key, with a fixed tie-break so output is stable.

use std::cmp::Ordering;
use std::net::{IpAddr, SocketAddr};

use clap::ValueEnum;

use crate::model::SocketEntry;

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

pub fn sort(entries: &mut [SocketEntry], key: SortKey, reverse: bool) {
    entries.sort_by(|a, b| {
        let order = by_key(a, b, key).then_with(|| tie_break(a, b));
        if reverse { order.reverse() } else { order }
    });
}

fn by_key(a: &SocketEntry, b: &SocketEntry, key: SortKey) -> Ordering {
    match key {
        SortKey::Proto => (a.proto(), a.family()).cmp(&(b.proto(), b.family())),
        SortKey::Local => local(a).cmp(&local(b)),
        SortKey::Remote => remote(a).cmp(&remote(b)),
        SortKey::Port => a.local_port().cmp(&b.local_port()),
        SortKey::State => a.state().cmp(&b.state()),
        // Sockets without a visible owner go last.
        SortKey::Pid => owner_key(a, |p| p.pid).cmp(&owner_key(b, |p| p.pid)),
        SortKey::Process => {
            owner_key(a, |p| p.name.to_lowercase()).cmp(&owner_key(b, |p| p.name.to_lowercase()))
        }
        SortKey::User => owner_key(a, |p| p.user.clone()).cmp(&owner_key(b, |p| p.user.clone())),
    }
}

/// `(false, value)` for the first owner, `(true, None)` when there is none, so those sort last.
fn owner_key<T>(
    entry: &SocketEntry,
    field: impl Fn(&crate::model::ProcessInfo) -> T,
) -> (bool, Option<T>) {
    match entry.processes.first() {
        Some(process) => (false, Some(field(process))),
        None => (true, None),
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
    let key = |e: &SocketEntry| (e.proto(), e.local_port(), local(e), remote(e), e.inode);
    key(a).cmp(&key(b))
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
