//! Routes for other components only (service chaining; the gateway answers 404 for any `/internal` path):
//! what `auth` needs to register, log in and refresh.

use http::StatusCode;
use kit::db::Db;
use kit::http::{json, parse_json};
use kit::identity::Role;
use kit::{Request, Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{new_account, Email};
use crate::error::Error;
use crate::password;
use crate::store::{self, NewUser};

/// `POST /internal/users`: a customer registering themselves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCustomer {
    email: String,
    full_name: String,
    password: String,
}

/// `POST /internal/credentials/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

/// Creates a customer account. The password is hashed before the insert, so an already registered email
/// costs the same time as a new one.
pub async fn create_customer(db: &Db, request: &Request) -> Result<Response, Error> {
    let body: NewCustomer = parse_json(request)?;
    let (email, full_name, new_password) = new_account(&body.email, &body.full_name, &body.password)?;
    let hash = password::hash(new_password.expose())?;
    let new =
        NewUser { email: email.as_str(), full_name: full_name.as_str(), role: Role::Customer, password_hash: &hash };
    let user = store::insert(db, &new).await?;
    tracing::info!(user_id = %user.id, "customer registered");
    Ok(kit::http::created(&format!("/users/{}", user.id), &user))
}

/// Checks credentials: 200 with the user when they match an active account, otherwise the same 401 —
/// after the same Argon2id work — whether the email is unknown, malformed, the password wrong or the
/// account inactive.
pub async fn verify_credentials(db: &Db, request: &Request) -> Result<Response, Error> {
    let body: Credentials = parse_json(request)?;
    let account = match Email::parse(&body.email) {
        Ok(email) => store::find_credentials(db, email.as_str()).await?,
        Err(_) => None,
    };
    let matches = password::verify(&body.password, account.as_ref().map(|(_, hash)| hash.as_str()));
    match account {
        Some((user, _)) if matches && user.active => Ok(json(StatusCode::OK, &user)),
        _ => Err(Error::InvalidCredentials),
    }
}

/// The session facts `auth` checks on every refresh.
pub async fn session(db: &Db, raw_id: &str) -> Result<Response, Error> {
    let id = Uuid::parse_str(raw_id).map_err(|_| Error::NotFound)?;
    let session = store::session(db, id).await?.ok_or(Error::NotFound)?;
    Ok(json(StatusCode::OK, &session))
}
