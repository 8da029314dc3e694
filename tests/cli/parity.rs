//! What ss shows that a sysadmin needs, on sockets the tests create: bound-but-not-listening
//! TCP sockets, UDP states, compared with ss where ss shows them.

use std::process::{Child, Command};

use crate::support::{PYTHON, explain, json, start_and_read_line, udp_pair};

/// A python process holding a TCP socket bound to 127.0.0.1 without `listen()`.
struct BoundOnly {
    child: Child,
    port: u16,
}

impl BoundOnly {
    fn start() -> BoundOnly {
        let script = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0))\n\
                      print(s.getsockname()[1],flush=True);time.sleep(60)";
        let (child, line) = start_and_read_line(Command::new(PYTHON).args(["-c", script]));
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
        assert_eq!(
            socket["remote_addr"],
            serde_json::Value::Null,
            "no peer: {why}"
        );
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
    let (server, client) = udp_pair("127.0.0.1:0");
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

/// A python listener; `setup` is python run after `s = socket.socket(...)`, before bind.
fn listener(family: &str, setup: &str, address: &str) -> BoundOnly {
    let script = format!(
        "import socket,time\ns=socket.socket(socket.{family})\n{setup}\ns.bind({address})\n\
         s.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)"
    );
    let (child, line) = start_and_read_line(Command::new(PYTHON).args(["-c", &script]));
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no port from {script}"));
    BoundOnly { child, port }
}

/// `fe80::1` on `lo` for the test's life; removed when dropped, even after a failure.
struct LinkLocal;

impl LinkLocal {
    fn add() -> LinkLocal {
        let status = Command::new("ip")
            .args(["-6", "addr", "replace", "fe80::1/64", "dev", "lo", "nodad"])
            .status()
            .unwrap();
        assert!(status.success(), "ip addr replace fe80::1 on lo");
        LinkLocal
    }
}

impl Drop for LinkLocal {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["-6", "addr", "del", "fe80::1/64", "dev", "lo"])
            .status();
    }
}

fn ss_local(args: &str, port: u16) -> String {
    let output = Command::new("ss")
        .args([args, "-H", &format!("sport = :{port}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_socket_bound_to_a_device_shows_it() {
    let bound = listener(
        "AF_INET",
        "s.setsockopt(socket.SOL_SOCKET, 25, b'lo')",
        "('0.0.0.0', 0)",
    );
    let port = bound.port.to_string();
    let (sockets, output) = json(&[&port]);
    let why = explain(&[&port], &output);
    assert_eq!(sockets[0]["interface"], "lo", "{why}");
    assert_eq!(sockets[0]["processes"][0]["pid"], bound.child.id(), "{why}");
    let table = crate::support::ports()
        .args(["--color", "never", &port])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    let shown = format!("0.0.0.0%lo:{port}");
    assert!(text.contains(&shown), "{text}");
    assert!(
        ss_local("-tln", bound.port).contains(&shown),
        "ss shows the same"
    );
}

#[test]
fn a_link_local_address_keeps_its_scope_and_a_scoped_local_finds_it() {
    let _address = LinkLocal::add();
    let bound = listener("AF_INET6", "", "('fe80::1', 0, 0, 1)");
    let port = bound.port.to_string();
    let args = ["--local", "fe80::1%lo", &port];
    let (sockets, output) = json(&args);
    let why = explain(&args, &output);
    let [socket] = &sockets[..] else {
        panic!("{why}")
    };
    assert_eq!(
        (&socket["local_addr"], &socket["interface"]),
        (&"fe80::1".into(), &"lo".into()),
        "{why}"
    );
    let (none, _) = json(&["--local", "fe80::1%eth0", &port]);
    assert!(none.is_empty(), "another device's scope does not match");
    let table = crate::support::ports()
        .args(["--color", "never", &port])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(&format!("[fe80::1%lo]:{port}")), "{text}");
    assert!(
        ss_local("-tln", bound.port).contains(&format!("[fe80::1]%lo:{port}")),
        "ss sees it"
    );
}

#[test]
fn a_full_backlog_shows_in_the_queues() {
    let script = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(1)\n\
                  cs=[]\nfor _ in range(4):\n c=socket.socket();c.setblocking(False)\n \
                  c.connect_ex(s.getsockname());cs.append(c)\n\
                  time.sleep(0.3)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)";
    let (child, line) = start_and_read_line(Command::new(PYTHON).args(["-c", script]));
    let holder = BoundOnly {
        port: line.trim().parse().unwrap(),
        child,
    };
    let port = holder.port.to_string();
    let (sockets, output) = json(&["-l", &port]);
    let why = explain(&["-l", &port], &output);
    let listener = &sockets[0];
    assert_eq!(listener["send_queue"], 1, "the backlog: {why}");
    assert!(
        listener["recv_queue"].as_u64().unwrap() >= 1,
        "waiting connections: {why}"
    );
    let table = crate::support::ports()
        .args(["-l", "-w", "--color", "always", &port])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("RECV-Q") && text.contains("\x1b[31m"),
        "a full backlog is red: {text}"
    );
    let ss = ss_local("-tln", holder.port);
    let recv_q = ss.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(
        listener["recv_queue"].to_string(),
        recv_q,
        "ss agrees: {ss}"
    );
}

/// `ss -s`'s TCP line: `TCP:   N (estab E, closed C, orphaned O, timewait T)`.
fn ss_summary_tcp() -> (u64, u64) {
    let output = Command::new("ss").arg("-s").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|l| l.starts_with("TCP:")).unwrap();
    let number_after = |word: &str| -> u64 {
        let rest = &line[line.find(word).unwrap() + word.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number_after("estab"), number_after("timewait"))
}

/// ports -s -t: (established + close-wait, time-wait).
fn summary_tcp() -> (u64, u64) {
    let output = crate::support::ports()
        .args(["-s", "-t", "--json"])
        .output()
        .unwrap();
    let why = explain(&["-s -t --json"], &output);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    let count = |states: &[&str]| -> u64 {
        let rows = summary["by_state"].as_array().unwrap();
        let wanted = rows
            .iter()
            .filter(|r| states.iter().any(|s| r["state"] == *s));
        wanted.map(|r| r["sockets"].as_u64().unwrap()).sum()
    };
    (count(&["established", "close-wait"]), count(&["time-wait"]))
}

#[test]
fn the_summary_agrees_with_ss() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let clients: Vec<_> = (0..5)
        .map(|_| std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap())
        .collect();
    let accepted: Vec<_> = (0..5).map(|_| listener.accept().unwrap()).collect();
    // ss -s takes estab from the kernel's CurrEstab (ESTABLISHED and CLOSE-WAIT) and timewait
    // from sockstat. Other tests open and close sockets meanwhile: a try counts when ports'
    // figures lie between ss's before and after them, give or take 2; tries ride out bursts.
    let within = |ours: u64, a: u64, b: u64| ours + 2 >= a.min(b) && ours <= a.max(b) + 2;
    let mut tries = Vec::new();
    let agreed = (0..8).any(|_| {
        let (before, ours, after) = (ss_summary_tcp(), summary_tcp(), ss_summary_tcp());
        tries.push((before, ours, after));
        within(ours.0, before.0, after.0) && within(ours.1, before.1, after.1)
    });
    assert!(
        agreed,
        "(ss before, ports, ss after) as (estab, time-wait): {tries:?}"
    );
    assert!(summary_tcp().0 >= 10, "our five pairs are counted");
    drop((clients, accepted));
}
