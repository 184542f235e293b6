//! Public catalog reads answered straight from the cache, for the gateway: a hit then costs the gateway a
//! few commands on the key-value store's warm connection and no chained request to the products component
//! ([`crate::cache`]). Anything else is forwarded to that component as usual, with what the gateway learnt
//! in [`X_PC_CATALOG_CACHE`], so the component does not look again:
//!
//! - `miss; version=<n>`: not cached at catalog version `n` (counted): fetch and store under that version;
//! - `failed`: the store's Redis failed (the store is that Redis): serve from Postgres without touching
//!   Redis, so a slow Redis costs the read one wait, not two;
//! - absent (the version mirror lapsed, the entry was unreadable, the gateway may not open the store, or a
//!   read this does not recognise or only an admin may make): the component's own lookup, through outbound
//!   Redis.
//!
//! The gateway removes every client-sent `x-pc-*` header, so the component can trust this one.

use bytes::Bytes;
use http::{HeaderValue, Method};
use kit::config::{Config, ConfigError};
use kit::http::parse_query;
use kit::kv::{KeyValue, KvError};
use kit::{Request, Response};

use crate::cache::{CacheReader, CatalogCache, Lookup, Peek};
use crate::domain::parse_id;
use crate::listing::{Filter, RawListQuery};
use crate::{public_cache_control, read_response, Audience, CacheStatus};

/// The request header by which the gateway hands its lookup's result to the component.
pub const X_PC_CATALOG_CACHE: &str = "x-pc-catalog-cache";

/// [`X_PC_CATALOG_CACHE`] when the gateway's store failed.
const FAILED: &str = "failed";

/// What the gateway does with a public catalog read.
#[derive(Debug)]
pub enum Answer {
    /// Send `response`: the cache held the representation, under `key`, hit `hits` times (for the caller's
    /// access log, which records the hit).
    Cached {
        /// The 200 or 304.
        response: Response,
        /// The entry's Redis key.
        key: String,
        /// Its hits so far.
        hits: i64,
    },
    /// Forward the request, with this [`X_PC_CATALOG_CACHE`] value when there is one.
    Forward(Option<HeaderValue>),
}

/// The catalog cache as the gateway reads it.
#[derive(Debug)]
pub struct CachedReads {
    cache: CacheReader,
}

impl CachedReads {
    /// Reads only what a lookup needs ([`CacheReader::new`]); the TTLs and `max-age` come with the version
    /// mirror, which the products component publishes.
    pub fn new(config: &Config, stores: &KeyValue) -> Result<Self, ConfigError> {
        Ok(Self { cache: CacheReader::new(config, stores)? })
    }

    /// The answer to a public `GET`/`HEAD` of `/products` or `/products/{id}` from the cache (200, or 304 for
    /// a matching `If-None-Match`), or how to forward it. Call it only for callers who see the public catalog
    /// (not admins).
    pub async fn answer(&self, request: &Request) -> Answer {
        let head = request.method() == Method::HEAD;
        let Some(name) = entry_name(request).filter(|_| head || request.method() == Method::GET) else {
            return Answer::Forward(None);
        };
        match self.cache.peek(&name).await {
            Ok(Peek::Hit { entry, key, hits, max_age_secs }) => {
                let cache_control = public_cache_control(max_age_secs);
                let mut response = read_response(request, entry, CacheStatus::Hit, Audience::Public, &cache_control);
                if head {
                    *response.body_mut() = Bytes::new();
                }
                Answer::Cached { response, key, hits }
            }
            Ok(Peek::Miss(version)) => Answer::Forward(HeaderValue::from_str(&format!("miss; version={version}")).ok()),
            Ok(Peek::Unknown) => Answer::Forward(None),
            Err(error @ KvError::Unavailable(_)) => {
                tracing::warn!(target: "cache", event = "bypass", name, %error, "cache store failed; forwarding");
                Answer::Forward(Some(HeaderValue::from_static(FAILED)))
            }
            // A manifest or runtime configuration without the store: the component's own lookup works.
            Err(error) => {
                tracing::warn!(target: "cache", event = "bypass", name, %error, "cache store not available; forwarding");
                Answer::Forward(None)
            }
        }
    }
}

/// What the gateway's lookup found for entry `name`, from [`X_PC_CATALOG_CACHE`]; `None` to look it up here.
pub fn forwarded_lookup(cache: &CatalogCache, request: &Request, name: &str) -> Option<Lookup> {
    let value = request.headers().get(X_PC_CATALOG_CACHE)?.to_str().ok()?.trim();
    if value == FAILED {
        return Some(Lookup::Bypass);
    }
    let version: i64 = value.strip_prefix("miss; version=")?.parse().ok()?;
    // The gateway may still see the mirror for one lease after the cache is turned off.
    if !cache.enabled() {
        return Some(Lookup::Bypass);
    }
    Some(Lookup::Miss(cache.key_at(version, name)))
}

/// The cache entry a public read is kept under, as the component's handlers name it.
fn entry_name(request: &Request) -> Option<String> {
    let path = request.uri().path();
    if path == "/products" {
        let filter = Filter::parse(parse_query::<RawListQuery>(request).ok()?).ok()?;
        return (!filter.include_inactive).then(|| format!("list:{}", filter.cache_hash()));
    }
    let id = parse_id(path.strip_prefix("/products/")?)?;
    Some(format!("product:{id}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn cache(ttl: &str) -> CatalogCache {
        let settings = [("redis_url", "redis://127.0.0.1:1"), ("cache_prefix", "p:"), ("cache_ttl_secs", ttl)];
        let config =
            Config::from_map(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>());
        CatalogCache::from_config(&config).unwrap()
    }

    fn with_header(value: &str) -> Request {
        http::Request::builder().uri("/products").header(X_PC_CATALOG_CACHE, value).body(Bytes::new()).unwrap()
    }

    #[test]
    fn the_gateways_findings_become_the_components_lookup() {
        let on = cache("60");
        let found = |value| forwarded_lookup(&on, &with_header(value), "list:h");
        assert!(matches!(found("miss; version=7"), Some(Lookup::Miss(key)) if key == "p:v7:list:h"));
        // The store failed: no second wait on Redis.
        assert!(matches!(found("failed"), Some(Lookup::Bypass)));
        for unknown in ["miss; version=x", "miss; version=-1x", "hit", ""] {
            assert!(found(unknown).is_none(), "{unknown:?}");
        }
        let plain = http::Request::builder().uri("/products").body(Bytes::new()).unwrap();
        assert!(forwarded_lookup(&on, &plain, "list:h").is_none());
        // The cache was turned off since the gateway read the mirror.
        assert!(matches!(
            forwarded_lookup(&cache("0"), &with_header("miss; version=7"), "list:h"),
            Some(Lookup::Bypass)
        ));
    }
}
