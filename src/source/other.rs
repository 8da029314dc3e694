//! macOS and Windows: what the source asks of the OS, where netstat2 (portable.rs) is the only
//! way to list sockets. Built only there: never compiled here (docs/platforms.md).

use super::raw::RawSnapshot;
use super::{Query, SourceError};

#[cfg(windows)]
pub(super) const NOT_ROOT_HINT: &str =
    "they belong to other users; run from an Administrator prompt to see them";
#[cfg(not(windows))]
pub(super) const NOT_ROOT_HINT: &str = "they belong to other users; run with sudo to see them";

/// Only asked about namespaces, which netstat2's platforms do not list.
pub(super) fn runs_as_root() -> bool {
    false
}

/// netstat2 gives pids without start times.
pub(super) const KNOWS_START_TIMES: bool = false;

/// netstat2 knows nothing of network namespaces.
pub(super) const SEES_NAMESPACES: bool = false;

/// netstat2 gives no start times: owners are not checked against a reused pid.
pub(super) fn start_ticks(_pid: u32) -> Option<u64> {
    None
}

/// Signals need a process's start time to prove it is the one seen: not here yet.
pub(super) fn signal_if_same(_pid: u32, _start: u64, _signal: i32) -> Result<(), i32> {
    Err(38) // ENOSYS
}

/// Container and unit names come from Linux's cgroups and runtimes' files: none here.
#[derive(Debug, Default)]
pub(super) struct ContainerFiles;

impl ContainerFiles {
    pub(super) fn here() -> ContainerFiles {
        ContainerFiles
    }
}

/// Where a process runs: not known here.
pub(super) fn place(_info: &mut crate::model::ProcessInfo, _files: &mut ContainerFiles) {}

/// netstat2 lists owners with the sockets: nothing to remember between snapshots.
#[derive(Debug, Default)]
pub(super) struct OwnerMemory;

/// netstat2 lists owners with the sockets: nothing to remember between snapshots.
pub(super) fn sockets_with_owners(
    query: &Query,
    _memory: Option<&mut OwnerMemory>,
) -> Result<RawSnapshot, SourceError> {
    super::portable::sockets_with_owners(query)
}

/// No container or namespace lookup here: a NAT rule's target is not named.
pub(super) fn address_holder(_to: std::net::SocketAddr, _netns: u64) -> super::AddressHolder {
    super::AddressHolder::Unknowable
}

/// The kernel's defaults: these platforms' limits are not read (`ports why` says so).
pub(super) fn bind_limits(_scope: &super::NetnsScope) -> Result<super::limits::BindLimits, String> {
    Ok(super::limits::BindLimits::default())
}

/// No probe here.
pub(super) fn probe_bind(
    _scope: &super::NetnsScope,
    _probe: &super::limits::Probe,
) -> Result<std::io::Result<()>, String> {
    Err("a probe bind is not built for this platform".into())
}
