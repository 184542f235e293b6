//! The bridge against the real Postgres: its gRPC services through kit's Bridge port (tonic), gRPC-Web
//! over HTTP/1.1 (what `bridge-client` speaks from Spin), health following the database, reflection,
//! metrics, stock reservation under concurrency, the service token on every call but health, and the
//! caller's request id in the access log. Each test has its own database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bridge::server::{Running, Settings};
use bridge_proto::catalog::v1::{CheckStockRequest, CheckStockResponse, StockLine};
use bridge_proto::{grpc_web, methods, BridgeError};
use kit::bridge::Bridge;
use tokio::net::{TcpListener, TcpStream};

use testkit::{LogCapture, TestDb};

/// The token the test bridges require.
const TOKEN: &str = "test-token-0123456789abcdefghijklmnop";

async fn start(database_url: &str) -> Running {
    bridge::server::start(Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        service_token: bridge::auth::ServiceToken::new(TOKEN).unwrap(),
        database_url: database_url.to_owned(),
        pool_size: 8,
        db_timeout: Duration::from_secs(2),
        health_interval: Duration::from_millis(100),
        reservation_hold: Duration::from_secs(120),
        sweep_interval: Duration::from_secs(1),
        outbox_retention: None,
        relay: None,
        consumer: None,
    })
    .await
    .unwrap()
}

fn client(running: &Running) -> Bridge {
    Bridge::connect(&format!("http://{}", running.grpc_addr), TOKEN, Duration::from_secs(5)).unwrap()
}

fn line(product_id: &str, quantity: i32) -> StockLine {
    StockLine { product_id: product_id.to_owned(), quantity }
}

#[tokio::test]
async fn products_and_stock_are_looked_up_with_proper_status_codes() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let id = db.product(4).await;

    let product = bridge.get_product(&id).await.unwrap();
    assert_eq!((product.name.as_str(), product.price_cents, product.currency.as_str()), ("Mug", 1250, "EUR"));
    assert_eq!(product.stock, 4);
    let check = bridge.check_stock(&id, 4).await.unwrap();
    assert!(check.available);
    assert!(!bridge.check_stock(&id, 5).await.unwrap().available);

    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(matches!(bridge.get_product(&unknown).await, Err(BridgeError::NotFound(_))));
    assert!(matches!(bridge.get_product("not-a-uuid").await, Err(BridgeError::Invalid(_))));
    assert!(matches!(bridge.check_stock(&id, 0).await, Err(BridgeError::Invalid(_))));
    assert!(matches!(bridge.check_stock(&id, 1001).await, Err(BridgeError::Invalid(_))));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn only_a_reservation_that_sells_out_or_restocks_a_product_moves_the_catalog_version() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let mugs = db.product(5).await;
    let version = db.catalog_version().await;

    let order = uuid::Uuid::new_v4().to_string();
    bridge.reserve_stock(&order, None, &[line(&mugs, 2)], None).await.unwrap();
    assert_eq!(db.catalog_version().await, version, "5 -> 3 keeps every cached listing");
    assert!(bridge.release_stock(&order).await.unwrap());
    assert_eq!(db.catalog_version().await, version, "3 -> 5 too");

    let last = uuid::Uuid::new_v4().to_string();
    bridge.reserve_stock(&last, None, &[line(&mugs, 5)], None).await.unwrap();
    let sold_out = db.catalog_version().await;
    assert!(sold_out > version, "5 -> 0: the product leaves `in_stock` listings");
    assert!(bridge.release_stock(&last).await.unwrap());
    assert!(db.catalog_version().await > sold_out, "0 -> 5: it comes back");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_reservation_is_all_or_nothing_once_per_order_and_released_once() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let mugs = db.product(5).await;
    let pens = db.product(1).await;
    let order = uuid::Uuid::new_v4().to_string();
    let version = db.catalog_version().await;

    let short = bridge.reserve_stock(&order, None, &[line(&mugs, 2), line(&pens, 2)], None).await;
    assert!(matches!(short, Err(BridgeError::InsufficientStock(_))), "{short:?}");
    assert_eq!((db.stock(&mugs).await, db.stock(&pens).await), (5, 1), "nothing reserved");

    let reserved = bridge.reserve_stock(&order, None, &[line(&mugs, 2), line(&pens, 1)], None).await.unwrap();
    assert!(reserved.newly_reserved);
    assert_eq!(reserved.lines.len(), 2);
    assert!(reserved.lines.iter().all(|l| l.unit_price_cents == 1250 && l.name == "Mug"));
    assert!(db.catalog_version().await > version, "selling the last pen changes what `in_stock` listings show");
    let repeated = bridge.reserve_stock(&order, None, &[line(&mugs, 2), line(&pens, 1)], None).await.unwrap();
    assert!(!repeated.newly_reserved);
    assert_eq!(repeated.lines.len(), 2);
    assert_eq!((db.stock(&mugs).await, db.stock(&pens).await), (3, 0), "reserved once");

    assert!(bridge.release_stock(&order).await.unwrap());
    assert!(!bridge.release_stock(&order).await.unwrap(), "released once");
    assert!(!bridge.release_stock(&uuid::Uuid::new_v4().to_string()).await.unwrap());
    assert_eq!((db.stock(&mugs).await, db.stock(&pens).await), (5, 1));

    let other = uuid::Uuid::new_v4().to_string();
    let duplicate = bridge.reserve_stock(&other, None, &[line(&mugs, 1), line(&mugs, 1)], None).await;
    assert!(matches!(duplicate, Err(BridgeError::Invalid(_))));
    assert!(matches!(bridge.reserve_stock(&other, None, &[], None).await, Err(BridgeError::Invalid(_))));
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        bridge.reserve_stock(&other, None, &[line(&unknown, 1)], None).await,
        Err(BridgeError::NotFound(_))
    ));
    assert!(matches!(bridge.reserve_stock("nope", None, &[line(&mugs, 1)], None).await, Err(BridgeError::Invalid(_))));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn fifty_concurrent_orders_for_the_last_ten_units_reserve_exactly_ten() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let product = db.product(10).await;
    let attempts = (0..50).map(|_| {
        let bridge = bridge.clone();
        let product = product.clone();
        tokio::spawn(async move {
            bridge.reserve_stock(&uuid::Uuid::new_v4().to_string(), None, &[line(&product, 1)], None).await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let succeeded = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    let short = results.iter().filter(|r| matches!(r, Ok(Err(BridgeError::InsufficientStock(_))))).count();
    assert_eq!((succeeded, short), (10, 40), "{results:?}");
    assert_eq!(db.stock(&product).await, 0);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn users_are_looked_up_and_their_active_flag_reported() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let id = uuid::Uuid::now_v7();
    db.client
        .execute(
            "INSERT INTO users.users (id, email, full_name, password_hash, active) VALUES ($1, 'a@example.com', 'A', '!', false)",
            &[&id],
        )
        .await
        .unwrap();
    let user = bridge.get_user(&id.to_string()).await.unwrap();
    assert_eq!((user.email.as_str(), user.role.as_str(), user.active), ("a@example.com", "customer", false));
    assert!(!bridge.is_user_active(&id.to_string()).await.unwrap());
    assert!(matches!(bridge.is_user_active(&uuid::Uuid::new_v4().to_string()).await, Err(BridgeError::NotFound(_))));
    running.stop().await.unwrap();
}

/// A TCP forwarder to Postgres that can be cut and restored, to make the database unreachable.
struct Switch {
    address: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Switch {
    async fn new(target: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (flag, tasks) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(link);
            }
        });
        Self { address, up, links }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn wait_for_status(running: &Running, service: &str, wanted: i32) {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let request = tonic_health::pb::HealthCheckRequest { service: service.to_owned() };
        let status = health.check(request).await.map(|r| r.into_inner().status).unwrap_or(-1);
        if status == wanted {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{service} never reached status {wanted} (last {status})");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn health_follows_the_database_and_calls_fail_as_unavailable_meanwhile() {
    let db = TestDb::new("pc_bridge").await;
    let switch = Switch::new("127.0.0.1:5432").await;
    let through_switch = db.url.replacen("127.0.0.1:5432", &switch.address.to_string(), 1);
    let running = start(&through_switch).await;
    const SERVING: i32 = 1;
    const NOT_SERVING: i32 = 2;
    for service in methods::SERVICES.iter().chain(&[""]) {
        wait_for_status(&running, service, SERVING).await;
    }
    let product = db.product(3).await;
    let bridge = Bridge::connect(&format!("http://{}", running.grpc_addr), TOKEN, Duration::from_millis(500)).unwrap();
    assert_eq!(bridge.get_product(&product).await.unwrap().stock, 3);

    switch.cut();
    wait_for_status(&running, "pycommerce.catalog.v1.ProductService", NOT_SERVING).await;
    wait_for_status(&running, "", NOT_SERVING).await;
    assert!(matches!(bridge.get_product(&product).await, Err(BridgeError::Unavailable(_))));

    switch.restore();
    wait_for_status(&running, "pycommerce.catalog.v1.ProductService", SERVING).await;
    assert_eq!(bridge.get_product(&product).await.unwrap().stock, 3);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_lists_every_service() {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let request = authorized(tonic::Request::new(tokio_stream::iter([request])), Some(&format!("Bearer {TOKEN}")));
    let mut responses = reflection.server_reflection_info(request).await.unwrap().into_inner();
    let Some(Ok(response)) = responses.next().await else { panic!("no reflection answer") };
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else { panic!("wrong answer") };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    for wanted in methods::SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|name| name == wanted), "{wanted} missing from {names:?}");
    }
    running.stop().await.unwrap();
}

async fn grpc_web_check_stock(
    running: &Running,
    product_id: &str,
    quantity: i32,
) -> Result<CheckStockResponse, BridgeError> {
    let response = reqwest::Client::builder()
        .http1_only()
        .build()
        .unwrap()
        .post(format!("http://{}{}", running.grpc_addr, methods::CHECK_STOCK))
        .header("content-type", grpc_web::CONTENT_TYPE)
        .header("x-grpc-web", "1")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(grpc_web::encode_request(&CheckStockRequest { product_id: product_id.to_owned(), quantity }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (code, message) = (header("grpc-status"), header("grpc-message").unwrap_or_default());
    let body = response.bytes().await.unwrap();
    grpc_web::decode_response(status, code.as_deref().map(|code| (code, message.as_str())), &body)
}

#[tokio::test]
async fn grpc_web_over_http1_works_for_wasm_callers() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let product = db.product(2).await;
    let answer = grpc_web_check_stock(&running, &product, 2).await.unwrap();
    assert_eq!((answer.available, answer.in_stock), (true, 2));
    let unknown = uuid::Uuid::new_v4().to_string();
    assert!(matches!(grpc_web_check_stock(&running, &unknown, 1).await, Err(BridgeError::NotFound(_))));
    assert!(matches!(grpc_web_check_stock(&running, "x", 1).await, Err(BridgeError::Invalid(_))));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_count_calls_per_method_and_code() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let product = db.product(1).await;
    bridge.get_product(&product).await.unwrap();
    let _ = bridge.get_product("bad").await;
    let text = reqwest::get(format!("http://{}/metrics", running.metrics_addr)).await.unwrap().text().await.unwrap();
    let get = "method=\"/pycommerce.catalog.v1.ProductService/GetProductById\"";
    assert!(
        text.lines()
            .any(|l| l.starts_with("bridge_grpc_requests_total") && l.contains(get) && l.contains("code=\"0\"")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("bridge_grpc_requests_total") && l.contains(get) && l.contains("code=\"3\"")),
        "{text}"
    );
    assert!(text.contains("bridge_grpc_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("bridge_db_pool_connections"), "{text}");

    running.stop().await.unwrap();
}

#[tokio::test]
async fn publish_pending_validates_its_id_and_says_whether_a_relay_runs() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let bridge = client(&running);
    let order = uuid::Uuid::new_v4().to_string();
    assert!(!bridge.publish_pending(&order).await.unwrap(), "this bridge runs no relay");
    assert!(matches!(bridge.publish_pending("nope").await, Err(BridgeError::Invalid(_))));
    running.stop().await.unwrap();
}

/// `request` with `authorization` set to `value` (none when `None`).
fn authorized<T>(mut request: tonic::Request<T>, value: Option<&str>) -> tonic::Request<T> {
    if let Some(value) = value {
        request.metadata_mut().insert("authorization", value.parse().unwrap());
    }
    request
}

/// The `authorization` values every call but health must refuse: none, a wrong token, the right token
/// without its scheme, and a prefix of the right token.
fn bad_credentials() -> Vec<Option<String>> {
    vec![
        None,
        Some(format!("Bearer {}", bridge::auth::generate_token())),
        Some(TOKEN.to_owned()),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
    ]
}

/// Every ProductService, UserService and OutboxService method and both reflection services over native
/// gRPC, with `credential`: each call's status code, by method.
async fn native_codes(running: &Running, credential: Option<&str>) -> Vec<(&'static str, tonic::Code)> {
    use bridge_proto::catalog::v1::product_service_client::ProductServiceClient;
    use bridge_proto::catalog::v1::{GetProductByIdRequest, ReleaseStockRequest, ReserveStockRequest};
    use bridge_proto::events::v1::outbox_service_client::OutboxServiceClient;
    use bridge_proto::events::v1::PublishPendingRequest;
    use bridge_proto::users::v1::user_service_client::UserServiceClient;
    use bridge_proto::users::v1::{GetUserByIdRequest, IsUserActiveRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient as V1;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as V1Alpha;

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    let code = |result: Result<(), tonic::Status>| result.err().map_or(tonic::Code::Ok, |status| status.code());
    let request = |message| authorized(tonic::Request::new(message), credential);
    let mut products = ProductServiceClient::new(channel.clone());
    let mut users = UserServiceClient::new(channel.clone());
    let mut outbox = OutboxServiceClient::new(channel.clone());
    let v1_request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let v1alpha_request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    vec![
        (
            methods::GET_PRODUCT_BY_ID,
            code(products.get_product_by_id(request(GetProductByIdRequest { product_id: id.clone() })).await.map(drop)),
        ),
        (
            methods::CHECK_STOCK,
            code(
                products
                    .check_stock(authorized(
                        tonic::Request::new(CheckStockRequest { product_id: id.clone(), quantity: 1 }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            methods::RESERVE_STOCK,
            code(
                products
                    .reserve_stock(authorized(
                        tonic::Request::new(ReserveStockRequest {
                            order_id: id.clone(),
                            items: vec![line(&id, 1)],
                            ..Default::default()
                        }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            methods::RELEASE_STOCK,
            code(
                products
                    .release_stock(authorized(
                        tonic::Request::new(ReleaseStockRequest { order_id: id.clone() }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            methods::GET_USER_BY_ID,
            code(
                users
                    .get_user_by_id(authorized(
                        tonic::Request::new(GetUserByIdRequest { user_id: id.clone() }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            methods::IS_USER_ACTIVE,
            code(
                users
                    .is_user_active(authorized(
                        tonic::Request::new(IsUserActiveRequest { user_id: id.clone() }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            methods::PUBLISH_PENDING,
            code(
                outbox
                    .publish_pending(authorized(
                        tonic::Request::new(PublishPendingRequest { aggregate_id: id.clone() }),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            code(
                V1::new(channel.clone())
                    .server_reflection_info(authorized(
                        tonic::Request::new(tokio_stream::iter([v1_request])),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
        (
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            code(
                V1Alpha::new(channel)
                    .server_reflection_info(authorized(
                        tonic::Request::new(tokio_stream::iter([v1alpha_request])),
                        credential,
                    ))
                    .await
                    .map(drop),
            ),
        ),
    ]
}

/// The gRPC-Web paths of every unary method, each with a well-formed request body.
fn grpc_web_calls() -> Vec<(&'static str, Vec<u8>)> {
    use bridge_proto::catalog::v1::{GetProductByIdRequest, ReleaseStockRequest, ReserveStockRequest};
    use bridge_proto::events::v1::PublishPendingRequest;
    use bridge_proto::users::v1::{GetUserByIdRequest, IsUserActiveRequest};
    let id = uuid::Uuid::new_v4().to_string();
    vec![
        (methods::GET_PRODUCT_BY_ID, grpc_web::encode_request(&GetProductByIdRequest { product_id: id.clone() })),
        (methods::CHECK_STOCK, grpc_web::encode_request(&CheckStockRequest { product_id: id.clone(), quantity: 1 })),
        (
            methods::RESERVE_STOCK,
            grpc_web::encode_request(&ReserveStockRequest {
                order_id: id.clone(),
                items: vec![line(&id, 1)],
                ..Default::default()
            }),
        ),
        (methods::RELEASE_STOCK, grpc_web::encode_request(&ReleaseStockRequest { order_id: id.clone() })),
        (methods::GET_USER_BY_ID, grpc_web::encode_request(&GetUserByIdRequest { user_id: id.clone() })),
        (methods::IS_USER_ACTIVE, grpc_web::encode_request(&IsUserActiveRequest { user_id: id.clone() })),
        (methods::PUBLISH_PENDING, grpc_web::encode_request(&PublishPendingRequest { aggregate_id: id })),
    ]
}

/// One gRPC-Web call over HTTP/1.1: its `grpc-status` (from the headers, or the trailer frame) and the
/// decoded outcome.
async fn grpc_web_call(
    running: &Running,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> (Option<String>, Result<(), BridgeError>) {
    let mut request = reqwest::Client::builder()
        .http1_only()
        .build()
        .unwrap()
        .post(format!("http://{}{path}", running.grpc_addr))
        .header("content-type", grpc_web::CONTENT_TYPE)
        .header("x-grpc-web", "1")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (code, message) = (header("grpc-status"), header("grpc-message").unwrap_or_default());
    let body = response.bytes().await.unwrap();
    let decoded = grpc_web::decode_response::<CheckStockResponse>(
        status,
        code.as_deref().map(|code| (code, message.as_str())),
        &body,
    );
    (code, decoded.map(drop))
}

#[tokio::test]
async fn every_call_without_the_right_token_is_unauthenticated_over_grpc() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    for credential in bad_credentials() {
        let codes = native_codes(&running, credential.as_deref()).await;
        assert_eq!(codes.len(), 9, "seven methods and two reflection services");
        for (method, code) in codes {
            assert_eq!(code, tonic::Code::Unauthenticated, "{method} with {credential:?}");
        }
    }
    // The same calls with the token reach the services (which answer for the random ids they were given).
    for (method, code) in native_codes(&running, Some(&format!("Bearer {TOKEN}"))).await {
        assert_ne!(code, tonic::Code::Unauthenticated, "{method} with the right token");
        assert!(matches!(code, tonic::Code::Ok | tonic::Code::NotFound), "{method}: {code:?}");
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn every_call_without_the_right_token_is_unauthenticated_over_grpc_web() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    for credential in bad_credentials() {
        for (path, body) in grpc_web_calls() {
            let headers: Vec<(&str, String)> =
                credential.iter().map(|value| ("authorization", value.clone())).collect();
            let (code, decoded) = grpc_web_call(&running, path, body, &headers).await;
            assert_eq!(code.as_deref(), Some("16"), "{path} with {credential:?}");
            assert!(matches!(decoded, Err(BridgeError::Unavailable(_))), "{path}: {decoded:?}");
        }
    }
    for (path, body) in grpc_web_calls() {
        let (code, _) = grpc_web_call(&running, path, body, &[("authorization", format!("Bearer {TOKEN}"))]).await;
        assert_ne!(code.as_deref(), Some("16"), "{path} with the right token");
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn health_answers_without_a_token_over_grpc_and_grpc_web() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    for service in methods::SERVICES.iter().chain(&[""]) {
        wait_for_status(&running, service, 1).await;
    }
    let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
    let (code, _) =
        grpc_web_call(&running, "/grpc.health.v1.Health/Check", grpc_web::encode_request(&request), &[]).await;
    assert_ne!(code.as_deref(), Some("16"), "health over gRPC-Web must stay open");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_wrong_token_in_the_client_fails_at_once_as_unavailable_without_retries() {
    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let product = db.product(1).await;
    let wrong = Bridge::connect(
        &format!("http://{}", running.grpc_addr),
        &bridge::auth::generate_token(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(matches!(wrong.get_product(&product).await, Err(BridgeError::Unavailable(_))));
    let text = reqwest::get(format!("http://{}/metrics", running.metrics_addr)).await.unwrap().text().await.unwrap();
    let refused = text
        .lines()
        .find(|l| l.starts_with("bridge_grpc_requests_total") && l.contains("GetProductById") && l.contains("\"16\""))
        .unwrap_or_else(|| panic!("no refused call counted:\n{text}"));
    assert!(refused.ends_with(" 1"), "one attempt, no retries: {refused}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn the_callers_request_id_reaches_the_access_log_over_both_transports_and_the_token_never_does() {
    // A current-thread test runtime: the server's tasks run on this thread, under this capture.
    let (captured, _guard) = LogCapture::start();

    let db = TestDb::new("pc_bridge").await;
    let running = start(&db.url).await;
    let product = db.product(2).await;
    let bridge = client(&running);
    bridge.with_request_id(Some("rid-native-1")).get_product(&product).await.unwrap();
    bridge.get_product(&product).await.unwrap();
    let body = grpc_web::encode_request(&CheckStockRequest { product_id: product.clone(), quantity: 1 });
    let headers = [("authorization", format!("Bearer {TOKEN}")), ("x-request-id", "rid-web-1".to_owned())];
    let (code, decoded) = grpc_web_call(&running, methods::CHECK_STOCK, body, &headers).await;
    assert!(decoded.is_ok(), "{code:?} {decoded:?}");
    let body = grpc_web::encode_request(&CheckStockRequest { product_id: product, quantity: 1 });
    let _refused =
        grpc_web_call(&running, methods::CHECK_STOCK, body, &[("x-request-id", "rid-refused-1".to_owned())]).await;
    running.stop().await.unwrap();

    let lines = captured.lines_of("access");
    let with_id = |id: &str| lines.iter().filter(|line| line["request_id"] == id).cloned().collect::<Vec<_>>();
    let native = with_id("rid-native-1");
    assert_eq!(native.len(), 1, "{lines:?}");
    assert_eq!(native[0]["method"], methods::GET_PRODUCT_BY_ID);
    assert_eq!(native[0]["code"], "0");
    assert!(native[0]["duration_us"].as_u64().is_some());
    let web = with_id("rid-web-1");
    assert_eq!((web.len(), &web[0]["method"]), (1, &serde_json::json!(methods::CHECK_STOCK)), "{lines:?}");
    assert_eq!(with_id("rid-refused-1")[0]["code"], "16", "a refused call is logged with its id and code");
    let without: Vec<_> = lines.iter().filter(|line| line["method"] == methods::GET_PRODUCT_BY_ID).collect();
    assert_eq!(without.len(), 2, "{lines:?}");
    assert!(without.iter().any(|line| line["request_id"] == ""), "no id sent: none is made up");
    let output = captured.text();
    assert!(!output.contains(TOKEN), "the token was logged");
}
