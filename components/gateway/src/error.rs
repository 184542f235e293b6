//! The gateway's errors and their one mapping to problem responses. Upstream causes are logged here and
//! never sent to the client.

use http::Method;
use kit::jwt::JwtError;
use kit::upstream::UpstreamError;
use kit::Problem;

/// Why the gateway answered itself instead of forwarding.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No public route.
    #[error("not found")]
    NotFound,
    /// The method is not served on this path.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<Method>),
    /// Malformed request (path, headers).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Body over the limit.
    #[error("body over {0} bytes")]
    TooLarge(usize),
    /// The route needs a token and none was sent.
    #[error("authentication required")]
    Unauthenticated,
    /// `Authorization` is not `Bearer <token>`.
    #[error("malformed authorization header")]
    MalformedAuthorization,
    /// The token failed verification.
    #[error("invalid token: {0}")]
    InvalidToken(JwtError),
    /// A CORS preflight that the policy refuses.
    #[error("CORS preflight refused: {0}")]
    CorsRefused(&'static str),
    /// The owning component failed to answer.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// A setting the request needed is missing or invalid.
    #[error(transparent)]
    Misconfigured(#[from] kit::config::ConfigError),
    /// The embedded OpenAPI document could not be inflated (a broken build).
    #[error("the embedded OpenAPI document is unreadable: {0}")]
    Document(std::io::Error),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => Problem::not_found(),
            Error::MethodNotAllowed(allowed) => Problem::method_not_allowed(&allowed),
            Error::BadRequest(detail) => Problem::bad_request(detail),
            Error::TooLarge(limit) => Problem::payload_too_large(limit),
            Error::Unauthenticated => Problem::unauthorized("a bearer token is required"),
            Error::MalformedAuthorization => Problem::unauthorized("the Authorization header must be `Bearer <token>`"),
            Error::InvalidToken(error) => {
                tracing::info!(%error, "token refused");
                Problem::unauthorized(error.to_string())
            }
            Error::CorsRefused(detail) => Problem::forbidden(detail),
            Error::Misconfigured(error) => {
                tracing::error!(%error, "gateway misconfigured");
                Problem::internal()
            }
            Error::Document(error) => {
                tracing::error!(%error, "OpenAPI document unreadable");
                Problem::internal()
            }
            Error::Upstream(error) => {
                tracing::error!(%error, "upstream call failed");
                match error {
                    UpstreamError::Timeout(_) => Problem::gateway_timeout("the service did not answer in time"),
                    UpstreamError::Unreachable { .. } => Problem::bad_gateway("the service could not be reached"),
                    // Nearly always a burst that filled the host's instance pool: worth a retry.
                    UpstreamError::NotRun(_) => Problem::unavailable("the service is busy; try again shortly")
                        .with_header(http::header::RETRY_AFTER, http::HeaderValue::from_static("1")),
                }
            }
        }
    }
}
