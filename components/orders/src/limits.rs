//! Per-user limits on placing orders, so a script cannot reserve a product's whole stock in a loop and
//! cancel at will (OWASP API6, unrestricted access to a sensitive business flow). Both are checked before
//! any stock is reserved:
//!
//! - **rate**: at most `order_rate_limit` (10) placements per user per `order_rate_window_secs` (60 s), every
//!   attempt counted first, in a fixed window;
//! - **units**: at most `order_max_units_per_product` (20) units of one product in the user's orders of the
//!   last `order_units_window_secs` (24 h) that are not cancelled — orders stay `confirmed` once placed, so
//!   the window is what lets a customer buy again. The units of placements still in flight are claimed in
//!   Redis *before* Postgres is read and released after, so of two concurrent placements the later always
//!   sees the earlier (in flight or committed) and the cap holds under concurrency; an order that commits
//!   while another reads may be counted twice, which only ever refuses, never oversells.
//!
//! Counting the attempt and claiming its units is one Redis script ([`ADMIT`]), releasing the claim another
//! ([`RELEASE`]): a placement makes two Redis round trips whatever its number of lines. Past either limit,
//! `429` with `Retry-After`. A line asking for more than the cap alone can never succeed and is a `422`.
//! Redis down: both fail open to what Postgres shows (logged), like every limit in the app.
//!
//! The scripts name all their keys in `KEYS`; the keys of one user hash to one slot only with a `{hash tag}`
//! in `redis_key_prefix`, so a Redis Cluster needs one.

use std::time::Duration;

use kit::cache::{Cache, CacheError, Reply, Script};
use kit::config::{Config, ConfigError};
use kit::db::Db;
use kit::limit::{Exceeded, Limit};
use kit::{FieldError, Problem};
use uuid::Uuid;

use crate::error::Error;
use crate::store;

/// How long an in-flight claim outlives its last change if its placement dies without releasing it:
/// longer than any placement takes (bridge calls are bounded by `bridge_timeout_ms`, retried twice).
const IN_FLIGHT_TTL: Duration = Duration::from_secs(60);
/// `Retry-After` when only placements still in flight hold the units: they finish within seconds.
const IN_FLIGHT_RETRY_SECS: u64 = 2;

/// Counts a placement in the fixed window `KEYS[1]` and, unless that passes the rate, adds each line's
/// units to its in-flight counter `KEYS[1 + i]` with a fresh expiry.
///
/// `ARGV`: rate max, window (ms), in-flight TTL (ms), then each line's units. Reply: `{0, ms left in the
/// window}` when the rate is exceeded (nothing claimed); `{1, in flight of line 1, …}` otherwise, this
/// placement's units included. A counter an older version left without an expiry gets one.
static ADMIT: Script = Script::new(
    r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) ttl = tonumber(ARGV[2]) end
if n > tonumber(ARGV[1]) then return {0, ttl} end
local reply = {1}
for i = 2, #KEYS do
  reply[i] = redis.call('INCRBY', KEYS[i], ARGV[i + 2])
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
return reply
",
);

/// Takes each line's units (`ARGV[1 + i]`) back from its in-flight counter `KEYS[i]`: a counter at zero is
/// deleted, one that expired is not recreated, the others get a fresh expiry (`ARGV[1]` ms).
static RELEASE: Script = Script::new(
    r"
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local n = redis.call('DECRBY', KEYS[i], ARGV[i + 1])
    if n <= 0 then redis.call('DEL', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  end
end
return 0
",
);

/// The limits and their counters.
#[derive(Debug, Clone)]
pub struct OrderLimits {
    cache: Cache,
    prefix: String,
    rate: Limit,
    max_units_per_product: i64,
    units_window: Duration,
}

/// A placement [`OrderLimits::admit`] counted: its units are claimed as in flight until
/// [`OrderLimits::release`].
#[derive(Debug)]
#[must_use = "claimed units stay counted as in flight until released"]
pub struct Claim {
    /// Each line's product, units, and units in flight (this placement's included) when claimed.
    lines: Vec<(Uuid, i64, i64)>,
    /// The counters' keys, in line order; empty when Redis failed and nothing was claimed.
    keys: Vec<String>,
}

impl OrderLimits {
    /// The limits from the component's variables, counters in `cache` under `redis_key_prefix` + `orders:`.
    pub fn from_config(config: &Config, cache: Cache) -> Result<Self, ConfigError> {
        let prefix = config.get("redis_key_prefix")?.unwrap_or_else(|| "pc:".to_owned()) + "orders:";
        Ok(Self {
            cache,
            prefix,
            rate: Limit {
                max: config.parse_or("order_rate_limit", 10)?,
                window: Duration::from_secs(config.parse_or("order_rate_window_secs", 60)?),
            },
            max_units_per_product: config.parse_or("order_max_units_per_product", 20)?,
            units_window: Duration::from_secs(config.parse_or("order_units_window_secs", 86_400)?),
        })
    }

    /// Counts a placement of `lines` by `user_id` and claims its units, in one round trip: `429` past the
    /// rate (nothing claimed), `422` for a line over the cap on its own (nothing counted). Release the
    /// claim once the placement is over, whatever its outcome.
    pub async fn admit(&self, user_id: Uuid, lines: &[(Uuid, i32)]) -> Result<Claim, Error> {
        let cap = self.max_units_per_product;
        if let Some((product, _)) = lines.iter().find(|(_, quantity)| i64::from(*quantity) > cap) {
            return Err(Problem::validation(vec![FieldError::new(
                "items",
                format!("product {product}: a customer may order at most {cap} units of a product"),
            )])
            .into());
        }
        let mut keys = Vec::with_capacity(lines.len() + 1);
        keys.push(format!("{}rate:{user_id}", self.prefix));
        keys.extend(lines.iter().map(|(product, _)| format!("{}units:{user_id}:{product}", self.prefix)));
        let mut args = vec![self.rate.max.to_string(), millis(self.rate.window), millis(IN_FLIGHT_TTL)];
        args.extend(lines.iter().map(|(_, quantity)| quantity.to_string()));

        let uncounted = |error: CacheError| {
            tracing::warn!(%error, %user_id, "order limits not counted: cache unavailable");
            // Nothing was claimed: only this placement's own units are known to be in flight.
            let lines = lines
                .iter()
                .map(|(product, quantity)| (*product, i64::from(*quantity), i64::from(*quantity)))
                .collect();
            Ok(Claim { lines, keys: Vec::new() })
        };
        let reply = match self.eval(&ADMIT, &keys, &args).await {
            Ok(reply) => reply,
            Err(error) => return uncounted(error),
        };
        match reply.as_slice() {
            [Reply::Int(0), Reply::Int(left_ms)] => {
                let left = Duration::from_millis(u64::try_from(*left_ms).unwrap_or(0));
                Err(Error::TooManyOrders(Exceeded::after(left).retry_after_secs))
            }
            [Reply::Int(1), in_flight @ ..] if in_flight.len() == lines.len() => {
                let lines = lines
                    .iter()
                    .zip(in_flight)
                    .map(|((product, quantity), total)| {
                        let quantity = i64::from(*quantity);
                        let total = if let Reply::Int(total) = total { *total } else { quantity };
                        (*product, quantity, total)
                    })
                    .collect();
                keys.remove(0);
                Ok(Claim { lines, keys })
            }
            _ => uncounted(CacheError::Reply(format!("order admission script: {reply:?}"))),
        }
    }

    /// Checks the claimed units, with what `user_id` already holds in Postgres, against the cap: `429` with
    /// the time until units free up when a product would pass it.
    pub async fn check_units(&self, db: &Db, user_id: Uuid, claim: &Claim) -> Result<(), Error> {
        let cap = self.max_units_per_product;
        let products: Vec<Uuid> = claim.lines.iter().map(|(product, _, _)| *product).collect();
        let window = i64::try_from(self.units_window.as_secs()).unwrap_or(i64::MAX);
        let held = store::held_units(db, user_id, &products, window).await?;
        for &(product, quantity, in_flight) in &claim.lines {
            let committed = held.iter().find(|row| row.product_id == product);
            let units = committed.map_or(0, |row| row.units);
            if units + in_flight <= cap {
                continue;
            }
            // Only committed orders leaving the window free units for good; in-flight ones finish soon.
            let retry_after_secs = if units + quantity > cap {
                committed.and_then(|row| row.frees_in_secs).map_or(1, |secs| u64::try_from(secs).unwrap_or(1).max(1))
            } else {
                IN_FLIGHT_RETRY_SECS
            };
            tracing::info!(%user_id, %product, units, in_flight, cap, "order refused: units limit");
            return Err(Error::UnitsLimit { product_id: product.to_string(), max_units: cap, retry_after_secs });
        }
        Ok(())
    }

    /// Ends a claim: its units are no longer in flight.
    pub async fn release(&self, claim: Claim) {
        if claim.keys.is_empty() {
            return;
        }
        let mut args = vec![millis(IN_FLIGHT_TTL)];
        args.extend(claim.lines.iter().map(|(_, quantity, _)| quantity.to_string()));
        if let Err(error) = self.eval(&RELEASE, &claim.keys, &args).await {
            tracing::warn!(%error, "units in flight not released; they expire on their own");
        }
    }

    async fn eval(&self, script: &Script, keys: &[String], args: &[String]) -> Result<Vec<Reply>, CacheError> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        self.cache.eval(script, &keys, &args).await
    }
}

/// A duration as the scripts' expiry arguments take it.
fn millis(duration: Duration) -> String {
    kit::cache::expiry_millis(duration).to_string()
}
