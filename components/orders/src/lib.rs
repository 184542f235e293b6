//! # orders — orders with stock reservation and the order events outbox
//!
//! A private Spin component behind the gateway's `/orders` routes (a token is always required). It owns
//! the `orders` schema: orders, items (name and price as reserved), idempotency keys and the outbox. It
//! never speaks gRPC or Kafka: it asks the bridge (kit's Bridge port — the `pycommerce:bridge` imports on
//! Spin) to check the user and reserve stock, and writes its events to the outbox, which the bridge relays.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its routes and the Spin entry point.
//! - [`orders`]: the `/orders` handlers.
//! - [`domain`]: the validated order request and the Idempotency-Key.
//! - [`events`]: the CloudEvents written to the outbox.
//! - [`limits`]: per-user limits on placing orders: the rate in Redis, the units cap the bridge applies.
//! - [`store`]: the SQL (each write one statement).
//! - [`error`]: the error type and its mapping to problem responses.

pub mod domain;
pub mod error;
pub mod events;
pub mod limits;
pub mod orders;
pub mod store;

use std::sync::OnceLock;

use http::Method;
use kit::bridge::Bridge;
use kit::cache::Cache;
use kit::component::{get_or_try_init, id, Routes};
use kit::config::{Config, ConfigError};
use kit::db::Db;
use kit::health::{self, Check};
use kit::router::{Params, Router};
use kit::{Component, Ctx, Request, Response};

use crate::error::Error;
use crate::limits::OrderLimits;

const SERVICE: &str = "orders";

/// The operations of this component's routes.
#[allow(missing_docs)] // Each variant is named after its route in the table below.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Health,
    Place,
    List,
    Get,
    Cancel,
}

fn routes() -> Router<Route> {
    Router::new()
        .route(Method::GET, "/health", Route::Health)
        .route(Method::POST, "/orders", Route::Place)
        .route(Method::GET, "/orders", Route::List)
        .route(Method::GET, "/orders/{id}", Route::Get)
        .route(Method::POST, "/orders/{id}/cancel", Route::Cancel)
}

/// The orders service.
///
/// Spin builds it for every request, and on Spin every setting read is a host call: the Redis handle and
/// the limits (six settings) are built on first use, which only placing an order and `/health` need.
#[derive(Debug)]
pub struct Service {
    db: Db,
    bridge: Bridge,
    config: Config,
    cache: OnceLock<Cache>,
    limits: OnceLock<OrderLimits>,
    routes: Router<Route>,
}

impl Component for Service {
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        let config = &ctx.config;
        Ok(Self {
            db: Db::from_config(config)?,
            bridge: Bridge::from_config(config)?,
            config: config.clone(),
            cache: OnceLock::new(),
            limits: OnceLock::new(),
            routes: routes(),
        })
    }

    /// A bad limit or Redis URL is an error now rather than at the first order.
    fn check_config(&self) -> Result<(), ConfigError> {
        self.limits().map(drop)
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
        let id = id(params);
        // Every bridge call of this request carries its x-request-id.
        let bridge = self.bridge.for_request(request);
        match route {
            Route::Health => Ok(health::report(
                SERVICE,
                vec![
                    Check::required("postgres", self.db.ping().await),
                    Check::optional("redis", self.cache()?.ping().await),
                ],
            )),
            Route::Place => orders::place(&self.db, &bridge, self.limits()?, request).await,
            Route::List => orders::list(&self.db, request).await,
            Route::Get => orders::get(&self.db, request, id).await,
            Route::Cancel => orders::cancel(&self.db, request, id).await,
        }
    }
}

impl Service {
    fn cache(&self) -> Result<&Cache, ConfigError> {
        get_or_try_init(&self.cache, || Cache::from_config(&self.config))
    }

    fn limits(&self) -> Result<&OrderLimits, ConfigError> {
        get_or_try_init(&self.limits, || OrderLimits::from_config(&self.config, self.cache()?.clone()))
    }
}

kit::spin_component!(Service);
