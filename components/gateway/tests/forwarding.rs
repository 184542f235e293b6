//! The gateway against a recording upstream: what exactly a service receives, how upstream failures map to
//! problems, and what the access log says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use gateway::Service;
use kit::identity::Role;
use kit::jwt::{generate_key_pair, now_secs, AccessClaims, Signer, ACCESS_TOKEN_TYPE};
use kit::{Config, Ctx, Request, Response, Upstream};

/// Answers as each named component would; records every request it forwards.
#[derive(Default)]
struct RecordingChain {
    seen: Mutex<Vec<(String, Request)>>,
    down: Vec<&'static str>,
    slow: Vec<&'static str>,
}

impl kit::upstream::Chain for RecordingChain {
    fn call(&self, component: &str, request: Request) -> BoxFuture<'static, Option<Response>> {
        self.seen.lock().unwrap().push((component.to_owned(), request.clone()));
        let down = self.down.contains(&component);
        let slow = self.slow.contains(&component);
        async move {
            if down {
                return None;
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
    setup_with(chain, &[])
}

fn setup_with(chain: RecordingChain, overrides: &[(&str, &str)]) -> Setup {
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
    let ctx = Ctx { config, upstream: Upstream::native(chain.clone()) };
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

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_access_log_line_per_request_without_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().flatten_event(true).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let setup = setup(RecordingChain::default());
    let user_id = "0190a0c2-0000-7000-8000-00000000beef";
    let token = token(&setup.signer, user_id, Role::Customer);
    let request = request("GET", "/orders?secret=1")
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "log-test-1")
        .body(Bytes::new());
    setup.service.handle(request.unwrap()).await;

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!output.contains(&token), "the token was logged");
    let access: Vec<serde_json::Value> = output
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "access")
        .collect();
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
    let setup = setup_with(RecordingChain::default(), &[("access_token_ttl_secs", "300")]);
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
