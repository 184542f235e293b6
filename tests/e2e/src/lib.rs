//! # e2e — the black-box HTTP suite
//!
//! [`spawn_app`] gives every test its own running system and a client for it:
//! - with no settings it creates a fresh database (migrated with `bridge migrate`'s code), generates an
//!   Ed25519 key pair for the test, and starts the bridge and devhost in process on free ports;
//! - with `PYCOMMERCE_BASE_URL=http://host:port` it uses that system unchanged (e.g. `spin up`). Tests that
//!   sign their own tokens then need the private key the system trusts: `PYCOMMERCE_JWT_PRIVATE_KEY_FILE`,
//!   by default `.dev/keys/jwt_private.pem` as written by `scripts/run`.
//!
//! Tests that need a system they start themselves — their own settings ([`spawn_local_app_with`]), database
//! ([`App::database_url`]), service key ([`App::service_token`]), Kafka topics or broker
//! ([`spawn_local_app_with_events_on`]) — live in a module named `local` in their area's file. Against an
//! external system those helpers panic rather than let a test pass without checking anything; run the suite
//! there with `--profile external` (`.config/nextest.toml`), which filters the `local` tests out, so nextest
//! counts them as skipped. A test outside `local` may still check more on a system it started (rows in its
//! own database, cache counters): such parts sit under `if app.is_local()` and say so.
//!
//! A spawned system also gets its own Redis key prefix for the catalog cache (`cache_prefix`), removed with
//! its keys when the [`App`] is dropped: test databases all start at the same catalog version, so a shared
//! prefix would let one test read another's cached listings.
//!
//! [`spawn_app_with_events`] also runs the bridge's outbox relay and analytics consumer against the Kafka
//! broker at `PYCOMMERCE_TEST_KAFKA_BROKERS` (default `127.0.0.1:9092`, Tansu in CI), with topic names
//! prefixed by the test's database name so tests sharing the broker never see each other's events. Against
//! an external system it expects that system's own relay and consumer to run (`scripts/run` starts them).
//!
//! Environment: `PYCOMMERCE_TEST_DATABASE_URL` (admin URL for creating test databases, default
//! `postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable`), `PYCOMMERCE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); in external mode `PYCOMMERCE_JWT_ISSUER` and `PYCOMMERCE_JWT_AUDIENCE`
//! (defaults as in spin.toml) and `PYCOMMERCE_TEST_CORS_ORIGIN`, an origin the system allows (default: the
//! first of spin.toml's default `cors_allowed_origins`; empty when it allows none), see
//! [`App::cors_allowed_origin`].

pub mod bench;
pub mod browser;
pub mod openapi;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use kit::identity::Role;
use kit::jwt::{generate_key_pair, now_secs, AccessClaims, Signer, ACCESS_TOKEN_TYPE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Issuer the spawned system trusts (the spin.toml default).
pub const ISSUER: &str = "pycommerce";
/// Audience the spawned system expects (the spin.toml default).
pub const AUDIENCE: &str = "pycommerce-api";
/// The one origin a spawned system's CORS allow-list holds.
pub const SPAWNED_CORS_ORIGIN: &str = "https://shop.example.com";

/// Why a helper refused to work against an external system.
const NEEDS_LOCAL: &str = "this test needs a system it starts itself (its own settings, database, service key or \
     Kafka topics), but PYCOMMERCE_BASE_URL is set: run the suite against an external system with \
     `cargo nextest run -p e2e --profile external`, which filters out the tests in `local` modules";

/// Whether the suite runs against an external system (`PYCOMMERCE_BASE_URL` is set).
pub fn is_external() -> bool {
    std::env::var_os("PYCOMMERCE_BASE_URL").is_some()
}

/// A running system under test and a client for it.
pub struct App {
    /// Base URL, without a trailing slash.
    pub base_url: String,
    /// HTTP client (no redirects followed, short timeouts).
    pub client: reqwest::Client,
    signer: Option<Signer>,
    service_signer: Option<Signer>,
    issuer: String,
    audience: String,
    spawned: Option<Spawned>,
}

struct Spawned {
    /// The analytics consumer's settings, when the system runs events.
    consumer_settings: Option<bridge::consumer::ConsumerSettings>,
    /// The analytics consumer, once started; stopped with the system.
    consumer: Option<tokio::task::JoinHandle<()>>,
    /// Topic prefix of this system's events.
    topic_prefix: String,
    host: devhost::Running,
    /// The bridge (gRPC) the system's orders component calls; stopped with the system.
    _bridge: bridge::server::Running,
    /// The system's own database and Redis key prefix, removed after the system stops.
    database: testkit::TestDb,
    cache: testkit::TestKeys,
}

/// Starts (or connects to) the system under test.
pub async fn spawn_app() -> App {
    if is_external() {
        return external_app();
    }
    spawn_devhost(&[], None).await.expect("start devhost for the test")
}

/// Like [`spawn_app`], with the outbox relay and the analytics consumer running, so orders reach Kafka
/// and the analytics reports (an external system runs its own).
pub async fn spawn_app_with_events() -> App {
    if is_external() {
        return external_app();
    }
    let mut app = spawn_devhost(&[], Some(test_kafka_brokers())).await.expect("start devhost with events for the test");
    app.start_consumer().expect("start the analytics consumer");
    app
}

/// A local system whose outbox relay publishes to the broker at `brokers` (e.g. a private one the test
/// stops); its analytics consumer waits for [`App::start_consumer`]. Panics against an external system.
pub async fn spawn_local_app_with_events_on(brokers: &str) -> App {
    assert!(!is_external(), "{NEEDS_LOCAL}");
    spawn_devhost(&[], Some(brokers.to_owned())).await.expect("start devhost with events for the test")
}

/// The Kafka broker the event tests use.
pub fn test_kafka_brokers() -> String {
    std::env::var("PYCOMMERCE_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// Starts a local system with some variables overridden (e.g. a database that is down), or with none for
/// a database of its own. Panics against an external system, whose settings a test cannot change.
pub async fn spawn_local_app_with(overrides: &[(&str, &str)]) -> App {
    assert!(!is_external(), "{NEEDS_LOCAL}");
    spawn_devhost(overrides, None).await.expect("start devhost for the test")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn external_app() -> App {
    let base_url = std::env::var("PYCOMMERCE_BASE_URL").unwrap_or_default();
    App {
        base_url: base_url.trim_end_matches('/').to_owned(),
        client: client(),
        signer: external_signer(),
        service_signer: None,
        issuer: std::env::var("PYCOMMERCE_JWT_ISSUER").unwrap_or_else(|_| ISSUER.to_owned()),
        audience: std::env::var("PYCOMMERCE_JWT_AUDIENCE").unwrap_or_else(|_| AUDIENCE.to_owned()),
        spawned: None,
    }
}

/// The workspace root (where spin.toml lives).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn external_signer() -> Option<Signer> {
    let path = std::env::var("PYCOMMERCE_JWT_PRIVATE_KEY_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join(".dev/keys/jwt_private.pem"));
    let pem = std::fs::read_to_string(path).ok()?;
    Signer::from_pem(&pem).ok()
}

/// Starts a system; with `events`, the outbox relay and the analytics consumer on that broker.
async fn spawn_devhost(overrides: &[(&str, &str)], events: Option<String>) -> anyhow::Result<App> {
    let test_db = testkit::TestDb::new("pc_e2e").await;
    let (database, database_url) = (test_db.name.clone(), test_db.url.clone());
    let cache = match overrides.iter().find(|(name, _)| *name == "cache_prefix") {
        Some((_, prefix)) => testkit::TestKeys { prefix: (*prefix).to_owned() },
        None => testkit::TestKeys::new(&database),
    };
    let cache_prefix = cache.prefix.clone();

    let (private_pem, public_pem) = generate_key_pair()?;
    let (service_private_pem, service_public_pem) = generate_key_pair()?;
    let topic_prefix = format!("{database}.");
    let mut kafka = bridge::kafka::KafkaSettings::new(events.clone().unwrap_or_else(test_kafka_brokers));
    kafka.topic_prefix = topic_prefix.clone();
    kafka.partitions = 2;
    kafka.timeout = Duration::from_secs(5);
    let mut variables = HashMap::from([
        ("service_public_keys".to_owned(), service_public_pem),
        ("db_url".to_owned(), database_url.clone()),
        ("cache_prefix".to_owned(), cache_prefix.clone()),
        ("jwt_public_key".to_owned(), public_pem),
        ("jwt_private_key".to_owned(), private_pem.clone()),
        // Rate-limit counters share the per-system prefix, so they are removed with it too.
        ("redis_key_prefix".to_owned(), cache_prefix.clone()),
        ("jwt_issuer".to_owned(), ISSUER.to_owned()),
        ("jwt_audience".to_owned(), AUDIENCE.to_owned()),
        ("cors_allowed_origins".to_owned(), SPAWNED_CORS_ORIGIN.to_owned()),
        ("log_level".to_owned(), "warn".to_owned()),
    ]);
    // The bridge and the app share a fresh token, as scripts/run's .dev/keys/bridge_token.
    let bridge_token = bridge::auth::generate_token();
    let bridge = bridge::server::start(bridge::server::Settings {
        listen: "127.0.0.1:0".parse()?,
        metrics_listen: "127.0.0.1:0".parse()?,
        service_token: bridge::auth::ServiceToken::new(&bridge_token)?,
        database_url: database_url.clone(),
        pool_size: 8,
        db_timeout: Duration::from_secs(5),
        health_interval: Duration::from_secs(1),
        reservation_hold: Duration::from_secs(120),
        sweep_interval: Duration::from_secs(1),
        outbox_retention: None,
        relay: events.as_ref().map(|_| bridge::relay::RelaySettings {
            kafka: kafka.clone(),
            database_url: database_url.clone(),
            batch_size: 100,
            poll_interval: Duration::from_millis(500),
            pass_spacing: Duration::from_millis(50),
        }),
        consumer: None,
    })
    .await?;
    variables.insert("bridge_url".to_owned(), format!("http://{}", bridge.grpc_addr));
    variables.insert("bridge_token".to_owned(), bridge_token);
    variables.insert("redis_url".to_owned(), test_redis_url());
    variables.extend(overrides.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    // The gateway's store is the app's Redis, as runtime-config.toml makes it on Spin.
    let runtime_config =
        devhost::RuntimeConfig::default().with_redis_store(catalog::cache::STORE_LABEL, &variables["redis_url"]);
    let host = devhost::start(devhost::Options {
        manifest: workspace_root().join("spin.toml"),
        listen: "127.0.0.1:0".parse()?,
        overrides: variables,
        runtime_config,
    })
    .await?;
    let base_url = format!("http://{}", host.addr);
    // The consumer posts to the gateway, which exists only now.
    let consumer_settings = if events.is_some() {
        Some(bridge::consumer::ConsumerSettings {
            kafka,
            group_id: format!("analytics-{database}"),
            ingest_url: format!("{base_url}/analytics/events"),
            signer: Signer::from_pem(&service_private_pem)?,
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            max_attempts: 3,
            http_timeout: Duration::from_secs(10),
            fetch_wait: Duration::from_millis(10),
            batch_max_events: 100,
            batch_linger: Duration::from_millis(20),
        })
    } else {
        None
    };
    Ok(App {
        base_url,
        client: client(),
        signer: Some(Signer::from_pem(&private_pem)?),
        service_signer: Some(Signer::from_pem(&service_private_pem)?),
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        spawned: Some(Spawned {
            consumer_settings,
            consumer: None,
            topic_prefix,
            host,
            _bridge: bridge,
            database: test_db,
            cache,
        }),
    })
}

/// The origins spin.toml's gateway allows by default (its `cors_allowed_origins` default), in order.
fn default_cors_origins() -> Vec<String> {
    let path = workspace_root().join("spin.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    // Only the default matters: every other variable (required ones included) is given a placeholder.
    let manifest = devhost::manifest::App::parse(&text, &HashMap::new(), |name| {
        (name != "cors_allowed_origins").then(String::new)
    })
    .unwrap_or_else(|error| panic!("parse {}: {error}", path.display()));
    let origins = manifest.variables.get("gateway").and_then(|gateway| gateway.get("cors_allowed_origins"));
    origins.map_or_else(Vec::new, |origins| {
        origins.split(',').map(str::trim).filter(|origin| !origin.is_empty()).map(str::to_owned).collect()
    })
}

/// Seeds a catalog of its own into a fresh database: a category tree (home > kitchen > cookware, garden,
/// books; fixed ids `00000000-0000-4000-8000-00000000000N`) and 10 000 products (`SEED-<i>`) with many ties
/// in price, case-folded name and creation time (the insert moves the catalog version). Shared by the paging test
/// and the listing benchmark.
pub async fn seed_catalog(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(
            "INSERT INTO catalog.categories (id, name, slug, parent_id) VALUES
               ('00000000-0000-4000-8000-000000000001', 'Home', 'home', NULL),
               ('00000000-0000-4000-8000-000000000002', 'Kitchen', 'kitchen', '00000000-0000-4000-8000-000000000001'),
               ('00000000-0000-4000-8000-000000000003', 'Cookware', 'cookware', '00000000-0000-4000-8000-000000000002'),
               ('00000000-0000-4000-8000-000000000004', 'Garden', 'garden', NULL),
               ('00000000-0000-4000-8000-000000000005', 'Books', 'books', NULL)",
        )
        .await?;
    client
        .batch_execute(
            "INSERT INTO catalog.products (sku, name, description, category_id, price_cents, currency, stock, active, created_at)
               SELECT 'SEED-' || i,
                      (CASE i % 3 WHEN 0 THEN 'Widget ' WHEN 1 THEN 'widget ' ELSE 'Gadget ' END) || (i % 1499),
                      'seeded',
                      CASE WHEN i % 6 = 0 THEN NULL ELSE ('00000000-0000-4000-8000-00000000000' || (i % 6))::uuid END,
                      (i * 7919) % 5000,
                      'EUR',
                      i % 7,
                      i % 10 <> 0,
                      timestamptz '2026-01-01 00:00:00+00' + (i / 4) * interval '1.5 second'
               FROM generate_series(1, 10000) AS i",
        )
        .await
}

/// The Redis the tests use: `PYCOMMERCE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn test_redis_url() -> String {
    testkit::store::redis_url()
}

impl Drop for App {
    fn drop(&mut self) {
        let Some(mut spawned) = self.spawned.take() else {
            return;
        };
        if let Some(consumer) = spawned.consumer.take() {
            consumer.abort();
        }
        // The system stops first, then its database and keys are removed.
        drop(spawned.host);
        drop(spawned.database);
        drop(spawned.cache);
    }
}

/// A response read off a raw TCP exchange.
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl RawResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

impl App {
    /// Whether this test started the system (`false` against an external one).
    pub fn is_local(&self) -> bool {
        self.spawned.is_some()
    }

    /// The system this test started; panics against an external one.
    fn spawned(&self) -> &Spawned {
        self.spawned.as_ref().expect(NEEDS_LOCAL)
    }

    /// The URL of the system's own database (a spawned system only; panics otherwise).
    pub fn database_url(&self) -> &str {
        &self.spawned().database.url
    }

    /// The Redis key prefix of the catalog cache (a spawned system only; panics otherwise).
    pub fn cache_prefix(&self) -> &str {
        &self.spawned().cache.prefix
    }

    /// Starts the analytics consumer of a system spawned with events (once; later calls do nothing).
    /// Panics against an external system.
    pub fn start_consumer(&mut self) -> anyhow::Result<()> {
        let spawned = self.spawned.as_mut().expect(NEEDS_LOCAL);
        let Some(settings) = spawned.consumer_settings.clone() else { return Ok(()) };
        if spawned.consumer.is_none() {
            let metrics = std::sync::Arc::new(bridge::metrics::Metrics::new());
            let consumer = std::sync::Arc::new(bridge::consumer::AnalyticsConsumer::new(settings, metrics)?);
            spawned.consumer = Some(tokio::spawn(consumer.run()));
        }
        Ok(())
    }

    /// The prefix of this system's Kafka topics (a spawned system only; panics otherwise).
    pub fn topic_prefix(&self) -> &str {
        &self.spawned().topic_prefix
    }

    /// A `service` token signed with the service key the system trusts: what the bridge's consumer sends to
    /// the analytics ingest. A spawned system only (its key is the test's); panics otherwise.
    pub fn service_token(&self) -> String {
        let signer = self.service_signer.as_ref().expect(NEEDS_LOCAL);
        let mut claims = self.claims(Role::Service);
        claims.sub = bridge::consumer::service_subject();
        // As the bridge signs them: service tokens may live at most 10 minutes.
        claims.exp = claims.iat + 300;
        signer.sign(&claims).expect("sign service token")
    }

    /// `claims` signed with the service key the system trusts; `None` against an external system, whose
    /// service key a test does not hold.
    pub fn sign_service(&self, claims: &AccessClaims) -> Option<String> {
        self.service_signer.as_ref()?.sign(claims).ok()
    }

    /// Like [`App::sign`] with another JOSE header `typ` (or none): a token the system must refuse.
    pub fn sign_with_header_type(&self, claims: &AccessClaims, typ: Option<&str>) -> String {
        let signer = self.signer.as_ref().expect("no signing key (see App::sign)");
        signer.sign_with_header_type(claims, typ).expect("sign token")
    }

    /// An origin the system's CORS allow-list holds, or `None` when it allows none: [`SPAWNED_CORS_ORIGIN`]
    /// for a spawned system; for an external one `PYCOMMERCE_TEST_CORS_ORIGIN` (empty for none), by default
    /// the first origin of spin.toml's default `cors_allowed_origins` (what the default settings allow).
    pub fn cors_allowed_origin(&self) -> Option<String> {
        if self.is_local() {
            return Some(SPAWNED_CORS_ORIGIN.to_owned());
        }
        let origin = std::env::var("PYCOMMERCE_TEST_CORS_ORIGIN")
            .unwrap_or_else(|_| default_cors_origins().into_iter().next().unwrap_or_default());
        let origin = origin.trim();
        (!origin.is_empty()).then(|| origin.to_owned())
    }

    /// `base_url + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request builder for `method path`.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).send().await.expect("request failed")
    }

    /// Claims of a fresh access token for a new random user with `role`.
    pub fn claims(&self, role: Role) -> AccessClaims {
        let now = now_secs();
        AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: uuid::Uuid::new_v4().to_string(),
            exp: now + 900,
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            role,
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        }
    }

    /// Signs `claims` with the key the system trusts. Panics with an explanation when no key is available.
    pub fn sign(&self, claims: &AccessClaims) -> String {
        let signer = self.signer.as_ref().expect(
            "no signing key: against an external system set PYCOMMERCE_JWT_PRIVATE_KEY_FILE to the private key \
             it trusts (scripts/run writes .dev/keys/jwt_private.pem)",
        );
        signer.sign(claims).expect("sign token")
    }

    /// A valid access token for a new random user with `role`.
    pub fn token(&self, role: Role) -> String {
        self.sign(&self.claims(role))
    }

    /// A fresh, unique email address.
    pub fn unique_email(&self) -> String {
        format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path).json(body).send().await.expect("request failed")
    }

    /// Registers a customer and returns the registration answer (user and tokens); panics unless 201.
    pub async fn register(&self, email: &str, password: &str) -> serde_json::Value {
        let body = serde_json::json!({ "email": email, "password": password, "full_name": "Test User" });
        let response = self.post_json("/auth/register", &body).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("registration body");
        assert_eq!(status, 201, "registration failed: {body}");
        body
    }

    /// `POST /auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/auth/login", &serde_json::json!({ "email": email, "password": password })).await
    }

    /// Sends `head` (request line and headers, `\r\n`-separated, without the blank line) and `body` over a
    /// raw connection, for requests a well-behaved client library would refuse or normalise.
    pub async fn raw(&self, head: &str, body: &[u8]) -> RawResponse {
        let authority = self.base_url.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = tokio::net::TcpStream::connect(authority).await.expect("connect");
        let mut request = format!("{head}\r\nHost: {authority}\r\nConnection: close\r\n\r\n").into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).await.expect("write");
        let mut buffer = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut buffer))
            .await
            .expect("raw response timed out")
            .expect("read");
        let text = String::from_utf8_lossy(&buffer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        RawResponse { status, headers, body: body.to_owned() }
    }
}

/// Asserts `response` is an RFC 9457 problem with `status`, and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    let actual = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem body is JSON");
    assert_eq!(problem["status"], status);
    assert!(problem["type"].as_str().is_some_and(|t| t.starts_with("urn:pycommerce:problem:")), "{problem}");
    assert!(problem["title"].is_string(), "{problem}");
    problem
}
