//! One `#[utoipa::path]` stub per public operation: method, path, parameters, bodies, responses and who may
//! call it. The handlers live in the components; `tests/document.rs` checks that this list and the
//! components' routers agree.

#![allow(dead_code)] // Stubs exist to be described, never called.

use crate::schemas::*;

#[utoipa::path(
    get,
    path = "/health",
    tag = "gateway",
    operation_id = "health",
    summary = "Aggregated health of every service",
    responses(
        (status = 200, description = "Every service and its required dependencies answer", body = Health),
        (status = 503, description = "A service or a required dependency is down", body = Health),
    ),
    security(()),
)]
pub fn health() {}

#[utoipa::path(
    get,
    path = "/health/live",
    tag = "gateway",
    operation_id = "health_live",
    summary = "The gateway is up (liveness)",
    responses(
        (status = 200, description = "Alive", body = Live),
    ),
    security(()),
)]
pub fn health_live() {}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "gateway",
    operation_id = "openapi_json",
    summary = "This OpenAPI document",
    responses(
        (status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object),
    ),
    security(()),
)]
pub fn openapi_json() {}

#[utoipa::path(
    get,
    path = "/docs",
    tag = "gateway",
    operation_id = "api_docs",
    summary = "A page rendering this document",
    responses(
        (status = 200, description = "HTML", content_type = "text/html", body = String),
    ),
    security(()),
)]
pub fn api_docs() {}

#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    operation_id = "register",
    summary = "Create a customer account and log in",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The account and its first tokens", body = Registered),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub fn register() {}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "login",
    summary = "Log in with email and password",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Invalid email or password (also for inactive accounts)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub fn login() {}

#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    operation_id = "refresh",
    summary = "Exchange a refresh token for a new pair (rotation)",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A new token pair; the presented token is spent", body = TokenPair),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, expired, revoked or reused token (reuse revokes the family)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub fn refresh() {}

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "logout",
    summary = "Revoke a refresh token's family",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Always, even for an unknown token"),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub fn logout() {}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    operation_id = "jwks",
    summary = "Public keys verifying access tokens",
    responses(
        (status = 200, description = "JWK set (cacheable for 5 minutes)", body = Jwks),
    ),
    security(()),
)]
pub fn jwks() {}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    operation_id = "create_user",
    summary = "Create an account (admin)",
    request_body(content = CreateUser, content_type = "application/json"),
    responses(
        (status = 201, description = "The account", body = User, headers(("Location" = String, description = "The new resource"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn create_user() {}

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    operation_id = "list_users",
    summary = "List accounts (admin)",
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of accounts", body = UserPage),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn list_users() {}

#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    operation_id = "get_me",
    summary = "The caller's account",
    responses(
        (status = 200, description = "The account", body = User),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn get_me() {}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    operation_id = "get_user",
    summary = "An account (owner or admin)",
    params(("id" = String, Path, description = "The user id (UUID)", format = Uuid)),
    responses(
        (status = 200, description = "The account", body = User),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn get_user() {}

#[utoipa::path(
    put,
    path = "/users/{id}",
    tag = "users",
    operation_id = "update_user",
    summary = "Change an account (owner: email, name; admin: also role, active)",
    request_body(content = UpdateUser, content_type = "application/json"),
    params(("id" = String, Path, description = "The user id (UUID)", format = Uuid)),
    responses(
        (status = 200, description = "The account", body = User),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn update_user() {}

#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    operation_id = "delete_user",
    summary = "Delete an account (soft delete with erasure)",
    params(("id" = String, Path, description = "The user id (UUID)", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn delete_user() {}

#[utoipa::path(
    put,
    path = "/users/{id}/password",
    tag = "users",
    operation_id = "change_password",
    summary = "Change a password (revokes every session)",
    request_body(content = ChangePassword, content_type = "application/json"),
    params(("id" = String, Path, description = "The user id (UUID)", format = Uuid)),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Wrong current password", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords, limited like logins; see `Retry-After`", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds until the limit's window ends"))),
    ),
    security(("bearer" = [])),
)]
pub fn change_password() {}

#[utoipa::path(
    get,
    path = "/products",
    tag = "catalog",
    operation_id = "list_products",
    summary = "Filtered, keyset-paged product listing (cached)",
    params(ProductListQuery, ("If-None-Match" = Option<String>, Header, description = "ETags the client holds (`*` for any): 304 when one is current")),
    responses(
        (status = 200, description = "A page; `x-cache` says hit, miss or bypass", body = ProductPage, headers(("x-cache" = String, description = "hit | miss | bypass"), ("ETag" = String, description = "Strong validator for `If-None-Match`"), ("Cache-Control" = String, description = "`public, max-age=<http_max_age_secs>`; `private, no-cache` on admin reads"), ("Vary" = String, description = "`authorization`"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current (no body)", headers(("ETag" = String, description = "The current ETag"), ("Cache-Control" = String, description = "As on the 200"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub fn list_products() {}

#[utoipa::path(
    post,
    path = "/products",
    tag = "catalog",
    operation_id = "create_product",
    summary = "Create a product (admin)",
    request_body(content = ProductBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The product", body = Product, headers(("Location" = String, description = "The new resource"), ("ETag" = String, description = "The product's revision, for `If-Match`"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit (1 MiB)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn create_product() {}

#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "catalog",
    operation_id = "get_product",
    summary = "One product (cached; admins also see inactive ones)",
    params(("id" = String, Path, description = "The product id (UUID)", format = Uuid), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds (`*` for any): 304 when one is current")),
    responses(
        (status = 200, description = "The product", body = Product, headers(("x-cache" = String, description = "hit | miss | bypass"), ("ETag" = String, description = "The product's revision: for `If-None-Match`, and for `If-Match` on writes"), ("Cache-Control" = String, description = "`public, max-age=<http_max_age_secs>`; `private, no-cache` on admin reads"), ("Vary" = String, description = "`authorization`"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current (no body)", headers(("ETag" = String, description = "The current ETag"), ("Cache-Control" = String, description = "As on the 200"))),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub fn get_product() {}

#[utoipa::path(
    put,
    path = "/products/{id}",
    tag = "catalog",
    operation_id = "update_product",
    summary = "Replace a product's writable fields (admin); the stock only with If-Match",
    request_body(content = ProductReplacement, content_type = "application/json"),
    params(
        ("id" = String, Path, description = "The product id (UUID)", format = Uuid),
        ("If-Match" = Option<String>, Header, description = "The product's `ETag` as read (`\"17\"`) or `*`; required when the body has `stock`; anything else is a 400"),
    ),
    responses(
        (status = 200, description = "The product", body = Product, headers(("ETag" = String, description = "The product's new revision"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a revision the product no longer has (orders change it); the answer's `ETag` is the current one", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "The body sets `stock` without `If-Match`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn update_product() {}

#[utoipa::path(
    post,
    path = "/products/{id}/stock-adjustments",
    tag = "catalog",
    operation_id = "adjust_stock",
    summary = "Add or remove units relative to the current stock (admin)",
    request_body(content = StockAdjustment, content_type = "application/json"),
    params(("id" = String, Path, description = "The product id (UUID)", format = Uuid)),
    responses(
        (status = 200, description = "The product", body = Product, headers(("ETag" = String, description = "The product's new revision"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock would go below zero", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`delta` is 0, out of range, or the body has unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn adjust_stock() {}

#[utoipa::path(
    delete,
    path = "/products/{id}",
    tag = "catalog",
    operation_id = "delete_product",
    summary = "Delete a product (admin)",
    params(("id" = String, Path, description = "The product id (UUID)", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product has been ordered: deactivate it instead (`active: false`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn delete_product() {}

#[utoipa::path(
    get,
    path = "/categories",
    tag = "catalog",
    operation_id = "list_categories",
    summary = "Categories in slug order",
    params(PageQuery, ("If-None-Match" = Option<String>, Header, description = "ETags the client holds (`*` for any): 304 when one is current")),
    responses(
        (status = 200, description = "A page of categories", body = CategoryPage, headers(("ETag" = String, description = "Strong validator for `If-None-Match`"), ("Cache-Control" = String, description = "`public, max-age=<http_max_age_secs>`; `private, no-cache` on admin reads"), ("Vary" = String, description = "`authorization`"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current (no body)", headers(("ETag" = String, description = "The current ETag"), ("Cache-Control" = String, description = "As on the 200"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub fn list_categories() {}

#[utoipa::path(
    post,
    path = "/categories",
    tag = "catalog",
    operation_id = "create_category",
    summary = "Create a category (admin)",
    request_body(content = CategoryBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The category", body = Category, headers(("Location" = String, description = "The new resource"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn create_category() {}

#[utoipa::path(
    get,
    path = "/categories/{id}",
    tag = "catalog",
    operation_id = "get_category",
    summary = "One category",
    params(("id" = String, Path, description = "The category id (UUID)", format = Uuid), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds (`*` for any): 304 when one is current")),
    responses(
        (status = 200, description = "The category", body = Category, headers(("ETag" = String, description = "Strong validator for `If-None-Match`"), ("Cache-Control" = String, description = "`public, max-age=<http_max_age_secs>`; `private, no-cache` on admin reads"), ("Vary" = String, description = "`authorization`"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current (no body)", headers(("ETag" = String, description = "The current ETag"), ("Cache-Control" = String, description = "As on the 200"))),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])),
)]
pub fn get_category() {}

#[utoipa::path(
    put,
    path = "/categories/{id}",
    tag = "catalog",
    operation_id = "update_category",
    summary = "Replace a category's name, slug and parent (admin)",
    request_body(content = CategoryBody, content_type = "application/json"),
    params(("id" = String, Path, description = "The category id (UUID)", format = Uuid), ("If-None-Match" = Option<String>, Header, description = "ETags the client holds (`*` for any): 304 when one is current")),
    responses(
        (status = 200, description = "The category", body = Category, headers(("ETag" = String, description = "Strong validator for `If-None-Match`"), ("Cache-Control" = String, description = "`public, max-age=<http_max_age_secs>`; `private, no-cache` on admin reads"), ("Vary" = String, description = "`authorization`"))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current (no body)", headers(("ETag" = String, description = "The current ETag"), ("Cache-Control" = String, description = "As on the 200"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflict with the current state", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or unknown fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn update_category() {}

#[utoipa::path(
    delete,
    path = "/categories/{id}",
    tag = "catalog",
    operation_id = "delete_category",
    summary = "Delete an unused category (admin)",
    params(("id" = String, Path, description = "The category id (UUID)", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Products or subcategories still use it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn delete_category() {}

#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    operation_id = "place_order",
    summary = "Place an order (stock reserved; Idempotency-Key honoured)",
    request_body(content = PlaceOrder, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 visible ASCII characters; the same key and lines answer the first order again")),
    responses(
        (status = 201, description = "The order (also for a replayed Idempotency-Key)", body = Order, headers(("Location" = String, description = "The new resource"))),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is inactive", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Insufficient stock", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid lines, unknown or inactive product, mixed currencies, a line over the per-customer units limit, or an Idempotency-Key reused with other lines", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many orders by this user in a short time, or the user's recent orders already hold the most units of a product a customer may order; see `Retry-After`", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds until a retry may succeed"))),
        (status = 503, description = "A dependency is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn place_order() {}

#[utoipa::path(
    get,
    path = "/orders",
    tag = "orders",
    operation_id = "list_orders",
    summary = "The caller's orders (admin: everyone's), newest first",
    params(OrderListQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A customer asked for user_id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn list_orders() {}

#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "orders",
    operation_id = "get_order",
    summary = "One order (owner or admin)",
    params(("id" = String, Path, description = "The order id (UUID)", format = Uuid)),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn get_order() {}

#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    tag = "orders",
    operation_id = "cancel_order",
    summary = "Cancel an order and release its stock (idempotent)",
    params(("id" = String, Path, description = "The order id (UUID)", format = Uuid)),
    responses(
        (status = 200, description = "The cancelled order", body = Order),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such resource (or not yours)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "A dependency is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn cancel_order() {}

#[utoipa::path(
    get,
    path = "/analytics/top-products",
    tag = "analytics",
    operation_id = "top_products",
    summary = "Best-selling products in a window (admin)",
    params(TopProductsQuery),
    responses(
        (status = 200, description = "Ranked products", body = TopProducts),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn top_products() {}

#[utoipa::path(
    get,
    path = "/analytics/sales",
    tag = "analytics",
    operation_id = "sales",
    summary = "Sales per day, week or month (admin)",
    params(SalesQuery),
    responses(
        (status = 200, description = "Sales buckets", body = Sales),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn sales() {}

#[utoipa::path(
    get,
    path = "/analytics/dashboard",
    tag = "analytics",
    operation_id = "analytics_dashboard",
    summary = "Sales dashboard page (HTML; its data calls need an admin token)",
    responses(
        (status = 200, description = "HTML", content_type = "text/html", body = String),
    ),
    security(()),
)]
pub fn analytics_dashboard() {}

#[utoipa::path(
    get,
    path = "/analytics/dashboard/app.js",
    tag = "analytics",
    operation_id = "analytics_dashboard_script",
    summary = "The dashboard page's script",
    responses(
        (status = 200, description = "JavaScript", content_type = "text/javascript", body = String),
    ),
    security(()),
)]
pub fn analytics_dashboard_script() {}

#[utoipa::path(
    post,
    path = "/analytics/events",
    tag = "analytics",
    operation_id = "ingest_event",
    summary = "Ingest an order event (the bridge's service token only)",
    request_body(content = CloudEvent, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = IngestResult),
        (status = 200, description = "Stored before: nothing changed (idempotent by event id)", body = IngestResult),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (listed in `errors`), or an unknown event type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The sales store is unavailable; retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn ingest_event() {}

#[utoipa::path(
    post,
    path = "/analytics/events/batch",
    tag = "analytics",
    operation_id = "ingest_event_batch",
    summary = "Ingest up to 100 order events in one request (the bridge's service token only)",
    description = "What the bridge's consumer sends: each event is validated on its own, so a malformed one is refused in its result while the others are stored; all are stored by at most two statements. A 503 stores nothing.",
    request_body(content = EventBatch, content_type = "application/json"),
    responses(
        (status = 200, description = "One result per event, in order", body = BatchIngestResult),
        (status = 400, description = "Bad input: malformed JSON, a bad query parameter or header, or a path the gateway refuses (an encoded separator such as `%2F` in an id)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token (`WWW-Authenticate: Bearer`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Authenticated, but not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit (1 MiB)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared as JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`events` is missing, empty or longer than 100", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The sales store is unavailable; nothing was stored, retry", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub fn ingest_event_batch() {}
