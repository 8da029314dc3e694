//! The ruleset of the namespace the calling thread is in, as nft and iptables-save print it
//! (`--firewall`). The programs run by absolute path from the standard sbin directories, never
//! found through PATH, all at once (a ufw host needs three), each with a time limit; a child
//! inherits the calling thread's network namespace, so a thread that entered one reads its
//! ruleset.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ipnet::IpNet;
use wait_timeout::ChildExt;

use super::*;
use crate::source::ruleset::{AddressHolder, FirewallGap, RulesetRead, RulesetTexts};

const SBIN: [&str; 3] = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// nft takes 0.3-0.4 s on 5,000 rules here; ten times that is a hung program, not a big ruleset.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// The ruleset and addresses of the calling thread's network namespace.
pub(super) fn read_here(netns: &Arc<Netns>) -> RulesetRead {
    let texts = match runs_as_root() {
        true => read_texts(),
        false => Err(FirewallGap::NeedsRoot),
    };
    RulesetRead {
        netns: Arc::clone(netns),
        texts,
        interfaces: interfaces(),
    }
}

fn read_texts() -> Result<RulesetTexts, FirewallGap> {
    let legacy_v4 = has_tables("ip_tables_names");
    let legacy_v6 = has_tables("ip6_tables_names");
    let runs = [
        start("nft", &["-j", "list", "ruleset"], true),
        start("iptables-nft-save", &[], true),
        start("ip6tables-nft-save", &[], true),
        start("iptables-legacy-save", &[], legacy_v4),
        start("ip6tables-legacy-save", &[], legacy_v6),
    ];
    let mut failures = Vec::new();
    let [
        nft_json,
        nft_save_v4,
        nft_save_v6,
        legacy_save_v4,
        legacy_save_v6,
    ] = runs.map(|run| finish(run, &mut failures));
    if nft_json.is_none() && nft_save_v4.is_none() && failures.is_empty() {
        return Err(FirewallGap::NoProgram);
    }
    if nft_json.is_none() && nft_save_v4.is_none() && nft_save_v6.is_none() {
        return Err(FirewallGap::Failed(failures.join("; ")));
    }
    Ok(RulesetTexts {
        nft_json,
        nft_save_v4,
        nft_save_v6,
        legacy_save_v4,
        legacy_save_v6,
        legacy_present: legacy_v4 || legacy_v6,
        failures,
    })
}

/// Whether legacy iptables tables exist in this thread's namespace (/proc/net would name the
/// process's namespace, not the one this thread entered).
fn has_tables(names: &str) -> bool {
    std::fs::read(format!("/proc/thread-self/net/{names}")).is_ok_and(|text| !text.is_empty())
}

/// A started program, or `Ok(None)` where it is not installed or not wanted.
type Run = (&'static str, std::io::Result<Option<Child>>);

fn start(program: &'static str, args: &[&str], wanted: bool) -> Run {
    let Some(path) = wanted.then(|| installed(program)).flatten() else {
        return (program, Ok(None));
    };
    let child = Command::new(path)
        .args(args)
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    (program, child.map(Some))
}

fn installed(program: &str) -> Option<PathBuf> {
    SBIN.iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
}

/// What a program printed, or `None` with its failure added to `failures`.
fn finish((program, run): Run, failures: &mut Vec<String>) -> Option<String> {
    let result = run.and_then(|child| child.map(output).transpose());
    match result {
        Ok(Some(Ok(text))) => Some(text),
        Ok(None) => None,
        Ok(Some(Err(how))) => {
            failures.push(format!("{program} {how}"));
            None
        }
        Err(error) => {
            failures.push(format!("{program} could not run ({error})"));
            None
        }
    }
}

/// The child's standard output when it exits with success within the time limit.
fn output(mut child: Child) -> std::io::Result<Result<String, String>> {
    let mut stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
    let reader = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let Some(status) = child.wait_timeout(TIME_LIMIT)? else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(Err(format!("took over {}s", TIME_LIMIT.as_secs())));
    };
    let text = reader.join().unwrap_or_else(|_| Ok(String::new()))?;
    Ok(match status.success() {
        true => Ok(text),
        false => Err(format!("failed ({status})")),
    })
}

/// Each interface with its addresses, in this thread's namespace.
fn interfaces() -> Vec<(String, Vec<IpNet>)> {
    let mut found: Vec<(String, Vec<IpNet>)> = Vec::new();
    let Ok(addresses) = nix::ifaddrs::getifaddrs() else {
        return found;
    };
    for address in addresses {
        let net = address.address.as_ref().zip(address.netmask.as_ref());
        let Some(net) = net.and_then(|(addr, mask)| ip_net(addr, mask)) else {
            continue;
        };
        match found
            .iter_mut()
            .find(|(name, _)| *name == address.interface_name)
        {
            Some((_, nets)) => nets.push(net),
            None => found.push((address.interface_name, vec![net])),
        }
    }
    found
}

fn ip_net(
    addr: &nix::sys::socket::SockaddrStorage,
    mask: &nix::sys::socket::SockaddrStorage,
) -> Option<IpNet> {
    if let (Some(addr), Some(mask)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) {
        let net = ipnet::Ipv4Net::with_netmask(addr.ip(), mask.ip()).ok()?;
        return Some(IpNet::V4(net));
    }
    let (addr, mask) = (addr.as_sockaddr_in6()?, mask.as_sockaddr_in6()?);
    let net = ipnet::Ipv6Net::with_netmask(addr.ip(), mask.ip()).ok()?;
    Some(IpNet::V6(net))
}

/// The rulesets of our own namespace (read here) and of the others (each entered in turn on
/// a thread of their own).
pub(super) fn read_all(own: Option<&Arc<Netns>>, others: &[netns::Namespace]) -> Vec<RulesetRead> {
    thread::scope(|scope| {
        let others = scope.spawn(|| others.iter().map(read_entered).collect::<Vec<_>>());
        let mut all: Vec<RulesetRead> = own.map(read_here).into_iter().collect();
        all.extend(others.join().unwrap_or_default());
        all
    })
}

fn read_entered(ns: &netns::Namespace) -> RulesetRead {
    match netns::enter(ns) {
        Ok(()) => read_here(&ns.netns),
        Err(error) => RulesetRead {
            netns: Arc::clone(&ns.netns),
            texts: Err(FirewallGap::Failed(format!("entering it: {error}"))),
            interfaces: Vec::new(),
        },
    }
}

/// A running Docker container with `to`'s address (and who listens on its port), else the
/// network namespace with that address on an interface, else nobody. `netns` is the inode of
/// the namespace whose rule forwards there: its own daemon's containers are the ones reached.
pub(crate) fn address_holder(to: SocketAddr, netns: u64) -> AddressHolder {
    let mut files = ContainerFiles::here();
    let netns_of = |pid: u32| netns::inode_of(Path::new(&format!("/proc/{pid}/ns/net")));
    let running = files
        .docker_at_in(to.ip(), netns, netns_of)
        .and_then(|c| c.pid.filter(|&pid| pid != 0).map(|pid| (c.name, pid)));
    if let Some((name, pid)) = running {
        let listens = match listener_in(pid, to) {
            Some(listener) => format!("{} listens", listener.name),
            None => format!("nothing listens on {}", to.port()),
        };
        return AddressHolder::Known(format!("docker:{name}, {listens}"));
    }
    let namespaces = netns::discover();
    let holding = thread::scope(|scope| {
        let found = scope.spawn(|| namespaces.iter().find(|ns| has_address(ns, to.ip())));
        found
            .join()
            .ok()
            .flatten()
            .map(|ns| ns.netns.label().into_owned())
    });
    holding.map_or(AddressHolder::Nobody, AddressHolder::Known)
}

/// Whether `ns` has `addr` on an interface: entered on the calling thread, which is spent.
fn has_address(ns: &netns::Namespace, addr: std::net::IpAddr) -> bool {
    netns::enter(ns).is_ok()
        && interfaces()
            .iter()
            .any(|(_, nets)| nets.iter().any(|net| net.addr() == addr))
}
