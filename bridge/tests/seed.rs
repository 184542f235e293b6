//! `bridge seed-demo` against the real Postgres: it loads the demo catalog once, and a second run changes
//! nothing. Each test uses its own database.

use bridge::seed::{demo_catalog, Seeded, DEMO_PRODUCTS};

fn admin_url() -> String {
    std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

/// The URL of a database named `name` on the test server.
fn url_for(name: &str) -> String {
    let admin = admin_url();
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    }
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_demo_catalog_loads_once_and_a_second_run_changes_nothing() {
    let name = format!("pc_seed_{}", uuid::Uuid::new_v4().simple());
    let url = url_for(&name);
    bridge::migrate::create_database(&url).await.unwrap();
    bridge::migrate::run(&url).await.unwrap();

    let first = demo_catalog(&url).await.unwrap();
    assert_eq!(first, Seeded { categories: 9, products: DEMO_PRODUCTS as u64 });
    let second = demo_catalog(&url).await.unwrap();
    assert_eq!(second, Seeded { categories: 0, products: 0 });

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    assert_eq!(count(&client, "SELECT count(*) FROM catalog.products").await, DEMO_PRODUCTS as i64);
    assert_eq!(count(&client, "SELECT count(*) FROM catalog.products WHERE category_id IS NULL").await, 0);
    assert_eq!(count(&client, "SELECT value FROM catalog.version").await, 2, "bumped by the first run only");
    drop(client);

    let (admin, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
}

#[tokio::test]
async fn promote_admin_gives_a_registered_account_the_admin_role_and_nothing_else() {
    let name = format!("pc_admin_{}", uuid::Uuid::new_v4().simple());
    let url = url_for(&name);
    bridge::migrate::create_database(&url).await.unwrap();
    bridge::migrate::run(&url).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    for email in ["ada@example.com", "bob@example.com"] {
        client
            .execute(
                "INSERT INTO users.users (id, email, full_name, password_hash) VALUES ($1, $2, 'x', 'x')",
                &[&uuid::Uuid::new_v4(), &email],
            )
            .await
            .unwrap();
    }

    assert!(bridge::admin::promote(&url, " Ada@Example.com ").await.unwrap(), "emails are matched normalised");
    assert!(!bridge::admin::promote(&url, "nobody@example.com").await.unwrap());
    assert_eq!(count(&client, "SELECT count(*) FROM users.users WHERE role = 'admin'").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM users.users WHERE email = 'ada@example.com' AND role = 'admin'").await,
        1
    );
    drop(client);

    let (admin, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
}
