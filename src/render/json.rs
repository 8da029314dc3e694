//! JSON output: an array of flat socket objects, one per line. Fields: docs/json.md; the shape
//! itself lives with the model (`model/wire.rs`), so `--replay` reads back what this writes.

use std::io::{self, Write};

use crate::model::SocketEntry;

/// Each row is built in one reused buffer, then written at once: serde_json makes a write per
/// token, and through `dyn Write` each is a call that cannot be inlined.
pub fn write(entries: &[SocketEntry], out: &mut dyn Write) -> io::Result<()> {
    let mut row = Vec::with_capacity(512);
    out.write_all(b"[")?;
    for (i, entry) in entries.iter().enumerate() {
        row.clear();
        row.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut row, entry)?;
        out.write_all(&row)?;
    }
    out.write_all(if entries.is_empty() { b"]\n" } else { b"\n]\n" })
}
