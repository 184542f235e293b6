//! # bridge — the native process beside Spin
//!
//! What a Wasm component cannot do on stock Spin lives here. So far: applying the database migrations, the
//! development key pair the local run command needs, and the demo catalog it loads.
//!
//! ## Layout
//! - [`migrate`]: applies `migrations/` (embedded at build time) with refinery.
//! - [`keys`]: development signing keys for local runs.
//! - [`seed`]: the demo catalog for local runs.
//! - `main.rs`: the command line (`bridge migrate`, `bridge seed-demo`, `bridge keygen`).

pub mod keys;
pub mod migrate;
pub mod seed;
