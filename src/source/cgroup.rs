//! Where a process runs, read from its /proc/PID/cgroup without asking any daemon: the systemd
//! unit, or the container (Docker, containerd and CRI-O under Kubernetes, Podman, LXC,
//! systemd-nspawn). Pure functions over the file's text, tested on real-world samples.

use crate::model::{Container, Runtime};

/// What a cgroup path says about where a process runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// The systemd unit (`nginx.service`, `session-3.scope`, `user@1000.service`).
    pub unit: Option<String>,
    pub container: Option<Container>,
}

/// The path of the unified (v2) hierarchy, else the first v1 line's: `0::/system.slice/x`.
/// Lines split on their first two colons only: a path may hold colons.
pub fn path_of(text: &str) -> Option<&str> {
    let mut fallback = None;
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            return Some(path);
        }
        fallback = fallback.or(Some(path));
    }
    fallback
}

/// Reads a cgroup path, innermost container first, then the unit.
pub fn placement(path: &str) -> Placement {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    Placement {
        unit: unit(&segments),
        container: segments
            .iter()
            .rev()
            .find_map(|segment| container(segment, &segments)),
    }
}

/// The innermost segment naming a systemd unit (`.service` or `.scope`), unescaped; a
/// container's own scope counts as its unit too (`docker-<id>.scope`).
fn unit(segments: &[&str]) -> Option<String> {
    let unit = segments
        .iter()
        .rev()
        .find(|s| s.ends_with(".service") || s.ends_with(".scope"))?;
    Some(unescape(unit))
}

/// systemd scopes that hold a container by its 64-hex id: `docker-<id>.scope` and the rest.
const SCOPES: [(&str, Runtime); 4] = [
    ("docker-", Runtime::Docker),
    ("libpod-", Runtime::Podman),
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::Crio),
];

/// One segment's container, if it names one. `segments` gives context (Kubernetes pods).
fn container(segment: &str, segments: &[&str]) -> Option<Container> {
    let scope = segment.strip_suffix(".scope");
    for (prefix, runtime) in SCOPES {
        if let Some(id) = scope.and_then(|s| s.strip_prefix(prefix)) {
            return hex_id(runtime, id);
        }
    }
    if let Some(name) = segment.strip_prefix("lxc.payload.") {
        return Some(named(Runtime::Lxc, name));
    }
    if let Some(name) = scope.and_then(|s| s.strip_prefix("machine-")) {
        return Some(named(Runtime::Nspawn, &unescape(name)));
    }
    cgroupfs_container(segment, segments)
}

/// The cgroupfs drivers: `/docker/<id>`, `/kubepods/.../pod<uid>/<id>`, `/lxc/<name>`.
fn cgroupfs_container(segment: &str, segments: &[&str]) -> Option<Container> {
    let position = segments.iter().position(|s| *s == segment)?;
    let parent = position.checked_sub(1).map(|i| segments[i]);
    match parent {
        Some("docker") => hex_id(Runtime::Docker, segment),
        Some("lxc") => Some(named(Runtime::Lxc, segment)),
        Some(pod)
            if pod.starts_with("pod") && segments.iter().any(|s| s.starts_with("kubepods")) =>
        {
            hex_id(Runtime::Kubernetes, segment)
        }
        _ => None,
    }
}

/// A container known by its 64-hex id; the name comes later, from local files.
fn hex_id(runtime: Runtime, id: &str) -> Option<Container> {
    let hex = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| Container {
        runtime,
        id: id.to_owned(),
        name: None,
    })
}

fn named(runtime: Runtime, name: &str) -> Container {
    Container {
        runtime,
        id: String::new(),
        name: Some(name.to_owned()),
    }
}

/// systemd escapes bytes in unit names as `\xNN` (`system-getty.slice`, `\x2d` for `-`).
pub fn unescape(name: &str) -> String {
    let mut bytes = Vec::with_capacity(name.len());
    let mut rest = name.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = tail
            .strip_prefix(b"x")
            .and_then(|hex| hex.get(..2))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (first, escaped) {
            (b'\\', Some(byte)) => {
                bytes.push(byte);
                rest = &tail[3..];
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211";

    /// Runtime, id and name of a container.
    type Found = (Runtime, String, Option<String>);

    fn at(path: &str) -> (Option<String>, Option<Found>) {
        let placement = placement(path);
        let container = placement.container.map(|c| (c.runtime, c.id, c.name));
        (placement.unit, container)
    }

    #[test]
    fn v2_paths_are_preferred_and_split_on_two_colons_only() {
        let text = "12:pids:/docker/abc\n0::/system.slice/weird:name.service\n";
        assert_eq!(path_of(text), Some("/system.slice/weird:name.service"));
        assert_eq!(path_of("4:memory:/lxc/web\n"), Some("/lxc/web"));
        assert_eq!(path_of("garbage\n"), None);
    }

    #[test]
    fn systemd_units_and_sessions() {
        assert_eq!(
            at("/system.slice/nginx.service").0.as_deref(),
            Some("nginx.service")
        );
        assert_eq!(
            at("/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome.scope")
                .0
                .as_deref(),
            Some("app-gnome.scope")
        );
        assert_eq!(
            at("/user.slice/user-1000.slice/session-3.scope")
                .0
                .as_deref(),
            Some("session-3.scope")
        );
        assert_eq!(
            at("/system.slice/system-getty.slice/getty@tty1.service")
                .0
                .as_deref(),
            Some("getty@tty1.service")
        );
        assert_eq!(
            unescape("dev-disk-by\\x2dlabel-root.device"),
            "dev-disk-by-label-root.device"
        );
        assert_eq!(at("/"), (None, None));
    }

    #[test]
    fn docker_under_systemd_and_cgroupfs() {
        let systemd = at(&format!("/system.slice/docker-{ID}.scope"));
        assert_eq!(systemd.1, Some((Runtime::Docker, ID.into(), None)));
        assert_eq!(systemd.0, Some(format!("docker-{ID}.scope")));
        assert_eq!(
            at(&format!("/docker/{ID}")).1,
            Some((Runtime::Docker, ID.into(), None))
        );
        assert_eq!(at("/docker/not-an-id").1, None);
    }

    #[test]
    fn kubernetes_with_either_driver_and_qos_slices() {
        let systemd = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(at(&systemd).1, Some((Runtime::Containerd, ID.into(), None)));
        let crio = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9.slice/crio-{ID}.scope"
        );
        assert_eq!(at(&crio).1, Some((Runtime::Crio, ID.into(), None)));
        let cgroupfs = format!("/kubepods/burstable/pod1a2b3c4d-0000-1111-2222-333344445555/{ID}");
        assert_eq!(
            at(&cgroupfs).1,
            Some((Runtime::Kubernetes, ID.into(), None))
        );
    }

    #[test]
    fn podman_lxc_and_nspawn() {
        let rootful = format!("/machine.slice/libpod-{ID}.scope/container");
        assert_eq!(at(&rootful).1, Some((Runtime::Podman, ID.into(), None)));
        let rootless =
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
        assert_eq!(at(&rootless).1, Some((Runtime::Podman, ID.into(), None)));
        assert_eq!(
            at("/lxc.payload.web01/system.slice/nginx.service").1,
            Some((Runtime::Lxc, String::new(), Some("web01".into())))
        );
        assert_eq!(
            at("/lxc/db").1,
            Some((Runtime::Lxc, String::new(), Some("db".into())))
        );
        assert_eq!(
            at("/machine.slice/machine-my\\x2dbox.scope/payload").1,
            Some((Runtime::Nspawn, String::new(), Some("my-box".into())))
        );
    }
}
