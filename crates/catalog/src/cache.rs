//! The read cache of the catalog in Redis: a hit costs no Postgres query, and in the gateway no new Redis
//! connection either.
//!
//! - Keys: `<prefix>v<catalog version>:<kind>:<id or filter hash>`. The catalog version lives in Postgres
//!   (moved by triggers on every change a listing shows, see `docs/catalog.md`) and is mirrored in Redis under
//!   `<prefix>version` for at most `cache_version_lease_ms`. Only when the mirror has lapsed does the products
//!   component read the version from Postgres (about once per lease, not once per request) and publish it.
//!   The catalog's own writes publish the new version at once, so an admin write is visible immediately;
//!   changes made elsewhere (a reservation selling the last unit, a cancellation bringing one back) are
//!   visible within the lease. The mirror only ever moves forward: a reader holding an older version
//!   cannot set it back. There are no key scans and no deletes; superseded entries expire on their own.
//! - The mirror carries the cache policy with the version (`<version> <popular TTL> <popular threshold>
//!   <max-age>`): only the products component, which reads those settings, writes it, so a reader that only
//!   looks entries up (the gateway, [`CacheReader`]) reads none of them — on Spin every setting read is a
//!   host call. A changed setting reaches those readers when the mirror is next written: within one lease.
//! - Two ways in. The products component ([`CatalogCache`]) runs one Lua script per lookup through outbound
//!   Redis ([`kit::cache`]), which can also publish a version it read from Postgres. The gateway
//!   ([`CacheReader`]) reads through a Spin key-value store backed by the same Redis ([`kit::kv`],
//!   [`STORE_LABEL`]): on Spin outbound Redis connects anew for every request while a store's connection
//!   outlives it, so a hit there is five commands on a warm connection (open, mirror, entry, two counters)
//!   instead of a connect, a handshake and a script. A store has no scripts, so the gateway reads the mirror
//!   and then the entry, and only the rare writes that need an expiry (below) go through outbound Redis.
//! - Entries: `<ETag>\n<body>`, so a hit answers `If-None-Match` without hashing the body.
//! - TTL: `cache_ttl_secs` when stored. Hits are counted per entry in `<key>:hits`, which is stored with the
//!   entry and the same TTL; every `cache_popular_threshold` hits both get `cache_popular_ttl_secs`, so a
//!   popular entry lives longer while it stays popular and never more than that cap past its last extension.
//!   A counter holds [`HITS_BASE`] plus the hits: a counter Redis lost before its entry (expired a moment
//!   earlier, or evicted) and that `INCR` made again — at 1, with no expiry — reads below the base, and is
//!   then restored with its entry's remaining TTL instead of living forever.
//! - Observability: one log line (target `cache`) per hit and per miss with the key — except a hit the
//!   gateway serves, which its access-log line records (`from_cache`, `cache_key`, `cache_hits`) — and
//!   running totals in Redis: `<prefix>stats:hits` and `<prefix>stats:misses`.
//! - Failure: the cache is an optimisation. Any Redis error or timeout (`cache_timeout_ms`) is logged and
//!   the request is served from Postgres; after a failure this request makes no further Redis calls, so a
//!   slow Redis costs at most one timeout. `cache_ttl_secs = 0` turns the cache off.
//!
//! The scripts build entry keys from the version they read, so they are not declared in `KEYS`: this needs a
//! single Redis (or one where all `<prefix>` keys share a slot, e.g. a prefix with a `{hash tag}`).

use std::time::Duration;

use bytes::Bytes;
use kit::cache::{Cache, CacheError, Reply, Script};
use kit::config::{Config, ConfigError};
use kit::kv::{KeyValue, KvError};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "pc:catalog:";

/// The Spin key-value store the gateway reads entries through. `default`, so that an app started without a
/// runtime configuration naming it still starts (Spin backs `default` with a local file): the gateway then
/// finds no mirror there and forwards every read to the products component, whose lookups work as always.
/// `runtime-config.toml` backs it with the catalog's Redis, which is what makes gateway hits possible.
pub const STORE_LABEL: &str = "default";

/// What a hit counter starts at ([module documentation](self)): far above any count of hits an entry lives
/// to see, and exact in Lua's doubles. The scripts below spell it out as `4294967296`.
pub const HITS_BASE: i64 = 1 << 32;

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
/// entry else 0}` hit. A lost hit counter is restored as [`RESTORE_COUNTER`] does.
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
local hits = redis.call('INCR', counter) - 4294967296
if hits < 1 then
  hits = 1
  redis.call('SET', counter, 4294967296 + hits, 'PX', math.max(redis.call('PTTL', key), 1))
end
local extended = 0
if hits % tonumber(threshold) == 0 then
  redis.call('EXPIRE', key, popular_ttl)
  redis.call('EXPIRE', counter, popular_ttl)
  extended = tonumber(popular_ttl)
end
redis.call('INCR', ARGV[1] .. 'stats:hits')
return {2, version, entry, hits, extended}
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

/// Stores entry `KEYS[1]` as `ARGV[1]` and its hit counter `KEYS[2]` at [`HITS_BASE`], both for `ARGV[2]`
/// seconds.
static STORE: Script = Script::new(
    r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], 4294967296, 'EX', ARGV[2])
return 1
",
);

/// A popular entry lives on: entry `KEYS[1]` and its counter `KEYS[2]` expire in `ARGV[1]` seconds from now.
static EXTEND: Script = Script::new(
    r"
if redis.call('EXPIRE', KEYS[1], ARGV[1]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return 1
",
);

/// A hit counter `KEYS[2]` that `INCR` made again after Redis lost it gets the count `ARGV[1]` and its entry
/// `KEYS[1]`'s remaining TTL, or goes when the entry has gone too.
static RESTORE_COUNTER: Script = Script::new(
    r"
local left = redis.call('PTTL', KEYS[1])
if left > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', left) else redis.call('DEL', KEYS[2]) end
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
    /// Nothing to go by: the mirror has lapsed (only Postgres knows the version), or the entry is unreadable
    /// (logged). The products component looks the entry up itself.
    Unknown,
}

/// The keys of one cache prefix.
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    /// `cache_prefix`.
    fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self { prefix: config.get("cache_prefix")?.unwrap_or_else(|| DEFAULT_PREFIX.to_owned()) })
    }

    fn version(&self) -> String {
        format!("{}version", self.prefix)
    }

    fn entry(&self, version: &str, name: &str) -> String {
        format!("{}v{version}:{name}", self.prefix)
    }

    fn stats(&self, outcome: &str) -> String {
        format!("{}stats:{outcome}", self.prefix)
    }
}

/// The hit counter of the entry at `key`.
fn counter(key: &str) -> String {
    format!("{key}:hits")
}

/// The policy as the mirror carries it to readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mirror {
    version: i64,
    popular_ttl_secs: u64,
    popular_threshold: i64,
    max_age_secs: u64,
}

impl Mirror {
    /// `<version> <popular TTL> <threshold> <max-age>`, all decimal; anything else (an older release's
    /// mirror included) is `None`, i.e. lapsed.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let mut fields = std::str::from_utf8(bytes).ok()?.split(' ');
        let mirror = Self {
            version: decimal(fields.next()?)?,
            popular_ttl_secs: decimal(fields.next()?)?,
            popular_threshold: decimal::<i64>(fields.next()?)?.max(1),
            max_age_secs: decimal(fields.next()?)?,
        };
        fields.next().is_none().then_some(mirror)
    }
}

/// A field of decimal digits only (no sign, no spaces), as the scripts' `%d+` reads it.
fn decimal<T: std::str::FromStr>(field: &str) -> Option<T> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// The catalog cache as the gateway reads it: entries at the mirrored version, through the key-value store
/// [`STORE_LABEL`], never Postgres. It reads one setting, `cache_prefix`; the policy comes with the mirror,
/// and whether the cache is on comes with it too: with `cache_ttl_secs = 0` the products component writes
/// no mirror, so a reader finds none (within one lease of the switch) and forwards. `redis_url` (and natively
/// `cache_timeout_ms`) is read only for the rare write a hit may need (a popular entry's extension, a lost
/// counter's restoration).
#[derive(Debug, Clone)]
pub struct CacheReader {
    stores: KeyValue,
    keys: Keys,
    config: Config,
}

impl CacheReader {
    /// Reads `cache_prefix`.
    pub fn new(config: &Config, stores: &KeyValue) -> Result<Self, ConfigError> {
        Ok(Self { stores: stores.clone(), keys: Keys::from_config(config)?, config: config.clone() })
    }

    /// Looks entry `name` up at the mirrored version, counting a hit or a miss as [`CatalogCache::lookup`]
    /// does; a miss is logged here, a hit by the caller, and so is a store that failed (forward the read:
    /// the component's own lookup may well work).
    pub async fn peek(&self, name: &str) -> Result<Peek, KvError> {
        let store = self.stores.open(STORE_LABEL)?;
        let Some(mirror) = store.get(&self.keys.version()).await?.as_deref().and_then(Mirror::parse) else {
            return Ok(Peek::Unknown);
        };
        let key = self.keys.entry(&mirror.version.to_string(), name);
        let Some(value) = store.get(&key).await? else {
            self.count(&store, "misses").await;
            tracing::info!(target: "cache", event = "miss", key = %key, "cache miss");
            return Ok(Peek::Miss(mirror.version));
        };
        let Some(entry) = split_entry(value) else {
            tracing::warn!(target: "cache", event = "bypass", name, "malformed cache entry; forwarding");
            return Ok(Peek::Unknown);
        };
        let mut hits = store.increment(&counter(&key)).await? - HITS_BASE;
        self.count(&store, "hits").await;
        if hits < 1 {
            // Should the write fail, the next hit on this entry tries again: at most until the entry expires.
            hits = 1;
            Box::pin(self.write(&RESTORE_COUNTER, &key, (HITS_BASE + hits).to_string())).await;
        }
        if hits % mirror.popular_threshold == 0 {
            let ttl = mirror.popular_ttl_secs.max(1);
            Box::pin(self.write(&EXTEND, &key, ttl.to_string())).await;
            tracing::info!(target: "cache", event = "popular", key = %key, hits, ttl_secs = ttl, "popular entry kept longer");
        }
        Ok(Peek::Hit { entry, key, hits, max_age_secs: mirror.max_age_secs })
    }

    /// Adds one to the running total of `outcome` (`hits` or `misses`). Only observability reads the totals,
    /// so a failure is logged and the lookup's answer stands.
    async fn count(&self, store: &kit::kv::Store, outcome: &str) {
        if let Err(error) = store.increment(&self.keys.stats(outcome)).await {
            tracing::warn!(target: "cache", outcome, %error, "cache total not counted");
        }
    }

    /// Runs `script` on the entry at `key` and its counter through outbound Redis, which connects for it:
    /// only once per `cache_popular_threshold` hits, or when Redis lost a counter. A failure is logged; the
    /// hit is answered all the same. (Callers box this rare future, so the hit path's future stays small and
    /// shallow.)
    async fn write(&self, script: &Script, key: &str, arg: String) {
        let result = match Cache::from_config(&self.config) {
            Ok(cache) => cache.eval(script, &[key, &counter(key)], &[arg.as_bytes()]).await.map(drop),
            Err(error) => Err(CacheError::Unavailable(error.to_string())),
        };
        if let Err(error) = result {
            tracing::warn!(target: "cache", key = %key, %error, "cache write failed");
        }
    }
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
/// Postgres, stores, and version publishing, under the policy from its settings — through outbound Redis.
#[derive(Debug, Clone)]
pub struct CatalogCache {
    cache: Cache,
    keys: Keys,
    policy: Policy,
    enabled: bool,
}

/// What one run of [`LOOKUP`] found.
enum Found {
    NoVersion,
    Miss { version: String },
    Hit { version: String, entry: Vec<u8>, hits: i64, extended_ttl_secs: i64 },
}

/// `cache_ttl_secs` (0: the cache is off).
fn ttl(config: &Config) -> Result<u64, ConfigError> {
    config.parse_or("cache_ttl_secs", 60u64)
}

impl CatalogCache {
    /// Reads `redis_url`, `cache_prefix`, natively `cache_timeout_ms`, and the policy: `cache_ttl_secs`,
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
        Ok(Self { cache: Cache::from_config(config)?, keys: Keys::from_config(config)?, policy, enabled: ttl > 0 })
    }

    /// The Redis handle (for health checks).
    pub fn redis(&self) -> &Cache {
        &self.cache
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
        self.keys.entry(&version.to_string(), name)
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
        let found = match self.run_lookup(name, None).await {
            Ok(Found::NoVersion) => {
                let version = version().await?;
                self.run_lookup(name, Some(version)).await
            }
            other => other,
        };
        Ok(self.report(name, found))
    }

    /// Stores a freshly read representation under the key of a miss with the base TTL, and its hit counter.
    pub async fn store(&self, key: &str, entry: &Entry) {
        let mut value = Vec::with_capacity(entry.etag.len() + 1 + entry.body.len());
        value.extend_from_slice(entry.etag.as_bytes());
        value.push(b'\n');
        value.extend_from_slice(&entry.body);
        let ttl = self.policy.ttl.as_secs().max(1).to_string();
        if let Err(error) = self.cache.eval(&STORE, &[key, &counter(key)], &[&value, ttl.as_bytes()]).await {
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
        if let Err(error) = self.cache.eval(&PUBLISH, &[&self.keys.version()], &args).await {
            tracing::warn!(target: "cache", %error, "catalog version not published; readers see it within the lease");
        }
    }

    /// Logs what a lookup found and turns it into a [`Lookup`].
    fn report(&self, name: &str, found: Result<Found, CacheError>) -> Lookup {
        match found {
            Ok(Found::Hit { version, entry, hits, extended_ttl_secs }) => {
                let key = self.keys.entry(&version, name);
                let Some(entry) = split_entry(entry) else {
                    tracing::warn!(target: "cache", event = "bypass", name, "malformed cache entry; serving from Postgres");
                    return Lookup::Bypass;
                };
                if extended_ttl_secs > 0 {
                    tracing::info!(target: "cache", event = "popular", key = %key, hits, ttl_secs = extended_ttl_secs, "popular entry kept longer");
                }
                tracing::info!(target: "cache", event = "hit", key = %key, hits, "cache hit");
                Lookup::Hit(entry)
            }
            Ok(Found::Miss { version }) => {
                let key = self.keys.entry(&version, name);
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

    /// Runs [`LOOKUP`]: at the mirrored version, or with `publish` (a version from Postgres, published with
    /// this policy) when the mirror has lapsed.
    async fn run_lookup(&self, name: &str, publish: Option<i64>) -> Result<Found, CacheError> {
        let (version, lease, [popular_ttl, threshold, max_age]) = match publish {
            Some(version) => (version.to_string(), self.policy.lease_ms(), self.policy.args()),
            None => Default::default(),
        };
        let key = self.keys.version();
        let args: [&[u8]; 7] = [
            self.keys.prefix.as_bytes(),
            name.as_bytes(),
            version.as_bytes(),
            lease.as_bytes(),
            popular_ttl.as_bytes(),
            threshold.as_bytes(),
            max_age.as_bytes(),
        ];
        let mut reply = self.cache.eval(&LOOKUP, &[&key], &args).await?;
        let unexpected = |reply: &[Reply]| CacheError::Reply(format!("lookup script: {reply:?}"));
        let found = match reply.as_mut_slice() {
            [Reply::Int(0)] => Some(Found::NoVersion),
            [Reply::Int(1), Reply::Bytes(version)] => version_text(version).map(|version| Found::Miss { version }),
            [Reply::Int(2), Reply::Bytes(version), Reply::Bytes(entry), Reply::Int(hits), Reply::Int(extended)] => {
                // The entry is moved out, not copied: it is the largest part of the reply.
                version_text(version).map(|version| Found::Hit {
                    version,
                    entry: std::mem::take(entry),
                    hits: *hits,
                    extended_ttl_secs: *extended,
                })
            }
            _ => None,
        };
        found.ok_or_else(|| unexpected(&reply))
    }
}

/// The shortest version lease: below it nearly every read would go to Postgres.
const MIN_LEASE: Duration = Duration::from_millis(10);

/// A version as the script returns it (decimal digits).
fn version_text(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    decimal::<i64>(text).map(|_| text.to_owned())
}

/// Splits a stored `<ETag>\n<body>`.
/// The body stays in the value's buffer: a listing is kilobytes, and on Spin every page an instance dirties
/// is reset when it ends.
fn split_entry(value: Vec<u8>) -> Option<Entry> {
    let newline = value.iter().position(|byte| *byte == b'\n')?;
    let etag =
        std::str::from_utf8(&value[..newline]).ok().filter(|etag| etag.starts_with('"') && etag.ends_with('"'))?;
    let etag = etag.to_owned();
    Some(Entry { etag, body: Bytes::from(value).slice(newline + 1..) })
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
    fn mirrors_carry_a_version_and_the_policy_in_decimal_fields() {
        let mirror = Mirror::parse(b"42 600 20 5").unwrap();
        assert_eq!(mirror, Mirror { version: 42, popular_ttl_secs: 600, popular_threshold: 20, max_age_secs: 5 });
        assert_eq!(Mirror::parse(b"42 600 0 5").unwrap().popular_threshold, 1, "a threshold is at least 1");
        for lapsed in [&b"42"[..], b"42 600 20", b"42 600 20 5 1", b"42 600 x 5", b"42  600 20 5", b"-1 600 20 5", b""]
        {
            assert_eq!(Mirror::parse(lapsed), None, "{:?}", String::from_utf8_lossy(lapsed));
        }
    }

    #[test]
    fn the_scripts_spell_the_counters_base_as_hits_base() {
        let base = HITS_BASE.to_string();
        assert_eq!(base, "4294967296");
        for script in [&LOOKUP, &STORE] {
            assert!(script.code().contains(&base), "{}", script.code());
        }
    }

    #[test]
    fn versions_are_digits() {
        assert_eq!(version_text(b"42").as_deref(), Some("42"));
        assert_eq!(version_text(b""), None);
        assert_eq!(version_text(b"4x"), None);
    }
}
