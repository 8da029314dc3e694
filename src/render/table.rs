//! The human table: cells are cut to fit, then coloured, then padded by hand into one reused
//! line buffer. One writer at every size: it costs about 1 us a row where comfy-table cost 10.
//! Trailing blanks are trimmed, so no line ends in spaces.

use std::io::{self, Write};

use owo_colors::OwoColorize;

use super::RenderContext;
use super::cells::Cells;
use super::columns::{Choice, Column, GAP, Line, epoch_seconds};
use super::fit::{fit_widths, truncate};
use super::width::display_width;
use crate::model::SocketEntry;

pub fn write(
    entries: &[SocketEntry],
    context: &RenderContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    // Under -w every owner has a line of its own; otherwise the first, with `+N`.
    let now = epoch_seconds(context.now);
    let lines: Vec<Line> = entries
        .iter()
        .flat_map(|entry| Line::of(entry, context.wide, now))
        .collect();
    let columns = chosen_columns(context);
    let cells = Cells::of(&lines, &columns);
    let layout = Layout::new(columns, &cells, context);
    let mut text = String::new();
    for (i, &column) in layout.columns.iter().enumerate() {
        text.push_str(&layout.header(column));
        layout.pad(&mut text, i, column.header().len());
    }
    text.push('\n');
    out.write_all(text.as_bytes())?;
    for (row, line) in lines.iter().enumerate() {
        text.clear();
        for (i, &column) in layout.columns.iter().enumerate() {
            let cell = cells.get(row, layout.shown[i]);
            let used = layout.write_cell(i, column, line.entry, cell, &mut text);
            layout.pad(&mut text, i, used);
        }
        // An owner's continuation line may end in blank cells.
        text.truncate(text.trim_end().len());
        text.push('\n');
        out.write_all(text.as_bytes())?;
    }
    Ok(())
}

fn chosen_columns(context: &RenderContext) -> Vec<Column> {
    Column::choose(Choice {
        wide: context.wide,
        listening: context.listening,
        explicit: &context.columns,
        several_netns: context.netns_column,
        firewall: context.firewall,
        tcp_info: context.tcp_info,
        ..Choice::default()
    })
}

/// The shown columns, their widths, where their cells are, and whether to colour.
struct Layout {
    columns: Vec<Column>,
    widths: Vec<usize>,
    /// Each shown column's index among the formatted cells' columns.
    shown: Vec<usize>,
    color: bool,
}

impl Layout {
    fn new(columns: Vec<Column>, cells: &Cells, context: &RenderContext) -> Layout {
        let limit = if context.wide {
            None
        } else {
            context.width.map(usize::from)
        };
        let widths = fit_widths(&columns, cells, limit);
        let kept = widths.iter().enumerate().filter(|&(_, &width)| width > 0);
        let shown: Vec<usize> = kept.map(|(i, _)| i).collect();
        Layout {
            columns: shown.iter().map(|&i| columns[i]).collect(),
            widths: shown.iter().map(|&i| widths[i]).collect(),
            shown,
            color: context.color,
        }
    }

    /// Appends shown column `i`'s cell, cut to its width and coloured if asked; returns the
    /// columns it takes.
    fn write_cell(
        &self,
        i: usize,
        column: Column,
        entry: &SocketEntry,
        cell: &str,
        line: &mut String,
    ) -> usize {
        let text = truncate(column, cell, self.widths[i]);
        if self.color {
            column.paint(entry, &text, line);
        } else {
            line.push_str(&text);
        }
        display_width(&text)
    }

    fn header(&self, column: Column) -> String {
        let header = column.header();
        if self.color {
            header.bold().underline().to_string()
        } else {
            header.to_owned()
        }
    }

    /// Pads column `i` after `used` columns of text; the last column gets no trailing space.
    fn pad(&self, line: &mut String, i: usize, used: usize) {
        if i + 1 < self.columns.len() {
            // `used` can pass the width where unicode-width counts a sequence wider than its
            // characters (an emoji with U+FE0F): never underflow.
            let spaces = self.widths[i].saturating_sub(used) + GAP;
            line.extend(std::iter::repeat_n(' ', spaces));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Endpoint, Netns, NetnsKind, ProcessInfo};
    use crate::source::FakeSource;

    fn table(entries: &[SocketEntry], context: &RenderContext) -> String {
        let mut out = Vec::new();
        write(entries, context, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_huge_cell_stays_on_one_line() {
        let mut entry = FakeSource::sample().entries.remove(2);
        let mut process = (*entry.processes[0]).clone();
        process.cmdline = "A".repeat(100_000);
        entry.processes = vec![std::sync::Arc::new(process)];
        let context = RenderContext {
            wide: true,
            ..RenderContext::default()
        };
        let text = table(&[entry], &context);
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).unwrap().ends_with(&"A".repeat(100_000)));
    }

    #[test]
    fn rows_line_up_and_carry_no_trailing_space() {
        let text = table(&FakeSource::sample().entries, &RenderContext::default());
        let state_at = text.lines().next().unwrap().find("STATE").unwrap();
        for line in text.lines() {
            assert_eq!(line, line.trim_end(), "{line:?}");
            assert_eq!(&line[state_at - GAP..state_at], "  ", "{line:?}");
        }
    }

    #[test]
    fn a_claim_row_says_where_the_port_goes_a_listeners_only_how() {
        use crate::model::{Claim, Reach};
        let forwarded = Reach::Forwarded {
            to: "172.17.0.2:8080".parse().unwrap(),
            target: Some("docker:web, busybox listens".into()),
            assumed: Vec::new(),
        };
        let mut claim = FakeSource::sample().entries.remove(0);
        claim.processes.clear();
        claim.claim = Some(Claim { stale: false });
        claim.firewall = Some(forwarded.clone());
        let mut listener = FakeSource::sample().entries.remove(0);
        listener.firewall = Some(forwarded);
        let context = RenderContext {
            firewall: true,
            ..RenderContext::default()
        };
        let text = table(&[claim, listener], &context);
        let lines: Vec<&str> = text.lines().collect();
        // The claim's PROCESS says where it goes; the listener's shows its program.
        let whole = "→ 172.17.0.2:8080 (docker:web, busybox listens)";
        assert!(lines[1].contains(whole), "{text}");
        assert!(lines[1].contains("forwarded"), "{text}");
        assert!(
            lines[2].contains("forwarded") && !lines[2].contains(whole),
            "{text}"
        );
    }

    /// A process of `name` run by `user`.
    fn owner(pid: u32, name: &str, user: &str) -> Arc<ProcessInfo> {
        Arc::new(ProcessInfo {
            pid,
            program: name.into(),
            user: Some(user.into()),
            ..ProcessInfo::default()
        })
    }

    /// The sample, and sockets in namespaces of their own held by long, wide and odd names,
    /// at long IPv6 addresses (one with a device) and five-digit ports.
    fn hostile() -> Vec<SocketEntry> {
        let mut entries = FakeSource::sample().entries;
        let odd = [
            ("prometheus-node-exporter", "prometheus-exporter-user"),
            ("docker-proxy", "(root)"),
            ("名前名前名前名前名前", "ユーザーユーザー"),
            ("e\u{301}e\u{301}e\u{301}-\x1b[2J", "nobody"),
        ];
        let addresses = [
            ("[2001:db8:1234:5678:9abc:def0:1234:5678]:65535", None),
            (
                "127.0.0.1:18091",
                Some("[2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa]:51515"),
            ),
            ("[::ffff:192.168.100.200]:18091", Some("[fe80::1]:1")),
            ("10.0.0.1:1", Some("10.0.0.2:2")),
        ];
        for (i, ((name, user), (local, remote))) in odd.into_iter().zip(addresses).enumerate() {
            let mut entry = entries[i].clone();
            if let Endpoint::Inet(inet) = &mut entry.endpoint {
                inet.local = local.parse().unwrap();
                inet.remote = remote.map(|r| r.parse().unwrap());
                inet.interface = (i == 2).then(|| "a-long-device-name0".into());
            }
            entry.processes = vec![owner(4_194_300 + i as u32, name, user)];
            let mut netns = Netns::host(4_026_532_000 + i as u64);
            (netns.kind, netns.name) = (
                NetnsKind::Other,
                (i == 1).then(|| "a-long-netns-name".into()),
            );
            entry.netns = Arc::new(netns);
            entries.push(entry);
        }
        entries
    }

    #[test]
    fn every_line_fits_every_width_from_40_to_120() {
        let entries = hostile();
        let every = [
            Column::Netns,
            Column::Proto,
            Column::Local,
            Column::Remote,
            Column::State,
            Column::RecvQ,
            Column::SendQ,
            Column::Service,
            Column::Exposure,
            Column::Pid,
            Column::Process,
            Column::User,
            Column::Age,
            Column::Parent,
            Column::Where,
            Column::Command,
        ];
        let views = [
            (false, false, &[][..]),
            (true, false, &[]),
            (false, true, &[]),
            (true, true, &[]),
            (false, false, &every),
        ];
        for (listening, netns_column, columns) in views {
            for width in 40..=120 {
                let context = RenderContext {
                    width: Some(width),
                    listening,
                    netns_column,
                    columns: columns.to_vec(),
                    ..RenderContext::default()
                };
                let text = table(&entries, &context);
                let widest = text.lines().map(display_width).max().unwrap_or(0);
                assert!(widest <= usize::from(width), "{width} columns:\n{text}");
            }
        }
    }

    #[test]
    fn at_80_columns_a_long_name_is_shortened_before_exposure_goes() {
        let mut listeners = FakeSource::sample().entries;
        listeners.retain(SocketEntry::is_listening);
        listeners[0].processes = vec![owner(3100, "prometheus-node-exporter", "prometheus")];
        let context = RenderContext {
            width: Some(80),
            listening: true,
            ..RenderContext::default()
        };
        let text = table(&listeners, &context);
        let header = text.lines().next().unwrap();
        assert!(header.contains("EXPOSURE"), "{text}");
        assert!(text.contains(" prometheus-no… "), "{text}");
        assert!(text.lines().all(|line| display_width(line) <= 80), "{text}");
    }

    #[test]
    fn a_chosen_column_set_is_honoured() {
        let context = RenderContext {
            columns: vec![Column::Pid, Column::Local],
            ..RenderContext::default()
        };
        let text = table(&FakeSource::sample().entries, &context);
        assert!(text.starts_with("PID     LOCAL\n"), "{text}");
    }
}
