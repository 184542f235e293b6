//! The Redis port: the few commands the services need (cache entries with TTLs, counters).
//!
//! The cache is an optimisation: callers treat every [`CacheError`] as a miss and go on to Postgres. Natively
//! every call is bounded by a timeout, and a dead Redis is retried on the next call.
//!
//! The counters rate limits rely on ([`Cache::incr_window`], [`Cache::decr_window`]) are each one Lua script
//! (`EVAL`), so a count and its expiry change together: no caller can read a count another has not finished
//! writing, and no counter is ever left without an expiry.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

use std::sync::OnceLock;
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

/// A Lua script for [`Cache::eval`]. It is sent by its SHA-1 (`EVALSHA`), so a call does not carry its
/// text; only when Redis does not know it yet (first use, a restart, `SCRIPT FLUSH`) is the text sent.
#[derive(Debug)]
pub struct Script {
    code: &'static str,
    sha: OnceLock<String>,
}

impl Script {
    /// The script `code`.
    pub const fn new(code: &'static str) -> Self {
        Self { code, sha: OnceLock::new() }
    }

    /// Its text.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Its SHA-1, lower-case hex, as `EVALSHA` takes it.
    pub fn sha(&self) -> &str {
        self.sha.get_or_init(|| sha1_smol::Sha1::from(self.code).digest().to_string())
    }
}

/// Whether an error is Redis saying it does not hold the script: `NOSCRIPT` as the server sends it, or
/// `NoScriptError` as redis-rs (here natively, and inside Spin's host) prints it.
fn is_noscript(error: &CacheError) -> bool {
    matches!(error, CacheError::Unavailable(message) | CacheError::Reply(message)
        if message.contains("NOSCRIPT") || message.contains("NoScriptError"))
}

/// One value of a script's reply. An array reply arrives flattened, in order, on both backends (Spin's host
/// flattens it), so scripts return flat tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `nil` (a Lua `false`).
    Nil,
    /// An integer.
    Int(i64),
    /// A string (bulk or status).
    Bytes(Vec<u8>),
}

/// A fixed-window counter just after a hit: the count in the current window (this hit included) and the
/// time left until the window ends and the count starts again from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the window so far, this one included.
    pub count: i64,
    /// Time until the window ends.
    pub resets_in: Duration,
}

/// `INCR` and, when the key has no expiry yet (its first hit, or a counter an older version left without
/// one), `PEXPIRE` to the window; then the count and the milliseconds left.
const INCR_WINDOW: &str = "local n = redis.call('INCR', KEYS[1]) \
local ttl = redis.call('PTTL', KEYS[1]) \
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end \
return {n, ttl}";

/// `DECR` only while the window runs: an expired (or expiry-less) counter is not recreated or touched.
const DECR_WINDOW: &str = "if redis.call('PTTL', KEYS[1]) > 0 then return redis.call('DECR', KEYS[1]) end \
return 0";

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

    /// Counts one hit on the fixed-window counter `key`, atomically: the first hit starts a window of
    /// `window`, and the answer is the count with this hit and the time left in the window. Count *before*
    /// the work a limit guards, and compare the returned count: concurrent callers each get their own count.
    pub async fn incr_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        let reply = self.inner.eval_ints(INCR_WINDOW, key, &[expiry_millis(window)]).await?;
        match reply[..] {
            [count, left_ms] => {
                Ok(WindowCount { count, resets_in: Duration::from_millis(u64::try_from(left_ms).unwrap_or(0)) })
            }
            _ => Err(CacheError::Reply(format!("{reply:?}"))),
        }
    }

    /// Takes one hit back from the fixed-window counter `key` (an attempt that turned out not to count),
    /// only while its window runs; the new count (0 when the window is over).
    pub async fn decr_window(&self, key: &str) -> Result<i64, CacheError> {
        single(self.inner.eval_ints(DECR_WINDOW, key, &[]).await?)
    }

    /// Runs a Lua script atomically, in one round trip (`EVALSHA`; `EVAL` once more when Redis does not hold
    /// it yet). The reply is flattened (see [`Reply`]).
    pub async fn eval(&self, script: &Script, keys: &[&str], args: &[&[u8]]) -> Result<Vec<Reply>, CacheError> {
        match self.inner.eval("EVALSHA", script.sha(), keys, args).await {
            Err(error) if is_noscript(&error) => self.inner.eval("EVAL", script.code(), keys, args).await,
            result => result,
        }
    }

    /// `PING`.
    pub async fn ping(&self) -> Result<(), CacheError> {
        self.inner.ping().await
    }
}

/// A duration in whole milliseconds for `PEXPIRE` / `SET ... PX` (at least 1: Redis refuses 0).
fn expiry_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn single(reply: Vec<i64>) -> Result<i64, CacheError> {
    match reply[..] {
        [value] => Ok(value),
        _ => Err(CacheError::Reply(format!("{reply:?}"))),
    }
}

impl Cache {
    /// The cache of a component's `redis_url` variable, with `cache_timeout_ms` (default 250 ms: a slow
    /// cache must not slow the request down). On Spin, which cannot bound a Redis call, the timeout is not
    /// read at all: there every setting read is a host call.
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        let timeout = if cfg!(target_arch = "wasm32") {
            Duration::ZERO
        } else {
            config.millis_or("cache_timeout_ms", Duration::from_millis(250))?
        };
        Self::connect(&config.require("redis_url")?, timeout).map_err(|error| crate::config::ConfigError::Invalid {
            name: "redis_url".to_owned(),
            reason: error.to_string(),
        })
    }
}
