//! `--replay FILE`: a `--json` dump shown as if it were the machine, so a bug report's dump
//! can be rerun and the real binary driven deterministically.

use std::net::TcpListener;

use crate::support::{explain, ports};

#[test]
fn a_dump_replays_to_the_same_json_and_the_same_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dump = ports().args(["--json", &port]).output().unwrap();
    assert_eq!(
        dump.status.code(),
        Some(0),
        "{}",
        explain(&["--json"], &dump)
    );
    let file = std::env::temp_dir().join(format!("ports-replay-{}.json", std::process::id()));
    std::fs::write(&file, &dump.stdout).unwrap();
    let replay = |args: &[&str]| {
        let mut all = vec!["--replay", file.to_str().unwrap()];
        all.extend(args);
        ports().args(&all).output().unwrap()
    };

    let again = replay(&["--json"]);
    assert_eq!(
        again.stdout,
        dump.stdout,
        "{}",
        explain(&["--replay", "--json"], &again)
    );
    drop(listener); // the replay no longer needs the machine
    let table = replay(&["--color", "never", "-l"]);
    let why = explain(&["--replay", "-l"], &table);
    assert_eq!(table.status.code(), Some(0), "{why}");
    let text = String::from_utf8(table.stdout.clone()).unwrap();
    let row = text
        .lines()
        .find(|l| l.contains(&format!("127.0.0.1:{port}")))
        .expect(&why);
    assert!(
        row.contains(&std::process::id().to_string()) && row.contains("LISTEN"),
        "{why}"
    );
    let none = replay(&["--state", "time-wait", "-t", "1"]);
    assert_eq!(
        none.status.code(),
        Some(1),
        "{}",
        explain(&["--replay", "1"], &none)
    );
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_file_that_is_not_a_dump_is_named_in_one_line() {
    let file = std::env::temp_dir().join(format!("ports-not-a-dump-{}.json", std::process::id()));
    std::fs::write(&file, "[{\"proto\":\"sctp\"}]").unwrap();
    for path in [file.to_str().unwrap(), "/nonexistent/dump.json"] {
        let output = ports().args(["--replay", path]).output().unwrap();
        let why = explain(&["--replay", path], &output);
        assert_eq!(output.status.code(), Some(2), "{why}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{why}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(path),
            "{why}"
        );
    }
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_replay_reads_only_a_regular_file_of_bounded_size() {
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large.json");
    let file = std::fs::File::create(&large).unwrap();
    file.set_len(ports::source::REPLAY_LIMIT + 1).unwrap(); // sparse: no disk used
    let cases = [
        ("/dev/zero", "is not a regular file"),
        (
            large.to_str().unwrap(),
            "larger than the 256 MiB a replay reads",
        ),
    ];
    for (path, said) in cases {
        let output = ports().args(["--replay", path]).output().unwrap();
        let why = explain(&["--replay", path], &output);
        assert_eq!(output.status.code(), Some(2), "{why}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{why}");
        assert!(stderr.contains(path) && stderr.contains(said), "{why}");
    }
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("dump.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let path = fifo.to_str().unwrap();
    let output = ports()
        .args(["--replay", path])
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap();
    let why = explain(&["--replay", path], &output);
    assert_eq!(output.status.code(), Some(2), "{why}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is not a regular file"),
        "{why}"
    );
}
