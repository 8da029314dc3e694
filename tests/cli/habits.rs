//! What users of ss, netstat and lsof type first: each habit against real sockets, asserting
//! what was found, not only the exit code.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command};

use serde_json::Value;

use crate::support::{PYTHON, explain, free_port, json, ports, start_and_read_line};

fn me() -> u64 {
    u64::from(std::process::id())
}

/// Whether `sockets` has our socket on 127.0.0.1:`port` in `state` (any state for None).
fn has_ours(sockets: &[Value], port: u16, state: Option<&str>) -> bool {
    sockets.iter().any(|s| {
        s["local_addr"] == "127.0.0.1"
            && s["local_port"] == port
            && state.is_none_or(|state| s["state"] == state)
            && s["processes"][0]["pid"] == me()
    })
}

#[test]
fn netstat_and_ss_letter_soup_works() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    let p = port.to_string();
    for soup in ["-tulpn", "-tlp", "-nlp", "-tuln", "-l -l", "-t -t -l"] {
        let mut args: Vec<&str> = soup.split(' ').collect();
        args.push(&p);
        let (sockets, output) = json(&args);
        let why = explain(&args, &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        assert!(has_ours(&sockets, port, Some("listen")), "{why}");
        assert!(
            sockets.iter().all(|s| s["state"] == "listen"),
            "only listeners: {why}"
        );
    }
    // -a wins over -l, as in ss and netstat; lsof's -nP is understood.
    for soup in ["-antp", "-plant", "-nP"] {
        let (sockets, output) = json(&[soup, &p]);
        let why = explain(&[soup, &p], &output);
        assert!(sockets.iter().any(|s| s["state"] == "established"), "{why}");
    }
    let (sockets, output) = json(&["-antp", &p]);
    let why = explain(&["-antp", &p], &output);
    assert!(has_ours(&sockets, port, Some("listen")), "{why}");
    let client_port = client.local_addr().unwrap().port();
    assert!(
        has_ours(&sockets, client_port, Some("established")),
        "-a keeps connections: {why}"
    );
}

#[test]
fn pids_are_a_comma_list_or_repeated_and_p_alone_is_a_habit() {
    let (one, two) = (Holder::start(), Holder::start());
    let list = format!("{},{}", one.pid(), two.pid());
    for args in [
        vec!["--pid", list.as_str()],
        vec!["--pid", &one.pid_text, "--pid", &two.pid_text],
    ] {
        let (sockets, output) = json(&args);
        let why = explain(&args, &output);
        let pids: Vec<u64> = sockets
            .iter()
            .map(|s| s["processes"][0]["pid"].as_u64().unwrap())
            .collect();
        assert!(
            pids.contains(&one.pid()) && pids.contains(&two.pid()),
            "{why}"
        );
        assert!(
            pids.iter().all(|pid| [one.pid(), two.pid()].contains(pid)),
            "{why}"
        );
    }
    let (sockets, output) = json(&["-p", "-l", &one.port.to_string()]);
    assert_eq!(
        sockets[0]["processes"][0]["pid"],
        one.pid(),
        "{}",
        explain(&["-p"], &output)
    );
}

#[test]
fn ports_take_lists_protocols_and_names() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let udp = UdpSocket::bind(("127.0.0.1", port)).expect("the same number for UDP");
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port();
    let both = format!("{port},{other_port}");
    let (sockets, output) = json(&["-l", &both]);
    let why = explain(&["-l", &both], &output);
    assert!(
        has_ours(&sockets, port, Some("listen")) && has_ours(&sockets, other_port, None),
        "{why}"
    );
    let tcp_only = format!(":{port}/tcp");
    let (sockets, output) = json(&[&tcp_only]);
    let why = explain(&[&tcp_only], &output);
    assert!(
        sockets.iter().all(|s| s["proto"] == "tcp") && !sockets.is_empty(),
        "{why}"
    );
    let udp_only = format!("{port}/udp");
    let (sockets, output) = json(&[&udp_only]);
    let why = explain(&[&udp_only], &output);
    assert_eq!(sockets.len(), 1, "{why}");
    assert_eq!(sockets[0]["proto"], "udp", "{why}");
    drop(udp);
}

#[test]
fn lsof_dash_i_maps_to_the_same_query() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for spec in [
        format!(":{port}"),
        format!("tcp:{port}"),
        format!("4tcp:{port}"),
    ] {
        let (sockets, output) = json(&["-i", &spec]);
        let why = explain(&["-i", &spec], &output);
        assert!(has_ours(&sockets, port, Some("listen")), "{why}");
    }
    let output = ports().args(["-i", "@10.0.0.1:80"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("use --remote 10.0.0.1"), "{stderr}");
}

#[test]
fn enum_values_ignore_case_and_color_alone_means_always() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = ports()
        .args([
            "--sort", "PORT", "--state", "LISTEN", "--color", "NEVER", &port,
        ])
        .output()
        .unwrap();
    let why = explain(&["--sort PORT --state LISTEN --color NEVER"], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!("127.0.0.1:{port}")),
        "{why}"
    );
    // Piped, so only `always` colours it.
    let output = ports().args(["--color", "-l", &port]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\x1b["),
        "{}",
        explain(&["--color"], &output)
    );
}

#[test]
fn the_no_match_note_says_what_is_true() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    drop(listener);
    // The listener is gone; the connection still uses the port, and a client's port is remote.
    let p = port.to_string();
    let output = ports().args(["-l", &p]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("ports: port {port} is in use, but not by a socket matching -l\n")
    );
    let free = free_port().to_string();
    let output = ports().args(["-l", "-t", &free]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("ports: no socket uses port {free}\n")
    );
    drop(client);
}

#[test]
fn unknown_users_and_habits_without_an_equivalent_are_named() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--user", "no-such-user-here"],
            "error: no such user 'no-such-user-here'",
        ),
        (
            &["-tulpe"],
            "error: unexpected argument '-e': ss -e (extended)",
        ),
        (
            &["-K"],
            "error: unexpected argument '-K': ports does not kill sockets",
        ),
        (
            &["-f", "inet"],
            "error: unexpected argument '-f': address family: use -4 or -6",
        ),
        (
            &["-tng"],
            "error: unexpected argument '-g': netstat -g (multicast groups)",
        ),
    ];
    for (args, want) in cases {
        let output = ports().args(args).output().unwrap();
        let why = explain(args, &output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{why}");
        assert!(
            stderr.starts_with(want) && stderr.lines().count() == 1,
            "{why}"
        );
    }
    let (_, output) = json(&["--user", "0", "-l"]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "a uid is always accepted"
    );
}

#[test]
fn columns_is_honoured_for_a_pipe_and_a_pipe_is_otherwise_not_fitted() {
    let _listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("[::1]:0").unwrap())
        .collect();
    let fitted = ports().env("COLUMNS", "50").args(["-w"]).output().unwrap();
    let unfitted = ports().arg("-6").output().unwrap();
    let narrow = ports().env("COLUMNS", "50").arg("-6").output().unwrap();
    let widest = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    assert!(
        widest(&narrow.stdout) <= 50,
        "{}",
        explain(&["COLUMNS=50 -6"], &narrow)
    );
    assert!(
        widest(&unfitted.stdout) > 50,
        "{}",
        explain(&["-6"], &unfitted)
    );
    assert!(widest(&fitted.stdout) > 50, "-w is never fitted");
}

#[test]
fn service_names_show_under_wide_and_in_json_unless_numeric() {
    let dump = r#"[{"proto":"tcp","family":"ipv4","local_addr":"0.0.0.0","local_port":22,"remote_addr":null,"remote_port":null,"state":"listen","processes":[],"owner_hidden":false,"inode":1,"netns":{"inode":1,"kind":"host"}}]"#;
    let file = std::env::temp_dir().join(format!("ports-services-{}.json", std::process::id()));
    std::fs::write(&file, dump).unwrap();
    let path = file.to_str().unwrap();
    let run = |args: &[&str]| {
        let output = ports()
            .args(["--replay", path])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(
        run(&["-w", "ssh"])
            .lines()
            .nth(1)
            .unwrap()
            .contains(" ssh "),
        "{}",
        run(&["-w"])
    );
    assert!(run(&["--json"]).contains(r#""service":"ssh""#));
    assert!(!run(&["--json", "-n"]).contains("service"));
    assert!(!run(&[]).contains("ssh"), "the default table shows numbers");
    std::fs::remove_file(&file).unwrap();
}

/// A python process holding a listener, killed when dropped.
struct Holder {
    child: Child,
    port: u16,
    pid_text: String,
}

impl Holder {
    fn start() -> Holder {
        let script = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
                      print(s.getsockname()[1],flush=True);time.sleep(60)";
        let (child, line) = start_and_read_line(Command::new(PYTHON).args(["-c", script]));
        let pid_text = child.id().to_string();
        Holder {
            port: line.trim().parse().unwrap(),
            child,
            pid_text,
        }
    }

    fn pid(&self) -> u64 {
        u64::from(self.child.id())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn color_takes_a_value_or_stands_alone_before_a_port() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let cases = [
        (vec!["--color", port.as_str()], true),
        (vec!["-l", "--color", port.as_str()], true),
        (vec!["--color", "always", port.as_str()], true),
        (vec!["--color", "never", port.as_str()], false),
    ];
    for (args, coloured) in cases {
        let output = ports().args(&args).output().unwrap();
        let why = explain(&args, &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(&port), "{why}");
        assert_eq!(stdout.contains('\x1b'), coloured, "{why}");
    }
}

#[test]
fn a_mistyped_flag_gets_claps_suggestion() {
    let output = ports().arg("--lisen").output().unwrap();
    let why = explain(&["--lisen"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: unexpected argument '--lisen' found\n"),
        "{why}"
    );
    assert!(
        stderr.contains("a similar argument exists: '--listen'"),
        "{why}"
    );
    assert!(stderr.contains("try 'ports --help'"), "{why}");
}
