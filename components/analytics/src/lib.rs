//! # analytics — sales reports built from order events
//!
//! A private Spin component, reached only through the gateway (service chaining); its data lives in the
//! `analytics` Postgres schema.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its routes and the Spin entry point.
//!
//! So far the service answers `GET /health` (a check of its dependencies); its API comes with its own issue.

use http::Method;
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::router::Router;
use kit::{Ctx, Request, Response};

const SERVICE: &str = "analytics";

#[derive(Debug, Clone, Copy)]
enum Route {
    Health,
}

fn routes() -> Router<Route> {
    Router::new().route(Method::GET, "/health", Route::Health)
}

/// The analytics service.
#[derive(Debug)]
pub struct Service {
    db: Db,
    routes: Router<Route>,
}

impl Service {
    /// Builds the service from its variables.
    pub fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        Ok(Self { db: Db::from_config(&ctx.config)?, routes: routes() })
    }

    /// Handles one request.
    pub async fn handle(&self, request: Request) -> Response {
        match self.routes.at(request.method(), request.uri().path()) {
            Ok((Route::Health, _)) => health::report(SERVICE, vec![Check::required("postgres", self.db.ping().await)]),
            Err(problem) => problem.into_response(),
        }
    }
}

kit::spin_component!(Service);
