//! Spin backend: `spin_sdk::redis` (fermyon:spin/redis@2.0.0). Commands without a dedicated host function
//! (`SET .. EX`, `EXPIRE`, `TTL`, `PING`, `EVAL`) go through `execute`, whose host flattens an array reply
//! into the result list (so a Lua table of integers arrives as `Int64`s, in order).

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;

use spin_sdk::redis::{Connection, Error as RedisError, RedisParameter, RedisResult};

use super::{CacheError, Reply};

#[derive(Clone)]
pub(super) struct Cache {
    url: Rc<str>,
    connection: Rc<OnceCell<Connection>>,
}

impl Cache {
    pub(super) fn connect(url: &str, _timeout: Duration) -> Result<Self, CacheError> {
        Ok(Self { url: url.into(), connection: Rc::new(OnceCell::new()) })
    }

    fn connection(&self) -> Result<&Connection, CacheError> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connection = Connection::open(&self.url).map_err(map_error)?;
        Ok(self.connection.get_or_init(|| connection))
    }

    fn execute(&self, command: &str, args: Vec<RedisParameter>) -> Result<Vec<RedisResult>, CacheError> {
        self.connection()?.execute(command, &args).map_err(map_error)
    }

    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.connection()?.get(key).map_err(map_error)
    }

    pub(super) async fn set_ex(&self, key: &str, value: &[u8], ttl_secs: u64) -> Result<(), CacheError> {
        let args = vec![
            RedisParameter::Binary(key.as_bytes().to_vec()),
            RedisParameter::Binary(value.to_vec()),
            RedisParameter::Binary(b"EX".to_vec()),
            RedisParameter::Int64(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
        ];
        self.execute("SET", args).map(|_| ())
    }

    pub(super) async fn incr(&self, key: &str) -> Result<i64, CacheError> {
        self.connection()?.incr(key).map_err(map_error)
    }

    pub(super) async fn expire(&self, key: &str, ttl_secs: u64) -> Result<bool, CacheError> {
        let args = vec![
            RedisParameter::Binary(key.as_bytes().to_vec()),
            RedisParameter::Int64(i64::try_from(ttl_secs).unwrap_or(i64::MAX)),
        ];
        Ok(int_reply(&self.execute("EXPIRE", args)?)? == 1)
    }

    pub(super) async fn ttl(&self, key: &str) -> Result<i64, CacheError> {
        int_reply(&self.execute("TTL", vec![RedisParameter::Binary(key.as_bytes().to_vec())])?)
    }

    pub(super) async fn del(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.connection()?.del(&[key.to_owned()]).map_err(map_error)? > 0)
    }

    /// `EVAL script 1 key args...`, the reply as integers.
    pub(super) async fn eval_ints(&self, script: &str, key: &str, args: &[i64]) -> Result<Vec<i64>, CacheError> {
        let mut params = vec![
            RedisParameter::Binary(script.as_bytes().to_vec()),
            RedisParameter::Int64(1),
            RedisParameter::Binary(key.as_bytes().to_vec()),
        ];
        params.extend(args.iter().map(|arg| RedisParameter::Int64(*arg)));
        self.execute("EVAL", params)?
            .into_iter()
            .map(|result| match result {
                RedisResult::Int64(value) => Ok(value),
                other => Err(CacheError::Reply(format!("{other:?}"))),
            })
            .collect()
    }

    /// `EVAL script n keys... args...` (or `EVALSHA sha ...`); the host has already flattened an array reply.
    pub(super) async fn eval(
        &self,
        command: &str,
        script: &str,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Vec<Reply>, CacheError> {
        let mut params = vec![
            RedisParameter::Binary(script.as_bytes().to_vec()),
            RedisParameter::Int64(i64::try_from(keys.len()).unwrap_or(i64::MAX)),
        ];
        params.extend(keys.iter().map(|key| RedisParameter::Binary(key.as_bytes().to_vec())));
        params.extend(args.iter().map(|arg| RedisParameter::Binary(arg.to_vec())));
        Ok(self
            .execute(command, params)?
            .into_iter()
            .map(|result| match result {
                RedisResult::Nil => Reply::Nil,
                RedisResult::Int64(value) => Reply::Int(value),
                RedisResult::Binary(bytes) => Reply::Bytes(bytes),
                RedisResult::Status(text) => Reply::Bytes(text.into_bytes()),
            })
            .collect())
    }

    pub(super) async fn ping(&self) -> Result<(), CacheError> {
        match self.execute("PING", Vec::new())?.first() {
            Some(RedisResult::Status(status)) if status == "PONG" => Ok(()),
            Some(RedisResult::Binary(bytes)) if bytes == b"PONG" => Ok(()),
            other => Err(CacheError::Reply(format!("{other:?}"))),
        }
    }
}

fn int_reply(results: &[RedisResult]) -> Result<i64, CacheError> {
    match results.first() {
        Some(RedisResult::Int64(value)) => Ok(*value),
        other => Err(CacheError::Reply(format!("{other:?}"))),
    }
}

fn map_error(error: RedisError) -> CacheError {
    CacheError::Unavailable(error.to_string())
}
