//! Kafka settings shared by the outbox relay and the analytics consumer: broker addresses, topic names
//! (with an optional prefix, so several systems or tests can share a broker) and topic creation, since
//! topics are created explicitly and never auto-created.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

/// `type` of the order-created event and its topic.
pub const ORDER_CREATED_TYPE: &str = "com.pycommerce.order.created.v1";
/// `type` of the order-cancelled event.
pub const ORDER_CANCELLED_TYPE: &str = "com.pycommerce.order.cancelled.v1";

/// Topic (without prefix) of each event type the relay publishes.
const TOPICS: &[(&str, &str)] = &[(ORDER_CREATED_TYPE, "order.created"), (ORDER_CANCELLED_TYPE, "order.cancelled")];

/// Topic (without prefix) of analytics events that failed too often.
pub const DEAD_LETTER_TOPIC: &str = "analytics.dead-letter";

/// Where the broker is and how topics are named and created.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Prepended to every topic name (empty in production).
    pub topic_prefix: String,
    /// Partitions of a topic the bridge creates.
    pub partitions: i32,
    /// Replication factor of a topic the bridge creates.
    pub replication: i32,
    /// Bound on one produce (queue to acknowledgement) and on admin calls.
    pub timeout: Duration,
}

impl KafkaSettings {
    /// Settings for `brokers` with one partition-set default: 3 partitions, replication 1, 10 s timeout.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: String::new(),
            partitions: 3,
            replication: 1,
            timeout: Duration::from_secs(10),
        }
    }

    /// The full name of `topic`.
    pub fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    /// The full topic name events of `event_type` go to, if the relay publishes that type.
    pub fn topic_for_event(&self, event_type: &str) -> Option<String> {
        TOPICS.iter().find(|(kind, _)| *kind == event_type).map(|(_, topic)| self.topic(topic))
    }

    /// Every event topic, with prefix.
    pub fn event_topics(&self) -> Vec<String> {
        TOPICS.iter().map(|(_, topic)| self.topic(topic)).collect()
    }

    /// Every event topic and the dead-letter topic, with prefix.
    pub fn all_topics(&self) -> Vec<String> {
        TOPICS.iter().map(|(_, topic)| *topic).chain([DEAD_LETTER_TOPIC]).map(|topic| self.topic(topic)).collect()
    }

    /// A client configuration with the brokers and a client id.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            // librdkafka logs through its own callback; keep it to warnings.
            .set("log_level", "4");
        config
    }

    /// The configuration of an idempotent producer (`acks=all`) whose every produce, retries included, ends
    /// within [`KafkaSettings::timeout`]: after it the record's delivery report says it failed.
    pub fn producer_config(&self, client_id: &str) -> ClientConfig {
        let timeout_ms = self.timeout.as_millis();
        // A request in flight to a broker that died is only given up after `request.timeout.ms` (30 s by
        // default), whatever `message.timeout.ms` says: keep both within the produce bound.
        let request_timeout_ms = (timeout_ms / 2).max(500).to_string();
        let mut config = self.client_config(client_id);
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", timeout_ms.to_string())
            .set("request.timeout.ms", &request_timeout_ms)
            .set("socket.connection.setup.timeout.ms", &request_timeout_ms);
        config
    }

    /// Creates the bridge's topics that do not exist yet, then checks that every event topic exists with its
    /// partitions. Creation may be refused (e.g. by ACLs, where an operator created the topics); the check
    /// is what counts: nothing should be produced to a topic the broker does not have (some brokers
    /// acknowledge such records and drop them). A missing dead-letter topic shows when the consumer first
    /// produces to it, which it retries.
    pub async fn ensure_topics(&self) -> Result<(), KafkaError> {
        let admin: AdminClient<DefaultClientContext> = self.client_config("pycommerce-bridge-admin").create()?;
        let names = self.all_topics();
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| NewTopic::new(name, self.partitions, TopicReplication::Fixed(self.replication)))
            .collect();
        let options = AdminOptions::new().request_timeout(Some(self.timeout)).operation_timeout(Some(self.timeout));
        match admin.create_topics(&topics, &options).await {
            Ok(results) => {
                for result in results {
                    match result {
                        Ok(topic) => tracing::info!(%topic, "topic created"),
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((topic, code)) => tracing::warn!(%topic, %code, "topic not created"),
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "topics not created"),
        }
        let (timeout, required) = (self.timeout, self.event_topics());
        tokio::task::spawn_blocking(move || {
            let metadata = admin.inner().fetch_metadata(None, timeout)?;
            match missing_topic(&metadata, &required) {
                Some(_) => Err(KafkaError::AdminOp(RDKafkaErrorCode::UnknownTopicOrPartition)),
                None => Ok(()),
            }
        })
        .await
        .map_err(|_| KafkaError::Canceled)?
    }
}

/// The first of `required` that the broker's `metadata` lacks (or lists with an error or no partitions).
pub fn missing_topic<'a>(metadata: &rdkafka::metadata::Metadata, required: &'a [String]) -> Option<&'a str> {
    required.iter().map(String::as_str).find(|name| {
        !metadata
            .topics()
            .iter()
            .any(|topic| topic.name() == *name && topic.error().is_none() && !topic.partitions().is_empty())
    })
}
