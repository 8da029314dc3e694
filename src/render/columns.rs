//! The table's columns: header, cell text, colour and how each gives way when space is short.

use owo_colors::OwoColorize;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::{ProcessInfo, SocketEntry, TcpState};
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

    /// Plain, terminal-safe cell text.
    pub fn text(self, entry: &SocketEntry) -> String {
        let owners = &entry.processes;
        match self {
            Column::Proto => format!("{}{}", proto_name(entry), family_digit(entry)),
            Column::Local => entry.local.to_string(),
            Column::Remote => entry
                .remote
                .map_or_else(|| NONE.into(), |addr| addr.to_string()),
            Column::State => entry.state.map_or_else(|| NONE.into(), state_label),
            Column::Pid => join_owners(owners, |p| p.pid.to_string()),
            Column::Process => join_owners(owners, |p| sanitize(&p.name).into_owned()),
            Column::User => join_owners(owners, user_label),
            Column::Command => join_owners(owners, |p| sanitize(&p.cmdline).into_owned()),
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
            Column::Proto | Column::State => text.width(),
        }
    }

    /// Cuts `text` to `width`: addresses lose host characters, never their port.
    pub fn truncate(self, text: &str, width: usize) -> String {
        if text.width() <= width {
            return text.to_owned();
        }
        match self {
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
        }
    }

    /// Colours already-truncated cell text.
    pub fn paint(self, entry: &SocketEntry, text: &str) -> String {
        if text == NONE {
            return text.dimmed().to_string();
        }
        match self {
            Column::Local => {
                let suffix = port_suffix(text);
                let host = &text[..text.len() - suffix.len()];
                format!("{host}{}", suffix.cyan().bold())
            }
            Column::State => match entry.state.map(state_class) {
                Some(StateClass::Listening) => text.green().bold().to_string(),
                Some(StateClass::Open) => text.blue().to_string(),
                Some(StateClass::Closing) => text.yellow().to_string(),
                None => text.to_owned(),
            },
            Column::Process => text.bold().to_string(),
            _ => text.to_owned(),
        }
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

/// Column widths that fit `limit`; 0 hides a column.
pub fn fit_widths(columns: &[Column], cells: &[Vec<String>], limit: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header().width()).collect();
    let mut floors = widths.clone();
    for row in cells {
        for (i, (column, text)) in columns.iter().zip(row).enumerate() {
            widths[i] = widths[i].max(text.width());
            floors[i] = floors[i].max(column.min_width(text).min(text.width()));
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
    match entry.proto {
        crate::model::Proto::Tcp => "tcp",
        crate::model::Proto::Udp => "udp",
    }
}

fn family_digit(entry: &SocketEntry) -> &'static str {
    if entry.local.is_ipv6() { "6" } else { "" }
}

fn state_label(state: TcpState) -> String {
    state.name().to_ascii_uppercase()
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

fn user_label(process: &ProcessInfo) -> String {
    match (&process.user, process.uid) {
        (Some(name), _) => sanitize(name).into_owned(),
        (None, Some(uid)) => uid.to_string(),
        (None, None) => NONE.into(),
    }
}

/// Joins one field of every owner, dropping repeats (forked workers share a name).
fn join_owners(
    owners: &[std::sync::Arc<ProcessInfo>],
    field: impl Fn(&ProcessInfo) -> String,
) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(owners.len());
    for owner in owners {
        let part = field(owner);
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        NONE.into()
    } else {
        parts.join(",")
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
        let row: Vec<String> = [
            "tcp",
            "127.0.0.1:8080",
            "127.0.0.1:51234",
            "ESTABLISHED",
            "1201",
            "nginx",
            "www-data",
        ]
        .map(String::from)
        .to_vec();
        let natural = fit_widths(&columns, std::slice::from_ref(&row), None);
        assert_eq!(natural, [5, 14, 15, 11, 4, 7, 8]);
        let fitted = fit_widths(&columns, std::slice::from_ref(&row), Some(70));
        assert_eq!(fitted, [5, 14, 15, 11, 4, 7, 0]);
        let tight = fit_widths(&columns, std::slice::from_ref(&row), Some(60));
        assert_eq!(tight[..4], [5, 14, 9, 11]);
        assert_eq!(tight[6], 0);
    }
}
