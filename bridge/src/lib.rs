//! # bridge — the native process beside Spin
//!
//! What a Wasm component cannot do on stock Spin lives here. So far: applying the database migrations, and
//! the development key pair the local run command needs.
//!
//! ## Layout
//! - [`migrate`]: applies `migrations/` (embedded at build time) with refinery.
//! - [`keys`]: development signing keys for local runs.
//! - `main.rs`: the command line (`bridge migrate`, `bridge keygen`).

pub mod keys;
pub mod migrate;
