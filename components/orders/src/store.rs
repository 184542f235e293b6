//! SQL of the `orders` schema. Each write is one statement (Spin's Postgres has no safe multi-call
//! transaction): an order, its items, its outbox event and its idempotency key are inserted by one statement,
//! which also commits the order's stock reservation; a cancellation releases it in the same statement (the
//! release SQL is the `reservations` crate's, the catalog's, included here).
//!
//! The statement of every placement, the write, is a PL/pgSQL function (`orders.place_order`, migration
//! V53). Spin's client prepares every statement anew and closes it after one use, so Postgres parsed and
//! planned it for every order, which cost it more than running it; a function's plans stay cached for the
//! life of the pooled connection, and this one is set to use its generic plan from the first call.

use kit::db::{Db, DbError, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The columns of an [`Order`] (`o` is the order, items aggregated as JSON).
const ORDER_COLUMNS: &str = concat!(
    "o.id, o.user_id, o.status, o.total_cents, o.currency, ",
    kit::rfc3339!("o.created_at"),
    " AS created_at, ",
    kit::rfc3339!("o.updated_at"),
    " AS updated_at, (extract(epoch FROM o.created_at) * 1000000)::int8 AS created_us, ",
    "coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', i.product_id, 'name', i.name, ",
    "'unit_price_cents', i.unit_price_cents, 'quantity', i.quantity) ORDER BY i.product_id) ",
    "FROM orders.order_items i WHERE i.order_id = o.id), '[]'::jsonb) AS items"
);

/// One line of an order, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OrderItem))]
pub struct Item {
    /// The product.
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub product_id: String,
    /// Its name when ordered.
    pub name: String,
    /// Its price when ordered, minor units.
    pub unit_price_cents: i64,
    /// 1–1000.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub quantity: i32,
}

/// An order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OrderStatus))]
pub enum Status {
    /// Reserved for a future payment step.
    Pending,
    /// Stock reserved.
    Confirmed,
    /// Final; the stock was released.
    Cancelled,
}

/// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    /// Id.
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub id: String,
    /// Its owner.
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub user_id: String,
    /// State.
    pub status: Status,
    /// Sum of the lines, minor units.
    pub total_cents: i64,
    /// ISO 4217; every line shares it.
    pub currency: String,
    /// Lines with the name and unit price at ordering time.
    pub items: Vec<Item>,
    /// Creation, RFC 3339 UTC.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// Creation in epoch microseconds (the listing cursor).
    #[serde(skip_serializing)]
    pub created_us: i64,
}

/// A new order to write.
#[derive(Debug)]
pub struct NewOrder<'a> {
    /// Id (also the stock reservation's id).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Total.
    pub total_cents: i64,
    /// Currency.
    pub currency: &'a str,
    /// Lines.
    pub items: Vec<Item>,
    /// Outbox event id.
    pub event_id: Uuid,
    /// The CloudEvent, `time` and `data.created_at` still null.
    pub event: serde_json::Value,
    /// `(key, request hash)` when the request had an Idempotency-Key.
    pub idempotency: Option<(String, Vec<u8>)>,
}

/// What [`insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The order, its items, event and key were written, and its stock reservation committed: the order as
    /// [`find`] would now read it.
    Written(Order),
    /// An order with this id was written before (a concurrent retry with the same key won): nothing changed.
    AlreadyWritten,
    /// The reservation is no longer held (it expired and the sweeper gave the units back, or it was
    /// released): nothing was written.
    ReservationLost,
}

/// Writes order, items, outbox event and idempotency key, and commits the order's held stock reservation, in
/// one statement (the `orders.place_order` function): the order exists exactly when its reservation is
/// committed. The written order is answered from what was written and the statement's clock, so placing an
/// order needs no read after the write.
pub async fn insert(db: &Db, order: &NewOrder<'_>) -> Result<Inserted, DbError> {
    let items = serde_json::to_value(&order.items).map_err(|e| DbError::Conversion(e.to_string()))?;
    let (key, hash) = match &order.idempotency {
        Some((key, hash)) => (Value::Text(key.clone()), Value::Bytes(hash.clone())),
        None => (Value::Null, Value::Null),
    };
    // orders.place_order (migration V53) is the one statement; as a function, its plan outlives the request.
    let sql = "SELECT orders, existed, written_at, written_us FROM orders.place_order($1::uuid, $2::uuid, \
               $3::int8, $4::text, $5::jsonb, $6::uuid, $7::jsonb, $8::text, $9::bytea)";
    #[derive(Deserialize)]
    struct Written {
        orders: i64,
        existed: bool,
        written_at: String,
        written_us: i64,
    }
    let written: Written = db
        .query_one(
            sql,
            &[
                order.id.into(),
                order.user_id.into(),
                order.total_cents.into(),
                order.currency.into(),
                Value::Jsonb(items),
                order.event_id.into(),
                Value::Jsonb(order.event.clone()),
                key,
                hash,
            ],
        )
        .await?;
    Ok(match (written.orders, written.existed) {
        (1, _) => {
            let mut items = order.items.clone();
            items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
            Inserted::Written(Order {
                id: order.id.to_string(),
                user_id: order.user_id.to_string(),
                status: Status::Confirmed,
                total_cents: order.total_cents,
                currency: order.currency.to_owned(),
                items,
                created_at: written.written_at.clone(),
                updated_at: written.written_at,
                created_us: written.written_us,
            })
        }
        (_, true) => Inserted::AlreadyWritten,
        _ => Inserted::ReservationLost,
    })
}

/// The order `id`.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<Order>, DbError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders.orders o WHERE o.id = $1");
    db.query_opt(&sql, &[id.into()]).await
}

/// What an Idempotency-Key answered before.
#[derive(Debug, Deserialize)]
pub struct IdempotencyKey {
    /// Hash of the request that used the key first, lowercase hex.
    pub request_hash: String,
    /// The order that request placed.
    pub order_id: Uuid,
}

/// What an Idempotency-Key answered before: the request hash and the order.
pub async fn find_idempotency_key(db: &Db, user_id: Uuid, key: &str) -> Result<Option<IdempotencyKey>, DbError> {
    db.query_opt(
        "SELECT encode(request_hash, 'hex') AS request_hash, order_id FROM orders.idempotency_keys \
         WHERE user_id = $1 AND key = $2",
        &[user_id.into(), key.into()],
    )
    .await
}

/// Listing filters.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Only this user's orders.
    pub user_id: Option<Uuid>,
    /// Only this status.
    pub status: Option<String>,
    /// Keyset position: orders strictly older than `(created_us, id)`.
    pub before: Option<(i64, Uuid)>,
    /// Page size.
    pub limit: i64,
}

/// One page of orders, newest first.
pub async fn list(db: &Db, filter: &ListFilter) -> Result<Vec<Order>, DbError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders.orders o \
         WHERE ($1::uuid IS NULL OR o.user_id = $1::uuid) \
           AND ($2::text IS NULL OR o.status = $2::text) \
           AND ($3::int8 IS NULL OR ((extract(epoch FROM o.created_at) * 1000000)::int8, o.id) < ($3::int8, $4::uuid)) \
         ORDER BY o.created_at DESC, o.id DESC LIMIT $5"
    );
    let (before_us, before_id) = match filter.before {
        Some((us, id)) => (Value::Int64(us), Value::from(id)),
        None => (Value::Null, Value::Null),
    };
    let params = [
        filter.user_id.map_or(Value::Null, Value::from),
        filter.status.clone().into(),
        before_us,
        before_id,
        filter.limit.into(),
    ];
    db.query_all(&sql, &params).await
}

/// Marks order `id` cancelled, writes its event and releases its stock reservation (the units go back), in
/// one statement. `false` when it was already cancelled.
pub async fn cancel(db: &Db, id: Uuid, event_id: Uuid, event: serde_json::Value) -> Result<bool, DbError> {
    let sql = format!(
        "WITH clock AS (SELECT now() AS at, {now} AS text), \
         cancelled AS (UPDATE orders.orders SET status = 'cancelled', updated_at = (SELECT at FROM clock) \
           WHERE id = $1 AND status <> 'cancelled' RETURNING id), \
         {release}, \
         outbox AS (INSERT INTO orders.outbox (id, aggregate_id, event_type, payload) \
           SELECT $2, x.id, $3::jsonb ->> 'type', \
             jsonb_set(jsonb_set($3::jsonb, '{{time}}', to_jsonb(c.text)), '{{data,cancelled_at}}', to_jsonb(c.text)) \
           FROM cancelled x, clock c RETURNING 1) \
         SELECT (SELECT count(*) FROM cancelled)::int8 AS cancelled, (SELECT count(*) FROM released)::int8 AS released",
        now = kit::rfc3339!("now()"),
        release = reservations::release_on_cancel_ctes(),
    );
    #[derive(Deserialize)]
    struct Cancelled {
        cancelled: i64,
    }
    let done: Cancelled = db.query_one(&sql, &[id.into(), event_id.into(), Value::Jsonb(event)]).await?;
    Ok(done.cancelled == 1)
}
