//! Without root: every socket is still listed, and hidden owners are counted once on stderr.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::explain;

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
}

/// Copies the binary where user `nobody` can run it, and runs it as that user.
fn ports_as_nobody(args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("ports-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.join("ports");
    if !binary.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_ports"), &binary).unwrap();
    }
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn unprivileged_run_lists_root_sockets_and_counts_hidden_owners() {
    assert!(
        is_root(),
        "run the tests as root (CI does): this test drops privileges with setpriv"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();

    let output = ports_as_nobody(&["--json", &port]);
    let why = explain(&["(as nobody) --json", &port], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let sockets: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    let socket = &sockets[0];
    assert_eq!(socket["state"], "listen", "{why}");
    assert_eq!(socket["processes"], serde_json::json!([]), "{why}");
    assert_eq!(socket["owner_hidden"], true, "{why}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{why}");
    assert!(
        stderr.contains("1 socket's owner is hidden") && stderr.contains("sudo"),
        "{why}"
    );

    let output = ports_as_nobody(&["--color", "never", &port]);
    let why = explain(&["(as nobody)", &port], &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .find(|l| l.contains(&format!(":{port}")))
        .expect(&why);
    assert!(row.trim_end().ends_with("LISTEN  -    -        -"), "{why}");
}
