//! Outbox relay throughput and latency into a real Kafka-protocol broker (a private Tansu, in memory):
//! - throughput: 20 000 committed outbox rows, published from a cold start, in events/s;
//! - latency: one row committed at a time, commit to published (NOTIFY wake-up), p50/p99 over 200 rows.
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

    let settings =
        RelaySettings { kafka, database_url: db.url.clone(), batch_size: 500, poll_interval: Duration::from_secs(1) };
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
        db.client
            .execute(
                "INSERT INTO orders.outbox (id, aggregate_id, event_type, payload) \
                 VALUES (gen_random_uuid(), gen_random_uuid(), 'com.pycommerce.order.created.v1', '{}')",
                &[],
            )
            .await
            .unwrap();
        while unpublished(&db).await > 0 {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        latencies.push(committed.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "commit -> published: p50 {:.1} ms, p99 {:.1} ms over {SAMPLES} single-row commits",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0
    );
    task.abort();
}
