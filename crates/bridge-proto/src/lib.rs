//! # bridge-proto — the bridge's contract in Rust
//!
//! `proto/` is the only API contract of the bridge. This crate compiles it (build script, protox) and holds
//! what both of the bridge's clients share, so the Wasm side stays a thin transport:
//! - the native client (kit's `Bridge` port, tonic over HTTP/2), and
//! - the Wasm client (`components/bridge-client`, gRPC-Web over Spin's HTTP/1.1 outbound).
//!
//! ## Layout
//! - [`catalog`], [`users`], [`events`]: the generated messages (and, with the `grpc` feature, tonic clients/servers).
//! - [`methods`]: the gRPC method paths.
//! - [`error`]: [`BridgeError`], the one error vocabulary of every bridge call, and its mapping from gRPC
//!   status codes.
//! - [`grpc_web`]: gRPC-Web framing of a unary call (request frame, response frames and trailers).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for server reflection.

pub mod error;
pub mod grpc_web;
pub mod methods;

pub use error::BridgeError;

/// `pycommerce.catalog.v1`.
pub mod catalog {
    /// Version 1.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/pycommerce.catalog.v1.rs"));
    }
}

/// `pycommerce.users.v1`.
pub mod users {
    /// Version 1.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/pycommerce.users.v1.rs"));
    }
}

/// `pycommerce.events.v1`.
pub mod events {
    /// Version 1.
    #[allow(missing_docs, clippy::all)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/pycommerce.events.v1.rs"));
    }
}

/// The encoded `FileDescriptorSet` of every proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

/// Limits both sides enforce on stock requests.
pub mod limits {
    /// Most lines in one reservation.
    pub const MAX_LINES: usize = 100;
    /// Most units of one product in one line or stock check.
    pub const MAX_QUANTITY: i32 = 1000;
    /// Longest window of a reservation's units cap (10 years), in seconds.
    pub const MAX_UNITS_CAP_WINDOW_SECS: i64 = 315_360_000;
}
