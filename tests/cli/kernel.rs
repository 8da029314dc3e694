//! Sockets the kernel holds: a VXLAN device made in a test namespace opens a UDP socket that
//! no process holds; ports names the device instead of showing it ownerless or hidden.

use std::process::Command;

use crate::netns::NetnsGuard;
use crate::privilege::assert_root;
use crate::support::{explain, free_port, json};

/// A namespace with `lo` up and a VXLAN device `vx0` (id 42) on a UDP port; deleted (with the
/// device) on drop.
pub struct Vxlan {
    pub name: String,
    pub port: u16,
    _namespace: NetnsGuard,
}

impl Vxlan {
    pub fn create(tag: &str) -> Vxlan {
        assert_root();
        let name = format!("ports-{tag}-{}", std::process::id());
        let namespace = NetnsGuard::add(&name);
        let port = free_port();
        let ip = |args: &[&str]| {
            let status = Command::new("ip").arg("-n").arg(&name).args(args).status();
            assert!(status.unwrap().success(), "ip -n {name} {args:?}");
        };
        ip(&["link", "set", "lo", "up"]);
        let dstport = port.to_string();
        let vxlan = ["type", "vxlan", "id", "42", "dstport", &dstport];
        ip(&[&["link", "add", "vx0"][..], &vxlan, &["local", "127.0.0.1"]].concat());
        ip(&["link", "set", "vx0", "up"]);
        Vxlan {
            name,
            port,
            _namespace: namespace,
        }
    }
}

#[test]
fn a_vxlan_port_is_held_by_the_kernel_not_hidden() {
    let vxlan = Vxlan::create("vxlan");
    let port = vxlan.port.to_string();
    let ss = Command::new("ip")
        .args(["netns", "exec", &vxlan.name, "ss", "-uanp"])
        .output()
        .unwrap();
    let ss = String::from_utf8_lossy(&ss.stdout).into_owned();
    let line = ss.lines().find(|l| l.contains(&format!(":{port} ")));
    let line = line.unwrap_or_else(|| panic!("ss does not list {port}:\n{ss}"));
    assert!(!line.contains("users:"), "ss names a process: {line}");

    let args = ["--netns", &vxlan.name, "-u", &port];
    let (sockets, output) = json(&args);
    let held = sockets.iter().find(|s| s["local_port"] == vxlan.port);
    let held = held.unwrap_or_else(|| panic!("{}", explain(&args, &output)));
    assert_eq!(held["kernel"]["device"], "vx0", "{held}");
    assert_eq!(held["kernel"]["detail"], "VXLAN id 42");
    assert_eq!(held["owner_hidden"], false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("owner"), "a hidden-owner note: {stderr}");

    let table = crate::support::ports()
        .args(["-N", "-u", &port, "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("kernel (vx0: VXLAN id 42)"), "{text}");
}
