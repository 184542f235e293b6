//! The products service's errors and their one conversion into problem responses. Database causes are
//! logged here and never sent to the client; named constraints of the migration map to 409/422 field errors.

use kit::db::DbError;
use kit::{FieldError, Problem};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem decided at the edge (malformed body, bad query, missing identity, unknown route).
    #[error("{0}")]
    Request(Box<Problem>),
    /// Invalid fields of a write (422).
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// No such resource (or an id that is not a UUID).
    #[error("not found")]
    NotFound,
    /// The write conflicts with existing data (409), optionally naming the field.
    #[error("conflict: {detail}")]
    Conflict {
        /// Explanation for the client.
        detail: &'static str,
        /// The field that conflicts, when there is one.
        field: Option<&'static str>,
    },
    /// A stock change by `PUT` without `If-Match` (428).
    #[error("precondition required")]
    PreconditionRequired,
    /// `If-Match` does not match the current revision (412); the current `ETag`, when known.
    #[error("precondition failed")]
    PreconditionFailed(String),
    /// Postgres failed.
    #[error(transparent)]
    Db(DbError),
    /// A bug or an impossible state (logged; the client gets a bare 500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Error::Request(Box::new(problem))
    }
}

/// What a violated constraint means for the client.
enum Violation {
    /// 409 on `field`.
    Conflict(&'static str, &'static str),
    /// 422 on `field`.
    Invalid(&'static str, &'static str),
}

/// Every named constraint of `migrations/catalog/V20__catalog_tables.sql` a write can violate.
const CONSTRAINTS: &[(&str, Violation)] = &[
    ("products_sku_key", Violation::Conflict("sku", "a product with this SKU already exists")),
    ("categories_name_key", Violation::Conflict("name", "a category with this name already exists")),
    ("categories_slug_key", Violation::Conflict("slug", "a category with this slug already exists")),
    ("products_category_fkey", Violation::Invalid("category_id", "no such category")),
    ("categories_parent_fkey", Violation::Invalid("parent_id", "no such category")),
    ("categories_parent_check", Violation::Invalid("parent_id", "a category cannot be its own parent")),
    ("products_price_check", Violation::Invalid("price.cents", "must not be negative")),
    ("products_stock_check", Violation::Invalid("stock", "must not be negative")),
    ("products_sku_check", Violation::Invalid("sku", "is not a valid SKU")),
    ("products_name_check", Violation::Invalid("name", "has an invalid length")),
    ("products_description_check", Violation::Invalid("description", "is too long")),
    ("products_currency_check", Violation::Invalid("price.currency", "is not a currency code")),
    ("categories_name_check", Violation::Invalid("name", "has an invalid length")),
    ("categories_slug_check", Violation::Invalid("slug", "is not a valid slug")),
];

impl Error {
    /// Maps a database error of a write: a named constraint becomes its 409/422, anything else stays a
    /// database error.
    pub fn from_write(error: DbError) -> Self {
        let violation =
            error.constraint().and_then(|name| CONSTRAINTS.iter().find(|(known, _)| *known == name)).map(|(_, v)| v);
        match violation {
            Some(Violation::Conflict(field, detail)) => Error::Conflict { detail, field: Some(field) },
            Some(Violation::Invalid(field, message)) => Error::Validation(vec![FieldError::new(*field, *message)]),
            None => Error::Db(error),
        }
    }

    /// Maps a database error of a product deletion: a foreign key violation means orders or stock
    /// reservations refer to the product, which then stays (order history keeps its products); the client
    /// is told to deactivate it instead.
    pub fn from_product_delete(error: DbError) -> Self {
        if error.code() == Some("23503") {
            Error::Conflict {
                detail: "the product has been ordered and cannot be deleted; deactivate it instead (active: false)",
                field: None,
            }
        } else {
            Error::from_write(error)
        }
    }

    /// Maps a database error of a category deletion: a foreign key violation means a product or a
    /// subcategory started to use the category meanwhile.
    pub fn from_category_delete(error: DbError) -> Self {
        if error.code() == Some("23503") {
            Error::Conflict { detail: "the category still has products or subcategories", field: None }
        } else {
            Error::Db(error)
        }
    }
}

impl From<DbError> for Error {
    fn from(error: DbError) -> Self {
        Error::Db(error)
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::Request(problem) => *problem,
            Error::Validation(errors) => Problem::validation(errors),
            Error::NotFound => Problem::not_found(),
            Error::Conflict { detail, field } => {
                let problem = Problem::conflict(detail);
                match field {
                    Some(field) => problem.with_errors(vec![FieldError::new(field, detail)]),
                    None => problem,
                }
            }
            Error::PreconditionRequired => {
                Problem::new(http::StatusCode::PRECONDITION_REQUIRED, "precondition-required", "Precondition required")
                    .with_detail(
                        "changing the stock needs If-Match with the product's ETag (orders change it meanwhile), \
                 or use POST /products/{id}/stock-adjustments",
                    )
            }
            Error::PreconditionFailed(current) => {
                let problem =
                    Problem::new(http::StatusCode::PRECONDITION_FAILED, "precondition-failed", "Precondition failed")
                        .with_detail("the product changed since it was read; read it again and retry");
                match http::HeaderValue::from_str(&current) {
                    Ok(value) if !current.is_empty() => problem.with_header(http::header::ETAG, value),
                    _ => problem,
                }
            }
            Error::Db(error) => error.into_problem("catalog database"),
            Error::Internal(error) => {
                tracing::error!(%error, "internal error");
                Problem::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(constraint: &str) -> DbError {
        DbError::Query { code: "23505".to_owned(), constraint: Some(constraint.to_owned()), message: String::new() }
    }

    #[test]
    fn named_constraints_map_to_409_or_422_with_the_field() {
        let problem = Problem::from(Error::from_write(violation("products_sku_key")));
        assert_eq!(problem.status, 409);
        assert_eq!(problem.errors[0].field, "sku");
        let problem = Problem::from(Error::from_write(violation("products_category_fkey")));
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "category_id");
    }

    #[test]
    fn unknown_database_errors_are_500_or_503_without_detail() {
        let problem = Problem::from(Error::from_write(violation("something_else")));
        assert_eq!(problem.status, 500);
        assert!(!problem.to_string().contains("something_else"));
        assert_eq!(Problem::from(Error::Db(DbError::Timeout)).status, 503);
    }
}
