//! `--firewall` against a real scanner: two network namespaces joined by a veth pair, listeners
//! and a ruleset in the server's, nmap in the client's. What `ports -l --firewall --json` says
//! inside the server namespace must agree with what nmap finds, listener by listener. Nothing
//! touches the host's own namespace or ruleset; the namespaces go on drop, with their links.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicU16, Ordering};

use serde_json::Value;

use crate::netns::NetnsGuard;
use crate::privilege::assert_root;
use crate::support::{PYTHON, start_and_read_line};

const SERVER_ADDR: &str = "10.213.0.1";
const CLIENT_ADDR: &str = "10.213.0.2";
/// The server's side of the veth: the fixtures' rulesets were captured with this name.
const SERVER_LINK: &str = "fwt-h";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/firewall");

/// Binds each `tcp:PORT`, `udp:PORT` or `tcp:ADDR:PORT` given (UDP ones answer every datagram,
/// so a scanner can tell open from dropped), then prints `ready`.
const LISTEN: &str = r#"
import socket, sys, threading, time
def serve_udp(s):
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"here", peer)
for spec in sys.argv[1:]:
    proto, *addr, port = spec.split(":")
    host = addr[0] if addr else "0.0.0.0"
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    if proto == "tcp":
        s.listen(64)
    else:
        threading.Thread(target=serve_udp, args=(s,), daemon=True).start()
    globals().setdefault("held", []).append(s)
print("ready", flush=True)
time.sleep(600)
"#;

/// A server namespace with listeners and a client namespace that scans it.
pub struct Lab {
    pub server: String,
    client: String,
    listeners: Option<Child>,
    _namespaces: [NetnsGuard; 2],
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        assert_root();
        let id = std::process::id();
        let (server, client) = (
            format!("ports-fws{tag}-{id}"),
            format!("ports-fwc{tag}-{id}"),
        );
        let namespaces = [NetnsGuard::add(&server), NetnsGuard::add(&client)];
        let lab = Lab {
            server,
            client,
            listeners: None,
            _namespaces: namespaces,
        };
        lab.wire();
        lab
    }

    /// The veth pair, made inside the server namespace with its peer moved to the client's:
    /// no link ever exists in the host namespace.
    fn wire(&self) {
        let (s, c) = (&self.server, &self.client);
        ip(&[
            "-n",
            s,
            "link",
            "add",
            SERVER_LINK,
            "type",
            "veth",
            "peer",
            "name",
            "fwt-c",
            "netns",
            c,
        ]);
        ip(&[
            "-n",
            s,
            "addr",
            "add",
            &format!("{SERVER_ADDR}/30"),
            "dev",
            SERVER_LINK,
        ]);
        ip(&[
            "-n",
            c,
            "addr",
            "add",
            &format!("{CLIENT_ADDR}/30"),
            "dev",
            "fwt-c",
        ]);
        for (ns, link) in [(s, SERVER_LINK), (c, "fwt-c"), (s, "lo"), (c, "lo")] {
            ip(&["-n", ns, "link", "set", link, "up"]);
        }
    }

    /// Starts one process holding every listener in `specs` (see LISTEN).
    pub fn listen(&mut self, specs: &[&str]) -> u32 {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.server, PYTHON, "-c", LISTEN]);
        command.args(specs);
        let (child, line) = start_and_read_line(&mut command);
        assert_eq!(line.trim(), "ready", "the listeners did not start");
        let pid = child.id();
        self.listeners = Some(child);
        pid
    }

    /// Loads a ruleset into the server namespace with `program` (`nft -f`, or
    /// `iptables-nft-restore`) from `text`.
    pub fn load(&self, program: &[&str], text: &str) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        let path = file.path().to_str().unwrap().to_owned();
        let mut args = vec!["netns", "exec", &self.server];
        args.extend(program);
        args.push(&path);
        let output = Command::new("ip").args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `ports ARGS --json` run inside the server namespace.
    pub fn ports_json(&self, args: &[&str]) -> (Vec<Value>, Output) {
        let binary = assert_cmd::cargo::cargo_bin("ports");
        let mut all = vec!["netns", "exec", &self.server, binary.to_str().unwrap()];
        all.extend(args);
        all.extend(["--json", "--color", "never"]);
        let output = Command::new("ip").args(&all).output().unwrap();
        let said = || format!("{all:?}\n{}", String::from_utf8_lossy(&output.stderr));
        let parsed: Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", said()));
        (parsed.as_array().cloned().unwrap_or_default(), output)
    }

    /// `ports ARGS` run inside the server namespace, without colour.
    pub fn ports_output(&self, args: &[&str]) -> Output {
        let binary = assert_cmd::cargo::cargo_bin("ports");
        let mut all = vec!["netns", "exec", &self.server, binary.to_str().unwrap()];
        all.extend(args);
        all.extend(["--color", "never"]);
        Command::new("ip").args(&all).output().unwrap()
    }

    /// What nmap in the client namespace finds at the server's address: `tcp/22` -> `open`.
    pub fn scan(&self, tcp: &[u16], udp: &[u16]) -> BTreeMap<String, String> {
        let list = |prefix: &str, ports: &[u16]| {
            let each: Vec<String> = ports.iter().map(u16::to_string).collect();
            (!ports.is_empty()).then(|| format!("{prefix}:{}", each.join(",")))
        };
        let ports: Vec<String> = [list("T", tcp), list("U", udp)]
            .into_iter()
            .flatten()
            .collect();
        let mut args = vec!["netns", "exec", &self.client, "nmap", "-n", "-Pn", "-T4"];
        let source = fresh_source_port().to_string();
        args.extend(["--max-retries", "2", "-g", &source, "-oX", "-", "-p"]);
        let ports = ports.join(",");
        args.push(&ports);
        args.extend(match (tcp.is_empty(), udp.is_empty()) {
            (false, false) => vec!["-sS", "-sU"],
            (false, true) => vec!["-sS"],
            _ => vec!["-sU"],
        });
        args.push(SERVER_ADDR);
        let output = Command::new("ip").args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "nmap: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        port_states(&String::from_utf8_lossy(&output.stdout))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.listeners.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A source port no earlier scan in this run used, so no conntrack entry of one decides the
/// next.
fn fresh_source_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    40000 + (std::process::id() % 1000) as u16 * 20 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// nmap's XML, as `tcp/22` -> `open`.
fn port_states(xml: &str) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    for port in xml.split("<port ").skip(1) {
        let attr = |name: &str| {
            let start = port.find(&format!("{name}=\""))? + name.len() + 2;
            Some(port[start..].split('"').next()?.to_owned())
        };
        if let (Some(proto), Some(id), Some(state)) =
            (attr("protocol"), attr("portid"), attr("state"))
        {
            states.insert(format!("{proto}/{id}"), state);
        }
    }
    states
}

/// Each listener's (and NAT-only port's) verdict from `ports`, as `tcp/22` -> the firewall
/// object; loopback-only listeners are left out, since no scanner reaches them.
pub fn verdicts(sockets: &[Value]) -> BTreeMap<String, Value> {
    let reachable = sockets
        .iter()
        .filter(|s| s["firewall"]["verdict"] != "local_only");
    reachable
        .filter(|s| !s["firewall"].is_null())
        .map(|s| {
            (
                format!("{}/{}", s["proto"].as_str().unwrap_or("?"), s["local_port"]),
                s["firewall"].clone(),
            )
        })
        .collect()
}

/// Whether nmap's state for a port says a connection from the client got through. The UDP
/// listeners answer every datagram, so for UDP too only "open" is open ("open|filtered" means
/// nothing came back).
fn scanned_open(state: &str) -> bool {
    state == "open"
}

/// Whether `ports`' verdict says the client (at CLIENT_ADDR) gets through: a forward to a
/// port of this host where nothing listens is refused there.
pub fn predicted_open(verdict: &Value) -> bool {
    let nothing = |v: &Value| {
        v["target"]
            .as_str()
            .is_some_and(|t| t.contains("nothing listens"))
    };
    match verdict["verdict"].as_str().unwrap_or("") {
        "open" => true,
        "forwarded" => !nothing(verdict),
        "some_sources" => verdict["pass"].as_array().into_iter().flatten().any(|net| {
            let net: ipnet::IpNet = net.as_str().unwrap_or("").parse().unwrap();
            net.contains(&CLIENT_ADDR.parse::<std::net::IpAddr>().unwrap())
        }),
        _ => false,
    }
}

/// Every verdict agrees with the scan; none is unknown. Returns the verdicts for more checks.
pub fn assert_agrees(lab: &Lab, tcp: &[u16], udp: &[u16]) -> BTreeMap<String, Value> {
    let (sockets, output) = lab.ports_json(&["-l", "--firewall"]);
    let verdicts = verdicts(&sockets);
    let scanned = lab.scan(tcp, udp);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        scanned.len(),
        tcp.len() + udp.len(),
        "nmap reported: {scanned:?}"
    );
    for (key, state) in &scanned {
        let verdict = verdicts
            .get(key)
            .unwrap_or_else(|| panic!("{key} not in ports' answer: {verdicts:#?}\n{stderr}"));
        assert_ne!(verdict["verdict"], "unknown", "{key}: {verdict}");
        assert_eq!(
            predicted_open(verdict),
            scanned_open(state),
            "{key}: ports said {verdict}, nmap said {state}\nall: {verdicts:#?}\nscan: {scanned:?}\n{stderr}"
        );
    }
    verdicts
}

const NATIVE: &str = r#"
table inet fwtest {
	set allowed_tcp {
		type inet_service
		elements = { 18080, 18084 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname != "fwt-h" accept
		ct state established,related accept
		ct state invalid drop
		tcp dport @allowed_tcp accept
		tcp dport 18081 drop
		tcp dport 18082 reject with tcp reset
		tcp dport 18083 reject
		tcp dport 18085-18086 ip saddr 10.213.0.2 accept
		tcp dport 18088 ip saddr 192.168.7.0/24 accept
		udp dport 18053 accept
		udp dport 18054 drop
		tcp dport vmap { 18090 : accept, 18091 : drop }
		jump more
		counter drop
	}
	chain more {
		tcp dport 18087 accept
		udp dport 18055 reject
	}
}
table ip fwtest {
	chain early {
		type filter hook input priority filter - 10; policy accept;
		iifname "fwt-h" tcp dport 18084 drop
	}
}
"#;

#[test]
fn a_native_ruleset_agrees_with_nmap_for_every_listener() {
    let mut lab = Lab::new("n");
    let tcp = [
        18080, 18081, 18082, 18083, 18084, 18085, 18087, 18088, 18089, 18090, 18091,
    ];
    let udp = [18053, 18054, 18055, 18056];
    let mut specs: Vec<String> = tcp.iter().map(|p| format!("tcp:{p}")).collect();
    specs.extend(udp.iter().map(|p| format!("udp:{p}")));
    specs.push("tcp:127.0.0.1:18099".into());
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    lab.listen(&specs);
    lab.load(&["nft", "-f"], NATIVE);
    let verdicts = assert_agrees(&lab, &tcp, &udp);
    // The deciding rule is named: 18084 is in the accepted set, but an earlier chain drops it.
    assert_eq!(
        verdicts["tcp/18084"]["by"]["chain"], "early",
        "{:#}",
        verdicts["tcp/18084"]
    );
    assert_eq!(verdicts["tcp/18082"]["verdict"], "rejected");
    assert_eq!(verdicts["tcp/18088"]["verdict"], "some_sources");
    let (all, _) = lab.ports_json(&["-l", "--firewall"]);
    let local = all.iter().find(|s| s["local_port"] == 18099).unwrap();
    assert_eq!(local["firewall"]["verdict"], "local_only", "{local:#}");
}

#[test]
fn ufw_rules_through_iptables_nft_agree_with_nmap() {
    let mut lab = Lab::new("u");
    let tcp = [22, 445, 2222, 3306, 5432, 8080];
    let udp = [5432, 60500];
    lab.listen(&[
        "tcp:22",
        "tcp:445",
        "tcp:2222",
        "tcp:3306",
        "tcp:5432",
        "tcp:8080",
        "udp:5432",
        "udp:60500",
    ]);
    let v4 = std::fs::read_to_string(format!("{FIXTURES}/ufw.v4.save")).unwrap();
    lab.load(&["iptables-nft-restore"], &v4);
    let verdicts = assert_agrees(&lab, &tcp, &udp);
    assert_eq!(
        verdicts["tcp/3306"]["verdict"], "some_sources",
        "{:#}",
        verdicts["tcp/3306"]
    );
    assert_eq!(verdicts["tcp/5432"]["by"]["chain"], "ufw-user-input");
}

#[test]
fn firewalld_rules_agree_with_nmap_and_its_forward_port_is_listed() {
    let mut lab = Lab::new("d");
    let tcp = [22, 80, 443, 3306, 5432, 8080, 8443];
    lab.listen(&[
        "tcp:22", "tcp:80", "tcp:443", "tcp:3306", "tcp:5432", "tcp:8080",
    ]);
    let rules = std::fs::read_to_string(format!("{FIXTURES}/fwd.nft")).unwrap();
    lab.load(&["nft", "-f"], &rules);
    let verdicts = assert_agrees(&lab, &tcp, &[]);
    // 8443 has no socket: the redirect to 443 claims it.
    let forward = &verdicts["tcp/8443"];
    assert_eq!(forward["verdict"], "forwarded", "{forward:#}");
    assert_eq!(forward["to"], format!("{SERVER_ADDR}:443"));
    // Asked for by number (as root, so the ruleset is read), it is a NAT row, not a miss.
    let asked = lab.ports_output(&["8443"]);
    let said = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(asked.status.code(), Some(0), "{said}");
    let row = said
        .lines()
        .find(|line| line.contains(":8443"))
        .unwrap_or_default();
    assert!(
        row.contains("NAT")
            && row.contains(&format!("→ {SERVER_ADDR}:443 (here, python3 listens)")),
        "{said}"
    );
}

#[test]
fn as_nobody_the_ruleset_is_not_read_and_that_is_said_once() {
    assert_root();
    let wildcard = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let loopback = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = |l: &std::net::TcpListener| l.local_addr().unwrap().port();
    let output = crate::privilege::ports_as_nobody(&["-l", "--firewall", "--json"]);
    let sockets: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let verdict = |p: u16| {
        let found = sockets.iter().find(|s| s["local_port"] == p);
        found.map(|s| s["firewall"]["verdict"].clone())
    };
    assert_eq!(verdict(port(&wildcard)), Some("not_read".into()));
    assert_eq!(verdict(port(&loopback)), Some("local_only".into()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let said = "ports: firewall not read: needs root (CAP_NET_ADMIN)\n";
    assert_eq!(stderr.matches(said).count(), 1, "{stderr}");
}
