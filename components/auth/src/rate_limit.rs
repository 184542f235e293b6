//! Login rate limits in Redis: failed logins are counted per account (hashed email) and per client
//! address in fixed windows; at the limit, logins for that key get 429 with `Retry-After` until the window
//! ends. A successful login clears the account's counter.
//!
//! When Redis is down or slow the limiter *fails open*: logins go on, unlimited, and each skipped check is
//! logged as a warning. Availability of login wins; Argon2id's cost (~50 ms a try) still bounds guessing.

use std::time::Duration;

use kit::cache::Cache;
use sha2::{Digest, Sha256};

/// Limits and window.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failed logins allowed per account per window.
    pub per_account: i64,
    /// Failed logins allowed per client address per window.
    pub per_address: i64,
    /// Registrations allowed per client address per window.
    pub registrations_per_address: i64,
    /// Window length.
    pub window: Duration,
    /// Key prefix (lets tests share a Redis).
    pub prefix: String,
}

/// The login limiter.
#[derive(Debug, Clone)]
pub struct LoginLimiter {
    cache: Cache,
    limits: Limits,
}

/// The counters one login attempt touches.
#[derive(Debug, Clone)]
pub struct Keys {
    account: String,
    address: Option<String>,
}

impl LoginLimiter {
    /// A limiter over `cache`.
    pub fn new(cache: Cache, limits: Limits) -> Self {
        Self { cache, limits }
    }

    /// The keys for a login of `email` from `address` (the address without its port).
    pub fn keys(&self, email: &str, address: Option<&str>) -> Keys {
        let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
        let account: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
        Keys {
            account: format!("{}login:account:{account}", self.limits.prefix),
            address: address.map(|address| format!("{}login:address:{address}", self.limits.prefix)),
        }
    }

    /// `Err(retry_after_secs)` when either counter is at its limit.
    pub async fn check(&self, keys: &Keys) -> Result<(), u64> {
        let mut checks = vec![(&keys.account, self.limits.per_account)];
        if let Some(address) = &keys.address {
            checks.push((address, self.limits.per_address));
        }
        for (key, limit) in checks {
            match self.cache.get(key).await {
                Ok(Some(raw)) => {
                    let count: i64 = std::str::from_utf8(&raw).ok().and_then(|t| t.parse().ok()).unwrap_or(0);
                    if count >= limit {
                        let ttl = self.cache.ttl(key).await.unwrap_or(-1);
                        let retry = if ttl > 0 { ttl as u64 } else { self.limits.window.as_secs() };
                        return Err(retry);
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "login rate limit not checked: cache unavailable");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Counts a failed login against both keys.
    pub async fn record_failure(&self, keys: &Keys) {
        for key in std::iter::once(&keys.account).chain(keys.address.as_ref()) {
            match self.cache.incr(key).await {
                // The first failure starts the window.
                Ok(1) => {
                    if let Err(error) = self.cache.expire(key, self.limits.window).await {
                        tracing::warn!(%error, "login rate limit window not set");
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "login failure not counted: cache unavailable"),
            }
        }
    }

    /// Counts a registration from `address`; `Err(retry_after_secs)` past the limit. Fails open like the
    /// login checks.
    pub async fn registration(&self, address: &str) -> Result<(), u64> {
        let key = format!("{}register:address:{address}", self.limits.prefix);
        match self.cache.incr(&key).await {
            Ok(count) => {
                if count == 1 {
                    if let Err(error) = self.cache.expire(&key, self.limits.window).await {
                        tracing::warn!(%error, "registration rate limit window not set");
                    }
                }
                if count > self.limits.registrations_per_address {
                    let ttl = self.cache.ttl(&key).await.unwrap_or(-1);
                    return Err(if ttl > 0 { ttl as u64 } else { self.limits.window.as_secs() });
                }
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "registration rate limit not checked: cache unavailable");
                Ok(())
            }
        }
    }

    /// Forgets the account's failures after a successful login.
    pub async fn clear_account(&self, keys: &Keys) {
        if let Err(error) = self.cache.del(&keys.account).await {
            tracing::warn!(%error, "login failures not cleared: cache unavailable");
        }
    }
}

/// The IP part of a `host:port` client address as Spin reports it (`[v6]:port` too).
pub fn client_ip(address: &str) -> &str {
    match address.parse::<std::net::SocketAddr>() {
        Ok(_) => address.rsplit_once(':').map_or(address, |(ip, _)| ip.trim_start_matches('[').trim_end_matches(']')),
        Err(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ips_drop_the_port() {
        assert_eq!(client_ip("203.0.113.7:51234"), "203.0.113.7");
        assert_eq!(client_ip("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(client_ip("unix"), "unix");
    }
}
