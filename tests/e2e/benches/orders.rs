//! Latency of placing an order through the gateway on devhost — user check and stock reservation through
//! the bridge (gRPC), then the one-statement write — with one client, sequentially, and of reading it back:
//! `cargo bench -p e2e --bench orders`.

use e2e::bench::measure;
use e2e::{spawn_app, spawn_local_app_with};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::main]
async fn main() {
    // One customer places 520 orders of one product: lift the per-user limits (docs/orders.md) that would
    // stop it, where the system is ours to configure.
    let lifted = [("order_rate_limit", "1000000"), ("order_max_units_per_product", "1000000")];
    let app = if e2e::is_external() { spawn_app().await } else { spawn_local_app_with(&lifted).await };
    let product = json!({ "sku": "BENCH-1", "name": "Bench cup", "price": { "cents": 100, "currency": "EUR" }, "stock": 1_000_000 });
    let created: Value = app
        .request(Method::POST, "/products")
        .bearer_auth(app.token(Role::Admin))
        .json(&product)
        .send()
        .await
        .expect("create product")
        .json()
        .await
        .expect("product body");
    let product_id = created["id"].as_str().unwrap_or_default().to_owned();
    let registered = app.register(&app.unique_email(), "benchmark password 1").await;
    let token = registered["access_token"].as_str().unwrap_or_default().to_owned();
    let order = json!({ "items": [{ "product_id": product_id, "quantity": 1 }] });

    measure("POST /orders (bridge + one-statement write)", 20, 500, || async {
        let response = app.request(Method::POST, "/orders").bearer_auth(&token).json(&order).send().await.unwrap();
        assert_eq!(response.status(), 201);
    })
    .await;
    let latest: Value = app
        .request(Method::GET, "/orders?limit=1")
        .bearer_auth(&token)
        .send()
        .await
        .expect("list orders")
        .json()
        .await
        .expect("order list");
    let path = format!("/orders/{}", latest["items"][0]["id"].as_str().unwrap_or_default());
    measure("GET /orders/{id}", 50, 2000, || async {
        let response = app.request(Method::GET, &path).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 200);
    })
    .await;
}
