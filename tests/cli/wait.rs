//! `ports wait`: a listener that appears later ends it at once, one that never does times it
//! out, and `--free` ends when the holder is gone. Real sockets, real timing.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{PYTHON, explain, free_port, ports, start_and_read_line};

/// Runs `ports wait ARGS`, with how long it took.
fn wait(args: &[&str]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let output = ports().arg("wait").args(args).output().unwrap();
    (output, started.elapsed())
}

#[test]
fn a_listener_that_appears_later_ends_the_wait_within_an_interval() {
    let port = free_port();
    let opened = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let at = Instant::now();
        std::thread::sleep(Duration::from_secs(3));
        drop(listener);
        at
    });
    let asked = port.to_string();
    let started = Instant::now();
    let (output, _) = wait(&[&asked, "--timeout", "10"]);
    let ended = Instant::now();
    let why = explain(&["wait", &asked], &output);
    let listening_at = opened.join().unwrap();
    assert_eq!(output.status.code(), Some(0), "{why}");
    assert!(ended >= listening_at, "not before it listened: {why}");
    // One poll interval, plus the binary's own start and a dump.
    let late = ended - listening_at;
    assert!(
        late < Duration::from_millis(400),
        "{late:?} after it listened: {why}"
    );
    assert!(ended - started >= Duration::from_millis(900), "{why}");
}

#[test]
fn a_port_nobody_opens_times_out_with_exit_one() {
    let asked = free_port().to_string();
    let (output, took) = wait(&[&asked, "--timeout", "1s"]);
    let why = explain(&["wait", &asked, "--timeout", "1s"], &output);
    assert_eq!(output.status.code(), Some(1), "{why}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1800),
        "{took:?}"
    );
    let said = format!("ports: nothing listens on port {asked} after 1s\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), said, "{why}");
}

#[test]
fn free_waits_for_the_holder_to_go() {
    let script = "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n\
                  print(s.getsockname()[1],flush=True);time.sleep(60)";
    let (mut holder, port) = start_and_read_line(Command::new(PYTHON).args(["-c", script]));
    let port = port.trim().to_owned();
    let (output, _) = wait(&[&port, "--free", "--timeout", "0.3"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "held: {}",
        explain(&[&port], &output)
    );
    let pid = holder.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("/bin/kill").arg(pid.to_string()).status();
    });
    let (output, took) = wait(&[&port, "--free", "--timeout", "10"]);
    killer.join().unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    let why = explain(&["wait", &port, "--free"], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    assert!(took < Duration::from_secs(3), "{took:?}: {why}");
}

#[test]
fn bad_ports_and_durations_are_one_line_and_exit_two() {
    for args in [["abc", "--timeout", "1"], ["80", "--timeout", "soon"]] {
        let (output, _) = wait(&args);
        let why = explain(&args, &output);
        assert_eq!(output.status.code(), Some(2), "{why}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{why}");
        assert!(stderr.contains(&format!(
            "'{}'",
            if args[0] == "abc" { "abc" } else { "soon" }
        )));
    }
}
