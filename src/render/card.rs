//! The card: `ports PORT` when one program holds the port, told as a short card rather than a
//! one-row table. comfy-table lays out the label column and wraps long command lines to the
//! terminal's width.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::sync::Arc;

use comfy_table::{Cell, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::RenderContext;
use super::columns::{Column, Line, NONE, epoch_seconds, push_age, push_where};
use super::width::display_width;
use crate::model::{ProcessInfo, SocketEntry};
use crate::sanitize::sanitize;

/// What a card shows: the matched sockets, the one program's processes, and the other ports
/// those processes listen on.
pub struct Card<'a> {
    pub sockets: &'a [SocketEntry],
    pub owners: Vec<Arc<ProcessInfo>>,
    pub other_ports: Vec<String>,
}

/// The owners of `entries`, by pid, when they are one program: one process, or one master and
/// the workers it forked (same name, each parent in the set). `None` when a listener's owners
/// cannot all be seen, or when nothing listens: then the table says more.
pub fn single_program(entries: &[SocketEntry]) -> Option<Vec<Arc<ProcessInfo>>> {
    // Every listener must show who holds it: an ownerless one (a kernel socket, one in flight)
    // would let a client of the port pass for its holder.
    let mut listeners = entries.iter().filter(|e| e.is_listening()).peekable();
    let owned = listeners.peek().is_some() && listeners.all(|e| !e.processes.is_empty());
    // A socket that shows its owner and may have more (a daemon that bound as root and dropped
    // privileges, beside a process the kernel hides) keeps the card; the note says so.
    if !owned
        || entries
            .iter()
            .any(|e| e.owner_hidden && e.processes.is_empty())
    {
        return None;
    }
    let mut owners: Vec<Arc<ProcessInfo>> =
        entries.iter().flat_map(|e| e.processes.clone()).collect();
    owners.sort_by_key(|p| p.pid);
    owners.dedup_by_key(|p| p.pid);
    let first = owners.first()?;
    let same_name = owners.iter().all(|p| p.program() == first.program());
    let pids: BTreeSet<u32> = owners.iter().map(|p| p.pid).collect();
    let roots = owners
        .iter()
        .filter(|p| !p.ppid.is_some_and(|ppid| pids.contains(&ppid)));
    (same_name && roots.count() == 1).then_some(owners)
}

pub fn write(card: &Card, context: &RenderContext, out: &mut dyn Write) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .force_no_tty();
    if let Some(width) = context.width {
        table.set_width(width);
    }
    let label = |text: &str| {
        let text = text.to_owned();
        if context.color {
            Cell::new(text.bold())
        } else {
            Cell::new(text)
        }
    };
    for (name, value) in rows(card, context) {
        table.add_row(vec![label(name), Cell::new(value)]);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == 0 { 2 } else { 0 }));
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The card's rows: label and text, in the order people ask.
fn rows(card: &Card, context: &RenderContext) -> Vec<(&'static str, String)> {
    let root = card.owners.iter().find(|p| {
        !p.ppid
            .is_some_and(|ppid| card.owners.iter().any(|o| o.pid == ppid))
    });
    let Some(root) = root else {
        return Vec::new();
    };
    let mut rows = vec![("sockets", sockets(card.sockets))];
    rows.push(("program", sanitize(root.program()).into_owned()));
    rows.push(("pids", pids(&card.owners)));
    rows.push(("command", sanitize(&root.cmdline).into_owned()));
    let parent = root.ppid.map(|ppid| {
        format!(
            "{ppid} {}",
            sanitize(root.parent.as_deref().unwrap_or(NONE))
        )
    });
    rows.push(("parent", parent.unwrap_or_else(|| NONE.into())));
    let now = epoch_seconds(context.now);
    if let (Some(started), Some(now)) = (root.started, now) {
        let mut age = String::new();
        push_age(now.saturating_sub(started), &mut age);
        rows.push(("running", age));
    }
    let netns = card
        .sockets
        .iter()
        .map(|s| &s.netns)
        .find(|ns| ns.kind != crate::model::NetnsKind::Host);
    if let Some(netns) = netns {
        let label = netns
            .name
            .clone()
            .unwrap_or_else(|| format!("net:[{}]", netns.inode));
        rows.push(("netns", sanitize(&label).into_owned()));
    }
    let mut placement = String::new();
    push_where(root, &mut placement);
    if placement != NONE {
        let label = if root.forwards.is_some() {
            "forwards"
        } else {
            "in"
        };
        rows.push((label, placement));
    }
    if !card.other_ports.is_empty() {
        rows.push(("also", card.other_ports.join(", ")));
    }
    rows
}

/// One line per socket: protocol, addresses, state and who can reach it, in aligned columns.
fn sockets(sockets: &[SocketEntry]) -> String {
    let columns = [
        Column::Proto,
        Column::Local,
        Column::Remote,
        Column::State,
        Column::Exposure,
    ];
    let rows: Vec<Vec<String>> = sockets
        .iter()
        .map(|entry| {
            let line = Line {
                entry,
                owner: 0,
                more: 0,
                now: None,
            };
            let cell = |column: &Column| {
                let mut text = String::new();
                column.write_text(&line, &mut text);
                text
            };
            columns.iter().map(cell).collect()
        })
        .collect();
    // A column of dashes only (no peer anywhere) says nothing: leave it out.
    let shown: Vec<usize> = (0..columns.len())
        .filter(|&i| rows.iter().any(|row| row[i] != NONE))
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|row| display_width(&row[i]))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = shown.iter().map(|&i| width(i)).collect();
    let lines = rows.iter().map(|row| {
        let cells = shown.iter().zip(&widths).map(|(&i, &w)| {
            format!(
                "{}{}",
                row[i],
                " ".repeat(w.saturating_sub(display_width(&row[i])))
            )
        });
        cells.collect::<Vec<_>>().join("  ").trim_end().to_owned()
    });
    lines.collect::<Vec<_>>().join("\n")
}

/// `1200 (root), 1201 (www-data)`: each pid with its own user.
fn pids(owners: &[Arc<ProcessInfo>]) -> String {
    let each = owners.iter().map(|p| match &p.user {
        Some(user) => format!("{} ({})", p.pid, sanitize(user)),
        None => p.pid.to_string(),
    });
    each.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    #[test]
    fn one_master_and_its_workers_are_one_program() {
        let sample = FakeSource::sample().entries;
        let web: Vec<SocketEntry> = sample
            .iter()
            .filter(|e| e.local_port() == Some(8080) && e.is_listening())
            .cloned()
            .collect();
        let owners = single_program(&web).expect("nginx master and worker");
        assert_eq!(
            owners.iter().map(|p| p.pid).collect::<Vec<_>>(),
            [1200, 1201]
        );
    }

    #[test]
    fn two_programs_or_a_hidden_owner_keep_the_table() {
        let sample = FakeSource::sample().entries;
        let port_8080: Vec<SocketEntry> = sample
            .iter()
            .filter(|e| e.local_port() == Some(8080) || e.remote_port() == Some(8080))
            .cloned()
            .collect();
        assert!(
            single_program(&port_8080).is_none(),
            "curl talks to 8080 too"
        );
        let mut hidden = sample[2].clone();
        hidden.owner_hidden = true;
        hidden.processes.clear();
        assert!(single_program(&[hidden]).is_none(), "a wholly hidden owner");
    }

    #[test]
    fn an_owner_shown_with_possibly_more_keeps_the_card() {
        let mut partly = FakeSource::sample().entries[2].clone();
        assert!(partly.is_listening() && !partly.processes.is_empty());
        partly.owner_hidden = true;
        assert!(single_program(&[partly]).is_some());
    }
}
