//! What ss shows that a sysadmin needs, on sockets the tests create: bound-but-not-listening
//! TCP sockets, UDP states, compared with ss where ss shows them.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};

use crate::support::{PYTHON, explain, json};

/// A python process holding a TCP socket bound to 127.0.0.1 without `listen()`.
struct BoundOnly {
    child: Child,
    port: u16,
}

impl BoundOnly {
    fn start() -> BoundOnly {
        let script = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0))\n\
                      print(s.getsockname()[1],flush=True);time.sleep(60)";
        let mut child = Command::new(PYTHON)
            .args(["-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        BoundOnly {
            port: line.trim().parse().unwrap(),
            child,
        }
    }
}

impl Drop for BoundOnly {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_socket_bound_without_listen_holds_its_port() {
    let bound = BoundOnly::start();
    let port = bound.port.to_string();
    for args in [
        vec![port.as_str()],
        vec!["-l", &port],
        vec!["--state", "bound", &port],
    ] {
        let (sockets, output) = json(&args);
        let why = explain(&args, &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        let [socket] = &sockets[..] else {
            panic!("one socket expected: {why}")
        };
        assert_eq!(socket["state"], "bound", "{why}");
        assert_eq!(socket["proto"], "tcp", "{why}");
        assert_eq!(socket["local_addr"], "127.0.0.1", "{why}");
        assert_eq!(socket["processes"][0]["pid"], bound.child.id(), "{why}");
    }
    // And bind() to it fails, which is what "is this port free?" asks.
    let taken = std::net::TcpListener::bind(("127.0.0.1", bound.port));
    assert!(taken.is_err(), "the kernel should refuse a second bind");
}

#[test]
fn udp_states_follow_ss() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(server.local_addr().unwrap()).unwrap();
    let (server_port, client_port) = (
        server.local_addr().unwrap().port(),
        client.local_addr().unwrap().port(),
    );
    let args = ["-u", "--state", "established", &client_port.to_string()];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    assert!(
        sockets.iter().any(|s| s["local_port"] == client_port),
        "{why}"
    );
    assert!(sockets.iter().all(|s| s["state"] == "established"), "{why}");
    let args = ["-u", "--state", "unconn", &server_port.to_string()];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    assert!(
        sockets
            .iter()
            .any(|s| s["local_port"] == server_port && s["state"] == "unconn"),
        "{why}"
    );
    // ss agrees: the connected one is ESTAB, the other UNCONN.
    let ss = Command::new("ss")
        .args(["-uanH", &format!("sport = :{client_port}")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&ss.stdout).starts_with("ESTAB"));
}
