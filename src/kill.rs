//! `ports kill PORT`: free a port the careful way. Only processes that hold the port as a local
//! port (listeners, bound sockets) are signalled, never a client of it; pid 0, pid 1, `ports`
//! and its parent never; a pid reused since the scan never (the start time recorded with the
//! process's fds is checked through a pidfd, which then carries the signal); a container's port
//! forwarder only with `--force`. Then it waits, says
//! what happened to each process, and checks the port again.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::exit::ExitCode;
use crate::filter::PortSpec;
use crate::model::{Netns, ProcessInfo, Proto, SocketEntry, State};
use crate::render::Column;
use crate::sanitize::sanitize;
use crate::source::{HiddenReason, Problem, Query, SocketSource, namespaces_elsewhere};

/// How long to wait for signalled processes to exit.
const WAIT: Duration = Duration::from_secs(3);

/// A process to signal, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    #[serde(flatten)]
    pub process: Arc<ProcessInfo>,
    /// Its start time in clock ticks since boot, as the scan that saw it holding the port read
    /// it: a process that reuses its pid later has another.
    #[serde(skip)]
    pub start: Option<u64>,
    /// The sockets it holds on the port, as `tcp 0.0.0.0:8080 LISTEN`.
    pub sockets: Vec<String>,
}

/// A holder that is not signalled, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub pid: u32,
    pub program: String,
    pub reason: String,
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    Exited,
    StillRunning,
    PermissionDenied,
    /// Gone, or its pid reused, before the signal: not signalled.
    GoneBeforeSignal,
    /// `--dry-run`, or the answer was no.
    NotSignalled,
}

/// The processes `ports kill` works on: their start times, and signals.
pub trait Processes {
    /// The process's start time in clock ticks since boot; `None` when it is gone.
    fn start(&self, pid: u32) -> Option<u64>;
    /// Sends `signal` if `pid` is still the process that started at `start`; the error is the
    /// errno (`EPERM`; `ESRCH` when it is gone or another process has its pid).
    fn signal(&self, pid: u32, start: u64, signal: i32) -> Result<(), i32>;
}

/// The sockets that hold `ports` as a local port: TCP listeners and bound sockets, and UDP
/// sockets. Connections accepted on the port belong to the same servers; clients of the port
/// hold it only as a remote port.
pub fn holds_port(entry: &SocketEntry, ports: &[PortSpec]) -> bool {
    let Some(port) = entry.local_port() else {
        return false;
    };
    let holding = match entry.proto() {
        Some(Proto::Tcp) => matches!(entry.state(), Some(State::Listen | State::Bound)),
        Some(Proto::Udp) => true,
        None => false,
    };
    holding && ports.iter().any(|spec| spec.matches(port, entry.proto()))
}

/// Who to signal and who not, from the sockets holding the port.
pub fn plan(holders: &[&SocketEntry], force: bool) -> (Vec<Target>, Vec<Refusal>) {
    let mut by_pid: BTreeMap<u32, Target> = BTreeMap::new();
    for entry in holders {
        for process in &entry.processes {
            let target = by_pid.entry(process.pid).or_insert_with(|| Target {
                process: Arc::clone(process),
                start: process.start_ticks,
                sockets: Vec::new(),
            });
            target.sockets.push(describe(entry));
        }
    }
    let (mut targets, mut refused) = (Vec::new(), Vec::new());
    for target in by_pid.into_values() {
        match refusal(&target.process, force) {
            Some(reason) => refused.push(Refusal {
                pid: target.process.pid,
                program: target.process.program().to_owned(),
                reason,
            }),
            None => targets.push(target),
        }
    }
    (targets, refused)
}

/// Why a process must not be signalled, if it must not.
fn refusal(process: &ProcessInfo, force: bool) -> Option<String> {
    let pid = process.pid;
    let never = [
        0,
        1,
        std::process::id(),
        std::os::unix::process::parent_id(),
    ];
    if never.contains(&pid) {
        return Some(format!(
            "pid {pid} is never signalled (init, ports itself or its parent)"
        ));
    }
    let forward = process.forwards.as_ref().filter(|_| !force)?;
    let container = forward.container.as_deref().unwrap_or_default();
    Some(format!(
        "it is Docker's forwarder to container {container} ({}): killing it breaks the port, \
         not the service; stop the container with: docker stop {container} (or use --force)",
        forward.to
    ))
}

/// `tcp 0.0.0.0:8080 LISTEN`, as the table shows it.
fn describe(entry: &SocketEntry) -> String {
    let line = crate::render::Line {
        entry,
        owner: 0,
        more: 0,
        now: None,
    };
    let cells = [Column::Proto, Column::Local, Column::State].map(|column| {
        let mut text = String::new();
        column.write_text(&line, &mut text);
        text
    });
    cells.join(" ")
}

/// Signals each target that is still the process the scan saw, then waits up to `wait` for
/// them to exit. A pid whose start time changed was reused: it is never signalled, and neither
/// is one whose start time the scan could not read.
pub fn execute(
    targets: &[Target],
    signal: i32,
    processes: &dyn Processes,
    wait: Duration,
) -> Vec<Fate> {
    let mut fates: Vec<Fate> = targets
        .iter()
        .map(|target| {
            let Some(start) = target.start else {
                return Fate::GoneBeforeSignal;
            };
            match processes.signal(target.process.pid, start, signal) {
                Ok(()) => Fate::StillRunning,
                Err(errno) if errno == libc::ESRCH => Fate::GoneBeforeSignal,
                Err(_) => Fate::PermissionDenied,
            }
        })
        .collect();
    let deadline = Instant::now() + wait;
    loop {
        for (fate, target) in fates.iter_mut().zip(targets) {
            if *fate == Fate::StillRunning && processes.start(target.process.pid) != target.start {
                *fate = Fate::Exited;
            }
        }
        if !fates.contains(&Fate::StillRunning) || Instant::now() >= deadline {
            return fates;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses `--signal`: a name with or without `SIG` (`TERM`, `sigkill`) or a number.
pub fn parse_signal(text: &str) -> Result<(i32, String), String> {
    use nix::sys::signal::Signal;
    let upper = text.trim().to_ascii_uppercase();
    let signal = match upper.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) => {
            let name = if upper.starts_with("SIG") {
                upper.clone()
            } else {
                format!("SIG{upper}")
            };
            name.parse::<Signal>().ok()
        }
    };
    signal
        .map(|signal| (signal as i32, signal.as_str().to_owned()))
        .ok_or_else(|| {
            format!("unknown signal '{text}' (a name such as TERM, KILL, HUP, or a number)")
        })
}

/// The live machine, through the source's OS layer.
pub struct Live;

impl Processes for Live {
    fn start(&self, pid: u32) -> Option<u64> {
        crate::source::process_start(pid)
    }

    fn signal(&self, pid: u32, start: u64, signal: i32) -> Result<(), i32> {
        crate::source::signal_if_same(pid, start, signal)
    }
}

/// Everything `ports kill` needs from outside: the command line, the OS, the terminal.
pub struct Request {
    pub ports: Vec<PortSpec>,
    pub protos: Vec<Proto>,
    pub families: Vec<crate::model::Family>,
    pub signal: (i32, String),
    pub yes: bool,
    pub dry_run: bool,
    pub force: bool,
    pub json: bool,
    /// Standard input is a terminal, so a question can be asked.
    pub interactive: bool,
}

/// The result of a kill, as JSON prints it.
#[derive(Serialize)]
struct Report<'a> {
    signal: &'a str,
    ports: Vec<String>,
    dry_run: bool,
    targets: Vec<Reported<'a>>,
    refused: &'a [Refusal],
    port_free: Option<bool>,
}

#[derive(Serialize)]
struct Reported<'a> {
    #[serde(flatten)]
    target: &'a Target,
    fate: Fate,
}

/// Runs `ports kill`: plan, show, ask, signal, wait, check the port again, report.
pub fn run(
    request: &Request,
    source: &mut dyn SocketSource,
    processes: &dyn Processes,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> anyhow::Result<(ExitCode, Vec<String>)> {
    let holders = holders(request, source)?;
    let held: Vec<&SocketEntry> = holders.sockets.iter().collect();
    if held.is_empty() {
        let note = nothing_holds(request, &holders.searched, source);
        return Ok((ExitCode::NoMatch, vec![note]));
    }
    let (targets, refused) = plan(&held, request.force);
    let mut notes: Vec<String> = refused
        .iter()
        .map(|r| format!("not signalling {} ({}): {}", r.pid, r.program, r.reason))
        .collect();
    notes.extend(restart_warnings(&targets));
    if held.iter().any(|e| e.owner_hidden) {
        notes.push(unseen_holders_note(holders.hidden_because.as_ref()));
    }
    if !request.json {
        let sure = request.yes && !request.dry_run;
        write_plan(&targets, &request.signal.1, sure, out)?;
    }
    let go =
        !request.dry_run && !targets.is_empty() && confirmed(request, targets.len(), out, input)?;
    let fates = if go {
        execute(&targets, request.signal.0, processes, WAIT)
    } else {
        vec![Fate::NotSignalled; targets.len()]
    };
    let port_free = go
        .then(|| holders_after(request, source))
        .transpose()?
        .map(|left| left == 0);
    report(request, &targets, &fates, &refused, port_free, out)?;
    notes.extend(refusal_without_terminal(request, go, &targets));
    let code = exit_code(request, &fates, &refused, port_free, go);
    Ok((code, notes))
}

/// What to do about holders this run could not see: sudo helps only when we are not root.
fn unseen_holders_note(reason: Option<&HiddenReason>) -> String {
    let what_then = match reason {
        Some(HiddenReason::RefusedToRoot { .. }) => "the kernel refuses even root their open \
            files (another user namespace or a security module), so ports cannot tell which \
            processes they are"
            .to_owned(),
        Some(HiddenReason::ProcUnavailable { detail }) => detail.clone(),
        Some(HiddenReason::NotRoot) | None => "run with sudo to signal them".to_owned(),
    };
    format!("some holders of the port could not be seen: {what_then}")
}

/// Nothing holds the port here; where a process in another network namespace does, say which.
fn nothing_holds(
    request: &Request,
    searched: &[Arc<Netns>],
    source: &mut dyn SocketSource,
) -> String {
    let ports = ports_text(&request.ports);
    let holding = |e: &SocketEntry| is_holder(request, e);
    // Holding a port is a socket's state, not its owner's: no process's fds need reading.
    let query = Query {
        owners_among: Some(Vec::new()),
        ..holders_query(request)
    };
    let names = namespaces_elsewhere(source, &query, searched, holding);
    match names.as_slice() {
        [] => format!("nothing holds port {ports}"),
        _ => format!(
            "nothing holds port {ports} here, but something in network namespace {} does: \
             ports -N {ports} shows what",
            names.join(", ")
        ),
    }
}

/// The sockets holding the port, why some owners are hidden if they are, and the namespaces
/// that were searched.
struct Holders {
    sockets: Vec<SocketEntry>,
    hidden_because: Option<HiddenReason>,
    searched: Vec<Arc<Netns>>,
}

fn holders(request: &Request, source: &mut dyn SocketSource) -> anyhow::Result<Holders> {
    let snapshot = source
        .snapshot(&holders_query(request))
        .context("cannot list sockets")?;
    let hidden_because = match snapshot.hidden_owners() {
        Some(Problem::OwnersHidden { reason }) => Some(reason.clone()),
        _ => None,
    };
    let sockets = snapshot.sockets.into_iter();
    Ok(Holders {
        sockets: sockets.filter(|e| is_holder(request, e)).collect(),
        hidden_because,
        searched: snapshot.namespaces,
    })
}

/// The port's protocols and families, one exact port filtered in the kernel, owners in context.
fn holders_query(request: &Request) -> Query {
    let port = match request.ports.as_slice() {
        [spec] if spec.range.first == spec.range.last => Some(spec.range.first),
        _ => None,
    };
    Query {
        protos: request.protos.clone(),
        families: request.families.clone(),
        port,
        owner_context: true,
        ..Query::default()
    }
}

/// A socket holding the port as a local port, of a protocol and family asked for.
fn is_holder(request: &Request, e: &SocketEntry) -> bool {
    holds_port(e, &request.ports)
        && (request.protos.is_empty() || e.proto().is_some_and(|p| request.protos.contains(&p)))
        && (request.families.is_empty()
            || e.family().is_some_and(|f| request.families.contains(&f)))
}

/// How many sockets still hold the port after the signals.
fn holders_after(request: &Request, source: &mut dyn SocketSource) -> anyhow::Result<usize> {
    Ok(holders(request, source)?.sockets.len())
}

/// The plan: "would go to" while it may still be declined, "Sending" when `--yes` sends it.
fn write_plan(targets: &[Target], signal: &str, sure: bool, out: &mut dyn Write) -> io::Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    match sure {
        true => writeln!(out, "Sending {signal} to:")?,
        false => writeln!(out, "{signal} would go to:")?,
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .force_no_tty()
        .set_header(["PID", "USER", "PROGRAM", "SOCKETS", "COMMAND"]);
    for target in targets {
        let process = &target.process;
        table.add_row([
            process.pid.to_string(),
            process
                .user
                .as_deref()
                .map(sanitize)
                .unwrap_or_default()
                .into_owned(),
            sanitize(process.program()).into_owned(),
            target.sockets.join("\n"),
            sanitize(&process.cmdline).into_owned(),
        ]);
    }
    let last = table.column_count().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, if i == last { 0 } else { 2 }));
    }
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// On a terminal, asks (default no); without one, only `--yes` goes ahead.
fn confirmed(
    request: &Request,
    count: usize,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> io::Result<bool> {
    if request.yes {
        return Ok(true);
    }
    if !request.interactive {
        return Ok(false);
    }
    out.flush()?;
    let noun = if count == 1 { "process" } else { "processes" };
    let mut err = io::stderr().lock();
    write!(err, "Send {} to {count} {noun}? [y/N] ", request.signal.1)?;
    err.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn refusal_without_terminal(request: &Request, go: bool, targets: &[Target]) -> Option<String> {
    let refused =
        !go && !request.dry_run && !request.interactive && !request.yes && !targets.is_empty();
    refused.then(|| "not a terminal: nothing signalled; add --yes to signal without asking".into())
}

/// A process systemd runs is likely restarted by it.
fn restart_warnings(targets: &[Target]) -> Vec<String> {
    let units = targets
        .iter()
        .filter_map(|t| Some((t.process.pid, t.process.unit.as_deref()?)));
    let services = units.filter(|(_, unit)| unit.ends_with(".service"));
    services
        .map(|(pid, unit)| {
            format!("{pid} runs in {unit}: systemd will likely restart it (systemctl stop {unit})")
        })
        .collect()
}

fn report(
    request: &Request,
    targets: &[Target],
    fates: &[Fate],
    refused: &[Refusal],
    port_free: Option<bool>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if request.json {
        let report = Report {
            signal: &request.signal.1,
            ports: request.ports.iter().map(ToString::to_string).collect(),
            dry_run: request.dry_run,
            targets: targets
                .iter()
                .zip(fates)
                .map(|(target, &fate)| Reported { target, fate })
                .collect(),
            refused,
            port_free,
        };
        serde_json::to_writer(&mut *out, &report)?;
        return writeln!(out);
    }
    for (target, fate) in targets.iter().zip(fates) {
        let what = match fate {
            Fate::Exited => "exited".to_owned(),
            Fate::StillRunning => format!(
                "still running after {} s (try --signal KILL)",
                WAIT.as_secs()
            ),
            Fate::PermissionDenied => "permission denied (run with sudo)".to_owned(),
            Fate::GoneBeforeSignal => {
                "gone before the signal (its pid was not signalled)".to_owned()
            }
            Fate::NotSignalled => continue,
        };
        writeln!(out, "{}  {what}", target.process.pid)?;
    }
    if let Some(free) = port_free {
        let state = if free { "free" } else { "still held" };
        writeln!(out, "port {}: {state}", ports_text(&request.ports))?;
    }
    Ok(())
}

/// 0 only when every target exited and the port is free (or a dry run planned something);
/// 2 for anything short of that.
fn exit_code(
    request: &Request,
    fates: &[Fate],
    refused: &[Refusal],
    port_free: Option<bool>,
    go: bool,
) -> ExitCode {
    if request.dry_run {
        return if fates.is_empty() {
            ExitCode::Error
        } else {
            ExitCode::Matched
        };
    }
    let all_exited = fates.iter().all(|fate| *fate == Fate::Exited);
    if go && all_exited && refused.is_empty() && port_free == Some(true) {
        ExitCode::Matched
    } else {
        ExitCode::Error
    }
}

fn ports_text(ports: &[PortSpec]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A process table: pid -> start time, with a log of the signals sent.
    #[derive(Default)]
    struct Table {
        starts: RefCell<HashMap<u32, u64>>,
        signalled: RefCell<Vec<u32>>,
        /// Pids that exit when signalled.
        obedient: Vec<u32>,
        /// Pids whose signal the kernel refuses (another user's process).
        refusing: Vec<u32>,
    }

    impl Processes for Table {
        fn start(&self, pid: u32) -> Option<u64> {
            self.starts.borrow().get(&pid).copied()
        }

        fn signal(&self, pid: u32, start: u64, _signal: i32) -> Result<(), i32> {
            if self.start(pid) != Some(start) {
                return Err(libc::ESRCH);
            }
            if self.refusing.contains(&pid) {
                return Err(libc::EPERM);
            }
            self.signalled.borrow_mut().push(pid);
            if self.obedient.contains(&pid) {
                self.starts.borrow_mut().remove(&pid);
            }
            Ok(())
        }
    }

    fn target(pid: u32, start: u64) -> Target {
        Target {
            process: Arc::new(ProcessInfo {
                pid,
                ..ProcessInfo::default()
            }),
            start: Some(start),
            sockets: Vec::new(),
        }
    }

    #[test]
    fn a_pid_reused_between_plan_and_signal_is_not_signalled() {
        let table = Table {
            obedient: vec![10],
            ..Table::default()
        };
        table.starts.borrow_mut().extend([(10, 500), (11, 900)]);
        // 11 was planned at start 600: another process took the pid since.
        let fates = execute(
            &[target(10, 500), target(11, 600)],
            15,
            &table,
            Duration::ZERO,
        );
        assert_eq!(fates, [Fate::Exited, Fate::GoneBeforeSignal]);
        assert_eq!(*table.signalled.borrow(), [10]);
    }

    #[test]
    fn the_start_time_is_the_scans_so_a_pid_reused_before_the_plan_is_not_signalled() {
        // The scan saw pid 12 start at 700; it died and a newcomer took 12 (start 800) before
        // the plan was made.
        let mut entry = crate::source::FakeSource::sample().entries[0].clone();
        let seen = ProcessInfo {
            pid: 12,
            start_ticks: Some(700),
            ..ProcessInfo::default()
        };
        entry.processes = vec![Arc::new(seen)];
        let table = Table::default();
        table.starts.borrow_mut().insert(12, 800);
        let (targets, _) = plan(&[&entry], false);
        assert_eq!(targets[0].start, Some(700));
        let fates = execute(&targets, 15, &table, Duration::ZERO);
        assert_eq!(fates, [Fate::GoneBeforeSignal]);
        assert!(table.signalled.borrow().is_empty());
    }

    #[test]
    fn a_survivor_is_reported_as_still_running() {
        let table = Table::default();
        table.starts.borrow_mut().insert(20, 7);
        let fates = execute(&[target(20, 7)], 15, &table, Duration::from_millis(120));
        assert_eq!(fates, [Fate::StillRunning]);
    }

    #[test]
    fn a_refused_signal_is_reported_as_permission_denied() {
        let table = Table {
            refusing: vec![30],
            ..Table::default()
        };
        table.starts.borrow_mut().insert(30, 1);
        let fates = execute(&[target(30, 1)], 15, &table, Duration::ZERO);
        assert_eq!(fates, [Fate::PermissionDenied]);
        assert!(table.signalled.borrow().is_empty());
    }

    #[test]
    fn signals_parse_by_name_or_number() {
        assert_eq!(parse_signal("TERM").map(|s| s.0), Ok(libc::SIGTERM));
        assert_eq!(parse_signal("sigkill").map(|s| s.1), Ok("SIGKILL".into()));
        assert_eq!(parse_signal("1").map(|s| s.1), Ok("SIGHUP".into()));
        assert!(
            parse_signal("bogus")
                .unwrap_err()
                .contains("unknown signal 'bogus'")
        );
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn only_local_holders_of_the_port_are_targets() {
        let sample = crate::source::FakeSource::sample().entries;
        let ports = ["8080".parse().unwrap()];
        let holders: Vec<String> = sample
            .iter()
            .filter(|e| holds_port(e, &ports))
            .map(describe)
            .collect();
        // curl's connection to 8080 and the accepted end are not holders; the listeners are.
        assert_eq!(
            holders,
            ["tcp 0.0.0.0:8080 LISTEN", "tcp6 [::]:8080 LISTEN"]
        );
    }

    /// A dry run on a port whose only holder is hidden: nothing planned, so exit 2, and the
    /// note says why; sudo only when it would help.
    fn dry_run_on_a_hidden_holder(reason: HiddenReason) -> (ExitCode, Vec<String>) {
        let mut source = crate::source::FakeSource::sample();
        source.entries.retain(|e| e.local_port() == Some(8080));
        for entry in &mut source.entries {
            entry.processes.clear();
            entry.owner_hidden = true;
        }
        source.problems = vec![Problem::OwnersHidden { reason }];
        let request = Request {
            ports: vec!["8080".parse().unwrap()],
            protos: Vec::new(),
            families: Vec::new(),
            signal: (libc::SIGTERM, "SIGTERM".into()),
            yes: false,
            dry_run: true,
            force: false,
            json: false,
            interactive: false,
        };
        let mut out = Vec::new();
        let table = Table::default();
        run(&request, &mut source, &table, &mut out, &mut io::empty()).unwrap()
    }

    #[test]
    fn hidden_holders_are_named_and_sudo_offered_only_when_it_helps() {
        let (code, notes) = dry_run_on_a_hidden_holder(HiddenReason::NotRoot);
        assert_eq!(code, ExitCode::Error);
        assert!(
            notes
                .iter()
                .any(|n| n.ends_with("run with sudo to signal them")),
            "{notes:?}"
        );
        let (code, notes) =
            dry_run_on_a_hidden_holder(HiddenReason::RefusedToRoot { processes: 1 });
        assert_eq!(code, ExitCode::Error);
        assert!(
            notes.iter().any(|n| n.contains("refuses even root")),
            "{notes:?}"
        );
        assert!(!notes.iter().any(|n| n.contains("sudo")), "{notes:?}");
        let detail = "/proc shows no processes (not mounted, or covered)".to_owned();
        let (_, notes) = dry_run_on_a_hidden_holder(HiddenReason::ProcUnavailable { detail });
        let said = "some holders of the port could not be seen: /proc shows no processes";
        assert!(notes.iter().any(|n| n.starts_with(said)), "{notes:?}");
    }

    #[test]
    fn init_ourselves_and_forwarders_are_refused() {
        let init = ProcessInfo {
            pid: 1,
            ..ProcessInfo::default()
        };
        assert!(refusal(&init, true).unwrap().contains("never signalled"));
        let me = ProcessInfo {
            pid: std::process::id(),
            ..ProcessInfo::default()
        };
        assert!(refusal(&me, true).is_some());
        let proxy = ProcessInfo {
            pid: 4242,
            forwards: Some(crate::model::Forward {
                container: Some("web".into()),
                to: "172.17.0.2:8080".parse().unwrap(),
                listener: None,
            }),
            ..ProcessInfo::default()
        };
        assert!(refusal(&proxy, false).unwrap().contains("docker stop web"));
        assert_eq!(refusal(&proxy, true), None);
    }
}
