//! Native Postgres backend: a deadpool of tokio-postgres connections, every call under a timeout, and the
//! same typing rules as Spin.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::NoTls;

use super::{DbError, Rows, Value};

#[derive(Clone)]
pub(super) struct Db {
    pool: Pool,
    timeout: Duration,
}

impl Db {
    pub(super) fn connect(url: &str, timeout: Duration) -> Result<Self, DbError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|error| DbError::Unavailable(format!("invalid database url: {error}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|error| DbError::Unavailable(error.to_string()))?;
        Ok(Self { pool, timeout })
    }

    pub(super) async fn query(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let rows = self
            .bounded(async |client| {
                let statement = client.prepare_cached(sql).await.map_err(query_error)?;
                client.query(&statement, &as_params(params)).await.map_err(query_error)
            })
            .await?;
        let columns: Vec<String> = match rows.first() {
            Some(row) => row.columns().iter().map(|c| c.name().to_owned()).collect(),
            None => Vec::new(),
        };
        let values = rows.iter().map(read_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Rows::new(columns, values))
    }

    pub(super) async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.bounded(async |client| {
            let statement = client.prepare_cached(sql).await.map_err(query_error)?;
            client.execute(&statement, &as_params(params)).await.map_err(query_error)
        })
        .await
    }

    /// Runs `call` on a pooled connection within the timeout. A connection whose call timed out is closed
    /// instead of going back to the pool, so the next caller never waits behind an abandoned statement.
    async fn bounded<T>(&self, call: impl AsyncFnOnce(&Object) -> Result<T, DbError>) -> Result<T, DbError> {
        let started = tokio::time::Instant::now();
        let client = tokio::time::timeout(self.timeout, self.pool.get())
            .await
            .map_err(|_| DbError::Timeout)?
            .map_err(pool_error)?;
        let remaining = self.timeout.saturating_sub(started.elapsed());
        let outcome = tokio::time::timeout(remaining, call(&client)).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                drop(Object::take(client));
                Err(DbError::Timeout)
            }
        }
    }
}

fn as_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|value| value as &(dyn ToSql + Sync)).collect()
}

fn pool_error(error: deadpool_postgres::PoolError) -> DbError {
    match error {
        deadpool_postgres::PoolError::Timeout(_) => DbError::Timeout,
        other => DbError::Unavailable(other.to_string()),
    }
}

fn query_error(error: tokio_postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        return DbError::query(
            db.code().code().to_owned(),
            db.constraint().map(str::to_owned),
            db.message().to_owned(),
        );
    }
    if error.is_closed() || error.source().is_some_and(|source| source.is::<std::io::Error>()) {
        return DbError::Unavailable(error.to_string());
    }
    // Parameter conversion failures (our strict typing) surface here.
    DbError::Conversion(error.to_string())
}

fn read_row(row: &tokio_postgres::Row) -> Result<Vec<Value>, DbError> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let convert =
                |error: tokio_postgres::Error| DbError::Conversion(format!("column `{}`: {error}", column.name()));
            let ty = column.type_();
            let value = if *ty == Type::BOOL {
                row.try_get::<_, Option<bool>>(index).map_err(convert)?.map(Value::Bool)
            } else if *ty == Type::INT4 {
                row.try_get::<_, Option<i32>>(index).map_err(convert)?.map(Value::Int32)
            } else if *ty == Type::INT8 {
                row.try_get::<_, Option<i64>>(index).map_err(convert)?.map(Value::Int64)
            } else if *ty == Type::FLOAT8 {
                row.try_get::<_, Option<f64>>(index).map_err(convert)?.map(Value::Float64)
            } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
                row.try_get::<_, Option<String>>(index).map_err(convert)?.map(Value::Text)
            } else if *ty == Type::UUID {
                row.try_get::<_, Option<uuid::Uuid>>(index)
                    .map_err(convert)?
                    .map(|id| Value::Uuid(id.hyphenated().to_string()))
            } else if *ty == Type::JSONB {
                row.try_get::<_, Option<serde_json::Value>>(index).map_err(convert)?.map(Value::Jsonb)
            } else if *ty == Type::BYTEA {
                row.try_get::<_, Option<Vec<u8>>>(index).map_err(convert)?.map(Value::Bytes)
            } else {
                return Err(DbError::Conversion(format!(
                    "column `{}` has type {ty}, which this port does not read the same on Spin; cast it \
                     (timestamps to ::text or epoch milliseconds, numeric to ::int8)",
                    column.name()
                )));
            };
            Ok(value.unwrap_or(Value::Null))
        })
        .collect()
}

/// Binds only to the exact Postgres type of the value, like Spin's typed parameters.
fn strict<T: ToSql>(value: &T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
    if !T::accepts(ty) {
        return Err(
            format!("a {} value cannot be bound to a parameter of type {ty}", std::any::type_name::<T>()).into()
        );
    }
    value.to_sql(ty, out)
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(value) => strict(value, ty, out),
            Value::Int32(value) => strict(value, ty, out),
            Value::Int64(value) => strict(value, ty, out),
            Value::Float64(value) => strict(value, ty, out),
            Value::Text(value) => strict(value, ty, out),
            Value::Uuid(value) => strict(&uuid::Uuid::parse_str(value)?, ty, out),
            Value::Jsonb(value) if *ty == Type::JSONB => value.to_sql(ty, out),
            Value::Jsonb(_) => Err(format!("a jsonb value cannot be bound to a parameter of type {ty}").into()),
            Value::Bytes(value) => strict(value, ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // The real check is per variant, in `to_sql`.
        true
    }

    to_sql_checked!();
}
