//! JSON output: an array of flat socket objects, one per line. Fields: docs/json.md; the shape
//! itself lives with the model (`model/wire.rs`), so `--replay` reads back what this writes.

use std::io::{self, Write};

use crate::model::SocketEntry;

pub fn write(entries: &[SocketEntry], out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, entry) in entries.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, entry)?;
    }
    out.write_all(if entries.is_empty() { b"]\n" } else { b"\n]\n" })
}
