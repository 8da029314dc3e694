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

    /// Columns give up space in this order, least useful first; `None` never shrinks.
    fn shrink_rank(self) -> Option<u8> {
        match self {
            Column::Command => Some(0),
            Column::User => Some(1),
            Column::Process => Some(2),
            Column::Pid => Some(3),
            Column::Remote => Some(4),
            Column::Local => Some(5),
            Column::Proto | Column::State => None,
        }
    }

    /// Narrowest this column may become for the given cell.
    fn min_width(self, text: &str) -> usize {
        match self {
            // Keep the whole port, one character of address and the ellipsis.
            Column::Local | Column::Remote => port_suffix(text).len() + 2,
            Column::Command | Column::User | Column::Process | Column::Pid => 4,
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

/// Column widths that fit `limit`, shrinking the least useful columns first.
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
    let total = widths.iter().sum::<usize>() + GAP * columns.len().saturating_sub(1);
    let mut excess = total.saturating_sub(limit);
    let mut order: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].shrink_rank().is_some())
        .collect();
    order.sort_by_key(|&i| columns[i].shrink_rank());
    for i in order {
        let give = excess.min(widths[i] - floors[i]);
        widths[i] -= give;
        excess -= give;
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
