//! Container names and addresses from the runtimes' own files, without calling any daemon:
//! Docker's `config.v2.json`, Podman's `containers.json`, the Kubernetes log links in
//! /var/log/containers. And docker-proxy's command line, which says where it forwards.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::model::{Container, Forward, Listener, Runtime};

/// What the runtimes' files say, read once per snapshot and only when a container is seen.
#[derive(Debug, Default)]
pub struct ContainerFiles {
    root: PathBuf,
    docker: Option<Vec<DockerContainer>>,
    podman: Option<HashMap<String, String>>,
    kubernetes: Option<HashMap<String, String>>,
}

/// One Docker container: its id, name, addresses on its networks and main process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerContainer {
    pub id: String,
    pub name: String,
    pub addresses: Vec<IpAddr>,
    /// `State.Pid`: the container's first process, in its network namespace; 0 when stopped.
    pub pid: Option<u32>,
}

impl ContainerFiles {
    /// Files under `root` (`/` on a real machine; a directory of samples in tests).
    pub fn under(root: impl Into<PathBuf>) -> ContainerFiles {
        ContainerFiles {
            root: root.into(),
            ..ContainerFiles::default()
        }
    }

    /// Fills in the container's name where a file gives it.
    pub fn name(&mut self, container: &mut Container) {
        if container.name.is_some() {
            return;
        }
        container.name = match container.runtime {
            Runtime::Docker => self
                .docker()
                .iter()
                .find(|c| c.id == container.id)
                .map(|c| c.name.clone()),
            Runtime::Podman => self.podman().get(&container.id).cloned(),
            Runtime::Containerd | Runtime::Crio | Runtime::Kubernetes => {
                self.kubernetes().get(&container.id).cloned()
            }
            Runtime::Lxc | Runtime::Nspawn => None,
        };
    }

    /// The Docker container that has `address` on one of its networks.
    pub fn docker_at(&mut self, address: IpAddr) -> Option<DockerContainer> {
        let found = self
            .docker()
            .iter()
            .find(|c| c.addresses.contains(&address));
        found.cloned()
    }

    fn docker(&mut self) -> &[DockerContainer] {
        let dir = self.root.join("var/lib/docker/containers");
        self.docker.get_or_insert_with(|| read_docker(&dir))
    }

    fn podman(&mut self) -> &HashMap<String, String> {
        let file = self
            .root
            .join("var/lib/containers/storage/overlay-containers/containers.json");
        self.podman.get_or_insert_with(|| read_podman(&file))
    }

    fn kubernetes(&mut self) -> &HashMap<String, String> {
        let dir = self.root.join("var/log/containers");
        self.kubernetes.get_or_insert_with(|| read_kubernetes(&dir))
    }
}

fn read_docker(dir: &Path) -> Vec<DockerContainer> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let configs = entries
        .flatten()
        .map(|entry| entry.path().join("config.v2.json"));
    configs
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| parse_docker_config(&text))
        .collect()
}

/// `config.v2.json`: `ID`, `Name` (with a leading `/`) and each network's `IPAddress`.
pub fn parse_docker_config(text: &str) -> Option<DockerContainer> {
    let config: serde_json::Value = serde_json::from_str(text).ok()?;
    let networks = config["NetworkSettings"]["Networks"].as_object();
    let addresses = networks
        .into_iter()
        .flatten()
        .filter_map(|(_, network)| network["IPAddress"].as_str()?.parse().ok());
    Some(DockerContainer {
        id: config["ID"].as_str()?.to_owned(),
        name: config["Name"].as_str()?.trim_start_matches('/').to_owned(),
        addresses: addresses.collect(),
        pid: config["State"]["Pid"]
            .as_u64()
            .filter(|&pid| pid > 0)
            .map(|pid| pid as u32),
    })
}

/// Podman's `containers.json`: `[{"id": ..., "names": [...]}]`.
fn read_podman(file: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return HashMap::new();
    };
    let Ok(serde_json::Value::Array(containers)) = serde_json::from_str(&text) else {
        return HashMap::new();
    };
    let named = containers.iter().filter_map(|c| {
        Some((
            c["id"].as_str()?.to_owned(),
            c["names"][0].as_str()?.to_owned(),
        ))
    });
    named.collect()
}

/// /var/log/containers links are named `<pod>_<namespace>_<container>-<64 hex id>.log`.
fn read_kubernetes(dir: &Path) -> HashMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashMap::new();
    };
    let names = entries
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned());
    names
        .filter_map(|name| parse_kubernetes_log(&name))
        .collect()
}

/// `(id, "pod/namespace/container")` from a /var/log/containers file name.
pub fn parse_kubernetes_log(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    let mut parts = rest.splitn(3, '_');
    let (pod, namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    (id.len() == 64).then(|| (id.to_owned(), format!("{pod}/{namespace}/{container}")))
}

/// docker-proxy's arguments: `-proto tcp -host-ip 127.0.0.1 -host-port 18081 -container-ip
/// 172.17.0.2 -container-port 8080` (and, since Docker 28, `-use-listen-fd`).
pub fn docker_proxy_target(cmdline: &str) -> Option<SocketAddr> {
    let args: Vec<&str> = cmdline.split_whitespace().collect();
    let value = |flag: &str| {
        let at = args.iter().position(|arg| *arg == flag)?;
        args.get(at + 1).copied()
    };
    let ip: IpAddr = value("-container-ip")?.parse().ok()?;
    let port: u16 = value("-container-port")?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Where a docker-proxy process forwards, with the container found by its address and, for TCP,
/// the process listening there found by `listener_in(container pid, address)`. `None` unless a
/// container Docker knows really has that address: anyone can name a process `docker-proxy`
/// and give it such arguments, and `ports kill` spares a forwarder.
pub fn forward(
    cmdline: &str,
    files: &mut ContainerFiles,
    listener_in: impl Fn(u32, SocketAddr) -> Option<Listener>,
) -> Option<Forward> {
    let to = docker_proxy_target(cmdline)?;
    let container = Some(files.docker_at(to.ip())?);
    let tcp = !cmdline
        .split_whitespace()
        .any(|arg| arg == "udp" || arg == "sctp");
    let main_pid = container.as_ref().and_then(|c| c.pid).filter(|_| tcp);
    Some(Forward {
        container: container.map(|c| c.name),
        to,
        listener: main_pid.and_then(|pid| listener_in(pid, to)),
    })
}

/// Whether process `pid` is Docker's forwarder as Docker starts it: every one of its uids
/// (real, effective, saved, filesystem) is root, so no user started it through a set-uid
/// program; its executable is named `docker-proxy` (the file itself, not the name it was run
/// by, which a symlink chooses); and that file and its directory belong to root and no one
/// else may write them (read through /proc/PID/exe, so a replaced binary still answers).
pub fn is_dockers_forwarder(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    all_uids_root(&status) && runs_root_owned(pid, &exe, "docker-proxy")
}

/// The `Uid:` line of /proc/PID/status: real, effective, saved and filesystem uid, all 0.
fn all_uids_root(status: &str) -> bool {
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"));
    uids.is_some_and(|uids| {
        let uids: Vec<&str> = uids.split_whitespace().collect();
        uids.len() == 4 && uids.iter().all(|&uid| uid == "0")
    })
}

/// Whether `exe` (the link target of /proc/PID/exe) is named `name`, and it and its directory
/// are root's alone.
fn runs_root_owned(pid: u32, exe: &Path, name: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let root_only = |meta: std::fs::Metadata| meta.uid() == 0 && meta.mode() & 0o022 == 0;
    let exe = exe.to_string_lossy();
    let exe = Path::new(exe.trim_end_matches(" (deleted)"));
    let named = exe.file_name().is_some_and(|file| file == name);
    let file = std::fs::metadata(format!("/proc/{pid}/exe"));
    let dir = exe.parent().map(std::fs::metadata);
    named && file.is_ok_and(root_only) && dir.is_some_and(|dir| dir.is_ok_and(root_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211";

    #[test]
    fn a_forwarder_runs_as_root_through_and_through_from_root_owned_docker_proxy() {
        assert!(all_uids_root(
            "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
        ));
        // A set-uid program run by uid 65534: effective root, real not.
        assert!(!all_uids_root("Uid:\t65534\t0\t0\t0\n"));
        assert!(!all_uids_root(""));
        let me = std::process::id();
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_str().unwrap().to_owned();
        // The tests run as root, from target/ (root's, not writable by others).
        assert!(runs_root_owned(me, &exe, &name));
        assert!(
            !runs_root_owned(me, &exe, "docker-proxy"),
            "named otherwise"
        );
        let planted = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let writable = std::fs::Permissions::from_mode(0o777);
        std::fs::set_permissions(planted.path(), writable).unwrap();
        let there = planted.path().join(&name);
        assert!(
            !runs_root_owned(me, &there, &name),
            "a directory anyone writes"
        );
    }

    #[test]
    fn docker_config_gives_name_and_addresses() {
        let text = format!(
            r#"{{"ID":"{ID}","Name":"/web","State":{{"Pid":4121}},
            "NetworkSettings":{{"Networks":{{"bridge":{{"IPAddress":"172.17.0.2"}}}}}}}}"#
        );
        let container = parse_docker_config(&text).unwrap();
        assert_eq!(
            (container.id.as_str(), container.name.as_str()),
            (ID, "web")
        );
        assert_eq!(
            container.addresses,
            ["172.17.0.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(container.pid, Some(4121));
        assert!(parse_docker_config("{}").is_none());
    }

    #[test]
    fn docker_proxy_arguments_with_and_without_listen_fd() {
        let classic = "/usr/sbin/docker-proxy -proto tcp -host-ip 127.0.0.1 -host-port 18081 \
                       -container-ip 172.17.0.2 -container-port 8080";
        assert_eq!(
            docker_proxy_target(classic),
            Some("172.17.0.2:8080".parse().unwrap())
        );
        let docker28 = format!("{classic} -use-listen-fd");
        assert_eq!(
            docker_proxy_target(&docker28),
            Some("172.17.0.2:8080".parse().unwrap())
        );
        assert_eq!(
            docker_proxy_target("/usr/sbin/docker-proxy -proto tcp"),
            None
        );
    }

    #[test]
    fn kubernetes_log_names_give_pod_namespace_container() {
        let name = format!("web-7d9f_shop_nginx-{ID}.log");
        assert_eq!(
            parse_kubernetes_log(&name),
            Some((ID.into(), "web-7d9f/shop/nginx".into()))
        );
        assert_eq!(parse_kubernetes_log("not-a-log.txt"), None);
    }

    #[test]
    fn names_come_from_files_under_a_root() {
        let root = std::env::temp_dir().join(format!("ports-containers-{}", std::process::id()));
        let dir = root.join(format!("var/lib/docker/containers/{ID}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config =
            format!(r#"{{"ID":"{ID}","Name":"/db","NetworkSettings":{{"Networks":{{}}}}}}"#);
        std::fs::write(dir.join("config.v2.json"), config).unwrap();
        let mut files = ContainerFiles::under(&root);
        let mut container = Container {
            runtime: Runtime::Docker,
            id: ID.into(),
            name: None,
        };
        files.name(&mut container);
        assert_eq!(container.name.as_deref(), Some("db"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
