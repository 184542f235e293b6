//! `devhost`: serve every component natively on one port.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Runs every Py-Commerce component natively, routed like spin.toml.
#[derive(Debug, Parser)]
#[command(name = "devhost", version)]
struct Cli {
    /// The Spin manifest to serve.
    #[arg(long, default_value = "spin.toml", env = "DEVHOST_MANIFEST")]
    manifest: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "DEVHOST_LISTEN")]
    listen: SocketAddr,
    /// Spin's runtime configuration file: devhost reads its key-value stores and static variables.
    #[arg(long, env = "DEVHOST_RUNTIME_CONFIG_FILE")]
    runtime_config_file: Option<PathBuf>,
    /// Log level (trace, debug, info, warn, error).
    #[arg(long, default_value = "info", env = "DEVHOST_LOG_LEVEL")]
    log_level: tracing::Level,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    kit::log::init_with_level(cli.log_level);
    let runtime_config = match &cli.runtime_config_file {
        Some(path) => devhost::RuntimeConfig::load(path)?,
        None => devhost::RuntimeConfig::default(),
    };
    let running = devhost::start(devhost::Options {
        manifest: cli.manifest,
        listen: cli.listen,
        overrides: HashMap::new(),
        runtime_config,
    })
    .await?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
