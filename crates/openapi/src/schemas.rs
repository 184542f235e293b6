//! The request and response bodies of the public API, as `utoipa` schemas.
//!
//! The resources the API returns — users, products, categories, orders — are the components' own response
//! types, whose schemas derive from them (their `openapi` feature, which only this crate enables, so the Wasm
//! builds stay free of utoipa): a field added to or removed from one changes this document. The rest
//! (request bodies, pages, tokens, reports) is described here; field names, optionality and limits follow
//! the components' types and `docs/*.md`. `deny_unknown_fields` bodies are `additionalProperties: false`.

#![allow(dead_code)] // The types exist to be described, never built.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use analytics::reports::{
    Bucket as SalesBucket, Measure as RankBy, Period as SalesPeriod, SalesReport as Sales,
    TopProductsReport as TopProducts,
};
pub use analytics::store::ProductSales as TopProduct;
pub use auth::tokens::TokenPair;
pub use orders::store::{Item as OrderItem, Order, Status as OrderStatus};
pub use products::store::{Category, Price, Product};
pub use users::store::{AccountRole as Role, User};

// ---- shared ----

/// An RFC 9457 problem: every error response of the API (`application/problem+json`).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `urn:pycommerce:problem:<slug>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:pycommerce:problem:unauthorized")]
    pub kind: String,
    /// Short summary of the kind of problem.
    #[schema(example = "Unauthorized")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 401)]
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: Option<String>,
    /// Field errors of a validation problem (422).
    pub errors: Option<Vec<FieldError>>,
}

/// One invalid field of a request body.
#[derive(Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `items[0].quantity`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An amount of money in minor units of an ISO 4217 currency.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Minor units (cents), >= 0.
    #[schema(minimum = 0, example = 450)]
    pub cents: i64,
    /// ISO 4217 code in use (stored upper case).
    #[schema(example = "EUR")]
    pub currency: String,
}

/// Aggregated health: `ok` with 200, `degraded` with 503.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    #[schema(example = "ok")]
    pub status: String,
    /// Each service's status (`ok` | `unavailable`) and its dependency checks.
    pub services: BTreeMap<String, ServiceHealth>,
}

/// The health of one service.
#[derive(Serialize, ToSchema)]
pub struct ServiceHealth {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Dependency checks, e.g. `{"postgres": "ok", "redis": "unavailable"}`.
    pub checks: Option<BTreeMap<String, String>>,
}

/// Liveness: the gateway answers.
#[derive(Serialize, ToSchema)]
pub struct Live {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// Paging of a listing: `limit` (1–100, default 20) and the `next_cursor` of the previous page.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The opaque `next_cursor` of the previous page (any other value is a 400).
    pub cursor: Option<String>,
}

// ---- auth ----

/// `POST /auth/register`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The login; unique regardless of case (stored lower case).
    #[schema(example = "alice@example.com")]
    pub email: String,
    /// 8–128 characters.
    pub password: String,
    /// 1–100 characters after trimming, no control characters.
    #[schema(example = "Alice Liddell")]
    pub full_name: String,
}

/// `POST /auth/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// An opaque refresh token (43 base64url characters).
    pub refresh_token: String,
}

/// `POST /auth/register`'s answer: the new account and its first tokens.
#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// The account.
    pub user: User,
    /// Bearer token for `Authorization`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Spent by the next refresh.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

/// The public keys that verify access tokens (RFC 7517).
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    /// Current keys, and the next one during a rotation.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key.
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// RFC 7638 thumbprint; the JWT header's `kid`.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub usage: String,
}

// ---- users ----

/// A page of accounts.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    /// In creation order.
    pub items: Vec<User>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /users` (admin).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The login; unique regardless of case (stored lower case).
    pub email: String,
    /// 1–100 characters after trimming, no control characters.
    pub full_name: String,
    /// 8–128 characters.
    pub password: String,
    /// Default `customer`.
    #[serde(default)]
    pub role: Option<Role>,
}

/// `PUT /users/{id}`: an owner may send `email` and `full_name`; `role` and `active` are for admins only (a
/// customer sending them gets 422 unknown field).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New login (409 if taken).
    pub email: Option<String>,
    /// New display name.
    pub full_name: Option<String>,
    /// Admin only.
    pub role: Option<Role>,
    /// Admin only; `false` revokes every session.
    pub active: Option<bool>,
}

/// `PUT /users/{id}/password`: the owner sends `current_password`; an admin changing another user's password
/// sends only `new_password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Required for the owner.
    pub current_password: Option<String>,
    /// 8–128 characters.
    pub new_password: String,
}

/// Filters of `GET /users` (admin).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Case-insensitive substring of the email.
    pub email: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only active (or inactive) accounts.
    pub active: Option<bool>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The opaque `next_cursor` of the previous page (any other value is a 400).
    pub cursor: Option<String>,
}

// ---- catalog ----

/// The body of `POST /products`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// 1–64 of `A-Z 0-9 . _ -`, starting with a letter or digit (surrounding white space trimmed); stored
    /// upper case; unique (409).
    pub sku: String,
    /// 1–200 characters after trimming, no control characters.
    pub name: String,
    /// At most 5000 characters, no control characters but tabs and line breaks (default empty).
    #[serde(default)]
    pub description: String,
    /// An existing category (422 otherwise).
    #[schema(format = Uuid)]
    pub category_id: Option<String>,
    /// Unit price.
    pub price: Money,
    /// 0 … 2147483647.
    #[schema(minimum = 0, maximum = 2147483647)]
    pub stock: i32,
    /// Default `true`.
    #[serde(default)]
    pub active: bool,
}

/// The body of `PUT /products/{id}`: every writable field, the stock only when given. Orders change the
/// stock meanwhile, so a body with `stock` needs `If-Match` with the product's current `ETag` (428 without,
/// 412 when stale); without `stock` the units are left as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductReplacement {
    /// 1–64 of `A-Z 0-9 . _ -`, starting with a letter or digit (surrounding white space trimmed); stored
    /// upper case; unique (409).
    pub sku: String,
    /// 1–200 characters after trimming, no control characters.
    pub name: String,
    /// At most 5000 characters, no control characters but tabs and line breaks (default empty).
    #[serde(default)]
    pub description: String,
    /// An existing category (422 otherwise).
    #[schema(format = Uuid)]
    pub category_id: Option<String>,
    /// Unit price.
    pub price: Money,
    /// 0 … 2147483647; needs `If-Match`.
    #[schema(minimum = 0, maximum = 2147483647)]
    #[serde(default)]
    pub stock: Option<i32>,
    /// Default `true`.
    #[serde(default)]
    pub active: bool,
}

/// The body of `POST /products/{id}/stock-adjustments`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustment {
    /// Units to add (negative: to remove) relative to the current stock; not 0. The stock may not go below 0
    /// (409).
    #[schema(minimum = -1000000, maximum = 1000000)]
    pub delta: i64,
}

/// A page of products.
#[derive(Serialize, ToSchema)]
pub struct ProductPage {
    /// In the requested order.
    pub items: Vec<Product>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Orders of `GET /products` (any case).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// Newest first (default).
    Newest,
    /// Oldest first.
    Oldest,
    /// Cheapest first.
    PriceAsc,
    /// Most expensive first.
    PriceDesc,
    /// By name, A–Z.
    NameAsc,
    /// By name, Z–A.
    NameDesc,
}

/// Filters of `GET /products`; any invalid or unknown parameter is a 400 naming it.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Case-insensitive substring of the name, matched literally (1–100 characters).
    pub name: Option<String>,
    /// A category id or slug.
    pub category: Option<String>,
    /// `true`: the category's whole subtree (needs `category`).
    pub include_subcategories: Option<bool>,
    /// Inclusive lower bound in minor units; at most `max_price`.
    #[param(minimum = 0)]
    pub min_price: Option<i64>,
    /// Inclusive upper bound in minor units.
    #[param(minimum = 0)]
    pub max_price: Option<i64>,
    /// Only prices in this ISO 4217 currency (any case).
    pub currency: Option<String>,
    /// `true`: stock > 0; `false`: out of stock.
    pub in_stock: Option<bool>,
    /// Default `newest` (any case).
    pub sort: Option<ProductSort>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The opaque `next_cursor` of the previous page, with the same filters (any other value is a 400).
    pub cursor: Option<String>,
    /// Admins only: include inactive products (never cached).
    pub include_inactive: Option<bool>,
}

/// The body of `POST /categories` and `PUT /categories/{id}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    /// 1–100 characters after trimming, no control characters; unique regardless of case (409).
    pub name: String,
    /// 1–100 lower-case letters and digits in words joined by `-`; unique (409). Derived from the name's
    /// ASCII letters and digits when absent (422 when it has none).
    pub slug: Option<String>,
    /// An existing category that is not this one or one of its subcategories (422).
    #[schema(format = Uuid)]
    pub parent_id: Option<String>,
}

/// A page of categories (slug order).
#[derive(Serialize, ToSchema)]
pub struct CategoryPage {
    /// In slug order.
    pub items: Vec<Category>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- orders ----

/// `POST /orders`: 1–100 lines, each product at most once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// The lines; prices come from the catalog, never from the client. Each product at most once (422).
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<OrderLine>,
}

/// One line of `POST /orders`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// An active product of the catalog (422 otherwise).
    #[schema(format = Uuid)]
    pub product_id: String,
    /// 1–1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
}

/// A page of orders (newest first).
#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    /// Newest first.
    pub items: Vec<Order>,
    /// `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of `GET /orders`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// Admin only (a customer asking is 403).
    #[param(format = Uuid)]
    pub user_id: Option<String>,
    /// Admin only: one status.
    pub status: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The opaque `next_cursor` of the previous page (any other value is a 400).
    pub cursor: Option<String>,
}

// ---- analytics ----

/// Filters of `GET /analytics/top-products`. Dates are whole UTC days, both included; default: the 30 days
/// up to today.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopProductsQuery {
    /// First day, `YYYY-MM-DD` (UTC), from 0001-01-01; not after `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included, up to 9999-12-30.
    #[param(format = Date)]
    pub to: Option<String>,
    /// How many products, 1–100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Ranking (default `quantity`); ties by product id.
    pub by: Option<RankBy>,
    /// ISO 4217 code of the revenue reported, three upper-case letters (default `EUR`).
    pub currency: Option<String>,
}

/// Filters of `GET /analytics/sales`. Dates are whole UTC days, both included; default: the 30 days up to
/// today. At most 400 buckets.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// Bucket size (default `day`); at most 400 buckets from `from` to `to`.
    pub period: Option<SalesPeriod>,
    /// First day, `YYYY-MM-DD` (UTC), from 0001-01-01.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included, up to 9999-12-30.
    #[param(format = Date)]
    pub to: Option<String>,
    /// ISO 4217 code of the revenue reported, three upper-case letters (default `EUR`).
    pub currency: Option<String>,
}

/// The answer of `POST /analytics/events`.
#[derive(Serialize, ToSchema)]
pub struct IngestResult {
    /// The event's id.
    #[schema(format = Uuid)]
    pub event_id: String,
    /// `true` when stored now, `false` when it had been stored before.
    pub stored: bool,
}

/// The body of `POST /analytics/events/batch`.
#[derive(Deserialize, ToSchema)]
pub struct EventBatch {
    /// 1 to 100 CloudEvents envelopes, each as `POST /analytics/events` takes it.
    pub events: Vec<CloudEvent>,
}

/// The answer of `POST /analytics/events/batch`: one result per event, in the order sent.
#[derive(Serialize, ToSchema)]
pub struct BatchIngestResult {
    /// The results.
    pub results: Vec<BatchEventResult>,
}

/// What became of one event of a batch.
#[derive(Serialize, ToSchema)]
pub struct BatchEventResult {
    /// The event's id; null when the envelope has no well-formed `id`.
    #[schema(format = Uuid)]
    pub event_id: Option<String>,
    /// `stored` (now), `duplicate` (stored before, or earlier in this batch) or `refused` (malformed or of
    /// an unknown type: retrying cannot help).
    pub outcome: BatchOutcome,
    /// Why it was refused: `<field>: <message>`.
    pub error: Option<String>,
}

/// The outcome of one event of a batch.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchOutcome {
    /// Stored now.
    Stored,
    /// Stored before, or earlier in the same batch.
    Duplicate,
    /// Malformed or of an unknown type.
    Refused,
}

/// A CloudEvents 1.0 envelope (`order.created`, docs/events.md) delivered by the bridge's consumer.
#[derive(Deserialize, ToSchema)]
pub struct CloudEvent {
    /// `1.0`.
    pub specversion: String,
    /// Event id: ingest is idempotent by it.
    pub id: String,
    /// Producer.
    pub source: String,
    /// `com.pycommerce.order.created.v1` or `com.pycommerce.order.cancelled.v1`.
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339.
    pub time: String,
    /// `application/json`.
    pub datacontenttype: String,
    /// The order (schema: docs/schemas/com.pycommerce.order.created.v1.json).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}
