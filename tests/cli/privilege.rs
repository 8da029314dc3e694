//! Without root: every socket is still listed, and hidden owners are counted once on stderr.

use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::explain;

pub fn assert_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    assert!(
        root,
        "run the tests as root (CI does): these tests drop privileges with setpriv"
    );
}

/// The binary as user `nobody` can run it: itself when every directory above it lets others
/// in; else a copy in the temporary directory, made once (tests run in parallel) and renamed
/// into place, so no test can run a half-written file. A copy outlives the run (libtest has no
/// teardown); the next run removes the ones whose run has ended.
pub fn binary_for_nobody() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let original = PathBuf::from(env!("CARGO_BIN_EXE_ports"));
            if others_may_run(&original) {
                return original;
            }
            remove_copies_of_ended_runs();
            let dir = std::env::temp_dir().join(format!("ports-nobody-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            let partial = dir.join("ports.partial");
            std::fs::copy(env!("CARGO_BIN_EXE_ports"), &partial).unwrap();
            let binary = dir.join("ports");
            std::fs::rename(partial, &binary).unwrap();
            binary
        })
        .clone()
}

/// Whether the file and every directory above it have the execute bit for others.
fn others_may_run(path: &Path) -> bool {
    path.ancestors().all(|step| {
        std::fs::metadata(step).is_ok_and(|meta| meta.permissions().mode() & 0o001 != 0)
    })
}

fn remove_copies_of_ended_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("ports-nobody-")
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

pub const AS_NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];

/// Runs `ports ARGS` as user nobody, with no input.
pub fn ports_as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(AS_NOBODY)
        .arg(binary_for_nobody())
        .args(args)
        .output()
        .unwrap()
}

/// Our listener on 127.0.0.1:`port` in a `--json` array.
fn ours<'a>(sockets: &'a serde_json::Value, port: &str) -> Option<&'a serde_json::Value> {
    let port: u16 = port.parse().unwrap();
    sockets
        .as_array()?
        .iter()
        .find(|s| s["local_addr"] == "127.0.0.1" && s["local_port"] == port)
}

fn hidden_notes(output: &Output) -> usize {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("hidden") || l.contains("could not be seen"))
        .count()
}

#[test]
fn unprivileged_run_lists_root_sockets_and_counts_hidden_owners() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();

    let output = ports_as_nobody(&["--json", &port]);
    let why = explain(&["(as nobody) --json", &port], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let sockets: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    let socket = ours(&sockets, &port).expect(&why);
    assert_eq!(socket["state"], "listen", "{why}");
    assert_eq!(socket["processes"], serde_json::json!([]), "{why}");
    assert_eq!(socket["owner_hidden"], true, "{why}");
    assert_eq!(socket["uid"], 0, "{why}");
    assert_eq!(socket["user"], "root", "the socket's own user: {why}");
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
    let owner_fields: Vec<_> = row.split_whitespace().skip(4).collect();
    assert_eq!(
        owner_fields,
        ["-", "-", "(root)"],
        "USER is the socket's: {why}"
    );
}

#[test]
fn every_view_and_filter_works_unprivileged() {
    assert_root();
    let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let _tcp6 = TcpListener::bind("[::1]:0").unwrap();
    let _udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = tcp4.local_addr().unwrap().port().to_string();
    let cases: &[&[&str]] = &[
        &[],
        &["-l"],
        &["-t"],
        &["-u"],
        &["-4"],
        &["-6"],
        &["--state", "listen"],
        &[&port],
        &["--json"],
        &["--json", &port],
        &["--csv"],
        &["--csv", "-l"],
        &["-c", "ports-test-no-such-process"],
        &["--user", "root"],
        &["--pid", "1"],
        &["--local", "127.0.0.0/8"],
        &["--sort", "pid", "-r"],
        &["-w"],
    ];
    for args in cases {
        let output = ports_as_nobody(args);
        let why = explain(args, &output);
        assert!(matches!(output.status.code(), Some(0 | 1)), "{why}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{why}"
        );
        // Each case keeps at least one of our root-owned sockets, so owners were hidden.
        assert_eq!(hidden_notes(&output), 1, "{why}");
        if args.contains(&"--json") {
            serde_json::from_slice::<serde_json::Value>(&output.stdout).expect(&why);
        }
        if args.contains(&"--csv") {
            let mut reader = csv::Reader::from_reader(&output.stdout[..]);
            assert!(reader.records().all(|r| r.is_ok()), "{why}");
        }
    }
}

#[test]
fn hidepid_proc_hides_owners_not_sockets() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // A private mount namespace with /proc remounted hidepid=2: other users' pids vanish.
    let script = r#"mount -t proc -o hidepid=2 proc /proc && exec setpriv "$@""#;
    let output = Command::new("unshare")
        .args(["--mount", "sh", "-c", script, "sh"])
        .args(AS_NOBODY)
        .arg(binary_for_nobody())
        .args(["--json", &port])
        .output()
        .unwrap();
    let why = explain(&["(hidepid=2, as nobody) --json", &port], &output);
    assert_eq!(output.status.code(), Some(0), "{why}");
    let sockets: serde_json::Value = serde_json::from_slice(&output.stdout).expect(&why);
    assert_eq!(
        ours(&sockets, &port).expect(&why)["owner_hidden"],
        true,
        "{why}"
    );
    assert_eq!(hidden_notes(&output), 1, "{why}");
}
