//! Platform faults: netlink SOCK_DIAG refused by a seccomp filter, and /proc/net gone as well.

use std::net::TcpListener;
use std::process::{Command, Output};

use crate::privilege::assert_root;
use crate::support::{PYTHON, explain, udp_pair};

/// Makes `socket(AF_NETLINK, ...)` fail with EPERM, checks that it does, then runs argv[1:].
const WITHOUT_NETLINK: &str = r#"
import errno, os, socket, sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_NETLINK))
f.load()
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
    sys.exit("the seccomp filter let a netlink socket through")
except PermissionError:
    pass
os.execv(sys.argv[1], sys.argv[1:])
"#;

fn without_netlink(args: &[&str]) -> Output {
    Command::new(PYTHON)
        .args(["-c", WITHOUT_NETLINK, env!("CARGO_BIN_EXE_ports")])
        .args(args)
        .output()
        .expect("python3 and python3-seccomp are installed by .ci/run")
}

#[test]
fn without_netlink_proc_net_still_lists_sockets_and_owners() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_server, client) = udp_pair("[::1]:0");
    let client_port = client.local_addr().unwrap().port();

    let output = without_netlink(&["--json", &port.to_string(), &client_port.to_string()]);
    let why = explain(&["(no netlink) --json", &port.to_string()], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    // The fallback is said, once: /proc/net lacks bound-only sockets and devices.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{why}");
    assert!(
        stderr.starts_with("ports: netlink SOCK_DIAG was refused"),
        "{why}"
    );
    let sockets: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect(&why);
    let me = u64::from(std::process::id());
    let tcp = sockets
        .iter()
        .find(|s| s["local_port"] == port && s["state"] == "listen")
        .expect(&why);
    assert_eq!(tcp["processes"][0]["pid"], me, "{why}");
    let udp = sockets
        .iter()
        .find(|s| s["local_port"] == client_port && s["proto"] == "udp")
        .expect(&why);
    assert_eq!(udp["remote_addr"], "::1", "{why}");
    assert_eq!(udp["processes"][0]["pid"], me, "{why}");
}

#[test]
fn without_netlink_or_proc_net_it_is_a_clear_error() {
    assert_root();
    // A sandbox without /proc: an empty tmpfs over it, in a private mount namespace.
    let script = r#"mount -t tmpfs none /proc && exec /usr/bin/python3 -c "$@""#;
    let output = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
            WITHOUT_NETLINK,
            env!("CARGO_BIN_EXE_ports"),
        ])
        .output()
        .unwrap();
    let why = explain(&["(no netlink, no /proc/net)"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{why}");
    assert!(
        stderr.starts_with("error: cannot list sockets: netlink SOCK_DIAG failed"),
        "{why}"
    );
    assert!(stderr.contains("/proc/net/tcp"), "{why}");
}

#[test]
fn without_netlink_unix_sockets_come_from_proc_net_unix() {
    let path = std::env::temp_dir().join(format!("ports-fallback-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let text = path.to_str().unwrap();
    let output = without_netlink(&["--json", "-l", text]);
    let why = explain(&["(no netlink) --json -l", text], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let sockets: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).expect(&why);
    let [socket] = &sockets[..] else {
        panic!("{why}")
    };
    assert_eq!(
        (&socket["path"], &socket["state"]),
        (&text.into(), &"listen".into()),
        "{why}"
    );
    assert_eq!(
        socket["processes"][0]["pid"],
        u64::from(std::process::id()),
        "{why}"
    );
    drop(listener);
    std::fs::remove_file(&path).unwrap();
}

/// A namespace made with `ip netns add`, deleted on drop.
struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn without_netlink_other_namespaces_blame_netlink_not_privilege() {
    assert_root();
    let name = format!("ports-seccomp-{}", std::process::id());
    assert!(
        Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success()
    );
    let _namespace = Namespace(name.clone());
    // A process in it, so /proc/PID/net can stand in for netlink there.
    let mut holder = Command::new("ip")
        .args(["netns", "exec", &name, "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let output = without_netlink(&["-N", "-l"]);
    let _ = holder.kill();
    let _ = holder.wait();
    let why = explain(&["(no netlink, root) -N -l"], &output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("needs root"),
        "root was not what was missing: {why}"
    );
    let line = stderr.lines().find(|l| l.contains(&name)).expect(&why);
    assert!(line.contains("netlink SOCK_DIAG"), "the real cause: {why}");
}
