//! Files `ports` writes as root into directories another user may write (a node_exporter
//! textfile directory, a man directory): nothing planted there is written through.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::support::{explain, ports};

/// A file only root should change, and the directory the attacker writes.
fn victim_and_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    (dir, victim)
}

/// The pid the next process will most likely get: pids are handed out in turn.
fn next_pid() -> u32 {
    let child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    let _ = child.wait_with_output();
    pid + 1
}

fn assert_untouched(victim: &Path, why: &str) {
    assert_eq!(
        std::fs::read_to_string(victim).unwrap(),
        "precious",
        "{why}"
    );
}

#[test]
fn metrics_output_never_writes_through_planted_symlinks() {
    let (dir, victim) = victim_and_dir();
    let out = dir.path().join("out");
    // The old temporary name was `.NAME.PID.tmp`: plant it for the next pids, and the target.
    let first = next_pid();
    for pid in first..first + 200 {
        symlink(&victim, out.join(format!(".ports.prom.{pid}.tmp"))).unwrap();
    }
    let file = out.join("ports.prom");
    symlink(&victim, &file).unwrap();
    let args = ["metrics", "-o", file.to_str().unwrap()];
    let output = ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    assert_untouched(&victim, &why);
    assert!(std::fs::symlink_metadata(&file).unwrap().is_file(), "{why}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# TYPE ports_"), "{why}");
}

#[test]
fn man_out_dir_never_writes_through_a_planted_symlink() {
    let (dir, victim) = victim_and_dir();
    let out = dir.path().join("out");
    symlink(&victim, out.join("ports.1")).unwrap();
    let args = ["man", "--out-dir", out.to_str().unwrap()];
    let output = ports().args(args).output().unwrap();
    let why = explain(&args, &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    assert_untouched(&victim, &why);
    let page = std::fs::read_to_string(out.join("ports.1")).unwrap();
    assert!(page.contains(".TH"), "{why}");
}
