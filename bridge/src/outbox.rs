//! `OutboxService`: lets a component ask for an immediate relay pass after it commits an event.

use std::sync::Arc;

use bridge_proto::events::v1::outbox_service_server::OutboxService;
use bridge_proto::events::v1::{PublishPendingRequest, PublishPendingResponse};
use tonic::{Request, Response, Status};

use crate::db::uuid_arg;
use crate::relay::Relay;

/// The service over this bridge's relay, if it runs one.
pub struct Outbox {
    relay: Option<Arc<Relay>>,
}

impl Outbox {
    /// The service; without a relay it only answers `relay_running: false`.
    pub fn new(relay: Option<Arc<Relay>>) -> Self {
        Self { relay }
    }
}

#[tonic::async_trait]
impl OutboxService for Outbox {
    async fn publish_pending(
        &self,
        request: Request<PublishPendingRequest>,
    ) -> Result<Response<PublishPendingResponse>, Status> {
        let aggregate_id = uuid_arg(&request.get_ref().aggregate_id, "aggregate_id")?;
        if let Some(relay) = &self.relay {
            tracing::debug!(%aggregate_id, "publish requested");
            relay.wake();
        }
        Ok(Response::new(PublishPendingResponse { relay_running: self.relay.is_some() }))
    }
}
