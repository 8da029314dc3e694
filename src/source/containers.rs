//! Container names and addresses from the runtimes' own files, without calling any daemon:
//! Docker's `config.v2.json`, Podman's `containers.json`, the Kubernetes log links in
//! /var/log/containers. And docker-proxy's command line, which says where it forwards.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::model::{Container, Forward, Listener, Runtime};

/// What the runtimes' files say, read once per snapshot and only when a container is seen.
#[derive(Debug, Default)]
pub struct ContainerFiles {
    root: PathBuf,
    /// Docker's data roots; `None`: this machine's, found once per run.
    docker_roots: Option<Vec<DockerRoot>>,
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
    /// The running daemon whose data root holds it, when it was found from one.
    pub daemon: Option<u32>,
    /// The data root it was read from.
    pub root: Option<PathBuf>,
}

/// Where a Docker daemon keeps its containers, and that daemon's pid when it was found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRoot {
    pub dir: PathBuf,
    pub daemon: Option<u32>,
    /// A process in the daemon's network namespace: the daemon, or (when it is stopped with
    /// its containers left running, `--live-restore`) a container's shim.
    pub witness: Option<u32>,
}

const DOCKER_ROOT: &str = "/var/lib/docker";
const DOCKER_CONFIG: &str = "/etc/docker/daemon.json";

impl ContainerFiles {
    /// This machine's files, with Docker's data roots as its running daemons say.
    pub fn here() -> ContainerFiles {
        ContainerFiles::under("/").with_docker_roots(None)
    }

    /// Files under `root` (a directory of samples in tests), Docker's in /var/lib/docker.
    pub fn under(root: impl Into<PathBuf>) -> ContainerFiles {
        let default = DockerRoot {
            dir: DOCKER_ROOT.into(),
            daemon: None,
            witness: None,
        };
        ContainerFiles {
            root: root.into(),
            docker_roots: Some(vec![default]),
            ..ContainerFiles::default()
        }
    }

    /// Docker's data roots (each taken under the root); `None` for this machine's.
    pub fn with_docker_roots(mut self, roots: Option<Vec<DockerRoot>>) -> ContainerFiles {
        self.docker_roots = roots;
        self
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

    /// The Docker container that has `address` on one of its networks. When `parent` is a
    /// daemon found running, among its containers only: two daemons (in two network
    /// namespaces) can both give out 172.17.0.2.
    pub fn docker_at(&mut self, address: IpAddr, parent: Option<u32>) -> Option<DockerContainer> {
        let daemon = parent.filter(|&pid| self.roots().iter().any(|r| r.daemon == Some(pid)));
        let found = self
            .docker()
            .iter()
            .find(|c| c.addresses.contains(&address) && (daemon.is_none() || c.daemon == daemon));
        found.cloned()
    }

    /// The Docker container that has `address`, among the containers of the daemons running
    /// in network namespace `netns` (as `netns_of` gives a pid's) when any runs there: a NAT
    /// rule there reaches their containers, while another namespace's daemon may give out the
    /// same address. With no daemon found there, among all.
    pub fn docker_at_in(
        &mut self,
        address: IpAddr,
        netns: u64,
        netns_of: impl Fn(u32) -> Option<u64>,
    ) -> Option<DockerContainer> {
        let here: Vec<PathBuf> = (self.roots().iter())
            .filter(|root| root.witness.is_some_and(|pid| netns_of(pid) == Some(netns)))
            .map(|root| root.dir.clone())
            .collect();
        if here.is_empty() {
            return self.docker_at(address, None);
        }
        let found = self.docker().iter().find(|c| {
            c.addresses.contains(&address) && c.root.as_ref().is_some_and(|dir| here.contains(dir))
        });
        found.cloned()
    }

    fn roots(&self) -> &[DockerRoot] {
        self.docker_roots
            .as_deref()
            .unwrap_or_else(|| machine_docker_roots())
    }

    fn docker(&mut self) -> &[DockerContainer] {
        if self.docker.is_none() {
            let read = self.roots().iter().flat_map(|r| read_docker(&self.root, r));
            self.docker = Some(read.collect());
        }
        self.docker.as_deref().unwrap_or_default()
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

/// The containers in `docker_root`'s `containers` directory, under `root`.
fn read_docker(root: &Path, docker_root: &DockerRoot) -> Vec<DockerContainer> {
    let relative = docker_root
        .dir
        .strip_prefix("/")
        .unwrap_or(&docker_root.dir);
    let Ok(entries) = std::fs::read_dir(root.join(relative).join("containers")) else {
        return Vec::new();
    };
    let configs = entries
        .flatten()
        .map(|entry| entry.path().join("config.v2.json"));
    let found = configs
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| parse_docker_config(&text));
    let owned = found.map(|container| DockerContainer {
        daemon: docker_root.daemon,
        root: Some(docker_root.dir.clone()),
        ..container
    });
    owned.collect()
}

/// This machine's Docker data roots, looked for once per run.
fn machine_docker_roots() -> &'static [DockerRoot] {
    static ROOTS: OnceLock<Vec<DockerRoot>> = OnceLock::new();
    ROOTS.get_or_init(find_docker_roots)
}

/// Each running root dockerd's data root, and those of stopped daemons whose containers run
/// on; with none of either, the configured one.
fn find_docker_roots() -> Vec<DockerRoot> {
    let mut found: Vec<DockerRoot> = root_dockerds().filter_map(daemon_root).collect();
    for shim in root_processes("containerd-shim").filter_map(shim_root) {
        if !found.iter().any(|root| root.dir == shim.dir) {
            found.push(shim);
        }
    }
    if !found.is_empty() {
        return found;
    }
    let dir = data_root_of(&[], read_text);
    let (daemon, witness) = (None, None);
    vec![DockerRoot {
        dir,
        daemon,
        witness,
    }]
}

/// The data root of a Docker container's shim (`-namespace moby -id ID`), from the bundle it
/// runs in: Docker mounts `DATA_ROOT/containers/ID/hostname` there.
fn shim_root(pid: u32) -> Option<DockerRoot> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    let args: Vec<&str> = cmdline.split('\0').collect();
    let moby = flag_value(&args, &["-namespace"], None) == Some("moby");
    let id = flag_value(&args, &["-id"], None).filter(|_| moby)?;
    let bundle = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    let spec = read_text(bundle.join("config.json").to_str()?)?;
    let dir = bundle_data_root(&spec, id)?;
    let (daemon, witness) = (None, Some(pid));
    Some(DockerRoot {
        dir,
        daemon,
        witness,
    })
}

/// The data root a Docker container's OCI spec names, through its `/etc/hostname` mount.
fn bundle_data_root(spec: &str, id: &str) -> Option<PathBuf> {
    let spec: serde_json::Value = serde_json::from_str(spec).ok()?;
    let mounts = spec["mounts"].as_array()?;
    let hostname = mounts
        .iter()
        .find(|m| m["destination"] == "/etc/hostname")?;
    let source = hostname["source"].as_str()?;
    let root = source.strip_suffix(&format!("/containers/{id}/hostname"))?;
    Some(PathBuf::from(root)).filter(|dir| dir.is_absolute() && !id.is_empty())
}

fn read_text(file: &str) -> Option<String> {
    std::fs::read_to_string(file).ok()
}

/// Pids of processes named `dockerd` running wholly as root: any user can start a process of
/// that name, with a data root of their own making.
fn root_dockerds() -> impl Iterator<Item = u32> {
    root_processes("dockerd")
}

/// Pids of processes whose `comm` is `name`, running wholly as root.
fn root_processes(name: &'static str) -> impl Iterator<Item = u32> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    let pids = entries.filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok());
    pids.filter(move |pid| {
        let read = |file: &str| read_text(&format!("/proc/{pid}/{file}"));
        read("comm").is_some_and(|comm| comm.trim_end() == name)
            && read("status").is_some_and(|status| all_uids_root(&status))
    })
}

/// The data root of daemon `pid`, as its command line and configuration say.
fn daemon_root(pid: u32) -> Option<DockerRoot> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    let args: Vec<&str> = cmdline.split('\0').collect();
    let dir = data_root_of(&args, read_text);
    // dockerd makes a relative root absolute against its working directory.
    let dir = match dir.is_absolute() {
        true => dir,
        false => std::fs::read_link(format!("/proc/{pid}/cwd"))
            .ok()?
            .join(dir),
    };
    let daemon = Some(pid);
    Some(DockerRoot {
        dir,
        daemon,
        witness: daemon,
    })
}

/// The data root of a dockerd run with `args`: its flag; else its configuration file's
/// (`--config-file`, else /etc/docker/daemon.json, as `read` gives them); else /var/lib/docker.
fn data_root_of(args: &[&str], read: impl FnOnce(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = flag_value(args, &["--data-root", "--graph"], Some("-g")) {
        return dir.into();
    }
    let file = flag_value(args, &["--config-file"], None).unwrap_or(DOCKER_CONFIG);
    let configured = read(file).and_then(|json| configured_root(&json));
    configured.unwrap_or_else(|| DOCKER_ROOT.into())
}

/// The last value given to one of the `long` flags (`--flag V`, `--flag=V`) or to the
/// one-letter `short` flag (`-g V`, `-g=V`, `-gV`): the last one wins in dockerd.
fn flag_value<'a>(args: &[&'a str], long: &[&str], short: Option<&str>) -> Option<&'a str> {
    let mut given = args.iter().enumerate().filter_map(|(at, arg)| {
        let next = args.get(at + 1).copied();
        value_in(arg, next, long, short)
    });
    given.next_back().filter(|value| !value.is_empty())
}

/// The value `arg` gives one of the flags, the `next` argument when the flag stands alone.
fn value_in<'a>(
    arg: &'a str,
    next: Option<&'a str>,
    long: &[&str],
    short: Option<&str>,
) -> Option<&'a str> {
    if long.contains(&arg) || short == Some(arg) {
        return next;
    }
    if let Some(rest) = short.and_then(|short| arg.strip_prefix(short)) {
        return Some(rest.strip_prefix('=').unwrap_or(rest));
    }
    let (name, value) = arg.split_once('=')?;
    long.contains(&name).then_some(value)
}

/// `daemon.json`'s `"data-root"`, or the older `"graph"`.
fn configured_root(json: &str) -> Option<PathBuf> {
    let config: serde_json::Value = serde_json::from_str(json).ok()?;
    let dir = config["data-root"].as_str().or(config["graph"].as_str())?;
    (!dir.is_empty()).then(|| dir.into())
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
        daemon: None,
        root: None,
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

/// Where a docker-proxy process (child of `parent`) forwards, with the container found by its
/// address and, for TCP, the process listening there found by `listener_in(container pid,
/// address)`. `None` unless a container Docker knows really has that address: anyone can name
/// a process `docker-proxy` and give it such arguments, and `ports kill` spares a forwarder.
pub fn forward(
    cmdline: &str,
    parent: Option<u32>,
    files: &mut ContainerFiles,
    listener_in: impl Fn(u32, SocketAddr) -> Option<Listener>,
) -> Option<Forward> {
    let to = docker_proxy_target(cmdline)?;
    let container = Some(files.docker_at(to.ip(), parent)?);
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

    /// A data root under `root` at `dir` holding one container named `name` at 172.17.0.2.
    fn docker_root(root: &Path, dir: &str, name: &str, daemon: u32) -> DockerRoot {
        let id = format!("{daemon:0>64}");
        let at = root.join(dir).join("containers").join(&id);
        std::fs::create_dir_all(&at).unwrap();
        let config = format!(
            r#"{{"ID":"{id}","Name":"/{name}","State":{{"Pid":{daemon}1}},
            "NetworkSettings":{{"Networks":{{"bridge":{{"IPAddress":"172.17.0.2"}}}}}}}}"#
        );
        std::fs::write(at.join("config.v2.json"), config).unwrap();
        let dir = Path::new("/").join(dir);
        let witness = Some(daemon);
        DockerRoot {
            dir,
            daemon: witness,
            witness,
        }
    }

    #[test]
    fn a_nat_rule_reaches_the_container_of_the_daemon_in_its_own_namespace() {
        let root = tempfile::tempdir().unwrap();
        let stopped = DockerRoot {
            daemon: None,
            ..docker_root(root.path(), "three", "third", 30)
        };
        let roots = vec![
            docker_root(root.path(), "one", "first", 10),
            docker_root(root.path(), "two", "second", 20),
            stopped,
        ];
        let mut files = ContainerFiles::under(root.path()).with_docker_roots(Some(roots));
        let netns_of = |pid: u32| Some(u64::from(pid) * 10);
        let address: IpAddr = "172.17.0.2".parse().unwrap();
        let named = |files: &mut ContainerFiles, netns: u64| {
            let found = files.docker_at_in(address, netns, netns_of);
            found.map(|c| c.name)
        };
        assert_eq!(named(&mut files, 200).as_deref(), Some("second"));
        assert_eq!(named(&mut files, 100).as_deref(), Some("first"));
        // A daemon stopped with its containers left running: its shim is in its namespace.
        assert_eq!(named(&mut files, 300).as_deref(), Some("third"));
        // No daemon in that namespace: any container with the address will do.
        assert!(named(&mut files, 400).is_some());
        let elsewhere: IpAddr = "172.17.0.3".parse().unwrap();
        assert_eq!(files.docker_at_in(elsewhere, 200, netns_of), None);
    }

    #[test]
    fn a_shims_bundle_names_its_daemons_data_root() {
        let spec = |source: &str| {
            format!(
                r#"{{"mounts":[{{"destination":"/etc/resolv.conf","source":"/x/containers/{ID}/resolv.conf"}},
                {{"destination":"/etc/hostname","source":"{source}"}}]}}"#
            )
        };
        let found = bundle_data_root(&spec(&format!("/srv/dock/containers/{ID}/hostname")), ID);
        assert_eq!(found, Some(PathBuf::from("/srv/dock")));
        let another = format!("/srv/dock/containers/{}/hostname", "0".repeat(64));
        assert_eq!(bundle_data_root(&spec(&another), ID), None);
        let relative = format!("dock/containers/{ID}/hostname");
        assert_eq!(bundle_data_root(&spec(&relative), ID), None);
        assert_eq!(bundle_data_root("{}", ID), None);
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

    #[test]
    fn dockerd_flags_give_the_data_root_as_go_parses_them() {
        let dockerd = |more: &str| {
            let args = format!("/usr/sbin/dockerd -H unix:///run/d.sock {more}");
            let args: Vec<&str> = args.split(' ').collect();
            data_root_of(&args, |_| None)
        };
        for (given, found) in [
            ("--data-root /srv/docker", "/srv/docker"),
            ("--data-root=/srv/docker", "/srv/docker"),
            ("-g /old", "/old"),
            ("-g=/old", "/old"),
            ("-g/old", "/old"),
            ("--graph /old", "/old"),
            ("--graph=/a=b", "/a=b"),
            ("-g /first --data-root /last", "/last"),
            ("--data-root-x=/no --debug", DOCKER_ROOT),
            ("--group docker -G docker", DOCKER_ROOT),
            ("--data-root", DOCKER_ROOT),
            ("--data-root=", DOCKER_ROOT),
        ] {
            assert_eq!(dockerd(given), Path::new(found), "{given}");
        }
    }

    #[test]
    fn the_data_root_comes_from_the_flag_then_the_daemons_configuration() {
        let config = |file: &str| match file {
            "/etc/docker/daemon.json" => Some(r#"{"data-root": "/etc-root"}"#.to_owned()),
            "/mine.json" => Some(r#"{"graph": "/graph-root", "debug": true}"#.to_owned()),
            _ => None,
        };
        let root = |args: &str| {
            let args: Vec<&str> = args.split(' ').filter(|a| !a.is_empty()).collect();
            data_root_of(&args, config)
        };
        assert_eq!(root("dockerd --data-root /flag"), Path::new("/flag"));
        assert_eq!(root("dockerd"), Path::new("/etc-root"));
        assert_eq!(
            root("dockerd --config-file /mine.json"),
            Path::new("/graph-root")
        );
        assert_eq!(
            root("dockerd --config-file=/none.json"),
            Path::new(DOCKER_ROOT)
        );
        assert_eq!(
            data_root_of(&[], |_| Some("{".into())),
            Path::new(DOCKER_ROOT)
        );
        assert_eq!(configured_root(r#"{"data-root": ""}"#), None);
    }

    /// A process named `dockerd` with `--data-root planted`, run as `uid` in `dir`; it ends
    /// when its stdin closes (when the child is dropped, even by a failing test).
    fn fake_dockerd(dir: &Path, uid: u32) -> std::process::Child {
        use std::io::BufRead;
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("dockerd");
        // A script's process is named after the script (comm), its interpreter reads on.
        std::fs::write(&script, "#!/bin/sh\necho ready\nread line\n").unwrap();
        let readable = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(&script, readable.clone()).unwrap();
        std::fs::set_permissions(dir, readable).unwrap();
        let ids = [format!("--reuid={uid}"), format!("--regid={uid}")];
        let mut child = std::process::Command::new("setpriv")
            .args(&ids)
            .arg("--clear-groups")
            .arg(&script)
            .args(["--data-root", "planted"])
            .current_dir(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready, "ready\n");
        child
    }

    #[test]
    fn only_a_dockerd_running_as_root_is_asked_for_its_data_root() {
        let dir = tempfile::Builder::new()
            .prefix("ports-dockerd-")
            .tempdir()
            .unwrap();
        let as_root = fake_dockerd(dir.path(), 0);
        let as_nobody = fake_dockerd(dir.path(), 65534);
        let found: Vec<u32> = root_dockerds().collect();
        let root = daemon_root(as_root.id());
        let pids = [as_root.id(), as_nobody.id()];
        drop((as_root, as_nobody));
        assert!(found.contains(&pids[0]), "root's dockerd: {found:?}");
        assert!(!found.contains(&pids[1]), "a user's process named dockerd");
        // Relative to the daemon's working directory, as dockerd takes it.
        let planted = dir.path().canonicalize().unwrap().join("planted");
        let expected = DockerRoot {
            dir: planted,
            daemon: Some(pids[0]),
            witness: Some(pids[0]),
        };
        assert_eq!(root, Some(expected));
    }

    #[test]
    fn a_forwarder_is_matched_among_its_own_daemons_containers() {
        let root = tempfile::Builder::new()
            .prefix("ports-roots-")
            .tempdir()
            .unwrap();
        let roots = [("srv/one", 100, "web"), ("srv/two", 200, "api")].map(|(dir, pid, name)| {
            let id = format!("{pid:064}");
            let at = root.path().join(dir).join("containers").join(&id);
            std::fs::create_dir_all(&at).unwrap();
            let config = format!(
                r#"{{"ID":"{id}","Name":"/{name}",
                "NetworkSettings":{{"Networks":{{"bridge":{{"IPAddress":"172.17.0.2"}}}}}}}}"#
            );
            std::fs::write(at.join("config.v2.json"), config).unwrap();
            let dir = Path::new("/").join(dir);
            DockerRoot {
                dir,
                daemon: Some(pid),
                witness: Some(pid),
            }
        });
        let mut files = ContainerFiles::under(root.path()).with_docker_roots(Some(roots.into()));
        let address = "172.17.0.2".parse().unwrap();
        let name = |c: Option<DockerContainer>| c.map(|c| c.name);
        assert_eq!(
            name(files.docker_at(address, Some(200))).as_deref(),
            Some("api")
        );
        assert_eq!(
            name(files.docker_at(address, Some(100))).as_deref(),
            Some("web")
        );
        // A parent that is no daemon found running: any container with the address.
        assert!(files.docker_at(address, Some(1)).is_some());
        let mut container = Container {
            runtime: Runtime::Docker,
            id: format!("{:064}", 200),
            name: None,
        };
        files.name(&mut container);
        assert_eq!(
            container.name.as_deref(),
            Some("api"),
            "named from a data root of its own"
        );
    }
}
