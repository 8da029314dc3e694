//! `--firewall` against Docker's own iptables rules and a real scanner (the slow suite): a
//! dockerd with `--iptables=true` runs in the Lab's server namespace, so its nat and filter
//! rules, its bridge and its sysctls stay there; nmap scans from the client namespace. On drop:
//! the containers, the daemon (which stops its containerd), what it left mounted, its
//! directories, then the Lab's namespaces.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::docker::Daemon;
use crate::firewall::Lab;
use crate::support::PYTHON;

const PUBLISHED: u16 = 18090;

/// A drop for the published port in the input hook, where a host's own firewall (ufw, say)
/// would put it: Docker's DNAT sends the connection to forward instead, past it.
const INPUT_DROP: &str = r#"
table inet fwdocker {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 18090 drop
	}
}
"#;

/// A Lab whose server namespace runs a dockerd of its own (dropped first: it lives in the
/// namespace) and one container publishing 8080 as PUBLISHED.
struct DockerLab {
    daemon: Daemon,
    lab: Lab,
    container: String,
    /// The container's address on Docker's bridge.
    address: String,
}

impl DockerLab {
    fn new(tag: &str, kind: &'static str, flags: &[&str]) -> DockerLab {
        let lab = Lab::new(tag);
        let mut all = vec!["--iptables=true"];
        all.extend(flags);
        let mut daemon = Daemon::in_netns_of(&lab.server, kind, &all);
        let container = format!("ports-fw{tag}-{}", std::process::id());
        let publish = format!("{PUBLISHED}:8080");
        daemon.run(&container, &["-p", &publish], 8080);
        let address = container_address(&daemon, &container);
        let setup = DockerLab {
            daemon,
            lab,
            container,
            address,
        };
        setup.wait_for_httpd();
        setup
    }

    /// Until the container's httpd accepts on its own address: `docker run -d` returns first.
    fn wait_for_httpd(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = &self.address;
        let connect = format!("import socket; socket.create_connection(('{address}', 8080), 2)");
        while !self
            .daemon
            .in_netns(PYTHON)
            .args(["-c", &connect])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(
                Instant::now() < deadline,
                "httpd at {address}:8080 did not answer"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `iptables ARGS` inside the server namespace.
    fn iptables(&self, args: &[&str]) {
        let status = Command::new("ip")
            .args(["netns", "exec", &self.lab.server, "iptables"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "iptables {args:?}");
    }

    /// The IPv4 row for PUBLISHED from `ports -l --firewall --json` (nmap scans IPv4; an
    /// IPv6 forwarder of the same port has rules of its own), with all of it to explain;
    /// every rule Docker wrote is understood.
    fn published_row(&self) -> (Value, String) {
        let (sockets, output) = self.lab.ports_json(&["-l", "--firewall"]);
        let all = format!("{sockets:#?}\n{}", String::from_utf8_lossy(&output.stderr));
        let row = sockets
            .iter()
            .find(|s| s["local_port"] == PUBLISHED && s["family"] == "ipv4" && s["proto"] == "tcp");
        let row = row.unwrap_or_else(|| panic!("no IPv4 row for {PUBLISHED}: {all}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("not understood"),
            "Docker's rules are read: {all}"
        );
        (row.clone(), all)
    }

    /// nmap's state for PUBLISHED, from the client namespace with a fresh source port.
    fn scanned(&self) -> String {
        let scan = self.lab.scan(&[PUBLISHED], &[]);
        scan.get(&format!("tcp/{PUBLISHED}"))
            .unwrap_or_else(|| panic!("nmap said nothing of {PUBLISHED}: {scan:?}"))
            .clone()
    }

    /// `ports ARGS` as text, inside the server namespace, with all of it to explain.
    fn ports_text(&self, args: &[&str]) -> (String, String) {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.lab.server])
            .arg(assert_cmd::cargo::cargo_bin("ports"))
            .args(args)
            .args(["--color", "never"])
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        (text, crate::support::explain(args, &output))
    }

    /// The container's address and port as `ports` should name the forward's target.
    fn assert_forwarded_to_container(&self, row: &Value, all: &str) {
        let firewall = &row["firewall"];
        assert_eq!(firewall["verdict"], "forwarded", "{all}");
        let to = format!("{}:8080", self.address);
        assert_eq!(firewall["to"], to.as_str(), "{all}");
        let target = format!("docker:{}, busybox listens", self.container);
        assert_eq!(firewall["target"], target.as_str(), "{all}");
    }
}

fn container_address(daemon: &Daemon, container: &str) -> String {
    let format = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}";
    let output = daemon
        .docker_command(&["inspect", "-f", format, container])
        .output()
        .unwrap();
    let address = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!address.is_empty(), "no address for {container}");
    address
}

#[test]
#[ignore = "slow: starts a Docker daemon with its iptables rules in a namespace; run with --ignored"]
fn a_published_port_passes_an_input_drop_and_a_docker_user_drop_stops_it() {
    let setup = DockerLab::new("k", "fw-proxy", &[]);
    setup.lab.load(&["nft", "-f"], INPUT_DROP);
    let (row, all) = setup.published_row();
    // docker-proxy holds the port, but a remote connection never meets it.
    assert_eq!(row["state"], "listen", "{all}");
    assert_eq!(row["processes"][0]["name"], "docker-proxy", "{all}");
    setup.assert_forwarded_to_container(&row, &all);
    assert_eq!(setup.scanned(), "open", "ports said forwarded: {all}");

    // DOCKER-USER sees the packet after the DNAT: its port is the container's.
    setup.iptables(&[
        "-I",
        "DOCKER-USER",
        "-p",
        "tcp",
        "--dport",
        "8080",
        "-j",
        "DROP",
    ]);
    let (row, all) = setup.published_row();
    let firewall = &row["firewall"];
    assert_eq!(firewall["verdict"], "dropped", "{all}");
    assert_eq!(firewall["by"]["chain"], "DOCKER-USER", "{all}");
    let scanned = setup.scanned();
    assert_ne!(scanned, "open", "ports said dropped: {all}");
}

#[test]
#[ignore = "slow: starts a Docker daemon with its iptables rules in a namespace; run with --ignored"]
fn without_the_userland_proxy_dockerd_holds_the_port_and_once_stopped_the_rule_alone_claims_it() {
    let flags = ["--userland-proxy=false", "--live-restore"];
    let mut setup = DockerLab::new("p", "fw-noproxy", &flags);
    setup.lab.load(&["nft", "-f"], INPUT_DROP);
    let (row, all) = setup.published_row();
    // No docker-proxy: Docker 20.10 holds the port in dockerd itself, to reserve it.
    assert_eq!(row["processes"][0]["name"], "dockerd", "{all}");
    setup.assert_forwarded_to_container(&row, &all);
    assert_eq!(setup.scanned(), "open", "ports said forwarded: {all}");

    // The card (a port asked for, as root) says where the port goes.
    let port = PUBLISHED.to_string();
    let (card, why) = setup.ports_text(&[&port]);
    assert!(card.starts_with("sockets "), "a card: {why}");
    let line = card.lines().find(|l| l.starts_with("firewall "));
    let expected = format!(
        "forwarded to {}:8080 (docker:{}, busybox listens)",
        setup.address, setup.container
    );
    assert!(line.is_some_and(|l| l.ends_with(&expected)), "{why}");

    // Stopped as an upgrade stops it, with --live-restore: the container and Docker's rules
    // stay, dockerd's socket goes. The port is a NAT row with no socket, still open.
    setup.daemon.stop();
    let (row, all) = setup.published_row();
    assert_eq!(row["claim"]["stale"], false, "a claim, not stale: {all}");
    assert!(row["state"].is_null(), "{all}");
    assert_eq!(row["firewall"]["verdict"], "forwarded", "{all}");
    // Named through the container's shim: its bundle gives the stopped daemon's data root.
    setup.assert_forwarded_to_container(&row, &all);
    assert_eq!(setup.scanned(), "open", "ports said forwarded: {all}");
    // `ports PORT` (a port query, as root) shows the rule's row and where it goes.
    let (text, why) = setup.ports_text(&[&port]);
    // Its PROCESS is where the rule sends the port: the row has no owner.
    let nat = text.lines().find(|l| l.contains(&format!(":{PUBLISHED} ")));
    let to = format!(
        "→ {}:8080 (docker:{}, busybox listens)",
        setup.address, setup.container
    );
    assert!(
        nat.is_some_and(|l| l.contains(" NAT ") && l.contains(&to)),
        "{why}"
    );
}
