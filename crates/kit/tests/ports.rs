//! The native backends of the Db and Cache ports against the real Postgres and Redis: typing rules that
//! mirror Spin, error mapping, and bounded failure when the server is down or silent.
//!
//! Each test works in its own Postgres schema and its own Redis key prefix.

use std::time::{Duration, Instant};

use kit::cache::{Cache, CacheError};
use kit::db::{Db, DbError, Value};

fn database_url() -> String {
    std::env::var("PYCOMMERCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned())
}

fn redis_url() -> String {
    std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A database handle and a fresh schema, dropped at the end of the test.
struct Schema {
    db: Db,
    name: String,
}

impl Schema {
    async fn new() -> Self {
        let db = Db::connect(&database_url(), Duration::from_secs(5)).unwrap();
        let name = format!("kit_{}", uuid::Uuid::new_v4().simple());
        db.execute(&format!("CREATE SCHEMA {name}"), &[]).await.unwrap();
        Self { db, name }
    }

    async fn drop(self) {
        self.db.execute(&format!("DROP SCHEMA {} CASCADE", self.name), &[]).await.unwrap();
    }
}

#[tokio::test]
async fn typed_values_round_trip() {
    let schema = Schema::new().await;
    let table = format!("{}.things", schema.name);
    schema
        .db
        .execute(
            &format!(
                "CREATE TABLE {table} (id uuid PRIMARY KEY, flag boolean, small integer, big bigint, \
                 ratio double precision, name text, doc jsonb, raw bytea)"
            ),
            &[],
        )
        .await
        .unwrap();
    let id = uuid::Uuid::new_v4();
    let doc = serde_json::json!({ "tags": ["a", "b"], "n": 1 });
    let inserted = schema
        .db
        .execute(
            &format!("INSERT INTO {table} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                id.into(),
                true.into(),
                7i32.into(),
                (i64::MAX).into(),
                0.5f64.into(),
                "naïve ☃ '; DROP TABLE x; --".into(),
                doc.clone().into(),
                Value::Bytes(vec![0, 255]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    schema.db.execute(&format!("INSERT INTO {table} (id) VALUES ($1)"), &[uuid::Uuid::new_v4().into()]).await.unwrap();

    let rows = schema.db.query(&format!("SELECT * FROM {table} ORDER BY big NULLS LAST"), &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let row = rows.first().unwrap();
    assert_eq!(row.get::<uuid::Uuid>("id").unwrap(), id);
    assert!(row.get::<bool>("flag").unwrap());
    assert_eq!(row.get::<i32>("small").unwrap(), 7);
    assert_eq!(row.get::<i64>("big").unwrap(), i64::MAX);
    assert_eq!(row.get::<f64>("ratio").unwrap(), 0.5);
    assert_eq!(row.get::<String>("name").unwrap(), "naïve ☃ '; DROP TABLE x; --");
    assert_eq!(row.get::<serde_json::Value>("doc").unwrap(), doc);
    assert_eq!(row.get::<Vec<u8>>("raw").unwrap(), vec![0, 255]);
    let empty = rows.iter().nth(1).unwrap();
    assert_eq!(empty.get::<Option<String>>("name").unwrap(), None);
    assert!(empty.get::<String>("name").is_err(), "NULL must not read as a value");
    assert!(row.get::<i64>("small").is_err(), "int4 must not read as i64, as on Spin");
    assert!(row.get::<i32>("missing").is_err());
    schema.drop().await;
}

#[tokio::test]
async fn parameters_are_strictly_typed_like_spin() {
    let schema = Schema::new().await;
    let table = format!("{}.counts", schema.name);
    schema.db.execute(&format!("CREATE TABLE {table} (n bigint, id uuid)"), &[]).await.unwrap();
    let error = schema.db.execute(&format!("INSERT INTO {table} (n) VALUES ($1)"), &[7i32.into()]).await;
    assert!(matches!(error, Err(DbError::Conversion(_))), "{error:?}");
    let error = schema.db.execute(&format!("INSERT INTO {table} (id) VALUES ($1)"), &["not-a-uuid".into()]).await;
    assert!(error.is_err());
    schema.drop().await;
}

#[tokio::test]
async fn timestamptz_must_be_cast_as_on_spin() {
    let schema = Schema::new().await;
    let error = schema.db.query("SELECT now() AS at", &[]).await.unwrap_err();
    assert!(error.to_string().contains("::text"), "{error}");
    let rows =
        schema.db.query("SELECT $1::text::timestamptz::text AS at", &["2026-01-02T03:04:05Z".into()]).await.unwrap();
    assert!(rows.first().unwrap().get::<String>("at").unwrap().starts_with("2026-01-02"));
    schema.drop().await;
}

#[tokio::test]
async fn constraint_violations_name_the_constraint() {
    let schema = Schema::new().await;
    let table = format!("{}.users", schema.name);
    schema
        .db
        .execute(&format!("CREATE TABLE {table} (email text CONSTRAINT users_email_key UNIQUE)"), &[])
        .await
        .unwrap();
    let insert = format!("INSERT INTO {table} VALUES ($1)");
    schema.db.execute(&insert, &["a@example.com".into()]).await.unwrap();
    let error = schema.db.execute(&insert, &["a@example.com".into()]).await.unwrap_err();
    assert_eq!(error.code(), Some("23505"));
    assert_eq!(error.constraint(), Some("users_email_key"));
    assert!(!error.is_unavailable());
    schema.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_fails_fast_and_a_slow_query_times_out() {
    let down = Db::connect("postgres://postgres@127.0.0.1:1/postgres?sslmode=disable", Duration::from_secs(2)).unwrap();
    let started = Instant::now();
    let error = down.ping().await.unwrap_err();
    assert!(error.is_unavailable(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let db = Db::connect(&database_url(), Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let error = db.query("SELECT pg_sleep(3)::text AS slept", &[]).await.unwrap_err();
    assert!(matches!(error, DbError::Timeout), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The pool recovers: the next call works.
    let db = Db::connect(&database_url(), Duration::from_secs(5)).unwrap();
    db.ping().await.unwrap();
}

#[tokio::test]
async fn cache_commands_work_with_ttls() {
    let cache = Cache::connect(&redis_url(), Duration::from_secs(2)).unwrap();
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let key = format!("{prefix}entry");
    cache.ping().await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap(), None);
    cache.set_ex(&key, b"value", Duration::from_secs(30)).await.unwrap();
    assert_eq!(cache.get(&key).await.unwrap().as_deref(), Some(&b"value"[..]));
    let ttl = cache.ttl(&key).await.unwrap();
    assert!((1..=30).contains(&ttl), "{ttl}");
    assert!(cache.expire(&key, Duration::from_secs(300)).await.unwrap());
    assert!(cache.ttl(&key).await.unwrap() > 30);

    let counter = format!("{prefix}hits");
    assert_eq!(cache.incr(&counter).await.unwrap(), 1);
    assert_eq!(cache.incr(&counter).await.unwrap(), 2);
    assert_eq!(cache.ttl(&counter).await.unwrap(), -1);
    assert!(cache.del(&counter).await.unwrap());
    assert!(cache.del(&key).await.unwrap());
    assert!(!cache.del(&key).await.unwrap());
}

#[tokio::test]
async fn a_down_or_silent_cache_fails_within_the_timeout() {
    let down = Cache::connect("redis://127.0.0.1:1", Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    assert!(down.get("k").await.is_err());
    assert!(down.ping().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(3));

    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let _held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let cache = Cache::connect(&format!("redis://{address}"), Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let error = cache.get("k").await.unwrap_err();
    assert!(matches!(error, CacheError::Timeout | CacheError::Unavailable(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}
