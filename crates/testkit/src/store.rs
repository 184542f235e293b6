//! A migrated Postgres database and a Redis key prefix of the test's own, removed when the test ends, so tests
//! run in parallel against the real servers (`PYCOMMERCE_TEST_DATABASE_URL`, `PYCOMMERCE_TEST_REDIS_URL`).

use std::time::Duration;

use tokio_postgres::NoTls;

/// The server's maintenance database URL, from which test databases are created.
pub fn admin_url() -> String {
    std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

/// The Redis the tests use.
pub fn redis_url() -> String {
    std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A database of the test's own, migrated with `bridge migrate`'s code, and a SQL client on it; dropped
/// (with `FORCE`) when the value is.
pub struct TestDb {
    /// Its URL (what a component's `db_url` is set to).
    pub url: String,
    /// Its name: `<kind>_<uuid>`, also a unique prefix for the test's other resources (topics, keys).
    pub name: String,
    /// A client on it, for fixtures and assertions.
    pub client: tokio_postgres::Client,
}

impl TestDb {
    /// Creates and migrates `<kind>_<uuid>`.
    ///
    /// # Panics
    /// When Postgres cannot be reached or the migrations fail (a test setup failure).
    pub async fn new(kind: &str) -> Self {
        let name = format!("{kind}_{}", uuid::Uuid::new_v4().simple());
        let url = with_database(&admin_url(), &name);
        bridge::migrate::create_database(&url).await.expect("create the test database");
        bridge::migrate::run(&url).await.expect("migrate the test database");
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect to the test database");
        tokio::spawn(connection);
        Self { url, name, client }
    }

    /// The components' Postgres port on this database.
    ///
    /// # Panics
    /// When the URL is refused (it is the one [`TestDb::new`] built).
    pub fn db(&self) -> kit::db::Db {
        kit::db::Db::connect(&self.url, Duration::from_secs(5)).expect("a Db on the test database")
    }

    /// An active customer (SQL, so a test needs no users component); their id.
    pub async fn customer(&self) -> uuid::Uuid {
        let id = uuid::Uuid::now_v7();
        self.client
            .execute(
                "INSERT INTO users.users (id, email, full_name, role, password_hash) VALUES ($1, $2, 'T', 'customer', '!')",
                &[&id, &format!("{}@example.com", id.simple())],
            )
            .await
            .expect("insert a customer");
        id
    }

    /// A catalog product (EUR 12.50) with `stock` units; its id.
    pub async fn product(&self, stock: i32) -> String {
        let id = uuid::Uuid::new_v4();
        let sku = format!("SKU-{}", &id.simple().to_string()[..12].to_uppercase());
        self.client
            .execute(
                "INSERT INTO catalog.products (id, sku, name, price_cents, currency, stock) VALUES ($1, $2, 'Mug', 1250, 'EUR', $3)",
                &[&id, &sku, &stock],
            )
            .await
            .expect("insert a product");
        id.to_string()
    }

    /// A product's stock now.
    pub async fn stock(&self, id: &str) -> i32 {
        let id = uuid::Uuid::parse_str(id).expect("a product id");
        self.client.query_one("SELECT stock FROM catalog.products WHERE id = $1", &[&id]).await.expect("stock").get(0)
    }

    /// The catalog version the triggers move.
    pub async fn catalog_version(&self) -> i64 {
        self.client.query_one("SELECT value FROM catalog.version", &[]).await.expect("catalog version").get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Drop cannot await, and may run inside a runtime: use a runtime of its own on another thread.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}

/// A Redis key prefix of the test's own; every key under it is deleted when the value is dropped.
pub struct TestKeys {
    /// The prefix, ending in `:`.
    pub prefix: String,
}

impl TestKeys {
    /// `pc:test:<name>:`.
    pub fn new(name: &str) -> Self {
        Self { prefix: format!("pc:test:{name}:") }
    }

    /// The components' Redis port.
    ///
    /// # Panics
    /// When the Redis URL is refused.
    pub fn cache(&self) -> kit::cache::Cache {
        kit::cache::Cache::connect(&redis_url(), Duration::from_secs(2)).expect("a Cache on the test Redis")
    }
}

impl Drop for TestKeys {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let _ = delete_keys(&prefix).await;
            });
        })
        .join();
    }
}

async fn delete_keys(prefix: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(redis_url())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut connection).await?;
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).query_async::<()>(&mut connection).await?;
    }
    Ok(())
}

/// `admin` with its database replaced by `database` (the query, e.g. `sslmode`, kept).
pub fn with_database(admin: &str, database: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    if query.is_empty() {
        format!("{server}/{database}")
    } else {
        format!("{server}/{database}?{query}")
    }
}
