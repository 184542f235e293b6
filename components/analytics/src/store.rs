//! SQL of the `analytics` schema. Each call is one statement (Spin's Postgres has no safe multi-call
//! transaction), and storing takes a batch of events in that one statement; instants cross the boundary as
//! RFC 3339 text.

use kit::db::{Db, DbError, Value};
use serde::{Deserialize, Serialize};

/// An order line of an order-created event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// Product id.
    pub product_id: String,
    /// Units.
    pub quantity: i32,
    /// Unit price, minor units.
    pub unit_price_cents: i64,
}

/// A validated order-created event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedEvent {
    /// Event id.
    pub event_id: String,
    /// Order id.
    pub order_id: String,
    /// When the order was created, RFC 3339 in UTC.
    pub created_at: String,
    /// ISO 4217 code of the prices.
    pub currency: String,
    /// The order's lines.
    pub lines: Vec<Line>,
}

/// A validated order-cancelled event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CancelledEvent {
    /// Event id.
    pub event_id: String,
    /// Order id.
    pub order_id: String,
    /// When the order was cancelled, RFC 3339 in UTC.
    pub cancelled_at: String,
}

/// An event id the statement stored now.
#[derive(Deserialize)]
struct StoredId {
    event_id: String,
}

/// Runs `sql` (a statement taking the events as a `jsonb` array in `$1` and yielding the `event_id`s it
/// stored) unless there are no events.
async fn insert_events<T: Serialize>(db: &Db, sql: &str, events: &[T]) -> Result<Vec<String>, DbError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let events = serde_json::to_value(events).map_err(|error| DbError::Conversion(error.to_string()))?;
    let stored: Vec<StoredId> = db.query_all(sql, &[Value::Jsonb(events)]).await?;
    Ok(stored.into_iter().map(|row| row.event_id).collect())
}

/// Stores order-created events and their lines in one statement; returns the ids stored now (an id stored
/// before is left out). `events` must not repeat an event id.
pub async fn store_created(db: &Db, events: &[CreatedEvent]) -> Result<Vec<String>, DbError> {
    insert_events(
        db,
        "WITH input AS ( \
               SELECT * FROM jsonb_to_recordset($1) \
                 AS i(event_id uuid, order_id uuid, created_at text, currency text, lines jsonb)), \
             event AS ( \
               INSERT INTO analytics.events (event_id, event_type, order_id, occurred_at) \
               SELECT event_id, 'com.pycommerce.order.created.v1', order_id, created_at::timestamptz FROM input \
               ON CONFLICT (event_id) DO NOTHING RETURNING event_id, order_id, occurred_at), \
             stored_lines AS ( \
               INSERT INTO analytics.order_lines \
                 (event_id, order_id, product_id, quantity, revenue_cents, currency, ordered_at) \
               SELECT e.event_id, e.order_id, l.product_id, sum(l.quantity)::int4, \
                      sum(l.quantity::int8 * l.unit_price_cents)::int8, i.currency, e.occurred_at \
               FROM event e JOIN input i USING (event_id) \
               CROSS JOIN jsonb_to_recordset(i.lines) AS l(product_id uuid, quantity integer, unit_price_cents bigint) \
               GROUP BY e.event_id, e.order_id, e.occurred_at, i.currency, l.product_id \
               RETURNING 1) \
             SELECT event_id::text AS event_id FROM event",
        events,
    )
    .await
}

/// Stores order-cancelled events in one statement; returns the ids stored now. `events` must not repeat an
/// event id.
pub async fn store_cancelled(db: &Db, events: &[CancelledEvent]) -> Result<Vec<String>, DbError> {
    insert_events(
        db,
        "WITH input AS ( \
               SELECT * FROM jsonb_to_recordset($1) AS i(event_id uuid, order_id uuid, cancelled_at text)), \
             event AS ( \
               INSERT INTO analytics.events (event_id, event_type, order_id, occurred_at) \
               SELECT event_id, 'com.pycommerce.order.cancelled.v1', order_id, cancelled_at::timestamptz FROM input \
               ON CONFLICT (event_id) DO NOTHING RETURNING event_id, order_id, occurred_at), \
             cancelled AS ( \
               INSERT INTO analytics.cancelled_orders (order_id, event_id, cancelled_at) \
               SELECT DISTINCT ON (order_id) order_id, event_id, occurred_at FROM event \
               ORDER BY order_id, occurred_at \
               ON CONFLICT (order_id) DO NOTHING RETURNING 1) \
             SELECT event_id::text AS event_id FROM event",
        events,
    )
    .await
}

/// Totals of one bucket, as the database found them (empty buckets are absent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BucketTotals {
    /// First day of the bucket, `YYYY-MM-DD`.
    pub start: String,
    /// Orders with at least one line in the bucket.
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Revenue, minor units.
    pub revenue_cents: i64,
}

/// Sales of non-cancelled orders in `[from, until)` (RFC 3339), grouped by `period` (`day`, `week` — ISO,
/// starting Monday — or `month`) in UTC.
pub async fn sales(
    db: &Db,
    period: &str,
    currency: &str,
    from: &str,
    until: &str,
) -> Result<Vec<BucketTotals>, DbError> {
    db.query_all(
        "SELECT to_char(date_trunc($1, l.ordered_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS start, \
                    count(DISTINCT l.order_id)::int8 AS orders, sum(l.quantity)::int8 AS units, \
                    sum(l.revenue_cents)::int8 AS revenue_cents \
             FROM analytics.order_lines l \
             WHERE l.currency = $2 AND l.ordered_at >= $3::text::timestamptz AND l.ordered_at < $4::text::timestamptz \
               AND NOT EXISTS (SELECT 1 FROM analytics.cancelled_orders c WHERE c.order_id = l.order_id) \
             GROUP BY 1 ORDER BY 1",
        &[period.into(), currency.into(), from.into(), until.into()],
    )
    .await
}

/// One ranked product's sales in a range (cancelled orders left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TopProduct))]
pub struct ProductSales {
    /// The product (its name is in the catalog).
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub product_id: String,
    /// Units sold.
    pub units: i64,
    /// Revenue, minor units.
    pub revenue_cents: i64,
    /// Orders containing it.
    pub orders: i64,
}

/// The `limit` best-selling products of non-cancelled orders in `[from, until)`, by units or revenue
/// (`by_revenue`), ties broken by product id.
pub async fn top_products(
    db: &Db,
    currency: &str,
    from: &str,
    until: &str,
    by_revenue: bool,
    limit: i64,
) -> Result<Vec<ProductSales>, DbError> {
    db.query_all(
        "SELECT l.product_id::text AS product_id, sum(l.quantity)::int8 AS units, \
                    sum(l.revenue_cents)::int8 AS revenue_cents, count(DISTINCT l.order_id)::int8 AS orders \
             FROM analytics.order_lines l \
             WHERE l.currency = $1 AND l.ordered_at >= $2::text::timestamptz AND l.ordered_at < $3::text::timestamptz \
               AND NOT EXISTS (SELECT 1 FROM analytics.cancelled_orders c WHERE c.order_id = l.order_id) \
             GROUP BY l.product_id \
             ORDER BY CASE WHEN $4 THEN sum(l.revenue_cents) ELSE sum(l.quantity) END DESC, l.product_id \
             LIMIT $5",
        &[currency.into(), from.into(), until.into(), by_revenue.into(), Value::Int64(limit)],
    )
    .await
}
