//! The table's columns and lines: header, cell text and colour. How they give way when space is
//! short is `fit.rs`; text widths are `width.rs`.

use std::fmt::Write;
use std::time::SystemTime;

use owo_colors::{OwoColorize, Style};

use super::tcp::{self, Figure};
use super::width::port_suffix;

use crate::model::{
    Endpoint, Exposure, Forward, InetSocket, Netns, ProcessInfo, Reach, SocketEntry, State,
    Throughput, UnixName, UnixSocket,
};
use crate::sanitize::sanitize;

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Netns,
    Proto,
    Local,
    Remote,
    State,
    RecvQ,
    SendQ,
    Service,
    Exposure,
    /// What the host's firewall does with a connection from another host (`--firewall`).
    Firewall,
    Pid,
    Process,
    User,
    Age,
    Parent,
    Where,
    Command,
    /// TCP internals (`--tcp-info`, `-w`): round-trip time with its variance.
    Rtt,
    Retrans,
    /// Bytes received, and bytes the peer acknowledged.
    BytesIn,
    BytesOut,
    /// Since data last moved either way.
    Idle,
    /// Held back by the peer's window or our send buffer.
    Limit,
    Timer,
    /// The watch's rates, from the counters' deltas between refreshes.
    RateIn,
    RateOut,
}

/// What `--tcp-info` adds after STATE; the live view puts the rates first.
const TCP_INFO: [Column; 7] = [
    Column::Rtt,
    Column::Retrans,
    Column::BytesIn,
    Column::BytesOut,
    Column::Idle,
    Column::Limit,
    Column::Timer,
];

/// A change line: `+ tcp 127.0.0.1:8080 - LISTEN 4121 python3`.
const STREAM: [Column; 6] = [
    Column::Proto,
    Column::Local,
    Column::Remote,
    Column::State,
    Column::Pid,
    Column::Process,
];

/// Space between two columns.
pub const GAP: usize = 2;

/// What stands in for a missing peer, state or owner.
pub const NONE: &str = "-";

/// One line of the table: a socket and the owner this line shows. A socket's first line shows
/// the socket; under `-w` each further owner gets a line of its own, socket cells left blank.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub entry: &'a SocketEntry,
    /// Index into `entry.processes`.
    pub owner: usize,
    /// Owners shown on no line (the `+N` after the pid).
    pub more: usize,
    /// The snapshot's time in seconds since the Unix epoch, for ages.
    pub now: Option<u64>,
    /// Under `-w`: a Unix socket's REMOTE names its peer's holder too.
    pub wide: bool,
    /// The watch's rates for this socket, where it measured them.
    pub rate: Option<Throughput>,
}

impl<'a> Line<'a> {
    /// The lines of one socket: its first owner with `+N` for the rest, or under `-w` every
    /// owner.
    pub fn of(
        entry: &'a SocketEntry,
        wide: bool,
        now: Option<u64>,
    ) -> impl Iterator<Item = Line<'a>> {
        let owners = entry.processes.len();
        let (lines, more) = if wide {
            (owners.max(1), 0)
        } else {
            (1, owners.saturating_sub(1))
        };
        (0..lines).map(move |owner| Line {
            entry,
            owner,
            more,
            now,
            wide,
            rate: None,
        })
    }

    fn process(&self) -> Option<&'a ProcessInfo> {
        self.entry
            .processes
            .get(self.owner)
            .map(|process| &**process)
    }
}

/// What decides the columns: the view and the flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice<'a> {
    /// A change line of `--watch` into a pipe: compact, no user or exposure.
    pub stream: bool,
    pub wide: bool,
    pub listening: bool,
    /// Columns asked for by name; empty for the view's own.
    pub explicit: &'a [Column],
    /// The rows may come from several network namespaces: NETNS says which each is in.
    pub several_netns: bool,
    /// `--firewall`: FIREWALL follows EXPOSURE (or STATE, where EXPOSURE is not shown).
    pub firewall: bool,
    /// TCP internals were asked for (`--tcp-info`, `-w`).
    pub tcp_info: bool,
    /// The live view: with `tcp_info`, each connection's rates too.
    pub rates: bool,
}

impl Column {
    /// The one column chooser, for the table, the live view and the change stream alike.
    pub fn choose(choice: Choice) -> Vec<Column> {
        let mut columns = match choice {
            Choice { stream: true, .. } => STREAM.to_vec(),
            Choice { explicit: [], .. } => Column::for_view(choice.wide, choice.listening),
            Choice { explicit, .. } => explicit.to_vec(),
        };
        if choice.tcp_info && choice.explicit.is_empty() && !choice.stream {
            // After the kernel's other figures: STATE, or the queues under -w.
            let at = columns
                .iter()
                .rposition(|&c| matches!(c, Column::State | Column::RecvQ | Column::SendQ))
                .map_or(0, |i| i + 1);
            let rates = [Column::RateIn, Column::RateOut].into_iter();
            let added = rates.filter(|_| choice.rates).chain(TCP_INFO);
            columns.splice(at..at, added);
        }
        if choice.several_netns && !columns.contains(&Column::Netns) {
            columns.insert(0, Column::Netns);
        }
        if choice.firewall && !choice.stream && !columns.contains(&Column::Firewall) {
            let after = (columns.iter().position(|&c| c == Column::Exposure))
                .or_else(|| columns.iter().position(|&c| c == Column::State));
            columns.insert(after.map_or(columns.len(), |at| at + 1), Column::Firewall);
        }
        columns
    }

    /// The default columns; `-l` adds who can reach each listener, `-w` everything.
    fn for_view(wide: bool, listening: bool) -> Vec<Column> {
        use Column::*;
        if wide {
            vec![
                Proto, Local, Remote, State, RecvQ, SendQ, Service, Exposure, Pid, Process, User,
                Age, Parent, Where, Command,
            ]
        } else if listening {
            vec![Proto, Local, State, Exposure, Pid, Process, User]
        } else {
            vec![Proto, Local, Remote, State, Pid, Process, User]
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            Column::Netns => "NETNS",
            Column::Proto => "PROTO",
            Column::Local => "LOCAL",
            Column::Remote => "REMOTE",
            Column::State => "STATE",
            Column::RecvQ => "RECV-Q",
            Column::SendQ => "SEND-Q",
            Column::Service => "SERVICE",
            Column::Exposure => "EXPOSURE",
            Column::Firewall => "FIREWALL",
            Column::Age => "AGE",
            Column::Parent => "PARENT",
            Column::Where => "UNIT/CONTAINER",
            Column::Pid => "PID",
            Column::Process => "PROCESS",
            Column::User => "USER",
            Column::Command => "COMMAND",
            Column::Rtt => "RTT",
            Column::Retrans => "RETRANS",
            Column::BytesIn => "IN",
            Column::BytesOut => "OUT",
            Column::Idle => "IDLE",
            Column::Limit => "LIMITED",
            Column::Timer => "TIMER",
            Column::RateIn => "IN/S",
            Column::RateOut => "OUT/S",
        }
    }

    /// The TCP figure this column shows, if it is one.
    fn figure(self) -> Option<Figure> {
        Some(match self {
            Column::Rtt => Figure::Rtt,
            Column::Retrans => Figure::Retrans,
            Column::BytesIn => Figure::BytesIn,
            Column::BytesOut => Figure::BytesOut,
            Column::Idle => Figure::Idle,
            Column::Limit => Figure::Limit,
            Column::Timer => Figure::Timer,
            Column::RateIn => Figure::RateIn,
            Column::RateOut => Figure::RateOut,
            _ => return None,
        })
    }

    /// A column about the socket, blank on an owner's continuation line.
    fn is_socket(self) -> bool {
        !matches!(
            self,
            Column::Pid
                | Column::Process
                | Column::User
                | Column::Age
                | Column::Parent
                | Column::Where
                | Column::Command
        )
    }

    /// Appends the plain, terminal-safe cell text to `buf`.
    pub fn write_text(self, line: &Line, buf: &mut String) {
        let entry = line.entry;
        if line.owner > 0 && self.is_socket() {
            return;
        }
        match self {
            Column::Netns => push_netns(&entry.netns, buf),
            Column::Proto => buf.push_str(entry.kind()),
            Column::Local => match &entry.endpoint {
                Endpoint::Inet(inet) => push_local(inet, buf),
                Endpoint::Unix(unix) => push_unix_name(&unix.name, entry.inode, buf),
            },
            Column::Remote => match &entry.endpoint {
                Endpoint::Inet(InetSocket {
                    remote: Some(addr), ..
                }) => push(buf, addr),
                Endpoint::Unix(unix) => push_unix_peer(unix, line.wide, buf),
                _ => buf.push_str(NONE),
            },
            Column::State => buf.push_str(match (entry.state(), entry.claim) {
                (Some(state), _) => state.label(),
                (None, Some(_)) => "NAT",
                (None, None) => NONE,
            }),
            Column::Service => buf.push_str(entry.service.as_deref().unwrap_or(NONE)),
            Column::RecvQ => push_queue(entry.queues.map(|q| q.recv), buf),
            Column::Exposure => buf.push_str(entry.exposure().map_or(NONE, Exposure::name)),
            Column::Firewall => push_reach(entry, line.wide, buf),
            Column::SendQ => push_queue(entry.queues.map(|q| q.send), buf),
            _ => match self.figure() {
                Some(figure) => tcp::write_text(figure, entry, line.rate, buf),
                None => owner_text(self, line, buf),
            },
        }
    }

    /// Appends already-cut cell text to `buf`, coloured.
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
            Column::Firewall => paint_reach(entry.firewall.as_ref(), text, buf),
            Column::RecvQ if backlog_full(entry) => push(buf, text.red().bold()),
            _ => match self.figure() {
                Some(figure) => tcp::paint(figure, entry, text, buf),
                None => buf.push_str(text),
            },
        }
    }
}

/// A NAT row's PROCESS: where the rule sends the port (`→ 172.17.0.2:8080 (docker:web)`).
fn push_claim(entry: &SocketEntry, buf: &mut String) {
    let Some(Reach::Forwarded { to, target, .. }) = &entry.firewall else {
        return buf.push_str(NONE);
    };
    push(buf, format_args!("→ {to}"));
    if let Some(target) = target {
        push(buf, format_args!(" ({})", sanitize(target)));
    }
}

/// FIREWALL: the answer's name, or under `-w` all of it; a NAT rule whose target nothing
/// holds says it is stale.
fn push_reach(entry: &SocketEntry, wide: bool, buf: &mut String) {
    let stale = entry.claim.is_some_and(|claim| claim.stale);
    match (&entry.firewall, wide, stale) {
        (None, _, _) => buf.push_str(NONE),
        (Some(_), false, true) => buf.push_str("stale"),
        (Some(reach), false, false) => buf.push_str(reach.name()),
        (Some(reach), true, _) => {
            buf.push_str(&sanitize(&reach.describe()));
            if stale {
                buf.push_str(", which no running container or namespace holds: a stale rule");
            }
        }
    }
}

/// Open in bold (another host gets in), unknown in red (nobody can say), the rest plain.
fn paint_reach(reach: Option<&Reach>, text: &str, buf: &mut String) {
    match reach {
        Some(Reach::Open { .. } | Reach::SomeSources { .. } | Reach::Forwarded { .. }) => {
            push(buf, text.bold())
        }
        Some(Reach::Unknown { .. }) => push(buf, text.red().bold()),
        _ => buf.push_str(text),
    }
}

/// The owner columns of one line: that owner's pid (with `+N` for owners on no line), name,
/// user and command line; `-` when the socket has no visible owner.
fn owner_text(column: Column, line: &Line, buf: &mut String) {
    let Some(process) = line.process() else {
        match (column, &line.entry.user, &line.entry.kernel) {
            (Column::Process, _, Some(kernel)) => buf.push_str(&sanitize(&kernel.label())),
            (Column::Process, _, None) if line.entry.claim.is_some() => push_claim(line.entry, buf),
            (Column::User, Some(user), _) => socket_user(user, buf),
            _ => buf.push_str(NONE),
        }
        return;
    };
    match column {
        Column::Pid => {
            push(buf, process.pid);
            if line.more > 0 {
                push(buf, format_args!("+{}", line.more));
            }
        }
        Column::Process => buf.push_str(&sanitize(process.program())),
        Column::User => user_label(process, buf),
        Column::Age => match (process.started, line.now) {
            (Some(started), Some(now)) => push_age(now.saturating_sub(started), buf),
            _ => buf.push_str(NONE),
        },
        Column::Parent => match (process.ppid, &process.parent) {
            (Some(ppid), Some(name)) => push(buf, format_args!("{ppid} {}", sanitize(name))),
            (Some(ppid), None) => push(buf, ppid),
            _ => buf.push_str(NONE),
        },
        Column::Where => push_where(process, buf),
        _ => buf.push_str(&sanitize(&process.cmdline)),
    }
}

/// `3d4h`, `5h12m`, `4m10s`, `12s`: the two largest units, as people read an uptime.
/// Seconds since the Unix epoch, as the kernel and /proc count start times; `None` before it.
pub fn epoch_seconds(at: SystemTime) -> Option<u64> {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|since| since.as_secs())
}

pub fn push_age(seconds: u64, buf: &mut String) {
    let parts = [
        (seconds / 86_400, 'd'),
        (seconds / 3_600 % 24, 'h'),
        (seconds / 60 % 60, 'm'),
        (seconds % 60, 's'),
    ];
    let first = parts.iter().position(|&(n, _)| n > 0).unwrap_or(3);
    for &(n, unit) in &parts[first..(first + 2).min(parts.len())] {
        push(buf, format_args!("{n}{unit}"));
    }
}

/// `→ web (httpd, pid 4121) 172.17.0.2:8080`, with what is known of the far end.
fn push_forward(forward: &Forward, buf: &mut String) {
    buf.push_str("→ ");
    if let Some(container) = &forward.container {
        push(buf, format_args!("{} ", sanitize(container)));
    }
    if let Some(listener) = &forward.listener {
        let name = sanitize(&listener.name);
        push(buf, format_args!("({name}, pid {}) ", listener.pid));
    }
    push(buf, format_args!("{}", forward.to));
}

/// The container (`docker:web`, `docker:3f4e5d6c7b8a`) or else the unit; for a port forwarder,
/// where it forwards (`docker-proxy → web (httpd, pid 4121) 172.17.0.2:8080`).
pub fn push_where(process: &ProcessInfo, buf: &mut String) {
    if let Some(forward) = &process.forwards {
        push_forward(forward, buf);
    } else if let Some(container) = &process.container {
        buf.push_str(&sanitize(&container.label()));
    } else if let Some(unit) = &process.unit {
        buf.push_str(&sanitize(unit));
    } else {
        buf.push_str(NONE);
    }
}

/// A Unix socket's name; an unbound one's inode as ss writes it, `* 4321`, so a peer's REMOTE
/// finds its row.
fn push_unix_name(name: &UnixName, inode: u64, buf: &mut String) {
    match name {
        UnixName::Unnamed if inode != 0 => push(buf, format_args!("* {inode}")),
        name => buf.push_str(&sanitize(&name.to_string())),
    }
}

/// A Unix socket's peer, named as its own row's LOCAL names it (`/run/php.sock`, `* 4321`);
/// under `-w` with its holder, as PID shows holders: `* 4321 (nginx 1201+1)`.
fn push_unix_peer(unix: &UnixSocket, wide: bool, buf: &mut String) {
    let name = unix.peer_name.as_ref().unwrap_or(&UnixName::Unnamed);
    push_unix_name(name, unix.peer.unwrap_or(0), buf);
    let Some(owner) = unix.peer_owners.first().filter(|_| wide) else {
        return;
    };
    push(
        buf,
        format_args!(" ({} {}", sanitize(owner.program()), owner.pid),
    );
    if unix.peer_owners.len() > 1 {
        push(buf, format_args!("+{}", unix.peer_owners.len() - 1));
    }
    buf.push(')');
}

fn push_netns(netns: &Netns, buf: &mut String) {
    buf.push_str(&sanitize(&netns.label()));
}

enum StateClass {
    Listening,
    Open,
    Closing,
}

fn state_class(state: State) -> StateClass {
    match state {
        State::Listen | State::Bound | State::Unconn => StateClass::Listening,
        State::SynSent | State::SynRecv | State::Established | State::Unknown => StateClass::Open,
        _ => StateClass::Closing,
    }
}

/// The socket's own user, where no holder is visible: in parentheses, so it is not read as a
/// process's user.
fn socket_user(user: &str, buf: &mut String) {
    push(buf, format_args!("({})", sanitize(user)));
}

fn user_label(process: &ProcessInfo, buf: &mut String) {
    match (&process.user, process.uid) {
        (Some(name), _) => buf.push_str(&sanitize(name)),
        (None, Some(uid)) => push(buf, uid),
        (None, None) => buf.push_str(NONE),
    }
}

fn push_queue(size: Option<u32>, buf: &mut String) {
    match size {
        Some(size) => push(buf, size),
        None => buf.push_str(NONE),
    }
}

/// A listener whose accept queue has reached its backlog: new connections are being dropped.
pub fn backlog_full(entry: &SocketEntry) -> bool {
    let listening = entry.state() == Some(State::Listen);
    listening && entry.queues.is_some_and(|q| q.send > 0 && q.recv >= q.send)
}

/// The local address with its device, as ss writes it: `0.0.0.0%lo:7071`, `[fe80::1%lo]:7040`.
fn push_local(inet: &InetSocket, buf: &mut String) {
    let Some(device) = &inet.interface else {
        push(buf, inet.local);
        return;
    };
    let device = sanitize(device);
    match inet.local {
        std::net::SocketAddr::V4(v4) => {
            push(buf, format_args!("{}%{device}:{}", v4.ip(), v4.port()))
        }
        std::net::SocketAddr::V6(v6) => {
            push(buf, format_args!("[{}%{device}]:{}", v6.ip(), v6.port()))
        }
    }
}

/// Appends `value` formatted; formatting into a String cannot fail.
pub(super) fn push(buf: &mut String, value: impl std::fmt::Display) {
    let _ = write!(buf, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FakeSource;

    fn texts(entry: &SocketEntry, every_owner: bool, column: Column) -> Vec<String> {
        let lines = Line::of(entry, every_owner, None).map(|line| {
            let mut text = String::new();
            column.write_text(&line, &mut text);
            text
        });
        lines.collect()
    }

    #[test]
    fn each_owner_keeps_its_own_pid_name_and_user() {
        let nginx = &FakeSource::sample().entries[0];
        assert_eq!(texts(nginx, false, Column::Pid), ["1200+1"]);
        assert_eq!(texts(nginx, false, Column::User), ["root"]);
        assert_eq!(texts(nginx, true, Column::Pid), ["1200", "1201"]);
        assert_eq!(texts(nginx, true, Column::User), ["root", "www-data"]);
        assert_eq!(texts(nginx, true, Column::Local), ["0.0.0.0:8080", ""]);
    }

    #[test]
    fn a_forwarder_names_what_is_known_of_its_far_end() {
        let mut forward = Forward {
            container: Some("web\x1b[2J".into()),
            to: "172.17.0.2:8080".parse().unwrap(),
            listener: Some(crate::model::Listener {
                pid: 4121,
                name: "httpd".into(),
            }),
        };
        let render = |forward: &Forward| {
            let mut buf = String::new();
            push_forward(forward, &mut buf);
            buf
        };
        assert_eq!(
            render(&forward),
            "→ web\\x1b[2J (httpd, pid 4121) 172.17.0.2:8080"
        );
        (forward.container, forward.listener) = (None, None);
        assert_eq!(render(&forward), "→ 172.17.0.2:8080");
    }

    #[test]
    fn a_socket_without_owner_has_one_line_of_dashes() {
        let time_wait = &FakeSource::sample().entries[5];
        for every_owner in [false, true] {
            assert_eq!(texts(time_wait, every_owner, Column::Pid), ["-"]);
            assert_eq!(texts(time_wait, every_owner, Column::Command), ["-"]);
        }
    }

    #[test]
    fn a_kernel_holder_is_the_process_named() {
        let mut socket = FakeSource::sample().entries[5].clone();
        socket.kernel = Some(crate::model::KernelHolder {
            kind: "vxlan".into(),
            device: "vx0".into(),
            detail: "VXLAN id 42".into(),
        });
        assert_eq!(
            texts(&socket, false, Column::Process),
            ["kernel (vx0: VXLAN id 42)"]
        );
        assert_eq!(texts(&socket, false, Column::Pid), ["-"]);
    }

    /// An unbound Unix socket `inode` connected to `peer`, whose holders are `owners`.
    fn pair_end(inode: u64, peer: Option<u64>, owners: &[(u32, &str)]) -> SocketEntry {
        let owners = owners.iter().map(|&(pid, name)| {
            let name = name.into();
            std::sync::Arc::new(ProcessInfo {
                pid,
                name,
                ..ProcessInfo::default()
            })
        });
        let endpoint = Endpoint::Unix(UnixSocket {
            kind: crate::model::UnixType::Stream,
            name: UnixName::Unnamed,
            peer,
            peer_name: None,
            peer_owners: owners.collect(),
            state: Some(State::Established),
        });
        let netns = std::sync::Arc::new(Netns::host(1));
        SocketEntry {
            inode,
            ..SocketEntry::new(endpoint, netns)
        }
    }

    #[test]
    fn an_unbound_unix_peer_is_its_inode_and_under_w_its_holder() {
        let nginx = pair_end(4320, Some(4321), &[(1201, "nginx")]);
        assert_eq!(texts(&nginx, false, Column::Local), ["* 4320"]);
        assert_eq!(texts(&nginx, false, Column::Remote), ["* 4321"]);
        assert_eq!(texts(&nginx, true, Column::Remote), ["* 4321 (nginx 1201)"]);
        let shared = pair_end(7, Some(8), &[(1200, "nginx"), (1201, "x\x1b[2J")]);
        assert_eq!(texts(&shared, true, Column::Remote), ["* 8 (nginx 1200+1)"]);
        let unknown = pair_end(7, Some(8), &[]);
        assert_eq!(texts(&unknown, true, Column::Remote), ["* 8"]);
        let (unconnected, no_inode) = (pair_end(7, None, &[]), pair_end(0, None, &[]));
        assert_eq!(texts(&unconnected, true, Column::Remote), ["-"]);
        assert_eq!(texts(&no_inode, true, Column::Local), ["-"]);
    }

    #[test]
    fn a_named_unix_peer_keeps_its_name_and_gains_its_holder_under_w() {
        let mut client = pair_end(9, Some(10), &[(900, "php-fpm\x1b[2J")]);
        if let Endpoint::Unix(unix) = &mut client.endpoint {
            unix.peer_name = Some(UnixName::Path("/run/php.sock".into()));
        }
        assert_eq!(texts(&client, false, Column::Remote), ["/run/php.sock"]);
        let wide = "/run/php.sock (php-fpm\\x1b[2J 900)";
        assert_eq!(texts(&client, true, Column::Remote), [wide]);
    }

    #[test]
    fn names_with_separators_stay_whole() {
        let mut entry = FakeSource::sample().entries.remove(0);
        let mut first = (*entry.processes[0]).clone();
        first.name = "api,db".into();
        entry.processes[0] = std::sync::Arc::new(first);
        assert_eq!(texts(&entry, true, Column::Process), ["api,db", "nginx"]);
    }
}
