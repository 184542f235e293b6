//! The gateway against a recording upstream: what exactly a service receives, how upstream failures map to
//! problems, and what the access log says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use gateway::Service;

use catalog::cache::{HITS_BASE, STORE_LABEL};
use kit::cache::Cache;
use kit::identity::Role;
use kit::jwt::{generate_key_pair, now_secs, AccessClaims, Signer, ACCESS_TOKEN_TYPE};
use kit::kv::{KeyValue, NativeStore};
use kit::{Component, Config, Ctx, Request, Response, Upstream};
use testkit::LogCapture;

/// Answers as each named component would; records every request it forwards.
#[derive(Default)]
struct RecordingChain {
    seen: Mutex<Vec<(String, Request)>>,
    down: Vec<&'static str>,
    slow: Vec<&'static str>,
    /// Answered as Spin answers when it cannot run the component: an empty 500.
    not_run: Vec<&'static str>,
    /// Answered with the component's own 500 problem.
    failing: Vec<&'static str>,
}

impl kit::upstream::Chain for RecordingChain {
    fn call(&self, component: &str, request: Request) -> BoxFuture<'static, Option<Response>> {
        self.seen.lock().unwrap().push((component.to_owned(), request.clone()));
        let down = self.down.contains(&component);
        let slow = self.slow.contains(&component);
        let not_run = self.not_run.contains(&component);
        let failing = self.failing.contains(&component);
        async move {
            if down {
                return None;
            }
            if not_run || failing {
                let body = if failing { &br#"{"status":500,"title":"Internal error"}"#[..] } else { b"" };
                let mut response = http::Response::new(Bytes::from_static(body));
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                if failing {
                    response.headers_mut().insert("content-type", "application/problem+json".parse().unwrap());
                }
                return Some(response);
            }
            if slow {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            let body = br#"{"status":"ok","checks":{"postgres":"ok"}}"#;
            let mut response = http::Response::new(Bytes::from_static(body));
            response.headers_mut().insert("content-type", "application/json".parse().unwrap());
            response.headers_mut().insert("connection", "close".parse().unwrap());
            Some(response)
        }
        .boxed()
    }
}

struct Setup {
    service: Service,
    chain: Arc<RecordingChain>,
    signer: Signer,
}

fn setup(chain: RecordingChain) -> Setup {
    setup_with(chain, &[], KeyValue::none())
}

fn setup_with(chain: RecordingChain, overrides: &[(&str, &str)], key_value: KeyValue) -> Setup {
    let (private, public) = generate_key_pair().unwrap();
    let mut variables = HashMap::from([
        ("jwt_public_key".to_owned(), public),
        ("jwt_issuer".to_owned(), "pycommerce".to_owned()),
        ("jwt_audience".to_owned(), "pycommerce-api".to_owned()),
        ("upstream_timeout_ms".to_owned(), "200".to_owned()),
        ("health_timeout_ms".to_owned(), "200".to_owned()),
        ("max_body_bytes".to_owned(), "64".to_owned()),
    ]);
    variables.extend(overrides.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    let config = Config::from_map(variables);
    let chain = Arc::new(chain);
    let ctx = Ctx { config, upstream: Upstream::native(chain.clone()), key_value };
    Setup { service: Service::new(&ctx).unwrap(), chain, signer: Signer::from_pem(&private).unwrap() }
}

fn token(signer: &Signer, user_id: &str, role: Role) -> String {
    signer.sign(&claims(user_id, role, 60)).unwrap()
}

fn claims(user_id: &str, role: Role, lifetime_secs: u64) -> AccessClaims {
    let now = now_secs();
    AccessClaims {
        iss: "pycommerce".into(),
        aud: "pycommerce-api".into(),
        sub: user_id.into(),
        exp: now + lifetime_secs,
        iat: now,
        nbf: None,
        jti: "j".into(),
        role,
        typ: ACCESS_TOKEN_TYPE.into(),
    }
}

fn request(method: &str, uri: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(uri)
}

#[tokio::test]
async fn services_receive_the_verified_identity_and_nothing_the_client_forged() {
    let setup = setup(RecordingChain::default());
    let user_id = "0190a0c2-0000-7000-8000-00000000abcd";
    let request = request("PUT", "/users/me?x=1")
        .header("authorization", format!("Bearer {}", token(&setup.signer, user_id, Role::Customer)))
        .header("x-pc-role", "admin")
        .header("x-pc-user-id", "0190a0c2-0000-7000-8000-000000000000")
        .header("x-request-id", "abc-1")
        .header("spin-client-addr", "203.0.113.9:5555")
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    let response = setup.service.handle(request).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("connection").is_none(), "hop-by-hop header leaked to the client");

    let seen = setup.chain.seen.lock().unwrap();
    let (component, forwarded) = &seen[0];
    assert_eq!(component, "users");
    assert_eq!(forwarded.uri().to_string(), "/users/me?x=1");
    assert_eq!(forwarded.method(), "PUT");
    assert_eq!(forwarded.body().as_ref(), b"{}");
    let headers = forwarded.headers();
    assert_eq!(headers["x-pc-user-id"], user_id);
    assert_eq!(headers["x-pc-role"], "customer");
    assert_eq!(headers.get_all("x-pc-role").iter().count(), 1);
    assert_eq!(headers["x-request-id"], "abc-1");
    assert_eq!(headers["x-pc-client-addr"], "203.0.113.9");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("authorization").is_none());
}

#[tokio::test]
async fn each_prefix_reaches_its_component() {
    let setup = setup(RecordingChain::default());
    let token = token(&setup.signer, "0190a0c2-0000-7000-8000-000000000001", Role::Admin);
    for (path, component) in [
        ("/auth/login", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/users/1", "users"),
        ("/products?name=x", "products"),
        ("/categories/2", "products"),
        ("/orders/3/cancel", "orders"),
        ("/analytics/sales", "analytics"),
    ] {
        let request = request("GET", path).header("authorization", format!("Bearer {token}")).body(Bytes::new());
        let response = setup.service.handle(request.unwrap()).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(setup.chain.seen.lock().unwrap().last().unwrap().0, component, "{path}");
    }
}

#[tokio::test]
async fn a_slow_service_is_504_and_an_unreachable_one_502() {
    let setup = setup(RecordingChain { slow: vec!["products"], down: vec!["orders"], ..Default::default() });
    let response = setup.service.handle(request("GET", "/products").body(Bytes::new()).unwrap()).await;
    assert_eq!(response.status(), 504);
    let token = token(&setup.signer, "0190a0c2-0000-7000-8000-000000000001", Role::Customer);
    let request = request("GET", "/orders").header("authorization", format!("Bearer {token}")).body(Bytes::new());
    let response = setup.service.handle(request.unwrap()).await;
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert!(!body.to_string().contains("orders"), "internal detail leaked: {body}");
}

#[tokio::test]
async fn a_component_the_host_did_not_run_is_503_with_retry_after_while_its_own_500_passes_through() {
    let setup = setup(RecordingChain { not_run: vec!["products"], failing: vec!["auth"], ..Default::default() });
    let response = setup.service.handle(request("GET", "/products").body(Bytes::new()).unwrap()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["status"], 503);
    assert!(!body.to_string().contains("products"), "internal detail leaked: {body}");

    let response = setup.service.handle(request("POST", "/auth/login").body(Bytes::new()).unwrap()).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn health_is_503_naming_the_service_that_is_down() {
    let setup = setup(RecordingChain { down: vec!["analytics"], slow: vec!["users"], ..Default::default() });
    let response = setup.service.handle(request("GET", "/health").body(Bytes::new()).unwrap()).await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["services"]["analytics"]["status"], "unavailable");
    assert_eq!(body["services"]["users"]["status"], "unavailable");
    assert_eq!(body["services"]["auth"]["status"], "ok");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_before_any_forwarding() {
    let setup = setup(RecordingChain::default());
    let body = Bytes::from(vec![b'x'; 65]);
    let response = setup.service.handle(request("POST", "/auth/login").body(body).unwrap()).await;
    assert_eq!(response.status(), 413);
    let announced = request("POST", "/auth/login").header("content-length", "1000000").body(Bytes::new());
    assert_eq!(setup.service.handle(announced.unwrap()).await.status(), 413);
    assert!(setup.chain.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_body_the_host_read_is_held_to_the_cap_the_host_applied_without_reading_it_again() {
    // An unusable max_body_bytes would be a 500 if the gateway read it: the host's cap is used instead.
    let setup = setup_with(RecordingChain::default(), &[("max_body_bytes", "big")], KeyValue::none());
    let with_cap = |body: &'static [u8]| {
        let mut request = request("POST", "/auth/login").body(Bytes::from_static(body)).unwrap();
        request.extensions_mut().insert(kit::http::BodyCap(8));
        request
    };
    assert_eq!(setup.service.handle(with_cap(b"{}")).await.status(), 200);
    assert_eq!(setup.service.handle(with_cap(b"{\"x\":\"123456\"}")).await.status(), 413);
    assert_eq!(setup.chain.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn one_access_log_line_per_request_without_the_token() {
    let (captured, _guard) = LogCapture::start();

    let setup = setup(RecordingChain::default());
    let user_id = "0190a0c2-0000-7000-8000-00000000beef";
    let token = token(&setup.signer, user_id, Role::Customer);
    let request = request("GET", "/orders?secret=1")
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "log-test-1")
        .body(Bytes::new());
    setup.service.handle(request.unwrap()).await;

    let output = captured.text();
    assert!(!output.contains(&token), "the token was logged");
    let access = captured.lines_of("access");
    assert_eq!(access.len(), 1, "{output}");
    let line = &access[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/orders");
    assert_eq!(line["status"], 200);
    assert_eq!(line["request_id"], "log-test-1");
    assert_eq!(line["user_id"], user_id);
    assert_eq!(line["component"], "orders");
    assert!(line["latency_ms"].as_f64().is_some());
}

#[tokio::test]
async fn tokens_living_longer_than_auth_issues_them_or_of_another_type_never_reach_a_service() {
    let setup = setup_with(RecordingChain::default(), &[("access_token_ttl_secs", "300")], KeyValue::none());
    let user_id = "0190a0c2-0000-7000-8000-000000000001";
    let send = |token: String| {
        let request = request("GET", "/users/me").header("authorization", format!("Bearer {token}"));
        setup.service.handle(request.body(Bytes::new()).unwrap())
    };
    assert_eq!(send(setup.signer.sign(&claims(user_id, Role::Customer, 300)).unwrap()).await.status(), 200);
    let too_long = send(setup.signer.sign(&claims(user_id, Role::Customer, 301)).unwrap()).await;
    assert_eq!(too_long.status(), 401);
    assert_eq!(too_long.headers()["www-authenticate"], "Bearer");
    let untyped = setup.signer.sign_with_header_type(&claims(user_id, Role::Admin, 60), Some("JWT")).unwrap();
    assert_eq!(send(untyped).await.status(), 401);
    assert_eq!(setup.chain.seen.lock().unwrap().len(), 1, "only the valid token was forwarded");
}

#[tokio::test]
async fn tokens_of_a_rotation_key_or_a_service_key_are_verified_with_every_trusted_key_and_only_for_their_kind() {
    let (rotation_private, rotation_public) = generate_key_pair().unwrap();
    let (service_private, service_public) = generate_key_pair().unwrap();
    let setup = setup_with(
        RecordingChain::default(),
        &[
            ("jwt_additional_public_keys", rotation_public.as_str()),
            ("service_public_keys", service_public.as_str()),
            ("service_token_max_lifetime_secs", "300"),
        ],
        KeyValue::none(),
    );
    let (rotation, service) =
        (Signer::from_pem(&rotation_private).unwrap(), Signer::from_pem(&service_private).unwrap());
    let (stranger, _) = generate_key_pair().unwrap();
    let stranger = Signer::from_pem(&stranger).unwrap();
    let user_id = "0190a0c2-0000-7000-8000-000000000077";
    let send = |token: String| {
        let request = request("GET", "/users/me").header("authorization", format!("Bearer {token}"));
        setup.service.handle(request.body(Bytes::new()).unwrap())
    };
    assert_eq!(send(setup.signer.sign(&claims(user_id, Role::Customer, 60)).unwrap()).await.status(), 200);
    assert_eq!(send(rotation.sign(&claims(user_id, Role::Admin, 60)).unwrap()).await.status(), 200);
    assert_eq!(send(service.sign(&claims(user_id, Role::Service, 300)).unwrap()).await.status(), 200);
    for refused in [
        service.sign(&claims(user_id, Role::Customer, 60)).unwrap(),
        rotation.sign(&claims(user_id, Role::Service, 60)).unwrap(),
        service.sign(&claims(user_id, Role::Service, 301)).unwrap(),
        stranger.sign(&claims(user_id, Role::Customer, 60)).unwrap(),
    ] {
        assert_eq!(send(refused).await.status(), 401);
    }
    let roles: Vec<String> = setup
        .chain
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, forwarded)| forwarded.headers()["x-pc-role"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(roles, ["customer", "admin", "service"]);
}

/// A gateway whose catalog cache is the test Redis under a prefix of its own, read through a key-value
/// store on `store_url` (as runtime-config.toml backs it), and a connection to the test Redis.
async fn with_catalog_cache(
    chain: RecordingChain,
    store_url: &str,
) -> (Setup, String, redis::aio::MultiplexedConnection) {
    let prefix = format!("pc:test:gateway:{}:", uuid::Uuid::new_v4().simple());
    let test_redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let store = NativeStore::Redis(Cache::connect(store_url, Duration::from_millis(200)).unwrap());
    let stores = KeyValue::native(HashMap::from([(STORE_LABEL.to_owned(), store)]));
    let setup = setup_with(
        chain,
        &[("redis_url", test_redis.as_str()), ("cache_prefix", prefix.as_str()), ("cache_timeout_ms", "200")],
        stores,
    );
    let connection = redis::Client::open(test_redis).unwrap().get_multiplexed_async_connection().await.unwrap();
    (setup, prefix, connection)
}

/// Stores `value` under `key` as the products component does: for 60 s, with its hit counter.
async fn store_entry(redis: &mut redis::aio::MultiplexedConnection, key: &str, value: &str) {
    redis::cmd("SET").arg(key).arg(value).arg("EX").arg(60).query_async::<()>(redis).await.unwrap();
    redis::cmd("SET")
        .arg(format!("{key}:hits"))
        .arg(HITS_BASE)
        .arg("EX")
        .arg(60)
        .query_async::<()>(redis)
        .await
        .unwrap();
}

async fn get_int(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> Option<i64> {
    redis::cmd("GET").arg(key).query_async(redis).await.unwrap()
}

async fn ttl_of(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(redis).await.unwrap()
}

fn listing_name(query: &str) -> String {
    let raw: catalog::listing::RawListQuery = serde_urlencoded::from_str(query).unwrap();
    format!("list:{}", catalog::listing::Filter::parse(raw).unwrap().cache_hash())
}

#[tokio::test]
async fn public_catalog_reads_the_cache_holds_are_answered_here_and_the_rest_forwarded_with_what_was_found() {
    let test_redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (setup, prefix, mut redis) = with_catalog_cache(RecordingChain::default(), &test_redis).await;
    let connection = redis.clone();
    let set = move |key: String, value: &'static str| {
        let mut redis = connection.clone();
        async move { redis::cmd("SET").arg(key).arg(value).query_async::<()>(&mut redis).await.unwrap() }
    };
    // The mirror: version 7, popular TTL 600 s after every 20 hits, max-age 9 s (the products component's
    // settings; the gateway reads none of them).
    set(format!("{prefix}version"), "7 600 20 9").await;
    let key = format!("{prefix}v7:{}", listing_name("sort=newest&limit=20"));
    store_entry(&mut redis, &key, "\"abc\"\n{\"items\":[],\"next_cursor\":null}").await;

    // A hit: answered from the cache, nothing forwarded; a customer's token sees the public catalog too.
    let customer = token(&setup.signer, "0190a0c2-0000-7000-8000-000000000001", Role::Customer);
    for request in [
        request("GET", "/products").body(Bytes::new()).unwrap(),
        request("GET", "/products?limit=20&sort=NEWEST")
            .header("authorization", format!("Bearer {customer}"))
            .body(Bytes::new())
            .unwrap(),
    ] {
        let response = setup.service.handle(request).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-cache"], "hit");
        assert_eq!(response.headers()["etag"], "\"abc\"");
        assert_eq!(response.headers()["cache-control"], "public, max-age=9");
        assert_eq!(response.body().as_ref(), b"{\"items\":[],\"next_cursor\":null}");
    }
    let unchanged = setup
        .service
        .handle(request("GET", "/products").header("if-none-match", "\"abc\"").body(Bytes::new()).unwrap())
        .await;
    assert_eq!(unchanged.status(), 304);
    let head = setup.service.handle(request("HEAD", "/products").body(Bytes::new()).unwrap()).await;
    assert_eq!((head.status().as_u16(), head.body().is_empty()), (200, true));
    assert!(setup.chain.seen.lock().unwrap().is_empty(), "a hit reached the component");
    assert_eq!(get_int(&mut redis, &format!("{prefix}stats:hits")).await, Some(4));
    assert_eq!(get_int(&mut redis, &format!("{key}:hits")).await, Some(HITS_BASE + 4));

    // A miss is forwarded with the version it was missed at (and counted once, here); a client cannot forge it.
    let miss = request("GET", "/products?limit=21").header("x-pc-catalog-cache", "failed").body(Bytes::new()).unwrap();
    assert_eq!(setup.service.handle(miss).await.status(), 200);
    // An admin's read, a write and a read of something else are forwarded without a lookup.
    let admin = token(&setup.signer, "0190a0c2-0000-7000-8000-000000000002", Role::Admin);
    let by_admin =
        request("GET", "/products").header("authorization", format!("Bearer {admin}")).body(Bytes::new()).unwrap();
    assert_eq!(setup.service.handle(by_admin).await.status(), 200);
    let categories = request("GET", "/categories").header("x-pc-catalog-cache", "failed").body(Bytes::new()).unwrap();
    assert_eq!(setup.service.handle(categories).await.status(), 200);
    {
        let seen = setup.chain.seen.lock().unwrap();
        let found: Vec<Option<&str>> =
            seen.iter().map(|(_, r)| r.headers().get("x-pc-catalog-cache").and_then(|v| v.to_str().ok())).collect();
        assert_eq!(found, [Some("miss; version=7"), None, None]);
    }
    let misses: i64 = redis::cmd("GET").arg(format!("{prefix}stats:misses")).query_async(&mut redis).await.unwrap();
    assert_eq!(misses, 1);

    // Without a version in the mirror only the component knows it: forwarded for its own lookup. A mirror
    // without the policy (an older release's) counts as lapsed too.
    for mirror in [None, Some("7"), Some("7 600 x 9")] {
        match mirror {
            Some(value) => set(format!("{prefix}version"), value).await,
            None => {
                let mut redis = redis.clone();
                redis::cmd("DEL").arg(format!("{prefix}version")).query_async::<()>(&mut redis).await.unwrap()
            }
        }
        assert_eq!(setup.service.handle(request("GET", "/products").body(Bytes::new()).unwrap()).await.status(), 200);
        let seen = setup.chain.seen.lock().unwrap();
        assert!(seen.last().unwrap().1.headers().get("x-pc-catalog-cache").is_none(), "mirror {mirror:?}");
    }
}

#[tokio::test]
async fn with_the_store_unreachable_catalog_reads_are_forwarded_marked_failed_so_redis_is_not_tried_twice() {
    let (setup, _, _) = with_catalog_cache(RecordingChain::default(), "redis://127.0.0.1:1").await;
    assert_eq!(
        setup
            .service
            .handle(request("GET", "/products/0190a0c2-0000-7000-8000-000000000009").body(Bytes::new()).unwrap())
            .await
            .status(),
        200
    );
    let seen = setup.chain.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1.headers()["x-pc-catalog-cache"], "failed");
}

#[tokio::test]
async fn without_the_store_granted_catalog_reads_are_forwarded_for_the_components_own_lookup() {
    // As on a platform whose manifest grants the gateway no store: every read goes to the component.
    let setup = setup_with(RecordingChain::default(), &[("cache_prefix", "pc:test:none:")], KeyValue::none());
    let (captured, _guard) = LogCapture::start();
    assert_eq!(setup.service.handle(request("GET", "/products").body(Bytes::new()).unwrap()).await.status(), 200);
    let seen = setup.chain.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].1.headers().get("x-pc-catalog-cache").is_none());
    // Looked up and refused, not skipped: the cache is on, the store is what is missing.
    let bypass: Vec<_> = captured.lines().into_iter().filter(|line| line["event"] == "bypass").collect();
    assert_eq!(bypass.len(), 1, "{bypass:?}");
    assert!(bypass[0]["error"].as_str().unwrap().contains("not granted"), "{bypass:?}");
}

#[tokio::test]
async fn every_threshold_hits_a_popular_entry_and_its_counter_get_the_popular_ttl() {
    let test_redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (setup, prefix, mut redis) = with_catalog_cache(RecordingChain::default(), &test_redis).await;
    redis::cmd("SET").arg(format!("{prefix}version")).arg("5 900 3 5").query_async::<()>(&mut redis).await.unwrap();
    let key = format!("{prefix}v5:{}", listing_name("limit=7"));
    store_entry(&mut redis, &key, "\"p\"\n{\"items\":[]}").await;

    let (captured, _guard) = LogCapture::start();
    for hit in 1..=3 {
        let response = setup.service.handle(request("GET", "/products?limit=7").body(Bytes::new()).unwrap()).await;
        assert_eq!(response.headers()["x-cache"], "hit");
        let lines = captured.lines();
        assert_eq!(lines.last().unwrap()["cache_hits"], hit, "{lines:?}");
        if hit < 3 {
            assert!((1..=60).contains(&ttl_of(&mut redis, &key).await), "not popular after {hit} hits");
        }
    }
    let (entry_ttl, counter_ttl) = (ttl_of(&mut redis, &key).await, ttl_of(&mut redis, &format!("{key}:hits")).await);
    assert!((61..=900).contains(&entry_ttl) && (61..=900).contains(&counter_ttl), "{entry_ttl} {counter_ttl}");
    let popular: Vec<_> = captured.lines().into_iter().filter(|line| line["event"] == "popular").collect();
    assert_eq!(popular.len(), 1, "{popular:?}");
    assert!(setup.chain.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_hit_counter_redis_lost_is_restored_with_its_entrys_ttl_not_left_forever() {
    let test_redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (setup, prefix, mut redis) = with_catalog_cache(RecordingChain::default(), &test_redis).await;
    redis::cmd("SET").arg(format!("{prefix}version")).arg("5 900 20 5").query_async::<()>(&mut redis).await.unwrap();
    let key = format!("{prefix}v5:{}", listing_name("limit=8"));
    store_entry(&mut redis, &key, "\"l\"\n{\"items\":[]}").await;
    // Evicted (or expired a moment before its entry): the next INCR makes it again, at 1 and with no expiry.
    redis::cmd("DEL").arg(format!("{key}:hits")).query_async::<()>(&mut redis).await.unwrap();

    let (captured, _guard) = LogCapture::start();
    let response = setup.service.handle(request("GET", "/products?limit=8").body(Bytes::new()).unwrap()).await;
    assert_eq!(response.headers()["x-cache"], "hit");
    assert_eq!(captured.lines().last().unwrap()["cache_hits"], 1);
    assert_eq!(get_int(&mut redis, &format!("{key}:hits")).await, Some(HITS_BASE + 1));
    let counter_ttl = ttl_of(&mut redis, &format!("{key}:hits")).await;
    assert!((1..=60).contains(&counter_ttl), "the counter lives as long as its entry: {counter_ttl}");
}

#[tokio::test]
async fn a_cache_hit_answered_here_writes_one_log_line_its_access_line_with_the_key() {
    let test_redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (setup, prefix, mut redis) = with_catalog_cache(RecordingChain::default(), &test_redis).await;
    let key = format!("{prefix}v3:{}", listing_name("limit=5"));
    redis::cmd("SET").arg(format!("{prefix}version")).arg("3 600 20 5").query_async::<()>(&mut redis).await.unwrap();
    store_entry(&mut redis, &key, "\"e1\"\n{\"items\":[]}").await;

    let (captured, _guard) = LogCapture::start();
    let hit = setup.service.handle(request("GET", "/products?limit=5").body(Bytes::new()).unwrap()).await;
    assert_eq!(hit.headers()["x-cache"], "hit");
    let lines = captured.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["target"], "access");
    assert_eq!(lines[0]["from_cache"], true);
    assert_eq!(lines[0]["cache_key"], key.as_str());
    assert_eq!(lines[0]["cache_hits"], 1);

    // A miss is forwarded: the cache's own miss line, then an access line without a cache key.
    captured.clear();
    setup.service.handle(request("GET", "/products?limit=6").body(Bytes::new()).unwrap()).await;
    let lines = captured.lines();
    let targets: Vec<&str> = lines.iter().map(|line| line["target"].as_str().unwrap_or_default()).collect();
    assert_eq!(targets, ["cache", "access"], "{lines:?}");
    assert_eq!(lines[0]["event"], "miss");
    assert_eq!((&lines[1]["from_cache"], lines[1].get("cache_key")), (&serde_json::json!(false), None));
    assert_eq!(setup.chain.seen.lock().unwrap().len(), 1, "only the miss was forwarded");
}

#[tokio::test]
async fn a_bad_setting_read_on_first_use_fails_check_config_and_only_the_requests_that_need_it() {
    for (name, value) in [
        ("upstream_timeout_ms", "soon"),
        ("trusted_proxy_hops", "-1"),
        ("max_body_bytes", "big"),
        ("health_timeout_ms", "later"),
        ("jwt_additional_public_keys", "not a key"),
        ("service_public_keys", "not a key"),
        ("service_token_max_lifetime_secs", "-5"),
    ] {
        let setup = setup_with(RecordingChain::default(), &[(name, value)], KeyValue::none());
        let error = setup.service.check_config().unwrap_err().to_string();
        assert!(error.contains(name), "{name}: {error}");

        // A bodiless read that the gateway answers itself reads none.
        let live = setup.service.handle(request("GET", "/health/live").body(Bytes::new()).unwrap()).await;
        assert_eq!(live.status(), 200, "{name}");

        // A request that needs the setting is a 500 problem that names nothing internal.
        let customer = token(&setup.signer, "0190a0c2-0000-7000-8000-00000000beef", Role::Customer);
        let needs_it = match name {
            "max_body_bytes" => request("POST", "/auth/login")
                .header("content-type", "application/json")
                .body(Bytes::from_static(b"{}")),
            "health_timeout_ms" => request("GET", "/health").body(Bytes::new()),
            // Read only for a token whose key the current keys do not include.
            "jwt_additional_public_keys" | "service_public_keys" | "service_token_max_lifetime_secs" => {
                let unknown = Signer::from_pem(&generate_key_pair().unwrap().0).unwrap();
                let token = token(&unknown, "0190a0c2-0000-7000-8000-00000000beef", Role::Customer);
                request("GET", "/users/me").header("authorization", format!("Bearer {token}")).body(Bytes::new())
            }
            _ => request("GET", "/users/me").header("authorization", format!("Bearer {customer}")).body(Bytes::new()),
        };
        let response = setup.service.handle(needs_it.unwrap()).await;
        assert_eq!(response.status(), 500, "{name}");
        let body = String::from_utf8(response.into_body().to_vec()).unwrap();
        assert!(!body.contains(name), "{name}: {body}");
        assert!(setup.chain.seen.lock().unwrap().is_empty(), "{name}: nothing is forwarded");

        // ... and every other request is served as usual.
        if !matches!(name, "upstream_timeout_ms" | "trusted_proxy_hops" | "max_body_bytes") {
            let current = request("GET", "/users/me").header("authorization", format!("Bearer {customer}"));
            assert_eq!(setup.service.handle(current.body(Bytes::new()).unwrap()).await.status(), 200, "{name}");
        }
    }
}
