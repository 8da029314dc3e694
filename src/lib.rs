//! `ports`: who holds this port? A local socket inspector.
//!
//! Layers, imported one way: `cli` -> `settings` -> `app` -> {`source`, `filter`, `sort`, `render`} -> `model`.

pub mod app;
pub mod cli;
pub mod filter;
pub mod model;
pub mod render;
pub mod sanitize;
pub mod settings;
pub mod sort;
pub mod source;
