//! The one vocabulary: how each fact is named wherever it is shown (table, card, watch, CSV,
//! metrics, `-s`). Lowercase names are the machine-readable ones (JSON, CSV, metrics labels,
//! `--state`); the table's state is ss's uppercase. Names from the OS are not escaped here:
//! each presenter escapes for its medium.

use std::borrow::Cow;

use super::{
    Container, Decider, Endpoint, Exposure, Family, KernelHolder, Proto, Reach, RuleRef,
    SocketEntry, State, UnixType,
};

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

impl State {
    /// As ss shows it in a table: `LISTEN`, `ESTABLISHED`, `TIME-WAIT`.
    pub fn label(self) -> &'static str {
        match self {
            State::Listen => "LISTEN",
            State::Bound => "BOUND",
            State::Unconn => "UNCONN",
            State::SynSent => "SYN-SENT",
            State::SynRecv => "SYN-RECV",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
            State::Close => "CLOSE",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl KernelHolder {
    /// As an owner is shown: `kernel (vx0: VXLAN id 42)`, or `kernel (nfsd)`.
    pub fn label(&self) -> String {
        match self.detail.is_empty() {
            true => format!("kernel ({})", self.device),
            false => format!("kernel ({}: {})", self.device, self.detail),
        }
    }
}

impl Exposure {
    pub fn name(self) -> &'static str {
        match self {
            Exposure::Loopback => "loopback",
            Exposure::All => "all",
            Exposure::Interface => "interface",
            Exposure::Address => "address",
        }
    }
}

impl Container {
    /// `docker:web`: the runtime, then the name or short id.
    pub fn label(&self) -> String {
        let runtime = format!("{:?}", self.runtime).to_lowercase();
        format!("{runtime}:{}", self.short_name())
    }

    /// The name, or the id's first 12 digits (as `docker ps` shows it) when it has none.
    pub fn short_name(&self) -> Cow<'_, str> {
        match &self.name {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(self.id.chars().take(12).collect()),
        }
    }
}

impl SocketEntry {
    /// As ss and the table name it: `tcp`, `tcp6`, `udp`, `udp6`, `u_str`, `u_dgr`, `u_seq`.
    pub fn kind(&self) -> &'static str {
        match (&self.endpoint, self.family()) {
            (Endpoint::Inet(inet), Some(Family::Ipv6)) if inet.proto == Proto::Tcp => "tcp6",
            (Endpoint::Inet(inet), _) if inet.proto == Proto::Tcp => "tcp",
            (Endpoint::Inet(_), Some(Family::Ipv6)) => "udp6",
            (Endpoint::Inet(_), _) => "udp",
            (Endpoint::Unix(unix), _) => match unix.kind {
                UnixType::Stream => "u_str",
                UnixType::Dgram => "u_dgr",
                UnixType::Seqpacket => "u_seq",
            },
        }
    }

    /// `tcp`, `udp` or `unix`, as JSON and CSV name the protocol.
    pub fn proto_name(&self) -> &'static str {
        self.proto().map_or("unix", Proto::name)
    }

    /// `ipv4`, `ipv6` or `unix`, as JSON and CSV name the family.
    pub fn family_name(&self) -> &'static str {
        self.family().map_or("unix", Family::name)
    }

    /// A Unix socket's path or `@name` (as ss writes it); `None` when unbound or not Unix.
    pub fn unix_label(&self) -> Option<Cow<'_, str>> {
        match &self.unix()?.name {
            super::UnixName::Unnamed => None,
            name => Some(Cow::Owned(name.to_string())),
        }
    }
}

impl Reach {
    /// The FIREWALL cell: one word (or two) per kind of answer.
    pub fn name(&self) -> &'static str {
        match self {
            Reach::LocalOnly => "-",
            Reach::NotRead => "?",
            Reach::Open { .. } => "open",
            Reach::Dropped { .. } => "dropped",
            Reach::Rejected { .. } => "rejected",
            Reach::SomeSources { .. } => "some sources",
            Reach::Forwarded { .. } => "forwarded",
            Reach::Unknown { .. } => "unknown",
        }
    }

    /// The whole answer, for the card and `-w`: what decided, and what was assumed.
    pub fn describe(&self) -> String {
        let (said, assumed) = match self {
            Reach::LocalOnly => ("loopback only".to_owned(), &[][..]),
            Reach::NotRead => ("not read".to_owned(), &[][..]),
            Reach::Open { assumed } => ("open".to_owned(), &assumed[..]),
            Reach::Dropped { by } => (format!("dropped by {}", by.describe()), &[][..]),
            Reach::Rejected { by } => (format!("rejected by {}", by.describe()), &[][..]),
            Reach::SomeSources { pass, assumed } => {
                let pass: Vec<String> = pass.iter().map(ToString::to_string).collect();
                (format!("open from {} only", pass.join(", ")), &assumed[..])
            }
            Reach::Forwarded {
                to,
                target,
                assumed,
            } => (forwarded_to(to, target.as_deref()), &assumed[..]),
            Reach::Unknown { construct } => (format!("unknown: {construct}"), &[][..]),
        };
        match assumed {
            [] => said,
            _ => format!("{said} (assuming {} lets it through)", assumed.join(", ")),
        }
    }

    /// Whether another host can (or, unknown, might) connect: `--exposed --firewall` keeps it.
    pub fn may_reach(&self) -> bool {
        !matches!(
            self,
            Reach::LocalOnly | Reach::Dropped { .. } | Reach::Rejected { .. }
        )
    }
}

fn forwarded_to(to: &std::net::SocketAddr, target: Option<&str>) -> String {
    match target {
        Some(target) => format!("forwarded to {to} ({target})"),
        None => format!("forwarded to {to}"),
    }
}

impl Decider {
    /// `inet filter input rule 12` (nft's handle), `ip filter INPUT rule #3` (iptables'
    /// position), or `... policy`.
    pub fn describe(&self) -> String {
        let Decider {
            family,
            table,
            chain,
            rule,
        } = self;
        match rule {
            RuleRef::Handle(handle) => format!("{family} {table} {chain} rule handle {handle}"),
            RuleRef::Position(at) => format!("{family} {table} {chain} rule #{at}"),
            RuleRef::Policy => format!("{family} {table} {chain} policy"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::source::FakeSource;

    #[test]
    fn each_kind_is_named_as_ss_names_it() {
        let sample = FakeSource::sample().entries;
        let kinds: Vec<&str> = sample.iter().map(|e| e.kind()).collect();
        assert!(kinds.contains(&"tcp") && kinds.contains(&"tcp6") && kinds.contains(&"udp"));
        let v6 = sample.iter().find(|e| e.kind() == "tcp6").unwrap();
        assert_eq!((v6.proto_name(), v6.family_name()), ("tcp", "ipv6"));
    }
}
