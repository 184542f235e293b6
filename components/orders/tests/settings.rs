//! The service reads the order limits' settings (and Redis's) only where they are used: a bad one fails
//! `check_config` (devhost's start) and the requests that need it, never a read of the caller's orders.

use std::collections::HashMap;

use bytes::Bytes;
use kit::kv::KeyValue;
use kit::{Component, Config, Ctx, Upstream};
use testkit::TestDb;

#[tokio::test]
async fn a_bad_limit_fails_check_config_and_placing_an_order_but_not_reading_orders() {
    let test = TestDb::new("orders_settings").await;
    let user_id = test.customer().await;
    for (name, value) in [
        ("order_rate_limit", "many"),
        ("order_units_window_secs", "-1"),
        // "-0" is zero (a bare "0" would be found in the problem's "status":500).
        ("order_units_window_secs", "-0"),
        ("order_units_window_secs", "315360001"),
        ("order_max_units_per_product", "-3"),
        ("redis_url", "not a url"),
    ] {
        let config = Config::from_map(HashMap::from([
            ("db_url".to_owned(), test.url.clone()),
            ("redis_url".to_owned(), testkit::store::redis_url()),
            ("bridge_url".to_owned(), "http://127.0.0.1:1".to_owned()),
            ("bridge_token".to_owned(), "t".to_owned()),
            (name.to_owned(), value.to_owned()),
        ]));
        let ctx = Ctx { config, upstream: Upstream::native(std::sync::Arc::new(NoChain)), key_value: KeyValue::none() };
        let service = orders::Service::new(&ctx).unwrap();
        let error = service.check_config().unwrap_err().to_string();
        assert!(error.contains(name), "{name}: {error}");

        let as_customer = |method: &str, uri: &str, body: &'static [u8]| {
            http::Request::builder()
                .method(method)
                .uri(uri)
                .header("x-pc-user-id", user_id.to_string())
                .header("x-pc-role", "customer")
                .header("content-type", "application/json")
                .body(Bytes::from_static(body))
                .unwrap()
        };
        let listed = service.handle(as_customer("GET", "/orders", b"")).await;
        assert_eq!(listed.status(), 200, "{name}");
        let body = br#"{"items":[{"product_id":"0190a0c2-0000-7000-8000-000000000001","quantity":1}]}"#;
        let placed = service.handle(as_customer("POST", "/orders", body)).await;
        assert_eq!(placed.status(), 500, "{name}");
        let problem = String::from_utf8(placed.into_body().to_vec()).unwrap();
        assert!(!problem.contains(name) && !problem.contains(value), "{name}: {problem}");
    }
}

/// No other component is reached here.
struct NoChain;

impl kit::upstream::Chain for NoChain {
    fn call(
        &self,
        _: &str,
        _: kit::Request,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<kit::Response>> + Send>> {
        Box::pin(async { None })
    }
}
