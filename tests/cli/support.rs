//! Running the real binary and explaining failures.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Output, Stdio};

use assert_cmd::Command;

/// Debian's python3 (installed by .ci/run, with python3-seccomp): a pyenv shim earlier in PATH
/// would be a shell script, whose kill leaves the real interpreter running.
pub const PYTHON: &str = "/usr/bin/python3";

/// Starts `command` with its stdout piped and returns it with its first line: the helpers print
/// what they hold (a port) once they hold it.
pub fn start_and_read_line(command: &mut std::process::Command) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

pub fn ports() -> Command {
    let mut command = Command::cargo_bin("ports").unwrap();
    command.env_remove("NO_COLOR").env_remove("COLUMNS");
    command
}

/// Everything needed to see why a run did not do what a test expected.
pub fn explain(args: &[&str], output: &Output) -> String {
    format!(
        "ports {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `ports ARGS --json --color never` and parses the array.
pub fn json(args: &[&str]) -> (Vec<serde_json::Value>, Output) {
    let mut all = args.to_vec();
    all.extend(["--json", "--color", "never"]);
    let output = ports().args(&all).output().unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", explain(&all, &output)));
    (parsed.as_array().unwrap().clone(), output)
}

/// A port number no socket uses as a local or remote port, as `ss` sees it now.
pub fn free_port() -> u16 {
    for _ in 0..20 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let filter = format!("( sport = :{port} or dport = :{port} )");
        let ss = Command::new("ss")
            .args(["-tuanH", &filter])
            .output()
            .unwrap();
        if ss.stdout.is_empty() {
            return port;
        }
    }
    panic!("no free port found in 20 tries");
}

/// Two UDP sockets on `address` (port 0), the second connected to the first: a server and its
/// client.
pub fn udp_pair(address: &str) -> (UdpSocket, UdpSocket) {
    let server = UdpSocket::bind(address).unwrap();
    let client = UdpSocket::bind(address).unwrap();
    client.connect(server.local_addr().unwrap()).unwrap();
    (server, client)
}
