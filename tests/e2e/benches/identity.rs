//! Cost of logging in and of token verification, through the gateway on devhost (release build, one
//! client, sequential): `cargo bench -p e2e --bench identity`.

use e2e::bench::measure;
use e2e::spawn_app;
use reqwest::Method;

#[tokio::main]
async fn main() {
    let app = spawn_app().await;
    let email = app.unique_email();
    let password = "benchmark password 1";
    let registered = app.register(&email, password).await;
    let access = registered["access_token"].as_str().unwrap_or_default().to_owned();

    measure("POST /auth/login (argon2id verify)", 3, 40, || async {
        let response = app.login(&email, password).await;
        assert_eq!(response.status(), 200);
    })
    .await;
    measure("GET /users/me (JWT verify + read)", 50, 2000, || async {
        let response = app.request(Method::GET, "/users/me").bearer_auth(&access).send().await.unwrap();
        assert_eq!(response.status(), 200);
    })
    .await;
    measure("GET /health/live (gateway only)", 50, 2000, || async {
        assert_eq!(app.get("/health/live").await.status(), 200);
    })
    .await;
}
