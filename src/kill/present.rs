//! What `ports kill` shows and asks: the plan, the question, the report, the notes.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use super::plan::{Fate, Refusal, Target};
use super::{Console, Request, WAIT};
use crate::filter::PortSpec;
use crate::sanitize::sanitize;
use crate::source::HiddenReason;

/// The result of a kill, as JSON prints it.
#[derive(Serialize)]
pub(super) struct Report<'a> {
    signal: &'a str,
    ports: Vec<String>,
    dry_run: bool,
    targets: Vec<Reported<'a>>,
    refused: &'a [Refusal],
    port_free: Option<bool>,
}

#[derive(Serialize)]
pub(super) struct Reported<'a> {
    #[serde(flatten)]
    target: &'a Target,
    fate: Fate,
}

/// What to do about holders this run could not see: sudo helps only when we are not root.
pub(super) fn unseen_holders_note(reason: Option<&HiddenReason>) -> String {
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

/// The plan: "would go to" while it may still be declined, "Sending" when `--yes` sends it.
pub(super) fn write_plan(
    targets: &[Target],
    signal: &str,
    sure: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
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
pub(super) fn confirmed(
    request: &Request,
    count: usize,
    console: &mut Console,
) -> io::Result<bool> {
    if request.yes {
        return Ok(true);
    }
    if !request.interactive {
        return Ok(false);
    }
    console.out.flush()?;
    let noun = if count == 1 { "process" } else { "processes" };
    let question = format!("Send {} to {count} {noun}? [y/N] ", request.signal.1);
    console.prompt.write_all(question.as_bytes())?;
    console.prompt.flush()?;
    let mut answer = String::new();
    console.input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

pub(super) fn refusal_without_terminal(
    request: &Request,
    go: bool,
    targets: &[Target],
) -> Option<String> {
    let refused =
        !go && !request.dry_run && !request.interactive && !request.yes && !targets.is_empty();
    refused.then(|| "not a terminal: nothing signalled; add --yes to signal without asking".into())
}

pub(super) fn report(
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

pub(super) fn ports_text(ports: &[PortSpec]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
