//! The table at the widths people use (60, 80, 100, 120 and 200 columns, and 40), over a busy
//! fake machine: a long IPv6 connection, a listener shared by many workers, long names.

use std::sync::Arc;

use clap::Parser;
use ports::app;
use ports::cli::Opts;
use ports::model::{Endpoint, InetSocket, Netns, ProcessInfo, Proto, SocketEntry, State};
use ports::settings::{Settings, Terminal};
use ports::source::FakeSource;

fn process(pid: u32, name: &str, user: &str) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        name: name.into(),
        user: Some(user.into()),
        uid: Some(pid),
        cmdline: format!("/usr/sbin/{name} --serve"),
        ..ProcessInfo::default()
    })
}

fn tcp(
    local: &str,
    remote: Option<&str>,
    state: State,
    owners: Vec<Arc<ProcessInfo>>,
) -> SocketEntry {
    let inet = InetSocket {
        proto: Proto::Tcp,
        local: local.parse().unwrap(),
        remote: remote.map(|r| r.parse().unwrap()),
        state: Some(state),
        interface: None,
    };
    SocketEntry {
        processes: owners,
        // The sample's host namespace: one namespace, so no NETNS column.
        ..SocketEntry::new(Endpoint::Inet(inet), Arc::new(Netns::host(4026531833)))
    }
}

fn busy() -> FakeSource {
    let mut source = FakeSource::sample();
    let workers = (0..5)
        .map(|i| process(2000 + i, "php-fpm8.2", "www-data"))
        .collect();
    let exporter = vec![process(3100, "prometheus-node", "prometheus-exporter")];
    source.entries.extend([
        tcp("127.0.0.1:9000", None, State::Listen, workers),
        tcp("[::]:9100", None, State::Listen, exporter),
        tcp(
            "[2001:db8:1234:5678:9abc:def0:1234:5678]:443",
            Some("[2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa]:51515"),
            State::Established,
            vec![process(4400, "nginx", "www-data")],
        ),
        tcp(
            "127.0.0.2:8080",
            None,
            State::Listen,
            vec![process(4500, "python3", "alice")],
        ),
    ]);
    source
}

fn table(width: u16) -> String {
    let opts = Opts::try_parse_from(["ports", "--color", "never"]).unwrap();
    let terminal = Terminal {
        stdout_is_tty: true,
        width: Some(width),
        no_color: false,
        dumb: false,
    };
    let settings = Settings::new(opts.list, &terminal).unwrap();
    let mut out = Vec::new();
    app::run(&settings, &mut busy(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn each_width_fits_and_keeps_every_local_port() {
    for width in [40u16, 60, 80, 100, 120, 200] {
        let out = table(width);
        assert!(widest(&out) <= usize::from(width), "{width}:\n{out}");
        for port in [
            ":5432", ":8080", ":9000", ":9100", ":443", ":22", ":53", ":9999",
        ] {
            assert!(out.contains(port), "{width} lost {port}:\n{out}");
        }
        // Two listeners on 8080 that differ only in the last digit of the address stay apart.
        if width >= 60 {
            assert!(
                out.contains("0.1:8080") && out.contains("0.2:8080"),
                "{width}:\n{out}"
            );
        }
    }
}

#[test]
fn snapshots_at_each_width() {
    for width in [40u16, 60, 80, 100, 120, 200] {
        insta::assert_snapshot!(format!("width_{width}"), table(width));
    }
}

#[test]
fn a_wide_terminal_uses_its_width_and_cuts_nothing() {
    let out = table(200);
    assert!(!out.contains('…'), "{out}");
    assert!(out.contains("USER"), "{out}");
    assert!(
        out.contains("2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa"),
        "{out}"
    );
}
