//! `grpc.health.v1.Health` that follows database reachability: a probe pings Postgres every interval and
//! marks both services (and the server, `""`) SERVING or NOT_SERVING.

use std::sync::Arc;
use std::time::Duration;

use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use crate::db::Database;
use crate::metrics::Metrics;

/// Probes forever (the caller aborts the task on shutdown).
pub async fn watch(db: Database, reporter: HealthReporter, metrics: Arc<Metrics>, interval: Duration) {
    let mut last = None;
    loop {
        let up = db.ping().await.is_ok();
        if last != Some(up) {
            let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
            for service in bridge_proto::methods::SERVICES.iter().chain(&[""]) {
                reporter.set_service_status(*service, status).await;
            }
            if up {
                tracing::info!("database reachable: SERVING");
            } else {
                tracing::warn!("database unreachable: NOT_SERVING");
            }
            last = Some(up);
        }
        metrics.db_up.set(i64::from(up));
        tokio::time::sleep(interval).await;
    }
}
