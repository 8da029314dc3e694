//! Every cell of a table formatted once, into one buffer: the layout measures the very text
//! the writer then cuts and writes (formatting each cell twice cost the full table at 20,000
//! sockets 10-20 ms).

use super::columns::{Column, Line};

/// The plain, terminal-safe text of each line's cells, column by column.
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`; cell `i` starts where cell `i - 1` ends. 32 bits: a
    /// table's text stays far below 4 GiB, and at 100,000 rows this halves the index.
    ends: Vec<u32>,
    columns: usize,
}

/// Rows formatted before the text buffer is sized: a sample of what a row takes.
const SAMPLE_ROWS: usize = 64;

/// The most reserved from a sample's guess.
const MAX_RESERVE: usize = 64 << 20;

impl Cells {
    /// Formats every cell. The buffer is sized from the first rows, so a large table is not
    /// copied over as it grows (a doubling String held the old and the new text at once: at
    /// 100,000 rows that was the peak of the process's memory).
    pub fn of(lines: &[Line], columns: &[Column]) -> Cells {
        let mut cells = Cells {
            text: String::new(),
            ends: Vec::with_capacity(lines.len() * columns.len()),
            columns: columns.len(),
        };
        let (sample, rest) = lines.split_at(lines.len().min(SAMPLE_ROWS));
        cells.push_rows(sample, columns);
        let per_row = cells.text.len() / sample.len().max(1) + 1;
        // A guess from long first rows (command lines under -w) is capped; growing costs less.
        cells
            .text
            .reserve((per_row * rest.len() * 9 / 8).min(MAX_RESERVE));
        cells.push_rows(rest, columns);
        cells
    }

    fn push_rows(&mut self, lines: &[Line], columns: &[Column]) {
        for line in lines {
            for column in columns {
                column.write_text(line, &mut self.text);
                // Past 4 GiB of cell text (not seen: 100,000 rows take 7 MiB) cells would
                // misalign; saturating keeps get() in bounds.
                self.ends
                    .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
            }
        }
    }

    pub fn rows(&self) -> usize {
        self.ends.len().checked_div(self.columns).unwrap_or(0)
    }

    pub fn get(&self, row: usize, column: usize) -> &str {
        let i = row * self.columns + column;
        let end = (self.ends[i] as usize).min(self.text.len());
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start.min(end)..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    #[test]
    fn each_cell_is_what_the_column_writes() {
        let sample = FakeSource::sample().entries;
        let lines: Vec<Line> = sample
            .iter()
            .flat_map(|e| Line::of(e, false, None))
            .collect();
        let columns = [Column::Proto, Column::Local, Column::Pid];
        let cells = Cells::of(&lines, &columns);
        assert_eq!(cells.rows(), lines.len());
        assert_eq!(cells.get(0, 1), "0.0.0.0:8080");
        assert_eq!(cells.get(0, 2), "1200+1");
        let mut text = String::new();
        Column::Local.write_text(&lines[3], &mut text);
        assert_eq!(cells.get(3, 1), text);
    }
}
