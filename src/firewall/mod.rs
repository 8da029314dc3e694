//! Whether another host can reach a listener through this host's packet filter
//! (docs/firewall.md): the ruleset read into our own representation (`rules.rs`), then
//! evaluated as pure code, with no OS calls, for a new inbound connection.

pub mod eval;
mod forwards;
mod matches;
pub mod nft;
mod prepared;
pub mod read;
pub mod rules;
pub mod save;
mod sources;
mod walk;
mod words;

pub use eval::{Evaluator, Forward, Host, Interface, Probe, forwards, reach};

#[cfg(test)]
mod tests;
