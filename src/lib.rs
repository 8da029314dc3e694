//! `ports`: who holds this port? A local socket inspector.
//!
//! Layers, imported one way: `cli` -> `settings` -> `app` -> {`source`, `filter`, `sort`, `render`} -> `model`.
//! `main` picks the subcommand; `generate` turns `cli` into completions and a man page.

pub mod app;
pub mod atomic;
pub mod cli;
pub mod dispatch;
pub mod exit;
pub mod exposure;
pub mod filter;
pub mod firewall;
pub mod generate;
pub mod kill;
pub mod model;
pub mod os;
pub mod render;
pub mod sanitize;
pub mod services;
pub mod settings;
pub mod sort;
pub mod source;
pub mod summary;
pub mod usage;
pub mod wait;
pub mod watch;
pub mod why;
