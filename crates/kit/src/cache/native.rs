//! Native Redis backend: one multiplexed, auto-reconnecting connection (redis `ConnectionManager`), created
//! on first use; every call under a timeout.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;
use tokio::sync::OnceCell;

use super::{CacheError, Reply};

#[derive(Clone)]
pub(super) struct Cache {
    client: redis::Client,
    connection: Arc<OnceCell<ConnectionManager>>,
    timeout: Duration,
}

impl Cache {
    pub(super) fn connect(url: &str, timeout: Duration) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(|error| CacheError::Unavailable(error.to_string()))?;
        Ok(Self { client, connection: Arc::new(OnceCell::new()), timeout })
    }

    async fn connection(&self) -> Result<ConnectionManager, CacheError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1);
        let manager = self
            .connection
            .get_or_try_init(|| async {
                tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(self.client.clone(), config))
                    .await
                    .map_err(|_| CacheError::Timeout)?
                    .map_err(|error| CacheError::Unavailable(error.to_string()))
            })
            .await?;
        Ok(manager.clone())
    }

    async fn run<T, F>(&self, call: impl FnOnce(ConnectionManager) -> F) -> Result<T, CacheError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let started = tokio::time::Instant::now();
        let connection = self.connection().await?;
        let remaining = self.timeout.saturating_sub(started.elapsed());
        tokio::time::timeout(remaining, call(connection))
            .await
            .map_err(|_| CacheError::Timeout)?
            .map_err(|error| CacheError::Unavailable(error.to_string()))
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.run(|mut c| async move { c.get(key).await }).await
    }

    pub(super) async fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), CacheError> {
        self.run(|mut c| async move { c.set_ex(key, value, ttl_secs).await }).await
    }

    pub(super) async fn incr(&self, key: &str) -> Result<i64, CacheError> {
        self.run(|mut c| async move { c.incr(key, 1i64).await }).await
    }

    pub(super) async fn expire(&self, key: &str, ttl_secs: u64) -> Result<bool, CacheError> {
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        self.run(|mut c| async move { c.expire(key, ttl).await }).await
    }

    pub(super) async fn ttl(&self, key: &str) -> Result<i64, CacheError> {
        self.run(|mut c| async move { c.ttl(key).await }).await
    }

    pub(super) async fn del(&self, key: &str) -> Result<bool, CacheError> {
        let removed: i64 = self.run(|mut c| async move { c.del(key).await }).await?;
        Ok(removed > 0)
    }

    /// `EVAL script 1 key args...`, the reply as integers (a Lua table arrives as a list).
    pub(super) async fn eval_ints(&self, script: &str, key: &str, args: &[i64]) -> Result<Vec<i64>, CacheError> {
        let reply: redis::Value =
            self.run(|mut c| async move {
                redis::cmd("EVAL").arg(script).arg(1).arg(key).arg(args).query_async(&mut c).await
            })
            .await?;
        let values = match reply {
            redis::Value::Array(values) => values,
            single => vec![single],
        };
        values
            .into_iter()
            .map(|value| match value {
                redis::Value::Int(value) => Ok(value),
                other => Err(CacheError::Reply(format!("{other:?}"))),
            })
            .collect()
    }

    /// `EVAL script n keys... args...` (or `EVALSHA sha ...`), the reply flattened as Spin's host does.
    pub(super) async fn eval(
        &self,
        command: &str,
        script: &str,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Vec<Reply>, CacheError> {
        let reply: redis::Value = self
            .run(|mut c| async move {
                redis::cmd(command).arg(script).arg(keys.len()).arg(keys).arg(args).query_async(&mut c).await
            })
            .await?;
        let mut values = Vec::new();
        flatten(reply, &mut values)?;
        Ok(values)
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        let reply: String = self.run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await }).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(CacheError::Reply(reply))
        }
    }
}

fn flatten(value: redis::Value, into: &mut Vec<Reply>) -> Result<(), CacheError> {
    match value {
        redis::Value::Nil => into.push(Reply::Nil),
        redis::Value::Int(value) => into.push(Reply::Int(value)),
        redis::Value::BulkString(bytes) => into.push(Reply::Bytes(bytes)),
        redis::Value::SimpleString(text) => into.push(Reply::Bytes(text.into_bytes())),
        redis::Value::Okay => into.push(Reply::Bytes(b"OK".to_vec())),
        redis::Value::Array(values) => {
            for value in values {
                flatten(value, into)?;
            }
        }
        other => return Err(CacheError::Reply(format!("{other:?}"))),
    }
    Ok(())
}
