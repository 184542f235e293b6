//! Health reports: `GET /health` of every service answers in the same shape, which the gateway aggregates.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::{json, Response};

/// A health report: `status` is `ok` or `unavailable`, with one entry per dependency checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// `ok` when every check passed.
    pub status: String,
    /// Dependency → `ok` or `unavailable`.
    pub checks: BTreeMap<String, String>,
}

/// Builds the response for `checks`: 200 when all passed, 503 otherwise. Failures are logged with their
/// cause; the report only says `unavailable`.
pub fn report<E: std::fmt::Display>(service: &str, checks: Vec<(&str, Result<(), E>)>) -> Response {
    let mut healthy = true;
    let checks = checks
        .into_iter()
        .map(|(name, result)| {
            let status = match result {
                Ok(()) => "ok",
                Err(error) => {
                    healthy = false;
                    tracing::warn!(service, check = name, %error, "health check failed");
                    "unavailable"
                }
            };
            (name.to_owned(), status.to_owned())
        })
        .collect();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let report = Report { status: if healthy { "ok" } else { "unavailable" }.to_owned(), checks };
    json(status, &report)
}
