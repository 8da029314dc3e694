//! The portable backend (netstat2, the only lister on macOS and Windows) against the native one
//! on the same real sockets: the same TCP and UDP sockets with the same owners. What netstat2
//! does not give (a UDP socket's peer) is compared as absent, and its limits are said.

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};

use serde_json::Value;

use crate::support::{explain, ports, udp_pair};

/// What both backends must agree on: protocol, both ends (a UDP peer aside), state for TCP,
/// and the owners' pids.
fn facts(socket: &Value) -> String {
    let tcp = socket["proto"] == "tcp";
    let remote = match tcp {
        true => format!("{}:{}", socket["remote_addr"], socket["remote_port"]),
        false => "-".to_owned(),
    };
    let state = if tcp {
        socket["state"].to_string()
    } else {
        "-".into()
    };
    let pids: Vec<String> = socket["processes"]
        .as_array()
        .map(|owners| owners.iter().map(|p| p["pid"].to_string()).collect())
        .unwrap_or_default();
    format!(
        "{} {}:{} {remote} {state} {}",
        socket["proto"],
        socket["local_addr"],
        socket["local_port"],
        pids.join(",")
    )
}

fn listed(backend: &str, ports_asked: &str) -> (BTreeSet<String>, String) {
    let args = ["--json", "--backend", backend, ports_asked];
    let output = ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let sockets: Vec<Value> = serde_json::from_slice(&output.stdout).expect(&why);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (sockets.iter().map(facts).collect(), stderr)
}

#[test]
fn the_portable_backend_lists_the_same_sockets_and_owners_as_the_native_one() {
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let v6 = TcpListener::bind("[::1]:0").unwrap();
    let client = TcpStream::connect(v4.local_addr().unwrap()).unwrap();
    let (_accepted, _) = v4.accept().unwrap();
    let (server, connected) = udp_pair("127.0.0.1:0");
    let wanted = [
        v4.local_addr().unwrap().port(),
        v6.local_addr().unwrap().port(),
        client.local_addr().unwrap().port(),
        server.local_addr().unwrap().port(),
        connected.local_addr().unwrap().port(),
    ];
    let asked: Vec<String> = wanted.iter().map(u16::to_string).collect();
    let asked = asked.join(",");
    let (native, quiet) = listed("native", &asked);
    let (portable, said) = listed("portable", &asked);
    assert_eq!(
        native.len(),
        6,
        "two listeners, both ends of a connection, two UDP: {native:#?}"
    );
    assert_eq!(portable, native, "said: {said}");
    let me = std::process::id().to_string();
    assert!(native.iter().all(|fact| fact.ends_with(&me)), "{native:#?}");
    assert!(!quiet.contains("portable backend"), "{quiet}");
    assert!(
        said.contains("listed by the portable backend (netstat2)"),
        "{said}"
    );
}
