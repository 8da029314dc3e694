//! Presenters: the table for people, JSON and CSV for programs. Pure: data in, bytes out.

mod columns;
mod csv;
mod json;
mod table;

use std::io::{self, Write};

pub use columns::Column;

use crate::model::SocketEntry;

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// How to draw the table, decided once from the terminal and the flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOpts {
    /// Emit ANSI colours.
    pub color: bool,
    /// Fit the table to this many columns; `None` never truncates.
    pub width: Option<u16>,
    /// Add the command-line column.
    pub wide: bool,
}

/// Writes `entries` in `format`. An empty table writes nothing; empty JSON is `[]`.
pub fn render(
    format: Format,
    entries: &[SocketEntry],
    opts: &RenderOpts,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::write(entries, opts, out),
        Format::Json => json::write(entries, out),
        Format::Csv => csv::write(entries, out),
    }
}
