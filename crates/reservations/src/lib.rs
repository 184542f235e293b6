//! # reservations — the stock an order holds
//!
//! A reservation moves units out of `catalog.products.stock` for one order id and remembers the lines (product,
//! quantity, and the name and price charged). Its state machine:
//!
//! ```text
//!   reserve ──► held ──(the order is written, same statement)──► committed ──(cancel, same statement)──► released
//!                 │                                                                                        ▲
//!                 └──(the write failed: release_held; or expired: release_expired, the bridge's sweeper)───┘
//!   reserve again for a released order id ──► held (new lines; the old ones are never answered)
//! ```
//!
//! The catalog owns the table; this crate is its SQL, shared by the bridge (reserve, release a hold, sweep) and
//! the orders component, whose cancel statement includes [`release_on_cancel_ctes`] so that an order and its
//! reservation change together or not at all. The one other statement that moves a reservation is the order
//! write, `orders.place_order` (migration V53), which commits the held reservation as it writes the order.
//! Every statement is one statement over kit's `Db` port, so it runs natively and on Spin alike; reserving is
//! the function `catalog.reserve_stock` (migration V55), which also applies a customer's [`UnitsCap`]: held and
//! committed reservations are what a customer holds, so the cap needs no counter of its own. Products are
//! locked in id order (`FOR UPDATE`) before their stock moves, so concurrent reservations, releases and sweeps
//! cannot deadlock on them.

use std::time::Duration;

use kit::db::{Db, DbError, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use bridge_proto::limits::{MAX_LINES, MAX_QUANTITY, MAX_UNITS_CAP_WINDOW_SECS};

/// A line to reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The product.
    pub product_id: Uuid,
    /// Units, 1 to [`MAX_QUANTITY`].
    pub quantity: i32,
}

/// A reserved line: the units, and the product's name and price when they were reserved (what the order is
/// charged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservedLine {
    /// The product.
    pub product_id: Uuid,
    /// Units held.
    pub quantity: i32,
    /// The product's name.
    pub name: String,
    /// Unit price in minor units.
    pub unit_price_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// What [`reserve`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// False when this order id already held (or had committed) a reservation: these are its lines, and
    /// nothing more was taken.
    pub newly_reserved: bool,
    /// The lines, in product-id order.
    pub lines: Vec<ReservedLine>,
}

/// Why a reservation was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A line list or quantity out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// A product does not exist or is not for sale.
    #[error("product {0} is not for sale")]
    NotForSale(Uuid),
    /// A product has fewer units than a line asks for.
    #[error("product {product_id}: {wanted} wanted, {in_stock} in stock")]
    Short {
        /// The product.
        product_id: Uuid,
        /// Units asked for.
        wanted: i32,
        /// Units there are.
        in_stock: i32,
    },
    /// The customer's recent reservations already hold the [`UnitsCap`] of a product, with this one.
    #[error("product {product_id}: the units cap would be exceeded")]
    OverCap {
        /// The first such product, in id order.
        product_id: Uuid,
        /// Seconds until units of it may free up: until the oldest committed reservation of it leaves the
        /// window when those alone are too many, otherwise 2 (held reservations end within seconds).
        retry_after_secs: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Checks a line list: 1 to [`MAX_LINES`] lines, each product once, quantities 1 to [`MAX_QUANTITY`].
/// Returns the lines in product-id order.
pub fn checked_lines(lines: &[Line]) -> Result<Vec<Line>, Error> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(Error::Invalid(format!("an order has 1 to {MAX_LINES} lines")));
    }
    let mut sorted = lines.to_vec();
    sorted.sort_by_key(|line| line.product_id);
    for pair in sorted.windows(2) {
        if pair[0].product_id == pair[1].product_id {
            return Err(Error::Invalid(format!("product {} appears on two lines", pair[0].product_id)));
        }
    }
    if sorted.iter().any(|line| !(1..=MAX_QUANTITY).contains(&line.quantity)) {
        return Err(Error::Invalid(format!("quantity must be 1 to {MAX_QUANTITY}")));
    }
    Ok(sorted)
}

/// The most units of each product one customer may hold in reservations (held or committed, not released)
/// made within `window`: what a customer's recent orders may add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitsCap {
    /// Units of one product, 1 or more.
    pub max_units: i64,
    /// How far back reservations count.
    pub window: Duration,
}

/// Reserves every line or none for `order_id`, held for `hold` (after which the sweeper gives the units back
/// unless the order was written). Repeating the call for an order id that holds or committed a reservation
/// takes nothing and answers its lines; for a released one it reserves again.
///
/// With a `user_id` and a `cap`, a reservation that would take the customer past the cap is refused
/// ([`Error::OverCap`]); the customer's reservations take turns, so concurrent ones cannot pass it together
/// (the function `catalog.reserve_stock`, migration V55). Without a `user_id` the cap does not apply.
pub async fn reserve(
    db: &Db,
    order_id: Uuid,
    user_id: Option<Uuid>,
    lines: &[Line],
    hold: Duration,
    cap: Option<UnitsCap>,
) -> Result<Reservation, Error> {
    let lines = checked_lines(lines)?;
    let wanted = serde_json::to_value(&lines).map_err(|e| DbError::Conversion(e.to_string()))?;
    let hold_ms = i64::try_from(hold.as_millis()).unwrap_or(i64::MAX);
    const SQL: &str = "SELECT claimed_lines, existing_lines, over_cap, availability \
                       FROM catalog.reserve_stock($1::uuid, $2::uuid, $3::jsonb, $4::int8, $5::int8, $6::int8)";
    #[derive(Deserialize)]
    struct Availability {
        product_id: Uuid,
        wanted: i32,
        in_stock: Option<i32>,
        active: Option<bool>,
    }
    #[derive(Deserialize)]
    struct OverCap {
        product_id: Uuid,
        retry_after_secs: i64,
    }
    #[derive(Deserialize)]
    struct Outcome {
        claimed_lines: Option<Vec<ReservedLine>>,
        existing_lines: Option<Vec<ReservedLine>>,
        over_cap: Option<OverCap>,
        availability: Vec<Availability>,
    }
    let params = [
        order_id.into(),
        user_id.map_or(Value::Null, Value::from),
        Value::Jsonb(wanted),
        hold_ms.into(),
        cap.map_or(Value::Null, |cap| cap.max_units.into()),
        cap.map_or(Value::Null, |cap| i64::try_from(cap.window.as_secs()).unwrap_or(i64::MAX).into()),
    ];
    // A concurrent call for the same new order id may commit between this statement's snapshot and its insert:
    // then nothing was claimed or seen, and a second run sees that reservation.
    for _ in 0..2 {
        let outcome: Outcome = db.query_one(SQL, &params).await?;
        if let Some(lines) = outcome.claimed_lines {
            return Ok(Reservation { newly_reserved: true, lines });
        }
        if let Some(lines) = outcome.existing_lines {
            return Ok(Reservation { newly_reserved: false, lines });
        }
        if let Some(over) = outcome.over_cap {
            let retry_after_secs = u64::try_from(over.retry_after_secs).unwrap_or(1).max(1);
            return Err(Error::OverCap { product_id: over.product_id, retry_after_secs });
        }
        for line in &outcome.availability {
            match (line.active, line.in_stock) {
                (Some(true), Some(in_stock)) if in_stock < line.wanted => {
                    return Err(Error::Short { product_id: line.product_id, wanted: line.wanted, in_stock });
                }
                (Some(true), Some(_)) => {}
                _ => return Err(Error::NotForSale(line.product_id)),
            }
        }
    }
    Err(DbError::Unavailable(format!("the reservation of order {order_id} is contended; retry")).into())
}

/// Releases the reservation of `order_id` if it is still held (its order was never written); whether units
/// went back. A committed reservation is released only by cancelling its order.
pub async fn release_held(db: &Db, order_id: Uuid) -> Result<bool, DbError> {
    release(db, "r.order_id = $1 AND r.state = 'held'", &[order_id.into()]).await.map(|released| !released.is_empty())
}

/// Releases up to `batch` held reservations whose expiry has passed (their order was never written) and
/// returns their order ids. Reservations another transaction holds are skipped until the next sweep, so an
/// order write that commits its reservation at the same moment wins or loses as a whole.
pub async fn release_expired(db: &Db, batch: i64) -> Result<Vec<Uuid>, DbError> {
    release(
        db,
        "r.order_id IN (SELECT order_id FROM catalog.stock_reservations \
                        WHERE state = 'held' AND expires_at < now() \
                        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         AND r.state = 'held'",
        &[batch.into()],
    )
    .await
}

/// Releases the reservations matching `condition` (over `catalog.stock_reservations r`), gives their units
/// back, and returns their order ids.
async fn release(db: &Db, condition: &str, params: &[Value]) -> Result<Vec<Uuid>, DbError> {
    let sql = format!(
        "WITH targets AS (SELECT r.order_id, r.lines FROM catalog.stock_reservations r WHERE {condition} \
                          FOR UPDATE), {RESTOCK} \
         SELECT order_id FROM released"
    );
    #[derive(Deserialize)]
    struct Released {
        order_id: Uuid,
    }
    let released: Vec<Released> = db.query_all(&sql, params).await?;
    Ok(released.into_iter().map(|row| row.order_id).collect())
}

/// CTEs that release the reservations of the CTE `targets` (columns `order_id`, `lines`, rows locked):
/// `released` (their order ids) and the units given back to stock, products locked in id order first.
const RESTOCK: &str = "\
    units AS (SELECT l.product_id, sum(l.quantity)::integer AS quantity FROM targets t, \
              jsonb_to_recordset(t.lines) AS l(product_id uuid, quantity integer) GROUP BY l.product_id), \
    restock_locked AS (SELECT p.id FROM catalog.products p WHERE p.id IN (SELECT product_id FROM units) \
                       ORDER BY p.id FOR UPDATE OF p), \
    released AS (UPDATE catalog.stock_reservations r SET state = 'released', released_at = now(), \
                     updated_at = now() \
                 FROM targets t WHERE r.order_id = t.order_id RETURNING r.order_id), \
    restocked AS (UPDATE catalog.products p SET stock = p.stock + u.quantity FROM units u \
                  WHERE p.id = u.product_id AND p.id IN (SELECT id FROM restock_locked) RETURNING p.id)";

/// CTEs for the statement that cancels order `$1`, given a CTE `cancelled` that yields the order's id when
/// this statement cancelled it: the order's reservation (held or committed) is released and its units go
/// back, in the same statement; `released` yields the order id when that happened.
pub fn release_on_cancel_ctes() -> String {
    format!(
        "targets AS (SELECT r.order_id, r.lines FROM catalog.stock_reservations r \
                     WHERE r.order_id = $1 AND r.state IN ('held', 'committed') \
                       AND EXISTS (SELECT 1 FROM cancelled) FOR UPDATE), {RESTOCK}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u128, quantity: i32) -> Line {
        Line { product_id: Uuid::from_u128(n), quantity }
    }

    #[test]
    fn lines_are_sorted_and_checked() {
        let sorted = checked_lines(&[line(2, 1), line(1, 3)]).unwrap();
        assert_eq!(sorted, [line(1, 3), line(2, 1)]);
        assert!(matches!(checked_lines(&[]), Err(Error::Invalid(_))));
        assert!(matches!(checked_lines(&[line(1, 1), line(1, 2)]), Err(Error::Invalid(_))));
        assert!(matches!(checked_lines(&[line(1, 0)]), Err(Error::Invalid(_))));
        assert!(matches!(checked_lines(&[line(1, MAX_QUANTITY + 1)]), Err(Error::Invalid(_))));
        let many: Vec<Line> = (0..=MAX_LINES as u128).map(|n| line(n, 1)).collect();
        assert!(matches!(checked_lines(&many), Err(Error::Invalid(_))));
    }
}
