//! Spin backend: `spin_sdk::pg4` (spin:postgres@4.0.0). One connection per request, opened on first use;
//! Spin pools the underlying connections on the host. Its calls are synchronous and cannot be abandoned, so
//! the port's timeout does not apply here (docs/configuration.md, "Timeouts on Spin").

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;

use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError};

use super::{DbError, Value};

#[derive(Clone)]
pub(super) struct Db {
    url: Rc<str>,
    connection: Rc<OnceCell<Connection>>,
}

impl Db {
    pub(super) fn connect(url: &str, _timeout: Duration) -> Result<Self, DbError> {
        Ok(Self { url: url.into(), connection: Rc::new(OnceCell::new()) })
    }

    fn connection(&self) -> Result<&Connection, DbError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = Connection::open(&self.url).map_err(map_error)?;
        Ok(self.connection.get_or_init(|| connection))
    }

    /// Runs a statement wrapped by [`super::statement::as_json_rows`] (it yields one row, so it returns on
    /// Spin 4.0.0–4.0.2) and returns its one `jsonb` cell.
    pub(super) async fn query_json(&self, sql: &str, params: &[Value]) -> Result<Vec<u8>, DbError> {
        let params = params.iter().map(to_param).collect::<Vec<_>>();
        let set = self.connection()?.query(sql, &params).map_err(map_error)?;
        match set.rows.into_iter().next().and_then(|row| row.into_iter().next()) {
            Some(DbValue::Jsonb(json)) => Ok(json),
            other => Err(DbError::Conversion(format!("expected one jsonb cell, got {other:?}"))),
        }
    }

    pub(super) async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let params = params.iter().map(to_param).collect::<Vec<_>>();
        self.connection()?.execute(sql, &params).map_err(map_error)
    }
}

fn to_param(value: &Value) -> ParameterValue {
    match value {
        Value::Null => ParameterValue::DbNull,
        Value::Bool(v) => ParameterValue::Boolean(*v),
        Value::Int32(v) => ParameterValue::Int32(*v),
        Value::Int64(v) => ParameterValue::Int64(*v),
        Value::Float64(v) => ParameterValue::Floating64(*v),
        Value::Text(v) => ParameterValue::Str(v.clone()),
        Value::Uuid(v) => ParameterValue::Uuid(v.clone()),
        Value::Jsonb(v) => ParameterValue::Jsonb(serde_json::to_vec(v).unwrap_or_default()),
        Value::Bytes(v) => ParameterValue::Binary(v.clone()),
    }
}

fn map_error(error: PgError) -> DbError {
    match error {
        PgError::ConnectionFailed(message) => DbError::Unavailable(message),
        PgError::QueryFailed(QueryError::DbError(db)) => {
            let constraint = db.extras.iter().find(|(key, _)| key == "constraint").map(|(_, value)| value.clone());
            DbError::query(db.code, constraint, db.message)
        }
        PgError::QueryFailed(QueryError::Text(message)) => {
            tracing::debug!(%message, "database error passed on as text; reading its SQLSTATE back");
            DbError::from_host_text(message)
        }
        PgError::BadParameter(message) | PgError::ValueConversionFailed(message) => DbError::Conversion(message),
        PgError::Other(message) => DbError::Unavailable(message),
    }
}
