//! `ports kill PORT`: free a port the careful way. Only processes that hold the port as a local
//! port (listeners, bound sockets) are signalled, never a client of it; pid 0, pid 1, `ports`
//! and its parent never; a pid reused since the scan never (the start time recorded with the
//! process's fds is checked through a pidfd, which then carries the signal); a container's port
//! forwarder only with `--force`. Then it waits, says what happened to each process, and checks
//! the port again. `plan.rs` decides and signals, `present.rs` shows and asks, this file runs
//! the steps in order.

mod plan;
mod present;

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub use crate::os::{parse_signal, signal_names};
pub use plan::{Fate, Processes, Refusal, Target, execute, holds_port, plan};

use crate::exit::ExitCode;
use crate::filter::PortSpec;
use crate::model::{Netns, Proto, SocketEntry};
use crate::source::{HiddenReason, Problem, Query, SocketSource, namespaces_elsewhere};
use plan::restart_warnings;
use present::{
    confirmed, ports_text, refusal_without_terminal, report, unseen_holders_note, write_plan,
};

/// How long to wait for signalled processes to exit.
const WAIT: Duration = Duration::from_secs(3);

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

/// Where `ports kill` writes and reads: its report (stdout), its question (stderr, so a
/// redirected report still asks), and the answer (stdin).
pub struct Console<'a> {
    pub out: &'a mut dyn Write,
    pub prompt: &'a mut dyn Write,
    pub input: &'a mut dyn BufRead,
}

/// Runs `ports kill`: plan, show, ask, signal, wait, check the port again, report.
pub fn run(
    request: &Request,
    source: &mut dyn SocketSource,
    processes: &dyn Processes,
    console: &mut Console,
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
        write_plan(&targets, &request.signal.1, sure, console.out)?;
    }
    let go = !request.dry_run && !targets.is_empty() && confirmed(request, targets.len(), console)?;
    let fates = if go {
        execute(&targets, request.signal.0, processes, WAIT)
    } else {
        vec![Fate::NotSignalled; targets.len()]
    };
    let port_free = go
        .then(|| holders_after(request, source))
        .transpose()?
        .map(|left| left == 0);
    report(request, &targets, &fates, &refused, port_free, console.out)?;
    notes.extend(refusal_without_terminal(request, go, &targets));
    let code = exit_code(request, &fates, &refused, port_free, go);
    Ok((code, notes))
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

#[cfg(test)]
mod tests {
    use super::plan::{describe, refusal};
    use super::*;
    use crate::model::ProcessInfo;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::io;

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
                return Err(crate::os::ESRCH);
            }
            if self.refusing.contains(&pid) {
                return Err(crate::os::EPERM);
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

    /// `ports kill PORT`: SIGTERM, no flags, no terminal.
    fn sigterm_to(port: &str) -> Request {
        Request {
            ports: vec![port.parse().unwrap()],
            protos: Vec::new(),
            families: Vec::new(),
            signal: (15, "SIGTERM".into()),
            yes: false,
            dry_run: false,
            force: false,
            json: false,
            interactive: false,
        }
    }

    /// `ports kill 5432` on a terminal answered `answer`: what was asked, and who was signalled.
    fn asked(answer: &str) -> (String, Vec<u32>) {
        let mut source = crate::source::FakeSource::sample();
        source.entries.retain(|e| e.local_port() == Some(5432));
        for entry in &mut source.entries {
            let mut postgres = (*entry.processes[0]).clone();
            postgres.start_ticks = Some(77);
            entry.processes = vec![Arc::new(postgres)];
        }
        let table = Table {
            obedient: vec![880],
            ..Table::default()
        };
        table.starts.borrow_mut().insert(880, 77);
        let request = Request {
            interactive: true,
            ..sigterm_to("5432")
        };
        let (mut out, mut prompt) = (Vec::new(), Vec::new());
        let mut console = Console {
            out: &mut out,
            prompt: &mut prompt,
            input: &mut answer.as_bytes(),
        };
        run(&request, &mut source, &table, &mut console).unwrap();
        let signalled = table.signalled.borrow().clone();
        (String::from_utf8(prompt).unwrap(), signalled)
    }

    #[test]
    fn the_question_goes_to_the_prompt_and_only_yes_signals() {
        let (prompt, signalled) = asked("y\n");
        assert_eq!(prompt, "Send SIGTERM to 1 process? [y/N] ");
        assert_eq!(signalled, [880]);
        let (_, signalled) = asked("\n");
        assert!(signalled.is_empty(), "the default is no");
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
            dry_run: true,
            ..sigterm_to("8080")
        };
        let mut out = Vec::new();
        let table = Table::default();
        let mut console = Console {
            out: &mut out,
            prompt: &mut io::sink(),
            input: &mut io::empty(),
        };
        run(&request, &mut source, &table, &mut console).unwrap()
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
