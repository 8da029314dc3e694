//! The real binary against real loopback sockets that each test opens itself.

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{explain, free_port, json, ports};

fn me() -> u64 {
    u64::from(std::process::id())
}

fn owned_by_me(socket: &Value) -> bool {
    socket["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == me())
}

/// The socket bound to `addr:port`: the port alone may be reused by another family or peer.
fn find<'a>(sockets: &'a [Value], addr: &str, port: u16, state: Option<&str>) -> Option<&'a Value> {
    sockets.iter().find(|s| {
        s["local_addr"] == addr
            && s["local_port"] == port
            && state.is_none_or(|state| s["state"] == state)
    })
}

#[test]
fn tcp_listener_ipv4_is_found_with_our_pid() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sockets, output) = json(&[&port.to_string()]);
    let why = explain(&[&port.to_string()], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let socket =
        find(&sockets, "127.0.0.1", port, Some("listen")).unwrap_or_else(|| panic!("{why}"));
    assert!(owned_by_me(socket), "{why}");
    assert_eq!(socket["proto"], "tcp");
    assert_eq!(socket["family"], "ipv4");
    assert_eq!(socket["local_addr"], "127.0.0.1");
    assert_eq!(socket["remote_addr"], Value::Null);
    assert_eq!(socket["remote_port"], Value::Null);
    let me = &socket["processes"][0];
    assert!(me["name"].as_str().is_some_and(|n| !n.is_empty()), "{why}");
    // The tests run as root (privilege::assert_root), whose name NSS always knows.
    assert_eq!(
        (&me["uid"], &me["user"]),
        (&Value::from(0), &Value::from("root")),
        "{why}"
    );
}

#[test]
fn tcp_listener_ipv6_is_found_with_our_pid() {
    let listener = TcpListener::bind("[::1]:0").expect("IPv6 loopback must work here");
    let port = listener.local_addr().unwrap().port();
    let (sockets, output) = json(&["-6", &port.to_string()]);
    let why = explain(&[&port.to_string()], &output);
    let socket = find(&sockets, "::1", port, Some("listen")).unwrap_or_else(|| panic!("{why}"));
    assert!(owned_by_me(socket), "{why}");
    assert_eq!(socket["family"], "ipv6");
    assert_eq!(socket["local_addr"], "::1");
}

#[test]
fn both_ends_of_an_established_pair_are_found() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    let args = ["--state", "established", &client_port.to_string()];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    // Other connections may reuse either port number: pick each end by its address pair.
    let end = |local: u16, remote: u16| {
        let found = sockets
            .iter()
            .find(|s| s["local_port"] == local && s["remote_port"] == remote);
        found.unwrap_or_else(|| panic!("no {local} -> {remote}\n{why}"))
    };
    for socket in [end(client_port, server_port), end(server_port, client_port)] {
        assert_eq!(socket["state"], "established", "{why}");
        assert_eq!(socket["local_addr"], "127.0.0.1", "{why}");
        assert_eq!(socket["remote_addr"], "127.0.0.1", "{why}");
        assert!(owned_by_me(socket), "{why}");
    }
}

#[test]
fn udp_socket_is_found_and_counts_as_listening() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    for args in [vec!["-u", "-4"], vec!["-l"]] {
        let mut args = args;
        let port_text = port.to_string();
        args.push(&port_text);
        let (sockets, output) = json(&args);
        let why = explain(&args, &output);
        let found = find(&sockets, "127.0.0.1", port, None).unwrap_or_else(|| panic!("{why}"));
        assert_eq!(found["proto"], "udp", "{why}");
        assert_eq!(found["state"], "unconn", "{why}");
        assert!(owned_by_me(found), "{why}");
    }
}

#[test]
fn table_names_our_pid() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // -w keeps the table: a port held by one program is otherwise told as a card.
    let output = ports()
        .args([&port, "-w", "--color", "never"])
        .output()
        .unwrap();
    let why = explain(&[&port, "-w"], &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .find(|l| l.contains(&format!("127.0.0.1:{port}")))
        .expect(&why);
    assert!(
        row.split_whitespace().any(|word| word == me().to_string()),
        "{why}"
    );
    assert!(row.contains("LISTEN"), "{why}");
}

#[test]
fn a_free_port_exits_one_with_one_line() {
    let port = free_port();
    let output = ports().arg(port.to_string()).output().unwrap();
    let why = explain(&[&port.to_string()], &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    assert!(output.stdout.is_empty(), "{why}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("ports: no socket uses port {port}\n")
    );
}

#[test]
fn ipv4_peers_of_a_dual_stack_listener_count_as_ipv4() {
    let listener = TcpListener::bind("[::]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_accepted, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();
    // The accepted end lives in the kernel's IPv6 table as ::ffff:127.0.0.1.
    let args = ["-4", "--state", "established", &port.to_string()];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    let accepted = sockets
        .iter()
        .find(|s| s["local_port"] == port && s["remote_port"] == client_port)
        .unwrap_or_else(|| panic!("{why}"));
    assert_eq!(accepted["family"], "ipv4", "{why}");
    assert_eq!(accepted["local_addr"], "127.0.0.1", "{why}");
    assert!(owned_by_me(accepted), "{why}");
}

/// Runs ports on a pseudo-terminal (util-linux `script`) and returns what it printed.
pub fn on_a_terminal(env: &[(&str, &str)], args: &str) -> String {
    in_a_terminal(env, &format!("{} {args}", env!("CARGO_BIN_EXE_ports")))
}

/// Runs a shell command on a pseudo-terminal and returns what it printed.
fn in_a_terminal(env: &[(&str, &str)], command: &str) -> String {
    let mut child = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{out}");
    out
}

#[test]
fn a_terminal_with_columns_but_no_rows_is_still_fitted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let port = listener.local_addr().unwrap().port();
    let ports = env!("CARGO_BIN_EXE_ports");
    let command =
        format!("stty rows 0 cols 60; {ports} -t --state established --color never {port}");
    let out = in_a_terminal(&[], &command);
    assert!(
        out.contains(" ESTAB ") && !out.contains("ESTABLISHED"),
        "{out}"
    );
    assert!(
        out.lines()
            .all(|line| line.trim_end().chars().count() <= 60),
        "{out}"
    );
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    assert!(on_a_terminal(&[], &port).contains("\x1b["));
    assert!(!on_a_terminal(&[("NO_COLOR", "1")], &port).contains("\x1b["));
    assert!(!on_a_terminal(&[("TERM", "dumb")], &port).contains("\x1b["));
    // A pipe gets no colour either.
    let piped = ports().arg(&port).output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains("\x1b["));
}
