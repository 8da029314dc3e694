//! Owners in context, on processes the tests start: exposure, uncut names, parents, units and
//! containers from cgroups the test creates, effective users, partly hidden owners, the card.

use std::path::PathBuf;
use std::process::{Child, Command};

use serde_json::Value;

use crate::privilege::{assert_root, ports_as_nobody};
use crate::support::{PYTHON, explain, json, ports, start_and_read_line};

/// A python process running `script`, which prints its port(s) on one line; killed on drop.
struct Holder {
    child: Child,
    line: String,
}

impl Holder {
    fn start(program: &str, script: &str) -> Holder {
        let (child, line) = start_and_read_line(Command::new(program).args(["-c", script]));
        Holder { child, line }
    }

    fn port(&self) -> String {
        self.line.split_whitespace().next().unwrap().to_owned()
    }

    fn pid(&self) -> u64 {
        u64::from(self.child.id())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LISTEN: &str = "import socket,sys,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
                      print(s.getsockname()[1],flush=True);time.sleep(60)";

fn listener<'a>(sockets: &'a [Value], port: &str) -> &'a Value {
    let port: u64 = port.parse().unwrap();
    let found = sockets
        .iter()
        .find(|s| s["local_port"] == port && s["state"] == "listen");
    found.unwrap_or_else(|| panic!("no listener on {port}: {sockets:?}"))
}

#[test]
fn exposure_says_who_can_reach_a_listener() {
    let script = "import socket,time\nps=[]\n\
        for fam,addr,dev in [(socket.AF_INET,'127.0.0.1',None),(socket.AF_INET,'0.0.0.0',None),\
        (socket.AF_INET6,'::',None),(socket.AF_INET,'0.0.0.0',b'lo')]:\n \
        s=socket.socket(fam)\n \
        if dev: s.setsockopt(socket.SOL_SOCKET,25,dev)\n \
        s.bind((addr,0));s.listen();ps.append(s)\n\
        print(' '.join(str(s.getsockname()[1]) for s in ps),flush=True);time.sleep(60)";
    let holder = Holder::start(PYTHON, script);
    let ports: Vec<&str> = holder.line.split_whitespace().collect();
    let pid = holder.pid().to_string();
    let (sockets, output) = json(&["-l", "--pid", &pid]);
    let why = explain(&["-l --pid", &pid], &output);
    let exposures: Vec<&Value> = ports
        .iter()
        .map(|p| &listener(&sockets, p)["exposure"])
        .collect();
    assert_eq!(exposures, ["loopback", "all", "all", "loopback"], "{why}");
    let (exposed, output) = json(&["--exposed", "--pid", &pid]);
    let why = explain(&["--exposed --pid", &pid], &output);
    let mut found: Vec<String> = exposed
        .iter()
        .map(|s| s["local_port"].to_string())
        .collect();
    found.sort();
    let mut want = vec![ports[1].to_owned(), ports[2].to_owned()];
    want.sort();
    assert_eq!(found, want, "{why}");
}

/// A copy of python named `my-long-server-name`, in a directory removed on drop.
struct LongNamedPython(PathBuf);

impl LongNamedPython {
    fn new() -> LongNamedPython {
        let dir = std::env::temp_dir().join(format!("ports-long-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let program = dir.join("my-long-server-name");
        std::fs::copy(std::fs::canonicalize(PYTHON).unwrap(), &program).unwrap();
        LongNamedPython(program)
    }
}

impl Drop for LongNamedPython {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

#[test]
fn a_long_name_command_line_and_parent_are_reported_and_found() {
    let program = LongNamedPython::new();
    let holder = Holder::start(program.0.to_str().unwrap(), LISTEN);
    let (sockets, output) = json(&["-c", "my-long-server-name", &holder.port()]);
    let why = explain(&["-c my-long-server-name", &holder.port()], &output);
    let owner = &listener(&sockets, &holder.port())["processes"][0];
    assert_eq!(owner["pid"], holder.pid(), "{why}");
    assert_eq!(
        (&owner["name"], &owner["program"]),
        (&"my-long-server-".into(), &"my-long-server-name".into()),
        "{why}"
    );
    assert_eq!(
        owner["ppid"],
        u64::from(std::process::id()),
        "the test started it: {why}"
    );
    assert!(
        owner["cmdline"]
            .as_str()
            .unwrap()
            .contains("my-long-server-name -c"),
        "{why}"
    );
    assert!(
        owner["started"].as_u64().is_some_and(|t| t > 1_700_000_000),
        "{why}"
    );
}

/// A cgroup the test creates under the v2 hierarchy; the holder is moved in, and it is removed
/// on drop (after the holder is gone).
struct Cgroup(PathBuf);

impl Cgroup {
    fn create(path: &str, pid: u64) -> Cgroup {
        let dir = PathBuf::from("/sys/fs/cgroup/unified").join(path);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cgroup.procs"), pid.to_string()).unwrap();
        Cgroup(dir)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let root = PathBuf::from("/sys/fs/cgroup/unified");
        let procs = std::fs::read_to_string(self.0.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines() {
            let _ = std::fs::write(root.join("cgroup.procs"), pid);
        }
        let mut dir = self.0.clone();
        while dir != root && std::fs::remove_dir(&dir).is_ok() {
            dir.pop();
        }
    }
}

#[test]
fn units_and_containers_come_from_cgroups() {
    assert_root();
    let unit = format!("ports-test-{}.service", std::process::id());
    let id = format!("{:064x}", u64::from(std::process::id()) * 7919);
    for (path, field, want) in [
        (
            format!("system.slice/{unit}"),
            "unit",
            Value::from(unit.clone()),
        ),
        (
            format!("docker/{id}"),
            "container",
            serde_json::json!({"runtime": "docker", "id": id, "name": null}),
        ),
    ] {
        let holder = Holder::start(PYTHON, LISTEN);
        let _cgroup = Cgroup::create(&path, holder.pid());
        let (sockets, output) = json(&[&holder.port()]);
        let why = explain(&[&holder.port()], &output);
        let owner = &listener(&sockets, &holder.port())["processes"][0];
        assert_eq!(owner[field], want, "{path}: {why}");
        drop(holder);
    }
}

#[test]
fn killing_a_service_warns_that_systemd_restarts_it() {
    assert_root();
    let holder = Holder::start(PYTHON, LISTEN);
    let unit = format!("ports-kill-{}.service", std::process::id());
    let _cgroup = Cgroup::create(&format!("system.slice/{unit}"), holder.pid());
    let output = ports()
        .args(["kill", "--dry-run", &holder.port()])
        .output()
        .unwrap();
    let why = explain(&["kill --dry-run", &holder.port()], &output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("systemctl stop {unit}")), "{why}");
    drop(holder);
}

#[test]
fn the_effective_user_is_shown_and_matched() {
    assert_root();
    let script = format!("import os\nos.setreuid(65534, 0)\n{LISTEN}");
    let holder = Holder::start(PYTHON, &script);
    let (sockets, output) = json(&["--user", "root", &holder.port()]);
    let why = explain(&["--user root", &holder.port()], &output);
    let owner = &listener(&sockets, &holder.port())["processes"][0];
    assert_eq!(
        (&owner["user"], &owner["uid"]),
        (&"root".into(), &0.into()),
        "{why}"
    );
    let (none, _) = json(&["--user", "nobody", &holder.port()]);
    assert!(
        none.is_empty(),
        "its real uid is nobody, but it acts as root"
    );
}

#[test]
fn a_root_master_beside_nobody_workers_is_partly_hidden_to_nobody() {
    assert_root();
    // Like nginx, the worker makes itself dumpable again after setuid (PR_SET_DUMPABLE), so
    // its own user may read its fds.
    let script = "import ctypes,os,socket,time\n\
        s=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
        print(s.getsockname()[1],flush=True)\n\
        if os.fork()==0:\n os.setgid(65534);os.setuid(65534);ctypes.CDLL(None).prctl(4,1,0,0,0)\n\
        time.sleep(60)";
    let holder = Holder::start(PYTHON, script);
    let output = ports_as_nobody(&["--json", &holder.port()]);
    let why = explain(&["(as nobody) --json", &holder.port()], &output);
    let sockets: Vec<Value> = serde_json::from_slice(&output.stdout).expect(&why);
    let socket = listener(&sockets, &holder.port());
    let owners = socket["processes"].as_array().unwrap();
    assert_eq!(owners.len(), 1, "only the nobody worker is visible: {why}");
    assert_ne!(owners[0]["pid"], holder.pid(), "{why}");
    assert_eq!(
        socket["owner_hidden"], true,
        "the root master is not: {why}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 socket may have owners besides those shown"),
        "{why}"
    );
}

#[test]
fn one_program_gets_a_card_and_two_get_the_table() {
    let holder = Holder::start(PYTHON, LISTEN);
    let output = ports()
        .args(["--color", "never", &holder.port()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let why = explain(&[&holder.port()], &output);
    for label in ["sockets", "program", "pids", "command", "parent"] {
        assert!(
            text.lines().any(|l| l.starts_with(label)),
            "no {label}: {why}"
        );
    }
    assert!(text.contains(&format!("{} (root)", holder.pid())), "{why}");
    assert!(
        text.contains("LISTEN") && text.contains("loopback"),
        "{why}"
    );
    // Two unrelated processes sharing a port (SO_REUSEPORT): the table names both.
    let reuse = "import socket,sys,time\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,1)\n\
                 s.bind(('127.0.0.1',int(sys.argv[1]) if len(sys.argv)>1 else 0));s.listen()\n\
                 print(s.getsockname()[1],flush=True);time.sleep(60)";
    let first = Holder::start(PYTHON, reuse);
    let (mut second, _line) =
        start_and_read_line(Command::new(PYTHON).args(["-c", reuse, &first.port()]));
    let output = ports()
        .args(["--color", "never", &first.port()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let _ = second.kill();
    let _ = second.wait();
    assert!(
        text.starts_with("PROTO"),
        "two programs keep the table: {text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
}
