//! The reservation sweeper: gives back the units of held reservations whose order never appeared (the order
//! write failed and its release failed too, or the component was killed between reserve and write) once
//! their hold has expired. An order written meanwhile commits its reservation in the same statement as the
//! order, so each reservation ends committed or released, never both.

use std::time::Duration;

use kit::db::Db;

/// Reservations released per statement; a backlog is worked off in consecutive statements.
const BATCH: i64 = 200;

/// Sweeps every `period`, forever.
pub async fn run(db: Db, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        sweep(&db).await;
    }
}

/// Releases every expired hold now; how many.
pub async fn sweep(db: &Db) -> usize {
    let mut total = 0;
    loop {
        match reservations::release_expired(db, BATCH).await {
            Ok(released) => {
                for order_id in &released {
                    tracing::warn!(%order_id, "held stock released: its order was not written before the hold expired");
                }
                total += released.len();
                if released.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                    return total;
                }
            }
            Err(error) => {
                tracing::error!(%error, "reservation sweep failed; retrying on the next tick");
                return total;
            }
        }
    }
}
