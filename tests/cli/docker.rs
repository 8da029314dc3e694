//! Real containers (the slow suite: `cargo test --test cli -- --ignored`; .ci/run runs it
//! after `.ci/setup --docker`): Docker from Debian's packages, an image imported from
//! busybox-static, no registry. Everything started is removed when the test ends, even when it
//! fails: containers, the image, and the daemon, its bridge and its state if the test started it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::privilege::assert_root;
use crate::support::{explain, free_port, json, ports};

const IMAGE: &str = "local/ports-test-bb";

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().unwrap()
}

fn docker_ok(args: &[&str]) {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Docker daemon for the test: the running one, or one started here and torn down on drop.
struct Daemon {
    started: Option<Child>,
    containers: Vec<String>,
}

impl Daemon {
    fn up() -> Daemon {
        let running = docker(&["info"]).status.success();
        let started = (!running).then(|| {
            let log = std::fs::File::create(daemon_log()).unwrap();
            Command::new("/usr/sbin/dockerd")
                .args(["--iptables=false", "--ip-forward=false", "--ip-masq=false"])
                .args(["-H", "unix:///var/run/docker.sock"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("dockerd from docker.io (.ci/setup --docker)")
        });
        let daemon = Daemon {
            started,
            containers: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !docker(&["info"]).status.success() {
            assert!(Instant::now() < deadline, "dockerd did not come up");
            std::thread::sleep(Duration::from_millis(250));
        }
        daemon.import_image();
        daemon
    }

    /// A busybox image: httpd serves a directory, no registry needed.
    fn import_image(&self) {
        let root = std::env::temp_dir().join(format!("ports-bb-{}", std::process::id()));
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        std::fs::write(root.join("www/index.html"), "hi\n").unwrap();
        let script = format!("tar -C {} -c . | docker import - {IMAGE}", root.display());
        let status = Command::new("sh")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        assert!(status.success(), "docker import");
    }

    fn run(&mut self, name: &str, options: &[&str], port: u16) {
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
        docker_ok(&args);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = docker(&["rm", "-f", name]);
        }
        let _ = docker(&["rmi", "-f", IMAGE]);
        let Some(mut dockerd) = self.started.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &dockerd.id().to_string()])
            .status();
        let _ = dockerd.wait();
        let _ = Command::new("umount")
            .arg("/run/docker/netns/default")
            .status();
        let _ = Command::new("ip").args(["link", "del", "docker0"]).status();
        for dir in ["/var/lib/docker", "/var/run/docker", "/var/run/containerd"] {
            if Path::new(dir).exists() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        // Kept when the test failed, to read why.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(daemon_log());
        }
    }
}

/// What the dockerd the test started wrote.
fn daemon_log() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ports-dockerd-{}.log", std::process::id()))
}

/// The container's first process, as Docker reports it.
fn main_pid(name: &str) -> u32 {
    let output = docker(&["inspect", "-f", "{{.State.Pid}}", name]);
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("docker inspect {name}: {text}"))
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
    let inner = main_pid(&web);
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
