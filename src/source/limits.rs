//! What the kernel's bind rules read besides the sockets, for `ports why`: which ports need
//! privilege, the ephemeral range, the reserved ports, IPv6's default for IPV6_V6ONLY, and
//! whether the user asking may bind a privileged port. Parsed here; read by the OS layer.

use std::net::SocketAddr;

use crate::model::Proto;

/// The limits of one network namespace (the sysctls are per namespace), for the user asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindLimits {
    /// `net.ipv4.ip_unprivileged_port_start`: ports below it need CAP_NET_BIND_SERVICE.
    pub unprivileged_port_start: u16,
    /// `net.ipv4.ip_local_port_range`: where the kernel picks clients' ports.
    pub ephemeral: Option<(u16, u16)>,
    /// `net.ipv4.ip_local_reserved_ports`: kept out of that pick.
    pub reserved: Vec<(u16, u16)>,
    /// `net.ipv6.bindv6only`: a new `[::]` socket's IPV6_V6ONLY unless it sets it.
    pub bindv6only: bool,
    /// The effective uid asking (SO_REUSEPORT groups are per user).
    pub uid: u32,
    /// Holds CAP_NET_BIND_SERVICE (root does).
    pub may_bind_privileged: bool,
}

impl Default for BindLimits {
    /// The kernel's defaults, for an unprivileged user.
    fn default() -> BindLimits {
        BindLimits {
            unprivileged_port_start: 1024,
            ephemeral: Some((32768, 60999)),
            reserved: Vec::new(),
            bindv6only: false,
            uid: u32::MAX,
            may_bind_privileged: false,
        }
    }
}

/// A real bind the kernel is asked to judge: made, then closed at once (never connected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub proto: Proto,
    pub address: SocketAddr,
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// For an IPv6 address: IPV6_V6ONLY.
    pub v6only: bool,
}

/// `32768\t60999`.
pub fn parse_range(text: &str) -> Option<(u16, u16)> {
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) if low <= high => Some((low, high)),
        _ => None,
    }
}

/// `8080,9000-9010`; empty when none.
pub fn parse_reserved(text: &str) -> Vec<(u16, u16)> {
    let range = |part: &str| {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        Some((low.trim().parse().ok()?, high.trim().parse().ok()?))
    };
    text.trim().split(',').filter_map(range).collect()
}

/// Whether `CapEff` in /proc/self/status holds CAP_NET_BIND_SERVICE (bit 10).
pub fn can_bind_privileged(status: &str) -> bool {
    const CAP_NET_BIND_SERVICE: u32 = 10;
    let effective = status.lines().find_map(|l| l.strip_prefix("CapEff:"));
    effective
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_NET_BIND_SERVICE) != 0)
}

/// The limits from the files' text, read by `read(name)` (`None` where one is missing: the
/// kernel's default stands).
pub fn from_files(read: impl Fn(&str) -> Option<String>, uid: u32) -> BindLimits {
    let default = BindLimits::default();
    let number = |name: &str| read(name).and_then(|t| t.trim().parse::<u32>().ok());
    BindLimits {
        unprivileged_port_start: number("ipv4/ip_unprivileged_port_start")
            .map_or(default.unprivileged_port_start, |n| n.min(65535) as u16),
        ephemeral: read("ipv4/ip_local_port_range").and_then(|t| parse_range(&t)),
        reserved: read("ipv4/ip_local_reserved_ports")
            .map_or_else(Vec::new, |t| parse_reserved(&t)),
        bindv6only: number("ipv6/bindv6only").is_some_and(|n| n != 0),
        uid,
        may_bind_privileged: uid == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sysctls_as_the_kernel_writes_them() {
        assert_eq!(parse_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_range("9 3"), None);
        assert_eq!(
            parse_reserved("8080,9000-9010\n"),
            [(8080, 8080), (9000, 9010)]
        );
        assert_eq!(parse_reserved("\n"), []);
    }

    #[test]
    fn the_capability_is_bit_ten_of_capeff() {
        assert!(can_bind_privileged(
            "CapInh:\t0\nCapEff:\t0000000000000400\n"
        ));
        assert!(!can_bind_privileged("CapEff:\t0000000000000000\n"));
        assert!(!can_bind_privileged(""));
    }

    #[test]
    fn missing_files_leave_the_kernels_defaults() {
        let limits = from_files(|_| None, 1000);
        assert_eq!(limits.unprivileged_port_start, 1024);
        assert_eq!(limits.ephemeral, None);
        let limits = from_files(|n| (n.ends_with("start")).then(|| "80\n".into()), 0);
        assert_eq!(limits.unprivileged_port_start, 80);
        assert!(limits.may_bind_privileged);
    }
}
