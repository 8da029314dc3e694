//! The live table on a terminal: ratatui over crossterm, redrawn in place. Rows keep their
//! order; new ones are marked `+` (green), changed ones `~` (yellow), closed ones stay dimmed
//! as `-` (red) for a few refreshes. Under `-w` no cell is cut: the rows keep their natural
//! widths and ←/→ pan across them, the marks staying put. The terminal is restored on quit,
//! on SIGTERM and SIGHUP, and on a panic (the hook ratatui installs restores it, then calls
//! the one before it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line as TextLine;
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table, Wrap};
use ratatui::{DefaultTerminal, Frame};

use super::diff::{KEEP_GONE, Mark, Row, Tracker, by_program, by_rate};
use super::order;
use crate::app;
use crate::exit::ExitCode;
use crate::model::State;
use crate::render::{
    Cells, Choice, Column, GAP, Line, display_width, epoch_seconds, fit_widths, push_rate, truncate,
};
use crate::sanitize::sanitize;
use crate::settings::Settings;
use crate::sort::SortKey;
use crate::source::{NetnsScope, SocketSource};

/// What the screen shows between refreshes.
#[derive(Debug, Default)]
pub struct Screen {
    pub tracker: Tracker,
    /// When the rows were listed.
    pub at: Option<SystemTime>,
    pub interval: Duration,
    /// The command line's filters, as typed.
    pub filters: String,
    pub paused: bool,
    /// Rows scrolled past.
    pub scroll: usize,
    /// Rows the table showed at the last frame (under its header, above the notes): a page.
    pub page: usize,
    /// What could not be seen, said under the table.
    pub notes: Vec<String>,
    pub color: bool,
    pub columns: Vec<Column>,
    /// `-w`: every cell whole, panned with ←/→ instead of fitted to the screen.
    pub wide: bool,
    /// Columns of the wide rows panned past.
    pub across: usize,
    /// How far the wide rows reach past the screen at the last frame: the furthest pan.
    pub overflow: usize,
    /// Column widths fitted to the rows for a screen width, until the next refresh.
    fitted: Option<(u16, Vec<usize>)>,
    /// TCP internals asked for: rates per connection, and a line of each program's total.
    pub tcp_info: bool,
    /// Rows in order of their rates, busiest first (`r`, or `--sort rate`).
    pub by_rate: bool,
}

/// Runs until `q`, Esc, Ctrl-C, SIGTERM or SIGHUP.
pub fn run(
    settings: &Settings,
    interval: Duration,
    source: &mut dyn SocketSource,
    filters: String,
) -> anyhow::Result<ExitCode> {
    let drawing = Arc::new(Mutex::new(()));
    restore_on_signals(Arc::clone(&drawing))?;
    let mut terminal = ratatui::try_init()?;
    let mut screen = Screen {
        interval,
        filters,
        color: settings.render.color,
        columns: Column::choose(Choice {
            wide: settings.render.wide,
            listening: settings.render.listening,
            explicit: &settings.render.columns,
            several_netns: settings.netns != NetnsScope::Own,
            tcp_info: settings.render.tcp_info,
            rates: true,
            stream: false,
            firewall: false,
        }),
        wide: settings.render.wide,
        tcp_info: settings.render.tcp_info,
        by_rate: settings.sort == SortKey::Rate,
        ..Screen::default()
    };
    let result = watch(settings, source, &mut terminal, &mut screen, &drawing);
    ratatui::try_restore()?;
    result
}

/// On SIGTERM, SIGHUP, SIGINT or SIGQUIT (sent by another process: Ctrl-C is a key here),
/// restores the terminal and exits (128 + the signal, as a shell reports
/// it) from a thread of its own: the main thread may be inside crossterm's input poll, which
/// spins rather than returns once a hung-up terminal reads as end of file. `drawing` keeps a
/// frame from being drawn over the restored screen.
fn restore_on_signals(drawing: Arc<Mutex<()>>) -> std::io::Result<()> {
    crate::os::on_termination(move |signal| {
        let _no_more_frames = drawing.lock();
        let _ = ratatui::try_restore();
        // The terminal's Drop shows the cursor again, and it never runs on this path.
        let _ = ratatui::crossterm::execute!(std::io::stdout(), ratatui::crossterm::cursor::Show);
        std::process::exit(128 + signal);
    })
}

fn watch(
    settings: &Settings,
    source: &mut dyn SocketSource,
    terminal: &mut DefaultTerminal,
    screen: &mut Screen,
    drawing: &Mutex<()>,
) -> anyhow::Result<ExitCode> {
    let (mut due, mut dirty) = (Instant::now(), true);
    loop {
        if !screen.paused && Instant::now() >= due {
            refresh(settings, source, screen)?;
            due = Instant::now() + screen.interval;
            dirty = true;
        }
        // Drawn only when something changed: a refresh, a key, a resize.
        if std::mem::take(&mut dirty) {
            let _drawing = drawing.lock();
            terminal.draw(|frame| draw(frame, screen))?;
        }
        // Until the next refresh, or a quarter second while paused.
        let wait = due.saturating_duration_since(Instant::now());
        if event::poll(
            wait.max(Duration::from_millis(10))
                .min(Duration::from_millis(250)),
        )? {
            dirty = true;
            if let TermEvent::Key(key) = event::read()?
                && let Some(code) = on_key(key, screen)
            {
                return Ok(code);
            }
        }
    }
}

fn refresh(
    settings: &Settings,
    source: &mut dyn SocketSource,
    screen: &mut Screen,
) -> anyhow::Result<()> {
    let listing = app::listing(settings, source)?;
    let (hidden, partly) = (listing.hidden_owners, listing.partly_hidden);
    let problems = &listing.snapshot.problems;
    screen.notes = crate::source::notes(problems, hidden, partly, listing.hidden_unshown);
    let at = listing.snapshot.taken_at.unwrap_or_else(SystemTime::now);
    screen.at = Some(at);
    screen
        .tracker
        .update_at(listing.entries, order(settings), at);
    screen.scroll = screen.scroll.min(screen.last_top());
    screen.fitted = None;
    Ok(())
}

/// Columns a ←/→ key pans the wide rows.
pub const PAN: usize = 8;

/// Handles a key; the exit code when it ends the watch: q and Esc quit (0), Ctrl-C interrupts
/// (130, as the stream's SIGINT does). Scrolling stops when the last row is at the bottom.
pub fn on_key(key: KeyEvent, screen: &mut Screen) -> Option<ExitCode> {
    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
    let (last, page) = (screen.last_top(), screen.page.max(1));
    match key.code {
        _ if ctrl_c => return Some(ExitCode::Interrupted),
        KeyCode::Char('q') | KeyCode::Esc => return Some(ExitCode::Matched),
        KeyCode::Char('p') => screen.paused = !screen.paused,
        KeyCode::Char('r') if screen.tcp_info => screen.by_rate = !screen.by_rate,
        KeyCode::Down => screen.scroll = (screen.scroll + 1).min(last),
        KeyCode::Up => screen.scroll = screen.scroll.saturating_sub(1),
        KeyCode::PageDown => screen.scroll = (screen.scroll + page).min(last),
        KeyCode::PageUp => screen.scroll = screen.scroll.saturating_sub(page),
        KeyCode::Home => screen.scroll = 0,
        KeyCode::End => screen.scroll = last,
        KeyCode::Left => screen.across = screen.across.saturating_sub(PAN),
        KeyCode::Right => screen.across = (screen.across + PAN).min(screen.overflow),
        _ => {}
    }
    None
}

/// The header, the table from the scroll position, what could not be seen, and the keys.
pub fn draw(frame: &mut Frame, screen: &mut Screen) {
    let width = usize::from(frame.area().width.max(1));
    let wrapped = screen
        .notes
        .iter()
        .map(|note| note.chars().count().div_ceil(width));
    let notes = wrapped.sum::<usize>().min(6) as u16;
    let [head, programs, body, notes_area, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(screen.tcp_info)),
        Constraint::Fill(1),
        Constraint::Length(notes),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(header(screen)), head);
    if screen.tcp_info {
        frame.render_widget(
            Paragraph::new(programs_line(screen.tracker.rows())),
            programs,
        );
    }
    let widths = screen.widths(body.width).to_vec();
    screen.page = usize::from(body.height.saturating_sub(1));
    if screen.wide {
        draw_wide(frame, screen, &widths, body);
    } else {
        frame.render_widget(table(screen, &widths, body.height), body);
    }
    let notes = screen.notes.iter().map(|note| TextLine::from(note.clone()));
    let notes = Paragraph::new(notes.collect::<Vec<_>>()).wrap(Wrap { trim: true });
    frame.render_widget(notes.style(dim(screen.color)), notes_area);
    let mut help = String::from("q quit  p pause  ↑↓ PgUp PgDn Home End scroll");
    if screen.wide {
        help.push_str("  ←→ pan");
    }
    if screen.tcp_info {
        help.push_str(if screen.by_rate {
            "  r unsort"
        } else {
            "  r by rate"
        });
    }
    frame.render_widget(Paragraph::new(help).style(dim(screen.color)), keys);
}

/// `15:34:02 UTC · 1s · 12 total, 5 listen, 4 estab, +1 new, -0 gone · -t -l`: fits 80 columns.
fn header(screen: &Screen) -> TextLine<'static> {
    let rows = screen.tracker.rows();
    let open = || rows.iter().filter(|row| !matches!(row.mark, Mark::Gone(_)));
    let count = |mark: Mark| rows.iter().filter(|row| row.mark == mark).count();
    let time = screen.at.map(clock).unwrap_or_default();
    let established = open().filter(|row| row.entry.state() == Some(State::Established));
    let mut text = format!(
        "{time} UTC · {} · {} total, {} listen, {} estab, +{} new, -{} gone",
        humantime::format_duration(screen.interval),
        open().count(),
        open().filter(|row| row.entry.is_listening()).count(),
        established.count(),
        count(Mark::New),
        count(Mark::Gone(KEEP_GONE)),
    );
    if !screen.filters.is_empty() {
        text.push_str(&format!(" · {}", screen.filters));
    }
    if screen.paused {
        text.push_str(" · PAUSED");
    }
    TextLine::from(text).style(bold(screen.color))
}

/// `by program: python3 in 2.0MiB/s out 0B/s · curl in 12KiB/s out 1.0KiB/s`: each program's
/// rates summed over its connections, the busiest first.
fn programs_line(rows: &[Row]) -> String {
    let mut text = String::from("by program:");
    let totals = by_program(rows);
    if totals.is_empty() {
        text.push_str(" -");
    }
    for (i, (program, rate)) in totals.iter().enumerate() {
        text.push_str(if i == 0 { " " } else { " · " });
        text.push_str(&sanitize(program));
        text.push_str(" in ");
        push_rate(rate.recv_bytes_per_s, &mut text);
        text.push_str(" out ");
        push_rate(rate.send_bytes_per_s, &mut text);
    }
    text
}

impl Screen {
    /// The rows in the order shown: the listing's, or busiest first.
    fn ordered(&self) -> Vec<&Row> {
        match self.by_rate {
            true => by_rate(self.tracker.rows()),
            false => self.tracker.rows().iter().collect(),
        }
    }

    /// The listing's time in seconds since the Unix epoch, for ages.
    /// The scroll position that shows the last row at the bottom of a page.
    fn last_top(&self) -> usize {
        let rows = self.tracker.rows().len();
        rows.saturating_sub(self.page.max(1))
    }

    fn now(&self) -> Option<u64> {
        epoch_seconds(self.at?)
    }

    /// Column widths for `width`, fitted the way the one-shot table is (the same columns give
    /// way in the same order) over every row, so they stay put while scrolling; under `-w`
    /// the natural widths, whatever the screen's.
    fn widths(&mut self, width: u16) -> &[usize] {
        if self
            .fitted
            .as_ref()
            .is_none_or(|(for_width, _)| *for_width != width)
        {
            let (rows, now) = (self.tracker.rows().iter(), self.now());
            let lines: Vec<Line> = rows.filter_map(|row| line_of(row, now)).collect();
            let room = usize::from(width).saturating_sub(1 + GAP);
            let limit = (!self.wide).then_some(room);
            let cells = Cells::of(&lines, &self.columns);
            self.fitted = Some((width, fit_widths(&self.columns, &cells, limit)));
        }
        self.fitted.as_ref().map_or(&[], |(_, widths)| widths)
    }
}

/// The shown columns and their widths.
fn shown(screen: &Screen, widths: &[usize]) -> Vec<(Column, usize)> {
    let columns = screen.columns.iter().copied().zip(widths.iter().copied());
    columns.filter(|&(_, width)| width > 0).collect()
}

/// The rows that fit `height`, from the scroll position.
fn table(screen: &Screen, widths: &[usize], height: u16) -> Table<'static> {
    let shown = shown(screen, widths);
    let header = std::iter::once(String::new())
        .chain(shown.iter().map(|(column, _)| column.header().to_owned()));
    let ordered = screen.ordered();
    let rows = ordered.into_iter().skip(screen.scroll);
    let body = rows.take(usize::from(height)).map(|row| {
        let cells = row_cells(screen, row, &shown);
        let cells = std::iter::once(mark(row.mark).to_owned()).chain(cells);
        TableRow::new(cells.map(Cell::from)).style(mark_style(row.mark, screen.color))
    });
    let constraints = std::iter::once(1)
        .chain(shown.iter().map(|&(_, width)| width as u16))
        .map(Constraint::Length);
    Table::new(body, constraints)
        .column_spacing(GAP as u16)
        .header(TableRow::new(header).style(bold(screen.color)))
}

/// Under `-w`: the header and the rows that fit `area` as lines of text, every cell whole,
/// panned to `screen.across`; the marks stay at the left edge. A table would squeeze columns
/// wider than the screen, so the lines are laid out here.
fn draw_wide(frame: &mut Frame, screen: &mut Screen, widths: &[usize], area: Rect) {
    let shown = shown(screen, widths);
    let [marks_area, rows_area] =
        Layout::horizontal([Constraint::Length(1 + GAP as u16), Constraint::Fill(1)]).areas(area);
    let header = shown.iter().map(|&(column, _)| column.header().to_owned());
    let mut marks = vec![TextLine::default()];
    let mut lines = vec![TextLine::from(wide_line(header, &shown)).style(bold(screen.color))];
    let ordered = screen.ordered();
    for row in ordered
        .into_iter()
        .skip(screen.scroll)
        .take(usize::from(area.height))
    {
        let style = mark_style(row.mark, screen.color);
        let cells = row_cells(screen, row, &shown).into_iter();
        marks.push(TextLine::from(mark(row.mark)).style(style));
        lines.push(TextLine::from(wide_line(cells, &shown)).style(style));
    }
    let reach = shown.iter().map(|&(_, width)| width + GAP).sum::<usize>();
    screen.overflow = reach.saturating_sub(GAP + usize::from(rows_area.width));
    screen.across = screen.across.min(screen.overflow);
    let across = u16::try_from(screen.across).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(marks), marks_area);
    frame.render_widget(Paragraph::new(lines).scroll((0, across)), rows_area);
}

/// A row's cells in the shown columns, each cut to its column's width.
fn row_cells(screen: &Screen, row: &Row, shown: &[(Column, usize)]) -> Vec<String> {
    let line = line_of(row, screen.now());
    let text = |&(column, width): &(Column, usize)| {
        line.as_ref()
            .map(|line| cell(column, line, width))
            .unwrap_or_default()
    };
    shown.iter().map(text).collect()
}

/// A row's one line (the first owner's), with the row's rates.
fn line_of(row: &Row, now: Option<u64>) -> Option<Line<'_>> {
    let line = Line::of(&row.entry, false, now).next()?;
    Some(Line {
        rate: row.rate,
        ..line
    })
}

/// Cells padded to their columns' widths, a gap apart, with no trailing blanks.
fn wide_line(cells: impl Iterator<Item = String>, shown: &[(Column, usize)]) -> String {
    let mut text = String::new();
    for (cell, &(_, width)) in cells.zip(shown) {
        let pad = width.saturating_sub(display_width(&cell)) + GAP;
        text.push_str(&cell);
        text.extend(std::iter::repeat_n(' ', pad));
    }
    text.truncate(text.trim_end().len());
    text
}

/// `15:34:02`, in UTC.
fn clock(at: SystemTime) -> String {
    let of_day = epoch_seconds(at).unwrap_or(0) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

fn mark(mark: Mark) -> &'static str {
    match mark {
        Mark::Same => " ",
        Mark::New => "+",
        Mark::Changed => "~",
        Mark::Gone(_) => "-",
    }
}

fn cell(column: Column, line: &Line, width: usize) -> String {
    let mut text = String::new();
    column.write_text(line, &mut text);
    truncate(column, &text, width).into_owned()
}

fn mark_style(mark: Mark, color: bool) -> Style {
    match (mark, color) {
        (_, false) | (Mark::Same, true) => Style::default(),
        (Mark::New, true) => Style::default().fg(Color::Green),
        (Mark::Changed, true) => Style::default().fg(Color::Yellow),
        (Mark::Gone(_), true) => Style::default().fg(Color::Red).add_modifier(Modifier::DIM),
    }
}

fn bold(color: bool) -> Style {
    if color {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    }
}

fn dim(color: bool) -> Style {
    if color {
        Style::default().add_modifier(Modifier::DIM)
    } else {
        Style::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::model::Endpoint;
    use crate::sort::{SortKey, compare};
    use crate::source::{FakeSource, SAMPLE_TIME};

    /// The sample, then the sample with its postgres listener closed and the client's
    /// connection turned CLOSE-WAIT.
    fn screen() -> Screen {
        let mut screen = Screen {
            at: Some(UNIX_EPOCH + Duration::from_secs(SAMPLE_TIME)),
            interval: Duration::from_secs(1),
            filters: "-t".into(),
            columns: Column::choose(Choice::default()),
            notes: vec!["1 socket's owner is hidden: run with sudo to see it".into()],
            ..Screen::default()
        };
        let by_proto = |a: &_, b: &_| compare(a, b, SortKey::Proto, false);
        screen
            .tracker
            .update(FakeSource::sample().entries, by_proto);
        let mut next = FakeSource::sample().entries;
        next.remove(2);
        if let Endpoint::Inet(inet) = &mut next[3].endpoint {
            inet.state = Some(State::CloseWait);
        }
        screen.tracker.update(next, by_proto);
        screen
    }

    fn frame(screen: &mut Screen) -> String {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| draw(frame, screen)).unwrap();
        terminal.backend().to_string()
    }

    #[test]
    fn the_frame_at_80_by_24() {
        insta::assert_snapshot!(frame(&mut screen()));
    }

    #[test]
    fn keys_quit_pause_and_scroll_within_the_rows() {
        let mut screen = screen();
        screen.page = 3;
        let rows = screen.tracker.rows().len();
        assert!(rows > 6, "{rows} rows");
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(on_key(key(KeyCode::Char('p')), &mut screen), None);
        assert!(screen.paused);
        assert_eq!(on_key(key(KeyCode::PageDown), &mut screen), None);
        assert_eq!(screen.scroll, 3);
        for _ in 0..rows {
            on_key(key(KeyCode::PageDown), &mut screen);
        }
        assert_eq!(screen.scroll, rows - 3, "the last page is full");
        assert_eq!(on_key(key(KeyCode::Home), &mut screen), None);
        assert_eq!(screen.scroll, 0);
        assert_eq!(on_key(key(KeyCode::End), &mut screen), None);
        assert_eq!(
            screen.scroll,
            rows - 3,
            "End shows the last row at the bottom"
        );
        let quit = Some(ExitCode::Matched);
        assert_eq!(on_key(key(KeyCode::Char('q')), &mut screen), quit);
        assert_eq!(on_key(key(KeyCode::Esc), &mut screen), quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(on_key(ctrl_c, &mut screen), Some(ExitCode::Interrupted));
    }

    /// The same screen under `-w`.
    fn wide_screen() -> Screen {
        let wide = Choice {
            wide: true,
            ..Choice::default()
        };
        Screen {
            wide: true,
            columns: Column::choose(wide),
            ..screen()
        }
    }

    /// The frame's lines, as the screen shows them (without TestBackend's quotes).
    fn lines(frame: &str) -> Vec<String> {
        let unquote = |line: &str| line.trim_matches('"').to_owned();
        frame.lines().map(unquote).collect()
    }

    #[test]
    fn a_wide_frame_cuts_and_drops_nothing() {
        let text = frame(&mut wide_screen());
        assert!(!text.contains('…'), "{text}");
        assert!(text.contains("[2001:db8::99]:60022"), "{text}");
        let header = &lines(&text)[1];
        for column in ["PROTO", "LOCAL", "REMOTE", "STATE", "RECV-Q"] {
            assert!(header.contains(column), "{column} in {header}");
        }
        assert!(text.contains("End scroll  ←→ pan"), "{text}");
    }

    #[test]
    fn right_and_left_pan_the_wide_rows_and_the_marks_stay() {
        let mut screen = wide_screen();
        let before = lines(&frame(&mut screen));
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(on_key(key(KeyCode::Right), &mut screen), None);
        assert_eq!(screen.across, PAN);
        let after = lines(&frame(&mut screen));
        let from = |line: &String, at: usize| line.chars().skip(at).take(40).collect::<String>();
        for row in 1..4 {
            assert_eq!(
                from(&after[row], 3),
                from(&before[row], 3 + PAN),
                "row {row}"
            );
            assert_eq!(after[row][..3], before[row][..3], "the mark stays");
        }
        assert!(after[2].starts_with('-'), "{}", after[2]);
        for _ in 0..100 {
            on_key(key(KeyCode::Right), &mut screen);
        }
        assert!(screen.across == screen.overflow && screen.overflow > PAN);
        on_key(key(KeyCode::Left), &mut screen);
        assert_eq!(screen.across, screen.overflow - PAN);
    }

    #[test]
    fn watching_every_namespace_shows_which_each_row_is_in() {
        let choice = |several_netns| Choice {
            several_netns,
            ..Choice::default()
        };
        assert_eq!(Column::choose(choice(true))[0], Column::Netns);
        assert!(!Column::choose(choice(false)).contains(&Column::Netns));
        let stream = super::super::stream::Form::new(false, true);
        assert_eq!(stream.columns[0], Column::Netns);
    }

    /// The sample's two ends of one connection, with `received` bytes at curl's end and
    /// `acked` at nginx's.
    fn counted(received: u64, acked: u64) -> Vec<crate::model::SocketEntry> {
        let mut entries = FakeSource::sample().entries;
        let with = |received, acked| {
            Some(Box::new(crate::model::TcpInfo {
                counters: Some(crate::model::TcpCounters {
                    bytes_received: Some(received),
                    bytes_acked: Some(acked),
                    ..Default::default()
                }),
                ..Default::default()
            }))
        };
        entries[3].tcp_info = with(0, acked);
        entries[4].tcp_info = with(received, 0);
        entries
    }

    #[test]
    fn with_tcp_info_the_view_shows_rates_and_program_totals_and_r_sorts_by_rate() {
        let tcp_info = Choice {
            tcp_info: true,
            rates: true,
            ..Choice::default()
        };
        let mut screen = Screen {
            tcp_info: true,
            columns: Column::choose(tcp_info),
            ..screen()
        };
        let start = UNIX_EPOCH + Duration::from_secs(SAMPLE_TIME);
        let by_proto = |a: &_, b: &_| compare(a, b, SortKey::Proto, false);
        screen.tracker = Tracker::default();
        screen.tracker.update_at(counted(0, 0), by_proto, start);
        let later = start + Duration::from_secs(2);
        screen
            .tracker
            .update_at(counted(4 << 20, 1 << 20), by_proto, later);
        let text = frame(&mut screen);
        let programs = "by program: curl in 2.0MiB/s out 0B/s · nginx in 0B/s out 512KiB/s";
        assert!(text.contains(programs), "{text}");
        assert!(
            lines(&text)[2].contains("IN/S") && lines(&text)[2].contains("OUT/S"),
            "{text}"
        );
        let key = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE);
        on_key(key, &mut screen);
        let text = frame(&mut screen);
        assert!(
            lines(&text)[3].contains(":51234") && lines(&text)[4].contains(":8080 "),
            "{text}"
        );
        assert!(text.contains("r unsort"), "{text}");
    }

    #[test]
    fn a_page_is_the_rows_shown_so_a_wrapped_note_shortens_it() {
        let mut screen = screen();
        let _ = frame(&mut screen);
        let with_one_line = screen.page;
        // 24 lines: header, table header, the note, the keys.
        assert_eq!(with_one_line, 24 - 4);
        screen.notes = vec!["x".repeat(200)]; // three lines at 80 columns
        let _ = frame(&mut screen);
        assert_eq!(screen.page, with_one_line - 2);
    }
}
