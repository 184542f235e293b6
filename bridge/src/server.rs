//! The gRPC server: ProductService, UserService, OutboxService, health and reflection on one port, for HTTP/2 gRPC and
//! for gRPC-Web over HTTP/1.1 (tonic-web), plus the metrics port. Every call but health needs the service
//! token ([`crate::auth`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bridge_proto::catalog::v1::product_service_server::ProductServiceServer;
use bridge_proto::events::v1::outbox_service_server::OutboxServiceServer;
use bridge_proto::users::v1::user_service_server::UserServiceServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;

use crate::auth::{AuthLayer, ServiceToken};
use crate::catalog::Catalog;
use crate::consumer::{AnalyticsConsumer, ConsumerSettings};
use crate::db::Database;
use crate::metrics::{Metrics, MetricsLayer};
use crate::outbox::Outbox;
use crate::relay::{Relay, RelaySettings};
use crate::users::Users;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC address (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Metrics address.
    pub metrics_listen: SocketAddr,
    /// The token every call but health must carry (`authorization: Bearer <token>`).
    pub service_token: ServiceToken,
    /// Postgres URL.
    pub database_url: String,
    /// Most pooled connections.
    pub pool_size: usize,
    /// Bound on each database call.
    pub db_timeout: Duration,
    /// Period of the database health probe.
    pub health_interval: Duration,
    /// How long a stock reservation is held for its order to be written before the sweeper releases it.
    pub reservation_hold: Duration,
    /// Period of the reservation sweeper.
    pub sweep_interval: Duration,
    /// How long published outbox rows are kept ([`crate::retention`]); `None` keeps them forever.
    pub outbox_retention: Option<Duration>,
    /// The outbox relay, when this bridge runs one.
    pub relay: Option<RelaySettings>,
    /// The analytics consumer, when this bridge runs one.
    pub consumer: Option<ConsumerSettings>,
}

/// A running server.
pub struct Running {
    /// The gRPC address.
    pub grpc_addr: SocketAddr,
    /// The metrics address.
    pub metrics_addr: SocketAddr,
    /// The outbox relay, when it runs.
    pub relay: Option<Arc<Relay>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting calls, lets the ones in flight finish, and returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        for task in &self.background {
            task.abort();
        }
        (&mut self.server).await??;
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.server.abort();
        for task in &self.background {
            task.abort();
        }
    }
}

/// Binds both ports and starts serving.
pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    let db = Database::new(&settings.database_url, settings.pool_size, settings.db_timeout)?;
    // The components' store code runs on kit's Db port (the same SQL as on Spin).
    let stores = kit::db::Db::connect(&settings.database_url, settings.db_timeout)?;
    // Stock holds and their releases commit without waiting for the WAL flush: the order write that
    // commits a hold is an ordinary commit and makes the hold durable with it, a hold lost in a crash
    // fails its order's write (nothing was promised yet), and a lost release is swept again. That takes
    // one disk flush off every order's path (docs/orders.md).
    let holds = kit::db::Db::connect_async_commit(&settings.database_url, settings.db_timeout)?;
    let metrics = Arc::new(Metrics::new());

    let (reporter, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(bridge_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(bridge_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener = TcpListener::bind(settings.listen).await?;
    let grpc_addr = listener.local_addr()?;
    let metrics_listener = crate::metrics::bind(settings.metrics_listen).await?;
    let metrics_addr = metrics_listener.local_addr()?;

    let relay = settings.relay.map(|relay_settings| Arc::new(Relay::new(relay_settings, db.clone(), metrics.clone())));
    let router = tonic::transport::Server::builder()
        .accept_http1(true)
        .layer(MetricsLayer(metrics.clone()))
        .layer(tonic_web::GrpcWebLayer::new())
        // Inside tonic-web: gRPC-Web calls are checked as gRPC and refused in their own framing; inside the
        // metrics layer, so refusals are counted and logged with their code (16).
        .layer(AuthLayer(settings.service_token))
        .add_service(ProductServiceServer::new(Catalog::new(holds.clone(), settings.reservation_hold)))
        .add_service(UserServiceServer::new(Users::new(stores.clone())))
        .add_service(OutboxServiceServer::new(Outbox::new(relay.clone())))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
        let _ = stop.await;
    }));
    let mut background = vec![
        tokio::spawn(crate::health::watch(db.clone(), reporter, metrics.clone(), settings.health_interval)),
        tokio::spawn(crate::metrics::serve(metrics_listener, metrics.clone(), db.clone())),
        tokio::spawn(crate::sweeper::run(holds, settings.sweep_interval)),
    ];
    if let Some(retention) = settings.outbox_retention {
        background.push(tokio::spawn(crate::retention::run(
            db.clone(),
            metrics.clone(),
            retention,
            crate::retention::PERIOD,
        )));
    }
    if let Some(relay) = &relay {
        background.push(tokio::spawn(relay.clone().run()));
    }
    let consumer = settings.consumer.is_some();
    if let Some(consumer_settings) = settings.consumer {
        let consumer = Arc::new(AnalyticsConsumer::new(consumer_settings, metrics.clone())?);
        background.push(tokio::spawn(consumer.run()));
    }
    tracing::info!(
        %grpc_addr,
        %metrics_addr,
        relay = relay.is_some(),
        consumer,
        "bridge serving gRPC, gRPC-Web, health and reflection"
    );
    Ok(Running { grpc_addr, metrics_addr, relay, shutdown: Some(shutdown), server, background })
}
