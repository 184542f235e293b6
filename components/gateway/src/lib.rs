//! # gateway — the public entry point of Py-Commerce
//!
//! The only component with a public route (`/...`). For every request it:
//! 1. takes the client's `x-request-id` (if well formed) or makes one, and returns it;
//! 2. answers CORS preflights from the allow-list and decorates allowed cross-origin responses;
//! 3. refuses unsafe paths (dot segments, anything under `internal`) and bodies over the limit (413);
//! 4. verifies the bearer token (EdDSA JWT, [`kit::jwt`]) where the route needs one;
//! 5. answers a public catalog read (`GET /products`, `GET /products/{id}`) that the catalog cache holds
//!    itself — through the key-value store's warm Redis connection, no chained request
//!    ([`catalog::cached_reads`]);
//! 6. otherwise forwards to the owning component by service chaining, with client-sent identity headers
//!    replaced by the verified `x-pc-user-id` / `x-pc-role` and the client's address (`x-pc-client-addr`)
//!    taken from Spin's own `spin-client-addr` — the last one — or from the trusted proxies'
//!    `X-Forwarded-For` entry;
//! 7. writes one JSON access-log line (for a cache hit answered here, the hit's only line).
//!
//! ## Layout
//! - [`routes`]: the public route table — which component owns a path and who may call it.
//! - [`proxy`]: building the forwarded request and cleaning the upstream response.
//! - [`cors`]: the CORS policy.
//! - [`health`]: `GET /health`, the aggregated health of every service.
//! - [`api_docs`]: `GET /openapi.json` and the `GET /docs` page.
//! - [`error`]: the gateway's error type and its one mapping to problem responses.

pub mod api_docs;
pub mod cors;
pub mod error;
pub mod health;
pub mod proxy;
pub mod routes;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use http::{header, HeaderValue, Method, StatusCode};
use kit::component::get_or_try_init;
use kit::config::ConfigError;
use kit::http::{header_str, BodyCap, BodyOverLimit, X_REQUEST_ID};
use kit::identity::Identity;
use kit::jwt::{
    bearer_token, JwtError, PublicKey, Verifier, MAX_ACCESS_TOKEN_LIFETIME_SECS, MAX_SERVICE_TOKEN_LIFETIME_SECS,
};
use kit::kv::KeyValue;
use kit::{Component, Config, Ctx, Problem, Request, Response, Upstream};
use tracing::Instrument;

use catalog::cached_reads::{Answer, CachedReads, X_PC_CATALOG_CACHE};

use crate::cors::Cors;
use crate::error::Error;
use crate::routes::Access;

/// Default request body limit (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The gateway.
///
/// Spin builds it for every request, and on Spin every setting read is a host call, so it reads only what
/// the request needs: the token verifier (keys parsed from PEM), the CORS policy and the forwarding
/// settings are built on first use, which a `GET /health/live` or a catalog read answered from the cache
/// never reaches; the verifier holds the current keys first and reads the others (a rotation's, the
/// services') only for a token that none of those signed; the body cap comes from the host, which read it
/// to buffer the body. [`Component::check_config`] builds everything eagerly (devhost at start, `/health`).
#[derive(Debug)]
pub struct Service {
    config: Config,
    /// Verifies tokens signed by the keys auth signs with (`jwt_public_key`).
    verifier: OnceLock<Verifier>,
    /// Verifies tokens signed by any trusted key: also a key rotation's and the services' own.
    all_keys_verifier: OnceLock<Verifier>,
    cors: OnceLock<Cors>,
    /// `None` inside when the cache settings are unusable: catalog reads are then always forwarded.
    catalog: OnceLock<Option<CachedReads>>,
    forwarding: OnceLock<Forwarding>,
    upstream: Upstream,
    stores: KeyValue,
}

/// The settings of forwarding a request to a component.
#[derive(Debug)]
struct Forwarding {
    /// Reverse proxies in front of Spin that append to `X-Forwarded-For` (0: clients connect to Spin).
    trusted_proxy_hops: usize,
    upstream_timeout: Duration,
}

impl Forwarding {
    fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            trusted_proxy_hops: config.parse_or("trusted_proxy_hops", 0)?,
            upstream_timeout: config.millis_or("upstream_timeout_ms", Duration::from_secs(10))?,
        })
    }
}

impl Component for Service {
    /// The verifier, CORS policy and forwarding settings are built later, when a request needs them.
    fn new(ctx: &Ctx) -> Result<Self, ConfigError> {
        let config = &ctx.config;
        Ok(Self {
            config: config.clone(),
            verifier: OnceLock::new(),
            all_keys_verifier: OnceLock::new(),
            cors: OnceLock::new(),
            catalog: OnceLock::new(),
            forwarding: OnceLock::new(),
            upstream: ctx.upstream.clone(),
            stores: ctx.key_value.clone(),
        })
    }

    /// A bad key is an error now rather than at the first request that needs it.
    fn check_config(&self) -> Result<(), ConfigError> {
        self.all_keys_verifier()?;
        self.cors()?;
        self.forwarding()?;
        self.health_timeout()?;
        self.max_body_bytes()?;
        Ok(())
    }

    /// Handles one public request.
    async fn handle(&self, request: Request) -> Response {
        let started = Instant::now();
        let request_id = request_id_for(&request);
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let origin = header_str(request.headers(), header::ORIGIN.as_str()).map(str::to_owned);

        let span = tracing::info_span!("gateway", request_id = %request_id);
        let (mut response, outcome) = match self.dispatch(request, &request_id).instrument(span).await {
            Ok((response, outcome)) => (response, outcome),
            Err(error) => (Problem::from(error).into_response(), Outcome::default()),
        };

        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(X_REQUEST_ID, value);
        }
        if let Some(origin) = &origin {
            match self.cors() {
                Ok(cors) => cors.decorate(origin, response.headers_mut()),
                Err(error) => tracing::error!(%error, "gateway misconfigured"),
            }
        }
        tracing::info!(
            target: kit::log::ACCESS_TARGET,
            method = %method,
            path = %path,
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            request_id = %request_id,
            user_id = outcome.user_id.as_deref(),
            component = outcome.component,
            from_cache = outcome.cache.is_some(),
            cache_key = outcome.cache.as_ref().map(|(key, _)| key.as_str()),
            cache_hits = outcome.cache.as_ref().map(|(_, hits)| *hits),
            "request"
        );
        response
    }
}

impl Service {
    fn verifier(&self) -> Result<&Verifier, ConfigError> {
        get_or_try_init(&self.verifier, || build_verifier(&self.config))
    }

    fn all_keys_verifier(&self) -> Result<&Verifier, ConfigError> {
        get_or_try_init(&self.all_keys_verifier, || with_other_keys(self.verifier()?.clone(), &self.config))
    }

    fn catalog(&self) -> Option<&CachedReads> {
        self.catalog
            .get_or_init(|| match CachedReads::new(&self.config, &self.stores) {
                Ok(reads) => Some(reads),
                Err(error) => {
                    tracing::error!(%error, "catalog cache settings unusable; forwarding every catalog read");
                    None
                }
            })
            .as_ref()
    }

    fn forwarding(&self) -> Result<&Forwarding, ConfigError> {
        get_or_try_init(&self.forwarding, || Forwarding::from_config(&self.config))
    }

    fn cors(&self) -> Result<&Cors, ConfigError> {
        get_or_try_init(&self.cors, || Ok(Cors::new(self.config.get("cors_allowed_origins")?.as_deref().unwrap_or(""))))
    }

    async fn dispatch(&self, request: Request, request_id: &str) -> Result<(Response, Outcome), Error> {
        if request.method() == Method::OPTIONS {
            if let Some(preflight) = self.cors()?.preflight(&request)? {
                return Ok((preflight, Outcome::default()));
            }
        }
        routes::check_path(request.uri().path())?;
        self.check_body(&request)?;

        let path = request.uri().path();
        if path == "/health" || path == "/health/live" {
            if request.method() != Method::GET && request.method() != Method::HEAD {
                return Err(Error::MethodNotAllowed(vec![Method::GET, Method::HEAD]));
            }
            let response = if path == "/health" {
                self.check_config()?;
                health::aggregate(&self.upstream, request_id, self.health_timeout()?).await
            } else {
                kit::http::json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
            };
            return Ok((response, Outcome::default()));
        }

        if let Some(response) = api_docs::serve(request.method(), path, request.headers())? {
            return Ok((response, Outcome::default()));
        }

        let route = routes::find(path).ok_or(Error::NotFound)?;
        let identity = self.identify(&request)?;
        match (route.access, &identity) {
            (Access::Authenticated, None) => return Err(Error::Unauthenticated),
            (Access::PublicReads, None) if !is_read(request.method()) => return Err(Error::Unauthenticated),
            _ => {}
        }

        let mut outcome = Outcome {
            user_id: identity.as_ref().map(|identity| identity.user_id.clone()),
            component: Some(route.component),
            cache: None,
        };
        let public_catalog = identity.as_ref().is_none_or(|identity| !identity.is_admin());
        let mut catalog_cache = None;
        if route.component == "products" && is_read(request.method()) && public_catalog {
            if let Some(catalog) = self.catalog() {
                match catalog.answer(&request).await {
                    Answer::Cached { response, key, hits } => {
                        outcome.cache = Some((key, hits));
                        return Ok((response, outcome));
                    }
                    Answer::Forward(found) => catalog_cache = found,
                }
            }
        }
        let forwarding = self.forwarding()?;
        let mut forwarded =
            proxy::forward_request(request, identity.as_ref(), request_id, forwarding.trusted_proxy_hops)?;
        if let Some(found) = catalog_cache {
            forwarded.headers_mut().insert(X_PC_CATALOG_CACHE, found);
        }
        let response = self
            .upstream
            .send(route.component, forwarded, forwarding.upstream_timeout)
            .await
            .map_err(Error::Upstream)?;
        Ok((proxy::clean_response(response), outcome))
    }

    /// The verified identity of the bearer token, `None` without an `Authorization` header, and 401 for a
    /// header that is present but not a valid bearer token (on every route: a bad token is never ignored).
    fn identify(&self, request: &Request) -> Result<Option<Identity>, Error> {
        let Some(value) = request.headers().get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let token = value.to_str().ok().and_then(bearer_token).ok_or(Error::MalformedAuthorization)?;
        // Nearly every token is signed by the current key: the other keys' settings are read only for a token
        // whose key the first verifier does not know (a rotation's, or a service's).
        match self.verifier()?.verify(token) {
            Err(JwtError::UnknownKey) => self.all_keys_verifier()?.verify(token),
            verified => verified,
        }
        .map(Some)
        .map_err(Error::InvalidToken)
    }

    /// `health_timeout_ms`: read only for `GET /health`.
    fn health_timeout(&self) -> Result<Duration, ConfigError> {
        self.config.millis_or("health_timeout_ms", Duration::from_secs(2))
    }

    /// `max_body_bytes`: read only for a request that announces a body the host did not read (else the host's
    /// [`BodyCap`] says it).
    fn max_body_bytes(&self) -> Result<usize, ConfigError> {
        self.config.parse_or("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    }

    /// 413 when the body (or its announced `Content-Length`) is over the limit, 400 for an unparsable length.
    fn check_body(&self, request: &Request) -> Result<(), Error> {
        let over_limit = request.extensions().get::<BodyOverLimit>().is_some();
        let length = request.headers().get(header::CONTENT_LENGTH);
        if !over_limit && request.body().is_empty() && length.is_none() {
            return Ok(());
        }
        // The host read the setting already when it buffered a body.
        let max = match request.extensions().get::<BodyCap>() {
            Some(BodyCap(cap)) => *cap,
            None => self.max_body_bytes()?,
        };
        if over_limit || request.body().len() > max {
            return Err(Error::TooLarge(max));
        }
        if let Some(length) = length {
            let length: u64 = length
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .ok_or(Error::BadRequest("the Content-Length header is invalid"))?;
            if length > max as u64 {
                return Err(Error::TooLarge(max));
            }
        }
        Ok(())
    }
}

/// The verifier of tokens signed by the current keys: `jwt_public_key`, `jwt_issuer`, `jwt_audience` and
/// the user tokens' lifetime cap.
fn build_verifier(config: &Config) -> Result<Verifier, ConfigError> {
    let keys = PublicKey::all_from_pems(&config.require("jwt_public_key")?)
        .map_err(|error| invalid("jwt_public_key", error.to_string()))?;
    Ok(Verifier::new(&keys, &config.require("jwt_issuer")?, &config.require("jwt_audience")?)
        .map_err(|error| invalid("jwt_public_key", error.to_string()))?
        // A user token may live as long as auth issues them.
        .with_max_lifetimes(
            config.parse_or("access_token_ttl_secs", MAX_ACCESS_TOKEN_LIFETIME_SECS)?,
            MAX_SERVICE_TOKEN_LIFETIME_SECS,
        ))
}

/// `verifier` trusting every other key too: `jwt_additional_public_keys` for user tokens, and
/// `service_public_keys` for service tokens, which live at most `service_token_max_lifetime_secs`.
fn with_other_keys(verifier: Verifier, config: &Config) -> Result<Verifier, ConfigError> {
    let pems = |name: &str| -> Result<Vec<PublicKey>, ConfigError> {
        match config.get(name)? {
            Some(pems) => PublicKey::all_from_pems(&pems).map_err(|error| invalid(name, error.to_string())),
            None => Ok(Vec::new()),
        }
    };
    Ok(verifier
        .with_keys(&pems("jwt_additional_public_keys")?)
        .map_err(|error| invalid("jwt_additional_public_keys", error.to_string()))?
        .with_service_keys(&pems("service_public_keys")?)
        .map_err(|error| invalid("service_public_keys", error.to_string()))?
        // A service token lives a few minutes.
        .with_max_service_lifetime(
            config.parse_or("service_token_max_lifetime_secs", MAX_SERVICE_TOKEN_LIFETIME_SECS)?,
        ))
}

fn invalid(name: &str, reason: String) -> ConfigError {
    ConfigError::Invalid { name: name.to_owned(), reason }
}

/// What the access log records about the routing of a request.
#[derive(Debug, Default)]
struct Outcome {
    user_id: Option<String>,
    component: Option<&'static str>,
    /// Answered from the catalog cache here, without forwarding: the entry's key and hits (the access line
    /// is the hit's only log line).
    cache: Option<(String, i64)>,
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// The client's request id when it is a sane token (`[A-Za-z0-9._:-]{1,128}`), else a new UUID v7.
fn request_id_for(request: &Request) -> String {
    header_str(request.headers(), X_REQUEST_ID)
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

kit::spin_component!(Service);
