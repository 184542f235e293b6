//! The outbox relay against the real Postgres and a real Kafka-protocol broker (a Tansu of the test's own,
//! which the test stops and starts): every committed outbox row reaches its topic once, keyed by order id,
//! while the broker is down orders pile up unpublished and reach the broker once it is back, and two relays
//! side by side never publish a row twice. Each test has its own database and broker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bridge::kafka::KafkaSettings;
use bridge::metrics::Metrics;
use bridge::relay::{Relay, RelaySettings};

use testkit::Broker;
use testkit::TestDb;

const PARTITIONS: i32 = 3;

fn settings(db: &TestDb, broker: &Broker) -> RelaySettings {
    let mut kafka = KafkaSettings::new(broker.addr());
    kafka.partitions = PARTITIONS;
    kafka.timeout = Duration::from_secs(3);
    RelaySettings {
        kafka,
        database_url: db.url.clone(),
        batch_size: 50,
        poll_interval: Duration::from_millis(200),
        pass_spacing: Duration::from_millis(50),
    }
}

fn relay(db: &TestDb, broker: &Broker) -> Arc<Relay> {
    relay_with(db, settings(db, broker))
}

fn relay_with(db: &TestDb, settings: RelaySettings) -> Arc<Relay> {
    let pool = bridge::db::Database::new(&db.url, 4, Duration::from_secs(5)).unwrap();
    Arc::new(Relay::new(settings, pool, Arc::new(Metrics::new())))
}

/// Writes `count` order-created outbox rows as the orders component does; returns (event id, order id).
async fn write_events(db: &TestDb, count: usize) -> Vec<(String, String)> {
    let mut written = Vec::new();
    for _ in 0..count {
        let (event_id, order_id) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let payload = serde_json::json!({
            "specversion": "1.0", "id": event_id.to_string(), "source": "/pycommerce/orders",
            "type": "com.pycommerce.order.created.v1", "subject": order_id.to_string(),
            "time": "2026-11-29T10:00:00.000Z", "datacontenttype": "application/json",
            "data": { "order_id": order_id.to_string(), "user_id": uuid::Uuid::new_v4().to_string(), "items": [], "total_cents": 0,
                      "currency": "EUR", "created_at": "2026-11-29T10:00:00.000Z" }
        });
        db.client
            .execute(
                "INSERT INTO orders.outbox (id, aggregate_id, event_type, payload) \
                 VALUES ($1, $2, 'com.pycommerce.order.created.v1', $3)",
                &[&event_id, &order_id, &payload],
            )
            .await
            .unwrap();
        written.push((event_id.to_string(), order_id.to_string()));
    }
    written
}

async fn unpublished(db: &TestDb) -> i64 {
    db.client.query_one("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL", &[]).await.unwrap().get(0)
}

/// Waits (up to 60 s: a relay that found the broker down retries on a backoff of up to 5 s plus its
/// timeouts) until the outbox is empty.
async fn wait_until_published(db: &TestDb) {
    for _ in 0..1200 {
        if unpublished(db).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("outbox still has {} unpublished rows", unpublished(db).await);
}

/// Reads the order-created topic; each event id with how often it arrived.
async fn arrived(broker: &Broker, expected: usize) -> (Vec<testkit::Record>, HashMap<String, usize>) {
    let brokers = broker.addr();
    let read = tokio::task::spawn_blocking(move || {
        testkit::read(&brokers, "order.created", PARTITIONS, expected, Duration::from_millis(500))
    })
    .await
    .unwrap();
    let mut counts = HashMap::new();
    for message in &read {
        *counts.entry(message.header("ce_id").unwrap_or_default().to_owned()).or_insert(0) += 1;
    }
    (read, counts)
}

/// Every event of `during` is on the broker exactly once, and none of `before` (published earlier) again.
async fn assert_arrived_once(broker: &Broker, during: &[(String, String)], before: &[(String, String)]) {
    let (read, counts) = arrived(broker, during.len()).await;
    assert_eq!(read.len(), during.len(), "{read:?}");
    for (event_id, _) in during {
        assert_eq!(counts.get(event_id), Some(&1), "event {event_id} once");
    }
    for (event_id, _) in before {
        assert!(!counts.contains_key(event_id), "a published event is not sent again");
    }
}

#[tokio::test]
async fn committed_events_reach_their_topic_once_keyed_by_order_and_are_marked_published() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let pool = bridge::db::Database::new(&db.url, 4, Duration::from_secs(5)).unwrap();
    let metrics = Arc::new(Metrics::new());
    let relay = Arc::new(Relay::new(settings(&db, &broker), pool.clone(), metrics.clone()));
    let task = tokio::spawn(relay.clone().run());

    let written = write_events(&db, 20).await;
    wait_until_published(&db).await;
    let (read, counts) = arrived(&broker, written.len()).await;
    let text = metrics.render(&pool);
    assert!(text.contains("bridge_events_produced_total{topic=\"order.created\"} 20"), "{text}");

    assert_eq!(read.len(), written.len(), "every event once, no more");
    for (event_id, order_id) in &written {
        assert_eq!(counts.get(event_id), Some(&1), "event {event_id}");
        let message = read.iter().find(|message| message.header("ce_id") == Some(event_id.as_str())).unwrap();
        assert_eq!(&message.key, order_id, "keyed by order id");
        let value: serde_json::Value = serde_json::from_str(&message.value).unwrap();
        assert_eq!(value["id"], event_id.as_str(), "the value is the stored CloudEvent");
        assert_eq!(value["type"], "com.pycommerce.order.created.v1");
    }
    let attempts: i64 = db
        .client
        .query_one("SELECT sum(attempts)::int8 FROM orders.outbox WHERE published_at IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 20, "one attempt each");
    task.abort();
}

#[tokio::test]
async fn events_written_while_the_broker_is_down_arrive_once_after_it_is_back() {
    let db = TestDb::new("pc_bridge").await;
    let mut broker = Broker::start().await;
    let pool = bridge::db::Database::new(&db.url, 4, Duration::from_secs(5)).unwrap();
    let metrics = Arc::new(Metrics::new());
    let relay = Arc::new(Relay::new(settings(&db, &broker), pool.clone(), metrics.clone()));
    let task = tokio::spawn(relay.clone().run());

    let before = write_events(&db, 5).await;
    wait_until_published(&db).await;

    broker.stop().await;
    let during = write_events(&db, 10).await;
    // The relay keeps trying (it finds the broker, then the topics, missing) and publishes nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(unpublished(&db).await, 10, "nothing is marked published without an acknowledgement");
    let text = metrics.render(&pool);
    assert!(text.contains("bridge_outbox_pending 10\n"), "the backlog shows: {text}");

    // The memory broker comes back empty: the relay recreates the topics and publishes what is pending.
    broker.resume().await;
    wait_until_published(&db).await;
    assert_arrived_once(&broker, &during, &before).await;
    // The gauges are refreshed at most once a second, so they follow within a little more than that.
    let drained = async {
        while !metrics.render(&pool).contains("bridge_outbox_pending 0\n") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), drained).await.expect("the pending gauge drops to 0");
    task.abort();
}

#[tokio::test]
async fn two_relays_side_by_side_publish_each_row_once() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let written = write_events(&db, 300).await;
    let (first, second) = (relay(&db, &broker), relay(&db, &broker));
    let tasks = [tokio::spawn(first.clone().run()), tokio::spawn(second.clone().run())];

    wait_until_published(&db).await;
    let (read, counts) = arrived(&broker, written.len()).await;
    assert_eq!(read.len(), written.len());
    assert!(counts.values().all(|&count| count == 1), "no row published twice");
    for task in tasks {
        task.abort();
    }
}

#[tokio::test]
async fn the_outbox_trigger_wakes_the_relay_before_its_poll_interval() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let mut slow_poll = settings(&db, &broker);
    slow_poll.poll_interval = Duration::from_secs(3600);
    let task = tokio::spawn(relay_with(&db, slow_poll).run());
    // Let it make its first (empty) pass and start waiting.
    tokio::time::sleep(Duration::from_millis(500)).await;

    write_events(&db, 1).await;
    wait_until_published(&db).await; // within 60 s, long before the hour-long poll
    task.abort();
}

/// The blocks the relay's claim reads (its plan with `EXPLAIN (ANALYZE, BUFFERS)`, run in a transaction with
/// the relay's settings and rolled back), and the plan.
async fn claim_blocks(db: &mut TestDb) -> (i64, String) {
    let transaction = db.client.transaction().await.unwrap();
    transaction.batch_execute(bridge::relay::CLAIM_SETTINGS).await.unwrap();
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}", bridge::relay::CLAIM.replace("$1", "50"));
    let plan = transaction
        .simple_query(&explain)
        .await
        .unwrap()
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let top = &json[0]["Plan"];
    let blocks = top["Shared Hit Blocks"].as_i64().unwrap() + top["Shared Read Blocks"].as_i64().unwrap();
    (blocks, plan)
}

#[tokio::test]
async fn a_pass_does_not_read_the_rows_published_since_the_last_vacuum_again() {
    let mut db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let task = tokio::spawn(relay(&db, &broker).run());
    // Each published row leaves an entry in the partial index of unpublished rows until a vacuum (none runs
    // here: the test's database is new and the test is shorter than autovacuum's naptime).
    write_events(&db, 400).await;
    wait_until_published(&db).await;
    task.abort();

    let (_, plan) = claim_blocks(&mut db).await;
    assert!(plan.contains("\"Index Scan\"") && plan.contains("outbox_unpublished_order_idx"), "{plan}");
    assert!(!plan.contains("Bitmap") && !plan.contains("\"Sort\""), "in the index's order: {plan}");
    // The index scans so far marked the entries of published rows dead: this claim reads the index's pages,
    // not the 400 rows (dozens of heap pages), which a bitmap scan reads every time.
    let (blocks, plan) = claim_blocks(&mut db).await;
    assert!(blocks < 20, "{blocks} blocks read: {plan}");
}

/// How many passes published `events`: the rows a pass marks share its transaction's `now()`.
async fn passes_that_published(db: &TestDb, events: &[(String, String)]) -> i64 {
    let ids: Vec<uuid::Uuid> = events.iter().map(|(id, _)| uuid::Uuid::parse_str(id).unwrap()).collect();
    db.client
        .query_one("SELECT count(DISTINCT published_at) FROM orders.outbox WHERE id = ANY($1)", &[&ids])
        .await
        .unwrap()
        .get(0)
}

/// A relay over `db` with `pass_spacing` and `batch_size`.
fn spaced_relay(db: &TestDb, broker: &Broker, pass_spacing: Duration, batch_size: i64) -> Arc<Relay> {
    // Woken by notifications only, so that no poll splits a batch.
    relay_with(
        db,
        RelaySettings { pass_spacing, batch_size, poll_interval: Duration::from_secs(3600), ..settings(db, broker) },
    )
}

#[tokio::test]
async fn events_committed_one_by_one_soon_after_a_pass_leave_together_in_the_next() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let relay = spaced_relay(&db, &broker, Duration::from_secs(3), 50);
    let task = tokio::spawn(relay.run());
    // Its last pass found nothing: the next event gets a pass of its own at once.
    let first = write_events(&db, 1).await;
    wait_until_published(&db).await;

    // A trickle, one commit (and notification) every 100 ms, well within the spacing of that pass: without
    // the spacing each would have had a pass of its own; they wait for the next one and leave together.
    let mut trickle = Vec::new();
    for _ in 0..4 {
        trickle.extend(write_events(&db, 1).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_until_published(&db).await;
    assert_eq!(passes_that_published(&db, &first).await, 1);
    assert_eq!(passes_that_published(&db, &trickle).await, 1, "the trickle left in one batch");
    assert_arrived_once(&broker, &[first, trickle].concat(), &[]).await;
    task.abort();
}

#[tokio::test]
async fn a_backlog_is_drained_batch_after_batch_without_waiting_for_the_spacing() {
    let db = TestDb::new("pc_bridge").await;
    let broker = Broker::start().await;
    let backlog = write_events(&db, 35).await;
    // Were full batches spaced too, the second would wait an hour (and wait_until_published gives up).
    let task = tokio::spawn(spaced_relay(&db, &broker, Duration::from_secs(3600), 10).run());
    wait_until_published(&db).await;
    assert_eq!(passes_that_published(&db, &backlog).await, 4, "10 rows a pass");
    assert_arrived_once(&broker, &backlog, &[]).await;
    task.abort();
}

#[tokio::test]
async fn events_queued_while_the_broker_restarts_empty_reach_the_new_one() {
    let db = TestDb::new("pc_bridge").await;
    let mut broker = Broker::start().await;
    let relay = relay(&db, &broker);
    let task = tokio::spawn(relay.clone().run());
    let before = write_events(&db, 5).await;
    wait_until_published(&db).await;

    // Back well within the produce timeout, as a broker without topics (a memory one restarted) on the same
    // address: anything the relay had queued for the old broker would go to it and be lost.
    broker.stop().await;
    let during = write_events(&db, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.resume().await;
    wait_until_published(&db).await;
    assert_arrived_once(&broker, &during, &before).await;
    task.abort();
}
