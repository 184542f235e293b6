//! The bridge's Postgres pool. Unlike the Spin components, the bridge is native, so it uses real
//! multi-statement transactions where a call needs them (stock reservation).

use std::time::Duration;

use bridge_proto::BridgeError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

/// A pool plus the bound on every database call.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    timeout: Duration,
}

impl Database {
    /// A pool of at most `size` connections to `url`, each call bounded by `timeout`. Connects lazily.
    pub fn new(url: &str, size: usize, timeout: Duration) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()?;
        Ok(Self { pool, timeout })
    }

    /// The pool (for its status in metrics).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `work` on a pooled connection within the timeout. A timed-out connection is closed, not
    /// returned to the pool (it may still be running the abandoned statement).
    pub async fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, BridgeError>,
    ) -> Result<T, BridgeError> {
        let started = tokio::time::Instant::now();
        let mut client = tokio::time::timeout(self.timeout, self.pool.get())
            .await
            .map_err(|_| BridgeError::Unavailable("database pool timed out".to_owned()))?
            .map_err(|error| unavailable(&error))?;
        let remaining = self.timeout.saturating_sub(started.elapsed());
        let outcome = tokio::time::timeout(remaining, work(&mut client)).await;
        match outcome {
            Ok(result) => result,
            Err(_) => {
                drop(Object::take(client));
                Err(BridgeError::Unavailable("database call timed out".to_owned()))
            }
        }
    }

    /// `SELECT 1` within the timeout.
    pub async fn ping(&self) -> Result<(), BridgeError> {
        self.run(async |client| client.simple_query("SELECT 1").await.map(|_| ()).map_err(|e| unavailable(&e))).await
    }
}

/// A database failure as the client sees it: UNAVAILABLE (the cause is logged, not sent).
pub fn unavailable(error: &dyn std::fmt::Display) -> BridgeError {
    tracing::error!(%error, "database call failed");
    BridgeError::Unavailable("the database is unavailable".to_owned())
}

/// Parses a UUID argument or answers INVALID_ARGUMENT naming the field.
pub fn uuid_arg(value: &str, field: &str) -> Result<uuid::Uuid, BridgeError> {
    uuid::Uuid::parse_str(value).map_err(|_| BridgeError::Invalid(format!("{field} must be a UUID")))
}

/// Column `name` of `row` as `T`; a mismatch (a schema bug) is UNAVAILABLE with the cause logged, never a
/// panic.
pub fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    name: &str,
) -> Result<T, BridgeError> {
    row.try_get(name).map_err(|error| unavailable(&error))
}
