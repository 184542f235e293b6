//! The Postgres port.
//!
//! One statement per call with typed parameters, as Spin's outbound Postgres allows. Both backends are kept
//! to the same rules so SQL that passes the native tests also runs on Spin:
//! - every row-returning statement goes through [`Db::query_all`], [`Db::query_opt`] or [`Db::query_one`],
//!   which send it wrapped so that it yields exactly one row (a `jsonb` array of the rows, decoded with serde
//!   into the caller's type): Spin 4.0.0–4.0.2 never returns from a query that matches no rows
//!   (spinframework/spin#3671), so no statement a component sends may yield none. The native backend refuses
//!   a statement that yields no row, so a test catches one that would hang on Spin;
//! - [`Db::execute`] (no rows) is unaffected;
//! - parameters are strictly typed ([`Value::Int32`] into an `int8` column is an error);
//! - rows are JSON objects: `int8` is a number, `uuid` a string, `bytea` a `\\x...` hex string, a
//!   `timestamptz` an ISO 8601 string in the session's time zone — render API timestamps with
//!   [`rfc3339!`](crate::rfc3339), the API's one timestamp format;
//! - a database error keeps its SQLSTATE and constraint even when Spin only passes its text on
//!   ([`DbError::from_host_text`]).
//!
//! The timeout of [`Db::connect`] bounds every call natively. Spin's host calls are synchronous and cannot
//! be abandoned by the component, so on Spin the host's own limits apply and the timeout is not used.

/// SQL that renders a `timestamptz` expression in the API's one timestamp format: RFC 3339 in UTC with
/// milliseconds, `2026-11-29T10:00:00.123Z` (what JavaScript's `Date` and most clients read and write).
/// Every timestamp a component returns goes through it; Spin cannot decode a `timestamptz` column anyway.
/// SQL that cannot use the macro writes the same format: `orders.place_order` (migration V53).
#[macro_export]
macro_rules! rfc3339 {
    ($expression:literal) => {
        concat!("to_char((", $expression, ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
    };
}

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;
mod statement;

use std::time::Duration;

use serde::de::DeserializeOwned;

#[cfg(not(target_arch = "wasm32"))]
use native as backend;
#[cfg(target_arch = "wasm32")]
use spin as backend;

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `boolean`.
    Bool(bool),
    /// `integer` (int4).
    Int32(i32),
    /// `bigint` (int8).
    Int64(i64),
    /// `double precision` (float8).
    Float64(f64),
    /// `text`, `varchar`.
    Text(String),
    /// `uuid`, as its canonical text.
    Uuid(String),
    /// `jsonb`.
    Jsonb(serde_json::Value),
    /// `bytea`.
    Bytes(Vec<u8>),
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}
impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Int32(value)
    }
}
impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int64(value)
    }
}
impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Float64(value)
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}
impl From<uuid::Uuid> for Value {
    fn from(value: uuid::Uuid) -> Self {
        Value::Uuid(value.hyphenated().to_string())
    }
}
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        Value::Jsonb(value)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// A database error. [`DbError::Query`] keeps what a component needs to map constraint violations.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached (connect failure, pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The call did not finish within the configured timeout.
    #[error("database call timed out")]
    Timeout,
    /// The server rejected the statement.
    #[error("query failed ({code}): {message}")]
    Query {
        /// SQLSTATE, e.g. `23505` for a unique violation ("" when unknown).
        code: String,
        /// The violated constraint, when the server named one.
        constraint: Option<String>,
        /// The server's message (for logs only).
        message: String,
    },
    /// A parameter or column could not be converted.
    #[error("value conversion failed: {0}")]
    Conversion(String),
    /// A statement yielded another number of rows than its call expects (a bug in the statement).
    #[error("expected {expected} row(s), the statement yielded {got}")]
    RowCount {
        /// What the call expects: `"one"` or `"at most one"`.
        expected: &'static str,
        /// Rows yielded.
        got: usize,
    },
}

impl DbError {
    /// The SQLSTATE of a query error.
    pub fn code(&self) -> Option<&str> {
        match self {
            DbError::Query { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The constraint a query error violated.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            DbError::Query { constraint, .. } => constraint.as_deref(),
            _ => None,
        }
    }

    /// Whether the error is transient (the caller should answer 503/504 rather than 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_) | DbError::Timeout)
    }

    /// The client-facing problem for an error no constraint mapping claimed: 503 naming `store` when the
    /// database is unavailable, 500 otherwise. The cause is logged here, never returned.
    pub fn into_problem(self, store: &str) -> crate::Problem {
        if self.is_unavailable() {
            tracing::error!(error = %self, store, "database unavailable");
            crate::Problem::unavailable(format!("the {store} is unavailable; retry later"))
        } else {
            tracing::error!(error = %self, store, "database call failed");
            crate::Problem::internal()
        }
    }

    /// Builds a query error, taking the constraint from the message when the backend gave none.
    pub(crate) fn query(code: String, constraint: Option<String>, message: String) -> Self {
        let constraint = constraint.or_else(|| constraint_in(&message));
        DbError::Query { code, constraint, message }
    }

    /// Recovers an error the host only passed on as text. Spin 4.0.2 sends a database error raised while
    /// rows stream (a constraint violation of `INSERT ... RETURNING` or of a CTE) as the Debug text of the
    /// tokio-postgres error, e.g. `... kind: Db, cause: Some(DbError { ..., code: SqlState(E23505), ...,
    /// constraint: Some(\"users_email_key\"), ... })`: the SQLSTATE and constraint are read back from it.
    /// A text naming a lost connection or an I/O failure is [`DbError::Unavailable`].
    pub fn from_host_text(text: String) -> Self {
        if let Some(code) = sqlstate_in(&text) {
            let constraint = constraint_in(&text);
            return DbError::Query { code, constraint, message: text };
        }
        let kind = text
            .split_once("kind: ")
            .map(|(_, rest)| rest.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_owned());
        match kind.as_deref() {
            Some("Io" | "Closed" | "Connect" | "Timeout" | "Tls") => DbError::Unavailable(text),
            Some("ToSql" | "FromSql" | "Column" | "Parameters") => DbError::Conversion(text),
            _ => DbError::Query { code: String::new(), constraint: None, message: text },
        }
    }
}

/// The SQLSTATE in tokio-postgres's Debug text: `SqlState(E23505)`, or `SqlState(Other("XX123"))`.
fn sqlstate_in(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("SqlState(")?;
    let rest = rest
        .strip_prefix('E')
        .or_else(|| rest.strip_prefix("Other(").map(|other| other.trim_start_matches(['\\', '"'])))?;
    let code: String = rest.chars().take(5).collect();
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// The constraint named in an error text: `constraint: Some("name")` (possibly with escaped quotes), or a
/// server message `... violates unique constraint "name"`.
fn constraint_in(text: &str) -> Option<String> {
    text.match_indices("constraint").find_map(|(at, word)| {
        let rest = text[at + word.len()..].trim_start_matches([' ', ':']);
        let rest = rest.strip_prefix("Some(").unwrap_or(rest).trim_start_matches(['\\', '"']);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        (!name.is_empty() && name != "None" && text[at + word.len()..].trim_start().starts_with([':', '"', '\\']))
            .then_some(name)
    })
}

/// A handle to one Postgres database. Cheap to create: it connects on first use.
#[derive(Clone)]
pub struct Db {
    inner: backend::Db,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// A handle for the database at `url` (`postgres://...`); every call is bounded by `timeout` natively.
    /// Spin's host calls cannot be abandoned by the component, so there the timeout is not used.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, DbError> {
        backend::Db::connect(url, timeout).map(|inner| Self { inner })
    }

    /// Like [`Db::connect`], but a commit does not wait for its WAL record to reach the disk
    /// (`synchronous_commit = off`): a Postgres crash may lose the last commits (never half of one), and a
    /// later ordinary commit on any connection makes every earlier one durable with it. Only for writes
    /// whose loss the system repairs by design (the bridge's stock holds and releases: a lost hold fails its
    /// order's write, a lost release is swept again). Native only: Spin opens its own connections.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn connect_async_commit(url: &str, timeout: Duration) -> Result<Self, DbError> {
        backend::Db::connect_async_commit(url, timeout).map(|inner| Self { inner })
    }

    /// Runs a row-returning statement (`SELECT`, `... RETURNING`, a CTE) and decodes every row into `T`
    /// (a `Deserialize` type whose fields are the statement's column names), in the statement's order.
    pub async fn query_all<T: DeserializeOwned>(&self, sql: &str, params: &[Value]) -> Result<Vec<T>, DbError> {
        let rows = self.inner.query_json(&statement::as_json_rows(sql), params).await?;
        serde_json::from_slice(&rows).map_err(|error| DbError::Conversion(format!("decoding the rows: {error}")))
    }

    /// Like [`Db::query_all`] for a statement that yields at most one row.
    pub async fn query_opt<T: DeserializeOwned>(&self, sql: &str, params: &[Value]) -> Result<Option<T>, DbError> {
        let mut rows = self.query_all(sql, params).await?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            got => Err(DbError::RowCount { expected: "at most one", got }),
        }
    }

    /// Like [`Db::query_all`] for a statement that yields exactly one row (an `INSERT ... RETURNING`, an
    /// aggregate, a CTE ending in a `SELECT` of counts).
    pub async fn query_one<T: DeserializeOwned>(&self, sql: &str, params: &[Value]) -> Result<T, DbError> {
        let mut rows = self.query_all(sql, params).await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            got => Err(DbError::RowCount { expected: "one", got }),
        }
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params).await
    }

    /// Checks the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.query_one::<serde_json::Value>("SELECT 1::int4 AS one", &[]).await.map(|_| ())
    }
}

impl Db {
    /// The database of a component's `db_url` variable, with `db_timeout_ms` (default 5 s). On Spin, whose
    /// Postgres calls cannot be abandoned, the timeout is not read at all: there every setting read is a
    /// host call.
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        let timeout = if cfg!(target_arch = "wasm32") {
            Duration::ZERO
        } else {
            config.millis_or("db_timeout_ms", Duration::from_secs(5))?
        };
        Self::connect(&config.require("db_url")?, timeout).map_err(|error| crate::config::ConfigError::Invalid {
            name: "db_url".to_owned(),
            reason: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Spin 4.0.2 sent for a duplicate category name (`INSERT ... RETURNING` in a CTE), as the component
    /// received it in `QueryError::Text` (captured from the products component's debug log; the host's
    /// backtrace that follows it is cut).
    const SPIN_4_0_2_UNIQUE_VIOLATION: &str = r#"Error::QueryFailed(QueryError::DbError(DbError { as-text: "Error { kind: Db, cause: Some(DbError { severity: \"ERROR\", parsed_severity: Some(Error), code: SqlState(E23505), message: \"duplicate key value violates unique constraint \\\"categories_name_key\\\"\", detail: Some(\"Key (lower(name))=(garden 801d4ac0) already exists.\"), hint: None, position: None, where_: None, schema: Some(\"catalog\"), table: Some(\"categories\"), column: None, datatype: None, constraint: Some(\"categories_name_key\"), file: Some(\"nbtinsert.c\"), line: Some(664), routine: Some(\"_bt_check_unique\") }) }", severity: "ERROR", code: "23505", message: "duplicate key value violates unique constraint \"categories_name_key\"", detail: Some("Key (lower(name))=(garden 801d4ac0) already exists."), extras: [("constraint", "categories_name_key"), ("routine", "_bt_check_unique"), ("table", "categories"), ("schema", "catalog"), ("file", "nbtinsert.c"), ("line", "664")] }))"#;

    #[test]
    fn sqlstate_and_constraint_are_recovered_from_spins_error_text() {
        let error = DbError::from_host_text(SPIN_4_0_2_UNIQUE_VIOLATION.to_owned());
        assert_eq!(error.code(), Some("23505"));
        assert_eq!(error.constraint(), Some("categories_name_key"));
    }

    #[test]
    fn a_foreign_key_violation_without_constraint_field_keeps_the_message_name() {
        let text = r#"Error { kind: Db, cause: Some(DbError { severity: "ERROR", code: SqlState(E23503), message: "update or delete on table \"products\" violates foreign key constraint \"stock_reservation_lines_product_id_fkey\" on table \"stock_reservation_lines\"", constraint: None })"#;
        let error = DbError::from_host_text(text.to_owned());
        assert_eq!(error.code(), Some("23503"));
        assert_eq!(error.constraint(), Some("stock_reservation_lines_product_id_fkey"));
    }

    #[test]
    fn other_sqlstates_and_lost_connections_are_told_apart() {
        let other = DbError::from_host_text(
            r#"Error { kind: Db, cause: Some(DbError { code: SqlState(Other("P0A01")) })"#.into(),
        );
        assert_eq!(other.code(), Some("P0A01"));
        let closed = DbError::from_host_text("Error { kind: Closed, cause: None }".into());
        assert!(closed.is_unavailable());
        let io = DbError::from_host_text("Error { kind: Io, cause: Some(Os { code: 104 }) }".into());
        assert!(io.is_unavailable());
        let unknown = DbError::from_host_text("something else".into());
        assert_eq!(unknown.code(), Some(""));
        assert!(!unknown.is_unavailable());
    }

    #[test]
    fn a_server_message_names_its_constraint() {
        let error = DbError::query(
            "23505".into(),
            None,
            "duplicate key value violates unique constraint \"products_sku_key\"".into(),
        );
        assert_eq!(error.constraint(), Some("products_sku_key"));
    }
}
