//! `--firewall`: each namespace's ruleset read into rules, each listener's reach through it
//! decided, and the ports a NAT rule forwards with no socket behind them added as claims
//! (docs/firewall.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::firewall::read::{self as rules, Dumps, Note};
use crate::firewall::{Evaluator, Forward, Host, Interface, Probe};
use crate::model::{
    Claim, Endpoint, Exposure, InetSocket, Netns, NetnsKind, Proto, Reach, SocketEntry,
};
use crate::source::{
    AddressHolder, NetnsScope, Problem, Query, RulesetRead, RulesetTexts, SocketSource,
};

/// Decides `firewall` for every listener in `entries` and adds the NAT-only ports; what could
/// not be read or understood comes back as problems.
pub fn decide(
    entries: &mut Vec<SocketEntry>,
    rulesets: &[RulesetRead],
    source: &mut dyn SocketSource,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut claims = Vec::new();
    for read in rulesets {
        let netns = netns_label(&read.netns);
        let texts = match &read.texts {
            Ok(texts) => texts,
            Err(gap) => {
                mark_not_read(entries, &read.netns);
                let reason = gap.reason();
                problems.push(Problem::FirewallUnread { netns, reason });
                continue;
            }
        };
        let parsed = rules::read(&dumps(texts));
        let caveats = (parsed.notes.iter().filter(|note| worth_saying(note)))
            .map(ToString::to_string)
            .chain(texts.failures.iter().cloned());
        problems.extend(caveats.map(|detail| Problem::FirewallCaveat {
            netns: netns.clone(),
            detail,
        }));
        let host = host(&read.interfaces);
        let evaluator = Evaluator::new(&parsed.ruleset, &host);
        let mine = |entry: &SocketEntry| entry.netns.inode == read.netns.inode;
        let v6only = dual_stack_twins(entries, &mine);
        for (entry, v6only) in entries.iter_mut().filter(|e| mine(e)).zip(v6only) {
            entry.firewall = reach_of(&evaluator, entry, v6only);
        }
        claims.extend(claimed_ports(&evaluator.forwards(), entries, &read.netns));
        name_local_targets(entries, &mut claims, read, &host, source);
    }
    name_targets(entries.iter_mut().chain(claims.iter_mut()), source);
    entries.extend(claims);
    not_read_elsewhere(entries, rulesets, &mut problems);
    problems
}

/// Where a table came from is ours to know; what could not be read or understood is the
/// user's.
fn worth_saying(note: &Note) -> bool {
    !matches!(note, Note::ReadFromSave(_))
}

/// `""` for the namespace `ports` runs in, else its label.
fn netns_label(netns: &Netns) -> String {
    match netns.kind {
        NetnsKind::Host => String::new(),
        _ => netns.label().into_owned(),
    }
}

/// The listeners of `netns` show `?` (or `-` on loopback, which no rule can open).
fn mark_not_read(entries: &mut [SocketEntry], netns: &Netns) {
    let mine = entries.iter_mut().filter(|e| e.netns.inode == netns.inode);
    mine.for_each(|entry| {
        mark_one_not_read(entry);
    });
}

/// Whether `entry` is a listener without an answer, now marked.
fn mark_one_not_read(entry: &mut SocketEntry) -> bool {
    if entry.firewall.is_some() || entry.inet().is_none() || !entry.is_listening() {
        return false;
    }
    entry.firewall = Some(match entry.exposure() {
        Some(Exposure::Loopback) => Reach::LocalOnly,
        _ => Reach::NotRead,
    });
    true
}

fn dumps(texts: &RulesetTexts) -> Dumps {
    Dumps {
        nft_json: texts.nft_json.clone(),
        nft_save_v4: texts.nft_save_v4.clone(),
        nft_save_v6: texts.nft_save_v6.clone(),
        legacy_save_v4: texts.legacy_save_v4.clone(),
        legacy_save_v6: texts.legacy_save_v6.clone(),
    }
}

fn host(interfaces: &[(String, Vec<ipnet::IpNet>)]) -> Host {
    let each = interfaces.iter().map(|(name, addrs)| Interface {
        name: name.clone(),
        addrs: addrs.clone(),
    });
    Host {
        interfaces: each.collect(),
    }
}

/// For each of `entries` (in order, those `mine` keeps): a `[::]` listener with an IPv4
/// wildcard twin on its port must have set IPV6_V6ONLY, or its bind would have failed.
fn dual_stack_twins(entries: &[SocketEntry], mine: &dyn Fn(&SocketEntry) -> bool) -> Vec<bool> {
    let v4_wildcards: Vec<(crate::model::Proto, u16)> = entries
        .iter()
        .filter(|e| mine(e) && e.is_listening())
        .filter_map(|e| e.inet())
        .filter(|inet| inet.local.ip() == IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .map(|inet| (inet.proto, inet.local.port()))
        .collect();
    let twin = |inet: &InetSocket| {
        inet.local.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            && v4_wildcards.contains(&(inet.proto, inet.local.port()))
    };
    let each = entries.iter().filter(|e| mine(e));
    each.map(|e| e.inet().is_some_and(twin)).collect()
}

/// A listener's reach; `None` for sockets that accept no connection (clients, Unix).
fn reach_of(evaluator: &Evaluator, entry: &SocketEntry, v6only: bool) -> Option<Reach> {
    let inet = entry.inet()?;
    if !entry.is_listening() || entry.claim.is_some() {
        return entry.firewall.clone();
    }
    if entry.exposure() == Some(Exposure::Loopback) {
        return Some(Reach::LocalOnly);
    }
    let probe = Probe {
        proto: inet.proto,
        local: inet.local,
        // The kernel says (INET_DIAG_SKV6ONLY); where it did not, the twin rule decides.
        v6only: entry.v6only.unwrap_or(v6only),
    };
    Some(evaluator.reach(&probe))
}

/// A row for each port a NAT rule forwards where no socket of ours listens: the connection
/// never meets a socket on this host.
fn claimed_ports(
    forwards: &[Forward],
    entries: &[SocketEntry],
    netns: &Arc<Netns>,
) -> Vec<SocketEntry> {
    let served = |forward: &Forward| {
        entries.iter().any(|e| {
            e.netns.inode == netns.inode
                && e.is_listening()
                && e.inet().is_some_and(|inet| {
                    inet.proto == forward.proto && inet.local.port() == forward.port
                })
        })
    };
    let unserved = forwards.iter().filter(|f| !served(f));
    unserved.map(|f| claim(f, netns)).collect()
}

fn claim(forward: &Forward, netns: &Arc<Netns>) -> SocketEntry {
    let wildcard = match forward.to {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let address = forward.daddr.map_or(wildcard, |net| net.addr());
    let endpoint = Endpoint::Inet(InetSocket {
        proto: forward.proto,
        local: SocketAddr::new(address, forward.port),
        remote: None,
        state: None,
        interface: None,
    });
    SocketEntry {
        firewall: Some(forward.reach.clone()),
        claim: Some(Claim { stale: false }),
        ..SocketEntry::new(endpoint, Arc::clone(netns))
    }
}

/// A row of the listing, or of the NAT rows added to it.
#[derive(Clone, Copy)]
enum Row {
    Listed(usize),
    Claim(usize),
}

/// A redirect (or DNAT to one of the namespace's own addresses) lands here: who listens on
/// the port it lands on.
fn name_local_targets(
    entries: &mut [SocketEntry],
    claims: &mut [SocketEntry],
    read: &RulesetRead,
    host: &Host,
    source: &mut dyn SocketSource,
) {
    let rows = (entries.iter().enumerate().map(|(i, e)| (Row::Listed(i), e)))
        .chain(claims.iter().enumerate().map(|(i, e)| (Row::Claim(i), e)));
    let landing_here = |(row, entry): (Row, &SocketEntry)| match &entry.firewall {
        Some(Reach::Forwarded {
            to, target: None, ..
        }) if entry.netns.inode == read.netns.inode && host.is_local(to.ip()) => {
            Some((row, *to, entry.proto()?))
        }
        _ => None,
    };
    let local: Vec<(Row, SocketAddr, Proto)> = rows.filter_map(landing_here).collect();
    for (row, to, proto) in local {
        let program = listener_of(entries, &read.netns, to, proto)
            .or_else(|| listener_asked(source, &read.netns, to, proto));
        let text = match program {
            Some(program) => format!("here, {program} listens"),
            None => format!("here, nothing listens on {}", to.port()),
        };
        let entry = match row {
            Row::Listed(i) => &mut entries[i],
            Row::Claim(i) => &mut claims[i],
        };
        if let Some(Reach::Forwarded { target, .. }) = &mut entry.firewall {
            *target = Some(text);
        }
    }
}

/// The program of a listener in `sockets` that serves `to`.
fn listener_of(
    sockets: &[SocketEntry],
    netns: &Netns,
    to: SocketAddr,
    proto: Proto,
) -> Option<String> {
    let serves = |e: &&SocketEntry| {
        e.netns.inode == netns.inode
            && e.claim.is_none()
            && e.is_listening()
            && e.inet().is_some_and(|inet| {
                inet.proto == proto
                    && inet.local.port() == to.port()
                    && (inet.local.ip().is_unspecified() || inet.local.ip() == to.ip())
            })
    };
    let process = sockets
        .iter()
        .filter(serves)
        .find_map(|e| e.processes.first())?;
    Some(process.program().to_owned())
}

/// The same, asked of the source with a query of the port alone: a port query's listing
/// (`ports 8443`) holds no socket on the port a redirect lands on.
fn listener_asked(
    source: &mut dyn SocketSource,
    netns: &Netns,
    to: SocketAddr,
    proto: Proto,
) -> Option<String> {
    let scope = match (netns.kind, &netns.name) {
        (NetnsKind::Host, _) => NetnsScope::Own,
        (_, Some(name)) => NetnsScope::One(name.clone()),
        (_, None) => return None,
    };
    let query = Query {
        port: Some(to.port()),
        protos: vec![proto],
        listening_only: true,
        netns: scope,
        ..Query::default()
    };
    let snapshot = source.snapshot(&query).ok()?;
    listener_of(&snapshot.sockets, netns, to, proto)
}

/// Names where each forward lands (`docker:web, httpd listens`); a claim whose target no
/// running container or namespace holds is stale.
fn name_targets<'a>(
    entries: impl Iterator<Item = &'a mut SocketEntry>,
    source: &mut dyn SocketSource,
) {
    let mut asked: Vec<(SocketAddr, u64, AddressHolder)> = Vec::new();
    for entry in entries {
        let netns = entry.netns.inode;
        let Some(Reach::Forwarded {
            to,
            target: target @ None,
            ..
        }) = &mut entry.firewall
        else {
            continue;
        };
        let holder = match asked.iter().find(|(at, ns, _)| at == to && *ns == netns) {
            Some((_, _, holder)) => holder.clone(),
            None => {
                let holder = source.address_holder(*to, netns);
                asked.push((*to, netns, holder.clone()));
                holder
            }
        };
        match holder {
            AddressHolder::Known(name) => *target = Some(name),
            AddressHolder::Nobody => {
                if let Some(claim) = &mut entry.claim {
                    claim.stale = true;
                }
            }
            AddressHolder::Unknowable => {}
        }
    }
}

/// Listeners in namespaces with no ruleset at all (another backend, a source that reads none)
/// show `?`, and the note says why, once.
fn not_read_elsewhere(
    entries: &mut [SocketEntry],
    rulesets: &[RulesetRead],
    problems: &mut Vec<Problem>,
) {
    let read = |e: &SocketEntry| rulesets.iter().any(|r| r.netns.inode == e.netns.inode);
    let mut missing = false;
    for entry in entries.iter_mut().filter(|e| !read(e)) {
        missing |= mark_one_not_read(entry);
    }
    if missing {
        problems.push(Problem::FirewallUnread {
            netns: String::new(),
            reason: crate::source::FirewallGap::Unsupported.reason(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Proto, State};
    use crate::source::FakeSource;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/firewall");

    fn fixture(name: &str) -> Option<String> {
        Some(std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap())
    }

    fn host_netns() -> Arc<Netns> {
        Arc::new(Netns::host(4026531840))
    }

    /// The namespace the fixtures were captured in: a veth `fwt-h` and Docker's bridge.
    fn read(texts: Result<RulesetTexts, crate::source::FirewallGap>) -> RulesetRead {
        let nets = |list: &[&str]| list.iter().map(|n| n.parse().unwrap()).collect();
        RulesetRead {
            netns: host_netns(),
            texts,
            interfaces: vec![
                ("lo".into(), nets(&["127.0.0.1/8"])),
                ("fwt-h".into(), nets(&["10.213.0.1/30"])),
                ("docker0".into(), nets(&["172.17.0.1/16"])),
            ],
        }
    }

    fn listener(proto: Proto, local: &str) -> SocketEntry {
        let state = (proto == Proto::Tcp).then_some(State::Listen);
        let endpoint = Endpoint::Inet(InetSocket {
            proto,
            local: local.parse().unwrap(),
            remote: None,
            state: state.or(Some(State::Unconn)),
            interface: None,
        });
        SocketEntry::new(endpoint, host_netns())
    }

    fn ufw() -> RulesetRead {
        read(Ok(RulesetTexts {
            nft_json: fixture("ufw.json"),
            nft_save_v4: fixture("ufw.v4.save"),
            nft_save_v6: fixture("ufw.v6.save"),
            ..RulesetTexts::default()
        }))
    }

    fn verdict(entry: &SocketEntry) -> &'static str {
        entry.firewall.as_ref().map_or("none", Reach::name)
    }

    #[test]
    fn each_listener_gets_its_reach_and_a_loopback_one_none_to_give() {
        let mut entries = vec![
            listener(Proto::Tcp, "0.0.0.0:22"),
            listener(Proto::Tcp, "0.0.0.0:5432"),
            listener(Proto::Tcp, "127.0.0.1:5432"),
            listener(Proto::Udp, "0.0.0.0:60500"),
        ];
        let problems = decide(&mut entries, &[ufw()], &mut FakeSource::sample());
        let said: Vec<&str> = entries.iter().map(verdict).collect();
        assert_eq!(said, ["open", "dropped", "-", "open"], "{entries:#?}");
        assert!(
            problems
                .iter()
                .all(|p| !matches!(p, Problem::FirewallUnread { .. }))
        );
    }

    #[test]
    fn a_port_docker_publishes_without_a_socket_is_a_row_of_its_own() {
        let docker = read(Ok(RulesetTexts {
            nft_json: fixture("docker.json"),
            nft_save_v4: fixture("docker.iptables-save"),
            ..RulesetTexts::default()
        }));
        let mut entries = vec![listener(Proto::Tcp, "0.0.0.0:22")];
        decide(&mut entries, &[docker], &mut FakeSource::sample());
        let claim = entries.iter().find(|e| e.local_port() == Some(18090));
        let claim = claim.unwrap_or_else(|| panic!("no 18090 row: {entries:#?}"));
        assert!(claim.claim.is_some() && claim.is_listening());
        let Some(Reach::Forwarded { to, .. }) = &claim.firewall else {
            panic!("{claim:#?}");
        };
        assert_eq!(to.to_string(), "172.17.0.2:8080");
        // 18091 is published for 127.0.0.1 only: no other host reaches it.
        assert!(
            entries.iter().all(|e| e.local_port() != Some(18091)
                || !e.firewall.as_ref().is_some_and(Reach::may_reach))
        );
    }

    #[test]
    fn a_ruleset_that_could_not_be_read_leaves_question_marks_and_says_why() {
        let mut entries = vec![
            listener(Proto::Tcp, "0.0.0.0:22"),
            listener(Proto::Tcp, "127.0.0.1:25"),
        ];
        let gap = Err(crate::source::FirewallGap::NeedsRoot);
        let problems = decide(&mut entries, &[read(gap)], &mut FakeSource::sample());
        let said: Vec<&str> = entries.iter().map(verdict).collect();
        assert_eq!(said, ["?", "-"]);
        let notes: Vec<String> = problems.iter().filter_map(|p| p.note(0, 0, 0)).collect();
        assert_eq!(notes, ["firewall not read: needs root (CAP_NET_ADMIN)"]);
    }

    #[test]
    fn a_dual_stack_listener_beside_an_ipv4_twin_must_be_v6_only() {
        let entries = vec![
            listener(Proto::Tcp, "0.0.0.0:80"),
            listener(Proto::Tcp, "[::]:80"),
            listener(Proto::Tcp, "[::]:443"),
        ];
        let all = |_: &SocketEntry| true;
        assert_eq!(dual_stack_twins(&entries, &all), [false, true, false]);
    }
}
