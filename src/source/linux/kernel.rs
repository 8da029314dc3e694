//! Sockets the kernel itself holds: a VXLAN or Geneve device's UDP port (from rtnetlink's link
//! info), nfsd's ports (/proc/fs/nfsd/portlist). No process has them open, so without this they
//! would show as ownerless, or as hidden owners to a run that cannot read every process.
//! WireGuard's listen port (its generic netlink family) is not looked up (docs/why.md).

use std::io;

use netlink_packet_core::NetlinkBuffer;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_ROUTE};

use super::*;
use crate::model::KernelHolder;

/// A port the kernel holds in one namespace, and who it is held for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KernelPort {
    pub proto: Proto,
    pub port: u16,
    pub holder: KernelHolder,
}

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFINFOMSG_LEN: usize = 16;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
/// IFLA_VXLAN_ID and IFLA_GENEVE_ID: the network identifier (VNI).
const IFLA_TUNNEL_ID: u16 = 1;
const IFLA_VXLAN_PORT: u16 = 15;
const IFLA_GENEVE_PORT: u16 = 5;
/// The kernel's defaults when a device was made without `dstport`.
const VXLAN_DEFAULT_PORT: u16 = 4789;
const GENEVE_DEFAULT_PORT: u16 = 6081;

/// Names the holder of each socket in `ownerless` (indices into `sockets`) that the kernel
/// holds, and takes back its hidden mark: the namespaces' devices are read only when some
/// unconnected wildcard socket has no process, each in its own namespace (entered on a thread
/// of its own). About 0.1 ms a namespace (one RTM_GETLINK dump).
pub(super) fn name_holders(
    sockets: &mut [SocketEntry],
    ownerless: &[usize],
    own: Option<&Arc<Netns>>,
    others: &[netns::Namespace],
) {
    let mut inodes: Vec<u64> = ownerless.iter().map(|&i| sockets[i].netns.inode).collect();
    inodes.sort_unstable();
    inodes.dedup();
    let held: Vec<(u64, Vec<KernelPort>)> = thread::scope(|scope| {
        let looks: Vec<_> = inodes
            .iter()
            .map(|&inode| scope.spawn(move || (inode, ports_in(inode, own, others))))
            .collect();
        looks.into_iter().filter_map(|l| l.join().ok()).collect()
    });
    for &index in ownerless {
        let entry = &mut sockets[index];
        let ports = held.iter().find(|(inode, _)| *inode == entry.netns.inode);
        if let Some(port) = ports.and_then(|(_, ports)| held_by(entry, ports)) {
            entry.kernel = Some(port.holder.clone());
            entry.owner_hidden = false;
        }
    }
}

/// The ports the kernel holds in namespace `inode`, read from inside it; none where it cannot
/// be entered (the sockets then stay as they were).
fn ports_in(inode: u64, own: Option<&Arc<Netns>>, others: &[netns::Namespace]) -> Vec<KernelPort> {
    let is_own = own.is_some_and(|own| own.inode == inode);
    if !is_own {
        let Some(ns) = others.iter().find(|ns| ns.netns.inode == inode) else {
            return Vec::new();
        };
        if netns::enter(ns).is_err() {
            return Vec::new();
        }
    }
    let mut ports = tunnel_ports().unwrap_or_default();
    // /proc/fs/nfsd is the nfsd of the namespace it was mounted from: ours.
    if is_own {
        let list = std::fs::read_to_string("/proc/fs/nfsd/portlist").unwrap_or_default();
        ports.extend(nfsd_ports(&list));
    }
    ports
}

/// Whether the kernel may hold `entry`: it is bound to a wildcard address (a tunnel device's
/// socket is, whatever its `local` address; nfsd's too) and not connected.
pub(super) fn may_be_held(entry: &SocketEntry) -> bool {
    entry
        .inet()
        .is_some_and(|inet| inet.remote.is_none() && inet.local.ip().is_unspecified())
}

/// The kernel port `entry` is: one it may hold, on that protocol and port.
fn held_by<'a>(entry: &SocketEntry, ports: &'a [KernelPort]) -> Option<&'a KernelPort> {
    let inet = entry.inet()?;
    let mut matching = ports
        .iter()
        .filter(|p| p.proto == inet.proto && p.port == inet.local.port());
    matching.next().filter(|_| may_be_held(entry))
}

/// nfsd's `portlist`: one `udp 2049` or `tcp 2049` a line.
pub(super) fn nfsd_ports(list: &str) -> Vec<KernelPort> {
    let port = |line: &str| {
        let (proto, port) = line.split_once(' ')?;
        let proto = match proto {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => return None,
        };
        let holder = KernelHolder {
            kind: "nfsd".into(),
            device: "nfsd".into(),
            detail: String::new(),
        };
        let port = port.trim().parse().ok()?;
        Some(KernelPort {
            proto,
            port,
            holder,
        })
    };
    list.lines().filter_map(port).collect()
}

/// Every VXLAN and Geneve device's port in the calling thread's namespace: one RTM_GETLINK
/// dump over rtnetlink.
fn tunnel_ports() -> io::Result<Vec<KernelPort>> {
    let socket = Socket::new(NETLINK_ROUTE)?;
    socket.connect(&NetlinkAddr::new(0, 0))?;
    socket.send(&link_request(), 0)?;
    let mut ports = Vec::new();
    let mut buf = vec![0; 32 * 1024];
    loop {
        let len = match socket.recv(&mut &mut buf[..], 0) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(len) => len.min(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if links(&buf[..len], &mut ports)? {
            return Ok(ports);
        }
    }
}

/// `nlmsghdr` then an empty `ifinfomsg`: every link, every family.
fn link_request() -> Vec<u8> {
    let flags = netlink_packet_core::NLM_F_REQUEST | netlink_packet_core::NLM_F_DUMP;
    let len = (16 + IFINFOMSG_LEN) as u32;
    let mut request = Vec::with_capacity(len as usize);
    request.extend_from_slice(&len.to_ne_bytes());
    request.extend_from_slice(&RTM_GETLINK.to_ne_bytes());
    request.extend_from_slice(&flags.to_ne_bytes());
    request.extend_from_slice(&[0; 8 + IFINFOMSG_LEN]);
    request
}

/// The tunnel ports in one datagram of the reply; whether the dump is complete.
fn links(mut datagram: &[u8], ports: &mut Vec<KernelPort>) -> io::Result<bool> {
    while !datagram.is_empty() {
        let message = NetlinkBuffer::new_checked(datagram).map_err(diag::invalid_data)?;
        let len = message.length() as usize;
        match message.message_type() {
            RTM_NEWLINK => ports.extend(tunnel_port(message.payload())),
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code = message.payload().get(..4).map(|b| [b[0], b[1], b[2], b[3]]);
                let code = code.map_or(0, i32::from_ne_bytes);
                return match code {
                    0 => Ok(true),
                    _ => Err(io::Error::from_raw_os_error(-code)),
                };
            }
            _ => {}
        }
        datagram = datagram.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(false)
}

/// A VXLAN or Geneve device's port from one RTM_NEWLINK payload; `None` for other links.
pub(super) fn tunnel_port(payload: &[u8]) -> Option<KernelPort> {
    let attributes = payload.get(IFINFOMSG_LEN..)?;
    let name = attribute(attributes, IFLA_IFNAME)?;
    let name = String::from_utf8_lossy(name.split(|&b| b == 0).next().unwrap_or(name));
    let info = attribute(attributes, IFLA_LINKINFO)?;
    let kind = attribute(info, IFLA_INFO_KIND)?;
    let kind = kind.split(|&b| b == 0).next().unwrap_or(kind);
    let (label, port_attribute, default_port) = match kind {
        b"vxlan" => ("VXLAN", IFLA_VXLAN_PORT, VXLAN_DEFAULT_PORT),
        b"geneve" => ("Geneve", IFLA_GENEVE_PORT, GENEVE_DEFAULT_PORT),
        _ => return None,
    };
    let data = attribute(info, IFLA_INFO_DATA).unwrap_or_default();
    // The port is in network byte order, the id in the host's.
    let port = attribute(data, port_attribute)
        .and_then(|b| Some(u16::from_be_bytes([*b.first()?, *b.get(1)?])))
        .unwrap_or(default_port);
    let id = attribute(data, IFLA_TUNNEL_ID)
        .and_then(|b| Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?)));
    let detail = id.map_or_else(|| label.to_owned(), |id| format!("{label} id {id}"));
    let holder = KernelHolder {
        kind: label.to_lowercase(),
        device: name.into_owned(),
        detail,
    };
    Some(KernelPort {
        proto: Proto::Udp,
        port,
        holder,
    })
}

/// The payload of the first `kind` attribute in a run of `rtattr`s (nested flag masked off).
fn attribute(mut attributes: &[u8], kind: u16) -> Option<&[u8]> {
    while attributes.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let found = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
        let payload = attributes.get(4..len)?;
        if found == kind {
            return Some(payload);
        }
        attributes = attributes.get(len.next_multiple_of(4)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured() -> Vec<u8> {
        let hex = include_str!("testdata/rtm_newlink_vxlan.hex").trim();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// An `rtattr` around `payload`, padded.
    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(4 + payload.len()).unwrap();
        let mut out = [&len.to_ne_bytes()[..], &kind.to_ne_bytes(), payload].concat();
        out.resize(out.len().next_multiple_of(4), 0);
        out
    }

    #[test]
    fn a_captured_vxlan_link_gives_its_device_id_and_port() {
        // `ip link add vx0 type vxlan id 42 dstport 4789 local 127.0.0.1`, as the kernel sent it.
        let port = tunnel_port(&captured()).unwrap();
        assert_eq!((port.proto, port.port), (Proto::Udp, 4789));
        assert_eq!(port.holder.label(), "kernel (vx0: VXLAN id 42)");
        assert_eq!(port.holder.kind, "vxlan");
    }

    #[test]
    fn a_geneve_link_and_a_port_in_network_order() {
        let data = [
            attr(IFLA_TUNNEL_ID, &7u32.to_ne_bytes()),
            attr(5, &[0x17, 0xc1]),
        ]
        .concat();
        let info = [
            attr(IFLA_INFO_KIND, b"geneve\0"),
            attr(IFLA_INFO_DATA, &data),
        ]
        .concat();
        let payload = [
            vec![0; IFINFOMSG_LEN],
            attr(IFLA_IFNAME, b"gn0\0"),
            attr(IFLA_LINKINFO | 0x8000, &info),
        ]
        .concat();
        let port = tunnel_port(&payload).unwrap();
        assert_eq!(port.port, 6081);
        assert_eq!(port.holder.label(), "kernel (gn0: Geneve id 7)");
    }

    #[test]
    fn other_links_and_broken_attributes_give_nothing() {
        let info = attr(IFLA_INFO_KIND, b"veth\0");
        let veth = [vec![0; 16], attr(3, b"v0\0"), attr(IFLA_LINKINFO, &info)].concat();
        assert_eq!(tunnel_port(&veth), None);
        let mut truncated = captured();
        truncated.truncate(40);
        assert_eq!(tunnel_port(&truncated), None);
        assert_eq!(tunnel_port(&[]), None);
    }

    #[test]
    fn nfsd_portlist_lines() {
        let ports = nfsd_ports("udp 2049\ntcp 2049\nrdma 20049\n");
        let got: Vec<_> = ports.iter().map(|p| (p.proto, p.port)).collect();
        assert_eq!(got, [(Proto::Udp, 2049), (Proto::Tcp, 2049)]);
        assert_eq!(ports[0].holder.label(), "kernel (nfsd)");
    }

    #[test]
    fn only_an_unconnected_wildcard_socket_on_the_port_is_the_kernels() {
        let vxlan = tunnel_port(&captured()).unwrap();
        let netns = Arc::new(Netns::host(1));
        let udp = |local: &str, remote: Option<&str>| {
            let inet = InetSocket {
                proto: Proto::Udp,
                local: local.parse().unwrap(),
                remote: remote.map(|r| r.parse().unwrap()),
                state: Some(State::Unconn),
                interface: None,
            };
            SocketEntry::new(Endpoint::Inet(inet), Arc::clone(&netns))
        };
        let ports = std::slice::from_ref(&vxlan);
        assert!(held_by(&udp("0.0.0.0:4789", None), ports).is_some());
        assert!(held_by(&udp("[::]:4789", None), ports).is_some());
        assert!(held_by(&udp("127.0.0.1:4789", None), ports).is_none());
        assert!(held_by(&udp("0.0.0.0:4790", None), ports).is_none());
        let connected = udp("0.0.0.0:4789", Some("10.0.0.1:4789"));
        assert!(held_by(&connected, ports).is_none());
    }

    #[test]
    fn this_namespace_dumps_its_links() {
        // lo is no tunnel: the dump runs and finds none of it.
        let ports = tunnel_ports().unwrap();
        assert!(ports.iter().all(|p| p.holder.device != "lo"));
    }
}
