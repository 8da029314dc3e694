//! `ports -s`: the summary as small tables (comfy-table lays them out: borders, right-aligned
//! counts, fitting the width), or as one JSON object.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};

use super::{Format, RenderContext};
use crate::sanitize::sanitize;
use crate::summary::Summary;

pub fn write(
    summary: &Summary,
    format: Format,
    context: &RenderContext,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *out, summary)?;
            out.write_all(b"\n")
        }
        Format::Table | Format::Csv => write_tables(summary, context, out),
    }
}

fn write_tables(summary: &Summary, context: &RenderContext, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Sockets: {}", summary.total)?;
    if summary.hidden_owners > 0 {
        writeln!(out, "Owners hidden: {}", summary.hidden_owners)?;
    }
    let states = summary.by_state.iter().map(|row| {
        let state = row.state.map_or("-", |state| state.label());
        vec![
            row.kind.to_owned(),
            state.to_owned(),
            row.sockets.to_string(),
        ]
    });
    print(out, table(&["KIND", "STATE", "SOCKETS"], states, context))?;
    let exposure = summary.listeners_by_exposure.iter();
    let exposure = exposure.map(|(exposure, n)| vec![exposure.name().to_owned(), n.to_string()]);
    print(
        out,
        table(&["LISTENERS BY EXPOSURE", "SOCKETS"], exposure, context),
    )?;
    let processes = summary.top_processes.iter().map(|p| {
        vec![
            p.pid.to_string(),
            sanitize(&p.name).into_owned(),
            p.sockets.to_string(),
        ]
    });
    print(
        out,
        table(&["PID", "TOP PROCESSES", "SOCKETS"], processes, context),
    )?;
    let remotes = summary.top_remotes.iter();
    let remotes = remotes.map(|r| vec![r.address.to_string(), r.connections.to_string()]);
    print(out, table(&["TOP PEERS", "CONNECTIONS"], remotes, context))
}

/// A bordered table whose last column (a count) is right-aligned; `None` when it has no rows.
fn table(
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
    context: &RenderContext,
) -> Option<Table> {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .force_no_tty()
        .set_header(header.iter().map(Cell::new));
    if let Some(width) = context.width {
        table.set_width(width);
    }
    for row in rows {
        table.add_row(row);
    }
    if table.row_count() == 0 {
        return None;
    }
    if let Some(count) = table.column_mut(header.len() - 1) {
        count.set_cell_alignment(CellAlignment::Right);
    }
    Some(table)
}

fn print(out: &mut dyn Write, table: Option<Table>) -> io::Result<()> {
    match table {
        Some(table) => writeln!(out, "{table}"),
        None => Ok(()),
    }
}
