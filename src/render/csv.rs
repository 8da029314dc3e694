//! CSV output: one row per socket; several owners become `;`-separated lists in each owner column.
//! Names are escaped as in the table, since CSV is often read on a terminal.

use std::io::{self, Write};

use crate::model::{Family, Proto, SocketEntry};
use crate::sanitize::sanitize;

const HEADER: [&str; 12] = [
    "proto",
    "family",
    "local_addr",
    "local_port",
    "remote_addr",
    "remote_port",
    "state",
    "pids",
    "processes",
    "users",
    "uids",
    "owner_hidden",
];

pub fn write(entries: &[SocketEntry], out: &mut dyn Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(HEADER).map_err(into_io)?;
    for entry in entries {
        csv.write_record(record(entry)).map_err(into_io)?;
    }
    csv.flush()
}

/// Keeps the writer's own error, so a closed pipe stays a `BrokenPipe` the caller can recognise.
fn into_io(error: csv::Error) -> io::Error {
    match error.into_kind() {
        csv::ErrorKind::Io(error) => error,
        other => io::Error::other(format!("{other:?}")),
    }
}

fn record(entry: &SocketEntry) -> [String; 12] {
    let owners = &entry.processes;
    let list = |field: &dyn Fn(&crate::model::ProcessInfo) -> String| {
        owners
            .iter()
            .map(|p| field(p))
            .collect::<Vec<_>>()
            .join(";")
    };
    let inet = entry.inet();
    let local = inet.map(|inet| inet.local);
    let remote = inet.and_then(|inet| inet.remote);
    let text = |value: Option<String>| value.unwrap_or_default();
    [
        match entry.proto() {
            Some(Proto::Tcp) => "tcp".into(),
            Some(Proto::Udp) => "udp".into(),
            None => "unix".into(),
        },
        match entry.family() {
            Some(Family::Ipv4) => "ipv4".into(),
            Some(Family::Ipv6) => "ipv6".into(),
            None => "unix".into(),
        },
        text(local.map(|a| a.ip().to_string())),
        text(local.map(|a| a.port().to_string())),
        text(remote.map(|a| a.ip().to_string())),
        text(remote.map(|a| a.port().to_string())),
        text(entry.state().map(|s| s.name().to_owned())),
        list(&|p| p.pid.to_string()),
        list(&|p| sanitize(&p.name).into_owned()),
        list(&|p| {
            p.user
                .as_deref()
                .map(sanitize)
                .unwrap_or_default()
                .into_owned()
        }),
        list(&|p| p.uid.map(|u| u.to_string()).unwrap_or_default()),
        entry.owner_hidden.to_string(),
    ]
}
