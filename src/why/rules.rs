//! The kernel's bind rules over facts: whether a new socket bound to an address and port
//! conflicts with each socket already on that port (inet_csk_bind_conflict for TCP,
//! udp_lib_lport_inuse for UDP), and whether the port needs privilege. Pure: the facts come in.

use std::net::{IpAddr, SocketAddr};

use crate::model::{Proto, SocketEntry, State};
use crate::source::limits::BindLimits;

/// One bind a new server would make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bind {
    pub proto: Proto,
    pub address: SocketAddr,
    pub reuseaddr: bool,
    pub reuseport: bool,
    /// IPV6_V6ONLY, for an IPv6 address.
    pub v6only: bool,
}

/// Why a bind would fail, or what its success depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// The port is below `ip_unprivileged_port_start` and the user lacks CAP_NET_BIND_SERVICE.
    Privileged { start: u16 },
    /// A socket on the port whose address overlaps ours, and no reuse option lets them share.
    InUse {
        /// Index of the socket in the facts.
        socket: usize,
        overlap: Overlap,
        sharing: Sharing,
    },
    /// A NAT rule sends the port's traffic elsewhere: the bind succeeds, its clients may not
    /// reach it (the firewall's DNAT forwards, wired by the caller).
    Forwarded { claim: NatClaim },
}

/// How two addresses on one port overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The same address.
    Same,
    /// Ours is a wildcard that covers its address.
    OursCovers,
    /// Its address is a wildcard that covers ours.
    ItCovers,
    /// It is `[::]` without IPV6_V6ONLY: it holds the IPv4 port too.
    ItIsDualStack,
    /// Ours is `[::]` without IPV6_V6ONLY: it would hold the IPv4 port too.
    OursIsDualStack,
}

/// Whether a reuse option lets the two share the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Never, as asked: the bind fails.
    No,
    /// SO_REUSEPORT shares only among sockets of one user; it is another's.
    OtherUser,
    /// Yes if the socket in the way set SO_REUSEADDR, which the kernel does not report.
    IfItSetReuseaddr,
    /// Yes if the socket in the way set SO_REUSEPORT, which the kernel does not report.
    IfItSetReuseport,
}

/// A port a NAT rule claims (a DNAT to a container), which no socket shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatClaim {
    pub proto: Proto,
    pub port: u16,
    /// Where the rule sends it (`172.17.0.2:80`, a container's name).
    pub to: String,
    /// The rule is in an IPv6 table: IPv4 clients do not meet it, nor IPv6 ones an IPv4 rule.
    pub ipv6: bool,
}

/// What one bind meets: its certain refusals first, then what it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub bind: Bind,
    pub rules: Vec<Rule>,
}

impl Rule {
    /// Whether this rule alone makes the bind fail (as opposed to depend or merely warn).
    pub fn fails(&self) -> bool {
        match self {
            Rule::Privileged { .. } => true,
            Rule::InUse { sharing, .. } => matches!(sharing, Sharing::No | Sharing::OtherUser),
            Rule::Forwarded { .. } => false,
        }
    }

    pub fn depends(&self) -> bool {
        matches!(
            self,
            Rule::InUse {
                sharing: Sharing::IfItSetReuseaddr | Sharing::IfItSetReuseport,
                ..
            }
        )
    }
}

impl Judgement {
    /// The errno the bind gets: EACCES before any conflict is looked at, as inet_bind does.
    pub fn errno(&self) -> Option<&'static str> {
        if self
            .rules
            .iter()
            .any(|r| matches!(r, Rule::Privileged { .. }))
        {
            Some("EACCES")
        } else if self.rules.iter().any(Rule::fails) {
            Some("EADDRINUSE")
        } else {
            None
        }
    }

    /// Whether the outcome turns on a socket's options the kernel does not report.
    pub fn uncertain(&self) -> bool {
        self.errno().is_none() && self.rules.iter().any(Rule::depends)
    }
}

/// Judges `bind` against the sockets in its namespace, the limits, and the NAT claims.
pub fn judge(
    bind: Bind,
    sockets: &[SocketEntry],
    limits: &BindLimits,
    nat: &[NatClaim],
) -> Judgement {
    let port = bind.address.port();
    let mut rules = Vec::new();
    if port < limits.unprivileged_port_start && !limits.may_bind_privileged {
        rules.push(Rule::Privileged {
            start: limits.unprivileged_port_start,
        });
    }
    for (index, socket) in sockets.iter().enumerate() {
        if let Some((overlap, sharing)) = conflict(&bind, socket, limits.uid) {
            rules.push(Rule::InUse {
                socket: index,
                overlap,
                sharing,
            });
        }
    }
    rules.extend(forwarded(&bind, nat));
    // Certain refusals first, so the first reason is the errno's.
    rules.sort_by_key(|rule| (!matches!(rule, Rule::Privileged { .. }), !rule.fails()));
    Judgement { bind, rules }
}

/// The NAT claims on the bind's port: the hook for the firewall's DNAT forwards.
pub fn forwarded(bind: &Bind, nat: &[NatClaim]) -> Vec<Rule> {
    // A dual-stack `[::]` socket serves IPv4 clients too.
    let family_met = |c: &NatClaim| match bind.address {
        SocketAddr::V4(_) => !c.ipv6,
        SocketAddr::V6(_) => c.ipv6 || !bind.v6only,
    };
    nat.iter()
        .filter(|c| c.proto == bind.proto && c.port == bind.address.port() && family_met(c))
        .map(|claim| Rule::Forwarded {
            claim: claim.clone(),
        })
        .collect()
}

/// Whether `socket` is in the way of `bind`: same protocol and local port, overlapping
/// addresses, and how reuse options bear on it.
fn conflict(bind: &Bind, socket: &SocketEntry, uid: u32) -> Option<(Overlap, Sharing)> {
    let inet = socket.inet()?;
    if inet.proto != bind.proto || inet.local.port() != bind.address.port() {
        return None;
    }
    let overlap = overlap(bind, inet.local.ip(), socket.v6only)?;
    Some((overlap, sharing(bind, socket, uid)))
}

/// How the addresses overlap, as inet_rcv_saddr_equal and ipv6_rcv_saddr_equal decide; an
/// IPv6 socket the model shows as IPv4 holds an IPv4-mapped address and counts as IPv4.
pub fn overlap(bind: &Bind, theirs: IpAddr, their_v6only: Option<bool>) -> Option<Overlap> {
    let ours = bind.address.ip();
    match (ours, theirs) {
        (IpAddr::V4(_), IpAddr::V6(_)) => (theirs.is_unspecified() && their_v6only != Some(true))
            .then_some(Overlap::ItIsDualStack),
        (IpAddr::V6(_), IpAddr::V4(_)) => {
            (ours.is_unspecified() && !bind.v6only).then_some(Overlap::OursIsDualStack)
        }
        _ if ours == theirs => Some(Overlap::Same),
        _ if ours.is_unspecified() => Some(Overlap::OursCovers),
        _ if theirs.is_unspecified() => Some(Overlap::ItCovers),
        _ => None,
    }
}

/// Whether reuse options let the two share the port: both SO_REUSEADDR and the other not
/// listening; or both SO_REUSEPORT and the same user (or the other in TIME-WAIT).
fn sharing(bind: &Bind, socket: &SocketEntry, uid: u32) -> Sharing {
    let state = socket.state();
    let listening = bind.proto == Proto::Tcp && state == Some(State::Listen);
    if bind.reuseaddr && !listening {
        return Sharing::IfItSetReuseaddr;
    }
    if !bind.reuseport {
        return Sharing::No;
    }
    let same_user = socket.uid == Some(uid) || state == Some(State::TimeWait);
    match same_user {
        true => Sharing::IfItSetReuseport,
        false => Sharing::OtherUser,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, InetSocket, Netns};
    use std::sync::Arc;

    fn socket(proto: Proto, local: &str, state: State, uid: u32) -> SocketEntry {
        let inet = InetSocket {
            proto,
            local: local.parse().unwrap(),
            remote: None,
            state: Some(state),
            interface: None,
        };
        SocketEntry {
            uid: Some(uid),
            inode: 7,
            ..SocketEntry::new(Endpoint::Inet(inet), Arc::new(Netns::host(1)))
        }
    }

    fn tcp(address: &str) -> Bind {
        Bind {
            proto: Proto::Tcp,
            address: address.parse().unwrap(),
            reuseaddr: false,
            reuseport: false,
            v6only: false,
        }
    }

    fn limits() -> BindLimits {
        BindLimits {
            uid: 1000,
            ..BindLimits::default()
        }
    }

    fn errno(bind: Bind, sockets: &[SocketEntry]) -> Option<&'static str> {
        judge(bind, sockets, &limits(), &[]).errno()
    }

    #[test]
    fn a_listener_on_one_address_blocks_that_address_and_the_wildcard_only() {
        let listener = [socket(Proto::Tcp, "127.0.0.1:8080", State::Listen, 1000)];
        assert_eq!(errno(tcp("127.0.0.1:8080"), &listener), Some("EADDRINUSE"));
        assert_eq!(errno(tcp("0.0.0.0:8080"), &listener), Some("EADDRINUSE"));
        assert_eq!(errno(tcp("127.0.0.2:8080"), &listener), None);
        assert_eq!(errno(tcp("127.0.0.1:8081"), &listener), None);
        let judged = judge(tcp("0.0.0.0:8080"), &listener, &limits(), &[]);
        assert!(matches!(
            judged.rules[0],
            Rule::InUse {
                overlap: Overlap::OursCovers,
                sharing: Sharing::No,
                ..
            }
        ));
    }

    #[test]
    fn dual_stack_unless_v6only() {
        let mut any6 = socket(Proto::Tcp, "[::]:8080", State::Listen, 1000);
        any6.v6only = Some(false);
        assert_eq!(
            errno(tcp("0.0.0.0:8080"), std::slice::from_ref(&any6)),
            Some("EADDRINUSE")
        );
        any6.v6only = Some(true);
        assert_eq!(errno(tcp("0.0.0.0:8080"), &[any6]), None);
        let any4 = [socket(Proto::Tcp, "0.0.0.0:8080", State::Listen, 1000)];
        assert_eq!(errno(tcp("[::]:8080"), &any4), Some("EADDRINUSE"));
        let v6only = Bind {
            v6only: true,
            ..tcp("[::]:8080")
        };
        assert_eq!(errno(v6only, &any4), None);
        assert_eq!(errno(tcp("[::1]:8080"), &any4), None);
    }

    #[test]
    fn time_wait_blocks_unless_both_set_reuseaddr() {
        let time_wait = [socket(Proto::Tcp, "127.0.0.1:8080", State::TimeWait, 0)];
        assert_eq!(errno(tcp("127.0.0.1:8080"), &time_wait), Some("EADDRINUSE"));
        let reuse = Bind {
            reuseaddr: true,
            ..tcp("127.0.0.1:8080")
        };
        let judged = judge(reuse, &time_wait, &limits(), &[]);
        assert!(judged.uncertain());
        assert!(matches!(
            judged.rules[0],
            Rule::InUse {
                sharing: Sharing::IfItSetReuseaddr,
                ..
            }
        ));
    }

    #[test]
    fn reuseaddr_never_shares_with_a_listener_and_reuseport_only_with_its_user() {
        let listener = [socket(Proto::Tcp, "127.0.0.1:8080", State::Listen, 1000)];
        let reuseaddr = Bind {
            reuseaddr: true,
            ..tcp("127.0.0.1:8080")
        };
        assert_eq!(errno(reuseaddr, &listener), Some("EADDRINUSE"));
        let reuseport = Bind {
            reuseport: true,
            ..tcp("127.0.0.1:8080")
        };
        assert!(judge(reuseport, &listener, &limits(), &[]).uncertain());
        let others = [socket(Proto::Tcp, "127.0.0.1:8080", State::Listen, 33)];
        assert_eq!(errno(reuseport, &others), Some("EADDRINUSE"));
    }

    #[test]
    fn udp_is_its_own_space_and_privilege_comes_first() {
        let udp = [socket(Proto::Udp, "0.0.0.0:53", State::Unconn, 0)];
        assert_eq!(errno(tcp("0.0.0.0:53"), &udp), Some("EACCES"));
        let root = BindLimits {
            may_bind_privileged: true,
            ..limits()
        };
        assert_eq!(judge(tcp("0.0.0.0:53"), &udp, &root, &[]).errno(), None);
        let udp_bind = Bind {
            proto: Proto::Udp,
            ..tcp("0.0.0.0:53")
        };
        let judged = judge(udp_bind, &udp, &limits(), &[]);
        assert_eq!(judged.errno(), Some("EACCES"));
        assert_eq!(judged.rules.len(), 2, "the conflict is named too");
    }

    #[test]
    fn a_nat_claim_warns_and_does_not_fail() {
        let claim = NatClaim {
            proto: Proto::Tcp,
            port: 8080,
            to: "172.17.0.2:80".into(),
            ipv6: false,
        };
        let judged = judge(
            tcp("0.0.0.0:8080"),
            &[],
            &limits(),
            std::slice::from_ref(&claim),
        );
        assert_eq!(judged.errno(), None);
        assert!(matches!(judged.rules[..], [Rule::Forwarded { .. }]));
        let v6only = Bind {
            v6only: true,
            ..tcp("[::]:8080")
        };
        let judged = judge(v6only, &[], &limits(), &[claim]);
        assert!(
            judged.rules.is_empty(),
            "an IPv4 rule does not meet IPv6 clients"
        );
    }
}
