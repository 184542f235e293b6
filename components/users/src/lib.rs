//! # users — user accounts
//!
//! A private Spin component, reached only through the gateway (public routes) or by other components
//! through service chaining (`/internal/...`, which the gateway never forwards). It owns the `users` schema:
//! profile, role, active flag, Argon2id password hash and the instant before which sessions are revoked.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its route table and the Spin entry point.
//! - [`accounts`]: the public routes (`/users...`) with their access rules.
//! - [`internal`]: the routes only `auth` calls: create a customer, verify credentials, session facts.
//! - [`domain`]: validated values (email, name, password).
//! - [`password`]: Argon2id hashing and constant-time verification.
//!
//! A password change's current password is a guess like a login: it is limited in Redis by kit's
//! [`kit::limit::GuessLimiter`] (scope `password`) with the login policy's settings.
//! - [`store`]: the SQL.
//! - [`error`]: the error type and its mapping to problem responses.

pub mod accounts;
pub mod domain;
pub mod error;
pub mod internal;
pub mod password;
pub mod store;

use http::Method;
use kit::cache::Cache;
use kit::component::{id, Routes};
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::limit::{GuessLimiter, GuessPolicy, Limiter};
use kit::router::{Params, Router};
use kit::{Component, Ctx, Request, Response};

use crate::error::Error;

const SERVICE: &str = "users";

/// The operations of this component's routes.
#[allow(missing_docs)] // Each variant is named after its route in the table below.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Health,
    Create,
    List,
    Get,
    Update,
    Delete,
    ChangePassword,
    InternalCreateCustomer,
    InternalVerifyCredentials,
    InternalSession,
}

fn routes() -> Router<Route> {
    Router::new()
        .route(Method::GET, "/health", Route::Health)
        .route(Method::POST, "/users", Route::Create)
        .route(Method::GET, "/users", Route::List)
        .route(Method::GET, "/users/{id}", Route::Get)
        .route(Method::PUT, "/users/{id}", Route::Update)
        .route(Method::DELETE, "/users/{id}", Route::Delete)
        .route(Method::PUT, "/users/{id}/password", Route::ChangePassword)
        .route(Method::POST, "/internal/users", Route::InternalCreateCustomer)
        .route(Method::POST, "/internal/credentials/verify", Route::InternalVerifyCredentials)
        .route(Method::GET, "/internal/users/{id}/session", Route::InternalSession)
}

/// The users service.
#[derive(Debug)]
pub struct Service {
    db: Db,
    cache: Cache,
    passwords: GuessLimiter,
    routes: Router<Route>,
}

impl Component for Service {
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        let config = &ctx.config;
        let cache = Cache::from_config(config)?;
        let prefix = config.get("redis_key_prefix")?.unwrap_or_else(|| "pc:".to_owned()) + "users:";
        let passwords =
            GuessLimiter::new(Limiter::new(cache.clone(), prefix), "password", GuessPolicy::from_config(config)?);
        Ok(Self { db: Db::from_config(config)?, cache, passwords, routes: routes() })
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
        let db = &self.db;
        match route {
            Route::Health => Ok(health::report(
                SERVICE,
                vec![Check::required("postgres", db.ping().await), Check::optional("redis", self.cache.ping().await)],
            )),
            Route::Create => accounts::create(db, request).await,
            Route::List => accounts::list(db, request).await,
            Route::Get => accounts::get(db, request, id(params)).await,
            Route::Update => accounts::update(db, request, id(params)).await,
            Route::Delete => accounts::delete(db, request, id(params)).await,
            Route::ChangePassword => accounts::change_password(db, &self.passwords, request, id(params)).await,
            Route::InternalCreateCustomer => internal::create_customer(db, request).await,
            Route::InternalVerifyCredentials => internal::verify_credentials(db, request).await,
            Route::InternalSession => internal::session(db, id(params)).await,
        }
    }
}

kit::spin_component!(Service);
