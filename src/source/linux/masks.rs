//! A `Query` in the kernel's terms: which dump requests (family, protocol, state mask, port)
//! it takes, and which Unix states.

use super::*;

/// The kernel's `TCP_*` states (include/net/tcp_states.h).
pub(super) const LISTEN: States = States::of(&[10]);

pub(super) const CLOSE: States = States::of(&[7]);

pub(super) const ESTABLISHED: States = States::of(&[1]);

/// Every state but `TCP_BOUND_INACTIVE`, 1 through 12 (12 is `TCP_NEW_SYN_RECV`).
pub(super) const ALL_TCP: States = States::of(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/// Asks for TCP sockets bound to a port but neither listening nor connected
/// (`TCPF_BOUND_INACTIVE`, what `ss -B` asks for). They come back in state `TCP_CLOSE`.
/// Kernels without it ignore the bit, and such sockets are then not listed (docs/platforms.md).
pub(super) const BOUND_INACTIVE: States = States::of(&[13]);

/// Asking for TCP sockets bound without listening walks the machine-wide bind table, once per
/// namespace: at 50 namespaces that doubles the cost of `-N`. So in other namespaces they are
/// asked for only when they are the question: `-l`, `--state bound`, or a port.
pub(super) fn without_bound_unless_asked(query: &Query) -> Query {
    let asked =
        query.listening_only || query.port.is_some() || query.states.contains(&State::Bound);
    if asked || !query.states.is_empty() {
        return query.clone();
    }
    let states = State::ALL
        .into_iter()
        .filter(|&s| s != State::Bound && s != State::Unknown);
    Query {
        states: states.collect(),
        ..query.clone()
    }
}

/// One dump request per family and protocol the query leaves, narrowed in the kernel.
#[derive(Debug, PartialEq)]
pub(super) struct Request {
    pub(super) family: u8,
    pub(super) protocol: u8,
    pub(super) states: States,
    pub(super) port: Option<u16>,
    /// Ask for TCP internals too (`--tcp-info`, `-w`).
    pub(super) tcp_info: bool,
}

/// The kernel states of the Unix sockets to dump: listeners for `-l`, the `--state` list.
pub(super) fn unix_states(query: &Query) -> States {
    let listen = LISTEN;
    let all = States::of(&[1, 2, 7, 10]);
    let wanted = if query.states.is_empty() {
        all
    } else {
        query
            .states
            .iter()
            .map(|&state| state_flag(Proto::Tcp, state) | state_flag(Proto::Udp, state))
            .collect()
    };
    if query.listening_only {
        wanted & listen
    } else {
        wanted
    }
}

pub(super) fn requests(query: &Query) -> Vec<Request> {
    if !query.inet {
        return Vec::new();
    }
    let families = [(Family::Ipv4, AF_INET), (Family::Ipv6, AF_INET6)];
    let protos = [(Proto::Tcp, IPPROTO_TCP), (Proto::Udp, IPPROTO_UDP)];
    let mut requests = Vec::new();
    for (family, family_number) in families {
        for (proto, protocol) in protos {
            // IPv4 peers of dual-stack IPv6 sockets (`::ffff:a.b.c.d`) come in the AF_INET6 dump
            // and count as IPv4, so `-4` needs that dump too.
            let family_wanted = query.families.is_empty()
                || query.families.contains(&family)
                || (family == Family::Ipv6 && query.families.contains(&Family::Ipv4));
            let wanted =
                family_wanted && (query.protos.is_empty() || query.protos.contains(&proto));
            if let Some(states) = wanted.then(|| state_mask(proto, query)).flatten() {
                requests.push(Request {
                    family: family_number,
                    protocol,
                    states,
                    port: query.port,
                    tcp_info: query.tcp_info,
                });
            }
        }
    }
    requests
}

/// The kernel states to dump; `None` when the filter can match no socket of `proto`.
pub(super) fn state_mask(proto: Proto, query: &Query) -> Option<States> {
    let mut mask = if query.states.is_empty() || query.states.contains(&State::Unknown) {
        all_states(proto)
    } else {
        query
            .states
            .iter()
            .map(|&state| state_flag(proto, state))
            .collect()
    };
    if query.listening_only {
        mask = mask
            & match proto {
                Proto::Tcp => LISTEN | BOUND_INACTIVE,
                // An unconnected UDP socket is in state CLOSE.
                Proto::Udp => CLOSE,
            };
    }
    (!mask.is_empty()).then_some(mask)
}

pub(super) fn all_states(proto: Proto) -> States {
    match proto {
        Proto::Tcp => ALL_TCP | BOUND_INACTIVE,
        Proto::Udp => ESTABLISHED | CLOSE,
    }
}

/// The kernel flag that selects `state` for `proto`; empty when `proto` has no such state.
pub(super) fn state_flag(proto: Proto, state: State) -> States {
    let number = match (proto, state) {
        (Proto::Udp, State::Established) => 1,
        (Proto::Udp, State::Unconn) => 7,
        (Proto::Udp, _) | (Proto::Tcp, State::Unconn) => return States(0),
        (Proto::Tcp, State::Unknown) => return all_states(Proto::Tcp),
        (Proto::Tcp, State::Bound) => 13,
        (Proto::Tcp, State::Established) => 1,
        (Proto::Tcp, State::SynSent) => 2,
        (Proto::Tcp, State::SynRecv) => return States::of(&[3, 12]),
        (Proto::Tcp, State::FinWait1) => 4,
        (Proto::Tcp, State::FinWait2) => 5,
        (Proto::Tcp, State::TimeWait) => 6,
        (Proto::Tcp, State::Close) => 7,
        (Proto::Tcp, State::CloseWait) => 8,
        (Proto::Tcp, State::LastAck) => 9,
        (Proto::Tcp, State::Listen) => 10,
        (Proto::Tcp, State::Closing) => 11,
    };
    States::of(&[number])
}
