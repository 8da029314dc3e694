//! A fixed list of sockets, so filters and presenters can be tested without the OS.

use std::sync::Arc;

use super::{SocketSource, SourceError};
use crate::filter::Filter;
use crate::model::{ProcessInfo, Proto, SocketEntry, TcpState};

/// Returns the same entries every time.
#[derive(Debug, Clone, Default)]
pub struct FakeSource {
    pub entries: Vec<SocketEntry>,
}

impl SocketSource for FakeSource {
    fn sockets(&self, _hint: &Filter) -> Result<Vec<SocketEntry>, SourceError> {
        Ok(self.entries.clone())
    }
}

impl FakeSource {
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
        let nginx_worker = process(1201, "nginx", "www-data", 33, "nginx: worker process");
        let postgres = process(
            880,
            "postgres",
            "postgres",
            112,
            "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
        );
        let resolved = process(
            412,
            "systemd-resolve",
            "systemd-resolve",
            101,
            "/lib/systemd/systemd-resolved",
        );
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
        let web = [nginx_master, nginx_worker];
        FakeSource {
            entries: vec![
                tcp("0.0.0.0:8080", None, TcpState::Listen, &web),
                tcp("[::]:8080", None, TcpState::Listen, &web),
                tcp("127.0.0.1:5432", None, TcpState::Listen, &[postgres]),
                tcp(
                    "127.0.0.1:8080",
                    Some("127.0.0.1:51234"),
                    TcpState::Established,
                    &[web[1].clone()],
                ),
                tcp(
                    "127.0.0.1:51234",
                    Some("127.0.0.1:8080"),
                    TcpState::Established,
                    &[curl],
                ),
                tcp(
                    "127.0.0.1:51200",
                    Some("127.0.0.1:8080"),
                    TcpState::TimeWait,
                    &[],
                ),
                tcp(
                    "[2001:db8::10]:22",
                    Some("[2001:db8::99]:60022"),
                    TcpState::Established,
                    &[],
                )
                .hidden(),
                udp("127.0.0.53:53", None, &[resolved]),
                udp("[::1]:9999", Some("[::1]:53"), &[evil]),
            ],
        }
    }
}

fn process(pid: u32, name: &str, user: &str, uid: u32, cmdline: &str) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        name: name.into(),
        user: Some(user.into()),
        uid: Some(uid),
        cmdline: cmdline.into(),
    })
}

fn tcp(
    local: &str,
    remote: Option<&str>,
    state: TcpState,
    owners: &[Arc<ProcessInfo>],
) -> SocketEntry {
    entry(Proto::Tcp, local, remote, Some(state), owners)
}

fn udp(local: &str, remote: Option<&str>, owners: &[Arc<ProcessInfo>]) -> SocketEntry {
    entry(Proto::Udp, local, remote, None, owners)
}

fn entry(
    proto: Proto,
    local: &str,
    remote: Option<&str>,
    state: Option<TcpState>,
    owners: &[Arc<ProcessInfo>],
) -> SocketEntry {
    SocketEntry {
        proto,
        local: parse(local),
        remote: remote.map(parse),
        state,
        processes: owners.to_vec(),
        owner_hidden: false,
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
