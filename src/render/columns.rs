//! The table's columns: header, cell text, colour and how each gives way when space is short.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

use owo_colors::{OwoColorize, Style};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::{
    Endpoint, Family, InetSocket, ProcessInfo, Proto, SocketEntry, TcpState, UnixName,
};
use crate::sanitize::sanitize;

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Proto,
    Local,
    Remote,
    State,
    Pid,
    Process,
    User,
    Command,
}

/// Space between two columns.
pub const GAP: usize = 2;

/// What stands in for a missing peer, state or owner.
const NONE: &str = "-";

impl Column {
    pub fn for_view(wide: bool) -> Vec<Column> {
        use Column::*;
        let mut columns = vec![Proto, Local, Remote, State, Pid, Process, User];
        if wide {
            columns.push(Command);
        }
        columns
    }

    pub fn header(self) -> &'static str {
        match self {
            Column::Proto => "PROTO",
            Column::Local => "LOCAL",
            Column::Remote => "REMOTE",
            Column::State => "STATE",
            Column::Pid => "PID",
            Column::Process => "PROCESS",
            Column::User => "USER",
            Column::Command => "COMMAND",
        }
    }

    /// Appends the plain, terminal-safe cell text to `buf`.
    pub fn write_text(self, entry: &SocketEntry, buf: &mut String) {
        let owners = &entry.processes;
        match self {
            Column::Proto => {
                buf.push_str(proto_name(entry));
                buf.push_str(family_digit(entry));
            }
            Column::Local => match &entry.endpoint {
                Endpoint::Inet(inet) => push(buf, inet.local),
                Endpoint::Unix(unix) => unix_name(&unix.name, buf),
            },
            Column::Remote => match &entry.endpoint {
                Endpoint::Inet(InetSocket {
                    remote: Some(addr), ..
                }) => push(buf, addr),
                _ => buf.push_str(NONE),
            },
            Column::State => buf.push_str(entry.state().map_or(NONE, state_label)),
            Column::Pid => join_owners(owners, buf, |p, b| push(b, p.pid)),
            Column::Process => join_owners(owners, buf, |p, b| b.push_str(&sanitize(&p.name))),
            Column::User => join_owners(owners, buf, user_label),
            Column::Command => join_owners(owners, buf, |p, b| b.push_str(&sanitize(&p.cmdline))),
        }
    }

    /// Narrowest this column may become for the given cell.
    fn min_width(self, text: &str) -> usize {
        match self {
            // Keep the whole port, one character of address and the ellipsis.
            Column::Local | Column::Remote => port_suffix(text).len() + 2,
            // Keep the first pid whole: a cut pid names another process.
            Column::Pid => text.split(',').next().map_or(0, str::len) + 1,
            Column::Command | Column::User | Column::Process => 4,
            Column::Proto | Column::State => display_width(text),
        }
    }

    /// Cuts `text` to `width`: addresses lose host characters, never their port.
    pub fn truncate(self, text: &str, width: usize) -> Cow<'_, str> {
        if display_width(text) <= width {
            return Cow::Borrowed(text);
        }
        Cow::Owned(match self {
            Column::Local | Column::Remote => {
                let suffix = port_suffix(text);
                let host = &text[..text.len() - suffix.len()];
                format!(
                    "{}…{suffix}",
                    cut(host, width.saturating_sub(suffix.len() + 1))
                )
            }
            Column::Pid => format!("{}…", whole_pids(text, width.saturating_sub(1))),
            _ => format!("{}…", cut(text, width.saturating_sub(1))),
        })
    }

    /// Appends already-truncated cell text to `buf`, coloured.
    pub fn paint(self, entry: &SocketEntry, text: &str, buf: &mut String) {
        match self {
            _ if text == NONE => push(buf, text.dimmed()),
            Column::Local => {
                let suffix = port_suffix(text);
                buf.push_str(&text[..text.len() - suffix.len()]);
                push(buf, suffix.cyan().bold());
            }
            Column::State => match entry.state().map(state_class) {
                Some(StateClass::Listening) => push(buf, text.green().bold()),
                // A `Style` ends with a full reset, as the bold ones do, so every cell ends alike.
                Some(StateClass::Open) => push(buf, text.style(Style::new().blue())),
                Some(StateClass::Closing) => push(buf, text.style(Style::new().yellow())),
                None => buf.push_str(text),
            },
            Column::Process => push(buf, text.bold()),
            _ => buf.push_str(text),
        }
    }

    /// Appends the finished cell (text, cut to `width`, coloured if asked) to `buf`; returns its
    /// display width. `scratch` is reused between calls to spare an allocation per cell.
    pub fn write_cell(
        self,
        entry: &SocketEntry,
        width: usize,
        color: bool,
        scratch: &mut String,
        buf: &mut String,
    ) -> usize {
        scratch.clear();
        self.write_text(entry, scratch);
        let text = self.truncate(scratch, width);
        if color {
            self.paint(entry, &text, buf);
        } else {
            buf.push_str(&text);
        }
        display_width(&text)
    }
}

/// How the table makes room, least useful text first. Ports and states are never touched.
const FIT_STEPS: [(Column, Step); 6] = [
    (Column::User, Step::Shrink),
    (Column::User, Step::Hide),
    (Column::Process, Step::Shrink),
    (Column::Pid, Step::Shrink),
    (Column::Remote, Step::Shrink),
    (Column::Local, Step::Shrink),
];

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Cut cells down to the column's floor.
    Shrink,
    /// Drop the column.
    Hide,
}

/// Column widths that fit `limit`; 0 hides a column. Formats every cell once, keeping none.
pub fn fit_widths(columns: &[Column], entries: &[SocketEntry], limit: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header().width()).collect();
    let mut floors = widths.clone();
    let mut text = String::new();
    for entry in entries {
        for (i, column) in columns.iter().enumerate() {
            text.clear();
            column.write_text(entry, &mut text);
            let width = display_width(&text);
            widths[i] = widths[i].max(width);
            floors[i] = floors[i].max(column.min_width(&text).min(width));
        }
    }
    let Some(limit) = limit else { return widths };
    let total = |widths: &[usize]| {
        let shown: Vec<_> = widths.iter().filter(|&&w| w > 0).collect();
        shown.iter().copied().sum::<usize>() + GAP * shown.len().saturating_sub(1)
    };
    for (column, step) in FIT_STEPS {
        let excess = total(&widths).saturating_sub(limit);
        let Some(i) = columns.iter().position(|&c| c == column) else {
            continue;
        };
        if excess == 0 {
            break;
        }
        widths[i] = match step {
            Step::Shrink => widths[i] - excess.min(widths[i] - floors[i]),
            Step::Hide => 0,
        };
    }
    widths
}

fn proto_name(entry: &SocketEntry) -> &'static str {
    match entry.proto() {
        Some(Proto::Tcp) => "tcp",
        Some(Proto::Udp) => "udp",
        None => "unix",
    }
}

fn family_digit(entry: &SocketEntry) -> &'static str {
    if entry.family() == Some(Family::Ipv6) {
        "6"
    } else {
        ""
    }
}

/// A path as it is, an abstract name as `@name` (as ss shows it), `-` when unbound.
fn unix_name(name: &UnixName, buf: &mut String) {
    match name {
        UnixName::Path(path) => buf.push_str(&sanitize(path)),
        UnixName::Abstract(name) => {
            buf.push('@');
            buf.push_str(&sanitize(name));
        }
        UnixName::Unnamed => buf.push_str(NONE),
    }
}

fn state_label(state: TcpState) -> &'static str {
    match state {
        TcpState::Listen => "LISTEN",
        TcpState::SynSent => "SYN-SENT",
        TcpState::SynRecv => "SYN-RECV",
        TcpState::Established => "ESTABLISHED",
        TcpState::FinWait1 => "FIN-WAIT-1",
        TcpState::FinWait2 => "FIN-WAIT-2",
        TcpState::CloseWait => "CLOSE-WAIT",
        TcpState::Closing => "CLOSING",
        TcpState::LastAck => "LAST-ACK",
        TcpState::TimeWait => "TIME-WAIT",
        TcpState::Close => "CLOSE",
        TcpState::Unknown => "UNKNOWN",
    }
}

enum StateClass {
    Listening,
    Open,
    Closing,
}

fn state_class(state: TcpState) -> StateClass {
    match state {
        TcpState::Listen => StateClass::Listening,
        TcpState::SynSent | TcpState::SynRecv | TcpState::Established | TcpState::Unknown => {
            StateClass::Open
        }
        _ => StateClass::Closing,
    }
}

fn user_label(process: &ProcessInfo, buf: &mut String) {
    match (&process.user, process.uid) {
        (Some(name), _) => buf.push_str(&sanitize(name)),
        (None, Some(uid)) => push(buf, uid),
        (None, None) => buf.push_str(NONE),
    }
}

/// Appends `value` formatted; formatting into a String cannot fail.
fn push(buf: &mut String, value: impl std::fmt::Display) {
    let _ = write!(buf, "{value}");
}

/// Appends one field of every owner, comma-separated, dropping repeats (forked workers share a
/// name); `-` when there is no owner.
fn join_owners(
    owners: &[Arc<ProcessInfo>],
    buf: &mut String,
    field: impl Fn(&ProcessInfo, &mut String),
) {
    let start = buf.len();
    let mut part = String::new();
    for owner in owners {
        part.clear();
        field(owner, &mut part);
        let joined = &buf[start..];
        if !joined.split(',').any(|seen| seen == part) {
            if buf.len() > start {
                buf.push(',');
            }
            buf.push_str(&part);
        }
    }
    if buf.len() == start {
        buf.push_str(NONE);
    }
}

/// `:8080` of `[::1]:8080`; empty when the text is not an address.
fn port_suffix(text: &str) -> &str {
    match text.rfind(':') {
        Some(colon) if text[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &text[colon..],
        _ => "",
    }
}

/// The longest run of whole pids from a `1200,1201,...` list that fits `width`.
fn whole_pids(text: &str, width: usize) -> &str {
    let mut end = 0;
    for (at, _) in text.match_indices(',').chain([(text.len(), "")]) {
        if at > width {
            break;
        }
        end = at;
    }
    &text[..end]
}

/// Terminal columns `text` takes. Nearly every cell is ASCII, where that is its length: the
/// general count showed up in profiles of large tables.
pub fn display_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.width()
    }
}

/// The longest prefix of `text` at most `width` columns wide.
fn cut(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > width {
            return &text[..at];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Column {
        /// The plain cell text, as a new String.
        fn text(self, entry: &SocketEntry) -> String {
            let mut text = String::new();
            self.write_text(entry, &mut text);
            text
        }
    }

    #[test]
    fn addresses_keep_their_port() {
        assert_eq!(Column::Local.truncate("127.0.0.1:51234", 10), "127…:51234");
        assert_eq!(
            Column::Remote.truncate("[2001:db8::99]:60022", 12),
            "[2001…:60022"
        );
        assert_eq!(Column::Local.truncate("[::1]:80", 8), "[::1]:80");
    }

    #[test]
    fn pids_are_never_cut_mid_number() {
        assert_eq!(Column::Pid.truncate("1200,1201,1202", 11), "1200,1201…");
        assert_eq!(Column::Pid.truncate("1200,1201,1202", 9), "1200…");
        assert_eq!(Column::Pid.truncate("1200,1201", 5), "1200…");
    }

    #[test]
    fn text_is_cut_by_display_width() {
        assert_eq!(Column::Process.truncate("postgres", 5), "post…");
        assert_eq!(Column::Process.truncate("名前名前", 5), "名前…");
    }

    #[test]
    fn fitting_hides_user_before_cutting_addresses() {
        let columns = Column::for_view(false);
        let curl = crate::source::FakeSource::sample().entries.remove(4);
        assert_eq!(Column::User.text(&curl), "alice");
        let entries = std::slice::from_ref(&curl);
        let natural = fit_widths(&columns, entries, None);
        assert_eq!(natural, [5, 15, 14, 11, 4, 7, 5]);
        let fitted = fit_widths(&columns, entries, Some(70));
        assert_eq!(fitted, [5, 15, 14, 11, 4, 7, 0]);
        let tight = fit_widths(&columns, entries, Some(60));
        assert_eq!(tight[..4], [5, 15, 8, 11]);
        assert_eq!(tight[6], 0);
    }

    #[test]
    fn owners_are_joined_without_repeats() {
        let sample = crate::source::FakeSource::sample().entries;
        assert_eq!(Column::Pid.text(&sample[0]), "1200,1201");
        assert_eq!(Column::Process.text(&sample[0]), "nginx");
        assert_eq!(Column::User.text(&sample[0]), "root,www-data");
        assert_eq!(Column::Pid.text(&sample[5]), "-");
    }
}
