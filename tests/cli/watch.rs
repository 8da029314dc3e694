//! `--watch` with real sockets: a helper process opens a listener, connects to it, lets the
//! server side close (the client turns CLOSE-WAIT: a state change), then closes everything.
//! The watch runs as its own process and each change it reports is checked field by field.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use serde_json::Value;

/// Each line on stdin is one step; it prints its pid, then the listening port.
const STEPS: &str = r#"
import os, socket, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
print(server.getsockname()[1], flush=True)
sys.stdin.readline()
client = socket.create_connection(server.getsockname()); accepted, _ = server.accept()
sys.stdin.readline()
accepted.close()
sys.stdin.readline()
client.close(); server.close()
sys.stdin.readline()
"#;

/// The helper, killed when the test ends however it ends.
struct Helper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    fn start() -> (Helper, u32) {
        Helper::run(STEPS)
    }

    fn run(script: &str) -> (Helper, u32) {
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut helper = Helper {
            child,
            stdin,
            stdout,
        };
        let pid = helper.read_line().parse().unwrap();
        (helper, pid)
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_owned()
    }

    fn step(&mut self) {
        writeln!(self.stdin).unwrap();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `ports --watch`, its lines arriving on a channel; killed on drop.
struct Watch {
    child: Child,
    lines: Receiver<String>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ports"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Watch { child, lines }
    }

    /// Every line that arrives within `wait`.
    fn lines_within(&self, wait: Duration) -> Vec<String> {
        std::thread::sleep(wait);
        self.lines.try_iter().collect()
    }

    /// The lines of one step: waits (up to 10 s, for a loaded machine) for `count` lines, then
    /// a few refreshes more for any the test does not expect.
    fn step_lines(&self, count: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lines.len() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(_) => break,
            }
        }
        lines.extend(self.lines_within(SETTLE));
        lines
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Four refreshes at 0.2 s: long enough for a change to be seen, short enough for the test.
const SETTLE: Duration = Duration::from_millis(800);

/// Runs the helper's steps under a watch of its pid; the lines each step produced.
fn watched_steps(extra: &[&str]) -> (u32, u16, Vec<Vec<String>>) {
    let (mut helper, pid) = Helper::start();
    let pid_arg = pid.to_string();
    let mut args = vec!["--watch=0.2", "--pid", &pid_arg, "-t"];
    args.extend(extra);
    let watch = Watch::start(&args);
    // The first listing can take a moment on a loaded machine; nothing is held yet.
    let mut steps = vec![watch.lines_within(SETTLE * 2)];
    helper.step();
    let port: u16 = helper.read_line().parse().unwrap();
    steps.push(watch.step_lines(1));
    for expected in [2, 2, 2] {
        helper.step();
        steps.push(watch.step_lines(expected));
    }
    (pid, port, steps)
}

#[test]
fn change_lines_show_opens_a_state_change_and_closes_with_the_pid() {
    let (pid, port, steps) = watched_steps(&[]);
    let listener = format!("tcp 127.0.0.1:{port} - LISTEN {pid} python3");
    assert_eq!(steps[0], Vec::<String>::new(), "nothing held yet");
    assert_eq!(steps[1], [format!("+ {listener}")]);
    let opened = &steps[2];
    assert_eq!(
        opened.len(),
        2,
        "the client and the accepted socket: {opened:?}"
    );
    assert!(
        opened
            .iter()
            .all(|line| line.starts_with("+ tcp 127.0.0.1:")
                && line.ends_with(&format!(" ESTABLISHED {pid} python3"))),
        "{opened:?}"
    );
    let client = opened
        .iter()
        .find(|line| line.contains(&format!(" 127.0.0.1:{port} ESTABLISHED")))
        .unwrap_or_else(|| panic!("the client's line: {opened:?}"));
    let client_local = client.split(' ').nth(2).unwrap();
    let mut closing = steps[3].clone();
    closing.sort();
    assert_eq!(closing.len(), 2, "{closing:?}");
    assert_eq!(
        closing,
        [
            format!("- tcp 127.0.0.1:{port} {client_local} ESTABLISHED {pid} python3"),
            format!("~ tcp {client_local} 127.0.0.1:{port} ESTABLISHED->CLOSE-WAIT {pid} python3"),
        ]
    );
    let mut gone = steps[4].clone();
    let mut expected = [
        format!("- tcp {client_local} 127.0.0.1:{port} CLOSE-WAIT {pid} python3"),
        format!("- {listener}"),
    ];
    gone.sort();
    expected.sort();
    assert_eq!(gone, expected);
}

fn parse(lines: &[String]) -> Vec<Value> {
    let mut events: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    events.sort_by_key(|event| event["event"].as_str().unwrap_or_default().to_owned());
    events
}

/// The fields every event has: what happened, when, and whose socket on which port.
fn check(event: &Value, kind: &str, pid: u32, state: &str) {
    assert_eq!(event["event"], kind, "{event}");
    let time = event["time"].as_str().unwrap_or_default();
    assert!(time.starts_with("20") && time.ends_with('Z'), "{event}");
    assert_eq!(event["proto"], "tcp", "{event}");
    assert_eq!(event["state"], state, "{event}");
    assert_eq!(event["processes"][0]["pid"], pid, "{event}");
}

#[test]
fn json_events_carry_the_socket_fields_and_what_a_change_was() {
    let (pid, port, steps) = watched_steps(&["--json"]);
    assert!(steps[0].is_empty(), "{:?}", steps[0]);
    let opened = parse(&steps[1]);
    assert_eq!(opened.len(), 1, "{opened:?}");
    check(&opened[0], "open", pid, "listen");
    assert_eq!(opened[0]["local_port"], port);
    let connected = parse(&steps[2]);
    assert_eq!(connected.len(), 2, "{connected:?}");
    connected
        .iter()
        .for_each(|event| check(event, "open", pid, "established"));
    let closing = parse(&steps[3]);
    assert_eq!(closing.len(), 2, "{closing:?}");
    check(&closing[0], "change", pid, "close-wait");
    assert_eq!(closing[0]["remote_port"], port);
    assert_eq!(closing[0]["was"]["state"], "established");
    assert_eq!(closing[0]["was"]["pids"][0], pid);
    check(&closing[1], "close", pid, "established");
    assert_eq!(closing[1]["local_port"], port);
    let gone = parse(&steps[4]);
    let states: Vec<&str> = gone.iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(gone.len(), 2, "{gone:?}");
    assert!(states.contains(&"listen") && states.contains(&"close-wait"));
    gone.iter().for_each(|e| assert_eq!(e["event"], "close"));
}

/// A tmux server of our own (a socket per test), 80x24, running bash; killed on drop, and its
/// socket file removed (tmux 3.3 leaves it behind).
struct Tmux {
    socket: String,
    socket_path: String,
}

impl Tmux {
    fn start(test: &str) -> Tmux {
        let mut tmux = Tmux {
            socket: format!("ports-{test}-{}", std::process::id()),
            socket_path: String::new(),
        };
        let status = tmux
            .command(&["new-session", "-d", "-s", "w", "-x", "80", "-y", "24"])
            .args(["-e", "PS1=ready$ ", "bash", "--norc", "--noprofile"])
            .status()
            .expect("tmux (apt package tmux)");
        assert!(status.success());
        let path = tmux.output(&["display-message", "-p", "#{socket_path}"]);
        tmux.socket_path = path.trim().to_string();
        tmux
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]).args(args);
        command
    }

    fn output(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "w"];
        args.extend(keys);
        assert!(self.command(&args).status().unwrap().success());
    }

    fn screen(&self) -> String {
        self.output(&["capture-pane", "-t", "w", "-p"])
    }

    /// Waits up to 10 s for the screen to satisfy `done`; the last screen either way.
    fn wait_for(&self, done: impl Fn(&str) -> bool) -> (bool, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if done(&screen) || std::time::Instant::now() > deadline {
                return (done(&screen), screen);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The exit status of the command the pane's shell ran last.
    fn last_exit_status(&self) -> String {
        self.keys(&["echo exit=$?", "Enter"]);
        let (said, screen) = self.wait_for(|screen| screen.contains("\nexit="));
        assert!(said, "{screen}");
        let line = screen.lines().find_map(|line| line.strip_prefix("exit="));
        line.unwrap_or_default().trim().to_owned()
    }

    /// The terminal is itself again: no alternate screen, the cursor shown, the prompt back.
    fn restored(&self) -> (bool, String) {
        let (back, screen) = self.wait_for(|screen| {
            let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
            lines.last().is_some_and(|line| line.trim_end() == "ready$")
        });
        let flags = "#{alternate_on} #{cursor_flag}";
        let flags = self.output(&["display-message", "-p", "-t", "w", flags]);
        (
            back && flags.trim() == "0 1",
            format!("{screen}\nflags: {flags}"),
        )
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).status();
        let _ = std::fs::remove_file(&self.socket_path);
    }
}

fn watch_in(tmux: &Tmux, pid: u32) {
    watch_in_with(tmux, pid, "");
}

/// The live view of `pid`'s TCP sockets, with `extra` flags.
fn watch_in_with(tmux: &Tmux, pid: u32, extra: &str) {
    let ports = env!("CARGO_BIN_EXE_ports");
    let command = format!("{ports} --watch=0.3 -t --pid {pid}{extra}");
    tmux.keys(&[&command, "Enter"]);
    let (started, screen) = tmux.wait_for(|screen| screen.contains("UTC ·"));
    assert!(started, "the watch screen: {screen}");
}

#[test]
fn the_live_view_marks_new_and_gone_rows_and_restores_the_terminal_on_q() {
    let tmux = Tmux::start("view");
    let (mut helper, pid) = Helper::start();
    watch_in(&tmux, pid);
    helper.step();
    let port = helper.read_line();
    let row = format!("127.0.0.1:{port}");
    let marked = |mark: &'static str| {
        let row = row.clone();
        move |screen: &str| {
            screen.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.first() == Some(&mark)
                    && fields.contains(&row.as_str())
                    && fields.contains(&"LISTEN")
                    && fields.contains(&pid.to_string().as_str())
            })
        }
    };
    let (opened, screen) = tmux.wait_for(marked("+"));
    assert!(opened, "a + row for the listener with pid {pid}: {screen}");
    assert!(screen.contains("+1 new"), "{screen}");
    helper.step();
    helper.step();
    helper.step();
    let (closed, screen) = tmux.wait_for(marked("-"));
    assert!(closed, "a - row for the closed listener: {screen}");
    tmux.keys(&["q"]);
    let (restored, screen) = tmux.restored();
    assert!(restored, "q quits and the prompt is back: {screen}");
    assert_eq!(tmux.last_exit_status(), "0");
}

#[test]
fn the_wide_live_view_cuts_nothing_and_pans_with_the_arrows() {
    let tmux = Tmux::start("wide");
    let (mut helper, pid) = Helper::start();
    watch_in_with(&tmux, pid, " -w");
    helper.step();
    let row = format!("127.0.0.1:{}", helper.read_line());
    let whole = |screen: &str| {
        screen.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            ["tcp", &row, "-", "LISTEN"]
                .iter()
                .all(|f| fields.contains(f))
        })
    };
    let (shown, screen) = tmux.wait_for(whole);
    assert!(
        shown && !screen.contains('…'),
        "PROTO, {row} whole, REMOTE, STATE: {screen}"
    );
    tmux.keys(&["Right"]);
    let panned = |screen: &str| !screen.contains("PROTO") && screen.contains("OCAL  ");
    let (moved, screen) = tmux.wait_for(panned);
    assert!(moved, "→ pans 8 columns: {screen}");
    assert!(screen.contains("←→ pan"), "{screen}");
    tmux.keys(&["Left"]);
    let (back, screen) = tmux.wait_for(|screen| screen.contains("PROTO  LOCAL"));
    assert!(back, "← pans back: {screen}");
    tmux.keys(&["q"]);
    let (restored, screen) = tmux.restored();
    assert!(restored, "{screen}");
}

#[test]
fn ctrl_c_ends_the_live_view_as_an_interrupt() {
    let tmux = Tmux::start("ctrl-c");
    let (_helper, pid) = Helper::start();
    watch_in(&tmux, pid);
    tmux.keys(&["C-c"]);
    let (restored, screen) = tmux.restored();
    assert!(restored, "Ctrl-C restores the terminal: {screen}");
    assert_eq!(tmux.last_exit_status(), "130");
}

/// The pid of the `ports` the pane's shell runs.
fn watch_pid(tmux: &Tmux) -> String {
    let shell = tmux.output(&["display-message", "-p", "-t", "w", "#{pane_pid}"]);
    let watch = Command::new("pgrep")
        .args(["-P", shell.trim(), "ports"])
        .output()
        .unwrap();
    let watch = String::from_utf8_lossy(&watch.stdout).trim().to_owned();
    assert!(!watch.is_empty(), "the watch's pid under shell {shell}");
    watch
}

#[test]
fn sigterm_restores_the_terminal() {
    let tmux = Tmux::start("sigterm");
    let (_helper, pid) = Helper::start();
    watch_in(&tmux, pid);
    let killed = Command::new("kill")
        .args(["-TERM", &watch_pid(&tmux)])
        .status();
    assert!(killed.unwrap().success());
    let (restored, screen) = tmux.restored();
    assert!(restored, "SIGTERM restores the terminal: {screen}");
}

#[test]
fn a_hung_up_terminal_ends_the_watch() {
    let tmux = Tmux::start("hangup");
    let (_helper, pid) = Helper::start();
    watch_in(&tmux, pid);
    let watch = watch_pid(&tmux);
    let _ = tmux.command(&["kill-server"]).status();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{watch}")).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "ports {watch} still runs after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Connections come and go while forked children hold copies of them for a moment (so owners
/// change), then everything settles.
const CHURN: &str = r#"
import os, random, signal, socket, sys, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
print(os.getpid(), flush=True)
sys.stdin.readline()
random.seed(7)
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(64)
held = []
end = time.time() + 2.5
while time.time() < end:
    client = socket.create_connection(server.getsockname()); accepted, _ = server.accept()
    held.append((client, accepted))
    if len(held) > 6:
        for s in held.pop(random.randrange(len(held))): s.close()
    if os.fork() == 0:
        time.sleep(0.3); os._exit(0)
    time.sleep(0.05)
time.sleep(0.5)
print("settled", flush=True)
sys.stdin.readline()
"#;

/// `(inode, local, remote, state, pids)` of the sockets `pid` holds.
type Held = Vec<(u64, String, String, String, Vec<u64>)>;

fn held_by(sockets: impl Iterator<Item = Value>, pid: u32) -> Held {
    let mut held: Held = sockets
        .filter(|s| {
            s["processes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["pid"] == pid)
        })
        .map(|s| {
            let address = |side: &str| {
                format!(
                    "{}:{}",
                    s[format!("{side}_addr")],
                    s[format!("{side}_port")]
                )
            };
            let pids = s["processes"].as_array().unwrap().iter();
            (
                s["inode"].as_u64().unwrap(),
                address("local"),
                address("remote"),
                s["state"].as_str().unwrap().to_owned(),
                pids.map(|p| p["pid"].as_u64().unwrap()).collect(),
            )
        })
        .collect();
    held.sort();
    held
}

/// What a stream of events leaves open: each open adds, each change replaces, each close drops;
/// a socket is known by its cookie, as the watch knows it (the inode may come and go).
fn replay_events(lines: &[String]) -> Vec<Value> {
    let mut open: Vec<Value> = Vec::new();
    for line in lines {
        let event: Value = serde_json::from_str(line).unwrap();
        let same = |s: &Value| s["cookie"] == event["cookie"];
        open.retain(|s| !same(s));
        if event["event"] != "close" {
            open.push(event);
        }
    }
    open
}

#[test]
fn after_churn_the_watch_shows_what_a_fresh_run_shows() {
    let (mut helper, pid) = Helper::run(CHURN);
    let watch = Watch::start(&["--watch=0.2", "--json", "-t"]);
    std::thread::sleep(SETTLE);
    helper.step();
    assert_eq!(helper.read_line(), "settled");
    std::thread::sleep(SETTLE * 2);
    let output = Command::new(env!("CARGO_BIN_EXE_ports"))
        .args(["--json", "-t"])
        .output()
        .unwrap();
    let fresh: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let lines = watch.lines_within(Duration::from_millis(300));
    let watched = held_by(replay_events(&lines).into_iter(), pid);
    assert!(watched.len() >= 13, "a listener and six pairs: {watched:?}");
    assert_eq!(watched, held_by(fresh.into_iter(), pid));
}

/// Closes a listener and opens another at once: the process's fd count does not change.
const SWAP: &str = r#"
import os, socket, sys
print(os.getpid(), flush=True)
old = socket.socket(); old.bind(("127.0.0.1", 0)); old.listen()
sys.stdin.readline()
old.close(); new = socket.socket(); new.bind(("127.0.0.1", 0)); new.listen()
print(new.getsockname()[1], flush=True)
sys.stdin.readline()
"#;

#[test]
fn a_socket_swapped_for_another_at_the_same_fd_count_keeps_its_owner() {
    let (mut helper, pid) = Helper::run(SWAP);
    let pid_arg = pid.to_string();
    let watch = Watch::start(&["--watch=0.2", "-t", "-l", "--pid", &pid_arg]);
    let before = watch.step_lines(1);
    assert_eq!(before.len(), 1, "{before:?}");
    helper.step();
    let port = helper.read_line();
    let lines = watch.step_lines(2);
    let opened = format!("+ tcp 127.0.0.1:{port} - LISTEN {pid} python3");
    assert!(lines.contains(&opened), "{opened} in {lines:?}");
}

#[test]
fn the_stream_ends_when_its_reader_goes_away_without_waiting_for_a_change() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ports"))
        .args(["--watch=30", "-l", &port])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("+ tcp"), "{first}");
    // The reader is dropped here, as `| head -1` exits after its line.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the watch kept running after its reader left");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two connections in one process, each paced by its client: the first at 2 MiB/s, the second
/// at 6 MiB/s, in 32 writes a second. Prints its pid, then both servers' ports.
const PACED: &str = r#"
import os, socket, threading, time
print(os.getpid(), flush=True)
def paced(rate):
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
    client = socket.create_connection(server.getsockname()); accepted, _ = server.accept()
    def drain():
        while accepted.recv(1 << 16): pass
    def send():
        chunk, start, n = b"x" * (rate // 32), time.monotonic(), 0
        while True:
            client.sendall(chunk); n += 1
            time.sleep(max(0, start + n / 32 - time.monotonic()))
    for run in (drain, send): threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1], (server, client, accepted)
(slow, a), (fast, b) = paced(2 << 20), paced(6 << 20)
print(slow, fast, flush=True)
time.sleep(120)
"#;

const SLOW_RATE: f64 = (2 << 20) as f64;

/// `2.0MiB/s` in bytes per second.
fn rate_of(cell: &str) -> Option<f64> {
    let number = cell.strip_suffix("/s")?;
    let units = [
        ("KiB", 1024.0),
        ("MiB", 1048576.0),
        ("GiB", 1073741824.0),
        ("B", 1.0),
    ];
    let (value, scale) = units
        .iter()
        .find_map(|(unit, scale)| Some((number.strip_suffix(unit)?, *scale)))?;
    Some(value.parse::<f64>().ok()? * scale)
}

/// The screen's rows (marks dropped) as cells under the header's columns, up to IN/S's.
fn receiving_rows(screen: &str) -> Vec<(String, f64)> {
    let mut lines = screen.lines().skip_while(|line| !line.contains("IN/S"));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<&str> = header.split_whitespace().collect();
    let [local, rate] = ["LOCAL", "IN/S"].map(|name| columns.iter().position(|c| *c == name));
    let (Some(local), Some(rate)) = (local, rate) else {
        return Vec::new();
    };
    let rows = lines.map(|line| {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let cells = match cells.first() {
            Some(&"+" | &"~" | &"-") => &cells[1..],
            _ => &cells[..],
        };
        Some((cells.get(local)?.to_string(), rate_of(cells.get(rate)?)?))
    });
    rows.flatten().collect()
}

#[test]
fn the_view_shows_a_paced_connections_rate_the_stream_agrees_and_a_faster_one_sorts_above() {
    let (mut helper, pid) = Helper::run(PACED);
    let ports = helper.read_line();
    let [slow, fast] = [0, 1].map(|i| ports.split(' ').nth(i).unwrap().to_owned());
    // The servers' ends receive: their LOCAL is the listening port, and the listener has no rate.
    let server_end = |port: &str| {
        let suffix = format!(":{port}");
        move |(local, _): &(String, f64)| local.ends_with(&suffix)
    };
    let tmux = Tmux::start("rates");
    let command = format!(
        "{} --watch=1 -t --pid {pid} --tcp-info --sort rate",
        env!("CARGO_BIN_EXE_ports")
    );
    tmux.keys(&[&command, "Enter"]);
    let (measured, screen) = tmux.wait_for(|screen| {
        let rows = receiving_rows(screen);
        rows.iter().any(server_end(&slow)) && rows.iter().any(server_end(&fast))
    });
    assert!(measured, "{screen}");
    std::thread::sleep(Duration::from_secs(2)); // a steady interval, not the first
    let screen = tmux.screen();
    let rows = receiving_rows(&screen);
    let at = |port: &str| rows.iter().position(server_end(port)).unwrap();
    let shown = rows[at(&slow)].1;
    assert!(
        (shown / SLOW_RATE - 1.0).abs() <= 0.15,
        "{shown} B/s in\n{screen}"
    );
    assert!(at(&fast) < at(&slow), "the faster first:\n{screen}");

    let stream = Watch::start(&[
        "--watch=1",
        "--tcp-info",
        "--json",
        "--pid",
        &pid.to_string(),
        "-t",
    ]);
    let lines = stream.lines_within(Duration::from_millis(3_500));
    let events = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap());
    let rates: Vec<f64> = events
        .filter(|e| e["event"] == "rate" && e["local_port"].as_u64() == slow.parse().ok())
        .filter_map(|e| e["recv_bytes_per_s"].as_f64())
        .collect();
    let streamed = *rates.last().unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(
        (streamed / SLOW_RATE - 1.0).abs() <= 0.15,
        "{streamed}: {lines:#?}"
    );
    assert!(
        (streamed / shown - 1.0).abs() <= 0.15,
        "view {shown}, stream {streamed}"
    );
}
