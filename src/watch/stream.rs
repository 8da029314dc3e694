//! Not a terminal: one line per change, or with `--json` one JSON object per change (NDJSON),
//! written and flushed at each refresh, so `| jq` and log shippers see changes as they happen.

use std::io::{self, Write};
use std::time::SystemTime;

use serde::Serialize;

use super::diff::{Event, Row, by_program};
use crate::model::{SocketEntry, State, Throughput};
use crate::render::{Choice, Column, Line, push_rate};
use crate::sanitize::sanitize;

/// How changes are written: as JSON objects, or as lines of these columns.
pub struct Form {
    pub json: bool,
    pub columns: Vec<Column>,
}

impl Form {
    /// The change line's columns, with NETNS when the watch covers several namespaces.
    pub fn new(json: bool, several_netns: bool) -> Form {
        let choice = Choice {
            stream: true,
            several_netns,
            ..Choice::default()
        };
        Form {
            json,
            columns: Column::choose(choice),
        }
    }
}

/// Writes `events`, taken at `at`, as lines or JSON objects.
pub fn write(events: &[Event], form: &Form, at: SystemTime, out: &mut dyn Write) -> io::Result<()> {
    let time = humantime::format_rfc3339_millis(at).to_string();
    for event in events {
        if form.json {
            serde_json::to_writer(&mut *out, &JsonEvent::of(event, &time))?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", line(event, &form.columns))?;
        }
    }
    out.flush()
}

/// `+` opened, `-` closed, `~` changed: `~ tcp ... SYN-SENT->ESTAB 4121 curl`, the changed
/// field as `before->after`.
pub fn line(event: &Event, columns: &[Column]) -> String {
    let (sign, now, was) = match event {
        Event::Open(entry) => ('+', entry, None),
        Event::Close(entry) => ('-', entry, None),
        Event::Change { now, was } => ('~', now, Some(was)),
    };
    let mut text = String::from(sign);
    for &column in columns {
        text.push(' ');
        let after = cell(column, now);
        match was.map(|was| cell(column, was)) {
            Some(before) if before != after => text.push_str(&format!("{before}->{after}")),
            _ => text.push_str(&after),
        }
    }
    text
}

/// With `--tcp-info`, after each refresh's changes: a `rate` line for each connection that
/// moved bytes since the refresh before, then a `program` line for each program's total.
/// `= tcp 127.0.0.1:5000 127.0.0.1:40000 ESTAB 4121 python3 in 2.0MiB/s out 0B/s`.
pub fn write_rates(
    rows: &[Row],
    form: &Form,
    at: SystemTime,
    out: &mut dyn Write,
) -> io::Result<()> {
    let time = humantime::format_rfc3339_millis(at).to_string();
    let moving = rows
        .iter()
        .filter(|row| row.rate.is_some_and(|r| r.total() > 0.0));
    for row in moving {
        let rate = row.rate.unwrap_or_default();
        if form.json {
            let event = RateEvent {
                event: "rate",
                time: &time,
                socket: &row.entry,
                rate,
            };
            serde_json::to_writer(&mut *out, &event)?;
            out.write_all(b"\n")?;
        } else {
            let cells: Vec<String> = form.columns.iter().map(|&c| cell(c, &row.entry)).collect();
            writeln!(out, "= {}{}", cells.join(" "), rate_text(rate))?;
        }
    }
    for (program, rate) in by_program(rows)
        .into_iter()
        .filter(|(_, r)| r.total() > 0.0)
    {
        if form.json {
            let event = ProgramEvent {
                event: "program",
                time: &time,
                program: &program,
                rate,
            };
            serde_json::to_writer(&mut *out, &event)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "= program {}{}", sanitize(&program), rate_text(rate))?;
        }
    }
    out.flush()
}

/// ` in 2.0MiB/s out 0B/s`
fn rate_text(rate: Throughput) -> String {
    let mut text = String::from(" in ");
    push_rate(rate.recv_bytes_per_s, &mut text);
    text.push_str(" out ");
    push_rate(rate.send_bytes_per_s, &mut text);
    text
}

/// One connection's rates: the socket's usual fields, then bytes per second each way.
#[derive(Serialize)]
struct RateEvent<'a> {
    event: &'static str,
    time: &'a str,
    #[serde(flatten)]
    socket: &'a SocketEntry,
    #[serde(flatten)]
    rate: Throughput,
}

/// One program's rates, summed over its connections.
#[derive(Serialize)]
struct ProgramEvent<'a> {
    event: &'static str,
    time: &'a str,
    program: &'a str,
    #[serde(flatten)]
    rate: Throughput,
}

fn cell(column: Column, entry: &SocketEntry) -> String {
    let mut text = String::new();
    if let Some(line) = Line::of(entry, false, None).next() {
        column.write_text(&line, &mut text);
    }
    text
}

/// One NDJSON line: the event, its time, the socket's usual fields, and for a change what the
/// socket was before.
#[derive(Serialize)]
struct JsonEvent<'a> {
    event: &'static str,
    time: &'a str,
    #[serde(flatten)]
    socket: &'a SocketEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    was: Option<Was>,
}

/// What changed: the state and the owners' pids before.
#[derive(Serialize)]
struct Was {
    state: Option<State>,
    pids: Vec<u32>,
}

impl<'a> JsonEvent<'a> {
    fn of(event: &'a Event, time: &'a str) -> JsonEvent<'a> {
        let (event, socket, was) = match event {
            Event::Open(entry) => ("open", entry, None),
            Event::Close(entry) => ("close", entry, None),
            Event::Change { now, was } => ("change", now, Some(was)),
        };
        JsonEvent {
            event,
            time,
            socket,
            was: was.map(|was| Was {
                state: was.state(),
                pids: was.processes.iter().map(|p| p.pid).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::source::FakeSource;
    use crate::watch::diff::Tracker;

    /// The sample's connection: curl's end having received `received` bytes, nginx's end
    /// idle, and a listener (no counters).
    fn counted(received: u64) -> Vec<SocketEntry> {
        let mut entries = FakeSource::sample().entries;
        let with = |at: usize, received| {
            let mut entry = entries[at].clone();
            entry.tcp_info = Some(Box::new(crate::model::TcpInfo {
                counters: Some(crate::model::TcpCounters {
                    bytes_received: Some(received),
                    bytes_acked: Some(0),
                    ..Default::default()
                }),
                ..Default::default()
            }));
            entry
        };
        vec![with(4, received), with(3, 0), entries.remove(0)]
    }

    #[test]
    fn rate_lines_follow_the_connections_that_moved_then_each_programs_total() {
        let order = |a: &SocketEntry, b: &SocketEntry| a.inode.cmp(&b.inode);
        let mut tracker = Tracker::default();
        tracker.update_at(counted(0), order, UNIX_EPOCH);
        let at = UNIX_EPOCH + Duration::from_secs(1);
        tracker.update_at(counted(3 << 19), order, at);
        let mut out = Vec::new();
        write_rates(tracker.rows(), &Form::new(false, false), at, &mut out).unwrap();
        let want = "= tcp 127.0.0.1:51234 127.0.0.1:8080 ESTABLISHED 5150 curl in 1.5MiB/s out 0B/s\n\
                    = program curl in 1.5MiB/s out 0B/s\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
