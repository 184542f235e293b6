//! The public routes, `/users...`: a customer reads and changes only their own account (anything else
//! looks like a missing user, 404); an admin manages every account. `me` stands for the caller's own id.
//! Write bodies are explicit DTOs that reject unknown fields, and only an admin's DTO has `role` and
//! `active`, so neither can be mass-assigned.

use http::StatusCode;
use kit::http::{header_str, json, parse_json, parse_query, X_PC_CLIENT_ADDR};
use kit::identity::{Identity, Role};
use kit::limit::GuessLimiter;
use kit::page::{Cursor, Limit, Page};
use kit::{Problem, Request, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{new_account, Email, FullName, Password};
use crate::error::Error;
use crate::password;
use crate::store::{self, Changes, ListFilter, NewUser};

/// `POST /users` (admin): creates an account with any role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    full_name: String,
    password: String,
    #[serde(default)]
    role: Option<Role>,
}

/// `PUT /users/{id}` by the account's owner.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerUpdate {
    email: Option<String>,
    full_name: Option<String>,
}

/// `PUT /users/{id}` by an admin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminUpdate {
    email: Option<String>,
    full_name: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
}

/// `PUT /users/{id}/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: Option<String>,
    new_password: String,
}

/// `GET /users` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    email: Option<String>,
    role: Option<Role>,
    active: Option<bool>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The id a path names (`me` or a UUID), if the caller may act on it; otherwise 404.
fn target(identity: &Identity, raw: &str) -> Result<Uuid, Error> {
    let raw = if raw == "me" { identity.user_id.as_str() } else { raw };
    let id = Uuid::parse_str(raw).map_err(|_| Error::NotFound)?;
    if identity.is_admin() || id.hyphenated().to_string() == identity.user_id {
        Ok(id)
    } else {
        Err(Error::NotFound)
    }
}

/// `POST /users` (admin only).
pub async fn create(db: &kit::db::Db, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let body: CreateUser = parse_json(request)?;
    user_role(body.role)?;
    let (email, full_name, new_password) = new_account(&body.email, &body.full_name, &body.password)?;
    let hash = password::hash(new_password.expose())?;
    let user = store::insert(
        db,
        &NewUser {
            email: email.as_str(),
            full_name: full_name.as_str(),
            role: body.role.unwrap_or(Role::Customer),
            password_hash: &hash,
        },
    )
    .await?;
    tracing::info!(user_id = %user.id, role = user.role.as_str(), "user created by an admin");
    Ok(kit::http::created(&format!("/users/{}", user.id), &user))
}

/// Refuses the `service` role, which belongs to native services' own tokens and never to an account.
fn user_role(role: Option<Role>) -> Result<(), Problem> {
    if role == Some(Role::Service) {
        return Err(Problem::validation(vec![kit::FieldError::new("role", "must be customer or admin")]));
    }
    Ok(())
}

/// `GET /users` (admin only): filtered by email substring, role and active flag, in creation order.
pub async fn list(db: &kit::db::Db, request: &Request) -> Result<Response, Error> {
    Identity::require_admin(request.headers())?;
    let query: ListQuery = parse_query(request)?;
    let limit = Limit::parse(query.limit).map_err(Problem::bad_query)?;
    // The key is the last user's id (creation order is id order: UUIDv7).
    let after: Option<Uuid> = Cursor::decode_opt(query.cursor.as_deref()).map_err(Problem::bad_query)?;
    let filter = ListFilter {
        email: query.email.map(|email| email.trim().to_ascii_lowercase()).filter(|email| !email.is_empty()),
        role: query.role,
        active: query.active,
        after,
        limit: limit.fetch(),
    };
    let users = store::list(db, &filter).await?;
    Ok(json(StatusCode::OK, &Page::from_rows(users, limit, |last| last.id.clone())))
}

/// `GET /users/{id}`.
pub async fn get(db: &kit::db::Db, request: &Request, raw_id: &str) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let id = target(&identity, raw_id)?;
    let user = store::find(db, id).await?.ok_or(Error::NotFound)?;
    Ok(json(StatusCode::OK, &user))
}

/// `PUT /users/{id}`: name and email by the owner; also role and active flag by an admin. Deactivating
/// revokes the user's refresh tokens.
pub async fn update(db: &kit::db::Db, request: &Request, raw_id: &str) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let id = target(&identity, raw_id)?;
    let body = if identity.is_admin() {
        parse_json::<AdminUpdate>(request)?
    } else {
        let owner: OwnerUpdate = parse_json(request)?;
        AdminUpdate { email: owner.email, full_name: owner.full_name, ..AdminUpdate::default() }
    };
    user_role(body.role)?;
    let mut fields = kit::Fields::default();
    let email = body.email.as_deref().map(Email::parse).and_then(|parsed| fields.record(parsed));
    let full_name = body.full_name.as_deref().map(FullName::parse).and_then(|parsed| fields.record(parsed));
    fields.finish()?;
    let changes = Changes {
        email: email.map(|email| email.as_str().to_owned()),
        full_name: full_name.map(|name| name.as_str().to_owned()),
        role: body.role,
        active: body.active,
    };
    let user = store::update(db, id, &changes).await?.ok_or(Error::NotFound)?;
    if changes.active == Some(false) || changes.role.is_some() {
        tracing::info!(user_id = %user.id, role = user.role.as_str(), active = user.active, by = %identity.user_id, "user access changed");
    }
    Ok(json(StatusCode::OK, &user))
}

/// `DELETE /users/{id}`: erases the account's personal data and revokes its sessions (see `store::delete`).
pub async fn delete(db: &kit::db::Db, request: &Request, raw_id: &str) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let id = target(&identity, raw_id)?;
    if !store::delete(db, id).await? {
        return Err(Error::NotFound);
    }
    tracing::info!(user_id = %id, by = %identity.user_id, "user deleted");
    Ok(kit::http::empty(StatusCode::NO_CONTENT))
}

/// `PUT /users/{id}/password`: one's own password needs the current one; an admin resetting someone else's
/// does not. Either way every refresh token of the user is revoked.
///
/// The current password is a guess like a login (a stolen access token must not become an unlimited
/// password oracle): each attempt is counted by `guesses` before Argon2id runs, per account and client
/// address, per address and per account, and answered 429 past the limits; a success takes it back.
pub async fn change_password(
    db: &kit::db::Db,
    guesses: &GuessLimiter,
    request: &Request,
    raw_id: &str,
) -> Result<Response, Error> {
    let identity = Identity::require(request.headers())?;
    let id = target(&identity, raw_id)?;
    let body: ChangePassword = parse_json(request)?;
    let new_password = Password::parse(&body.new_password, "new_password").map_err(|e| Problem::validation(vec![e]))?;
    let own = id.hyphenated().to_string() == identity.user_id;
    let stored = store::password_hash(db, id).await?.ok_or(Error::NotFound)?;
    if own {
        let current = body.current_password.ok_or_else(|| {
            Problem::validation(vec![kit::FieldError::new(
                "current_password",
                "is required to change your own password",
            )])
        })?;
        check_current_password(guesses, request, id, &current, &stored).await?;
    }
    let hash = password::hash(new_password.expose())?;
    if !store::set_password(db, id, &hash).await? {
        return Err(Error::NotFound);
    }
    tracing::info!(user_id = %id, by = %identity.user_id, "password changed; sessions revoked");
    Ok(kit::http::empty(StatusCode::NO_CONTENT))
}

/// Checks the caller's current password as a guess limited like a login: counted before Argon2id runs,
/// 429 past the limits, and a match takes its count back.
async fn check_current_password(
    guesses: &GuessLimiter,
    request: &Request,
    id: Uuid,
    current: &str,
    stored: &str,
) -> Result<(), Error> {
    let address = header_str(request.headers(), X_PC_CLIENT_ADDR);
    let attempt = guesses
        .admit(&id.hyphenated().to_string(), address)
        .await
        .map_err(|exceeded| Error::RateLimited(exceeded.retry_after_secs))?;
    if !password::verify(current, Some(stored)) {
        return Err(Error::WrongPassword);
    }
    guesses.succeeded(attempt).await;
    Ok(())
}
