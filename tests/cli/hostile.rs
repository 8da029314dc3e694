//! A process whose name and command line hold control characters, ANSI escapes, invalid UTF-8
//! and a very long argument: shown escaped, never raw; JSON and CSV stay valid.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Command, Stdio};

use crate::support::{PYTHON, explain, ports};

/// Renames itself (comm) to its first argument's bytes, listens, prints the port.
const NAMED: &str = r#"
import os, socket, sys
with open("/proc/self/comm", "wb") as comm:
    comm.write(os.fsencode(sys.argv[1]))
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"#;

const LONG_ARGUMENT: usize = 100_000;

struct Hostile {
    child: Child,
    port: String,
}

impl Hostile {
    /// Named with an escape sequence and invalid UTF-8, with arguments holding an OSC escape,
    /// invalid UTF-8, a very long argument, a newline, a tab and a right-to-left override.
    fn start() -> Hostile {
        let long = "A".repeat(LONG_ARGUMENT);
        let args = [
            OsStr::from_bytes(b"\x1b]0;pwned\x07\xff\xfe"),
            OsStr::new(&long),
            OsStr::new("line\nbreak\ttab \u{202e}gnp.exe"),
        ];
        Hostile::named(b"\x1b[31mev\xffil\x07", &args)
    }

    /// A listener whose `comm` is `comm`, started with `args` after it.
    fn named(comm: &[u8], args: &[&OsStr]) -> Hostile {
        let mut child = Command::new(PYTHON)
            .args(["-c", NAMED])
            .arg(OsStr::from_bytes(comm))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        Hostile {
            child,
            port: port.trim().to_owned(),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bytes a terminal would act on: C0 controls but newline, DEL, and the C1 range as UTF-8.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && c.is_control())
        .collect()
}

#[test]
fn table_escapes_names_and_command_lines() {
    let hostile = Hostile::start();
    for colour in ["never", "always"] {
        let args = ["-w", "--color", colour, hostile.port.as_str()];
        let output = ports().args(args).output().unwrap();
        let why = explain(&args, &output);
        assert_eq!(output.status.code(), Some(0), "{why}");
        let stdout = std::str::from_utf8(&output.stdout).expect("valid UTF-8 out");
        assert_eq!(stdout.lines().count(), 2, "one header, one row: {why}");
        assert!(stdout.contains("\\x1b[31mev\u{fffd}il\\x07"), "{why}");
        assert!(
            stdout.contains("\\x1b]0;pwned\\x07\u{fffd}\u{fffd}"),
            "{why}"
        );
        assert!(
            stdout.contains("line\\nbreak\\ttab \\u{202e}gnp.exe"),
            "{why}"
        );
        assert!(
            stdout.contains(&"A".repeat(LONG_ARGUMENT)),
            "-w never truncates: {why}"
        );
        if colour == "never" {
            assert_eq!(raw_controls(stdout), [], "{why}");
        } else {
            // Only our own colour codes: every ESC starts an SGR sequence `ESC [ ... m`.
            for sequence in stdout.split('\x1b').skip(1) {
                let sgr = sequence.strip_prefix('[').and_then(|s| s.split_once('m'));
                assert!(
                    sgr.is_some_and(|(p, _)| p.bytes().all(|b| b.is_ascii_digit() || b == b';'))
                );
            }
        }
    }
}

#[test]
fn json_and_csv_stay_valid() {
    let hostile = Hostile::start();
    let output = ports().args(["--json", &hostile.port]).output().unwrap();
    let why = explain(&["--json", &hostile.port], &output);
    let sockets: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    let process = &sockets[0]["processes"][0];
    assert_eq!(process["name"], "\x1b[31mev\u{fffd}il\x07", "{why}");
    let cmdline = process["cmdline"].as_str().unwrap();
    assert!(
        cmdline.contains("line\nbreak\ttab \u{202e}gnp.exe"),
        "{why}"
    );
    assert!(cmdline.contains(&"A".repeat(LONG_ARGUMENT)), "{why}");

    let output = ports().args(["--csv", &hostile.port]).output().unwrap();
    let why = explain(&["--csv", &hostile.port], &output);
    let mut reader = csv::Reader::from_reader(&output.stdout[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect(&why)).collect();
    assert_eq!(rows.len(), 1, "{why}");
    assert_eq!(&rows[0][8], "\\x1b[31mev\u{fffd}il\\x07", "{why}");
    assert_eq!(
        raw_controls(std::str::from_utf8(&output.stdout).unwrap()),
        [],
        "{why}"
    );
}

#[test]
fn csv_names_that_a_spreadsheet_would_evaluate_are_quoted() {
    for name in ["=cmd|' /C calc'", "+1+2", "-2+3", "@SUM(A1)"] {
        let named = Hostile::named(name.as_bytes(), &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sockets.csv");
        let args = ["--csv", named.port.as_str()];
        let output = ports().args(args).output().unwrap();
        std::fs::write(&file, &output.stdout).unwrap();
        let why = explain(&args, &output);
        let mut reader = csv::Reader::from_path(&file).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect(&why)).collect();
        assert_eq!(rows.len(), 1, "{why}");
        assert_eq!(&rows[0][8], format!("'{name}"), "{why}");
    }
}
