//! The orders service's errors and their one mapping to problem responses.

use kit::bridge::BridgeError;
use kit::db::DbError;
use kit::{FieldError, Problem};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong; the problem is already client-facing.
    #[error("{0}")]
    Request(Problem),
    /// No such order, or one the caller may not see.
    #[error("order not found")]
    NotFound,
    /// The caller's account is inactive (or gone).
    #[error("user inactive")]
    UserInactive,
    /// The Idempotency-Key was used before with another body.
    #[error("idempotency key reused with another request")]
    IdempotencyMismatch,
    /// The bridge refused or failed.
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error::Request(problem)
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => problem,
            Error::NotFound => Problem::not_found().with_detail("no such order"),
            Error::UserInactive => Problem::forbidden("this account cannot place orders"),
            Error::IdempotencyMismatch => Problem::validation(vec![FieldError::new(
                "Idempotency-Key",
                "was already used for a different request",
            )]),
            Error::Bridge(BridgeError::NotFound(detail)) => {
                Problem::validation(vec![FieldError::new("items", format!("unknown product: {detail}"))])
            }
            Error::Bridge(BridgeError::InsufficientStock(detail)) => Problem::conflict(detail),
            Error::Bridge(BridgeError::Invalid(detail)) => Problem::validation(vec![FieldError::new("items", detail)]),
            Error::Bridge(BridgeError::Unavailable(reason)) => {
                tracing::error!(%reason, "bridge unavailable");
                Problem::unavailable("orders cannot be placed right now; retry later")
            }
            Error::Db(error) => error.into_problem("order store"),
        }
    }
}
