//! Presenters: the table for people, JSON and CSV for programs. Pure: data in, bytes out.

mod card;
mod cells;
mod columns;
mod csv;
mod fit;
mod json;
mod metrics;
mod summary;
mod table;
mod tcp;
mod width;

use std::io::{self, Write};
use std::time::SystemTime;

pub use cells::Cells;
pub use columns::{Choice, Column, GAP, Line, epoch_seconds};
pub use fit::{fit_widths, truncate};
pub use tcp::push_rate;
pub use width::display_width;

use crate::model::SocketEntry;

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// How to draw, decided once from the terminal and the flags: everything a presenter may need
/// that is not in the sockets themselves. Presenters read nothing else (no environment, no OS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext {
    /// Emit ANSI colours.
    pub color: bool,
    /// Fit the table to this many columns; `None` never truncates.
    pub width: Option<u16>,
    /// Add the command-line column.
    pub wide: bool,
    /// Only listeners are shown (`-l`): who can reach them replaces the empty REMOTE column.
    pub listening: bool,
    /// The columns to show; empty means the default set for the view.
    pub columns: Vec<Column>,
    /// When the snapshot was taken, for ages and timestamps.
    pub now: SystemTime,
    /// Shown sockets whose owner could not be seen.
    pub hidden_owners: usize,
    /// The rows come from more than one network namespace: say which each is in.
    pub netns_column: bool,
    /// `--firewall`: a FIREWALL column, and the card's firewall line.
    pub firewall: bool,
    /// Show TCP internals (`--tcp-info`, `-w`).
    pub tcp_info: bool,
}

impl Default for RenderContext {
    fn default() -> Self {
        RenderContext {
            color: false,
            width: None,
            wide: false,
            listening: false,
            columns: Vec::new(),
            now: SystemTime::UNIX_EPOCH,
            hidden_owners: 0,
            netns_column: false,
            firewall: false,
            tcp_info: false,
        }
    }
}

pub use card::{Card, single_program, write as render_card};
pub use metrics::{Metrics, render as render_metrics};
pub use summary::write as render_summary;

/// Writes `entries` in `format`. An empty table writes nothing; empty JSON is `[]`.
pub fn render(
    format: Format,
    entries: &[SocketEntry],
    context: &RenderContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::write(entries, context, out),
        Format::Json => json::write(entries, out),
        Format::Csv => csv::write(entries, out),
    }
}
