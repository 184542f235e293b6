//! Shared by the bridge's integration tests and benchmarks: a migrated database per test, and a private
//! Tansu broker (a Kafka-protocol broker, `tansu` on PATH or `TANSU_BIN`) that a test can stop and start.
#![allow(dead_code)] // each test binary uses a different part

use std::process::Stdio;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio_postgres::NoTls;

pub fn admin_url() -> String {
    std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

/// A migrated database of its own, and a SQL client on it; dropped with the test.
pub struct TestDb {
    pub url: String,
    name: String,
    pub client: tokio_postgres::Client,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Drop cannot await: use a runtime of its own on another thread.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = admin_url();
        let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
        let server = base.rsplit_once('/').unwrap().0;
        let name = format!("pc_bridge_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{server}/{name}?{query}");
        bridge::migrate::create_database(&url).await.unwrap();
        bridge::migrate::run(&url).await.unwrap();
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        Self { url, name, client }
    }

    pub async fn product(&self, stock: i32) -> String {
        let id = uuid::Uuid::new_v4();
        let sku = format!("SKU-{}", &id.simple().to_string()[..12].to_uppercase());
        self.client
            .execute(
                "INSERT INTO catalog.products (id, sku, name, price_cents, currency, stock) VALUES ($1, $2, 'Mug', 1250, 'EUR', $3)",
                &[&id, &sku, &stock],
            )
            .await
            .unwrap();
        id.to_string()
    }

    pub async fn stock(&self, id: &str) -> i32 {
        let id = uuid::Uuid::parse_str(id).unwrap();
        self.client.query_one("SELECT stock FROM catalog.products WHERE id = $1", &[&id]).await.unwrap().get(0)
    }

    pub async fn catalog_version(&self) -> i64 {
        self.client.query_one("SELECT value FROM catalog.version", &[]).await.unwrap().get(0)
    }
}

/// A Tansu broker of the test's own on 127.0.0.1, keeping its data in memory (a restart loses it).
pub struct Broker {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<tokio::process::Child>,
}

impl Broker {
    /// Starts a broker on a free port and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("pc-tansu-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut broker = Self { port, dir, child: None };
        broker.resume().await;
        broker
    }

    /// `bootstrap.servers` of this broker.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker (its in-memory topics and messages are gone).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts it again on the same port.
    pub async fn resume(&mut self) {
        let binary = std::env::var("TANSU_BIN").unwrap_or_else(|_| "tansu".to_owned());
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.join("tansu.log")).unwrap();
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
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tansu did not start on {}", self.addr());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A message as read back: key, value and the `ce_id` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub key: String,
    pub value: String,
    pub event_id: String,
}

/// Reads `topic` (all `partitions`) from the beginning until `expected` messages arrived, then keeps reading
/// for `linger` to catch duplicates; gives up after 30 s.
pub fn read_topic(brokers: &str, topic: &str, partitions: i32, expected: usize, linger: Duration) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("pc-test-{}", uuid::Uuid::new_v4().simple()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut read = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut linger_until = None;
    loop {
        let now = std::time::Instant::now();
        if now > deadline || linger_until.is_some_and(|until| now > until) {
            return read;
        }
        if read.len() >= expected && linger_until.is_none() {
            linger_until = Some(now + linger);
        }
        let Some(message) = consumer.poll(Duration::from_millis(100)) else { continue };
        let Ok(message) = message else { continue };
        let event_id = message
            .headers()
            .and_then(|headers| {
                use rdkafka::message::Headers;
                headers.iter().find(|header| header.key == "ce_id").and_then(|header| header.value)
            })
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .unwrap_or_default();
        read.push(Read {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            value: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
            event_id,
        });
    }
}
