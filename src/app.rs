//! One run: ask the source, keep the wanted sockets, sort, render, and say how it went.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Context;

use crate::exit::ExitCode;
use crate::filter::Filter;
use crate::render::{RenderContext, render};
use crate::settings::Settings;
use crate::sort::sort;
use crate::source::{Problem, Query, SocketSource};

/// What a run found, for the exit code and the notes on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub matched: usize,
    /// Sockets that met every condition but those on owners, and whose owner we could not see.
    pub hidden_owners: usize,
    /// What the snapshot could not see, or how it had to look.
    pub problems: Vec<Problem>,
}

pub fn run(
    settings: &Settings,
    source: &mut dyn SocketSource,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let filter = &settings.filter;
    let snapshot = source
        .snapshot(&query(filter))
        .context("cannot list sockets")?;
    let mut entries = snapshot.sockets;
    entries.retain(|entry| filter.matches_socket(entry));
    // Counted before the owner conditions: a hidden owner may be the one `-c`/`--user` asked for.
    let hidden_owners = entries.iter().filter(|entry| entry.owner_hidden).count();
    entries.retain(|entry| filter.matches_owner(entry));
    sort(&mut entries, settings.sort, settings.reverse);
    let context = RenderContext {
        now: SystemTime::now(),
        hidden_owners,
        ..settings.render.clone()
    };
    render(settings.format, &entries, &context, out)?;
    Ok(Outcome {
        matched: entries.len(),
        hidden_owners,
        problems: snapshot.problems,
    })
}

/// What the source must list for `filter`: the kernel can narrow by protocol, family, state,
/// listening and one exact port; the rest is filtered here.
pub fn query(filter: &Filter) -> Query {
    let (port, protos) = match filter.ports.as_slice() {
        [spec] => {
            let one = spec.range.first == spec.range.last;
            // `53/udp` alone: only UDP needs dumping (unless -t asked for the contrary).
            let protos = match spec.proto {
                Some(proto) if filter.protos.is_empty() => vec![proto],
                _ => filter.protos.clone(),
            };
            (one.then_some(spec.range.first), protos)
        }
        _ => (None, filter.protos.clone()),
    };
    Query {
        protos,
        families: filter.families.clone(),
        states: filter.states.clone(),
        port,
        listening_only: filter.listening_only,
    }
}

impl Outcome {
    pub fn exit_code(&self) -> ExitCode {
        if self.matched > 0 {
            ExitCode::Matched
        } else {
            ExitCode::NoMatch
        }
    }

    /// Lines for stderr: why nothing matched, and what could not be seen.
    pub fn notes(&self, settings: &Settings) -> Vec<String> {
        let mut notes = Vec::new();
        if self.matched == 0 {
            notes.push(no_match_message(settings));
        }
        let problems = self.problems.iter();
        notes.extend(problems.filter_map(|problem| problem.note(self.hidden_owners)));
        notes
    }
}

fn no_match_message(settings: &Settings) -> String {
    let ports = &settings.filter.ports;
    let only_ports = settings.filter
        == Filter {
            ports: ports.clone(),
            ..Default::default()
        };
    if ports.is_empty() {
        return "no socket matches".into();
    }
    let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
    let noun = if ports.len() == 1 && ports[0].range.first == ports[0].range.last {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    #[test]
    fn one_exact_port_goes_to_the_kernel_and_ranges_do_not() {
        let one = Filter {
            ports: vec!["80".parse().unwrap()],
            listening_only: true,
            ..Filter::default()
        };
        assert_eq!(query(&one).port, Some(80));
        assert!(query(&one).listening_only);
        let range = Filter {
            ports: vec!["1-1024".parse().unwrap()],
            ..Filter::default()
        };
        assert_eq!(query(&range).port, None);
        let udp = Filter {
            ports: vec!["53/udp".parse().unwrap()],
            ..Filter::default()
        };
        assert_eq!(
            (query(&udp).port, query(&udp).protos),
            (Some(53), vec![Proto::Udp])
        );
    }
}
