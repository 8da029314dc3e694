//! `ports -s`: counts by protocol, family and state, listeners by exposure, the processes that
//! hold the most sockets and the peers with the most connections. Computed from the same
//! filtered sockets a listing would show.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Exposure, SocketEntry, State};

/// How many of the top processes and peers are shown.
const TOP: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    /// Sockets by kind (`tcp`, `udp6`, `u_str`...) and state.
    pub by_state: Vec<KindCount>,
    /// Listeners and bound sockets by who can reach them.
    pub listeners_by_exposure: BTreeMap<Exposure, usize>,
    pub top_processes: Vec<ProcessCount>,
    /// Peers of established connections, most connections first.
    pub top_remotes: Vec<RemoteCount>,
    /// Sockets whose owner could not be seen.
    pub hidden_owners: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCount {
    pub kind: &'static str,
    pub state: Option<State>,
    pub sockets: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessCount {
    pub pid: u32,
    pub name: String,
    pub sockets: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteCount {
    pub address: IpAddr,
    pub connections: usize,
}

impl Summary {
    pub fn of(entries: &[SocketEntry], hidden_owners: usize) -> Summary {
        Summary {
            total: entries.len(),
            by_state: by_state(entries),
            listeners_by_exposure: listeners_by_exposure(entries),
            top_processes: top_processes(entries),
            top_remotes: top_remotes(entries),
            hidden_owners,
        }
    }
}

fn by_state(entries: &[SocketEntry]) -> Vec<KindCount> {
    let mut counts: BTreeMap<(&'static str, Option<State>), usize> = BTreeMap::new();
    for entry in entries {
        *counts.entry((entry.kind(), entry.state())).or_default() += 1;
    }
    let rows = counts.into_iter();
    rows.map(|((kind, state), sockets)| KindCount {
        kind,
        state,
        sockets,
    })
    .collect()
}

fn listeners_by_exposure(entries: &[SocketEntry]) -> BTreeMap<Exposure, usize> {
    let mut counts = BTreeMap::new();
    for exposure in entries
        .iter()
        .filter(|e| e.is_listening())
        .filter_map(SocketEntry::exposure)
    {
        *counts.entry(exposure).or_default() += 1;
    }
    counts
}

fn top_processes(entries: &[SocketEntry]) -> Vec<ProcessCount> {
    let mut counts: BTreeMap<(u32, &str), usize> = BTreeMap::new();
    for process in entries.iter().flat_map(|e| &e.processes) {
        *counts.entry((process.pid, process.program())).or_default() += 1;
    }
    let mut top: Vec<ProcessCount> = counts
        .into_iter()
        .map(|((pid, name), sockets)| ProcessCount {
            pid,
            name: name.to_owned(),
            sockets,
        })
        .collect();
    top.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.pid.cmp(&b.pid)));
    top.truncate(TOP);
    top
}

fn top_remotes(entries: &[SocketEntry]) -> Vec<RemoteCount> {
    let mut counts: BTreeMap<IpAddr, usize> = BTreeMap::new();
    let connected = entries
        .iter()
        .filter(|e| e.state() == Some(State::Established));
    for peer in connected.filter_map(|e| e.inet()?.remote) {
        *counts.entry(peer.ip()).or_default() += 1;
    }
    let mut top: Vec<RemoteCount> = counts
        .into_iter()
        .map(|(address, connections)| RemoteCount {
            address,
            connections,
        })
        .collect();
    top.sort_by(|a, b| {
        b.connections
            .cmp(&a.connections)
            .then(a.address.cmp(&b.address))
    });
    top.truncate(TOP);
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    #[test]
    fn counts_equal_the_listing_they_summarise() {
        let entries = FakeSource::sample().entries;
        let summary = Summary::of(&entries, 1);
        assert_eq!(summary.total, entries.len());
        let counted: usize = summary.by_state.iter().map(|k| k.sockets).sum();
        assert_eq!(counted, entries.len());
        let listening = entries.iter().filter(|e| e.is_listening()).count();
        assert_eq!(
            summary.listeners_by_exposure.values().sum::<usize>(),
            listening
        );
        let established_tcp = entries
            .iter()
            .filter(|e| e.kind() == "tcp" && e.state() == Some(State::Established))
            .count();
        let row = summary
            .by_state
            .iter()
            .find(|k| k.kind == "tcp" && k.state == Some(State::Established));
        assert_eq!(row.map(|k| k.sockets), Some(established_tcp));
    }

    #[test]
    fn exposure_and_top_lists_read_right() {
        let summary = Summary::of(&FakeSource::sample().entries, 0);
        let exposure = &summary.listeners_by_exposure;
        assert_eq!(
            exposure.get(&Exposure::All),
            Some(&2),
            "0.0.0.0:8080 and [::]:8080"
        );
        assert_eq!(
            exposure.get(&Exposure::Loopback),
            Some(&2),
            "postgres, resolved"
        );
        let nginx = &summary.top_processes[0];
        assert_eq!(
            (nginx.pid, nginx.name.as_str(), nginx.sockets),
            (1201, "nginx", 3)
        );
        let peers: Vec<String> = summary
            .top_remotes
            .iter()
            .map(|r| r.address.to_string())
            .collect();
        assert_eq!(peers, ["127.0.0.1", "::1", "2001:db8::99"]);
    }
}
