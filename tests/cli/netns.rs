//! Every network namespace (`-N`) and one (`--netns`), on namespaces the tests create with
//! `ip netns add` and `unshare --net`; deleted afterwards, even when a test fails.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::privilege::{assert_root, ports_as_nobody};
use crate::support::{PYTHON, explain, json};

/// Holds a listener and an established pair on 127.0.0.1; prints the listener's port.
const HOLD: &str = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
    c=socket.create_connection(s.getsockname());a=s.accept()\n\
    print(s.getsockname()[1],flush=True);time.sleep(60)";

/// A namespace made with `ip netns add`, deleted on drop.
pub struct NetnsGuard(String);

impl NetnsGuard {
    pub fn add(name: &str) -> NetnsGuard {
        let status = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        NetnsGuard(name.to_owned())
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A named namespace with `lo` up and a holder inside; the holder is killed, then the
/// namespace deleted, on drop.
struct Named {
    holder: Child,
    port: String,
    name: String,
    _namespace: NetnsGuard,
}

impl Named {
    fn create(tag: &str) -> Named {
        let name = format!("ports-{tag}-{}", std::process::id());
        let ok = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().unwrap();
            assert!(status.success(), "ip {args:?}");
        };
        let namespace = NetnsGuard::add(&name);
        ok(&["-n", &name, "link", "set", "lo", "up"]);
        let mut holder = Command::new("ip")
            .args(["netns", "exec", &name, PYTHON, "-c", HOLD])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let port = read_line(&mut holder);
        Named {
            holder,
            port,
            name,
            _namespace: namespace,
        }
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn read_line(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim().to_owned()
}

fn listener<'a>(sockets: &'a [Value], port: &str) -> Option<&'a Value> {
    let port: u64 = port.parse().unwrap();
    sockets
        .iter()
        .find(|s| s["local_port"] == port && s["state"] == "listen")
}

#[test]
fn every_namespace_is_listed_with_its_name_and_owners() {
    assert_root();
    let (blue, red) = (Named::create("blue"), Named::create("red"));
    let (sockets, output) = json(&["-N"]);
    let why = explain(&["-N --json"], &output);
    for ns in [&blue, &red] {
        let socket = listener(&sockets, &ns.port).unwrap_or_else(|| panic!("{}: {why}", ns.name));
        assert_eq!(socket["netns"]["name"], ns.name.as_str(), "{why}");
        assert_eq!(socket["netns"]["kind"], "named", "{why}");
        assert_eq!(socket["processes"][0]["pid"], ns.holder.id(), "{why}");
        let pair = sockets
            .iter()
            .filter(|s| s["netns"]["name"] == ns.name.as_str() && s["state"] == "established");
        assert_eq!(
            pair.count(),
            2,
            "both ends of the pair in {}: {why}",
            ns.name
        );
    }
    let (host, _) = json(&[]);
    assert!(
        host.iter().all(|s| s["netns"]["kind"] == "host"),
        "plain ports stays at home"
    );
    assert!(listener(&host, &blue.port).is_none_or(|s| s["netns"]["kind"] == "host"));
    let (found, output) = json(&["-N", &red.port]);
    let why = explain(&["-N", &red.port], &output);
    assert_eq!(
        listener(&found, &red.port).map(|s| &s["netns"]["name"]),
        Some(&red.name.as_str().into()),
        "{why}"
    );
    let table = crate::support::ports()
        .args(["-N", "-l", "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.starts_with("NETNS") && text.contains(&blue.name),
        "{text}"
    );
}

#[test]
fn a_port_missed_here_but_used_in_another_namespace_says_where() {
    assert_root();
    let green = Named::create("green");
    let args = ["-l", green.port.as_str(), "--color", "never"];
    let output = crate::support::ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let hint = format!("it matches in network namespace {}: ports -N", green.name);
    assert!(stderr.contains(&hint), "{why}");
    // The namespace holds no UDP socket on that port: no hint.
    let args = ["-u", green.port.as_str(), "--color", "never"];
    let output = crate::support::ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("it matches in"),
        "{why}"
    );
}

#[test]
fn kill_says_when_the_port_is_held_in_another_namespace_and_signals_nothing() {
    assert_root();
    let violet = Named::create("violet");
    let args = ["kill", violet.port.as_str(), "--yes"];
    let output = crate::support::ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    let said = format!(
        "nothing holds port {} here, but something in network namespace {} does",
        violet.port, violet.name
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&said),
        "{why}"
    );
    let alive = std::path::Path::new(&format!("/proc/{}", violet.holder.id())).exists();
    assert!(alive, "{why}");
}

#[test]
fn one_namespace_by_name_or_pid() {
    assert_root();
    let blue = Named::create("one");
    for selector in [blue.name.clone(), blue.holder.id().to_string()] {
        // `ip netns exec` runs the holder as its own child: its pid is in the namespace too.
        let pid_in_ns = Command::new("pgrep")
            .args(["-P", &blue.holder.id().to_string()])
            .output()
            .unwrap();
        let selector = if selector == blue.name {
            selector
        } else {
            String::from_utf8_lossy(&pid_in_ns.stdout)
                .lines()
                .next()
                .map(str::to_owned)
                .unwrap_or(selector)
        };
        let (sockets, output) = json(&["--netns", &selector]);
        let why = explain(&["--netns", &selector], &output);
        assert!(listener(&sockets, &blue.port).is_some(), "{why}");
        assert!(
            sockets
                .iter()
                .all(|s| s["netns"]["name"] == blue.name.as_str()),
            "only that one: {why}"
        );
    }
    let output = crate::support::ports()
        .args(["--netns", "no-such-netns-here"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_namespace_held_only_by_a_process_is_found() {
    assert_root();
    let mut holder = Command::new("unshare")
        .args([
            "--net",
            "sh",
            "-c",
            &format!("ip link set lo up && exec {PYTHON} -c \"$0\"",),
            HOLD,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let port = read_line(&mut holder);
    let (sockets, output) = json(&["-N", &port]);
    let why = explain(&["-N", &port], &output);
    let _ = holder.kill();
    let _ = holder.wait();
    let socket = listener(&sockets, &port).unwrap_or_else(|| panic!("{why}"));
    assert_eq!(socket["netns"]["kind"], "other", "{why}");
    assert_ne!(socket["netns"]["inode"], Value::Null);
}

#[test]
fn as_nobody_namespaces_that_cannot_be_entered_are_named() {
    assert_root();
    let blue = Named::create("nobody");
    let output = ports_as_nobody(&["-N", "--json"]);
    let why = explain(&["(as nobody) -N --json"], &output);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{why}");
    // Entering needs CAP_SYS_ADMIN, and the root holder's /proc/PID/ns is closed to nobody, so
    // the namespace (found by its mount) cannot be read at all: said, once, by name.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = format!("network namespace {} could not be read", blue.name);
    // One line, whatever other tests' namespaces exist meanwhile: it names blue, or three
    // others and how many more.
    let unreadable: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("could not be read"))
        .collect();
    assert_eq!(unreadable.len(), 1, "{why}");
    assert!(
        unreadable[0].contains(&blue.name) || unreadable[0].contains(" more"),
        "{why}"
    );
    let sockets: Vec<Value> = serde_json::from_slice(&output.stdout).expect(&why);
    assert!(listener(&sockets, &blue.port).is_none(), "{why}");
    // Asked for by name, it lists nothing at all: an error.
    let output = ports_as_nobody(&["--netns", &blue.name, "-l"]);
    let why = explain(&["(as nobody) --netns", &blue.name, "-l"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&said),
        "{why}"
    );
}

#[test]
fn as_nobody_many_unreadable_namespaces_are_one_line_and_no_miss_is_concluded() {
    assert_root();
    let spaces: Vec<Named> = (0..4).map(|i| Named::create(&format!("many{i}"))).collect();
    let free = crate::support::free_port().to_string();
    let output = ports_as_nobody(&["-N", &free]);
    let why = explain(&["(as nobody) -N", &free], &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let unreadable: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("could not be read"))
        .collect();
    assert_eq!(unreadable.len(), 1, "one line for them all: {why}");
    assert!(
        unreadable[0].contains("network namespaces could not be read"),
        "{why}"
    );
    assert!(unreadable[0].contains("more") || spaces.len() <= 3, "{why}");
    assert!(unreadable[0].ends_with("root can enter them"), "{why}");
    let miss =
        format!("ports: no socket uses port {free} in the network namespaces that could be read");
    assert_eq!(
        lines[0], miss,
        "nothing concluded of what was not seen: {why}"
    );
}

#[test]
fn as_nobody_a_namespace_it_may_not_read_is_said_to_be_unreadable_not_missing() {
    assert_root();
    let output = ports_as_nobody(&["--netns", "1", "-l"]);
    let why = explain(&["(as nobody) --netns 1 -l"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = "cannot read the network namespace '1' (/proc/1/ns/net): Permission denied";
    assert!(stderr.contains(said), "{why}");
}
