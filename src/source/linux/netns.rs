//! Network namespaces, found the way `lsns` finds them: /proc/*/ns/net deduplicated by inode,
//! plus namespaces pinned without a process (nsfs bind mounts: /run/netns, /run/docker/netns),
//! and named by what lives in them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::super::cgroup;
use super::super::containers::ContainerFiles;
use crate::model::{Netns, NetnsKind};

/// One network namespace and a way in.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub netns: Arc<Netns>,
    /// A file that refers to it: /proc/PID/ns/net, or a bind mount.
    pub path: PathBuf,
    /// A process in it, whose /proc/PID/net shows its sockets without setns.
    pub pid: Option<u32>,
}

/// Every network namespace on the machine, the host's first.
pub fn discover() -> Vec<Namespace> {
    let host =
        inode_of(Path::new("/proc/1/ns/net")).or_else(|| inode_of(Path::new("/proc/self/ns/net")));
    let mut found: BTreeMap<u64, (PathBuf, Option<u32>)> = BTreeMap::new();
    for pid in pids() {
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        if let Some(inode) = inode_of(&path) {
            found.entry(inode).or_insert((path, Some(pid)));
        }
    }
    let mounts = nsfs_mounts();
    for mount in &mounts {
        if let Some(inode) = inode_of(mount) {
            found.entry(inode).or_insert((mount.clone(), None));
        }
    }
    let mut files = ContainerFiles::here();
    let mut namespaces: Vec<Namespace> = found
        .into_iter()
        .map(|(inode, (path, pid))| {
            let netns = name(inode, host == Some(inode), &mounts, pid, &mut files);
            Namespace {
                netns: Arc::new(netns),
                path,
                pid,
            }
        })
        .collect();
    namespaces.sort_by_key(|ns| (ns.netns.kind != NetnsKind::Host, ns.netns.inode));
    namespaces
}

/// The namespace `selector` names: a name under /run/netns, a container's name, a pid, or a path.
pub fn find(selector: &str) -> Result<Namespace, String> {
    let all = discover();
    let path = match selector.parse::<u32>() {
        Ok(pid) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        Err(_) => selector.contains('/').then(|| PathBuf::from(selector)),
    };
    let found = match &path {
        Some(path) => {
            inode_of(path).and_then(|inode| all.iter().find(|ns| ns.netns.inode == inode))
        }
        None => all
            .iter()
            .find(|ns| ns.netns.name.as_deref() == Some(selector)),
    };
    found
        .cloned()
        .ok_or_else(|| not_found(selector, path.as_deref()))
}

/// Why `selector` named no namespace: a path that exists but cannot be read says so.
fn not_found(selector: &str, path: Option<&Path>) -> String {
    use rustix::io::Errno;
    if let Some(path) = path
        && let Err(error) = rustix::fs::stat(path)
        && error != Errno::NOENT
        && error != Errno::NOTDIR
    {
        let error = io::Error::from(error);
        return format!(
            "cannot read the network namespace '{selector}' ({}): {error}",
            path.display()
        );
    }
    format!(
        "no network namespace '{selector}' (a name under /run/netns, a container, a pid or a path)"
    )
}

/// Moves the calling thread into `namespace`: later sockets it opens (netlink) belong there.
/// Allowed from one thread of a multithreaded process; needs CAP_SYS_ADMIN.
pub fn enter(namespace: &Namespace) -> io::Result<()> {
    let file = File::open(&namespace.path)?;
    move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(io::Error::from)
}

/// The best name there is: its name under /run/netns; else the container or unit of a process
/// in it; else none (shown as `net:[INODE]`).
fn name(
    inode: u64,
    host: bool,
    mounts: &[PathBuf],
    pid: Option<u32>,
    files: &mut ContainerFiles,
) -> Netns {
    if host {
        return Netns::host(inode);
    }
    let named = mounts.iter().find(|m| {
        m.parent()
            .is_some_and(|dir| dir.ends_with("netns") && !dir.ends_with("docker/netns"))
            && inode_of(m) == Some(inode)
    });
    if let Some(mount) = named {
        let name = mount.file_name().map(|n| n.to_string_lossy().into_owned());
        return Netns {
            inode,
            name,
            kind: NetnsKind::Named,
        };
    }
    let placement = pid
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok())
        .map(|text| {
            cgroup::path_of(&text)
                .map(cgroup::placement)
                .unwrap_or_default()
        })
        .unwrap_or_default();
    match (placement.container, placement.unit) {
        (Some(mut container), _) => {
            files.name(&mut container);
            let name = container
                .name
                .unwrap_or_else(|| container.id.chars().take(12).collect());
            Netns {
                inode,
                name: Some(name),
                kind: NetnsKind::Container,
            }
        }
        (None, unit) => Netns {
            inode,
            name: unit,
            kind: NetnsKind::Other,
        },
    }
}

/// The processes in `member`'s network namespace, ascending: a service's first process first.
pub fn members(member: u32) -> Vec<u32> {
    let netns = |pid: u32| inode_of(Path::new(&format!("/proc/{pid}/ns/net")));
    let Some(wanted) = netns(member) else {
        return Vec::new();
    };
    let mut found: Vec<u32> = pids()
        .into_iter()
        .filter(|&pid| netns(pid) == Some(wanted))
        .collect();
    found.sort_unstable();
    found
}

pub(super) fn inode_of(path: &Path) -> Option<u64> {
    rustix::fs::stat(path).ok().map(|stat| stat.st_ino)
}

fn pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let names = entries.flatten().map(|entry| entry.file_name());
    names
        .filter_map(|name| name.to_str()?.parse().ok())
        .collect()
}

/// Mount points of nsfs mounts for network namespaces, from /proc/self/mountinfo.
fn nsfs_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    parse_mountinfo(&text)
}

/// Field 4 is the root within the file system (`net:[INODE]` for a network namespace), field
/// 5 the mount point; after ` - ` comes the type (`nsfs`).
fn parse_mountinfo(text: &str) -> Vec<PathBuf> {
    let mounts = text.lines().filter_map(|line| {
        let (head, tail) = line.split_once(" - ")?;
        let kind = tail.split_whitespace().next()?;
        let mut fields = head.split_whitespace().skip(3);
        let (root, point) = (fields.next()?, fields.next()?);
        (kind == "nsfs" && root.starts_with("net:")).then(|| PathBuf::from(unescape_octal(point)))
    });
    let mut mounts: Vec<PathBuf> = mounts.collect();
    mounts.sort();
    mounts.dedup();
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as `\040` and so on.
fn unescape_octal(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(std::str::from_utf8(o).ok()?, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsfs_mounts_come_from_mountinfo() {
        let text = "\
43 42 0:4 net:[4026532177] /run/netns/blue rw shared:2 - nsfs nsfs rw
813 30 0:4 net:[4026532300] /run/docker/netns/1c2f3a rw - nsfs nsfs rw
814 30 0:4 mnt:[4026532301] /run/x rw - nsfs nsfs rw
815 30 0:4 net:[4026532302] /run/netns/with\\040space rw - nsfs nsfs rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw";
        assert_eq!(
            parse_mountinfo(text),
            [
                "/run/docker/netns/1c2f3a",
                "/run/netns/blue",
                "/run/netns/with space"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn our_own_namespace_is_found_and_the_host_comes_first() {
        let all = discover();
        assert_eq!(all[0].netns.kind, NetnsKind::Host);
        let ours = inode_of(Path::new("/proc/self/ns/net")).unwrap();
        assert!(all.iter().any(|ns| ns.netns.inode == ours));
        let by_pid = find(&std::process::id().to_string()).unwrap();
        assert_eq!(by_pid.netns.inode, ours);
        assert!(
            find("no-such-namespace")
                .unwrap_err()
                .contains("no network namespace")
        );
    }

    #[test]
    fn a_path_to_nothing_is_no_namespace() {
        for path in ["/proc/999999999/ns/net", "/etc/passwd/x"] {
            let missing = not_found("x", Some(Path::new(path)));
            assert!(missing.starts_with("no network namespace 'x'"), "{missing}");
        }
    }
}
