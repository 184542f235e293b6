//! The API document through the gateway: `/openapi.json` and `/docs` are served, and real answers of every
//! area — success and problem bodies — match `docs/openapi.json` member by member (so neither the code
//! nor the document can drift unnoticed).

use e2e::openapi::{document, response_schema, violations};
use e2e::{spawn_app, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

/// Sends the request and checks the answer against the document; returns the body.
async fn documented(app: &App, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = app.request(method.clone(), path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = if status == 204 { Value::Null } else { response.json().await.unwrap() };
    let template_path = path.split('?').next().unwrap_or(path);
    let doc = document();
    let Some(schema) = response_schema(&doc, method.as_str(), template_path, status) else {
        panic!("{method} {template_path} answered {status}, which docs/openapi.json does not document: {body}");
    };
    let found = violations(&doc, schema, &body);
    assert!(found.is_empty(), "{method} {path} {status} departs from docs/openapi.json: {found:#?}\n{body}");
    (status, body)
}

#[tokio::test]
async fn the_document_and_its_page_are_served_by_the_gateway() {
    let app = spawn_app().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document(), "the gateway serves the committed document");
    assert_eq!(served["openapi"], "3.1.0");

    // A client that accepts gzip gets the same document compressed (the gateway keeps it that way).
    let compressed = app.request(Method::GET, "/openapi.json").header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(compressed.status(), 200);
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&compressed.bytes().await.unwrap()[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&inflated).unwrap(), document());

    let page = app.get("/docs").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn answers_of_every_area_match_the_document() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let email = app.unique_email();
    let password = "correct horse battery staple";

    // Health and keys.
    documented(&app, Method::GET, "/health", None, None).await;
    documented(&app, Method::GET, "/health/live", None, None).await;
    documented(&app, Method::GET, "/.well-known/jwks.json", None, None).await;

    // Accounts.
    let registration = json!({ "email": email, "password": password, "full_name": "Doc Reader" });
    let (status, _) = documented(&app, Method::POST, "/auth/register", None, Some(registration)).await;
    assert_eq!(status, 201);
    let login = json!({ "email": email, "password": password });
    let (_, tokens) = documented(&app, Method::POST, "/auth/login", None, Some(login)).await;
    let customer = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, me) = documented(&app, Method::GET, "/users/me", Some(&customer), None).await;
    documented(&app, Method::GET, "/users?limit=5", Some(&admin), None).await;
    let wrong = json!({ "email": email, "password": "not the password at all" });
    let (status, _) = documented(&app, Method::POST, "/auth/login", None, Some(wrong)).await;
    assert_eq!(status, 401);

    // Catalog.
    let category = json!({ "name": format!("Docs {}", uuid::Uuid::new_v4().simple()) });
    let (_, category) = documented(&app, Method::POST, "/categories", Some(&admin), Some(category)).await;
    documented(&app, Method::GET, "/categories", None, None).await;
    let sku = format!("DOC-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let product = json!({ "sku": sku, "name": "Doc mug", "category_id": category["id"],
                          "price": { "cents": 1250, "currency": "EUR" }, "stock": 5 });
    let (status, product) = documented(&app, Method::POST, "/products", Some(&admin), Some(product)).await;
    assert_eq!(status, 201);
    let product_id = product["id"].as_str().unwrap().to_owned();
    documented(&app, Method::GET, &format!("/products/{product_id}"), None, None).await;
    documented(&app, Method::GET, "/products?name=mug&limit=5", None, None).await;
    let (status, _) = documented(&app, Method::GET, "/products?limit=0", None, None).await;
    assert_eq!(status, 400);

    // Orders.
    let order = json!({ "items": [{ "product_id": product_id, "quantity": 2 }] });
    let (status, order) = documented(&app, Method::POST, "/orders", Some(&customer), Some(order)).await;
    assert_eq!(status, 201);
    let order_id = order["id"].as_str().unwrap().to_owned();
    documented(&app, Method::GET, "/orders", Some(&customer), None).await;
    documented(&app, Method::GET, &format!("/orders/{order_id}"), Some(&customer), None).await;
    documented(&app, Method::POST, &format!("/orders/{order_id}/cancel"), Some(&customer), None).await;
    let too_many = json!({ "items": [{ "product_id": product_id, "quantity": 6 }] });
    let (status, _) = documented(&app, Method::POST, "/orders", Some(&customer), Some(too_many)).await;
    assert_eq!(status, 409);
    let (status, _) =
        documented(&app, Method::GET, &format!("/users/{}", uuid::Uuid::new_v4()), Some(&admin), None).await;
    assert_eq!(status, 404);
    assert!(me["id"].is_string());

    // Analytics.
    if app.is_local() {
        // Only on a system this test started: the ingest takes the service key it trusts.
        let service = app.service_token();
        let event = json!({
            "specversion": "1.0", "id": uuid::Uuid::now_v7().to_string(), "source": "/pycommerce/orders",
            "type": "com.pycommerce.order.created.v1", "time": "2026-11-02T10:00:00Z",
            "datacontenttype": "application/json",
            "data": { "order_id": order_id, "user_id": me["id"], "total_cents": 2500, "currency": "EUR",
                      "created_at": "2026-11-02T10:00:00Z",
                      "items": [{ "product_id": product_id, "quantity": 2, "unit_price_cents": 1250 }] }
        });
        let (status, _) =
            documented(&app, Method::POST, "/analytics/events", Some(&service), Some(event.clone())).await;
        assert_eq!(status, 201);
        let (status, _) = documented(&app, Method::POST, "/analytics/events", Some(&service), Some(event)).await;
        assert_eq!(status, 200);
    }
    let range = "from=2026-11-01&to=2026-11-30";
    documented(&app, Method::GET, &format!("/analytics/sales?period=week&{range}"), Some(&admin), None).await;
    let (_, top) = documented(&app, Method::GET, &format!("/analytics/top-products?{range}"), Some(&admin), None).await;
    assert!(top["products"].is_array());
    let (status, _) = documented(&app, Method::GET, "/analytics/sales?period=year", Some(&admin), None).await;
    assert_eq!(status, 400);
}
