//! contrib/ansible/ports.yml run by real Ansible (ansible-core from PyPI, in a virtualenv the
//! test makes and removes) against localhost with the local connection (the slow suite).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &std::path::Path, args: &[&str]) -> std::process::Output {
    let scratch = std::env::temp_dir().join(format!("ports-ansible-{}", std::process::id()));
    // Ansible's own files (~/.ansible) go to the scratch directory too.
    let output = Command::new(program)
        .args(args)
        .env("ANSIBLE_HOME", scratch.join("home"))
        .env("ANSIBLE_LOCAL_TEMP", scratch.join("tmp"))
        .env("ANSIBLE_REMOTE_TEMP", scratch.join("tmp"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?}:\n{}\n{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
#[ignore = "slow: installs ansible-core into a virtualenv; run with --ignored"]
fn the_playbook_merges_listeners_by_host() {
    let dir = Scratch(std::env::temp_dir().join(format!("ports-ansible-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let venv = dir.0.join("venv");
    run(
        "/usr/bin/python3".as_ref(),
        &["-m", "venv", venv.to_str().unwrap()],
    );
    run(&venv.join("bin/pip"), &["install", "-q", "ansible-core"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = dir.0.join("fleet");
    let playbook = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/ansible/ports.yml");
    run(
        &venv.join("bin/ansible-playbook"),
        &[
            "-i",
            "localhost,",
            "-c",
            "local",
            playbook,
            "-e",
            &format!("ports={}", env!("CARGO_BIN_EXE_ports")),
            "-e",
            &format!("out={}", out.display()),
            "-e",
            // The venv's python runs the modules: discovery may find a broken pyenv shim.
            &format!(
                "ansible_python_interpreter={}",
                venv.join("bin/python").display()
            ),
        ],
    );
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    let [document] = merged.as_array().unwrap().as_slice() else {
        panic!("one host: {merged}")
    };
    assert_eq!(document["schema"], "ports/2");
    assert!(
        document["host"].as_str().is_some_and(|h| !h.is_empty()),
        "{document}"
    );
    let ours = document["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_port"] == port);
    assert_eq!(
        ours.map(|s| &s["processes"][0]["pid"]),
        Some(&u64::from(std::process::id()).into())
    );
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    let row = format!(
        "localhost,tcp,127.0.0.1,{port},listen,loopback,{},",
        std::process::id()
    );
    assert!(csv.lines().any(|line| line.starts_with(&row)), "{csv}");
    drop(listener);
}
