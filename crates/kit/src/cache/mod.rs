//! The Redis port: the few commands the services need (cache entries with TTLs, counters).
//!
//! The cache is an optimisation: callers treat every [`CacheError`] as a miss and go on to Postgres. Natively
//! every call is bounded by a timeout, and a dead Redis is retried on the next call.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
use native as backend;
#[cfg(target_arch = "wasm32")]
use spin as backend;

/// A cache error; log it and fall back.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CacheError {
    /// Redis cannot be reached or refused the command.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    /// The call did not finish within the timeout.
    #[error("cache call timed out")]
    Timeout,
    /// Redis answered with something unexpected.
    #[error("unexpected cache reply: {0}")]
    Reply(String),
}

/// A handle to one Redis server. Cheap to create: it connects on first use.
#[derive(Clone)]
pub struct Cache {
    inner: backend::Cache,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

impl Cache {
    /// A handle for `url` (`redis://host:port[/db]`), each call bounded by `timeout` natively.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, CacheError> {
        backend::Cache::connect(url, timeout).map(|inner| Self { inner })
    }

    /// `GET key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.inner.get(key).await
    }

    /// `SET key value EX ttl`.
    pub async fn set_ex(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.inner.set_ex(key, value, ttl.as_secs().max(1)).await
    }

    /// `INCR key`: the new value.
    pub async fn incr(&self, key: &str) -> Result<i64, CacheError> {
        self.inner.incr(key).await
    }

    /// `EXPIRE key ttl`: whether the key exists.
    pub async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        self.inner.expire(key, ttl.as_secs().max(1)).await
    }

    /// `TTL key` in seconds (`-2` no key, `-1` no expiry).
    pub async fn ttl(&self, key: &str) -> Result<i64, CacheError> {
        self.inner.ttl(key).await
    }

    /// `DEL key`: whether it existed.
    pub async fn del(&self, key: &str) -> Result<bool, CacheError> {
        self.inner.del(key).await
    }

    /// `PING`.
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
}

impl Cache {
    /// The cache of a component's `redis_url` variable, with `cache_timeout_ms` (default 250 ms: a slow
    /// cache must not slow the request down).
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        let timeout = config.millis_or("cache_timeout_ms", Duration::from_millis(250))?;
        Self::connect(&config.require("redis_url")?, timeout).map_err(|error| crate::config::ConfigError::Invalid {
            name: "redis_url".to_owned(),
            reason: error.to_string(),
        })
    }
}
