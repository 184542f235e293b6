//! The reservation state machine end to end on a real database: held until the order is written (which
//! commits it), released by the sweeper when the order never appears, released by a cancellation, and never
//! answered with old lines once released; and a customer's units cap, counted over their held and committed
//! reservations, also under concurrency. The bridge's catalog service is called in-process, as its gRPC
//! methods do; the order write and cancel are the orders component's own statements.

use std::time::Duration;

use bridge::catalog::Catalog;
use bridge_proto::catalog::v1::{ReserveStockRequest, ReserveStockResponse, StockLine, UnitsCap};
use bridge_proto::BridgeError;
use kit::db::Db;
use orders::store::{Inserted, Item, NewOrder};
use uuid::Uuid;

use testkit::TestDb;

fn request(order_id: Uuid, user_id: Option<Uuid>, lines: &[(&str, i32)]) -> ReserveStockRequest {
    ReserveStockRequest {
        order_id: order_id.to_string(),
        user_id: user_id.map(|id| id.to_string()).unwrap_or_default(),
        items: lines
            .iter()
            .map(|(product_id, quantity)| StockLine { product_id: (*product_id).to_owned(), quantity: *quantity })
            .collect(),
        units_cap: None,
    }
}

/// [`request`] for a customer, within a cap of `max` units per product over `window_secs`.
fn capped(order_id: Uuid, user_id: Uuid, lines: &[(&str, i32)], max: i64, window_secs: i64) -> ReserveStockRequest {
    let units_cap = Some(UnitsCap { max_units_per_product: max, window_secs });
    ReserveStockRequest { units_cap, ..request(order_id, Some(user_id), lines) }
}

/// The product and Retry-After of a reservation the cap refused; panics on any other answer.
fn refused(answer: Result<ReserveStockResponse, BridgeError>) -> (String, i64) {
    match answer {
        Ok(ReserveStockResponse { units_cap_exceeded: Some(over), lines, newly_reserved: false })
            if lines.is_empty() =>
        {
            (over.product_id, over.retry_after_secs)
        }
        other => panic!("expected a refusal by the units cap: {other:?}"),
    }
}

async fn user(db: &TestDb, active: bool) -> Uuid {
    let id = Uuid::now_v7();
    let email = format!("{}@example.com", id.simple());
    db.client
        .execute(
            "INSERT INTO users.users (id, email, full_name, password_hash, active) VALUES ($1, $2, 'A', '!', $3)",
            &[&id, &email, &active],
        )
        .await
        .unwrap();
    id
}

async fn state(db: &TestDb, order_id: Uuid) -> String {
    db.client
        .query_one("SELECT state FROM catalog.stock_reservations WHERE order_id = $1", &[&order_id])
        .await
        .unwrap()
        .get(0)
}

/// Writes order `order_id` as the orders component does after a reservation.
async fn write_order(store: &Db, order_id: Uuid, user_id: Uuid, product_id: &str, quantity: i32) -> Inserted {
    let order = NewOrder {
        id: order_id,
        user_id,
        total_cents: 1250 * i64::from(quantity),
        currency: "EUR",
        items: vec![Item {
            product_id: product_id.to_owned(),
            name: "Mug".to_owned(),
            unit_price_cents: 1250,
            quantity,
        }],
        event_id: Uuid::now_v7(),
        event: serde_json::json!({ "type": "com.pycommerce.order.created.v1", "time": null, "data": { "created_at": null } }),
        idempotency: None,
    };
    orders::store::insert(store, &order).await.unwrap()
}

fn connect(db: &TestDb) -> Db {
    Db::connect(&db.url, Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn a_reservation_whose_order_is_never_written_is_released_after_its_hold() {
    let db = TestDb::new("pc_bridge").await;
    let store = connect(&db);
    let catalog = Catalog::new(store.clone(), Duration::from_millis(300));
    let mugs = db.product(5).await;
    let customer = user(&db, true).await;
    let order_id = Uuid::now_v7();

    // The component reserved, then died before writing the order.
    let reserved = catalog.reserve(request(order_id, Some(customer), &[(&mugs, 3)])).await.unwrap();
    assert!(reserved.newly_reserved);
    assert_eq!(db.stock(&mugs).await, 2);
    assert_eq!(bridge::sweeper::sweep(&store).await, 0, "not expired yet");
    assert_eq!(db.stock(&mugs).await, 2);

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(bridge::sweeper::sweep(&store).await, 1);
    assert_eq!((db.stock(&mugs).await, state(&db, order_id).await.as_str()), (5, "released"));
    assert_eq!(bridge::sweeper::sweep(&store).await, 0, "released once");
    assert_eq!(db.stock(&mugs).await, 5);

    // A write that comes after the sweep finds its reservation gone and writes nothing.
    assert_eq!(write_order(&store, order_id, customer, &mugs, 3).await, Inserted::ReservationLost);
    let orders: i64 = db.client.query_one("SELECT count(*) FROM orders.orders", &[]).await.unwrap().get(0);
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn the_running_bridge_sweeps_expired_holds_on_its_own() {
    let db = TestDb::new("pc_bridge").await;
    let running = bridge::server::start(bridge::server::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db.url.clone(),
        pool_size: 4,
        db_timeout: Duration::from_secs(2),
        health_interval: Duration::from_secs(1),
        reservation_hold: Duration::from_millis(200),
        sweep_interval: Duration::from_millis(100),
        outbox_retention: None,
        service_token: bridge::auth::ServiceToken::new(&bridge::auth::generate_token()).unwrap(),
        relay: None,
        consumer: None,
    })
    .await
    .unwrap();
    let mugs = db.product(4).await;
    let catalog = Catalog::new(connect(&db), Duration::from_millis(200));
    catalog.reserve(request(Uuid::now_v7(), None, &[(&mugs, 4)])).await.unwrap();
    assert_eq!(db.stock(&mugs).await, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while db.stock(&mugs).await != 4 {
        assert!(tokio::time::Instant::now() < deadline, "the sweeper never released the hold");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_written_order_commits_its_reservation_and_only_its_cancellation_releases_it() {
    let db = TestDb::new("pc_bridge").await;
    let store = connect(&db);
    let catalog = Catalog::new(store.clone(), Duration::from_millis(100));
    let mugs = db.product(5).await;
    let customer = user(&db, true).await;
    let order_id = Uuid::now_v7();

    catalog.reserve(request(order_id, Some(customer), &[(&mugs, 2)])).await.unwrap();
    assert!(matches!(write_order(&store, order_id, customer, &mugs, 2).await, Inserted::Written(_)));
    assert_eq!(state(&db, order_id).await, "committed");
    assert_eq!(write_order(&store, order_id, customer, &mugs, 2).await, Inserted::AlreadyWritten);

    // Neither ReleaseStock nor the sweeper touch a committed reservation.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!catalog.release(&order_id.to_string()).await.unwrap().released);
    assert_eq!(bridge::sweeper::sweep(&store).await, 0);
    assert_eq!(db.stock(&mugs).await, 3);

    let event = serde_json::json!({ "type": "com.pycommerce.order.cancelled.v1", "time": null, "data": {} });
    assert!(orders::store::cancel(&store, order_id, Uuid::now_v7(), event.clone()).await.unwrap());
    assert_eq!((db.stock(&mugs).await, state(&db, order_id).await.as_str()), (5, "released"));
    assert!(!orders::store::cancel(&store, order_id, Uuid::now_v7(), event).await.unwrap());
    assert_eq!(db.stock(&mugs).await, 5, "released once");
}

#[tokio::test]
async fn a_reserve_for_a_released_order_id_reserves_again_and_never_answers_the_old_lines() {
    let db = TestDb::new("pc_bridge").await;
    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let (mugs, pens) = (db.product(5).await, db.product(5).await);
    let order_id = Uuid::now_v7();

    catalog.reserve(request(order_id, None, &[(&mugs, 2)])).await.unwrap();
    assert!(catalog.release(&order_id.to_string()).await.unwrap().released);
    let again = catalog.reserve(request(order_id, None, &[(&pens, 1)])).await.unwrap();
    assert!(again.newly_reserved, "the released reservation is not reused");
    assert_eq!(again.lines.len(), 1);
    assert_eq!(again.lines[0].product_id, pens);
    assert_eq!((db.stock(&mugs).await, db.stock(&pens).await), (5, 4));
    let repeated = catalog.reserve(request(order_id, None, &[(&pens, 1)])).await.unwrap();
    assert!(!repeated.newly_reserved);
    assert_eq!(db.stock(&pens).await, 4, "held once");
}

#[tokio::test]
async fn a_reservation_for_an_inactive_or_unknown_user_reserves_nothing() {
    let db = TestDb::new("pc_bridge").await;
    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let mugs = db.product(5).await;
    let inactive = user(&db, false).await;
    for user_id in [inactive, Uuid::now_v7()] {
        let refused = catalog.reserve(request(Uuid::now_v7(), Some(user_id), &[(&mugs, 1)])).await;
        assert!(matches!(refused, Err(BridgeError::Forbidden(_))), "{refused:?}");
    }
    let malformed = ReserveStockRequest { user_id: "nope".to_owned(), ..request(Uuid::now_v7(), None, &[(&mugs, 1)]) };
    assert!(matches!(catalog.reserve(malformed).await, Err(BridgeError::Invalid(_))));
    assert_eq!(db.stock(&mugs).await, 5);
    let active = user(&db, true).await;
    assert!(catalog.reserve(request(Uuid::now_v7(), Some(active), &[(&mugs, 1)])).await.unwrap().newly_reserved);
    assert_eq!(db.stock(&mugs).await, 4);
}

#[tokio::test]
async fn an_inactive_product_is_not_found_for_reads_and_reservations() {
    let db = TestDb::new("pc_bridge").await;
    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let mugs = db.product(5).await;
    let id = Uuid::parse_str(&mugs).unwrap();
    db.client.execute("UPDATE catalog.products SET active = false WHERE id = $1", &[&id]).await.unwrap();
    assert!(matches!(catalog.product(&mugs).await, Err(BridgeError::NotFound(_))));
    assert!(matches!(catalog.check_stock(&mugs, 1).await, Err(BridgeError::NotFound(_))));
    let refused = catalog.reserve(request(Uuid::now_v7(), None, &[(&mugs, 1)])).await;
    assert!(matches!(refused, Err(BridgeError::NotFound(_))), "{refused:?}");
    assert_eq!(db.stock(&mugs).await, 5);
}

#[tokio::test]
async fn held_and_committed_reservations_count_against_a_customers_units_cap() {
    let db = TestDb::new("pc_bridge").await;
    let store = connect(&db);
    let catalog = Catalog::new(store.clone(), Duration::from_secs(60));
    let (mugs, cups) = (db.product(100).await, db.product(100).await);
    let customer = user(&db, true).await;
    let day = 86_400;

    // Held: a placement still in flight counts for the next one, which is refused for a moment only.
    let first = Uuid::now_v7();
    catalog.reserve(capped(first, customer, &[(&mugs, 15), (&cups, 1)], 20, day)).await.unwrap();
    let over = catalog.reserve(capped(Uuid::now_v7(), customer, &[(&cups, 2), (&mugs, 6)], 20, day)).await;
    assert_eq!(refused(over), (mugs.clone(), 2));
    assert_eq!((db.stock(&mugs).await, db.stock(&cups).await), (85, 99), "the refusal reserved nothing");

    // Committed: counted until the order leaves the window, which Retry-After says.
    assert!(matches!(write_order(&store, first, customer, &mugs, 15).await, Inserted::Written(_)));
    let (product, retry_after) =
        refused(catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 6)], 20, day)).await);
    assert_eq!(product, mugs);
    assert!((day - 60..=day).contains(&retry_after), "{retry_after}");

    // Exactly the cap passes; a repeat of a reserved order id is answered, not refused.
    let last = Uuid::now_v7();
    assert!(catalog.reserve(capped(last, customer, &[(&mugs, 5)], 20, day)).await.unwrap().newly_reserved);
    let repeat = catalog.reserve(capped(first, customer, &[(&mugs, 15), (&cups, 1)], 20, day)).await.unwrap();
    assert_eq!((repeat.newly_reserved, repeat.lines.len(), repeat.units_cap_exceeded), (false, 2, None));
    assert_eq!(db.stock(&mugs).await, 80);

    // A released reservation no longer counts; the cap is per customer, and only applies when asked for.
    assert!(catalog.release(&last.to_string()).await.unwrap().released);
    assert!(catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 5)], 20, day)).await.unwrap().newly_reserved);
    let other = user(&db, true).await;
    assert!(catalog.reserve(capped(Uuid::now_v7(), other, &[(&mugs, 20)], 20, day)).await.unwrap().newly_reserved);
    assert!(catalog.reserve(request(Uuid::now_v7(), Some(customer), &[(&mugs, 20)])).await.unwrap().newly_reserved);
}

#[tokio::test]
async fn reservations_made_before_the_window_do_not_count() {
    let db = TestDb::new("pc_bridge").await;
    let store = connect(&db);
    let catalog = Catalog::new(store.clone(), Duration::from_secs(60));
    let mugs = db.product(100).await;
    let customer = user(&db, true).await;
    let old = Uuid::now_v7();
    catalog.reserve(capped(old, customer, &[(&mugs, 20)], 20, 3600)).await.unwrap();
    write_order(&store, old, customer, &mugs, 20).await;
    refused(catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 1)], 20, 3600)).await);
    db.client
        .execute(
            "UPDATE catalog.stock_reservations SET created_at = now() - interval '61 minutes' WHERE order_id = $1",
            &[&old],
        )
        .await
        .unwrap();
    assert!(catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 20)], 20, 3600)).await.unwrap().newly_reserved);
}

#[tokio::test]
async fn concurrent_reservations_of_one_customer_cannot_pass_the_cap_together() {
    let db = TestDb::new("pc_bridge").await;
    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let (mugs, cups) = (db.product(1000).await, db.product(1000).await);
    let customer = user(&db, true).await;
    // Each asks for the whole cap of mugs; half of them lock cups first in their line list.
    let attempts = (0..10).map(|n| {
        let lines: Vec<(&str, i32)> =
            if n % 2 == 0 { vec![(&mugs, 20), (&cups, 1)] } else { vec![(&cups, 1), (&mugs, 20)] };
        catalog.reserve(capped(Uuid::now_v7(), customer, &lines, 20, 86_400))
    });
    let answers = futures::future::join_all(attempts).await;
    let reserved = answers.iter().filter(|answer| answer.as_ref().is_ok_and(|r| r.newly_reserved)).count();
    let capped_out =
        answers.iter().filter(|answer| answer.as_ref().is_ok_and(|r| r.units_cap_exceeded.is_some())).count();
    assert_eq!((reserved, capped_out), (1, 9), "{answers:?}");
    assert_eq!((db.stock(&mugs).await, db.stock(&cups).await), (980, 999));
}

#[tokio::test]
async fn a_units_cap_out_of_bounds_or_without_a_customer_is_invalid() {
    let db = TestDb::new("pc_bridge").await;
    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let mugs = db.product(5).await;
    let customer = user(&db, true).await;
    for (max, window_secs) in [(0, 60), (-1, 60), (20, 0), (20, -5), (20, 315_360_001)] {
        let answer = catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 1)], max, window_secs)).await;
        assert!(matches!(answer, Err(BridgeError::Invalid(_))), "{max}, {window_secs}: {answer:?}");
    }
    let anonymous =
        ReserveStockRequest { user_id: String::new(), ..capped(Uuid::now_v7(), customer, &[(&mugs, 1)], 20, 60) };
    assert!(matches!(catalog.reserve(anonymous).await, Err(BridgeError::Invalid(_))));
    assert_eq!(db.stock(&mugs).await, 5);
}

#[tokio::test]
async fn the_cap_reads_one_customers_reservations_by_key_whatever_the_statistics_say() {
    let db = TestDb::new("pc_bridge").await;
    let (customer, mugs) = (user(&db, true).await, db.product(10).await);
    // Ten customers with 500 live reservations each, and statistics that say so.
    db.client
        .batch_execute(&format!(
            "INSERT INTO catalog.stock_reservations (order_id, user_id, state, lines, expires_at) \
             SELECT gen_random_uuid(), CASE WHEN c = 0 THEN '{customer}'::uuid ELSE md5(c::text)::uuid END, \
               'committed', jsonb_build_array(jsonb_build_object('product_id', '{mugs}', 'quantity', 1)), now() \
             FROM generate_series(0, 9) c, generate_series(1, 500); \
             ANALYZE catalog.stock_reservations;"
        ))
        .await
        .unwrap();
    // The cap's query, as the function runs it: with its generic plan.
    let function = db
        .client
        .query_one("SELECT prosrc, proconfig FROM pg_proc WHERE oid = 'catalog.reserve_stock'::regproc", &[])
        .await
        .unwrap();
    let (body, settings): (String, Vec<String>) = (function.get(0), function.get(1));
    assert!(settings.contains(&"plan_cache_mode=force_generic_plan".to_owned()), "{settings:?}");
    let start = body.find("SELECT jsonb_build_object").unwrap();
    let query = body[start..].split_once("LIMIT 1;").unwrap().0.replace("INTO refusal", "");
    db.client
        .batch_execute(&format!(
            "SET plan_cache_mode = force_generic_plan; \
             PREPARE cap(uuid, uuid, jsonb, int8, int8, int8) AS {query} LIMIT 1"
        ))
        .await
        .unwrap();
    let explain = format!(
        "EXPLAIN (FORMAT JSON) EXECUTE cap(gen_random_uuid(), '{customer}', \
         '[{{\"product_id\": \"{mugs}\", \"quantity\": 1}}]', 60000, 20, 86400)"
    );
    let rows = db.client.simple_query(&explain).await.unwrap();
    let plan = rows
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap();
    assert!(!plan.contains("\"Seq Scan\""), "one customer's reservations are found by key: {plan}");
    assert!(plan.contains("stock_reservations_user_idx"), "{plan}");

    let catalog = Catalog::new(connect(&db), Duration::from_secs(60));
    let (product, _) = refused(catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 1)], 500, 86_400)).await);
    assert_eq!(product, mugs, "500 held: one more is over a cap of 500");
    assert!(
        catalog.reserve(capped(Uuid::now_v7(), customer, &[(&mugs, 1)], 501, 86_400)).await.unwrap().newly_reserved
    );
}
