//! Prometheus metrics of the bridge, served as text on their own HTTP port (`GET /metrics`):
//! - `bridge_grpc_requests_total{method, code}` — calls per method and gRPC status;
//! - `bridge_grpc_request_duration_seconds{method}` — latency histogram per method;
//! - `bridge_db_pool_connections`, `bridge_db_pool_available`, `bridge_db_pool_waiting` — pool state;
//! - `bridge_db_up` — 1 while the health probe reaches Postgres;
//! - `bridge_outbox_pending`, `bridge_outbox_lag_seconds` — unpublished outbox rows and the age of the oldest
//!   (refreshed at most once a second, and when the relay goes idle);
//! - `bridge_events_produced_total{topic}`, `bridge_events_produce_failures_total{topic}` — the relay;
//! - `bridge_outbox_pruned_total` — published outbox rows deleted after their retention;
//! - `bridge_events_consumed_total{topic, outcome}`, `bridge_consumer_lag{topic, partition}` — the
//!   analytics consumer (outcome: `stored`, `dead_lettered`, `failed`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::db::Database;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumedLabels {
    topic: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The bridge's metrics.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    pool_connections: Gauge,
    pool_available: Gauge,
    pool_waiting: Gauge,
    /// 1 while Postgres answers the health probe.
    pub db_up: Gauge,
    /// Unpublished outbox rows.
    pub outbox_pending: Gauge,
    /// Age of the oldest unpublished outbox row, seconds (0 when none).
    pub outbox_lag_seconds: Gauge<f64, AtomicU64>,
    /// Published outbox rows deleted after their retention.
    pub outbox_pruned: Counter,
    produced: Family<TopicLabels, Counter>,
    produce_failures: Family<TopicLabels, Counter>,
    consumed: Family<ConsumedLabels, Counter>,
    consumer_lag: Family<PartitionLabels, Gauge>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bridge");
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let pool_connections = Gauge::default();
        let pool_available = Gauge::default();
        let pool_waiting = Gauge::default();
        let db_up = Gauge::default();
        let outbox_pending = Gauge::default();
        let outbox_lag_seconds = Gauge::<f64, AtomicU64>::default();
        let outbox_pruned = Counter::default();
        let produced = Family::<TopicLabels, Counter>::default();
        let produce_failures = Family::<TopicLabels, Counter>::default();
        let consumed = Family::<ConsumedLabels, Counter>::default();
        let consumer_lag = Family::<PartitionLabels, Gauge>::default();
        registry.register("grpc_requests", "gRPC calls by method and status code", calls.clone());
        registry.register("grpc_request_duration_seconds", "gRPC call latency by method", latency.clone());
        registry.register("db_pool_connections", "Postgres connections open in the pool", pool_connections.clone());
        registry.register("db_pool_available", "Idle Postgres connections in the pool", pool_available.clone());
        registry.register("db_pool_waiting", "Calls waiting for a Postgres connection", pool_waiting.clone());
        registry.register("db_up", "1 while Postgres answers the health probe", db_up.clone());
        registry.register("outbox_pending", "Outbox rows not yet published to Kafka", outbox_pending.clone());
        registry.register(
            "outbox_lag_seconds",
            "Age of the oldest unpublished outbox row (0 when none)",
            outbox_lag_seconds.clone(),
        );
        registry.register("outbox_pruned", "Published outbox rows deleted after the retention", outbox_pruned.clone());
        registry.register("events_produced", "Events the outbox relay published, by topic", produced.clone());
        registry.register(
            "events_produce_failures",
            "Events the outbox relay failed to publish (retried later), by topic",
            produce_failures.clone(),
        );
        registry.register("events_consumed", "Events the analytics consumer handled, by outcome", consumed.clone());
        registry.register("consumer_lag", "Messages behind the partition's end, per partition", consumer_lag.clone());
        Self {
            registry,
            calls,
            latency,
            pool_connections,
            pool_available,
            pool_waiting,
            db_up,
            outbox_pending,
            outbox_lag_seconds,
            outbox_pruned,
            produced,
            produce_failures,
            consumed,
            consumer_lag,
        }
    }

    /// Counts `count` events published to `topic`.
    pub fn produced(&self, topic: &str, count: u64) {
        self.produced.get_or_create(&TopicLabels { topic: topic.to_owned() }).inc_by(count);
    }

    /// Counts `count` events that failed to reach `topic`.
    pub fn produce_failed(&self, topic: &str, count: u64) {
        self.produce_failures.get_or_create(&TopicLabels { topic: topic.to_owned() }).inc_by(count);
    }

    /// Counts one consumed event of `topic` with its outcome.
    pub fn consumed(&self, topic: &str, outcome: &str) {
        self.consumed.get_or_create(&ConsumedLabels { topic: topic.to_owned(), outcome: outcome.to_owned() }).inc();
    }

    /// Sets the consumer lag of one partition.
    pub fn set_consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.consumer_lag
            .get_or_create(&PartitionLabels { topic: topic.to_owned(), partition: partition.to_string() })
            .set(lag);
    }

    /// Records one finished call.
    pub fn record(&self, method: &str, code: &str, seconds: f64) {
        let method = known_method(method).to_owned();
        self.calls.get_or_create(&CallLabels { method: method.clone(), code: code.to_owned() }).inc();
        self.latency.get_or_create(&MethodLabels { method }).observe(seconds);
    }

    /// The text exposition, with the pool state read now.
    pub fn render(&self, db: &Database) -> String {
        let status = db.pool().status();
        self.pool_connections.set(status.size as i64);
        self.pool_available.set(status.available as i64);
        self.pool_waiting.set(status.waiting as i64);
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "metrics encoding failed");
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Bounded label values: the served methods, or `other` (arbitrary paths must not grow the series).
fn known_method(path: &str) -> &str {
    let known = bridge_proto::methods::SERVICES.iter().any(|service| path.starts_with(&format!("/{service}/")))
        || path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.");
    if known {
        path
    } else {
        "other"
    }
}

/// A tower layer that records every call: metrics, and one JSON access-log line (target `access`).
#[derive(Clone)]
pub struct MetricsLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner, metrics: self.0.clone() }
    }
}

/// The service [`MetricsLayer`] wraps around the router.
#[derive(Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B, R> tower::Service<http::Request<B>> for MetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        // A caller that sends its request id (any HTTP client, grpcurl -H) gets it into the bridge's log line.
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .filter(|value| value.len() <= 128)
            .map(str::to_owned);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            // Errors come back "trailers-only", with grpc-status in the headers; a successful unary call
            // carries it in the trailers, after this point, so no header means OK.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("0")
                    .to_owned(),
                Err(_) => "transport".to_owned(),
            };
            let elapsed = started.elapsed();
            metrics.record(&method, &code, elapsed.as_secs_f64());
            tracing::info!(
                target: kit::log::ACCESS_TARGET,
                method = known_method(&method),
                code,
                duration_us = elapsed.as_micros() as u64,
                request_id = request_id.as_deref().unwrap_or(""),
                "grpc call"
            );
            result
        })
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, db: Database) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        let db = db.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let body = (request.uri().path() == "/metrics").then(|| metrics.render(&db));
                async move {
                    let response = match body {
                        Some(text) => hyper::Response::builder()
                            .header("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
                            .body(Full::new(Bytes::from(text))),
                        None => hyper::Response::builder().status(404).body(Full::new(Bytes::new())),
                    };
                    Ok::<_, Infallible>(response.unwrap_or_default())
                }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Binds the metrics listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bridge_metric_the_dashboard_queries_is_exposed_under_that_name() {
        let metrics = Metrics::new();
        metrics.record("/pycommerce.catalog.v1.ProductService/GetProductById", "0", 0.001);
        metrics.produced("order.created", 1);
        metrics.produce_failed("order.created", 1);
        metrics.consumed("order.created", "stored");
        metrics.set_consumer_lag("order.created", 0, 3);
        let db =
            Database::new("postgres://postgres@127.0.0.1:5432/unused", 1, std::time::Duration::from_secs(1)).unwrap();
        let text = metrics.render(&db);
        let queried = include_str!("../../deploy/observability/metrics.txt");
        for name in queried.lines().map(str::trim).filter(|line| line.starts_with("bridge_")) {
            let family = name.trim_end_matches("_total");
            assert!(text.contains(&format!("# TYPE {family} ")), "the dashboard queries {name}, not exposed:\n{text}");
        }
    }
}
