//! `ports metrics` read by a real node_exporter (textfile collector) and scraped by a real
//! Prometheus, both from Debian's packages, on 127.0.0.1 only (the slow suite: `--ignored`).
//! Both are stopped and their files removed when the test ends, even when it fails.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{explain, free_port, ports};

/// A daemon started by the test, killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spawn(program: &str, args: &[String], log: &std::path::Path) -> Daemon {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} (apt: prometheus, prometheus-node-exporter): {e}"));
    Daemon(child)
}

/// Asks Prometheus's HTTP API for `query` (curl, on loopback) and returns the result vector.
fn query(port: u16, query: &str) -> Vec<Value> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let output = Command::new("curl")
        .args(["-sf", "--max-time", "2", "--get", &url, "--data-urlencode"])
        .arg(format!("query={query}"))
        .output()
        .unwrap();
    let reply: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    reply["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
#[ignore = "slow: runs node_exporter and Prometheus; run with --ignored"]
fn prometheus_scrapes_our_listener_through_the_textfile_collector() {
    let dir = Scratch(std::env::temp_dir().join(format!("ports-prom-{}", std::process::id())));
    let textfiles = dir.0.join("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = textfiles.join("ports.prom");
    let output = ports()
        .args(["metrics", "--output", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        explain(&["metrics -o"], &output)
    );
    if let Ok(promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
    {
        assert!(
            promtool.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&promtool.stdout)
        );
    }

    let (exporter_port, prometheus_port) = (free_port(), free_port());
    let _exporter = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address=127.0.0.1:{exporter_port}"),
            "--collector.disable-defaults".into(),
            "--collector.textfile".into(),
            format!("--collector.textfile.directory={}", textfiles.display()),
        ],
        &dir.0.join("exporter.log"),
    );
    let config = dir.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    \
             static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        ),
    )
    .unwrap();
    let _prometheus = spawn(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.0.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
        ],
        &dir.0.join("prometheus.log"),
    );

    let wanted = format!("ports_listening{{port=\"{port}\"}}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let series = loop {
        let found = query(prometheus_port, &wanted);
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let log = std::fs::read_to_string(dir.0.join("prometheus.log")).unwrap_or_default();
    let [one] = &series[..] else {
        panic!("{wanted} not scraped within 60 s: {series:?}\n{log}")
    };
    let labels = &one["metric"];
    assert_eq!(
        (&labels["address"], &labels["exposure"]),
        (&"127.0.0.1".into(), &"loopback".into()),
        "{one}"
    );
    assert_eq!(
        (&labels["proto"], &labels["family"], &labels["user"]),
        (&"tcp".into(), &"ipv4".into(), &"root".into()),
        "{one}"
    );
    assert!(
        labels["process"]
            .as_str()
            .is_some_and(|p| p.starts_with("cli-")),
        "the test binary: {one}"
    );
    assert_eq!(one["value"][1], "1", "{one}");
    let errors = query(prometheus_port, "node_textfile_scrape_error");
    assert_eq!(
        errors.first().map(|e| e["value"][1].clone()),
        Some("0".into()),
        "{errors:?}"
    );
    drop(listener);
}
