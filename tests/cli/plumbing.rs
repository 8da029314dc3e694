//! Where the output goes: a closed stdout, a closed pipe, a full disk.

use std::io;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use crate::support::explain;

#[test]
fn a_closed_stdout_is_quiet_and_keeps_the_exit_code() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    for (args, code) in [(port.as_str(), 0), ("1", 1)] {
        let output = Command::new("bash")
            .args(["-c", r#""$0" "$1" >&-"#, env!("CARGO_BIN_EXE_ports"), args])
            .output()
            .unwrap();
        let why = explain(&[args, ">&-"], &output);
        assert_eq!(output.status.code(), Some(code), "{why}");
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("error"),
            "{why}"
        );
    }
}

#[test]
fn a_closed_pipe_is_a_quiet_success() {
    let listeners: Vec<_> = (0..50)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let (reader, writer) = io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_ports"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&[], &output));
    assert!(output.stderr.is_empty(), "{}", explain(&[], &output));
    drop(listeners);
}

#[test]
fn head_reads_one_line_and_ports_exits_zero() {
    // More rows than a pipe buffer (64 KiB) holds, so ports really writes into a closed pipe.
    let _listeners: Vec<_> = (0..1500)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    for (format, first) in [
        ("--color=never", "PROTO"),
        ("--csv", "proto"),
        ("--json", "["),
    ] {
        let script = r#"set -o pipefail; "$0" "$1" | head -1"#;
        let output = Command::new("bash")
            .args(["-c", script, env!("CARGO_BIN_EXE_ports"), format])
            .output()
            .unwrap();
        let why = explain(&[format, "| head -1"], &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).lines().count(),
            1,
            "{why}"
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).starts_with(first),
            "{why}"
        );
        assert!(output.stderr.is_empty(), "{why}");
    }
}

#[test]
fn a_closed_stderr_is_no_reason_to_fail() {
    // Port 1 is free here, so ports has a note for stderr, which is closed.
    let output = Command::new("bash")
        .args(["-c", r#""$0" 1 2>&-"#, env!("CARGO_BIN_EXE_ports")])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        explain(&["1", "2>&-"], &output)
    );
}

#[test]
fn a_full_disk_is_an_error() {
    let _listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ports"))
        .stdout(full)
        .output()
        .unwrap();
    let why = explain(&["> /dev/full"], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("No space left on device"),
        "{why}"
    );
}
