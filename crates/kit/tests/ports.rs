//! The native backends of the Db, Cache and key-value ports against the real Postgres and Redis: the rules
//! that mirror Spin (typed parameters, statements that always yield a row, stores only as granted), error
//! mapping, and bounded failure when the server is down or silent.
//!
//! Each test works in its own Postgres schema and its own Redis key prefix.

use std::time::{Duration, Instant};

use kit::cache::{Cache, CacheError};
use kit::db::{Db, DbError, Value};
use kit::kv::{KeyValue, KvError, NativeStore};

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

/// A row of `things`, decoded by serde from the statement's columns.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Thing {
    id: uuid::Uuid,
    flag: Option<bool>,
    small: Option<i32>,
    big: Option<i64>,
    ratio: Option<f64>,
    name: Option<String>,
    doc: Option<serde_json::Value>,
    raw: Option<String>,
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
    let other = uuid::Uuid::new_v4();
    schema.db.execute(&format!("INSERT INTO {table} (id) VALUES ($1)"), &[other.into()]).await.unwrap();

    let rows: Vec<Thing> =
        schema.db.query_all(&format!("SELECT * FROM {table} ORDER BY big NULLS LAST"), &[]).await.unwrap();
    assert_eq!(
        rows,
        [
            Thing {
                id,
                flag: Some(true),
                small: Some(7),
                big: Some(i64::MAX),
                ratio: Some(0.5),
                name: Some("naïve ☃ '; DROP TABLE x; --".to_owned()),
                doc: Some(doc),
                raw: Some("\\x00ff".to_owned()),
            },
            Thing { id: other, flag: None, small: None, big: None, ratio: None, name: None, doc: None, raw: None },
        ]
    );
    schema.drop().await;
}

#[tokio::test]
async fn statements_that_match_no_rows_answer_at_once() {
    let schema = Schema::new().await;
    let table = format!("{}.things", schema.name);
    schema.db.execute(&format!("CREATE TABLE {table} (id bigint PRIMARY KEY, name text)"), &[]).await.unwrap();
    let select = format!("SELECT id, name FROM {table} WHERE id = $1");
    let none: Vec<serde_json::Value> = schema.db.query_all(&select, &[1i64.into()]).await.unwrap();
    assert!(none.is_empty());
    let missing: Option<serde_json::Value> = schema.db.query_opt(&select, &[1i64.into()]).await.unwrap();
    assert_eq!(missing, None);
    let error = schema.db.query_one::<serde_json::Value>(&select, &[1i64.into()]).await.unwrap_err();
    assert!(matches!(error, DbError::RowCount { expected: "one", got: 0 }), "{error:?}");
    // An UPDATE ... RETURNING that changes nothing, and a data-modifying CTE that inserts nothing.
    let updated: Option<serde_json::Value> = schema
        .db
        .query_opt(&format!("UPDATE {table} SET name = 'x' WHERE id = $1 RETURNING id"), &[1i64.into()])
        .await
        .unwrap();
    assert_eq!(updated, None);
    let inserted: Vec<serde_json::Value> = schema
        .db
        .query_all(
            &format!(
                "WITH source AS (SELECT 1::int8 AS id WHERE false), \
                 added AS (INSERT INTO {table} (id) SELECT id FROM source RETURNING id) SELECT id FROM added"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(inserted.is_empty());
    schema.drop().await;
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Numbered {
    n: i64,
    label: String,
}

#[tokio::test]
async fn rows_keep_the_statements_order_and_with_lists_are_merged() {
    let schema = Schema::new().await;
    let table = format!("{}.numbers", schema.name);
    schema.db.execute(&format!("CREATE TABLE {table} (n bigint PRIMARY KEY, label text NOT NULL)"), &[]).await.unwrap();
    let inserted: Vec<Numbered> = schema
        .db
        .query_all(
            &format!(
                "WITH added AS (INSERT INTO {table} (n, label) \
                   SELECT g, 'n' || g FROM generate_series(1, 300) AS g RETURNING n, label) \
                 SELECT n, label FROM added ORDER BY n DESC"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(inserted.len(), 300);
    assert!(inserted.windows(2).all(|pair| pair[0].n > pair[1].n), "ORDER BY DESC must hold");
    let page: Vec<Numbered> = schema
        .db
        .query_all(&format!("SELECT n, label FROM {table} WHERE n > $1 ORDER BY label LIMIT 3"), &[290i64.into()])
        .await
        .unwrap();
    assert_eq!(page.iter().map(|row| row.label.as_str()).collect::<Vec<_>>(), ["n291", "n292", "n293"]);
    let too_many = schema.db.query_opt::<Numbered>(&format!("SELECT n, label FROM {table}"), &[]).await.unwrap_err();
    assert!(matches!(too_many, DbError::RowCount { expected: "at most one", got: 300 }), "{too_many:?}");
    schema.drop().await;
}

#[tokio::test]
async fn a_field_the_row_type_lacks_or_mistypes_is_a_conversion_error() {
    let schema = Schema::new().await;
    let error = schema.db.query_one::<Numbered>("SELECT 1::int8 AS n", &[]).await.unwrap_err();
    assert!(matches!(&error, DbError::Conversion(reason) if reason.contains("label")), "{error:?}");
    let error = schema.db.query_one::<Numbered>("SELECT 'x' AS n, 'y' AS label", &[]).await.unwrap_err();
    assert!(matches!(error, DbError::Conversion(_)), "{error:?}");
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
    // Raised while rows stream (INSERT ... RETURNING): on Spin this is the case that arrives as text.
    let error = schema
        .db
        .query_one::<serde_json::Value>(&format!("{insert} RETURNING email"), &["a@example.com".into()])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("23505"));
    assert_eq!(error.constraint(), Some("users_email_key"));
    schema.drop().await;
}

#[tokio::test]
async fn an_async_commit_handle_sets_only_synchronous_commit_and_keeps_the_urls_options() {
    #[derive(serde::Deserialize)]
    struct Settings {
        synchronous_commit: String,
        application_name: String,
    }
    const SQL: &str = "SELECT current_setting('synchronous_commit') AS synchronous_commit, \
                       current_setting('application_name') AS application_name";
    let base = database_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20application_name%3Dports_test");

    let ordinary: Settings = Db::connect(&url, Duration::from_secs(5)).unwrap().query_one(SQL, &[]).await.unwrap();
    assert_eq!(ordinary.synchronous_commit, "on");
    assert_eq!(ordinary.application_name, "ports_test");

    let relaxed = Db::connect_async_commit(&url, Duration::from_secs(5)).unwrap();
    let settings: Settings = relaxed.query_one(SQL, &[]).await.unwrap();
    assert_eq!(settings.synchronous_commit, "off");
    assert_eq!(settings.application_name, "ports_test", "the URL's own options are kept");
    let bare: Settings =
        Db::connect_async_commit(&database_url(), Duration::from_secs(5)).unwrap().query_one(SQL, &[]).await.unwrap();
    assert_eq!(bare.synchronous_commit, "off");

    assert!(Db::connect_async_commit("postgres://[bad", Duration::from_secs(1)).is_err());
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
    let error = db.query_one::<serde_json::Value>("SELECT pg_sleep(3)::text AS slept", &[]).await.unwrap_err();
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
async fn key_value_stores_open_only_as_granted_and_read_and_count_like_redis() {
    let redis = NativeStore::Redis(Cache::connect(&redis_url(), Duration::from_secs(2)).unwrap());
    let stores = KeyValue::native([("default".to_owned(), redis), ("local".to_owned(), NativeStore::memory())].into());
    assert!(matches!(stores.open("other"), Err(KvError::AccessDenied(label)) if label == "other"));

    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let cache = Cache::connect(&redis_url(), Duration::from_secs(2)).unwrap();
    cache.set_ex(&format!("{prefix}entry"), b"value", Duration::from_secs(30)).await.unwrap();
    let store = stores.open("default").unwrap();
    assert_eq!(store.get(&format!("{prefix}entry")).await.unwrap().as_deref(), Some(&b"value"[..]));
    assert_eq!(store.get(&format!("{prefix}absent")).await.unwrap(), None);
    // An absent counter starts from 0 and, as with INCR, gets no expiry.
    let counter = format!("{prefix}hits");
    assert_eq!(store.increment(&counter).await.unwrap(), 1);
    assert_eq!(store.increment(&counter).await.unwrap(), 2);
    assert_eq!(cache.ttl(&counter).await.unwrap(), -1);
    assert!(store.increment(&format!("{prefix}entry")).await.is_err(), "not an integer");
    cache.del(&counter).await.unwrap();
    cache.del(&format!("{prefix}entry")).await.unwrap();

    let local = stores.open("local").unwrap();
    assert_eq!(local.get("k").await.unwrap(), None);
    assert_eq!(local.increment("k").await.unwrap(), 1);
    assert_eq!(stores.open("local").unwrap().get("k").await.unwrap().as_deref(), Some(&b"1"[..]));

    let down = KeyValue::native(
        [(
            "default".to_owned(),
            NativeStore::Redis(Cache::connect("redis://127.0.0.1:1", Duration::from_millis(300)).unwrap()),
        )]
        .into(),
    );
    assert!(matches!(down.open("default").unwrap().get("k").await, Err(KvError::Unavailable(_))));
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

#[tokio::test]
async fn window_counters_count_and_expire_in_one_step() {
    let cache = Cache::connect(&redis_url(), Duration::from_secs(2)).unwrap();
    let key = format!("test:{}:window", uuid::Uuid::new_v4().simple());
    let first = cache.incr_window(&key, Duration::from_secs(60)).await.unwrap();
    assert_eq!(first.count, 1);
    assert!(first.resets_in > Duration::from_secs(55) && first.resets_in <= Duration::from_secs(60), "{first:?}");
    let second = cache.incr_window(&key, Duration::from_secs(600)).await.unwrap();
    assert_eq!(second.count, 2);
    assert!(second.resets_in <= Duration::from_secs(60), "a later hit must not extend the window: {second:?}");
    assert_eq!(cache.decr_window(&key).await.unwrap(), 1);

    // A counter left without an expiry (INCR whose EXPIRE failed) gets one on its next hit.
    let stuck = format!("{key}:stuck");
    cache.incr(&stuck).await.unwrap();
    assert_eq!(cache.ttl(&stuck).await.unwrap(), -1);
    let healed = cache.incr_window(&stuck, Duration::from_secs(30)).await.unwrap();
    assert_eq!(healed.count, 2);
    assert!((1..=30).contains(&cache.ttl(&stuck).await.unwrap()));

    // Taking a hit back from a window that is over creates nothing.
    let gone = format!("{key}:gone");
    assert_eq!(cache.decr_window(&gone).await.unwrap(), 0);
    assert_eq!(cache.get(&gone).await.unwrap(), None);
    cache.del(&key).await.unwrap();
    cache.del(&stuck).await.unwrap();
}

#[tokio::test]
async fn concurrent_window_hits_each_get_their_own_count() {
    let cache = Cache::connect(&redis_url(), Duration::from_secs(5)).unwrap();
    let key = format!("test:{}:burst", uuid::Uuid::new_v4().simple());
    let hits = (0..500).map(|_| cache.incr_window(&key, Duration::from_secs(60)));
    let mut counts: Vec<i64> =
        futures::future::join_all(hits).await.into_iter().map(|hit| hit.unwrap().count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=500).collect::<Vec<_>>());
    cache.del(&key).await.unwrap();
}

mod guessing {
    use std::time::Duration;

    use kit::cache::Cache;
    use kit::limit::{GuessLimiter, GuessPolicy, Limiter};

    fn limiter(policy: GuessPolicy) -> GuessLimiter {
        let cache = Cache::connect(&super::redis_url(), Duration::from_secs(5)).unwrap();
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        GuessLimiter::new(Limiter::new(cache, prefix), "login", policy)
    }

    const POLICY: GuessPolicy =
        GuessPolicy { per_account_and_address: 5, per_address: 50, per_account: 100, window: Duration::from_secs(60) };

    #[tokio::test]
    async fn of_500_concurrent_attempts_on_one_account_at_most_the_limit_get_through() {
        let limiter = limiter(POLICY);
        let attempts = (0..500).map(|_| limiter.admit("alice@example.com", Some("203.0.113.7")));
        let results = futures::future::join_all(attempts).await;
        let admitted = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(admitted, 5);
        for refused in results.iter().filter_map(|result| result.as_ref().err()) {
            assert!((1..=60).contains(&refused.retry_after_secs), "{refused:?}");
        }
    }

    #[tokio::test]
    async fn another_address_keeps_its_way_in_and_a_success_starts_it_afresh() {
        let limiter = limiter(POLICY);
        for _ in 0..5 {
            let _failed = limiter.admit("alice@example.com", Some("198.51.100.66")).await.unwrap();
        }
        assert!(limiter.admit("alice@example.com", Some("198.51.100.66")).await.is_err());
        // The owner, elsewhere: four failures, then the right password, then a fresh start.
        for _ in 0..4 {
            let _failed = limiter.admit("alice@example.com", Some("203.0.113.7")).await.unwrap();
        }
        let right = limiter.admit("alice@example.com", Some("203.0.113.7")).await.unwrap();
        limiter.succeeded(right).await;
        for _ in 0..5 {
            let _failed = limiter.admit("alice@example.com", Some("203.0.113.7")).await.unwrap();
        }
        // Other accounts from the attacker's address are not blocked by alice's counter.
        assert!(limiter.admit("bob@example.com", Some("198.51.100.66")).await.is_ok());
    }

    #[tokio::test]
    async fn past_the_account_limit_only_fresh_addresses_get_one_try() {
        let limiter = limiter(GuessPolicy { per_account: 6, ..POLICY });
        for botnet in 0..3 {
            for _ in 0..2 {
                let _failed = limiter.admit("alice@example.com", Some(&format!("198.51.100.{botnet}"))).await.unwrap();
            }
        }
        // Six failures on the account: an address that tried before is refused, a fresh one gets one try.
        assert!(limiter.admit("alice@example.com", Some("198.51.100.0")).await.is_err());
        let _owner = limiter.admit("alice@example.com", Some("203.0.113.7")).await.unwrap();
        assert!(limiter.admit("alice@example.com", Some("203.0.113.7")).await.is_err());
        let _fresh = limiter.admit("alice@example.com", Some("2001:db8:5::1")).await.unwrap();
        assert!(
            limiter.admit("alice@example.com", Some("2001:db8:5::2")).await.is_err(),
            "the same IPv6 /64 is one address"
        );
    }

    #[tokio::test]
    async fn an_address_spraying_many_accounts_is_stopped() {
        let limiter = limiter(GuessPolicy { per_address: 10, ..POLICY });
        for account in 0..10 {
            let _failed = limiter.admit(&format!("user{account}@example.com"), Some("198.51.100.9")).await.unwrap();
        }
        assert!(limiter.admit("user10@example.com", Some("198.51.100.9")).await.is_err());
        assert!(limiter.admit("user10@example.com", Some("203.0.113.7")).await.is_ok());
    }
}

#[tokio::test]
async fn a_script_is_sent_by_its_sha_once_redis_holds_it_and_by_its_text_when_not() {
    use kit::cache::{Reply, Script};
    // A script no other test runs, so Redis does not hold it before the first call.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let code: &'static str =
        Box::leak(format!("-- {marker}\nreturn {{redis.call('INCR', KEYS[1]), ARGV[1], false}}").into_boxed_str());
    let script = Script::new(code);
    let cache = Cache::connect(&redis_url(), Duration::from_secs(2)).unwrap();
    let key = format!("test:{marker}:script");
    let mut redis = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let held = |redis: &mut redis::aio::MultiplexedConnection| {
        let sha = script.sha().to_owned();
        let mut redis = redis.clone();
        async move { redis::cmd("SCRIPT").arg("EXISTS").arg(sha).query_async::<Vec<i64>>(&mut redis).await.unwrap()[0] }
    };
    assert_eq!(held(&mut redis).await, 0);
    let first = cache.eval(&script, &[&key], &[b"x"]).await.unwrap();
    assert_eq!(first, [Reply::Int(1), Reply::Bytes(b"x".to_vec()), Reply::Nil]);
    assert_eq!(held(&mut redis).await, 1, "the text was sent after NOSCRIPT");
    let second = cache.eval(&script, &[&key], &[b"y"]).await.unwrap();
    assert_eq!(second, [Reply::Int(2), Reply::Bytes(b"y".to_vec()), Reply::Nil]);
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut redis).await.unwrap();
}
