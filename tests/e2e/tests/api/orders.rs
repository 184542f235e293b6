//! Orders through the gateway: placing (stock reserved through the bridge, prices from the catalog),
//! idempotency, bounded input, who sees which order, cancellation, oversell under concurrency, the per-user
//! limits (rate, units per product, also under concurrency), and a bridge that is down. The outbox rows are
//! checked in the test's own database when it started the system.

use e2e::{assert_problem, spawn_app, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// A product on sale in EUR, created by an admin through the API; its id.
pub(crate) async fn product(app: &App, price_cents: i64, stock: i32) -> String {
    product_in(app, "EUR", price_cents, stock).await
}

/// A product on sale in `currency`, created by an admin through the API; its id.
pub(crate) async fn product_in(app: &App, currency: &str, price_cents: i64, stock: i32) -> String {
    let sku = format!("SKU-{}", uuid::Uuid::new_v4().simple().to_string()[..10].to_uppercase());
    let body = json!({ "sku": sku, "name": "Espresso cup", "price": { "cents": price_cents, "currency": currency }, "stock": stock });
    let response =
        app.request(Method::POST, "/products").bearer_auth(app.token(Role::Admin)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// The product's stock now: an admin's read, which the catalog cache never answers (a public read may show a
/// count up to the cache TTL old).
async fn stock(app: &App, product_id: &str) -> i64 {
    let response = app
        .request(Method::GET, &format!("/products/{product_id}"))
        .bearer_auth(app.token(Role::Admin))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-cache"], "bypass");
    let product: Value = response.json().await.unwrap();
    product["stock"].as_i64().unwrap()
}

/// A registered customer's access token.
pub(crate) async fn customer(app: &App) -> String {
    let registered = app.register(&app.unique_email(), PASSWORD).await;
    registered["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn place(app: &App, token: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = app.request(Method::POST, "/orders").bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// The count `query` returns from the database of a system this test started.
async fn sql_count(app: &App, query: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(app.database_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.query_one(query, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn an_order_reserves_stock_charges_catalog_prices_and_writes_its_event() {
    let app = spawn_app().await;
    let cups = product(&app, 1250, 5).await;
    let saucers = product(&app, 399, 2).await;
    let token = customer(&app).await;
    let body = json!({ "items": [{ "product_id": cups, "quantity": 2 }, { "product_id": saucers, "quantity": 2 }] });
    let response = place(&app, &token, &body, None).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["total_cents"], 2 * 1250 + 2 * 399);
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!((stock(&app, &cups).await, stock(&app, &saucers).await), (3, 0));

    let fetched: Value =
        app.request(Method::GET, &location).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched, order);
    let mine: Value =
        app.request(Method::GET, "/orders").bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    if app.is_local() {
        // Only on a system this test started: its outbox, read in its own database.
        let id = order["id"].as_str().unwrap();
        let events = sql_count(&app, &format!(
            "SELECT count(*) FROM orders.outbox WHERE aggregate_id = '{id}' AND event_type = 'com.pycommerce.order.created.v1' \
             AND payload->>'specversion' = '1.0' AND (payload->'data'->>'total_cents')::int8 = 3298 \
             AND payload->>'time' IS NOT NULL AND payload->'data'->>'created_at' IS NOT NULL AND published_at IS NULL"
        )).await;
        assert_eq!(events, 1);
    }
}

#[tokio::test]
async fn the_same_idempotency_key_gives_one_order_and_another_body_is_422() {
    let app = spawn_app().await;
    let cups = product(&app, 500, 10).await;
    let token = customer(&app).await;
    let body = json!({ "items": [{ "product_id": cups, "quantity": 3 }] });
    let first: Value = place(&app, &token, &body, Some("checkout-42")).await.json().await.unwrap();
    let again = place(&app, &token, &body, Some("checkout-42")).await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(stock(&app, &cups).await, 7, "reserved once");

    let other = json!({ "items": [{ "product_id": cups, "quantity": 4 }] });
    assert_problem(place(&app, &token, &other, Some("checkout-42")).await, 422).await;
    // Another customer may use the same key for their own order.
    let someone = customer(&app).await;
    assert_eq!(place(&app, &someone, &body, Some("checkout-42")).await.status(), 201);
    if app.is_local() {
        // Only on a system this test started are these the only orders in its database.
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.orders").await, 2);
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.outbox").await, 2);
    }
}

#[tokio::test]
async fn bad_orders_are_refused_before_anything_is_reserved() {
    let app = spawn_app().await;
    let cups = product(&app, 500, 3).await;
    let token = customer(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases = [
        (json!({ "items": [{ "product_id": cups, "quantity": 1, "unit_price_cents": 1 }] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": 1 }], "total_cents": 1 }), 422),
        (json!({ "items": [] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": 0 }] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": 1001 }] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": "2" }] }), 422),
        (json!({ "items": [{ "product_id": "'; DROP TABLE orders.orders; --", "quantity": 1 }] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": 1 }, { "product_id": cups, "quantity": 1 }] }), 422),
        (json!({ "items": [{ "product_id": unknown, "quantity": 1 }] }), 422),
        (json!({ "items": [{ "product_id": cups, "quantity": 4 }] }), 409),
    ];
    for (body, status) in cases {
        assert_problem(place(&app, &token, &body, None).await, status).await;
    }
    let many: Vec<Value> =
        (0..101).map(|_| json!({ "product_id": uuid::Uuid::new_v4().to_string(), "quantity": 1 })).collect();
    assert_problem(place(&app, &token, &json!({ "items": many }), None).await, 422).await;
    let one = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
    assert_problem(place(&app, &token, &one, Some("bad key with spaces")).await, 400).await;
    assert_eq!(stock(&app, &cups).await, 3, "nothing reserved");
}

#[tokio::test]
async fn customers_see_and_cancel_only_their_orders_and_cancelling_restores_stock() {
    let app = spawn_app().await;
    let cups = product(&app, 700, 4).await;
    let alice = customer(&app).await;
    let bob = customer(&app).await;
    let order: Value = place(&app, &alice, &json!({ "items": [{ "product_id": cups, "quantity": 3 }] }), None)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/orders/{}", order["id"].as_str().unwrap());
    assert_problem(app.request(Method::GET, &path).bearer_auth(&bob).send().await.unwrap(), 404).await;
    let cancel = format!("{path}/cancel");
    assert_problem(app.request(Method::POST, &cancel).bearer_auth(&bob).send().await.unwrap(), 404).await;
    let bobs: Value = app.request(Method::GET, "/orders").bearer_auth(&bob).send().await.unwrap().json().await.unwrap();
    assert!(bobs["items"].as_array().unwrap().is_empty());
    let spying = format!("/orders?user_id={}", order["user_id"].as_str().unwrap());
    assert_problem(app.request(Method::GET, &spying).bearer_auth(&bob).send().await.unwrap(), 403).await;

    let admin = app.token(Role::Admin);
    let seen: Value = app.request(Method::GET, &path).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["id"], order["id"]);
    let listed: Value =
        app.request(Method::GET, &spying).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    assert_eq!(stock(&app, &cups).await, 1);
    let cancelled: Value =
        app.request(Method::POST, &cancel).bearer_auth(&alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock(&app, &cups).await, 4);
    let again = app.request(Method::POST, &cancel).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(stock(&app, &cups).await, 4, "released once");
    let confirmed: Value = app
        .request(Method::GET, &format!("{spying}&status=confirmed"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(confirmed["items"].as_array().unwrap().is_empty());
    if app.is_local() {
        // Only on a system this test started is this the only cancellation in its outbox.
        let cancelled_events = sql_count(
            &app,
            "SELECT count(*) FROM orders.outbox WHERE event_type = 'com.pycommerce.order.cancelled.v1'",
        )
        .await;
        assert_eq!(cancelled_events, 1);
    }
    for bad in ["/orders?limit=0", "/orders?status=shipped", "/orders?cursor=nope", "/orders/not-a-uuid"] {
        let response = app.request(Method::GET, bad).bearer_auth(&admin).send().await.unwrap();
        assert!(matches!(response.status().as_u16(), 400 | 404), "{bad}: {}", response.status());
    }
}

#[tokio::test]
async fn fifty_concurrent_orders_for_the_last_ten_units_make_exactly_ten_orders() {
    let app = spawn_app().await;
    let cups = product(&app, 100, 10).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(customer(&app).await);
    }
    let body = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
    let attempts = (0..50).map(|index| place(&app, &tokens[index % tokens.len()], &body, None));
    let statuses: Vec<u16> =
        futures::future::join_all(attempts).await.iter().map(|response| response.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 40, "{statuses:?}");
    assert_eq!(stock(&app, &cups).await, 0);
    if app.is_local() {
        // Only on a system this test started are these the only orders in its database.
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.orders").await, 10);
    }
}

#[tokio::test]
async fn fifty_concurrent_orders_and_a_stock_adjustment_in_the_middle_end_with_the_exact_stock() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let cups = product(&app, 100, 10).await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(customer(&app).await);
    }
    let body = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
    let orders =
        futures::future::join_all((0..50).map(|index| place(&app, &tokens[index % tokens.len()], &body, None)));
    let adjustment = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        app.request(Method::POST, &format!("/products/{cups}/stock-adjustments"))
            .bearer_auth(&admin)
            .json(&json!({ "delta": 5 }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let (responses, adjusted) = tokio::join!(orders, adjustment);
    assert_eq!(adjusted, 200);
    let statuses: Vec<u16> = responses.iter().map(|response| response.status().as_u16()).collect();
    let placed = statuses.iter().filter(|s| **s == 201).count() as i64;
    assert!(statuses.iter().all(|s| matches!(s, 201 | 409)), "{statuses:?}");
    assert!((10..=15).contains(&placed), "{statuses:?}");
    // Relative changes compose: nothing the orders took is overwritten, nothing is counted twice.
    assert_eq!(stock(&app, &cups).await, 10 + 5 - placed);
    if app.is_local() {
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.orders").await, placed);
    }
}

#[tokio::test]
async fn a_stock_edit_needs_the_current_etag_so_a_stale_form_cannot_undo_orders() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let cups = product(&app, 100, 5).await;
    let path = format!("/products/{cups}");
    let read = |app: &App| {
        let request = app.request(Method::GET, &path).bearer_auth(&admin);
        async move { request.send().await.unwrap() }
    };
    let before = read(&app).await;
    let stale = before.headers()["etag"].to_str().unwrap().to_owned();
    let mut form: Value = before.json().await.unwrap();
    for field in ["id", "created_at", "updated_at"] {
        form.as_object_mut().unwrap().remove(field);
    }

    // An order moves the revision; the admin's form was read before it.
    let token = customer(&app).await;
    let order = json!({ "items": [{ "product_id": cups, "quantity": 2 }] });
    assert_eq!(place(&app, &token, &order, None).await.status(), 201);

    let put = |etag: Option<&str>, body: &Value| {
        let mut request = app.request(Method::PUT, &path).bearer_auth(&admin).json(body);
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        async move { request.send().await.unwrap() }
    };
    let refused = put(Some(&stale), &form).await;
    let current = refused.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    assert_problem(refused, 412).await;
    assert_problem(put(None, &form).await, 428).await;
    assert_eq!(stock(&app, &cups).await, 3, "the stale form did not undo the order");
    assert_ne!(current.as_deref(), Some(stale.as_str()));

    // Read again, edit with the current ETag: the edit holds.
    let fresh = read(&app).await.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(current.as_deref(), Some(fresh.as_str()), "a 412 names the current ETag");
    form["stock"] = json!(10);
    let edited = put(Some(&fresh), &form).await;
    assert_eq!(edited.status(), 200);
    assert_ne!(edited.headers()["etag"].to_str().unwrap(), fresh);
    assert_eq!(stock(&app, &cups).await, 10);

    // Without `stock`, a replacement leaves the units alone and needs no ETag.
    form.as_object_mut().unwrap().remove("stock");
    form["name"] = json!("Espresso cup, white");
    assert_eq!(put(None, &form).await.status(), 200);
    assert_eq!(stock(&app, &cups).await, 10);

    // Adjustments are relative and never take the stock below zero.
    let adjust = |delta: i64, token: &str| {
        let request = app
            .request(Method::POST, &format!("/products/{cups}/stock-adjustments"))
            .bearer_auth(token)
            .json(&json!({ "delta": delta }));
        async move { request.send().await.unwrap() }
    };
    let adjusted = adjust(-3, &admin).await;
    let status = adjusted.status();
    let adjusted: Value = adjusted.json().await.unwrap();
    assert_eq!(status, 200, "{adjusted}");
    assert_eq!(adjusted["stock"], 7);
    assert_problem(adjust(-8, &admin).await, 409).await;
    assert_problem(adjust(0, &admin).await, 422).await;
    assert_problem(adjust(2_000_000, &admin).await, 422).await;
    assert_problem(adjust(1, &token).await, 403).await;
    let unknown = uuid::Uuid::new_v4();
    let missing = app
        .request(Method::POST, &format!("/products/{unknown}/stock-adjustments"))
        .bearer_auth(&admin)
        .json(&json!({ "delta": 1 }))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404).await;
    assert_eq!(stock(&app, &cups).await, 7);
}

#[tokio::test]
async fn an_inactive_user_cannot_order() {
    let app = spawn_app().await;
    let cups = product(&app, 100, 5).await;
    let registered = app.register(&app.unique_email(), PASSWORD).await;
    let token = registered["access_token"].as_str().unwrap();
    let path = format!("/users/{}", registered["user"]["id"].as_str().unwrap());
    let deactivate = json!({ "active": false });
    app.request(Method::PUT, &path).bearer_auth(app.token(Role::Admin)).json(&deactivate).send().await.unwrap();
    // The access token is still valid for a few minutes; the order is refused all the same.
    assert_problem(place(&app, token, &json!({ "items": [{ "product_id": cups, "quantity": 1 }] }), None).await, 403)
        .await;
    assert_eq!(stock(&app, &cups).await, 5);
}

/// Need a system of their own: settings of its own (a bridge that is down) and its database.
mod local {
    use super::*;
    use e2e::spawn_local_app_with;

    #[tokio::test]
    async fn with_the_bridge_down_an_order_is_503_quickly_and_nothing_is_written() {
        let app = spawn_local_app_with(&[("bridge_url", "http://127.0.0.1:1"), ("bridge_timeout_ms", "300")]).await;
        let cups = product(&app, 100, 5).await;
        let token = customer(&app).await;
        let started = std::time::Instant::now();
        let response = place(&app, &token, &json!({ "items": [{ "product_id": cups, "quantity": 1 }] }), None).await;
        assert_problem(response, 503).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "not bounded: {:?}", started.elapsed());
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.orders").await, 0);
        assert_eq!(sql_count(&app, "SELECT count(*) FROM orders.outbox").await, 0);
    }
}

#[tokio::test]
async fn placing_orders_faster_than_the_per_user_rate_is_429_with_retry_after() {
    let app = spawn_app().await;
    let cups = product(&app, 100, 50).await;
    let token = customer(&app).await;
    let body = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
    for _ in 0..10 {
        assert_eq!(place(&app, &token, &body, None).await.status(), 201);
    }
    let limited = place(&app, &token, &body, None).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429).await;
    assert_eq!(stock(&app, &cups).await, 40, "the refused order reserved nothing");
    // Another customer is not slowed down by it.
    assert_eq!(place(&app, &customer(&app).await, &body, None).await.status(), 201);
}

#[tokio::test]
async fn a_customer_holds_at_most_the_units_cap_of_a_product_until_orders_are_cancelled() {
    let app = spawn_app().await;
    let cups = product(&app, 100, 100).await;
    let token = customer(&app).await;
    let order = |quantity: i32| json!({ "items": [{ "product_id": cups, "quantity": quantity }] });
    assert_problem(place(&app, &token, &order(21), None).await, 422).await;
    let first: Value = place(&app, &token, &order(15), None).await.json().await.unwrap();
    let over = place(&app, &token, &order(6), None).await;
    let retry_after: u64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&retry_after), "until the first order leaves the 24 h window: {retry_after}");
    assert_problem(over, 429).await;
    assert_eq!(place(&app, &token, &order(5), None).await.status(), 201, "exactly the cap");
    assert_eq!(stock(&app, &cups).await, 80);
    // Cancelling gives the units back at once.
    let cancel = format!("/orders/{}/cancel", first["id"].as_str().unwrap());
    assert_eq!(app.request(Method::POST, &cancel).bearer_auth(&token).send().await.unwrap().status(), 200);
    assert_eq!(place(&app, &token, &order(6), None).await.status(), 201);
    // The cap is per customer.
    assert_eq!(place(&app, &customer(&app).await, &order(20), None).await.status(), 201);
}

#[tokio::test]
async fn ten_concurrent_orders_of_the_whole_units_cap_make_exactly_one_order() {
    let app = spawn_app().await;
    let cups = product(&app, 100, 1000).await;
    let token = customer(&app).await;
    let body = json!({ "items": [{ "product_id": cups, "quantity": 20 }] });
    let attempts = (0..10).map(|_| place(&app, &token, &body, None));
    let statuses: Vec<u16> =
        futures::future::join_all(attempts).await.iter().map(|response| response.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|status| **status == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 9, "{statuses:?}");
    assert_eq!(stock(&app, &cups).await, 980);
}
