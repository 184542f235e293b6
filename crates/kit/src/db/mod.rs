//! The Postgres port.
//!
//! One statement per call with typed parameters, as Spin's outbound Postgres allows. Both backends are kept
//! to the same rules so SQL that passes the native tests also runs on Spin:
//! - parameters are strictly typed ([`Value::Int32`] into an `int8` column is an error);
//! - result columns must be `bool`, `int4`, `int8`, `float8`, text types, `uuid`, `jsonb` or `bytea`: cast
//!   anything else (`timestamptz` cannot be read on Spin — select `col::text` or epoch milliseconds;
//!   `numeric` from `sum()` — cast to `int8`).

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod spin;

use std::sync::Arc;
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
use native as backend;
#[cfg(target_arch = "wasm32")]
use spin as backend;

/// A parameter or column value.
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
        let constraint = constraint.or_else(|| {
            let (_, rest) = message.split_once("constraint \"")?;
            rest.split_once('"').map(|(name, _)| name.to_owned())
        });
        DbError::Query { code, constraint, message }
    }
}

/// Conversion from a column value.
pub trait FromValue: Sized {
    /// Converts `value`, or explains why not.
    fn from_value(value: &Value) -> Result<Self, String>;
}

macro_rules! from_value {
    ($ty:ty, $($pattern:pat => $out:expr),+) => {
        impl FromValue for $ty {
            fn from_value(value: &Value) -> Result<Self, String> {
                match value {
                    $($pattern => Ok($out),)+
                    other => Err(format!("cannot read {other:?} as {}", stringify!($ty))),
                }
            }
        }
    };
}

from_value!(bool, Value::Bool(v) => *v);
from_value!(i32, Value::Int32(v) => *v);
from_value!(i64, Value::Int64(v) => *v);
from_value!(f64, Value::Float64(v) => *v);
from_value!(String, Value::Text(v) => v.clone(), Value::Uuid(v) => v.clone());
from_value!(serde_json::Value, Value::Jsonb(v) => v.clone());
from_value!(Vec<u8>, Value::Bytes(v) => v.clone());

impl FromValue for uuid::Uuid {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Uuid(text) | Value::Text(text) => uuid::Uuid::parse_str(text).map_err(|e| e.to_string()),
            other => Err(format!("cannot read {other:?} as a UUID")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// The rows of a query.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    columns: Arc<[String]>,
    rows: Vec<Vec<Value>>,
}

impl Rows {
    pub(crate) fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Self {
        Self { columns: columns.into(), rows }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row { columns: &self.columns, values })
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }
}

/// One row, addressed by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl Row<'_> {
    /// The value of column `name` as `T`.
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, DbError> {
        let index = self
            .columns
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| DbError::Conversion(format!("no column `{name}`")))?;
        T::from_value(&self.values[index]).map_err(|reason| DbError::Conversion(format!("column `{name}`: {reason}")))
    }
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
    /// A handle for the database at `url` (`postgres://...`); every call is bounded by `timeout` natively
    /// (on Spin the host bounds its own calls).
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, DbError> {
        backend::Db::connect(url, timeout).map(|inner| Self { inner })
    }

    /// Runs a statement that returns rows.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.inner.query(sql, params).await
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params).await
    }

    /// Checks the database answers (`SELECT 1`).
    pub async fn ping(&self) -> Result<(), DbError> {
        self.query("SELECT 1::int4 AS one", &[]).await.map(|_| ())
    }
}

impl Db {
    /// The database of a component's `db_url` variable, with `db_timeout_ms` (default 5 s).
    pub fn from_config(config: &crate::Config) -> Result<Self, crate::config::ConfigError> {
        let timeout = config.millis_or("db_timeout_ms", Duration::from_secs(5))?;
        Self::connect(&config.require("db_url")?, timeout).map_err(|error| crate::config::ConfigError::Invalid {
            name: "db_url".to_owned(),
            reason: error.to_string(),
        })
    }
}
