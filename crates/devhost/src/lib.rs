//! # devhost — every component on one native HTTP port, routed like Spin
//!
//! A test and local-run tool, not a second production runtime. It reads `spin.toml` (never a copy of it),
//! resolves each component's variables the way Spin does (the runtime configuration's static providers,
//! then `SPIN_VARIABLE_<NAME>`, then application defaults, through component templates; a required variable
//! without a value stops it at start), serves the public routes, and lets components chain to each other in
//! process as `http://<id>.spin.internal` does on Spin. Private components are reachable only that way.
//!
//! ## Layout
//! - [`manifest`]: reading `spin.toml` — variables, HTTP triggers, component variable templates, key-value
//!   store labels.
//! - [`runtime_config`]: the key-value stores and static variables of Spin's runtime configuration file.
//! - [`components`]: the table from component id to its native handler.
//! - [`server`]: the HTTP listener, public routing and the in-process chaining dispatcher.

pub mod components;
pub mod manifest;
pub mod runtime_config;
pub mod server;

pub use runtime_config::RuntimeConfig;
pub use server::{start, Options, Running};
