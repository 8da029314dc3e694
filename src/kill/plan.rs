//! Who `ports kill` signals and who not, and signalling them: pure decisions over the scan's
//! sockets, and the signals through `Processes` (the OS's, or a test's).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::filter::PortSpec;
use crate::model::{ProcessInfo, Proto, SocketEntry, State};
use crate::render::Column;

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
pub(super) fn refusal(process: &ProcessInfo, force: bool) -> Option<String> {
    let pid = process.pid;
    let never = [0, 1, std::process::id(), crate::os::parent_pid()];
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
pub(super) fn describe(entry: &SocketEntry) -> String {
    let line = crate::render::Line {
        entry,
        owner: 0,
        more: 0,
        now: None,
        wide: false,
        rate: None,
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
                Err(errno) if errno == crate::os::ESRCH => Fate::GoneBeforeSignal,
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

/// A process systemd runs is likely restarted by it.
pub(super) fn restart_warnings(targets: &[Target]) -> Vec<String> {
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
