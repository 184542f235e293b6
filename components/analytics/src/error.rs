//! The analytics service's errors and their one mapping to problem responses.

use kit::db::DbError;
use kit::Problem;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong; the problem is already client-facing.
    #[error("{0}")]
    Request(#[from] Problem),
    /// Postgres failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => problem,
            Error::Db(error) => error.into_problem("sales store"),
        }
    }
}
