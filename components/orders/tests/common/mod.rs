//! Orders as the tests of this package place them: reserved as the bridge does, written as the component does.

use std::time::Duration;

use orders::store::{self, Inserted, Item, NewOrder};
use reservations::Line;
use testkit::TestDb;
use uuid::Uuid;

/// An order of `quantity` units of `product` at EUR 12.50, its event's instants still null.
pub fn new_order(id: Uuid, user_id: Uuid, product: &str, quantity: i32) -> NewOrder<'static> {
    NewOrder {
        id,
        user_id,
        total_cents: 1250 * i64::from(quantity),
        currency: "EUR",
        items: vec![Item { product_id: product.to_owned(), name: "Mug".into(), unit_price_cents: 1250, quantity }],
        event_id: Uuid::now_v7(),
        event: serde_json::json!({ "type": "com.pycommerce.order.created.v1", "time": null, "data": { "created_at": null } }),
        idempotency: None,
    }
}

/// Reserves `quantity` units as the bridge does, then writes the order as the component does.
pub async fn place(test: &TestDb, user_id: Uuid, product: &str, quantity: i32) -> Uuid {
    let db = test.db();
    let id = Uuid::now_v7();
    let line = Line { product_id: Uuid::parse_str(product).unwrap(), quantity };
    reservations::reserve(&db, id, Some(user_id), &[line], Duration::from_secs(60), None).await.unwrap();
    let Inserted::Written(written) = store::insert(&db, &new_order(id, user_id, product, quantity)).await.unwrap()
    else {
        panic!("order {id} was not written");
    };
    // What the write answers is what a read finds: the component answers it without reading back.
    assert_eq!(store::find(&db, id).await.unwrap(), Some(written));
    id
}
