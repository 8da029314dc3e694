//! Processes and sockets appear and vanish while ports scans: no run fails, panics or prints a
//! half-read row.
//!
//! One python process forks the churn: forking costs about a millisecond where starting python
//! costs fifty, so the holders come and go hundreds of times a second on two cores, and the 200
//! runs, two at a time, take seconds rather than minutes.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::thread;

use crate::support::{PYTHON, explain, ports};

const RUNS: usize = 200;

/// Forks children that hold 20 listeners and an established pair for 10 ms; every other one is
/// SIGKILLed at 5 ms, so some die holding sockets. Prints a line every 20 children.
const CHURN: &str = r#"
import os, signal, socket, sys, time
def hold():
    held = []
    for _ in range(20):
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); held.append(s)
    c = socket.create_connection(held[0].getsockname()); held += [c, held[0].accept()[0]]
    time.sleep(0.01)
    os._exit(0)
n = 0
while True:
    pid = os.fork()
    if pid == 0:
        hold()
    n += 1
    if n % 2 == 0:
        time.sleep(0.005); os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if n % 20 == 0:
        print(n, flush=True)
"#;

/// Kills the churn when dropped, so a failed assertion does not leave it running.
struct Churn(Child);

impl Drop for Churn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn runs_stay_whole_while_owners_come_and_go() {
    let mut churn = Churn(
        Command::new(PYTHON)
            .args(["-c", CHURN])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut progress = BufReader::new(churn.0.stdout.take().unwrap());
    let mut first = String::new();
    progress.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "20", "the churn did not start");
    thread::scope(|scope| {
        for half in 0..2 {
            scope.spawn(move || (half..RUNS).step_by(2).for_each(check_one_run));
        }
    });
    drop(churn);
    let mut forked = String::new();
    progress.read_to_string(&mut forked).unwrap();
    // At about a hundred children a second, the runs overlapped a hundred or more of them.
    assert!(forked.lines().count() >= 4, "the churn stalled: {forked:?}");
}

fn check_one_run(run: usize) {
    let json = run.is_multiple_of(2);
    let args: &[&str] = if json {
        &["--json"]
    } else {
        &["--color", "never"]
    };
    let output = ports().args(args).output().unwrap();
    let why = format!("run {run}: {}", explain(args, &output));
    assert_eq!(output.status.code(), Some(0), "{why}");
    // The only thing stderr may say: a socket whose holder was not found (it opened after its
    // process was scanned, or its holder is refused to us), counted as hidden.
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    for line in stderr.lines() {
        assert!(is_hidden_owners_note(line), "{why}");
    }
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    if json {
        let sockets: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect(&why);
        for process in sockets
            .iter()
            .flat_map(|s| s["processes"].as_array().unwrap())
        {
            assert!(process["pid"].as_u64().is_some_and(|pid| pid > 0), "{why}");
            assert!(process["name"].as_str().is_some(), "{why}");
        }
    } else {
        // Every row has exactly the seven fields; `-` stands in for a vanished owner.
        for line in stdout.lines().skip(1) {
            assert!(
                line.split_whitespace().count() == 7,
                "half a row: {line:?}\n{why}"
            );
        }
    }
}

fn is_hidden_owners_note(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("ports: ") else {
        return false;
    };
    let count = rest.split(' ').next().unwrap_or_default();
    let counted = rest.contains(" hidden") || rest.contains(" besides those shown");
    count.parse::<u32>().is_ok() && counted
}
