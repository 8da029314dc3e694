//! One run: list sockets, keep the wanted ones, sort, render, and say how it went.

use std::io::Write;

use anyhow::Context;

use crate::model::SocketEntry;
use crate::render::render;
use crate::settings::Settings;
use crate::sort::sort;
use crate::source::{SocketSource, hidden_owners_hint};

/// Exit codes, as grep and ripgrep use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Some socket matched.
    Matched = 0,
    /// No socket matched.
    NoMatch = 1,
    /// Bad input or a failure.
    Error = 2,
}

/// What a run found, for the exit code and the notes on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub matched: usize,
    /// Sockets that met every condition but those on owners, and whose owner we could not see.
    pub hidden_owners: usize,
}

pub fn run(
    settings: &Settings,
    source: &dyn SocketSource,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut entries: Vec<SocketEntry> = source
        .sockets(&settings.filter)
        .context("cannot list sockets")?;
    let filter = &settings.filter;
    entries.retain(|entry| filter.matches_socket(entry));
    // Counted before the owner conditions: a hidden owner may be the one `-c`/`--user` asked for.
    let hidden_owners = entries.iter().filter(|entry| entry.owner_hidden).count();
    entries.retain(|entry| filter.matches_owner(entry));
    sort(&mut entries, settings.sort, settings.reverse);
    render(settings.format, &entries, &settings.render, out)?;
    Ok(Outcome {
        matched: entries.len(),
        hidden_owners,
    })
}

impl Outcome {
    pub fn exit_code(&self) -> ExitCode {
        if self.matched > 0 {
            ExitCode::Matched
        } else {
            ExitCode::NoMatch
        }
    }

    /// Lines for stderr: why nothing matched, or how many owners are hidden.
    pub fn notes(&self, settings: &Settings) -> Vec<String> {
        let mut notes = Vec::new();
        if self.matched == 0 {
            notes.push(no_match_message(settings));
        }
        if self.hidden_owners > 0 {
            notes.push(hidden_owners_hint(self.hidden_owners));
        }
        notes
    }
}

fn no_match_message(settings: &Settings) -> String {
    let ports = &settings.filter.ports;
    let only_ports = settings.filter
        == crate::filter::Filter {
            ports: ports.clone(),
            ..Default::default()
        };
    if ports.is_empty() {
        return "no socket matches".into();
    }
    let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
    let noun = if ports.len() == 1 && ports[0].first == ports[0].last {
        "port"
    } else {
        "ports"
    };
    let list = list.join(" or ");
    if only_ports {
        format!("no socket uses {noun} {list}")
    } else {
        format!("no socket on {noun} {list} matches the other filters")
    }
}
