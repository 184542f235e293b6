//! SQL of the `users` schema. One statement per call (as Spin's Postgres allows); timestamps leave the
//! database as RFC 3339 text, never as `timestamptz` values.

use kit::db::{Db, DbError, Value};
use kit::identity::Role;
use serde::{Deserialize, Serialize};

/// The columns of a [`User`], timestamps rendered as RFC 3339 UTC text.
const USER_COLUMNS: &str = concat!(
    "id, email, full_name, role, active, ",
    kit::rfc3339!("created_at"),
    " AS created_at, ",
    kit::rfc3339!("updated_at"),
    " AS updated_at"
);

/// An account as the API shows it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// UUID (v7: ordered by creation).
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub id: String,
    /// The login, normalised (trimmed, lower case).
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// Role.
    #[cfg_attr(feature = "openapi", schema(value_type = AccountRole))]
    pub role: Role,
    /// Inactive accounts cannot log in or order.
    pub active: bool,
    /// Creation time, RFC 3339 UTC.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
}

/// A user's role. (The third role, `service`, belongs to the native services' own tokens, never to an
/// account; this is the documented subset of `kit::identity::Role`.)
#[cfg(feature = "openapi")]
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum AccountRole {
    /// A shopper.
    Customer,
    /// Manages the catalog, users and every order.
    Admin,
}

/// What `auth` needs to issue or refuse tokens for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// User id.
    pub user_id: String,
    /// Current role.
    pub role: Role,
    /// Whether the user may still hold sessions.
    pub active: bool,
    /// Refresh tokens created at or before this instant (epoch ms) are revoked.
    pub sessions_revoked_at_ms: Option<i64>,
}

/// A new user.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Normalised email.
    pub email: &'a str,
    /// Display name.
    pub full_name: &'a str,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: &'a str,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    /// New email.
    pub email: Option<String>,
    /// New name.
    pub full_name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New active flag; deactivating revokes sessions.
    pub active: Option<bool>,
}

/// Admin listing filters.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Substring of the email.
    pub email: Option<String>,
    /// Exact role.
    pub role: Option<Role>,
    /// Exact active flag.
    pub active: Option<bool>,
    /// Only ids after this one (the cursor).
    pub after: Option<uuid::Uuid>,
    /// Page size.
    pub limit: i64,
}

/// Inserts a user.
pub async fn insert(db: &Db, user: &NewUser<'_>) -> Result<User, DbError> {
    let sql = format!(
        "INSERT INTO users.users (id, email, full_name, role, password_hash) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {USER_COLUMNS}"
    );
    db.query_one(
        &sql,
        &[
            uuid::Uuid::now_v7().into(),
            user.email.into(),
            user.full_name.into(),
            user.role.as_str().into(),
            user.password_hash.into(),
        ],
    )
    .await
}

/// The user with `id`, unless deleted.
pub async fn find(db: &Db, id: uuid::Uuid) -> Result<Option<User>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users.users WHERE id = $1 AND deleted_at IS NULL");
    db.query_opt(&sql, &[id.into()]).await
}

/// The user with `email` and their password hash (also for inactive users, so the caller can spend the
/// same time on them).
pub async fn find_credentials(db: &Db, email: &str) -> Result<Option<(User, String)>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users.users WHERE email = $1 AND deleted_at IS NULL");
    #[derive(Deserialize)]
    struct Credentials {
        #[serde(flatten)]
        user: User,
        password_hash: String,
    }
    let found: Option<Credentials> = db.query_opt(&sql, &[email.into()]).await?;
    Ok(found.map(|found| (found.user, found.password_hash)))
}

/// The password hash of user `id`.
pub async fn password_hash(db: &Db, id: uuid::Uuid) -> Result<Option<String>, DbError> {
    #[derive(Deserialize)]
    struct Hash {
        password_hash: String,
    }
    let found: Option<Hash> = db
        .query_opt("SELECT password_hash FROM users.users WHERE id = $1 AND deleted_at IS NULL", &[id.into()])
        .await?;
    Ok(found.map(|found| found.password_hash))
}

/// Applies `changes`; deactivating a user revokes their sessions. `None` when there is no such user.
pub async fn update(db: &Db, id: uuid::Uuid, changes: &Changes) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users.users SET \
           email = COALESCE($2::text, email), \
           full_name = COALESCE($3::text, full_name), \
           role = COALESCE($4::text, role), \
           sessions_revoked_at = CASE WHEN $5::boolean = false AND active THEN now() ELSE sessions_revoked_at END, \
           active = COALESCE($5::boolean, active), \
           updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {USER_COLUMNS}"
    );
    let params = [
        id.into(),
        changes.email.clone().into(),
        changes.full_name.clone().into(),
        changes.role.map(Role::as_str).into(),
        changes.active.into(),
    ];
    db.query_opt(&sql, &params).await
}

/// Replaces the password hash and revokes every session. Whether the user exists.
pub async fn set_password(db: &Db, id: uuid::Uuid, password_hash: &str) -> Result<bool, DbError> {
    let changed = db
        .execute(
            "UPDATE users.users SET password_hash = $2, sessions_revoked_at = now(), updated_at = now() \
             WHERE id = $1 AND deleted_at IS NULL",
            &[id.into(), password_hash.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Deletes a user: the row stays (orders refer to it) but its personal data is erased, the email freed,
/// the password made unusable and every session revoked. Whether the user existed.
pub async fn delete(db: &Db, id: uuid::Uuid) -> Result<bool, DbError> {
    let changed = db
        .execute(
            "UPDATE users.users SET email = 'deleted-' || id::text || '@deleted.invalid', full_name = '', \
               password_hash = '!', active = false, sessions_revoked_at = now(), updated_at = now(), \
               deleted_at = now() \
             WHERE id = $1 AND deleted_at IS NULL",
            &[id.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Gives the registered, not deleted account with `email` the admin role (`bridge promote-admin`: the API
/// lets an admin change roles, so an operator with database access makes the first one; no default
/// credentials exist). Whether one was found; the user signs in again for a token with the new role.
pub async fn promote_to_admin(db: &Db, email: &str) -> Result<bool, DbError> {
    let updated = db
        .execute(
            "UPDATE users.users SET role = 'admin', updated_at = now() WHERE email = $1 AND deleted_at IS NULL",
            &[email.trim().to_lowercase().into()],
        )
        .await?;
    Ok(updated == 1)
}

/// One page of users, in id (creation) order.
pub async fn list(db: &Db, filter: &ListFilter) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users.users \
         WHERE deleted_at IS NULL \
           AND ($1::text IS NULL OR position($1::text in email) > 0) \
           AND ($2::text IS NULL OR role = $2::text) \
           AND ($3::boolean IS NULL OR active = $3::boolean) \
           AND ($4::uuid IS NULL OR id > $4::uuid) \
         ORDER BY id LIMIT $5"
    );
    let params = [
        filter.email.clone().into(),
        filter.role.map(Role::as_str).into(),
        filter.active.into(),
        filter.after.map_or(Value::Null, Into::into),
        filter.limit.into(),
    ];
    db.query_all(&sql, &params).await
}

/// The session facts of user `id` (deleted users are inactive).
pub async fn session(db: &Db, id: uuid::Uuid) -> Result<Option<Session>, DbError> {
    db.query_opt(
        "SELECT id AS user_id, role, active AND deleted_at IS NULL AS active, \
           (extract(epoch FROM sessions_revoked_at) * 1000)::int8 AS sessions_revoked_at_ms \
         FROM users.users WHERE id = $1",
        &[id.into()],
    )
    .await
}
