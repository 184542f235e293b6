//! The `bridge` command line.

use clap::{Parser, Subcommand};

/// The native side of Py-Commerce.
#[derive(Debug, Parser)]
#[command(name = "bridge", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves ProductService, UserService and OutboxService over gRPC and gRPC-Web, with health, reflection
    /// and metrics, runs the outbox relay and the analytics consumer, until SIGTERM or SIGINT (then finishes
    /// the calls in flight).
    Serve(Box<ServeArgs>),
    /// Applies the pending database migrations (safe to run repeatedly).
    Migrate {
        /// Postgres URL; use `?sslmode=disable` for a local server reached by IP.
        #[arg(
            long,
            env = "SPIN_VARIABLE_DB_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/pycommerce?sslmode=disable"
        )]
        database_url: String,
        /// Create the database first when it does not exist.
        #[arg(long)]
        create_database: bool,
    },
    /// Loads the demo catalog (categories and 200 products); safe to run repeatedly. Run it after `migrate`.
    SeedDemo {
        /// Postgres URL.
        #[arg(
            long,
            env = "SPIN_VARIABLE_DB_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/pycommerce?sslmode=disable"
        )]
        database_url: String,
    },
    /// Gives a registered account the admin role (the first admin; later ones an admin can make through the
    /// API). The user signs in again to get a token with the new role.
    PromoteAdmin {
        /// Postgres URL.
        #[arg(
            long,
            env = "SPIN_VARIABLE_DB_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/pycommerce?sslmode=disable"
        )]
        database_url: String,
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Writes the development Ed25519 key pairs into a directory, each unless already there: access tokens
    /// (`jwt_private.pem`, `jwt_public.pem`) and the bridge's service tokens (`service_private.pem`,
    /// `service_public.pem`); and `bridge_token`, the random token the app presents on every bridge call.
    /// Never use these outside a developer machine.
    Keygen {
        /// Where to write the keys.
        #[arg(long, default_value = ".dev/keys")]
        dir: std::path::PathBuf,
    },
}

/// `bridge serve`.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// gRPC address. Loopback by default: listen on another interface only where a network policy or
    /// firewall keeps the port to the app.
    #[arg(long, env = "BRIDGE_LISTEN", default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
    /// Prometheus metrics address (`GET /metrics`), loopback by default.
    #[arg(long, env = "BRIDGE_METRICS_LISTEN", default_value = "127.0.0.1:9464")]
    metrics_listen: std::net::SocketAddr,
    /// The token every RPC but health must carry (`authorization: Bearer <token>`), at least 32 characters;
    /// the app holds the same value as its secret variable `bridge_token`. Prefer the file or the variable:
    /// a command-line value is visible to every local user.
    #[arg(long, env = "BRIDGE_SERVICE_TOKEN", hide_env_values = true)]
    service_token: Option<String>,
    /// A file holding that token (surrounding whitespace ignored), instead of the token itself.
    #[arg(long, env = "BRIDGE_SERVICE_TOKEN_FILE", conflicts_with = "service_token")]
    service_token_file: Option<std::path::PathBuf>,
    /// Postgres URL (the same variable the components use).
    #[arg(
        long,
        env = "SPIN_VARIABLE_DB_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/pycommerce?sslmode=disable"
    )]
    database_url: String,
    /// Most pooled Postgres connections.
    #[arg(long, env = "BRIDGE_DB_POOL_SIZE", default_value_t = 16)]
    pool_size: usize,
    /// Bound on each database call, in milliseconds.
    #[arg(long, env = "BRIDGE_DB_TIMEOUT_MS", default_value_t = 5000)]
    db_timeout_ms: u64,
    /// Period of the database health probe, in milliseconds.
    #[arg(long, env = "BRIDGE_HEALTH_INTERVAL_MS", default_value_t = 2000)]
    health_interval_ms: u64,
    /// How long a stock reservation is held for its order to be written, in seconds; after that the sweeper
    /// gives the units back (longer than any order request can take, so a slow write is not undercut).
    #[arg(long, env = "BRIDGE_RESERVATION_HOLD_SECS", default_value_t = 120)]
    reservation_hold_secs: u64,
    /// Period of the reservation sweeper, in milliseconds.
    #[arg(long, env = "BRIDGE_SWEEP_INTERVAL_MS", default_value_t = 5000)]
    sweep_interval_ms: u64,
    /// How long a published outbox event is kept before it is deleted, in hours (Kafka holds it); 0 keeps
    /// every event forever. At most 100 years, which Postgres's intervals still hold.
    #[arg(long, env = "BRIDGE_OUTBOX_RETENTION_HOURS", default_value_t = 168,
          value_parser = clap::value_parser!(u64).range(0..=876_000))]
    outbox_retention_hours: u64,
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Run the outbox relay (orders.outbox → Kafka). Several bridges may run it at once.
    #[arg(long, env = "BRIDGE_RELAY_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    relay: bool,
    /// Outbox rows claimed per relay batch.
    #[arg(long, env = "BRIDGE_RELAY_BATCH_SIZE", default_value_t = 500)]
    relay_batch_size: i64,
    /// Longest wait between two looks at the outbox when no notification arrives, in milliseconds.
    #[arg(long, env = "BRIDGE_RELAY_POLL_INTERVAL_MS", default_value_t = 1000)]
    relay_poll_interval_ms: u64,
    /// Shortest time between the starts of two relay passes woken by new events, in milliseconds: under
    /// load, the events of that time are published together (an idle relay publishes at once). 250 ms:
    /// at 50 orders/s passes 50 ms apart cost Postgres, the broker and the bridge 30 ms of CPU a second
    /// more, and more as the broker's store grows (docs/performance.md).
    #[arg(long, env = "BRIDGE_RELAY_PASS_SPACING_MS", default_value_t = 250)]
    relay_pass_spacing_ms: u64,
    #[command(flatten)]
    consumer: ConsumerArgs,
}

/// The broker and how topics are named and created.
#[derive(Debug, clap::Args)]
struct KafkaArgs {
    /// Kafka `bootstrap.servers`.
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    kafka_brokers: String,
    /// Prefix of every topic name (to share a broker between systems).
    #[arg(long, env = "BRIDGE_KAFKA_TOPIC_PREFIX", default_value = "")]
    kafka_topic_prefix: String,
    /// Partitions of the topics the bridge creates.
    #[arg(long, env = "BRIDGE_KAFKA_PARTITIONS", default_value_t = 3)]
    kafka_partitions: i32,
    /// Replication factor of the topics the bridge creates.
    #[arg(long, env = "BRIDGE_KAFKA_REPLICATION", default_value_t = 1)]
    kafka_replication: i32,
    /// Bound on one produce (retries included) and on admin calls, in milliseconds.
    #[arg(long, env = "BRIDGE_KAFKA_TIMEOUT_MS", default_value_t = 10000)]
    kafka_timeout_ms: u64,
}

/// The service token of `bridge serve`; refusing to start without a usable one.
fn read_service_token(
    token: Option<String>,
    file: Option<std::path::PathBuf>,
) -> anyhow::Result<bridge::auth::ServiceToken> {
    let token = match (token, file) {
        (Some(token), _) => token,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?,
        (None, None) => anyhow::bail!(
            "bridge serve needs a service token: set BRIDGE_SERVICE_TOKEN_FILE (or BRIDGE_SERVICE_TOKEN, \
             --service-token-file) to the value of the app's bridge_token variable; `bridge keygen` writes one"
        ),
    };
    bridge::auth::ServiceToken::new(&token).map_err(|error| anyhow::anyhow!("service token: {error}"))
}

impl KafkaArgs {
    fn settings(&self) -> bridge::kafka::KafkaSettings {
        bridge::kafka::KafkaSettings {
            brokers: self.kafka_brokers.clone(),
            topic_prefix: self.kafka_topic_prefix.clone(),
            partitions: self.kafka_partitions,
            replication: self.kafka_replication,
            timeout: std::time::Duration::from_millis(self.kafka_timeout_ms),
        }
    }
}

/// The analytics consumer.
#[derive(Debug, clap::Args)]
struct ConsumerArgs {
    /// Run the analytics consumer (order topics → the analytics component). Needs a service key.
    #[arg(long = "consumer", env = "BRIDGE_CONSUMER_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    enabled: bool,
    /// Consumer group.
    #[arg(long, env = "BRIDGE_CONSUMER_GROUP", default_value = "analytics")]
    consumer_group: String,
    /// Base URL of the Spin app's gateway; events go to `<url>/analytics/events/batch` (one by one to
    /// `<url>/analytics/events` when a batch is not taken).
    #[arg(long, env = "BRIDGE_GATEWAY_URL", default_value = "http://127.0.0.1:3000")]
    gateway_url: String,
    /// The Ed25519 private key (PKCS#8 PEM) the bridge signs its `service` tokens with; its public key must
    /// be in the app's `service_public_keys` variable.
    #[arg(long, env = "BRIDGE_SERVICE_PRIVATE_KEY", hide_env_values = true)]
    service_private_key: Option<String>,
    /// A file holding that key, instead of the key itself.
    #[arg(long, env = "BRIDGE_SERVICE_PRIVATE_KEY_FILE", conflicts_with = "service_private_key")]
    service_private_key_file: Option<std::path::PathBuf>,
    /// `iss` of the app's tokens.
    #[arg(long, env = "SPIN_VARIABLE_JWT_ISSUER", default_value = "pycommerce")]
    jwt_issuer: String,
    /// `aud` of the app's tokens.
    #[arg(long, env = "SPIN_VARIABLE_JWT_AUDIENCE", default_value = "pycommerce-api")]
    jwt_audience: String,
    /// Tries per event before it is dead-lettered (an unreachable app is waited for, not counted).
    #[arg(long, env = "BRIDGE_CONSUMER_MAX_ATTEMPTS", default_value_t = 5)]
    consumer_max_attempts: u32,
    /// `fetch.wait.max.ms` of the consumer.
    #[arg(long, env = "BRIDGE_KAFKA_FETCH_WAIT_MS", default_value_t = 100)]
    kafka_fetch_wait_ms: u64,
    /// Events the consumer posts together at most (1 to 100; 1 posts each on its own).
    #[arg(long, env = "BRIDGE_CONSUMER_BATCH_MAX_EVENTS", default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(1..=100))]
    consumer_batch_max_events: u16,
    /// How long the consumer waits after an event for more to post with it, in milliseconds.
    #[arg(long, env = "BRIDGE_CONSUMER_BATCH_LINGER_MS", default_value_t = 100)]
    consumer_batch_linger_ms: u64,
}

impl ConsumerArgs {
    fn settings(
        &self,
        kafka: bridge::kafka::KafkaSettings,
    ) -> anyhow::Result<Option<bridge::consumer::ConsumerSettings>> {
        if !self.enabled {
            return Ok(None);
        }
        let pem = match (&self.service_private_key, &self.service_private_key_file) {
            (Some(pem), _) => pem.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?,
            (None, None) => anyhow::bail!(
                "the analytics consumer needs BRIDGE_SERVICE_PRIVATE_KEY (or _FILE); set BRIDGE_CONSUMER_ENABLED=false to run without it"
            ),
        };
        Ok(Some(bridge::consumer::ConsumerSettings {
            kafka,
            group_id: self.consumer_group.clone(),
            ingest_url: format!("{}/analytics/events", self.gateway_url.trim_end_matches('/')),
            signer: kit::jwt::Signer::from_pem(&pem).map_err(|error| anyhow::anyhow!("service key: {error}"))?,
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            max_attempts: self.consumer_max_attempts.max(1),
            http_timeout: std::time::Duration::from_secs(10),
            fetch_wait: std::time::Duration::from_millis(self.kafka_fetch_wait_ms),
            batch_max_events: usize::from(self.consumer_batch_max_events),
            batch_linger: std::time::Duration::from_millis(self.consumer_batch_linger_ms),
        }))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::log::init_with_level(tracing::Level::INFO);
    match Cli::parse().command {
        Command::Serve(serve) => {
            let ServeArgs {
                listen,
                metrics_listen,
                service_token,
                service_token_file,
                database_url,
                pool_size,
                db_timeout_ms,
                health_interval_ms,
                reservation_hold_secs,
                sweep_interval_ms,
                outbox_retention_hours,
                kafka,
                relay,
                relay_batch_size,
                relay_poll_interval_ms,
                relay_pass_spacing_ms,
                consumer,
            } = *serve;
            let service_token = read_service_token(service_token, service_token_file)?;
            let consumer = consumer.settings(kafka.settings())?;
            let relay = relay.then(|| bridge::relay::RelaySettings {
                kafka: kafka.settings(),
                database_url: database_url.clone(),
                batch_size: relay_batch_size,
                poll_interval: std::time::Duration::from_millis(relay_poll_interval_ms),
                pass_spacing: std::time::Duration::from_millis(relay_pass_spacing_ms),
            });
            let running = bridge::server::start(bridge::server::Settings {
                listen,
                metrics_listen,
                service_token,
                database_url,
                relay,
                consumer,
                pool_size,
                db_timeout: std::time::Duration::from_millis(db_timeout_ms),
                health_interval: std::time::Duration::from_millis(health_interval_ms),
                reservation_hold: std::time::Duration::from_secs(reservation_hold_secs),
                sweep_interval: std::time::Duration::from_millis(sweep_interval_ms),
                outbox_retention: (outbox_retention_hours > 0)
                    .then(|| std::time::Duration::from_secs(outbox_retention_hours.saturating_mul(3600))),
            })
            .await?;
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down: finishing calls in flight");
            running.stop().await?;
        }
        Command::Migrate { database_url, create_database } => {
            if create_database && bridge::migrate::create_database(&database_url).await? {
                tracing::info!("database created");
            }
            let applied = bridge::migrate::run(&database_url).await?;
            tracing::info!(count = applied.len(), applied = ?applied, "migrations applied");
        }
        Command::SeedDemo { database_url } => {
            let db = kit::db::Db::connect(&database_url, std::time::Duration::from_secs(30))?;
            let seeded = products::demo::load(&db).await?;
            tracing::info!(categories = seeded.categories, products = seeded.products, "demo catalog loaded");
        }
        Command::PromoteAdmin { database_url, email } => {
            let db = kit::db::Db::connect(&database_url, std::time::Duration::from_secs(30))?;
            if !users::store::promote_to_admin(&db, &email).await? {
                anyhow::bail!("no registered account with that email");
            }
            tracing::info!("account promoted to admin; sign in again for an admin token");
        }
        Command::Keygen { dir } => {
            if bridge::keys::write_dev_key_pair(&dir)? {
                tracing::info!(dir = %dir.display(), "development keys written");
            } else {
                tracing::info!(dir = %dir.display(), "development keys already present");
            }
        }
    }
    Ok(())
}
