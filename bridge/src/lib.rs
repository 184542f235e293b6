//! # bridge — the native process beside Spin
//!
//! What a Wasm component cannot do on stock Spin lives here. So far: applying the database migrations.
//!
//! ## Layout
//! - [`migrate`]: applies `migrations/` (embedded at build time) with refinery.
//! - `main.rs`: the command line (`bridge migrate`).

pub mod migrate;
