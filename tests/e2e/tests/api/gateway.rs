//! The gateway, seen from a client: routing, authentication, request ids, body limits, CORS, health, and
//! bad input of every kind answered with a problem+json 4xx.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::{assert_problem, spawn_app};
use kit::identity::Role;
use kit::jwt::now_secs;
use reqwest::Method;

#[tokio::test]
async fn health_reports_every_service_as_ok() {
    let app = spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    for service in ["auth", "users", "products", "orders", "analytics"] {
        assert_eq!(body["services"][service]["status"], "ok", "{service}: {body}");
        assert_eq!(body["services"][service]["checks"]["postgres"], "ok", "{service}: {body}");
    }
    assert_eq!(body["services"]["products"]["checks"]["redis"], "ok", "{body}");
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_client_id_is_kept() {
    let app = spawn_app().await;
    let generated = app.get("/nope").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "generated id {id}");

    let kept = app.request(Method::GET, "/health").header("x-request-id", "client-abc.123").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "client-abc.123");

    for bad in ["has space", "a\"quote", &"x".repeat(200)] {
        let replaced = app.request(Method::GET, "/health").header("x-request-id", bad).send().await.unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(id).is_ok());
    }
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope").await, 404).await;
    assert_problem(app.get("/").await, 404).await;
    assert_problem(app.get("/usersx").await, 404).await;
    let response = app.request(Method::POST, "/health").send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_problem(response, 405).await;
}

#[tokio::test]
async fn internal_routes_and_private_components_are_unreachable_from_outside() {
    let app = spawn_app().await;
    for path in ["/internal/users/verify", "/users/internal/verify", "/users/%69nternal/x", "/auth/INTERNAL"] {
        let response = app.raw(&format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(response.status, 404, "{path}: {}", response.body);
    }
    for path in ["/users/../internal/x", "/users/%2e%2e/internal", "/users/a%2fb", "/products/%ff", "/products/a%5cb"] {
        let response = app.raw(&format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(response.status, 400, "{path}: {}", response.body);
        assert_eq!(response.header("content-type"), Some("application/problem+json"));
    }
    // Naming a private component as the host does not reach it: the gateway answers.
    let response = app.raw("GET /health HTTP/1.1\r\nX-Forwarded-Host: users.spin.internal", b"").await;
    assert!(response.body.contains("\"services\""), "{}", response.body);
}

#[tokio::test]
async fn protected_routes_need_a_bearer_token() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/users/me"),
        (Method::GET, "/users"),
        (Method::GET, "/orders"),
        (Method::POST, "/orders"),
        (Method::GET, "/analytics/sales"),
        (Method::POST, "/products"),
        (Method::DELETE, "/categories/1"),
    ] {
        let response = app.request(method.clone(), path).send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{method} {path}");
        assert_problem(response, 401).await;
    }
}

#[tokio::test]
async fn spoofed_identity_headers_do_not_authenticate() {
    let app = spawn_app().await;
    let response = app
        .request(Method::GET, "/users")
        .header("x-pc-user-id", uuid::Uuid::new_v4().to_string())
        .header("x-pc-role", "admin")
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
}

#[tokio::test]
async fn public_routes_and_valid_tokens_pass_the_gateway() {
    let app = spawn_app().await;
    for path in ["/products", "/categories", "/.well-known/jwks.json"] {
        assert_ne!(app.get(path).await.status(), 401, "{path}");
    }
    assert_ne!(app.request(Method::POST, "/auth/login").send().await.unwrap().status(), 401);
    let token = app.token(Role::Customer);
    for path in ["/users/me", "/orders", "/analytics/sales"] {
        let response = app.request(Method::GET, path).bearer_auth(&token).send().await.unwrap();
        assert_ne!(response.status(), 401, "{path}");
        assert!(response.status().as_u16() < 500, "{path}: {}", response.status());
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_401() {
    let app = spawn_app().await;
    let now = now_secs();
    let mut tokens = Vec::new();
    let mut claims = app.claims(Role::Admin);
    claims.exp = now - 3600;
    claims.iat = now - 7200;
    tokens.push(("expired", app.sign(&claims)));
    let mut claims = app.claims(Role::Admin);
    claims.nbf = Some(now + 3600);
    tokens.push(("not yet valid", app.sign(&claims)));
    let mut claims = app.claims(Role::Admin);
    claims.iss = "someone-else".into();
    tokens.push(("wrong issuer", app.sign(&claims)));
    let mut claims = app.claims(Role::Admin);
    claims.aud = "another-api".into();
    tokens.push(("wrong audience", app.sign(&claims)));
    let mut claims = app.claims(Role::Admin);
    claims.typ = "refresh".into();
    tokens.push(("wrong type", app.sign(&claims)));

    let (other_key, _) = kit::jwt::generate_key_pair().unwrap();
    let other = kit::jwt::Signer::from_pem(&other_key).unwrap();
    tokens.push(("unknown key", other.sign(&app.claims(Role::Admin)).unwrap()));

    let valid = app.token(Role::Customer);
    let (header, rest) = valid.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    tokens.push(("no signature", format!("{header}.{payload}.")));
    let none_header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    tokens.push(("alg none", format!("{none_header}.{payload}.")));
    let hs_header = base64_url(r#"{"alg":"HS256","typ":"JWT"}"#);
    tokens.push(("alg HS256", format!("{hs_header}.{payload}.c2lnbmF0dXJl")));
    let admin_payload = {
        let mut claims: serde_json::Value = serde_json::from_slice(&base64_decode(payload)).unwrap();
        claims["role"] = "admin".into();
        base64_url(&claims.to_string())
    };
    let signature = valid.rsplit('.').next().unwrap();
    tokens.push(("tampered payload", format!("{header}.{admin_payload}.{signature}")));
    tokens.push(("garbage", "not-a-token".to_owned()));

    for (what, token) in tokens {
        let response = app.request(Method::GET, "/users/me").bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 401, "{what}");
        assert_problem(response, 401).await;
    }
    // A bad token is refused on public routes too rather than silently ignored.
    let response = app.request(Method::GET, "/products").bearer_auth("garbage").send().await.unwrap();
    assert_problem(response, 401).await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_401() {
    let app = spawn_app().await;
    let token = app.token(Role::Customer);
    for value in [format!("Basic {token}"), "Bearer".to_owned(), "Bearer ".to_owned(), format!("Bearer {token} x")] {
        let response = app.request(Method::GET, "/orders").header("authorization", value.clone()).send().await.unwrap();
        assert_problem(response, 401).await;
    }
    let response = app.raw("GET /orders HTTP/1.1\r\nAuthorization: Bearer \u{e9}t\u{e9}", b"").await;
    assert_eq!(response.status, 401, "{}", response.body);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let body = vec![b'a'; 1024 * 1024 + 1];
    let response = app
        .request(Method::POST, "/auth/login")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;

    let huge = vec![b'a'; 5 * 1024 * 1024];
    let response =
        app.request(Method::POST, "/auth/register").header("content-type", "application/json").body(huge).send().await;
    // The gateway may answer before the whole body is sent; either way the client sees 413, never a 5xx.
    if let Ok(response) = response {
        assert_problem(response, 413).await;
    }
}

#[tokio::test]
async fn malformed_requests_get_4xx_never_5xx() {
    let app = spawn_app().await;
    let cases: &[(&str, &[u8])] = &[
        ("GET /products?name=%zz HTTP/1.1", b""),
        ("GET /products/%c3%28 HTTP/1.1", b""),
        ("POST /auth/login HTTP/1.1\r\nContent-Length: abc", b""),
        ("POST /auth/login HTTP/1.1\r\nContent-Length: 2\r\nContent-Type: application/json", b"{]"),
        ("BREW /products HTTP/1.1", b""),
        ("GET /users/me HTTP/1.1\r\nAuthorization: Bearer a.b.c", b""),
        ("GET /users/me HTTP/1.1\r\nX-PC-Role: admin\r\nX-PC-User-Id: ' OR 1=1 --", b""),
    ];
    for (head, body) in cases {
        let response = app.raw(head, body).await;
        assert!((400..500).contains(&response.status), "{head}: {} {}", response.status, response.body);
    }
    let long_path = format!("/products/{}", "a".repeat(16 * 1024));
    let response = app.raw(&format!("GET {long_path} HTTP/1.1"), b"").await;
    assert!((400..500).contains(&response.status), "long path: {}", response.status);
}

#[tokio::test]
async fn cors_preflight_follows_the_allow_list() {
    let app = spawn_app().await;
    let preflight = |origin: String, method: &'static str| {
        app.request(Method::OPTIONS, "/orders")
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    // An origin no allow-list holds: refused, and a simple request gets no CORS headers.
    let foreign = "https://evil.example";
    assert_problem(preflight(foreign.to_owned(), "POST").await.unwrap(), 403).await;
    let simple = app.request(Method::GET, "/health").header("origin", foreign).send().await.unwrap();
    assert!(simple.headers().get("access-control-allow-origin").is_none());

    // An origin the system allows (see `App::cors_allowed_origin`: the spawned system's, spin.toml's default,
    // or PYCOMMERCE_TEST_CORS_ORIGIN).
    let Some(origin) = app.cors_allowed_origin() else {
        eprintln!("no allowed origin (PYCOMMERCE_TEST_CORS_ORIGIN or spin.toml's default is empty): refusals only");
        return;
    };
    let allowed = preflight(origin.clone(), "POST").await.unwrap();
    assert_eq!(allowed.status(), 204, "{origin}");
    assert_eq!(allowed.headers()["access-control-allow-origin"], origin.as_str());
    assert!(allowed.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let simple = app.request(Method::GET, "/health").header("origin", &origin).send().await.unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], origin.as_str());
}

fn base64_url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn base64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

#[tokio::test]
async fn tokens_of_another_kind_or_living_too_long_are_refused_even_with_a_trusted_key() {
    let app = spawn_app().await;
    let status = |token: String| {
        let request = app.request(Method::GET, "/users/me").bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for typ in [None, Some("JWT"), Some("id+jwt")] {
        assert_eq!(status(app.sign_with_header_type(&app.claims(Role::Admin), typ)).await, 401, "{typ:?}");
    }
    // Access tokens live at most access_token_ttl_secs (15 minutes); both instants come from the signer.
    let lasting = |role, secs| {
        let mut claims = app.claims(role);
        claims.exp = claims.iat + secs;
        claims
    };
    assert_eq!(status(app.sign(&lasting(Role::Admin, 86_400))).await, 401);
    assert_eq!(status(app.sign(&lasting(Role::Customer, 901))).await, 401);
    assert_ne!(status(app.sign(&lasting(Role::Customer, 900))).await, 401);
    // A service key signs tokens of at most 10 minutes: one leaked cannot mint a token for a year.
    let mut year = lasting(Role::Service, 365 * 86_400);
    year.sub = bridge::consumer::service_subject();
    if let Some(token) = app.sign_service(&year) {
        assert_problem(app.request(Method::GET, "/users/me").bearer_auth(token).send().await.unwrap(), 401).await;
        let mut short = lasting(Role::Service, 600);
        short.sub = bridge::consumer::service_subject();
        assert_ne!(status(app.sign_service(&short).unwrap()).await, 401);
    }
}

/// Need a system of their own: settings of its own (a database or Redis that is down).
mod local {
    use super::*;
    use e2e::spawn_local_app_with;

    #[tokio::test]
    async fn health_is_503_naming_the_dependency_when_the_database_is_down() {
        let down = "postgres://postgres@127.0.0.1:1/nowhere?sslmode=disable";
        let app = spawn_local_app_with(&[("db_url", down), ("db_timeout_ms", "500")]).await;
        let response = app.get("/health").await;
        assert_eq!(response.status(), 503);
        let body = response.text().await.unwrap();
        assert!(!body.contains("127.0.0.1") && !body.contains("nowhere"), "connection detail leaked: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["services"]["users"]["status"], "unavailable");
        assert_eq!(body["services"]["users"]["checks"]["postgres"], "unavailable");
        // The gateway itself is alive and still routes: a protected route without a token is a 401, not a 5xx.
        assert_eq!(app.get("/health/live").await.status(), 200);
        assert_problem(app.get("/orders").await, 401).await;
    }

    #[tokio::test]
    async fn health_stays_ok_without_the_cache_but_reports_it() {
        let app = spawn_local_app_with(&[("redis_url", "redis://127.0.0.1:1"), ("cache_timeout_ms", "200")]).await;
        let response = app.get("/health").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["services"]["products"]["status"], "ok", "{body}");
        assert_eq!(body["services"]["products"]["checks"]["redis"], "unavailable", "{body}");
    }
}
