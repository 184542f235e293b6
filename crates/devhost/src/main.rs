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
    /// Log level (trace, debug, info, warn, error).
    #[arg(long, default_value = "info", env = "DEVHOST_LOG_LEVEL")]
    log_level: tracing::Level,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    kit::log::init_with_level(cli.log_level);
    let running =
        devhost::start(devhost::Options { manifest: cli.manifest, listen: cli.listen, overrides: HashMap::new() })
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
