//! # products — the catalog and its cached listings
//!
//! A private Spin component, reached only through the gateway (service chaining); its data lives in the
//! `catalog` Postgres schema. Reads are public; writes need the admin role (the gateway verifies the token
//! and forwards the identity). API and cache behaviour: `docs/catalog.md`.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its routes, response helpers and the Spin entry point.
//! - [`products`]: `/products` handlers and the write DTO.
//! - [`categories`]: `/categories` handlers and the write DTO.
//! - [`listing`]: the listing's query — normalised filters, sort orders, the keyset cursor, the cache hash.
//! - [`domain`]: domain types parsed at the edge (`Sku`, `Money`, `Currency`, `Name`, `Slug`, `Limit`, ...).
//! - [`demo`]: the demo catalog `bridge seed-demo` loads for local runs.
//! - [`store`]: every SQL statement (the catalog version and product revisions move by trigger).
//! - [`cache`]: the Redis read cache (versioned keys, TTLs, popular keys, hit/miss logs and counters).
//! - [`error`]: the service's error type, its one mapping to problem responses and the constraint map.

pub mod cache;
pub mod categories;
pub mod demo;
pub mod domain;
pub mod error;
pub mod listing;
pub mod products;
pub mod store;

use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::router::Router;
use kit::{Ctx, Problem, Request, Response};
use serde::Serialize;

use crate::cache::{CatalogCache, Entry};
use crate::error::Error;
use crate::store::Store;

const SERVICE: &str = "products";

/// Response header telling whether a read came from the cache: `hit`, `miss` (read from Postgres and
/// stored) or `bypass` (read from Postgres; the cache is off, failed, or does not apply).
pub const X_CACHE: &str = "x-cache";

#[derive(Debug, Clone, Copy)]
enum Route {
    Health,
    ListProducts,
    CreateProduct,
    GetProduct,
    UpdateProduct,
    DeleteProduct,
    AdjustStock,
    ListCategories,
    CreateCategory,
    GetCategory,
    UpdateCategory,
    DeleteCategory,
}

fn routes() -> Router<Route> {
    Router::new()
        .route(Method::GET, "/health", Route::Health)
        .route(Method::GET, "/products", Route::ListProducts)
        .route(Method::POST, "/products", Route::CreateProduct)
        .route(Method::GET, "/products/{id}", Route::GetProduct)
        .route(Method::PUT, "/products/{id}", Route::UpdateProduct)
        .route(Method::DELETE, "/products/{id}", Route::DeleteProduct)
        .route(Method::POST, "/products/{id}/stock-adjustments", Route::AdjustStock)
        .route(Method::GET, "/categories", Route::ListCategories)
        .route(Method::POST, "/categories", Route::CreateCategory)
        .route(Method::GET, "/categories/{id}", Route::GetCategory)
        .route(Method::PUT, "/categories/{id}", Route::UpdateCategory)
        .route(Method::DELETE, "/categories/{id}", Route::DeleteCategory)
}

/// The products service.
#[derive(Debug)]
pub struct Service {
    store: Store,
    cache: CatalogCache,
    routes: Router<Route>,
    /// `Cache-Control` of public reads: how long a shared cache may keep them.
    public_cache_control: String,
}

/// Default `http_max_age_secs`: a shared cache may keep a public read this long. Short, because an admin
/// write is visible in this API at once but not in a cache that already holds the older representation.
const DEFAULT_HTTP_MAX_AGE_SECS: u64 = 5;

/// `Cache-Control` of reads that depend on who asks (admins').
const PRIVATE_CACHE_CONTROL: &str = "private, no-cache";

impl Service {
    /// Builds the service from its variables.
    pub fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::new(Db::from_config(&ctx.config)?),
            cache: CatalogCache::from_config(&ctx.config)?,
            routes: routes(),
            public_cache_control: format!(
                "public, max-age={}",
                ctx.config.parse_or("http_max_age_secs", DEFAULT_HTTP_MAX_AGE_SECS)?
            ),
        })
    }

    /// Handles one request. `HEAD` is answered as `GET` without the body.
    pub async fn handle(&self, request: Request) -> Response {
        let head = request.method() == Method::HEAD;
        let method = if head { Method::GET } else { request.method().clone() };
        let mut response = match self.routes.at(&method, request.uri().path()) {
            Ok((route, params)) => {
                let id = params.get("id").unwrap_or_default();
                match self.dispatch(route, &request, id).await {
                    Ok(response) => {
                        // Publish the catalog version a successful write moved, so the next read sees it.
                        if method != Method::GET && response.status().is_success() {
                            self.cache.publish_version(&self.store).await;
                        }
                        response
                    }
                    Err(error) => Problem::from(error).into_response(),
                }
            }
            Err(problem) => problem.into_response(),
        };
        if head {
            *response.body_mut() = Bytes::new();
        }
        response
    }

    async fn dispatch(&self, route: Route, request: &Request, id: &str) -> Result<Response, Error> {
        match route {
            Route::Health => {
                // The cache is an optimisation: without Redis the service still answers from Postgres.
                let checks = vec![
                    Check::required("postgres", self.store.db().ping().await),
                    Check::optional("redis", self.cache.redis().ping().await),
                ];
                Ok(health::report(SERVICE, checks))
            }
            Route::ListProducts => products::list(self, request).await,
            Route::CreateProduct => products::create(self, request).await,
            Route::GetProduct => products::get(self, request, id).await,
            Route::UpdateProduct => products::update(self, request, id).await,
            Route::DeleteProduct => products::delete(self, request, id).await,
            Route::AdjustStock => products::adjust_stock(self, request, id).await,
            Route::ListCategories => categories::list(self, request).await,
            Route::CreateCategory => categories::create(self, request).await,
            Route::GetCategory => categories::get(self, request, id).await,
            Route::UpdateCategory => categories::update(self, request, id).await,
            Route::DeleteCategory => categories::delete(self, request, id).await,
        }
    }
}

/// Whether a read was served from the cache.
#[derive(Debug, Clone, Copy)]
enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

/// Who a read's representation is for, and so who may cache it.
#[derive(Debug, Clone, Copy)]
enum Audience {
    /// The same for every caller: a shared cache may keep it for `http_max_age_secs`.
    Public,
    /// Depends on the caller (an admin's view): revalidate every time.
    Private,
}

impl Service {
    /// The answer to a read of `entry`: 200 with the JSON body, or 304 when `If-None-Match` matches its
    /// `ETag`; both with `ETag`, `Cache-Control`, `Vary: Authorization` and the [`X_CACHE`] status.
    fn read_response(&self, request: &Request, entry: Entry, status: CacheStatus, audience: Audience) -> Response {
        let mut response = http::Response::new(entry.body);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::VARY, HeaderValue::from_static("authorization"));
        let status = match status {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Bypass => "bypass",
        };
        headers.insert(X_CACHE, HeaderValue::from_static(status));
        let cache_control = match audience {
            Audience::Public => self.public_cache_control.as_str(),
            Audience::Private => PRIVATE_CACHE_CONTROL,
        };
        kit::http::conditional(request.headers(), &entry.etag, cache_control, response)
    }

    /// A public read not held in the catalog cache (categories): its `ETag` from its bytes, `Cache-Control`
    /// and 304 as in [`Service::read_response`].
    fn public_read(&self, request: &Request, mut response: Response) -> Response {
        let etag = kit::http::content_etag(response.body());
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("authorization"));
        kit::http::conditional(request.headers(), &etag, &self.public_cache_control, response)
    }
}

/// 201 with `Location`.
fn created<T: Serialize>(location: &str, value: &T) -> Response {
    let mut response = kit::http::json(StatusCode::CREATED, value);
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

kit::spin_component!(Service);
