//! What changed between two refreshes. A socket is the same socket while the kernel says so:
//! its cookie (or inode) in its namespace, else its address tuple. So SYN-SENT turning
//! ESTABLISHED, a new owner, or an accepted connection getting its file, is a change, not a
//! close and an open.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::{Endpoint, Proto, SocketEntry, Throughput};

/// Refreshes a closed socket stays on screen, dimmed, before it is dropped.
pub const KEEP_GONE: u8 = 3;

/// A socket's identity across refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Identity {
    Cookie {
        netns: u64,
        cookie: u64,
    },
    Inode {
        netns: u64,
        inode: u64,
    },
    Tuple {
        netns: u64,
        proto: Option<Proto>,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
    },
}

/// The kernel's socket cookie where the dump gives one: it stays while the inode comes and goes
/// (a connection waiting to be accepted has no inode yet; one its owner closed, none left).
/// Else the inode (/proc/net has no cookies), else the addresses.
fn identity(entry: &SocketEntry) -> Identity {
    let netns = entry.netns.inode;
    if let Some(cookie) = entry.cookie {
        return Identity::Cookie { netns, cookie };
    }
    if entry.inode != 0 {
        return Identity::Inode {
            netns,
            inode: entry.inode,
        };
    }
    let (local, remote) = match &entry.endpoint {
        Endpoint::Inet(inet) => (Some(inet.local), inet.remote),
        Endpoint::Unix(_) => (None, None),
    };
    Identity::Tuple {
        netns,
        proto: entry.proto(),
        local,
        remote,
    }
}

/// What happened to one socket at a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Open(Arc<SocketEntry>),
    Close(Arc<SocketEntry>),
    /// The same socket in another state or with other owners; `was` is how it looked before.
    Change {
        now: Arc<SocketEntry>,
        was: Arc<SocketEntry>,
    },
}

/// How a row on screen came to be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Same,
    New,
    Changed,
    /// Closed; the refreshes it stays on screen for.
    Gone(u8),
}

/// One row of the watch view.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: Arc<SocketEntry>,
    pub mark: Mark,
    /// Bytes per second since the refresh before, where the counters say (`--tcp-info`).
    pub rate: Option<Throughput>,
}

/// The sockets seen so far, and the closed ones still shown.
#[derive(Debug, Default)]
pub struct Tracker {
    rows: Vec<Row>,
    /// When the last listing was taken, for rates.
    at: Option<SystemTime>,
}

impl Tracker {
    /// Takes a fresh listing (already filtered) and returns what changed. The first listing
    /// opens every socket in it. Rows, open and closed alike, are kept in `order`, so a row
    /// keeps its place while it fades.
    pub fn update(
        &mut self,
        fresh: Vec<SocketEntry>,
        order: impl Fn(&SocketEntry, &SocketEntry) -> Ordering,
    ) -> Vec<Event> {
        self.update_at(fresh, order, SystemTime::now())
    }

    /// `update` for a listing taken `at`: each connection's rates since the listing before.
    /// None at the first listing, whose counters hold the connections' whole past.
    pub fn update_at(
        &mut self,
        fresh: Vec<SocketEntry>,
        order: impl Fn(&SocketEntry, &SocketEntry) -> Ordering,
        at: SystemTime,
    ) -> Vec<Event> {
        let elapsed = self.at.and_then(|then| at.duration_since(then).ok());
        let seconds = elapsed.map(|d| d.as_secs_f64()).filter(|&s| s > 0.0);
        self.at = Some(at);
        let mut before: HashMap<Identity, Row> = self
            .rows
            .drain(..)
            .map(|row| (identity(&row.entry), row))
            .collect();
        let (mut rows, mut events) = (Vec::with_capacity(fresh.len()), Vec::new());
        for entry in fresh {
            let entry = Arc::new(entry);
            let old = before.remove(&identity(&entry));
            let was = old
                .as_ref()
                .filter(|old| !matches!(old.mark, Mark::Gone(_)));
            let rate = seconds.and_then(|s| throughput(was.map(|old| &*old.entry), &entry, s));
            let mark = mark(old, &entry, &mut events);
            rows.push(Row { entry, mark, rate });
        }
        // Closed in the listing's order, so the events come out the same way every run.
        let mut closed: Vec<Row> = before.into_values().collect();
        closed.sort_by(|a, b| order(&a.entry, &b.entry));
        rows.extend(closed.into_iter().filter_map(|row| fade(row, &mut events)));
        rows.sort_by(|a, b| order(&a.entry, &b.entry));
        self.rows = rows;
        events
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

/// How a listed socket compares with its row before, with the event that says so.
fn mark(old: Option<Row>, entry: &Arc<SocketEntry>, events: &mut Vec<Event>) -> Mark {
    match old {
        Some(old) if !matches!(old.mark, Mark::Gone(_)) => {
            if !differs(&old.entry, entry) {
                return Mark::Same;
            }
            events.push(Event::Change {
                now: Arc::clone(entry),
                was: old.entry,
            });
            Mark::Changed
        }
        // New, or back while its closed row was fading.
        _ => {
            events.push(Event::Open(Arc::clone(entry)));
            Mark::New
        }
    }
}

/// A row that is no longer listed: a close event the first time, then dimmer, then gone.
fn fade(row: Row, events: &mut Vec<Event>) -> Option<Row> {
    let left = match row.mark {
        Mark::Gone(left) => left.checked_sub(1).filter(|&left| left > 0)?,
        _ => {
            events.push(Event::Close(Arc::clone(&row.entry)));
            KEEP_GONE
        }
    };
    // A closed socket moves nothing: no rate, rather than a negative one.
    Some(Row {
        mark: Mark::Gone(left),
        rate: None,
        ..row
    })
}

/// Each program's rates summed over its connections, the busiest first; sockets with no
/// visible owner, or no rate, are left out.
pub fn by_program(rows: &[Row]) -> Vec<(String, Throughput)> {
    let mut totals: Vec<(String, Throughput)> = Vec::new();
    for row in rows {
        let (Some(rate), Some(owner)) = (row.rate, row.entry.processes.first()) else {
            continue;
        };
        let program = owner.program();
        let at = match totals.iter().position(|(name, _)| name == program) {
            Some(at) => at,
            None => {
                totals.push((program.to_owned(), Throughput::default()));
                totals.len() - 1
            }
        };
        totals[at].1.recv_bytes_per_s += rate.recv_bytes_per_s;
        totals[at].1.send_bytes_per_s += rate.send_bytes_per_s;
    }
    totals.sort_by(|a, b| b.1.total().total_cmp(&a.1.total()).then(a.0.cmp(&b.0)));
    totals
}

/// The rows, busiest first (by both rates together), rows without a rate after them in their
/// own order: top talkers.
pub fn by_rate(rows: &[Row]) -> Vec<&Row> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    let total = |row: &Row| row.rate.map_or(-1.0, Throughput::total);
    sorted.sort_by(|a, b| total(b).total_cmp(&total(a)));
    sorted
}

/// Bytes per second each way between two readings `seconds` apart: received from
/// `bytes_received`, sent from `bytes_acked`. A socket new since the reading before (`was`
/// is `None`) counts from zero, as does a counter that went backwards (a reset or a wrap: a
/// fresh start, never a negative rate). `None` where the kernel gave no counters.
pub fn throughput(
    was: Option<&SocketEntry>,
    now: &SocketEntry,
    seconds: f64,
) -> Option<Throughput> {
    let counters = |entry: &SocketEntry| entry.tcp_info.as_ref()?.counters.clone();
    let now = counters(now)?;
    let was = was.and_then(counters).unwrap_or_default();
    let delta = |before: Option<u64>, after: Option<u64>| {
        let (before, after) = (before.unwrap_or(0), after?);
        let moved = if after >= before {
            after - before
        } else {
            after
        };
        Some(moved as f64 / seconds)
    };
    Some(Throughput {
        recv_bytes_per_s: delta(was.bytes_received, now.bytes_received)?,
        send_bytes_per_s: delta(was.bytes_acked, now.bytes_acked)?,
    })
}

/// Whether a socket's state or owners changed.
fn differs(old: &SocketEntry, new: &SocketEntry) -> bool {
    let pids = |entry: &SocketEntry| entry.processes.iter().map(|p| p.pid).collect::<Vec<_>>();
    old.state() != new.state() || pids(old) != pids(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, State};
    use crate::sort::{SortKey, compare};
    use crate::source::FakeSource;

    fn by_proto(a: &SocketEntry, b: &SocketEntry) -> Ordering {
        compare(a, b, SortKey::Proto, false)
    }

    fn sample() -> Vec<SocketEntry> {
        FakeSource::sample().entries
    }

    fn kinds(events: &[Event]) -> Vec<(&'static str, u64)> {
        let kind = |event: &Event| match event {
            Event::Open(entry) => ("open", entry.inode),
            Event::Close(entry) => ("close", entry.inode),
            Event::Change { now, .. } => ("change", now.inode),
        };
        events.iter().map(kind).collect()
    }

    fn marks(tracker: &Tracker) -> Vec<(u64, Mark)> {
        tracker
            .rows()
            .iter()
            .map(|row| (row.entry.inode, row.mark))
            .collect()
    }

    #[test]
    fn the_first_listing_opens_everything_and_the_same_listing_changes_nothing() {
        let mut tracker = Tracker::default();
        let events = tracker.update(sample(), by_proto);
        assert_eq!(events.len(), sample().len());
        assert!(tracker.rows().iter().all(|row| row.mark == Mark::New));
        assert!(tracker.update(sample(), by_proto).is_empty());
        assert!(tracker.rows().iter().all(|row| row.mark == Mark::Same));
    }

    #[test]
    fn a_closed_socket_stays_dimmed_in_its_place_then_goes() {
        let mut tracker = Tracker::default();
        tracker.update(sample(), by_proto);
        let order: Vec<u64> = tracker.rows().iter().map(|r| r.entry.inode).collect();
        let mut fewer = sample();
        let closed = fewer.remove(2).inode;
        assert_eq!(
            kinds(&tracker.update(fewer.clone(), by_proto)),
            [("close", closed)]
        );
        let now: Vec<u64> = tracker.rows().iter().map(|r| r.entry.inode).collect();
        assert_eq!(now, order, "the closed row keeps its place");
        let fading = |tracker: &Tracker| {
            marks(tracker)
                .into_iter()
                .find(|&(inode, _)| inode == closed)
                .map(|(_, mark)| mark)
        };
        assert_eq!(fading(&tracker), Some(Mark::Gone(KEEP_GONE)));
        for left in (1..KEEP_GONE).rev() {
            assert!(tracker.update(fewer.clone(), by_proto).is_empty());
            assert_eq!(fading(&tracker), Some(Mark::Gone(left)));
        }
        tracker.update(fewer.clone(), by_proto);
        assert_eq!(fading(&tracker), None);
        assert_eq!(tracker.rows().len(), fewer.len());
    }

    #[test]
    fn a_state_or_owner_change_is_a_change_not_a_close_and_an_open() {
        let mut tracker = Tracker::default();
        tracker.update(sample(), by_proto);
        let mut next = sample();
        let Endpoint::Inet(inet) = &mut next[4].endpoint else {
            unreachable!()
        };
        inet.state = Some(State::CloseWait);
        next[2].processes.clear();
        let events = tracker.update(next.clone(), by_proto);
        let mut changed = kinds(&events);
        changed.sort();
        assert_eq!(
            changed,
            [("change", next[2].inode), ("change", next[4].inode)]
        );
        let Some(Event::Change { was, now }) = events.iter().find(|e| match e {
            Event::Change { now, .. } => now.inode == next[4].inode,
            _ => false,
        }) else {
            unreachable!()
        };
        assert_eq!(
            (was.state(), now.state()),
            (Some(State::Established), Some(State::CloseWait))
        );
    }

    #[test]
    fn sockets_without_inode_are_known_by_their_addresses() {
        let mut tracker = Tracker::default();
        tracker.update(sample(), by_proto);
        let time_wait = sample().into_iter().find(|e| e.inode == 0).unwrap();
        let mut moved = time_wait.clone();
        let Endpoint::Inet(inet) = &mut moved.endpoint else {
            unreachable!()
        };
        inet.local.set_port(51201);
        let mut next: Vec<SocketEntry> = sample().into_iter().filter(|e| e.inode != 0).collect();
        next.push(moved);
        assert_eq!(
            kinds(&tracker.update(next, by_proto)),
            [("open", 0), ("close", 0)]
        );
    }

    /// The sample with the cookies a netlink dump gives every socket.
    fn with_cookies() -> Vec<SocketEntry> {
        let mut entries = sample();
        for (cookie, entry) in (9_000..).zip(&mut entries) {
            entry.cookie = Some(cookie);
        }
        entries
    }

    #[test]
    fn a_connection_gaining_or_losing_its_inode_stays_the_same_socket() {
        let mut tracker = Tracker::default();
        tracker.update(with_cookies(), by_proto);
        // Accepted: the connection that waited without a file now has one, and an owner.
        let mut accepted = with_cookies();
        let owner = accepted[0].processes[0].clone();
        let waiting = accepted.iter_mut().find(|e| e.inode == 0).unwrap();
        (waiting.inode, waiting.processes) = (777, vec![owner]);
        assert_eq!(
            kinds(&tracker.update(accepted.clone(), by_proto)),
            [("change", 777)]
        );
        // Its owner closed it: no file, no owner, the same connection.
        let mut orphaned = accepted;
        let held = orphaned.iter_mut().find(|e| e.inode == 777).unwrap();
        (held.inode, held.processes) = (0, Vec::new());
        assert_eq!(kinds(&tracker.update(orphaned, by_proto)), [("change", 0)]);
    }

    /// The sample's established connection with `received` and `acked` bytes so far.
    fn moved(received: u64, acked: u64) -> SocketEntry {
        let mut entry = sample().remove(4);
        entry.tcp_info = Some(Box::new(crate::model::TcpInfo {
            counters: Some(crate::model::TcpCounters {
                bytes_received: Some(received),
                bytes_acked: Some(acked),
                ..Default::default()
            }),
            ..Default::default()
        }));
        entry
    }

    fn rates(rate: Option<Throughput>) -> Option<(f64, f64)> {
        rate.map(|r| (r.recv_bytes_per_s, r.send_bytes_per_s))
    }

    #[test]
    fn rates_are_deltas_over_the_interval_from_zero_for_new_and_reset_sockets() {
        let was = moved(1_000, 4_000);
        let rate = |was, now: &SocketEntry| rates(throughput(was, now, 2.0));
        assert_eq!(rate(Some(&was), &moved(3_000, 4_000)), Some((1_000.0, 0.0)));
        assert_eq!(
            rate(None, &moved(3_000, 4_000)),
            Some((1_500.0, 2_000.0)),
            "new"
        );
        let reset = rate(Some(&was), &moved(500, 8_000));
        assert_eq!(reset, Some((250.0, 2_000.0)), "backwards is a fresh start");
        let udp = sample().remove(7);
        assert_eq!(rate(None, &udp), None, "no counters, no figures");
    }

    #[test]
    fn the_tracker_rates_listed_sockets_only_after_its_first_listing() {
        let start = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let at = |seconds| start + std::time::Duration::from_secs(seconds);
        let mut tracker = Tracker::default();
        tracker.update_at(vec![moved(1 << 20, 0)], by_proto, at(0));
        assert_eq!(
            tracker.rows()[0].rate,
            None,
            "the first counters are the whole past"
        );
        tracker.update_at(vec![moved(3 << 20, 0)], by_proto, at(1));
        assert_eq!(rates(tracker.rows()[0].rate), Some((2.0 * 1048576.0, 0.0)));
        tracker.update_at(Vec::new(), by_proto, at(2));
        let gone = &tracker.rows()[0];
        assert_eq!((gone.mark, gone.rate), (Mark::Gone(KEEP_GONE), None));
    }

    #[test]
    fn programs_add_up_their_connections_and_the_busiest_come_first() {
        let start = SystemTime::UNIX_EPOCH;
        let at = |seconds| start + std::time::Duration::from_secs(seconds);
        let mut server_end = moved(0, 0);
        server_end.cookie = Some(2);
        let mut tracker = Tracker::default();
        let mut curl = moved(0, 0);
        curl.cookie = Some(1);
        tracker.update_at(vec![curl.clone(), server_end.clone()], by_proto, at(0));
        let mut curl_later = moved(100, 0);
        curl_later.cookie = Some(1);
        let mut server_later = moved(0, 300);
        server_later.cookie = Some(2);
        server_later.processes = vec![FakeSource::sample().entries[0].processes[0].clone()];
        tracker.update_at(vec![curl_later, server_later], by_proto, at(1));
        let totals: Vec<(String, f64)> = by_program(tracker.rows())
            .into_iter()
            .map(|(name, rate)| (name, rate.total()))
            .collect();
        assert_eq!(totals, [("nginx".into(), 300.0), ("curl".into(), 100.0)]);
        let top: Vec<Option<u64>> = by_rate(tracker.rows())
            .iter()
            .map(|r| r.entry.cookie)
            .collect();
        assert_eq!(top, [Some(2), Some(1)]);
    }

    #[test]
    fn a_socket_back_while_fading_is_new_again() {
        let mut tracker = Tracker::default();
        tracker.update(sample(), by_proto);
        let mut fewer = sample();
        let back = fewer.remove(0).inode;
        tracker.update(fewer, by_proto);
        assert_eq!(kinds(&tracker.update(sample(), by_proto)), [("open", back)]);
        assert!(marks(&tracker).contains(&(back, Mark::New)));
    }
}
