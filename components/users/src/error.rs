//! The users service's errors and their one mapping to problem responses. Database detail is logged here
//! and never returned.

use kit::db::DbError;
use kit::{FieldError, Problem};

use crate::password::HashError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong; the problem is already client-facing.
    #[error("{0}")]
    Request(#[from] Problem),
    /// No such user, or one the caller may not see (both look the same, so ids cannot be probed).
    #[error("user not found")]
    NotFound,
    /// The email belongs to another account.
    #[error("email already registered")]
    EmailTaken,
    /// The current password given for a password change is wrong.
    #[error("current password is wrong")]
    WrongPassword,
    /// Too many wrong current passwords (seconds until the caller may retry).
    #[error("rate limited for {0} s")]
    RateLimited(u64),
    /// Credentials did not match an active account.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => problem,
            Error::NotFound => Problem::not_found().with_detail("no such user"),
            Error::EmailTaken => Problem::conflict("this email is already registered")
                .with_errors(vec![FieldError::new("email", "is already registered")]),
            Error::WrongPassword => Problem::forbidden("the current password is incorrect"),
            Error::RateLimited(retry_after) => {
                Problem::too_many_requests(retry_after).with_detail("too many wrong current passwords; retry later")
            }
            Error::InvalidCredentials => Problem::unauthorized("invalid email or password"),
            Error::Db(DbError::Query { constraint: Some(constraint), .. }) if constraint == "users_email_key" => {
                Problem::from(Error::EmailTaken)
            }
            Error::Db(error) => error.into_problem("user store"),
            Error::Hash(error) => {
                tracing::error!(%error, "password hashing failed");
                Problem::internal()
            }
        }
    }
}
