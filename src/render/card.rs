//! The card: `ports PORT` when one program holds the port, told as a short card rather than a
//! one-row table. comfy-table lays out the label column and wraps long command lines to the
//! terminal's width.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

use comfy_table::{Cell, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::RenderContext;
use super::columns::{Column, Line, NONE, epoch_seconds, push_age, push_where};
use super::tcp::{push_bytes, push_micros};
use super::width::display_width;
use crate::model::{ProcessInfo, SocketEntry, TcpCounters};
use crate::sanitize::sanitize;

/// What a card shows: the matched sockets, the one program's processes, and the other ports
/// those processes listen on.
pub struct Card<'a> {
    pub sockets: &'a [SocketEntry],
    pub owners: Vec<Arc<ProcessInfo>>,
    pub other_ports: Vec<String>,
}

/// The owners of `entries`, by pid, when they are one program: one process, or one master and
/// the workers it forked (same name, each parent in the set), or Docker's forwarders to one
/// container's port (one per address family). `None` when a listener's owners cannot all be
/// seen, or when nothing listens: then the table says more.
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
    let one_tree = roots(&owners).count() == 1;
    (same_name && (one_tree || one_destination(&owners))).then_some(owners)
}

/// The owners whose parent is not among them: the master, or each independent process.
fn roots(owners: &[Arc<ProcessInfo>]) -> impl Iterator<Item = &Arc<ProcessInfo>> {
    let pids: BTreeSet<u32> = owners.iter().map(|p| p.pid).collect();
    owners
        .iter()
        .filter(move |p| !p.ppid.is_some_and(|ppid| pids.contains(&ppid)))
}

/// Whether every owner is a forwarder to the same place: one address and port, or one named
/// container's port (Docker starts one docker-proxy for 0.0.0.0 and one for `::`).
fn one_destination(owners: &[Arc<ProcessInfo>]) -> bool {
    let first = owners.first().and_then(|p| destination(p));
    first.is_some() && owners.iter().all(|p| destination(p) == first)
}

/// A forwarder's far end: its container's name and the port, or else the address and port.
fn destination(process: &ProcessInfo) -> Option<(Option<&str>, Option<IpAddr>, u16)> {
    let forward = process.forwards.as_ref()?;
    let port = forward.to.port();
    Some(match forward.container.as_deref() {
        Some(name) => (Some(name), None, port),
        None => (None, Some(forward.to.ip()), port),
    })
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
    let roots: Vec<&Arc<ProcessInfo>> = roots(&card.owners).collect();
    let Some(root) = roots.first() else {
        return Vec::new();
    };
    // Independent processes (forwarders, one per family): each socket says whose it is.
    let mut rows = vec![("sockets", sockets(card.sockets, roots.len() > 1))];
    rows.push(("program", sanitize(root.program()).into_owned()));
    rows.push(("pids", pids(&card.owners)));
    let commands = roots.iter().map(|p| sanitize(&p.cmdline).into_owned());
    rows.push(("command", distinct_lines(commands)));
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
    let placement = placements(&roots);
    if placement != NONE {
        let label = if root.forwards.is_some() {
            "forwards"
        } else {
            "in"
        };
        rows.push((label, placement));
    }
    if let Some(firewall) = firewall(card.sockets) {
        rows.push(("firewall", firewall));
    }
    if !card.other_ports.is_empty() {
        rows.push(("also", card.other_ports.join(", ")));
    }
    if let Some(traffic) = traffic(card.sockets) {
        rows.push(("traffic", traffic));
    }
    rows
}

/// What the firewall does with a connection from another host: one line when every socket
/// gets the same answer, else one per socket, named (Docker forwards IPv4 only, so its
/// `[::]` forwarder meets the input chain).
fn firewall(sockets: &[SocketEntry]) -> Option<String> {
    let answered: Vec<(&SocketEntry, String)> = (sockets.iter())
        .filter_map(|s| Some((s, sanitize(&s.firewall.as_ref()?.describe()).into_owned())))
        .collect();
    let (_, first) = answered.first()?;
    if answered.iter().all(|(_, said)| said == first) {
        return Some(first.clone());
    }
    let each = answered.iter().map(|(socket, said)| {
        let local = cell(socket, &Column::Local);
        format!("{local}: {said}")
    });
    Some(each.collect::<Vec<_>>().join("\n"))
}

/// `3 connections, 8.0MiB in, 1.5KiB out, worst RTT 1.23ms, 7 retransmitted`: the port's
/// connections summed, where the kernel gave their counters (`--tcp-info`, `-w`).
fn traffic(sockets: &[SocketEntry]) -> Option<String> {
    let counters: Vec<&TcpCounters> = sockets
        .iter()
        .filter_map(|s| s.tcp_info.as_ref()?.counters.as_ref())
        .collect();
    let worst_rtt = counters.iter().map(|c| c.rtt_us).max()?;
    let sum = |field: fn(&TcpCounters) -> Option<u64>| {
        counters.iter().filter_map(|c| field(c)).sum::<u64>()
    };
    let retransmitted: u64 = counters.iter().map(|c| u64::from(c.total_retrans)).sum();
    let noun = if counters.len() == 1 {
        "connection"
    } else {
        "connections"
    };
    let mut text = format!("{} {noun}, ", counters.len());
    push_bytes(sum(|c| c.bytes_received), &mut text);
    text.push_str(" in, ");
    push_bytes(sum(|c| c.bytes_acked), &mut text);
    text.push_str(" out, worst RTT ");
    push_micros(worst_rtt, &mut text);
    text.push_str(&format!(", {retransmitted} retransmitted"));
    Some(text)
}

/// Where each root runs or forwards, each place once (two forwarders, one container).
fn placements(roots: &[&Arc<ProcessInfo>]) -> String {
    let each = roots.iter().map(|p| {
        let mut placement = String::new();
        push_where(p, &mut placement);
        placement
    });
    distinct_lines(each)
}

/// Each text once, in order, one per line.
fn distinct_lines(texts: impl Iterator<Item = String>) -> String {
    let mut lines: Vec<String> = Vec::new();
    for text in texts {
        if !lines.contains(&text) {
            lines.push(text);
        }
    }
    lines.join("\n")
}

/// One line per socket: protocol, addresses, state and who can reach it, in aligned columns;
/// `with_pids`, also the pids holding it.
fn sockets(sockets: &[SocketEntry], with_pids: bool) -> String {
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
            let mut row: Vec<String> = columns.iter().map(|c| cell(entry, c)).collect();
            if with_pids {
                row.push(holders(entry));
            }
            row
        })
        .collect();
    // A column of dashes only (no peer anywhere) says nothing: leave it out.
    let shown: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
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

/// The text of one column for `entry`, as the table writes it.
fn cell(entry: &SocketEntry, column: &Column) -> String {
    let line = Line {
        entry,
        owner: 0,
        more: 0,
        now: None,
        wide: false,
        rate: None,
    };
    let mut text = String::new();
    column.write_text(&line, &mut text);
    text
}

/// `pid 1905`: who holds the socket.
fn holders(entry: &SocketEntry) -> String {
    let pids: Vec<String> = entry.processes.iter().map(|p| p.pid.to_string()).collect();
    match pids.is_empty() {
        true => NONE.to_owned(),
        false => format!("pid {}", pids.join(", ")),
    }
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

    #[test]
    fn the_traffic_row_sums_the_ports_connections() {
        let mut sockets = FakeSource::sample().entries;
        sockets.truncate(5); // the listeners, and both ends of one connection
        assert_eq!(traffic(&sockets), None, "no counters asked for, no row");
        let counters = |rtt_us, received, retrans| crate::model::TcpCounters {
            rtt_us,
            total_retrans: retrans,
            bytes_received: Some(received),
            bytes_acked: Some(1024),
            ..Default::default()
        };
        for (socket, counters) in sockets[3..]
            .iter_mut()
            .zip([counters(800, 4 << 20, 1), counters(2_500, 4 << 20, 2)])
        {
            socket.tcp_info = Some(Box::new(crate::model::TcpInfo {
                counters: Some(counters),
                ..Default::default()
            }));
        }
        let want = "2 connections, 8.0MiB in, 2.0KiB out, worst RTT 2.50ms, 3 retransmitted";
        assert_eq!(traffic(&sockets).as_deref(), Some(want));
    }
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

    /// The sample's two 8080 listeners (0.0.0.0 and `::`), each held by its own docker-proxy,
    /// child of dockerd, forwarding to `to` in container `containers[i]`.
    fn forwarders(to: [&str; 2], containers: [Option<&str>; 2]) -> Vec<SocketEntry> {
        let sample = FakeSource::sample().entries;
        let listeners = sample
            .into_iter()
            .filter(|e| e.local_port() == Some(8080) && e.is_listening());
        let each = listeners.zip(to.iter().zip(containers)).enumerate();
        let entries = each.map(|(i, (mut entry, (to, container)))| {
            let proxy = ProcessInfo {
                pid: 1905 + i as u32,
                name: "docker-proxy".into(),
                user: Some("root".into()),
                cmdline: format!("/usr/sbin/docker-proxy -host-ip {i} -container-ip {to}"),
                ppid: Some(1620),
                parent: Some("dockerd".into()),
                forwards: Some(crate::model::Forward {
                    container: container.map(str::to_owned),
                    to: to.parse().unwrap(),
                    listener: None,
                }),
                ..ProcessInfo::default()
            };
            entry.processes = vec![Arc::new(proxy)];
            entry
        });
        entries.collect()
    }

    #[test]
    fn forwarders_for_both_families_to_one_container_are_one_card() {
        let both = forwarders(["172.17.0.2:8080"; 2], [Some("web"); 2]);
        assert_eq!(both.len(), 2);
        let owners = single_program(&both).expect("two forwarders to one place");
        let card = Card {
            sockets: &both,
            owners,
            other_ports: Vec::new(),
        };
        let text = rows(&card, &RenderContext::default());
        let row = |label: &str| &text.iter().find(|(l, _)| *l == label).unwrap().1;
        assert_eq!(
            row("sockets"),
            "tcp   0.0.0.0:8080  LISTEN  all  pid 1905\ntcp6  [::]:8080     LISTEN  all  pid 1906"
        );
        assert_eq!(row("pids"), "1905 (root), 1906 (root)");
        assert_eq!(
            row("command").lines().count(),
            2,
            "each forwarder's command"
        );
        assert_eq!(row("forwards"), "→ web 172.17.0.2:8080", "said once");
        // Docker with IPv6 forwards `::` to the container's IPv6 address: still one container.
        let v6 = forwarders(["172.17.0.2:8080", "[fd00::2]:8080"], [Some("web"); 2]);
        assert!(single_program(&v6).is_some());
    }

    #[test]
    fn forwarders_to_different_places_or_beside_others_keep_the_table() {
        let ports = forwarders(["172.17.0.2:8080", "172.17.0.2:9090"], [Some("web"); 2]);
        assert!(single_program(&ports).is_none(), "two container ports");
        let names = forwarders(["172.17.0.2:8080"; 2], [Some("web"), Some("api")]);
        assert!(single_program(&names).is_none(), "two containers");
        let unnamed = forwarders(["172.17.0.2:8080", "172.17.0.3:8080"], [None; 2]);
        assert!(single_program(&unnamed).is_none(), "two addresses, no name");
        let mut one = forwarders(["172.17.0.2:8080"; 2], [Some("web"); 2]);
        Arc::make_mut(&mut one[1].processes[0]).forwards = None;
        assert!(
            single_program(&one).is_none(),
            "a docker-proxy that forwards nowhere known"
        );
    }
}
