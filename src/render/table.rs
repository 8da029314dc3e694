//! The human table: plain text cut to fit, then coloured, laid out by comfy-table.

use std::io::{self, Write};

use comfy_table::{Cell, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::RenderOpts;
use super::columns::{Column, GAP, fit_widths};
use crate::model::SocketEntry;

pub fn write(entries: &[SocketEntry], opts: &RenderOpts, out: &mut dyn Write) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let all_columns = Column::for_view(opts.wide);
    let texts: Vec<Vec<String>> = entries
        .iter()
        .map(|e| all_columns.iter().map(|c| c.text(e)).collect())
        .collect();
    let limit = if opts.wide {
        None
    } else {
        opts.width.map(usize::from)
    };
    let widths = fit_widths(&all_columns, &texts, limit);
    let shown: Vec<usize> = (0..all_columns.len()).filter(|&i| widths[i] > 0).collect();

    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    table.set_header(
        shown
            .iter()
            .map(|&i| header_cell(all_columns[i].header(), opts.color)),
    );
    for (entry, row) in entries.iter().zip(&texts) {
        let cells = shown.iter().map(|&i| {
            let column = all_columns[i];
            let text = column.truncate(&row[i], widths[i]);
            Cell::new(if opts.color {
                column.paint(entry, &text)
            } else {
                text
            })
        });
        table.add_row(cells);
    }
    let last = shown.len() - 1;
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { GAP as u16 }));
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn header_cell(header: &str, color: bool) -> Cell {
    if color {
        Cell::new(header.bold().underline().to_string())
    } else {
        Cell::new(header)
    }
}
