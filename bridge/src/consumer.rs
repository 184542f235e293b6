//! The analytics consumer: reads the order topics (consumer group `analytics`) and hands their events to the
//! analytics component's ingest routes (through the gateway), authenticated with a short-lived `service`
//! token the bridge signs with its own key. Storing and reporting stay in the component; this is transport.
//!
//! - **Batches**: after the first message of a poll the consumer waits up to `batch_linger` for more (at
//!   most `batch_max_events`) and posts them together to `POST /analytics/events/batch`, so a burst of
//!   orders costs the app one request and two statements, not a request, a token check and a commit per
//!   event. A batch the app cannot take as a whole (it answers neither results nor "unavailable") is
//!   delivered one event at a time to `POST /analytics/events`, where the rules below apply per event.
//! - **At least once**: offsets are committed only after the component answered, for every event of the
//!   batch, that it stored it or had it already, or after the event was dead-lettered; the component
//!   deduplicates by event id.
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
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use serde::Deserialize;

use crate::kafka::{KafkaSettings, DEAD_LETTER_TOPIC};
use crate::metrics::Metrics;

/// Topics (without prefix) the analytics consumer reads.
pub const TOPICS: &[&str] = &["order.created", "order.cancelled"];
/// Lifetime of the service tokens the consumer signs: well under the longest the gateway accepts
/// (`service_token_max_lifetime_secs`, 10 minutes by default).
const SERVICE_TOKEN_TTL_SECS: u64 = 300;
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Payload bytes one batch carries at most, well under the app's default body limit (1 MiB).
const MAX_BATCH_BYTES: usize = 512 * 1024;

/// How the consumer runs.
#[derive(Clone)]
pub struct ConsumerSettings {
    /// The broker and topics.
    pub kafka: KafkaSettings,
    /// Consumer group (`analytics`).
    pub group_id: String,
    /// Full URL of the one-event ingest route (`<gateway>/analytics/events`); batches go to `<it>/batch`.
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
    /// Events one batch carries at most (1: every event on its own).
    pub batch_max_events: usize,
    /// How long the consumer waits, after a poll's first message, for more to fill its batch.
    pub batch_linger: Duration,
}

impl std::fmt::Debug for ConsumerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerSettings")
            .field("kafka", &self.kafka)
            .field("group_id", &self.group_id)
            .field("ingest_url", &self.ingest_url)
            .field("signer_kid", &self.signer.kid())
            .field("max_attempts", &self.max_attempts)
            .field("batch_max_events", &self.batch_max_events)
            .field("batch_linger", &self.batch_linger)
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
    batch_url: String,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
}

impl AnalyticsConsumer {
    /// A consumer; nothing runs until [`AnalyticsConsumer::run`].
    pub fn new(settings: ConsumerSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(settings.http_timeout).build()?;
        let batch_url = format!("{}/batch", settings.ingest_url.trim_end_matches('/'));
        Ok(Self { settings, batch_url, metrics, http })
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
            let batch = self.collect(&consumer).await;
            let outcomes = self.handle_batch(&batch, &producer).await;
            for (message, outcome) in batch.iter().zip(outcomes) {
                self.metrics.consumed(message.topic(), outcome.label());
            }
            consumer.commit(&next_offsets(&batch)?, CommitMode::Async)?;
        }
    }

    /// The next batch: waits for one message, then up to `batch_linger` for more, within the batch limits.
    async fn collect(&self, consumer: &StreamConsumer<LagContext>) -> Vec<OwnedMessage> {
        let mut batch = Vec::new();
        while batch.is_empty() {
            match consumer.recv().await {
                Ok(message) => batch.push(message.detach()),
                Err(error) => {
                    tracing::warn!(%error, "consumer error");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + self.settings.batch_linger;
        let mut bytes = batch[0].payload().map_or(0, <[u8]>::len);
        while batch.len() < self.settings.batch_max_events && bytes < MAX_BATCH_BYTES {
            // `recv` is cancellation safe: a message is either returned or left in the queue.
            match tokio::time::timeout_at(deadline, consumer.recv()).await {
                Ok(Ok(message)) => {
                    bytes += message.payload().map_or(0, <[u8]>::len);
                    batch.push(message.detach());
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "consumer error");
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }

    /// Delivers a batch: the events that are JSON together, any the app did not take as a batch (and any
    /// payload that is not JSON) one by one. Returns each message's outcome, in order, once every message
    /// is stored or dead-lettered.
    async fn handle_batch(&self, batch: &[OwnedMessage], producer: &FutureProducer) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let json: Vec<usize> = (0..batch.len())
            .filter(|&index| {
                serde_json::from_slice::<serde::de::IgnoredAny>(batch[index].payload().unwrap_or_default()).is_ok()
            })
            .collect();
        if !json.is_empty() && self.settings.batch_max_events > 1 {
            let payloads: Vec<&[u8]> = json.iter().map(|&index| batch[index].payload().unwrap_or_default()).collect();
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.deliver_batch(&payloads).await {
                    Ok(results) => {
                        for (&index, result) in json.iter().zip(results) {
                            outcomes[index] = Some(match result {
                                Ok(outcome) => outcome,
                                Err(error) => self.refused(&batch[index], producer, &error).await,
                            });
                        }
                        break;
                    }
                    Err(Failure::Unreachable(error)) => tracing::warn!(%error, "analytics unreachable; waiting"),
                    Err(Failure::Refused(error) | Failure::Failed(error)) => {
                        tracing::warn!(events = payloads.len(), %error, "batch not taken; delivering one by one");
                        break;
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        let mut delivered = Vec::with_capacity(batch.len());
        for (message, outcome) in batch.iter().zip(outcomes) {
            delivered.push(match outcome {
                Some(outcome) => outcome,
                None => self.handle(message, producer).await,
            });
        }
        delivered
    }

    /// Posts `payloads` to the batch route: the outcome of each, in order (`Err` with the reason for an
    /// event the app refused).
    async fn deliver_batch(&self, payloads: &[&[u8]]) -> Result<Vec<Result<Outcome, String>>, Failure> {
        let mut body = Vec::with_capacity(payloads.iter().map(|payload| payload.len() + 1).sum::<usize>() + 12);
        body.extend_from_slice(b"{\"events\":[");
        for (index, payload) in payloads.iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(payload);
        }
        body.extend_from_slice(b"]}");
        let response = self.post(&self.batch_url, body).await?;
        let bytes = response.bytes().await.map_err(|error| Failure::Unreachable(error.to_string()))?;
        let answer: BatchAnswer = serde_json::from_slice(&bytes)
            .map_err(|error| Failure::Failed(format!("unreadable batch answer: {error}")))?;
        if answer.results.len() != payloads.len() {
            return Err(Failure::Failed(format!("{} results for {} events", answer.results.len(), payloads.len())));
        }
        answer
            .results
            .into_iter()
            .map(|result| match result.outcome.as_str() {
                "stored" => Ok(Ok(Outcome::Stored)),
                "duplicate" => Ok(Ok(Outcome::Duplicate)),
                // Recorded as the one-event route would answer it: the status, then why.
                "refused" => Ok(Err(format!("422: {}", result.error.unwrap_or_default()))),
                other => Err(Failure::Failed(format!("unknown outcome {other:?}"))),
            })
            .collect()
    }

    /// Dead-letters an event the app refused in a batch: retrying cannot help.
    async fn refused(&self, message: &OwnedMessage, producer: &FutureProducer, error: &str) -> Outcome {
        tracing::error!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            %error,
            "event refused; dead-lettered"
        );
        self.dead_letter(message, producer, 1, error).await;
        Outcome::DeadLettered
    }

    /// Delivers one message to the component, or to the dead-letter topic; returns only when it is one or
    /// the other.
    async fn handle(&self, message: &OwnedMessage, producer: &FutureProducer) -> Outcome {
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
        let response = self.post(&self.settings.ingest_url, payload.to_vec()).await?;
        match response.status().as_u16() {
            201 => Ok(Outcome::Stored),
            _ => Ok(Outcome::Duplicate),
        }
    }

    /// Posts `body` with a fresh service token: the response when the app answered 200 or 201, else why not.
    async fn post(&self, url: &str, body: Vec<u8>) -> Result<reqwest::Response, Failure> {
        let token = self.token().map_err(Failure::Failed)?;
        let response = self
            .http
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|error| Failure::Unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        if status == 200 || status == 201 {
            return Ok(response);
        }
        if (502..=504).contains(&status) {
            return Err(Failure::Unreachable(format!("{status}")));
        }
        let detail = response.text().await.unwrap_or_default().chars().take(500).collect::<String>();
        match status {
            400 | 413 | 415 | 422 => Err(Failure::Refused(format!("{status}: {detail}"))),
            _ => Err(Failure::Failed(format!("{status}: {detail}"))),
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
    async fn dead_letter(&self, message: &OwnedMessage, producer: &FutureProducer, attempts: u32, error: &str) {
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

/// The batch route's answer.
#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<BatchResult>,
}

/// The app's word on one event of a batch.
#[derive(Deserialize)]
struct BatchResult {
    outcome: String,
    error: Option<String>,
}

/// The offsets to commit after `batch`: per partition, the one after its last message.
fn next_offsets(batch: &[OwnedMessage]) -> Result<TopicPartitionList, KafkaError> {
    let mut next = std::collections::BTreeMap::new();
    for message in batch {
        let offset = next.entry((message.topic(), message.partition())).or_insert(message.offset() + 1);
        *offset = (*offset).max(message.offset() + 1);
    }
    let mut offsets = TopicPartitionList::with_capacity(next.len());
    for ((topic, partition), offset) in next {
        offsets.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    Ok(offsets)
}

/// The `sub` of the bridge's service tokens: a fixed name-based UUID, never a user's.
pub fn service_subject() -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"urn:pycommerce:service:bridge").to_string()
}
