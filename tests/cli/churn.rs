//! Processes and sockets appear and vanish while ports scans: no run fails, panics or prints a
//! half-read row.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use crate::support::{PYTHON, explain, ports};

const RUNS: usize = 200;

/// Holds 20 listeners and one established pair for a moment, then exits.
const SHORT_LIVED: &str = r#"
import socket, time
held = []
for _ in range(20):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); held.append(s)
c = socket.create_connection(held[0].getsockname()); held.append(c); held.append(held[0].accept()[0])
time.sleep(0.01)
"#;

/// Sets the flag when dropped, so a failed assertion still stops the churn threads.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn runs_stay_whole_while_owners_come_and_go() {
    let stop = AtomicBool::new(false);
    let spawned = AtomicUsize::new(0);
    thread::scope(|scope| {
        let _stop_churn = StopOnDrop(&stop);
        for _ in 0..2 {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let mut child = Command::new(PYTHON)
                        .args(["-c", SHORT_LIVED])
                        .stdout(Stdio::null())
                        .spawn()
                        .unwrap();
                    spawned.fetch_add(1, Ordering::Relaxed);
                    // Kill every other one mid-life, so some die holding sockets.
                    if spawned.load(Ordering::Relaxed) % 2 == 0 {
                        thread::sleep(std::time::Duration::from_millis(15));
                        let _ = child.kill();
                    }
                    let _ = child.wait();
                }
            });
        }
        for run in 0..RUNS {
            let args: &[&str] = if run % 2 == 0 {
                &["--json"]
            } else {
                &["--color", "never"]
            };
            let output = ports().args(args).output().unwrap();
            let why = format!("run {run}: {}", explain(args, &output));
            assert_eq!(output.status.code(), Some(0), "{why}");
            assert!(output.stderr.is_empty(), "{why}");
            let stdout = String::from_utf8(output.stdout.clone()).unwrap();
            if run % 2 == 0 {
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
    });
    assert!(spawned.into_inner() >= 10, "the churn did not run");
}
