//! `ports --watch`: the listing again every interval, as what changed: a live table on a
//! terminal (`view`), else a stream of change lines or JSON objects (`stream`).

pub mod diff;
pub mod stream;
pub mod view;

use std::cmp::Ordering;
use std::io::Write;
use std::mem::Discriminant;
use std::time::{Duration, Instant, SystemTime};

use crate::app::{self, Listing};
use crate::model::SocketEntry;
use crate::render::Format;
use crate::settings::Settings;
use crate::sort::compare;
use crate::source::{NetnsScope, Problem, SocketSource};
use diff::Tracker;

/// Streams changes until the reader goes away or a signal ends it. `wait` sleeps until the next
/// refresh and says false when the reader has gone (so `| head -1` ends without waiting for a
/// change to write); `say` gets each kind of problem once.
pub fn stream_changes(
    settings: &Settings,
    interval: Duration,
    source: &mut dyn SocketSource,
    out: &mut dyn Write,
    say: &mut dyn FnMut(&str),
    wait: &dyn Fn(Duration) -> bool,
) -> anyhow::Result<()> {
    let several_netns = settings.netns != NetnsScope::Own;
    let form = stream::Form::new(settings.format == Format::Json, several_netns);
    let (mut tracker, mut said) = (Tracker::default(), Vec::new());
    loop {
        let started = Instant::now();
        let listing = app::listing(settings, source)?;
        say_new_problems(&listing, &mut said, say);
        let at = listing.snapshot.taken_at.unwrap_or_else(SystemTime::now);
        let events = tracker.update_at(listing.entries, order(settings), at);
        stream::write(&events, &form, at, out)?;
        if settings.tcp_info {
            stream::write_rates(tracker.rows(), &form, at, out)?;
        }
        if !wait(interval.saturating_sub(started.elapsed())) {
            return Ok(());
        }
    }
}

/// The listing's row order, for open and closed rows alike.
pub fn order(settings: &Settings) -> impl Fn(&SocketEntry, &SocketEntry) -> Ordering + use<> {
    let (key, reverse) = (settings.sort, settings.reverse);
    move |a, b| compare(a, b, key, reverse)
}

/// Says each kind of problem once, when it first has something to say (a hidden owner may
/// first match the filters at a later refresh), not at every refresh as its counts change.
fn say_new_problems(
    listing: &Listing,
    said: &mut Vec<Discriminant<Problem>>,
    say: &mut dyn FnMut(&str),
) {
    let problems = &listing.snapshot.problems;
    let mut kinds: Vec<Discriminant<Problem>> =
        problems.iter().map(std::mem::discriminant).collect();
    kinds.dedup();
    kinds.retain(|kind| !said.contains(kind));
    for kind in kinds {
        // One kind at a time, through the listing's own notes: 200 unreadable namespaces are
        // one line here too.
        let of_kind: Vec<Problem> = problems
            .iter()
            .filter(|p| std::mem::discriminant(*p) == kind)
            .cloned()
            .collect();
        let (hidden, partly) = (listing.hidden_owners, listing.partly_hidden);
        let notes = crate::source::notes(&of_kind, hidden, partly, listing.hidden_unshown);
        notes.iter().for_each(|note| say(&format!("ports: {note}")));
        if !notes.is_empty() {
            said.push(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Snapshot;

    #[test]
    fn unreadable_namespaces_are_said_once_in_one_line() {
        let unreadable = |name: &str| Problem::NamespaceUnreadable {
            netns: name.into(),
            error: "entering it: Operation not permitted".into(),
        };
        let listing = Listing {
            entries: Vec::new(),
            hidden_owners: 0,
            partly_hidden: 0,
            hidden_unshown: 0,
            snapshot: Snapshot {
                sockets: Vec::new(),
                namespaces: Vec::new(),
                problems: ["a", "b", "c", "d"].map(unreadable).to_vec(),
                ..Snapshot::default()
            },
        };
        let (mut said, mut lines) = (Vec::new(), Vec::new());
        say_new_problems(&listing, &mut said, &mut |line| lines.push(line.to_owned()));
        say_new_problems(&listing, &mut said, &mut |line| lines.push(line.to_owned()));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("ports: 4 network namespaces could not be read (a: "));
    }
}
