//! JSON output: an array of flat socket objects, one per line. Fields: docs/json.md.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::model::{Family, ProcessInfo, Proto, SocketEntry, TcpState};

/// The documented JSON shape of one socket.
#[derive(Serialize)]
struct JsonSocket<'a> {
    proto: Proto,
    family: Family,
    local_addr: IpAddr,
    local_port: u16,
    remote_addr: Option<IpAddr>,
    remote_port: Option<u16>,
    state: Option<TcpState>,
    processes: &'a [Arc<ProcessInfo>],
    owner_hidden: bool,
}

impl<'a> From<&'a SocketEntry> for JsonSocket<'a> {
    fn from(entry: &'a SocketEntry) -> Self {
        JsonSocket {
            proto: entry.proto,
            family: entry.family(),
            local_addr: entry.local.ip(),
            local_port: entry.local.port(),
            remote_addr: entry.remote.map(|addr| addr.ip()),
            remote_port: entry.remote.map(|addr| addr.port()),
            state: entry.state,
            processes: &entry.processes,
            owner_hidden: entry.owner_hidden,
        }
    }
}

pub fn write(entries: &[SocketEntry], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, entry) in entries.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, &JsonSocket::from(entry))?;
    }
    out.write_all(if entries.is_empty() { b"]\n" } else { b"\n]\n" })
}
