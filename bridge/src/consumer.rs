//! The analytics consumer: reads the order topics (consumer group `analytics`) and hands each event to the
//! analytics component's ingest route (`POST /analytics/events` through the gateway), authenticated with a
//! short-lived `service` token the bridge signs with its own key. Storing and reporting stay in the
//! component; this is transport.
//!
//! - **At least once**: a message's offset is committed only after the component answered that it stored
//!   the event (201) or had it already (200); the component deduplicates by event id.
//! - **Poison messages never block a partition**: a message the component refuses (400, 413, 415, 422) is
//!   dead-lettered at once; one that fails otherwise (500, 401, 403, …) is retried `max_attempts` times,
//!   then dead-lettered. The dead-letter record keeps key, value and headers and adds `dlq_*` headers
//!   (source topic, partition, offset, attempts, error), and is produced before the offset is committed.
//! - **An outage is not poison**: while the component or gateway is unreachable (connection error,
//!   timeout, 502/503/504) the consumer waits and retries without counting attempts, so an outage delays
//!   events but never dead-letters them.
//! - **Lag**: librdkafka's statistics give `bridge_consumer_lag{topic, partition}`.

use std::sync::Arc;
use std::time::Duration;

use kit::identity::Role;
use kit::jwt::{AccessClaims, Signer, ACCESS_TOKEN_TYPE};
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Message};

use crate::kafka::{KafkaSettings, DEAD_LETTER_TOPIC};
use crate::metrics::Metrics;

/// Topics (without prefix) the analytics consumer reads.
pub const TOPICS: &[&str] = &["order.created", "order.cancelled"];
/// Lifetime of the service tokens the consumer signs: well under the longest the gateway accepts
/// (`service_token_max_lifetime_secs`, 10 minutes by default).
const SERVICE_TOKEN_TTL_SECS: u64 = 300;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the consumer runs.
#[derive(Clone)]
pub struct ConsumerSettings {
    /// The broker and topics.
    pub kafka: KafkaSettings,
    /// Consumer group (`analytics`).
    pub group_id: String,
    /// Full URL of the ingest route (`<gateway>/analytics/events`).
    pub ingest_url: String,
    /// Signs the service tokens.
    pub signer: Signer,
    /// `iss` the app expects.
    pub issuer: String,
    /// `aud` the app expects.
    pub audience: String,
    /// Tries per message before it is dead-lettered (outages not counted).
    pub max_attempts: u32,
    /// Bound on one ingest call.
    pub http_timeout: Duration,
    /// `fetch.wait.max.ms` (small in tests: some brokers answer fetches only when it expires).
    pub fetch_wait: Duration,
}

impl std::fmt::Debug for ConsumerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerSettings")
            .field("kafka", &self.kafka)
            .field("group_id", &self.group_id)
            .field("ingest_url", &self.ingest_url)
            .field("signer_kid", &self.signer.kid())
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The component stored the event now.
    Stored,
    /// The component had stored it before (a redelivery).
    Duplicate,
    /// It went to the dead-letter topic.
    DeadLettered,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
}

/// Why one delivery to the component failed.
enum Failure {
    /// The component refused the event itself: retrying cannot help.
    Refused(String),
    /// It failed in a way a retry may fix; counted against `max_attempts`.
    Failed(String),
    /// The component or gateway cannot be reached: not the message's fault; not counted.
    Unreachable(String),
}

/// Records consumer lag from librdkafka's statistics.
struct LagContext {
    metrics: Arc<Metrics>,
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, partition_stats) in &stats.partitions {
                if *partition >= 0 && partition_stats.consumer_lag >= 0 {
                    self.metrics.set_consumer_lag(topic, *partition, partition_stats.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for LagContext {}

/// The consumer.
pub struct AnalyticsConsumer {
    settings: ConsumerSettings,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
}

impl AnalyticsConsumer {
    /// A consumer; nothing runs until [`AnalyticsConsumer::run`].
    pub fn new(settings: ConsumerSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(settings.http_timeout).build()?;
        Ok(Self { settings, metrics, http })
    }

    /// Consumes until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            if let Err(error) = self.consume().await {
                tracing::error!(%error, "analytics consumer stopped; restarting");
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn consume(&self) -> Result<(), KafkaError> {
        let kafka = &self.settings.kafka;
        if let Err(error) = kafka.ensure_topics().await {
            tracing::warn!(%error, "topics not ready; subscribing anyway");
        }
        let consumer: StreamConsumer<LagContext> = kafka
            .client_config("pycommerce-bridge-analytics")
            .set("group.id", &self.settings.group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", self.settings.fetch_wait.as_millis().to_string())
            .set("statistics.interval.ms", "5000")
            .create_with_context(LagContext { metrics: self.metrics.clone() })?;
        let producer: FutureProducer = kafka.producer_config("pycommerce-bridge-dead-letter").create()?;
        let topics: Vec<String> = TOPICS.iter().map(|topic| kafka.topic(topic)).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        tracing::info!(group = %self.settings.group_id, ?topics, "analytics consumer subscribed");
        loop {
            let message = match consumer.recv().await {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let outcome = self.handle(&message, &producer).await;
            self.metrics.consumed(message.topic(), outcome.label());
            consumer.commit_message(&message, CommitMode::Async)?;
        }
    }

    /// Delivers one message to the component, or to the dead-letter topic; returns only when it is one or
    /// the other.
    async fn handle(&self, message: &BorrowedMessage<'_>, producer: &FutureProducer) -> Outcome {
        let payload = message.payload().unwrap_or_default();
        let mut attempts = 0;
        let mut backoff = Duration::from_millis(100);
        let error = loop {
            match self.deliver(payload).await {
                Ok(outcome) => return outcome,
                Err(Failure::Refused(error)) => {
                    attempts += 1;
                    break error;
                }
                Err(Failure::Failed(error)) => {
                    attempts += 1;
                    tracing::warn!(topic = message.topic(), offset = message.offset(), attempts, %error, "event not stored");
                    if attempts >= self.settings.max_attempts {
                        break error;
                    }
                }
                Err(Failure::Unreachable(error)) => {
                    tracing::warn!(%error, "analytics unreachable; waiting");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        tracing::error!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            attempts,
            %error,
            "event dead-lettered"
        );
        self.dead_letter(message, producer, attempts, &error).await;
        Outcome::DeadLettered
    }

    async fn deliver(&self, payload: &[u8]) -> Result<Outcome, Failure> {
        let token = self.token().map_err(Failure::Failed)?;
        let response = self
            .http
            .post(&self.settings.ingest_url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload.to_vec())
            .send()
            .await
            .map_err(|error| Failure::Unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let detail = || async move { response.text().await.unwrap_or_default().chars().take(500).collect::<String>() };
        match status {
            201 => Ok(Outcome::Stored),
            200 => Ok(Outcome::Duplicate),
            400 | 413 | 415 | 422 => Err(Failure::Refused(format!("{status}: {}", detail().await))),
            502..=504 => Err(Failure::Unreachable(format!("{status}"))),
            _ => Err(Failure::Failed(format!("{status}: {}", detail().await))),
        }
    }

    /// A fresh service token (one per delivery: signing takes microseconds).
    fn token(&self) -> Result<String, String> {
        let now = kit::jwt::now_secs();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: service_subject(),
            exp: now + SERVICE_TOKEN_TTL_SECS,
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            role: Role::Service,
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        };
        self.settings.signer.sign(&claims).map_err(|error| error.to_string())
    }

    /// Produces the message to the dead-letter topic, retrying until the broker takes it (the offset is
    /// committed only after).
    async fn dead_letter(&self, message: &BorrowedMessage<'_>, producer: &FutureProducer, attempts: u32, error: &str) {
        let topic = self.settings.kafka.topic(DEAD_LETTER_TOPIC);
        let (partition, offset) = (message.partition().to_string(), message.offset().to_string());
        let attempts = attempts.to_string();
        let mut backoff = Duration::from_millis(200);
        loop {
            let mut headers = OwnedHeaders::new();
            if let Some(original) = message.headers() {
                for header in original.iter() {
                    headers = headers.insert(Header { key: header.key, value: header.value });
                }
            }
            let headers = headers
                .insert(Header { key: "dlq_source_topic", value: Some(message.topic()) })
                .insert(Header { key: "dlq_partition", value: Some(partition.as_str()) })
                .insert(Header { key: "dlq_offset", value: Some(offset.as_str()) })
                .insert(Header { key: "dlq_attempts", value: Some(attempts.as_str()) })
                .insert(Header { key: "dlq_error", value: Some(error) });
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            match producer.send(record, self.settings.kafka.timeout).await {
                Ok(_) => return,
                Err((error, _)) => {
                    tracing::error!(%error, %topic, "dead-letter produce failed; retrying");
                    self.metrics.produce_failed(&topic, 1);
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// The `sub` of the bridge's service tokens: a fixed name-based UUID, never a user's.
pub fn service_subject() -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"urn:pycommerce:service:bridge").to_string()
}
