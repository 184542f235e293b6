//! Native backends, as devhost configures them from the runtime configuration: a Redis store (one
//! multiplexed connection, like Spin's Redis store, every call under the cache timeout) or, for a `default`
//! store the runtime configuration leaves to Spin's own SQLite file, an empty in-process map.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::cache::{Cache, CacheError};

use super::KvError;

/// The stores granted to one component.
#[derive(Clone)]
pub(super) struct Stores(Arc<HashMap<String, NativeStore>>);

impl Stores {
    pub(super) fn new(granted: HashMap<String, NativeStore>) -> Self {
        Self(Arc::new(granted))
    }

    pub(super) fn open(&self, label: &str) -> Result<Store, KvError> {
        self.0.get(label).cloned().ok_or_else(|| KvError::AccessDenied(label.to_owned()))
    }
}

pub(super) type Store = NativeStore;

/// One store's backend.
#[derive(Debug, Clone)]
pub enum NativeStore {
    /// A Redis server (`type = "redis"` in the runtime configuration).
    Redis(Cache),
    /// Spin's default store when the runtime configuration names none (a local file there; here a map).
    Memory(Arc<Mutex<HashMap<String, Vec<u8>>>>),
}

impl NativeStore {
    /// An empty in-process store.
    pub fn memory() -> Self {
        Self::Memory(Arc::default())
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Self::Redis(cache) => cache.get(key).await.map_err(map_error),
            Self::Memory(map) => Ok(map.lock().map_err(|_| poisoned())?.get(key).cloned()),
        }
    }

    pub(super) async fn increment(&self, key: &str) -> Result<i64, KvError> {
        match self {
            Self::Redis(cache) => cache.incr(key).await.map_err(map_error),
            Self::Memory(map) => {
                let mut map = map.lock().map_err(|_| poisoned())?;
                let current = match map.get(key) {
                    None => 0,
                    Some(value) => std::str::from_utf8(value)
                        .ok()
                        .and_then(|text| text.parse::<i64>().ok())
                        .ok_or_else(|| KvError::Unavailable(format!("`{key}` is not an integer")))?,
                };
                let next = current.checked_add(1).ok_or_else(|| KvError::Unavailable(format!("`{key}` overflows")))?;
                map.insert(key.to_owned(), next.to_string().into_bytes());
                Ok(next)
            }
        }
    }
}

fn map_error(error: CacheError) -> KvError {
    KvError::Unavailable(error.to_string())
}

fn poisoned() -> KvError {
    KvError::Unavailable("store lock poisoned".to_owned())
}
