//! The key-value port: the Spin key-value stores a component may open (`key_value_stores` in spin.toml).
//!
//! Why beside [`crate::cache`], which reaches the same Redis: on Spin, outbound Redis opens a new connection
//! for every request, while a key-value store's connection belongs to the host and outlives the request
//! (Spin's Redis store keeps one multiplexed connection per app). A read through a store is a round trip on
//! a warm connection; through outbound Redis it is a connect, a handshake and the command. Measured on Spin
//! 4.0.2 beside each other: opening a store and reading two keys cost 68–82 µs of Spin's CPU, one outbound
//! Redis connection with a `GET` and an `EVAL` 207–241 µs (docs/performance.md). So the hot path of a read
//! goes through a store, and everything that needs a script or an expiry through [`crate::cache`].
//!
//! Only what every Spin store offers is here: `get` and an atomic increment. A store has no expiries and no
//! scripts, and its `get-many` is not usable with Spin 4.0.2's Redis store (it sends `KEYS`). Spin checks a
//! component's access when it opens a store; natively, [`KeyValue::native`] holds only the stores the
//! component's manifest entry grants, so an ungranted label fails the same way on both hosts.

use std::future::Future;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

#[cfg(not(target_arch = "wasm32"))]
use native as backend;
#[cfg(target_arch = "wasm32")]
use spin as backend;

#[cfg(not(target_arch = "wasm32"))]
pub use native::NativeStore;

/// A key-value error; callers of the hot path log it and take the slow path.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KvError {
    /// The component may not open this store (not in its `key_value_stores`).
    #[error("key-value store `{0}` is not granted to this component")]
    AccessDenied(String),
    /// The host knows no store of this label.
    #[error("no key-value store `{0}`")]
    NoSuchStore(String),
    /// The store failed (its backend is down, refused the command, or timed out).
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
}

/// The key-value stores a component may open.
#[derive(Clone)]
pub struct KeyValue {
    inner: backend::Stores,
}

impl std::fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyValue").finish_non_exhaustive()
    }
}

impl KeyValue {
    /// The stores of the running Spin component (Spin checks the grant at [`KeyValue::open`]).
    #[cfg(target_arch = "wasm32")]
    pub fn spin() -> Self {
        Self { inner: backend::Stores }
    }

    /// The stores a component's manifest entry grants, by label.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn native(granted: std::collections::HashMap<String, NativeStore>) -> Self {
        Self { inner: backend::Stores::new(granted) }
    }

    /// No store at all (a component without `key_value_stores`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn none() -> Self {
        Self::native(std::collections::HashMap::new())
    }

    /// Opens the store `label` for this request.
    pub fn open(&self, label: &str) -> Result<Store, KvError> {
        self.inner.open(label).map(|inner| Store { inner })
    }
}

/// An open store.
pub struct Store {
    inner: backend::Store,
}

// The backend's futures are handed on as they are: a gateway request's future nests every await down to
// Redis, and each wrapper level counts against rustc's limit on computing its layout.
impl Store {
    /// The value of `key`, `None` when absent.
    pub fn get<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<Option<Vec<u8>>, KvError>> + 'a {
        self.inner.get(key)
    }

    /// Adds one to the integer at `key` (an absent key counts as 0, and is created without an expiry, as
    /// Redis's `INCR` does) and returns the new value.
    pub fn increment<'a>(&'a self, key: &'a str) -> impl Future<Output = Result<i64, KvError>> + 'a {
        self.inner.increment(key)
    }
}
