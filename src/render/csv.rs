//! CSV output: one row per socket and owner, so a spreadsheet reads each owner's pid, name and
//! user together; a socket with no visible owner is one row with empty owner fields. Names are
//! escaped as in the table, since CSV is often read on a terminal, and a name a spreadsheet
//! would take for a formula is quoted as OWASP advises (`'=cmd`): any local user picks the
//! name of their own process.

use std::io::{self, Write};

use crate::model::{ProcessInfo, SocketEntry};
use crate::sanitize::sanitize;

/// Columns are only ever appended (`netns` and `unix_name` came after `service`).
const HEADER: [&str; 16] = [
    "proto",
    "family",
    "local_addr",
    "local_port",
    "remote_addr",
    "remote_port",
    "state",
    "pid",
    "process",
    "user",
    "uid",
    "owner_hidden",
    "service",
    "netns",
    "unix_name",
    "firewall",
];

pub fn write(entries: &[SocketEntry], out: &mut dyn Write) -> io::Result<()> {
    // The header is ours and plain; in the rows every text field is in quotes, so a separator
    // of another locale (`x;=HYPERLINK(...)` where `;` splits cells) cannot start a cell that
    // a spreadsheet evaluates.
    writeln!(out, "{}", HEADER.join(","))?;
    let mut csv = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::NonNumeric)
        .from_writer(out);
    for entry in entries {
        let socket = socket_fields(entry);
        let owners = entry.processes.iter().map(|p| Some(&**p));
        let owners: Vec<Option<&ProcessInfo>> = if entry.processes.is_empty() {
            vec![None]
        } else {
            owners.collect()
        };
        for owner in owners {
            let tail = [
                entry.owner_hidden.to_string(),
                text(entry.service.as_deref()),
                cell(&entry.netns.label()),
                unix_name(entry),
                firewall(entry),
            ];
            let row = socket
                .iter()
                .cloned()
                .chain(owner_fields(owner))
                .chain(tail);
            csv.write_record(row).map_err(into_io)?;
        }
    }
    csv.flush()
}

/// A Unix socket's path or `@name` (as ss writes it), empty when unbound or not Unix.
fn unix_name(entry: &SocketEntry) -> String {
    entry
        .unix_label()
        .map(|name| cell(&name))
        .unwrap_or_default()
}

/// `--firewall`'s whole answer (`dropped by inet filter input rule handle 7`), empty without it.
fn firewall(entry: &SocketEntry) -> String {
    let said = entry.firewall.as_ref().map(|reach| reach.describe());
    said.map(|text| cell(&text)).unwrap_or_default()
}

/// Keeps the writer's own error, so a closed pipe stays a `BrokenPipe` the caller can recognise.
fn into_io(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// A name as it goes into a cell: escaped, and with a leading `'` when it starts with a
/// character that makes a spreadsheet evaluate it (`=`, `+`, `-`, `@`, tab, carriage return).
fn cell(name: &str) -> String {
    let safe = sanitize(name);
    // After sanitize, a tab or carriage return is already the text `\t` or `\r`.
    if safe.starts_with(['=', '+', '-', '@']) {
        format!("'{safe}")
    } else {
        safe.into_owned()
    }
}

fn text(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn socket_fields(entry: &SocketEntry) -> [String; 7] {
    let inet = entry.inet();
    let local = inet.map(|inet| inet.local);
    let remote = inet.and_then(|inet| inet.remote);
    [
        entry.proto_name().into(),
        entry.family_name().into(),
        text(local.map(|a| a.ip())),
        text(local.map(|a| a.port())),
        text(remote.map(|a| a.ip())),
        text(remote.map(|a| a.port())),
        text(entry.state().map(|s| s.name())),
    ]
}

fn owner_fields(owner: Option<&ProcessInfo>) -> [String; 4] {
    let Some(owner) = owner else {
        return Default::default();
    };
    [
        owner.pid.to_string(),
        cell(owner.program()),
        owner.user.as_deref().map(cell).unwrap_or_default(),
        text(owner.uid),
    ]
}
