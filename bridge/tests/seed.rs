//! `bridge seed-demo` and `bridge promote-admin` against the real Postgres: the demo catalog loads once and a
//! second run changes nothing; promotion reaches exactly the registered account named. Each test uses its
//! own database.

use products::demo::{Seeded, DEMO_PRODUCTS};

use testkit::TestDb;

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn the_demo_catalog_loads_once_and_a_second_run_changes_nothing() {
    let db = TestDb::new("pc_bridge").await;

    let first =
        products::demo::load(&kit::db::Db::connect(&db.url, std::time::Duration::from_secs(5)).unwrap()).await.unwrap();
    assert_eq!(first, Seeded { categories: 9, products: DEMO_PRODUCTS as u64 });
    let version = db.catalog_version().await;
    assert!(version > 1, "the first run moves the catalog version");
    let second =
        products::demo::load(&kit::db::Db::connect(&db.url, std::time::Duration::from_secs(5)).unwrap()).await.unwrap();
    assert_eq!(second, Seeded { categories: 0, products: 0 });

    assert_eq!(count(&db.client, "SELECT count(*) FROM catalog.products").await, DEMO_PRODUCTS as i64);
    assert_eq!(count(&db.client, "SELECT count(*) FROM catalog.products WHERE category_id IS NULL").await, 0);
    assert_eq!(db.catalog_version().await, version, "a run that inserts nothing leaves it");
}

#[tokio::test]
async fn promote_admin_gives_a_registered_account_the_admin_role_and_nothing_else() {
    let db = TestDb::new("pc_bridge").await;
    for email in ["ada@example.com", "bob@example.com"] {
        db.client
            .execute(
                "INSERT INTO users.users (id, email, full_name, password_hash) VALUES ($1, $2, 'x', 'x')",
                &[&uuid::Uuid::new_v4(), &email],
            )
            .await
            .unwrap();
    }

    assert!(
        users::store::promote_to_admin(
            &kit::db::Db::connect(&db.url, std::time::Duration::from_secs(5)).unwrap(),
            " Ada@Example.com "
        )
        .await
        .unwrap(),
        "emails are matched normalised"
    );
    assert!(!users::store::promote_to_admin(
        &kit::db::Db::connect(&db.url, std::time::Duration::from_secs(5)).unwrap(),
        "nobody@example.com"
    )
    .await
    .unwrap());
    assert_eq!(count(&db.client, "SELECT count(*) FROM users.users WHERE role = 'admin'").await, 1);
    let ada = "SELECT count(*) FROM users.users WHERE email = 'ada@example.com' AND role = 'admin'";
    assert_eq!(count(&db.client, ada).await, 1);
}
