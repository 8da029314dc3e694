//! `ports why`'s facts from the OS: the namespace's bind limits, and a probe bind, each in the
//! namespace asked about (a thread enters it; ours is read directly).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::*;
use crate::source::limits::{self, BindLimits, Probe};

/// Runs `look` in the namespace `scope` names: here for our own, else on a thread that enters it.
fn in_namespace<T: Send>(scope: &NetnsScope, look: impl FnOnce() -> T + Send) -> Result<T, String> {
    let NetnsScope::One(selector) = scope else {
        return Ok(look());
    };
    let ns = netns::find(selector)?;
    if ns.netns.inode == own_netns_inode() {
        return Ok(look());
    }
    thread::scope(|scope| {
        let entered = scope.spawn(|| {
            netns::enter(&ns).map_err(|e| format!("cannot enter '{selector}': {e}"))?;
            Ok(look())
        });
        entered
            .join()
            .unwrap_or_else(|_| Err("the namespace's thread panicked".into()))
    })
}

/// The sysctls of the namespace (read from inside it: /proc/sys/net shows the reader's), and
/// what the user asking may do.
pub(in crate::source) fn bind_limits(scope: &NetnsScope) -> Result<BindLimits, String> {
    let uid = rustix::process::geteuid().as_raw();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let privileged = limits::can_bind_privileged(&status);
    let mut found = in_namespace(scope, || {
        let read = |name: &str| std::fs::read_to_string(format!("/proc/sys/net/{name}")).ok();
        limits::from_files(read, uid)
    })?;
    found.may_bind_privileged = privileged;
    Ok(found)
}

/// Binds a fresh socket as `probe` says (and for TCP without SO_REUSEPORT, listens), then
/// closes it at once: no connection is made, nothing is left in TIME-WAIT. The kernel's error
/// if it refuses.
pub(in crate::source) fn probe_bind(
    scope: &NetnsScope,
    probe: &Probe,
) -> Result<io::Result<()>, String> {
    in_namespace(scope, || probe_here(probe))
}

fn probe_here(probe: &Probe) -> io::Result<()> {
    let (domain, kind) = match (probe.address, probe.proto) {
        (SocketAddr::V4(_), Proto::Tcp) => (libc::AF_INET, libc::SOCK_STREAM),
        (SocketAddr::V4(_), Proto::Udp) => (libc::AF_INET, libc::SOCK_DGRAM),
        (SocketAddr::V6(_), Proto::Tcp) => (libc::AF_INET6, libc::SOCK_STREAM),
        (SocketAddr::V6(_), Proto::Udp) => (libc::AF_INET6, libc::SOCK_DGRAM),
    };
    // SAFETY: socket(2) with constant arguments; a non-negative result is a new fd we own.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let fd = socket.as_raw_fd();
    set(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, probe.reuseaddr)?;
    set(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, probe.reuseport)?;
    if probe.address.is_ipv6() {
        set(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, probe.v6only)?;
    }
    bind(fd, probe.address)?;
    // Listening in a SO_REUSEPORT group could take a client's connection: bind alone there.
    if probe.proto == Proto::Tcp && !probe.reuseport {
        // SAFETY: listen(2) on the fd we own.
        if unsafe { libc::listen(fd, 1) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set(fd: i32, level: i32, option: i32, on: bool) -> io::Result<()> {
    let value: libc::c_int = on.into();
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a c_int option from a live local, its size given.
    let done = unsafe { libc::setsockopt(fd, level, option, (&raw const value).cast(), len) };
    if done != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn bind(fd: i32, address: SocketAddr) -> io::Result<()> {
    // SAFETY: zeroed sockaddr_storage is a valid value; we fill the family's fields.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: storage holds a sockaddr of `len` bytes for the fd's family.
    let done = unsafe { libc::bind(fd, (&raw const storage).cast(), len as libc::socklen_t) };
    if done != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(address: SocketAddr) -> Probe {
        Probe {
            proto: Proto::Tcp,
            address,
            reuseaddr: false,
            reuseport: false,
            v6only: false,
        }
    }

    #[test]
    fn a_probe_fails_where_a_listener_is_and_holds_nothing_after() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = listener.local_addr().unwrap();
        let error = probe_bind(&NetnsScope::Own, &probe(taken))
            .unwrap()
            .unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EADDRINUSE));
        drop(listener);
        probe_bind(&NetnsScope::Own, &probe(taken))
            .unwrap()
            .unwrap();
        // The probe closed its socket: the port can be bound again at once.
        std::net::TcpListener::bind(taken).unwrap();
    }

    #[test]
    fn our_namespace_has_limits() {
        let limits = bind_limits(&NetnsScope::Own).unwrap();
        assert!(limits.unprivileged_port_start <= 1024);
        assert!(limits.ephemeral.is_some());
    }
}
