//! Integration tests: one binary, several modules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

mod agreement;
mod ansible;
mod backends;
mod bad_input;
mod churn;
mod context;
mod docker;
mod ecosystem;
mod end_to_end;
mod faults;
mod firewall;
mod firewall_docker;
mod firewall_seeded;
mod habits;
mod hostile;
mod kernel;
mod kill;
mod netns;
mod parity;
mod plumbing;
mod presenter;
mod privilege;
mod prometheus;
mod replay;
mod support;
mod tcp_info;
mod unix;
mod visibility;
mod wait;
mod watch;
mod why;
mod widths;
mod writes;
