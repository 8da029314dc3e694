//! The evaluator's tests: hand-built rulesets for each rule of the semantics, then the real
//! dumps in tests/fixtures/firewall with the verdicts their README gives.

mod build;
mod conntrack;
mod fixtures;
mod indexes;
mod nat_family;
mod nat_sources;
mod properties;
mod semantics;
mod sources;
