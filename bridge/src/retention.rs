//! Outbox retention: deletes the outbox rows that were published longer ago than the retention.
//!
//! Kafka holds the events once they are published, and the relay never reads a published row again, but
//! every order and cancellation adds one: without pruning the table grows forever. A pass deletes the
//! oldest published rows in batches (the partial index on `published_at` finds them without reading the
//! table) until none is older than the retention; rows not yet published are never deleted, however old.
//! Several bridges may prune side by side: a batch skips the rows another one has locked.

use std::sync::Arc;
use std::time::Duration;

use bridge_proto::BridgeError;

use crate::db::{unavailable, Database};
use crate::metrics::Metrics;

/// Rows deleted per statement: small enough to hold few locks briefly, and a backlog (the first pass
/// over an outbox that was never pruned) is worked off in consecutive statements.
pub const BATCH: i64 = 1000;

/// How often a bridge prunes: a pass that finds nothing is one index probe.
pub const PERIOD: Duration = Duration::from_secs(60);

/// Prunes every `period`, forever.
pub async fn run(db: Database, metrics: Arc<Metrics>, retention: Duration, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match prune(&db, retention, BATCH).await {
            Ok(0) => {}
            Ok(deleted) => {
                metrics.outbox_pruned.inc_by(deleted);
                tracing::info!(deleted, retention_secs = retention.as_secs(), "published outbox rows pruned");
            }
            Err(error) => tracing::error!(%error, "outbox pruning failed; retrying on the next tick"),
        }
    }
}

/// Deletes every row published more than `retention` ago, `batch` rows per statement; how many. A failure
/// after some batches leaves those deleted (each statement commits on its own).
pub async fn prune(db: &Database, retention: Duration, batch: i64) -> Result<u64, BridgeError> {
    let batch = batch.max(1);
    let mut total = 0;
    loop {
        let deleted = db
            .run(async |client| {
                client
                    .execute(
                        "DELETE FROM orders.outbox WHERE id IN ( \
                             SELECT id FROM orders.outbox \
                             WHERE published_at < now() - make_interval(secs => $1) \
                             ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                        &[&retention.as_secs_f64(), &batch],
                    )
                    .await
                    .map_err(|error| unavailable(&error))
            })
            .await?;
        total += deleted;
        if deleted < u64::try_from(batch).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}
