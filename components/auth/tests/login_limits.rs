//! `auth` against the real Redis and a stand-in for `users` that counts the password checks it is asked
//! for (each one is an Argon2id verification in the real `users`): how many attempts of a burst reach the
//! check, and whose attempts a limit refuses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use kit::jwt::generate_key_pair;
use kit::kv::KeyValue;
use kit::{Component, Config, Ctx, Problem, Request, Response, Upstream};

/// `users`, answering every credentials check "wrong password" after a pause as long as an Argon2id
/// verification, and counting them.
#[derive(Default)]
struct CountingUsers {
    checks: AtomicUsize,
}

impl kit::upstream::Chain for CountingUsers {
    fn call(&self, component: &str, request: Request) -> BoxFuture<'static, Option<Response>> {
        assert_eq!((component, request.uri().path()), ("users", "/internal/credentials/verify"));
        self.checks.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some(Problem::unauthorized("invalid email or password").into_response())
        }
        .boxed()
    }
}

fn service(users: Arc<dyn kit::upstream::Chain>, overrides: &[(&str, &str)]) -> auth::Service {
    let (private, public) = generate_key_pair().unwrap();
    let redis = std::env::var("PYCOMMERCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let mut variables = HashMap::from([
        ("jwt_private_key".to_owned(), private),
        ("jwt_public_key".to_owned(), public),
        ("jwt_issuer".to_owned(), "pycommerce".to_owned()),
        ("jwt_audience".to_owned(), "pycommerce-api".to_owned()),
        // Never reached: every login here fails before a session would be stored.
        ("db_url".to_owned(), "postgres://postgres@127.0.0.1:1/unused?sslmode=disable".to_owned()),
        ("redis_url".to_owned(), redis),
        ("redis_key_prefix".to_owned(), format!("test:{}:", uuid::Uuid::new_v4().simple())),
        ("cache_timeout_ms".to_owned(), "2000".to_owned()),
    ]);
    variables.extend(overrides.iter().map(|(name, value)| (name.to_string(), value.to_string())));
    let ctx =
        Ctx { config: Config::from_map(variables), upstream: Upstream::native(users), key_value: KeyValue::none() };
    auth::Service::new(&ctx).unwrap()
}

/// `POST /auth/login` as the gateway forwards it from `address`.
fn login(email: &str, address: &str) -> Request {
    let body = serde_json::json!({ "email": email, "password": "not the password" }).to_string();
    http::Request::builder()
        .method("POST")
        .uri("/auth/login")
        .header("content-type", "application/json")
        .header("x-pc-client-addr", address)
        .body(Bytes::from(body))
        .unwrap()
}

#[tokio::test]
async fn of_500_concurrent_wrong_passwords_for_one_account_at_most_5_reach_the_password_check() {
    let users = Arc::new(CountingUsers::default());
    let service = service(users.clone(), &[]);
    let attempts = (0..500).map(|_| service.handle(login("alice@example.com", "203.0.113.7")));
    let responses = futures::future::join_all(attempts).await;

    let checked = users.checks.load(Ordering::SeqCst);
    assert!(checked <= 5, "{checked} attempts reached the password check");
    let unauthorized = responses.iter().filter(|response| response.status() == 401).count();
    let limited: Vec<&Response> = responses.iter().filter(|response| response.status() == 429).collect();
    assert_eq!(unauthorized, checked, "every checked attempt is answered 401, and only those");
    assert_eq!(limited.len(), 500 - checked);
    for response in limited {
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
    }
}

#[tokio::test]
async fn failures_from_other_addresses_leave_the_owners_address_its_tries() {
    let users = Arc::new(CountingUsers::default());
    let service = service(users.clone(), &[]);
    for attacker in ["198.51.100.1", "198.51.100.2", "2001:db8:7:7::1"] {
        for _ in 0..5 {
            assert_eq!(service.handle(login("Alice@Example.com ", attacker)).await.status(), 401);
        }
        assert_eq!(service.handle(login("alice@example.com", attacker)).await.status(), 429);
    }
    // The same IPv6 /64 is one address.
    assert_eq!(service.handle(login("alice@example.com", "2001:db8:7:7::2")).await.status(), 429);
    let before = users.checks.load(Ordering::SeqCst);
    assert_eq!(service.handle(login("alice@example.com", "203.0.113.7")).await.status(), 401);
    assert_eq!(users.checks.load(Ordering::SeqCst), before + 1, "the owner's attempt reached the password check");
}

#[tokio::test]
async fn under_a_distributed_attack_each_new_address_gets_one_try() {
    let users = Arc::new(CountingUsers::default());
    let service = service(users.clone(), &[("login_max_failures_per_account", "6")]);
    for bot in 0..3 {
        for _ in 0..2 {
            assert_eq!(service.handle(login("alice@example.com", &format!("198.51.100.{bot}"))).await.status(), 401);
        }
    }
    assert_eq!(service.handle(login("alice@example.com", "198.51.100.0")).await.status(), 429);
    let checked = users.checks.load(Ordering::SeqCst);
    assert_eq!(service.handle(login("alice@example.com", "203.0.113.7")).await.status(), 401, "one try");
    assert_eq!(service.handle(login("alice@example.com", "203.0.113.7")).await.status(), 429, "and only one");
    assert_eq!(users.checks.load(Ordering::SeqCst), checked + 1);
}

/// `users` as Spin answers when it cannot run it (its instance pool full): an empty 500.
struct UnrunUsers;

impl kit::upstream::Chain for UnrunUsers {
    fn call(&self, _component: &str, _request: Request) -> BoxFuture<'static, Option<Response>> {
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        async move { Some(response) }.boxed()
    }
}

#[tokio::test]
async fn a_login_users_could_not_be_run_for_is_503_with_retry_after() {
    let service = service(Arc::new(UnrunUsers), &[]);

    let response = service.handle(login("bob@example.com", "203.0.113.8")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}
