//! # bridge — the native process beside Spin
//!
//! What a Wasm component cannot do on stock Spin lives here: the gRPC services other services call
//! (`proto/`), database migrations, the development key pair the local run command needs, and the demo
//! catalog it loads.
//!
//! ## Layout
//! - [`server`]: the tonic server (gRPC + gRPC-Web, health, reflection) and its lifecycle.
//! - [`auth`]: the service token every call but health must carry.
//! - [`catalog`], [`users`]: `ProductService` and `UserService`, through the owning components' store code
//!   and the `reservations` crate; [`outbox`]: `OutboxService`, which wakes the relay.
//! - [`sweeper`]: releases held reservations whose order never appeared.
//! - [`health`]: the health status that follows database reachability.
//! - [`metrics`]: Prometheus metrics and their HTTP port.
//! - [`relay`]: the outbox relay, `orders.outbox` → Kafka; [`kafka`]: broker settings and topics;
//!   [`retention`]: deletes published outbox rows after their retention.
//! - [`consumer`]: the analytics consumer, Kafka → the analytics component's ingest route.
//! - [`db`]: the connection pool and the bound on every database call.
//! - [`migrate`]: applies `migrations/` (embedded at build time) with refinery.
//! - [`keys`]: development signing keys for local runs.

//! - `main.rs`: the command line (`bridge serve`, `bridge migrate`, `bridge keygen`, and `bridge seed-demo` and
//!   `bridge promote-admin`, which call the products and users stores).

pub mod auth;
pub mod catalog;
pub mod consumer;
pub mod db;
pub mod health;
pub mod kafka;
pub mod keys;
pub mod metrics;
pub mod migrate;
pub mod outbox;
pub mod relay;
pub mod retention;
pub mod server;
pub mod sweeper;
pub mod users;
