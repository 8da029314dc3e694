//! The human table. Cells are cut to fit, then coloured; comfy-table lays out small tables, and
//! a lean writer large ones, where comfy-table's per-row cost shows (docs/performance.md).

use std::io::{self, Write};

use comfy_table::{Cell, ContentArrangement, Table, presets};
use owo_colors::OwoColorize;

use super::RenderOpts;
use super::columns::{Column, GAP, fit_widths};
use crate::model::SocketEntry;

/// Tables longer than this skip comfy-table: it costs ~10 us a row here, the lean writer ~1 us.
const COMFY_MAX_ROWS: usize = 1000;

pub fn write(entries: &[SocketEntry], opts: &RenderOpts, out: &mut dyn Write) -> io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let layout = Layout::new(entries, opts);
    // comfy-table measures in u16: a longer cell (a huge command line under -w) would wrap.
    let too_wide = layout
        .widths
        .iter()
        .any(|&width| width > usize::from(u16::MAX));
    if entries.len() > COMFY_MAX_ROWS || too_wide {
        write_lean(entries, &layout, out)
    } else {
        write_comfy(entries, &layout, out)
    }
}

/// The shown columns, their widths, and whether to colour.
struct Layout {
    columns: Vec<Column>,
    widths: Vec<usize>,
    color: bool,
}

impl Layout {
    fn new(entries: &[SocketEntry], opts: &RenderOpts) -> Layout {
        let columns = Column::for_view(opts.wide);
        let limit = if opts.wide {
            None
        } else {
            opts.width.map(usize::from)
        };
        let widths = fit_widths(&columns, entries, limit);
        let shown = |i: &usize| widths[*i] > 0;
        Layout {
            columns: (0..columns.len())
                .filter(shown)
                .map(|i| columns[i])
                .collect(),
            widths: (0..columns.len())
                .filter(shown)
                .map(|i| widths[i])
                .collect(),
            color: opts.color,
        }
    }

    fn header(&self, column: Column) -> String {
        let header = column.header();
        if self.color {
            header.bold().underline().to_string()
        } else {
            header.to_owned()
        }
    }
}

fn write_comfy(entries: &[SocketEntry], layout: &Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    table.set_header(layout.columns.iter().map(|&c| layout.header(c)));
    let mut scratch = String::new();
    for entry in entries {
        table.add_row(
            layout
                .columns
                .iter()
                .zip(&layout.widths)
                .map(|(column, &width)| {
                    let mut cell = String::new();
                    column.write_cell(entry, width, layout.color, &mut scratch, &mut cell);
                    Cell::new(cell)
                }),
        );
    }
    let last = layout.columns.len() - 1;
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { GAP as u16 }));
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Pads each cell to its column's width by hand, one reused line buffer, no per-row allocation.
fn write_lean(entries: &[SocketEntry], layout: &Layout, out: &mut dyn Write) -> io::Result<()> {
    let mut line = String::new();
    let last = layout.columns.len() - 1;
    let pad = |line: &mut String, i: usize, used: usize| {
        if i < last {
            // `used` can pass the width by a column where unicode-width counts a sequence wider
            // than its characters (an emoji with U+FE0F): never underflow.
            line.extend(std::iter::repeat_n(
                ' ',
                layout.widths[i].saturating_sub(used) + GAP,
            ));
        }
    };
    for (i, &column) in layout.columns.iter().enumerate() {
        line.push_str(&layout.header(column));
        pad(&mut line, i, column.header().len());
    }
    line.push('\n');
    out.write_all(line.as_bytes())?;
    let mut scratch = String::new();
    for entry in entries {
        line.clear();
        for (i, (&column, &width)) in layout.columns.iter().zip(&layout.widths).enumerate() {
            let used = column.write_cell(entry, width, layout.color, &mut scratch, &mut line);
            pad(&mut line, i, used);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    fn both_writers(opts: RenderOpts) -> (String, String) {
        let entries = FakeSource::sample().entries;
        let layout = Layout::new(&entries, &opts);
        let (mut comfy, mut lean) = (Vec::new(), Vec::new());
        write_comfy(&entries, &layout, &mut comfy).unwrap();
        write_lean(&entries, &layout, &mut lean).unwrap();
        (
            String::from_utf8(comfy).unwrap(),
            String::from_utf8(lean).unwrap(),
        )
    }

    #[test]
    fn lean_and_comfy_writers_agree() {
        for color in [false, true] {
            for width in [None, Some(100), Some(60)] {
                for wide in [false, true] {
                    let (comfy, lean) = both_writers(RenderOpts { color, width, wide });
                    assert_eq!(comfy, lean, "color {color}, width {width:?}, wide {wide}");
                }
            }
        }
    }

    #[test]
    fn a_cell_wider_than_comfy_table_can_measure_stays_on_one_line() {
        let mut entry = FakeSource::sample().entries.remove(2);
        let mut process = (*entry.processes[0]).clone();
        process.cmdline = "A".repeat(100_000);
        entry.processes = vec![std::sync::Arc::new(process)];
        let mut out = Vec::new();
        write(
            &[entry],
            &RenderOpts {
                wide: true,
                ..RenderOpts::default()
            },
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).unwrap().ends_with(&"A".repeat(100_000)));
    }

    #[test]
    fn large_tables_take_the_lean_path_with_the_same_layout() {
        let one = FakeSource::sample().entries.remove(2);
        let entries = vec![one; COMFY_MAX_ROWS + 1];
        let mut out = Vec::new();
        write(&entries, &RenderOpts::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), COMFY_MAX_ROWS + 2);
        assert_eq!(text.lines().nth(1), text.lines().last());
    }
}
