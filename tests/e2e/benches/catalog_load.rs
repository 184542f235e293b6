//! Load benchmark (not a test): `GET /products` through the gateway on devhost, with the catalog cache off
//! (`cache_ttl_secs=0`, every request reads Postgres) and on (after one warm-up pass every request is a hit).
//!
//! Each run starts its own devhost on a fresh database seeded with 10 000 products and replays the same
//! mix of listing queries from concurrent clients, then prints p50/p99 latency and requests per second.
//!
//! ```sh
//! cargo bench -p e2e --bench catalog_load            # defaults: 4000 requests, 8 clients
//! CATALOG_BENCH_REQUESTS=10000 CATALOG_BENCH_CLIENTS=16 cargo bench -p e2e --bench catalog_load
//! ```
//! Needs Postgres and Redis as the tests do (see README).

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::App;

/// The listing queries replayed, a mix of what a shop front asks for.
const QUERIES: &[&str] = &[
    "/products",
    "/products?sort=price_asc&limit=50",
    "/products?name=widget%201&sort=name_asc",
    "/products?category=home&include_subcategories=true&sort=price_desc",
    "/products?min_price=1000&max_price=2000&in_stock=true",
    "/products?category=garden&sort=newest&limit=100",
    "/products?name=gadget&in_stock=true&sort=price_asc&limit=10",
    "/products?category=kitchen&max_price=2500",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

async fn seed(app: &App) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(app.database_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    e2e::seed_catalog(&client).await?;
    client.batch_execute("ANALYZE catalog.products").await?;
    Ok(())
}

/// Latencies of `total` requests from `clients` concurrent clients, and the wall time they took.
async fn load(app: &App, total: usize, clients: usize) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let base = Arc::new(app.base_url.clone());
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..clients {
        let base = Arc::clone(&base);
        let client = app.client.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = worker;
            while n < total {
                let url = format!("{base}{}", QUERIES[n % QUERIES.len()]);
                let sent = Instant::now();
                let response = client.get(&url).send().await?;
                let status = response.status();
                response.bytes().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status == 200, "{url}: {status}");
                n += clients;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    Ok((latencies, started.elapsed()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn run(label: &str, overrides: &[(&str, &str)], total: usize, clients: usize) -> anyhow::Result<()> {
    anyhow::ensure!(!e2e::is_external(), "unset PYCOMMERCE_BASE_URL: the benchmark starts its own systems");
    let app = e2e::spawn_local_app_with(overrides).await;
    seed(&app).await?;
    // Warm-up: one pass of every query (fills the cache when it is on; warms connections either way).
    load(&app, QUERIES.len(), 1).await?;
    let (mut latencies, wall) = load(&app, total, clients).await?;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<9} requests={total} clients={clients} p50={:.2}ms p99={:.2}ms max={:.2}ms throughput={:.0} req/s",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
        total as f64 / wall.as_secs_f64(),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let total = env_usize("CATALOG_BENCH_REQUESTS", 4000);
    let clients = env_usize("CATALOG_BENCH_CLIENTS", 8);
    run("uncached", &[("cache_ttl_secs", "0")], total, clients).await?;
    run("cached", &[], total, clients).await?;
    Ok(())
}
