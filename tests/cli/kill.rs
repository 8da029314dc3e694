//! `ports kill` on processes the tests start, each outcome asserted, not only the exit code.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::privilege::{assert_root, ports_as_nobody};
use crate::support::{PYTHON, explain, ports, start_and_read_line};

/// A python process that prints its port(s) then waits; killed on drop if still there.
struct Holder {
    child: Child,
    port: String,
}

impl Holder {
    fn start(script: &str) -> Holder {
        let (child, line) = start_and_read_line(Command::new(PYTHON).args(["-c", script]));
        Holder {
            port: line.trim().to_owned(),
            child,
        }
    }

    /// Whether it is still running: reaped here, so an exit is seen at once.
    fn alive(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if Instant::now() > deadline {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TCP: &str = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
                   print(s.getsockname()[1],flush=True);time.sleep(60)";

fn kill(args: &[&str]) -> Output {
    // assert_cmd gives the child an empty stdin: not a terminal.
    ports().arg("kill").args(args).output().unwrap()
}

#[test]
fn a_listener_is_freed_and_its_client_is_left_alone() {
    let mut server = Holder::start(TCP);
    let client_script = format!(
        "import socket,time\nc=socket.create_connection(('127.0.0.1',{}))\nprint(c.getsockname()[1],flush=True)\ntime.sleep(60)",
        server.port
    );
    let mut client = Holder::start(&client_script);
    let output = kill(&[&server.port, "--yes"]);
    let why = explain(&["kill", &server.port, "--yes"], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{}  exited", server.child.id())),
        "{why}"
    );
    assert!(
        stdout.starts_with("Sending SIGTERM to:\n"),
        "--yes sends: {why}"
    );
    assert!(
        stdout.contains(&format!("port {}: free", server.port)),
        "{why}"
    );
    assert!(
        !stdout.contains(&client.child.id().to_string()),
        "the client is no target: {why}"
    );
    assert!(!server.alive(), "{why}");
    assert!(client.alive(), "the client of the port is untouched");
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", server.port.parse::<u16>().unwrap())).is_ok()
    );
}

#[test]
fn a_process_that_ignores_term_survives_it_and_kill_frees_the_port() {
    let script = format!("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n{TCP}");
    let mut stubborn = Holder::start(&script);
    let output = kill(&[&stubborn.port, "--yes"]);
    let why = explain(&["kill --yes"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("still running after 3 s (try --signal KILL)"),
        "{why}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("still held"),
        "{why}"
    );
    assert!(stubborn.alive());
    let output = kill(&[&stubborn.port, "--yes", "--signal", "KILL"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        explain(&["kill --signal KILL"], &output)
    );
    assert!(!stubborn.alive());
}

#[test]
fn without_a_terminal_or_in_a_dry_run_nothing_is_signalled() {
    let mut holder = Holder::start(TCP);
    let refused = kill(&[&holder.port]);
    let why = explain(&["kill (no tty)"], &refused);
    assert_eq!(refused.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("add --yes"),
        "{why}"
    );
    let dry = kill(&[&holder.port, "--dry-run", "--yes"]);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        explain(&["kill --dry-run"], &dry)
    );
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(plan.contains(&holder.child.id().to_string()));
    assert!(plan.starts_with("SIGTERM would go to:\n"), "{plan}");
    assert!(holder.alive(), "neither signalled it");
}

#[test]
fn a_free_port_exits_one() {
    let free = crate::support::free_port().to_string();
    let output = kill(&[&free, "--yes"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("ports: nothing holds port {free}\n")
    );
}

#[test]
fn udp_and_bound_only_sockets_are_freed_too() {
    let udp = "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1',0))\n\
               print(s.getsockname()[1],flush=True);time.sleep(60)";
    let bound = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0))\n\
                 print(s.getsockname()[1],flush=True);time.sleep(60)";
    for (script, args) in [(udp, vec!["-u"]), (bound, vec!["-t"])] {
        let mut holder = Holder::start(script);
        let mut all = vec![holder.port.as_str(), "--yes", "--json"];
        all.extend(&args);
        let output = kill(&all);
        let why = explain(&all, &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
        assert_eq!(report["targets"][0]["pid"], holder.child.id(), "{why}");
        assert_eq!(report["targets"][0]["fate"], "exited", "{why}");
        assert_eq!(report["port_free"], true, "{why}");
        assert!(!holder.alive());
    }
}

#[test]
fn as_nobody_a_root_listener_is_not_touched_and_the_reason_is_said() {
    assert_root();
    let mut root_owned = Holder::start(TCP);
    let output = ports_as_nobody(&["kill", &root_owned.port, "--yes"]);
    let why = explain(&["(as nobody) kill --yes", &root_owned.port], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("could not be seen: run with sudo"),
        "{why}"
    );
    assert!(root_owned.alive(), "{why}");
}

/// Runs `ports kill PORT` on a pseudo-terminal (util-linux `script`) and answers its question.
fn answered(port: &str, answer: &str) -> String {
    let command = format!("{} kill {port}", env!("CARGO_BIN_EXE_ports"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_question_on_a_terminal_defaults_to_no() {
    let mut holder = Holder::start(TCP);
    let screen = answered(&holder.port, "n");
    assert!(
        screen.contains("Send SIGTERM to 1 process? [y/N]"),
        "{screen}"
    );
    assert!(holder.alive(), "n signals nothing: {screen}");
    let screen = answered(&holder.port, "y");
    assert!(screen.contains("exited"), "{screen}");
    assert!(!holder.alive(), "y signals: {screen}");
}

/// Named `docker-proxy`, with Docker's arguments, but no container has that address.
const FORGED_PROXY: &str = "import socket,time\nopen('/proc/self/comm','w').write('docker-proxy')\n\
    s=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
    print(s.getsockname()[1],flush=True);time.sleep(60)";

#[test]
fn a_process_that_only_looks_like_dockers_forwarder_is_not_spared() {
    let proxy_args = [
        "-proto",
        "tcp",
        "-container-ip",
        "172.31.255.254",
        "-container-port",
        "80",
    ];
    let (child, line) = start_and_read_line(
        Command::new(PYTHON)
            .args(["-c", FORGED_PROXY])
            .args(proxy_args),
    );
    let forged = Holder {
        port: line.trim().to_owned(),
        child,
    };
    let args = [forged.port.as_str(), "--dry-run", "--json"];
    let output = kill(&args);
    let why = explain(&args, &output);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    assert_eq!(report["refused"], serde_json::json!([]), "{why}");
    assert_eq!(report["targets"][0]["pid"], forged.child.id(), "{why}");
}
