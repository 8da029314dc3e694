//! Width fitting: which columns give way, in what order and how far, when the terminal is
//! narrower than the table. Ports and states are never cut; addresses are cut in the middle,
//! keeping their start and the end that tells them apart.

use std::borrow::Cow;

use super::cells::Cells;
use super::columns::{Column, GAP};
use super::width::{cut_address, cut_end, display_width, port_suffix, short_state};

/// How the table makes room, least useful text first. Long names are shortened before a
/// column people came for (EXPOSURE under `-l`) is dropped; columns asked for by name with
/// `--columns` are cut, and go only when nothing else is left to give.
const STEPS: [(Column, Step); 33] = [
    (Column::State, Step::Floor),
    (Column::Command, Step::ShrinkTo(12)),
    (Column::Where, Step::ShrinkTo(12)),
    (Column::Parent, Step::ShrinkTo(12)),
    (Column::Process, Step::ShrinkTo(12)),
    (Column::User, Step::ShrinkTo(8)),
    (Column::Netns, Step::ShrinkTo(12)),
    (Column::Exposure, Step::Hide),
    (Column::Firewall, Step::ShrinkTo(8)),
    // Both addresses, the wider first: one long IPv6 address is cut in the middle before
    // USER leaves every row.
    (Column::Local, Step::Addresses),
    // TCP internals: the rarest first; the rates, what a watch is for, last of all.
    (Column::Timer, Step::Hide),
    (Column::Limit, Step::Hide),
    (Column::User, Step::Hide),
    (Column::Retrans, Step::Hide),
    (Column::Idle, Step::Hide),
    (Column::Process, Step::ShrinkTo(0)),
    (Column::Rtt, Step::Hide),
    (Column::BytesOut, Step::Hide),
    (Column::BytesIn, Step::Hide),
    // The address says the family, the state says TCP: PROTO goes before the peer.
    (Column::Proto, Step::Hide),
    (Column::Remote, Step::Hide),
    (Column::State, Step::Hide),
    (Column::Service, Step::Hide),
    (Column::Age, Step::Hide),
    (Column::RecvQ, Step::Hide),
    (Column::SendQ, Step::Hide),
    (Column::Parent, Step::Hide),
    (Column::Where, Step::Hide),
    (Column::Firewall, Step::Hide),
    (Column::Command, Step::Hide),
    (Column::RateOut, Step::Hide),
    (Column::RateIn, Step::Hide),
    (Column::Netns, Step::Hide),
];

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Go to the column's floor at once: a shortened state is a whole word (ESTAB), not a cut.
    Floor,
    /// Cut cells down towards this width, never below the column's floor.
    ShrinkTo(usize),
    /// Cut LOCAL and REMOTE towards their floors, always the wider of the two.
    Addresses,
    /// Drop the column.
    Hide,
}

impl Step {
    /// The width this step leaves a column of `width` (at least `floor`) when the table is
    /// `excess` columns too wide.
    fn apply(self, width: usize, floor: usize, excess: usize) -> usize {
        match self {
            Step::Floor => floor,
            Step::ShrinkTo(target) => {
                let lowest = target.max(floor).min(width);
                width - excess.min(width - lowest)
            }
            // LOCAL and REMOTE are cut together, by `shrink_addresses`.
            Step::Addresses => width,
            Step::Hide => 0,
        }
    }
}

/// Column widths for `cells` (formatted for `columns`) that fit `limit`; 0 hides a column.
pub fn fit_widths(columns: &[Column], cells: &Cells, limit: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| display_width(c.header())).collect();
    let mut floors = widths.clone();
    for row in 0..cells.rows() {
        for (i, &column) in columns.iter().enumerate() {
            let text = cells.get(row, i);
            let width = display_width(text);
            widths[i] = widths[i].max(width);
            floors[i] = floors[i].max(min_width(column, text).min(width));
        }
    }
    if let Some(limit) = limit {
        let natural = widths.clone();
        make_room(columns, &mut widths, &floors, limit);
        give_back(columns, &mut widths, &natural, limit);
    }
    widths
}

/// Applies the steps in order until the table fits.
fn make_room(columns: &[Column], widths: &mut [usize], floors: &[usize], limit: usize) {
    for (column, step) in STEPS {
        let excess = total(widths).saturating_sub(limit);
        if excess == 0 {
            return;
        }
        if let Step::Addresses = step {
            shrink_addresses(columns, widths, floors, excess);
        } else if let Some(i) = columns.iter().position(|&c| c == column) {
            widths[i] = step.apply(widths[i], floors[i], excess);
        }
    }
}

/// Takes `excess` columns from LOCAL and REMOTE, one at a time from whichever is wider and
/// still above its floor.
fn shrink_addresses(columns: &[Column], widths: &mut [usize], floors: &[usize], excess: usize) {
    let at = |column| columns.iter().position(|&c| c == column);
    let shrinkable: Vec<usize> = [at(Column::Local), at(Column::Remote)]
        .into_iter()
        .flatten()
        .filter(|&i| widths[i] > 0)
        .collect();
    for _ in 0..excess {
        let widest = shrinkable
            .iter()
            .copied()
            .filter(|&i| widths[i] > floors[i])
            .max_by_key(|&i| widths[i]);
        match widest {
            Some(i) => widths[i] -= 1,
            None => return,
        }
    }
}

/// Hiding a column can free more than was needed: shown columns that were cut get the rest
/// back, addresses first (the one missing least first, so ordinary addresses are made whole
/// before one long IPv6 address takes the room), then names, then the state.
fn give_back(columns: &[Column], widths: &mut [usize], natural: &[usize], limit: usize) {
    let rank = |column| match column {
        Column::Local | Column::Remote => 0,
        Column::State => 2,
        _ => 1,
    };
    let mut cut: Vec<usize> = (0..columns.len())
        .filter(|&i| widths[i] > 0 && widths[i] < natural[i])
        .collect();
    cut.sort_by_key(|&i| (rank(columns[i]), natural[i] - widths[i]));
    for i in cut {
        let spare = limit.saturating_sub(total(widths));
        // A state is shortened as a whole word: it gets its full width back or none.
        let whole = columns[i] != Column::State || widths[i] + spare >= natural[i];
        if whole {
            widths[i] = natural[i].min(widths[i] + spare);
        }
    }
}

/// Columns used by the shown widths, gaps included.
fn total(widths: &[usize]) -> usize {
    let shown = widths.iter().filter(|&&w| w > 0);
    let count = shown.clone().count();
    shown.sum::<usize>() + GAP * count.saturating_sub(1)
}

/// Narrowest a column may become for a cell: an address keeps its port and seven characters
/// of host (`127….0.1`), an owner field four, a pid and the rest stay whole.
fn min_width(column: Column, text: &str) -> usize {
    match column {
        Column::Local | Column::Remote => {
            let suffix = port_suffix(text);
            suffix.len() + display_width(&text[..text.len() - suffix.len()]).min(7)
        }
        Column::Command
        | Column::User
        | Column::Process
        | Column::Service
        | Column::Parent
        | Column::Where
        | Column::Firewall => 4,
        Column::Exposure | Column::Age => display_width(text),
        Column::Netns => display_width(text).min(12),
        Column::State => short_state(text).len(),
        Column::Proto | Column::Pid | Column::RecvQ | Column::SendQ => display_width(text),
        // Figures are never cut: a cut number reads as another number.
        Column::Rtt
        | Column::Retrans
        | Column::BytesIn
        | Column::BytesOut
        | Column::Idle
        | Column::Limit
        | Column::Timer
        | Column::RateIn
        | Column::RateOut => display_width(text),
    }
}

/// Cuts `text` to `width`: addresses in the middle of the host, never their port; a state to
/// its short name; the rest at the end, with an ellipsis.
pub fn truncate(column: Column, text: &str, width: usize) -> Cow<'_, str> {
    match column {
        _ if display_width(text) <= width => Cow::Borrowed(text),
        Column::Local | Column::Remote => cut_address(text, width),
        Column::State => Cow::Borrowed(short_state(text)),
        _ => cut_end(text, width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::columns::{Choice, Line};
    use crate::source::FakeSource;

    #[test]
    fn each_column_is_cut_its_own_way() {
        assert_eq!(
            truncate(Column::Local, "127.0.0.1:8080", 12),
            "127…0.1:8080"
        );
        assert_eq!(truncate(Column::State, "ESTABLISHED", 5), "ESTAB");
        assert_eq!(truncate(Column::Process, "postgres", 5), "post…");
        assert_eq!(truncate(Column::Process, "nginx", 5), "nginx");
    }

    #[test]
    fn room_is_made_from_the_least_useful_text_first() {
        let columns = Column::choose(Choice::default());
        let curl = FakeSource::sample().entries.remove(4);
        let lines: Vec<Line> = Line::of(&curl, false, None).collect();
        let cells = Cells::of(&lines, &columns);
        let natural = fit_widths(&columns, &cells, None);
        assert_eq!(natural, [5, 15, 14, 11, 4, 7, 5]);
        assert_eq!(total(&natural), 73);
        assert_eq!(fit_widths(&columns, &cells, Some(80)), natural);
        // A little short: ESTABLISHED becomes ss's ESTAB, which loses nothing.
        assert_eq!(
            fit_widths(&columns, &cells, Some(71)),
            [5, 15, 14, 5, 4, 7, 5]
        );
        // More: USER goes, and the address cut on the way there gets its width back.
        let tight = fit_widths(&columns, &cells, Some(60));
        assert_eq!(tight, [5, 15, 14, 5, 4, 7, 0]);
        assert!(total(&tight) <= 60);
    }

    #[test]
    fn forty_columns_keep_the_port_and_owner_and_fit() {
        let columns = Column::choose(Choice::default());
        let sample = FakeSource::sample().entries;
        let lines: Vec<Line> = sample
            .iter()
            .flat_map(|e| Line::of(e, false, None))
            .collect();
        let widths = fit_widths(&columns, &Cells::of(&lines, &columns), Some(40));
        assert!(total(&widths) <= 40, "{widths:?}");
        let shown: Vec<Column> = columns
            .iter()
            .zip(&widths)
            .filter(|(_, w)| **w > 0)
            .map(|(c, _)| *c)
            .collect();
        assert!(
            shown.contains(&Column::Local) && shown.contains(&Column::Pid),
            "{shown:?}"
        );
    }
}
