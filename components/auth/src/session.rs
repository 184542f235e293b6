//! Sessions: register, login, refresh (with rotation and reuse detection) and logout.

use http::StatusCode;
use kit::http::{header_str, json, parse_json, request_id, X_PC_CLIENT_ADDR};
use kit::identity::Role;
use kit::{Request, Response};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::tokens::{new_refresh_token, refresh_token_hash, TokenPair};
use crate::{store, Service};

/// `POST /auth/register`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    email: String,
    full_name: String,
    password: String,
}

/// `POST /auth/login`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// Registration answer: the new user and a first token pair.
#[derive(Debug, Serialize)]
struct Registered {
    user: serde_json::Value,
    #[serde(flatten)]
    tokens: TokenPair,
}

/// Creates a customer through `users` and logs them in. Attempts are limited per client address.
pub async fn register(service: &Service, request: &Request) -> Result<Response, Error> {
    let body: Registration = parse_json(request)?;
    service.limiter.registration(client_address(request)).await.map_err(Error::RateLimited)?;
    let forwarded = serde_json::to_vec(&body).map_err(|error| Error::Users(error.to_string()))?;
    let (raw, user) = service.users.create_customer(forwarded.into(), request_id(request)).await?;
    let tokens = start_session(service, &user.id, user.role).await?;
    Ok(json(StatusCode::CREATED, &Registered { user: raw, tokens }))
}

/// Checks credentials through `users` and starts a session. The attempt is counted before `users` spends
/// Argon2id on it, so a burst of guesses gets at most the limit verified; a success takes it back.
pub async fn login(service: &Service, request: &Request) -> Result<Response, Error> {
    let body: Login = parse_json(request)?;
    let attempt =
        service.limiter.admit_login(&body.email, client_address(request)).await.map_err(Error::RateLimited)?;
    let forwarded = serde_json::to_vec(&body).map_err(|error| Error::Users(error.to_string()))?;
    let Some(user) = service.users.verify(forwarded.into(), request_id(request)).await? else {
        return Err(Error::InvalidCredentials);
    };
    service.limiter.login_succeeded(attempt).await;
    let tokens = start_session(service, &user.id, user.role).await?;
    tracing::info!(user_id = %user.id, "login");
    Ok(json(StatusCode::OK, &tokens))
}

/// Exchanges a refresh token for a new pair. A token that was already exchanged revokes its whole family
/// (it was stolen or replayed); so do a deactivated user and a password changed after the token was issued.
pub async fn refresh(service: &Service, request: &Request) -> Result<Response, Error> {
    let body: RefreshRequest = parse_json(request)?;
    let hash = refresh_token_hash(&body.refresh_token).ok_or(Error::InvalidRefreshToken)?;
    let token = store::find(&service.db, hash).await?.ok_or(Error::InvalidRefreshToken)?;
    if token.used {
        let revoked = store::revoke_family(&service.db, &token.family_id).await?;
        tracing::warn!(user_id = %token.user_id, family_id = %token.family_id, revoked, "refresh token reuse: family revoked");
        return Err(Error::InvalidRefreshToken);
    }
    if token.revoked || token.expired {
        return Err(Error::InvalidRefreshToken);
    }
    let session = service.users.session(&token.user_id, request_id(request)).await?;
    let live = session.as_ref().filter(|session| {
        session.active && session.sessions_revoked_at_ms.is_none_or(|revoked| token.created_ms > revoked)
    });
    let Some(session) = live else {
        store::revoke_family(&service.db, &token.family_id).await?;
        tracing::info!(user_id = %token.user_id, "refresh refused: sessions revoked or user inactive");
        return Err(Error::InvalidRefreshToken);
    };
    let (refresh_token, new_hash) = new_refresh_token();
    if !store::rotate(&service.db, &token.id, new_hash, service.issuer.refresh_ttl_secs).await? {
        // Someone exchanged it between our read and our write: treat it as reuse.
        store::revoke_family(&service.db, &token.family_id).await?;
        tracing::warn!(user_id = %token.user_id, "concurrent refresh: family revoked");
        return Err(Error::InvalidRefreshToken);
    }
    let access_token = service.issuer.access_token(&token.user_id, session.role)?;
    Ok(json(StatusCode::OK, &service.issuer.pair(access_token, refresh_token)))
}

/// Ends the session the refresh token belongs to (its whole family). Always 204, so it tells nothing about
/// the token.
pub async fn logout(service: &Service, request: &Request) -> Result<Response, Error> {
    let body: RefreshRequest = parse_json(request)?;
    if let Some(hash) = refresh_token_hash(&body.refresh_token) {
        if let Some(token) = store::find(&service.db, hash).await? {
            store::revoke_family(&service.db, &token.family_id).await?;
            tracing::info!(user_id = %token.user_id, "logout");
        }
    }
    Ok(kit::http::empty(StatusCode::NO_CONTENT))
}

/// A new refresh token family and an access token.
async fn start_session(service: &Service, user_id: &str, role: Role) -> Result<TokenPair, Error> {
    let user = uuid::Uuid::parse_str(user_id).map_err(|_| Error::Users(format!("invalid user id {user_id}")))?;
    let (refresh_token, hash) = new_refresh_token();
    store::insert(&service.db, uuid::Uuid::now_v7(), user, hash, service.issuer.refresh_ttl_secs).await?;
    let access_token = service.issuer.access_token(user_id, role)?;
    Ok(service.issuer.pair(access_token, refresh_token))
}

/// The client IP the gateway determined (never a client-sent header: the gateway replaces `x-pc-*`).
fn client_address(request: &Request) -> Option<&str> {
    header_str(request.headers(), X_PC_CLIENT_ADDR)
}
