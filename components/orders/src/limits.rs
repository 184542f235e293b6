//! Per-user limits on placing orders, so a script cannot reserve a product's whole stock in a loop and
//! cancel at will (OWASP API6, unrestricted access to a sensitive business flow). Both are checked before
//! any stock is reserved:
//!
//! - **rate**: at most `order_rate_limit` (10) placements per user per `order_rate_window_secs` (60 s), every
//!   attempt counted first, in a fixed window in Redis (one round trip, kit's [`Limiter`]). Redis down: the
//!   rate fails open (logged), like every rate limit in the app.
//! - **units**: at most `order_max_units_per_product` (20) units of one product in the user's orders of the
//!   last `order_units_window_secs` (24 h) that are not cancelled, placements still in flight included —
//!   orders stay `confirmed` once placed, so the window is what lets a customer buy again. The bridge applies
//!   it as it reserves the stock ([`OrderLimits::units_cap`]): a reservation is made before its order is
//!   written and released when the order is cancelled or never written, so the user's held and committed
//!   reservations are exactly what the cap counts, and the user's reservations take turns in Postgres, so
//!   concurrent placements cannot pass it together. It needs no Redis and holds when Redis is down.
//!
//! Past either limit, `429` with `Retry-After`. A line asking for more than the cap alone can never succeed
//! and is a `422`, refused before anything is counted.

use std::time::Duration;

use kit::bridge::{UnitsCap, UnitsCapExceeded};
use kit::cache::Cache;
use kit::config::{Config, ConfigError};
use kit::limit::{Limit, Limiter};
use kit::{FieldError, Problem};
use reservations::MAX_UNITS_CAP_WINDOW_SECS;
use uuid::Uuid;

use crate::error::Error;

/// The limits, and the rate's counters.
#[derive(Debug, Clone)]
pub struct OrderLimits {
    limiter: Limiter,
    rate: Limit,
    max_units_per_product: i64,
    units_window_secs: i64,
}

impl OrderLimits {
    /// The limits from the component's variables, counters in `cache` under `redis_key_prefix` + `orders:`.
    pub fn from_config(config: &Config, cache: Cache) -> Result<Self, ConfigError> {
        let prefix = config.get("redis_key_prefix")?.unwrap_or_else(|| "pc:".to_owned()) + "orders:";
        let max_units_per_product = config.parse_or("order_max_units_per_product", 20)?;
        if max_units_per_product < 1 {
            return Err(ConfigError::Invalid {
                name: "order_max_units_per_product".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        let units_window_secs: i64 = config.parse_or("order_units_window_secs", 86_400)?;
        if !(1..=MAX_UNITS_CAP_WINDOW_SECS).contains(&units_window_secs) {
            return Err(ConfigError::Invalid {
                name: "order_units_window_secs".to_owned(),
                reason: format!("must be 1 to {MAX_UNITS_CAP_WINDOW_SECS}"),
            });
        }
        Ok(Self {
            limiter: Limiter::new(cache, prefix),
            rate: Limit {
                max: config.parse_or("order_rate_limit", 10)?,
                window: Duration::from_secs(config.parse_or("order_rate_window_secs", 60)?),
            },
            max_units_per_product,
            units_window_secs,
        })
    }

    /// Counts a placement of `lines` by `user_id` against the rate: `429` past it, and `422` (nothing
    /// counted) for a line over the units cap on its own.
    pub async fn admit(&self, user_id: Uuid, lines: &[(Uuid, i32)]) -> Result<(), Error> {
        let cap = self.max_units_per_product;
        if let Some((product, _)) = lines.iter().find(|(_, quantity)| i64::from(*quantity) > cap) {
            return Err(Problem::validation(vec![FieldError::new(
                "items",
                format!("product {product}: a customer may order at most {cap} units of a product"),
            )])
            .into());
        }
        match self.limiter.hit(&format!("rate:{user_id}"), self.rate).await {
            Ok(_) => Ok(()),
            Err(exceeded) => Err(Error::TooManyOrders(exceeded.retry_after_secs)),
        }
    }

    /// The units cap, for the bridge to apply as it reserves.
    pub fn units_cap(&self) -> UnitsCap {
        UnitsCap { max_units_per_product: self.max_units_per_product, window_secs: self.units_window_secs }
    }

    /// The error for a reservation the units cap refused.
    pub fn refused(&self, user_id: Uuid, over: UnitsCapExceeded) -> Error {
        let max_units = self.max_units_per_product;
        tracing::info!(%user_id, product = %over.product_id, cap = max_units, "order refused: units limit");
        Error::UnitsLimit {
            product_id: over.product_id,
            max_units,
            retry_after_secs: u64::try_from(over.retry_after_secs).unwrap_or(1).max(1),
        }
    }
}
