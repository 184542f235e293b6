//! Outbox relay throughput and latency into a real Kafka-protocol broker (a private Tansu, in memory):
//! - throughput: 20 000 committed outbox rows, published from a cold start, in events/s;
//! - latency: one row committed at a time, commit to published (NOTIFY wake-up), p50/p99 over 200 rows;
//! - a steady stream, as orders commit them, at 50 and 100 events/s for 4 s each, with and without the pass
//!   spacing: passes per event (rows one pass marks share its `now()`) and p50/p99 of commit to the start
//!   of the pass that published the event (`published_at` is that pass's `now()`).
//!
//! `cargo bench -p bridge --bench relay` (release build; needs Postgres and `tansu`, like the tests).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge::kafka::KafkaSettings;
use bridge::metrics::Metrics;
use bridge::relay::{Relay, RelaySettings};

use testkit::Broker;
use testkit::TestDb;

const ROWS: i64 = 20_000;
const SAMPLES: usize = 200;

async fn unpublished(db: &TestDb) -> i64 {
    db.client.query_one("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL", &[]).await.unwrap().get(0)
}

#[tokio::main]
async fn main() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let mut kafka = KafkaSettings::new(broker.addr());
    kafka.timeout = Duration::from_secs(10);
    kafka.ensure_topics().await.unwrap();
    db.client
        .execute(
            "INSERT INTO orders.outbox (id, aggregate_id, event_type, payload) \
             SELECT gen_random_uuid(), gen_random_uuid(), 'com.pycommerce.order.created.v1', \
                    jsonb_build_object('specversion', '1.0', 'id', i, 'type', 'com.pycommerce.order.created.v1', \
                                       'data', jsonb_build_object('items', jsonb_build_array(jsonb_build_object( \
                                       'product_id', gen_random_uuid(), 'quantity', 1, 'unit_price_cents', 1250)))) \
             FROM generate_series(1, $1::int8) AS i",
            &[&ROWS],
        )
        .await
        .unwrap();

    let settings = RelaySettings {
        kafka: kafka.clone(),
        database_url: db.url.clone(),
        batch_size: 500,
        poll_interval: Duration::from_secs(1),
        pass_spacing: Duration::ZERO,
    };
    let pool = bridge::db::Database::new(&db.url, 4, Duration::from_secs(10)).unwrap();
    let relay = Arc::new(Relay::new(settings, pool, Arc::new(Metrics::new())));
    let started = Instant::now();
    let task = tokio::spawn(relay.clone().run());
    while unpublished(&db).await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "relay throughput: {ROWS} events in {:.2} s = {:.0} events/s (batch 500, broker {})",
        elapsed.as_secs_f64(),
        ROWS as f64 / elapsed.as_secs_f64(),
        broker.addr()
    );

    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let committed = Instant::now();
        insert_event(&db).await;
        while unpublished(&db).await > 0 {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        latencies.push(committed.elapsed());
    }
    let (p50, p99) = percentiles(latencies);
    println!("commit -> published: p50 {p50:.1} ms, p99 {p99:.1} ms over {SAMPLES} single-row commits");
    task.abort();

    for spacing_ms in [0, 50] {
        let settings = RelaySettings {
            kafka: kafka.clone(),
            database_url: db.url.clone(),
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
            pass_spacing: Duration::from_millis(spacing_ms),
        };
        let pool = bridge::db::Database::new(&db.url, 4, Duration::from_secs(10)).unwrap();
        let task = tokio::spawn(Arc::new(Relay::new(settings, pool, Arc::new(Metrics::new()))).run());
        for rate in [50u32, 100] {
            stream(&db, rate, spacing_ms).await;
        }
        task.abort();
    }
}

async fn insert_event(db: &TestDb) -> uuid::Uuid {
    db.client
        .query_one(
            "INSERT INTO orders.outbox (id, aggregate_id, event_type, payload) \
             VALUES (gen_random_uuid(), gen_random_uuid(), 'com.pycommerce.order.created.v1', '{}') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Commits `rate` events a second, evenly spaced, for 4 s; prints passes per event and the wait from each
/// row's `created_at` (its commit) to its `published_at` (the start of the pass that published it).
async fn stream(db: &TestDb, rate: u32, spacing_ms: u64) {
    let period = Duration::from_secs(1) / rate;
    let mut ids = Vec::new();
    let mut tick = tokio::time::interval(period);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        tick.tick().await;
        ids.push(insert_event(db).await);
    }
    while unpublished(db).await > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let row = db
        .client
        .query_one(
            "SELECT count(DISTINCT published_at), \
               array_agg(extract(epoch FROM published_at - created_at)::float8) FROM orders.outbox WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .unwrap();
    let passes: i64 = row.get(0);
    let latencies: Vec<f64> = row.get(1);
    let (p50, p99) = percentiles(latencies.into_iter().map(Duration::from_secs_f64).collect());
    println!(
        "stream {rate}/s, pass spacing {spacing_ms} ms: {} events in {passes} passes ({:.2} passes/event), \
         commit -> its pass p50 {p50:.1} ms, p99 {p99:.1} ms",
        ids.len(),
        passes as f64 / ids.len() as f64
    );
}

/// p50 and p99 of `samples`, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}
