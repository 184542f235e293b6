//! The committed OpenAPI document is the generated one, is valid OpenAPI 3.1, and lists exactly the public
//! routes: every route of a component's router that the gateway forwards, the gateway's own routes, and the
//! analytics routes announced for the analytics issue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Analytics routes that the analytics component's router does not serve yet (its issue adds them). Once it
/// does, the route is checked like every other; an entry here may then be removed.
const ANNOUNCED: &[(&str, &str)] = &[
    ("get", "/analytics/top-products"),
    ("get", "/analytics/sales"),
    ("get", "/analytics/dashboard"),
    ("get", "/analytics/dashboard/app.js"),
    ("post", "/analytics/events"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed() -> String {
    std::fs::read_to_string(workspace_root().join(openapi::DOCUMENT_PATH)).expect("docs/openapi.json is readable")
}

fn generated() -> Value {
    serde_json::from_str(&openapi::to_json()).expect("the document is JSON")
}

/// `(method, path)` of every operation in the document.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if item.get(*method).is_some() {
                operations.insert(((*method).to_owned(), path.clone()));
            }
        }
    }
    operations
}

/// `(method, path)` of every `.route(Method::X, "/path", ...)` in a component's `src/lib.rs`: its router.
fn router_routes(component: &str) -> BTreeSet<(String, String)> {
    let file = workspace_root().join("components").join(component).join("src/lib.rs");
    let source = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
    let mut routes = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        let arguments: String = rest.chars().take_while(|c| *c != ')').filter(|c| !c.is_whitespace()).collect();
        let mut parts = arguments.splitn(3, ',');
        let method = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        if let (Some(method), Some(path)) =
            (method.strip_prefix("Method::"), path.strip_prefix('"').and_then(|p| p.strip_suffix('"')))
        {
            routes.insert((method.to_ascii_lowercase(), path.to_owned()));
        }
    }
    assert!(!routes.is_empty(), "no routes found in {}: has the router moved?", file.display());
    routes
}

/// Routes the gateway answers itself: the `path == "..."` comparisons of its dispatch and the documentation
/// module, all `GET` (and `HEAD`).
fn gateway_own_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for file in ["lib.rs", "api_docs.rs"] {
        let source = std::fs::read_to_string(workspace_root().join("components/gateway/src").join(file)).unwrap();
        for pattern in ["path == \"", "\n        \""] {
            for piece in source.split(pattern).skip(1) {
                let literal = piece.split('"').next().unwrap_or_default();
                let matched =
                    pattern.starts_with("path") || piece.split('"').nth(1).is_some_and(|r| r.starts_with(" =>"));
                if matched && literal.starts_with('/') {
                    routes.insert(("get".to_owned(), literal.to_owned()));
                }
            }
        }
    }
    routes
}

/// Every route a client can reach through the gateway.
fn public_routes() -> BTreeSet<(String, String)> {
    let components: BTreeSet<&str> = gateway::routes::ROUTES.iter().map(|route| route.component).collect();
    let mut public = gateway_own_routes();
    for component in components {
        for (method, path) in router_routes(component) {
            let forwarded = gateway::routes::find(&path).is_some_and(|route| route.component == component)
                && gateway::routes::check_path(&path).is_ok();
            if forwarded && method != "head" {
                public.insert((method, path));
            }
        }
    }
    public
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let committed = committed();
    assert!(
        committed == openapi::to_json(),
        "docs/openapi.json is stale: regenerate it with `cargo run -p openapi -- docs/openapi.json`"
    );
}

#[test]
fn the_document_lists_every_public_route_and_nothing_else() {
    let documented = documented(&generated());
    let public = public_routes();
    let undocumented: Vec<_> = public.difference(&documented).collect();
    assert!(undocumented.is_empty(), "public routes missing from the document: {undocumented:?}");
    let announced: BTreeSet<(String, String)> =
        ANNOUNCED.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    // A documented path may be a special case of a route's template (`/users/me` of `/users/{id}`).
    let served = |(method, path): &(String, String)| {
        public.iter().any(|(route_method, template)| route_method == method && matches_template(template, path))
    };
    let unknown: Vec<_> = documented.iter().filter(|op| !served(op) && !announced.contains(*op)).collect();
    assert!(unknown.is_empty(), "documented operations no component serves: {unknown:?}");
    // The extraction itself is sound: known routes of each kind are found.
    for expected in [("get", "/health"), ("get", "/openapi.json"), ("post", "/orders"), ("put", "/users/{id}/password")]
    {
        assert!(public.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} not found");
    }
    assert!(!public.iter().any(|(_, path)| path.contains("internal")), "internal routes are never public");
}

/// Whether `path` is `template` with any `{parameter}` segment filled in (or left as a parameter).
fn matches_template(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// Structural validity of an OpenAPI 3.1 document: the parts this API uses, checked as the specification
/// defines them (scripts/validate-deploy also runs the reference validator on the committed file).
#[test]
fn the_document_is_valid_openapi_3_1() {
    let document = generated();
    let mut problems = Vec::new();
    let version = document["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.1.") {
        problems.push(format!("openapi is {version:?}, not 3.1.x"));
    }
    for field in ["title", "version"] {
        if !document["info"][field].is_string() {
            problems.push(format!("info.{field} is missing"));
        }
    }
    let schemas = document["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let schemes = document["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();
    let mut operation_ids = BTreeMap::new();
    for (path, item) in document["paths"].as_object().cloned().unwrap_or_default() {
        if !path.starts_with('/') {
            problems.push(format!("path {path} does not start with /"));
        }
        let templated: BTreeSet<String> =
            path.split('{').skip(1).filter_map(|piece| piece.split('}').next()).map(str::to_owned).collect();
        for method in METHODS {
            let Some(operation) = item.get(*method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            match operation["responses"].as_object() {
                Some(responses) if !responses.is_empty() => {
                    for (status, response) in responses {
                        let code_ok = status == "default"
                            || (status.len() == 3 && status.chars().all(|c| c.is_ascii_digit() || c == 'X'));
                        // A shared response is a reference to `components/responses`, which must exist.
                        let response = match response["$ref"].as_str() {
                            Some(reference) => {
                                document.pointer(reference.trim_start_matches('#')).unwrap_or(&Value::Null)
                            }
                            None => response,
                        };
                        if !code_ok || !response["description"].is_string() {
                            problems.push(format!("{at}: response {status} is malformed"));
                        }
                    }
                }
                _ => problems.push(format!("{at}: no responses")),
            }
            match operation["operationId"].as_str() {
                Some(id) => {
                    if let Some(previous) = operation_ids.insert(id.to_owned(), at.clone()) {
                        problems.push(format!("operationId {id} used by {previous} and {at}"));
                    }
                }
                None => problems.push(format!("{at}: no operationId")),
            }
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let mut seen = BTreeSet::new();
            for parameter in &parameters {
                let (name, location) =
                    (parameter["name"].as_str().unwrap_or(""), parameter["in"].as_str().unwrap_or(""));
                if !["query", "header", "path", "cookie"].contains(&location) || name.is_empty() {
                    problems.push(format!("{at}: parameter {parameter} is malformed"));
                }
                if !seen.insert((name.to_owned(), location.to_owned())) {
                    problems.push(format!("{at}: parameter {name} in {location} twice"));
                }
                if location == "path" && parameter["required"] != Value::Bool(true) {
                    problems.push(format!("{at}: path parameter {name} must be required"));
                }
            }
            let path_parameters: BTreeSet<String> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            if path_parameters != templated {
                problems.push(format!("{at}: path parameters {path_parameters:?} != template {templated:?}"));
            }
            for requirement in operation["security"].as_array().cloned().unwrap_or_default() {
                for scheme in requirement.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
                {
                    if !schemes.contains_key(&scheme) {
                        problems.push(format!("{at}: unknown security scheme {scheme}"));
                    }
                }
            }
        }
    }
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    for reference in references {
        match reference.strip_prefix("#/components/schemas/") {
            Some(name) if schemas.contains_key(name) => {}
            None if reference.starts_with("#/components/responses/")
                && document.pointer(reference.trim_start_matches('#')).is_some() => {}
            _ => problems.push(format!("$ref {reference} does not resolve")),
        }
    }
    assert!(problems.is_empty(), "invalid OpenAPI document:\n{}", problems.join("\n"));
}

fn collect_references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                into.push(reference.clone());
            }
            map.values().for_each(|child| collect_references(child, into));
        }
        Value::Array(items) => items.iter().for_each(|child| collect_references(child, into)),
        _ => {}
    }
}

/// The property names of schema `name` in the generated document.
fn schema_properties(document: &Value, name: &str) -> BTreeSet<String> {
    let properties = document["components"]["schemas"][name]["properties"].as_object();
    properties.unwrap_or_else(|| panic!("no schema {name}")).keys().cloned().collect()
}

/// The keys a component writes for one of its response values.
fn serialized_keys<T: serde::Serialize>(value: &T) -> BTreeSet<String> {
    serde_json::to_value(value).unwrap().as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_resource_schemas_are_the_fields_the_components_serialize() {
    let document = generated();
    let at = "2026-11-29T10:00:00.000Z";
    let id = "0193a4f0-0000-7000-8000-000000000001";
    // Read as a component reads its rows (private keyset and revision columns included), written as it answers.
    let product: products::store::Product = serde_json::from_value(serde_json::json!({
        "id": id, "sku": "TEA-1", "name": "Tea", "description": "", "category_id": null,
        "price": { "cents": 450, "currency": "EUR" }, "stock": 3, "active": true, "created_at": at, "updated_at": at,
        "created_us": 1, "name_key": "tea", "revision": 1
    }))
    .unwrap();
    let category: products::store::Category = serde_json::from_value(serde_json::json!({
        "id": id, "name": "Tea", "slug": "tea", "parent_id": null, "created_at": at, "updated_at": at
    }))
    .unwrap();
    let user: users::store::User = serde_json::from_value(serde_json::json!({
        "id": id, "email": "a@example.com", "full_name": "A", "role": "customer", "active": true,
        "created_at": at, "updated_at": at
    }))
    .unwrap();
    let order: orders::store::Order = serde_json::from_value(serde_json::json!({
        "id": id, "user_id": id, "status": "confirmed", "total_cents": 450, "currency": "EUR",
        "items": [{ "product_id": id, "name": "Tea", "unit_price_cents": 450, "quantity": 1 }],
        "created_at": at, "updated_at": at, "created_us": 1
    }))
    .unwrap();

    assert_eq!(schema_properties(&document, "Product"), serialized_keys(&product));
    assert_eq!(schema_properties(&document, "Price"), serialized_keys(&product.price));
    assert_eq!(schema_properties(&document, "Category"), serialized_keys(&category));
    assert_eq!(schema_properties(&document, "User"), serialized_keys(&user));
    assert_eq!(schema_properties(&document, "Order"), serialized_keys(&order));
    assert_eq!(schema_properties(&document, "OrderItem"), serialized_keys(&order.items[0]));
    let tokens = auth::tokens::TokenPair {
        access_token: "a".into(),
        token_type: "Bearer",
        expires_in: 900,
        refresh_token: "r".into(),
        refresh_expires_in: 604_800,
    };
    assert_eq!(schema_properties(&document, "TokenPair"), serialized_keys(&tokens));

    let bucket = analytics::reports::Bucket { start: "2026-03-01".into(), orders: 1, units: 2, revenue_cents: 900 };
    let sales = analytics::reports::SalesReport {
        period: analytics::reports::Period::Day,
        from: "2026-03-01".into(),
        to: "2026-03-01".into(),
        time_zone: "UTC",
        currency: "EUR".into(),
        buckets: vec![bucket.clone()],
    };
    let top = analytics::store::ProductSales { product_id: id.into(), units: 2, revenue_cents: 900, orders: 1 };
    let ranking = analytics::reports::TopProductsReport {
        from: "2026-03-01".into(),
        to: "2026-03-01".into(),
        by: analytics::reports::Measure::Quantity,
        currency: "EUR".into(),
        products: vec![top.clone()],
    };
    assert_eq!(schema_properties(&document, "Sales"), serialized_keys(&sales));
    assert_eq!(schema_properties(&document, "SalesBucket"), serialized_keys(&bucket));
    assert_eq!(schema_properties(&document, "TopProducts"), serialized_keys(&ranking));
    assert_eq!(schema_properties(&document, "TopProduct"), serialized_keys(&top));
    // A page's fields are kit's one Page type.
    let page = kit::page::Page { items: vec![user.clone()], next_cursor: None };
    for name in ["UserPage", "ProductPage", "CategoryPage", "OrderPage"] {
        assert_eq!(schema_properties(&document, name), serialized_keys(&page), "{name}");
    }
}
