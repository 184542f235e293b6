//! The read cache of the catalog in Redis: a hit is one Redis round trip and no Postgres query.
//!
//! - Keys: `<prefix>v<catalog version>:<kind>:<id or filter hash>`. The catalog version lives in Postgres
//!   (moved by triggers on every change a listing shows, see `docs/catalog.md`) and is mirrored in Redis under
//!   `<prefix>version` for at most `cache_version_lease_ms`. A lookup is one Lua script that reads the mirror
//!   and the entry together and counts the hit; only when the mirror has lapsed does the component read the
//!   version from Postgres (about once per lease, not once per request) and run the script again with it.
//!   The catalog's own writes publish the new version at once, so an admin write is visible immediately;
//!   changes made elsewhere (a reservation selling the last unit, a cancellation bringing one back) are
//!   visible within the lease. The mirror only ever moves forward: a reader holding an older version
//!   cannot set it back. There are no key scans and no deletes; superseded entries expire on their own.
//! - The mirror carries the cache policy with the version (`<version> <popular TTL> <popular threshold>
//!   <max-age>`): only the products component, which reads those settings, writes it, so a reader that only
//!   looks entries up (the gateway, [`CacheReader`]) reads none of them — on Spin every setting read is a
//!   host call. A changed setting reaches those readers when the mirror is next written: within one lease.
//! - Entries: `<ETag>\n<body>`, so a hit answers `If-None-Match` without hashing the body.
//! - TTL: `cache_ttl_secs` when stored. Hits are counted per entry (`<key>:hits`) inside the script; every
//!   `cache_popular_threshold` hits the entry's TTL is set to `cache_popular_ttl_secs`, so a popular entry
//!   lives longer while it stays popular and never more than that cap past its last extension.
//! - Observability: one log line (target `cache`) per hit and per miss with the key — except a hit the
//!   gateway serves, which its access-log line records (`from_cache`, `cache_key`, `cache_hits`) — and
//!   running totals in Redis: `<prefix>stats:hits` and `<prefix>stats:misses`.
//! - Failure: the cache is an optimisation. Any Redis error or timeout (`cache_timeout_ms`) is logged and
//!   the request is served from Postgres; after a failure this request makes no further Redis calls, so a
//!   slow Redis costs at most one timeout. `cache_ttl_secs = 0` turns the cache off.
//!
//! The script builds entry keys from the version it reads, so they are not declared in `KEYS`: this needs a
//! single Redis (or one where all `<prefix>` keys share a slot, e.g. a prefix with a `{hash tag}`).

use std::time::Duration;

use bytes::Bytes;
use kit::cache::{Cache, Reply, Script};
use kit::config::{Config, ConfigError};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "pc:catalog:";

/// Default `http_max_age_secs`: a shared cache may keep a public read this long. Short, because an admin
/// write is visible in this API at once but not in a cache that already holds the older representation.
const DEFAULT_HTTP_MAX_AGE_SECS: u64 = 5;

/// Reads the version mirror (or takes the caller's version from Postgres and publishes it with the caller's
/// policy, forward only), then the entry at that version, and counts the hit or miss with the policy in
/// effect. A mirror not in the `<version> <popular TTL> <threshold> <max-age>` form counts as lapsed.
///
/// `KEYS[1]` the mirror; `ARGV`: prefix, entry name, then `''` (look up at the mirrored version) or the
/// version from Postgres, lease (ms), popular TTL (s), popular threshold, max-age (s). Reply: `{0}` no
/// version known; `{1, version}` miss; `{2, version, entry, hits, popular TTL if this hit extended the
/// entry else 0, max-age}` hit.
static LOOKUP: Script = Script::new(
    r"
local version, popular_ttl, threshold, max_age
local mirrored = redis.call('GET', KEYS[1])
if mirrored then
  version, popular_ttl, threshold, max_age = string.match(mirrored, '^(%d+) (%d+) (%d+) (%d+)$')
end
if ARGV[3] == '' then
  if not version then return {0} end
elseif not version or tonumber(version) < tonumber(ARGV[3]) then
  version, popular_ttl, threshold, max_age = ARGV[3], ARGV[5], ARGV[6], ARGV[7]
  redis.call('SET', KEYS[1], table.concat({version, popular_ttl, threshold, max_age}, ' '), 'PX', ARGV[4])
end
local key = ARGV[1] .. 'v' .. version .. ':' .. ARGV[2]
local entry = redis.call('GET', key)
if not entry then
  redis.call('INCR', ARGV[1] .. 'stats:misses')
  return {1, version}
end
local counter = key .. ':hits'
local hits = redis.call('INCR', counter)
if hits == 1 then redis.call('EXPIRE', counter, popular_ttl) end
local extended = 0
if hits % tonumber(threshold) == 0 then
  redis.call('EXPIRE', key, popular_ttl)
  redis.call('EXPIRE', counter, popular_ttl)
  extended = tonumber(popular_ttl)
end
redis.call('INCR', ARGV[1] .. 'stats:hits')
return {2, version, entry, hits, extended, tonumber(max_age)}
",
);

/// Moves the version mirror forward to `ARGV[1]` (never back) for `ARGV[2]` ms, with the policy `ARGV[3..5]`
/// (popular TTL, threshold, max-age). An existing mirror not in the mirror's form is replaced.
static PUBLISH: Script = Script::new(
    r"
local mirrored = redis.call('GET', KEYS[1])
local version = mirrored and string.match(mirrored, '^(%d+) %d+ %d+ %d+$')
if version and tonumber(version) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], table.concat({ARGV[1], ARGV[3], ARGV[4], ARGV[5]}, ' '), 'PX', ARGV[2])
return 1
",
);

/// A cached representation.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its strong `ETag`, quotes included.
    pub etag: String,
    /// The JSON body.
    pub body: Bytes,
}

/// The result of a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// The cached representation.
    Hit(Entry),
    /// Not cached: fetch and [`CatalogCache::store`] it under this key.
    Miss(String),
    /// The cache is off or failed: fetch and do not store.
    Bypass,
}

/// What the gateway's [`CacheReader::peek`] found.
#[derive(Debug)]
pub enum Peek {
    /// The cached representation, under `key`, hit `hits` times. Not logged here: the gateway's access-log
    /// line records it, so a hit served there costs one log line, not two.
    Hit {
        /// The representation.
        entry: Entry,
        /// Its Redis key.
        key: String,
        /// Its hits so far, this one included.
        hits: i64,
        /// How long a shared cache may keep it (`http_max_age_secs`, as published with the mirror).
        max_age_secs: u64,
    },
    /// Not cached at this catalog version (counted).
    Miss(i64),
    /// The version mirror has lapsed: only Postgres knows the version.
    Unknown,
    /// Redis failed, or the entry was unreadable (logged).
    Failed,
}

/// The catalog cache as a reader that only looks entries up at the mirrored version: the Redis handle and
/// the key prefix — the settings a lookup needs; the policy comes with the mirror. Whether the cache is on
/// comes with it too: with `cache_ttl_secs = 0` the products component writes no mirror, so a reader finds
/// none (within one lease of the switch) and forwards.
#[derive(Debug, Clone)]
pub struct CacheReader {
    cache: Cache,
    prefix: String,
}

/// The policy the products component reads from its settings and publishes with the version mirror.
#[derive(Debug, Clone)]
struct Policy {
    ttl: Duration,
    popular_ttl: Duration,
    popular_threshold: i64,
    version_lease: Duration,
    max_age_secs: u64,
}

impl Policy {
    /// The mirror's policy fields as script arguments: popular TTL (s), threshold, max-age (s).
    fn args(&self) -> [String; 3] {
        [
            self.popular_ttl.as_secs().max(1).to_string(),
            self.popular_threshold.to_string(),
            self.max_age_secs.to_string(),
        ]
    }

    fn lease_ms(&self) -> String {
        self.version_lease.as_millis().to_string()
    }
}

/// The catalog's cache as its owner (the products component) uses it: lookups that can take the version from
/// Postgres, stores, and version publishing, under the policy from its settings.
#[derive(Debug, Clone)]
pub struct CatalogCache {
    reader: CacheReader,
    policy: Policy,
    enabled: bool,
}

/// What one run of [`LOOKUP`] found.
enum Found {
    NoVersion,
    Miss { version: String },
    Hit { version: String, entry: Vec<u8>, hits: i64, extended_ttl_secs: i64, max_age_secs: u64 },
}

impl CacheReader {
    /// Reads `redis_url`, `cache_prefix` and, natively, `cache_timeout_ms`.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            cache: Cache::from_config(config)?,
            prefix: config.get("cache_prefix")?.unwrap_or_else(|| DEFAULT_PREFIX.to_owned()),
        })
    }

    /// Looks entry `name` up at the mirrored version without Postgres (the gateway's lookup), counting a
    /// hit or a miss as [`CatalogCache::lookup`] does; a miss is logged here, a hit by the caller.
    pub async fn peek(&self, name: &str) -> Peek {
        match self.run_lookup(name, None).await {
            Ok(Found::NoVersion) => Peek::Unknown,
            Ok(Found::Miss { version }) => match version.parse() {
                Ok(number) => {
                    self.report(name, Ok(Found::Miss { version }));
                    Peek::Miss(number)
                }
                Err(_) => Peek::Unknown,
            },
            Ok(Found::Hit { version, entry, hits, extended_ttl_secs, max_age_secs }) => {
                match self.hit(name, &version, entry, hits, extended_ttl_secs) {
                    Some((entry, key)) => Peek::Hit { entry, key, hits, max_age_secs },
                    None => Peek::Failed,
                }
            }
            Err(error) => {
                self.report(name, Err(error));
                Peek::Failed
            }
        }
    }

    /// The key of a miss the gateway already counted at `version`.
    pub fn key_at(&self, version: i64, name: &str) -> String {
        self.key(&version.to_string(), name)
    }

    fn version_key(&self) -> String {
        format!("{}version", self.prefix)
    }

    fn key(&self, version: &str, name: &str) -> String {
        format!("{}v{version}:{name}", self.prefix)
    }

    /// Logs what a lookup found and turns it into a [`Lookup`].
    fn report(&self, name: &str, found: Result<Found, kit::cache::CacheError>) -> Lookup {
        match found {
            Ok(Found::Hit { version, entry, hits, extended_ttl_secs, .. }) => {
                match self.hit(name, &version, entry, hits, extended_ttl_secs) {
                    Some((entry, key)) => {
                        tracing::info!(target: "cache", event = "hit", key = %key, hits, "cache hit");
                        Lookup::Hit(entry)
                    }
                    None => Lookup::Bypass,
                }
            }
            Ok(Found::Miss { version }) => {
                let key = self.key(&version, name);
                tracing::info!(target: "cache", event = "miss", key = %key, "cache miss");
                Lookup::Miss(key)
            }
            Ok(Found::NoVersion) => {
                tracing::warn!(target: "cache", event = "bypass", name, "version mirror not set; serving from Postgres");
                Lookup::Bypass
            }
            Err(error) => {
                tracing::warn!(target: "cache", event = "bypass", name, %error, "cache unavailable; serving from Postgres");
                Lookup::Bypass
            }
        }
    }

    /// The entry and key of a hit; logs a popular entry's extension, and `None` (logged) for a malformed entry.
    fn hit(
        &self,
        name: &str,
        version: &str,
        entry: Vec<u8>,
        hits: i64,
        extended_ttl_secs: i64,
    ) -> Option<(Entry, String)> {
        let Some(entry) = split_entry(entry) else {
            tracing::warn!(target: "cache", event = "bypass", name, "malformed cache entry; serving from Postgres");
            return None;
        };
        let key = self.key(version, name);
        if extended_ttl_secs > 0 {
            tracing::info!(target: "cache", event = "popular", key = %key, hits, ttl_secs = extended_ttl_secs, "popular entry kept longer");
        }
        Some((entry, key))
    }

    /// Runs [`LOOKUP`]: at the mirrored version, or with `publish` (a version from Postgres and the policy to
    /// publish with it) when the mirror has lapsed.
    async fn run_lookup(&self, name: &str, publish: Option<(i64, &Policy)>) -> Result<Found, kit::cache::CacheError> {
        let (version, lease, [popular_ttl, threshold, max_age]) = match publish {
            Some((version, policy)) => (version.to_string(), policy.lease_ms(), policy.args()),
            None => Default::default(),
        };
        let key = self.version_key();
        let args: [&[u8]; 7] = [
            self.prefix.as_bytes(),
            name.as_bytes(),
            version.as_bytes(),
            lease.as_bytes(),
            popular_ttl.as_bytes(),
            threshold.as_bytes(),
            max_age.as_bytes(),
        ];
        let reply = self.cache.eval(&LOOKUP, &[&key], &args).await?;
        let unexpected = || kit::cache::CacheError::Reply(format!("lookup script: {reply:?}"));
        match reply.as_slice() {
            [Reply::Int(0)] => Ok(Found::NoVersion),
            [Reply::Int(1), Reply::Bytes(version)] => {
                Ok(Found::Miss { version: version_text(version).ok_or_else(unexpected)? })
            }
            [Reply::Int(2), Reply::Bytes(version), Reply::Bytes(entry), Reply::Int(hits), Reply::Int(extended), Reply::Int(max_age)] => {
                Ok(Found::Hit {
                    version: version_text(version).ok_or_else(unexpected)?,
                    entry: entry.clone(),
                    hits: *hits,
                    extended_ttl_secs: *extended,
                    max_age_secs: u64::try_from(*max_age).map_err(|_| unexpected())?,
                })
            }
            _ => Err(unexpected()),
        }
    }
}

/// `cache_ttl_secs` (0: the cache is off).
fn ttl(config: &Config) -> Result<u64, ConfigError> {
    config.parse_or("cache_ttl_secs", 60u64)
}

impl CatalogCache {
    /// Reads what [`CacheReader::from_config`] reads, and the policy: `cache_ttl_secs`,
    /// `cache_popular_ttl_secs`, `cache_popular_threshold`, `cache_version_lease_ms` and `http_max_age_secs`.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let ttl = ttl(config)?;
        let popular_ttl = config.parse_or("cache_popular_ttl_secs", 600u64)?.max(ttl);
        let policy = Policy {
            ttl: Duration::from_secs(ttl),
            popular_ttl: Duration::from_secs(popular_ttl),
            popular_threshold: config.parse_or("cache_popular_threshold", 20i64)?.max(1),
            version_lease: config.millis_or("cache_version_lease_ms", Duration::from_millis(1000))?.max(MIN_LEASE),
            max_age_secs: config.parse_or("http_max_age_secs", DEFAULT_HTTP_MAX_AGE_SECS)?,
        };
        Ok(Self { reader: CacheReader::from_config(config)?, policy, enabled: ttl > 0 })
    }

    /// The Redis handle (for health checks).
    pub fn redis(&self) -> &Cache {
        &self.reader.cache
    }

    /// Whether caching is on (`cache_ttl_secs` > 0).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// `http_max_age_secs`: how long a shared cache may keep a public read.
    pub fn max_age_secs(&self) -> u64 {
        self.policy.max_age_secs
    }

    /// The key of a miss the gateway already counted at `version`.
    pub fn key_at(&self, version: i64, name: &str) -> String {
        self.reader.key_at(version, name)
    }

    /// Looks entry `name` (e.g. `list:<hash>`) up at the current catalog version, logging and counting the
    /// hit or miss. Asks `version` (Postgres) only when the Redis mirror has lapsed, and then publishes it
    /// with this policy; that read's failure is the caller's (Postgres is down, so the fetch would fail too).
    pub async fn lookup<F, Fut, E>(&self, name: &str, version: F) -> Result<Lookup, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<i64, E>>,
    {
        if !self.enabled() {
            return Ok(Lookup::Bypass);
        }
        let found = match self.reader.run_lookup(name, None).await {
            Ok(Found::NoVersion) => {
                let version = version().await?;
                self.reader.run_lookup(name, Some((version, &self.policy))).await
            }
            other => other,
        };
        Ok(self.reader.report(name, found))
    }

    /// Stores a freshly read representation under the key of a miss with the base TTL.
    pub async fn store(&self, key: &str, entry: &Entry) {
        let mut value = Vec::with_capacity(entry.etag.len() + 1 + entry.body.len());
        value.extend_from_slice(entry.etag.as_bytes());
        value.push(b'\n');
        value.extend_from_slice(&entry.body);
        if let Err(error) = self.reader.cache.set_ex(key, &value, self.policy.ttl).await {
            tracing::warn!(target: "cache", key = %key, %error, "cache write failed");
        }
    }

    /// After a catalog write: publishes the catalog's new `version` to the mirror with this policy, so the
    /// next read uses it. If Redis fails here, readers pick the version up when the mirror's lease ends.
    pub async fn publish_version(&self, version: i64) {
        if !self.enabled() {
            return;
        }
        let version = version.to_string();
        let lease = self.policy.lease_ms();
        let [popular_ttl, threshold, max_age] = self.policy.args();
        let args: [&[u8]; 5] =
            [version.as_bytes(), lease.as_bytes(), popular_ttl.as_bytes(), threshold.as_bytes(), max_age.as_bytes()];
        if let Err(error) = self.reader.cache.eval(&PUBLISH, &[&self.reader.version_key()], &args).await {
            tracing::warn!(target: "cache", %error, "catalog version not published; readers see it within the lease");
        }
    }
}

/// The shortest version lease: below it nearly every read would go to Postgres.
const MIN_LEASE: Duration = Duration::from_millis(10);

/// A version as the script returns it (decimal digits).
fn version_text(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.to_owned())
}

/// Splits a stored `<ETag>\n<body>`.
fn split_entry(mut value: Vec<u8>) -> Option<Entry> {
    let newline = value.iter().position(|byte| *byte == b'\n')?;
    let body = value.split_off(newline + 1);
    value.truncate(newline);
    let etag = String::from_utf8(value).ok().filter(|etag| etag.starts_with('"') && etag.ends_with('"'))?;
    Some(Entry { etag, body: Bytes::from(body) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_into_their_etag_and_body() {
        let entry = split_entry(b"\"abc\"\n{\"items\":[]}\n".to_vec()).unwrap();
        assert_eq!(entry.etag, "\"abc\"");
        assert_eq!(&entry.body[..], b"{\"items\":[]}\n");
        assert!(split_entry(b"no newline".to_vec()).is_none());
        assert!(split_entry(b"unquoted\n{}".to_vec()).is_none());
    }

    #[test]
    fn versions_are_digits() {
        assert_eq!(version_text(b"42").as_deref(), Some("42"));
        assert_eq!(version_text(b""), None);
        assert_eq!(version_text(b"4x"), None);
    }
}
