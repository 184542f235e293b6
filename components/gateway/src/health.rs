//! `GET /health`: asks every service for its own `/health` concurrently, each bounded by a short timeout,
//! and reports them together: 200 when all are healthy, 503 otherwise.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use kit::health::Report;
use kit::http::X_REQUEST_ID;
use kit::{Response, Upstream};
use serde::Serialize;

use crate::routes::SERVICES;

/// The aggregated report.
#[derive(Debug, Serialize)]
struct Aggregate {
    status: &'static str,
    services: BTreeMap<&'static str, ServiceHealth>,
}

#[derive(Debug, Serialize)]
struct ServiceHealth {
    status: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    checks: BTreeMap<String, String>,
}

/// Queries every service and aggregates.
pub async fn aggregate(upstream: &Upstream, request_id: &str, timeout: Duration) -> Response {
    let probes = SERVICES.iter().map(|service| probe(upstream, service, request_id, timeout));
    let results = futures::future::join_all(probes).await;
    let services: BTreeMap<_, _> = SERVICES.iter().copied().zip(results).collect();
    let healthy = services.values().all(|service| service.status == "ok");
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let aggregate = Aggregate { status: if healthy { "ok" } else { "degraded" }, services };
    kit::http::json(status, &aggregate)
}

async fn probe(upstream: &Upstream, service: &'static str, request_id: &str, timeout: Duration) -> ServiceHealth {
    let mut request = http::Request::new(Bytes::new());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = http::Uri::from_static("/health");
    if let Ok(value) = HeaderValue::from_str(request_id) {
        request.headers_mut().insert(X_REQUEST_ID, value);
    }
    let unavailable = || ServiceHealth { status: "unavailable".to_owned(), checks: BTreeMap::new() };
    match upstream.send(service, request, timeout).await {
        Ok(response) => match serde_json::from_slice::<Report>(response.body()) {
            Ok(report) if response.status() == StatusCode::OK && report.status == "ok" => {
                ServiceHealth { status: "ok".to_owned(), checks: report.checks }
            }
            Ok(report) => ServiceHealth { status: "unavailable".to_owned(), checks: report.checks },
            Err(_) => unavailable(),
        },
        Err(error) => {
            tracing::warn!(service, %error, "health probe failed");
            unavailable()
        }
    }
}
