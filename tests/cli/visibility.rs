//! What a run could not see is counted and said, truthfully, whoever runs it: an unprivileged
//! user, root refused by the kernel, a /proc that shows nothing. And what it could see is not
//! counted as hidden: TIME-WAIT rows have no owner, a visible owner is not hidden.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Output};

use serde_json::Value;

use crate::privilege::{AS_NOBODY, assert_root, ports_as_nobody};
use crate::support::{PYTHON, explain, start_and_read_line};

fn parse(output: &Output, why: &str) -> Vec<Value> {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}\n{why}"))
}

fn listener_on(sockets: &[Value], port: u16) -> &Value {
    let found = sockets
        .iter()
        .find(|s| s["local_port"] == port && s["state"] == "listen");
    found.unwrap_or_else(|| panic!("no listener on {port}: {sockets:?}"))
}

#[test]
fn root_in_a_user_namespace_counts_refused_owners_as_hidden() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Root inside a new user namespace holds no capability over our processes: the kernel
    // refuses it their fd links, as a sandbox's pid 1 refuses the real root.
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", env!("CARGO_BIN_EXE_ports")])
        .args(["--json", &port.to_string()])
        .output()
        .unwrap();
    let why = explain(
        &["(root in a user namespace) --json", &port.to_string()],
        &output,
    );
    let sockets = parse(&output, &why);
    assert_eq!(listener_on(&sockets, port)["owner_hidden"], true, "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("ports: 1 socket's owner is hidden: the kernel refuses even root"),
        "{why}"
    );
    assert!(
        !stderr.contains("sudo"),
        "root cannot do better with sudo: {why}"
    );
}

#[test]
fn an_empty_proc_hides_every_owner_and_says_why() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = r#"mount -t tmpfs none /proc && exec "$@""#;
    let output = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            env!("CARGO_BIN_EXE_ports"),
        ])
        .args(["--json", &port.to_string()])
        .output()
        .unwrap();
    let why = explain(&["(empty /proc) --json", &port.to_string()], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let socket = listener_on(&parse(&output, &why), port).clone();
    assert_eq!(socket["owner_hidden"], true, "{why}");
    assert_eq!(socket["processes"], Value::Array(vec![]), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{why}");
    assert!(stderr.contains("hidden: /proc shows no processes"), "{why}");
    assert!(!stderr.contains("sudo"), "{why}");
}

#[test]
fn time_wait_rows_have_no_owner_to_hide() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port().to_string();
    // The side that closes first waits in TIME-WAIT; no file refers to it any more.
    client.shutdown(Shutdown::Both).unwrap();
    drop(client);
    drop(accepted);
    let args = ["--json", "--state", "time-wait", &client_port];
    let output = ports_as_nobody(&args);
    let why = explain(&args, &output);
    let sockets = parse(&output, &why);
    assert!(!sockets.is_empty(), "no TIME-WAIT row: {why}");
    for socket in &sockets {
        assert_eq!(socket["owner_hidden"], false, "{why}");
    }
    assert!(output.stderr.is_empty(), "nothing was hidden: {why}");
}

#[test]
fn an_owner_the_user_can_see_is_shown_not_hidden() {
    assert_root();
    let holder = HeldByNobody::start();
    let args = ["--json", &holder.port.to_string()];
    let output = ports_as_nobody(&args);
    let why = explain(&args, &output);
    let sockets = parse(&output, &why);
    let socket = listener_on(&sockets, holder.port);
    assert_eq!(socket["owner_hidden"], false, "{why}");
    assert_eq!(socket["processes"][0]["pid"], holder.child.id(), "{why}");
    assert_eq!(socket["processes"][0]["user"], "nobody", "{why}");
    assert!(output.stderr.is_empty(), "{why}");
}

/// A listener held by a process running as `nobody`; killed when dropped.
struct HeldByNobody {
    child: Child,
    port: u16,
}

impl HeldByNobody {
    fn start() -> HeldByNobody {
        let script = "import socket,sys,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
                      print(s.getsockname()[1],flush=True);time.sleep(60)";
        let (child, line) = start_and_read_line(
            Command::new("setpriv")
                .args(AS_NOBODY)
                .args([PYTHON, "-c", script]),
        );
        let port = line.trim().parse().unwrap();
        HeldByNobody { child, port }
    }
}

impl Drop for HeldByNobody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
