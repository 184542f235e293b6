//! Spin backend: `spin_sdk::pg4` (spin:postgres@4.0.0). One connection per request, opened on first use;
//! Spin pools the underlying connections on the host and bounds each call itself.

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;

use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError};

use super::{DbError, Rows, Value};

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

    pub(super) async fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let params = params.iter().map(to_param).collect::<Vec<_>>();
        let set = self.connection()?.query(sql, &params).map_err(map_error)?;
        let columns = set.columns.iter().map(|column| column.name.clone()).collect();
        let rows = set
            .rows
            .iter()
            .map(|row| row.iter().map(from_db_value).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rows::new(columns, rows))
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

fn from_db_value(value: &DbValue) -> Result<Value, DbError> {
    Ok(match value {
        DbValue::DbNull => Value::Null,
        DbValue::Boolean(v) => Value::Bool(*v),
        DbValue::Int32(v) => Value::Int32(*v),
        DbValue::Int64(v) => Value::Int64(*v),
        DbValue::Floating64(v) => Value::Float64(*v),
        DbValue::Str(v) => Value::Text(v.clone()),
        DbValue::Uuid(v) => Value::Uuid(v.clone()),
        DbValue::Jsonb(v) => {
            Value::Jsonb(serde_json::from_slice(v).map_err(|error| DbError::Conversion(error.to_string()))?)
        }
        DbValue::Binary(v) => Value::Bytes(v.clone()),
        other => {
            return Err(DbError::Conversion(format!(
                "unsupported column value {other:?}; cast it (timestamps to ::text, numeric to ::int8)"
            )))
        }
    })
}

fn map_error(error: PgError) -> DbError {
    match error {
        PgError::ConnectionFailed(message) => DbError::Unavailable(message),
        PgError::QueryFailed(QueryError::DbError(db)) => {
            let constraint = db.extras.iter().find(|(key, _)| key == "constraint").map(|(_, value)| value.clone());
            DbError::query(db.code, constraint, db.message)
        }
        PgError::QueryFailed(QueryError::Text(message)) => DbError::query(String::new(), None, message),
        PgError::BadParameter(message) | PgError::ValueConversionFailed(message) => DbError::Conversion(message),
        PgError::Other(message) => DbError::Unavailable(message),
    }
}
