//! Rate limits over the [`Cache`] port: fixed-window counters that count an attempt *before* the work it
//! would cost (an Argon2id verification, a stock reservation). Each count is one atomic Redis script
//! ([`Cache::incr_window`]), so concurrent attempts each get their own count and at most the limit pass.
//!
//! - [`Limiter`]: one counter per key, at most `max` hits per `window`.
//! - [`GuessLimiter`]: the policy for attempts at an account's secret (login, a password change's current
//!   password) that also keeps the rightful owner a way in; `docs/auth.md` states it.
//!
//! **Redis down or slow**: the limits *fail open*. The attempt goes on uncounted and a warning is logged:
//! availability of login and checkout wins over the limit, and Argon2id's cost (~50 ms a guess) still bounds
//! guessing. Keys are the limiter's prefix plus the caller's key; accounts appear only as hashes.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::Cache;

/// At most `max` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Hits allowed in one window.
    pub max: i64,
    /// Window length.
    pub window: Duration,
}

/// A limit was reached: the caller may retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// Seconds until the window that refused the attempt ends.
    pub retry_after_secs: u64,
}

impl Exceeded {
    /// Refused until `resets_in` has passed (rounded up to whole seconds).
    pub fn after(resets_in: Duration) -> Self {
        let secs = resets_in.as_secs() + u64::from(resets_in.subsec_nanos() > 0);
        Self { retry_after_secs: secs.max(1) }
    }
}

/// Fixed-window counters under one key prefix.
#[derive(Debug, Clone)]
pub struct Limiter {
    cache: Cache,
    prefix: String,
}

impl Limiter {
    /// Counters in `cache`, every key starting with `prefix`.
    pub fn new(cache: Cache, prefix: impl Into<String>) -> Self {
        Self { cache, prefix: prefix.into() }
    }

    /// Counts one hit on `key`: `Err` once the window holds more than `limit.max` hits (this one
    /// included). `Ok(Some(count))` otherwise, `Ok(None)` when the cache failed and the hit went uncounted.
    pub async fn hit(&self, key: &str, limit: Limit) -> Result<Option<i64>, Exceeded> {
        match self.cache.incr_window(&self.key(key), limit.window).await {
            Ok(counted) if counted.count > limit.max => Err(Exceeded::after(counted.resets_in)),
            Ok(counted) => Ok(Some(counted.count)),
            Err(error) => {
                tracing::warn!(%error, key, "rate limit not applied: cache unavailable");
                Ok(None)
            }
        }
    }

    /// Takes a hit back from `key` (an attempt that should not count after all), while its window runs.
    pub async fn refund(&self, key: &str) {
        if let Err(error) = self.cache.decr_window(&self.key(key)).await {
            tracing::warn!(%error, key, "rate limit hit not refunded: cache unavailable");
        }
    }

    /// Forgets every hit on `key`.
    pub async fn forget(&self, key: &str) {
        if let Err(error) = self.cache.del(&self.key(key)).await {
            tracing::warn!(%error, key, "rate limit counter not cleared: cache unavailable");
        }
    }

    /// The cache the counters live in.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The full Redis key of `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// How many attempts at an account's secret are let through, per fixed window. Counters are kept per
/// account *and* client address, per address, and per account; see [`GuessLimiter::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessPolicy {
    /// Failed attempts on one account from one address (default 5): what an attacker at one address gets.
    pub per_account_and_address: i64,
    /// Failed attempts from one address on any accounts (default 50): password spraying.
    pub per_address: i64,
    /// Failed attempts on one account from all addresses (default 100). Past it the account is under a
    /// distributed attack: an address that already failed on it in this window is refused, one that has
    /// not gets a single try — so the attack slows to one guess per fresh address, and the owner, at an
    /// address of their own, still gets in.
    pub per_account: i64,
    /// Window length (default 15 minutes).
    pub window: Duration,
}

impl GuessPolicy {
    /// The policy from the variables `auth` (logins) and `users` (password changes) share:
    /// `login_max_failures_per_account_address` (5), `login_max_failures_per_address` (50),
    /// `login_max_failures_per_account` (100) and `rate_limit_window_secs` (900).
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            per_account_and_address: config.parse_or("login_max_failures_per_account_address", 5)?,
            per_address: config.parse_or("login_max_failures_per_address", 50)?,
            per_account: config.parse_or("login_max_failures_per_account", 100)?,
            window: Duration::from_secs(config.parse_or("rate_limit_window_secs", 900)?),
        })
    }
}

/// Limits attempts at accounts' secrets under [`GuessPolicy`], counting each attempt before it is checked.
#[derive(Debug, Clone)]
pub struct GuessLimiter {
    limiter: Limiter,
    scope: &'static str,
    policy: GuessPolicy,
}

/// An attempt [`GuessLimiter::admit`] let through. It already counts as a failure; report a success with
/// [`GuessLimiter::succeeded`] to take it back.
#[derive(Debug)]
#[must_use = "a successful attempt must be reported, or it counts as a failure"]
pub struct Attempt {
    pair: String,
    address: String,
    account: String,
}

impl GuessLimiter {
    /// Counters of `scope` (e.g. `login`, `password`) under `limiter`'s prefix.
    pub fn new(limiter: Limiter, scope: &'static str, policy: GuessPolicy) -> Self {
        Self { limiter, scope, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &GuessPolicy {
        &self.policy
    }

    /// Counts an attempt at `account`'s secret from `address` (the client IP the gateway forwarded) and
    /// decides, before any secret is checked:
    /// 1. more than `per_account_and_address` attempts on this account from this address → refused;
    /// 2. more than `per_address` attempts from this address → refused;
    /// 3. more than `per_account` attempts on this account from anywhere, and this address tried it before
    ///    in the window → refused.
    ///
    /// `account` is hashed (an email never reaches Redis); IPv6 addresses count per /64, the block one
    /// subscriber usually holds. Fails open when the cache fails.
    pub async fn admit(&self, account: &str, address: Option<&str>) -> Result<Attempt, Exceeded> {
        let account = account_hash(account);
        let bucket = address_bucket(address);
        let scope = self.scope;
        let attempt = Attempt {
            pair: format!("{scope}:pair:{account}:{bucket}"),
            address: format!("{scope}:address:{bucket}"),
            account: format!("{scope}:account:{account}"),
        };
        let window = self.policy.window;
        let pair = self.limiter.hit(&attempt.pair, Limit { max: self.policy.per_account_and_address, window }).await?;
        self.limiter.hit(&attempt.address, Limit { max: self.policy.per_address, window }).await?;
        if let Err(exceeded) = self.limiter.hit(&attempt.account, Limit { max: self.policy.per_account, window }).await
        {
            // Under attack from many addresses: only an address new to this account gets its one try.
            if pair.is_some_and(|count| count > 1) {
                tracing::warn!(scope, account = %account, "account under a distributed guessing attack");
                return Err(exceeded);
            }
        }
        Ok(attempt)
    }

    /// The attempt succeeded: this address starts afresh on the account, and the attempt no longer counts
    /// against the address or the account.
    pub async fn succeeded(&self, attempt: Attempt) {
        self.limiter.forget(&attempt.pair).await;
        self.limiter.refund(&attempt.address).await;
        self.limiter.refund(&attempt.account).await;
    }
}

/// 16 bytes of SHA-256 of the account identifier, hex: a key part that does not reveal the account.
fn account_hash(account: &str) -> String {
    Sha256::digest(account.as_bytes()).iter().take(16).map(|byte| format!("{byte:02x}")).collect()
}

/// The counter an address belongs to: an IPv4 address itself, an IPv6 address its /64 network (one
/// subscriber's usual allocation, so a client cannot hop across its own block), `unknown` without one.
pub fn address_bucket(address: Option<&str>) -> String {
    match address.map(str::trim).map(|text| (text, text.parse::<IpAddr>())) {
        None => "unknown".to_owned(),
        Some((_, Ok(IpAddr::V4(ip)))) => ip.to_string(),
        Some((_, Ok(IpAddr::V6(ip)))) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let segments = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", segments[0], segments[1], segments[2], segments[3])
            }
        },
        // Not an IP (the gateway always forwards one): keep it as one bucket, hashed to stay a tame key.
        Some((text, Err(_))) => format!("other-{}", account_hash(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_bucketed_per_ipv4_address_and_ipv6_64() {
        assert_eq!(address_bucket(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(address_bucket(Some("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(address_bucket(Some("2001:db8:1:2:ffff::1")), "2001:db8:1:2::/64");
        assert_eq!(address_bucket(Some("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(address_bucket(None), "unknown");
        assert!(address_bucket(Some("not-an-ip")).starts_with("other-"));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(Exceeded::after(Duration::from_millis(1500)).retry_after_secs, 2);
        assert_eq!(Exceeded::after(Duration::from_secs(3)).retry_after_secs, 3);
        assert_eq!(Exceeded::after(Duration::ZERO).retry_after_secs, 1);
    }

    #[test]
    fn account_keys_do_not_reveal_the_account() {
        let hash = account_hash("alice@example.com");
        assert_eq!(hash.len(), 32);
        assert!(!hash.contains("alice"));
        assert_eq!(hash, account_hash("alice@example.com"));
    }
}
