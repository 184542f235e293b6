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

/// One dependency check.
#[derive(Debug)]
pub struct Check {
    name: &'static str,
    required: bool,
    error: Option<String>,
}

impl Check {
    /// A dependency the service cannot work without (its database).
    pub fn required<E: std::fmt::Display>(name: &'static str, result: Result<(), E>) -> Self {
        Self { name, required: true, error: result.err().map(|error| error.to_string()) }
    }

    /// A dependency the service works without, only slower (the cache): reported, never failing.
    pub fn optional<E: std::fmt::Display>(name: &'static str, result: Result<(), E>) -> Self {
        Self { name, required: false, error: result.err().map(|error| error.to_string()) }
    }
}

/// Builds the response for `checks`: 200 unless a required check failed, 503 then. Failures are logged with
/// their cause; the report only says `unavailable`.
pub fn report(service: &str, checks: Vec<Check>) -> Response {
    let mut healthy = true;
    let checks = checks
        .into_iter()
        .map(|check| {
            let status = match &check.error {
                None => "ok",
                Some(error) => {
                    healthy &= !check.required;
                    tracing::warn!(service, check = check.name, required = check.required, %error, "health check failed");
                    "unavailable"
                }
            };
            (check.name.to_owned(), status.to_owned())
        })
        .collect();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let report = Report { status: if healthy { "ok" } else { "unavailable" }.to_owned(), checks };
    json(status, &report)
}
