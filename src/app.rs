//! One run: ask the source, keep the wanted sockets, sort, render, and say how it went.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;

use crate::exit::ExitCode;
use crate::exposure;
use crate::filter::Filter;
use crate::model::{Endpoint, Netns, ProcessInfo, SocketEntry, State};
use crate::render::{
    Card, Format, Metrics, RenderContext, epoch_seconds, render, render_card, render_metrics,
    render_summary, single_program,
};
use crate::services::Services;
use crate::settings::{FirewallAsk, Settings};
use crate::sort::sort;
use crate::source::{self, NetnsScope, Problem, Query, Snapshot, SocketSource, namespaces_holding};
use crate::summary::Summary;

/// What a run found, for the exit code and the notes on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub matched: usize,
    /// When nothing matched a port query with other filters: whether any socket uses the port.
    pub port_in_use: Option<bool>,
    /// When a port query without -N matched nothing: the other namespaces where it would have.
    pub elsewhere: Vec<String>,
    /// Sockets shown whose owner (or one of whose owners) we could not see.
    pub hidden_owners: usize,
    /// Of those, the ones that show some owners and may have more.
    pub partly_hidden: usize,
    /// Sockets not shown that met every condition but those on owners, and whose owner we could
    /// not see: it may be the one `-c`, `--pid` or `--user` asked for.
    pub hidden_unshown: usize,
    /// What the snapshot could not see, or how it had to look.
    pub problems: Vec<Problem>,
}

/// The wanted sockets of one snapshot, sorted, with what could not be seen.
pub struct Listing {
    pub entries: Vec<SocketEntry>,
    /// Sockets shown whose owner (or one of whose owners) we could not see.
    pub hidden_owners: usize,
    /// Of those, the ones that show some owners and may have more.
    pub partly_hidden: usize,
    /// Sockets left out by the owner conditions alone, whose owner we could not see.
    pub hidden_unshown: usize,
    pub snapshot: Snapshot,
}

/// Asks the source once and keeps, sorts and names what `settings` want.
pub fn listing(settings: &Settings, source: &mut dyn SocketSource) -> anyhow::Result<Listing> {
    let filter = &settings.filter;
    let query = Query {
        owner_context: settings.owner_context,
        netns: settings.netns.clone(),
        firewall: settings.firewall != FirewallAsk::Off,
        tcp_info: settings.tcp_info,
        ..query(filter)
    };
    let mut snapshot = source.snapshot(&query).context("cannot list sockets")?;
    let mut entries = std::mem::take(&mut snapshot.sockets);
    find_unix_peer_owners(&mut entries);
    decide_reach(settings.firewall, &mut entries, &mut snapshot, source);
    entries.retain(|entry| filter.matches_socket(entry));
    // A hidden owner left out by `-c`/`--user` may be the one asked for: counted apart.
    let hidden_before = entries.iter().filter(|entry| entry.owner_hidden).count();
    entries.retain(|entry| filter.matches_owner(entry));
    let hidden_owners = entries.iter().filter(|entry| entry.owner_hidden).count();
    let partly_hidden = entries
        .iter()
        .filter(|entry| entry.owner_hidden && !entry.processes.is_empty())
        .count();
    sort(&mut entries, settings.sort, settings.reverse);
    if settings.services {
        let services = Services::system();
        for entry in &mut entries {
            entry.service = service_of(entry, services);
        }
    }
    Ok(Listing {
        entries,
        hidden_owners,
        partly_hidden,
        hidden_unshown: hidden_before - hidden_owners,
        snapshot,
    })
}

fn has_tcp_counters(entry: &SocketEntry) -> bool {
    entry
        .tcp_info
        .as_ref()
        .is_some_and(|info| info.counters.is_some())
}

/// `--firewall` (or a port query, where the ruleset is readable): each listener's reach, and
/// the ports NAT rules forward with no socket.
fn decide_reach(
    ask: FirewallAsk,
    entries: &mut Vec<SocketEntry>,
    snapshot: &mut Snapshot,
    source: &mut dyn SocketSource,
) {
    let rulesets = std::mem::take(&mut snapshot.rulesets);
    let readable = rulesets.iter().all(|r| r.texts.is_ok());
    match ask {
        FirewallAsk::Off => {}
        FirewallAsk::IfReadable if !readable || rulesets.is_empty() => {}
        _ => {
            let problems = exposure::decide(entries, &rulesets, source);
            snapshot.problems.extend(problems);
        }
    }
}

pub fn run(
    settings: &Settings,
    source: &mut dyn SocketSource,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let Listing {
        entries,
        hidden_owners,
        partly_hidden,
        hidden_unshown,
        snapshot,
    } = listing(settings, source)?;
    let context = RenderContext {
        now: snapshot.taken_at.unwrap_or_else(SystemTime::now),
        hidden_owners,
        // A NETNS column only when the rows come from more than one namespace.
        netns_column: entries
            .windows(2)
            .any(|w| w[0].netns.inode != w[1].netns.inode),
        // TCP internals only when some row has them: `-w` over listeners, UDP or a replay
        // without them would add seven columns of dashes.
        tcp_info: settings.render.tcp_info && entries.iter().any(has_tcp_counters),
        // A port a NAT rule claims (a port query shows it unasked) is nothing but where it goes.
        firewall: settings.render.firewall || entries.iter().any(|e| e.claim.is_some()),
        ..settings.render.clone()
    };
    present(settings, source, &entries, &snapshot, &context, out)?;
    let Miss {
        port_in_use,
        elsewhere,
    } = match entries.is_empty() {
        true => explain_miss(settings, &snapshot.namespaces, source),
        false => Miss::default(),
    };
    Ok(Outcome {
        matched: entries.len(),
        port_in_use,
        elsewhere,
        hidden_owners,
        partly_hidden,
        hidden_unshown,
        problems: snapshot.problems,
    })
}

/// Writes the answer in the form asked for: counts, the card for one program's port, or the
/// listing (in an envelope for fleets).
fn present(
    settings: &Settings,
    source: &mut dyn SocketSource,
    entries: &[SocketEntry],
    snapshot: &Snapshot,
    context: &RenderContext,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if settings.summary {
        let summary = Summary::of(entries, context.hidden_owners);
        render_summary(&summary, settings.format, context, out)?;
    } else if let Some(owners) = card_owners(settings, entries) {
        let other_ports = other_ports(source, &owners, settings)?;
        let card = Card {
            sockets: entries,
            owners,
            other_ports,
        };
        render_card(&card, context, out)?;
    } else if settings.envelope {
        let head = snapshot_head(&snapshot.host, &snapshot.problems, context.now);
        write_envelope(&head, out)?;
        render(settings.format, entries, context, out)?;
        out.write_all(b"}\n")?;
    } else {
        render(settings.format, entries, context, out)?;
    }
    Ok(())
}

/// The JSON document's version: 2 since round 2 (docs/json.md).
pub const SCHEMA: &str = "ports/2";

/// What a `--envelope` document says before its sockets.
#[derive(serde::Serialize)]
struct Head<'a> {
    schema: &'static str,
    host: &'a str,
    /// Seconds since the Unix epoch.
    taken_at: u64,
    problems: &'a [Problem],
}

fn snapshot_head<'a>(
    host: &'a Option<String>,
    problems: &'a [Problem],
    now: SystemTime,
) -> Head<'a> {
    Head {
        schema: SCHEMA,
        host: host.as_deref().unwrap_or_default(),
        taken_at: epoch_seconds(now).unwrap_or(0),
        problems,
    }
}

/// `{"schema":...,"host":...,"taken_at":...,"problems":[...],"sockets":` — the array and the
/// closing brace follow.
fn write_envelope(head: &Head, out: &mut dyn Write) -> std::io::Result<()> {
    let mut head = serde_json::to_vec(head)?;
    head.pop(); // the closing brace: the sockets come first
    out.write_all(&head)?;
    out.write_all(b",\"sockets\":")
}

/// The card's owners: a port query shown as a table (not `-w`), held by one program.
fn card_owners(settings: &Settings, entries: &[SocketEntry]) -> Option<Vec<Arc<ProcessInfo>>> {
    let filter = &settings.filter;
    let asked = settings.format == Format::Table && !settings.render.wide;
    (asked && !filter.ports.is_empty() && filter.paths.is_empty())
        .then(|| single_program(entries))
        .flatten()
}

/// The other ports the card's processes listen on (`443/tcp`), from a listing of listeners.
fn other_ports(
    source: &mut dyn SocketSource,
    owners: &[Arc<ProcessInfo>],
    settings: &Settings,
) -> anyhow::Result<Vec<String>> {
    let filter = &settings.filter;
    // Listeners and unconnected UDP (not bound-only TCP sockets, which the kernel finds by
    // walking its bind hash), owners sought only in the card's processes' fds.
    let listeners = Query {
        states: vec![State::Listen, State::Unconn],
        owners_among: Some(owners.iter().map(|o| o.pid).collect()),
        netns: settings.netns.clone(),
        ..Query::default()
    };
    let snapshot = source.snapshot(&listeners).context("cannot list sockets")?;
    let theirs = |e: &SocketEntry| {
        e.processes
            .iter()
            .any(|p| owners.iter().any(|o| o.pid == p.pid))
    };
    let asked = |port: u16| filter.ports.iter().any(|spec| spec.range.contains(port));
    let mut ports: Vec<(u16, &'static str)> = snapshot
        .sockets
        .iter()
        .filter(|e| theirs(e) && e.is_listening() && e.state() != Some(State::Bound))
        .filter_map(|e| Some((e.local_port()?, e.proto()?.name())))
        .filter(|&(port, _)| !asked(port))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    Ok(ports
        .into_iter()
        .map(|(port, proto)| format!("{port}/{proto}"))
        .collect())
}

/// What a port query that matched nothing can still say: whether anything at all uses the
/// port here (so the note says "in use, but not by a socket matching -l" rather than suggest
/// it is free), and, without -N, the other network namespaces where it would have matched (a
/// container, an `ip netns`).
#[derive(Default)]
struct Miss {
    port_in_use: Option<bool>,
    elsewhere: Vec<String>,
}

/// Both looks of a miss from one snapshot: the asked ports alone, in the searched namespaces
/// and, where the source sees them, every other. Only a hint: a failure says nothing more.
fn explain_miss(
    settings: &Settings,
    searched: &[Arc<Netns>],
    source: &mut dyn SocketSource,
) -> Miss {
    let filter = &settings.filter;
    let ports_only = filter.ports_only();
    let check_in_use = !filter.ports.is_empty() && *filter != ports_only;
    let look_elsewhere =
        !filter.ports.is_empty() && settings.netns == NetnsScope::Own && source.sees_namespaces();
    if !check_in_use && !look_elsewhere {
        return Miss::default();
    }
    let netns = match look_elsewhere {
        true => NetnsScope::All,
        false => settings.netns.clone(),
    };
    // Owners matter only to an owner condition: without one, no process's fds are read.
    let owners_among = (!filter.has_owner_conditions()).then(Vec::new);
    let look = Query {
        netns,
        owners_among,
        ..query(&ports_only)
    };
    let Ok(snapshot) = source.snapshot(&look) else {
        return Miss::default();
    };
    let here = |e: &SocketEntry| searched.iter().any(|ns| ns.inode == e.netns.inode);
    let sockets = &snapshot.sockets;
    let in_use = sockets
        .iter()
        .any(|e| here(e) && ports_only.matches_socket(e));
    let wanted = |e: &SocketEntry| filter.matches_socket(e) && filter.matches_owner(e);
    Miss {
        port_in_use: check_in_use.then_some(in_use),
        elsewhere: match look_elsewhere {
            true => namespaces_holding(sockets, searched, wanted),
            false => Vec::new(),
        },
    }
}

/// Gives each connected Unix socket its peer's holders, the peer found by inode in one index
/// of the whole snapshot: before filtering, so a peer left out of the table still names them.
fn find_unix_peer_owners(sockets: &mut [SocketEntry]) {
    let by_inode: HashMap<u64, usize> = (sockets.iter().enumerate())
        .filter(|(_, e)| e.unix().is_some() && e.inode != 0 && !e.processes.is_empty())
        .map(|(index, e)| (e.inode, index))
        .collect();
    let links: Vec<(usize, usize)> = (sockets.iter().enumerate())
        .filter_map(|(index, e)| Some((index, *by_inode.get(&e.unix()?.peer?)?)))
        .collect();
    for (index, peer) in links {
        let owners = sockets[peer].processes.clone();
        if let Endpoint::Unix(unix) = &mut sockets[index].endpoint {
            unix.peer_owners = owners;
        }
    }
}

/// The service of a socket's well-known end: a listener's own port; for a connection, the lower
/// of its two ports that has a name (servers listen low, clients come from high ports).
fn service_of(entry: &SocketEntry, services: &Services) -> Option<Arc<str>> {
    let inet = entry.inet()?;
    let name = |port: u16| services.name(port, inet.proto).cloned();
    let local = inet.local.port();
    match inet.remote {
        _ if entry.is_listening() => name(local),
        Some(remote) => {
            let (low, high) = (local.min(remote.port()), local.max(remote.port()));
            name(low).or_else(|| name(high))
        }
        None => name(local),
    }
}

/// `ports metrics`: every socket (for the counts) with its owners' context (for the labels).
pub fn metrics(
    source: &mut dyn SocketSource,
    openmetrics: bool,
) -> anyhow::Result<(String, Vec<String>)> {
    let started = std::time::Instant::now();
    let query = Query {
        owner_context: true,
        ..Query::default()
    };
    let snapshot = source.snapshot(&query).context("cannot list sockets")?;
    let hidden = snapshot.sockets.iter().filter(|e| e.owner_hidden).count();
    let partly = snapshot
        .sockets
        .iter()
        .filter(|e| e.owner_hidden && !e.processes.is_empty())
        .count();
    let text = render_metrics(&Metrics {
        sockets: &snapshot.sockets,
        hidden_owners: hidden,
        duration: started.elapsed(),
        version: env!("CARGO_PKG_VERSION"),
        openmetrics,
    });
    let notes = source::notes(&snapshot.problems, hidden, partly, 0);
    Ok((text, notes))
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
        inet: filter.wants_inet(),
        unix: filter.unix,
        protos,
        families: filter.families.clone(),
        states: filter.states.clone(),
        port,
        listening_only: filter.listening_only || filter.exposed,
        ..Query::default()
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
            let unread = self
                .problems
                .iter()
                .any(|p| matches!(p, Problem::NamespaceUnreadable { .. }));
            notes.push(no_match_message(
                settings,
                self.port_in_use,
                self.hidden_owners + self.hidden_unshown,
                unread,
            ));
        }
        if !self.elsewhere.is_empty() {
            notes.push(elsewhere_note(&self.elsewhere));
        }
        let (hidden, partly) = (self.hidden_owners, self.partly_hidden);
        notes.extend(source::notes(
            &self.problems,
            hidden,
            partly,
            self.hidden_unshown,
        ));
        notes
    }
}

fn elsewhere_note(namespaces: &[String]) -> String {
    let names = source::names_in_brief(namespaces);
    let noun = if namespaces.len() == 1 {
        "namespace"
    } else {
        "namespaces"
    };
    format!("it matches in network {noun} {names}: ports -N looks in every namespace")
}

/// Why nothing matched. With namespaces left unread, it speaks only of those that were read.
fn no_match_message(
    settings: &Settings,
    port_in_use: Option<bool>,
    hidden: usize,
    namespaces_unread: bool,
) -> String {
    let filter = &settings.filter;
    let ports = &filter.ports;
    if ports.is_empty() {
        return "no socket matches".into();
    }
    let list: Vec<String> = ports.iter().map(ToString::to_string).collect();
    let one = ports.len() == 1 && ports[0].range.first == ports[0].range.last;
    let (noun, verb) = if one {
        ("port", "is")
    } else {
        ("ports", "are")
    };
    let list = list.join(" or ");
    let owner_filter =
        filter.pids.len() + usize::from(filter.process.is_some() || filter.user.is_some());
    match port_in_use {
        // The owner the filter asks about may be the one that could not be seen.
        Some(true) if hidden > 0 && owner_filter > 0 => format!(
            "{noun} {list} {verb} in use, but by a process that could not be seen, so {} cannot be checked",
            filter.describe_others()
        ),
        Some(true) => format!(
            "{noun} {list} {verb} in use, but not by a socket matching {}",
            filter.describe_others()
        ),
        _ if namespaces_unread => {
            format!("no socket uses {noun} {list} in the network namespaces that could be read")
        }
        _ => format!("no socket uses {noun} {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proto;

    #[test]
    fn the_elsewhere_note_names_up_to_three_namespaces() {
        let tail = ": ports -N looks in every namespace";
        let one = elsewhere_note(&["web".to_owned()]);
        assert_eq!(one, format!("it matches in network namespace web{tail}"));
        let five: Vec<String> = (1..=5).map(|n| format!("ns{n}")).collect();
        let many = elsewhere_note(&five);
        let want = format!("it matches in network namespaces ns1, ns2, ns3 and 2 more{tail}");
        assert_eq!(many, want);
    }

    #[test]
    fn a_unix_socket_learns_its_peers_holders_and_no_one_elses() {
        use crate::model::{Endpoint, UnixName, UnixSocket, UnixType};
        let end = |inode: u64, peer: Option<u64>, pids: &[u32]| SocketEntry {
            inode,
            processes: (pids.iter())
                .map(|&pid| {
                    Arc::new(ProcessInfo {
                        pid,
                        ..ProcessInfo::default()
                    })
                })
                .collect(),
            ..SocketEntry::new(
                Endpoint::Unix(UnixSocket {
                    kind: UnixType::Stream,
                    name: UnixName::Unnamed,
                    peer,
                    peer_name: None,
                    peer_owners: Vec::new(),
                    state: Some(State::Established),
                }),
                Arc::new(Netns::host(1)),
            )
        };
        let mut sockets = vec![
            end(1, Some(2), &[10]),
            end(2, Some(1), &[20, 21]),
            end(3, Some(4), &[30]),
        ];
        find_unix_peer_owners(&mut sockets);
        let pids = |e: &SocketEntry| -> Vec<u32> {
            e.unix()
                .unwrap()
                .peer_owners
                .iter()
                .map(|p| p.pid)
                .collect()
        };
        assert_eq!(
            sockets.iter().map(pids).collect::<Vec<_>>(),
            [vec![20, 21], vec![10], vec![]]
        );
    }

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
