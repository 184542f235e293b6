//! The order limits against a real Redis and Postgres: one script counts a placement and claims its units,
//! refusing past the rate with nothing claimed; claimed units count against the cap until released, and
//! committed orders count after; a line over the cap alone is a 422 that counts nothing; with Redis down the
//! limits fail open to what Postgres shows.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::place;
use kit::cache::Cache;
use kit::Config;
use orders::error::Error;
use orders::limits::OrderLimits;
use testkit::{TestDb, TestKeys};
use uuid::Uuid;

fn limits(keys: &TestKeys, cache: Cache, rate: i64, cap: i64) -> OrderLimits {
    let config = Config::from_map(HashMap::from([
        ("redis_key_prefix".to_owned(), keys.prefix.clone()),
        ("order_rate_limit".to_owned(), rate.to_string()),
        ("order_max_units_per_product".to_owned(), cap.to_string()),
    ]));
    OrderLimits::from_config(&config, cache).unwrap()
}

async fn counter(keys: &TestKeys, name: &str) -> Option<i64> {
    let value = keys.cache().get(&format!("{}orders:{name}", keys.prefix)).await.unwrap()?;
    String::from_utf8(value).ok()?.parse().ok()
}

#[tokio::test]
async fn past_the_rate_a_placement_is_refused_and_claims_nothing() {
    let keys = TestKeys::new(&format!("limits-{}", Uuid::new_v4().simple()));
    let limits = limits(&keys, keys.cache(), 2, 20);
    let (user_id, product) = (Uuid::now_v7(), Uuid::now_v7());
    let units = format!("units:{user_id}:{product}");
    for _ in 0..2 {
        let claim = limits.admit(user_id, &[(product, 3)]).await.unwrap();
        assert_eq!(counter(&keys, &units).await, Some(3));
        limits.release(claim).await;
        assert_eq!(counter(&keys, &units).await, None, "a released counter at zero is deleted");
    }
    match limits.admit(user_id, &[(product, 3)]).await {
        Err(Error::TooManyOrders(retry_after)) => assert!((1..=60).contains(&retry_after)),
        other => panic!("third placement in the window: {other:?}"),
    }
    assert_eq!(counter(&keys, &units).await, None, "a refused placement claimed units");
    assert_eq!(counter(&keys, &format!("rate:{user_id}")).await, Some(3), "every attempt is counted");
}

#[tokio::test]
async fn a_line_over_the_cap_alone_is_invalid_and_counts_nothing() {
    let keys = TestKeys::new(&format!("limits-{}", Uuid::new_v4().simple()));
    let limits = limits(&keys, keys.cache(), 10, 20);
    let user_id = Uuid::now_v7();
    match limits.admit(user_id, &[(Uuid::now_v7(), 1), (Uuid::now_v7(), 21)]).await {
        Err(Error::Request(problem)) => assert_eq!(problem.status, 422),
        other => panic!("21 units against a cap of 20: {other:?}"),
    }
    assert_eq!(counter(&keys, &format!("rate:{user_id}")).await, None);
}

#[tokio::test]
async fn units_in_flight_and_committed_count_against_the_cap_until_released() {
    let test = TestDb::new("pc_orders").await;
    let db = test.db();
    let keys = TestKeys::new(&test.name);
    let limits = limits(&keys, keys.cache(), 100, 20);
    let user_id = test.customer().await;
    let mugs = Uuid::parse_str(&test.product(100).await).unwrap();
    let cups = Uuid::parse_str(&test.product(100).await).unwrap();

    // Two placements in flight at once: the second sees the first's units.
    let first = limits.admit(user_id, &[(mugs, 15), (cups, 1)]).await.unwrap();
    limits.check_units(&db, user_id, &first).await.unwrap();
    let second = limits.admit(user_id, &[(cups, 2), (mugs, 6)]).await.unwrap();
    match limits.check_units(&db, user_id, &second).await {
        Err(Error::UnitsLimit { product_id, max_units: 20, retry_after_secs: 2 }) => {
            assert_eq!(product_id, mugs.to_string());
        }
        other => panic!("21 mugs in flight: {other:?}"),
    }
    limits.release(second).await;
    assert_eq!(counter(&keys, &format!("units:{user_id}:{mugs}")).await, Some(15));
    assert_eq!(counter(&keys, &format!("units:{user_id}:{cups}")).await, Some(1));

    // The first commits: its units now count from Postgres, for as long as the window keeps the order.
    place(&test, user_id, &mugs.to_string(), 15).await;
    limits.release(first).await;
    assert_eq!(counter(&keys, &format!("units:{user_id}:{mugs}")).await, None);
    let third = limits.admit(user_id, &[(mugs, 6)]).await.unwrap();
    match limits.check_units(&db, user_id, &third).await {
        Err(Error::UnitsLimit { retry_after_secs, .. }) => assert!(retry_after_secs > 2, "{retry_after_secs}"),
        other => panic!("15 committed and 6 more: {other:?}"),
    }
    limits.release(third).await;
    let fourth = limits.admit(user_id, &[(mugs, 5)]).await.unwrap();
    limits.check_units(&db, user_id, &fourth).await.unwrap();
    limits.release(fourth).await;
}

#[tokio::test]
async fn with_redis_down_the_limits_fail_open_to_postgres() {
    let test = TestDb::new("pc_orders").await;
    let db = test.db();
    let keys = TestKeys::new(&test.name);
    // Nothing listens on port 1.
    let down = Cache::connect("redis://127.0.0.1:1", Duration::from_millis(200)).unwrap();
    let limits = limits(&keys, down, 1, 20);
    let user_id = test.customer().await;
    let mugs = Uuid::parse_str(&test.product(100).await).unwrap();
    for _ in 0..3 {
        let claim = limits.admit(user_id, &[(mugs, 10)]).await.expect("uncounted, not refused");
        limits.check_units(&db, user_id, &claim).await.unwrap();
        limits.release(claim).await;
    }
    place(&test, user_id, &mugs.to_string(), 15).await;
    let claim = limits.admit(user_id, &[(mugs, 10)]).await.unwrap();
    assert!(matches!(limits.check_units(&db, user_id, &claim).await, Err(Error::UnitsLimit { .. })));
    limits.release(claim).await;
}
