//! SQL of the `auth` schema: refresh tokens, stored as SHA-256 hashes, grouped in families.

use kit::db::{Db, DbError, Value};
use serde::Deserialize;

/// A stored refresh token, as found by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredToken {
    /// Token id.
    pub id: String,
    /// Family (one login).
    pub family_id: String,
    /// Owner.
    pub user_id: String,
    /// Already exchanged for a newer token.
    pub used: bool,
    /// Revoked (logout, reuse, password change).
    pub revoked: bool,
    /// Past its expiry.
    pub expired: bool,
    /// Creation instant, epoch milliseconds.
    pub created_ms: i64,
}

/// Stores a new token (a new family when `family_id` is fresh).
pub async fn insert(
    db: &Db,
    family_id: uuid::Uuid,
    user_id: uuid::Uuid,
    token_hash: Vec<u8>,
    ttl_secs: i64,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO auth.refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4, now() + $5::int8 * interval '1 second')",
        &[uuid::Uuid::now_v7().into(), family_id.into(), user_id.into(), Value::Bytes(token_hash), ttl_secs.into()],
    )
    .await
    .map(|_| ())
}

/// The token with this hash, whatever its state.
pub async fn find(db: &Db, token_hash: Vec<u8>) -> Result<Option<StoredToken>, DbError> {
    db.query_opt(
        "SELECT id, family_id, user_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked, \
           expires_at <= now() AS expired, (extract(epoch FROM created_at) * 1000)::int8 AS created_ms \
         FROM auth.refresh_tokens WHERE token_hash = $1",
        &[Value::Bytes(token_hash)],
    )
    .await
}

/// Exchanges token `id` for a new one in the same family, atomically: the old token is marked used and the
/// new one inserted in one statement, and only if the old one was still live. Whether it happened (false:
/// someone else used it first).
pub async fn rotate(db: &Db, id: &str, new_hash: Vec<u8>, ttl_secs: i64) -> Result<bool, DbError> {
    let rotated: Option<serde_json::Value> = db
        .query_opt(
            "WITH consumed AS ( \
               UPDATE auth.refresh_tokens SET used_at = now() \
               WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() \
               RETURNING family_id, user_id) \
             INSERT INTO auth.refresh_tokens (id, family_id, user_id, token_hash, expires_at) \
             SELECT $2, family_id, user_id, $3, now() + $4::int8 * interval '1 second' FROM consumed \
             RETURNING id",
            &[Value::Uuid(id.to_owned()), uuid::Uuid::now_v7().into(), Value::Bytes(new_hash), ttl_secs.into()],
        )
        .await?;
    Ok(rotated.is_some())
}

/// Revokes every live token of a family; how many.
pub async fn revoke_family(db: &Db, family_id: &str) -> Result<u64, DbError> {
    db.execute(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        &[Value::Uuid(family_id.to_owned())],
    )
    .await
}
