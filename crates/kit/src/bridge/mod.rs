//! The Bridge port: the bridge's catalog, accounts and events operations, with one API on both hosts.
//!
//! - natively ([`native`]): a tonic client of the bridge's gRPC services, with deadlines and retries of
//!   unavailable calls;
//! - on Spin (`spin.rs`, feature `bridge`): the `pycommerce:bridge` WIT imports, which Spin satisfies with
//!   the `bridge-client` component dependency (gRPC-Web to the same services).
//!
//! Both return the `proto/` messages of `bridge-proto` and its [`BridgeError`].

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

pub use bridge_proto::catalog::v1::{
    CheckStockResponse, Product, ReserveStockResponse, ReservedLine, StockLine, UnitsCap, UnitsCapExceeded,
};
pub use bridge_proto::users::v1::User;
pub use bridge_proto::BridgeError;
#[cfg(not(target_arch = "wasm32"))]
pub use native::Bridge;
#[cfg(target_arch = "wasm32")]
pub use spin::Bridge;
