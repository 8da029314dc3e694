//! A fixed list of sockets, so filters and presenters can be tested without the OS, and
//! `--replay FILE` can show a `--json` dump as if it were this machine.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Problem, Query, Snapshot, SocketSource, SourceError};
use crate::model::{
    Container, Endpoint, InetSocket, Netns, ProcessInfo, Proto, Queues, Runtime, SocketEntry, State,
};

/// The host namespace's inode in the sample (Linux 6.18's initial network namespace).
const SAMPLE_NETNS: u64 = 4026531833;

/// Returns the same snapshot every time.
#[derive(Debug, Clone, Default)]
pub struct FakeSource {
    pub entries: Vec<SocketEntry>,
    pub problems: Vec<Problem>,
    /// When the snapshot says it was taken; `None` for now.
    pub taken_at: Option<SystemTime>,
    /// Rulesets handed out when a query asks for them (`--firewall` from canned dumps).
    pub rulesets: Vec<super::RulesetRead>,
}

impl SocketSource for FakeSource {
    fn snapshot(&mut self, query: &Query) -> Result<Snapshot, SourceError> {
        let mut namespaces: Vec<Arc<Netns>> = Vec::new();
        for entry in &self.entries {
            if !namespaces.iter().any(|ns| ns.inode == entry.netns.inode) {
                namespaces.push(Arc::clone(&entry.netns));
            }
        }
        Ok(Snapshot {
            sockets: self.entries.clone(),
            namespaces,
            problems: self.problems.clone(),
            taken_at: self.taken_at,
            host: None,
            rulesets: match query.firewall {
                true => self.rulesets.clone(),
                false => Vec::new(),
            },
        })
    }
}

impl FakeSource {
    /// The sockets of a `ports --json` dump. Hidden owners in it become the matching problem,
    /// so the replay says what the original run said.
    pub fn replay(path: &Path) -> Result<FakeSource, String> {
        let text = read_dump(path)?;
        let not_a_dump = |error: serde_json::Error| {
            format!("'{}' is not a ports --json dump: {error}", path.display())
        };
        // A plain array, or a --envelope document around one.
        let mut document: serde_json::Value = serde_json::from_str(&text).map_err(not_a_dump)?;
        if let Some(sockets) = document.get_mut("sockets") {
            document = sockets.take();
        }
        let entries: Vec<SocketEntry> = serde_json::from_value(document).map_err(not_a_dump)?;
        let problems = replayed_problems(&entries);
        Ok(FakeSource {
            entries,
            problems,
            taken_at: None,
            rulesets: Vec::new(),
        })
    }

    /// A small machine: a web server whose two workers share a listener, a client connection,
    /// DNS over UDP, IPv6, a TIME-WAIT leftover, a hidden owner and a hostile process name.
    pub fn sample() -> FakeSource {
        let nginx_master = process(
            1200,
            "nginx",
            "root",
            0,
            "nginx: master process /usr/sbin/nginx",
        );
        let nginx_master = ProcessInfo {
            unit: Some("nginx.service".into()),
            ..nginx_master
        };
        let nginx_worker = ProcessInfo {
            ppid: Some(1200),
            parent: Some("nginx".into()),
            unit: Some("nginx.service".into()),
            ..process(1201, "nginx", "www-data", 33, "nginx: worker process")
        };
        let postgres = process(
            880,
            "postgres",
            "postgres",
            112,
            "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
        );
        let postgres = ProcessInfo {
            container: Some(Container {
                runtime: Runtime::Docker,
                id: "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211".into(),
                name: Some("db".into()),
            }),
            ..postgres
        };
        let resolved = ProcessInfo {
            program: "systemd-resolved".into(),
            unit: Some("systemd-resolved.service".into()),
            ..process(
                412,
                "systemd-resolve",
                "systemd-resolve",
                101,
                "/lib/systemd/systemd-resolved",
            )
        };
        let curl = process(
            5150,
            "curl",
            "alice",
            1000,
            "curl http://127.0.0.1:8080/health",
        );
        let evil = process(
            6666,
            "\x1b[31mevil",
            "mallory",
            1666,
            "\x1b[31mevil --\u{202e}txt.exe",
        );
        let [nginx_master, nginx_worker, postgres, resolved, curl, evil] =
            [nginx_master, nginx_worker, postgres, resolved, curl, evil].map(Arc::new);
        let web = [nginx_master, nginx_worker];
        let mut entries = vec![
            tcp("0.0.0.0:8080", None, State::Listen, &web),
            tcp("[::]:8080", None, State::Listen, &web),
            tcp("127.0.0.1:5432", None, State::Listen, &[postgres]),
            tcp(
                "127.0.0.1:8080",
                Some("127.0.0.1:51234"),
                State::Established,
                &[web[1].clone()],
            ),
            tcp(
                "127.0.0.1:51234",
                Some("127.0.0.1:8080"),
                State::Established,
                &[curl],
            ),
            tcp(
                "127.0.0.1:51200",
                Some("127.0.0.1:8080"),
                State::TimeWait,
                &[],
            ),
            tcp(
                "[2001:db8::10]:22",
                Some("[2001:db8::99]:60022"),
                State::Established,
                &[],
            )
            .hidden(),
            udp("127.0.0.53:53", None, &[resolved]),
            udp("[::1]:9999", Some("[::1]:53"), &[evil]),
        ];
        // Distinct inodes, as the kernel's are; 0 where no file refers to the socket.
        for (inode, entry) in (40_001..).zip(&mut entries) {
            if entry.state() != Some(State::TimeWait) {
                entry.inode = inode;
            }
            // A listener's queues are its waiting connections and its backlog.
            let listener = entry.state() == Some(State::Listen);
            let (recv, send) = if listener { (0, 128) } else { (0, 0) };
            entry.queues = Some(Queues { recv, send });
        }
        // The IPv4 web listener's backlog is full: connections are being dropped.
        entries[0].queues = Some(Queues {
            recv: 129,
            send: 128,
        });
        FakeSource {
            entries,
            problems: vec![Problem::OwnersHidden {
                reason: super::HiddenReason::NotRoot,
            }],
            taken_at: Some(UNIX_EPOCH + Duration::from_secs(SAMPLE_TIME)),
            rulesets: Vec::new(),
        }
    }
}

/// The largest dump `--replay` reads: 100,000 sockets with every field make about 60 MB, and
/// parsing takes about five times the file's size in memory.
pub const REPLAY_LIMIT: u64 = 256 << 20;

/// Reads a dump: a regular file (not `/dev/zero`, a fifo or a terminal) of at most
/// `REPLAY_LIMIT` bytes.
fn read_dump(path: &Path) -> Result<String, String> {
    let cannot = |error: std::io::Error| format!("cannot read '{}': {error}", path.display());
    let too_large = || {
        let limit = REPLAY_LIMIT >> 20;
        format!(
            "'{}' is larger than the {limit} MiB a replay reads",
            path.display()
        )
    };
    // Opened without blocking (a fifo would wait for a writer), then looked at: what is read
    // is what was looked at.
    let file = open_without_blocking(path).map_err(cannot)?;
    let metadata = file.metadata().map_err(cannot)?;
    if !metadata.is_file() {
        return Err(format!("'{}' is not a regular file", path.display()));
    }
    if metadata.len() > REPLAY_LIMIT {
        return Err(too_large());
    }
    // The file may grow after the look: read no more than the limit all the same.
    let mut text = String::new();
    file.take(REPLAY_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    match text.len() as u64 > REPLAY_LIMIT {
        true => Err(too_large()),
        false => Ok(text),
    }
}

#[cfg(target_os = "linux")]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// A dump keeps `owner_hidden` per socket, not why: the replay says that it cannot tell.
fn replayed_problems(entries: &[SocketEntry]) -> Vec<Problem> {
    if !entries.iter().any(|e| e.owner_hidden) {
        return Vec::new();
    }
    let detail = "the run that made this dump could not see them".into();
    let reason = super::HiddenReason::ProcUnavailable { detail };
    vec![Problem::OwnersHidden { reason }]
}

/// When the sample snapshot was taken: 2026-11-26 12:00 UTC, so ages are the same every run.
pub const SAMPLE_TIME: u64 = 1_795_694_400;

fn process(pid: u32, name: &str, user: &str, uid: u32, cmdline: &str) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: name.into(),
        user: Some(user.into()),
        uid: Some(uid),
        cmdline: cmdline.into(),
        ppid: Some(1),
        parent: Some("systemd".into()),
        started: Some(SAMPLE_TIME - 3 * 86_400 - 4 * 3_600),
        ..ProcessInfo::default()
    }
}

fn tcp(
    local: &str,
    remote: Option<&str>,
    state: State,
    owners: &[Arc<ProcessInfo>],
) -> SocketEntry {
    entry(Proto::Tcp, local, remote, Some(state), owners)
}

fn udp(local: &str, remote: Option<&str>, owners: &[Arc<ProcessInfo>]) -> SocketEntry {
    let state = if remote.is_some() {
        State::Established
    } else {
        State::Unconn
    };
    entry(Proto::Udp, local, remote, Some(state), owners)
}

fn entry(
    proto: Proto,
    local: &str,
    remote: Option<&str>,
    state: Option<State>,
    owners: &[Arc<ProcessInfo>],
) -> SocketEntry {
    let endpoint = Endpoint::Inet(InetSocket {
        proto,
        local: parse(local),
        remote: remote.map(parse),
        state,
        interface: None,
    });
    SocketEntry {
        uid: owners.first().and_then(|owner| owner.uid),
        processes: owners.to_vec(),
        ..SocketEntry::new(endpoint, Arc::new(Netns::host(SAMPLE_NETNS)))
    }
}

#[allow(
    clippy::expect_used,
    reason = "fixed sample text, checked by the tests that use it"
)]
fn parse(addr: &str) -> std::net::SocketAddr {
    addr.parse().expect("sample addresses are valid")
}

impl SocketEntry {
    fn hidden(mut self) -> SocketEntry {
        self.owner_hidden = true;
        self
    }
}
