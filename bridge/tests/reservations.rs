//! The reservation state machine end to end on a real database: held until the order is written (which
//! commits it), released by the sweeper when the order never appears, released by a cancellation, and never
//! answered with old lines once released. The bridge's catalog service is called in-process, as its gRPC
//! methods do; the order write and cancel are the orders component's own statements.

use std::time::Duration;

use bridge::catalog::Catalog;
use bridge_proto::catalog::v1::{ReserveStockRequest, StockLine};
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
