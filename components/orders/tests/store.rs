//! The orders store against a real Postgres: an order is written exactly when its held reservation is, and
//! once; a lost reservation writes nothing; the listing pages newest first; cancelling is once and gives the
//! units back and releases the reservation (which the units cap then no longer counts).

mod common;

use common::{new_order, place};
use orders::store::{self, Inserted, ListFilter, Status};
use testkit::TestDb;
use uuid::Uuid;

#[tokio::test]
async fn an_order_is_written_once_with_its_reservation_and_never_without_one() {
    let test = TestDb::new("pc_orders").await;
    let db = test.db();
    let (alice, mugs) = (test.customer().await, test.product(5).await);
    let id = place(&test, alice, &mugs, 2).await;
    assert_eq!(store::insert(&db, &new_order(id, alice, &mugs, 2)).await.unwrap(), Inserted::AlreadyWritten);
    let order = store::find(&db, id).await.unwrap().unwrap();
    assert_eq!((order.status, order.total_cents, order.items.len()), (Status::Confirmed, 2500, 1));
    assert_eq!(test.stock(&mugs).await, 3);

    // No reservation held for this id: nothing is written.
    let unreserved = Uuid::now_v7();
    assert_eq!(store::insert(&db, &new_order(unreserved, alice, &mugs, 1)).await.unwrap(), Inserted::ReservationLost);
    assert_eq!(store::find(&db, unreserved).await.unwrap(), None);
}

#[tokio::test]
async fn listing_is_newest_first_and_cancelling_once_returns_the_units() {
    let test = TestDb::new("pc_orders").await;
    let db = test.db();
    let (alice, bob, mugs) = (test.customer().await, test.customer().await, test.product(10).await);
    let first = place(&test, alice, &mugs, 1).await;
    let second = place(&test, alice, &mugs, 2).await;
    place(&test, bob, &mugs, 3).await;

    let mine = ListFilter { user_id: Some(alice), status: None, before: None, limit: 10 };
    let ids: Vec<String> = store::list(&db, &mine).await.unwrap().into_iter().map(|order| order.id).collect();
    assert_eq!(ids, [second.to_string(), first.to_string()]);
    let newest = store::find(&db, second).await.unwrap().unwrap();
    let after = ListFilter { before: Some((newest.created_us, second)), ..mine };
    let rest: Vec<String> = store::list(&db, &after).await.unwrap().into_iter().map(|order| order.id).collect();
    assert_eq!(rest, [first.to_string()]);

    let sql = "SELECT state FROM catalog.stock_reservations WHERE order_id = $1";
    let reservation = |id: Uuid| {
        let client = &test.client;
        async move { client.query_one(sql, &[&id]).await.unwrap().get::<_, String>(0) }
    };
    assert_eq!(reservation(second).await, "committed");
    let event = serde_json::json!({ "type": "com.pycommerce.order.cancelled.v1", "time": null, "data": { "cancelled_at": null } });
    assert!(store::cancel(&db, second, Uuid::now_v7(), event.clone()).await.unwrap());
    assert!(!store::cancel(&db, second, Uuid::now_v7(), event).await.unwrap(), "already cancelled");
    assert_eq!(store::find(&db, second).await.unwrap().unwrap().status, Status::Cancelled);
    assert_eq!(test.stock(&mugs).await, 10 - 1 - 3);
    assert_eq!((reservation(second).await, reservation(first).await), ("released".into(), "committed".into()));
}
