//! Calls to the `users` component's internal routes, by service chaining.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use kit::http::X_REQUEST_ID;
use kit::identity::Role;
use kit::{Response, Upstream};
use serde::Deserialize;

use crate::error::Error;

/// The part of a user `auth` needs.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Role.
    pub role: Role,
}

/// Session facts of a user.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    /// Current role.
    pub role: Role,
    /// May hold sessions.
    pub active: bool,
    /// Refresh tokens created at or before this instant (epoch ms) are revoked.
    pub sessions_revoked_at_ms: Option<i64>,
}

/// A client for `users`.
#[derive(Debug, Clone)]
pub struct UsersClient {
    upstream: Upstream,
    timeout: Duration,
}

impl UsersClient {
    /// A client chaining through `upstream`, each call bounded by `timeout`.
    pub fn new(upstream: Upstream, timeout: Duration) -> Self {
        Self { upstream, timeout }
    }

    async fn call(&self, method: Method, path: &str, body: Bytes, request_id: Option<&str>) -> Result<Response, Error> {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = path.parse().map_err(|_| Error::Users(format!("invalid path {path}")))?;
        request.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            request.headers_mut().insert(X_REQUEST_ID, id);
        }
        self.upstream.send("users", request, self.timeout).await.map_err(|error| Error::Users(error.to_string()))
    }

    /// Creates a customer from the registration body as sent; the created user (raw JSON) and its id and
    /// role; a 4xx from `users` (validation, conflict) is passed through to the client as it is.
    pub async fn create_customer(
        &self,
        body: Bytes,
        request_id: Option<&str>,
    ) -> Result<(serde_json::Value, User), Error> {
        let response = self.call(Method::POST, "/internal/users", body, request_id).await?;
        match response.status() {
            StatusCode::CREATED => {
                let raw: serde_json::Value = decode(&response)?;
                let user: User = serde_json::from_value(raw.clone()).map_err(|e| Error::Users(e.to_string()))?;
                Ok((raw, user))
            }
            status if status.is_client_error() => Err(Error::Forward(Box::new(response))),
            status => Err(Error::Users(format!("create customer answered {status}"))),
        }
    }

    /// The user owning these credentials, `None` when they do not match an active account.
    pub async fn verify(&self, body: Bytes, request_id: Option<&str>) -> Result<Option<User>, Error> {
        let response = self.call(Method::POST, "/internal/credentials/verify", body, request_id).await?;
        match response.status() {
            StatusCode::OK => decode(&response).map(Some),
            StatusCode::UNAUTHORIZED => Ok(None),
            status if status.is_client_error() => Err(Error::Forward(Box::new(response))),
            status => Err(Error::Users(format!("verify credentials answered {status}"))),
        }
    }

    /// Session facts of `user_id`; `None` when the user no longer exists.
    pub async fn session(&self, user_id: &str, request_id: Option<&str>) -> Result<Option<Session>, Error> {
        let path = format!("/internal/users/{user_id}/session");
        let response = self.call(Method::GET, &path, Bytes::new(), request_id).await?;
        match response.status() {
            StatusCode::OK => decode(&response).map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(Error::Users(format!("session answered {status}"))),
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, Error> {
    serde_json::from_slice(response.body()).map_err(|error| Error::Users(format!("unexpected body: {error}")))
}
