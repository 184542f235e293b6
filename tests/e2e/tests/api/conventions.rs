//! What every area of the API does the same way: one timestamp format, and one way to page a listing
//! (`limit`, an opaque `cursor`, `{"items", "next_cursor"}`, a 400 naming the parameter when either is bad).

use e2e::{assert_problem, spawn_app, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::orders::{customer, place, product};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: RFC 3339, UTC, milliseconds — the API's one timestamp format.
fn is_api_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    bytes.len() == 24
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && bytes[19] == b'.'
        && digits(20..23)
        && bytes[23] == b'Z'
}

/// Every `*_at` string in `value`, with its JSON path.
fn timestamps(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = format!("{path}.{name}");
                match field {
                    Value::String(text) if name.ends_with("_at") => found.push((path, text.clone())),
                    other => timestamps(other, &path, found),
                }
            }
        }
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, item)| timestamps(item, &format!("{path}[{i}]"), found))
        }
        _ => {}
    }
}

async fn body(app: &App, method: Method, path: &str, token: &str, json: Option<&Value>) -> Value {
    let mut request = app.request(method, path).bearer_auth(token);
    if let Some(json) = json {
        request = request.json(json);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

#[test]
fn the_timestamp_check_refuses_other_precisions_and_zones() {
    assert!(is_api_timestamp("2026-11-29T10:00:00.123Z"));
    for other in ["2026-11-29T10:00:00.123456Z", "2026-11-29T10:00:00Z", "2026-11-29T10:00:00.123+00:00", "2026-11-29"]
    {
        assert!(!is_api_timestamp(other), "{other}");
    }
}

#[tokio::test]
async fn every_timestamp_the_api_returns_has_one_format_in_every_area() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    // Unique, as every test that writes must be on a shared system (category names are unique).
    let name = format!("Conventions {}", uuid::Uuid::new_v4().simple());
    let category = body(&app, Method::POST, "/categories", &admin, Some(&json!({ "name": name }))).await;
    let cups = product(&app, 450, 10).await;
    let alice = customer(&app).await;
    let order: Value = place(&app, &alice, &json!({ "items": [{ "product_id": cups, "quantity": 1 }] }), None)
        .await
        .json()
        .await
        .unwrap();
    let order_path = format!("/orders/{}", order["id"].as_str().unwrap());

    let responses = [
        ("category", category.clone()),
        (
            "category read",
            body(&app, Method::GET, &format!("/categories/{}", category["id"].as_str().unwrap()), &admin, None).await,
        ),
        ("categories", body(&app, Method::GET, "/categories?limit=5", &admin, None).await),
        ("product", body(&app, Method::GET, &format!("/products/{cups}"), &alice, None).await),
        ("products", body(&app, Method::GET, "/products?limit=5&sort=newest", &alice, None).await),
        ("user", body(&app, Method::GET, "/users/me", &alice, None).await),
        ("users", body(&app, Method::GET, "/users?limit=5", &admin, None).await),
        ("order", order),
        ("order read", body(&app, Method::GET, &order_path, &alice, None).await),
        ("orders", body(&app, Method::GET, "/orders?limit=5", &alice, None).await),
    ];
    for (area, response) in &responses {
        let mut found = Vec::new();
        timestamps(response, "", &mut found);
        assert!(found.len() >= 2, "{area}: expected created_at and updated_at in {response}");
        for (path, text) in found {
            assert!(is_api_timestamp(&text), "{area}{path} = {text:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ");
        }
    }
}

#[tokio::test]
async fn every_listing_pages_the_same_way_and_names_a_bad_limit_or_cursor() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let alice = customer(&app).await;
    let _bob = customer(&app).await;
    let cups = product(&app, 450, 10).await;
    product(&app, 550, 10).await;
    for slug in ["a", "b"] {
        let name = format!("Paging {slug} {}", uuid::Uuid::new_v4().simple());
        body(&app, Method::POST, "/categories", &admin, Some(&json!({ "name": name }))).await;
    }
    for _ in 0..2 {
        let order = json!({ "items": [{ "product_id": cups, "quantity": 1 }] });
        assert_eq!(place(&app, &alice, &order, None).await.status(), 201);
    }

    let listings = [("/users", &admin), ("/orders", &alice), ("/products", &alice), ("/categories", &alice)];
    for (listing, token) in listings {
        let first = body(&app, Method::GET, &format!("{listing}?limit=1"), token, None).await;
        assert_eq!(first["items"].as_array().map(Vec::len), Some(1), "{listing}: {first}");
        let cursor = first["next_cursor"].as_str().unwrap_or_else(|| panic!("{listing}: no next_cursor in {first}"));
        let second = body(&app, Method::GET, &format!("{listing}?limit=1&cursor={cursor}"), token, None).await;
        assert_ne!(second["items"][0]["id"], first["items"][0]["id"], "{listing}: the cursor did not move");

        for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=bm90LWEtY3Vyc29y", "cursor")] {
            let response =
                app.request(Method::GET, &format!("{listing}?{query}")).bearer_auth(token).send().await.unwrap();
            let problem = assert_problem(response, 400).await;
            assert_eq!(problem["errors"][0]["field"], field, "{listing}?{query}: {problem}");
        }
    }
    let response =
        app.request(Method::GET, "/analytics/top-products?limit=0").bearer_auth(&admin).send().await.unwrap();
    assert_eq!(assert_problem(response, 400).await["errors"][0]["field"], "limit");
}
