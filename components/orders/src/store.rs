//! SQL of the `orders` schema. Each write is one statement (Spin's Postgres has no safe multi-call
//! transaction): an order, its items, its outbox event and its idempotency key are inserted by one statement,
//! which also commits the order's stock reservation; a cancellation releases it in the same statement (the
//! release SQL is the `reservations` crate's, the catalog's, included here).
//!
//! The two statements of every placement, the units check and the write, are PL/pgSQL functions
//! (`orders.held_units`, `orders.place_order`, migration V53). Spin's client prepares every statement anew
//! and closes it after one use, so Postgres parsed and planned them for every order, which cost it more than
//! running them; a function's plans stay cached for the life of the pooled connection, and these two are set
//! to use their generic plan from the first call.

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

/// Units of one product a user holds in recent orders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeldUnits {
    /// The product.
    pub product_id: Uuid,
    /// Units in the user's orders of the window that are not cancelled.
    pub units: i64,
    /// Seconds until the oldest of those orders leaves the window (`None` when there is none).
    pub frees_in_secs: Option<i64>,
}

/// The statement of [`held_units`]: the `orders.held_units` function (migration V53), whose plan Postgres
/// keeps per connection. It finds the customer's recent orders by their index and their lines by the items'
/// primary key (`order_id = ANY`), so the cost follows that customer's orders: joined as tables, the planner
/// read the whole `order_items` table for every placement once its statistics said a customer has many
/// orders (a few heavy customers are enough).
const HELD_UNITS: &str =
    "SELECT product_id, units, frees_in_secs FROM orders.held_units($1::uuid, $2::jsonb, $3::int8)";

/// For each of `products`, the units `user_id` holds in orders placed in the last `window_secs` seconds
/// and not cancelled — one row per product, zero when there is nothing (so the statement always yields
/// rows). Orders stay `confirmed` once placed (there is no fulfilment step yet), hence the window.
pub async fn held_units(
    db: &Db,
    user_id: Uuid,
    products: &[Uuid],
    window_secs: i64,
) -> Result<Vec<HeldUnits>, DbError> {
    let products = serde_json::to_value(products).map_err(|e| DbError::Conversion(e.to_string()))?;
    db.query_all(HELD_UNITS, &[user_id.into(), Value::Jsonb(products), window_secs.into()]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generic plan (the one the function is set to use) of the query inside `orders.held_units`, for
    /// `user_id` and `product`, as JSON text.
    async fn plan(test: &testkit::TestDb, user_id: Uuid, product: &str) -> String {
        let function = test
            .client
            .query_one("SELECT prosrc, proconfig FROM pg_proc WHERE oid = 'orders.held_units'::regproc", &[])
            .await
            .unwrap();
        let (body, settings): (String, Vec<String>) = (function.get(0), function.get(1));
        // The plan explained below is the one the function runs.
        assert!(settings.contains(&"plan_cache_mode=force_generic_plan".to_owned()), "{settings:?}");
        let query = body.split_once("RETURN QUERY").unwrap().1.rsplit_once(';').unwrap().0;
        test.client
            .batch_execute(&format!(
                "SET plan_cache_mode = force_generic_plan; PREPARE held(uuid, jsonb, int8) AS {query}"
            ))
            .await
            .unwrap();
        let explain = format!("EXPLAIN (FORMAT JSON) EXECUTE held('{user_id}', '[\"{product}\"]', 86400)");
        let rows = test.client.simple_query(&explain).await.unwrap();
        let plan = rows.iter().find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        });
        test.client.batch_execute("DEALLOCATE held; RESET plan_cache_mode").await.unwrap();
        plan.unwrap()
    }

    #[tokio::test]
    async fn a_customers_held_units_are_read_by_key_whatever_the_statistics_say() {
        let test = testkit::TestDb::new("pc_orders").await;
        let (customer, mugs) = (test.customer().await, test.product(10).await);
        // Ten customers with 500 recent orders each, and statistics that say so: joined as tables, the
        // planner would read every customer's lines to count one customer's.
        test.client
            .batch_execute(&format!(
                "INSERT INTO orders.orders (id, user_id, status, total_cents, currency, created_at) \
                 SELECT gen_random_uuid(), CASE WHEN c = 0 THEN '{customer}'::uuid ELSE md5(c::text)::uuid END, \
                   'confirmed', 1250, 'EUR', now() \
                 FROM generate_series(0, 9) c, generate_series(1, 500); \
                 INSERT INTO orders.order_items (order_id, product_id, name, unit_price_cents, quantity) \
                 SELECT id, '{mugs}', 'Mug', 1250, 1 FROM orders.orders; \
                 ANALYZE orders.orders; ANALYZE orders.order_items;"
            ))
            .await
            .unwrap();

        let plan = plan(&test, customer, &mugs).await;
        assert!(!plan.contains("\"Seq Scan\""), "the lines are found by key: {plan}");
        let db = test.db();
        let mugs_id = Uuid::parse_str(&mugs).unwrap();
        let held = held_units(&db, customer, &[mugs_id], 86_400).await.unwrap();
        assert_eq!(held.iter().map(|row| (row.product_id, row.units)).collect::<Vec<_>>(), [(mugs_id, 500)]);
        let other = held_units(&db, test.customer().await, &[mugs_id], 86_400).await.unwrap();
        assert_eq!((other[0].units, other[0].frees_in_secs), (0, None));
    }
}
