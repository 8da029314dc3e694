//! Real containers (the slow suite: `cargo test --test cli -- --ignored`; .ci/run runs it
//! after `.ci/setup --docker`): Docker from Debian's packages, an image imported from
//! busybox-static, no registry. Everything started is removed when the test ends, even when it
//! fails: containers, the image, and the daemon, its bridge and its state if the test started it.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::privilege::assert_root;
use crate::support::{explain, free_port, json, ports};

const IMAGE: &str = "local/ports-test-bb";

/// A Docker daemon for the test: the running one, or one started here and torn down on drop.
pub struct Daemon {
    started: Option<Child>,
    /// Names its log (`daemon_log`): tests running at once each start their own.
    kind: &'static str,
    /// A daemon apart's flags, to start it again.
    flags: Vec<String>,
    /// Stopped by the test (`stop`), its containers left running.
    stopped: bool,
    containers: Vec<String>,
    /// For a daemon of the test's own (`Daemon::apart`): where it lives.
    apart: Option<Apart>,
}

/// What a daemon kept apart from any other has to itself, all removed on drop: a network
/// namespace (unless the test lent one), a data root, and an exec root holding its socket.
struct Apart {
    netns: String,
    owns_netns: bool,
    data_root: TempDir,
    exec_root: TempDir,
}

impl Daemon {
    fn up() -> Daemon {
        let mut daemon = Daemon {
            started: None,
            kind: "default",
            flags: Vec::new(),
            stopped: false,
            containers: Vec::new(),
            apart: None,
        };
        if !daemon.docker(&["info"]).status.success() {
            let mut dockerd = Command::new("/usr/sbin/dockerd");
            dockerd.args(["-H", "unix:///var/run/docker.sock"]);
            daemon.started = Some(start(dockerd, "default", NO_IPTABLES, false));
        }
        daemon.wait_and_import();
        daemon
    }

    /// A daemon of the test's own, whatever else runs here: in a network namespace of its own
    /// (its docker0 and docker-proxy listeners there), with its data root in a temporary
    /// directory, as `dockerd --data-root` puts it.
    fn apart() -> Daemon {
        let netns = format!("ports-docker-{}", std::process::id());
        run_ok("ip", &["netns", "add", &netns]);
        // Owned from here, so that drop removes the namespace whatever fails next.
        let daemon = Daemon::unstarted("apart", netns, true);
        let lo_up = daemon
            .in_netns("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(lo_up.unwrap().success(), "lo up in the namespace");
        daemon.start_apart(NO_IPTABLES)
    }

    /// A daemon of the test's own in the test's namespace `netns` (left for the test to
    /// remove), started with `flags` (its iptables rules on, say), as `kind` in its log's name.
    pub fn in_netns_of(netns: &str, kind: &'static str, flags: &[&str]) -> Daemon {
        Daemon::unstarted(kind, netns.to_owned(), false).start_apart(flags)
    }

    fn unstarted(kind: &'static str, netns: String, owns_netns: bool) -> Daemon {
        let apart = Apart {
            netns,
            owns_netns,
            data_root: temporary("ports-docker-root-"),
            exec_root: temporary("ports-docker-exec-"),
        };
        Daemon {
            started: None,
            kind,
            flags: Vec::new(),
            stopped: false,
            containers: Vec::new(),
            apart: Some(apart),
        }
    }

    fn start_apart(mut self, flags: &[&str]) -> Daemon {
        self.flags = flags.iter().map(ToString::to_string).collect();
        self.launch_apart(false);
        self.wait_and_import();
        self
    }

    /// Starts this daemon apart, with its flags; `again` keeps what its log already says.
    fn launch_apart(&mut self, again: bool) {
        let apart = self.apart.as_ref().unwrap();
        let (data, exec) = (apart.data_root.path(), apart.exec_root.path());
        let mut dockerd = self.in_netns("/usr/sbin/dockerd");
        dockerd
            .arg("--data-root")
            .arg(data)
            .arg("--exec-root")
            .arg(exec);
        dockerd.args(["-H", &self.host().unwrap()]);
        dockerd.arg("--pidfile").arg(exec.join("docker.pid"));
        let flags: Vec<&str> = self.flags.iter().map(String::as_str).collect();
        self.started = Some(start(dockerd, self.kind, &flags, again));
    }

    /// Stops the daemon as an upgrade would (SIGTERM); with `--live-restore` its containers
    /// and their NAT rules stay. Drop starts it again to remove them.
    pub fn stop(&mut self) {
        if let Some(dockerd) = self.started.take() {
            terminate(dockerd);
            self.stopped = true;
        }
    }

    /// Whether the daemon answers within a minute.
    fn answers(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker(&["info"]).status.success() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        true
    }

    /// `program` run in this daemon's network namespace (nsenter keeps the mounts: dockerd
    /// needs the cgroup mounts `ip netns exec` would hide).
    pub fn in_netns(&self, program: &str) -> Command {
        let apart = self.apart.as_ref().expect("a daemon apart");
        let mut command = Command::new("nsenter");
        command.arg(format!("--net=/run/netns/{}", apart.netns));
        command.arg(program);
        command
    }

    /// The socket of a daemon apart, as DOCKER_HOST names it; `None` for the usual one.
    fn host(&self) -> Option<String> {
        let apart = self.apart.as_ref()?;
        Some(format!(
            "unix://{}/docker.sock",
            apart.exec_root.path().display()
        ))
    }

    fn docker(&self, args: &[&str]) -> Output {
        self.docker_command(args).output().unwrap()
    }

    pub fn docker_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command.args(args);
        if let Some(host) = self.host() {
            command.env("DOCKER_HOST", host);
        }
        command
    }

    pub fn docker_ok(&self, args: &[&str]) {
        let output = self.docker(args);
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn wait_and_import(&self) {
        assert!(self.answers(), "dockerd did not come up");
        self.import_image();
    }

    /// A busybox image: httpd serves a directory, no registry needed.
    fn import_image(&self) {
        let root = temporary("ports-bb-");
        let root = root.path();
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        std::fs::write(root.join("www/index.html"), "hi\n").unwrap();
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(root)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let status = self
            .docker_command(&["import", "-", IMAGE])
            .stdin(tar.stdout.take().unwrap())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(
            tar.wait().unwrap().success() && status.success(),
            "docker import"
        );
    }

    pub fn run(&mut self, name: &str, options: &[&str], port: u16) {
        let port = port.to_string();
        let mut args = vec!["run", "-d", "--name", name];
        args.extend(options);
        args.extend([
            IMAGE,
            "/bin/busybox",
            "httpd",
            "-f",
            "-p",
            &port,
            "-h",
            "/www",
        ]);
        self.containers.push(name.to_owned());
        self.docker_ok(&args);
    }

    /// The container's first process, as Docker reports it.
    fn main_pid(&self, name: &str) -> u32 {
        let output = self.docker(&["inspect", "-f", "{{.State.Pid}}", name]);
        let text = String::from_utf8_lossy(&output.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("docker inspect {name}: {text}"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.stopped {
            // Its containers run on: a daemon removes them.
            self.launch_apart(true);
            self.answers();
        }
        for name in &self.containers {
            let _ = self.docker(&["rm", "-f", name]);
        }
        let _ = self.docker(&["rmi", "-f", IMAGE]);
        let kind = self.kind;
        if let Some(dockerd) = self.started.take() {
            terminate(dockerd);
            match self.apart.take() {
                Some(apart) => apart.remove(),
                None => remove_default_state(),
            }
            // Kept when the test failed, to read why.
            if !std::thread::panicking() {
                let _ = std::fs::remove_file(daemon_log(kind));
            }
        }
        if let Some(apart) = self.apart.take() {
            apart.remove();
        }
    }
}

impl Apart {
    /// What a stopped daemon may have left mounted (it unmounts all when it stops cleanly),
    /// then the namespace and the directories.
    fn remove(self) {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounted: Vec<&str> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .filter(|at| {
                Path::new(at).starts_with(self.data_root.path())
                    || Path::new(at).starts_with(self.exec_root.path())
            })
            .collect();
        mounted.sort_by_key(|at| std::cmp::Reverse(at.len()));
        for at in mounted {
            let _ = Command::new("umount").args(["-l", at]).status();
        }
        if self.owns_netns {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.netns])
                .status();
        }
    }
}

/// The usual daemon's state, when the test started it.
fn remove_default_state() {
    let _ = Command::new("umount")
        .arg("/run/docker/netns/default")
        .status();
    let _ = Command::new("ip").args(["link", "del", "docker0"]).status();
    for dir in ["/var/lib/docker", "/var/run/docker", "/var/run/containerd"] {
        if Path::new(dir).exists() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Without the iptables rules and sysctls a test of containers alone does not need.
const NO_IPTABLES: &[&str] = &["--iptables=false", "--ip-forward=false", "--ip-masq=false"];

/// Starts `dockerd` with `flags`, its output to a log.
fn start(mut dockerd: Command, kind: &str, flags: &[&str], again: bool) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(again)
        .write(true)
        .truncate(!again)
        .open(daemon_log(kind))
        .unwrap();
    dockerd
        .args(flags)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("dockerd from docker.io (.ci/setup --docker)")
}

/// SIGTERM, as an init system stops dockerd, and the wait for it to finish.
fn terminate(mut dockerd: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &dockerd.id().to_string()])
        .status();
    let _ = dockerd.wait();
}

/// What the dockerd the test started wrote.
fn daemon_log(kind: &str) -> std::path::PathBuf {
    let name = format!("ports-dockerd-{kind}-{}.log", std::process::id());
    std::env::temp_dir().join(name)
}

fn temporary(prefix: &str) -> TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

fn run_ok(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}");
}

/// Waits until something listens on `port`: a container takes a moment to start.
fn listening(port: u16) -> (Vec<Value>, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (sockets, output) = json(&["-l", &port.to_string()]);
        if !sockets.is_empty() || Instant::now() > deadline {
            return (sockets, explain(&["-l", &port.to_string()], &output));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Daemon {
    /// `ports ARGS` in this daemon's network namespace.
    fn ports_apart(&self, args: &[&str]) -> (Output, String) {
        let output = self
            .in_netns(env!("CARGO_BIN_EXE_ports"))
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        let why = explain(args, &output);
        (output, why)
    }

    /// Waits until `count` sockets listen on `port` in this daemon's namespace.
    fn listening_apart(&self, port: u16, count: usize) -> (Vec<Value>, String) {
        let port = port.to_string();
        let args = ["-l", &port, "--json", "--color", "never"];
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (output, why) = self.ports_apart(&args);
            let sockets: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_default();
            if sockets.len() >= count || Instant::now() > deadline {
                return (sockets, why);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
#[ignore = "slow: starts a Docker daemon and containers; run with --ignored"]
fn a_published_port_names_its_container_and_host_networking_is_attributed() {
    assert_root();
    let mut daemon = Daemon::up();
    let id = std::process::id();
    let (published, host) = (free_port(), free_port());
    let web = format!("ports-web-{id}");
    daemon.run(&web, &["-p", &format!("127.0.0.1:{published}:8080")], 8080);
    let (sockets, why) = listening(published);
    let proxy = &sockets.first().unwrap_or_else(|| panic!("{why}"))["processes"][0];
    assert_eq!(
        proxy["program"].as_str().or(proxy["name"].as_str()),
        Some("docker-proxy"),
        "{why}"
    );
    assert_eq!(proxy["forwards"]["container"], web.as_str(), "{why}");
    assert!(
        proxy["forwards"]["to"].as_str().unwrap().ends_with(":8080"),
        "{why}"
    );
    let card = ports()
        .args(["--color", "never", &published.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&card.stdout);
    assert!(
        text.contains(&format!("→ {web} ")),
        "the card names the container: {text}"
    );
    let inner = daemon.main_pid(&web);
    assert_eq!(proxy["forwards"]["listener"]["pid"], inner, "{why}");
    assert!(
        text.contains(&format!("(busybox, pid {inner})")),
        "the card names the process behind the forwarder: {text}"
    );
    let port = published.to_string();
    let refused = ports().args(["kill", &port, "--dry-run"]).output().unwrap();
    let why = explain(&["kill", &port, "--dry-run"], &refused);
    let note = String::from_utf8_lossy(&refused.stderr);
    assert!(
        note.contains(&format!(
            "stop the container with: docker stop {web} (or use --force)"
        )),
        "Docker's own forwarder is spared, with a command that pastes: {why}"
    );
    let args = ["-N", "-l", "8080"];
    let (everywhere, output) = json(&args);
    let why = explain(&args, &output);
    let listener = everywhere
        .iter()
        .find(|socket| socket["processes"][0]["pid"] == inner)
        .unwrap_or_else(|| panic!("-N lists the container's listener: {why}"));
    assert_eq!(listener["netns"]["name"], web.as_str(), "{why}");

    let host_net = format!("ports-host-{id}");
    daemon.run(&host_net, &["--network", "host"], host);
    let (sockets, why) = listening(host);
    let httpd = &sockets.first().unwrap_or_else(|| panic!("{why}"))["processes"][0];
    assert_eq!(httpd["container"]["runtime"], "docker", "{why}");
    assert_eq!(httpd["container"]["name"], host_net.as_str(), "{why}");
}

#[test]
#[ignore = "slow: starts a Docker daemon and containers; run with --ignored"]
fn a_custom_data_root_and_both_families_still_make_one_card_naming_the_container() {
    assert_root();
    let mut daemon = Daemon::apart();
    let (name, port) = (format!("ports-dual-{}", std::process::id()), free_port());
    // No host address: Docker starts one docker-proxy for 0.0.0.0 and one for `::`.
    daemon.run(&name, &["-p", &format!("{port}:8080")], 8080);
    let (sockets, why) = daemon.listening_apart(port, 2);
    let families: Vec<&str> = sockets
        .iter()
        .filter_map(|s| s["family"].as_str())
        .collect();
    assert_eq!(families, ["ipv4", "ipv6"], "{why}");
    let proxies: Vec<&Value> = sockets.iter().map(|s| &s["processes"][0]).collect();
    assert_ne!(
        proxies[0]["pid"], proxies[1]["pid"],
        "two forwarders: {why}"
    );
    for proxy in &proxies {
        // Named from config.v2.json under --data-root, not /var/lib/docker.
        assert_eq!(proxy["forwards"]["container"], name.as_str(), "{why}");
    }
    let (card, why) = daemon.ports_apart(&["--color", "never", &port.to_string()]);
    let text = String::from_utf8_lossy(&card.stdout);
    assert!(text.starts_with("sockets "), "a card, not a table: {why}");
    assert!(text.contains(&format!("→ {name} ")), "{why}");
    let pids = format!("{} (root), {} (root)", proxies[0]["pid"], proxies[1]["pid"]);
    assert!(text.contains(&pids), "both forwarders: {why}");
}
