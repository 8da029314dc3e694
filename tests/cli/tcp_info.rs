//! `--tcp-info` with real connections on loopback: what the kernel counted for a transfer of a
//! known size, each end's RTT, and how long a connection has been idle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::support::json;

const SIZE: u64 = 8 << 20;

/// A connection on loopback held by this process: the server's end and the client's, after
/// the client sent `SIZE` bytes and the server read them all.
fn transferred() -> (u16, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let writer = std::thread::spawn(move || {
        client.write_all(&vec![7; SIZE as usize]).unwrap();
        client
    });
    let mut buf = vec![0; 1 << 16];
    let mut read = 0;
    while read < SIZE {
        read += server.read(&mut buf).unwrap() as u64;
    }
    (port, server, writer.join().unwrap())
}

/// The `tcp_info` of this process's established socket on `port` as local (`server`) or as
/// remote port.
fn end(sockets: &[Value], port: u16, server: bool) -> &Value {
    let key = if server { "local_port" } else { "remote_port" };
    let found = sockets
        .iter()
        .find(|s| s[key] == port && s["state"] == "established");
    let socket = found.unwrap_or_else(|| panic!("no {key} {port} in {sockets:#?}"));
    assert_eq!(socket["processes"][0]["pid"], std::process::id());
    &socket["tcp_info"]
}

fn within_one_percent(value: &Value) -> bool {
    let value = value.as_u64().unwrap_or(0) as f64;
    (value - SIZE as f64).abs() <= SIZE as f64 / 100.0
}

#[test]
fn a_transfer_of_8_mib_is_received_by_the_server_and_acknowledged_to_the_client() {
    let (port, _server, _client) = transferred();
    let (sockets, _) = json(&["--tcp-info", &port.to_string()]);
    let (server, client) = (end(&sockets, port, true), end(&sockets, port, false));
    assert!(within_one_percent(&server["bytes_received"]), "{server}");
    assert!(within_one_percent(&client["bytes_acked"]), "{client}");
    for info in [server, client] {
        assert!(info["rtt_us"].as_u64().unwrap() > 0, "{info}");
    }
    let (plain, _) = json(&[&port.to_string()]);
    assert!(
        plain.iter().all(|s| s.get("tcp_info").is_none()),
        "asked only"
    );
}

#[test]
fn a_connection_left_idle_shows_at_least_that_long() {
    const IDLE: Duration = Duration::from_secs(2);
    let (port, _server, _client) = transferred();
    std::thread::sleep(IDLE);
    let (sockets, _) = json(&["--tcp-info", &port.to_string()]);
    for server in [true, false] {
        let info = end(&sockets, port, server);
        let since = |field: &str| info[field].as_u64().unwrap();
        let idle = since("last_data_sent_ms").min(since("last_data_recv_ms"));
        assert!(idle >= IDLE.as_millis() as u64, "{info}");
    }
}

#[test]
fn udp_sockets_get_no_invented_counters() {
    let (socket, _peer) = crate::support::udp_pair("127.0.0.1:0");
    let port = socket.local_addr().unwrap().port();
    let (sockets, _) = json(&["--tcp-info", "-u", &port.to_string()]);
    assert!(!sockets.is_empty());
    assert!(
        sockets.iter().all(|s| s.get("tcp_info").is_none()),
        "{sockets:#?}"
    );
}

#[test]
fn the_portable_backend_has_no_tcp_info_and_says_none() {
    let (port, _server, _client) = transferred();
    let port = port.to_string();
    let (sockets, _) = json(&["--tcp-info", "--backend", "portable", &port]);
    assert!(!sockets.is_empty());
    assert!(
        sockets.iter().all(|s| s.get("tcp_info").is_none()),
        "{sockets:#?}"
    );
    let pid = std::process::id().to_string();
    let row = |backend: &str| {
        let args = ["--tcp-info", "--backend", backend, "-t", "--pid", &pid];
        let output = crate::support::ports()
            .args(args)
            .env("COLUMNS", "200")
            .output()
            .unwrap();
        let table = String::from_utf8_lossy(&output.stdout).into_owned();
        let row = table
            .lines()
            .find(|line| line.contains(&format!(":{port} ")));
        row.unwrap_or_else(|| panic!("{table}")).to_owned()
    };
    assert!(row("native").contains("ms±"), "{}", row("native"));
    assert!(
        !row("portable").contains("ms±"),
        "RTT is -: {}",
        row("portable")
    );
}
