//! The auth service's limits, on kit's [`kit::limit`]: logins under the guessing policy (scope `login`;
//! counted per account and client address, per address and per account — see `docs/auth.md`), and
//! registrations per client address. Every attempt is counted *before* the Argon2id work it would cost.
//!
//! When Redis is down or slow the limits *fail open*: attempts go on, uncounted, and each skipped count is
//! logged as a warning. Availability of login wins; Argon2id's cost (~50 ms a try) still bounds guessing.

use std::time::Duration;

use kit::cache::Cache;
use kit::limit::{Attempt, GuessLimiter, GuessPolicy, Limit, Limiter};

/// Limits and window.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Logins: attempts per account and address, per address and per account.
    pub logins: GuessPolicy,
    /// Registrations allowed per client address per window.
    pub registrations_per_address: i64,
    /// Window of the registration limit.
    pub window: Duration,
    /// Key prefix (lets tests share a Redis).
    pub prefix: String,
}

/// The login and registration limiter.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    logins: GuessLimiter,
    registrations: Limiter,
    registration_limit: Limit,
}

impl LoginLimiter {
    /// A limiter over `cache`.
    pub fn new(cache: Cache, limits: Limits) -> Self {
        let limiter = Limiter::new(cache, limits.prefix);
        Self {
            logins: GuessLimiter::new(limiter.clone(), "login", limits.logins),
            registrations: limiter,
            registration_limit: Limit { max: limits.registrations_per_address, window: limits.window },
        }
    }

    /// Counts a login attempt for `email` from `address` (an IP, as the gateway forwards it) before its
    /// password is checked; `Err(retry_after_secs)` when a limit refuses it.
    pub async fn admit_login(&self, email: &str, address: Option<&str>) -> Result<Attempt, u64> {
        let account = email.trim().to_lowercase();
        self.logins.admit(&account, address).await.map_err(|exceeded| exceeded.retry_after_secs)
    }

    /// The login succeeded: it does not count as a failure.
    pub async fn login_succeeded(&self, attempt: Attempt) {
        self.logins.succeeded(attempt).await;
    }

    /// Counts a registration from `address`; `Err(retry_after_secs)` past the limit.
    pub async fn registration(&self, address: Option<&str>) -> Result<(), u64> {
        let key = format!("register:address:{}", kit::limit::address_bucket(address));
        self.registrations.hit(&key, self.registration_limit).await.map(|_| ()).map_err(|e| e.retry_after_secs)
    }
}
