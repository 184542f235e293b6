//! Native Postgres backend: a deadpool of tokio-postgres connections, every call under a timeout, and the
//! same rules as Spin (strictly typed parameters, no statement that yields no row).

use std::error::Error as StdError;
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::NoTls;

use super::{DbError, Value};

#[derive(Clone)]
pub(super) struct Db {
    pool: Pool,
    timeout: Duration,
}

impl Db {
    pub(super) fn connect(url: &str, timeout: Duration) -> Result<Self, DbError> {
        Self::with_config(parse(url)?, timeout)
    }

    /// Every session runs with `synchronous_commit = off` (added to the URL's own `options`).
    pub(super) fn connect_async_commit(url: &str, timeout: Duration) -> Result<Self, DbError> {
        let mut config = parse(url)?;
        let options = match config.get_options() {
            Some(options) if !options.trim().is_empty() => format!("{options} -c synchronous_commit=off"),
            _ => "-c synchronous_commit=off".to_owned(),
        };
        config.options(&options);
        Self::with_config(config, timeout)
    }

    fn with_config(config: tokio_postgres::Config, timeout: Duration) -> Result<Self, DbError> {
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

    /// Runs a statement wrapped by [`super::statement::as_json_rows`] and returns its one `jsonb` cell. A
    /// statement that yields no row is refused: on Spin 4.0.0–4.0.2 it would never return.
    pub(super) async fn query_json(&self, sql: &str, params: &[Value]) -> Result<Vec<u8>, DbError> {
        let rows = self
            .bounded(async |client| {
                let statement = client.prepare_cached(sql).await.map_err(query_error)?;
                client.query(&statement, &as_params(params)).await.map_err(query_error)
            })
            .await?;
        let [row] = rows.as_slice() else {
            return Err(DbError::Conversion(format!(
                "the statement yielded {} rows; every statement must yield exactly one, since Spin 4.0.0–4.0.2 \
                 never returns from one that yields none: {sql}",
                rows.len()
            )));
        };
        let JsonbText(json) =
            row.try_get(0).map_err(|error| DbError::Conversion(format!("the rows column is not jsonb: {error}")))?;
        Ok(json)
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

/// A `jsonb` value as its JSON text (the binary format is a version byte, then the text).
struct JsonbText(Vec<u8>);

impl<'a> FromSql<'a> for JsonbText {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        match raw.split_first() {
            Some((1, json)) => Ok(Self(json.to_vec())),
            _ => Err("unsupported jsonb format version".into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }
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

fn parse(url: &str) -> Result<tokio_postgres::Config, DbError> {
    url.parse().map_err(|error| DbError::Unavailable(format!("invalid database url: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_url() -> String {
        std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
    }

    #[tokio::test]
    async fn a_statement_that_yields_no_row_is_refused_as_it_would_hang_on_spin() {
        let db = Db::connect(&database_url(), Duration::from_secs(5)).unwrap();
        let error = db.query_json("SELECT '[]'::jsonb AS rows WHERE false", &[]).await.unwrap_err();
        assert!(matches!(&error, DbError::Conversion(reason) if reason.contains("yielded 0 rows")), "{error:?}");
        let wrapped = super::super::statement::as_json_rows("SELECT 1::int4 AS one WHERE false");
        assert_eq!(db.query_json(&wrapped, &[]).await.unwrap(), b"[]");
    }
}
