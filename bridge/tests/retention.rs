//! Outbox retention against the real Postgres (a database of each test's own): rows published longer ago
//! than the retention are deleted, in as many batches as it takes; rows published since, and rows not yet
//! published however old, stay; the periodic task counts what it deleted in its metric.

use std::sync::Arc;
use std::time::Duration;

use bridge::db::Database;
use bridge::metrics::Metrics;
use testkit::TestDb;
use uuid::Uuid;

/// Writes an outbox row created `created_ago` and published `published_ago` (never, for `None`); its id.
async fn row(db: &TestDb, created_ago: &str, published_ago: Option<&str>) -> Uuid {
    let id = Uuid::now_v7();
    db.client
        .execute(
            "INSERT INTO orders.outbox (id, aggregate_id, event_type, payload, created_at, published_at) \
             VALUES ($1, $2, 'com.pycommerce.order.created.v1', '{}', \
                     now() - $3::text::interval, now() - $4::text::interval)",
            &[&id, &Uuid::now_v7(), &created_ago, &published_ago],
        )
        .await
        .unwrap();
    id
}

async fn remaining(db: &TestDb) -> Vec<Uuid> {
    let rows = db.client.query("SELECT id FROM orders.outbox ORDER BY id", &[]).await.unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

/// A pool for `url` whose every call gives up after a second.
fn pool(url: &str) -> Database {
    Database::new(url, 2, Duration::from_secs(1)).unwrap()
}

#[tokio::test]
async fn only_rows_published_before_the_retention_are_deleted_in_batches() {
    let db = TestDb::new("pc_retention").await;
    let mut expired = Vec::new();
    for _ in 0..7 {
        expired.push(row(&db, "9 days", Some("8 days")).await);
    }
    let mut kept = vec![
        row(&db, "2 days", Some("2 days")).await,
        row(&db, "9 days", Some("1 minute")).await,
        // Never published: kept however old, the relay still owes it to Kafka.
        row(&db, "30 days", None).await,
        row(&db, "1 second", None).await,
    ];
    kept.sort();

    let retention = Duration::from_secs(7 * 24 * 3600);
    // Batches of 3: two full ones and a last of one.
    assert_eq!(bridge::retention::prune(&pool(&db.url), retention, 3).await.unwrap(), 7);
    assert_eq!(remaining(&db).await, kept);
    // A second pass finds nothing.
    assert_eq!(bridge::retention::prune(&pool(&db.url), retention, 3).await.unwrap(), 0);
    assert_eq!(remaining(&db).await, kept);
    // A batch size of 0 is taken as 1, not as a pass that never ends.
    assert_eq!(bridge::retention::prune(&pool(&db.url), Duration::from_secs(3600), 0).await.unwrap(), 1);
}

#[tokio::test]
async fn the_periodic_task_counts_what_it_deleted() {
    let db = TestDb::new("pc_retention").await;
    for _ in 0..3 {
        row(&db, "2 hours", Some("2 hours")).await;
    }
    let fresh = row(&db, "1 minute", Some("1 minute")).await;
    let metrics = Arc::new(Metrics::new());
    let task = tokio::spawn(bridge::retention::run(
        pool(&db.url),
        metrics.clone(),
        Duration::from_secs(3600),
        Duration::from_millis(20),
    ));
    for _ in 0..250 {
        if metrics.outbox_pruned.get() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(metrics.outbox_pruned.get(), 3);
    assert_eq!(remaining(&db).await, vec![fresh]);
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_an_error_not_a_hang() {
    let db = pool("postgres://postgres@127.0.0.1:1/none?sslmode=disable");
    let pruned =
        tokio::time::timeout(Duration::from_secs(10), bridge::retention::prune(&db, Duration::from_secs(3600), 10))
            .await
            .expect("bounded by the pool's timeout");
    assert!(pruned.is_err());
}
