//! A socket the kernel itself holds: no process has it open, because a tunnel device or a
//! kernel server (nfsd) opened it.

use serde::{Deserialize, Serialize};

/// The kernel's holder of a socket: what kind of thing opened it, which device (or service),
/// and what identifies it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelHolder {
    /// `vxlan`, `geneve`, `nfsd`.
    pub kind: String,
    /// The device (`vx0`), or the kernel service's name (`nfsd`).
    pub device: String,
    /// What tells it apart: `VXLAN id 42`; may be empty.
    pub detail: String,
}
