//! Shared by the bridge's integration tests and benchmarks: a migrated database per test (brokers come from
//! the `testkit` crate).
#![allow(dead_code)] // each test binary uses a different part

use tokio_postgres::NoTls;

pub fn admin_url() -> String {
    std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

/// A migrated database of its own, and a SQL client on it; dropped with the test.
pub struct TestDb {
    pub url: String,
    name: String,
    pub client: tokio_postgres::Client,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (admin_url(), self.name.clone());
        // Drop cannot await: use a runtime of its own on another thread.
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

impl TestDb {
    pub async fn new() -> Self {
        let admin = admin_url();
        let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
        let server = base.rsplit_once('/').unwrap().0;
        let name = format!("pc_bridge_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{server}/{name}?{query}");
        bridge::migrate::create_database(&url).await.unwrap();
        bridge::migrate::run(&url).await.unwrap();
        let (client, connection) = tokio_postgres::connect(&url, NoTls).await.unwrap();
        tokio::spawn(connection);
        Self { url, name, client }
    }

    pub async fn product(&self, stock: i32) -> String {
        let id = uuid::Uuid::new_v4();
        let sku = format!("SKU-{}", &id.simple().to_string()[..12].to_uppercase());
        self.client
            .execute(
                "INSERT INTO catalog.products (id, sku, name, price_cents, currency, stock) VALUES ($1, $2, 'Mug', 1250, 'EUR', $3)",
                &[&id, &sku, &stock],
            )
            .await
            .unwrap();
        id.to_string()
    }

    pub async fn stock(&self, id: &str) -> i32 {
        let id = uuid::Uuid::parse_str(id).unwrap();
        self.client.query_one("SELECT stock FROM catalog.products WHERE id = $1", &[&id]).await.unwrap().get(0)
    }

    pub async fn catalog_version(&self) -> i64 {
        self.client.query_one("SELECT value FROM catalog.version", &[]).await.unwrap().get(0)
    }
}
