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
//! - [`demo`]: the demo catalog `bridge seed-demo` loads for local runs.
//! - [`store`]: every SQL statement (the catalog version and product revisions move by trigger).
//! - from the `catalog` crate, which the gateway shares: [`domain`] (types parsed at the edge: `Sku`, `Money`,
//!   `Currency`, `Name`, `Slug`, `Limit`, ...), [`listing`] (normalised filters, sorts, the keyset cursor, the
//!   cache hash), [`cache`] (the Redis read cache) and [`cached_reads`] (what the gateway answers from it).
//! - [`error`]: the service's error type, its one mapping to problem responses and the constraint map.

pub mod categories;
pub mod demo;
pub mod error;
pub mod products;
pub mod store;

use http::{header, HeaderValue, Method};
use kit::component::{id, Routes};
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::router::{Params, Router};
use kit::{Component, Ctx, Request, Response};

use crate::error::Error;
use crate::store::Store;
use catalog::cache::{CatalogCache, Entry};
use catalog::{public_cache_control, read_response, Audience, CacheStatus};

const SERVICE: &str = "products";

pub use catalog::{cache, cached_reads, domain, listing, X_CACHE};

/// The operations of this component's routes.
#[allow(missing_docs)] // Each variant is named after its route in the table below.
#[derive(Debug, Clone, Copy)]
pub enum Route {
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

impl Component for Service {
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        let cache = CatalogCache::from_config(&ctx.config)?;
        Ok(Self {
            store: Store::new(Db::from_config(&ctx.config)?),
            public_cache_control: public_cache_control(cache.max_age_secs()),
            cache,
            routes: routes(),
        })
    }

    async fn handle(&self, request: Request) -> Response {
        kit::component::serve(self, request).await
    }
}

impl Routes for Service {
    type Route = Route;
    type Error = Error;

    fn router(&self) -> &Router<Route> {
        &self.routes
    }

    async fn dispatch(&self, route: Route, params: &Params, request: &Request) -> Result<Response, Error> {
        let response = self.route(route, id(params), request).await?;
        // Publish the catalog version a successful write moved, so the next read sees it.
        let write = !matches!(*request.method(), Method::GET | Method::HEAD);
        if write && response.status().is_success() && self.cache.enabled() {
            match self.store.version().await {
                Ok(version) => self.cache.publish_version(version).await,
                Err(error) => {
                    tracing::warn!(%error, "catalog version unreadable after a write; readers see it within the lease")
                }
            }
        }
        Ok(response)
    }
}

impl Service {
    /// Runs the handler of `route`.
    async fn route(&self, route: Route, id: &str, request: &Request) -> Result<Response, Error> {
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

    /// [`read_response`] with this service's `Cache-Control`.
    fn read_response(&self, request: &Request, entry: Entry, status: CacheStatus, audience: Audience) -> Response {
        read_response(request, entry, status, audience, &self.public_cache_control)
    }

    /// A public read not held in the catalog cache (categories): its `ETag` from its bytes, `Cache-Control`
    /// and 304 as in [`Service::read_response`].
    fn public_read(&self, request: &Request, mut response: Response) -> Response {
        let etag = kit::http::content_etag(response.body());
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("authorization"));
        kit::http::conditional(request.headers(), &etag, &self.public_cache_control, response)
    }
}

kit::spin_component!(Service);
