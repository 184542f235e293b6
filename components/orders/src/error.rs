//! The orders service's errors and their one mapping to problem responses.

use kit::bridge::BridgeError;
use kit::config::ConfigError;
use kit::db::DbError;
use kit::{FieldError, Problem};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong; the problem is already client-facing.
    #[error("{0}")]
    Request(#[from] Problem),
    /// No such order, or one the caller may not see.
    #[error("order not found")]
    NotFound,
    /// The caller's account is inactive (or gone).
    #[error("user inactive")]
    UserInactive,
    /// Too many placements by this user (seconds until the window ends).
    #[error("too many orders; retry in {0} s")]
    TooManyOrders(u64),
    /// The user already holds the most units of a product the limit allows.
    #[error("units limit of product {product_id}")]
    UnitsLimit {
        /// The product.
        product_id: String,
        /// Units a customer may hold.
        max_units: i64,
        /// Seconds until units may free up.
        retry_after_secs: u64,
    },
    /// The stock reservation expired (or was released) before the order could be written; nothing was
    /// written, and a retry reserves again.
    #[error("reservation lost")]
    ReservationLost,
    /// The Idempotency-Key was used before with another body.
    #[error("idempotency key reused with another request")]
    IdempotencyMismatch,
    /// The bridge refused or failed.
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A setting read on first use is unusable (devhost refuses it at start; on Spin this request fails).
    #[error(transparent)]
    Misconfigured(#[from] ConfigError),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => problem,
            Error::NotFound => Problem::not_found().with_detail("no such order"),
            Error::UserInactive => Problem::forbidden("this account cannot place orders"),
            Error::TooManyOrders(retry_after) => {
                Problem::too_many_requests(retry_after).with_detail("too many orders in a short time; retry later")
            }
            Error::UnitsLimit { product_id, max_units, retry_after_secs } => {
                Problem::too_many_requests(retry_after_secs).with_detail(format!(
                    "your recent orders already hold the most units of product {product_id} a customer may order \
                 ({max_units}); retry later"
                ))
            }
            Error::ReservationLost => {
                Problem::unavailable("the order took too long and its stock was given back; retry the request")
            }
            Error::IdempotencyMismatch => Problem::validation(vec![FieldError::new(
                "Idempotency-Key",
                "was already used for a different request",
            )]),
            Error::Bridge(BridgeError::NotFound(detail)) => {
                Problem::validation(vec![FieldError::new("items", format!("unknown product: {detail}"))])
            }
            Error::Bridge(BridgeError::InsufficientStock(detail)) => Problem::conflict(detail),
            Error::Bridge(BridgeError::Forbidden(_)) => Problem::forbidden("this account cannot place orders"),
            Error::Bridge(BridgeError::Invalid(detail)) => Problem::validation(vec![FieldError::new("items", detail)]),
            Error::Bridge(BridgeError::Unavailable(reason)) => {
                tracing::error!(%reason, "bridge unavailable");
                Problem::unavailable("orders cannot be placed right now; retry later")
            }
            Error::Db(error) => error.into_problem("order store"),
            Error::Misconfigured(error) => {
                tracing::error!(%error, "orders misconfigured");
                Problem::internal()
            }
        }
    }
}
