//! The port query, `-l` and the full listing report the same owners for the same sockets, and
//! the peer of a connected UDP socket is shown.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{PYTHON, explain, json, start_and_read_line, udp_pair};

/// A python3 process that listens on 127.0.0.1, then forks: parent and child share the listener,
/// as a pre-forking web server's workers do. Prints `PORT CHILD_PID` once both hold it.
const FORKED_LISTENER: &str = r#"
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.write(w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(r, 1)
print(s.getsockname()[1], child, flush=True)
sys.stdin.read()
os.kill(child, 9)
"#;

struct ForkedListener {
    parent: Child,
    port: u16,
    pids: Vec<u64>,
}

impl ForkedListener {
    fn start() -> ForkedListener {
        let mut command = Command::new(PYTHON);
        command.args(["-c", FORKED_LISTENER]).stdin(Stdio::piped());
        let (parent, line) = start_and_read_line(&mut command);
        let mut words = line.split_whitespace();
        let port = words.next().unwrap().parse().unwrap();
        let child: u64 = words.next().unwrap().parse().unwrap();
        let mut pids = vec![u64::from(parent.id()), child];
        pids.sort_unstable();
        ForkedListener { parent, port, pids }
    }
}

impl Drop for ForkedListener {
    fn drop(&mut self) {
        drop(self.parent.stdin.take()); // the parent kills its child and exits
        let _ = self.parent.wait();
    }
}

fn owners_of_listener(sockets: &[Value], port: u16) -> Option<Vec<u64>> {
    let listener = sockets.iter().find(|s| {
        s["local_addr"] == "127.0.0.1" && s["local_port"] == port && s["state"] == "listen"
    })?;
    let processes = listener["processes"].as_array()?;
    Some(
        processes
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect(),
    )
}

#[test]
fn port_query_listen_and_full_listing_agree_on_a_shared_listener() {
    let shared = ForkedListener::start();
    let port = shared.port.to_string();
    for args in [vec![port.as_str()], vec!["-l"], vec![]] {
        let (sockets, output) = json(&args);
        let why = explain(&args, &output);
        let owners = owners_of_listener(&sockets, shared.port).unwrap_or_else(|| panic!("{why}"));
        assert_eq!(
            owners, shared.pids,
            "parent and child must both appear\n{why}"
        );
    }
}

#[test]
fn connected_udp_shows_its_peer_and_is_not_listening() {
    let (server, client) = udp_pair("127.0.0.1:0");
    let (server_port, client_port) = (
        server.local_addr().unwrap().port(),
        client.local_addr().unwrap().port(),
    );
    let args = ["-u", &client_port.to_string()];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    let found = sockets
        .iter()
        .find(|s| s["local_addr"] == "127.0.0.1" && s["local_port"] == client_port)
        .unwrap_or_else(|| panic!("{why}"));
    assert_eq!(found["remote_addr"], "127.0.0.1", "{why}");
    assert_eq!(found["remote_port"], server_port, "{why}");
    assert_eq!(found["state"], "established", "{why}");

    let (listening, output) = json(&["-l", "-u"]);
    let why = explain(&["-l", "-u"], &output);
    let port_of = |s: &Value| s["local_port"].as_u64().unwrap();
    assert!(
        listening
            .iter()
            .any(|s| port_of(s) == u64::from(server_port)),
        "{why}"
    );
    assert!(
        !listening
            .iter()
            .any(|s| port_of(s) == u64::from(client_port)),
        "{why}"
    );
}
