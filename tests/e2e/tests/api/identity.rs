//! Identity through the gateway: registration, login, refresh rotation and reuse detection, logout,
//! password changes, who may see and change which account, deactivation, rate limits and bad input.

use e2e::{assert_problem, spawn_app, App};
use kit::identity::Role;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

async fn me(app: &App, access_token: &str) -> reqwest::Response {
    app.request(Method::GET, "/users/me").bearer_auth(access_token).send().await.unwrap()
}

async fn refresh(app: &App, refresh_token: &str) -> reqwest::Response {
    app.post_json("/auth/refresh", &json!({ "refresh_token": refresh_token })).await
}

fn token<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[tokio::test]
async fn register_login_me_refresh_reuse_and_logout() {
    let app = spawn_app().await;
    let email = app.unique_email();
    let registered = app.register(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(registered["user"]["email"], email, "emails are stored lower case");
    assert_eq!(registered["user"]["role"], "customer");
    assert_eq!(registered["token_type"], "Bearer");
    assert_eq!(registered["expires_in"], 900);
    assert!(registered["user"].get("password_hash").is_none());

    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status(), 200);
    let session: Value = login.json().await.unwrap();
    let profile: Value = me(&app, token(&session, "access_token")).await.json().await.unwrap();
    assert_eq!(profile["email"], email);
    assert_eq!(profile["id"], registered["user"]["id"]);

    let first = token(&session, "refresh_token").to_owned();
    let rotated: Value = refresh(&app, &first).await.json().await.unwrap();
    let second = token(&rotated, "refresh_token").to_owned();
    assert_ne!(first, second, "refresh tokens rotate");
    assert_eq!(me(&app, token(&rotated, "access_token")).await.status(), 200);

    // Reusing the rotated token revokes the whole family, including the token that replaced it.
    assert_problem(refresh(&app, &first).await, 401).await;
    assert_problem(refresh(&app, &second).await, 401).await;

    // Another session is unaffected, and logout ends it.
    let other: Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let logout = app.post_json("/auth/logout", &json!({ "refresh_token": token(&other, "refresh_token") })).await;
    assert_eq!(logout.status(), 204);
    assert_problem(refresh(&app, token(&other, "refresh_token")).await, 401).await;
    // Logging out an unknown token tells nothing.
    let unknown = app.post_json("/auth/logout", &json!({ "refresh_token": "x".repeat(43) })).await;
    assert_eq!(unknown.status(), 204);
}

#[tokio::test]
async fn access_tokens_verify_against_the_published_jwks() {
    let app = spawn_app().await;
    let registered = app.register(&app.unique_email(), PASSWORD).await;
    let jwks: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let header = jsonwebtoken_header(token(&registered, "access_token"));
    let key = jwks["keys"].as_array().unwrap().iter().find(|key| key["kid"] == header["kid"]).expect("kid in jwks");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
}

fn jsonwebtoken_header(token: &str) -> Value {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn login_failures_look_the_same_for_unknown_email_and_wrong_password() {
    let app = spawn_app().await;
    let email = app.unique_email();
    app.register(&email, PASSWORD).await;
    let wrong_password = assert_problem(app.login(&email, "not the password").await, 401).await;
    let unknown_email = assert_problem(app.login(&app.unique_email(), PASSWORD).await, 401).await;
    let malformed_email = assert_problem(app.login("not-an-email", PASSWORD).await, 401).await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, malformed_email);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_revokes_refresh_tokens() {
    let app = spawn_app().await;
    let email = app.unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let access = token(&registered, "access_token");
    let change = |body: Value| app.request(Method::PUT, "/users/me/password").bearer_auth(access).json(&body).send();

    assert_problem(change(json!({ "new_password": "another long password" })).await.unwrap(), 422).await;
    let wrong = json!({ "current_password": "wrong password!", "new_password": "another long password" });
    assert_problem(change(wrong).await.unwrap(), 403).await;
    let short = json!({ "current_password": PASSWORD, "new_password": "short" });
    assert_problem(change(short).await.unwrap(), 422).await;
    let good = json!({ "current_password": PASSWORD, "new_password": "another long password" });
    assert_eq!(change(good).await.unwrap().status(), 204);

    assert_problem(refresh(&app, token(&registered, "refresh_token")).await, 401).await;
    assert_problem(app.login(&email, PASSWORD).await, 401).await;
    assert_eq!(app.login(&email, "another long password").await.status(), 200);
}

#[tokio::test]
async fn customers_reach_only_themselves_and_admins_reach_everyone() {
    let app = spawn_app().await;
    let alice = app.register(&app.unique_email(), PASSWORD).await;
    let bob = app.register(&app.unique_email(), PASSWORD).await;
    let alice_token = token(&alice, "access_token");
    let bob_path = format!("/users/{}", bob["user"]["id"].as_str().unwrap());

    let as_alice = |method: Method, path: &str| app.request(method, path).bearer_auth(alice_token);
    assert_problem(as_alice(Method::GET, &bob_path).send().await.unwrap(), 404).await;
    let rename = json!({ "full_name": "Mallory" });
    assert_problem(as_alice(Method::PUT, &bob_path).json(&rename).send().await.unwrap(), 404).await;
    assert_problem(as_alice(Method::DELETE, &bob_path).send().await.unwrap(), 404).await;
    let reset = json!({ "new_password": "owned by alice now" });
    let path = format!("{bob_path}/password");
    assert_problem(as_alice(Method::PUT, &path).json(&reset).send().await.unwrap(), 404).await;
    assert_problem(as_alice(Method::GET, "/users").send().await.unwrap(), 403).await;
    let new_user = json!({ "email": app.unique_email(), "full_name": "X", "password": PASSWORD });
    assert_problem(as_alice(Method::POST, "/users").json(&new_user).send().await.unwrap(), 403).await;
    assert_problem(as_alice(Method::GET, "/users/not-a-uuid").send().await.unwrap(), 404).await;

    let admin = app.token(Role::Admin);
    let as_admin = |method: Method, path: &str| app.request(method, path).bearer_auth(&admin);
    let fetched: Value = as_admin(Method::GET, &bob_path).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched["id"], bob["user"]["id"]);
    let created = as_admin(Method::POST, "/users")
        .json(&json!({ "email": app.unique_email(), "full_name": "Staff", "password": PASSWORD, "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers()["location"].to_str().unwrap().starts_with("/users/"));
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["role"], "admin");
    // An admin resets someone else's password without knowing it.
    assert_eq!(as_admin(Method::PUT, &path).json(&reset).send().await.unwrap().status(), 204);
    assert_eq!(app.login(bob["user"]["email"].as_str().unwrap(), "owned by alice now").await.status(), 200);
}

#[tokio::test]
async fn role_and_active_cannot_be_mass_assigned_by_a_customer() {
    let app = spawn_app().await;
    let alice = app.register(&app.unique_email(), PASSWORD).await;
    let update = |body: Value| {
        app.request(Method::PUT, "/users/me").bearer_auth(token(&alice, "access_token")).json(&body).send()
    };
    for body in [json!({ "role": "admin" }), json!({ "active": true }), json!({ "full_name": "A", "id": "x" })] {
        let problem = assert_problem(update(body.clone()).await.unwrap(), 422).await;
        assert!(problem.to_string().contains("unknown field"), "{body}: {problem}");
    }
    let renamed: Value = update(json!({ "full_name": "Alice Liddell" })).await.unwrap().json().await.unwrap();
    assert_eq!(renamed["full_name"], "Alice Liddell");
    assert_eq!(renamed["role"], "customer");
    // Changing one's email to another account's is a conflict.
    let bob = app.register(&app.unique_email(), PASSWORD).await;
    let taken = bob["user"]["email"].as_str().unwrap().to_uppercase();
    assert_problem(update(json!({ "email": taken })).await.unwrap(), 409).await;
}

#[tokio::test]
async fn a_deactivated_user_can_neither_log_in_nor_refresh() {
    let app = spawn_app().await;
    let email = app.unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let path = format!("/users/{}", registered["user"]["id"].as_str().unwrap());
    let admin = app.token(Role::Admin);
    let response =
        app.request(Method::PUT, &path).bearer_auth(&admin).json(&json!({ "active": false })).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], false);

    assert_problem(app.login(&email, PASSWORD).await, 401).await;
    assert_problem(refresh(&app, token(&registered, "refresh_token")).await, 401).await;
}

#[tokio::test]
async fn a_deleted_account_is_gone_and_its_email_free_again() {
    let app = spawn_app().await;
    let email = app.unique_email();
    let registered = app.register(&email, PASSWORD).await;
    let access = token(&registered, "access_token");
    let deleted = app.request(Method::DELETE, "/users/me").bearer_auth(access).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_problem(me(&app, access).await, 404).await;
    assert_problem(app.login(&email, PASSWORD).await, 401).await;
    assert_problem(refresh(&app, token(&registered, "refresh_token")).await, 401).await;
    app.register(&email, PASSWORD).await;
}

#[tokio::test]
async fn repeated_login_failures_are_rate_limited_per_account() {
    let app = spawn_app().await;
    let email = app.unique_email();
    app.register(&email, PASSWORD).await;
    for _ in 0..5 {
        assert_problem(app.login(&email, "wrong password").await, 401).await;
    }
    let limited = app.login(&email, PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429).await;
    // Another account from the same address is not locked out by these failures.
    let other = app.unique_email();
    app.register(&other, PASSWORD).await;
    assert_eq!(app.login(&other, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn admins_list_users_with_filters_and_cursor_paging() {
    let app = spawn_app().await;
    let admin = app.token(Role::Admin);
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let mut expected = Vec::new();
    for index in 0..5 {
        let email = format!("list-{marker}-{index}@example.com");
        let body = json!({ "email": email, "full_name": "Listed", "password": PASSWORD });
        let created: Value = app
            .request(Method::POST, "/users")
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        expected.push(created["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/users?email={marker}&role=customer&active=true&limit=2");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value =
            app.request(Method::GET, &path).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|user| user["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "every user once, in creation order");

    for bad in [
        "/users?limit=0",
        "/users?limit=101",
        "/users?cursor=%%%",
        "/users?cursor=bm9wZQ",
        "/users?role=boss",
        "/users?sort=x",
    ] {
        let response = app.request(Method::GET, bad).bearer_auth(&admin).send().await.unwrap();
        assert_problem(response, 400).await;
    }
}

#[tokio::test]
async fn registration_rejects_bad_input_with_4xx() {
    let app = spawn_app().await;
    let email = app.unique_email();
    app.register(&email, PASSWORD).await;
    let cases = [
        (json!({ "email": email.to_uppercase(), "password": PASSWORD, "full_name": "Dup" }), 409),
        (json!({ "email": "not-an-email", "password": PASSWORD, "full_name": "X" }), 422),
        (json!({ "email": "x@example.com' OR '1'='1", "password": PASSWORD, "full_name": "X" }), 422),
        (
            json!({ "email": "rob@example.com; DROP TABLE users.users; --", "password": PASSWORD, "full_name": "X" }),
            422,
        ),
        (json!({ "email": app.unique_email(), "password": "short", "full_name": "X" }), 422),
        (json!({ "email": app.unique_email(), "password": "p".repeat(200), "full_name": "X" }), 422),
        (json!({ "email": app.unique_email(), "password": PASSWORD, "full_name": "x".repeat(500) }), 422),
        (json!({ "email": app.unique_email(), "password": PASSWORD, "full_name": "" }), 422),
        (json!({ "email": app.unique_email(), "password": PASSWORD, "full_name": "X", "role": "admin" }), 422),
        (json!({ "email": 42, "password": PASSWORD, "full_name": "X" }), 422),
        (json!({ "email": app.unique_email(), "password": PASSWORD }), 422),
        (json!(["not", "an", "object"]), 422),
    ];
    for (body, status) in cases {
        let response = app.post_json("/auth/register", &body).await;
        assert_problem(response, status).await;
    }
    let raw =
        app.request(Method::POST, "/auth/register").header("content-type", "application/json").body("{\"email\":");
    assert_problem(raw.send().await.unwrap(), 400).await;
    let text = app.request(Method::POST, "/auth/login").header("content-type", "text/plain").body("{}");
    assert_problem(text.send().await.unwrap(), 415).await;
    let not_a_token =
        app.post_json("/auth/refresh", &json!({ "refresh_token": "'; DROP TABLE auth.refresh_tokens; --" })).await;
    assert_problem(not_a_token, 401).await;
    assert_problem(app.post_json("/auth/refresh", &json!({ "refresh_token": 7 })).await, 422).await;
    // Unicode names are fine.
    let body = json!({ "email": app.unique_email(), "password": "pässwörd-ünïcødé", "full_name": "Zoë 山田 Ångström" });
    let created: Value = app.post_json("/auth/register", &body).await.json().await.unwrap();
    assert_eq!(created["user"]["full_name"], "Zoë 山田 Ångström");
}

/// Need a system of their own: settings of its own (a Redis that is down, a trusted proxy).
mod local {
    use super::*;
    use e2e::spawn_local_app_with;

    #[tokio::test]
    async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_and_its_own_entries_ignored() {
        let app = spawn_local_app_with(&[("trusted_proxy_hops", "1"), ("registrations_per_address", "2")]).await;
        // The test plays the ingress: it appends the address it saw to whatever the client sent.
        let register = |forwarded_for: &'static str| {
            let request = app.request(Method::POST, "/auth/register").json(&registration(&app));
            let request =
                if forwarded_for.is_empty() { request } else { request.header("x-forwarded-for", forwarded_for) };
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(register("198.51.100.1, 203.0.113.10").await, 201);
        assert_eq!(register("203.0.113.10").await, 201);
        assert_eq!(register("203.0.113.10").await, 429);
        // The client's own entries, left of the proxy's, change nothing.
        assert_eq!(register("198.51.100.2, 198.51.100.3, 203.0.113.10").await, 429);
        // Another client behind the same proxy has a counter of its own.
        assert_eq!(register("198.51.100.1, 203.0.113.11").await, 201);
        // A request that reached Spin directly counts against its real peer.
        assert_eq!(register("").await, 201);
    }

    #[tokio::test]
    async fn login_still_works_when_redis_is_down_without_rate_limits() {
        let app = spawn_local_app_with(&[("redis_url", "redis://127.0.0.1:1"), ("cache_timeout_ms", "200")]).await;
        let email = app.unique_email();
        let registered = app.register(&email, PASSWORD).await;
        for _ in 0..6 {
            assert_problem(app.login(&email, "wrong password").await, 401).await;
        }
        // Fail open: no counter could be kept, so the right password still gets in.
        assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
        assert_eq!(refresh(&app, token(&registered, "refresh_token")).await.status(), 200);
    }
}

/// A client whose connections leave from a loopback address of its own (`127.x.y.z`, never 127.0.0.1), so
/// the per-address counters this test drives are its own even on a shared system. `None` when the system is
/// not on this machine's IPv4 loopback (the test cannot choose its address then, and says so).
fn client_at_own_address(app: &App) -> (reqwest::Client, std::net::Ipv4Addr) {
    let url = reqwest::Url::parse(&app.base_url).expect("a base URL");
    let on_loopback =
        url.host_str().and_then(|host| host.parse::<std::net::Ipv4Addr>().ok()).is_some_and(|host| host.is_loopback());
    // Never a silent pass: against a system elsewhere these tests fail, saying why.
    assert!(
        on_loopback,
        "this test connects from an address of its own in 127.0.0.0/8, so it needs a system on 127.0.0.1; \
         filter it out against another one (-E 'not test(/spoofed|owner|argon2id|current_passwords/)')"
    );
    let random = *uuid::Uuid::new_v4().as_bytes();
    let ip = std::net::Ipv4Addr::new(127, random[0].max(1), random[1], random[2] % 254 + 1);
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(ip))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("a client bound to a loopback address");
    (client, ip)
}

fn registration(app: &App) -> Value {
    json!({ "email": app.unique_email(), "password": PASSWORD, "full_name": "Test User" })
}

/// `registrations_per_address` of the system under test: the spin.toml default, or
/// `PYCOMMERCE_REGISTRATIONS_PER_ADDRESS` for an external system configured otherwise.
fn registrations_per_address() -> usize {
    std::env::var("PYCOMMERCE_REGISTRATIONS_PER_ADDRESS").ok().and_then(|limit| limit.parse().ok()).unwrap_or(50)
}

#[tokio::test]
async fn registrations_with_spoofed_client_addresses_still_meet_the_per_address_limit() {
    let app = spawn_app().await;
    let (client, _) = client_at_own_address(&app);
    let limit = registrations_per_address();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for attempt in 0..limit + 10 {
        // Every request claims another address, first in line as Spin would pass it on.
        let response = client
            .post(app.url("/auth/register"))
            .header("spin-client-addr", format!("198.51.100.{}:{}", attempt % 250 + 1, 20_000 + attempt))
            .header("x-forwarded-for", format!("203.0.113.{}", attempt % 250 + 1))
            .header("x-pc-client-addr", format!("192.0.2.{}", attempt % 250 + 1))
            .json(&registration(&app))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").map(|value| value.to_str().unwrap().to_owned());
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|status| **status == 201).count(), limit, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 10, "{statuses:?}");
    let retry_after: u64 = retry_after.expect("Retry-After on a 429").parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
}

async fn login_from(app: &App, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let body = json!({ "email": email, "password": password });
    client.post(app.url("/auth/login")).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn after_another_addresses_failures_the_owner_logs_in_from_their_own() {
    let app = spawn_app().await;
    let ((attacker, _), (owner, _)) = (client_at_own_address(&app), client_at_own_address(&app));
    let email = app.unique_email();
    app.register(&email, PASSWORD).await;
    for _ in 0..5 {
        assert_problem(login_from(&app, &attacker, &email, "a wrong guess").await, 401).await;
    }
    // The attacker's address is done with this account, even with the right password...
    assert_problem(login_from(&app, &attacker, &email, PASSWORD).await, 429).await;
    // ...and the owner, from their own address, is not locked out by it.
    let session = login_from(&app, &owner, &email, PASSWORD).await;
    assert_eq!(session.status(), 200);
    assert_problem(login_from(&app, &attacker, &email, "another guess").await, 429).await;
}

#[tokio::test]
async fn of_500_concurrent_wrong_password_logins_at_most_5_reach_argon2id() {
    let app = spawn_app().await;
    let (client, _) = client_at_own_address(&app);
    let email = app.unique_email();
    app.register(&email, PASSWORD).await;
    // In a system this test started, users runs in this process (nextest gives every test its own), so its
    // Argon2id verifications can be counted; against another system the 401s are what reached it.
    let verified_before = users::password::verifications();
    let attempts = (0..500).map(|_| login_from(&app, &client, &email, "a wrong guess"));
    let responses = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = responses.iter().map(|response| response.status().as_u16()).collect();
    let unauthorized = statuses.iter().filter(|status| **status == 401).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    // On Spin a burst this size can fill the host's instance pool (1 000 by default; each login holds a
    // gateway and an auth instance). A login whose auth instance Spin could not create is shed by the
    // gateway as 503 with Retry-After; one whose gateway instance it could not create gets Spin's own empty
    // 500. Neither reached a password check. devhost has no such pool.
    let shed: Vec<_> = responses.iter().filter(|response| matches!(response.status().as_u16(), 500 | 503)).collect();
    for response in &shed {
        let by_gateway = response.status() == 503 && response.headers().contains_key("retry-after");
        let by_spin = response.status() == 500 && !response.headers().contains_key("content-type");
        assert!(by_gateway || by_spin, "{statuses:?}");
    }
    assert!(!app.is_local() || shed.is_empty(), "{statuses:?}");
    assert!(unauthorized <= 5, "{unauthorized} guesses were checked");
    assert_eq!(unauthorized + limited + shed.len(), 500, "{statuses:?}");
    if app.is_local() {
        let verified = users::password::verifications() - verified_before;
        assert!(verified <= 5, "{verified} Argon2id verifications");
        assert_eq!(verified as usize, unauthorized);
    }
    // The owner, elsewhere, still gets in.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn wrong_current_passwords_are_limited_like_logins_and_the_owner_keeps_a_way_in() {
    let app = spawn_app().await;
    let (thief, _) = client_at_own_address(&app);
    let email = app.unique_email();
    let registered = app.register(&email, PASSWORD).await;
    // Someone holding a stolen access token guesses the current password.
    let access = token(&registered, "access_token").to_owned();
    let guess = |client: &reqwest::Client, current: &str| {
        let body = json!({ "current_password": current, "new_password": "a new long password" });
        client.request(Method::PUT, app.url("/users/me/password")).bearer_auth(&access).json(&body).send()
    };
    for attempt in 0..5 {
        assert_problem(guess(&thief, &format!("guess number {attempt}")).await.unwrap(), 403).await;
    }
    let limited = guess(&thief, PASSWORD).await.unwrap();
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429).await;
    // The password is unchanged, and the owner, from their own address, can still change it.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
    assert_eq!(guess(&app.client, PASSWORD).await.unwrap().status(), 204);
}
