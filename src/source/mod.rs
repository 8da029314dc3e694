//! Where sockets come from: the `SocketSource` trait, the real system source and a fake for tests.

mod fake;
#[cfg(any(not(target_os = "linux"), test))]
mod netstat2_map;
mod system;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as os;

pub use fake::FakeSource;
pub use system::SystemSource;

use crate::filter::Filter;
use crate::model::SocketEntry;

/// Why sockets could not be listed at all. Missing permissions are not an error: those owners
/// are marked hidden and the listing goes on.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Every way of listing failed; the message names each cause.
    #[error("{0}")]
    Backend(String),
}

/// Something that lists sockets with their owners.
pub trait SocketSource {
    /// Lists sockets. `hint` says what the caller will keep: a source may skip work with it,
    /// but the caller filters again, so returning more is always correct.
    fn sockets(&self, hint: &Filter) -> Result<Vec<SocketEntry>, SourceError>;
}

/// One line for stderr telling how to see owners hidden by permissions, worded for this OS.
pub fn hidden_owners_hint(hidden: usize) -> String {
    os::hidden_owners_hint(hidden)
}
