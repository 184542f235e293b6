//! The outbox relay: publishes the rows of `orders.outbox` to Kafka and marks them published.
//!
//! - **Once per relay, at least once overall.** A batch is claimed with `FOR UPDATE SKIP LOCKED` inside a
//!   transaction that stays open until Kafka has acknowledged the batch, so relays running side by side never
//!   publish the same row; a row is marked published in that transaction, after its acknowledgement. A relay
//!   that dies between the acknowledgement and the commit publishes the row again on restart, which is why
//!   consumers deduplicate by event id.
//! - **Idempotent producer** (`enable.idempotence`, `acks=all`): librdkafka's own retries never duplicate or
//!   reorder; the key is the order id, so an order's events stay in one partition, in order.
//! - **Prompt**: a trigger on the outbox sends `NOTIFY orders_outbox` on commit; the relay listens, and also
//!   wakes on [`Relay::wake`] (the `events` bridge call) and every `poll_interval` in case a notification
//!   was missed while its listening connection was down.
//! - **Batched under load**: a pass woken by a notification starts at least `pass_spacing` after the start
//!   of the previous pass if that one found events, so the orders committed in between leave in one batch.
//!   A pass costs about the same whatever its size (a transaction, two metadata requests and a produce), and
//!   without the spacing each order of a steady stream had a pass of its own. An idle relay (its last pass
//!   found nothing) answers a wake at once, and a backlog (a full batch) is drained pass after pass.
//! - **Faults**: a failed produce leaves the row unpublished with `attempts` incremented and the relay backs
//!   off (up to 5 s); a fatal producer error, or a batch of which nothing was published, replaces the
//!   producer (a restarted broker that lost its state would keep refusing the old producer id). Orders never wait for any of this.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::db::Database;
use crate::kafka::{KafkaSettings, ORDER_CANCELLED_TYPE, ORDER_CREATED_TYPE};
use crate::metrics::Metrics;

/// Postgres notification channel the outbox trigger signals.
pub const CHANNEL: &str = "orders_outbox";
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the outbox gauges are refreshed: a `count(*)` over the pending rows after every pass cost
/// Postgres ~0.5 ms per order at 50 orders/s, for gauges a scrape reads every few seconds.
const LAG_REFRESH: Duration = Duration::from_secs(1);

/// Settings of a pass's transaction, sent before [`CLAIM`].
///
/// - `enable_bitmapscan = off`: the claim reads the unpublished rows by `outbox_unpublished_order_idx` in
///   order. A published row's entry stays in that index until a vacuum, and a plain index scan marks such
///   entries dead as it passes them, so the next pass skips them without reading their rows. The bitmap
///   scan the planner prefers marks nothing: every pass read every row published since the last vacuum
///   (5 ms of Postgres per pass after 13 600 orders with autovacuum off, at up to 20 passes a second).
/// - `synchronous_commit = off`: marking rows published need not wait for the disk: a mark lost in a crash
///   publishes its rows again, which consumers already deduplicate.
pub const CLAIM_SETTINGS: &str = "SET LOCAL enable_bitmapscan = off; SET LOCAL synchronous_commit = off";

/// The claim of a pass: up to `$1` unpublished rows, oldest first, locked, skipping rows another relay holds.
pub const CLAIM: &str = "SELECT id, aggregate_id::text AS key, event_type, payload::text AS payload \
     FROM orders.outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED";

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The broker and topics.
    pub kafka: KafkaSettings,
    /// Postgres URL, for the listening connection.
    pub database_url: String,
    /// Rows claimed per batch.
    pub batch_size: i64,
    /// Longest wait between two looks at the outbox.
    pub poll_interval: Duration,
    /// Shortest time from the start of a pass that found events to the start of the next one woken by a
    /// notification.
    pub pass_spacing: Duration,
}

/// Why a relay pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Postgres could not be reached or refused a statement.
    #[error("database: {0}")]
    Database(String),
    /// The producer could not be created.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The broker does not answer, or lacks an event topic: nothing was sent, the claimed rows stay.
    #[error("broker not ready: {0}")]
    BrokerNotReady(String),
}

impl From<tokio_postgres::Error> for RelayError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Database(error.to_string())
    }
}

/// The outcome of one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows published and marked.
    pub published: usize,
}

/// The relay: a producer, the pool, and the signal that wakes it.
pub struct Relay {
    settings: RelaySettings,
    db: Database,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    producer: tokio::sync::Mutex<Option<FutureProducer>>,
}

impl Relay {
    /// A relay over `db`; nothing runs until [`Relay::run`].
    pub fn new(settings: RelaySettings, db: Database, metrics: Arc<Metrics>) -> Self {
        // Series exist from the start at zero, so rates and alerts see the first event, not a new series.
        for topic in
            [ORDER_CREATED_TYPE, ORDER_CANCELLED_TYPE].iter().filter_map(|kind| settings.kafka.topic_for_event(kind))
        {
            metrics.produced(&topic, 0);
            metrics.produce_failed(&topic, 0);
        }
        Self { settings, db, metrics, wake: Arc::new(Notify::new()), producer: tokio::sync::Mutex::new(None) }
    }

    /// Asks for a pass now (after an order commits); the relay coalesces repeated calls.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn new_producer(&self) -> Result<FutureProducer, KafkaError> {
        // A failed produce leaves the row pending for the next pass; a little lingering batches a burst.
        self.settings.kafka.producer_config("pycommerce-bridge-relay").set("linger.ms", "5").create()
    }

    /// Runs until the task is dropped: listens for notifications and relays.
    pub async fn run(self: Arc<Self>) {
        let _listener = AbortOnDrop(tokio::spawn(listen(self.settings.database_url.clone(), self.wake.clone())));
        let mut topics_ready = false;
        let mut backoff = Duration::from_millis(100);
        let mut lag_recorded: Option<tokio::time::Instant> = None;
        loop {
            if !topics_ready {
                match self.settings.kafka.ensure_topics().await {
                    Ok(()) => topics_ready = true,
                    Err(error) => {
                        // Never produce to a topic the broker lacks: some brokers acknowledge and drop.
                        tracing::warn!(%error, "outbox relay: topics missing; waiting");
                        self.refresh_lag(&mut lag_recorded).await;
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
            let pass_started = tokio::time::Instant::now();
            let pass = self.pass().await;
            self.refresh_lag(&mut lag_recorded).await;
            match pass {
                Ok(pass) if pass.published < pass.claimed => {
                    // The broker is down or refusing: retry the topics too, since a restarted broker may
                    // have lost them.
                    topics_ready = false;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Ok(pass) => {
                    backoff = Duration::from_millis(100);
                    if pass.claimed < self.settings.batch_size as usize {
                        let idle = tokio::time::timeout(self.settings.poll_interval, self.wake.notified()).await;
                        if idle.is_err() {
                            // Drained and quiet: the last pass's refresh may have been skipped.
                            self.record_lag().await;
                            lag_recorded = Some(tokio::time::Instant::now());
                        } else if pass.claimed > 0 {
                            // Woken soon after a pass that found events: the orders still committing join the
                            // next pass's batch.
                            tokio::time::sleep_until(pass_started + self.settings.pass_spacing).await;
                            // The next pass sees every row whose notification came meanwhile.
                            let _ = self.wake.notified().now_or_never();
                        }
                    }
                }
                Err(RelayError::BrokerNotReady(reason)) => {
                    tracing::warn!(%reason, "outbox relay: broker not ready; waiting");
                    topics_ready = false;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(error) => {
                    tracing::error!(%error, "outbox relay pass failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One pass: claims up to a batch of unpublished rows, publishes them, marks the acknowledged ones.
    pub async fn pass(&self) -> Result<Pass, RelayError> {
        let mut producer_slot = self.producer.lock().await;
        let producer = match producer_slot.as_ref() {
            Some(producer) => producer,
            None => producer_slot.insert(self.new_producer()?),
        };
        let mut client = self.db.pool().get().await.map_err(|error| RelayError::Database(error.to_string()))?;
        let transaction = client.transaction().await?;
        transaction.batch_execute(CLAIM_SETTINGS).await?;
        let rows = transaction.query(CLAIM, &[&self.settings.batch_size]).await?;
        if rows.is_empty() {
            return Ok(Pass::default());
        }
        // Queue nothing for a broker that does not answer or lacks a topic: librdkafka would hold the records
        // and hand them to whatever answers on the address next — a broker that came back without its topics
        // (a new cluster, an in-memory one), which acknowledges them and keeps nothing once the topic is made.
        // The claimed rows go back untouched when the transaction drops.
        if let Some(topic) = self.topic_lost(producer).await {
            return Err(RelayError::BrokerNotReady(format!("no topic {topic}")));
        }

        // Enqueue the whole batch first (librdkafka batches and keeps per-partition order), then wait.
        let mut pending = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: uuid::Uuid = row.try_get("id")?;
            let key: String = row.try_get("key")?;
            let event_type: String = row.try_get("event_type")?;
            let payload: String = row.try_get("payload")?;
            let Some(topic) = self.settings.kafka.topic_for_event(&event_type) else {
                tracing::error!(%id, %event_type, "outbox row of an unknown event type left unpublished");
                pending.push((id, String::new(), None));
                continue;
            };
            let headers = OwnedHeaders::new()
                .insert(Header { key: "content-type", value: Some("application/cloudevents+json; charset=utf-8") })
                .insert(Header { key: "ce_id", value: Some(id.to_string().as_str()) })
                .insert(Header { key: "ce_type", value: Some(event_type.as_str()) });
            let record = FutureRecord::to(&topic).key(&key).payload(&payload).headers(headers);
            let delivery = producer.send_result(record).map_err(|(error, _)| error);
            pending.push((id, topic, Some(delivery)));
        }
        let mut published = Vec::new();
        let mut failed = Vec::new();
        for (id, topic, delivery) in pending {
            let outcome = match delivery {
                Some(Ok(future)) => match future.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(error.to_string()),
                    Err(_) => Err("delivery report lost".to_owned()),
                },
                Some(Err(error)) => Err(error.to_string()),
                None => Err("unknown event type".to_owned()),
            };
            match outcome {
                Ok(()) => {
                    self.metrics.produced(&topic, 1);
                    published.push(id);
                }
                Err(error) => {
                    tracing::warn!(%id, %topic, %error, "event not published; it stays in the outbox");
                    if !topic.is_empty() {
                        self.metrics.produce_failed(&topic, 1);
                    }
                    failed.push(id);
                }
            }
        }
        if !published.is_empty() {
            if let Some(topic) = self.topic_lost(producer).await {
                // Some brokers (an in-memory one restarted while a produce was retried) acknowledge records
                // for a topic they do not have, and drop them: an event counts as published only if its
                // topic still exists after the acknowledgement. Resending may duplicate; consumers dedupe.
                tracing::error!(%topic, count = published.len(), "the broker acknowledged events for a topic it \
                    lacks; they stay in the outbox");
                failed.append(&mut published);
            }
        }
        // One array, read by the primary key: without bitmap scans (`CLAIM_SETTINGS`) `id = ANY($1) OR
        // id = ANY($2)` would read the whole table.
        let attempted: Vec<uuid::Uuid> = published.iter().chain(&failed).copied().collect();
        transaction
            .execute(
                "UPDATE orders.outbox SET attempts = attempts + 1, \
                 published_at = CASE WHEN id = ANY($1) THEN now() END WHERE id = ANY($2)",
                &[&published, &attempted],
            )
            .await?;
        transaction.commit().await?;
        if let Some((code, reason)) = producer.client().fatal_error() {
            tracing::error!(?code, %reason, "fatal producer error: replacing the producer");
            *producer_slot = None;
        } else if published.is_empty() {
            // Every message of the batch has its failure report, so none is left queued: start afresh. A
            // broker that restarted without its state (a new cluster, an in-memory broker) may otherwise
            // keep refusing this producer's id and sequence numbers.
            tracing::warn!("no event of the batch was published: replacing the producer");
            *producer_slot = None;
        }
        if !published.is_empty() {
            tracing::debug!(count = published.len(), "events published");
        }
        Ok(Pass { claimed: rows.len(), published: published.len() })
    }

    /// An event topic the broker does not have (or cannot tell), checked through the producer's own
    /// connection; `None` when every event topic exists.
    async fn topic_lost(&self, producer: &FutureProducer) -> Option<String> {
        let (producer, required, timeout) =
            (producer.clone(), self.settings.kafka.event_topics(), self.settings.kafka.timeout);
        tokio::task::spawn_blocking(move || match producer.client().fetch_metadata(None, timeout) {
            Ok(metadata) => crate::kafka::missing_topic(&metadata, &required).map(str::to_owned),
            Err(error) => Some(format!("(metadata unavailable: {error})")),
        })
        .await
        .unwrap_or_else(|_| Some("(metadata check cancelled)".to_owned()))
    }

    /// [`Self::record_lag`], unless it ran less than [`LAG_REFRESH`] ago (`last`).
    async fn refresh_lag(&self, last: &mut Option<tokio::time::Instant>) {
        if last.is_none_or(|at| at.elapsed() >= LAG_REFRESH) {
            self.record_lag().await;
            *last = Some(tokio::time::Instant::now());
        }
    }

    async fn record_lag(&self) {
        let lag = self
            .db
            .run(async |client| {
                let row = client
                    .query_one(
                        "SELECT count(*) AS pending, \
                         COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag \
                         FROM orders.outbox WHERE published_at IS NULL",
                        &[],
                    )
                    .await
                    .map_err(|error| crate::db::unavailable(&error))?;
                Ok((crate::db::column::<i64>(&row, "pending")?, crate::db::column::<f64>(&row, "lag")?))
            })
            .await;
        if let Ok((pending, lag)) = lag {
            self.metrics.outbox_pending.set(pending);
            self.metrics.outbox_lag_seconds.set(lag);
        }
    }
}

/// Stops a helper task when its owner stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Holds a connection that `LISTEN`s on [`CHANNEL`] and wakes the relay on each notification; reconnects
/// after a failure. Returns never (until its task is dropped).
async fn listen(database_url: String, wake: Arc<Notify>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match tokio_postgres::connect(&database_url, NoTls).await {
            Ok((client, mut connection)) => {
                let wake_on_message = wake.clone();
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => wake_on_message.notify_one(),
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "outbox listener connection lost");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(200);
                        // Rows committed while no one listened: look now.
                        wake.notify_one();
                        let _ = driver.await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "outbox listener could not LISTEN");
                        driver.abort();
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "outbox listener cannot connect"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
