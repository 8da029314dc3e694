//! What changed between two refreshes. A socket is the same socket while the kernel says so:
//! its cookie (or inode) in its namespace, else its address tuple. So SYN-SENT turning
//! ESTABLISHED, a new owner, or an accepted connection getting its file, is a change, not a
//! close and an open.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::model::{Endpoint, Proto, SocketEntry};

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
}

/// The sockets seen so far, and the closed ones still shown.
#[derive(Debug, Default)]
pub struct Tracker {
    rows: Vec<Row>,
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
        let mut before: HashMap<Identity, Row> = self
            .rows
            .drain(..)
            .map(|row| (identity(&row.entry), row))
            .collect();
        let (mut rows, mut events) = (Vec::with_capacity(fresh.len()), Vec::new());
        for entry in fresh {
            let entry = Arc::new(entry);
            let old = before.remove(&identity(&entry));
            let mark = mark(old, &entry, &mut events);
            rows.push(Row { entry, mark });
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
    Some(Row {
        mark: Mark::Gone(left),
        ..row
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
