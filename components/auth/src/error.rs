//! The auth service's errors and their one mapping to problem responses.

use kit::db::DbError;
use kit::jwt::JwtError;
use kit::Problem;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong; the problem is already client-facing (or comes from `users`).
    #[error("{0}")]
    Request(#[from] Problem),
    /// A client error `users` answered (validation, conflict): already a problem response, passed on as is.
    #[error("users refused the request: {}", .0.status())]
    Forward(Box<kit::Response>),
    /// Wrong email or password, or an inactive account — indistinguishable on purpose.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The refresh token is unknown, expired, revoked or reused.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// Too many failed logins.
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    /// The users service failed or did not answer.
    #[error("users service: {0}")]
    Users(String),
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Signing failed (a key problem).
    #[error(transparent)]
    Jwt(#[from] JwtError),
}

impl Error {
    /// The response for this error: a forwarded `users` answer as it is, anything else as a problem.
    pub fn into_response(self) -> kit::Response {
        match self {
            Error::Forward(response) => {
                let (parts, body) = (*response).into_parts();
                let mut clean = http::Response::new(body);
                *clean.status_mut() = parts.status;
                if let Some(content_type) = parts.headers.get(http::header::CONTENT_TYPE) {
                    clean.headers_mut().insert(http::header::CONTENT_TYPE, content_type.clone());
                }
                clean
            }
            other => Problem::from(other).into_response(),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => problem,
            Error::Forward(response) => Problem::bad_request("the request was rejected")
                .with_detail(format!("rejected with status {}", response.status())),
            Error::InvalidCredentials => Problem::unauthorized("invalid email or password"),
            Error::InvalidRefreshToken => Problem::unauthorized("the refresh token is invalid or expired"),
            Error::RateLimited(retry_after) => Problem::too_many_requests(retry_after),
            Error::Users(reason) => {
                tracing::error!(%reason, "users service failed");
                Problem::unavailable("authentication is temporarily unavailable; retry later")
                    .with_header(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"))
            }
            Error::Db(error) => error.into_problem("session store"),
            Error::Jwt(error) => {
                tracing::error!(%error, "token signing failed");
                Problem::internal()
            }
        }
    }
}
