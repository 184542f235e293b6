//! The catalog cache against the real Redis: what the products component stores and looks up, and what the
//! gateway's store-backed reader sees of it — the hit counters both keep, their expiries, and a counter
//! that Redis lost.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use catalog::cache::{CacheReader, CatalogCache, Entry, Lookup, Peek, HITS_BASE, STORE_LABEL};
use kit::kv::{KeyValue, NativeStore};
use kit::Config;
use testkit::store::{redis_url, TestKeys};

fn config(keys: &TestKeys, settings: &[(&str, &str)]) -> Config {
    let mut values = HashMap::from([
        ("redis_url".to_owned(), redis_url()),
        ("cache_prefix".to_owned(), keys.prefix.clone()),
        ("cache_timeout_ms".to_owned(), "2000".to_owned()),
    ]);
    values.extend(settings.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    Config::from_map(values)
}

fn gateway_reader(config: &Config, keys: &TestKeys) -> CacheReader {
    let store = NativeStore::Redis(keys.cache());
    CacheReader::new(config, &KeyValue::native(HashMap::from([(STORE_LABEL.to_owned(), store)]))).unwrap()
}

fn entry() -> Entry {
    Entry { etag: "\"e\"".to_owned(), body: Bytes::from_static(b"{\"items\":[]}") }
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn get(key: &str) -> Option<i64> {
    redis::cmd("GET").arg(key).query_async(&mut redis().await).await.unwrap()
}

async fn ttl(key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(&mut redis().await).await.unwrap()
}

/// Misses `name` at catalog version 1 (publishing it) and stores the entry; its key.
async fn stored(cache: &CatalogCache, name: &str) -> String {
    let Lookup::Miss(key) = cache.lookup(name, || async { Ok::<_, ()>(1) }).await.unwrap() else {
        panic!("a first lookup is a miss");
    };
    cache.store(&key, &entry()).await;
    key
}

async fn lookup_hits(cache: &CatalogCache, name: &str) -> bool {
    matches!(cache.lookup(name, || async { Ok::<_, ()>(1) }).await.unwrap(), Lookup::Hit(_))
}

#[tokio::test]
async fn an_entry_is_stored_with_a_counter_at_the_base_that_expires_with_it() {
    let keys = TestKeys::new(&format!("catalog-store-{}", uuid::Uuid::new_v4().simple()));
    let cache = CatalogCache::from_config(&config(&keys, &[("cache_ttl_secs", "40")])).unwrap();
    let key = stored(&cache, "list:a").await;
    assert_eq!(get(&format!("{key}:hits")).await, Some(HITS_BASE));
    let (entry_ttl, counter_ttl) = (ttl(&key).await, ttl(&format!("{key}:hits")).await);
    assert!((1..=40).contains(&entry_ttl) && (entry_ttl - counter_ttl).abs() <= 1, "{entry_ttl} {counter_ttl}");
}

#[tokio::test]
async fn the_gateway_and_the_component_count_the_same_hits_and_extend_a_popular_entry_once_per_threshold() {
    let keys = TestKeys::new(&format!("catalog-popular-{}", uuid::Uuid::new_v4().simple()));
    let settings = [("cache_ttl_secs", "30"), ("cache_popular_ttl_secs", "900"), ("cache_popular_threshold", "3")];
    let config = config(&keys, &settings);
    let cache = CatalogCache::from_config(&config).unwrap();
    let reader = gateway_reader(&config, &keys);
    let key = stored(&cache, "list:b").await;

    assert!(matches!(reader.peek("list:b").await.unwrap(), Peek::Hit { hits: 1, .. }));
    assert!(lookup_hits(&cache, "list:b").await);
    assert!((1..=30).contains(&ttl(&key).await), "not popular after 2 hits");
    let Peek::Hit { hits: 3, max_age_secs: 5, .. } = reader.peek("list:b").await.unwrap() else {
        panic!("the third hit, with the published max-age");
    };
    let (entry_ttl, counter_ttl) = (ttl(&key).await, ttl(&format!("{key}:hits")).await);
    assert!((31..=900).contains(&entry_ttl) && (31..=900).contains(&counter_ttl), "{entry_ttl} {counter_ttl}");
    assert_eq!(get(&format!("{}stats:hits", keys.prefix)).await, Some(3));
    assert_eq!(get(&format!("{}stats:misses", keys.prefix)).await, Some(1));

    // The gateway's misses are counted too, at the mirrored version.
    assert!(matches!(reader.peek("list:other").await.unwrap(), Peek::Miss(1)));
    assert_eq!(get(&format!("{}stats:misses", keys.prefix)).await, Some(2));
}

#[tokio::test]
async fn the_components_lookup_restores_a_counter_redis_lost_with_its_entrys_ttl() {
    let keys = TestKeys::new(&format!("catalog-lost-{}", uuid::Uuid::new_v4().simple()));
    let cache = CatalogCache::from_config(&config(&keys, &[("cache_ttl_secs", "40")])).unwrap();
    let key = stored(&cache, "product:x").await;
    redis::cmd("DEL").arg(format!("{key}:hits")).query_async::<()>(&mut redis().await).await.unwrap();

    assert!(lookup_hits(&cache, "product:x").await);
    assert_eq!(get(&format!("{key}:hits")).await, Some(HITS_BASE + 1));
    let counter_ttl = ttl(&format!("{key}:hits")).await;
    assert!((1..=40).contains(&counter_ttl), "the counter lives as long as its entry: {counter_ttl}");
}

#[tokio::test]
async fn without_a_mirror_the_gateway_knows_nothing_and_a_store_that_fails_is_an_error() {
    let keys = TestKeys::new(&format!("catalog-reader-{}", uuid::Uuid::new_v4().simple()));
    let config = config(&keys, &[]);
    assert!(matches!(gateway_reader(&config, &keys).peek("list:c").await.unwrap(), Peek::Unknown));

    let down =
        NativeStore::Redis(kit::cache::Cache::connect("redis://127.0.0.1:1", Duration::from_millis(200)).unwrap());
    let reader = CacheReader::new(&config, &KeyValue::native(HashMap::from([(STORE_LABEL.to_owned(), down)]))).unwrap();
    assert!(reader.peek("list:c").await.is_err());
    let ungranted = CacheReader::new(&config, &KeyValue::none()).unwrap();
    assert!(matches!(ungranted.peek("list:c").await, Err(kit::kv::KvError::AccessDenied(_))));
}
