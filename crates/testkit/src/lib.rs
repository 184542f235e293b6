//! # testkit — what the integration suites share
//!
//! Tests run against real services (DESIGN §9); for Kafka that means a real Kafka-protocol broker. This crate
//! starts private Tansu brokers a test can stop and restart (the fault tests), and reads and writes topics
//! the way a test needs (from the beginning, with the headers, waiting for late duplicates).
//!
//! ## Layout
//! - [`store`]: [`TestDb`], a migrated database of the test's own (with catalog fixtures), and [`TestKeys`],
//!   a Redis key prefix of its own; both removed when dropped.
//! - [`LogCapture`]: a test's log lines, in the components' format.
//! - [`Broker`]: a Tansu process of the test's own (`tansu` on PATH, or `TANSU_BIN`).
//! - [`read`], [`produce`], [`Record`]: topic access for assertions.

pub mod log;
pub mod store;

pub use log::LogCapture;
pub use store::{TestDb, TestKeys};

use std::process::Stdio;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A Tansu broker of the test's own on 127.0.0.1, keeping its data in memory: a restart loses topics and
/// messages, as a broker replaced by a new cluster would.
pub struct Broker {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<tokio::process::Child>,
}

impl Broker {
    /// Starts a broker on a free port and waits until it accepts connections.
    ///
    /// # Panics
    /// When `tansu` cannot be started or does not listen within 10 s (a test setup failure).
    pub async fn start() -> Self {
        let port = restartable_port();
        let dir = std::env::temp_dir().join(format!("pc-tansu-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a directory for tansu");
        let mut broker = Self { port, dir, child: None };
        broker.resume().await;
        broker
    }

    /// `bootstrap.servers` of this broker.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker; its in-memory topics and messages are gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it (again) on the same port and waits until it accepts connections.
    ///
    /// # Panics
    /// As [`Broker::start`].
    pub async fn resume(&mut self) {
        let binary = std::env::var("TANSU_BIN").unwrap_or_else(|_| "tansu".to_owned());
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.join("tansu.log")).expect("a log file for tansu");
        let child = tokio::process::Command::new(binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("tansu is installed (.ci/run installs it) or TANSU_BIN names it");
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(self.addr()).await.is_ok() {
                // Something answers; make sure it is this broker and not another process that took the port
                // while it was down (tansu then exits at once, failing to bind).
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Some(child) = self.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!(
                            "tansu exited ({status}) on {}: see {}",
                            self.addr(),
                            self.dir.join("tansu.log").display()
                        );
                    }
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tansu did not start on {}", self.addr());
    }
}

/// A free port below Linux's ephemeral range (32768–60999). A broker that is stopped and resumed must get its
/// port back; a port from the ephemeral range can meanwhile be handed to any client socket or to another
/// test's `bind(0)`, and the restarted broker would then fail to listen while the test talks to someone else.
fn restartable_port() -> u16 {
    for _ in 0..1000 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..32000");
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A record read back: key, value and headers, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
}

impl Record {
    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Reads `topic` (partitions `0..partitions`) of `brokers` from the beginning until `expected` records
/// arrived and `linger` then passed (to catch late duplicates), or 30 s passed. The topic must exist when
/// this starts (partitions assigned before it is created are not picked up). Blocking: call it from
/// `spawn_blocking` in async tests.
///
/// # Panics
/// When the consumer cannot be created or assigned (a test setup failure).
pub fn read(brokers: &str, topic: &str, partitions: i32, expected: usize, linger: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("pc-test-reader-{}", uuid::Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        // Some brokers (Tansu) answer a fetch only when this expires.
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("a kafka consumer");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).expect("a partition");
    }
    consumer.assign(&assignment).expect("assigned partitions");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet_until = None;
    let mut records = Vec::new();
    while Instant::now() < deadline && quiet_until.is_none_or(|until| Instant::now() < until) {
        if records.len() >= expected && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + linger);
        }
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else { continue };
        let text = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        let headers = message
            .headers()
            .map(|headers| headers.iter().map(|header| (header.key.to_owned(), text(header.value))).collect())
            .unwrap_or_default();
        records.push(Record { key: text(message.key()), value: text(message.payload()), headers });
    }
    records
}

/// The `(low, high)` offsets of each partition of `topic` as the broker reports them (`None` for a partition
/// it cannot answer for): what a test shows when it read fewer records than it expected. Blocking.
pub fn watermarks(brokers: &str, topic: &str, partitions: i32) -> Vec<Option<(i64, i64)>> {
    let Ok(consumer) = ClientConfig::new().set("bootstrap.servers", brokers).create::<BaseConsumer>() else {
        return Vec::new();
    };
    (0..partitions).map(|partition| consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)).ok()).collect()
}

/// Produces `value` with `key` to `topic` of `brokers` and waits for the acknowledgement. Blocking.
///
/// # Panics
/// When the record is not acknowledged within 10 s.
pub fn produce(brokers: &str, topic: &str, key: &str, value: &[u8]) {
    let producer: BaseProducer = ClientConfig::new().set("bootstrap.servers", brokers).create().expect("a producer");
    producer.send(BaseRecord::to(topic).key(key).payload(value)).map_err(|(error, _)| error).expect("enqueued");
    producer.flush(Duration::from_secs(10)).expect("acknowledged");
}
