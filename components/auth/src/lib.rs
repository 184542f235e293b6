//! # auth — registration, login, token refresh and the JWKS document
//!
//! A private Spin component behind the gateway's public `/auth/*` and `/.well-known/*` routes. It owns the
//! `auth` schema (refresh tokens) and the signing key; accounts and passwords belong to `users`, which it
//! calls by service chaining. The policy (lifetimes, rotation, revocation, rate limits) is in `docs/auth.md`.
//!
//! ## Layout
//! - `lib.rs`: the [`Service`], its route table and the Spin entry point.
//! - [`session`]: register, login, refresh, logout.
//! - [`tokens`]: access tokens (EdDSA JWT) and refresh tokens (opaque, stored hashed).
//! - [`rate_limit`]: login and registration limits in Redis (kit's [`kit::limit`]).
//! - [`users_client`]: the calls to `users`.
//! - [`store`]: the SQL.
//! - [`error`]: the error type and its mapping to problem responses.

pub mod error;
pub mod rate_limit;
pub mod session;
pub mod store;
pub mod tokens;
pub mod users_client;

use std::time::Duration;

use http::{header, HeaderValue, Method, StatusCode};
use kit::cache::Cache;
use kit::component::Routes;
use kit::config::ConfigError;
use kit::db::Db;
use kit::health::{self, Check};
use kit::jwt::{PublicKey, Signer};
use kit::limit::GuessPolicy;
use kit::router::{Params, Router};
use kit::{Component, Ctx, Request, Response};

use crate::error::Error;
use crate::rate_limit::{Limits, LoginLimiter};
use crate::tokens::Issuer;
use crate::users_client::UsersClient;

const SERVICE: &str = "auth";

/// The operations of this component's routes.
#[allow(missing_docs)] // Each variant is named after its route in the table below.
#[derive(Debug, Clone, Copy)]
pub enum Route {
    Health,
    Register,
    Login,
    Refresh,
    Logout,
    Jwks,
}

fn routes() -> Router<Route> {
    Router::new()
        .route(Method::GET, "/health", Route::Health)
        .route(Method::POST, "/auth/register", Route::Register)
        .route(Method::POST, "/auth/login", Route::Login)
        .route(Method::POST, "/auth/refresh", Route::Refresh)
        .route(Method::POST, "/auth/logout", Route::Logout)
        .route(Method::GET, "/.well-known/jwks.json", Route::Jwks)
}

/// The auth service.
#[derive(Debug)]
pub struct Service {
    db: Db,
    cache: Cache,
    users: UsersClient,
    limiter: LoginLimiter,
    issuer: Issuer,
    jwks: serde_json::Value,
    routes: Router<Route>,
}

impl Component for Service {
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        // The signing key must belong to the published public keys.
        let config = &ctx.config;
        let invalid = |name: &str, reason: String| ConfigError::Invalid { name: name.to_owned(), reason };
        let signer = Signer::from_pem(&config.require("jwt_private_key")?)
            .map_err(|error| invalid("jwt_private_key", error.to_string()))?;
        let keys = kit::jwt::public_keys_from_config(config)?;
        if !keys.iter().any(|key| key.kid() == signer.kid()) {
            return Err(invalid("jwt_private_key", "its public key is not among jwt_public_key(s)".to_owned()));
        }
        let cache = Cache::from_config(config)?;
        let logins = GuessPolicy::from_config(config)?;
        let limits = Limits {
            logins,
            registrations_per_address: config.parse_or("registrations_per_address", 50)?,
            window: logins.window,
            prefix: config.get("redis_key_prefix")?.unwrap_or_else(|| "pc:".to_owned()) + "auth:",
        };
        Ok(Self {
            db: Db::from_config(config)?,
            limiter: LoginLimiter::new(cache.clone(), limits),
            cache,
            users: UsersClient::new(
                ctx.upstream.clone(),
                config.millis_or("upstream_timeout_ms", Duration::from_secs(5))?,
            ),
            issuer: Issuer {
                signer,
                issuer: config.require("jwt_issuer")?,
                audience: config.require("jwt_audience")?,
                access_ttl_secs: config.parse_or("access_token_ttl_secs", 900)?,
                refresh_ttl_secs: config.parse_or("refresh_token_ttl_secs", 604_800)?,
            },
            jwks: serde_json::json!({ "keys": keys.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() }),
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

    async fn dispatch(&self, route: Route, _: &Params, request: &Request) -> Result<Response, Error> {
        match route {
            Route::Health => Ok(health::report(
                SERVICE,
                vec![
                    Check::required("postgres", self.db.ping().await),
                    Check::optional("redis", self.cache.ping().await),
                ],
            )),
            Route::Register => session::register(self, request).await,
            Route::Login => session::login(self, request).await,
            Route::Refresh => session::refresh(self, request).await,
            Route::Logout => session::logout(self, request).await,
            Route::Jwks => {
                let mut response = kit::http::json(StatusCode::OK, &self.jwks);
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
                Ok(response)
            }
        }
    }

    /// A `users` answer relayed as it is (see [`Error::Forward`]).
    fn error_response(error: Error) -> Response {
        error.into_response()
    }
}

kit::spin_component!(Service);
