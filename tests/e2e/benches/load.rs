//! Load benchmark (not a test): requests per second, p50 and p99 of the public API under concurrent load,
//! against devhost (started here, on its own database) or any running system (`PYCOMMERCE_BASE_URL`, e.g.
//! `spin up`). Figures on Spin, and how they were taken, are in `docs/performance.md`.
//!
//! Scenarios, each for `LOAD_SECS` (default 10) seconds:
//! - `GET /health/live` from `LOAD_CLIENTS` (default 10) closed-loop clients, as `wrk -c10` would;
//! - `GET /products?limit=20` (a cache hit after one warm-up request) from as many clients, idle and while
//!   orders are placed at `LOAD_ORDER_RATE` (default 50) per second, in `LOAD_ROUNDS` (default 3) alternating
//!   pairs, with the cache hit ratio and the loaded rate's share of the idle one, per round and in all.
//!   Alternating cancels the drift of a shared machine, which moves a single 10 s figure by several points.
//!   Each round's orders come from customers registered for it: the units cap reads a customer's
//!   reservations of the last 24 h, so a few customers placing thousands of orders would make each order
//!   dearer than the last, which a shop's many customers do not;
//! - `POST /auth/login` from one client (Argon2id dominates);
//! - `POST /orders` offered at `LOAD_ORDERS_PER_SEC` (default 100) per second, evenly spaced, by 4 clients,
//!   open loop: a client whose answer is late skips its missed slots, so the achieved rate shows when the
//!   system cannot keep up.
//!
//! ```sh
//! cargo bench -p e2e --bench load                                            # devhost
//! PYCOMMERCE_BASE_URL=http://127.0.0.1:3000 cargo bench -p e2e --bench load   # a running system
//! ```
//! A running system must let one customer place that many orders: start it with
//! `SPIN_VARIABLE_ORDER_RATE_LIMIT=1000000 SPIN_VARIABLE_ORDER_MAX_UNITS_PER_PRODUCT=1000000` (devhost here
//! gets those settings itself). Registering its customers (4 a round, 4 for `POST /orders` and one to log in)
//! needs `registrations_per_address` ≥ 4 × `LOAD_ROUNDS` + 5 left.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{spawn_app, spawn_local_app_with, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "benchmark password 1";
const LISTING: &str = "/products?limit=20";
/// Clients placing orders (each its own customer, so per-customer limits spread).
const ORDER_CLIENTS: usize = 4;
/// Pause after a loaded round, longer than the relay's pass spacing and the consumer's batching.
const SETTLE: Duration = Duration::from_secs(1);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// What one scenario measured.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    failures: u64,
    hits: u64,
    elapsed: Duration,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.failures += other.failures;
        self.hits += other.hits;
    }

    /// Adds `other` and its duration: for scenarios run in several rounds.
    fn merge_timed(&mut self, other: Samples) {
        self.elapsed += other.elapsed;
        self.merge(other);
    }

    /// Answered requests per second.
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Cache hits among the answered requests, in percent.
    fn hit_ratio(&self) -> f64 {
        100.0 * self.hits as f64 / self.latencies.len().max(1) as f64
    }

    fn print(mut self, name: &str, extra: &str) {
        self.latencies.sort();
        let n = self.latencies.len();
        let at = |p: f64| self.latencies.get(((n as f64 * p) as usize).min(n.saturating_sub(1))).copied();
        let ms = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0));
        println!(
            "{name:<44} {:>8.0} rps  p50 {:>9}  p99 {:>9}  n={n:<6} failed={:<4} {extra}",
            self.rate(),
            ms(at(0.50)),
            ms(at(0.99)),
            self.failures
        );
    }
}

/// `clients` closed-loop clients sending `request` until `duration` has passed.
async fn closed_loop<F>(app: &LoadClient, clients: usize, duration: Duration, request: F) -> Samples
where
    F: Fn(&LoadClient) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let request = Arc::clone(&request);
        let app = app.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            while started.elapsed() < duration {
                let sent = Instant::now();
                match request(&app).send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let hit = response.headers().get("x-cache").is_some_and(|v| v == "hit");
                        let _ = response.bytes().await;
                        samples.latencies.push(sent.elapsed());
                        samples.failures += u64::from(!ok);
                        samples.hits += u64::from(hit);
                    }
                    Err(_) => samples.failures += 1,
                }
            }
            samples
        }));
    }
    collect(workers, started).await
}

async fn collect(workers: Vec<tokio::task::JoinHandle<Samples>>, started: Instant) -> Samples {
    let mut all = Samples::default();
    for worker in workers {
        if let Ok(samples) = worker.await {
            all.merge(samples);
        }
    }
    all.elapsed = started.elapsed();
    all
}

/// Orders offered at `rate` per second in all by [`ORDER_CLIENTS`] open-loop clients until `stop`.
async fn place_orders(
    app: &LoadClient,
    customers: &[String],
    order: &Value,
    rate: u64,
    stop: Arc<AtomicBool>,
) -> Samples {
    let started = Instant::now();
    let period = Duration::from_secs_f64(ORDER_CLIENTS as f64 / rate.max(1) as f64);
    let mut workers = Vec::new();
    for (n, token) in customers.iter().take(ORDER_CLIENTS).enumerate() {
        let token = token.clone();
        let app = app.clone();
        let order = order.clone();
        let stop = Arc::clone(&stop);
        // Staggered, so the offered load is evenly spaced rather than bursts of one order per client.
        let start = tokio::time::Instant::now() + period * n as u32 / ORDER_CLIENTS as u32;
        workers.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            let mut ticks = tokio::time::interval_at(start, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while !stop.load(Ordering::Relaxed) {
                ticks.tick().await;
                let sent = Instant::now();
                let response = app.request(Method::POST, "/orders").bearer_auth(&token).json(&order).send().await;
                match response {
                    Ok(response) => {
                        let created = response.status() == 201;
                        let _ = response.bytes().await;
                        samples.latencies.push(sent.elapsed());
                        samples.failures += u64::from(!created);
                    }
                    Err(_) => samples.failures += 1,
                }
            }
            samples
        }));
    }
    collect(workers, started).await
}

/// [`ORDER_CLIENTS`] newly registered customers' access tokens.
async fn register_customers(app: &App) -> Vec<String> {
    let mut tokens = Vec::with_capacity(ORDER_CLIENTS);
    for _ in 0..ORDER_CLIENTS {
        let registered = app.register(&app.unique_email(), PASSWORD).await;
        tokens.push(registered["access_token"].as_str().unwrap_or_default().to_owned());
    }
    tokens
}

/// A product with plenty of stock, for the order scenarios; its id.
async fn bench_product(app: &App) -> String {
    let sku = format!("LOAD-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let product =
        json!({ "sku": sku, "name": "Load cup", "price": { "cents": 100, "currency": "EUR" }, "stock": 1_000_000 });
    let response = app
        .request(Method::POST, "/products")
        .bearer_auth(app.token(Role::Admin))
        .json(&product)
        .send()
        .await
        .expect("create the benchmark product");
    assert_eq!(response.status(), 201, "create the benchmark product");
    let created: Value = response.json().await.expect("product body");
    created["id"].as_str().unwrap_or_default().to_owned()
}

/// What a worker needs of the [`App`]: its base URL and HTTP client (a keep-alive pool).
#[derive(Clone)]
struct LoadClient {
    base_url: String,
    client: reqwest::Client,
}

impl LoadClient {
    fn new(app: &App) -> Self {
        Self { base_url: app.base_url.clone(), client: app.client.clone() }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base_url))
    }
}

#[tokio::main]
async fn main() {
    let seconds = Duration::from_secs(env_u64("LOAD_SECS", 10));
    let clients = env_u64("LOAD_CLIENTS", 10) as usize;
    let background_rate = env_u64("LOAD_ORDER_RATE", 50);
    let rounds = env_u64("LOAD_ROUNDS", 3).max(1);
    let order_rate = env_u64("LOAD_ORDERS_PER_SEC", 100);
    let lifted = [("order_rate_limit", "1000000"), ("order_max_units_per_product", "1000000")];
    let app = if e2e::is_external() { spawn_app().await } else { spawn_local_app_with(&lifted).await };
    println!("load against {} ({} s per scenario, {clients} clients)", app.base_url, seconds.as_secs());

    let product = bench_product(&app).await;
    let order = json!({ "items": [{ "product_id": product, "quantity": 1 }] });
    let login_email = app.unique_email();
    app.register(&login_email, PASSWORD).await;

    let load = LoadClient::new(&app);
    closed_loop(&load, clients, seconds, |c| c.request(Method::GET, "/health/live"))
        .await
        .print("GET /health/live", "");

    app.get(LISTING).await;
    let (mut idle, mut loaded, mut placed) = (Samples::default(), Samples::default(), Samples::default());
    let mut shares = Vec::new();
    for _ in 0..rounds {
        let customers = register_customers(&app).await;
        let alone = closed_loop(&load, clients, seconds, |c| c.request(Method::GET, LISTING)).await;
        let stop = Arc::new(AtomicBool::new(false));
        let orders = {
            let (load, order, stop) = (load.clone(), order.clone(), Arc::clone(&stop));
            tokio::spawn(async move { place_orders(&load, &customers, &order, background_rate, stop).await })
        };
        let beside = closed_loop(&load, clients, seconds, |c| c.request(Method::GET, LISTING)).await;
        stop.store(true, Ordering::Relaxed);
        placed.merge_timed(orders.await.unwrap_or_default());
        shares.push(format!("{:.0} %", 100.0 * beside.rate() / alone.rate().max(f64::MIN_POSITIVE)));
        idle.merge_timed(alone);
        loaded.merge_timed(beside);
        // The relay and the analytics consumer finish the last orders' work before the next idle round.
        tokio::time::sleep(SETTLE).await;
    }
    let share = 100.0 * loaded.rate() / idle.rate().max(f64::MIN_POSITIVE);
    let hits = idle.hit_ratio();
    idle.print("GET /products?limit=20 (cached)", &format!("hits {hits:.1} %"));
    let extra = format!(
        "hits {:.1} %, orders {:.1}/s, {share:.0} % of idle (rounds {})",
        loaded.hit_ratio(),
        placed.rate(),
        shares.join(", ")
    );
    loaded.print(&format!("GET /products?limit=20 with {background_rate} orders/s"), &extra);

    let email = Arc::new(login_email);
    closed_loop(&load, 1, seconds, move |c| {
        c.request(Method::POST, "/auth/login").json(&json!({ "email": email.as_str(), "password": PASSWORD }))
    })
    .await
    .print("POST /auth/login (1 client)", "");

    let customers = register_customers(&app).await;
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            tokio::time::sleep(seconds).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let placed = place_orders(&load, &customers, &order, order_rate, stop).await;
    let _ = timer.await;
    placed.print(&format!("POST /orders, {order_rate}/s offered, {ORDER_CLIENTS} clients"), "");
}
