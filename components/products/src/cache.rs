//! The read cache of the catalog in Redis.
//!
//! - Keys: `<prefix>v<catalog version>:<kind>:<id or filter hash>`. Every catalog write bumps the version in
//!   Postgres, so after a write no request can reach an older entry (they expire on their own); there are
//!   no key scans and no deletes.
//! - TTL: `cache_ttl_secs` when stored. Hits are counted per entry (`<key>:hits`, INCR); every
//!   `cache_popular_threshold` hits the entry's TTL is set to `cache_popular_ttl_secs` (EXPIRE), so a popular
//!   entry lives longer while it stays popular and never more than that cap past its last extension.
//! - Observability: one log line (target `cache`) per hit and per miss with the key, and running totals in
//!   Redis: `<prefix>stats:hits` and `<prefix>stats:misses`.
//! - Failure: the cache is an optimisation. Any Redis error or timeout (`cache_timeout_ms`) is logged and
//!   the request is served from Postgres; after a failure this request makes no further Redis calls, so a
//!   slow Redis costs at most one timeout. `cache_ttl_secs = 0` turns the cache off.

use std::time::Duration;

use bytes::Bytes;
use kit::cache::Cache;
use kit::config::{Config, ConfigError};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "pc:catalog:";

/// The result of a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// The cached body.
    Hit(Bytes),
    /// Not cached: fetch and [`CatalogCache::store`] it under this key.
    Miss(String),
    /// The cache is off or failed: fetch and do not store.
    Bypass,
}

/// The catalog's cache policy over the Redis port.
#[derive(Debug, Clone)]
pub struct CatalogCache {
    cache: Cache,
    prefix: String,
    ttl: Duration,
    popular_ttl: Duration,
    popular_threshold: i64,
}

impl CatalogCache {
    /// Reads `redis_url`, `cache_timeout_ms`, `cache_prefix`, `cache_ttl_secs`, `cache_popular_ttl_secs` and
    /// `cache_popular_threshold`.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let ttl = config.parse_or("cache_ttl_secs", 60u64)?;
        let popular_ttl = config.parse_or("cache_popular_ttl_secs", 600u64)?.max(ttl);
        let popular_threshold = config.parse_or("cache_popular_threshold", 20i64)?.max(1);
        Ok(Self {
            cache: Cache::from_config(config)?,
            prefix: config.get("cache_prefix")?.unwrap_or_else(|| DEFAULT_PREFIX.to_owned()),
            ttl: Duration::from_secs(ttl),
            popular_ttl: Duration::from_secs(popular_ttl),
            popular_threshold,
        })
    }

    /// The Redis handle (for health checks).
    pub fn redis(&self) -> &Cache {
        &self.cache
    }

    /// Whether caching is on (`cache_ttl_secs` > 0).
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The key of entry `name` (e.g. `list:<hash>`) at catalog `version`.
    pub fn key(&self, version: i64, name: &str) -> String {
        format!("{}v{version}:{name}", self.prefix)
    }

    /// Looks `key` up, logging and counting the hit or miss.
    pub async fn lookup(&self, key: String) -> Lookup {
        if !self.enabled() {
            return Lookup::Bypass;
        }
        match self.cache.get(&key).await {
            Ok(Some(body)) => {
                let hits = self.count_hit(&key).await;
                let total = match hits {
                    Some(_) => self.cache.incr(&format!("{}stats:hits", self.prefix)).await.ok(),
                    None => None,
                };
                tracing::info!(target: "cache", event = "hit", key = %key, hits, total_hits = total, "cache hit");
                Lookup::Hit(Bytes::from(body))
            }
            Ok(None) => match self.cache.incr(&format!("{}stats:misses", self.prefix)).await {
                Ok(total) => {
                    tracing::info!(target: "cache", event = "miss", key = %key, total_misses = total, "cache miss");
                    Lookup::Miss(key)
                }
                Err(error) => {
                    tracing::info!(target: "cache", event = "miss", key = %key, %error, "cache miss; not storing, Redis failed");
                    Lookup::Bypass
                }
            },
            Err(error) => {
                tracing::warn!(target: "cache", event = "bypass", key = %key, %error, "cache unavailable; serving from Postgres");
                Lookup::Bypass
            }
        }
    }

    /// Counts a hit on `key` and extends its TTL every `popular_threshold` hits; the hit count, if Redis
    /// answered.
    async fn count_hit(&self, key: &str) -> Option<i64> {
        let counter = format!("{key}:hits");
        let hits = match self.cache.incr(&counter).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::warn!(target: "cache", key = %key, %error, "hit counter unavailable");
                return None;
            }
        };
        if hits == 1 {
            // The counter lives no longer than a popular entry could.
            let _ = self.cache.expire(&counter, self.popular_ttl).await;
        }
        if hits % self.popular_threshold == 0 {
            match self.cache.expire(key, self.popular_ttl).await {
                Ok(_) => {
                    let _ = self.cache.expire(&counter, self.popular_ttl).await;
                    tracing::info!(target: "cache", event = "popular", key = %key, hits, ttl_secs = self.popular_ttl.as_secs(), "popular entry kept longer");
                }
                Err(error) => tracing::warn!(target: "cache", key = %key, %error, "TTL extension failed"),
            }
        }
        Some(hits)
    }

    /// Stores a freshly read body under the key of a miss with the base TTL.
    pub async fn store(&self, key: &str, body: &[u8]) {
        if let Err(error) = self.cache.set_ex(key, body, self.ttl).await {
            tracing::warn!(target: "cache", key = %key, %error, "cache write failed");
        }
    }
}
