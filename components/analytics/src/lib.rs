//! # analytics — sales reports built from order events
//!
//! A private Spin component behind the gateway's `/analytics` routes; its data lives in the `analytics`
//! Postgres schema. The bridge consumes the order topics from Kafka and hands their events, a poll's worth
//! at a time, to `POST /analytics/events/batch` with a service token, so storing and reporting stay here.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its routes and the Spin entry point.
//! - [`ingest`]: storing order events, one or a batch, idempotently by event id.
//! - [`reports`]: sales per day/week/month and top products (admin only).
//! - [`dashboard`]: the dashboard page and its script.
//! - [`store`]: the SQL (each call one statement).
//! - [`error`]: the error type and its mapping to problem responses.

pub mod dashboard;
pub mod error;
pub mod ingest;
pub mod reports;
pub mod store;

use http::Method;
use kit::component::Routes;
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::router::{Params, Router};
use kit::{Component, Ctx, Request, Response};

use crate::error::Error;

const SERVICE: &str = "analytics";

/// The operations of this component's routes.
#[allow(missing_docs)] // Each variant is named after its route in the table below.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Health,
    Ingest,
    IngestBatch,
    Sales,
    TopProducts,
    Dashboard,
    DashboardScript,
}

fn routes() -> Router<Route> {
    Router::new()
        .route(Method::GET, "/health", Route::Health)
        .route(Method::POST, "/analytics/events", Route::Ingest)
        .route(Method::POST, "/analytics/events/batch", Route::IngestBatch)
        .route(Method::GET, "/analytics/sales", Route::Sales)
        .route(Method::GET, "/analytics/top-products", Route::TopProducts)
        .route(Method::GET, "/analytics/dashboard", Route::Dashboard)
        .route(Method::GET, "/analytics/dashboard/app.js", Route::DashboardScript)
}

/// The analytics service.
#[derive(Debug)]
pub struct Service {
    db: Db,
    routes: Router<Route>,
}

impl Component for Service {
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        Ok(Self { db: Db::from_config(&ctx.config)?, routes: routes() })
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

    async fn dispatch(&self, route: Route, _: &Params, request: &Request) -> Result<Response, Error> {
        match route {
            Route::Health => Ok(health::report(SERVICE, vec![Check::required("postgres", self.db.ping().await)])),
            Route::Ingest => ingest::ingest(&self.db, request).await,
            Route::IngestBatch => ingest::ingest_batch(&self.db, request).await,
            Route::Sales => reports::sales(&self.db, request).await,
            Route::TopProducts => reports::top_products(&self.db, request).await,
            Route::Dashboard => Ok(dashboard::page()),
            Route::DashboardScript => Ok(dashboard::script()),
        }
    }
}

kit::spin_component!(Service);
