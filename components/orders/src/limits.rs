//! Per-user limits on placing orders, so a script cannot reserve a product's whole stock in a loop and
//! cancel at will (OWASP API6, unrestricted access to a sensitive business flow). Both are checked before
//! any stock is reserved:
//!
//! - **rate**: at most `order_rate_limit` (10) placements per user per `order_rate_window_secs` (60 s), every
//!   attempt counted first by one atomic Redis script (kit's [`Limiter`]);
//! - **units**: at most `order_max_units_per_product` (20) units of one product in the user's orders of the
//!   last `order_units_window_secs` (24 h) that are not cancelled — orders stay `confirmed` once placed, so
//!   the window is what lets a customer buy again. The units of placements still in flight are claimed in
//!   Redis *before* Postgres is read and released after, so of two concurrent placements the later always
//!   sees the earlier (in flight or committed) and the cap holds under concurrency; an order that commits
//!   while another reads may be counted twice, which only ever refuses, never oversells.
//!
//! Past either, `429` with `Retry-After`. A line asking for more than the cap alone can never succeed and is
//! a `422`. Redis down: both fail open to what Postgres shows (logged), like every limit in the app.

use std::time::Duration;

use kit::cache::Cache;
use kit::config::{Config, ConfigError};
use kit::db::Db;
use kit::limit::{Limit, Limiter};
use kit::{FieldError, Problem};
use uuid::Uuid;

use crate::error::Error;
use crate::store;

/// How long an in-flight claim outlives its last change if its placement dies without releasing it:
/// longer than any placement takes (bridge calls are bounded by `bridge_timeout_ms`, retried twice).
const IN_FLIGHT_TTL: Duration = Duration::from_secs(60);
/// `Retry-After` when only placements still in flight hold the units: they finish within seconds.
const IN_FLIGHT_RETRY_SECS: u64 = 2;

/// The limits and their counters.
#[derive(Debug, Clone)]
pub struct OrderLimits {
    limiter: Limiter,
    rate: Limit,
    max_units_per_product: i64,
    units_window: Duration,
}

/// Units of each product of one placement, claimed as in flight until [`OrderLimits::release`].
#[derive(Debug)]
#[must_use = "claimed units stay counted as in flight until released"]
pub struct Claim {
    keys: Vec<(String, i64)>,
}

impl OrderLimits {
    /// The limits from the component's variables, counters in `cache` under `redis_key_prefix` + `orders:`.
    pub fn from_config(config: &Config, cache: Cache) -> Result<Self, ConfigError> {
        let prefix = config.get("redis_key_prefix")?.unwrap_or_else(|| "pc:".to_owned()) + "orders:";
        Ok(Self {
            limiter: Limiter::new(cache, prefix),
            rate: Limit {
                max: config.parse_or("order_rate_limit", 10)?,
                window: Duration::from_secs(config.parse_or("order_rate_window_secs", 60)?),
            },
            max_units_per_product: config.parse_or("order_max_units_per_product", 20)?,
            units_window: Duration::from_secs(config.parse_or("order_units_window_secs", 86_400)?),
        })
    }

    /// Counts a placement by `user_id`; `429` past the rate.
    pub async fn count_placement(&self, user_id: Uuid) -> Result<(), Error> {
        self.limiter
            .hit(&format!("rate:{user_id}"), self.rate)
            .await
            .map(|_| ())
            .map_err(|exceeded| Error::TooManyOrders(exceeded.retry_after_secs))
    }

    /// Claims the units of `lines` for `user_id` and checks them, with what the user already holds, against
    /// the cap; on refusal nothing stays claimed. Release the claim once the placement is over, whatever
    /// its outcome.
    pub async fn claim_units(&self, db: &Db, user_id: Uuid, lines: &[(Uuid, i32)]) -> Result<Claim, Error> {
        let cap = self.max_units_per_product;
        if let Some((product, _)) = lines.iter().find(|(_, quantity)| i64::from(*quantity) > cap) {
            return Err(Problem::validation(vec![FieldError::new(
                "items",
                format!("product {product}: a customer may order at most {cap} units of a product"),
            )])
            .into());
        }
        // Claim first, read Postgres after: see the module documentation.
        let cache = self.limiter.cache();
        let mut claim = Claim { keys: Vec::with_capacity(lines.len()) };
        let mut in_flight = Vec::with_capacity(lines.len());
        for (product, quantity) in lines {
            let key = self.limiter.key(&format!("units:{user_id}:{product}"));
            let units = i64::from(*quantity);
            match cache.add_sliding(&key, units, IN_FLIGHT_TTL).await {
                Ok(total) => {
                    claim.keys.push((key, units));
                    in_flight.push(total);
                }
                Err(error) => {
                    tracing::warn!(%error, "units in flight not counted: cache unavailable");
                    in_flight.push(units);
                }
            }
        }
        let products: Vec<Uuid> = lines.iter().map(|(product, _)| *product).collect();
        let window = i64::try_from(self.units_window.as_secs()).unwrap_or(i64::MAX);
        let held = match store::held_units(db, user_id, &products, window).await {
            Ok(held) => held,
            Err(error) => {
                self.release(claim).await;
                return Err(error.into());
            }
        };
        for ((product, quantity), in_flight) in lines.iter().zip(in_flight) {
            let committed = held.iter().find(|row| row.product_id == *product);
            let units = committed.map_or(0, |row| row.units);
            if units + in_flight <= cap {
                continue;
            }
            // Only committed orders leaving the window free units for good; in-flight ones finish soon.
            let retry_after_secs = if units + i64::from(*quantity) > cap {
                committed.and_then(|row| row.frees_in_secs).map_or(1, |secs| u64::try_from(secs).unwrap_or(1).max(1))
            } else {
                IN_FLIGHT_RETRY_SECS
            };
            self.release(claim).await;
            tracing::info!(%user_id, %product, units, in_flight, cap, "order refused: units limit");
            return Err(Error::UnitsLimit { product_id: product.to_string(), max_units: cap, retry_after_secs });
        }
        Ok(claim)
    }

    /// Ends a claim: its units are no longer in flight.
    pub async fn release(&self, claim: Claim) {
        for (key, units) in claim.keys {
            if let Err(error) = self.limiter.cache().add_sliding(&key, -units, IN_FLIGHT_TTL).await {
                tracing::warn!(%error, "units in flight not released; they expire on their own");
            }
        }
    }
}
