//! The catalog through the gateway: CRUD of products and categories, admin-only writes, validation and
//! conflicts, the filtered keyset listing (checked page by page against an independent computation on
//! 10 000 seeded products), and the Redis cache (hit after miss, invalidation, TTLs, Redis down).

use std::collections::{HashMap, HashSet};

use e2e::{assert_problem, spawn_app, test_redis_url, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------------------
// helpers

async fn send(app: &App, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> reqwest::Response {
    let mut request = app.request(method, path);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request failed")
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "body: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

fn product(sku: &str, name: &str, cents: i64, stock: i64, category: Option<&str>) -> Value {
    json!({
        "sku": sku,
        "name": name,
        "description": "A fine thing.",
        "category_id": category,
        "price": { "cents": cents, "currency": "EUR" },
        "stock": stock,
    })
}

async fn create_category(app: &App, admin: &str, name: &str, parent: Option<&str>) -> Value {
    let body = json!({ "name": name, "parent_id": parent });
    json_of(send(app, Method::POST, "/categories", Some(admin), Some(body)).await, 201).await
}

async fn create_product(app: &App, admin: &str, body: Value) -> Value {
    json_of(send(app, Method::POST, "/products", Some(admin), Some(body)).await, 201).await
}

fn cache_status(response: &reqwest::Response) -> String {
    response.headers().get("x-cache").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(test_redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// A product write without its `stock` (a replacement that leaves the units to orders and adjustments).
fn without_stock(mut body: Value) -> Value {
    if let Some(fields) = body.as_object_mut() {
        fields.remove("stock");
    }
    body
}

/// The data keys (not hit counters) of cached listings under `prefix`.
async fn listing_keys(prefix: &str) -> Vec<String> {
    let mut connection = redis().await;
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}v*:list:*")).query_async(&mut connection).await.unwrap();
    keys.into_iter().filter(|key| !key.ends_with(":hits")).collect()
}

async fn ttl(key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(&mut redis().await).await.unwrap()
}

async fn counter(key: &str) -> i64 {
    let value: Option<i64> = redis::cmd("GET").arg(key).query_async(&mut redis().await).await.unwrap();
    value.unwrap_or(0)
}

/// A short random marker (8 lower-case hex digits) that makes a test's SKUs, names and slugs its own, so it
/// runs on a shared catalog (an external system) as well as on one of its own.
fn marker() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

// ---------------------------------------------------------------------------------------------------------
// CRUD and authorization

#[tokio::test]
async fn an_admin_creates_reads_replaces_and_deletes_a_product() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let sku = format!("tea-{}", marker());
    let category = create_category(&app, &admin, &format!("Teas {}", uuid::Uuid::new_v4()), None).await;
    let category_id = category["id"].as_str().unwrap();

    let response = send(
        &app,
        Method::POST,
        "/products",
        Some(&admin),
        Some(product(&sku, " Green tea ", 450, 3, Some(category_id))),
    )
    .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let created = json_of(response, 201).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/products/{id}"));
    assert_eq!(created["sku"], sku.to_uppercase(), "SKUs are stored upper case");
    assert_eq!(created["name"], "Green tea");
    assert_eq!(created["price"], json!({ "cents": 450, "currency": "EUR" }));
    assert_eq!(created["category_id"], category_id);
    assert_eq!(created["active"], true);
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'), "{created}");

    let read = json_of(app.get(&location).await, 200).await;
    assert_eq!(read, created);

    let replacement = json!({
        "sku": sku.to_uppercase(), "name": "Green tea, loose", "price": { "cents": 520, "currency": "eur" }, "stock": 0,
        "active": false
    });
    // A replacement that sets the stock must name the revision it was read at.
    let put = app.request(Method::PUT, &location).bearer_auth(&admin).header("if-match", &etag).json(&replacement);
    let replaced = json_of(put.send().await.unwrap(), 200).await;
    assert_eq!(replaced["price"]["cents"], 520);
    assert_eq!(replaced["category_id"], Value::Null);
    assert_eq!(replaced["active"], false);
    assert_eq!(replaced["created_at"], created["created_at"]);

    // Inactive: hidden from the public, visible to admins.
    assert_problem(app.get(&location).await, 404).await;
    let as_admin = json_of(send(&app, Method::GET, &location, Some(&admin), None).await, 200).await;
    assert_eq!(as_admin["name"], "Green tea, loose");

    assert_eq!(send(&app, Method::DELETE, &location, Some(&admin), None).await.status(), 204);
    assert_problem(send(&app, Method::GET, &location, Some(&admin), None).await, 404).await;
    assert_problem(send(&app, Method::DELETE, &location, Some(&admin), None).await, 404).await;
    let gone = without_stock(product(&format!("{sku}-x"), "x", 1, 1, None));
    assert_problem(send(&app, Method::PUT, &location, Some(&admin), Some(gone)).await, 404).await;
}

#[tokio::test]
async fn catalog_writes_are_admin_only() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let customer = app.token(Role::Customer);
    let sku = format!("AUTH-{}", marker());
    let existing = create_product(&app, &admin, product(&sku, "Kettle", 2500, 1, None)).await;
    let product_path = format!("/products/{}", existing["id"].as_str().unwrap());
    let category = create_category(&app, &admin, &format!("Auth {}", uuid::Uuid::new_v4()), None).await;
    let category_path = format!("/categories/{}", category["id"].as_str().unwrap());
    let writes = [
        (Method::POST, "/products".to_owned(), Some(product(&format!("{sku}-2"), "Cup", 100, 1, None))),
        (Method::PUT, product_path.clone(), Some(product(&sku, "Cup", 100, 1, None))),
        (Method::DELETE, product_path.clone(), None),
        (Method::POST, "/categories".to_owned(), Some(json!({ "name": format!("Sneaky {sku}") }))),
        (Method::PUT, category_path.clone(), Some(json!({ "name": format!("Sneaky {sku}") }))),
        (Method::DELETE, category_path.clone(), None),
    ];
    for (method, path, body) in writes {
        assert_problem(send(&app, method.clone(), &path, None, body.clone()).await, 401).await;
        let problem = assert_problem(send(&app, method.clone(), &path, Some(&customer), body).await, 403).await;
        assert_eq!(problem["type"], "urn:pycommerce:problem:forbidden", "{method} {path}");
    }
    // Nothing changed, and reads stay public.
    let read = json_of(app.get(&product_path).await, 200).await;
    assert_eq!(read["name"], "Kettle");
    json_of(app.get(&category_path).await, 200).await;
    // A customer cannot see inactive products through the listing either.
    assert_problem(send(&app, Method::GET, "/products?include_inactive=true", Some(&customer), None).await, 403).await;
    assert_problem(app.get("/products?include_inactive=true").await, 401).await;
}

#[tokio::test]
async fn invalid_product_writes_are_422_naming_each_field() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let sku = format!("BAD-{}", marker());
    let sku = sku.as_str();
    let cases = [
        (product(sku, "Thing", -1, 1, None), "price.cents"),
        (product(sku, "Thing", 1, -1, None), "stock"),
        (product(sku, "   ", 1, 1, None), "name"),
        (product(sku, &"n".repeat(201), 1, 1, None), "name"),
        (product("", "Thing", 1, 1, None), "sku"),
        (product("BAD 1", "Thing", 1, 1, None), "sku"),
        (product(sku, "Thing", 1, 1, Some("not-a-uuid")), "category_id"),
        (product(sku, "Thing", 1, 1, Some(&uuid::Uuid::new_v4().to_string())), "category_id"),
        (product(sku, "Thing", 1, 3_000_000_000, None), "stock"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EURO" }, "stock": 1 }), "price.currency"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "XYZ" }, "stock": 1 }), "price.currency"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": "1", "currency": "EUR" }, "stock": 1 }), "price.cents"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1.5, "currency": "EUR" }, "stock": 1 }), "price.cents"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1e30, "currency": "EUR" }, "stock": 1 }), "price.cents"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EUR" } }), ""),
        (json!({ "sku": sku, "name": 7, "price": { "cents": 1, "currency": "EUR" }, "stock": 1 }), "name"),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EUR" }, "stock": 1, "id": "x" }), ""),
        (json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EUR", "tax": 1 }, "stock": 1 }), ""),
        (
            json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EUR" }, "stock": 1, "description": "\u{0}" }),
            "description",
        ),
        (
            json!({ "sku": sku, "name": "T", "price": { "cents": 1, "currency": "EUR" }, "stock": 1, "description": "d".repeat(5001) }),
            "description",
        ),
        (json!([1, 2]), ""),
    ];
    for (body, field) in cases {
        let problem =
            assert_problem(send(&app, Method::POST, "/products", Some(&admin), Some(body.clone())).await, 422).await;
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.starts_with(field) || *f == field), "{body}: expected {field}, got {problem}");
    }

    // Not JSON at all: 400; not declared as JSON: 415.
    let malformed = app
        .request(Method::POST, "/products")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"sku\": ")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, 400).await;
    let text = app.request(Method::POST, "/products").bearer_auth(&admin).body("sku=1").send().await.unwrap();
    assert_problem(text, 415).await;

    // Nothing was created: the SKU is still free.
    if app.is_local() {
        // Only on a catalog of its own is the whole listing empty.
        let listed =
            json_of(send(&app, Method::GET, "/products?include_inactive=true", Some(&admin), None).await, 200).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
    }
    create_product(&app, &admin, product(sku, "Thing", 1, 1, None)).await;
    // Unicode and SQL metacharacters are plain data.
    let odd_name = "Café ☕ '; DROP TABLE catalog.products; --";
    let odd = create_product(&app, &admin, product(&format!("{sku}-ODD"), odd_name, 1, 1, None)).await;
    let read = json_of(app.get(&format!("/products/{}", odd["id"].as_str().unwrap())).await, 200).await;
    assert_eq!(read["name"], odd_name);
}

#[tokio::test]
async fn duplicates_and_used_categories_are_conflicts() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let m = marker();
    let parent = create_category(&app, &admin, &format!("Garden {m}"), None).await;
    let parent_id = parent["id"].as_str().unwrap();
    assert_eq!(parent["slug"], format!("garden-{m}"));
    let child = create_category(&app, &admin, &format!("Garden tools {m}"), Some(parent_id)).await;
    assert_eq!(child["parent_id"], parent_id);
    assert_eq!(child["slug"], format!("garden-tools-{m}"));

    let same_name = json!({ "name": format!("GARDEN {}", m.to_uppercase()), "slug": format!("other-{m}") });
    let duplicate_name = send(&app, Method::POST, "/categories", Some(&admin), Some(same_name)).await;
    assert_eq!(assert_problem(duplicate_name, 409).await["errors"][0]["field"], "name");
    let same_slug = json!({ "name": format!("Other {m}"), "slug": format!("garden-{m}") });
    let duplicate_slug = send(&app, Method::POST, "/categories", Some(&admin), Some(same_slug)).await;
    assert_eq!(assert_problem(duplicate_slug, 409).await["errors"][0]["field"], "slug");
    let not_a_slug = json!({ "name": format!("Other {m}"), "slug": "Not A Slug" });
    let bad_slug = send(&app, Method::POST, "/categories", Some(&admin), Some(not_a_slug)).await;
    assert_eq!(assert_problem(bad_slug, 422).await["errors"][0]["field"], "slug");
    let no_slug = send(&app, Method::POST, "/categories", Some(&admin), Some(json!({ "name": "日本茶" }))).await;
    assert_eq!(assert_problem(no_slug, 422).await["errors"][0]["field"], "slug");
    let unknown_parent = json!({ "name": format!("Orphan {m}"), "parent_id": uuid::Uuid::new_v4().to_string() });
    let orphan = send(&app, Method::POST, "/categories", Some(&admin), Some(unknown_parent)).await;
    assert_eq!(assert_problem(orphan, 422).await["errors"][0]["field"], "parent_id");

    let sku = format!("dup-{m}");
    create_product(&app, &admin, product(&sku, "Spade", 1500, 2, Some(child["id"].as_str().unwrap()))).await;
    let rake = product(&sku.to_uppercase(), "Rake", 900, 1, None);
    let duplicate_sku = send(&app, Method::POST, "/products", Some(&admin), Some(rake)).await;
    assert_eq!(assert_problem(duplicate_sku, 409).await["errors"][0]["field"], "sku");

    // A category with subcategories, or with products, cannot go.
    let parent_path = format!("/categories/{parent_id}");
    assert_problem(send(&app, Method::DELETE, &parent_path, Some(&admin), None).await, 409).await;
    let child_path = format!("/categories/{}", child["id"].as_str().unwrap());
    assert_problem(send(&app, Method::DELETE, &child_path, Some(&admin), None).await, 409).await;
    // A category cannot become its own ancestor.
    let cycle = json!({ "name": format!("Garden {m}"), "parent_id": child["id"] });
    let problem = assert_problem(send(&app, Method::PUT, &parent_path, Some(&admin), Some(cycle)).await, 422).await;
    assert_eq!(problem["errors"][0]["field"], "parent_id");
    let renamed = json!({ "name": format!("Garden & Outdoor {m}"), "slug": format!("garden-outdoor-{m}") });
    let updated = json_of(send(&app, Method::PUT, &parent_path, Some(&admin), Some(renamed)).await, 200).await;
    assert_eq!(updated["slug"], format!("garden-outdoor-{m}"));

    if app.is_local() {
        // Only on a catalog of its own are these two the whole listing, in slug order.
        let listed = json_of(app.get("/categories?limit=1").await, 200).await;
        assert_eq!(listed["items"][0]["slug"], format!("garden-outdoor-{m}"));
        let cursor = listed["next_cursor"].as_str().unwrap();
        let rest = json_of(app.get(&format!("/categories?limit=1&cursor={cursor}")).await, 200).await;
        assert_eq!(rest["items"][0]["slug"], format!("garden-tools-{m}"));
        assert_eq!(rest["next_cursor"], Value::Null);
    }
    assert_problem(app.get("/categories?cursor=!!").await, 400).await;
}

#[tokio::test]
async fn invalid_ids_are_404_never_5xx() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    for path in ["/products/not-a-uuid", "/products/%27%20OR%201=1--", "/categories/1", "/products/%F0%9F%98%80"] {
        assert_problem(app.get(path).await, 404).await;
        assert_problem(send(&app, Method::DELETE, path, Some(&admin), None).await, 404).await;
    }
    assert_problem(app.get(&format!("/products/{}", uuid::Uuid::new_v4())).await, 404).await;
    assert_problem(app.get("/products/a/b").await, 404).await;
    let response = app.request(Method::HEAD, "/products").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
}

// ---------------------------------------------------------------------------------------------------------
// listing input

#[tokio::test]
async fn bad_listing_queries_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let price_cursor = {
        let admin = app.token(Role::Admin);
        let m = marker();
        for n in 0..3 {
            create_product(&app, &admin, product(&format!("Q-{m}-{n}"), "Q", 100 + n, 1, None)).await;
        }
        let page = json_of(app.get("/products?sort=price_asc&limit=1").await, 200).await;
        page["next_cursor"].as_str().unwrap().to_owned()
    };
    let cases = [
        ("min_price=500&max_price=100", "min_price"),
        ("min_price=-1", "min_price"),
        ("min_price=abc", "min_price"),
        ("max_price=99999999999999999999", "max_price"),
        ("sort=cheapest", "sort"),
        ("sort=price", "sort"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("in_stock=maybe", "in_stock"),
        ("cursor=!!!", "cursor"),
        ("cursor=eyJzIjoibmV3ZXN0In0", "cursor"),
        ("colour=red", "query"),
        ("name=a&name=b", "query"),
        ("category=%27%20OR%201%3D1", "category"),
        ("include_subcategories=true", "include_subcategories"),
        ("currency=euros", "currency"),
    ];
    for (query, field) in cases {
        let problem = assert_problem(app.get(&format!("/products?{query}")).await, 400).await;
        assert!(problem["errors"][0]["field"].is_string(), "{query}: {problem}");
        if field != "query" {
            assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
        }
    }
    // Broken percent-escapes and invalid UTF-8 are refused as such, not decoded leniently.
    for query in ["name=%zz", "cursor=%%%", "name=%ff"] {
        assert_problem(app.get(&format!("/products?{query}")).await, 400).await;
    }
    // A cursor belongs to its sort order.
    let problem = assert_problem(app.get(&format!("/products?sort=name_asc&cursor={price_cursor}")).await, 400).await;
    assert_eq!(problem["errors"][0]["field"], "cursor");
    json_of(app.get(&format!("/products?sort=price_asc&cursor={price_cursor}")).await, 200).await;
}

#[tokio::test]
async fn name_filters_are_literal_case_insensitive_and_unicode_aware() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    // Every name ends with the marker, and a search's answer is cut down to such names (marker removed), so
    // the other products of a shared catalog do not count; these come first (newest), within the limit.
    let m = marker();
    for (n, name) in
        ["Café crème", "CAFÉ NOIR", "100% cotton shirt", "snake_case mug", "O'Reilly book", "plain mug", "back\\slash"]
            .into_iter()
            .enumerate()
    {
        create_product(&app, &admin, product(&format!("U-{m}-{n}"), &format!("{name} {m}"), 100, 1, None)).await;
    }
    let suffix = format!(" {m}");
    let names = |body: Value| -> HashSet<String> {
        let items = body["items"].as_array().unwrap().iter();
        items.filter_map(|item| item["name"].as_str()?.strip_suffix(&suffix).map(str::to_owned)).collect()
    };
    let search = |query: &'static str| {
        let (app, names) = (&app, &names);
        async move { names(json_of(app.get(&format!("/products?name={query}&limit=100")).await, 200).await) }
    };
    assert_eq!(search("caf%C3%A9").await, HashSet::from(["Café crème".to_owned(), "CAFÉ NOIR".to_owned()]));
    assert_eq!(search("%25").await, HashSet::from(["100% cotton shirt".to_owned()]));
    assert_eq!(search("_").await, HashSet::from(["snake_case mug".to_owned()]));
    assert_eq!(search("%27").await, HashSet::from(["O'Reilly book".to_owned()]));
    assert_eq!(search("%5C").await, HashSet::from(["back\\slash".to_owned()]));
    let injected = json_of(app.get("/products?name=%27%20OR%201%3D1%20--").await, 200).await;
    assert_eq!(injected["items"], json!([]), "no product of any catalog is named that");
    assert_eq!(search("MUG").await, HashSet::from(["snake_case mug".to_owned(), "plain mug".to_owned()]));
}

// ---------------------------------------------------------------------------------------------------------
// filters, sorts and paging on 10 000 products

/// A seeded product as the test sees it, read straight from the database.
#[derive(Debug, Clone)]
struct Seeded {
    id: String,
    name: String,
    price: i64,
    stock: i32,
    active: bool,
    category: Option<String>,
    created_us: i64,
}

/// Seeds a category tree and 10 000 products with many ties (prices, names up to case, creation times), in
/// one statement each; returns the products and the categories (id, slug, parent).
async fn seed(app: &App) -> (Vec<Seeded>, Vec<(String, String, Option<String>)>) {
    let (client, connection) = tokio_postgres::connect(app.database_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    e2e::seed_catalog(&client).await.unwrap_or_else(|error| panic!("seed: {error:?}"));
    let rows = client
        .query(
            "SELECT id::text AS id, name, price_cents, stock, active, category_id::text AS category,
                    (extract(epoch FROM created_at) * 1000000)::int8 AS created_us
             FROM catalog.products",
            &[],
        )
        .await
        .unwrap();
    let products: Vec<Seeded> = rows
        .iter()
        .map(|row| Seeded {
            id: row.get("id"),
            name: row.get("name"),
            price: row.get("price_cents"),
            stock: row.get("stock"),
            active: row.get("active"),
            category: row.get("category"),
            created_us: row.get("created_us"),
        })
        .collect();
    let rows = client
        .query("SELECT id::text AS id, slug, parent_id::text AS parent FROM catalog.categories", &[])
        .await
        .unwrap();
    let categories = rows.iter().map(|row| (row.get("id"), row.get("slug"), row.get("parent"))).collect();
    assert_eq!(products.len(), 10_000);
    (products, categories)
}

/// Follows `next_cursor` from the first page to the last and returns the ids in order.
async fn walk(app: &App, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let path = match &cursor {
            None => format!("/products?{query}"),
            Some(cursor) => format!("/products?{query}&cursor={cursor}"),
        };
        let page = json_of(app.get(&path).await, 200).await;
        let items = page["items"].as_array().unwrap();
        ids.extend(items.iter().map(|item| item["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert!(!items.is_empty(), "a page with a next cursor must not be empty");
                cursor = Some(next.to_owned());
            }
            None => return ids,
        }
    }
    panic!("more than 200 pages for {query}");
}

// ---------------------------------------------------------------------------------------------------------
// the cache

#[tokio::test]
async fn a_write_is_visible_at_once_in_cached_listings_and_products() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    // A listing of this test's product only (its name holds the marker), so it runs on a shared catalog.
    let m = marker();
    let created =
        create_product(&app, &admin, product(&format!("INV-{m}"), &format!("Teapot {m}"), 3000, 5, None)).await;
    let path = format!("/products/{}", created["id"].as_str().unwrap());
    let listing_path = format!("/products?name={m}");
    app.get(&listing_path).await;
    app.get(&path).await;
    let cached = app.get(&listing_path).await;
    if app.is_local() {
        // Only on a system this test started does no other write bump the catalog version in between.
        assert_eq!(cache_status(&cached), "hit");
    }
    assert_eq!(json_of(cached, 200).await["items"][0]["price"]["cents"], 3000);

    let changed = without_stock(product(&format!("INV-{m}"), &format!("Teapot {m}"), 2500, 5, None));
    json_of(send(&app, Method::PUT, &path, Some(&admin), Some(changed)).await, 200).await;
    let listing = app.get(&listing_path).await;
    if app.is_local() {
        assert_eq!(cache_status(&listing), "miss");
    }
    assert_eq!(json_of(listing, 200).await["items"][0]["price"]["cents"], 2500);
    assert_eq!(json_of(app.get(&path).await, 200).await["price"]["cents"], 2500);

    // A category write bumps the version too, and a deletion is visible at once.
    create_category(&app, &admin, &format!("Inv {}", uuid::Uuid::new_v4()), None).await;
    assert_eq!(send(&app, Method::DELETE, &path, Some(&admin), None).await.status(), 204);
    assert_eq!(json_of(app.get(&listing_path).await, 200).await["items"], json!([]));
    assert_problem(app.get(&path).await, 404).await;
}

#[tokio::test]
async fn public_reads_have_a_strong_etag_and_cache_control_and_answer_304_while_unchanged() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let m = marker();
    let category = create_category(&app, &admin, &format!("Kettles {m}"), None).await;
    let category_path = format!("/categories/{}", category["id"].as_str().unwrap());
    let response = send(
        &app,
        Method::POST,
        "/products",
        Some(&admin),
        Some(product(&format!("ETAG-{m}"), &format!("Kettle {m}"), 1500, 4, None)),
    )
    .await;
    let written_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let created = json_of(response, 201).await;
    let path = format!("/products/{}", created["id"].as_str().unwrap());
    let listing_path = format!("/products?name={m}");

    let conditional = |read: String, etag: String| {
        let app = &app;
        async move { app.request(Method::GET, &read).header("if-none-match", etag).send().await.unwrap() }
    };
    for read in [listing_path.clone(), path.clone(), "/categories?limit=100".to_owned(), category_path.clone()] {
        for _ in 0..2 {
            // A miss and then (for the catalog cache) a hit carry the same validators.
            let first = app.get(&read).await;
            assert_eq!(first.status(), 200, "{read}");
            let headers = first.headers().clone();
            let etag = headers["etag"].to_str().unwrap().to_owned();
            assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2, "{read}: strong ETag {etag}");
            let cache_control = headers["cache-control"].to_str().unwrap();
            assert!(cache_control.starts_with("public, max-age="), "{read}: {cache_control}");
            assert!(headers["vary"].to_str().unwrap().contains("authorization"), "{read}");

            let unchanged = conditional(read.clone(), etag.clone()).await;
            assert_eq!(unchanged.status(), 304, "{read}");
            assert_eq!(unchanged.headers()["etag"].to_str().unwrap(), etag);
            assert!(unchanged.headers().get("cache-control").is_some());
            assert!(unchanged.bytes().await.unwrap().is_empty(), "{read}: a 304 has no body");
            let listed = conditional(read.clone(), format!("\"other\", W/{etag}")).await;
            assert_eq!(listed.status(), 304, "{read}: any listed tag, weakly compared");
            assert_eq!(conditional(read.clone(), "\"other\"".to_owned()).await.status(), 200, "{read}");
        }
    }

    // A product page's ETag is its revision: the one a write returned and `If-Match` takes.
    let page = app.get(&path).await;
    assert_eq!(page.headers()["etag"].to_str().unwrap(), written_etag);
    let old_listing_etag = app.get(&listing_path).await.headers()["etag"].to_str().unwrap().to_owned();
    let changed = without_stock(product(&format!("ETAG-{m}"), &format!("Kettle {m}"), 1400, 4, None));
    json_of(send(&app, Method::PUT, &path, Some(&admin), Some(changed)).await, 200).await;
    let relisted = conditional(listing_path.clone(), old_listing_etag.clone()).await;
    assert_eq!(relisted.status(), 200, "a changed listing is sent again");
    assert_ne!(relisted.headers()["etag"].to_str().unwrap(), old_listing_etag);
    assert_eq!(conditional(path.clone(), written_etag).await.status(), 200, "a changed product is sent again");

    // An admin's read depends on who asks: never stored by a shared cache.
    let private = send(&app, Method::GET, &path, Some(&admin), None).await;
    assert_eq!(private.headers()["cache-control"], "private, no-cache");
    assert_problem(app.get(&format!("/products/{}", uuid::Uuid::new_v4())).await, 404).await;
}

/// Need a system of their own: its database (seeded directly), its Redis keys, or settings of its own.
mod local {
    use super::*;
    use e2e::spawn_local_app_with;

    #[tokio::test]
    async fn paging_walks_every_filter_and_sort_exactly_like_an_independent_computation() {
        let app = spawn_local_app_with(&[]).await;
        let (products, categories) = seed(&app).await;
        let slug_of: HashMap<&str, &str> =
            categories.iter().map(|(id, slug, _)| (id.as_str(), slug.as_str())).collect();
        let parent_of: HashMap<&str, Option<&str>> =
            categories.iter().map(|(id, _, parent)| (id.as_str(), parent.as_deref())).collect();
        let in_tree = |category: Option<&str>, root: &str| {
            let mut current = category;
            while let Some(id) = current {
                if slug_of.get(id) == Some(&root) {
                    return true;
                }
                current = parent_of.get(id).copied().flatten();
            }
            false
        };

        type Pick<'a> = Box<dyn Fn(&Seeded) -> bool + 'a>;
        let cases: Vec<(&str, &str, Pick)> = vec![
            ("limit=100", "newest", Box::new(|_| true)),
            ("limit=100&min_price=1000&max_price=2500", "price_asc", Box::new(|p| (1000..=2500).contains(&p.price))),
            ("limit=77&in_stock=true", "price_desc", Box::new(|p| p.stock > 0)),
            ("limit=100&in_stock=false", "oldest", Box::new(|p| p.stock == 0)),
            ("limit=100&name=WIDGET%201", "name_asc", Box::new(|p| p.name.to_lowercase().contains("widget 1"))),
            (
                "limit=50&category=home&include_subcategories=true",
                "name_desc",
                Box::new(|p| in_tree(p.category.as_deref(), "home")),
            ),
            (
                "limit=100&category=kitchen",
                "newest",
                Box::new(|p| p.category.as_deref().and_then(|c| slug_of.get(c)) == Some(&"kitchen")),
            ),
            (
                "limit=100&category=00000000-0000-4000-8000-000000000004&max_price=3000&in_stock=true&currency=eur",
                "price_asc",
                Box::new(|p| {
                    p.category.as_deref() == Some("00000000-0000-4000-8000-000000000004")
                        && p.price <= 3000
                        && p.stock > 0
                }),
            ),
        ];
        for (query, sort, pick) in &cases {
            let mut expected: Vec<&Seeded> = products.iter().filter(|p| p.active && pick(p)).collect();
            match *sort {
                "price_asc" => expected.sort_by(|a, b| (a.price, &a.id).cmp(&(b.price, &b.id))),
                "price_desc" => expected.sort_by(|a, b| (b.price, &b.id).cmp(&(a.price, &a.id))),
                "name_asc" => {
                    expected.sort_by(|a, b| (a.name.to_lowercase(), &a.id).cmp(&(b.name.to_lowercase(), &b.id)))
                }
                "name_desc" => {
                    expected.sort_by(|a, b| (b.name.to_lowercase(), &b.id).cmp(&(a.name.to_lowercase(), &a.id)))
                }
                "newest" => expected.sort_by(|a, b| (b.created_us, &b.id).cmp(&(a.created_us, &a.id))),
                "oldest" => expected.sort_by(|a, b| (a.created_us, &a.id).cmp(&(b.created_us, &b.id))),
                other => panic!("unknown sort {other}"),
            }
            let expected: Vec<String> = expected.into_iter().map(|p| p.id.clone()).collect();
            assert!(expected.len() > 50, "{query}: the case should span pages ({} items)", expected.len());
            // The first case leaves `sort` out: newest is the default.
            let sort_param = if *query == "limit=100" { String::new() } else { format!("&sort={sort}") };
            let actual = walk(&app, &format!("{query}{sort_param}")).await;
            assert_eq!(actual.len(), expected.len(), "{query} sort={sort}: count");
            assert!(actual == expected, "{query} sort={sort}: order differs");
        }
        // Inactive products appear for admins who ask for them.
        let admin = app.token(Role::Admin);
        let all = json_of(
            send(&app, Method::GET, "/products?include_inactive=true&in_stock=false&limit=100", Some(&admin), None)
                .await,
            200,
        )
        .await;
        assert!(all["items"].as_array().unwrap().iter().any(|item| item["active"] == false), "{all}");
    }

    #[tokio::test]
    async fn a_listing_is_a_miss_then_a_hit_for_the_same_filters_in_any_order_or_case() {
        let app = spawn_local_app_with(&[]).await;
        let prefix = app.cache_prefix().to_owned();
        let admin = app.token(Role::Admin);
        create_product(&app, &admin, product("C-1", "Green Tea", 450, 3, None)).await;

        let first = app.get("/products?name=Tea&sort=PRICE_ASC&limit=10").await;
        assert_eq!(cache_status(&first), "miss");
        let first = json_of(first, 200).await;
        let second = app.get("/products?limit=10&sort=price_asc&name=%20tea").await;
        assert_eq!(cache_status(&second), "hit");
        assert_eq!(json_of(second, 200).await, first);
        assert_eq!(first["items"][0]["name"], "Green Tea");
        let other = app.get("/products?name=tea&sort=price_desc&limit=10").await;
        assert_eq!(cache_status(&other), "miss");

        assert_eq!(counter(&format!("{prefix}stats:misses")).await, 2);
        assert_eq!(counter(&format!("{prefix}stats:hits")).await, 1);
        assert_eq!(listing_keys(&prefix).await.len(), 2);

        // Single products are cached the same way.
        let id = first["items"][0]["id"].as_str().unwrap();
        assert_eq!(cache_status(&app.get(&format!("/products/{id}")).await), "miss");
        assert_eq!(cache_status(&app.get(&format!("/products/{id}")).await), "hit");
    }

    #[tokio::test]
    async fn orders_keep_cached_listings_and_a_sold_out_product_leaves_them_within_the_version_lease() {
        let app = spawn_local_app_with(&[("cache_version_lease_ms", "100")]).await;
        let admin = app.token(Role::Admin);
        let m = marker();
        let created =
            create_product(&app, &admin, product(&format!("LAG-{m}"), &format!("Pot {m}"), 900, 3, None)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let in_stock = format!("/products?name={m}&in_stock=true");
        let page = format!("/products/{id}");
        assert_eq!(cache_status(&app.get(&in_stock).await), "miss");
        assert_eq!(cache_status(&app.get(&page).await), "miss");

        let customer = crate::orders::customer(&app).await;
        let one = json!({ "items": [{ "product_id": id, "quantity": 1 }] });
        assert_eq!(crate::orders::place(&app, &customer, &one, None).await.status(), 201);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        // 3 -> 2 moves no version: the cached listing and page stay (their count lags by at most the TTL).
        let listing = app.get(&in_stock).await;
        assert_eq!(cache_status(&listing), "hit");
        assert_eq!(json_of(listing, 200).await["items"][0]["stock"], 3);
        assert_eq!(cache_status(&app.get(&page).await), "hit");

        // 2 -> 0: the product leaves `in_stock` listings and its page says so once the lease has run out.
        let rest = json!({ "items": [{ "product_id": id, "quantity": 2 }] });
        assert_eq!(crate::orders::place(&app, &customer, &rest, None).await.status(), 201);
        let mut seen = None;
        for _ in 0..50 {
            let listing = json_of(app.get(&in_stock).await, 200).await;
            let stock = json_of(app.get(&page).await, 200).await["stock"].clone();
            if listing["items"] == json!([]) && stock == 0 {
                seen = Some(());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(seen.is_some(), "the sold-out product still shows as available");
    }

    #[tokio::test]
    async fn popular_listings_get_the_longer_capped_ttl() {
        let prefix = format!("pc:e2e:ttl:{}:", uuid::Uuid::new_v4().simple());
        let overrides = [
            ("cache_prefix", prefix.as_str()),
            ("cache_ttl_secs", "30"),
            ("cache_popular_ttl_secs", "900"),
            ("cache_popular_threshold", "3"),
        ];
        let app = spawn_local_app_with(&overrides).await;
        let admin = app.token(Role::Admin);
        create_product(&app, &admin, product("TTL-1", "Mug", 800, 1, None)).await;

        assert_eq!(cache_status(&app.get("/products?sort=name_asc").await), "miss");
        let keys = listing_keys(&prefix).await;
        assert_eq!(keys.len(), 1, "{keys:?}");
        let key = &keys[0];
        let base = ttl(key).await;
        assert!((1..=30).contains(&base), "base TTL {base}");

        for _ in 0..2 {
            assert_eq!(cache_status(&app.get("/products?sort=name_asc").await), "hit");
        }
        assert!((1..=30).contains(&ttl(key).await), "not popular yet");
        // A counter holds its base plus the hits (a lost one is told apart and restored: catalog::cache).
        assert_eq!(counter(&format!("{key}:hits")).await, catalog::cache::HITS_BASE + 2);
        assert_eq!(cache_status(&app.get("/products?sort=name_asc").await), "hit");
        let extended = ttl(key).await;
        assert!((31..=900).contains(&extended), "popular TTL {extended}");
        assert!(ttl(&format!("{key}:hits")).await > 0, "the hit counter expires too");
        assert_eq!(counter(&format!("{prefix}stats:hits")).await, 3);
        assert_eq!(counter(&format!("{prefix}stats:misses")).await, 1);
    }

    #[tokio::test]
    async fn with_redis_unreachable_reads_are_served_from_postgres() {
        let overrides = [("redis_url", "redis://127.0.0.1:1"), ("cache_timeout_ms", "200")];
        let app = spawn_local_app_with(&overrides).await;
        let admin = app.token(Role::Admin);
        let created = create_product(&app, &admin, product("DOWN-1", "Lamp", 4200, 2, None)).await;
        for _ in 0..2 {
            let listing = app.get("/products?name=lamp").await;
            assert_eq!(cache_status(&listing), "bypass");
            assert_eq!(json_of(listing, 200).await["items"][0]["sku"], "DOWN-1");
            let one = app.get(&format!("/products/{}", created["id"].as_str().unwrap())).await;
            assert_eq!(cache_status(&one), "bypass");
            assert_eq!(json_of(one, 200).await["name"], "Lamp");
        }
    }

    #[tokio::test]
    async fn with_the_cache_turned_off_nothing_is_stored() {
        let prefix = format!("pc:e2e:off:{}:", uuid::Uuid::new_v4().simple());
        let app = spawn_local_app_with(&[("cache_prefix", prefix.as_str()), ("cache_ttl_secs", "0")]).await;
        for _ in 0..2 {
            assert_eq!(cache_status(&app.get("/products").await), "bypass");
        }
        assert!(listing_keys(&prefix).await.is_empty());
        // Just after the switch the gateway still finds the mirror and forwards a miss; nothing is stored.
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}version"))
            .arg("7 600 20 5")
            .arg("PX")
            .arg(60_000)
            .query_async(&mut redis().await)
            .await
            .unwrap();
        assert_eq!(cache_status(&app.get("/products?limit=3").await), "bypass");
        assert!(listing_keys(&prefix).await.is_empty());
    }

    #[tokio::test]
    async fn with_redis_silent_reads_time_out_of_the_cache_and_are_served_from_postgres() {
        // A "Redis" that accepts connections and never answers: every cache call runs into cache_timeout_ms.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = silent.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let mut connections = Vec::new();
            while let Ok((connection, _)) = silent.accept().await {
                connections.push(connection);
            }
        });
        let redis_url = format!("redis://{address}");
        let overrides = [("redis_url", redis_url.as_str()), ("cache_timeout_ms", "150")];
        let app = spawn_local_app_with(&overrides).await;
        let admin = app.token(Role::Admin);
        let created = create_product(&app, &admin, product("SLOW-1", "Clock", 1200, 4, None)).await;
        let listing = app.get("/products?sort=price_asc").await;
        assert_eq!(cache_status(&listing), "bypass");
        assert_eq!(json_of(listing, 200).await["items"][0]["sku"], "SLOW-1");
        let one = app.get(&format!("/products/{}", created["id"].as_str().unwrap())).await;
        assert_eq!(cache_status(&one), "bypass");
        assert_eq!(json_of(one, 200).await["name"], "Clock");
        held.abort();
    }
}
