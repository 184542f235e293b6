//! The order limits against a real Redis: every placement is counted against the rate first, refused past
//! it; a line over the units cap alone is a 422 that counts nothing; with Redis down the rate fails open. The
//! units cap itself is applied by the bridge as it reserves (bridge/tests/reservations.rs); here, only what
//! the component asks it for.

use std::collections::HashMap;
use std::time::Duration;

use kit::bridge::{UnitsCap, UnitsCapExceeded};
use kit::cache::Cache;
use kit::Config;
use orders::error::Error;
use orders::limits::OrderLimits;
use testkit::TestKeys;
use uuid::Uuid;

fn limits(keys: &TestKeys, cache: Cache, settings: &[(&str, &str)]) -> OrderLimits {
    let mut config = HashMap::from([("redis_key_prefix".to_owned(), keys.prefix.clone())]);
    config.extend(settings.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
    OrderLimits::from_config(&Config::from_map(config), cache).unwrap()
}

async fn counter(keys: &TestKeys, name: &str) -> Option<i64> {
    let value = keys.cache().get(&format!("{}orders:{name}", keys.prefix)).await.unwrap()?;
    String::from_utf8(value).ok()?.parse().ok()
}

#[tokio::test]
async fn past_the_rate_a_placement_is_refused_and_every_attempt_counts() {
    let keys = TestKeys::new(&format!("limits-{}", Uuid::new_v4().simple()));
    let limits = limits(&keys, keys.cache(), &[("order_rate_limit", "2")]);
    let (user_id, product) = (Uuid::now_v7(), Uuid::now_v7());
    for _ in 0..2 {
        limits.admit(user_id, &[(product, 3)]).await.unwrap();
    }
    match limits.admit(user_id, &[(product, 3)]).await {
        Err(Error::TooManyOrders(retry_after)) => assert!((1..=60).contains(&retry_after)),
        other => panic!("third placement in the window: {other:?}"),
    }
    assert_eq!(counter(&keys, &format!("rate:{user_id}")).await, Some(3));
    // Another customer has a window of their own.
    limits.admit(Uuid::now_v7(), &[(product, 3)]).await.unwrap();
}

#[tokio::test]
async fn a_line_over_the_cap_alone_is_invalid_and_counts_nothing() {
    let keys = TestKeys::new(&format!("limits-{}", Uuid::new_v4().simple()));
    let limits = limits(&keys, keys.cache(), &[("order_max_units_per_product", "20")]);
    let user_id = Uuid::now_v7();
    match limits.admit(user_id, &[(Uuid::now_v7(), 1), (Uuid::now_v7(), 21)]).await {
        Err(Error::Request(problem)) => assert_eq!(problem.status, 422),
        other => panic!("21 units against a cap of 20: {other:?}"),
    }
    assert_eq!(counter(&keys, &format!("rate:{user_id}")).await, None);
    limits.admit(user_id, &[(Uuid::now_v7(), 20)]).await.unwrap();
}

#[tokio::test]
async fn with_redis_down_the_rate_fails_open() {
    let keys = TestKeys::new(&format!("limits-{}", Uuid::new_v4().simple()));
    // Nothing listens on port 1.
    let down = Cache::connect("redis://127.0.0.1:1", Duration::from_millis(200)).unwrap();
    let limits = limits(&keys, down, &[("order_rate_limit", "1")]);
    let user_id = Uuid::now_v7();
    for _ in 0..3 {
        limits.admit(user_id, &[(Uuid::now_v7(), 10)]).await.expect("uncounted, not refused");
    }
}

#[test]
fn the_bridge_is_asked_for_the_configured_cap_and_its_refusal_is_a_units_limit() {
    let keys = TestKeys::new("limits-cap");
    let settings = [("order_max_units_per_product", "7"), ("order_units_window_secs", "3600")];
    let limits = limits(&keys, keys.cache(), &settings);
    assert_eq!(limits.units_cap(), UnitsCap { max_units_per_product: 7, window_secs: 3600 });
    let over = UnitsCapExceeded { product_id: "p".to_owned(), retry_after_secs: 0 };
    match limits.refused(Uuid::now_v7(), over) {
        Error::UnitsLimit { product_id, max_units: 7, retry_after_secs: 1 } => assert_eq!(product_id, "p"),
        other => panic!("{other:?}"),
    }
}
