//! Not a terminal: one line per change, or with `--json` one JSON object per change (NDJSON),
//! written and flushed at each refresh, so `| jq` and log shippers see changes as they happen.

use std::io::{self, Write};
use std::time::SystemTime;

use serde::Serialize;

use super::diff::Event;
use crate::model::{SocketEntry, State};
use crate::render::{Choice, Column, Line};

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
