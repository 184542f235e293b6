//! # kit — the shared library of the Py-Commerce components
//!
//! Every component is plain Rust over the `http` crate types, so it runs natively (tests, `devhost`) and as a
//! Spin component (`wasm32-wasip2`). Everything that touches the outside world goes through a port defined
//! here, and each port keeps its two backends side by side: `spin.rs` (wasm32, `spin_sdk`) and `native.rs`
//! (tokio-postgres, redis, in-process chaining).
//!
//! ## Layout
//! - [`problem`]: RFC 9457 `application/problem+json` errors — the only error shape a client ever sees.
//! - [`http`]: request/response aliases, JSON body and query extraction (every malformed input is a 4xx),
//!   header names shared by the gateway and the services.
//! - [`router`]: a small method + path router with `{param}` segments.
//! - [`page`]: paging shared by every listing (`Limit`, opaque `Cursor`, `Page`).
//! - [`component`]: the [`Component`] trait both hosts serve, and the route-dispatch loop.
//! - [`config`]: settings lookup — Spin variables on wasm32, devhost-resolved values or
//!   `SPIN_VARIABLE_<NAME>` natively.
//! - [`jwt`]: access-token verification (EdDSA only, `kid`, `iss`/`aud`/`exp`/`iat`/`sub`/`typ`) and key ids.
//! - [`identity`]: the verified caller identity the gateway forwards to the private services.
//! - [`client_addr`]: the client address from the runtime or trusted proxies, never from the client.
//! - [`db`], [`cache`], [`upstream`]: the Postgres, Redis and service-chaining ports.
//! - [`kv`]: the key-value port — Spin key-value stores, whose connections outlive a request (hot reads).
//! - [`limit`]: rate limits on the cache port (atomic fixed windows) and the password-guessing policy.
//! - `bridge` (native): the Bridge port — the bridge's gRPC services through a tonic client. On Spin the
//!   same operations are the `pycommerce:bridge` WIT imports, satisfied by `components/bridge-client`.
//! - [`health`]: the `/health` report shape shared by every service.
//! - [`log`]: structured JSON logs.
//! - [`spin_component!`]: the Spin entry point macro.
//! - [`spin_host`] (wasm32 only): what the thin Spin entry points share.
//! - [`Ctx`]: what a component is built from (variables, service chaining, key-value stores).

#[cfg(any(not(target_arch = "wasm32"), feature = "bridge"))]
pub mod bridge;
pub mod cache;
pub mod client_addr;
pub mod component;
pub mod config;
pub mod db;
pub mod health;
pub mod http;
pub mod identity;
pub mod jwt;
pub mod kv;
pub mod limit;
pub mod log;
pub mod page;
pub mod problem;
pub mod router;
mod spin_entry_macro;
#[cfg(target_arch = "wasm32")]
pub mod spin_host;
pub mod upstream;

pub use crate::http::{Request, Response};
pub use component::Component;
pub use config::Config;
pub use upstream::Upstream;

/// What a component is built from, on either host: its variables, a way to call other components and the
/// key-value stores it may open.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The component's variables.
    pub config: Config,
    /// Service chaining to the other components.
    pub upstream: Upstream,
    /// The key-value stores granted to the component (`key_value_stores`).
    pub key_value: kv::KeyValue,
}
pub use problem::{FieldError, Fields, Problem};
/// Re-exported for [`spin_component!`].
pub use tracing;
