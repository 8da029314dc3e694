//! Every cell of a table formatted once, into one buffer: the layout measures the very text
//! the writer then cuts and writes (formatting each cell twice cost the full table at 20,000
//! sockets 10-20 ms).

use super::columns::{Column, Line};

/// The plain, terminal-safe text of each line's cells, column by column.
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`; cell `i` starts where cell `i - 1` ends.
    ends: Vec<usize>,
    columns: usize,
}

impl Cells {
    pub fn of(lines: &[Line], columns: &[Column]) -> Cells {
        let mut text = String::with_capacity(lines.len() * columns.len() * 12);
        let mut ends = Vec::with_capacity(lines.len() * columns.len());
        for line in lines {
            for column in columns {
                column.write_text(line, &mut text);
                ends.push(text.len());
            }
        }
        Cells {
            text,
            ends,
            columns: columns.len(),
        }
    }

    pub fn rows(&self) -> usize {
        self.ends.len().checked_div(self.columns).unwrap_or(0)
    }

    pub fn get(&self, row: usize, column: usize) -> &str {
        let i = row * self.columns + column;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
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
