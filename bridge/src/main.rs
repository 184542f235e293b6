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
    /// Serves ProductService and UserService over gRPC and gRPC-Web, with health, reflection and metrics,
    /// until SIGTERM or SIGINT (then finishes the calls in flight).
    Serve {
        /// gRPC address.
        #[arg(long, env = "BRIDGE_LISTEN", default_value = "0.0.0.0:50051")]
        listen: std::net::SocketAddr,
        /// Prometheus metrics address (`GET /metrics`).
        #[arg(long, env = "BRIDGE_METRICS_LISTEN", default_value = "0.0.0.0:9464")]
        metrics_listen: std::net::SocketAddr,
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
    },
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
    /// Writes a development Ed25519 key pair for access tokens (`jwt_private.pem`, `jwt_public.pem`) into a
    /// directory, unless one is already there. Never use these keys outside a developer machine.
    Keygen {
        /// Where to write the keys.
        #[arg(long, default_value = ".dev/keys")]
        dir: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kit::log::init_with_level(tracing::Level::INFO);
    match Cli::parse().command {
        Command::Serve { listen, metrics_listen, database_url, pool_size, db_timeout_ms, health_interval_ms } => {
            let running = bridge::server::start(bridge::server::Settings {
                listen,
                metrics_listen,
                database_url,
                pool_size,
                db_timeout: std::time::Duration::from_millis(db_timeout_ms),
                health_interval: std::time::Duration::from_millis(health_interval_ms),
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
            let seeded = bridge::seed::demo_catalog(&database_url).await?;
            tracing::info!(categories = seeded.categories, products = seeded.products, "demo catalog loaded");
        }
        Command::Keygen { dir } => {
            if bridge::keys::write_dev_key_pair(&dir)? {
                tracing::info!(dir = %dir.display(), "development key pair written");
            } else {
                tracing::info!(dir = %dir.display(), "development key pair already present");
            }
        }
    }
    Ok(())
}
